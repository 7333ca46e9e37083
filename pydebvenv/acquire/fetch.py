"""Fill the wheel cache for a target and lock the choice: ``pydebvenv fetch``.

pip resolves, pip downloads; pydebvenv only makes pip answer for the TARGET: tags through
``--platform``/``--abi``/``--python-version`` and markers through a bootstrap (pip.py).
What to fetch is project/sources.py's choice (requirements files, [project] dependencies
or a PEP 751 lock), plus the build requirements.  This module composes the steps: resolve
(session.py), build sdists the target has no wheel of (sdist.py), place verified files in
the cache (session.py), and write the lock (wheels/lock.py).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from packaging.utils import canonicalize_name

from pydebvenv.acquire.pip import PipOutput
from pydebvenv.acquire.piperrors import raise_for
from pydebvenv.acquire.sdist import resolve_target
from pydebvenv.acquire.session import Session, place, resolve, write_lines
from pydebvenv.errors import ConfigError
from pydebvenv.project.config import Config, from_config, load_config, toml_table
from pydebvenv.project.metadata import find_dependencies
from pydebvenv.project.pylock import pylock_requirements
from pydebvenv.project.requirements import (
    RequirementSpec,
    requirement_specs,
)
from pydebvenv.project.sources import (
    Inputs,
    from_requirements,
    read_inputs,
    requirement_source,
)
from pydebvenv.report import Reporter
from pydebvenv.scratch import remove_scratch
from pydebvenv.target import HostFacts, Target, get_target
from pydebvenv.wheels.cache import default_wheel_cache, file_sha256
from pydebvenv.wheels.lock import Lock, LockedWheel, write_lock

__all__ = [
    "fetch",
    "fetch_requirements",
    "from_lock_path",
    "lock_path_for",
]


def lock_path_for(project_dir: Path | str, target: Target) -> Path:
    """Where ``fetch`` writes the lock for ``target``: one file per target beside pyproject."""
    return Path(project_dir) / f"pydebvenv-{target.release.name}-{target.arch.name}.lock"


def from_lock_path(config: Config, cache: Path, target: Target) -> Path:
    """Where ``fetch --from`` writes the lock for ``target``: there is no project directory,
    so it goes into the wheel cache, named after the first distribution and keyed by the
    requirements as given (the ``--from`` strings, the chosen extras and the bytes of any
    ``-r`` files), so ``build --from ... --offline`` with the same requirements finds it and
    any other requirements do not."""
    key = hashlib.sha256()
    for spec in from_requirements(config):
        key.update(f"from {spec.requirement}\n".encode())
    for path in config.options.requirements or ():
        try:
            key.update(f"file {Path(path).name}\n".encode() + Path(path).read_bytes())
        except OSError:
            key.update(f"missing {path}\n".encode())  # reading it reports the error
    first = canonicalize_name(from_requirements(config)[0].requirement.name)
    return (Path(cache) / "locks"
            / f"{first}-{key.hexdigest()[:16]}-{target.release.name}-{target.arch.name}.lock")


def _requirement_line(spec: RequirementSpec) -> str:
    return " ".join([str(spec.requirement), *(f"--hash={h}" for h in sorted(spec.hashes))])


def fetch_requirements(
    inputs: Inputs,
    *,
    target: Target,
    cache: Path,
    local_wheels: Sequence[Path] = (),
    reporter: Reporter | None = None,
    host: HostFacts | None = None,
) -> Lock:
    """Fetch ``inputs`` for ``target`` into ``cache`` (their build requirements for the host).

    ``local_wheels`` (the application's own wheel) take part in the resolution, so their
    Requires-Dist are fetched, but are neither copied into the cache nor locked.  Returns
    the lock (``fetch`` writes it).  FetchError on any failure; the cache is left valid
    whatever happens.
    """
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
        remove_scratch(stage, out.warning)  # every file in it is closed: pip has exited


def _requirement_args(session: Session, inputs: Inputs, target: Target,
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


def _expected_hashes(specs: Iterable[RequirementSpec]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for spec in specs:
        if spec.hashes:
            name = canonicalize_name(spec.requirement.name)
            out[name] = out.get(name, frozenset()) | spec.hashes
    return out


def _project_inputs(config: Config) -> Inputs:
    """What ``fetch`` installs for the project (project/sources.py's order), with the build
    requirements of [build-system] (PEP 518; PEP 517's setuptools default when absent)."""
    source = requirement_source(config)
    dependencies: tuple[RequirementSpec, ...] = ()
    if source.kind == "dependencies":
        # no wheel of the application is built here: its static [project] dependencies
        # and the chosen extras stand for its Requires-Dist
        project = toml_table(config.data, "project", config.pyproject)
        dynamic = project.get("dynamic", [])
        if isinstance(dynamic, list) and "dependencies" in dynamic:
            raise ConfigError(f"{str(config.pyproject)!r} declares dynamic dependencies; "
                              "fetch needs them listed: pass -r requirements.txt (or a "
                              "pylock.toml)")
        deps, optional = find_dependencies(project, None)
        wanted = list(deps)
        for extra in config.options.extras:
            if extra not in optional:
                raise ConfigError(f"extra {extra!r} is not in [project.optional-dependencies] "
                                  f"(it has: {', '.join(sorted(optional)) or 'none'}); "
                                  "fix --extra")
            wanted += optional[extra]
        dependencies = requirement_specs(wanted, "pyproject.toml [project]")
    inputs = read_inputs(config, source, dependencies)
    # without a pyproject.toml there is no application to build, so no backend to fetch
    default = ["setuptools>=40.8.0"] if config.data else []
    system = toml_table(config.data, "build-system", config.pyproject)
    requires = system.get("requires", default)
    return replace(inputs, build_requires=tuple(str(r) for r in requires)
                   if isinstance(requires, list) else ())


def fetch(
    project_dir: Path | str | None = None,
    *,
    from_: str | Sequence[str] | None = None,
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
    written in requirements files.  ``from_`` (``--from``) fetches published
    distributions instead of a project's requirements (no project directory).  The lock
    goes to ``lock_path``, by default ``lock_path_for(project_dir, target)`` (``--from``:
    ``from_lock_path``, in the wheel cache).
    """
    given = {"requirements": requirements, "target": target, "arch": arch,
             "wheel_cache": wheel_cache, "extras": extras, "index_url": index_url,
             "extra_index_urls": extra_index_urls, "find_links": find_links}
    overrides = {k: v for k, v in given.items() if v not in (None, (), [])}
    if from_:
        if project_dir is not None:
            raise ConfigError(_BOTH)
        config = from_config(from_, overrides)
    else:
        config = load_config(project_dir if project_dir is not None else ".", overrides,
                             required=False)
    options = config.options
    t = get_target(options.target, options.arch, host)
    cache = Path(options.wheel_cache if options.wheel_cache is not None
                 else default_wheel_cache())
    lock = fetch_requirements(_project_inputs(config), target=t, cache=cache,
                              reporter=reporter, host=host)
    default = from_lock_path(config, cache, t) if config.from_ else lock_path_for(config.root, t)
    written = Path(lock_path) if lock_path else default
    write_lock(lock, written)
    if reporter is not None:
        reporter.info(f"lock: {written}")
    return lock


_BOTH = ("give a project directory or --from requirements, not both: --from builds a "
         "published distribution without a project")
