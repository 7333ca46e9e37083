"""``build()``: the one place that composes the steps: project, target, wheels, entries, .deb.

Each step is one call into the folder that owns it: project/ reads what the user asked for
(once), target.py says what the target is, acquire/ builds the application's wheel (and
fetches what the cache lacks), wheels/ chooses the wheels, venv/ lays the venv out as
entries, debian/ adds the package's own files, control fields and maintainer scripts, and
debfile/ writes the archive.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pydebvenv import __version__
from pydebvenv.acquire.appwheel import build_app_wheel, check_app_wheel_fits
from pydebvenv.acquire.fetch import fetch_requirements, lock_path_for
from pydebvenv.debfile.control import Control, MaintainerScripts
from pydebvenv.debfile.entry import Entry
from pydebvenv.debfile.writer import resolve_epoch, write_deb
from pydebvenv.debian.bom import BundledWheel, BundleInputs, bom_entries
from pydebvenv.debian.docs import DocInputs, doc_entries
from pydebvenv.debian.extrafiles import extra_file_entries
from pydebvenv.debian.fields import architecture, control_for, depends, unpackaged_sonames
from pydebvenv.debian.links import bin_symlinks, exposed_commands
from pydebvenv.debian.maintscripts import Snippets, maintainer_scripts
from pydebvenv.errors import ResolutionError
from pydebvenv.project.config import Config, Options, load_config
from pydebvenv.project.model import Project, project_from_config
from pydebvenv.project.pylock import specs_from_pylock
from pydebvenv.project.requirements import RequirementSpec, requirement_specs
from pydebvenv.project.sources import Inputs, read_inputs, requirement_source
from pydebvenv.report import Reporter
from pydebvenv.scratch import scratch_dir
from pydebvenv.target import Target, get_target, host_facts
from pydebvenv.venv.bytecode import compile_entries
from pydebvenv.venv.layout import VenvLayout, venv_entries
from pydebvenv.wheels.cache import CachedWheel, default_wheel_cache, read_wheel_metadata
from pydebvenv.wheels.lock import read_lock
from pydebvenv.wheels.resolve import Resolution, resolve

__all__ = ["build"]


@dataclass(frozen=True, slots=True)
class _Package:
    """Everything the archive writer needs: data.tar's entries, the control file, the scripts."""

    entries: tuple[Entry, ...]
    control: Control
    scripts: MaintainerScripts


def build(
    project_dir: str | os.PathLike[str] = ".",
    *,
    output_dir: str | os.PathLike[str] = "dist",
    reporter: Reporter | None = None,
    **options: Any,
) -> Path:
    """Build ``project_dir`` into a .deb in ``output_dir`` and return its path.

    Keyword arguments mirror the ``[tool.pydebvenv]`` keys (``target``, ``arch``,
    ``wheel_cache``, ``offline``, ``requirements`` — a list of requirement-file
    paths, like ``-r`` — ``compression``, ``revision``, ``depends``, ...) and take
    precedence over the project's configuration.
    """
    report = reporter or Reporter.silent()
    config = load_config(Path(project_dir).resolve(), options)  # pyproject.toml, read once
    opts = config.options
    host = host_facts()
    target = get_target(opts.target, opts.arch, host)
    report.info(f"target: {target.name} (python{target.pyver}, glibc "
                f"{target.glibc[0]}.{target.glibc[1]}){_defaults_note(opts)}")
    epoch = resolve_epoch(None)  # SOURCE_DATE_EPOCH, else the writer's fixed date
    cache = Path(opts.wheel_cache).expanduser() if opts.wheel_cache else default_wheel_cache()
    cache.mkdir(parents=True, exist_ok=True)
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)

    # Only the package's temporary file goes into ``out`` (the writer renames it into
    # place); the app's wheel is built in scratch space.  Every file is closed before its
    # directory is removed: the layout (the wheels its entries read) is closed first.
    with ExitStack() as stack:
        scratch = stack.enter_context(scratch_dir(report.warning))
        with report.phase("build the app's wheel"):
            app = build_app_wheel(config.root, scratch, wheel_cache=cache,
                                  offline=opts.offline, source_date_epoch=epoch)
            check_app_wheel_fits(app, target, host)
        # the wheel's METADATA is the only source of a dynamic version
        project = project_from_config(config, wheel_metadata=read_wheel_metadata(app.path))
        with report.phase("resolve"):
            resolution = _resolve(config, project, target, cache, app.path, report)
        with report.phase("lay out"):
            # pip, setuptools and wheel are only here when something requires them (or
            # include_pip asked for pip): the venv is never seeded with installer tools.
            layout = stack.enter_context(venv_entries(project.venv, target, resolution.wheels,
                                                      prompt=project.package))
            package = _lay_out(project, target, resolution, layout, epoch, report)
        with report.phase("write"):
            deb = write_deb(package.control, package.entries, out,
                            compression=opts.compression or target.default_compression,
                            scripts=package.scripts, source_date_epoch=epoch)
    report.done(deb)
    return deb


def _defaults_note(opts: Options) -> str:
    chosen = [what for what, given in (("release", opts.target), ("architecture", opts.arch))
              if not given]
    return f"; {' and '.join(chosen)} chosen from this host, pass --target/--arch to change" \
        if chosen else ""


