"""The ar container of a .deb, both ways: member headers as dpkg-deb writes and reads them.

deb(5) and dpkg's lib/dpkg/ar.c: the file opens with ``!<arch>\\n``; each member is a
60-byte header (name, mtime, uid, gid, octal mode, decimal size, each space-padded, then
``\\x60\\n``), its bytes, and one ``\\n`` after an odd-sized member so the next header starts
at an even offset.  Reading walks the headers by offset and never loads a member; a defect
raises :class:`~pydebvenv.errors.InspectError` (one line, without the file name, which
:func:`~pydebvenv.debfile.reader.read_deb` adds); writing refuses a size the header cannot hold
with :class:`~pydebvenv.errors.ArchiveError`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from pydebvenv.errors import ArchiveError, InspectError

__all__ = [
    "AR_HEADER_SIZE",
    "AR_MAGIC",
    "AR_MAX_SIZE",
    "ArMember",
    "MemberReader",
    "ar_header",
    "ar_padding",
    "read_ar",
    "write_deb_ar",
]

AR_MAGIC = b"!<arch>\n"
AR_HEADER_SIZE = 60
#: The size field has 10 decimal digits.
AR_MAX_SIZE = 9_999_999_999
_END = b"`\n"
_PAD = b"\n"
_COPY_CHUNK = 1 << 20  # bytes per read when the kernel cannot copy
_MAX_MEMBERS = 256  # a Debian package has three; more is a hostile or broken file


@dataclass(frozen=True, slots=True)
class ArMember:
    """One member: its name (without GNU ar's trailing '/'), where its bytes start, their size."""

    name: str
    offset: int
    size: int


def ar_header(name: str, size: int, mtime: int) -> bytes:
    """The 60-byte header dpkg-deb writes for a member of ``size`` bytes (root, mode 0100644)."""
    if size > AR_MAX_SIZE:
        raise ArchiveError(
            f"member {name!r} is {size} bytes, more than the ar format's {AR_MAX_SIZE}: "
            "use a stronger compression or split the package"
        )
    # dpkg's ar.c: "%-16s%-12jd%-6lu%-6lu%-8lo%-10jd`\n", uid/gid 0, mode 0100644.
    header = f"{name:<16}{mtime:<12d}{0:<6d}{0:<6d}{0o100644:<8o}{size:<10d}`\n"
    return header.encode("ascii")


def ar_padding(size: int) -> bytes:
    """What follows a member of ``size`` bytes: one '\\n' if odd (deb(5): even offsets)."""
    return _PAD if size % 2 else b""


def read_ar(fp: BinaryIO, file_size: int) -> list[ArMember]:
    """Walk the ar headers (deb(5); dpkg lib/dpkg/ar.c): name, size and the "`\\n" magic."""
    if file_size == 0:
        raise InspectError("the file is empty; expected a Debian package")
    magic = fp.read(len(AR_MAGIC))
    if magic != AR_MAGIC:
        raise InspectError(f"not a Debian package: ar magic is {magic!r}, expected {AR_MAGIC!r}")
    members: list[ArMember] = []
    pos = len(AR_MAGIC)
    while pos < file_size:
        fp.seek(pos)
        header = fp.read(AR_HEADER_SIZE)
        if len(header) < AR_HEADER_SIZE:
            raise InspectError(f"truncated: ar header at offset {pos} has {len(header)} of 60 "
                               "bytes")
        if header[58:60] != _END:
            raise InspectError(f"corrupt ar header at offset {pos}: terminator "
                               f"{header[58:60]!r}, expected b'`\\n'")
        try:
            # dpkg strips trailing spaces, then one trailing '/' (GNU ar style).
            name = header[:16].decode("ascii").rstrip(" ")
        except UnicodeDecodeError:
            raise InspectError(f"corrupt ar header at offset {pos}: "
                               f"member name {header[:16]!r} is not ASCII") from None
        name = name.removesuffix("/")
        size_field = header[48:58].strip(b" ")
        if not size_field.isdigit() or not size_field.isascii():
            raise InspectError(f"corrupt ar header for member {name!r}: size field "
                               f"{header[48:58]!r} is not a decimal number")
        size = int(size_field)
        start = pos + AR_HEADER_SIZE
        if size > file_size - start:
            raise InspectError(f"truncated: ar member {name!r} declares {size} bytes but only "
                               f"{file_size - start} remain in the file")
        end = start + size
        if size % 2:
            fp.seek(end)
            pad = fp.read(1)
            if pad != _PAD:
                what = "missing" if not pad else f"{pad!r}, expected b'\\n'"
                raise InspectError(f"ar padding byte after odd-sized member {name!r} is {what}"
                                   + (" (truncated)" if not pad else ""))
            end += 1
        members.append(ArMember(name, start, size))
        if len(members) > _MAX_MEMBERS:
            raise InspectError(f"the ar archive has more than {_MAX_MEMBERS} members; "
                               "a Debian package has three")
        pos = end
    if not members:
        raise InspectError("the ar archive has no members; expected debian-binary, "
                           "control.tar, data.tar")
    return members


class MemberReader:
    """The bytes of one ar member, read from the shared file object without loading them."""

    def __init__(self, fp: BinaryIO, member: ArMember) -> None:
        self._fp = fp
        self._pos = member.offset
        self._end = member.offset + member.size

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is left if negative); b"" at the member's end."""
        left = self._end - self._pos
        size = left if size < 0 else min(size, left)
        if size <= 0:
            return b""
        self._fp.seek(self._pos)
        data = self._fp.read(size)
        if len(data) < size:
            raise InspectError("the file shrank while it was being read")
        self._pos += len(data)
        return data


