"""How an entry is published into pydebvenv's caches (wheels/cache.py cache_home()).

Besides the wheel cache, a build keeps build environments for the application's backend and
the application wheels it built.  Every entry is made under a
temporary name in the same directory and renamed into place when complete (rename(2) is
atomic on one filesystem), so a reader never sees half an entry and two builds racing for
the same entry both end up using one complete copy.  No locks: the same on every OS.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["new_entry", "prune", "publish", "touch"]


def new_entry(parent: Path) -> Path:
    """A fresh temporary directory in ``parent`` to fill, then ``publish``."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix=".tmp-"))


def publish(work: Path, final: Path) -> bool:
    """Rename the filled ``work`` directory to ``final``; False when another build was first.

    Then ``work`` is removed and ``final`` (the other build's complete entry) stays.
    """
    try:
        os.replace(work, final)
        return True
    except OSError:
        if not final.exists():
            raise
        shutil.rmtree(work, ignore_errors=True)
        return False


def touch(path: Path) -> None:
    """Mark an entry as used now (prune keeps recently used entries)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def prune(parent: Path, *, keep: int, max_age_days: float, marker: str) -> None:
    """Remove entries of ``parent`` beyond the ``keep`` most recently used, if also old.

    An entry's last use is the mtime of its ``marker`` file.  Entries used within
    ``max_age_days`` are always kept; leftover temporary directories of interrupted builds
    older than a day go too.
    """
    if not parent.is_dir():
        return
    now = time.time()
    used: list[tuple[float, Path]] = []
    for entry in parent.iterdir():
        try:
            if entry.name.startswith(".tmp-"):
                if now - entry.stat().st_mtime > 86400:
                    shutil.rmtree(entry, ignore_errors=True)
                continue
            used.append(((entry / marker).stat().st_mtime, entry))
        except OSError:
            continue  # removed meanwhile, or not an entry: leave it
    used.sort(reverse=True)
    for last_use, entry in used[keep:]:
        if now - last_use > max_age_days * 86400:
            shutil.rmtree(entry, ignore_errors=True)
