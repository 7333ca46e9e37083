"""data.tar and control.tar as dpkg reads them: GNU tar records laid out directly, streamed.

Headers are tarfile's encoding of explicit TarInfo values (GNU format: long names and
link targets become ``././@LongLink`` records; never PAX, whose ``x`` headers ``dpkg -i``
rejects; docs/deb-format.md), written straight into a buffer with the files' content, which
goes to the md5 of each file and to the compressor, so nothing of the host (modes, ids,
mtimes) reaches the archive.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Callable
from typing import Any, BinaryIO, Protocol

from pydebvenv.debfile.compress import Chunk, Compressor

__all__ = ["CHUNK", "OutputFailed", "TarStream", "end_of_archive", "md5", "write_tar"]

CHUNK = 1 << 20  # bytes handed to the compressor at once
_ZEROS = bytes(tarfile.RECORDSIZE)
_NAME_FIELD = 100  # name and linkname fields of a tar header; longer needs @LongLink
_MAX_SIZE_FIELD = 8 ** 11  # 11 octal digits; larger sizes are base-256 (GNU)
_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}

#: (md5 object, start, end): bytes of one file held in the buffer, to be hashed
_Hashed = tuple[Any, int, int]


class OutputFailed(Exception):
    """Writing the tar's bytes out failed (a full disk, a compressor error): ``error`` says why.

    Not an OSError, so the failure is not taken for a file that cannot be read.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _Out(Protocol):
    """Where the tar's bytes go: a segment's compressor, or a whole member's."""

    def write(self, data: Chunk, /) -> object: ...


def end_of_archive(size: int) -> bytes:
    """What ends a tar of ``size`` bytes, as tarfile writes it: two zero blocks, then zeros
    to a whole record."""
    end = 2 * tarfile.BLOCKSIZE
    return _ZEROS[:end] + _ZEROS[:-(size + end) % tarfile.RECORDSIZE]


class TarStream:
    """Writes tar records (header, content, padding) through a buffer into ``out``.

    tarfile's addfile costs far more per member than the header it writes (a TarInfo copy,
    tiny reads and writes), so members are laid out here.  Every header is tarfile's
    encoding of an explicit TarInfo: TarInfo.tobuf's bytes, or a tobuf header of the same
    kind and mode with the name, size, link and checksum fields rewritten (the tests check
    both give the same bytes).  File content is read with readinto straight into the
    buffer, which goes to the files' md5 and then to ``out``: no copies, no allocation.
    """

    def __init__(self, out: _Out, mtime: int) -> None:
        self._out = out
        self._buf = bytearray(CHUNK)
        self._view = memoryview(self._buf)
        self._pos = 0
        self._hashed: list[_Hashed] = []  # what to hash in the current buffer
        self.offset = 0  # bytes of tar written so far
        self._info = tarfile.TarInfo()
        self._info.mtime = mtime
        self._info.uid = self._info.gid = 0
        self._info.uname = self._info.gname = "root"
        self._templates: dict[tuple[str, int], bytes] = {}
        self._long_template: bytes | None = None

    def _flush(self) -> None:
        view = self._view
        for md5, begin, end in self._hashed:
            md5.update(view[begin:end])
        try:
            self._out.write(view[:self._pos])
        except Exception as exc:
            raise OutputFailed(exc) from exc
        self._hashed = []
        self._pos = 0

    def write(self, data: bytes | bytearray) -> None:
        done = 0
        while done < len(data):
            if self._pos == CHUNK:
                self._flush()
            n = min(CHUNK - self._pos, len(data) - done)
            self._view[self._pos:self._pos + n] = data[done:done + n]
            self._pos += n
            done += n
        self.offset += len(data)

    def header(self, name: str, kind: str, mode: int, size: int = 0,
               link: str | None = None) -> None:
        # Built field by field, never from the host (TarFile.add/gettarinfo would leak host
        # modes, ids and float mtimes; docs/deb-format.md).  GNU format: long names and targets
        # become ././@LongLink records; never PAX, whose 'x' headers dpkg -i rejects
        # (docs/deb-format.md, "What dpkg accepts" and "Long names").
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

        The md5 is complete once the stream is flushed (``flush``).
        """
        readinto = getattr(stream, "readinto", None)
        left = size
        while left:
            if self._pos == CHUNK:
                self._flush()
            room = min(CHUNK - self._pos, left)
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
            self._hashed.append((md5, self._pos, self._pos + n))
            self._pos += n
            left -= n
        done = size - left
        self.offset += done
        if done % tarfile.BLOCKSIZE:
            self.write(_ZEROS[:tarfile.BLOCKSIZE - done % tarfile.BLOCKSIZE])
        return done

    def flush(self) -> None:
        """Hand everything written so far to the md5s and to ``out``."""
        self._flush()


def write_tar(raw: BinaryIO, compressor: Compressor, mtime: int,
              fill: Callable[[TarStream], None]) -> None:
    """A whole compressed tar into ``raw`` (control.tar): ``fill`` writes the members after
    the ``.`` directory."""
    out = compressor.open(raw)
    try:
        tar = TarStream(out, mtime)
        tar.header(".", "dir", 0o755)
        fill(tar)
        tar.write(end_of_archive(tar.offset))
        tar.flush()
    except OutputFailed as exc:
        raise exc.error from None
    out.close()


def md5() -> Any:
    """A fresh md5 for one file's md5sums line (not for security)."""
    return hashlib.md5(usedforsecurity=False)
