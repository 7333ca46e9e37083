"""Fill the wheel cache for a target and lock the choice: ``pydebvenv fetch``.

pip resolves, pip downloads; pydebvenv only makes pip answer for the TARGET: tags through
``--platform``/``--abi``/``--python-version`` and markers through a bootstrap (pipdriver.py).
This module says what to fetch (requirements files, [project] dependencies or a PEP 751
lock, plus the build requirements) and composes the steps: resolve (download.py), build
sdists the target has no wheel of (sdist.py), place verified files in the cache
(download.py), and write the lock (lock.py).
"""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .config import load_options
from .download import Session, place, resolve, write_lines
from .errors import ConfigError
from .lock import Lock, LockedWheel, write_lock
from .pipdriver import PipOutput, Reporter
from .piperrors import raise_for
from .pylock import is_pylock, pylock_requirements
from .requirements import (
    RequirementSpec,
    RequirementsSet,
    parse_requirements_files,
    requirement_specs,
)
from .sdist import resolve_target
from .target import HostFacts, Target, get_target
from .wheels import default_wheel_cache, file_sha256

__all__ = [
    "FetchInputs",
    "fetch",
    "fetch_requirements",
    "lock_path_for",
    "project_inputs",
]


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


def lock_path_for(project_dir: Path | str, target: Target) -> Path:
    """Where ``fetch`` writes the lock for ``target``: one file per target beside pyproject."""
    return Path(project_dir) / f"pydebvenv-{target.release.name}-{target.arch.name}.lock"


def _requirement_line(spec: RequirementSpec) -> str:
    return " ".join([str(spec.requirement), *(f"--hash={h}" for h in sorted(spec.hashes))])


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
    inputs = replace(
        inputs,
        constraints=(*inputs.constraints, *constraints),
        build_requires=(*inputs.build_requires, *build_requires),
        index_url=index_url or inputs.index_url,
        extra_index_urls=tuple(dict.fromkeys((*extra_index_urls, *inputs.extra_index_urls))),
        find_links=tuple(dict.fromkeys((*find_links, *inputs.find_links))),
    )
    out = PipOutput(reporter)
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=cache, prefix=".fetch-"))  # same filesystem: os.replace
    try:
        session = Session(cache, stage, out, index_url=inputs.index_url,
                          extra_index_urls=inputs.extra_index_urls,
                          find_links=inputs.find_links, no_index=inputs.no_index)
        own = set()
        for wheel in local_wheels:  # found through the session's find-links directory
            shutil.copyfile(wheel, session.built / Path(wheel).name)
            own.add(Path(wheel).name)
        expected = _expected_hashes(inputs.requirements)
        req_args = _requirement_args(session, inputs, target, sorted(own))
        wheels: list[LockedWheel] = []
        if inputs.requirements or inputs.pylock is not None or own:
            chosen = [c for c in resolve_target(session, req_args, target, host)
                      if c.filename not in own]
            wheels = place(session, chosen, target=target, expected=expected,
                           what=f"the wheels for {target.name}")
        build: list[LockedWheel] = []
        if inputs.build_requires:
            # build requirements run on the HOST (PEP 517 frontends install them there)
            rc, lines, chosen = resolve(session, list(inputs.build_requires), target=None,
                                        what="the build requirements (for this host)")
            if rc != 0:
                raise_for(lines, "resolving the build requirements", session.indexes())
            build = place(session, chosen, target=None, expected={},
                          what="the build requirements")
        out.info(f"fetched {len(wheels)} wheel(s) for {target.name} and "
                 f"{len(build)} build requirement(s) into {cache}")
        return Lock(target.name, tuple(wheels), tuple(build))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _requirement_args(session: Session, inputs: FetchInputs, target: Target,
                      own: Sequence[str]) -> list[str]:
    """pip's ``-r``/``-c`` options: requirements files written into the session's stage."""
    stage = session.stage
    if inputs.pylock is not None:
        pinned = pylock_requirements(inputs.pylock, target, inputs.extras)
        req_args = ["--no-deps", "-r", str(write_lines(stage / "pylock.txt", pinned))]
    else:
        req_args = ["-r", str(write_lines(
            stage / "requirements.txt", map(_requirement_line, inputs.requirements)))]
        if inputs.constraints:
            session.constraint_args = ["-c", str(write_lines(
                stage / "constraints.txt", map(_requirement_line, inputs.constraints)))]
            req_args += session.constraint_args
    # the file itself, not only its name: an index must not offer a "newer" application.
    # With its own hash only when another line has one: one --hash puts pip in hash mode
    # (then it needs one on every line), and hash mode refuses the application's unpinned
    # Requires-Dist ("all requirements must have their versions pinned with ==").
    hashing = inputs.pylock is not None or any(spec.hashes for spec in inputs.requirements)
    if own:
        req_args += ["-r", str(write_lines(stage / "local.txt", [
            f"{session.built / name}"
            + (f" --hash=sha256:{file_sha256(session.built / name)}" if hashing else "")
            for name in own]))]
    return req_args


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
    pylocks = [f for f in files if is_pylock(f)]
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
    options = load_options(root, {k: v for k, v in given.items() if v not in (None, (), [])})
    t = get_target(options.target, options.arch, host)
    cache = options.wheel_cache if options.wheel_cache is not None else default_wheel_cache()
    inputs = project_inputs(root, requirements=options.requirements, extras=options.extras)
    lock = fetch_requirements(inputs, target=t, cache=Path(cache), index_url=options.index_url,
                              extra_index_urls=options.extra_index_urls,
                              find_links=options.find_links, reporter=reporter, host=host)
    write_lock(lock, Path(lock_path) if lock_path else lock_path_for(root, t))
    return lock
