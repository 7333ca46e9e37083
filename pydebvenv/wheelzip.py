"""A wheel's zip members: safe paths and RECORD hashes checked up front, re-checked on read.

Every member is hash-checked against RECORD once, before installer runs (PEP 376/627
"RECORD"; the "Binary distribution format" spec asks installers to verify it).  Members are
not held in memory: :func:`member_opener` re-opens the zip member when the archive writer
reads it and checks the hash again, because the wheel may change in between.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import stat
import weakref
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from installer.exceptions import InstallerError
from installer.records import Hash, parse_record_file
from installer.sources import WheelFile

from pydebvenv.elf import ELF_HEAD, elf_machine
from pydebvenv.errors import WheelError

__all__ = [
    "LazyZip",
    "Member",
    "WheelSource",
    "b64_digest",
    "member_opener",
    "read_dist_info",
    "verify_members",
]

# RECORD hashes must be sha256 or stronger; md5 and sha1 are forbidden (PEP 376/627).
_ALLOWED_HASHES = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512",
                             "blake2b", "blake2s"})
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Member:
    """One verified zip member: its RECORD hash and size, and what its first bytes say."""

    name: str
    size: int
    hash: Hash
    head: bytes  # the first ELF_HEAD bytes, for shebang and ELF sniffing
    executable: bool  # the zip's unix mode has an x bit
    elf: str | None  # elf.ELF_MACHINES name, None when not ELF


def _skipped(name: str) -> bool:
    # Bytecode is compiled on the target (reference §10.3); installer itself refuses
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
        or re.match(r"[A-Za-z]:", name)
    ):
        raise WheelError(
            f"wheel {label!r} has an unsafe member path {name!r} (absolute, '..' or "
            "backslash); refusing to install it, replace the wheel"
        )


def verify_members(zf: zipfile.ZipFile, source: WheelSource, label: str) -> dict[str, Member]:
    """Check every member's path and RECORD hash once; keep the first bytes for sniffing."""
    for info in zf.infolist():
        _check_name(info.filename, label)
    record_name = f"{source.dist_info_dir}/RECORD"
    try:
        text = read_dist_info(source, "RECORD", label)
        rows = {row[0]: row for row in parse_record_file(text.splitlines())}
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
        head, digest, size = _hash_member(zf, name, hash_.name)
        if digest != hash_.value or (row[2] and row[2] != str(size)):
            raise WheelError(
                f"wheel {label!r}: member {name!r} does not match its RECORD hash/size; "
                "the wheel is corrupt or was tampered with, download it again"
            )
        mode = info.external_attr >> 16
        members[name] = Member(
            name=name,
            size=size,
            hash=hash_,
            head=head,
            executable=bool(mode and stat.S_ISREG(mode) and mode & 0o111),
            elf=elf_machine(head),
        )
    return members


def b64_digest(digest: bytes) -> str:
    """A digest as RECORD spells it: urlsafe base64 without padding (PEP 376)."""
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _hash_member(zf: zipfile.ZipFile, name: str, algorithm: str) -> tuple[bytes, str, int]:
    hasher = hashlib.new(algorithm)
    head = b""
    size = 0
    with zf.open(name) as stream:
        while chunk := stream.read(_CHUNK):
            if len(head) < ELF_HEAD:
                head += chunk[: ELF_HEAD - len(head)]
            hasher.update(chunk)
            size += len(chunk)
    return head, b64_digest(hasher.digest()), size


class LazyZip:
    """One wheel's zip, opened on first read and kept open for its other members.

    Parsing the central directory once per member would be quadratic for wheels with
    thousands of files (botocore); the handle is closed when the last Entry using it is
    garbage collected.
    """

    def __init__(self, wheel: Path) -> None:
        self._wheel = wheel
        self._zip: zipfile.ZipFile | None = None

    def open(self, name: str) -> IO[bytes]:
        if self._zip is None:
            self._zip = zipfile.ZipFile(self._wheel)
            weakref.finalize(self, self._zip.close)
        return self._zip.open(name)


class _VerifyingReader(io.RawIOBase):
    """A zip member stream that checks size and hash when its last byte has been read."""

    def __init__(self, archive: LazyZip, member: Member, label: str) -> None:
        self._stream = archive.open(member.name)
        self._member = member
        self._label = label
        self._hasher = hashlib.new(member.hash.name)
        self._seen = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._stream.read(len(view))
        view[: len(data)] = data
        self._hasher.update(data)
        self._seen += len(data)
        if (data and self._seen >= self._member.size) or (not data and len(view)):
            self._check()
        return len(data)

    def _check(self) -> None:
        digest = b64_digest(self._hasher.digest())
        if self._seen != self._member.size or digest != self._member.hash.value:
            raise WheelError(
                f"wheel {self._label!r}: member {self._member.name!r} changed since it was "
                "verified; do not modify the wheel cache during a build"
            )

    def close(self) -> None:
        self._stream.close()
        super().close()


def member_opener(archive: LazyZip, member: Member, label: str) -> Callable[[], BinaryIO]:
    """An Entry opener that reads ``member`` from ``archive`` and re-checks its RECORD hash."""

    def open_member() -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(_VerifyingReader(archive, member, label), _CHUNK))

    return open_member
