"""data.tar in segments: cut from the entries, compressed in parallel, kept for later builds.

The sorted entries are cut into segments (``plan``): a new segment starts when the current
one holds ``compressor.segment_size`` bytes of tar, or when the entries' ``group`` changes
(another wheel) and the current one holds at least ``MIN_SEGMENT`` (or ``MIN_ANCHORED``
before an anchor group, so that cuts find their places again after a wheel changes size).
Each segment is laid out as tar records and compressed on its own (compress.py), on a pool
of threads, and the results are taken in order: reading, hashing and compressing of
different segments overlap on every CPU, as dpkg-deb's tar and multi-threaded compressor do.

A segment whose entries all name their content (Entry.digest) has a key: a digest of the
compressor, the mtime and every entry's path, kind, mode, size, link and digest, i.e. of
everything its compressed bytes depend on.  With a cache directory, such a segment is
stored under its key once made (payload, then its metadata: uncompressed size, check, the
md5 of each file, a CRC-32 of the payload) and taken from there by the next build that has
the same segment, instead of reading, hashing and compressing it again.  A stored segment
whose CRC-32 or length does not match is ignored and made again.  The cuts depend only on
the entries, so a build gives the same bytes with a cold or a warm cache.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import struct
import tarfile
import tempfile
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from pydebvenv.debfile import compress, tarstream
from pydebvenv.debfile.ar import copy_range
from pydebvenv.debfile.compress import Chunk, Compressor, compress_segment, worker_threads
from pydebvenv.debfile.entry import Entry
from pydebvenv.debfile.tarstream import OutputFailed, TarStream, md5
from pydebvenv.errors import ArchiveError, PydebvenvError

__all__ = ["MIN_SEGMENT", "Piece", "Segment", "SegmentCache", "member_key", "plan",
           "produce_all"]

#: a group change cuts a segment only past this many bytes, so small wheels share one
MIN_SEGMENT = 1 << 20
#: ... except before an anchor group, past this many: see _anchor
MIN_ANCHORED = 64 << 10
_MAGIC = b"pdvseg01"
_TAIL = struct.Struct("<QI8s")  # metadata length, CRC-32 of the payload, magic
_COPY = 1 << 20
_BLOCK = tarfile.BLOCKSIZE


@dataclass(frozen=True, slots=True)
class Segment:
    """Consecutive entries compressed together; ``first`` also holds the ``./`` directory."""

    entries: tuple[Entry, ...]
    first: bool
    key: str | None  # None: some content is unknown, the segment is never stored


class Spool:
    """Bytes kept in memory up to ``limit``, then in an anonymous temporary file.

    A made segment waits here until the writer takes it, in order: in memory when it is as
    small as segments usually are, so it is neither written to disk nor read back.  In
    memory it is the list of the chunks written (each copied once, never moved again).
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._file: BinaryIO | None = None

    def write(self, data: Chunk) -> int:
        if self._file is None and self._size + len(data) > self._limit:
            file = tempfile.TemporaryFile(prefix="pydebvenv-")  # noqa: SIM115 (see close)
            self._file = cast(BinaryIO, file)
            for chunk in self._chunks:
                self._file.write(chunk)
            self._chunks = []
        if self._file is not None:
            return self._file.write(data)
        self._chunks.append(bytes(data))
        self._size += len(data)
        return len(data)

    def tell(self) -> int:
        return self._file.tell() if self._file is not None else self._size

    def file(self) -> BinaryIO | None:
        """The file holding the bytes, or None while they are in memory."""
        return self._file

    def chunks(self) -> list[bytes]:
        """The bytes, while they are in memory."""
        return self._chunks

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._chunks = []


@dataclass(frozen=True, slots=True)
class Piece:
    """A made segment: its payload, ``length`` bytes at ``offset`` in ``source`` (a Spool,
    or an open file: a cache entry or the writer's data file), and what it holds."""

    source: Spool | BinaryIO
    offset: int
    length: int
    size: int  # uncompressed bytes of tar
    check: int  # compress.py's per-segment check (xz: unpadded size; gzip: CRC-32)
    md5s: tuple[str, ...]  # of the segment's regular files, in order
    cached: bool  # taken from the cache directory

    def chunks(self) -> Iterator[Chunk]:
        """The payload, in pieces of at most _COPY bytes (or as the Spool holds them)."""
        source = self.source
        file = source.file() if isinstance(source, Spool) else source
        if file is None:  # in memory: a Spool's own chunks, which make up all of it
            yield from cast(Spool, source).chunks()
            return
        file.seek(self.offset)
        left = self.length
        while left > 0:
            chunk = file.read(min(_COPY, left))
            if not chunk:
                raise ArchiveError("a made segment of data.tar is shorter than recorded")
            yield chunk
            left -= len(chunk)

    def copy_to(self, dst: BinaryIO) -> None:
        """Append the payload to ``dst``: in the kernel between files, else in chunks."""
        file = self.source.file() if isinstance(self.source, Spool) else self.source
        if file is not None:
            copy_range(file, self.offset, self.length, dst)
            return
        for chunk in self.chunks():
            dst.write(chunk)

    def close(self) -> None:
        self.source.close()


