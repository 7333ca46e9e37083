"""The application's descriptive fields from [project] (PEP 621) or the built wheel's METADATA.

The wheel's METADATA (core metadata, which the build backend produced from [project])
wins when given: it is the only source of a dynamic version.  Each ``find_*`` function
resolves one field and raises ConfigError naming what to add when it cannot.
"""

from __future__ import annotations

import email.message
import email.utils
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

from packaging.version import InvalidVersion, Version

from pydebvenv.errors import ConfigError

__all__ = [
    "find_dependencies",
    "find_description",
    "find_homepage",
    "find_license",
    "find_maintainer",
    "find_name",
    "find_summary",
    "find_version",
]

Meta: TypeAlias = email.message.Message | None  # the wheel's METADATA, when built


def find_name(table: Mapping[str, object], meta: Meta, path: Path) -> str:
    """The distribution name: METADATA's Name, else [project].name."""
    name = _get(meta, "Name") or _string(table, "name", path)
    if not name:
        raise ConfigError(f"no name in [project] of {str(path)!r}: add name = \"...\"")
    return name


def find_version(table: Mapping[str, object], meta: Meta, path: Path) -> str:
    """The PEP 440 version: METADATA's Version, else the static [project].version."""
    upstream = _get(meta, "Version") or _version(table, path)
    try:
        Version(upstream)
    except InvalidVersion:
        raise ConfigError(
            f"invalid version {upstream!r} in {str(path)!r}: use a PEP 440 version"
        ) from None
    return upstream


def find_summary(table: Mapping[str, object], meta: Meta, path: Path) -> str | None:
    """The one-line summary: METADATA's Summary, else [project].description."""
    return _get(meta, "Summary") or _string(table, "description", path)


def find_description(root: Path, table: Mapping[str, object], meta: Meta, path: Path) -> str:
    """The extended description: the first prose paragraph of the readme."""
    return _first_paragraph(_readme(root, table, path, meta))


def _string(table: Mapping[str, object], name: str, path: Path) -> str | None:
    value = table.get(name)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"[project].{name} in {str(path)!r} must be a string, not {value!r}")
    return value


def _get(meta: Meta, name: str) -> str | None:
    if meta is None:
        return None
    value = meta.get(name)
    return str(value).strip() if value is not None and str(value).strip() else None


def _version(table: Mapping[str, object], path: Path) -> str:
    version = _string(table, "version", path)
    if version:
        return version
    dynamic = table.get("dynamic", [])
    if isinstance(dynamic, list) and "version" in dynamic:
        raise ConfigError(
            f"the version of {table.get('name')!r} is dynamic ([project].dynamic in "
            f"{str(path)!r}): it comes from the built wheel, so pass wheel_metadata (the "
            "wheel's METADATA) or set a static version"
        )
    raise ConfigError(f"no version in [project] of {str(path)!r}: add version = \"1.0\" or "
                      'list "version" in dynamic')


def find_maintainer(table: Mapping[str, object], meta: Meta, path: Path) -> str:
    """``Name <email>`` from METADATA's Maintainer/Author fields, else [project].maintainers,
    else [project].authors; ConfigError naming the field to add when none has both parts."""
    if meta is not None:
        for role in ("Maintainer", "Author"):
            found = _person_from_metadata(_get(meta, role), _get(meta, f"{role}-email"))
            if found:
                return found
    nameless: str | None = None
    for role in ("maintainers", "authors"):
        people = table.get(role, [])
        if not isinstance(people, list):
            raise ConfigError(f"[project].{role} in {str(path)!r} must be a list of tables, "
                              f"not {people!r}")
        for person in people:
            if not isinstance(person, Mapping):
                continue
            name, address = person.get("name"), person.get("email")
            if isinstance(name, str) and isinstance(address, str) and name and address:
                return email.utils.formataddr((name, address))
            if nameless is None:
                missing = "email" if name else "name"
                nameless = f"{person.get('name') or person.get('email')!r} in [project].{role} " \
                           f"has no {missing}: add {missing} = \"...\" to it"
    fix = ('add maintainers = [{name = "...", email = "..."}] to [project] or set '
           'tool.pydebvenv.maintainer = "Name <email>" (or pass --maintainer)')
    if nameless:
        raise ConfigError(f"no maintainer with a name and an email in {str(path)!r}: "
                          f"{nameless}, or {fix}")
    raise ConfigError(f"no maintainer in {str(path)!r}: {fix}")


