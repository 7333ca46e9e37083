"""Running pip in a subprocess that answers for a TARGET, and reading what it says back.

pip evaluates every marker against the *running* interpreter, whatever ``--platform`` says
(pypa/pip#6117, #10050).  So pip runs through a tiny bootstrap (``SHIM``) that replaces
``pip._vendor.packaging.markers.default_environment`` with the target's full environment
before pip starts: ``Marker.evaluate`` merges its argument over ``default_environment()``,
so every key is the target's.  This module also streams pip's lines to the reporter (with
credentials removed), and parses its progress lines and JSON installation report
(piperrors.py reads a failed run).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from pydebvenv.redact import redact
from pydebvenv.report import Reporter
from pydebvenv.target import Target

__all__ = [
    "SHIM",
    "Chosen",
    "PipOutput",
    "progress_args",
    "read_report",
    "run_pip",
    "target_args",
]

# The bootstrap pip runs under.  The target's environment travels in an environment
# variable that is removed at once, so processes pip starts (build backends) never see it.
# Patching the vendored module is the seam: pip's own installation report imports
# default_environment from there too, so the report's "environment" shows what was used.
# Second, pip logs why an index page could not be read (refused connection, 401) at debug
# level only, so a dead index looks like a missing package; say it as a warning instead
# (404 stays quiet: an index without the project is normal).
# Third (KEEP): a dry run downloads every wheel whose index offers no PEP 658 metadata, only
# to read it, and throws it away; keep each file it downloaded in the stage, and look there
# first (pip's own download_dir check), so the files are downloaded once per fetch, not
# once per resolution round and again by `pip download` (docs/lock.md, "Fetching once").
# Fourth (SEEN): record the name of every wheel the finder looked at, so fetch can tell a
# pure wheel chosen for want of a compiled one for the target.
# Each patch is optional: if a pip version lacks what it patches, the messages are only
# less precise, the downloads repeated, or the fallback not reported.
_ENV_VAR = "_PYDEBVENV_MARKER_ENVIRONMENT"
_KEEP_VAR = "_PYDEBVENV_KEEP"
_SEEN_VAR = "_PYDEBVENV_SEEN"
SHIM = f"""\
import json, os, sys
env = os.environ.pop({_ENV_VAR!r}, None)
keep = os.environ.pop({_KEEP_VAR!r}, None)
seen = os.environ.pop({_SEEN_VAR!r}, None)
if env is not None:
    env = json.loads(env)
    import pip._vendor.packaging.markers as markers
    markers.default_environment = lambda: dict(env)
try:
    import pip._internal.index.collector as collector
    quiet = collector._handle_get_simple_fail
    def loud(link, reason, meth=None):
        quiet(link, reason, meth if "404" in str(reason) else collector.logger.warning)
    collector._handle_get_simple_fail = loud
except (ImportError, AttributeError):
    pass
if keep:
    try:
        import shutil
        from pip._internal.operations.prepare import RequirementPreparer as P
        init, prepare = P.__init__, P._prepare_linked_requirement
        def keeping_init(self, *args, **kwargs):
            init(self, *args, **kwargs)
            if self.download_dir is None:
                self.download_dir = keep
        def keeping_prepare(self, req, *args, **kwargs):
            dist = prepare(self, req, *args, **kwargs)
            link, path = req.link, req.local_file_path
            if link is not None and link.scheme in ("http", "https") and path \\
                    and os.path.isfile(path):
                dest = os.path.join(keep, link.filename)
                if not os.path.exists(dest):
                    shutil.copyfile(path, dest + ".part")
                    os.replace(dest + ".part", dest)
            return dist
        P.__init__, P._prepare_linked_requirement = keeping_init, keeping_prepare
    except (ImportError, AttributeError):
        pass
if seen:
    try:
        import atexit
        from pip._internal.index.package_finder import LinkEvaluator as E
        names = set()
        evaluate = E.evaluate_link
        def seeing(self, link):
            if link.is_wheel:
                names.add(link.filename)
            return evaluate(self, link)
        E.evaluate_link = seeing
        def write_seen():
            with open(seen, "w", encoding="utf-8") as f:
                json.dump(sorted(names), f)
        atexit.register(write_seen)
    except (ImportError, AttributeError):
        pass
