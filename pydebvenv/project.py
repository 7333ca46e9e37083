"""pyproject.toml's [project] (PEP 621) and [tool.pydebvenv], plus overrides -> a Project value.

Precedence, highest first: overrides (CLI flags or API keyword arguments, Python names
such as ``pre_depends``), the ``[tool.pydebvenv]`` table (TOML names such as
``pre-depends``; ``config.py`` checks both), then ``[project]`` (or the built wheel's
METADATA, which the build backend produced from it; ``metadata.py`` reads those).
"""

from __future__ import annotations

import email.message
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydebvenv.config import Options, options_from_data, read_pyproject, toml_table
from pydebvenv.errors import ConfigError
from pydebvenv.metadata import (
    find_dependencies,
    find_description,
    find_homepage,
    find_license,
    find_maintainer,
    find_name,
    find_summary,
    find_version,
)
from pydebvenv.versions import debian_package_name, debian_version

__all__ = [
    "Project",
    "RequirementKind",
    "load_project",
    "project_from_data",
    "requirement_sources",
]

RequirementKind = Literal["override", "config", "requirements.txt", "pylock.toml",
                          "dependencies"]


@dataclass(frozen=True, slots=True)
class Project:
    """Everything the build needs to know about the application, with Debian names."""

    root: Path
    dist_name: str
    package: str
    upstream_version: str
    version: str
    maintainer: str
    summary: str
    extended_description: str
    homepage: str | None
    section: str
    priority: str
    license_expression: str | None
    license_text: str | None
    license_files: tuple[Path, ...]
    dependencies: tuple[str, ...]
    optional_dependencies: Mapping[str, tuple[str, ...]]
    options: Options
    #: where each explicitly set option came from: "override" or "config"
    origins: Mapping[str, str] = field(default_factory=dict)

    @property
    def venv(self) -> str:
        """The venv's absolute POSIX path on the target: ``<prefix>/<package>``."""
        return f"{self.options.prefix}/{self.package}"


def load_project(
    project_dir: Path,
    overrides: Mapping[str, object] = {},  # read only, never mutated
    *,
    wheel_metadata: email.message.Message | None = None,
) -> Project:
    """Read ``project_dir``/pyproject.toml, apply ``overrides`` and return the Project."""
    root = Path(project_dir).absolute()
    return project_from_data(root, read_pyproject(root), overrides,
                             wheel_metadata=wheel_metadata)


def project_from_data(
    root: Path,
    data: Mapping[str, object],
    overrides: Mapping[str, object] = {},  # read only, never mutated
    *,
    wheel_metadata: email.message.Message | None = None,
) -> Project:
    """``load_project`` on an already parsed pyproject.toml (``init`` previews with it)."""
    pyproject = root / "pyproject.toml"
    table = toml_table(data, "project", pyproject)
    if not table and wheel_metadata is None:
        raise ConfigError(
            f"no [project] table in {str(pyproject)!r}: add name, version and description "
            "to [project] (PEP 621)"
        )
    options, origins = options_from_data(root, data, overrides)
    meta = wheel_metadata

    dist_name = find_name(table, meta, pyproject)
    upstream = find_version(table, meta, pyproject)
    package = options.name or debian_package_name(dist_name)
    maintainer = options.maintainer or find_maintainer(table, meta, pyproject)
    summary = options.summary or find_summary(table, meta, pyproject)
    if not summary or "\n" in summary.strip():
        raise ConfigError(
            f"no one-line description for {dist_name!r}: add description = \"...\" to [project]"
            f" in {str(pyproject)!r} or set summary in [tool.pydebvenv]"
        )
    if options.description is not None:
        extended = options.description.strip()
    else:
        extended = find_description(root, table, meta, pyproject)
    expression, text, files = find_license(root, table, meta, pyproject)
    dependencies, optional = find_dependencies(table, meta)
    return Project(
        root=root,
        dist_name=dist_name,
        package=package,
        upstream_version=upstream,
        version=debian_version(upstream, options.revision),
        maintainer=maintainer,
        summary=summary.strip(),
        extended_description=extended,
        homepage=find_homepage(table, meta),
        section=options.section,
        priority=options.priority,
        license_expression=expression,
        license_text=text,
        license_files=files,
        dependencies=dependencies,
        optional_dependencies=optional,
        options=options,
        origins=origins,
    )


def requirement_sources(project: Project) -> tuple[RequirementKind, tuple[Path, ...]]:
    """Which requirements build the venv, in this order of choice:

    the files passed as overrides (``-r``), else ``requirements`` in [tool.pydebvenv], else
    ``requirements.txt`` beside pyproject.toml, else ``pylock.toml`` there (PEP 751), else
    the project's own ``dependencies`` (kind ``"dependencies"``, no paths).
    """
    if project.options.requirements is not None:
        kind: RequirementKind = (
            "override" if project.origins.get("requirements") == "override" else "config"
        )
        return kind, project.options.requirements
    names: tuple[RequirementKind, ...] = ("requirements.txt", "pylock.toml")
    for name in names:
        if (project.root / name).is_file():
            return name, (project.root / name,)
    return "dependencies", ()