def _person_from_metadata(name: str | None, addresses: str | None) -> str | None:
    # Core metadata: Author-email may hold "Name <a@b>" pairs, or bare addresses with the
    # name in Author (packaging.python.org, core-metadata "Author-email").
    for person, address in email.utils.getaddresses([addresses or ""]):
        if address and "@" in address and (person or name):
            return email.utils.formataddr((person or str(name).split(",")[0].strip(), address))
    return None


def _readme(root: Path, table: Mapping[str, object], path: Path,
            meta: Meta) -> str:
    readme = table.get("readme")
    if isinstance(readme, Mapping):
        if isinstance(readme.get("text"), str):
            return str(readme["text"])
        readme = readme.get("file")
    if isinstance(readme, str):
        try:
            return (root / readme).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the readme {readme!r} named in {str(path)!r} "
                              f"({exc.strerror}): fix [project].readme") from None
    if meta is not None:
        body = meta.get_payload()
        return body if isinstance(body, str) else ""
    return ""


_HEADING = re.compile(r"(#+\s.*|[=\-~^*#+`]{3,}\s*|\.\. .*|\[!\[.*|!\[.*|<.*>)")


def _first_paragraph(text: str) -> str:
    """The first prose paragraph: headings, rst/Markdown underlines, badges, HTML skipped."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    for paragraph in paragraphs:
        lines = [line.strip() for line in paragraph.strip().splitlines()]
        if len(lines) == 2 and re.fullmatch(r"[=\-~^*#+`]{3,}", lines[1]):
            continue  # a setext/rst title
        lines = [line for line in lines if line and not _HEADING.fullmatch(line)]
        if lines:
            # Policy 3.4: extended description lines fit 80 columns, with the leading space
            return textwrap.fill(" ".join(lines), width=78)
    return ""


def find_license(
    root: Path, table: Mapping[str, object], meta: Meta, path: Path
) -> tuple[str | None, str | None, tuple[Path, ...]]:
    """(SPDX expression, license text, license files): METADATA first, then [project]."""
    expression = _get(meta, "License-Expression")
    text = _get(meta, "License")
    value = table.get("license")
    if isinstance(value, str):  # PEP 639: an SPDX expression
        expression = expression or value
    elif isinstance(value, Mapping):
        if isinstance(value.get("text"), str):
            text = text or str(value["text"])
        elif isinstance(value.get("file"), str):
            try:
                text = text or (root / str(value["file"])).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read the license file {value['file']!r} named in "
                                  f"{str(path)!r} ({exc.strerror}): fix [project].license") \
                    from None
    files: list[Path] = []
    patterns = table.get("license-files", [])
    if isinstance(patterns, list):
        for pattern in patterns:
            if isinstance(pattern, str):
                files.extend(p for p in sorted(root.glob(pattern)) if p.is_file())
    return expression, text, tuple(files)


def find_homepage(table: Mapping[str, object], meta: Meta) -> str | None:
    """The URL labelled Homepage (METADATA, then [project].urls), else the first URL."""
    urls: list[tuple[str, str]] = []
    if meta is not None:
        for entry in meta.get_all("Project-URL") or []:
            label, _, url = str(entry).partition(",")
            urls.append((label.strip(), url.strip()))
        if _get(meta, "Home-page"):
            urls.insert(0, ("homepage", str(_get(meta, "Home-page"))))
    project_urls = table.get("urls", {})
    if isinstance(project_urls, Mapping):
        urls.extend((str(k), str(v)) for k, v in project_urls.items())
    for label, url in urls:
        # PEP 753 label normalisation: drop punctuation and whitespace, lowercase
        if re.sub(r"[^a-z0-9]", "", label.lower()) == "homepage" and url:
            return url
    return urls[0][1] if urls else None


def find_dependencies(
    table: Mapping[str, object], meta: Meta
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """[project].dependencies (else METADATA's Requires-Dist without extras) and the extras."""
    deps = table.get("dependencies")
    optional = table.get("optional-dependencies")
    result = tuple(str(d) for d in deps) if isinstance(deps, list) else ()
    extras = (
        {str(k): tuple(str(d) for d in v) for k, v in optional.items() if isinstance(v, list)}
        if isinstance(optional, Mapping) else {}
    )
    if meta is not None and not isinstance(deps, list):
        result = tuple(str(r) for r in meta.get_all("Requires-Dist") or []
                       if "extra" not in str(r).partition(";")[2])
    return result, extras
