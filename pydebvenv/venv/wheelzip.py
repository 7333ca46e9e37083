"""A wheel's zip members: safe paths and the RECORD listing checked up front, hashes on read.

Every member must be listed in RECORD with a sha256-or-stronger hash (PEP 376/627 "RECORD";
the "Binary distribution format" spec asks installers to verify it).  Contents are read
once: the install pass only sniffs each member's first bytes (and an ELF's dynamic section),
and :func:`member_opener` checks size and hash while the archive writer streams the member,
so a member that does not match RECORD fails the build during the write, before anything
is renamed into place.  Scripts read whole by the installer are checked with
:func:`read_verified`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from installer.exceptions import InstallerError
from installer.records import Hash, InvalidRecordEntry, parse_record_file
from installer.sources import WheelFile

from pydebvenv.errors import WheelError
from pydebvenv.venv.elf import ELF_HEAD, ElfDynamic, elf_dynamic, elf_machine

__all__ = [
    "LazyZip",
    "Member",
    "Sniff",
    "WheelSource",
    "b64_digest",
    "member_opener",
    "read_dist_info",
    "read_verified",
    "sniff_member",
    "verify_members",
]

# RECORD hashes must be sha256 or stronger; md5 and sha1 are forbidden (PEP 376/627).
_ALLOWED_HASHES = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512",
                             "blake2b", "blake2s"})
_CHUNK = 1 << 16


# What reading a member can raise when the zip is corrupt: a bad CRC (BadZipFile), a broken
# deflate stream (zlib.error), a truncated one (EOFError).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError)


@dataclass(frozen=True, slots=True)
class Member:
    """One zip member listed in RECORD: the hash its content must have, its size, its x bit."""

    name: str
    size: int  # the zip's uncompressed size, equal to RECORD's size when RECORD gives one
    hash: Hash
    executable: bool  # the zip's unix mode has an x bit


@dataclass(frozen=True, slots=True)
class Sniff:
    """What a member's first bytes say (content not verified yet: the write checks it)."""

    head: bytes  # the first ELF_HEAD bytes, for shebang and ELF sniffing
    elf: str | None  # elf.ELF_MACHINES name, None when not ELF
    dynamic: ElfDynamic | None  # an ELF's DT_NEEDED/DT_SONAME; None if not ELF or malformed


def _skipped(name: str) -> bool:
    # Bytecode is compiled on the target (docs/bytecode.md); installer itself refuses
    # __pycache__ content as a security risk.
    return "__pycache__" in name.split("/")[:-1] or name.endswith(".pyc")


class WheelSource(WheelFile):
    """installer's WheelFile minus bytecode members, so installer never warns about them."""

    def __init__(self, zf: zipfile.ZipFile, label: str) -> None:
        try:
            super().__init__(zf)
        except ValueError as exc:
            raise WheelError(
                f"not a wheel file name: {label!r}; expected {{dist}}-{{ver}}-{{tags}}.whl"
            ) from exc

    def get_contents(self) -> Iterator[tuple[tuple[str, str, str], BinaryIO, bool]]:
        for element in super().get_contents():
            if not _skipped(element[0][0]):
                yield element


def read_dist_info(source: WheelSource, filename: str, label: str) -> str:
    """The text of ``<dist-info>/<filename>``; WheelError when missing or unreadable."""
    try:
        return source.read_dist_info(filename)
    except KeyError as exc:
        raise WheelError(
            f"wheel {label!r} has no {source.dist_info_dir}/{filename}; it is not a valid "
            "wheel, rebuild it"
        ) from exc
    except (InstallerError, ValueError) as exc:
        raise WheelError(f"wheel {label!r} is malformed: {exc}; rebuild it") from exc


def _check_name(name: str, label: str) -> None:
    """Refuse member paths that could land outside the venv (zip-slip)."""
    parts = name.split("/")
    if (
        name.startswith("/")
        or "\\" in name
        or ".." in parts
        or "\0" in name
        or "\n" in name  # dpkg's file lists are one path a line
        or re.match(r"[A-Za-z]:", name)
    ):
        raise WheelError(
            f"wheel {label!r} has an unsafe member path {name!r} (absolute, '..', a "
            "backslash or a newline); refusing to install it, replace the wheel"
        )


def verify_members(zf: zipfile.ZipFile, source: WheelSource, label: str) -> dict[str, Member]:
    """Check every member's path and its RECORD row (listed, allowed hash, size); read no content.

    The content hash is checked once, while the member is streamed into the archive
    (:func:`member_opener`) or read whole (:func:`read_verified`).
    """
    for info in zf.infolist():
        _check_name(info.filename, label)
    record_name = f"{source.dist_info_dir}/RECORD"
    text = read_dist_info(source, "RECORD", label)
    try:
        rows = {row[0]: row for row in parse_record_file(text.splitlines())}
    except InvalidRecordEntry as exc:  # a row without exactly path, hash and size
        raise WheelError(f"wheel {label!r} has a malformed RECORD: {'; '.join(exc.issues)}; "
                         "rebuild it") from None
    except (csv.Error, ValueError) as exc:
        raise WheelError(f"wheel {label!r} has an unreadable RECORD: {exc}; rebuild it") from exc
    members: dict[str, Member] = {}
    for info in zf.infolist():
        name = info.filename
        if name.endswith("/") or name == record_name:
            continue
        if name.startswith(f"{source.dist_info_dir}/RECORD."):
            continue  # RECORD.jws / RECORD.p7s signatures are not listed in RECORD
        row = rows.get(name)
        if row is None:
            raise WheelError(
                f"wheel {label!r}: member {name!r} is not listed in RECORD; the wheel was "
                "modified or is broken, replace it"
            )
        try:
            hash_ = Hash.parse(row[1])
        except ValueError:
            hash_ = Hash("", "")
        if hash_.name not in _ALLOWED_HASHES:
            raise WheelError(
                f"wheel {label!r}: member {name!r} has RECORD hash {row[1]!r}; sha256 or "
                "stronger is required, rebuild the wheel"
            )
        if row[2] and row[2] != str(info.file_size):
            raise WheelError(
                f"wheel {label!r}: member {name!r} does not match its RECORD hash/size "
                f"(RECORD says {row[2]} bytes, the zip holds {info.file_size}); the wheel is "
                "corrupt or was tampered with, download it again"
            )
        mode = info.external_attr >> 16
        members[name] = Member(
            name=name,
            size=info.file_size,
            hash=hash_,
            executable=bool(mode and stat.S_ISREG(mode) and mode & 0o111),
        )
    return members


