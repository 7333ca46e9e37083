"""The closed table of member compressors (zstd, xz, gzip, none) as streaming writers.

Levels follow dpkg-deb's defaults (``lib/dpkg/compress.c``): gzip 9, xz preset 6, zstd 3,
so a package built here is comparable with one built by ``dpkg-deb -Z<name>``.  Every
writer is reproducible: no names, no times, and neither zstd nor xz output depends on the
number of worker threads (zstd's multi-threaded mode is deterministic for any
``nbWorkers >= 1`` and is always used; xz blocks have a fixed size).
"""

from __future__ import annotations

import gzip
import lzma
import os
import struct
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import zstandard

from pydebvenv.errors import ArchiveError

__all__ = [
    "COMPRESSIONS",
    "Chunk",
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


#: What a writer accepts: any contiguous bytes (the tar writer passes views of its buffers,
#: which must not be kept after write() returns).
Chunk = bytes | bytearray | memoryview


class CompressedWriter(Protocol):
    """What the writer needs from a compressor: a file-like sink it can close."""

    def write(self, data: Chunk, /) -> int: ...

    def close(self) -> None: ...


class _Passthrough:
    """compression "none": bytes go straight to the file."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def write(self, data: Chunk, /) -> int:
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

    def write(self, data: Chunk, /) -> int:
        return self._gz.write(data)

    def close(self) -> None:
        self._gz.close()  # writes the trailer; does not close ``raw``
        self._raw.flush()


# xz is written as one stream of independent 24 MiB blocks (3 x the preset-6 dictionary,
# what `xz -T` and dpkg-deb's multi-threaded liblzma encoder use), compressed in parallel
# by worker threads (lzma releases the GIL).  Python's lzma has no multi-threaded encoder,
# so each block is compressed as a one-block stream and re-framed: block bytes kept as they
# are, index and footer rebuilt (xz file format 1.0.4, sections 2 and 4).  Block boundaries
# never depend on the thread count, so the bytes do not either.
XZ_BLOCK_SIZE = 24 << 20
_XZ_FLAGS = b"\x00" + bytes([lzma.CHECK_CRC64])


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _xz_block(data: bytes) -> tuple[bytes, int, int]:
    """One block of an xz stream: (block bytes with padding and check, unpadded size, size)."""
    stream = lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                           preset=XZ_PRESET)
    backward = (struct.unpack("<I", stream[-8:-4])[0] + 1) * 4
    index = stream[-12 - backward:-12]
    count, pos = _read_varint(index, 1)
    if count != 1:
        raise AssertionError(f"liblzma wrote {count} blocks for one buffer")
    unpadded, pos = _read_varint(index, pos)
    size, _ = _read_varint(index, pos)
    return stream[12:-12 - backward], unpadded, size


def _crc(data: bytes) -> bytes:
    return struct.pack("<I", zlib.crc32(data))


class _Xz:
    def __init__(self, raw: BinaryIO, *, threads: int | None = None) -> None:
        self._raw = raw
        self._buf = bytearray()
        self._threads = threads if threads is not None else _cpu_threads()
        self._pool = ThreadPoolExecutor(max_workers=self._threads)
        self._pending: deque[Future[tuple[bytes, int, int]]] = deque()
        self._records: list[tuple[int, int]] = []

    def _submit(self, data: bytes) -> None:
        self._pending.append(self._pool.submit(_xz_block, data))
        # at most one finished block waits per worker: memory stays bounded
        while len(self._pending) > self._threads:
            self._emit(self._pending.popleft())

    def _emit(self, future: Future[tuple[bytes, int, int]]) -> None:
        block, unpadded, size = future.result()
        if not self._records:
            self._raw.write(b"\xfd7zXZ\x00" + _XZ_FLAGS + _crc(_XZ_FLAGS))
        self._raw.write(block)
        self._records.append((unpadded, size))

    def write(self, data: Chunk, /) -> int:
        self._buf += data
        while len(self._buf) >= XZ_BLOCK_SIZE:
            # through a view: one copy of the block, not two (slice, then bytes)
            with memoryview(self._buf) as view:
                block = bytes(view[:XZ_BLOCK_SIZE])
            del self._buf[:XZ_BLOCK_SIZE]
            self._submit(block)
        return len(data)

    def abort(self) -> None:
        """Stop the workers without finishing the stream (the output is being discarded)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def close(self) -> None:
        try:
            if self._buf:
                self._submit(bytes(self._buf))
                self._buf.clear()
            while self._pending:
                self._emit(self._pending.popleft())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if not self._records:
            # no data at all: the stream has no block (what liblzma writes for b"")
            self._raw.write(lzma.compress(b"", format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                          preset=XZ_PRESET))
            self._raw.flush()
            return
        index = bytearray(b"\x00" + _varint(len(self._records)))
        for unpadded, size in self._records:
            index += _varint(unpadded) + _varint(size)
        index += b"\x00" * (-len(index) % 4)
        index += _crc(bytes(index))
        backward = struct.pack("<I", len(index) // 4 - 1)
        self._raw.write(bytes(index) + _crc(backward + _XZ_FLAGS) + backward + _XZ_FLAGS + b"YZ")
        self._raw.flush()


def _cpu_threads() -> int:
    # The thread count only changes speed, never bytes (see the module docstring).  Capped
    # at 4: each xz worker holds a preset-6 encoder (~94 MiB) and a 24 MiB block.
    return max(1, min(os.cpu_count() or 1, 4))


class _Zstd:
    def __init__(self, raw: BinaryIO, *, level: int = ZSTD_LEVEL, threads: int | None = None
                 ) -> None:
        cctx = zstandard.ZstdCompressor(
            level=level,
            threads=threads if threads is not None else _cpu_threads(),
            write_checksum=True,
            write_content_size=False,
        )
        self._w = cctx.stream_writer(raw, closefd=False, write_size=_CHUNK)
        self._raw = raw

    def write(self, data: Chunk, /) -> int:
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
