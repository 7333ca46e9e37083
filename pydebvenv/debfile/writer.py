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
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

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

_AR_MAGIC = b"!<arch>\n"
_AR_MAX_SIZE = 9_999_999_999  # the ar size field has 10 decimal digits
_CHUNK = 1 << 20
_DIRECT = 64 << 10
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


class _Sink:
    """Buffers tarfile's small writes into big chunks for the compressor; counts for tell()."""

    def __init__(self, out: CompressedWriter) -> None:
        self._out = out
        self._buf = bytearray()
        self._pos = 0

    def write(self, data: bytes) -> int:
        n = len(data)
        self._pos += n
        if n >= _DIRECT:
            # file content: hand it on as it is rather than copy it into the buffer
            self.flush()
            self._out.write(data)
            return n
        self._buf += data
        if len(self._buf) >= _CHUNK:
            self._out.write(bytes(self._buf))
            self._buf.clear()
        return n

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        if self._buf:
            self._out.write(bytes(self._buf))
            self._buf.clear()


class _Hasher:
    """md5 of file contents on a background thread (hashlib releases the GIL).

    The main thread keeps building the tar while chunks are hashed; bytes are immutable,
    so a chunk can be hashed while it is also being compressed.  The queue is bounded:
    memory stays flat.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Any, bytes] | None] = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._run, name="pydebvenv-md5", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            item[0].update(item[1])

    def update(self, md5: Any, chunk: bytes) -> None:
        self._queue.put((md5, chunk))

    def close(self) -> None:
        """Wait until every chunk is hashed; digests may be read afterwards."""
        self._queue.put(None)
        self._thread.join()


class _HashingReader:
    """Reads an entry's stream exactly as tarfile asks, hashing and counting on the way."""

    def __init__(self, stream: BinaryIO, hasher: _Hasher) -> None:
        self._stream = stream
        self._hasher = hasher
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        # tarfile treats a short read as the end; a raw stream may return less than asked.
        parts = []
        want = n
        while want != 0:
            data = self._stream.read(want if want > 0 else _CHUNK)
            if not data:
                break
            parts.append(data)
            if want > 0:
                want -= len(data)
        chunk = bytes(parts[0]) if len(parts) == 1 else b"".join(parts)
        if chunk:
            self._hasher.update(self.md5, chunk)
        self.count += len(chunk)
        return chunk


def _tarinfo(name: str, kind: str, mode: int, mtime: int, size: int = 0,
             link: str | None = None) -> tarfile.TarInfo:
    # Built field by field, never from the host (TarFile.add/gettarinfo would leak host
    # modes, ids and float mtimes; reference §2.2).
    info = tarfile.TarInfo(name)
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE,
                 "symlink": tarfile.SYMTYPE}[kind]
    info.mode = mode
    info.mtime = mtime
    info.size = size
    info.linkname = link or ""
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _open_tar(sink: _Sink) -> tarfile.TarFile:
    # GNU format: long names and targets become ././@LongLink records; never PAX, whose
    # 'x' headers dpkg -i rejects (reference §1.6, §2.4).
    return tarfile.TarFile(fileobj=sink, mode="w", format=tarfile.GNU_FORMAT,  # type: ignore[arg-type]
                           encoding="utf-8", errors="strict", copybufsize=_CHUNK)


def _write_data_tar(entries: list[Entry], raw: BinaryIO, compressor: Compressor,
                    mtime: int) -> list[tuple[str, str]]:
    """Stream data.tar into ``raw``; return (path, md5) of every regular, non-conffile file."""
    out = compressor.open(raw)
    sink = _Sink(out)
    hashed: list[tuple[str, _HashingReader]] = []
    hasher = _Hasher()
    try:
        with _open_tar(sink) as tar:
            tar.addfile(_tarinfo(".", "dir", 0o755, mtime))
            for entry in entries:
                name = f"./{entry.path}"
                if entry.kind != "file":
                    tar.addfile(_tarinfo(name, entry.kind, entry.mode, mtime, link=entry.link))
                    continue
                info = _tarinfo(name, "file", entry.mode, mtime, size=entry.size)
                reader = _add_file(tar, info, entry, hasher)
                if not entry.conffile:
                    # dh_md5sums leaves conffiles out (dpkg tracks them in its status file).
                    hashed.append((entry.path, reader))
        sink.flush()
    except BaseException:
        abort = getattr(out, "abort", None)
        if abort is not None:
            abort()  # the temporary file is deleted; finishing the stream is wasted work
        raise
    else:
        out.close()
    finally:
        hasher.close()
    return [(path, reader.md5.hexdigest()) for path, reader in hashed]


def _add_file(tar: tarfile.TarFile, info: tarfile.TarInfo, entry: Entry,
              hasher: _Hasher) -> _HashingReader:
    """Stream one file into the tar: opened once, read in chunks, exactly ``size`` bytes."""
    try:
        with entry.open() as stream:
            reader = _HashingReader(stream, hasher)
            tar.addfile(info, reader)
            extra = reader.read(1)
    except PydebvenvError:
        raise
    except OSError as exc:
        raise ArchiveError(
            f"cannot read {entry.path!r} from {entry.source}: {exc}; check that the "
            "file exists, is readable and its size did not change"
        ) from exc
    if extra:
        raise ArchiveError(
            f"{entry.path!r} from {entry.source} has more than its declared size "
            f"{entry.size}: the file changed while building, or the entry's size is wrong"
        )
    return reader


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
    out = compressor.open(raw)
    sink = _Sink(out)
    with _open_tar(sink) as tar:
        tar.addfile(_tarinfo(".", "dir", 0o755, mtime))
        for name, data, mode in members:
            tar.addfile(_tarinfo(f"./{name}", "file", mode, mtime, size=len(data)),
                        io.BytesIO(data))
    sink.flush()
    out.close()
    return raw.getvalue()


def _ar_header(name: str, size: int, mtime: int) -> bytes:
    if size > _AR_MAX_SIZE:
        raise ArchiveError(
            f"member {name!r} is {size} bytes, more than the ar format's {_AR_MAX_SIZE}: "
            "use a stronger compression or split the package"
        )
    # dpkg's ar.c: "%-16s%-12jd%-6lu%-6lu%-8lo%-10jd`\n", uid/gid 0, mode 0100644.
    header = f"{name:<16}{mtime:<12d}{0:<6d}{0:<6d}{0o100644:<8o}{size:<10d}`\n"
    return header.encode("ascii")


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
    out.write(_AR_MAGIC)
    for name, data in (("debian-binary", b"2.0\n"), (control_tar_name, control_tar)):
        out.write(_ar_header(name, len(data), mtime))
        out.write(data)
        if len(data) % 2:
            out.write(b"\n")  # members start at even offsets (deb(5))
    out.write(_ar_header(data_tar_name, data_size, mtime))
    _copy(data_tar, out, data_size)
    if data_size % 2:
        out.write(b"\n")


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
