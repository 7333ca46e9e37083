"""``build()``: the one place that composes the steps: project, target, wheels, entries, .deb.

Each step is one call into the folder that owns it: project/ reads what the user asked for
(once), target.py says what the target is, acquire/ builds the application's wheel (and
fetches what the cache lacks), wheels/ chooses the wheels, venv/ lays the venv out as
entries, debian/ adds the package's own files, control fields and maintainer scripts, and
debfile/ writes the archive.

The lock is the source of truth (docs/lock.md): while the target's lock matches the
requirements, the venv is exactly the files it names, online or offline.  Otherwise an
online build resolves anew and rewrites the lock; an offline one stops and says to run
``fetch``.  Without any lock, an offline build chooses from the wheel cache.
"""

from __future__ import annotations

import email.message
import os
import shlex
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pydebvenv import __version__
from pydebvenv.acquire.appwheel import build_app_wheel, build_system_of, check_app_wheel_fits
from pydebvenv.acquire.fetch import config_lock_path, fetch_locked, fetch_requirements
from pydebvenv.debfile.control import Control, MaintainerScripts
from pydebvenv.debfile.entry import Entry
from pydebvenv.debfile.writer import resolve_epoch, write_deb
from pydebvenv.debian.bom import BundledWheel, BundleInputs, bom_entries
from pydebvenv.debian.description import bundle_description
from pydebvenv.debian.docs import Distribution, DocInputs, doc_entries
from pydebvenv.debian.extrafiles import extra_file_entries
from pydebvenv.debian.fields import architecture, control_for, depends, unpackaged_sonames
from pydebvenv.debian.links import bin_symlinks, commands_note, default_commands, exposed_commands
from pydebvenv.debian.maintscripts import Snippets, maintainer_scripts
from pydebvenv.debian.services import Units, units_for
from pydebvenv.debian.unitscripts import lintian_overrides, service_scripts
from pydebvenv.errors import BuildError, ConfigError, ResolutionError
from pydebvenv.project.config import Config, Options, from_config, load_config
from pydebvenv.project.metadata import authors, declared_license
from pydebvenv.project.model import Project, project_from_config
from pydebvenv.project.paths import inside_project
from pydebvenv.project.pylock import specs_from_pylock
from pydebvenv.project.requirements import RequirementSpec, requirement_specs
from pydebvenv.project.sources import (
    Inputs,
    build_requirements,
    from_requirements,
    read_inputs,
    requirement_source,
    requirements_digest,
)
from pydebvenv.report import Reporter
from pydebvenv.scratch import scratch_dir
from pydebvenv.target import Target, get_target, host_facts
from pydebvenv.venv.bytecode import bytecode_magic, compile_entries
from pydebvenv.venv.layout import VenvLayout, venv_entries
from pydebvenv.wheels.cache import (
    CachedWheel,
    cache_home,
    default_wheel_cache,
    read_wheel_metadata,
)
from pydebvenv.wheels.lock import Lock, matching_lock, write_lock
from pydebvenv.wheels.resolve import Resolution, resolve
from pydebvenv.wheels.select import Selector

__all__ = ["build"]


@dataclass(frozen=True, slots=True)
class _Package:
    """Everything the archive writer needs: data.tar's entries, the control file, the scripts."""

    entries: tuple[Entry, ...]
    control: Control
    scripts: MaintainerScripts