from pip._internal.cli.main import main
sys.exit(main())
"""


def progress_args() -> list[str]:
    """pip's line-per-chunk progress (``raw``, pip 24.1+): a bar is invisible through a pipe."""
    try:
        major, minor = (int(p) for p in importlib.metadata.version("pip").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return []
    return ["--progress-bar", "raw"] if (major, minor) >= (24, 1) else []


class PipOutput:
    """Where pip's lines go: the reporter.  pydebvenv's own lines are messages; pip's log is
    a ``-v`` detail (a failed run is turned into one error line by piperrors.py), and its
    download progress becomes the reporter's progress, labelled with the file's name."""

    def __init__(self, reporter: Reporter | None) -> None:
        self.reporter = reporter or Reporter.silent()
        self.label = "download"

    def info(self, line: str) -> None:
        self.reporter.info(line)

    def warning(self, message: str) -> None:
        """A problem that does not fail the command (a left-over temporary directory)."""
        self.reporter.warning(message)

    def pip_line(self, line: str) -> None:
        text = line.strip()
        if text.startswith("Downloading "):
            self.label = text.split()[1].rpartition("/")[2]
        self.reporter.debug(line)

    def progress(self, done: int, total: int) -> None:
        self.reporter.progress(self.label, done, total)


def _pip_env(marker_env: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)  # pip's own variables and config files are honoured on purpose
    for name in (_ENV_VAR, _KEEP_VAR, _SEEN_VAR):
        env.pop(name, None)
    if marker_env is not None:
        env[_ENV_VAR] = json.dumps(dict(marker_env), sort_keys=True)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_NO_INPUT", "1")  # stdin is closed: pip must not prompt for a password
    # where pip would install is no business of a dry run or a download, and these would
    # conflict with --target or refuse to run outside a virtualenv
    for name in ("PIP_USER", "PIP_PREFIX", "PIP_ROOT", "PIP_TARGET", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(name, None)
    return env


def run_pip(
    args: Sequence[str], *, marker_env: Mapping[str, str] | None, out: PipOutput,
    keep: Path | None = None, seen: Path | None = None, env: Mapping[str, str] = {},
) -> tuple[int, list[str]]:
    """Run pip through the bootstrap (target markers when ``marker_env``), streaming its lines.

    ``keep``: a directory where the files a dry run downloads are kept (and looked for);
    ``seen``: a file that receives the JSON list of every wheel name pip looked at;
    ``env``: variables set for pip and what it starts (SOURCE_DATE_EPOCH for a backend).
    """
    cmd = [sys.executable, "-c", SHIM, *args]
    lines: list[str] = []
    environ = {**_pip_env(marker_env), **env}
    if keep is not None:
        environ[_KEEP_VAR] = str(keep)
    if seen is not None:
        environ[_SEEN_VAR] = str(seen)
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=environ, text=True, encoding="utf-8", errors="replace",
    ) as proc:
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                line = redact(raw.rstrip("\n"))
                progress = re.fullmatch(r"Progress (\d+) of (\d+)", line.strip())
                if progress:
                    out.progress(int(progress[1]), int(progress[2]))
                    continue
                lines.append(line)
                out.pip_line(line)
        except BaseException:
            proc.kill()  # interrupted (SIGTERM, Ctrl-C): pip must not outlive the build
            raise
    return proc.returncode, lines


def target_args(target: Target, extra_platforms: Sequence[str] = ()) -> list[str]:
    """pip's options that make it choose wheels for ``target`` (its tags, not the host's)."""
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", target.pyver]
    for abi in (f"cp{target.python_version[0]}{target.python_version[1]}", "abi3", "none"):
        args += ["--abi", abi]
    # pip expands only manylinux2014/2010 (docs/wheels.md, "What pip download does not
    # adapt"): name every tag
    for platform_tag in (*target.platforms(), *extra_platforms):
        args += ["--platform", platform_tag]
    return args


@dataclass(frozen=True, slots=True)
class Chosen:
    """One file pip's report chose."""

    name: str
    version: str
    url: str  # credentials already removed
    sha256: str | None
    direct: bool  # a URL requirement (pylock.toml): download that URL, not name==version

    @property
    def filename(self) -> str:
        return unquote(urlsplit(self.url).path.rpartition("/")[2])


def read_report(path: Path) -> list[Chosen]:
    """The files of pip's JSON installation report (``--report``), sorted by name."""
    data = json.loads(path.read_text(encoding="utf-8"))
    chosen = []
    for item in data.get("install", []):
        info = item["download_info"]
        hashes = info.get("archive_info", {}).get("hashes", {})
        legacy = info.get("archive_info", {}).get("hash", "")
        sha = hashes.get("sha256") or (legacy[7:] if legacy.startswith("sha256=") else None)
        meta = item["metadata"]
        chosen.append(Chosen(meta["name"], meta["version"], redact(info["url"]), sha,
                             bool(item.get("is_direct"))))
    return sorted(chosen, key=lambda c: canonicalize_name(c.name))
