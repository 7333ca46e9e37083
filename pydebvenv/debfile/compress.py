"""The closed table of member compressors (zstd, xz, gzip, none) as streaming writers.

Levels follow dpkg-deb's defaults (``lib/dpkg/compress.c``): gzip 9, xz preset 6, zstd 3,
so a package built here is comparable with one built by ``dpkg-deb -Z<name>``.  Every
writer is reproducible: no names, no times, and zstd output does not depend on the
number of worker threads (zstd's multi-threaded mode is deterministic for any
``nbWorkers >= 1``; the writer always uses that mode, see test_compress).
"""

from __future__ import annotations

import gzip
import lzma
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import zstandard

from pydebvenv.errors import ArchiveError

__all__ = [
    "COMPRESSIONS",
    "CompressedWriter",
    "Compressor",
    "get_compressor",
]

GZIP_LEVEL = 9  # dpkg-deb: gzip -9 (compress.c, "default_level = 9")
XZ_PRESET = 6  # dpkg-deb: xz -6 (liblzma's LZMA_PRESET_DEFAULT)
ZSTD_LEVEL = 3  # dpkg-deb: ZSTD_CLEVEL_DEFAULT

# Bytes handed to the compressor at once: big enough that zstd's worker threads get
# whole jobs, small enough that memory stays flat whatever the payload size.
_CHUNK = 1 << 20


class CompressedWriter(Protocol):
    """What the writer needs from a compressor: a file-like sink it can close."""

    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


class _Passthrough:
    """compression "none": bytes go straight to the file."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def write(self, data: bytes, /) -> int:
        return self._raw.write(data)

    def close(self) -> None:
        self._raw.flush()


class _Gzip:
    def __init__(self, raw: BinaryIO) -> None:
        # filename="" and mtime=0: the gzip header must not carry the temp file's name
        # or the clock (reproducible-builds; RFC 1952 FNAME/MTIME).
        self._gz = gzip.GzipFile(
            filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=raw, mtime=0
        )
        self._raw = raw

    def write(self, data: bytes, /) -> int:
        return self._gz.write(data)

    def close(self) -> None:
        self._gz.close()  # writes the trailer; does not close ``raw``
        self._raw.flush()


class _Xz:
    def __init__(self, raw: BinaryIO) -> None:
        self._lz = lzma.LZMACompressor(
            format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=XZ_PRESET
        )
        self._raw = raw

    def write(self, data: bytes, /) -> int:
        self._raw.write(self._lz.compress(data))
        return len(data)

    def close(self) -> None:
        self._raw.write(self._lz.flush())
        self._raw.flush()


def _zstd_threads() -> int:
    # The thread count only changes speed, never bytes (see the module docstring).
    return max(1, min(os.cpu_count() or 1, 8))


class _Zstd:
    def __init__(self, raw: BinaryIO, *, level: int = ZSTD_LEVEL, threads: int | None = None
                 ) -> None:
        cctx = zstandard.ZstdCompressor(
            level=level,
            threads=threads if threads is not None else _zstd_threads(),
            write_checksum=True,
            write_content_size=False,
        )
        self._w = cctx.stream_writer(raw, closefd=False, write_size=_CHUNK)
        self._raw = raw

    def write(self, data: bytes, /) -> int:
        self._w.write(data)
        return len(data)

    def close(self) -> None:
        # FLUSH_FRAME ends the frame; close() would do the same and nothing more with
        # closefd=False.
        self._w.flush(zstandard.FLUSH_FRAME)
        self._raw.flush()


@dataclass(frozen=True, slots=True)
class Compressor:
    """One row of the table: the name users give, the ar member suffix, the writer."""

    name: str
    suffix: str  # appended to "control.tar" / "data.tar"
    open: Callable[[BinaryIO], CompressedWriter]


COMPRESSIONS: dict[str, Compressor] = {
    "zstd": Compressor("zstd", ".zst", _Zstd),
    "xz": Compressor("xz", ".xz", _Xz),
    "gzip": Compressor("gzip", ".gz", _Gzip),
    "none": Compressor("none", "", _Passthrough),
}


def get_compressor(name: str) -> Compressor:
    """The table row for ``name``; anything else is an ArchiveError listing the accepted names."""
    try:
        return COMPRESSIONS[name]
    except (KeyError, TypeError):
        accepted = ", ".join(COMPRESSIONS)
        raise ArchiveError(
            f"unknown compression {name!r}: use one of {accepted}"
        ) from None
