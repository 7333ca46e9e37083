"""One wheel -> Entries at the venv's final path, through pypa/installer's algorithm.

``installer.install(source, destination, metadata)`` decides what goes where (PEP 427 and
the "Binary distribution format" spec: root scheme, ``.data/<key>/`` spreading, entry point
scripts, RECORD rewriting); the destination here collects :class:`Entry` values instead of
writing files, so the venv is laid out at ``/usr/share/python/<name>`` directly and nothing
needs relocating (reference §7.3, §8).  Wheel members are not held in memory: every member is
hash-checked against RECORD once, up front, and its Entry re-opens the zip member when the
archive writer reads it, checking the hash again (the wheel may change in between).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import posixpath
import re
import shlex
import stat
import weakref
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Literal, cast

import installer
from installer.destinations import WheelDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry, parse_record_file
from installer.scripts import Script
from installer.sources import WheelFile
from installer.utils import Scheme, construct_record_file, parse_metadata_file
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename

from pydebvenv.debfile.entry import Entry, file_entry
from pydebvenv.errors import WheelError

if TYPE_CHECKING:
    from pydebvenv.target import Target

__all__ = [
    "ELF_MACHINES",
    "INSTALLER_NAME",
    "InstalledWheel",
    "install_wheel",
    "scheme_paths",
    "shebang",
]

#: What INSTALLER says (PEP 376 / "Recording installed projects": one line naming the tool).
INSTALLER_NAME = "pydebvenv"

#: ELF e_machine -> the arch name as wheel platform tags spell it (Target.arch.elf_machine).
#: Values from the ELF gABI / glibc elf.h.  (machine, is_64bit, little_endian) disambiguates
#: families that share one e_machine.
ELF_MACHINES: Mapping[int, str] = {
    3: "i686",  # EM_386
    40: "armv7l",  # EM_ARM
    62: "x86_64",  # EM_X86_64
    183: "aarch64",  # EM_AARCH64
    21: "ppc64",  # EM_PPC64 (big endian; little endian is ppc64le, see _elf_machine)
    22: "s390x",  # EM_S390
    243: "riscv64",  # EM_RISCV
}

# The kernel reads at most 127 bytes of a "#!" line on older kernels (BINPRM_BUF_SIZE 128,
# 256 since Linux 5.1); distlib and pypa/installer use the /bin/sh trick beyond that
# (reference §8 step 7).
_SHEBANG_LIMIT = 127
# Shared objects must not be executable: lintian shared-library-is-executable (§11, §2.2).
_SHARED_LIBRARY_RE = re.compile(r"\.so(\.[0-9]+)*$")
# RECORD hashes must be sha256 or stronger; md5 and sha1 are forbidden (PEP 376/627).
_ALLOWED_HASHES = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512",
                             "blake2b", "blake2s"})
_CHUNK = 1 << 16
_HEAD = 20  # enough of a member to read the ELF identification and e_machine


@dataclass(frozen=True, slots=True)
class InstalledWheel:
    """What one wheel became: its entries and the facts the package metadata needs."""

    name: str  # canonical (PEP 503) distribution name
    version: str
    wheel: str  # the wheel's file name (never its host directory)
    entries: tuple[Entry, ...]
    scripts: tuple[str, ...]  # console and gui script names, sorted
    elf_machines: frozenset[str]  # ELF_MACHINES names of the ELF members
    tags: frozenset[Tag]

    @property
    def has_binary(self) -> bool:
        return bool(self.elf_machines)

    @property
    def platform_tags(self) -> frozenset[str]:
        return frozenset(t.platform for t in self.tags if t.platform != "any")


def shebang(interpreter: str) -> bytes:
    """The first line(s) of a script run by ``interpreter`` (a POSIX path on the target).

    Same rule as pypa/installer's ``Script`` and distlib: a plain ``#!`` line when it fits in
    127 bytes and holds no space, else the ``/bin/sh`` exec trick (reference §8 step 7).  A
    test checks that this equals what installer generates for entry point scripts.
    """
    exe = interpreter.encode()
    if b" " not in exe and len(b"#!" + exe + b"\n") <= _SHEBANG_LIMIT:
        return b"#!" + exe
    quoted = shlex.quote(interpreter).encode()
    return b"#!/bin/sh\n'''exec' " + quoted + b' "$0" "$@"\n' + b"' '''"


def scheme_paths(venv: str, target: Target, dist: str) -> dict[str, str]:
    """The install scheme of a venv at ``venv`` (absolute POSIX) for the target's Python.

    purelib/platlib are the sysconfig ``venv`` scheme's site-packages; headers follow pip's
    venv rule ``include/site/pythonX.Y/<dist>``; data is the venv root (reference §8 step 4).
    """
    site = posixpath.join(venv, target.site_packages)
    return {
        "purelib": site,
        "platlib": site,
        "scripts": posixpath.join(venv, "bin"),
        "headers": posixpath.join(venv, "include", "site", f"python{target.pyver}", dist),
        "data": venv,
    }


def install_wheel(
    wheel: Path, venv: str, target: Target, *, requested: bool = False
) -> InstalledWheel:
    """Install ``wheel`` into the venv whose final absolute path is ``venv``, as Entries.

    Raises WheelError for a malformed or unsafe wheel: a member path that is absolute, holds
    ``..`` or lands outside the venv, a missing RECORD, a member missing from RECORD or
    failing its hash, an unknown ``.data`` key or a bad entry point.
    """
    wheel = Path(wheel)
    label = wheel.name
    try:
        parsed = parse_wheel_filename(wheel.name)
    except ValueError as exc:
        raise WheelError(
            f"not a wheel file name: {wheel.name!r}; expected {{dist}}-{{ver}}-{{tags}}.whl"
        ) from exc
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise WheelError(f"cannot read wheel {label!r}: {exc}; download it again") from exc
    with zf:
        source = _Source(zf, label)
        try:
            source.dist_info_dir  # noqa: B018 -- installer checks there is exactly one
        except (InstallerError, ValueError) as exc:
            raise WheelError(f"wheel {label!r} is malformed: {exc}; rebuild it") from exc
        members = _verify(zf, source, label)
        meta = parse_metadata_file(_read_dist_info(source, "METADATA", label))
        dist_name = str(meta["Name"] or source.distribution)
        destination = _EntryDestination(
            scheme_dict=scheme_paths(venv, target, dist_name),
            venv=venv,
            interpreter=posixpath.join(venv, "bin", "python"),
            wheel=wheel,
            label=label,
            members=members,
        )
        metadata = {"INSTALLER": f"{INSTALLER_NAME}\n".encode()}
        if requested:
            metadata["REQUESTED"] = b""
        try:
            installer.install(source, destination, metadata)
        except WheelError:
            raise
        except (InstallerError, ValueError, AssertionError, KeyError) as exc:
            # installer signals bad .data keys, bad WHEEL files and entry points this way.
            raise WheelError(
                f"cannot install wheel {label!r}: {exc or type(exc).__name__}; "
                "the wheel is malformed, rebuild or replace it"
            ) from exc
    elf = frozenset(m.elf for m in members.values() if m.elf is not None and m.installed)
    return InstalledWheel(
        name=canonicalize_name(parsed[0]),
        version=str(parsed[1]),
        wheel=label,
        entries=tuple(sorted(destination.entries.values(), key=lambda e: e.path)),
        scripts=tuple(sorted(destination.scripts)),
        elf_machines=elf,
        tags=frozenset(parsed[3]),
    )


# -- reading and verifying the wheel -------------------------------------------------------


@dataclass(slots=True)
class _Member:
    name: str
    size: int
    hash: Hash
    head: bytes
    executable: bool
    elf: str | None
    installed: bool = False  # set when the destination writes it (skipped members stay False)


def _skipped(name: str) -> bool:
    # Bytecode is compiled on the target (reference §10.3); installer itself refuses
    # __pycache__ content as a security risk.
    return "__pycache__" in name.split("/")[:-1] or name.endswith(".pyc")


class _Source(WheelFile):
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


def _read_dist_info(source: _Source, filename: str, label: str) -> str:
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


def _verify(zf: zipfile.ZipFile, source: _Source, label: str) -> dict[str, _Member]:
    """Check every member's path and RECORD hash once; keep the first bytes for sniffing."""
    for info in zf.infolist():
        _check_name(info.filename, label)
    record_name = f"{source.dist_info_dir}/RECORD"
    rows: dict[str, tuple[str, str, str]] = {}
    try:
        text = _read_dist_info(source, "RECORD", label)
        for row in parse_record_file(text.splitlines()):
            rows[row[0]] = row
    except (csv.Error, ValueError) as exc:
        raise WheelError(f"wheel {label!r} has an unreadable RECORD: {exc}; rebuild it") from exc
    members: dict[str, _Member] = {}
    for info in zf.infolist():
        name = info.filename
        if name.endswith("/") or name == record_name:
            continue
        if name.startswith(f"{source.dist_info_dir}/RECORD."):
            continue  # RECORD.jws / RECORD.p7s signatures are not listed in RECORD
        found = rows.get(name)
        if found is None:
            raise WheelError(
                f"wheel {label!r}: member {name!r} is not listed in RECORD; the wheel was "
                "modified or is broken, replace it"
            )
        row = found
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
        members[name] = _Member(
            name=name,
            size=size,
            hash=hash_,
            head=head,
            executable=bool(mode and stat.S_ISREG(mode) and mode & 0o111),
            elf=_elf_machine(head),
        )
    return members


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _hash_member(zf: zipfile.ZipFile, name: str, algorithm: str) -> tuple[bytes, str, int]:
    hasher = hashlib.new(algorithm)
    head = b""
    size = 0
    with zf.open(name) as stream:
        while chunk := stream.read(_CHUNK):
            if len(head) < _HEAD:
                head += chunk[: _HEAD - len(head)]
            hasher.update(chunk)
            size += len(chunk)
    return head, _b64(hasher.digest()), size


