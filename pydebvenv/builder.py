"""The one place that composes the steps: project -> target -> wheels -> entries -> archive."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from . import __version__
from .appwheel import build_app_wheel, check_app_wheel_fits
from .config import FileSpec, options_from_data, read_pyproject
from .debfile.control import Control, MaintainerScripts
from .debfile.entry import Entry, host_file_entry
from .debfile.writer import resolve_epoch, write_deb
from .debmeta import DocInputs, architecture, bin_symlinks, control_for, depends, doc_entries
from .errors import ConfigError, ResolutionError
from .fetch import FetchInputs, fetch_requirements, lock_path_for
from .layout import VenvLayout, venv_entries
from .lock import read_lock
from .maintscripts import Snippets, compile_entries, maintainer_scripts
from .project import Project, project_from_data, requirement_sources
from .pylock import specs_from_pylock
from .report import Reporter
from .requirements import RequirementSpec, parse_requirements_files, requirement_specs
from .resolve import Resolution, resolve
from .target import Target, get_target, host_facts
from .wheels import default_wheel_cache, read_wheel_metadata

__all__ = ["build"]


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
    root = Path(project_dir).resolve()
    out = Path(output_dir).resolve()
    data = read_pyproject(root)  # read once; a missing or invalid file is a ConfigError
    # only the options until the wheel exists: a dynamic version comes from its METADATA
    opts, _ = options_from_data(root, data, options)
    host = host_facts()
    target = get_target(opts.target, opts.arch, host)
    report.info(f"target: {target.name} (python{target.pyver}, glibc "
                f"{target.glibc[0]}.{target.glibc[1]}){_defaults_note(opts.target, opts.arch)}")
    epoch = resolve_epoch(None)  # SOURCE_DATE_EPOCH, else the writer's fixed date
    cache = Path(opts.wheel_cache).expanduser() if opts.wheel_cache else default_wheel_cache()
    cache.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix=".pydebvenv-", dir=out) as tmp:
        with report.phase("build the app's wheel"):
            app = build_app_wheel(root, Path(tmp), wheel_cache=cache, offline=opts.offline,
                                  source_date_epoch=epoch)
            check_app_wheel_fits(app, target, host)
        project = project_from_data(root, data, options,
                                    wheel_metadata=read_wheel_metadata(app.path))
        with report.phase("resolve"):
            resolution = _resolve(project, target, cache, app.path, report)
        with report.phase("lay out"):
            entries, control, scripts = _package(project, target, resolution, epoch, root,
                                                 report)
        with report.phase("write"):
            deb = write_deb(control, entries, out, compression=opts.compression
                            or target.default_compression, scripts=scripts,
                            source_date_epoch=epoch)
    report.done(deb)
    return deb


def _defaults_note(release: str | None, arch: str | None) -> str:
    chosen = [what for what, given in (("release", release), ("architecture", arch)) if not given]
    return f"; {' and '.join(chosen)} chosen from this host, pass --target/--arch to change" \
        if chosen else ""


def _resolve(project: Project, target: Target, cache: Path, app_wheel: Path,
             report: Reporter) -> Resolution:
    """The wheels for the venv: from the cache, fetching what is missing unless offline."""
    inputs, described = _inputs(project, target)
    report.info(f"requirements: {described}")
    specs = inputs.requirements
    if inputs.pylock is not None:
        specs = specs_from_pylock(inputs.pylock)
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


def _inputs(project: Project, target: Target) -> tuple[FetchInputs, str]:
    """What to install, and a line saying where it came from.

    With --offline, the lock ``fetch`` wrote for this target wins: it pins every
    file by hash.  Otherwise the -r files, [tool.pydebvenv] requirements, a
    requirements.txt or pylock.toml beside pyproject.toml, or the application's own
    Requires-Dist (read from its wheel), in that order.
    """
    opts = project.options
    wanted = [f"{project.dist_name}[{','.join(opts.extras)}]"] if opts.extras else []
    wanted += ["pip"] if opts.include_pip else []
    extra = requirement_specs(wanted, "tool.pydebvenv")
    base = FetchInputs(requirements=extra, index_url=opts.index_url,
                       extra_index_urls=tuple(opts.extra_index_urls),
                       find_links=tuple(opts.find_links))
    lock_file = lock_path_for(project.root, target)
    if opts.offline and lock_file.is_file():
        lock = read_lock(lock_file)
        pins = tuple(
            RequirementSpec(Requirement(f"{w.name}=={w.version}"),
                            frozenset({f"sha256:{w.sha256}"}), lock_file.name)
            for w in lock.wheels
        )
        return replace(base, requirements=pins + extra), f"lock {lock_file}"
    kind, paths = requirement_sources(project)
    where = f"{kind} ({', '.join(str(p) for p in paths)})" if paths else kind
    if kind == "pylock.toml":
        return replace(base, pylock=paths[0]), where
    if kind == "dependencies" or not paths:
        # the application's own Requires-Dist, followed from its wheel
        return base, where
    parsed = parse_requirements_files(paths)
    return replace(
        base, requirements=parsed.requirements + extra, constraints=parsed.constraints,
        index_url=base.index_url or parsed.index_url,
        extra_index_urls=(*base.extra_index_urls, *parsed.extra_index_urls),
        find_links=(*base.find_links, *parsed.find_links), no_index=parsed.no_index,
    ), where


def _package(project: Project, target: Target, resolution: Resolution, epoch: int,
             root: Path, report: Reporter) -> tuple[list[Entry], Control, MaintainerScripts]:
    opts = project.options
    venv = f"{opts.prefix.rstrip('/')}/{project.package}"
    # pip, setuptools and wheel are only here when something requires them (or
    # include_pip asked for pip): the venv is never seeded with installer tools.
    wheels = list(resolution.wheels)
    layout = venv_entries(venv, target, [w.path for w in wheels],
                          requested={w.name for w in wheels if w.requested},
                          prompt=project.package)
    entries: list[Entry] = list(layout.entries)
    if opts.compile:
        # hash-based pycs made here, only when this host runs the target's Python X.Y
        entries = list(compile_entries(venv, target, entries))
    own = layout.scripts.get(canonicalize_name(project.dist_name), ())
    exposed = own if opts.scripts is None else tuple(opts.scripts)
    missing = sorted(set(exposed) - {s for names in layout.scripts.values() for s in names})
    if missing:
        raise ConfigError(f"tool.pydebvenv.scripts names {', '.join(map(repr, missing))}, which no "
                          f"installed distribution provides; the console scripts are: "
                          f"{', '.join(sorted(own)) or 'none'}")
    entries += bin_symlinks(venv, exposed)
    for extra in opts.files:
        entries += _extra_file_entries(extra, root)
    entries += doc_entries(DocInputs(
        package=project.package, version=project.version, dist_name=project.dist_name,
        maintainer=project.maintainer, upstream_contact=project.maintainer,
        homepage=project.homepage, license_expression=project.license_expression,
        license_text=project.license_text, target_name=target.name,
        bundled=[(str(w.name), str(w.version)) for w in wheels], tool_version=__version__,
    ), venv, epoch, has_binary=layout.has_binary)
    if layout.unknown_sonames:
        report.info("shared libraries needed but not shipped, left out of Depends: "
                    + ", ".join(sorted(layout.unknown_sonames)))
    control = _control(project, target, layout)
    scripts = maintainer_scripts(venv, compile_on_install=not opts.compile,
                                 snippets=Snippets(**_snippets(project)),
                                 python_version=target.pyver)
    return entries, control, scripts


def _control(project: Project, target: Target, layout: VenvLayout) -> Control:
    """Depends and Architecture computed from the venv, the rest from the project."""
    return control_for(
        project, architecture(target, layout.has_binary, layout.platform_tags),
        depends(target, layout.platform_tags, layout.has_binary, project.options.depends,
                sonames=layout.system_sonames),
    )


def _extra_file_entries(spec: FileSpec, root: Path) -> list[Entry]:
    """A file, or every file under a directory, at its destination with the configured mode.

    The mode comes from the configuration, never from the host file: a Windows checkout
    has no mode bits to trust.
    """
    source = root / spec.source
    where = f"tool.pydebvenv.files {str(spec.source)!r}"
    dest = spec.destination.strip("/")
    if source.is_file():
        return [host_file_entry(dest, source, mode=spec.mode, conffile=spec.conffile,
                                source=where)]
    if not source.is_dir():
        raise ConfigError(f"{where}: {str(source)!r} does not exist; fix the source path "
                          "(relative to pyproject.toml)")
    found = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = path.relative_to(source).as_posix()  # POSIX names whatever the host's os.sep
        found.append(host_file_entry(f"{dest}/{rel}", path, mode=spec.mode,
                                     conffile=spec.conffile, source=f"{where}: {rel}"))
    return found


def _snippets(project: Project) -> dict[str, str]:
    return {name: text for name, text in project.options.maintainer_scripts.items() if text}
