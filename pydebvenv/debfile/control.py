"""The control member's text files: control (fields, Description, Installed-Size), md5sums...

Syntax follows deb-control(5) and Debian Policy §5 (deb822 stanza, every line
newline-terminated); names and versions follow Policy §5.6.1/§5.6.12 and deb-version(7);
md5sums follows deb-md5sums(5) as dh_md5sums writes it; conffiles deb-conffiles(5).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydebvenv.debfile.entry import Entry
from pydebvenv.errors import ArchiveError

__all__ = [
    "OWN_FIELDS",
    "Control",
    "MaintainerScripts",
    "deb_filename",
    "fold_description",
    "installed_size",
    "is_field_name",
    "is_package_name",
    "is_revision",
    "render_conffiles",
    "render_control",
    "render_md5sums",
    "validate_architecture",
    "validate_package_name",
    "validate_version",
]


@dataclass(frozen=True, slots=True)
class Control:
    """The fields of a binary package's control file.

    ``description`` is the synopsis, a newline, then the extended text whose paragraphs
    are separated by blank lines; it is folded when rendered.  ``fields`` holds every
    other field in the order it should appear (Depends, Section, Priority, Homepage...).
    """

    package: str
    version: str
    architecture: str
    maintainer: str
    description: str
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class MaintainerScripts:
    """Full texts of the maintainer scripts and the triggers file; None leaves one out."""

    preinst: str | None = None
    postinst: str | None = None
    prerm: str | None = None
    postrm: str | None = None
    triggers: str | None = None


# Policy §5.6.1: lowercase letters, digits, + - . ; at least two characters; starts alnum.
_PACKAGE_RE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
# deb-version(7): epoch is an unsigned integer; revision [A-Za-z0-9+.~]; upstream starts
# with a digit, may hold "-" only with a revision and ":" only with an epoch.
_EPOCH_RE = re.compile(r"[0-9]+")
_REVISION_RE = re.compile(r"[A-Za-z0-9+.~]+")
# dpkg's own architecture names (and "all", "any"-less for binaries): lowercase, digits, "-".
_ARCH_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
# deb822 field names: printable US-ASCII except ":" and space, not starting with "#" or "-".
_FIELD_NAME_RE = re.compile(r"[!-9;-~]+")

#: Fields the Control value carries itself (or the writer computes): refused in ``fields``.
OWN_FIELDS = ("Package", "Version", "Architecture", "Maintainer", "Installed-Size",
              "Description")


def is_field_name(name: str) -> bool:
    """Whether ``name`` may name a deb822 field (printable ASCII but ":" and space, not
    starting with "#" or "-")."""
    return isinstance(name, str) and _FIELD_NAME_RE.fullmatch(name) is not None \
        and name[0] not in "#-"


def is_revision(revision: str) -> bool:
    """Whether ``revision`` is a valid Debian revision (deb-version(7): A-Za-z0-9 + . ~)."""
    return isinstance(revision, str) and _REVISION_RE.fullmatch(revision) is not None


def is_package_name(name: str) -> bool:
    """Whether ``name`` is a valid binary package name (Policy §5.6.1)."""
    return isinstance(name, str) and _PACKAGE_RE.fullmatch(name) is not None


def validate_package_name(name: str) -> str:
    """Return ``name`` if it is a valid binary package name (Policy §5.6.1), else raise."""
    if not is_package_name(name):
        raise ArchiveError(
            f"invalid package name {name!r}: use at least two characters from a-z 0-9 + - . "
            "starting with a letter or digit (Debian Policy 5.6.1)"
        )
    return name


def validate_version(version: str) -> str:
    """Return ``version`` if it is a valid Debian version (deb-version(7)), else raise."""

    def bad(why: str) -> ArchiveError:
        return ArchiveError(
            f"invalid Debian version {version!r}: {why} (format [epoch:]upstream[-revision], "
            "see deb-version(7))"
        )

    if not isinstance(version, str) or not version:
        raise bad("it is empty")
    if any(c.isspace() for c in version):
        raise bad("it contains whitespace")
    epoch, colon, rest = version.partition(":")
    if not colon:
        epoch, rest = "", version
    elif not _EPOCH_RE.fullmatch(epoch):
        raise bad("the epoch before ':' must be an unsigned integer")
    upstream, dash, revision = rest.rpartition("-")
    if not dash:
        upstream, revision = rest, ""
    elif not _REVISION_RE.fullmatch(revision):
        raise bad("the revision after the last '-' must be non-empty and use A-Za-z0-9+.~ only")
    if not upstream:
        raise bad("the upstream version is empty")
    if not upstream[0].isdigit() or not upstream[0].isascii():
        raise bad("the upstream version must start with a digit")
    allowed = "A-Za-z0-9.+~" + ("-" if dash else "") + (":" if colon else "")
    if not re.fullmatch(_upstream_pattern(bool(dash), bool(colon)), upstream):
        raise bad(f"the upstream version may only use {allowed}")
    return version


def _upstream_pattern(dash: bool, colon: bool) -> str:
    extra = ("\\-" if dash else "") + (":" if colon else "")
    return f"[A-Za-z0-9.+~{extra}]+"


def validate_architecture(arch: str) -> str:
    """Return ``arch`` if it looks like a Debian architecture name (or ``all``), else raise."""
    if not isinstance(arch, str) or not _ARCH_RE.fullmatch(arch):
        raise ArchiveError(
            f"invalid architecture {arch!r}: use a Debian architecture name such as "
            "'amd64', 'arm64' or 'all'"
        )
    return arch


def deb_filename(control: Control) -> str:
    """``<package>_<version without epoch>_<arch>.deb``, the Debian file name convention."""
    version = control.version.partition(":")[2] if ":" in control.version else control.version
    return f"{control.package}_{version}_{control.architecture}.deb"


def installed_size(entries: Iterable[Entry]) -> int:
    """Installed-Size in KiB, as dpkg-gencontrol computes it (docs/deb-format.md, "Installed-Size").

    ceil(size/1024) per regular file and symlink (a symlink's size is its target's
    length), 1 per directory, plus 1 for the root directory, which ``entries`` (paths
    relative to ``/``) never holds.
    """
    total = 1  # the root "./"
    for entry in entries:
        if entry.kind == "file":
            total += math.ceil(entry.size / 1024)
        elif entry.kind == "symlink":
            total += math.ceil(len((entry.link or "").encode("utf-8")) / 1024)
        else:
            total += 1
    return total


def _check_single_line(what: str, value: str) -> None:
    if not value or "\n" in value or "\r" in value or value != value.strip():
        raise ArchiveError(
            f"invalid {what} {value!r}: give one non-empty line without surrounding spaces"
        )


def _render_value(name: str, value: str) -> str:
    """A field value: one line, or continuation lines that each start with a space."""
    if "\r" in value:
        raise ArchiveError(
            f"invalid value for field {name!r}: {value!r} contains a carriage return; remove it"
        )
    first, *rest = value.split("\n")
    if not first.strip() and not rest:
        raise ArchiveError(f"empty value for field {name!r}: give a value or leave the field out")
    for line in rest:
        # deb822: continuation lines start with whitespace and are never blank (a blank
        # line would end the stanza; dpkg: "empty field name").
        if not line[:1].isspace() or not line.strip():
            raise ArchiveError(
                f"invalid value for field {name!r}: {value!r}; continuation lines must start "
                "with a space and must not be blank"
            )
    return f"{name}: {value.strip() if not rest else value}\n"


def fold_description(description: str) -> str:
    """The Description field (Policy §5.6.13): synopsis, " "-prefixed lines, " ." for blanks."""
    synopsis, _, extended = description.replace("\r\n", "\n").partition("\n")
    synopsis = synopsis.strip()
    if not synopsis:
        raise ArchiveError(
            f"invalid description {description!r}: the first line (the synopsis) must not be empty"
        )
    if "\r" in synopsis or "\r" in extended:
        # dpkg reads a lone CR as part of the value: it would reach every apt front end
        raise ArchiveError(f"invalid description {description[:60]!r}: it contains a carriage "
                           "return (\\r); remove it")
    out = [f"Description: {synopsis}\n"]
    lines = extended.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    for line in lines:
        line = line.rstrip()
        out.append(" .\n" if not line else f" {line}\n")
    return "".join(out)


def render_control(control: Control, installed_size: int) -> bytes:
    """The control file as bytes, fields in the conventional order, every line newline-terminated.

    Order: Package, Source (if given), Version, Architecture, Maintainer, Installed-Size,
    the other fields as given, Description (docs/deb-format.md, "The control file").
    """
    validate_package_name(control.package)
    validate_version(control.version)
    validate_architecture(control.architecture)
    _check_single_line("maintainer", control.maintainer)
    if (isinstance(installed_size, bool) or not isinstance(installed_size, int)
            or installed_size < 0):
        raise ArchiveError(f"invalid Installed-Size {installed_size!r}: give a whole number of KiB")

    seen: dict[str, str] = {}
    for name, _value in control.fields:
        if not is_field_name(name):
            raise ArchiveError(
                f"invalid field name {name!r}: use printable ASCII without ':' or spaces, "
                "not starting with '#' or '-'"
            )
        key = name.lower()
        if key in (own.lower() for own in OWN_FIELDS):
            raise ArchiveError(
                f"field {name!r} cannot be given in fields: it comes from the Control value "
                "itself (or is computed)"
            )
        if key in seen:
            raise ArchiveError(
                f"duplicate field {name!r} (also given as {seen[key]!r}): give each field once"
            )
        seen[key] = name

    source = [(n, v) for n, v in control.fields if n.lower() == "source"]
    others = [(n, v) for n, v in control.fields if n.lower() != "source"]
    text = [f"Package: {control.package}\n"]
    text += [_render_value(n, v) for n, v in source]
    text += [
        f"Version: {control.version}\n",
        f"Architecture: {control.architecture}\n",
        f"Maintainer: {control.maintainer}\n",
        f"Installed-Size: {installed_size}\n",
    ]
    text += [_render_value(n, v) for n, v in others]
    text.append(fold_description(control.description))
    return "".join(text).encode("utf-8")


def render_md5sums(sums: Iterable[tuple[str, str]]) -> bytes:
    """md5sums: ``<md5>  <path>`` per (path, hexdigest), path without ``./`` (dh_md5sums)."""
    return "".join(f"{digest.lower()}  {path}\n" for path, digest in sums).encode("utf-8")


def render_conffiles(paths: Iterable[str]) -> bytes:
    """conffiles: one absolute path per line, the last line newline-terminated too."""
    return "".join(f"/{path.lstrip('/')}\n" for path in paths).encode("utf-8")
