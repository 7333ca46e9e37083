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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from packaging.version import InvalidVersion, Version

from pydebvenv.errors import ConfigError
from pydebvenv.project.paths import inside_project
from pydebvenv.redact import redact

__all__ = [
    "DeclaredLicense",
    "authors",
    "declared_license",
    "find_dependencies",
    "find_description",
    "find_homepage",
    "find_license",
    "find_license_classifiers",
    "find_maintainer",
    "find_name",
    "find_summary",
    "find_version",
    "person",
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


def find_description(root: Path, table: Mapping[str, object], meta: Meta, path: Path, *,
                     skip: Iterable[str] = ()) -> str:
    """The extended description: the first prose paragraph of the readme that is not one
    of ``skip`` again (the summary)."""
    return _first_paragraph(_readme(root, table, path, meta), skip)


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


def find_maintainer(table: Mapping[str, object], meta: Meta, path: Path, *,
                    distribution: str | None = None) -> str:
    """``Name <email>`` from METADATA's Maintainer/Author fields, else [project].maintainers,
    else [project].authors; ConfigError naming the field to add when none has both parts.

    ``distribution`` ("httpie 3.2.4") says the metadata is a published distribution's (a
    ``--from`` build): there is no pyproject.toml to fix, so the error names --maintainer.
    """
    if meta is not None:
        for role in ("Maintainer", "Author"):
            found = _person_from_metadata(_get(meta, role), _get(meta, f"{role}-email"))
            if found:
                return found
    if distribution is not None:
        raise ConfigError(f"the metadata of {distribution} names no maintainer or author with "
                          "both a name and an email: pass --maintainer 'Name <email>' "
                          "(maintainer= in the API)")
    nameless: str | None = None
    for role in ("maintainers", "authors"):
        people = table.get(role, [])
        if not isinstance(people, list):
            raise ConfigError(f"[project].{role} in {str(path)!r} must be a list of tables, "
                              f"not {people!r}")
        for entry in people:
            if not isinstance(entry, Mapping):
                continue
            name, address = entry.get("name"), entry.get("email")
            if isinstance(name, str) and isinstance(address, str) and name and address:
                return person(name, address)
            if nameless is None:
                missing = "email" if name else "name"
                nameless = f"{entry.get('name') or entry.get('email')!r} in [project].{role} " \
                           f"has no {missing}: add {missing} = \"...\" to it"
    fix = ('add maintainers = [{name = "...", email = "..."}] to [project] or set '
           'tool.pydebvenv.maintainer = "Name <email>" (or pass --maintainer)')
    if nameless:
        raise ConfigError(f"no maintainer with a name and an email in {str(path)!r}: "
                          f"{nameless}, or {fix}")
    raise ConfigError(f"no maintainer in {str(path)!r}: {fix}")


def person(name: str, address: str) -> str:
    """``Name <email>`` as a control file's Maintainer field holds it (Policy 5.6.2): the
    name as written, in UTF-8, unquoted (``email.utils.formataddr`` would encode a
    non-ASCII name as RFC 2047 ``=?utf-8?...?=`` and quote one with a full stop)."""
    return f"{name.strip()} <{address.strip()}>"


def _person_from_metadata(name: str | None, addresses: str | None) -> str | None:
    # Core metadata: Author-email may hold "Name <a@b>" pairs, or bare addresses with the
    # name in Author (packaging.python.org, core-metadata "Author-email").
    for who, address in email.utils.getaddresses([addresses or ""]):
        if address and "@" in address and (who or name):
            return person(who or str(name).split(",")[0].strip(), address)
    return None


def _readme(root: Path, table: Mapping[str, object], path: Path,
            meta: Meta) -> str:
    readme = table.get("readme")
    if isinstance(readme, Mapping):
        if isinstance(readme.get("text"), str):
            return str(readme["text"])
        readme = readme.get("file")
    if isinstance(readme, str):
        return _read_text(root, readme, f"[project].readme in {str(path)!r}")
    if meta is not None:
        body = meta.get_payload()
        return body if isinstance(body, str) else ""
    return ""


# Blocks of a Markdown or reStructuredText readme that are not prose: a heading, an HTML
# block (CommonMark: a line starting with "<"), an rst directive or comment (".. "), a list
# item, a block quote, a table row, a rule or an underline.
_NOT_PROSE = re.compile(r"(#{1,6}(\s.*)?|<.*|\.\. .*|\.\.|[-*+]\s.*|\d+[.)]\s.*|>.*|\|.*"
                        r"|[=\-~^*#+`_:.'\"]{3,})")
_FENCE = re.compile(r"(```|~~~)")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\[[^\]]*\]")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_{1,2}")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|``|`)(?=\S)(.+?)(?<=\S)\1(?!\w)")


def _first_paragraph(text: str, skip: Iterable[str] = ()) -> str:
    """The first prose paragraph of a readme, with its inline markup reduced to plain text.

    Skipped: headings and underlined titles, HTML blocks, badges and link-only lines,
    fenced and indented code, lists, quotes, tables, rst directives, and any paragraph that
    only repeats one of ``skip`` (the summary: an extended description starting with the
    synopsis is lintian's description-synopsis-is-duplicated).
    """
    repeated = {_letters(s) for s in skip}
    for lines in _blocks(text):
        if len(lines) == 2 and re.fullmatch(r"[=\-~^*#+`]{3,}", lines[1].strip()):
            continue  # a setext/rst title
        first = lines[0]
        if first[:1] in (" ", "\t") or _NOT_PROSE.fullmatch(first.strip()):
            continue  # indented code, rst directive options, or one of _NOT_PROSE
        prose = " ".join(_plain(line) for line in lines)
        prose = re.sub(r"\s+", " ", prose).strip()
        if len(re.findall(r"[^\W\d_]{2,}", prose)) < 3 or _letters(prose) in repeated:
            continue  # badges, a link bar, a lone word, or the summary again
        # Policy 3.4: extended description lines fit 80 columns, with the leading space
        return textwrap.fill(prose, width=78)
    return ""