def _elf_machine(head: bytes) -> str | None:
    """The ELF_MACHINES name of an ELF file's e_machine, from its first 20 bytes."""
    if len(head) < _HEAD or head[:4] != b"\x7fELF":
        return None
    is_64 = head[4] == 2  # EI_CLASS: ELFCLASS64
    byteorder: Literal["little", "big"] = "little" if head[5] == 1 else "big"  # EI_DATA
    machine = int.from_bytes(head[18:20], byteorder)
    if machine == 21 and byteorder == "little":
        return "ppc64le"
    if machine == 243 and not is_64:
        return "riscv32"
    if machine == 22 and not is_64:
        return "s390"
    return ELF_MACHINES.get(machine, f"e_machine-{machine}")


# -- the destination ------------------------------------------------------------------------


class _VerifyingReader(io.RawIOBase):
    """A zip member stream that checks size and hash when its last byte has been read."""

    def __init__(self, archive: _LazyZip, member: _Member, label: str) -> None:
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
        digest = _b64(self._hasher.digest())
        if self._seen != self._member.size or digest != self._member.hash.value:
            raise WheelError(
                f"wheel {self._label!r}: member {self._member.name!r} changed since it was "
                "verified; do not modify the wheel cache during a build"
            )

    def close(self) -> None:
        self._stream.close()
        super().close()


