"""Reading a .deb back and verifying it: ar container, control.tar, data.tar, md5sums, conffiles.

Everything is streamed: the ar container is walked by offsets, each tar member is decompressed
chunk by chunk behind a size limit (decompression bombs), and file contents are hashed as they
pass.  Any defect raises :class:`~pydebvenv.errors.InspectError` with one line naming the cause.

python-debian's ``ArFile``/``DebFile`` are not used for the container: ``ArFile`` accepts a
declared size beyond the end of the file and raises ``ValueError`` on a non-numeric size, and
``DebFile`` reads a whole zstd member into memory to pipe it through ``unzstd``.  Its ``deb822``
parser is used for the control file, after a strict line check of our own (``deb822`` silently
drops malformed lines and duplicate fields, which dpkg refuses).

Paths in :class:`DebFileEntry` are written as ``dpkg-deb --contents`` shows them: ``./``
prefixed, directories ending in ``/`` (the root is ``./``).  Keys of ``DebInfo.md5sums`` are
written as dpkg writes them in the md5sums file: relative, without ``./`` (``usr/bin/x``).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import re
import stat
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, Self, cast

import zstandard
from debian import deb822

from pydebvenv.errors import InspectError

__all__ = [
    "CONTROL_MAX_SIZE",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_SIZE",
    "MAX_MEMBERS",
    "RATIO_FLOOR",
    "Compression",
    "DebFileEntry",
    "DebInfo",
    "FileKind",
    "format_deb_info",
    "read_deb",
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
#: At most this many data.tar members (each costs a DebFileEntry in memory).
MAX_MEMBERS = 1_000_000

FileKind = Literal["file", "dir", "symlink", "hardlink"]
Compression = Literal["none", "gzip", "xz", "zstd", "bzip2", "lzma"]

_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60
_AR_MAX_MEMBERS = 256
_CHUNK = 1 << 16
_ZSTD_INPUT = 512  # a zstd RLE block turns 4 bytes into 128 KiB: 512 bytes in -> <= 16 MiB out
_META_MAX = 1 << 20  # GNU long name/link and pax payloads are read whole by tarfile
# deb(5) and dpkg src/deb/extract.c: which compressions each member may use (by name only).
_CONTROL_EXT: dict[str, Compression] = {"": "none", ".gz": "gzip", ".xz": "xz", ".zst": "zstd"}
_DATA_EXT: dict[str, Compression] = {**_CONTROL_EXT, ".bz2": "bzip2", ".lzma": "lzma"}
_SCRIPTS = ("preinst", "postinst", "prerm", "postrm", "config", "triggers")
_FIELD_LINE = re.compile(r"[!-9;-~][!-9;-~]*:")  # deb822(5): field names are printable, no ':'
_MD5_LINE = re.compile(r"([0-9a-f]{32})  (.+)")  # deb-md5sums(5): lowercase hex, two spaces
_BAD_TAR = (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)
_META_TYPES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
               tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
_TYPE_BITS: dict[str, int] = {"file": stat.S_IFREG, "dir": stat.S_IFDIR,
                              "symlink": stat.S_IFLNK, "hardlink": stat.S_IFREG}


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


@dataclass(frozen=True, slots=True)
class DebInfo:
    """A verified .deb: its ar members, control data and file list."""

    path: Path
    members: tuple[str, ...]
    format_version: str
    compression: tuple[Compression, Compression]  # (control.tar, data.tar)
    control: dict[str, str]
    control_members: tuple[str, ...]  # names in control.tar, without ./
    conffiles: tuple[str, ...]  # lines as written: "/etc/x" or "remove-on-upgrade /etc/y"
    scripts: dict[str, str]  # preinst/postinst/prerm/postrm/config/triggers -> text
    files: tuple[DebFileEntry, ...]
    md5sums: dict[str, str]  # "usr/bin/x" -> digest, in file order


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Fail(Exception):
    """Internal: a verification failure; read_deb adds the file name and raises InspectError."""


# --------------------------------------------------------------------------- ar container


@dataclass(frozen=True, slots=True)
class _ArMember:
    name: str
    offset: int
    size: int


def _read_ar(fp: BinaryIO, file_size: int) -> list[_ArMember]:
    """Walk the ar headers (deb(5); dpkg lib/dpkg/ar.c): name, size and the "`\\n" magic."""
    if file_size == 0:
        raise _Fail("the file is empty; expected a Debian package")
    magic = fp.read(len(_AR_MAGIC))
    if magic != _AR_MAGIC:
        raise _Fail(f"not a Debian package: ar magic is {magic!r}, expected {_AR_MAGIC!r}")
    members: list[_ArMember] = []
    pos = len(_AR_MAGIC)
    while pos < file_size:
        fp.seek(pos)
        header = fp.read(_AR_HEADER)
        if len(header) < _AR_HEADER:
            raise _Fail(f"truncated: ar header at offset {pos} has {len(header)} of 60 bytes")
        if header[58:60] != b"`\n":
            raise _Fail(f"corrupt ar header at offset {pos}: terminator {header[58:60]!r}, "
                        "expected b'`\\n'")
        try:
            # dpkg strips trailing spaces, then one trailing '/' (GNU ar style).
            name = header[:16].decode("ascii").rstrip(" ")
        except UnicodeDecodeError:
            raise _Fail(f"corrupt ar header at offset {pos}: "
                        f"member name {header[:16]!r} is not ASCII") from None
        name = name.removesuffix("/")
        size_field = header[48:58].strip(b" ")
        if not size_field.isdigit() or not size_field.isascii():
            raise _Fail(f"corrupt ar header for member {name!r}: size field "
                        f"{header[48:58]!r} is not a decimal number")
        size = int(size_field)
        start = pos + _AR_HEADER
        if size > file_size - start:
            raise _Fail(f"truncated: ar member {name!r} declares {size} bytes but only "
                        f"{file_size - start} remain in the file")
        end = start + size
        if size % 2:
            # Odd members are followed by one '\n' so the next header is at an even offset.
            fp.seek(end)
            pad = fp.read(1)
            if pad != b"\n":
                what = "missing" if not pad else f"{pad!r}, expected b'\\n'"
                raise _Fail(f"ar padding byte after odd-sized member {name!r} is {what}"
                            + (" (truncated)" if not pad else ""))
            end += 1
        members.append(_ArMember(name, start, size))
        if len(members) > _AR_MAX_MEMBERS:
            raise _Fail(f"the ar archive has more than {_AR_MAX_MEMBERS} members; "
                        "a Debian package has three")
        pos = end
    if not members:
        raise _Fail("the ar archive has no members; expected debian-binary, control.tar, "
                    "data.tar")
    return members


def _layout(members: list[_ArMember]) -> tuple[_ArMember, _ArMember, _ArMember]:
    """Check the member order dpkg requires (deb(5); extract.c) -> (binary, control, data)."""
    first = members[0]
    if first.name != "debian-binary":
        raise _Fail(f"not a Debian binary package: first ar member is {first.name!r}, "
                    "expected 'debian-binary'")
    control: _ArMember | None = None
    for member in members[1:]:
        name = member.name
        if name.startswith("_"):
            continue  # deb(5): '_'-prefixed members are skipped (e.g. signatures)
        if name.startswith("control.tar"):
            if control is not None:
                raise _Fail(f"contains two control members ({control.name!r}, {name!r})")
            if name[len("control.tar"):] not in _CONTROL_EXT:
                raise _Fail(f"uses unknown compression for member {name!r}; control.tar may "
                            "be uncompressed, .gz, .xz or .zst")
            control = member
        elif name.startswith("data.tar") and control is not None:
            if name[len("data.tar"):] not in _DATA_EXT:
                raise _Fail(f"uses unknown compression for member {name!r}; data.tar may be "
                            "uncompressed, .gz, .xz, .zst, .bz2 or .lzma")
            return first, control, member  # dpkg ignores anything after data.tar
        else:
            wanted = "data.tar" if control is not None else "control.tar"
            raise _Fail(f"has premature member {name!r} before {wanted!r}")
    raise _Fail("has no data.tar member" if control else "has no control.tar member")


def _check_version(raw: bytes) -> str:
    """debian-binary: a newline and major version 2 (deb(5); extract.c)."""
    if b"\n" not in raw:
        raise _Fail(f"debian-binary {raw[:20]!r} has no newline; expected b'2.0\\n'")
    line = raw.split(b"\n", 1)[0]
    found = re.fullmatch(rb"(\d+)\.(\d+)", line)
    if found is None or int(found.group(1)) != 2:
        raise _Fail(f"format version {line[:20]!r} in debian-binary is not 2.x; expected 2.0")
    return line.decode("ascii")


# --------------------------------------------------------------------------- streams


class _Window:
    """The bytes of one ar member, read from the shared file object without loading them."""

    def __init__(self, fp: BinaryIO, member: _ArMember) -> None:
        self._fp = fp
        self._pos = member.offset
        self._end = member.offset + member.size

    def read(self, size: int = -1, /) -> bytes:
        left = self._end - self._pos
        size = left if size < 0 else min(size, left)
        if size <= 0:
            return b""
        self._fp.seek(self._pos)
        data = self._fp.read(size)
        if len(data) < size:
            raise _Fail("the file shrank while it was being read")
        self._pos += len(data)
        return data


class _ZstdReader:
    """A zstd stream read with bounded output that, unlike ``stream_reader``, notices truncation."""

    def __init__(self, raw: _Reader) -> None:
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


class _Limited:
    """Counts decompressed bytes and stops a decompression bomb once ``limit`` is passed."""

    def __init__(self, inner: _Reader, limit: int, describe: Callable[[], str]) -> None:
        self._inner = inner
        self._limit = limit
        self._describe = describe
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            chunks = []
            while chunk := self.read(_CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        data = self._inner.read(size)
        self.count += len(data)
        if self.count > self._limit:
            raise _Fail(self._describe())
        return data


def _open_member(fp: BinaryIO, member: _ArMember, kind: str, compression: Compression,
                 limit: int) -> _Limited:
    window = _Window(fp, member)
    inner: _Reader
    if compression == "none":
        inner = window
    elif compression == "gzip":
        inner = gzip.GzipFile(fileobj=cast(BinaryIO, window), mode="rb")
    elif compression in ("xz", "lzma"):
        fmt = lzma.FORMAT_XZ if compression == "xz" else lzma.FORMAT_ALONE
        inner = lzma.LZMAFile(cast(BinaryIO, window), format=fmt)  # noqa: SIM115 (no fd owned)
    elif compression == "bzip2":
        inner = bz2.BZ2File(cast(BinaryIO, window))
    else:
        inner = _ZstdReader(window)

    def describe() -> str:
        return (f"{member.name!r} decompresses to more than {limit} bytes from {member.size} "
                f"compressed bytes (a decompression bomb?); if the package is genuine, pass a "
                f"larger max_ratio or max_size (the {kind} limit is min(max_size, "
                f"max(max_ratio * compressed size, {RATIO_FLOOR}))"
                + (f", and at most {CONTROL_MAX_SIZE} for control.tar)" if kind == "control.tar"
                   else ")"))

    return _Limited(inner, limit, describe)


def _drain(stream: _Limited) -> None:
    """Decompress to the end so trailing checksums (xz CRC, gzip CRC32) are verified."""
    while stream.read(_CHUNK):
        pass


# --------------------------------------------------------------------------- tar


# Not in typeshed, but public names of tarfile since Python 3.2.
_TAR_END = (tarfile.EOFHeaderError, tarfile.EmptyHeaderError)  # type: ignore[attr-defined]


class _TarInfo(tarfile.TarInfo):
    """Makes tarfile strict: a corrupt header is an error, not a silent end of the archive."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        fileobj = cast(_Reader, tarfile_.fileobj)
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


