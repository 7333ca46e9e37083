"""Bounded decompression of one ar member: the per-format decompressors and the bomb limits.

Each tar member of a .deb is decompressed chunk by chunk, never whole, and the output is
counted: past its limit the stream raises :class:`~pydebvenv.errors.InspectError` (a
decompression bomb).  The compressions are those dpkg accepts (deb(5); dpkg
src/deb/extract.c).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Callable
from typing import BinaryIO, Literal, Protocol, cast

import zstandard

from pydebvenv.debfile.ar import ArMember, MemberReader
from pydebvenv.errors import InspectError

__all__ = [
    "CHUNK",
    "CONTROL_MAX_SIZE",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_SIZE",
    "RATIO_FLOOR",
    "BoundedStream",
    "Compression",
    "Reader",
    "drain",
    "member_limit",
    "open_member",
]

#: A tar member may decompress to at most ``max_ratio`` times its compressed size (a venv's
#: data.tar compresses ~5:1; deflate cannot pass ~1032:1, so 200 also stops gzip bombs early) ...
DEFAULT_MAX_RATIO = 200
#: ... and never to more than ``max_size`` bytes (16 GiB; an ar member is at most ~9.3 GiB).
DEFAULT_MAX_SIZE = 16 * 2**30
#: The ratio limit is never below this: an empty tar (10 KiB of zeros) compresses ~500:1.
RATIO_FLOOR = 64 * 2**20
#: control.tar is small (md5sums of 500k files is ~50 MiB); its known files are held in memory.
CONTROL_MAX_SIZE = 64 * 2**20
#: How much is read at a time when a whole stream is consumed.
CHUNK = 1 << 16

Compression = Literal["none", "gzip", "xz", "zstd", "bzip2", "lzma"]

_ZSTD_INPUT = 512  # a zstd RLE block turns 4 bytes into 128 KiB: 512 bytes in -> <= 16 MiB out


class Reader(Protocol):
    """Anything with ``read(size)``: a member, a decompressor, a bounded stream."""

    def read(self, size: int = -1, /) -> bytes: ...


class _ZstdReader:
    """A zstd stream read with bounded output that, unlike ``stream_reader``, notices truncation."""

    def __init__(self, raw: Reader) -> None:
        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._input = b""
        self._in_frame = False
        self._out = b""
        self._pos = 0
        self._done = False

    def read(self, size: int = -1, /) -> bytes:
        while self._pos >= len(self._out) and not self._done:
            self._fill()
        end = len(self._out) if size < 0 else self._pos + size
        data = self._out[self._pos:end]  # slice, never re-copy the (up to 16 MiB) remainder
        self._pos += len(data)
        return data

    def _fill(self) -> None:
        if not self._input:
            self._input = self._raw.read(_ZSTD_INPUT)
            if not self._input:
                if self._in_frame:
                    raise EOFError("zstd stream ends inside a frame (truncated)")
                self._done = True
                return
        piece, self._input = self._input[:_ZSTD_INPUT], self._input[_ZSTD_INPUT:]
        self._in_frame = True
        self._out = self._obj.decompress(piece)
        self._pos = 0
        if self._obj.eof:  # concatenated frames are allowed, like libzstd's streaming API
            self._input = self._obj.unused_data + self._input
            self._obj = self._dctx.decompressobj()
            self._in_frame = False


class BoundedStream:
    """Counts decompressed bytes and stops a decompression bomb once ``limit`` is passed."""

    def __init__(self, inner: Reader, limit: int, describe: Callable[[], str]) -> None:
        self._inner = inner
        self._limit = limit
        self._describe = describe
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` decompressed bytes (everything left if negative)."""
        if size < 0:
            chunks = []
            while chunk := self.read(CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        data = self._inner.read(size)
        self.count += len(data)
        if self.count > self._limit:
            raise InspectError(self._describe())
        return data


def member_limit(member: ArMember, max_ratio: int, max_size: int) -> int:
    """How many bytes ``member`` may decompress to: the ratio limit, floored, capped."""
    return min(max_size, max(max_ratio * member.size, RATIO_FLOOR))


def open_member(fp: BinaryIO, member: ArMember, kind: str, compression: Compression,
                limit: int) -> BoundedStream:
    """The decompressed bytes of ``member`` (``kind`` is control.tar or data.tar), bounded."""
    raw = MemberReader(fp, member)
    inner: Reader
    if compression == "none":
        inner = raw
    elif compression == "gzip":
        inner = gzip.GzipFile(fileobj=cast(BinaryIO, raw), mode="rb")
    elif compression in ("xz", "lzma"):
        fmt = lzma.FORMAT_XZ if compression == "xz" else lzma.FORMAT_ALONE
        inner = lzma.LZMAFile(cast(BinaryIO, raw), format=fmt)  # noqa: SIM115 (no fd owned)
    elif compression == "bzip2":
        inner = bz2.BZ2File(cast(BinaryIO, raw))
    else:
        inner = _ZstdReader(raw)

    def describe() -> str:
        return (f"{member.name!r} decompresses to more than {limit} bytes from {member.size} "
                f"compressed bytes (a decompression bomb?); if the package is genuine, pass a "
                f"larger max_ratio or max_size (the {kind} limit is min(max_size, "
                f"max(max_ratio * compressed size, {RATIO_FLOOR}))"
                + (f", and at most {CONTROL_MAX_SIZE} for control.tar)" if kind == "control.tar"
                   else ")"))

    return BoundedStream(inner, limit, describe)


def drain(stream: BoundedStream) -> None:
    """Decompress to the end so trailing checksums (xz CRC, gzip CRC32) are verified."""
    while stream.read(CHUNK):
        pass