@dataclass(eq=False)
class _EntryDestination(WheelDestination):
    """A WheelDestination that collects Entries at the venv's final paths."""

    scheme_dict: dict[str, str]
    venv: str
    interpreter: str
    wheel: Path
    label: str
    members: dict[str, _Member]
    entries: dict[str, Entry] = field(default_factory=dict)
    scripts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.archive = _LazyZip(self.wheel)

    def _path(self, scheme: Scheme, path: str) -> str:
        """The entry path (no leading "/") of ``path`` in ``scheme``; refuse escapes."""
        full = posixpath.normpath(posixpath.join(self.scheme_dict[scheme], path))
        if not full.startswith(self.venv.rstrip("/") + "/") or "\\" in path:
            raise WheelError(
                f"wheel {self.label!r}: {path!r} would be installed at {full!r}, outside "
                f"the venv {self.venv!r}; refusing it, replace the wheel"
            )
        return full.lstrip("/")

    def _add(self, entry: Entry) -> None:
        other = self.entries.get(entry.path)
        if other is not None:
            raise WheelError(
                f"wheel {self.label!r} installs {('/' + entry.path)!r} twice ({other.source!r} "
                f"and {entry.source!r}); the wheel is malformed, rebuild it"
            )
        self.entries[entry.path] = entry

    def _generated(self, scheme: Scheme, path: str, data: bytes, mode: int,
                   source: str) -> RecordEntry:
        self._add(file_entry(self._path(scheme, path), data, mode=mode, source=source))
        return RecordEntry(path, Hash("sha256", _b64(hashlib.sha256(data).digest())), len(data))

    def write_script(
        self, name: str, module: str, attr: str, section: Literal["console", "gui"]
    ) -> RecordEntry:
        script_name, data = Script(name, module, attr, section).generate(self.interpreter, "posix")
        self.scripts.append(script_name)
        return self._generated(Scheme("scripts"), script_name, data, 0o755,
                               f"{self.label}: entry point {script_name}")

    def write_file(
        self, scheme: Scheme, path: str | Any, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        path_ = str(path)
        member = self.members.get(stream.name) if isinstance(stream, zipfile.ZipExtFile) else None
        if member is None:  # generated by installer (INSTALLER, REQUESTED)
            return self._generated(scheme, path_, stream.read(), 0o644, f"{self.label}: {path_}")
        member.installed = True
        source = f"{self.label}: {member.name}"
        if scheme == "scripts" and member.head.startswith(b"#!python"):
            # Spec: replace the first line of "#!python" (or "#!pythonw") scripts with the
            # venv interpreter; same shebang rule as generated scripts.  Scripts are small.
            data = stream.read()
            data = shebang(self.interpreter) + b"\n" + data.partition(b"\n")[2]
            return self._generated(scheme, path_, data, 0o755, source)
        if scheme == "scripts":
            mode = 0o755  # a zip built on Windows may lack +x (reference §8 step 5)
        elif _SHARED_LIBRARY_RE.search(posixpath.basename(path_)):
            mode = 0o644
        else:
            mode = 0o755 if member.executable else 0o644
        self._add(Entry(
            path=self._path(scheme, path_),
            kind="file",
            mode=mode,
            source=source,
            size=member.size,
            opener=_opener(self.archive, member, self.label),
        ))
        return RecordEntry(path_, member.hash, member.size)

    def finalize_installation(
        self, scheme: Scheme, record_file_path: str,
        records: Iterable[tuple[Scheme, RecordEntry]],
    ) -> None:
        def prefix(file_scheme: Scheme) -> str | None:
            if file_scheme == scheme:
                return None
            rel = posixpath.relpath(self.scheme_dict[file_scheme], self.scheme_dict[scheme])
            return rel + "/"

        with construct_record_file(list(records), prefix) as stream:
            data = stream.read()
        self._add(file_entry(self._path(scheme, record_file_path), data,
                             source=f"{self.label}: {record_file_path} (rewritten)"))


class _LazyZip:
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


def _opener(archive: _LazyZip, member: _Member, label: str) -> Callable[[], BinaryIO]:
    def open_member() -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(_VerifyingReader(archive, member, label), _CHUNK))

    return open_member