def _open_tar(stream: _Limited) -> tarfile.TarFile:
    return tarfile.open(fileobj=cast(BinaryIO, stream), mode="r|", tarinfo=_TarInfo,
                        encoding="utf-8", errors="surrogateescape", bufsize=_CHUNK)


def _relative(name: str, where: str) -> str:
    """A tar name as a safe relative path ('' for the root): no absolute names, no '..'."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise _Fail(f"{where} member name {name!r} is not valid UTF-8") from None
    if name.startswith("/"):
        raise _Fail(f"{where} member {name!r} has an absolute name; names must be relative "
                    "('./usr/...')")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _Fail(f"{where} member {name!r} has a '..' component, which could escape the "
                    "root")
    return "/".join(parts)


def _display(rel: str, kind: str) -> str:
    if not rel:
        return "./"
    return f"./{rel}/" if kind == "dir" else f"./{rel}"


def _md5(tar: tarfile.TarFile, info: tarfile.TarInfo) -> str:
    stream = tar.extractfile(info)
    assert stream is not None  # a regular file always has content
    digest = hashlib.md5(usedforsecurity=False)
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _kind(info: tarfile.TarInfo, where: str) -> FileKind:
    if info.type in _BAD_TAR:
        raise _Fail(f"{where} member {info.name!r} is a device or fifo; a package built by "
                    "pydebvenv never holds one, so this verifier refuses it")
    if info.type == tarfile.GNUTYPE_SPARSE:
        raise _Fail(f"{where} member {info.name!r} is a GNU sparse file, which dpkg refuses")
    if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE):
        return "file"
    if info.type == tarfile.DIRTYPE:
        return "dir"
    if info.type == tarfile.SYMTYPE:
        return "symlink"
    if info.type == tarfile.LNKTYPE:
        return "hardlink"
    raise _Fail(f"{where} member {info.name!r} has unsupported tar type {info.type!r}")


def _next(tar: tarfile.TarFile) -> tarfile.TarInfo | None:
    info = tar.next()
    tar.members.clear()  # type: ignore[attr-defined]  # stream mode keeps every TarInfo; we keep our own, smaller records
    return info


def _read_data(tar: tarfile.TarFile) -> list[DebFileEntry]:
    where = "data.tar"
    kinds: dict[str, FileKind] = {}
    digests: dict[str, str] = {}
    entries: list[DebFileEntry] = []
    while (info := _next(tar)) is not None:
        if info.pax_headers:
            # dpkg's own tar parser (lib/dpkg/tarfn.c) refuses them: reference §1.6.
            raise _Fail(f"{where} member {info.name!r} uses a PAX extended header, which "
                        "dpkg -i refuses ('unsupported PAX tar header type'); write GNU tar")
        kind = _kind(info, where)
        rel = _relative(info.name, where)
        if rel == "" and kind != "dir":
            raise _Fail(f"{where} member {info.name!r} is a {kind} at the root")
        if rel in kinds:
            raise _Fail(f"{where} holds {_display(rel, kind)!r} twice")
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if kinds.get(parent, "dir") != "dir":
                raise _Fail(f"{where} member {info.name!r} lies under {parent!r}, which is a "
                            f"{kinds[parent]}; it could be written outside the root")
        link: str | None = None
        md5: str | None = None
        size = 0
        if kind == "file":
            size = info.size
            md5 = _md5(tar, info)
            digests[rel] = md5
        elif kind == "symlink":
            if not info.linkname:
                raise _Fail(f"{where} symlink {info.name!r} has an empty target")
            link = info.linkname
        elif kind == "hardlink":
            target = _relative(info.linkname, f"{where} hard link {info.name!r}: target")
            if target not in digests:
                raise _Fail(f"{where} hard link {info.name!r} points to {info.linkname!r}, "
                            "which is not an earlier regular file in the archive")
            link = _display(target, "file")
            md5 = digests[rel] = digests[target]
        kinds[rel] = kind
        owner = f"{info.uname or info.uid}/{info.gname or info.gid}"
        entries.append(DebFileEntry(_display(rel, kind), kind, info.mode & 0o7777, owner,
                                    size, link, md5))
        if len(entries) > MAX_MEMBERS:
            raise _Fail(f"{where} has more than {MAX_MEMBERS} members")
    return entries


def _read_control_tar(tar: tarfile.TarFile) -> dict[str, bytes]:
    where = "control.tar"
    files: dict[str, bytes] = {}
    seen: set[str] = set()
    while (info := _next(tar)) is not None:
        kind = _kind(info, where)
        rel = _relative(info.name, where)
        if rel in seen:
            raise _Fail(f"{where} holds {rel or '.'!r} twice")
        seen.add(rel)
        if kind == "dir":
            continue
        if kind != "file":
            raise _Fail(f"{where} member {info.name!r} is a {kind}; control members are "
                        "plain files")
        stream = tar.extractfile(info)
        assert stream is not None
        files[rel] = stream.read()
    return files


# --------------------------------------------------------------------------- control files


def _parse_control(raw: bytes) -> dict[str, str]:
    """deb-control(5): one stanza of 'Field: value' lines, each ending in a newline."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Fail(f"control file is not valid UTF-8 ({exc.reason} at byte {exc.start})") \
            from None
    if not text.strip():
        raise _Fail("control file is empty")
    if not text.endswith("\n"):
        raise _Fail("control file lacks its final newline")
    names: set[str] = set()
    lines = text.rstrip("\n").split("\n")
    for number, line in enumerate(lines, 1):
        if line[:1] in (" ", "\t"):
            if number == 1:
                raise _Fail(f"control file line 1 {line!r} is a continuation without a field")
            continue
        found = _FIELD_LINE.match(line)
        if found is None or line.startswith(("#", "-")):
            what = "is blank" if not line.strip() else "is not 'Field: value'"
            raise _Fail(f"control file line {number} {line[:60]!r} {what}")
        name = found.group(0)[:-1].lower()
        if name in names:
            raise _Fail(f"control file has a duplicate {found.group(0)[:-1]!r} field")
        names.add(name)
    fields = dict(deb822.Deb822(text).items())
    for required in ("Package", "Version", "Architecture"):
        if required not in fields:
            raise _Fail(f"control file has no {required!r} field")
    return fields


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Fail(f"control member {name!r} is not valid UTF-8 ({exc.reason} at byte "
                    f"{exc.start})") from None