def build(
    project_dir: str | os.PathLike[str] | None = None,
    *,
    from_: str | Sequence[str] | None = None,
    output_dir: str | os.PathLike[str] = "dist",
    reporter: Reporter | None = None,
    **options: Any,
) -> Path:
    """Build ``project_dir`` (default ``.``) into a .deb in ``output_dir``; return its path.

    ``from_`` (``--from``) builds published distributions instead, without a project
    directory: the first requirement names the application (its metadata gives the
    package's), the others join it in the venv.  Keyword arguments mirror the
    ``[tool.pydebvenv]`` keys (``target``, ``arch``, ``wheel_cache``, ``offline``,
    ``requirements`` — a list of requirement-file paths, like ``-r`` — ``compression``,
    ``revision``, ``depends``, ...) and take precedence over the project's configuration.
    """
    report = reporter or Reporter.silent()
    if from_:
        if project_dir is not None:
            raise ConfigError("give a project directory or --from requirements, not both: "
                              "--from builds a published distribution without a project")
        config = from_config(from_, options)
    else:
        # pyproject.toml, read once
        config = load_config(Path(project_dir if project_dir is not None else ".").resolve(),
                             options)
    opts = config.options
    host = host_facts()
    target = get_target(opts.target, opts.arch, host)
    report.info(f"target: {target.name} (python{target.pyver}, glibc "
                f"{target.glibc[0]}.{target.glibc[1]}){_defaults_note(opts)}")
    epoch = resolve_epoch(None)  # SOURCE_DATE_EPOCH, else the writer's fixed date
    cache = Path(opts.wheel_cache).expanduser() if opts.wheel_cache else default_wheel_cache()
    _make_dir(cache, "the wheel cache", "--wheel-cache")
    out = Path(output_dir).resolve()
    _make_dir(out, "the output directory", "-o")

    # Only the package's temporary file goes into ``out`` (the writer renames it into
    # place); the app's wheel is built in scratch space.  Every file is closed before its
    # directory is removed: the layout (the wheels its entries read) is closed first.
    locking = _Locking(config, target, cache, report)
    with ExitStack() as stack:
        try:
            scratch = stack.enter_context(scratch_dir(report.warning))
        except OSError as exc:
            raise BuildError(f"cannot make a scratch directory in {tempfile.gettempdir()!r}: "
                             f"{exc.strerror}; make room there, or point TMPDIR elsewhere") \
                from None
        if config.from_:
            # no wheel to build: the application is the first requirement's distribution
            with report.phase("resolve"):
                locking.build_pins()  # online: the locked files the cache lacks
                resolution = locking.resolve(None, None)
            app_meta = _first_wheel(config, resolution).metadata()
            project = project_from_config(config, wheel_metadata=app_meta, target=target)
        else:
            with report.phase("build the app's wheel"):
                pins = locking.build_pins()
                # the output directory and the wheel cache may be inside the project:
                # they are not source.  The locked backend is in the cache now: build from
                # the cache alone, so an online build makes the same application wheel as
                # an offline one
                app = build_app_wheel(
                    config.root, scratch, wheel_cache=cache,
                    offline=opts.offline or bool(pins), source_date_epoch=epoch,
                    exclude=(out, cache), pins=pins, report=report.info,
                    system=build_system_of(config.data, str(config.pyproject)),
                    # what the backend asks for besides [build-system] (its
                    # get_requires_for_build_wheel hook) is fetched like the rest
                    fetch_missing=None if opts.offline else locking.fetch_build)
                check_app_wheel_fits(app, target, host)
            # the wheel's METADATA is the only source of a dynamic version
            app_meta = read_wheel_metadata(app.path)
            project = project_from_config(config, wheel_metadata=app_meta, target=target)
            with report.phase("resolve"):
                resolution = locking.resolve(project.dist_name, app.path)
        with report.phase("lay out"):
            # pip, setuptools and wheel are only here when something requires them (or
            # include_pip asked for pip): the venv is never seeded with installer tools.
            layout = stack.enter_context(venv_entries(project.venv, target, resolution.wheels,
                                                      prompt=project.package))
            package = _lay_out(project, app_meta, _app_extras(config), target, resolution,
                               layout, epoch, report)
        with report.phase("write"):
            deb = write_deb(package.control, package.entries, out,
                            compression=opts.compression or target.default_compression,
                            scripts=package.scripts, source_date_epoch=epoch,
                            segment_cache=cache_home() / "segments")
    report.done(deb)
    return deb


def _make_dir(path: Path, what: str, flag: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{what} {str(path)!r} is a file, not a directory: pass a directory "
                          f"with {flag}") from None
    except OSError as exc:
        raise BuildError(f"cannot create {what} {str(path)!r}: {exc.strerror}; pass a "
                         f"writable directory with {flag}") from None


def _defaults_note(opts: Options) -> str:
    chosen = [what for what, given in (("release", opts.target), ("architecture", opts.arch))
              if not given]
    return f"; {' and '.join(chosen)} chosen from this host, pass --target/--arch to change" \
        if chosen else ""


def _app_extras(config: Config) -> tuple[str, ...]:
    """The extras of the application: ``extras``, and those a --from requirement names."""
    if config.from_:
        return tuple(sorted(from_requirements(config)[0].requirement.extras))
    return config.options.extras


