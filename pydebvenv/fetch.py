"""Fill the wheel cache for a target: pip's resolver with the target's tags *and* markers, a lock.

pip resolves, pip downloads; this module only makes pip answer for the TARGET:

* tags: ``--platform`` once per tag of ``Target.platforms()`` (pip does not expand
  ``manylinux_2_X``), ``--python-version``, ``--implementation cp``, ``--abi``;
* markers: pip evaluates every marker against the *running* interpreter, whatever
  ``--platform`` says (pypa/pip#6117, #10050).  pip runs in a subprocess through a tiny
  bootstrap (``_SHIM``) that replaces ``pip._vendor.packaging.markers.default_environment``
  with the target's full environment before pip starts: ``Marker.evaluate`` merges its
  argument over ``default_environment()``, so every key is the target's.

Phase 1 is ``pip install --dry-run --report`` (the JSON installation report says exactly
what was chosen: name, version, URL, sha256).  Phase 2 downloads what the cache lacks with
``pip download --no-deps`` of those exact pins and hashes into a staging directory inside
the cache; each file is checked against its sha256 and moved into place with ``os.replace``,
so concurrent fetches share one cache safely and a partial download is never seen.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)

from .errors import ConfigError, FetchError, TargetError
from .lock import Lock, LockedWheel, strip_credentials, write_lock
from .project import Options
from .requirements import (
    RequirementSpec,
    RequirementsSet,
    parse_requirements_files,
    requirement_specs,
)
from .target import HostFacts, Target, get_target, host_facts

__all__ = [
    "FetchInputs",
    "Reporter",
    "fetch",
    "fetch_requirements",
    "lock_path_for",
    "project_inputs",
    "redact",
    "specs_from_pylock",
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
_SHIM = f"""\
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
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_UNREACHABLE = (
    "Connection refused", "NewConnectionError", "Max retries exceeded",
    "Failed to establish a new connection", "Name or service not known",
    "Temporary failure in name resolution", "ConnectTimeoutError", "connection error:",
)  # fmt: skip
_MAX_SDIST_ROUNDS = 25