def _parse_md5sums(raw: bytes) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(_text(raw, "md5sums").split("\n"), 1):
        if not line:
            continue
        found = _MD5_LINE.fullmatch(line)
        if found is None:
            raise _Fail(f"md5sums line {number} {line[:80]!r} is not '<32 lowercase hex>  "
                        "<path>'")
        rel = _relative(found.group(2), "md5sums")
        if rel in sums:
            raise _Fail(f"md5sums lists {rel!r} twice")
        sums[rel] = found.group(1)
    return sums


def _conffile_flag(line: str) -> tuple[str, str]:
    """deb-conffiles(5): '/etc/x' or 'FLAG /etc/x' (paths may hold spaces)."""
    if line.startswith("/") or " " not in line:
        return "", line
    flag, _, path = line.partition(" ")
    return flag, path.strip()


def _parse_conffiles(raw: bytes) -> tuple[str, ...]:
    text = _text(raw, "conffiles")
    if text and not text.endswith("\n"):
        raise _Fail("conffiles lacks its final newline (dpkg refuses it)")
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        flag, path = _conffile_flag(line)
        if flag not in ("", "remove-on-upgrade"):
            raise _Fail(f"conffiles line {line!r} has unknown flag {flag!r}; only "
                        "'remove-on-upgrade' exists (deb-conffiles(5))")
        if not path.startswith("/"):
            raise _Fail(f"conffile {path!r} is not an absolute path")
        lines.append(line)
    return tuple(lines)