def _first_wheel(config: Config, resolution: Resolution) -> CachedWheel:
    """The wheel of the first --from requirement: the application of a --from build."""
    name = canonicalize_name(from_requirements(config)[0].requirement.name)
    for wheel in resolution.wheels:
        if wheel.name == name:
            return wheel
    raise ResolutionError(f"--from {config.from_[0]!r} does not apply to this target (its "
                          "marker is false): nothing names the package")


class _NotLocked(ResolutionError):
    """The venv needs distributions the lock does not name."""

    def __init__(self, message: str, missing: str) -> None:
        super().__init__(message)
        self.missing = missing  # "name version, ..."


class _Locking:
    """The wheels of the venv, decided by the target's lock (see the module's text)."""

    def __init__(self, config: Config, target: Target, cache: Path, report: Reporter) -> None:
        self.config, self.target, self.cache, self.report = config, target, cache, report
        self.offline = config.options.offline
        self.path = config_lock_path(config, cache, target)
        if not config.from_ and self.path.exists():
            inside_project(config.root, self.path, "the lock file")  # a symlink out: refused
        self.digest = requirements_digest(config)
        self.lock, self.why = matching_lock(self.path, target.name, self.digest)
        given = [f"--from={requirement}" for requirement in config.from_]
        self.fetch_command = shlex.join(["pydebvenv", "fetch", *given, "--target",
                                         target.release.name, "--arch", target.arch.name])
        if self.lock is None and self.offline and self.path.exists():
            raise ResolutionError(f"{self.why}; run `{self.fetch_command}` to lock them again "
                                  "(an offline build installs only what a current lock names)")
        self.build_lock: Lock | None = None  # the build requirements locked by this build

    def build_pins(self) -> list[str]:
        """``name==version`` of the locked build requirements, in the cache when returned.

        Online, the lock's files are fetched first (only what the cache lacks); without a
        matching lock the build requirements are resolved and fetched first, so the
        application's wheel is built by the backend the new lock will name.
        """
        inputs = read_inputs(self.config, requirement_source(self.config))
        if self.lock is not None and not self.offline:
            fetch_locked(self.lock, inputs, target=self.target, cache=self.cache,
                         reporter=self.report)
        elif self.lock is None and not self.offline:
            requires = build_requirements(self.config)
            if requires:
                self.build_lock = fetch_requirements(
                    replace(inputs, requirements=(), constraints=(), pylock=None,
                            build_requires=requires),
                    target=self.target, cache=self.cache, reporter=self.report)
        lock = self.lock or self.build_lock
        return [f"{w.name}=={w.version}" for w in lock.build_requires] if lock else []

    def fetch_build(self, requires: Sequence[str]) -> None:
        """Fetch build requirements for the host into the cache (online builds only)."""
        inputs = read_inputs(self.config, requirement_source(self.config))
        fetch_requirements(
            replace(inputs, requirements=(), constraints=(), pylock=None,
                    build_requires=tuple(requires)),
            target=self.target, cache=self.cache, reporter=self.report)

    def resolve(self, dist_name: str | None, app: Path | None) -> Resolution:
        """The wheels of the venv; ``app`` is the application's own wheel (none for a
        --from build), named ``dist_name``."""
        inputs, described = _inputs(self.config, dist_name)
        specs = specs_from_pylock(inputs.pylock) if inputs.pylock is not None \
            else inputs.requirements
        resolution = self._resolve(inputs, specs, described, app)
        self._report_fallbacks(resolution)
        return resolution

    def _resolve(self, inputs: Inputs, specs: tuple[RequirementSpec, ...], described: str,
                 app: Path | None) -> Resolution:
        report, target = self.report, self.target
        if self.lock is not None:
            report.info(f"requirements: {described}, exactly as locked in {self.path}")
            try:
                return self._from_lock(self.lock, inputs, specs, app)
            except _NotLocked as exc:
                if self.offline:
                    raise
                self.why = f"{self.path.name} does not name {exc.missing}"
        elif self.offline:  # no lock at all: whatever the cache offers
            report.info(f"requirements: {described}; no lock for {target.name}, choosing "
                        "from the wheel cache")
            return resolve(specs, self.cache, target, local_wheels=_local(app),
                           constraints=inputs.constraints)
        report.info(f"requirements: {described}; {self.why}: resolving them and writing "
                    f"{self.path}")
        fetched = fetch_requirements(inputs, target=target, cache=self.cache,
                                     local_wheels=_local(app), reporter=report)
        build = self.build_lock.build_requires if self.build_lock else \
            self.lock.build_requires if self.lock else ()
        self.lock = replace(fetched, build_requires=build, requirements=self.digest)
        write_lock(self.lock, self.path)
        report.info(f"locked {len(self.lock.wheels)} wheel(s) and "
                    f"{len(self.lock.build_requires)} build requirement(s) in {self.path}")
        return self._from_lock(self.lock, inputs, specs, app)

    def _from_lock(self, lock: Lock, inputs: Inputs, specs: tuple[RequirementSpec, ...],
                   app: Path | None) -> Resolution:
        """The closure of ``specs`` with every distribution held to its locked file."""
        pins = tuple(RequirementSpec(Requirement(f"{w.name}=={w.version}"),
                                     frozenset({f"sha256:{w.sha256}"}), self.path.name)
                     for w in lock.wheels)
        resolution = resolve(specs, self.cache, self.target, local_wheels=_local(app),
                             constraints=(*inputs.constraints, *pins))
        locked = {canonicalize_name(w.name) for w in lock.wheels}
        loose = sorted(f"{w.name} {w.version}" for w in resolution.wheels
                       if w.name not in locked and w.path != app)
        if loose:
            missing = ", ".join(loose)
            raise _NotLocked(f"{self.path.name} does not name {missing}, which the venv "
                             f"needs: add them to the requirements and run "
                             f"`{self.fetch_command}`", missing)
        return resolution

    def _report_fallbacks(self, resolution: Resolution) -> None:
        """Say so when a pure wheel stands in for a compiled one the target has none of."""
        locked = {canonicalize_name(w.name): w.compiled_for
                  for w in (self.lock.wheels if self.lock else ())}
        for wheel in resolution.wheels:
            platforms = sorted({*locked.get(wheel.name, ()),
                                *resolution.compiled_for.get(wheel.name, ())})
            if platforms:
                self.report.info(
                    f"{wheel.name} {wheel.version}: no compiled wheel for {self.target.name}, "
                    f"using the pure-Python one (slower; compiled wheels exist for "
                    f"{', '.join(platforms)})")


