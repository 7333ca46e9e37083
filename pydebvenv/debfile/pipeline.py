"""The thread pipeline behind the archive writer: read, hash and compress overlap.

A fixed set of buffers circulates from the reading thread (the tar stream) to a hashing
thread (the md5sums of data.tar's files) to a compressing thread, as dpkg-deb's tar and
compressor processes overlap; hashlib, zlib, lzma and zstd release the GIL while they
work.  Memory stays flat whatever the payload.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from pydebvenv.debfile.compress import CompressedWriter

__all__ = ["CHUNK", "CompressorFailed", "Pipeline", "Segment"]

CHUNK = 1 << 20  # bytes handed to the compressor at once
_BUFFERS = 4  # buffers in flight between reading and compressing: memory is 4 x CHUNK


class CompressorFailed(Exception):
    """A pipeline thread's error (hashing, compressing), carried through the reading code.

    Not an OSError, so a full disk is not reported as a file that cannot be read.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


#: (md5 object, start, end): bytes of one file held in a buffer, to be hashed
Segment = tuple[Any, int, int]


class Pipeline:
    """Buffers go from the reading thread to a hashing thread, then to a compressing thread.

    Reading the next files, hashing and compressing the previous ones overlap, as
    dpkg-deb's tar and compressor processes do; hashlib, zlib, lzma and zstd release the
    GIL while they work.  A fixed set of buffers circulates: memory stays flat.  Each
    stage takes buffers in order, so every md5 sees its file's bytes in order.
    """

    def __init__(self, out: CompressedWriter) -> None:
        self._out = out
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(_BUFFERS):
            self._free.put(bytearray(CHUNK))
        self._to_hash: queue.SimpleQueue[tuple[bytearray, int, list[Segment]] | None] = (
            queue.SimpleQueue())
        self._to_compress: queue.SimpleQueue[tuple[bytearray, int] | None] = (
            queue.SimpleQueue())
        self._error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._hash, name="pydebvenv-md5", daemon=True),
            threading.Thread(target=self._compress, name="pydebvenv-compress", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _hash(self) -> None:
        while (item := self._to_hash.get()) is not None:
            buf, length, segments = item
            if self._error is None:
                try:
                    with memoryview(buf) as view:
                        for md5, begin, end in segments:
                            md5.update(view[begin:end])
                except BaseException as exc:  # re-raised in the producing thread
                    self._error = exc
            self._to_compress.put((buf, length))  # passed on even so: see _compress
        self._to_compress.put(None)

    def _compress(self) -> None:
        while (item := self._to_compress.get()) is not None:
            buf, length = item
            if self._error is None:
                try:
                    with memoryview(buf) as view:
                        self._out.write(view[:length])
                except BaseException as exc:  # re-raised in the producing thread
                    self._error = exc
            self._free.put(buf)  # always given back, so the producer never waits forever

    def take(self) -> bytearray:
        """An empty buffer; raises CompressorFailed if a pipeline thread failed."""
        buf = self._free.get()
        if self._error is not None:
            raise CompressorFailed(self._error)
        return buf

    def give(self, buf: bytearray, length: int, segments: list[Segment]) -> None:
        self._to_hash.put((buf, length, segments))

    def finish(self) -> None:
        """Wait until every buffer given is hashed and compressed; raise the compressor's error."""
        self._to_hash.put(None)
        for thread in self._threads:
            thread.join()
        if self._error is not None:
            raise CompressorFailed(self._error)
