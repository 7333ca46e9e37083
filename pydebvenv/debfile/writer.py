"""write_deb(): entries + control -> a .deb file, streamed, reproducible and written atomically.

The container is what dpkg-deb writes (deb(5), reference §1): an ar archive holding
``debian-binary``, ``control.tar.<c>`` and ``data.tar.<c>``.  data.tar is streamed into a
temporary file next to the output while md5sums are computed, because md5sums go in
control.tar, which precedes data.tar in the ar archive; then the ar archive is assembled
under a temporary name and renamed.  Memory use does not depend on the payload size.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from pydebvenv.debfile.ar import AR_MAGIC, ar_header, ar_padding
from pydebvenv.debfile.compress import CompressedWriter, Compressor, get_compressor
from pydebvenv.debfile.control import (
    Control,
    MaintainerScripts,
    deb_filename,
    installed_size,
    render_conffiles,
    render_control,
    render_md5sums,
)
from pydebvenv.debfile.entries import normalise
from pydebvenv.debfile.entry import Entry
from pydebvenv.errors import ArchiveError, PydebvenvError

__all__ = ["DEFAULT_EPOCH", "resolve_epoch", "write_deb"]

#: mtime used when neither the argument nor SOURCE_DATE_EPOCH is set: 1980-01-01T00:00:00Z,
#: the ZIP epoch.  Never the clock; and not 0, since lintian rejects files older than 1975
#: (package-contains-ancient-file, reference §2.5).
DEFAULT_EPOCH = 315532800

_CHUNK = 1 << 20  # bytes handed to the compressor at once
_BUFFERS = 4  # buffers in flight between reading and compressing: memory is 4 x _CHUNK
_ZEROS = bytes(tarfile.RECORDSIZE)
_NAME_FIELD = 100  # name and linkname fields of a tar header; longer needs @LongLink
_MAX_SIZE_FIELD = 8 ** 11  # 11 octal digits; larger sizes are base-256 (GNU)
_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}
_SCRIPTS = ("preinst", "postinst", "prerm", "postrm")
_NO_SCRIPTS = MaintainerScripts()


def resolve_epoch(source_date_epoch: int | None) -> int:
    """The mtime for every member: the argument, else $SOURCE_DATE_EPOCH, else DEFAULT_EPOCH."""
    if source_date_epoch is None:
        env = os.environ.get("SOURCE_DATE_EPOCH")
        if env is None or env == "":
            return DEFAULT_EPOCH
        if not env.isdigit():
            # reproducible-builds.org/specs/source-date-epoch: a malformed value is an error.
            raise ArchiveError(
                f"invalid SOURCE_DATE_EPOCH {env!r}: set it to a whole number of seconds "
                "since 1970 or unset it"
            )
        source_date_epoch = int(env)
    if (isinstance(source_date_epoch, bool) or not isinstance(source_date_epoch, int)
            or not 0 <= source_date_epoch <= 99_999_999_999):
        raise ArchiveError(
            f"invalid source_date_epoch {source_date_epoch!r}: give a whole number of seconds "
            "since 1970"
        )
    return source_date_epoch


class _CompressorFailed(Exception):
    """A pipeline thread's error (hashing, compressing), carried through the reading code.

    Not an OSError, so a full disk is not reported as a file that cannot be read.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


#: (md5 object, start, end): bytes of one file held in a buffer, to be hashed
_Segment = tuple[Any, int, int]


