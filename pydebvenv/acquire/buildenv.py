"""Build environments for the application's PEP 517 backend, made once from the wheel cache.

A PEP 517 front end must run the backend with the build requirements installed (PEP 517
"Build environment"; PEP 518 ``[build-system].requires``).  Instead of a fresh isolated
environment per build, the requirements are resolved over the wheel cache for the Python
running pydebvenv (the backend runs on the build host, whatever the target), and each
resolved set of wheels is installed once with pypa/installer into a venv without pip, kept
under ``<cache_home>/build-envs/<key>``.  The key is a hash of that interpreter and the
sha256 of every wheel installed, so a new backend version or another interpreter gets its
own environment, and the same key always means the same files.

Before an environment is reused it is verified: its manifest (written last, when it was
made) must carry its key, and every file in it must still have the size and mtime the
manifest lists, with no file added or removed (byte-code caches aside), so a damaged or
modified environment is made again instead of being trusted.
"""

from __future__ import annotations

import compileall
import hashlib
import json
import os
import platform
import shutil
import sys
import sysconfig
import venv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.tags import Tag, sys_tags
from packaging.utils import parse_wheel_filename

from pydebvenv.acquire.caches import new_entry, prune, publish, touch
from pydebvenv.errors import BuildError, ResolutionError, WheelError
from pydebvenv.project.requirements import requirement_specs
from pydebvenv.wheels.cache import CachedWheel
from pydebvenv.wheels.resolve import resolve

__all__ = ["BuildEnv", "EnvPlan", "HostPython", "make_env", "plan_env"]

#: bumped when the layout of an environment or of its manifest changes
_FORMAT = 1
_MANIFEST = "pydebvenv-build-env.json"
_KEEP = 8  # environments kept whatever their age (several projects, several backends)
_MEMO = 32  # resolutions remembered (requirement sets x wheel cache states)
_MAX_AGE_DAYS = 30


@dataclass(frozen=True, slots=True)
class HostPython:
    """The Python running pydebvenv as a wheels Platform: what the build backend runs on.

    Only the build backend's environment is chosen for it; the package's wheels are
    chosen for the Target.  Its tags and markers are read only when a resolution needs them
    (a remembered one does not).
    """

    executable: str
    python_full_version: str
    identity: str  # what makes two interpreters interchangeable for an environment

    @classmethod
    def current(cls) -> HostPython:
        executable = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
        identity = json.dumps([executable, sys.version, sys.implementation.cache_tag,
                               sysconfig.get_platform()])
        return cls(executable, platform.python_version(), identity)

    @property
    def name(self) -> str:
        return f"this host's Python {self.python_full_version}"

    def tags(self) -> list[Tag]:
        return list(sys_tags())

    def marker_environment(self) -> dict[str, str]:
        return {k: str(v) for k, v in default_environment().items()}


@dataclass(frozen=True, slots=True)
class EnvPlan:
    """The wheels a set of build requirements resolves to, and the key they give."""

    requirements: tuple[str, ...]
    wheels: tuple[CachedWheel, ...]
    key: str


@dataclass(frozen=True, slots=True)
class BuildEnv:
    """A verified build environment: run the backend with ``python``."""

    path: Path
    python: Path
    key: str

    @property
    def scripts(self) -> Path:
        return self.python.parent


def plan_env(
    requirements: Sequence[str],
    wheel_cache: Path,
    host: HostPython,
    *,
    fetch_missing: Callable[[Sequence[str]], object] | None = None,
    constraints: Sequence[str] = (),
    memo: Path | None = None,
) -> EnvPlan:
    """Resolve ``requirements`` over the wheel cache for ``host``; nothing is installed.

    ``constraints`` (``name==version`` pins of the lock) narrow the choice.  With
    ``fetch_missing`` (an online build), what the cache lacks is fetched first; without it
    a missing wheel is a BuildError saying to run ``pydebvenv fetch``.  ``memo`` (a file)
    remembers resolutions: one is used again while the wheel cache holds the same files
    (names, sizes, mtimes and inodes of every wheel in it), so an unchanged cache is not
    resolved again on every build.
    """
    signature = (_signature(requirements, constraints, wheel_cache, host)
                 if memo is not None else "")
    if memo is not None and (recalled := _recall(memo, signature)) is not None:
        return _plan(requirements, recalled, host)
    specs = requirement_specs(requirements, "[build-system] requires")
    pinned = requirement_specs(constraints, "the lock's build requirements")
    try:
        wheels = resolve(specs, wheel_cache, host, constraints=pinned).wheels
    except ResolutionError as exc:
        if fetch_missing is None:
            raise BuildError(
                f"the build backend's requirements {', '.join(requirements)} are not in the "
                f"wheel cache {str(wheel_cache)!r} for {host.name}; run `pydebvenv fetch` "
                "first so the build backend is in the wheel cache (or add its wheels there)"
            ) from exc
        fetch_missing(requirements)
        wheels = resolve(specs, wheel_cache, host, constraints=pinned).wheels
        if memo is not None:  # the cache has changed: what was fetched is in it now
            signature = _signature(requirements, constraints, wheel_cache, host)
    if memo is not None:
        _remember(memo, signature, wheels)
    return _plan(requirements, wheels, host)


def _plan(requirements: Sequence[str], wheels: Sequence[CachedWheel], host: HostPython
          ) -> EnvPlan:
    digest = hashlib.sha256(json.dumps(
        [_FORMAT, host.identity, sorted((w.name, str(w.version), w.sha256) for w in wheels)]
    ).encode())
    return EnvPlan(tuple(requirements), tuple(wheels), digest.hexdigest()[:32])