def _corrupt(label: str, name: str, exc: BaseException) -> WheelError:
    return WheelError(
        f"wheel {label!r}: member {name!r} cannot be read ({exc}); the wheel is corrupt, "
        "download it again"
    )


def _mismatch(label: str, name: str) -> WheelError:
    return WheelError(
        f"wheel {label!r}: member {name!r} does not match its RECORD hash/size; the wheel "
        "is corrupt or was tampered with (or changed during the build), download it again"
    )


def sniff_member(stream: BinaryIO, member: Member, label: str) -> Sniff:
    """The first bytes of ``stream`` (a fresh, seekable zip member stream) and, for an ELF,
    its dynamic section; the stream is left at an arbitrary position."""
    try:
        head = stream.read(ELF_HEAD)
        machine = elf_machine(head)
        dynamic = elf_dynamic(stream, member.size) if machine is not None else None
    except _ZIP_ERRORS as exc:
        raise _corrupt(label, member.name, exc) from exc
    return Sniff(head=head, elf=machine, dynamic=dynamic)


def b64_digest(digest: bytes) -> str:
    """A digest as RECORD spells it: urlsafe base64 without padding (PEP 376)."""
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def read_verified(stream: BinaryIO, member: Member, label: str) -> bytes:
    """The whole member from its seekable zip stream, checked against its RECORD hash/size."""
    try:
        stream.seek(0)
        data = stream.read()
    except _ZIP_ERRORS as exc:
        raise _corrupt(label, member.name, exc) from exc
    digest = b64_digest(hashlib.new(member.hash.name, data).digest())
    if len(data) != member.size or digest != member.hash.value:
        raise _mismatch(label, member.name)
    return data


class LazyZip:
    """One wheel's zip, opened on first read and kept open for its other members until closed.

    Parsing the central directory once per member would be quadratic for wheels with
    thousands of files (botocore).  The owner of the entries closes it (VenvLayout.close)
    once the archive is written, never the garbage collector: Windows refuses to delete a
    file that is still open, and a FUSE filesystem keeps an unlinked open file as a hidden
    entry that stops its directory from being removed.
    """

    def __init__(self, wheel: Path) -> None:
        self._wheel = wheel
        self._zip: zipfile.ZipFile | None = None
        self._closed = False

    def open(self, name: str) -> IO[bytes]:
        if self._closed:
            # reopening would leave a handle nobody closes
            raise ValueError(f"{self._wheel.name}: read after the wheel was closed")
        if self._zip is None:
            self._zip = zipfile.ZipFile(self._wheel)
        return self._zip.open(name)

    def close(self) -> None:
        """Close the zip (a member stream still open keeps the file until it is closed)."""
        self._closed = True
        zf, self._zip = self._zip, None
        if zf is not None:
            zf.close()


class _VerifyingReader(io.RawIOBase):
    """A zip member stream that checks size and hash when its last byte has been read.

    ``read`` hands the zip's bytes through without copying them into a buffer; the
    RECORD check runs in the same pass the archive writer reads the content in.
    """

    def __init__(self, archive: LazyZip, member: Member, label: str) -> None:
        self._member = member
        self._label = label
        try:
            self._stream = archive.open(member.name)
        except _ZIP_ERRORS as exc:
            raise _corrupt(label, member.name, exc) from exc
        self._hasher = hashlib.new(member.hash.name)
        self._seen = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            data = self._stream.read(-1 if size is None else size)
        except _ZIP_ERRORS as exc:
            raise _corrupt(self._label, self._member.name, exc) from exc
        self._hasher.update(data)
        self._seen += len(data)
        # the last byte, or the end of the stream when more was asked for: check now, so a
        # mismatch fails the write of this very member
        whole = size is None or size < 0
        last = self._seen >= self._member.size or whole or not data
        if not self._checked and last and (data or whole or size != 0):
            self._check()
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _check(self) -> None:
        self._checked = True
        digest = b64_digest(self._hasher.digest())
        if self._seen != self._member.size or digest != self._member.hash.value:
            raise _mismatch(self._label, self._member.name)

    def close(self) -> None:
        self._stream.close()
        super().close()


def member_opener(archive: LazyZip, member: Member, label: str) -> Callable[[], BinaryIO]:
    """An Entry opener that reads ``member`` from ``archive`` and checks its RECORD hash."""

    def open_member() -> BinaryIO:
        return cast(BinaryIO, _VerifyingReader(archive, member, label))

    return open_member