def _cross_check(files: list[DebFileEntry], md5sums: dict[str, str],
                 conffiles: tuple[str, ...]) -> None:
    contents = {entry.path[2:]: entry for entry in files if entry.md5 is not None}
    for rel, digest in md5sums.items():
        entry = contents.get(rel)
        if entry is None:
            raise _Fail(f"md5sums lists {rel!r}, which is not a file in data.tar")
        if entry.md5 != digest:
            raise _Fail(f"md5sums mismatch for {rel!r}: listed {digest}, data.tar has "
                        f"{entry.md5}")
    for line in conffiles:
        flag, path = _conffile_flag(line)
        shipped = path.lstrip("/") in contents
        if flag and shipped:
            raise _Fail(f"conffile {path!r} is marked remove-on-upgrade but shipped in data.tar")
        if not flag and not shipped:
            raise _Fail(f"conffile {path!r} is not a regular file in data.tar")


# --------------------------------------------------------------------------- entry point


# Everything the decompressors, tarfile and the text decoders raise on bad input.
_BAD_INPUT = (EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError,
              tarfile.TarError, UnicodeError, ValueError, OverflowError, RecursionError)


def _limit(member: _ArMember, max_ratio: int, max_size: int) -> int:
    return min(max_size, max(max_ratio * member.size, RATIO_FLOOR))