def _resolve(config: Config, project: Project, target: Target, cache: Path, app_wheel: Path,
             report: Reporter) -> Resolution:
    """The wheels for the venv: from the cache, fetching what is missing unless offline."""
    inputs, described = _inputs(config, project, target)
    report.info(f"requirements: {described}")
    specs = specs_from_pylock(inputs.pylock) if inputs.pylock is not None \
        else inputs.requirements
    try:
        return resolve(specs, cache, target, local_wheels=[app_wheel],
                       constraints=inputs.constraints)
    except ResolutionError:
        if project.options.offline:
            raise  # it names every missing wheel and the tags tried, at once
    report.info(f"fetching the missing wheels for {target.name}")
    fetch_requirements(inputs, target=target, cache=cache, local_wheels=[app_wheel],
                       reporter=report)
    return resolve(specs, cache, target, local_wheels=[app_wheel],
                   constraints=inputs.constraints)


def _inputs(config: Config, project: Project, target: Target) -> tuple[Inputs, str]:
    """What to install, and a line saying where it came from.

    With --offline, the lock ``fetch`` wrote for this target wins: it pins every file by
    hash.  Otherwise project/sources.py's order; its ``dependencies`` are the application's
    own Requires-Dist, followed from its wheel.  The application's extras and pip (with
    include_pip) come on top.
    """
    opts = project.options
    wanted = [f"{project.dist_name}[{','.join(opts.extras)}]"] if opts.extras else []
    wanted += ["pip"] if opts.include_pip else []
    extra = requirement_specs(wanted, "tool.pydebvenv")
    lock_file = lock_path_for(project.root, target)
    source = requirement_source(config)
    inputs = read_inputs(config, source)
    if opts.offline and lock_file.is_file():
        pins = tuple(
            RequirementSpec(Requirement(f"{w.name}=={w.version}"),
                            frozenset({f"sha256:{w.sha256}"}), lock_file.name)
            for w in read_lock(lock_file).wheels
        )
        return replace(inputs, requirements=pins + extra, constraints=(), pylock=None), \
            f"lock {lock_file}"
    if inputs.pylock is not None:
        return inputs, str(source)
    return replace(inputs, requirements=inputs.requirements + extra), str(source)


def _lay_out(project: Project, target: Target, resolution: Resolution, layout: VenvLayout,
             epoch: int, report: Reporter) -> _Package:
    """The venv and everything Debian wants beside it, as entries, control and scripts."""
    opts = project.options
    venv = project.venv
    wheels = resolution.wheels
    entries = list(layout.entries)
    if opts.compile:
        # hash-based pycs made here, only when this host runs the target's Python X.Y
        entries = list(compile_entries(venv, target, entries))
    own = layout.scripts.get(canonicalize_name(project.dist_name), ())
    entries += bin_symlinks(venv, exposed_commands(opts.scripts, own, layout.scripts))
    for spec in opts.files:
        entries += extra_file_entries(spec, project.root)
    entries += doc_entries(DocInputs(
        package=project.package, version=project.version, dist_name=project.dist_name,
        maintainer=project.maintainer, upstream_contact=project.maintainer,
        homepage=project.homepage, license_expression=project.license_expression,
        license_text=project.license_text, target_name=target.name,
        bundled=[(str(w.name), str(w.version)) for w in wheels], tool_version=__version__,
    ), venv, epoch, has_binary=layout.has_binary)
    control = _control(project, target, layout)
    entries += bom_entries(BundleInputs(
        package=project.package, version=project.version, architecture=control.architecture,
        target=target, venv=venv, wheels=[_bundled(w) for w in wheels],
        tool_version=__version__), epoch)
    unknown = unpackaged_sonames(layout.system_sonames)
    if unknown:
        report.info("shared libraries needed but not shipped, left out of Depends: "
                    + ", ".join(sorted(unknown)))
    scripts = maintainer_scripts(venv, compile_on_install=not opts.compile,
                                 snippets=Snippets(**opts.snippets),
                                 python_version=target.pyver)
    return _Package(tuple(entries), control, scripts)


def _bundled(wheel: CachedWheel) -> BundledWheel:
    """What the bundled list says of one wheel: its file, and the license its METADATA names."""
    metadata = wheel.metadata()
    license_name = (metadata.get("License") or "").strip()
    return BundledWheel(
        name=str(wheel.name), version=str(wheel.version), filename=wheel.filename,
        size=wheel.path.stat().st_size, sha256=wheel.sha256,
        license_expression=(metadata.get("License-Expression") or "").strip() or None,
        # a License field is often the whole license text: only a one-line name is kept
        license_name=license_name if license_name and "\n" not in license_name
        and len(license_name) <= 100 else None)


def _control(project: Project, target: Target, layout: VenvLayout) -> Control:
    """Depends and Architecture computed from the venv, the rest from the project."""
    return control_for(
        project, architecture(target, layout.has_binary, layout.platform_tags),
        depends(target, layout.platform_tags, layout.has_binary, project.options.depends,
                sonames=layout.system_sonames),
    )
