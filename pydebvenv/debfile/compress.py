"""The closed table of member compressors (zstd, xz, gzip, none), one segment at a time.

Levels follow dpkg-deb's defaults (``lib/dpkg/compress.c``): gzip 9, xz preset 6, zstd 3,
so a package built here is comparable with one built by ``dpkg-deb -Z<name>``.

Except for zstd, a compressed member is a *header*, then independently compressed *segments*
in order, then a *trailer* (docs/deb-format.md, "Compressed members in segments"):

* xz: one .xz stream whose blocks are the segments (xz file format 1.0.4 §3); the header
  is the stream header, the trailer the index of the blocks and the stream footer;
* gzip: one gzip member (RFC 1952) whose deflate data (RFC 1951) is the segments, each
  ended by a sync flush (an empty stored block, so the next one starts byte-aligned with a
  fresh compressor); the trailer is an empty final block, the CRC-32 of the whole data
  (combined from the segments' CRCs) and its size;
* none: the bytes as they are.

Segments never refer to each other, so they can be compressed in parallel and kept for a
later build, and the bytes depend only on where the segments are cut, never on how many
threads compressed them.

zstd cannot be cut so: RFC 8878 allows a stream of several frames, but dpkg (1.21 and 1.22)
stops reading data.tar.zst at the end of the first frame, and the blocks of one frame share
state (repeat offsets).  A zstd member is one frame made by libzstd's multi-threaded mode,
whose output is the same for any number of worker threads (``nbWorkers >= 1``); its
segments are kept uncompressed.  No header carries a name, a time or the host's OS.
"""

from __future__ import annotations

import lzma
import os
import struct
import zlib
from collections import deque
from collections.abc import Callable, Sequence
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
    "SegmentWriter",
    "crc32_combine",
    "get_compressor",
    "worker_threads",
]

GZIP_LEVEL = 9  # dpkg-deb: gzip -9 (compress.c, "default_level = 9")
XZ_PRESET = 6  # dpkg-deb: xz -6 (liblzma's LZMA_PRESET_DEFAULT)
ZSTD_LEVEL = 3  # dpkg-deb: ZSTD_CLEVEL_DEFAULT

#: Uncompressed bytes per segment: xz blocks of 3 x the preset-6 dictionary, the block size
#: `xz -T` and dpkg-deb's multi-threaded liblzma encoder use; 8 MiB for the others, enough
#: for zstd and deflate to reach their usual ratio and small enough to spread over threads.
XZ_SEGMENT = 3 * (8 << 20)
SEGMENT = 8 << 20

#: What a writer accepts: any contiguous bytes (views of a buffer that is reused after
#: write() returns).
Chunk = bytes | bytearray | memoryview


class SegmentWriter(Protocol):
    """Compresses one segment into a binary file; ``finish`` returns the segment's check."""

    def write(self, data: Chunk, /) -> None: ...

    def finish(self) -> int: ...


class CompressedWriter(Protocol):
    """A whole compressed member as a file-like sink (control.tar, benchmarks)."""

    def write(self, data: Chunk, /) -> int: ...

    def close(self) -> None: ...


# --- zstd ---------------------------------------------------------------------------------

class _Zstd:
    """The whole member as one frame, compressed by libzstd's own worker threads."""

    def __init__(self, raw: BinaryIO, *, threads: int | None = None) -> None:
        cctx = zstandard.ZstdCompressor(
            level=ZSTD_LEVEL,
            threads=threads if threads is not None else worker_threads(),
            write_checksum=True,
            write_content_size=False,
        )
        self._w = cctx.stream_writer(raw, closefd=False, write_size=1 << 20)
        self._raw = raw

    def write(self, data: Chunk, /) -> int:
        self._w.write(data)
        return len(data)

    def close(self) -> None:
        # FLUSH_FRAME ends the frame; close() would do the same and nothing more with
        # closefd=False.
        self._w.flush(zstandard.FLUSH_FRAME)
        self._raw.flush()


def _no_trailer(_segments: Sequence[tuple[int, int]]) -> bytes:
    return b""


