"""Checking control.tar's files read back: control, md5sums, conffiles, and data.tar against them.

python-debian's ``deb822`` parses the control file, after a strict line check of our own
(``deb822`` silently drops malformed lines and duplicate fields, which dpkg refuses).  A
defect raises :class:`~pydebvenv.errors.InspectError` (one line; read_deb adds the file name).
"""

from __future__ import annotations

import re

from debian import deb822

from pydebvenv.debfile.tarwalk import DebFileEntry, relative_path
from pydebvenv.errors import InspectError

__all__ = ["cross_check", "parse_conffiles", "parse_control", "parse_md5sums"]

_FIELD_LINE = re.compile(r"[!-9;-~][!-9;-~]*:")  # deb822(5): field names are printable, no ':'
_MD5_LINE = re.compile(r"([0-9a-f]{32})  (.+)")  # deb-md5sums(5): lowercase hex, two spaces


def parse_control(raw: bytes) -> dict[str, str]:
    """deb-control(5): one stanza of 'Field: value' lines, each ending in a newline."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InspectError(f"control file is not valid UTF-8 ({exc.reason} at byte "
                           f"{exc.start})") from None
    if not text.strip():
        raise InspectError("control file is empty")
    if not text.endswith("\n"):
        raise InspectError("control file lacks its final newline")
    names: set[str] = set()
    lines = text.rstrip("\n").split("\n")
    for number, line in enumerate(lines, 1):
        if line[:1] in (" ", "\t"):
            if number == 1:
                raise InspectError(f"control file line 1 {line!r} is a continuation without "
                                   "a field")
            continue
        found = _FIELD_LINE.match(line)
        if found is None or line.startswith(("#", "-")):
            what = "is blank" if not line.strip() else "is not 'Field: value'"
            raise InspectError(f"control file line {number} {line[:60]!r} {what}")
        name = found.group(0)[:-1].lower()
        if name in names:
            raise InspectError(f"control file has a duplicate {found.group(0)[:-1]!r} field")
        names.add(name)
    fields = dict(deb822.Deb822(text).items())
    for required in ("Package", "Version", "Architecture"):
        if required not in fields:
            raise InspectError(f"control file has no {required!r} field")
    return fields


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InspectError(f"control member {name!r} is not valid UTF-8 ({exc.reason} at byte "
                           f"{exc.start})") from None


def parse_md5sums(raw: bytes) -> dict[str, str]:
    """deb-md5sums(5): path (relative, without ./) -> digest, in file order."""
    sums: dict[str, str] = {}
    for number, line in enumerate(_text(raw, "md5sums").split("\n"), 1):
        if not line:
            continue
        found = _MD5_LINE.fullmatch(line)
        if found is None:
            raise InspectError(f"md5sums line {number} {line[:80]!r} is not '<32 lowercase "
                               "hex>  <path>'")
        rel = relative_path(found.group(2), "md5sums")
        if rel in sums:
            raise InspectError(f"md5sums lists {rel!r} twice")
        sums[rel] = found.group(1)
    return sums


def _conffile_flag(line: str) -> tuple[str, str]:
    """deb-conffiles(5): '/etc/x' or 'FLAG /etc/x' (paths may hold spaces)."""
    if line.startswith("/") or " " not in line:
        return "", line
    flag, _, path = line.partition(" ")
    return flag, path.strip()


def parse_conffiles(raw: bytes) -> tuple[str, ...]:
    """deb-conffiles(5): the lines as written ("/etc/x" or "remove-on-upgrade /etc/y")."""
    text = _text(raw, "conffiles")
    if text and not text.endswith("\n"):
        raise InspectError("conffiles lacks its final newline (dpkg refuses it)")
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        flag, path = _conffile_flag(line)
        if flag not in ("", "remove-on-upgrade"):
            raise InspectError(f"conffiles line {line!r} has unknown flag {flag!r}; only "
                               "'remove-on-upgrade' exists (deb-conffiles(5))")
        if not path.startswith("/"):
            raise InspectError(f"conffile {path!r} is not an absolute path")
        lines.append(line)
    return tuple(lines)


def cross_check(files: list[DebFileEntry], md5sums: dict[str, str],
                conffiles: tuple[str, ...]) -> None:
    """Every md5sums line matches a data.tar file; every conffile is shipped (or flagged)."""
    contents = {entry.path[2:]: entry for entry in files if entry.md5 is not None}
    for rel, digest in md5sums.items():
        entry = contents.get(rel)
        if entry is None:
            raise InspectError(f"md5sums lists {rel!r}, which is not a file in data.tar")
        if entry.md5 != digest:
            raise InspectError(f"md5sums mismatch for {rel!r}: listed {digest}, data.tar has "
                               f"{entry.md5}")
    for line in conffiles:
        flag, path = _conffile_flag(line)
        shipped = path.lstrip("/") in contents
        if flag and shipped:
            raise InspectError(f"conffile {path!r} is marked remove-on-upgrade but shipped in "
                               "data.tar")
        if not flag and not shipped:
            raise InspectError(f"conffile {path!r} is not a regular file in data.tar")
