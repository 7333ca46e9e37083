"""Fill the wheel cache for a target and lock the choice: ``pydebvenv fetch``.

pip resolves, pip downloads; pydebvenv only makes pip answer for the TARGET: tags through
``--platform``/``--abi``/``--python-version`` and markers through a bootstrap (pip.py).
What to fetch is project/sources.py's choice (requirements files, [project] dependencies
or a PEP 751 lock), plus the build requirements.  This module composes the steps: resolve
(session.py), build sdists the target has no wheel of (sdist.py), place verified files in
the cache (session.py), and write the lock (wheels/lock.py).

A lock that matches the requirements is the source of truth: ``fetch`` then only makes
sure the files it names are in the cache (``fetch_locked``) and resolves anew only with
``upgrade`` or when the requirements changed (docs/lock.md).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from pydebvenv.acquire.pip import PipOutput
from pydebvenv.acquire.piperrors import raise_for
from pydebvenv.acquire.sdist import resolve_target
from pydebvenv.acquire.session import Session, place, resolve, write_lines
from pydebvenv.errors import ConfigError
from pydebvenv.project.config import Config, from_config, load_config, toml_table
from pydebvenv.project.metadata import find_dependencies
from pydebvenv.project.pylock import pylock_requirements
from pydebvenv.project.requirements import RequirementSpec, requirement_specs
from pydebvenv.project.sources import (
    Inputs,
    build_requirements,
    from_requirements,
    read_inputs,
    requirement_line,
    requirement_source,
    requirements_digest,
)
from pydebvenv.report import Reporter
from pydebvenv.scratch import remove_scratch
from pydebvenv.target import HostFacts, Target, get_target
from pydebvenv.wheels.cache import default_wheel_cache, file_sha256
from pydebvenv.wheels.lock import Lock, LockedWheel, matching_lock, write_lock

__all__ = [
    "config_lock_path",
    "fetch",
    "fetch_locked",
    "fetch_requirements",
    "from_lock_path",
    "lock_path_for",
    "project_inputs",
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


def config_lock_path(config: Config, cache: Path, target: Target) -> Path:
    """The lock of ``config`` for ``target``: beside the project, or for a ``--from`` build
    in the wheel cache (from_lock_path)."""
    return from_lock_path(config, cache, target) if config.from_ \
        else lock_path_for(config.root, target)


def fetch_requirements(
    inputs: Inputs,
    *,
    target: Target,
    cache: Path,
    local_wheels: Sequence[Path] = (),
    reporter: Reporter | None = None,
    host: HostFacts | None = None,
) -> Lock:
    """Resolve ``inputs`` for ``target`` and fetch them into ``cache`` (their build
    requirements for the host).

    ``local_wheels`` (the application's own wheel) take part in the resolution, so their
    Requires-Dist are fetched, but are neither copied into the cache nor locked.  Returns
    the lock (without the requirements digest: the caller knows the inputs).  FetchError
    on any failure; the cache is left valid whatever happens.
    """
    with _session(inputs, cache, reporter) as session:
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
            wheels = [replace(w, compiled_for=_compiled_for(w.filename, session.seen))
                      for w in wheels]
        build: list[LockedWheel] = []
        if inputs.build_requires:
            # build requirements run on the HOST (PEP 517 frontends install them there)
            rc, lines, picked = resolve(session, list(inputs.build_requires), target=None,
                                        what="the build requirements (for this host)")
            if rc != 0:
                raise_for(lines, "resolving the build requirements", session.indexes())
            build = place(session, picked, target=None, expected={},
                          what="the build requirements")
        _fetched(session)
        return Lock(target.name, tuple(wheels), tuple(build))


def fetch_locked(lock: Lock, inputs: Inputs, *, target: Target, cache: Path,
                 reporter: Reporter | None = None, host: HostFacts | None = None) -> Lock:
    """Make sure every file ``lock`` names is in ``cache`` with the locked sha256: download
    the missing ones as pinned (``--no-deps``, ``--hash``), build the ones the lock took from
    sdists again (the same sdist gives the same bytes), resolve nothing anew.

    ``inputs`` gives the indexes.  Without a missing file nothing is run at all.  Returns
    ``lock``.
    """
    wheels = _missing(lock.wheels, cache)
    build = _missing(lock.build_requires, cache)
    if not wheels and not build:
        return lock
    with _session(inputs, cache, reporter) as session:
        session.hash_fix = (
            "the lock names other bytes than the index (or a build of its sdist) gives now: "
            f"run `pydebvenv fetch --upgrade --target {target.release.name} --arch "
            f"{target.arch.name}` to lock what it gives")
        if wheels:
            args = ["--no-deps", "-r", str(write_lines(session.stage / "locked.txt",
                                                       map(_pin, wheels)))]
            chosen = resolve_target(session, args, target, host)
            place(session, chosen, target=target, expected=_lock_hashes(wheels),
                  what=f"the locked wheels for {target.name}")
        if build:
            args = ["--no-deps", "-r", str(write_lines(session.stage / "locked-build.txt",
                                                       map(_pin, build)))]
            rc, lines, picked = resolve(session, args, target=None,
                                        what="the locked build requirements (for this host)")
            if rc != 0:
                raise_for(lines, "resolving the locked build requirements", session.indexes(),
                          hash_fix=session.hash_fix)
            place(session, picked, target=None, expected=_lock_hashes(build),
                  what="the locked build requirements")
        _fetched(session)
    return lock


@contextmanager
def _session(inputs: Inputs, cache: Path, reporter: Reporter | None) -> Iterator[Session]:
    """A Session with its staging directory inside the cache, removed afterwards."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    # same filesystem as the cache: files are linked or renamed into place
    stage = Path(tempfile.mkdtemp(dir=cache, prefix=".fetch-"))
    out = PipOutput(reporter)
    try:
        yield Session(cache, stage, out, index_url=inputs.index_url,
                      extra_index_urls=inputs.extra_index_urls, find_links=inputs.find_links,
                      no_index=inputs.no_index)
    finally:
        remove_scratch(stage, out.warning)  # every file in it is closed: pip has exited


def _fetched(session: Session) -> None:
    if session.fetched:
        session.out.info(f"fetched {session.fetched} file(s), {session.fetched_bytes:,} bytes, "
                         f"into {session.cache}")


def _missing(wheels: Iterable[LockedWheel], cache: Path) -> list[LockedWheel]:
    """The locked files the cache lacks (or holds with other bytes: place() says which)."""
    return [w for w in wheels
            if not (cache / w.filename).is_file() or file_sha256(cache / w.filename) != w.sha256]


def _pin(w: LockedWheel) -> str:
    return f"{w.name}=={w.version} --hash=sha256:{w.sha256}"


def _lock_hashes(wheels: Iterable[LockedWheel]) -> dict[str, frozenset[str]]:
    return {canonicalize_name(w.name): frozenset({f"sha256:{w.sha256}"}) for w in wheels}


def _compiled_for(filename: str, seen: Iterable[str]) -> tuple[str, ...]:
    """For a pure wheel: the platforms of the compiled wheels of the same version that pip
    saw and passed over (none fit the target); empty for a compiled wheel or none seen."""
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return ()  # an sdist among the build requirements
    if any(t.platform != "any" for t in tags):
        return ()
    platforms: set[str] = set()
    for other in seen:
        try:
            o_name, o_version, _b, o_tags = parse_wheel_filename(other)
        except InvalidWheelFilename:
            continue
        if (o_name, o_version) == (name, version):
            platforms |= {t.platform for t in o_tags if t.platform != "any"}
    return tuple(sorted(platforms))


def _requirement_args(session: Session, inputs: Inputs, target: Target,
                      own: Sequence[str]) -> list[str]:
    """pip's ``-r``/``-c`` options: requirements files written into the session's stage."""
    stage = session.stage
    if inputs.pylock is not None:
        pinned = pylock_requirements(inputs.pylock, target, inputs.extras)
        req_args = ["--no-deps", "-r", str(write_lines(stage / "pylock.txt", pinned))]
    else:
        req_args = ["-r", str(write_lines(
            stage / "requirements.txt", map(requirement_line, inputs.requirements)))]
        if inputs.constraints:
            session.constraint_args = ["-c", str(write_lines(
                stage / "constraints.txt", map(requirement_line, inputs.constraints)))]
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


def project_inputs(config: Config) -> Inputs:
    """What ``fetch`` installs for the project (project/sources.py's order), with the build
    requirements of [build-system].

    No wheel of the application is built here, so its static [project] dependencies (and
    those of the chosen extras) stand for its Requires-Dist: beside a requirements file
    they are added too (pip merges them with the pins), unless the file is in hash mode,
    where pip wants every line pinned and hashed and the file must list them itself.
    include-pip adds pip, as the build does.
    """
    opts = config.options
    source = requirement_source(config)
    project = toml_table(config.data, "project", config.pyproject)
    dynamic = project.get("dynamic", [])
    dynamic_deps = isinstance(dynamic, list) and "dependencies" in dynamic
    if source.kind == "dependencies" and dynamic_deps:
        raise ConfigError(f"{str(config.pyproject)!r} declares dynamic dependencies; "
                          "fetch needs them listed: pass -r requirements.txt (or a "
                          "pylock.toml)")
    inputs = read_inputs(config, source)
    wanted: list[str] = []
    if project and not dynamic_deps and inputs.pylock is None:
        deps, optional = find_dependencies(project, None)
        wanted = list(deps)
        for extra in opts.extras:
            if extra not in optional:
                raise ConfigError(f"extra {extra!r} is not in [project.optional-dependencies] "
                                  f"(it has: {', '.join(sorted(optional)) or 'none'}); "
                                  "fix --extra")
            wanted += optional[extra]
    if any(spec.hashes for spec in inputs.requirements):
        wanted = []
    if opts.include_pip and inputs.pylock is None:
        wanted.append("pip")
    added = requirement_specs(wanted, "pyproject.toml [project]")
    return replace(inputs, requirements=inputs.requirements + added,
                   build_requires=build_requirements(config))


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
    include_pip: bool | None = None,
    upgrade: bool = False,
    host: HostFacts | None = None,
) -> Lock:
    """``pydebvenv fetch``: fill the wheel cache for the target and write its lock.

    Arguments override the same keys of [tool.pydebvenv]; index options come before those
    written in requirements files.  ``from_`` (``--from``) fetches published
    distributions instead of a project's requirements (no project directory).  The lock
    goes to ``lock_path``, by default ``lock_path_for(project_dir, target)`` (``--from``:
    ``from_lock_path``, in the wheel cache).  While that lock matches the requirements,
    only the files it names are fetched; ``upgrade`` resolves anew all the same.
    """
    report = reporter or Reporter.silent()
    given = {"requirements": requirements, "target": target, "arch": arch,
             "wheel_cache": wheel_cache, "extras": extras, "index_url": index_url,
             "extra_index_urls": extra_index_urls, "find_links": find_links,
             "include_pip": include_pip}
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
    path = Path(lock_path) if lock_path else config_lock_path(config, cache, t)
    digest = requirements_digest(config)
    inputs = project_inputs(config)
    current, why = matching_lock(path, t.name, digest)
    if current is not None and not upgrade:
        report.info(f"{path.name} matches the requirements: fetching the files it names "
                    "(--upgrade resolves anew)")
        lock = fetch_locked(current, inputs, target=t, cache=cache, reporter=report, host=host)
    else:
        report.info(f"{why}: resolving" if current is None else "--upgrade: resolving anew")
        lock = replace(fetch_requirements(inputs, target=t, cache=cache, reporter=report,
                                          host=host), requirements=digest)
        write_lock(lock, path)
    report.summary(f"locked {len(lock.wheels)} wheel(s) and {len(lock.build_requires)} build "
                   f"requirement(s) for {t.name} in {path}", path)
    return lock


_BOTH = ("give a project directory or --from requirements, not both: --from builds a "
         "published distribution without a project")