def copy_range(src: BinaryIO, offset: int, size: int, dst: BinaryIO) -> None:
    """Copy ``size`` bytes of ``src`` from ``offset`` to the end of ``dst``; in the kernel
    where it can (copy_file_range), else in chunks."""
    dst.flush()
    src.seek(offset)
    copy_file = getattr(os, "copy_file_range", None)
    if copy_file is not None:
        try:
            in_fd, out_fd = src.fileno(), dst.fileno()
            out_offset, left = dst.tell(), size
            while left:
                done = copy_file(in_fd, out_fd, left, offset, out_offset)
                if done == 0:
                    break
                offset, out_offset, left = offset + done, out_offset + done, left - done
            src.seek(offset)
            dst.seek(out_offset)
            size = left
        except (OSError, io.UnsupportedOperation):
            pass  # e.g. not supported by this filesystem, or in memory: copy in chunks below
    while size > 0 and (chunk := src.read(min(_COPY_CHUNK, size))):
        dst.write(chunk)
        size -= len(chunk)
    if size:
        raise ArchiveError(f"a temporary part of data.tar shrank by {size} bytes while "
                           "copying it")


def write_deb_ar(out: BinaryIO, control_tar_name: str, control_tar: bytes, data_tar_name: str,
                 data_size: int, write_data: Callable[[BinaryIO], None], mtime: int) -> None:
    """The .deb: debian-binary, control.tar, then data.tar of ``data_size`` bytes, which
    ``write_data`` writes."""
    out.write(AR_MAGIC)
    for name, data in (("debian-binary", b"2.0\n"), (control_tar_name, control_tar)):
        out.write(ar_header(name, len(data), mtime))
        out.write(data)
        out.write(ar_padding(len(data)))  # members start at even offsets (deb(5))
    out.write(ar_header(data_tar_name, data_size, mtime))
    start = out.tell()
    write_data(out)
    if out.tell() - start != data_size:
        raise ArchiveError(f"data.tar came out at {out.tell() - start} bytes, not the "
                           f"{data_size} announced; this is a bug in pydebvenv")
    out.write(ar_padding(data_size))
