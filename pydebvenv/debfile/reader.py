"""read_deb(): read a .deb back and verify it, as one :class:`DebInfo` or one InspectError line.

Everything is streamed: the ar container is walked by offsets (:mod:`.ar`), each tar member is
decompressed chunk by chunk behind a size limit (:mod:`.streams`), and file contents are hashed
as they pass (:mod:`.tarwalk`); control files are checked in :mod:`.controlcheck`.  This module
owns the member order dpkg requires and turns every defect into
:class:`~pydebvenv.errors.InspectError` naming the file.

python-debian's ``ArFile``/``DebFile`` are not used for the container: ``ArFile`` accepts a
declared size beyond the end of the file and raises ``ValueError`` on a non-numeric size, and
``DebFile`` reads a whole zstd member into memory to pipe it through ``unzstd``.

Paths in :class:`DebFileEntry` are written as ``dpkg-deb --contents`` shows them: ``./``
prefixed, directories ending in ``/`` (the root is ``./``).  Keys of ``DebInfo.md5sums`` are
written as dpkg writes them in the md5sums file: relative, without ``./`` (``usr/bin/x``).
"""

from __future__ import annotations

import lzma
import re
import stat
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from pydebvenv.debfile.ar import ArMember, MemberReader, read_ar
from pydebvenv.debfile.controlcheck import (
    cross_check,
    parse_conffiles,
    parse_control,
    parse_md5sums,
)
from pydebvenv.debfile.streams import (
    CONTROL_MAX_SIZE,
    DEFAULT_MAX_RATIO,
    DEFAULT_MAX_SIZE,
    RATIO_FLOOR,
    Compression,
    drain,
    member_limit,
    open_member,
)
from pydebvenv.debfile.tarwalk import (
    MAX_MEMBERS,
    DebFileEntry,
    FileKind,
    open_tar,
    read_control_tar,
    read_data_tar,
)
from pydebvenv.errors import InspectError

# The limits, Compression, FileKind and DebFileEntry are defined next to the code that
# enforces or produces them and named here too, since read_deb's signature and DebInfo use them.
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
    "read_deb",
]

# deb(5) and dpkg src/deb/extract.c: which compressions each member may use (by name only).
_CONTROL_EXT: dict[str, Compression] = {"": "none", ".gz": "gzip", ".xz": "xz", ".zst": "zstd"}
_DATA_EXT: dict[str, Compression] = {**_CONTROL_EXT, ".bz2": "bzip2", ".lzma": "lzma"}
_SCRIPTS = ("preinst", "postinst", "prerm", "postrm", "config", "triggers")


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
    contents: dict[str, bytes] = field(default_factory=dict)  # the files ``keep`` chose


def _layout(members: list[ArMember]) -> tuple[ArMember, ArMember, ArMember]:
    """Check the member order dpkg requires (deb(5); extract.c) -> (binary, control, data)."""
    first = members[0]
    if first.name != "debian-binary":
        raise InspectError(f"not a Debian binary package: first ar member is "
                           f"{first.name!r}, expected 'debian-binary'")
    control: ArMember | None = None
    for member in members[1:]:
        name = member.name
        if name.startswith("_"):
            continue  # deb(5): '_'-prefixed members are skipped (e.g. signatures)
        if name.startswith("control.tar"):
            if control is not None:
                raise InspectError(f"contains two control members ({control.name!r}, "
                                   f"{name!r})")
            if name[len("control.tar"):] not in _CONTROL_EXT:
                raise InspectError(f"uses unknown compression for member {name!r}; "
                                   "control.tar may be uncompressed, .gz, .xz or .zst")
            control = member
        elif name.startswith("data.tar") and control is not None:
            if name[len("data.tar"):] not in _DATA_EXT:
                raise InspectError(f"uses unknown compression for member {name!r}; "
                                   "data.tar may be uncompressed, .gz, .xz, .zst, .bz2 or .lzma")
            return first, control, member  # dpkg ignores anything after data.tar
        else:
            wanted = "data.tar" if control is not None else "control.tar"
            raise InspectError(f"has premature member {name!r} before {wanted!r}")
    raise InspectError("has no data.tar member" if control else "has no control.tar member")