def read_deb(path: Path | str, *, max_ratio: int = DEFAULT_MAX_RATIO,
             max_size: int = DEFAULT_MAX_SIZE) -> DebInfo:
    """Read and verify the .deb at ``path``; raise InspectError naming the first defect.

    Each tar member may decompress to ``min(max_size, max(max_ratio * compressed size,
    RATIO_FLOOR))`` bytes; control.tar additionally to CONTROL_MAX_SIZE.  Memory stays bounded:
    file contents are hashed as they stream past, only control files are held.
    """
    path = Path(path)
    step = "reading the ar container"
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError
        if not stat.S_ISREG(mode):  # opening a fifo would block forever
            raise _Fail("is not a regular file; give the path of a .deb file")
        with path.open("rb") as fp:
            file_size = path.stat().st_size
            members = _read_ar(fp, file_size)
            binary, control_m, data_m = _layout(members)
            step = "reading debian-binary"
            if binary.size > 1024:
                raise _Fail(f"debian-binary is {binary.size} bytes; expected 4 (b'2.0\\n')")
            version = _check_version(_Window(fp, binary).read())
            control_c = _CONTROL_EXT[control_m.name[len("control.tar"):]]
            data_c = _DATA_EXT[data_m.name[len("data.tar"):]]

            step = f"reading {control_m.name}"
            stream = _open_member(fp, control_m, "control.tar", control_c,
                                  min(CONTROL_MAX_SIZE, _limit(control_m, max_ratio, max_size)))
            with _open_tar(stream) as tar:
                control_files = _read_control_tar(tar)
            _drain(stream)
            if "control" not in control_files:
                raise _Fail("control.tar has no 'control' file")
            control = _parse_control(control_files["control"])
            md5sums = _parse_md5sums(control_files.get("md5sums", b""))
            conffiles = _parse_conffiles(control_files.get("conffiles", b""))
            scripts = {name: control_files[name].decode("utf-8", errors="replace")
                       for name in _SCRIPTS if name in control_files}

            step = f"reading {data_m.name}"
            stream = _open_member(fp, data_m, "data.tar", data_c,
                                  _limit(data_m, max_ratio, max_size))
            with _open_tar(stream) as tar:
                files = _read_data(tar)
            _drain(stream)
            step = "checking md5sums and conffiles"
            _cross_check(files, md5sums, conffiles)
    except _Fail as exc:
        raise InspectError(f"{str(path)!r}: {exc}") from None
    except FileNotFoundError:
        raise InspectError(f"{str(path)!r} does not exist; give the path of a .deb file") \
            from None
    except IsADirectoryError:
        raise InspectError(f"{str(path)!r} is a directory; give the path of a .deb file") \
            from None
    except PermissionError as exc:
        raise InspectError(f"{str(path)!r} cannot be read: {exc.strerror}") from None
    except MemoryError:
        raise InspectError(f"{str(path)!r}: out of memory while {step}") from None
    except _BAD_INPUT as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InspectError(f"{str(path)!r} is corrupt: {step}: {detail}") from None
    return DebInfo(
        path=path,
        members=tuple(member.name for member in members),
        format_version=version,
        compression=(control_c, data_c),
        control=control,
        control_members=tuple(sorted(control_files)),
        conffiles=conffiles,
        scripts=scripts,
        files=tuple(files),
        md5sums=md5sums,
    )


