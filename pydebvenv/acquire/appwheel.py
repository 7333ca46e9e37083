"""The application's own wheel: its PEP 517 backend run in a cached build environment, or
the wheel of an earlier build when nothing it is built from has changed.

Any backend works (setuptools, hatchling, flit-core, pdm-backend, poetry-core): its PEP 517
hooks (``get_requires_for_build_wheel``, then ``build_wheel``) run through ``build``
(hooks.py) in a build environment (buildenv.py) that holds the ``[build-system]``
requirements, plus what the backend asks for, from the wheel cache.  A project without
[build-system] gets PEP 517's fallback, the setuptools legacy backend.  The backend runs on
a copy of the project, never in the project: setuptools writes ``build/`` and
``*.egg-info/`` into the tree it builds, other backends their own caches, and a build must
leave the project as it found it (docs/appwheel.md).
Before that, the fingerprint of the inputs (fingerprint.py: the project tree, the
checkout's state, the backend and its environment id, SOURCE_DATE_EPOCH and the variables
the backend sees) is looked up in ``<cache_home>/app-wheels``: a wheel built from the same
inputs is used again (after its sha256 is checked) instead of running the backend.  A wheel
is stored there only when the tree's fingerprint after the build equals the one before, so
a file edited while the backend ran is never recorded as built.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename

from pydebvenv.acquire.buildenv import BuildEnv, EnvPlan, HostPython, make_env, plan_env
from pydebvenv.acquire.caches import new_entry, prune, publish, touch
from pydebvenv.acquire.fingerprint import fingerprint, not_source, relevant_environment
from pydebvenv.acquire.hooks import HookFailed, run_wheel_hooks
from pydebvenv.errors import BuildError, ConfigError
from pydebvenv.project.config import read_pyproject
from pydebvenv.target import HostFacts, Target, host_runs
from pydebvenv.wheels.cache import cache_home, file_sha256

__all__ = [
    "AppWheel",
    "BuildSystem",
    "build_app_wheel",
    "build_system_of",
    "check_app_wheel_fits",
    "copy_source_tree",
]

# PEP 517/518: without a [build-system] table (or without its build-backend) a front end
# uses setuptools' legacy backend, requiring setuptools>=40.8.0 (as `build` does).
_LEGACY = ("setuptools.build_meta:__legacy__", ("setuptools>=40.8.0",))
_FORMAT = 1  # bumped when what a fingerprint covers changes
_ENTRY = "entry.json"
_KEEP_WHEELS = 16  # application wheels kept (several projects, branches, SOURCE_DATE_EPOCHs)
# The backend's Python sees neither the caller's module path nor user site-packages: the
# build environment is all it may import (PEP 517 "Build environment").
_DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE")


@dataclass(frozen=True, slots=True)
class AppWheel:
    path: Path
    pure: bool
    reused: bool = False  # True: taken from the cache, the backend did not run


@dataclass(frozen=True, slots=True)
class BuildSystem:
    """pyproject.toml's [build-system] with PEP 517's defaults applied."""

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] = ()


def build_system_of(pyproject: Mapping[str, object], where: str = "pyproject.toml"
                    ) -> BuildSystem:
    """The [build-system] table of a parsed pyproject.toml (ConfigError when malformed)."""
    table = pyproject.get("build-system")
    if table is None:
        return BuildSystem(_LEGACY[1], _LEGACY[0])
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [build-system] must be a table")
    requires = table.get("requires")
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise ConfigError(f"{where}: [build-system] needs `requires`, a list of requirement "
                          "strings (PEP 518), e.g. requires = [\"setuptools>=70.1\"]")
    backend = table.get("build-backend", _LEGACY[0])
    paths = table.get("backend-path", [])
    if not isinstance(backend, str) or not isinstance(paths, list) or not all(
            isinstance(p, str) for p in paths):
        raise ConfigError(f"{where}: [build-system] `build-backend` must be a string and "
                          "`backend-path` a list of strings (PEP 517)")
    return BuildSystem(tuple(requires), backend, tuple(paths))


def build_app_wheel(
    project_dir: Path,
    out_dir: Path,
    *,
    wheel_cache: Path,
    offline: bool,
    source_date_epoch: int,
    system: BuildSystem | None = None,
    environ: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
    exclude: Sequence[Path] = (),
    fetch_missing: Callable[[Sequence[str]], object] | None = None,
    report: Callable[[str], None] | None = None,
    pins: Sequence[str] = (),
) -> AppWheel:
    """The project's wheel in ``out_dir``: reused when its inputs are unchanged, else built.

    ``system`` defaults to the project's own [build-system]; ``cache_dir`` (default
    caches.cache_home()) holds build environments and built wheels; ``exclude`` names
    directories inside the project that builds write to (the package's output directory).
    ``fetch_missing`` fetches build requirements the wheel cache lacks (online builds).
    ``pins`` (``name==version`` of the locked build requirements) constrain the build
    environment, so the backend is the locked one.
    """
    say = report or (lambda _message: None)
    root = Path(project_dir).resolve()
    if system is None:
        system = build_system_of(read_pyproject(root), str(root / "pyproject.toml"))
    cache = cache_home() if cache_dir is None else Path(cache_dir)
    envs = cache / "build-envs"
    host = HostPython.current()
    fetch = None if offline else fetch_missing
    memo = cache / "build-plans.json"
    plan = plan_env(system.requires, wheel_cache, host, fetch_missing=fetch, constraints=pins,
                    memo=memo)
    base_env = _hook_environment(environ, source_date_epoch, wheel_cache, offline)
    hook_env = _with_scripts(base_env, _scripts_dir(envs / plan.key))
    extra = {"format": _FORMAT, "backend": system.backend, "backend-path": system.backend_path,
             "requires": system.requires, "pins": list(pins), "env": plan.key,
             "environ": relevant_environment(hook_env)}
    stats = cache / "source-stats" / (hashlib.sha256(str(root).encode()).hexdigest()[:24] + ".json")
    wheels = cache / "app-wheels"
    try:
        before: str | None = fingerprint(root, exclude=exclude, extra=extra, stat_cache=stats)
    except OSError as exc:  # an unreadable file: build, but keep nothing
        say(f"the project tree cannot be fingerprinted ({exc}); its wheel is built and not kept")
        before = None
    if before is not None:
        found = _reuse(wheels / before[:40], out_dir)
        if found is not None:
            say(f"{found.path.name}: nothing it is built from changed, reused")
            return found

    def plan_for(asked: Sequence[str]) -> EnvPlan:
        """[build-system] plus what the backend ``asked`` for; the same key, the same env."""
        return plan_env((*system.requires, *asked), wheel_cache, host, fetch_missing=fetch,
                        constraints=pins, memo=memo) if asked else plan

    def env_for(chosen: EnvPlan) -> tuple[BuildEnv, dict[str, str]]:
        env = make_env(chosen, envs, host)
        return env, _with_scripts(base_env, env.scripts)

    built = _run_backend(root, system, plan_for, env_for, out_dir, offline,
                         (Path(out_dir), *exclude))
    if before is not None:
        try:
            after = fingerprint(root, exclude=exclude, extra=extra, stat_cache=stats)
        except OSError:
            after = None
        if after == before:
            _store(wheels, before[:40], built, root)
        else:
            say("the project changed while its wheel was built: the wheel is not kept")
    return built


def _hook_environment(environ: Mapping[str, str] | None, epoch: int, wheel_cache: Path,
                      offline: bool) -> dict[str, str]:
    env = {k: v for k, v in (os.environ if environ is None else environ).items()
           if k not in _DROPPED}
    # Reproducible: backends that honour SOURCE_DATE_EPOCH stamp the zip with it.
    env["SOURCE_DATE_EPOCH"] = str(epoch)
    env["PYTHONNOUSERSITE"] = "1"
    # the environment's byte code was compiled when it was made; nothing else gets written
    # (an in-tree backend would otherwise leave __pycache__ in the project)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # setuptools' legacy setup_requires runs pip: it looks in the wheel cache, and only
    # there when offline
    env["PIP_FIND_LINKS"] = " ".join(filter(None, [str(wheel_cache), env.get("PIP_FIND_LINKS")]))
    if offline:
        env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _with_scripts(env: Mapping[str, str], scripts: Path) -> dict[str, str]:
    """``env`` with the build environment's scripts (cmake, ninja, ...) first on PATH."""
    return {**env, "PATH": os.pathsep.join(filter(None, [str(scripts), env.get("PATH", "")]))}


def _scripts_dir(env_dir: Path) -> Path:
    import sysconfig

    return Path(sysconfig.get_paths("venv", vars={"base": str(env_dir),
                                                  "platbase": str(env_dir)})["scripts"])


def _run_backend(root: Path, system: BuildSystem, plan_for: Callable[[Sequence[str]], EnvPlan],
                 env_for: Callable[[EnvPlan], tuple[BuildEnv, dict[str, str]]],
                 out_dir: Path, offline: bool, exclude: Sequence[Path]) -> AppWheel:
    """The wheel, built by the backend's hooks (acquire/hooks.py), on a copy
    of the project made in ``out_dir`` (copy_source_tree, without ``exclude``)."""
    _check_backend_path(root, system.backend_path)
    project = str(root)
    chosen = plan_for(())
    # The hooks' processes have exited before the directory is removed; what cannot be removed
    # stays inside ``out_dir``, whose owner reports it (scratch.scratch_dir), so it never
    # turns a built wheel into a failure.
    with tempfile.TemporaryDirectory(prefix="pydebvenv-appwheel-", dir=out_dir,
                                     ignore_cleanup_errors=True) as tmp:
        source, built = Path(tmp) / "source", Path(tmp) / "wheel"
        built.mkdir()
        try:
            copy_source_tree(root, source, exclude=exclude)
        except OSError as exc:  # the scratch space is full or the project unreadable
            where = f" ({exc.filename})" if exc.filename else ""
            raise BuildError(f"cannot copy {project!r} into the scratch directory {tmp!r}: "
                             f"{exc.strerror or exc}{where}; make room there (or point TMPDIR "
                             "elsewhere), or fix the file's permissions") from None
        try:
            for _attempt in range(2):
                env, variables = env_for(chosen)
                holds = _holds(plan_for, chosen)
                run = run_wheel_hooks(env.python, source, built, variables, holds)
                if run.wheel is not None:
                    break
                chosen = plan_for(run.requires)  # what the backend asked for, installed too
            else:
                raise BuildError(f"the build backend of {project!r} keeps asking for "
                                 f"{', '.join(run.requires)}; check its build requirements")
        except HookFailed as exc:
            missing = "No matching distribution" in exc.line
            raise BuildError(
                f"building the wheel of {project!r} failed: {exc.line}"
                + ("; run `pydebvenv fetch` first so the build backend is in the wheel cache"
                   if missing and offline else "")
            ) from exc
        made = built / run.wheel
        if Path(run.wheel).name != run.wheel or made.suffix != ".whl" or not made.is_file():
            raise BuildError(f"the build backend of {project!r} did not make a wheel "
                             f"(it returned {run.wheel!r})")
        final = Path(out_dir) / made.name
        os.replace(made, final)
    return AppWheel(final, _is_pure(final))


def _holds(plan_for: Callable[[Sequence[str]], EnvPlan], chosen: EnvPlan
           ) -> Callable[[Sequence[str]], bool]:
    """Whether the environment of ``chosen`` already holds what the backend asks for: the
    same wheels resolve with and without it."""
    def holds(asked: Sequence[str]) -> bool:
        return not asked or plan_for(asked).key == chosen.key
    return holds


def _check_backend_path(root: Path, paths: Sequence[str]) -> None:
    """PEP 517: backend-path entries are relative paths inside the project."""
    for entry in paths:
        where = (root / entry).resolve()
        if Path(entry).is_absolute() or not where.is_relative_to(root) or not where.is_dir():
            raise ConfigError(f"[build-system] backend-path {entry!r} is not a directory "
                              f"inside {str(root)!r} (PEP 517); fix pyproject.toml")


def _is_pure(wheel: Path) -> bool:
    _, _, _, tags = parse_wheel_filename(wheel.name)
    return all(t.platform == "any" for t in tags)


def _reuse(entry: Path, out_dir: Path) -> AppWheel | None:
    """The wheel stored in ``entry``, copied into ``out_dir``, if it is intact."""
    try:
        record = json.loads((entry / _ENTRY).read_text(encoding="utf-8"))
        stored = entry / str(record["wheel"])
        if Path(record["wheel"]).name != record["wheel"] or file_sha256(stored) != record[
                "sha256"]:
            shutil.rmtree(entry, ignore_errors=True)  # damaged: never used, built again
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    final = Path(out_dir) / stored.name
    shutil.copyfile(stored, final)
    touch(entry / _ENTRY)
    return AppWheel(final, _is_pure(final), reused=True)


def _store(wheels: Path, name: str, built: AppWheel, root: Path) -> None:
    """Keep ``built`` under ``wheels/name`` for the next build with the same fingerprint."""
    try:
        work = new_entry(wheels)
        try:
            shutil.copyfile(built.path, work / built.path.name)
            record = {"wheel": built.path.name, "sha256": file_sha256(built.path),
                      "project": str(root)}
            (work / _ENTRY).write_text(json.dumps(record), encoding="utf-8")
            if (wheels / name).exists():
                shutil.rmtree(wheels / name, ignore_errors=True)  # a damaged entry
            publish(work, wheels / name)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        prune(wheels, keep=_KEEP_WHEELS, max_age_days=0, marker=_ENTRY)
    except OSError:
        pass  # only a speed-up: the wheel was built and is used either way


def copy_source_tree(project: Path, dest: Path, *, exclude: Sequence[Path] = ()) -> None:
    """Copy the project tree to ``dest`` for the backend to build there.

    Everything is copied (version-control data too: setuptools-scm and hatch-vcs read the
    version from it) except what no backend builds from: ``__pycache__`` (PEP 3147),
    virtual environments (a ``pyvenv.cfg``, PEP 405), tagged cache directories, and
    ``exclude``.  Symbolic links are kept; one that leaves the project (a readme shared in a
    monorepo, ``../README.md``) is made absolute so it still names the same file.  Modes
    and times are kept (``shutil.copy2``).
    """
    root = project.resolve()
    skip = {Path(p).resolve() for p in exclude}
    skip.discard(root)  # "-o ." names the project itself: only its temporary directory goes
    dest.mkdir(parents=True)
    pending = [(root, dest)]
    while pending:
        src_dir, dst_dir = pending.pop()
        with os.scandir(src_dir) as listing:
            items = sorted(listing, key=lambda e: e.name)
        for item in items:
            src, dst = Path(item.path), dst_dir / item.name
            if item.is_symlink():
                link = os.readlink(src)
                target = (src.parent / link).resolve()
                outside = not os.path.isabs(link) and not target.is_relative_to(root)
                os.symlink(str(target) if outside else link, dst)
            elif item.is_dir():
                if item.name == "__pycache__" or src.resolve() in skip or not_source(src):
                    continue
                dst.mkdir()
                pending.append((src, dst))
            elif item.is_file():
                shutil.copy2(src, dst)
            # sockets, fifos and devices are not source: left out


def check_app_wheel_fits(wheel: AppWheel, target: Target, host: HostFacts) -> None:
    """A wheel with compiled code was built for the host: refuse it for any other target."""
    if wheel.pure:
        return
    _, _, _, tags = parse_wheel_filename(wheel.path.name)
    interpreter = "cp{}{}".format(*target.python_version)
    same_python = any(t.interpreter == interpreter for t in tags)
    if not host_runs(target, host) or not same_python:
        raise BuildError(
            f"{wheel.path.name} contains compiled code built for this host "
            f"({host.release or 'unknown release'}, {host.machine}), so it cannot run on "
            f"{target.name}; build on a {target.name} host with its python{target.pyver}, "
            "or make the extension an optional, separately built wheel"
        )
