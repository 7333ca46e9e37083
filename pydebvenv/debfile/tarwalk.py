"""Walking a .deb's control.tar and data.tar strictly: safe names, known types, hashed contents.

tarfile is made strict (a corrupt header is an error, not a silent end of the archive), is
read in stream mode behind a :class:`~pydebvenv.debfile.streams.BoundedStream`, and keeps no
TarInfo list.  Names must be relative without '..' and may not pass through a symlink or a
file, so nothing could be written outside the root.  A defect raises
:class:`~pydebvenv.errors.InspectError` (one line; read_deb adds the file name).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Literal, Self, cast

from pydebvenv.debfile.streams import CHUNK, Reader
from pydebvenv.errors import InspectError

__all__ = [
    "KEEP_MAX_SIZE",
    "MAX_MEMBERS",
    "DebFileEntry",
    "FileKind",
    "open_tar",
    "read_control_tar",
    "read_data_tar",
    "relative_path",
]

#: At most this many data.tar members (each costs a DebFileEntry in memory).
MAX_MEMBERS = 1_000_000
#: Files larger than this are never kept in memory by ``read_data_tar(keep=...)``.
KEEP_MAX_SIZE = 4 << 20

FileKind = Literal["file", "dir", "symlink", "hardlink"]

_META_MAX = 1 << 20  # GNU long name/link and pax payloads are read whole by tarfile
_BAD_TAR = (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)
_META_TYPES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
               tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
# Not in typeshed, but public names of tarfile since Python 3.2.
_TAR_END = (tarfile.EOFHeaderError, tarfile.EmptyHeaderError)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class DebFileEntry:
    """One data.tar member as ``dpkg-deb --contents`` lists it (``./usr/bin/x``, ``./usr/``).

    ``mode`` holds the permission bits only; ``size`` is 0 for everything but files;
    ``link`` is a symlink's target as written, or a hard link's earlier member (``./x``);
    ``md5`` is the content's digest for files and hard links, else None.
    """

    path: str
    kind: FileKind
    mode: int
    owner: str
    size: int
    link: str | None = None
    md5: str | None = None


class _TarInfo(tarfile.TarInfo):
    """Makes tarfile strict: a corrupt header is an error, not a silent end of the archive."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        fileobj = cast(Reader, tarfile_.fileobj)
        buf = fileobj.read(tarfile.BLOCKSIZE)
        try:
            obj = cls.frombuf(buf, tarfile_.encoding or "utf-8", tarfile_.errors)
        except _TAR_END:
            raise  # a zero block or the end of the stream: tarfile's normal end of archive
        except tarfile.HeaderError as exc:
            raise tarfile.ReadError(f"corrupt tar header: {exc}") from None
        obj.offset = cast(BinaryIO, fileobj).tell() - tarfile.BLOCKSIZE
        if obj.type in _META_TYPES and obj.size > _META_MAX:
            # tarfile reads these payloads into memory in one piece.
            raise tarfile.ReadError(f"tar extension header claims {obj.size} bytes")
        # _proc_member is what TarInfo.fromtarfile calls (CPython 3.11-3.14).
        return cast(Self, obj._proc_member(tarfile_))  # type: ignore[attr-defined]


def open_tar(stream: Reader) -> tarfile.TarFile:
    """A strict, streaming tar reader over decompressed member bytes."""
    return tarfile.open(fileobj=cast(BinaryIO, stream), mode="r|", tarinfo=_TarInfo,
                        encoding="utf-8", errors="surrogateescape", bufsize=CHUNK)


def relative_path(name: str, where: str) -> str:
    """A tar name as a safe relative path ('' for the root): no absolute names, no '..'."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InspectError(f"{where} member name {name!r} is not valid UTF-8") from None
    if name.startswith("/"):
        raise InspectError(f"{where} member {name!r} has an absolute name; names must be "
                           "relative ('./usr/...')")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InspectError(f"{where} member {name!r} has a '..' component, which could escape "
                           "the root")
    return "/".join(parts)


def _display(rel: str, kind: str) -> str:
    if not rel:
        return "./"
    return f"./{rel}/" if kind == "dir" else f"./{rel}"


def _md5(tar: tarfile.TarFile, info: tarfile.TarInfo, kept: list[bytes] | None = None) -> str:
    """The member's md5; its bytes are appended to ``kept`` when a list is given."""
    stream = tar.extractfile(info)
    assert stream is not None  # a regular file always has content
    digest = hashlib.md5(usedforsecurity=False)
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        if kept is not None:
            kept.append(chunk)
    return digest.hexdigest()