def _signature(requirements: Sequence[str], constraints: Sequence[str], wheel_cache: Path,
               host: HostPython) -> str:
    files = []
    for path in sorted(wheel_cache.rglob("*.whl")) if wheel_cache.is_dir() else ():
        try:
            st = path.stat()
        except OSError:
            continue
        files.append([str(path), st.st_size, st.st_mtime_ns, st.st_ino])
    return hashlib.sha256(json.dumps([_FORMAT, list(requirements), list(constraints),
                                      host.identity, files]).encode()).hexdigest()


def _recall(memo: Path, signature: str) -> list[CachedWheel] | None:
    try:
        rows = json.loads(memo.read_text(encoding="utf-8")).get(signature)
        if rows is None:
            return None
        wheels = []
        for path, sha256 in rows:
            name, version, _build, tags = parse_wheel_filename(Path(path).name)
            wheels.append(CachedWheel(Path(path), name, version, tags, str(sha256)))
        return wheels
    except (OSError, ValueError, TypeError, AttributeError):
        return None  # absent or damaged: resolved again


def _remember(memo: Path, signature: str, wheels: Sequence[CachedWheel]) -> None:
    """Keep the last _MEMO resolutions (a speed-up only: failures are ignored)."""
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    known.pop(signature, None)
    known[signature] = [[str(w.path), w.sha256] for w in wheels]
    kept = dict(list(known.items())[-_MEMO:])
    temp = memo.with_name(f".{memo.name}.{os.getpid()}.tmp")
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(json.dumps(kept), encoding="utf-8")
        os.replace(temp, memo)
    except OSError:
        temp.unlink(missing_ok=True)


def make_env(plan: EnvPlan, envs: Path, host: HostPython) -> BuildEnv:
    """The environment of ``plan`` under ``envs``: reused when it verifies, else made."""
    final = envs / plan.key
    env = _verified(final, plan.key)
    if env is not None:
        touch(final / _MANIFEST)
        return env
    if final.exists():  # damaged or modified: never trusted, made again
        shutil.rmtree(final, ignore_errors=True)
    prune(envs, keep=_KEEP, max_age_days=_MAX_AGE_DAYS, marker=_MANIFEST)
    work = new_entry(envs)
    try:
        _create(work, final, plan, host)
        publish(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    env = _verified(final, plan.key)
    if env is None:
        raise BuildError(f"the build environment {str(final)!r} did not verify right after it "
                         "was made; check the disk and remove that directory")
    return env


def _python_in(root: Path) -> Path:
    scripts = sysconfig.get_paths("venv", vars={"base": str(root), "platbase": str(root)})
    return Path(scripts["scripts"]) / ("python.exe" if os.name == "nt" else "python")


class _Venv(venv.EnvBuilder):
    def setup_scripts(self, context: object) -> None:
        """No activate scripts: nobody activates a build environment."""


def _create(work: Path, final: Path, plan: EnvPlan, host: HostPython) -> None:
    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile
    from installer.utils import get_launcher_kind

    try:
        _Venv(symlinks=os.name != "nt", with_pip=False).create(str(work))
    except (OSError, ValueError) as exc:  # e.g. no venv support in this Python build
        raise BuildError(f"cannot make a build environment with {host.executable}: {exc}; "
                         "install the venv module (Debian: python3-venv)") from exc
    paths = sysconfig.get_paths("venv", vars={"base": str(work), "platbase": str(work)})
    site = paths["purelib"]
    scheme = {"purelib": site, "platlib": paths["platlib"], "scripts": paths["scripts"],
              "data": paths["data"], "headers": os.path.join(paths["data"], "include")}
    # scripts name the interpreter at its final place: the directory is renamed there
    destination = SchemeDictionaryDestination(
        scheme, interpreter=str(_python_in(final)), script_kind=get_launcher_kind())
    for wheel in plan.wheels:
        with WheelFile.open(wheel.path) as source:
            try:  # fetch checked the file's hash; this checks its members against RECORD
                source.validate_record(validate_contents=True)
            except WheelFile.validation_error as exc:
                raise WheelError(f"wheel {wheel.filename!r} fails its RECORD ({exc}); delete "
                                 "it from the wheel cache and fetch it again") from exc
            install(source, destination, {"INSTALLER": b"pydebvenv\n"})
    # compiled now, so no backend run writes byte code here (that would change the files)
    compileall.compile_dir(site, quiet=2, ddir=str(final / Path(site).relative_to(work)))
    manifest = {"format": _FORMAT, "key": plan.key, "requirements": list(plan.requirements),
                "wheels": [w.filename for w in plan.wheels], "files": _listing(work)}
    (work / _MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _listing(root: Path) -> dict[str, list[int] | str]:
    """Every file and symlink under ``root`` (byte-code caches aside): size and mtime, or target."""
    found: dict[str, list[int] | str] = {}
    stack = [root]
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as items:
            for item in items:
                rel = Path(item.path).relative_to(root).as_posix()
                if item.is_symlink():
                    found[rel] = os.readlink(item.path)
                elif item.is_dir():
                    if item.name != "__pycache__":
                        stack.append(Path(item.path))
                elif rel != _MANIFEST:
                    st = item.stat()
                    found[rel] = [st.st_size, st.st_mtime_ns]
    return found


def _verified(root: Path, key: str) -> BuildEnv | None:
    """The environment at ``root`` if it is complete and unchanged since it was made."""
    try:
        manifest = json.loads((root / _MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != _FORMAT or manifest.get("key") != key:
            return None
        if _listing(root) != manifest["files"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    python = _python_in(root)
    if not os.access(python, os.X_OK):  # its base interpreter was removed
        return None
    return BuildEnv(root, python, key)
