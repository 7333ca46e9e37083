"""Packages stanzas: one .deb's control fields plus where it lies and its hashes, both ways.

A stanza is what ``apt-ftparchive packages`` writes for a .deb (the DebianRepository/Format
wiki page, "Packages Indices"): the control paragraph with ``Filename`` (relative to the
repository root), ``Size``, ``MD5sum`` and ``SHA256`` added, fields in the order apt-ftparchive
sorts them (checked against apt-ftparchive 2.6 on Debian 12: the known fields below in this
order, every other field after them as the package had it).  The stanzas of an existing
Packages file are read back as text, so publishing one more package never re-reads the
``.deb`` files already listed: the index is the state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydebvenv.errors import PublishError
from pydebvenv.repo.debversion import version_key

__all__ = [
    "FIELD_ORDER",
    "Stanza",
    "parse_packages",
    "render_packages",
    "source_name",
    "stanza_for",
]

#: The fields apt-ftparchive knows, in the order it writes them (apt's tagfile order).
FIELD_ORDER = (
    "Package", "Package-Type", "Architecture", "Subarchitecture", "Version", "Kernel-Version",
    "Built-Using", "Static-Built-Using", "Built-For-Profiles", "Auto-Built-Package",
    "Multi-Arch", "Priority", "Build-Essential", "Protected", "Important", "Essential",
    "Installer-Menu-Item", "Section", "Source", "Origin", "Maintainer", "Original-Maintainer",
    "Bugs", "Installed-Size", "Provides", "Pre-Depends", "Depends", "Recommends", "Suggests",
    "Conflicts", "Breaks", "Replaces", "Enhances", "Filename", "MSDOS-Filename", "Size",
    "MD5sum", "SHA1", "SHA256", "SHA512", "Homepage", "Description", "Description-md5", "Tag",
    "Task",
)
_RANK = {name.lower(): rank for rank, name in enumerate(FIELD_ORDER)}
# The repository's own fields: a control file that carries them is overruled, as
# apt-ftparchive does.
_OWN = frozenset({"filename", "size", "md5sum", "sha1", "sha256", "sha512"})
_FIELD = re.compile(r"^([!-9;-~]+):[ \t]*(.*)$", re.MULTILINE)
_BLANK = re.compile(r"\n(?:[ \t]*\n)+")


@dataclass(frozen=True, slots=True)
class Stanza:
    """One package in a Packages file: the fields publishing works with, and its text.

    ``text`` is the whole stanza, every line newline-terminated, without the blank line that
    separates it from the next; ``source`` is the Source field's name, else the package's.
    """

    package: str
    version: str
    architecture: str
    filename: str
    size: int
    sha256: str
    source: str
    text: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What may appear once in a repository: (package, version, architecture)."""
        return self.package, self.version, self.architecture


def source_name(control: Mapping[str, str]) -> str:
    """The source package's name: ``Source: foo (1.2)`` -> ``foo``; the package's if none."""
    source = control.get("Source", "").split("(", 1)[0].strip()
    return source or control["Package"]


def _line(name: str, value: str) -> str:
    # A value whose first line is empty (a multi-line field such as "Conffiles:") keeps the
    # newline right after the colon, as apt-ftparchive writes it.
    return f"{name}:{value}\n" if value.startswith("\n") else f"{name}: {value}\n"


def stanza_for(control: Mapping[str, str], filename: str, size: int, md5: str,
               sha256: str) -> Stanza:
    """The stanza of a .deb with control fields ``control`` lying at ``filename``."""
    fields = [(name, value) for name, value in control.items() if name.lower() not in _OWN]
    fields += [("Filename", filename), ("Size", str(size)), ("MD5sum", md5),
               ("SHA256", sha256)]
    unknown = len(FIELD_ORDER)
    # sorted() is stable: unknown fields keep the order the control file gave them.
    fields.sort(key=lambda item: _RANK.get(item[0].lower(), unknown))
    text = "".join(_line(name, value) for name, value in fields)
    return Stanza(control["Package"], control["Version"], control["Architecture"], filename,
                  size, sha256, source_name(control), text)


def _safe_filename(name: str, where: str) -> str:
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or "" in parts or not name.startswith("pool/"):
        raise PublishError(f"{where} lists Filename {name!r}, which is not a path under pool/; "
                           "the index was not written by a repository tool: remove it and "
                           "publish the .debs again")
    return name


def parse_packages(text: str, where: str) -> list[Stanza]:
    """The stanzas of a Packages file, text kept as it is; ``where`` names it in errors."""
    stanzas = []
    for number, block in enumerate(_BLANK.split(text.strip("\n")), 1):
        if not block.strip():
            continue
        fields = {name.lower(): value.strip() for name, value in _FIELD.findall(block)}
        missing = [name for name in ("package", "version", "architecture", "filename", "size",
                                     "sha256") if not fields.get(name)]
        if missing or not fields["size"].isdigit():
            what = f"no {missing[0].title()!r} field" if missing else "a Size that is not a number"
            raise PublishError(f"{where}: stanza {number} has {what}; the index is damaged: "
                               "remove it and publish the .debs again")
        source = fields.get("source", "").split("(", 1)[0].strip() or fields["package"]
        stanzas.append(Stanza(fields["package"], fields["version"], fields["architecture"],
                              _safe_filename(fields["filename"], where), int(fields["size"]),
                              fields["sha256"].lower(), source, block.strip("\n") + "\n"))
    return stanzas


def render_packages(stanzas: Iterable[Stanza]) -> bytes:
    """A Packages file: stanzas by package, architecture and Debian version, each followed by
    a blank line (an empty file when there is none)."""
    ordered = sorted(stanzas, key=lambda s: (s.package, s.architecture,
                                             version_key(s.version), s.filename))
    return "".join(stanza.text + "\n" for stanza in ordered).encode("utf-8")