def _kind(info: tarfile.TarInfo, where: str) -> FileKind:
    if info.type in _BAD_TAR:
        raise InspectError(f"{where} member {info.name!r} is a device or fifo; a package built "
                           "by pydebvenv never holds one, so this verifier refuses it")
    if info.type == tarfile.GNUTYPE_SPARSE:
        raise InspectError(f"{where} member {info.name!r} is a GNU sparse file, which dpkg "
                           "refuses")
    if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE):
        return "file"
    if info.type == tarfile.DIRTYPE:
        return "dir"
    if info.type == tarfile.SYMTYPE:
        return "symlink"
    if info.type == tarfile.LNKTYPE:
        return "hardlink"
    raise InspectError(f"{where} member {info.name!r} has unsupported tar type {info.type!r}")


def _next(tar: tarfile.TarFile) -> tarfile.TarInfo | None:
    info = tar.next()
    tar.members.clear()  # type: ignore[attr-defined]  # stream mode keeps every TarInfo; we keep our own, smaller records
    return info


def read_data_tar(tar: tarfile.TarFile, keep: Callable[[str], bool] | None = None,
                  kept: dict[str, bytes] | None = None) -> list[DebFileEntry]:
    """Every data.tar member in archive order, files hashed; refuses unsafe or odd members.

    The contents of the files whose relative path (``usr/share/doc/x/f``) ``keep`` accepts
    and that are at most KEEP_MAX_SIZE bytes are put in ``kept``, read in the same pass.
    """
    where = "data.tar"
    kinds: dict[str, FileKind] = {}
    digests: dict[str, str] = {}
    entries: list[DebFileEntry] = []
    while (info := _next(tar)) is not None:
        if info.pax_headers:
            # dpkg's own tar parser (lib/dpkg/tarfn.c) refuses them: docs/deb-format.md.
            raise InspectError(f"{where} member {info.name!r} uses a PAX extended header, "
                               "which dpkg -i refuses ('unsupported PAX tar header type'); "
                               "write GNU tar")
        kind = _kind(info, where)
        rel = relative_path(info.name, where)
        if rel == "" and kind != "dir":
            raise InspectError(f"{where} member {info.name!r} is a {kind} at the root")
        if rel in kinds:
            raise InspectError(f"{where} holds {_display(rel, kind)!r} twice")
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if kinds.get(parent, "dir") != "dir":
                raise InspectError(f"{where} member {info.name!r} lies under {parent!r}, "
                                   f"which is a {kinds[parent]}; it could be written outside "
                                   "the root")
        link: str | None = None
        md5: str | None = None
        size = 0
        if kind == "file":
            size = info.size
            wanted = kept is not None and keep is not None and info.size <= KEEP_MAX_SIZE \
                and keep(rel)
            chunks: list[bytes] | None = [] if wanted else None
            md5 = _md5(tar, info, chunks)
            if kept is not None and chunks is not None:
                kept[rel] = b"".join(chunks)
            digests[rel] = md5
        elif kind == "symlink":
            if not info.linkname:
                raise InspectError(f"{where} symlink {info.name!r} has an empty target")
            link = info.linkname
        elif kind == "hardlink":
            target = relative_path(info.linkname, f"{where} hard link {info.name!r}: target")
            if target not in digests:
                raise InspectError(f"{where} hard link {info.name!r} points to "
                                   f"{info.linkname!r}, which is not an earlier regular file "
                                   "in the archive")
            link = _display(target, "file")
            md5 = digests[rel] = digests[target]
        kinds[rel] = kind
        owner = f"{info.uname or info.uid}/{info.gname or info.gid}"
        entries.append(DebFileEntry(_display(rel, kind), kind, info.mode & 0o7777, owner,
                                    size, link, md5))
        if len(entries) > MAX_MEMBERS:
            raise InspectError(f"{where} has more than {MAX_MEMBERS} members")
    return entries


def read_control_tar(tar: tarfile.TarFile) -> dict[str, bytes]:
    """control.tar's plain files by name (without ./), read whole (the stream is bounded)."""
    where = "control.tar"
    files: dict[str, bytes] = {}
    seen: set[str] = set()
    while (info := _next(tar)) is not None:
        kind = _kind(info, where)
        rel = relative_path(info.name, where)
        if rel in seen:
            raise InspectError(f"{where} holds {rel or '.'!r} twice")
        seen.add(rel)
        if kind == "dir":
            continue
        if kind != "file":
            raise InspectError(f"{where} member {info.name!r} is a {kind}; control members "
                               "are plain files")
        files[rel] = _read_whole(tar, info)
    return files


def _read_whole(tar: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    """A member's bytes read into one buffer of its size (reading it whole would join
    chunks: twice the member in memory)."""
    stream = cast(io.BufferedReader, tar.extractfile(info))
    assert stream is not None
    buf = bytearray(info.size)
    with memoryview(buf) as view:
        done = 0
        # a chunk at a time: tarfile's stream reads a whole request into a bytes object first
        while done < info.size and (n := stream.readinto(view[done:done + CHUNK])):
            done += n
    if done != info.size:
        raise tarfile.ReadError(f"unexpected end of data in {info.name!r}")
    return bytes(buf) if info.size <= CHUNK else cast(bytes, buf)  # read as bytes everywhere