def _progress_args() -> list[str]:
    """pip's line-per-chunk progress (``raw``, pip 24.1+): a bar is invisible through a pipe."""
    try:
        major, minor = (int(p) for p in importlib.metadata.version("pip").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return []
    return ["--progress-bar", "raw"] if (major, minor) >= (24, 1) else []


def redact(text: str) -> str:
    """``text`` with every ``user:password@`` of a URL removed (pip only masks the password)."""
    return _CREDENTIALS.sub("", text)


class _Output:
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


@dataclass(frozen=True, slots=True)
class FetchInputs:
    """What to fetch: requirements (or a PEP 751 lock) and where pip may look."""

    requirements: tuple[RequirementSpec, ...] = ()
    constraints: tuple[RequirementSpec, ...] = ()
    pylock: Path | None = None  # a pylock.toml: its packages replace ``requirements``
    extras: tuple[str, ...] = ()  # extras selected from the pylock
    build_requires: tuple[str, ...] = ()  # PEP 518 [build-system].requires, fetched for the host
    index_url: str | None = None  # None: pip's configured (or default) index
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False


@dataclass(frozen=True, slots=True)
class _Chosen:
    """One file pip's report chose."""

    name: str
    version: str
    url: str  # credentials already removed
    sha256: str | None
    direct: bool  # a URL requirement (pylock.toml): download that URL, not name==version

    @property
    def filename(self) -> str:
        return unquote(urlsplit(self.url).path.rpartition("/")[2])


@dataclass(slots=True)
class _Session:
    """State of one fetch: the staging directory inside the cache and the options for pip."""

    cache: Path
    stage: Path
    inputs: FetchInputs
    out: _Output
    built: Path = field(init=False)
    constraint_args: list[str] = field(default_factory=list)  # ["-c", file] when any
    # linux_<arch>: accepted only once a wheel was compiled here on a host that IS the target
    extra_platforms: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.built = self.stage / "built"
        self.built.mkdir()

    def index_args(self) -> list[str]:
        args: list[str] = []
        if self.inputs.no_index:
            args.append("--no-index")
        if self.inputs.index_url:
            args += ["--index-url", self.inputs.index_url]
        for url in self.inputs.extra_index_urls:
            args += ["--extra-index-url", url]
        built = [str(self.built)] if any(self.built.iterdir()) else []
        for link in (*self.inputs.find_links, *built):
            args += ["--find-links", link]
        return args

    def indexes(self) -> list[str]:
        """Every index and find-links location in use, credentials removed (for the lock)."""
        urls = [self.inputs.index_url] if self.inputs.index_url else []
        urls += list(self.inputs.extra_index_urls) + list(self.inputs.find_links)
        for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
            urls += os.environ.get(var, "").split()
        return [strip_credentials(u) for u in urls if u]

    def index_of(self, url: str) -> str:
        """The configured index a file URL most likely came from (same host, longest prefix)."""
        netloc = urlsplit(url).netloc
        candidates = [u for u in self.indexes() if urlsplit(u).netloc == netloc]
        prefix = [u for u in candidates if url.startswith(u.rsplit("/", 1)[0])]
        if prefix or candidates:
            return max(prefix or candidates, key=len)
        if url.startswith("file:"):
            # a wheel built here from an sdist the configured index served
            return self.indexes()[0] if self.indexes() else "file:"
        parts = urlsplit(url)
        return f"{parts.scheme}://{netloc}/"


def lock_path_for(project_dir: Path | str, target: Target) -> Path:
    """Where ``fetch`` writes the lock for ``target``: one file per target beside pyproject."""
    return Path(project_dir) / f"pydebvenv-{target.release.name}-{target.arch.name}.lock"


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


def _run_pip(
    args: Sequence[str], *, marker_env: Mapping[str, str] | None, out: _Output
) -> tuple[int, list[str]]:
    """Run pip through the bootstrap (target markers when ``marker_env``), streaming its lines."""
    cmd = [sys.executable, "-c", _SHIM, *args]
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


def _target_args(target: Target, extra_platforms: Sequence[str] = ()) -> list[str]:
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", target.pyver]
    for abi in (f"cp{target.python_version[0]}{target.python_version[1]}", "abi3", "none"):
        args += ["--abi", abi]
    # pip expands only manylinux2014/2010 (reference 9.3): name every tag
    for platform_tag in (*target.platforms(), *extra_platforms):
        args += ["--platform", platform_tag]
    return args


def _requirement_line(spec: RequirementSpec) -> str:
    return " ".join([str(spec.requirement), *(f"--hash={h}" for h in sorted(spec.hashes))])


def _write_lines(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _error_line(lines: Sequence[str]) -> str:
    errors = [ln.strip() for ln in lines if ln.strip().startswith("ERROR:")]
    text = errors[-1] if errors else next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    return text.removeprefix("ERROR:").strip()


def _unreachable(lines: Sequence[str], session: _Session) -> bool:
    """Whether pip failed because an index could not be reached.

    pip says so in a warning only when it retries; with ``retries = 0`` a refused
    connection looks like an empty index ("from versions: none"), so then try to connect
    to each index host ourselves (only without a proxy: with one, the host is its business).
    """
    text = "\n".join(lines)
    if any(marker in text for marker in _UNREACHABLE):
        return True
    if "(from versions: none)" not in text or any(
            os.environ.get(v) for v in ("PIP_PROXY", "HTTPS_PROXY", "https_proxy",
                                        "HTTP_PROXY", "http_proxy")):
        return False
    for url in session.indexes():
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            socket.create_connection((parts.hostname, port), timeout=10).close()
        except (OSError, ValueError):
            return True
    return False


def _raise_for(lines: Sequence[str], what: str, session: _Session) -> None:
    """Turn a failed pip run into one FetchError line (the unreachable index comes first)."""
    text = "\n".join(lines)
    where = ", ".join(session.indexes()) or "pip's configured index"
    if re.search(r"\b40[13] Client Error", text):
        raise FetchError(f"the package index refused the credentials ({where}) while {what}; "
                         "check the URL's user:password, ~/.netrc or keyring")
    if _unreachable(lines, session):
        raise FetchError(f"cannot reach the package index ({where}) while {what}; check the "
                         "network, proxy and --index-url/--extra-index-url")
    if "DO NOT MATCH THE HASHES" in text or "do not match the hashes" in text:
        culprit = next((ln.strip() for ln in lines if " from " in ln and "==" in ln), "")
        expected = next((ln.split()[-1] for ln in lines if "Expected sha256" in ln), "?")
        got = next((ln.split()[-1] for ln in lines if ln.strip().startswith("Got")), "?")
        raise FetchError(f"hash mismatch for {culprit.split(' from ')[0] or what!r}: expected "
                         f"sha256 {expected}, got {got}; fix the --hash in the requirements "
                         "or check the index serves the file you pinned")
    raise FetchError(f"pip failed while {what}: {_error_line(lines)!r}; see the output above")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_report(path: Path) -> list[_Chosen]:
    data = json.loads(path.read_text(encoding="utf-8"))
    chosen = []
    for item in data.get("install", []):
        info = item["download_info"]
        hashes = info.get("archive_info", {}).get("hashes", {})
        legacy = info.get("archive_info", {}).get("hash", "")
        sha = hashes.get("sha256") or (legacy[7:] if legacy.startswith("sha256=") else None)
        meta = item["metadata"]
        chosen.append(_Chosen(meta["name"], meta["version"], strip_credentials(info["url"]), sha,
                              bool(item.get("is_direct"))))
    return sorted(chosen, key=lambda c: canonicalize_name(c.name))


def _resolve(
    session: _Session, requirement_args: Sequence[str], *, target: Target | None, what: str
) -> tuple[int, list[str], list[_Chosen]]:
    """pip's resolver for ``target`` (or the host when None): a dry run with a JSON report."""
    report = Path(tempfile.mkstemp(dir=session.stage, suffix=".json")[1])
    scratch = tempfile.mkdtemp(dir=session.stage)  # pip < 26 wants --target with --platform
    args = ["install", "--dry-run", "--ignore-installed", *_progress_args(), "--target", scratch,
            "--report", str(report), *session.index_args()]
    if target is not None:
        args += _target_args(target, session.extra_platforms)
    session.out.info(f"resolving {what}")
    rc, lines = _run_pip([*args, *requirement_args],
                         marker_env=target.marker_environment() if target else None,
                         out=session.out)
    return rc, lines, (_read_report(report) if rc == 0 else [])


def _place(session: _Session, chosen: Sequence[_Chosen], *, target: Target | None,
           expected: Mapping[str, frozenset[str]], what: str) -> list[LockedWheel]:
    """Make sure every chosen file is in the cache, verified; download what is missing."""
    missing: list[_Chosen] = []
    for c in chosen:
        allowed = _allowed_hashes(c, expected)
        cached = session.cache / c.filename
        if cached.is_file() and (not allowed or _sha256(cached) in allowed):
            continue  # already there and verified (a corrupt cached file is fetched again)
        missing.append(c)
    if missing:
        downloads = session.stage / "download"
        downloads.mkdir(exist_ok=True)
        lines = [(f"{c.name} @ {c.url}" if c.direct else f"{c.name}=={c.version}") + "".join(
            f" --hash=sha256:{h}" for h in sorted(_allowed_hashes(c, expected))) for c in missing]
        pinned = _write_lines(session.stage / "pinned.txt", lines)
        args = ["download", "--no-deps", *_progress_args(), "-d", str(downloads),
                *session.index_args(), "-r", str(pinned)]
        if target is not None:
            args += _target_args(target, session.extra_platforms)
        session.out.info(f"downloading {len(missing)} file(s) for {what}")
        rc, out = _run_pip(args, marker_env=target.marker_environment() if target else None,
                           out=session.out)
        if rc != 0:
            _raise_for(out, f"downloading {what}", session)
        for c in missing:
            got = downloads / c.filename
            if not got.is_file():
                raise FetchError(f"pip did not download {c.filename!r} for {what}; set "
                                 "PIP_VERBOSE=1 and run again to see why")
            digest = _sha256(got)
            allowed = _allowed_hashes(c, expected)
            if allowed and digest not in allowed:
                raise FetchError(f"hash mismatch for {c.filename!r}: expected sha256 "
                                 f"{' or '.join(sorted(allowed))}, got {digest}; fix the --hash "
                                 "in the requirements or check the index")
            os.replace(got, session.cache / c.filename)  # atomic: same filesystem as the cache
    locked = []
    for c in chosen:
        allowed = _allowed_hashes(c, expected)
        digest = _sha256(session.cache / c.filename)
        if allowed and digest not in allowed:  # another fetch replaced it with other bytes
            raise FetchError(f"hash mismatch for {c.filename!r} in the cache: got {digest}; "
                             "delete the file from the wheel cache and fetch again")
        locked.append(LockedWheel(c.name, c.version, c.filename, digest, session.index_of(c.url)))
    return locked


def _allowed_hashes(c: _Chosen, expected: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The user's --hash values for this project when given, else the index's sha256."""
    pinned = expected.get(canonicalize_name(c.name))
    if pinned:
        return frozenset(h.removeprefix("sha256:") for h in pinned)
    return frozenset({c.sha256} if c.sha256 else ())


def _wheel_is_pure(filename: str) -> tuple[bool, frozenset[Tag]]:
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename as exc:
        raise FetchError(f"the build produced {filename!r}, not a valid wheel name") from exc
    return all(t.abi == "none" and t.platform == "any" for t in tags), tags


def _host_is(target: Target, host: HostFacts) -> bool:
    """Whether the build host runs the target's release on its architecture."""
    if host.release != target.release.name:
        return False
    try:
        return get_target(host.release, None, host).arch == target.arch
    except TargetError:
        return False  # a CPU Debian has no name for cannot be the target


def _build_from_sdist(session: _Session, requirement: str, target: Target,
                      host: HostFacts | None) -> bool:
    """Build ``requirement``'s sdist into a wheel on the host; False when it has no sdist.

    A pure wheel (``*-none-any``) runs anywhere.  A wheel with compiled code only runs on
    the platform that built it, so it is refused unless the host *is* the target.
    """
    try:
        name = canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        name = canonicalize_name(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
    sdists = Path(tempfile.mkdtemp(dir=session.stage, prefix="sdist-"))
    session.out.info(f"no wheel of {requirement} for {target.name}; looking for its sdist")
    rc, lines = _run_pip(
        # --no-binary for this project only: its build backend may well come as a wheel
        ["download", "--no-deps", "--no-binary", name, "-d", str(sdists),
         *session.index_args(), *session.constraint_args, requirement],
        marker_env=None, out=session.out)
    if rc != 0:
        if _unreachable(lines, session):
            _raise_for(lines, f"looking for an sdist of {requirement!r}", session)
        return False
    found = sorted(sdists.iterdir())
    if not found:
        return False
    session.out.info(f"building a wheel from {found[0].name} (PEP 517, isolated)")
    out = Path(tempfile.mkdtemp(dir=session.stage, prefix="wheel-"))
    rc, lines = _run_pip(["wheel", "--no-deps", "-w", str(out), *session.index_args(),
                          str(found[0])], marker_env=None, out=session.out)
    if rc != 0:
        raise FetchError(f"building a wheel from the sdist {found[0].name!r} failed: "
                         f"{_error_line(lines)!r}; publish a wheel of {name!r} for "
                         f"{target.name} to your index instead")
    wheels = sorted(out.glob("*.whl"))
    if not wheels:
        raise FetchError(f"building the sdist {found[0].name!r} produced no wheel; publish a "
                         f"wheel of {name!r} for {target.name} instead")
    pure, tags = _wheel_is_pure(wheels[0].name)
    target_tags = set(target.tags())
    if not pure and not (tags & target_tags) and not _host_is(target, host or host_facts()):
        raise FetchError(
            f"{name!r} has no wheel for {target.name} and its sdist compiles code "
            f"({wheels[0].name!r} built here only runs on this host); publish a "
            f"{target.platforms()[-1]}-compatible wheel to an index (--extra-index-url or "
            f"--find-links) or run fetch on a {target.name} host")
    if not pure and not (tags & target_tags):
        # built on a host that is the target: its linux_<arch> wheel runs there (PEP 600)
        session.extra_platforms.append(f"linux_{target.arch.wheel_arch}")
    shutil.move(str(wheels[0]), session.built / wheels[0].name)
    return True


def _resolve_target(session: _Session, requirement_args: Sequence[str], target: Target,
                    host: HostFacts | None) -> list[_Chosen]:
    """Resolve for the target, building pure sdists on the host for what has no wheel."""
    tried: set[str] = set()
    for _ in range(_MAX_SDIST_ROUNDS):
        rc, lines, chosen = _resolve(session, requirement_args, target=target,
                                     what=f"the requirements for {target.name}")
        if rc == 0:
            return chosen
        text = "\n".join(lines)
        missing = _NO_MATCH.search(text)
        if missing is None or _unreachable(lines, session) or re.search(
                r"\b40[13] Client Error", text):
            _raise_for(lines, f"resolving the requirements for {target.name}", session)
        assert missing is not None
        requirement = missing[1]
        if requirement in tried:
            raise FetchError(
                f"{requirement!r} was built from its sdist but pip still finds nothing that fits "
                f"{target.name} (Python {target.pyver}; check its Requires-Python); pin a "
                "version that supports the target")
        if not _build_from_sdist(session, requirement, target, host):
            where = ", ".join(session.indexes()) or "pip's configured index"
            raise FetchError(
                f"no wheel of {requirement!r} for {target.name} (Python {target.pyver}, "
                f"{target.platforms()[0]} or older) and no sdist on {where}; check the name "
                "and version, or add an index that has it (--extra-index-url/--find-links)")
        tried.add(requirement)
    raise FetchError(f"more than {_MAX_SDIST_ROUNDS} packages need building from sdists for "
                     f"{target.name}; publish wheels for them to your index")


def _pylock_requirements(path: Path, target: Target, extras: Sequence[str]) -> list[str]:
    """PEP 751: pick each package's best wheel for the target, as ``name @ url --hash`` lines."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc}; fix the PEP 751 lock") from exc
    env: dict[str, Any] = dict(target.marker_environment())
    env |= {"extras": frozenset(canonicalize_name(e) for e in extras),
            "dependency_groups": frozenset(data.get("default-groups", []))}
    rank = target.tag_rank()
    lines = []
    for package in data.get("packages", []):
        name = package.get("name", "?")
        try:
            if package.get("marker") and not Marker(package["marker"]).evaluate(env):
                continue
            if package.get("requires-python") and target.python_full_version not in \
                    SpecifierSet(package["requires-python"]):
                continue
        except (InvalidMarker, InvalidSpecifier) as exc:
            raise ConfigError(f"{str(path)!r}: package {name!r} has a bad marker or "
                              f"requires-python ({exc}); fix the lock") from exc
        best: tuple[int, dict[str, Any]] | None = None
        for wheel in package.get("wheels", []):
            filename = wheel.get("name") or (wheel.get("url") or wheel.get("path", "")
                                             ).rpartition("/")[2]
            try:
                tags = parse_wheel_filename(filename)[3]
            except InvalidWheelFilename:
                continue
            score = min((rank[t] for t in tags if t in rank), default=None)
            if score is not None and (best is None or score < best[0]):
                best = (score, wheel)
        if best is None:
            raise FetchError(f"{str(path)!r} has no wheel of {name!r} for {target.name}; "
                             "regenerate the lock including wheels for that platform")
        wheel = best[1]
        sha = wheel.get("hashes", {}).get("sha256")
        if not sha:
            raise FetchError(f"{str(path)!r}: the wheel of {name!r} has no sha256; "
                             "regenerate the lock with hashes")
        url = wheel.get("url") or (path.parent / wheel["path"]).resolve().as_uri()
        lines.append(f"{name} @ {url} --hash=sha256:{sha}")
    return lines


def fetch_requirements(
    inputs: FetchInputs | RequirementsSet | Sequence[RequirementSpec | str],
    *,
    target: Target,
    cache: Path,
    constraints: Sequence[RequirementSpec] = (),
    local_wheels: Sequence[Path] = (),
    build_requires: Sequence[str] = (),
    index_url: str | None = None,
    extra_index_urls: Sequence[str] = (),
    find_links: Sequence[str] = (),
    reporter: Reporter | None = None,
    host: HostFacts | None = None,
) -> Lock:
    """Fetch ``inputs`` for ``target`` into ``cache`` (plus ``build_requires`` for the host).

    ``local_wheels`` (the application's own wheel) take part in the resolution, so their
    Requires-Dist are fetched, but are neither copied into the cache nor locked.  The
    index keywords come before those in ``inputs``.  Returns the lock (``fetch`` writes
    it).  FetchError on any failure; the cache is left valid whatever happens.
    """
    inputs = _as_inputs(inputs)
    fields = _fields(inputs)
    fields["constraints"] = (*inputs.constraints, *constraints)
    fields["build_requires"] = (*inputs.build_requires, *build_requires)
    fields["index_url"] = index_url or inputs.index_url
    fields["extra_index_urls"] = tuple(dict.fromkeys((*extra_index_urls,
                                                      *inputs.extra_index_urls)))
    fields["find_links"] = tuple(dict.fromkeys((*find_links, *inputs.find_links)))
    inputs = FetchInputs(**fields)
    out = _Output(reporter)
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=cache, prefix=".fetch-"))  # same filesystem: os.replace
    try:
        session = _Session(cache, stage, inputs, out)
        own = set()
        for wheel in local_wheels:  # found through the session's find-links directory
            shutil.copyfile(wheel, session.built / Path(wheel).name)
            own.add(Path(wheel).name)
        expected = _expected_hashes(inputs.requirements)
        if inputs.pylock is not None:
            pinned = _pylock_requirements(inputs.pylock, target, inputs.extras)
            req_args = ["--no-deps", "-r", str(_write_lines(stage / "pylock.txt", pinned))]
        else:
            req_args = ["-r", str(_write_lines(
                stage / "requirements.txt", map(_requirement_line, inputs.requirements)))]
            if inputs.constraints:
                session.constraint_args = ["-c", str(_write_lines(
                    stage / "constraints.txt", map(_requirement_line, inputs.constraints)))]
                req_args += session.constraint_args
        # the file itself, not only its name: an index must not offer a "newer" application;
        # with its own hash, since one --hash in the requirements puts pip in hash mode
        if own:
            req_args += ["-r", str(_write_lines(stage / "local.txt", [
                f"{session.built / name} --hash=sha256:{_file_sha256(session.built / name)}"
                for name in sorted(own)]))]
        wheels: list[LockedWheel] = []
        if inputs.requirements or inputs.pylock is not None or own:
            chosen = [c for c in _resolve_target(session, req_args, target, host)
                      if c.filename not in own]
            wheels = _place(session, chosen, target=target, expected=expected,
                            what=f"the wheels for {target.name}")
        build: list[LockedWheel] = []
        if inputs.build_requires:
            # build requirements run on the HOST (PEP 517 frontends install them there)
            rc, lines, chosen = _resolve(session, list(inputs.build_requires), target=None,
                                         what="the build requirements (for this host)")
            if rc != 0:
                _raise_for(lines, "resolving the build requirements", session)
            build = _place(session, chosen, target=None, expected={},
                           what="the build requirements")
        out.info(f"fetched {len(wheels)} wheel(s) for {target.name} and "
                 f"{len(build)} build requirement(s) into {cache}")
        return Lock(target.name, tuple(wheels), tuple(build))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _fields(inputs: FetchInputs) -> dict[str, Any]:
    return {name: getattr(inputs, name) for name in FetchInputs.__slots__}


def _as_inputs(value: FetchInputs | RequirementsSet | Sequence[RequirementSpec | str]
               ) -> FetchInputs:
    if isinstance(value, FetchInputs):
        return value
    if isinstance(value, RequirementsSet):
        return FetchInputs(value.requirements, value.constraints, None, (), (), value.index_url,
                           value.extra_index_urls, value.find_links, value.no_index)
    specs = tuple(RequirementSpec(Requirement(v), source="argument") if isinstance(v, str)
                  else v for v in value)
    return FetchInputs(requirements=specs)


def _expected_hashes(specs: Iterable[RequirementSpec]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for spec in specs:
        if spec.hashes:
            name = canonicalize_name(spec.requirement.name)
            out[name] = out.get(name, frozenset()) | spec.hashes
    return out


def _read_pyproject(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "pyproject.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc}; fix the file") from exc


def _is_pylock(path: Path) -> bool:
    # PEP 751 file names: pylock.toml or pylock.<name>.toml
    return path.name == "pylock.toml" or (path.name.startswith("pylock.")
                                          and path.name.endswith(".toml"))


def project_inputs(
    project_dir: Path | str,
    *,
    requirements: Sequence[Path | str] | None = None,
    extras: Sequence[str] = (),
) -> FetchInputs:
    """The requirement inputs of a project, in the order project.requirement_sources uses.

    ``requirements`` files when given; else ``requirements.txt``, else ``pylock.toml``
    beside pyproject.toml; else ``[project].dependencies`` plus the chosen optional extras.
    ``[build-system].requires`` (PEP 517's setuptools default when absent) are added.
    """
    root = Path(project_dir)
    pyproject = _read_pyproject(root)
    # PEP 517/518: without [build-system] a front end builds with setuptools; without a
    # pyproject.toml at all there is no application to build, so nothing to fetch for it
    default = ["setuptools>=40.8.0"] if pyproject else []
    build_requires = tuple(pyproject.get("build-system", {}).get("requires", default))
    files = [Path(p) for p in requirements or ()]
    if not files:
        files = [p for p in (root / "requirements.txt", root / "pylock.toml") if p.is_file()][:1]
    pylocks = [f for f in files if _is_pylock(f)]
    if pylocks:
        if len(files) > 1:
            raise ConfigError(f"give one pylock.toml and no other requirements, not "
                              f"{[str(p) for p in files]!r}")
        return FetchInputs(pylock=pylocks[0], extras=tuple(extras),
                           build_requires=build_requires)
    if files:
        rs = parse_requirements_files(files)
        return FetchInputs(rs.requirements, rs.constraints, None, (), build_requires,
                           rs.index_url, rs.extra_index_urls, rs.find_links, rs.no_index)
    project = pyproject.get("project", {})
    if "dependencies" in project.get("dynamic", []):
        raise ConfigError(f"{str(root / 'pyproject.toml')!r} declares dynamic dependencies; "
                          "fetch needs them listed: pass -r requirements.txt (or a pylock.toml)")
    deps = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise ConfigError(f"extra {extra!r} is not in [project.optional-dependencies] "
                              f"(it has: {', '.join(sorted(optional)) or 'none'}); fix --extra")
        deps += optional[extra]
    specs = requirement_specs(deps, "pyproject.toml [project]")
    return FetchInputs(requirements=specs, build_requires=build_requires)


def specs_from_pylock(path: Path | str) -> tuple[RequirementSpec, ...]:
    """A PEP 751 lock's packages as pins: ``name==version; marker`` with every wheel's sha256.

    For ``wheels.resolve``: the lock already is the whole closure, so each pin stands alone.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc}; fix the PEP 751 lock") from exc
    specs = []
    for i, package in enumerate(data.get("packages", [])):
        name, version = package.get("name"), package.get("version")
        line = f"{name}=={version}" if version else f"{name}"
        if package.get("marker"):
            line += f"; {package['marker']}"
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise ConfigError(f"{str(path)!r}: package {i} ({line!r}) is not a valid pin "
                              f"({exc}); fix the lock") from exc
        hashes = frozenset(f"sha256:{w['hashes']['sha256']}" for w in package.get("wheels", [])
                           if isinstance(w.get("hashes"), dict) and "sha256" in w["hashes"])
        specs.append(RequirementSpec(requirement, hashes, f"{path.name} packages[{i}]"))
    return tuple(specs)


def _project_options(root: Path, overrides: Mapping[str, object]) -> Options:
    """[tool.pydebvenv] of the project with ``overrides`` on top (project.py's rules)."""
    from .project import _options  # the lead owns the key table; fetch reuses it

    tool = _read_pyproject(root).get("tool", {}).get("pydebvenv", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"[tool.pydebvenv] in {str(root / 'pyproject.toml')!r} must be a "
                          "table")
    return _options(root, root / "pyproject.toml", tool, overrides)[0]


def fetch(
    project_dir: Path | str = ".",
    *,
    requirements: Sequence[Path | str] | None = None,
    target: str | None = None,
    arch: str | None = None,
    wheel_cache: Path | str | None = None,
    extras: Sequence[str] = (),
    lock_path: Path | str | None = None,
    reporter: Reporter | None = None,
    index_url: str | None = None,
    extra_index_urls: Sequence[str] = (),
    find_links: Sequence[str] = (),
    host: HostFacts | None = None,
) -> Lock:
    """``pydebvenv fetch``: fill the wheel cache for the target and write its lock.

    Arguments override the same keys of [tool.pydebvenv]; index options come before those
    written in requirements files.  The lock goes to ``lock_path`` (default
    ``lock_path_for(project_dir, target)``).
    """
    root = Path(project_dir)
    given = {"requirements": requirements, "target": target, "arch": arch,
             "wheel_cache": wheel_cache, "extras": extras, "index_url": index_url,
             "extra_index_urls": extra_index_urls, "find_links": find_links}
    options = _project_options(root, {k: v for k, v in given.items() if v not in (None, (), [])})
    t = get_target(options.target, options.arch, host)
    cache = options.wheel_cache
    if cache is None:
        from .wheels import default_wheel_cache

        cache = default_wheel_cache()
    inputs = project_inputs(root, requirements=options.requirements, extras=options.extras)
    lock = fetch_requirements(inputs, target=t, cache=Path(cache), index_url=options.index_url,
                              extra_index_urls=options.extra_index_urls,
                              find_links=options.find_links, reporter=reporter, host=host)
    write_lock(lock, Path(lock_path) if lock_path else lock_path_for(root, t))
    return lock
