"""Checking control.tar's files read back: control, md5sums, conffiles, and data.tar against them.

The control file is parsed here, strictly (python-debian's ``deb822`` silently drops
malformed lines and duplicate fields, which dpkg refuses), into the values ``deb822`` gives.  A
defect raises :class:`~pydebvenv.errors.InspectError` (one line; read_deb adds the file name).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydebvenv.debfile.relations import DPKG_RELATIONS, relation_problem
from pydebvenv.debfile.tarwalk import DebFileEntry, relative_path
from pydebvenv.errors import InspectError

__all__ = ["cross_check", "parse_conffiles", "parse_control", "parse_md5sums"]

_FIELD_LINE = re.compile(r"[!-9;-~][!-9;-~]*:")  # deb822(5): field names are printable, no ':'
_RELATIONS = {name.lower() for name in DPKG_RELATIONS}
_BLANK = re.compile(r"\s*")
_MD5_LINE = re.compile(r"([0-9a-f]{32})  (.+)")  # deb-md5sums(5): lowercase hex, two spaces


def _lines(text: str | bytes) -> Iterator[tuple[int, int, int]]:
    """(number, start, end) of each line of ``text`` (end excludes its newline), one at a time:
    a 60 MB member is never split into a list of millions of strings."""
    newline = "\n" if isinstance(text, str) else b"\n"
    start, number = 0, 0
    while start < len(text):
        end = text.find(newline, start)  # type: ignore[arg-type]  # same type as text
        end = len(text) if end < 0 else end
        number += 1
        yield number, start, end
        start = end + 1


def parse_control(raw: bytes) -> dict[str, str]:
    """deb-control(5): one stanza of 'Field: value' lines, each ending in a newline.

    Values are as python-debian's deb822 gives them: the first line stripped, continuation
    lines kept as written after a newline.  Each value is one slice of the text, so memory
    stays near twice the file's size (docs/safety.md, "Reading a package").
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InspectError(f"control file is not valid UTF-8 ({exc.reason} at byte "
                           f"{exc.start})") from None
    del raw  # the caller handed over its only reference
    if _BLANK.fullmatch(text):
        raise InspectError("control file is empty")
    if not text.endswith("\n"):
        raise InspectError("control file lacks its final newline")
    fields: dict[str, str] = {}
    names: set[str] = set()
    current: tuple[str, str, int, int] | None = None  # name, first line value, block start, end

    def close() -> None:
        if current is not None:
            name, first, block, end = current
            if text[block - len(first):block] == first:
                fields[name] = text[block - len(first):end]  # one slice: no second copy
            else:  # the first line ends in blanks that deb822 strips
                fields[name] = first + text[block:end]

    stop = len(text)  # blank lines may end the stanza (counted without copying the text)
    while stop and text[stop - 1] == "\n":
        stop -= 1
    for number, start, end in _lines(text):
        if start >= stop:
            break
        if text[start:start + 1] in (" ", "\t"):
            if current is None:
                raise InspectError(f"control file line 1 {text[start:end][:60]!r} is a "
                                   "continuation without a field")
            current = (*current[:3], end)
            continue
        line = text[start:end]
        found = _FIELD_LINE.match(line)
        if found is None or line.startswith(("#", "-")):
            what = "is blank" if not line.strip() else "is not 'Field: value'"
            raise InspectError(f"control file line {number} {line[:60]!r} {what}")
        name = found.group(0)[:-1]
        if name.lower() in names:
            raise InspectError(f"control file has a duplicate {name!r} field")
        names.add(name.lower())
        close()
        current = (name, line[found.end():].strip(), end, end)
    close()
    for required in ("Package", "Version", "Architecture"):
        if required not in fields:
            raise InspectError(f"control file has no {required!r} field")
    for name, value in fields.items():
        if name.lower() in _RELATIONS:
            # what dpkg -i refuses (parse error), not Policy's stricter rules
            problem = relation_problem(name, value, policy=False)
            if problem is not None:
                raise InspectError(f"control file field {name!r} is invalid ({value[:80]!r}): "
                                   f"{problem}; dpkg refuses to install it")
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
    for number, start, end in _lines(raw):  # decoded line by line: never a second copy
        try:
            line = raw[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InspectError(f"control member 'md5sums' is not valid UTF-8 ({exc.reason} at "
                               f"byte {start + exc.start})") from None
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