class _Pipeline:
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
            self._free.put(bytearray(_CHUNK))
        self._to_hash: queue.SimpleQueue[tuple[bytearray, int, list[_Segment]] | None] = (
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
        """An empty buffer; raises _CompressorFailed if a pipeline thread failed."""
        buf = self._free.get()
        if self._error is not None:
            raise _CompressorFailed(self._error)
        return buf

    def give(self, buf: bytearray, length: int, segments: list[_Segment]) -> None:
        self._to_hash.put((buf, length, segments))

    def finish(self) -> None:
        """Wait until every buffer given is hashed and compressed; raise the compressor's error."""
        self._to_hash.put(None)
        for thread in self._threads:
            thread.join()
        if self._error is not None:
            raise _CompressorFailed(self._error)


class _TarStream:
    """Writes tar records (header, content, padding) into the pipeline's buffers.

    tarfile's addfile costs far more per member than the header it writes (a TarInfo copy,
    tiny reads and writes), so members are laid out here.  Every header is tarfile's
    encoding of an explicit TarInfo: TarInfo.tobuf's bytes, or a tobuf header of the same
    kind and mode with the name, size, link and checksum fields rewritten (the tests check
    both give the same bytes).  File content is read with readinto straight into the
    buffer that goes to the hasher and the compressor: no copies, no allocation.
    """

    def __init__(self, pipe: _Pipeline, mtime: int) -> None:
        self._pipe = pipe
        self._buf = pipe.take()
        self._view = memoryview(self._buf)
        self._pos = 0
        self._segments: list[_Segment] = []  # what to hash in the current buffer
        self._offset = 0  # bytes of tar written so far
        self._info = tarfile.TarInfo()
        self._info.mtime = mtime
        self._info.uid = self._info.gid = 0
        self._info.uname = self._info.gname = "root"
        self._templates: dict[tuple[str, int], bytes] = {}
        self._long_template: bytes | None = None

    def _flush(self) -> None:
        self._view.release()
        self._pipe.give(self._buf, self._pos, self._segments)
        self._segments = []
        self._buf = self._pipe.take()
        self._view = memoryview(self._buf)
        self._pos = 0

    def write(self, data: bytes | bytearray) -> None:
        done = 0
        while done < len(data):
            if self._pos == _CHUNK:
                self._flush()
            n = min(_CHUNK - self._pos, len(data) - done)
            self._view[self._pos:self._pos + n] = data[done:done + n]
            self._pos += n
            done += n
        self._offset += len(data)

    def header(self, name: str, kind: str, mode: int, size: int = 0,
               link: str | None = None) -> None:
        # Built field by field, never from the host (TarFile.add/gettarinfo would leak host
        # modes, ids and float mtimes; reference §2.2).  GNU format: long names and targets
        # become ././@LongLink records; never PAX, whose 'x' headers dpkg -i rejects
        # (reference §1.6, §2.4).
        name_bytes = name.encode("utf-8")
        if kind == "dir" and not name.endswith("/"):
            name_bytes += b"/"  # what TarInfo.get_info does to a directory's name
        link_bytes = link.encode("utf-8") if link else b""
        template = self._templates.get((kind, mode))
        if template is None or len(link_bytes) > _NAME_FIELD or size >= _MAX_SIZE_FIELD:
            # First of its kind and mode, or a long target or a huge size: tarfile's own
            # encoder (@LongLink records, base-256 sizes).
            self.write(self._tobuf(name, kind, mode, size, link))
            if template is None:
                self._templates[(kind, mode)] = self._template(kind, mode)
            return
        # The same bytes as TarInfo.tobuf (the tests compare them), about ten times
        # faster: a header of this kind and mode made by tobuf, with its name, size, link
        # and checksum fields rewritten (POSIX.1-1988 ustar layout, tar(5)).
        if len(name_bytes) > _NAME_FIELD:
            # GNU long name: a ././@LongLink record holding the NUL-terminated name, then
            # the header with the name cut at 100 bytes, as tarfile writes them.
            self.write(self._long_name(name_bytes))
        block = bytearray(template)
        block[0:_NAME_FIELD] = name_bytes[:_NAME_FIELD].ljust(_NAME_FIELD, b"\0")
        block[124:136] = b"%011o\0" % size
        block[157:157 + _NAME_FIELD] = link_bytes.ljust(_NAME_FIELD, b"\0")
        # tar(5): the checksum is the byte sum with its own field read as eight spaces,
        # stored as six octal digits, NUL, space
        block[148:155] = b"%06o\0" % sum(block)
        self.write(block)

    def _long_name(self, name_bytes: bytes) -> bytes:
        if self._long_template is None:
            # the first block tobuf writes for a long name is the @LongLink header
            block = bytearray(self._tobuf("n" * (_NAME_FIELD + 1), "file", 0o644, 0, None)
                              [:tarfile.BLOCKSIZE])
            block[148:156] = b" " * 8
            self._long_template = bytes(block)
        payload = name_bytes + b"\0"
        block = bytearray(self._long_template)
        block[124:136] = b"%011o\0" % len(payload)
        block[148:155] = b"%06o\0" % sum(block)
        padding = -len(payload) % tarfile.BLOCKSIZE
        return bytes(block) + payload + _ZEROS[:padding]

    def _tobuf(self, name: str, kind: str, mode: int, size: int, link: str | None) -> bytes:
        info = self._info
        info.name = name
        info.type = _TYPES[kind]
        info.mode = mode
        info.size = size
        info.linkname = link or ""
        return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict")

    def _template(self, kind: str, mode: int) -> bytes:
        block = bytearray(self._tobuf("", kind, mode, 0, None))
        block[148:156] = b" " * 8
        return bytes(block)

    def content(self, stream: BinaryIO, size: int, md5: Any) -> int:
        """Copy up to ``size`` bytes of ``stream``, to be hashed into ``md5``; return the count.

        The md5 is complete once the pipeline has finished.
        """
        readinto = getattr(stream, "readinto", None)
        left = size
        while left:
            if self._pos == _CHUNK:
                self._flush()
            room = min(_CHUNK - self._pos, left)
            target = self._view[self._pos:self._pos + room]
            if readinto is not None:
                n = readinto(target)
            else:
                data = stream.read(room)
                n = len(data)
                if n > room:
                    raise OSError(f"read({room}) returned {n} bytes")
                target[:n] = data
            if not n:
                break  # short: the caller reports it
            self._segments.append((md5, self._pos, self._pos + n))
            self._pos += n
            left -= n
        done = size - left
        self._offset += done
        if done % tarfile.BLOCKSIZE:
            self.write(_ZEROS[:tarfile.BLOCKSIZE - done % tarfile.BLOCKSIZE])
        return done

    def close(self) -> None:
        """End of archive as tarfile writes it: two zero blocks, then zeros to a full record."""
        self.write(_ZEROS[:2 * tarfile.BLOCKSIZE])
        if self._offset % tarfile.RECORDSIZE:
            self.write(_ZEROS[:tarfile.RECORDSIZE - self._offset % tarfile.RECORDSIZE])
        self._view.release()
        self._pipe.give(self._buf, self._pos, self._segments)


def _write_tar(raw: BinaryIO, compressor: Compressor, mtime: int,
               fill: Callable[[_TarStream], None]) -> None:
    """A compressed tar into ``raw``: ``fill`` writes the members after the ``.`` directory."""
    out = compressor.open(raw)
    pipe = _Pipeline(out)
    try:
        tar = _TarStream(pipe, mtime)
        tar.header(".", "dir", 0o755)
        fill(tar)
        tar.close()
        pipe.finish()
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            pipe.finish()
        abort = getattr(out, "abort", None)
        if abort is not None:
            abort()  # the temporary file is deleted; finishing the stream is wasted work
        if isinstance(exc, _CompressorFailed):
            raise exc.error from None  # as if write() had raised it here
        raise
    out.close()


def _write_data_tar(entries: list[Entry], raw: BinaryIO, compressor: Compressor,
                    mtime: int) -> list[tuple[str, str]]:
    """Stream data.tar into ``raw``; return (path, md5) of every regular, non-conffile file."""
    sums: list[tuple[str, Any]] = []

    def fill(tar: _TarStream) -> None:
        for entry in entries:
            name = f"./{entry.path}"
            if entry.kind != "file":
                tar.header(name, entry.kind, entry.mode, link=entry.link)
                continue
            tar.header(name, "file", entry.mode, size=entry.size)
            md5 = _add_file(tar, entry)
            if not entry.conffile:
                # dh_md5sums leaves conffiles out (dpkg tracks them in its status file).
                sums.append((entry.path, md5))

    _write_tar(raw, compressor, mtime, fill)
    return [(path, md5.hexdigest()) for path, md5 in sums]  # all hashed: the pipeline ended


def _add_file(tar: _TarStream, entry: Entry) -> Any:
    """Stream one file into the tar: opened once, read in chunks, exactly ``size`` bytes.

    Returns its md5 object, complete once the pipeline has finished.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    try:
        with entry.open() as stream:
            done = tar.content(stream, entry.size, md5)
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
    return md5


def _check_script(name: str, text: str) -> bytes:
    if not isinstance(text, str):
        raise ArchiveError(f"maintainer script {name} is {type(text).__name__}: give its text")
    if name != "triggers" and not text.startswith("#!"):
        raise ArchiveError(
            f"maintainer script {name} starts with {text[:20]!r}: it must start with an "
            "interpreter line such as '#!/bin/sh'"
        )
    data = text.encode("utf-8")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return data


def _control_members(control: Control, scripts: MaintainerScripts, size_kib: int,
                     sums: list[tuple[str, str]], conffiles: list[str]
                     ) -> list[tuple[str, bytes, int]]:
    members: list[tuple[str, bytes, int]] = [("control", render_control(control, size_kib),
                                              0o644)]
    if sums:
        members.append(("md5sums", render_md5sums(sums), 0o644))
    if conffiles:
        members.append(("conffiles", render_conffiles(conffiles), 0o644))
    for name in _SCRIPTS:
        text = getattr(scripts, name)
        if text is not None:
            members.append((name, _check_script(name, text), 0o755))  # deb-postinst(5): 0755
    if scripts.triggers is not None:
        members.append(("triggers", _check_script("triggers", scripts.triggers), 0o644))
    return sorted(members)


def _control_tar(members: list[tuple[str, bytes, int]], compressor: Compressor,
                 mtime: int) -> bytes:
    raw = io.BytesIO()

    def fill(tar: _TarStream) -> None:
        for name, data, mode in members:
            tar.header(f"./{name}", "file", mode, size=len(data))
            tar.content(io.BytesIO(data), len(data), hashlib.md5(usedforsecurity=False))

    _write_tar(raw, compressor, mtime, fill)
    return raw.getvalue()


def _copy(src: BinaryIO, dst: BinaryIO, size: int) -> None:
    """Copy ``size`` bytes; in the kernel where it can (copy_file_range), else in chunks."""
    dst.flush()
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        try:
            in_fd, out_fd = src.fileno(), dst.fileno()
            offset, out_offset, left = src.tell(), dst.tell(), size
            while left:
                done = copy_range(in_fd, out_fd, left, offset, out_offset)
                if done == 0:
                    break
                offset, out_offset, left = offset + done, out_offset + done, left - done
            if left == 0:
                src.seek(offset)
                dst.seek(out_offset)
                return
            src.seek(offset)
            dst.seek(out_offset)
            size = left
        except (OSError, io.UnsupportedOperation):
            pass  # e.g. not supported by this filesystem: copy in chunks below
    while size > 0 and (chunk := src.read(min(_CHUNK, size))):
        dst.write(chunk)
        size -= len(chunk)
    if size:
        raise ArchiveError(f"the temporary data.tar shrank by {size} bytes while copying it")


def _write_ar(out: BinaryIO, control_tar_name: str, control_tar: bytes, data_tar_name: str,
              data_tar: BinaryIO, data_size: int, mtime: int) -> None:
    out.write(AR_MAGIC)
    for name, data in (("debian-binary", b"2.0\n"), (control_tar_name, control_tar)):
        out.write(ar_header(name, len(data), mtime))
        out.write(data)
        out.write(ar_padding(len(data)))  # members start at even offsets (deb(5))
    out.write(ar_header(data_tar_name, data_size, mtime))
    _copy(data_tar, out, data_size)
    out.write(ar_padding(data_size))


def write_deb(control: Control, entries: Iterable[Entry], output_dir: Path, *,
              compression: str = "xz", scripts: MaintainerScripts = _NO_SCRIPTS,
              source_date_epoch: int | None = None) -> Path:
    """Write ``<package>_<version without epoch>_<arch>.deb`` into ``output_dir``; return its path.

    Entries are normalised (parents added, duplicates refused, modes normalised,
    sorted).  Every mtime is ``source_date_epoch``, else $SOURCE_DATE_EPOCH, else
    DEFAULT_EPOCH.  On any failure nothing is left in ``output_dir``.
    """
    compressor = get_compressor(compression)
    mtime = resolve_epoch(source_date_epoch)
    normalised = normalise(entries)
    size_kib = installed_size(normalised)
    conffiles = [e.path for e in normalised if e.conffile]
    # Validate the control data and scripts before the long part, so a typo fails fast.
    _control_members(control, scripts, size_kib, [], conffiles)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    final = output_dir / deb_filename(control)

    temps: list[str] = []
    try:
        fd, data_path = tempfile.mkstemp(dir=output_dir, prefix=".pydebvenv-",
                                         suffix=".data.tmp")
        temps.append(data_path)
        with os.fdopen(fd, "w+b") as data_file:
            sums = _write_data_tar(normalised, data_file, compressor, mtime)
            data_size = data_file.tell()
            control_tar = _control_tar(
                _control_members(control, scripts, size_kib, sums, conffiles),
                compressor, mtime)
            fd, deb_path = tempfile.mkstemp(dir=output_dir, prefix=".pydebvenv-",
                                            suffix=".deb.tmp")
            temps.append(deb_path)
            with os.fdopen(fd, "wb") as deb_file:
                data_file.seek(0)
                _write_ar(deb_file, "control.tar" + compressor.suffix, control_tar,
                          "data.tar" + compressor.suffix, data_file, data_size, mtime)
        os.chmod(deb_path, 0o644)  # mkstemp creates 0600; a package is world-readable
        os.replace(deb_path, final)
        temps.remove(deb_path)
    finally:
        for path in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    return final