def _record_size(entry: Entry) -> int:
    """Bytes of tar the entry takes (GNU long name and link records included)."""
    size = _BLOCK
    name = len(entry.path.encode()) + 2 + (entry.kind == "dir")  # "./" and a dir's "/"
    if name > 100:
        size += _BLOCK + -(-(name + 1) // _BLOCK) * _BLOCK
    if entry.link and len(entry.link.encode()) > 100:
        size += _BLOCK + -(-(len(entry.link.encode()) + 1) // _BLOCK) * _BLOCK
    return size + -(-entry.size // _BLOCK) * _BLOCK if entry.kind == "file" else size


def plan(entries: Sequence[Entry], compressor: Compressor, mtime: int) -> list[Segment]:
    """The segments of data.tar for the sorted, normalised ``entries``."""
    cuts: list[list[Entry]] = []
    current: list[Entry] = []
    size, group = _BLOCK, ""  # the first segment starts with the "./" directory
    for entry in entries:
        change = bool(entry.group and group and entry.group != group)
        if current and (size >= compressor.segment_size or (change and (
                size >= MIN_SEGMENT or (size >= MIN_ANCHORED and _anchor(entry.group))))):
            cuts.append(current)
            current, size, group = [], 0, ""
        current.append(entry)
        size += _record_size(entry)
        group = entry.group or group
    if current or not cuts:
        cuts.append(current)
    return [Segment(tuple(c), i == 0, _key(c, i == 0, compressor, mtime))
            for i, c in enumerate(cuts)]


def _anchor(group: str) -> bool:
    """Whether a segment starts at this group (wheel) once it holds MIN_ANCHORED bytes:
    decided by the group's name alone, about one wheel in four.  The other cuts depend on
    how many bytes came before, so a wheel whose size changes (the application, edited)
    would move every later cut, and no later segment would be found in the cache; the
    anchors put the cuts back in the same places within a few wheels."""
    return hashlib.sha256(group.encode()).digest()[0] % 4 == 0


@functools.cache
def _engine(compressor: Compressor) -> str:
    """What else a segment's bytes depend on: the code that lays out and cuts the tar, and
    the compression library (its output for a fixed sample changes with its version), so a
    stored segment is never taken by a build that would make other bytes."""
    digest = hashlib.sha256()
    for module in (compress, tarstream):
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(Path(__file__).read_bytes())
    sample = bytes(range(256)) * 64 + hashlib.sha256(b"pydebvenv").digest() * 512
    digest.update(compress_segment(compressor, sample)[0])
    if not compressor.spliced:  # the whole member is stored too (zstd)
        whole = io.BytesIO()
        writer = compressor.open(whole)
        writer.write(sample)
        writer.close()
        digest.update(whole.getvalue())
    return digest.hexdigest()


def _key(entries: Sequence[Entry], first: bool, compressor: Compressor, mtime: int
         ) -> str | None:
    rows: list[object] = [_engine(compressor), compressor.name, mtime, first]
    for e in entries:
        if e.kind == "file" and e.digest is None:
            return None
        rows.append([e.path, e.kind, e.mode, e.size, e.link or "", e.digest or ""])
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def member_key(segments: Sequence[Segment]) -> str | None:
    """The key of a whole member made of ``segments`` (None if one of them has none)."""
    keys = [s.key for s in segments]
    if any(k is None for k in keys):
        return None
    return hashlib.sha256(json.dumps(["member", *keys]).encode()).hexdigest()


class SegmentCache:
    """Made segments kept under ``root`` by key, least recently used removed past ``limit``."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root = root
        self.limit = limit

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> Piece | None:
        """The stored segment, checked; None when absent or damaged (then removed)."""
        path = self._path(key)
        try:
            stream = path.open("rb")
        except OSError:
            return None
        try:
            end = stream.seek(0, os.SEEK_END)
            stream.seek(end - _TAIL.size)
            meta_len, crc, magic = _TAIL.unpack(stream.read(_TAIL.size))
            if magic != _MAGIC:
                raise ValueError("not a segment")
            stream.seek(end - _TAIL.size - meta_len)
            meta = json.loads(stream.read(meta_len))
            length = int(meta["length"])
            if length != end - _TAIL.size - meta_len or _crc(stream, length) != crc:
                raise ValueError("damaged")
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: pruned last
            return Piece(stream, 0, length, int(meta["size"]), int(meta["check"]),
                         tuple(meta["md5s"]), True)
        except (OSError, ValueError, KeyError, TypeError, struct.error):
            stream.close()
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def put(self, key: str, piece: Piece) -> None:
        """Store ``piece`` under ``key`` (atomically: a temporary name, then a rename)."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError:
            return  # only a speed-up: a read-only or full cache changes nothing built
        try:
            with os.fdopen(fd, "wb") as out:
                crc = 0
                for chunk in piece.chunks():
                    crc = zlib.crc32(chunk, crc)
                    out.write(chunk)
                meta = json.dumps({"length": piece.length, "size": piece.size,
                                   "check": piece.check, "md5s": piece.md5s}).encode()
                out.write(meta + _TAIL.pack(len(meta), crc, _MAGIC))
            os.replace(temp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)

    def prune(self) -> None:
        """Remove the least recently used segments until the cache holds at most ``limit``."""
        found: list[tuple[float, int, Path]] = []
        with contextlib.suppress(OSError):
            for sub in self.root.iterdir():
                for item in os.scandir(sub):
                    with contextlib.suppress(OSError):
                        st = item.stat()
                        found.append((st.st_mtime, st.st_size, Path(item.path)))
        total = sum(size for _, size, _ in found)
        for _, size, path in sorted(found):
            if total <= self.limit:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size


def _crc(stream: BinaryIO, length: int) -> int:
    stream.seek(0)
    crc = 0
    while length > 0:
        chunk = stream.read(min(_COPY * 8, length))
        if not chunk:
            raise ValueError("short")
        crc = zlib.crc32(chunk, crc)
        length -= len(chunk)
    return crc


def _make(segment: Segment, compressor: Compressor, mtime: int) -> Piece:
    """Lay the segment out as tar, hash its files, compress it into a Spool."""
    # In memory: a zstd segment's tar up to a little over a segment (it is read right back),
    # a compressed segment up to 4 MiB; what is larger waits on disk, so memory stays flat
    # beside xz's encoders (~94 MiB each).
    spool = Spool(compressor.segment_size + (1 << 20) if not compressor.spliced else 4 << 20)
    try:
        out = compressor.segment(cast(BinaryIO, spool))
        tar = TarStream(out, mtime)
        if segment.first:
            tar.header(".", "dir", 0o755)
        sums = []
        for entry in segment.entries:
            name = f"./{entry.path}"
            if entry.kind != "file":
                tar.header(name, entry.kind, entry.mode, link=entry.link)
                continue
            tar.header(name, "file", entry.mode, size=entry.size)
            sums.append(_add_file(tar, entry))
        tar.flush()
        check = out.finish()
        length = spool.tell()
    except OutputFailed as exc:
        spool.close()
        raise exc.error from None  # as if the compressor had raised it here
    except BaseException:
        spool.close()
        raise
    return Piece(spool, 0, length, tar.offset, check, tuple(s.hexdigest() for s in sums), False)


def _add_file(tar: TarStream, entry: Entry) -> Any:
    """Stream one file into the tar: opened once, read in chunks, exactly ``size`` bytes.

    Returns its md5 object, complete once the tar stream is flushed.
    """
    digest = md5()
    try:
        with entry.open() as stream:
            done = tar.content(stream, entry.size, digest)
            extra = stream.read(1) if done == entry.size else b""
    except PydebvenvError:
        raise
    except OSError as exc:
        raise ArchiveError(
            f"cannot read {entry.path!r} from {entry.source}: {exc}; check that the "
            "file exists, is readable and its size did not change"
        ) from exc
    if done != entry.size:
        raise ArchiveError(
            f"cannot read {entry.path!r} from {entry.source}: it has {done} bytes, fewer "
            f"than its declared size {entry.size}; check that its size did not change"
        )
    if extra:
        raise ArchiveError(
            f"{entry.path!r} from {entry.source} has more than its declared size "
            f"{entry.size}: the file changed while building, or the entry's size is wrong"
        )
    return digest


def _get_or_make(segment: Segment, compressor: Compressor, mtime: int,
                 cache: SegmentCache | None) -> Piece:
    if cache is not None and segment.key is not None:
        found = cache.get(segment.key)
        if found is not None:
            return found
    piece = _make(segment, compressor, mtime)
    if cache is not None and segment.key is not None:
        cache.put(segment.key, piece)
    return piece


def produce_all(segments: Sequence[Segment], compressor: Compressor, mtime: int,
                cache: SegmentCache | None = None) -> Iterator[Piece]:
    """Every segment's Piece, in order, made (or taken from ``cache``) on worker threads.

    A bounded number of segments is in flight, so memory does not grow with the payload.
    The caller closes each Piece's file once it has copied the payload.  An error raised
    while making a segment is raised here; the other segments are then abandoned.
    """
    threads = worker_threads()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pydebvenv-segment")
    pending: deque[Future[Piece]] = deque()
    todo = iter(segments)
    try:
        for segment in todo:
            pending.append(pool.submit(_get_or_make, segment, compressor, mtime, cache))
            if len(pending) > threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        for future in pending:  # made but never taken: close their spools
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().close()
