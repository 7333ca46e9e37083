"""What goes into data.tar: one Entry per file, directory or symlink.

The writer never looks at the host filesystem: an entry carries its POSIX path,
its kind, its mode and a way to open its bytes, so host modes, uids, mtimes and
symlink support cannot leak into the package.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

__all__ = ["Entry", "Kind", "dir_entry", "file_entry", "host_file_entry", "symlink_entry"]

Kind = Literal["file", "dir", "symlink"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One member of data.tar.

    ``path`` is relative to the root of the installed system, POSIX, without a
    leading ``/`` or ``./`` (``usr/share/python/app/bin/app``).  ``mode`` holds the
    permission bits only.  ``source`` says where the entry came from, for error
    messages (``"app-1.0-py3-none-any.whl: app/__init__.py"``).

    ``digest`` names the file's content: it changes whenever the bytes ``opener`` returns
    could (the sha256 of the bytes, or the sha256 of the wheel holding them with the
    member's name); None when unknown.  ``group`` is shared by the entries of one origin
    (a wheel).  The writer cuts data.tar's compressed segments between groups and reuses a
    segment from an earlier build when every entry in it is the same, digest included.
    """

    path: str
    kind: Kind
    mode: int
    source: str
    size: int = 0
    opener: Callable[[], BinaryIO] | None = None
    link: str | None = None
    conffile: bool = False
    digest: str | None = None
    group: str = ""

    def open(self) -> BinaryIO:
        if self.opener is None:
            raise ValueError(f"{self.path!r} is a {self.kind}, it has no content")
        return self.opener()


def file_entry(
    path: str, data: bytes, *, mode: int = 0o644, source: str, conffile: bool = False,
    group: str = "",
) -> Entry:
    """A regular file whose content is already in memory (generated files)."""
    return Entry(
        path=path,
        kind="file",
        mode=mode,
        source=source,
        size=len(data),
        opener=lambda: io.BytesIO(data),
        conffile=conffile,
        digest="sha256:" + hashlib.sha256(data).hexdigest(),
        group=group,
    )


def host_file_entry(
    path: str, host_path: Path, *, mode: int = 0o644, source: str | None = None,
    conffile: bool = False,
) -> Entry:
    """A regular file read from the host when the archive is written.

    Only the size is taken from the host; the mode is the caller's decision.
    """
    return Entry(
        path=path,
        kind="file",
        mode=mode,
        source=source or str(host_path),
        size=host_path.stat().st_size,
        opener=lambda: host_path.open("rb"),
        conffile=conffile,
    )


def dir_entry(path: str, *, source: str, mode: int = 0o755) -> Entry:
    return Entry(path=path, kind="dir", mode=mode, source=source)


def symlink_entry(path: str, target: str, *, source: str) -> Entry:
    return Entry(path=path, kind="symlink", mode=0o777, source=source, link=target)
