"""The Project value: what the package says about the application, with Debian names.

Precedence, highest first: overrides (CLI flags or API keyword arguments, Python names
such as ``pre_depends``), the ``[tool.pydebvenv]`` table (TOML names such as
``pre-depends``; config.py checks both, once), then ``[project]`` (or the built wheel's
METADATA, which the build backend produced from it; metadata.py reads those).  A ``--from``
build has no [project]: everything comes from the first distribution's METADATA.

The synopsis taken from the metadata is made lintian-clean (docs/metadata.md): it does not
start with the package name, an article or end with a full stop; a summary set in
[tool.pydebvenv] (or passed) is used as written.
"""

from __future__ import annotations

import email.message
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydebvenv.errors import ConfigError
from pydebvenv.project.config import Config, Options, toml_table
from pydebvenv.project.metadata import (
    DeclaredLicense,
    find_dependencies,
    find_description,
    find_homepage,
    find_license,
    find_license_classifiers,
    find_maintainer,
    find_name,
    find_summary,
    find_version,
)
from pydebvenv.project.paths import venv_home
from pydebvenv.project.versions import debian_package_name, debian_version, release_suffix
from pydebvenv.target import Target

__all__ = ["PACKAGE_NAME_MAX", "Project", "debian_synopsis", "project_from_config"]

#: dpkg's database holds <package>.conffiles, .templates, .md5sums, ... (at most 10 bytes
#: of suffix, dpkg(1) "FILES"), and a file name has at most 255 bytes (NAME_MAX).
PACKAGE_NAME_MAX = 245



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
    license_classifiers: tuple[str, ...]
    dependencies: tuple[str, ...]
    optional_dependencies: Mapping[str, tuple[str, ...]]
    options: Options

    @property
    def license(self) -> DeclaredLicense:
        """The license as the application declares it (debian/docs.py names it)."""
        return DeclaredLicense(self.license_expression, self.license_text,
                               self.license_classifiers)

    @property
    def venv(self) -> str:
        """The venv's absolute POSIX path on the target: ``<prefix>/<package>``."""
        return f"{self.options.prefix.rstrip('/')}/{self.package}"


def _where(config: Config, attr: str) -> str:
    """How an error names option ``attr``: the flag/argument or the key in pyproject.toml."""
    if config.origins.get(attr) == "override":
        return f"option {attr!r}"
    return f"tool.pydebvenv.{attr.replace('_', '-')} in {str(config.pyproject)!r}"


def project_from_config(
    config: Config, *, wheel_metadata: email.message.Message | None = None,
    target: Target | None = None,
) -> Project:
    """The Project of a read configuration; ``wheel_metadata`` is the built wheel's METADATA,
    the only source of a dynamic version (of a ``--from`` build: the first distribution's).
    With ``target``, the version carries the release suffix (``1.0.0-1+deb12``), so each
    target release has its own version."""
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
    # a --from build names the distribution in its errors: there is no pyproject.toml to fix
    published = f"{dist_name} {upstream}" if config.from_ else None
    package = options.name or debian_package_name(dist_name)
    if len(package) > PACKAGE_NAME_MAX:
        where = _where(config, "name") if options.name else f"[project].name in {str(pyproject)!r}"
        raise ConfigError(
            f"{where}: the package name is {len(package)} characters; dpkg keeps files named "
            f"<name>.conffiles in its database and a file name has at most 255 bytes: use at "
            f"most {PACKAGE_NAME_MAX} characters (set name in [tool.pydebvenv])"
        )
    venv_home(options.prefix, package, _where(config, "prefix"))  # a directory of its own
    maintainer = options.maintainer or find_maintainer(table, meta, pyproject,
                                                       distribution=published)
    upstream_summary = find_summary(table, meta, pyproject)
    summary = options.summary or (
        debian_synopsis(upstream_summary, package, dist_name) if upstream_summary else None)
    if not summary or "\n" in summary.strip():
        fix = (f"the metadata of {published} has no one-line Summary: pass --summary '...'"
               if published else
               f"no one-line description for {dist_name!r}: add description = \"...\" to "
               f"[project] in {str(pyproject)!r} or set summary in [tool.pydebvenv]")
        raise ConfigError(fix)
    if "\r" in summary:
        raise ConfigError(f"the description of {dist_name!r} ({summary[:60]!r}) contains a "
                          f"carriage return (\\r): remove it from [project] in "
                          f"{str(pyproject)!r} or set summary in [tool.pydebvenv]")
    if options.description is not None:
        extended = options.description.strip()
    else:
        repeated = [s for s in (upstream_summary, summary) if s]
        extended = find_description(root, table, meta, pyproject, skip=repeated)
    expression, text, files = find_license(root, table, meta, pyproject)
    dependencies, optional = find_dependencies(table, meta)
    suffix = release_suffix(options.release_suffix, target.release) if target else ""
    return Project(
        root=root,
        dist_name=dist_name,
        package=package,
        upstream_version=upstream,
        version=debian_version(upstream, options.revision, suffix),
        maintainer=maintainer,
        summary=summary.strip(),
        extended_description=extended,
        homepage=find_homepage(table, meta),
        section=options.section,
        priority=options.priority,
        license_expression=expression,
        license_text=text,
        license_files=files,
        license_classifiers=find_license_classifiers(table, meta),
        dependencies=dependencies,
        optional_dependencies=optional,
        options=options,
    )


_ARTICLE = re.compile(r"(an?|the)\s+", re.IGNORECASE)


def debian_synopsis(summary: str, package: str, dist_name: str) -> str:
    """The Description synopsis made from an upstream one-line summary, lintian-clean.

    lintian (checks/fields/description): a synopsis matching ``/^<package>\\b/i`` is
    description-starts-with-package-name (an error): the name and what joins it to the
    rest ("HTTPie: ...", "black is ...") go; a leading article is
    description-synopsis-starts-with-article and a final full stop synopsis-is-a-sentence.
    What is left must hold a space (description-too-short, an error).
    """
    text = " ".join(summary.split())
    named = re.match(rf"{re.escape(package)}\b(?:\s*[:,|-]+|\s+(?:is|are)\b)?\s*", text,
                     re.IGNORECASE)
    if named:
        text = text[named.end():]
    text = _ARTICLE.sub("", text, count=1) if _ARTICLE.match(text) else text
    if text.endswith(".") and not text.endswith("..") and ". " not in text:
        text = text[:-1].rstrip()
    if not text:
        return f"Python application {dist_name}"
    return text if " " in text else f"{text} ({dist_name})"