def _local(app: Path | None) -> list[Path]:
    return [app] if app is not None else []


def _inputs(config: Config, dist_name: str | None) -> tuple[Inputs, str]:
    """What to install, and a line saying where it came from.

    project/sources.py's order; its ``dependencies`` are the application's own
    Requires-Dist, followed from its wheel.  The application's extras and pip (with
    include_pip) come on top (a --from build carries its extras on its first requirement).
    """
    opts = config.options
    wanted = [f"{dist_name}[{','.join(opts.extras)}]"] if opts.extras and dist_name else []
    wanted += ["pip"] if opts.include_pip else []
    extra = requirement_specs(wanted, "tool.pydebvenv")
    source = requirement_source(config)
    inputs = read_inputs(config, source)
    if inputs.pylock is not None:
        return inputs, str(source)
    return replace(inputs, requirements=inputs.requirements + extra), str(source)


def _lay_out(project: Project, app_meta: email.message.Message, app_extras: Sequence[str],
             target: Target, resolution: Resolution, layout: VenvLayout, epoch: int,
             report: Reporter) -> _Package:
    """The venv and everything Debian wants beside it, as entries, control and scripts."""
    opts = project.options
    venv = project.venv
    wheels = resolution.wheels
    entries = list(layout.entries)
    if opts.compile:
        # hash-based pycs made here, only when this host runs the target's Python X.Y
        entries = list(compile_entries(venv, target, entries,
                                       cache_dir=cache_home() / "bytecode"))
    commands = _commands(project, app_meta, app_extras, target, layout, report)
    entries += bin_symlinks(venv, commands)
    units = units_for(project, target, layout)
    if units.kept_dirs:
        report.info(f"purge leaves {', '.join(units.kept_dirs)}: only directories named after "
                    f"{project.package} are the package's own (docs/safety.md)")
    entries += units.entries()
    for spec in opts.files:
        entries += extra_file_entries(spec, project.root)
    app = canonicalize_name(project.dist_name)
    bundled, others = _bundled(wheels, layout, app)
    if not project.extended_description:
        project = replace(project, extended_description=bundle_description(
            project.dist_name, project.upstream_version, [b.name for b in bundled if b.name != app],
            venv, target.interpreter_package, commands))
    unit_code = service_scripts(units)
    entries += _docs(project, target, layout, others, entries, epoch,
                     lintian_overrides(unit_code))
    control = _control(project, target, layout, units)
    entries += bom_entries(BundleInputs(
        package=project.package, version=project.version, architecture=control.architecture,
        target=target, venv=venv, wheels=bundled, tool_version=__version__), epoch)
    unknown = unpackaged_sonames(layout.system_sonames)
    if unknown:
        report.info("shared libraries needed but not shipped, left out of Depends: "
                    + ", ".join(sorted(unknown)))
    scripts = maintainer_scripts(venv, compile_on_install=not opts.compile,
                                 snippets=Snippets(**opts.snippets),
                                 python_version=target.pyver, units=unit_code,
                                 bytecode_magic=bytecode_magic() if opts.compile else None)
    return _Package(tuple(entries), control, scripts)


