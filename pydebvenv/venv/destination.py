"""The installer WheelDestination that collects Entries at the venv's final path.

pypa/installer decides what goes where; this destination turns each file it is given into
an :class:`Entry` (path under the venv, mode, lazy opener) instead of writing it, generates
entry point scripts and rewrites ``#!python`` shebangs for the final interpreter, and
records RECORD (docs/venv.md, docs/wheels.md).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shlex
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from installer.destinations import WheelDestination
from installer.records import Hash, RecordEntry
from installer.scripts import Script
from installer.utils import Scheme, construct_record_file

from pydebvenv.debfile.entry import Entry, file_entry
from pydebvenv.errors import WheelError
from pydebvenv.venv.wheelzip import (
    LazyZip,
    Member,
    Sniff,
    b64_digest,
    member_opener,
    read_verified,
    sniff_member,
)

__all__ = ["EntryDestination", "shebang"]

# The kernel reads at most 127 bytes of a "#!" line on older kernels (BINPRM_BUF_SIZE 128,
# 256 since Linux 5.1); distlib and pypa/installer use the /bin/sh trick beyond that
# (docs/wheels.md, "Installing a wheel").
_SHEBANG_LIMIT = 127
# Shared objects must not be executable: lintian shared-library-is-executable (docs/lintian.md).
_SHARED_LIBRARY_RE = re.compile(r"\.so(\.[0-9]+)*$")


def shebang(interpreter: str) -> bytes:
    """The first line(s) of a script run by ``interpreter`` (a POSIX path on the target).

    Same rule as pypa/installer's ``Script`` and distlib: a plain ``#!`` line when it fits in
    127 bytes and holds no space, else the ``/bin/sh`` exec trick (docs/wheels.md).  A
    test checks that this equals what installer generates for entry point scripts.
    """
    exe = interpreter.encode()
    if b" " not in exe and len(b"#!" + exe + b"\n") <= _SHEBANG_LIMIT:
        return b"#!" + exe
    quoted = shlex.quote(interpreter).encode()
    return b"#!/bin/sh\n'''exec' " + quoted + b' "$0" "$@"\n' + b"' '''"


@dataclass(eq=False)
class EntryDestination(WheelDestination):
    """A WheelDestination that collects Entries at the venv's final paths.

    ``members`` are the wheel's members checked against RECORD (wheelzip.verify_members);
    ``installed`` maps the names of those installer actually wrote (bytecode members are
    skipped) to what their first bytes say.
    """

    scheme_dict: dict[str, str]
    venv: str
    interpreter: str
    wheel: Path
    label: str
    members: dict[str, Member]
    #: the wheel file's sha256: with a member's name, it names the member's content
    wheel_digest: str | None = None
    entries: dict[str, Entry] = field(default_factory=dict)
    scripts: list[str] = field(default_factory=list)
    installed: dict[str, Sniff] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.archive = LazyZip(self.wheel)

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
        self._add(file_entry(self._path(scheme, path), data, mode=mode, source=source,
                             group=self.wheel_digest or ""))
        return RecordEntry(path, Hash("sha256", b64_digest(hashlib.sha256(data).digest())),
                           len(data))

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
        if scheme == "scripts" and "/" not in path_:
            # the wheel's own scripts (``.data/scripts/``, e.g. a compiled tool such as ruff)
            # are commands in bin/ just like the generated entry point scripts
            self.scripts.append(path_)
        member = self.members.get(stream.name) if isinstance(stream, zipfile.ZipExtFile) else None
        if member is None:  # generated by installer (INSTALLER, REQUESTED)
            return self._generated(scheme, path_, stream.read(), 0o644, f"{self.label}: {path_}")
        # installer's own stream of the member: its first bytes (and an ELF's dynamic
        # section) are read here, the content hash is checked when the archive is written
        sniff = self.installed[member.name] = sniff_member(stream, member, self.label)
        source = f"{self.label}: {member.name}"
        if scheme == "scripts" and sniff.head.startswith(b"#!python"):
            # Spec: replace the first line of "#!python" (or "#!pythonw") scripts with the
            # venv interpreter; same shebang rule as generated scripts.  Scripts are small,
            # read whole, so their RECORD hash is checked right here.
            data = read_verified(stream, member, self.label)
            data = shebang(self.interpreter) + b"\n" + data.partition(b"\n")[2]
            return self._generated(scheme, path_, data, 0o755, source)
        self._add(Entry(
            path=self._path(scheme, path_),
            kind="file",
            mode=_mode(scheme, path_, member),
            source=source,
            size=member.size,
            opener=member_opener(self.archive, member, self.label),
            digest=f"{self.wheel_digest}/{member.name}" if self.wheel_digest else None,
            group=self.wheel_digest or "",
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
                             source=f"{self.label}: {record_file_path} (rewritten)",
                             group=self.wheel_digest or ""))


def _mode(scheme: Scheme, path: str, member: Member) -> int:
    """The mode of a wheel member in the package: never the host's, only the wheel's x bit."""
    if scheme == "scripts":
        return 0o755  # a zip built on Windows may lack +x (docs/wheels.md)
    if _SHARED_LIBRARY_RE.search(posixpath.basename(path)):
        return 0o644
    return 0o755 if member.executable else 0o644
