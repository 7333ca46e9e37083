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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from .lock import strip_credentials
from .target import Target

__all__ = [
    "SHIM",
    "Chosen",
    "PipOutput",
    "Reporter",
    "progress_args",
    "read_report",
    "redact",
    "run_pip",
    "target_args",
]

#: receives pip's output lines (credentials removed) and pydebvenv's own progress lines
Reporter = Callable[[str], None]

# The bootstrap pip runs under.  The target's environment travels in an environment
# variable that is removed at once, so processes pip starts (build backends) never see it.
# Patching the vendored module is the seam: pip's own installation report imports
# default_environment from there too, so the report's "environment" shows what was used.
# Second, pip logs why an index page could not be read (refused connection, 401) at debug
# level only, so a dead index looks like a missing package; say it as a warning instead
# (404 stays quiet: an index without the project is normal).  Optional: if a pip version
# lacks that function, the messages are only less precise.
_ENV_VAR = "_PYDEBVENV_MARKER_ENVIRONMENT"
SHIM = f"""\
import json, os, sys
env = os.environ.pop({_ENV_VAR!r}, None)
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
from pip._internal.cli.main import main
sys.exit(main())
"""

_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def progress_args() -> list[str]:
    """pip's line-per-chunk progress (``raw``, pip 24.1+): a bar is invisible through a pipe."""
    try:
        major, minor = (int(p) for p in importlib.metadata.version("pip").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return []
    return ["--progress-bar", "raw"] if (major, minor) >= (24, 1) else []


def redact(text: str) -> str:
    """``text`` with every ``user:password@`` of a URL removed (pip only masks the password)."""
    return _CREDENTIALS.sub("", text)


class PipOutput:
    """Where pip's lines go: ``reporter`` (a callable), using its ``debug`` and ``progress``
    methods when it has them (pydebvenv.report.Reporter does)."""

    # pip lines worth showing by default; the rest are details for -v
    _HEADLINES = ("Collecting", "Downloading", "Building", "Processing", "Successfully",
                  "ERROR", "WARNING", "Looking in")

    def __init__(self, reporter: Reporter | None) -> None:
        self.reporter = reporter
        self.label = "download"
        self.last_tenth = -1

    def info(self, line: str) -> None:
        if self.reporter is not None:
            self.reporter(line)

    def pip_line(self, line: str) -> None:
        if self.reporter is None:
            return
        text = line.strip()
        if text.startswith("Downloading "):
            self.label = text.split()[1]
        debug = getattr(self.reporter, "debug", None)
        if debug is not None and not text.startswith(self._HEADLINES):
            debug(line)
        else:
            self.reporter(line)

    def progress(self, done: int, total: int) -> None:
        if self.reporter is None:
            return
        progress = getattr(self.reporter, "progress", None)
        if progress is not None:
            progress(self.label, done, total)
            return
        # a plain callable: one line per tenth of the file, pip writes one per chunk
        tenth = 10 * done // total if total else 10
        if tenth != self.last_tenth:
            self.reporter(f"  {self.label}: {10 * tenth}% of {total:,} bytes")
        self.last_tenth = tenth


def _pip_env(marker_env: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)  # pip's own variables and config files are honoured on purpose
    env.pop(_ENV_VAR, None)
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
    args: Sequence[str], *, marker_env: Mapping[str, str] | None, out: PipOutput
) -> tuple[int, list[str]]:
    """Run pip through the bootstrap (target markers when ``marker_env``), streaming its lines."""
    cmd = [sys.executable, "-c", SHIM, *args]
    lines: list[str] = []
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=_pip_env(marker_env), text=True, encoding="utf-8", errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = redact(raw.rstrip("\n"))
            progress = re.fullmatch(r"Progress (\d+) of (\d+)", line.strip())
            if progress:
                out.progress(int(progress[1]), int(progress[2]))
                continue
            lines.append(line)
            out.pip_line(line)
    return proc.returncode, lines


def target_args(target: Target, extra_platforms: Sequence[str] = ()) -> list[str]:
    """pip's options that make it choose wheels for ``target`` (its tags, not the host's)."""
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", target.pyver]
    for abi in (f"cp{target.python_version[0]}{target.python_version[1]}", "abi3", "none"):
        args += ["--abi", abi]
    # pip expands only manylinux2014/2010 (reference 9.3): name every tag
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
        chosen.append(Chosen(meta["name"], meta["version"], strip_credentials(info["url"]), sha,
                             bool(item.get("is_direct"))))
    return sorted(chosen, key=lambda c: canonicalize_name(c.name))