# --------------------------------------------------------------------------- text


def _listing(entry: DebFileEntry, width: int) -> str:
    letter = {"hardlink": "h"}.get(entry.kind)
    perms = stat.filemode(_TYPE_BITS[entry.kind] | entry.mode)
    if letter:
        perms = letter + perms[1:]
    line = f"{perms} {entry.owner} {entry.size:>{width}} {entry.path}"
    if entry.kind == "symlink":
        line += f" -> {entry.link}"
    elif entry.kind == "hardlink":
        line += f" link to {entry.link}"
    return line


def format_deb_info(info: DebInfo, *, full_scripts: bool = False) -> str:
    """Human text for ``pydebvenv inspect``: the package, control fields, conffiles, scripts,
    then the files as ``dpkg-deb --contents`` lists them (without dates)."""
    out = [
        f"{info.path}",
        f" format {info.format_version}; members: {', '.join(info.members)}",
        f" compression: control.tar {info.compression[0]}, data.tar {info.compression[1]}",
        f" control members: {', '.join(info.control_members)}",
        "",
    ]
    out += [f"{name}: {value}" for name, value in info.control.items()]
    out.append("")
    out.append(f"conffiles ({len(info.conffiles)}):")
    out += [f" {line}" for line in info.conffiles]
    out.append(f"maintainer scripts ({len(info.scripts)}):")
    for name, text in info.scripts.items():
        lines = text.splitlines()
        if full_scripts:
            out.append(f" {name} ({len(lines)} lines):")
            out += [f"   {line}" for line in lines]
        else:
            first = lines[0] if lines else ""
            out.append(f" {name:<9} {len(lines):>4} lines  {first}")
    out.append(f"files ({len(info.files)}, {len(info.md5sums)} in md5sums):")
    width = max([5, *(len(str(entry.size)) for entry in info.files)])
    out += [_listing(entry, width) for entry in info.files]
    return "\n".join(out) + "\n"