def _check_version(raw: bytes) -> str:
    """debian-binary: a newline and major version 2 (deb(5); extract.c)."""
    if b"\n" not in raw:
        raise InspectError(f"debian-binary {raw[:20]!r} has no newline; expected b'2.0\\n'")
    line = raw.split(b"\n", 1)[0]
    found = re.fullmatch(rb"(\d+)\.(\d+)", line)
    if found is None or int(found.group(1)) != 2:
        raise InspectError(f"format version {line[:20]!r} in debian-binary is not 2.x; "
                           "expected 2.0")
    return line.decode("ascii")


# Everything the decompressors, tarfile and the text decoders raise on bad input.
_BAD_INPUT = (EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError,
              tarfile.TarError, UnicodeError, ValueError, OverflowError, RecursionError)


def read_deb(path: Path | str, *, max_ratio: int = DEFAULT_MAX_RATIO,
             max_size: int = DEFAULT_MAX_SIZE,
             keep: Callable[[str], bool] | None = None) -> DebInfo:
    """Read and verify the .deb at ``path``; raise InspectError naming the first defect.

    Each tar member may decompress to ``min(max_size, max(max_ratio * compressed size,
    RATIO_FLOOR))`` bytes; control.tar additionally to CONTROL_MAX_SIZE.  Memory stays bounded:
    file contents are hashed as they stream past, only control files are held, and the files
    whose path (``usr/share/doc/x/f``) ``keep`` accepts, up to KEEP_MAX_SIZE each, in
    ``DebInfo.contents``.
    """
    path = Path(path)
    contents: dict[str, bytes] = {}
    step = "reading the ar container"
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError
        if not stat.S_ISREG(mode):  # opening a fifo would block forever
            raise InspectError("is not a regular file; give the path of a .deb file")
        with path.open("rb") as fp:
            file_size = path.stat().st_size
            members = read_ar(fp, file_size)
            binary, control_m, data_m = _layout(members)
            step = "reading debian-binary"
            if binary.size > 1024:
                raise InspectError(f"debian-binary is {binary.size} bytes; expected 4 "
                                   "(b'2.0\\n')")
            version = _check_version(MemberReader(fp, binary).read())
            control_c = _CONTROL_EXT[control_m.name[len("control.tar"):]]
            data_c = _DATA_EXT[data_m.name[len("data.tar"):]]

            step = f"reading {control_m.name}"
            limit = min(CONTROL_MAX_SIZE, member_limit(control_m, max_ratio, max_size))
            stream = open_member(fp, control_m, "control.tar", control_c, limit)
            with open_tar(stream) as tar:
                control_files = read_control_tar(tar)
            drain(stream)
            if "control" not in control_files:
                raise InspectError("control.tar has no 'control' file")
            # each file is parsed and its bytes dropped before the next: memory stays near
            # the largest control file (and what it parses into), not their sum
            control_members = tuple(sorted(control_files))
            control = parse_control(control_files.pop("control"))
            md5sums = parse_md5sums(control_files.pop("md5sums", b""))
            conffiles = parse_conffiles(control_files.pop("conffiles", b""))
            scripts = {name: control_files.pop(name).decode("utf-8", errors="replace")
                       for name in _SCRIPTS if name in control_files}
            control_files.clear()

            step = f"reading {data_m.name}"
            limit = member_limit(data_m, max_ratio, max_size)
            stream = open_member(fp, data_m, "data.tar", data_c, limit)
            with open_tar(stream) as tar:
                files = read_data_tar(tar, keep, contents)
            drain(stream)
            step = "checking md5sums and conffiles"
            cross_check(files, md5sums, conffiles)
    except InspectError as exc:
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
        control_members=control_members,
        conffiles=conffiles,
        scripts=scripts,
        files=tuple(files),
        md5sums=md5sums,
        contents=contents,
    )
