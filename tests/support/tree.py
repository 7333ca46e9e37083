"""A directory tree as a value (paths, kinds, modes, bytes, link targets), to compare before/after."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["snapshot"]


def snapshot(root: Path) -> dict[str, tuple[str, int, bytes | str]]:
    """Every path under ``root`` -> (kind, permission bits, content or link target).

    Directories are listed too, so a new empty ``build/`` shows; mtimes are left out (a
    copy may read a file, never change it).
    """
    out: dict[str, tuple[str, int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", mode, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", mode, b"")
            else:
                out[rel] = ("file", mode, path.read_bytes())
    return out
