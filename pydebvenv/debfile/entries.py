"""normalise(): the one place entries are checked, completed with parents, given modes and sorted.

dpkg creates no missing parent directory and needs each directory before its content
(docs/deb-format.md, "Tar members"), so every ancestor gets an entry and the list is sorted by path
components, bytewise.  Modes are reduced to what Debian ships ("Modes and owners"): dirs 0755,
files 0644 or 0755.  Nothing downstream re-checks or re-sorts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from pydebvenv.debfile.entry import Entry
from pydebvenv.errors import ArchiveError

__all__ = ["check_path", "normalise", "sort_key"]

_SPECIAL_BITS = 0o7000  # setuid, setgid, sticky
_WORLD_WRITABLE = 0o002


def check_path(path: str, source: str) -> None:
    """Refuse a path that is not relative, POSIX, clean and encodable as UTF-8."""

    def bad(why: str) -> ArchiveError:
        return ArchiveError(
            f"invalid path {path!r} from {source}: {why}; give a POSIX path relative to / "
            "such as 'usr/share/doc/pkg/copyright'"
        )

    if not isinstance(path, str) or not path:
        raise bad("it is empty")
    if path.startswith("/"):
        raise bad("it is absolute")
    if "\\" in path:
        raise bad("it contains a backslash")
    if "\0" in path or "\n" in path:
        raise bad("it contains a NUL or newline character")
    for part in path.split("/"):
        if part == "..":
            raise bad("it contains a '..' component")
        if part in ("", "."):
            raise bad("it contains an empty or '.' component")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise bad("it is not valid UTF-8") from None


def sort_key(path: str) -> tuple[bytes, ...]:
    """Path components as UTF-8 bytes: a directory sorts before everything inside it."""
    return tuple(part.encode("utf-8") for part in path.split("/"))


def _normalise_one(entry: Entry) -> Entry:
    check_path(entry.path, entry.source)
    if entry.kind not in ("file", "dir", "symlink"):
        raise ArchiveError(
            f"invalid kind {entry.kind!r} for {entry.path!r} from {entry.source}: "
            "use 'file', 'dir' or 'symlink'"
        )
    if entry.conffile and (entry.kind != "file" or not entry.path.startswith("etc/")):
        raise ArchiveError(
            f"conffile {entry.path!r} from {entry.source} is not a regular file under etc/: "
            "only files in /etc may be conffiles (Debian Policy 10.7.2)"
        )
    if entry.kind == "symlink":
        if not entry.link or "\0" in entry.link:
            raise ArchiveError(
                f"symlink {entry.path!r} from {entry.source} has an empty or invalid target "
                f"{entry.link!r}: give the link target"
            )
        return dataclasses.replace(entry, mode=0o777, size=0, opener=None)
    if not isinstance(entry.mode, int) or not 0 <= entry.mode <= 0o7777:
        raise ArchiveError(
            f"invalid mode {entry.mode!r} for {entry.path!r} from {entry.source}: "
            "give permission bits only, such as 0o644"
        )
    if entry.mode & _SPECIAL_BITS:
        raise ArchiveError(
            f"mode {entry.mode:#o} of {entry.path!r} from {entry.source} has setuid, setgid "
            "or sticky bits: these are not allowed, drop them"
        )
    if entry.mode & _WORLD_WRITABLE:
        raise ArchiveError(
            f"mode {entry.mode:#o} of {entry.path!r} from {entry.source} is world-writable: "
            "drop the o+w bit"
        )
    if entry.kind == "dir":
        return dataclasses.replace(entry, mode=0o755, size=0, opener=None, link=None)
    if entry.opener is None:
        raise ArchiveError(
            f"file {entry.path!r} from {entry.source} has no opener: give a way to read it"
        )
    if isinstance(entry.size, bool) or not isinstance(entry.size, int) or entry.size < 0:
        raise ArchiveError(
            f"invalid size {entry.size!r} for {entry.path!r} from {entry.source}: "
            "give the exact byte count"
        )
    mode = 0o755 if entry.mode & 0o111 else 0o644
    return dataclasses.replace(entry, mode=mode, link=None)


def normalise(entries: Iterable[Entry]) -> list[Entry]:
    """Checked, completed and sorted entries, ready for data.tar.

    Adds a 0755 directory for every missing parent, refuses two entries on one path
    (naming both sources), refuses absolute, ``..``, empty or backslash paths, anything
    inside a file or symlink, special and world-writable modes, and conffiles outside
    ``etc/``.  Files become 0644, or 0755 when any execute bit is set.
    """
    by_path: dict[str, Entry] = {}
    for raw in entries:
        entry = _normalise_one(raw)
        other = by_path.get(entry.path)
        if other is not None:
            raise ArchiveError(
                f"duplicate path {entry.path!r}: from {other.source} and from {entry.source}; "
                "keep only one of them"
            )
        by_path[entry.path] = entry

    for entry in list(by_path.values()):
        parts = entry.path.split("/")
        # deepest parent first: once an existing directory is met, its own ancestors are
        # (or will be) handled as that directory's parents
        for depth in range(len(parts) - 1, 0, -1):
            parent = "/".join(parts[:depth])
            existing = by_path.get(parent)
            if existing is not None and existing.kind == "dir":
                break
            if existing is None:
                by_path[parent] = Entry(
                    path=parent, kind="dir", mode=0o755, source=f"parent of {entry.path!r}"
                )
            elif existing.kind != "dir":
                raise ArchiveError(
                    f"{entry.path!r} from {entry.source} is inside {parent!r}, which is a "
                    f"{existing.kind} from {existing.source}: make {parent!r} a directory "
                    "or move the entry"
                )
    return sorted(by_path.values(), key=lambda e: sort_key(e.path))