def _bundled(wheels: Sequence[CachedWheel], layout: VenvLayout, app: str
             ) -> tuple[list[BundledWheel], list[Distribution]]:
    """Each wheel's METADATA, read once: the bundled list's entry for every wheel, and the
    copyright file's stanza for every distribution but the application."""
    listed: list[BundledWheel] = []
    others: list[Distribution] = []
    for wheel in wheels:
        meta = wheel.metadata()
        declared = declared_license(meta)
        listed.append(BundledWheel(
            name=str(wheel.name), version=str(wheel.version), filename=wheel.filename,
            size=wheel.path.stat().st_size, sha256=wheel.sha256,
            license_expression=declared.expression, license_name=declared.name))
        if wheel.name != app:
            others.append(Distribution(
                name=str(meta.get("Name") or wheel.name), version=str(wheel.version),
                authors=authors(meta), license=declared, files=layout.files.get(wheel.name, ())))
    return listed, others


def _docs(project: Project, target: Target, layout: VenvLayout, others: Sequence[Distribution],
          entries: Sequence[Entry], epoch: int, overrides: Sequence[str]) -> list[Entry]:
    """copyright (the application's license, then a stanza per bundled distribution),
    changelog and lintian overrides."""
    owned = {path for paths in layout.files.values() for path in paths}
    app = canonicalize_name(project.dist_name)
    return doc_entries(DocInputs(
        package=project.package, version=project.version, dist_name=project.dist_name,
        maintainer=project.maintainer, upstream_contact=project.maintainer,
        homepage=project.homepage, license=project.license, target_name=target.name,
        bundled=others, tool_version=__version__,
        app_files=layout.files.get(app, ()), upstream_version=project.upstream_version,
        # the rest of the package (skeleton, links, extra files) belongs to "Files: *"; pycs
        # made by --compile sit in their distribution's directories and go with them
        other_files=tuple(e.path for e in entries
                          if e.path not in owned and "/__pycache__/" not in e.path),
    ), project.venv, epoch, has_binary=layout.has_binary, overrides=overrides)


def _commands(project: Project, app_meta: email.message.Message, app_extras: Sequence[str],
              target: Target, layout: VenvLayout, report: Reporter) -> tuple[str, ...]:
    """The commands linked into /usr/bin (the build says which, and whose)."""
    wanted = project.options.scripts
    chosen = default_commands(project.dist_name, app_extras, layout,
                              _direct_dependencies(app_meta, target, app_extras))
    commands = exposed_commands(wanted, chosen.names, layout.scripts, layout.unmet_extras)
    report.info(commands_note(project.dist_name, wanted, chosen, commands, layout))
    return commands


def _direct_dependencies(meta: email.message.Message, target: Target,
                         extras: Sequence[str]) -> list[tuple[str, frozenset[str]]]:
    """The application's Requires-Dist that hold on the target (with its extras chosen):
    each dependency's name and the extras it asks of it, in the order listed."""
    selector = Selector(target)
    out = []
    for text in meta.get_all("Requires-Dist") or []:
        requirement = Requirement(str(text))
        if any(selector.applies(requirement, extra) for extra in ("", *extras)):
            out.append((requirement.name, frozenset(requirement.extras)))
    return out


def _control(project: Project, target: Target, layout: VenvLayout, units: Units) -> Control:
    """Depends and Architecture computed from the venv, the rest from the project."""
    return control_for(
        project, architecture(target, layout.has_binary, layout.platform_tags),
        depends(target, layout.platform_tags, layout.has_binary, project.options.depends,
                sonames=layout.system_sonames, scripts_need=units.depends),
    )