def _blocks(text: str) -> list[list[str]]:
    """The readme's blocks: runs of non-blank lines, fenced code blocks left out whole."""
    blocks: list[list[str]] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        marker = _FENCE.match(stripped)
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        if marker:
            fence = marker.group(1)
            if current:
                blocks.append(current)
            current = []
            continue
        if not stripped:
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(line.rstrip())
    if current:
        blocks.append(current)
    return blocks


def _plain(line: str) -> str:
    """A line of prose without its images, link targets, HTML tags and emphasis marks."""
    line = _IMAGE.sub("", line.strip())
    line = _LINK.sub(lambda m: m.group(1) or m.group(2) or "", line)
    line = _RST_LINK.sub(r"\1", line)
    line = _TAG.sub("", line)
    for _ in range(2):  # **_nested_** marks
        line = _EMPHASIS.sub(r"\2", line)
    return line


def _letters(text: str) -> str:
    """Only letters and digits, lower case: how lintian compares synopsis and description."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


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
            text = text or _read_text(root, str(value["file"]),
                                      f"[project].license in {str(path)!r}")
    files: list[Path] = []
    patterns = table.get("license-files", [])
    if isinstance(patterns, list):
        for pattern in patterns:
            if isinstance(pattern, str):
                try:
                    found = sorted(root.glob(pattern))
                except (NotImplementedError, ValueError) as exc:  # absolute or empty pattern
                    raise ConfigError(f"[project].license-files in {str(path)!r}: bad pattern "
                                      f"{pattern!r} ({exc}); use a pattern relative to the "
                                      "project") from None
                files.extend(inside_project(root, p, f"[project].license-files in "
                                                     f"{str(path)!r}")
                             for p in found if p.is_file())
    return expression, text, tuple(files)


def find_license_classifiers(table: Mapping[str, object], meta: Meta) -> tuple[str, ...]:
    """The ``License ::`` Trove classifiers: METADATA's Classifier fields, else
    [project].classifiers."""
    found = [str(c) for c in (meta.get_all("Classifier") or [])] if meta is not None else []
    listed = table.get("classifiers")
    if not found and isinstance(listed, list):
        found = [str(c) for c in listed]
    return tuple(c.strip() for c in found if c.strip().startswith("License ::"))


@dataclass(frozen=True, slots=True)
class DeclaredLicense:
    """What a distribution says about its license, as written (debian/docs.py names it)."""

    expression: str | None = None  # License-Expression (PEP 639): an SPDX expression
    text: str | None = None  # the License field: free text, a name or a whole license
    classifiers: tuple[str, ...] = ()  # the "License :: ..." Trove classifiers
    files: tuple[str, ...] = ()  # License-File: paths of license files in the .dist-info

    @property
    def name(self) -> str | None:
        """The License field when it names a license ("BSD", "Apache 2.0") rather than
        holding a whole text: one line of at most 60 characters.  The copyright file and
        the SBOM both use this one rule."""
        text = (self.text or "").strip()
        return text if text and "\n" not in text and len(text) <= 60 else None


def declared_license(meta: email.message.Message) -> DeclaredLicense:
    """The license fields of a wheel's core metadata (a bundled distribution's)."""
    return DeclaredLicense(
        expression=_get(meta, "License-Expression"),
        text=_get(meta, "License"),
        classifiers=find_license_classifiers({}, meta),
        files=tuple(str(f).strip() for f in meta.get_all("License-File") or [] if str(f).strip()),
    )


def authors(meta: email.message.Message) -> str | None:
    """The people core metadata names (Author, Maintainer and their -email fields), as
    ``Name, Name``; addresses stand in for names only where no name is given."""
    names: list[str] = []
    addresses: list[str] = []
    for field in ("Author", "Maintainer"):
        value = _get(meta, field)
        if value and "@" not in value:
            names.append(value)
    for field in ("Author-email", "Maintainer-email"):
        for who, address in email.utils.getaddresses([_get(meta, field) or ""]):
            (names if who else addresses).append(who or address)
    unique = list(dict.fromkeys(" ".join(n.split()) for n in names or addresses if n.strip()))
    return ", ".join(unique) or None


def _read_text(root: Path, name: str, where: str) -> str:
    """A UTF-8 text file the project names, read only from inside the project."""
    file = root / name
    try:
        return inside_project(root, file, where).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {str(file)!r} ({exc.strerror}); fix the "
                          "file name") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: {str(file)!r} is not UTF-8 text (byte {exc.start}: "
                          f"{exc.reason}); save it as UTF-8") from None


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
            return redact(url)
    return redact(urls[0][1]) if urls else None  # the Homepage field is public


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