# --- xz -----------------------------------------------------------------------------------

_XZ_FLAGS = b"\x00" + bytes([lzma.CHECK_CRC64])
_XZ_HEADER = b"\xfd7zXZ\x00" + _XZ_FLAGS + struct.pack("<I", zlib.crc32(_XZ_FLAGS))


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


class _XzSegment:
    """One xz block: liblzma writes a one-block stream, its stream header, index and footer
    are cut off (xz file format §2.1, §4, §2.1.2) and the block's unpadded size returned."""

    def __init__(self, out: BinaryIO) -> None:
        self._lzma = lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                         preset=XZ_PRESET)
        self._out = out
        self._skip = len(_XZ_HEADER)

    def _emit(self, data: bytes) -> None:
        if self._skip:
            cut = min(self._skip, len(data))
            data = data[cut:]
            self._skip -= cut
        if data:
            self._out.write(data)

    def write(self, data: Chunk, /) -> None:
        self._emit(self._lzma.compress(data))

    def finish(self) -> int:
        tail = self._lzma.flush()  # the index and the footer are only written now
        backward = (struct.unpack("<I", tail[-8:-4])[0] + 1) * 4
        index = tail[-12 - backward:-12]
        self._emit(tail[:-12 - backward])
        count, pos = _read_varint(index, 1)
        if count != 1:
            raise ArchiveError(f"liblzma wrote {count} blocks for one segment; give it data")
        return _read_varint(index, pos)[0]  # the unpadded size (the index record's first field)


def _xz_trailer(segments: Sequence[tuple[int, int]]) -> bytes:
    """The index (a record per block: unpadded size, uncompressed size) and the footer."""
    index = bytearray(b"\x00" + _varint(len(segments)))
    for size, unpadded in segments:
        index += _varint(unpadded) + _varint(size)
    index += b"\x00" * (-len(index) % 4)
    index += struct.pack("<I", zlib.crc32(index))
    backward = struct.pack("<I", len(index) // 4 - 1)
    return bytes(index) + struct.pack("<I", zlib.crc32(backward + _XZ_FLAGS)) + backward + \
        _XZ_FLAGS + b"YZ"


# --- gzip ---------------------------------------------------------------------------------

# RFC 1952: ID1 ID2, CM=8 (deflate), FLG=0 (no name, comment or extra), MTIME=0 (none),
# XFL=2 (slowest, best compression), OS=255 (unknown): the same header wherever it is built.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
# an empty final block with fixed Huffman codes: BFINAL=1, BTYPE=01, end-of-block (RFC 1951)
_DEFLATE_END = b"\x03\x00"


class _GzipSegment:
    def __init__(self, out: BinaryIO) -> None:
        # raw deflate (negative wbits): the header and trailer are the member's, written once
        self._zlib = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, 8)
        self._crc = 0
        self._out = out

    def write(self, data: Chunk, /) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._out.write(self._zlib.compress(data))

    def finish(self) -> int:
        self._out.write(self._zlib.flush(zlib.Z_SYNC_FLUSH))
        return self._crc


def _gzip_trailer(segments: Sequence[tuple[int, int]]) -> bytes:
    crc = total = 0
    for size, segment_crc in segments:
        crc = crc32_combine(crc, segment_crc, size)
        total += size
    return _DEFLATE_END + struct.pack("<II", crc, total & 0xFFFFFFFF)


# CRC-32 of a concatenation from the CRCs of its parts (zlib's crc32_combine, which Python's
# zlib module does not expose): appending len2 bytes multiplies the first CRC by x^(8 len2)
# modulo the CRC polynomial, in the reflected bit order zlib uses.
_POLY = 0xEDB88320


def _multmodp(a: int, b: int) -> int:
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _x2n_table() -> list[int]:
    table, p = [], 1 << 30  # x^1
    for _ in range(32):
        table.append(p)
        p = _multmodp(p, p)
    return table


