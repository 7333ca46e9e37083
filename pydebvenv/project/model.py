"""The Project value: what the package says about the application, with Debian names.

Precedence, highest first: overrides (CLI flags or API keyword arguments, Python names
such as ``pre_depends``), the ``[tool.pydebvenv]`` table (TOML names such as
``pre-depends``; config.py checks both, once), then ``[project]`` (or the built wheel's
METADATA, which the build backend produced from it; metadata.py reads those).
"""

from __future__ import annotations

import email.message
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydebvenv.errors import ConfigError
from pydebvenv.project.config import Config, Options, toml_table
from pydebvenv.project.metadata import (
    find_dependencies,
    find_description,
    find_homepage,
    find_license,
    find_maintainer,
    find_name,
    find_summary,
    find_version,
)
from pydebvenv.project.versions import debian_package_name, debian_version

__all__ = ["Project", "project_from_config"]



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

    @property
    def venv(self) -> str:
        """The venv's absolute POSIX path on the target: ``<prefix>/<package>``."""
        return f"{self.options.prefix.rstrip('/')}/{self.package}"


def project_from_config(
    config: Config, *, wheel_metadata: email.message.Message | None = None
) -> Project:
    """The Project of a read configuration; ``wheel_metadata`` is the built wheel's METADATA,
    the only source of a dynamic version."""
    root, pyproject, options = config.root, config.pyproject, config.options
    table = toml_table(config.data, "project", pyproject)
    if not table and wheel_metadata is None:
        raise ConfigError(
            f"no [project] table in {str(pyproject)!r}: add name, version and description "
            "to [project] (PEP 621)"
        )
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
    )
