"""Writing into a repository that is being read: atomic replacement, the publish lock, hashes.

A reader (a web server handing files to apt) must never see half a file: every file is
written under a temporary name in its own directory, flushed to disk, then renamed over its
final name (rename(2) replaces atomically within one filesystem; os.replace does the same on
Windows).  Temporary names start with ``.`` and end in ``.tmp``, so a publish killed half
way leaves only files no index names, which the next publish removes.
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "LOCK_NAME",
    "TMP_SUFFIX",
    "Hashes",
    "copy_hashed",
    "gzip_bytes",
    "hash_bytes",
    "hash_file",
    "publish_lock",
    "remove_temporaries",
    "replace",
    "sync_files",
    "write_atomic",
    "write_temporary",
    "xz_bytes",
]

#: The lock file at the repository's root; concurrent publishes wait for each other on it.
LOCK_NAME = ".pydebvenv-publish.lock"
_CHUNK = 1 << 20
TMP_SUFFIX = ".tmp"


@dataclass(frozen=True, slots=True)
class Hashes:
    """A file's size and the digests a repository lists for it."""

    size: int
    md5: str
    sha256: str


class _Digests:
    def __init__(self) -> None:
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)  # listed for old clients, never trusted
        self.sha256 = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.md5.update(chunk)
        self.sha256.update(chunk)

    def result(self) -> Hashes:
        return Hashes(self.size, self.md5.hexdigest(), self.sha256.hexdigest())


def hash_bytes(data: bytes) -> Hashes:
    digests = _Digests()
    digests.update(data)
    return digests.result()


def hash_file(path: Path) -> Hashes:
    digests = _Digests()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digests.update(chunk)
    return digests.result()


def _temporary(directory: Path, name: str) -> tuple[BinaryIO, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=TMP_SUFFIX, dir=directory)
    return os.fdopen(fd, "wb"), Path(tmp)


def _flush(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def write_temporary(path: Path, data: bytes) -> Path:
    """``data`` flushed to disk under a temporary name beside ``path``; rename it with
    :func:`replace`."""
    handle, tmp = _temporary(path.parent, path.name)
    try:
        with handle:
            handle.write(data)
            _flush(handle)
        os.chmod(tmp, 0o644)  # served files are world-readable, whatever the umask
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def replace(tmp: Path, path: Path) -> None:
    """Rename a temporary file over ``path``: readers see the old file or the new one."""
    os.replace(tmp, path)


def write_atomic(path: Path, data: bytes) -> None:
    replace(write_temporary(path, data), path)


def copy_hashed(source: Path, directory: Path) -> tuple[Path, Hashes]:
    """Copy ``source`` to a temporary file in ``directory``, hashing the bytes copied; call
    :func:`sync_files` before anything names it."""
    handle, tmp = _temporary(directory, source.name)
    digests = _Digests()
    try:
        with handle, source.open("rb") as src:
            while chunk := src.read(_CHUNK):
                digests.update(chunk)
                handle.write(chunk)
        os.chmod(tmp, 0o644)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digests.result()


def sync_files(paths: Iterable[Path]) -> None:
    """Flush files to disk, all written first: the first fsync commits the filesystem's journal
    for all of them, so a thousand new files cost about one commit, not a thousand."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_temporaries(directory: Path) -> None:
    """Remove what an interrupted publish left in ``directory`` (only our temporary names)."""
    if not directory.is_dir():
        return
    for entry in os.scandir(directory):
        if entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX) and entry.is_file():
            Path(entry.path).unlink(missing_ok=True)


def gzip_bytes(data: bytes) -> bytes:
    """gzip without a name or a time in the header, so equal input gives equal bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def xz_bytes(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_XZ, preset=6)


@contextmanager
def publish_lock(repo: Path) -> Iterator[None]:
    """Hold the repository's lock: a second publish waits until the first one is done.

    An OS lock (flock, or msvcrt.locking on Windows) is released by the kernel when its holder
    dies, so an interrupted publish never leaves the repository locked.
    """
    repo.mkdir(parents=True, exist_ok=True)
    with (repo / LOCK_NAME).open("a+b") as handle:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after ten seconds: keep waiting
                    continue
            try:
                yield
            finally:
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