_X2N = _x2n_table()  # x^(2^n) modulo the polynomial


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from crc32(A), crc32(B) and len(B)."""
    p, k, n = 1 << 31, 3, len2  # x^(8 len2) = x^(len2 * 2^3)
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return _multmodp(p, crc1) ^ crc2


# --- none ---------------------------------------------------------------------------------


class _Plain:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, data: Chunk, /) -> None:
        self._out.write(data)

    def finish(self) -> int:
        return 0


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compressor:
    """One row of the table: the name users give, the ar member suffix, how segments are made
    (``segment``), how big they are, and the member's ``header`` and ``trailer`` (which takes
    each segment's uncompressed size and check, in order).

    ``spliced``: the member is the header, the compressed segments and the trailer.  When
    False (zstd), segments are kept uncompressed and the member is ``open()``'s one stream.
    """

    name: str
    suffix: str  # appended to "control.tar" / "data.tar"
    segment: Callable[[BinaryIO], SegmentWriter]
    segment_size: int
    header: bytes
    trailer: Callable[[Sequence[tuple[int, int]]], bytes]
    spliced: bool = True

    def open(self, raw: BinaryIO) -> CompressedWriter:
        """A writer for a whole member: for zstd one multi-threaded frame, else segments of
        ``segment_size`` compressed on worker_threads() threads."""
        return _Stream(self, raw) if self.spliced else _Zstd(raw)


COMPRESSIONS: dict[str, Compressor] = {
    "zstd": Compressor("zstd", ".zst", _Plain, SEGMENT, b"", _no_trailer, spliced=False),
    "xz": Compressor("xz", ".xz", _XzSegment, XZ_SEGMENT, _XZ_HEADER, _xz_trailer),
    "gzip": Compressor("gzip", ".gz", _GzipSegment, SEGMENT, _GZIP_HEADER, _gzip_trailer),
    "none": Compressor("none", "", _Plain, SEGMENT, b"", _no_trailer),
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


def worker_threads() -> int:
    """Threads that compress segments: the CPUs, at most 4.

    The count only changes speed, never bytes.  Capped at 4: each xz worker holds a
    preset-6 encoder (~94 MiB), as each thread of dpkg-deb's xz encoder does.
    """
    return max(1, min(os.cpu_count() or 1, 4))


def compress_segment(compressor: Compressor, data: Chunk) -> tuple[bytes, int]:
    """One segment in memory: (its compressed bytes, its check)."""
    sink = _Bytes()
    writer = compressor.segment(sink)  # type: ignore[arg-type]
    writer.write(data)
    check = writer.finish()
    return bytes(sink.data), check


class _Bytes:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: Chunk) -> int:
        self.data += data
        return len(data)


class _Stream:
    """A member written in fixed-size segments, compressed by a pool of threads in order."""

    def __init__(self, compressor: Compressor, raw: BinaryIO) -> None:
        self._c = compressor
        self._raw = raw
        self._buf = bytearray()
        self._threads = worker_threads()
        self._pool = ThreadPoolExecutor(max_workers=self._threads)
        self._pending: deque[tuple[int, Future[tuple[bytes, int]]]] = deque()
        self._done: list[tuple[int, int]] = []
        raw.write(compressor.header)

    def _submit(self, data: bytes) -> None:
        self._pending.append((len(data), self._pool.submit(compress_segment, self._c, data)))
        while len(self._pending) > self._threads:  # bounded: memory stays flat
            self._emit()

    def _emit(self) -> None:
        size, future = self._pending.popleft()
        data, check = future.result()
        self._raw.write(data)
        self._done.append((size, check))

    def write(self, data: Chunk, /) -> int:
        self._buf += data
        size = self._c.segment_size
        while len(self._buf) >= size:
            with memoryview(self._buf) as view:
                segment = bytes(view[:size])
            del self._buf[:size]
            self._submit(segment)
        return len(data)

    def abort(self) -> None:
        """Stop the workers without finishing the member (it is being discarded)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def close(self) -> None:
        try:
            if self._buf:
                self._submit(bytes(self._buf))
                self._buf.clear()
            while self._pending:
                self._emit()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._raw.write(self._c.trailer(self._done))
        self._raw.flush()
