"""write_deb(): entries + control -> a .deb file, streamed, reproducible and written atomically.

The container is what dpkg-deb writes (deb(5); docs/deb-format.md): an ar archive holding
``debian-binary``, ``control.tar.<c>`` and ``data.tar.<c>``.  data.tar is streamed into an
anonymous temporary file in the system's temporary directory while md5sums are computed,
because md5sums go in control.tar, which precedes data.tar in the ar archive; then the ar
archive is assembled under a temporary name in the output directory and renamed.  Memory
use does not depend on the payload size.  Only that one temporary file is ever in the
output directory, and every file is closed before it is renamed or removed (Windows
refuses to remove an open file; a FUSE filesystem keeps it as a hidden entry;
docs/reproducibility.md).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pydebvenv.debfile.ar import write_deb_ar
from pydebvenv.debfile.compress import Compressor, get_compressor
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
from pydebvenv.debfile.relations import DPKG_RELATIONS, relation_problem
from pydebvenv.debfile.tarstream import TarStream, write_tar
from pydebvenv.debfile.tempfiles import owned_file, remove_stale
from pydebvenv.errors import ArchiveError, PydebvenvError

__all__ = ["DEFAULT_EPOCH", "NAME_MAX", "TEMP_PREFIX", "resolve_epoch", "write_deb"]

#: mtime used when neither the argument nor SOURCE_DATE_EPOCH is set: 1980-01-01T00:00:00Z,
#: the ZIP epoch.  Never the clock; and not 0, since lintian rejects files older than 1975
#: (package-contains-ancient-file; docs/reproducibility.md).
DEFAULT_EPOCH = 315532800

#: The longest file name Linux file systems take (NAME_MAX of ext4, xfs, btrfs, tmpfs).
NAME_MAX = 255
#: How the package's temporary file in the output directory starts (a hidden name).
TEMP_PREFIX = ".pydebvenv-"

_SCRIPTS = ("preinst", "postinst", "prerm", "postrm")
_RELATIONS = {name.lower() for name in DPKG_RELATIONS}
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


def _write_data_tar(entries: list[Entry], raw: BinaryIO, compressor: Compressor,
                    mtime: int) -> list[tuple[str, str]]:
    """Stream data.tar into ``raw``; return (path, md5) of every regular, non-conffile file."""
    sums: list[tuple[str, Any]] = []

    def fill(tar: TarStream) -> None:
        for entry in entries:
            name = f"./{entry.path}"
            if entry.kind != "file":
                tar.header(name, entry.kind, entry.mode, link=entry.link)
                continue
            tar.header(name, "file", entry.mode, size=entry.size)
            md5 = _add_file(tar, entry)
            if not entry.conffile:
                # dh_md5sums leaves conffiles out (dpkg tracks them in its status file).
                sums.append((entry.path, md5))

    write_tar(raw, compressor, mtime, fill)
    return [(path, md5.hexdigest()) for path, md5 in sums]  # all hashed: the pipeline ended


def _add_file(tar: TarStream, entry: Entry) -> Any:
    """Stream one file into the tar: opened once, read in chunks, exactly ``size`` bytes.

    Returns its md5 object, complete once the pipeline has finished.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    try:
        with entry.open() as stream:
            done = tar.content(stream, entry.size, md5)
            extra = stream.read(1) if done == entry.size else b""
    except PydebvenvError:
        raise
    except OSError as exc:
        raise ArchiveError(
            f"cannot read {entry.path!r} from {entry.source}: {exc}; check that the "
            "file exists, is readable and its size did not change"
        ) from exc
    if done != entry.size:
        raise ArchiveError(
            f"cannot read {entry.path!r} from {entry.source}: it has {done} bytes, fewer "
            f"than its declared size {entry.size}; check that its size did not change"
        )
    if extra:
        raise ArchiveError(
            f"{entry.path!r} from {entry.source} has more than its declared size "
            f"{entry.size}: the file changed while building, or the entry's size is wrong"
        )
    return md5


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


def _check_relations(control: Control) -> None:
    # what dpkg would refuse to install (the configuration holds pydebvenv's own packages
    # to Debian Policy's stricter rules before they get here)
    for field, value in control.fields:
        if field.lower() in _RELATIONS:
            problem = relation_problem(field, value, policy=False)
            if problem is not None:
                raise ArchiveError(f"invalid {field} field {value!r}: {problem} "
                                   "(deb-control(5), Debian Policy 7.1)")


def _control_members(control: Control, scripts: MaintainerScripts, size_kib: int,
                     sums: list[tuple[str, str]], conffiles: list[str]
                     ) -> list[tuple[str, bytes, int]]:
    _check_relations(control)
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

    def fill(tar: TarStream) -> None:
        for name, data, mode in members:
            tar.header(f"./{name}", "file", mode, size=len(data))
            tar.content(io.BytesIO(data), len(data), hashlib.md5(usedforsecurity=False))

    write_tar(raw, compressor, mtime, fill)
    return raw.getvalue()


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
    name = deb_filename(control)
    if len(name.encode("utf-8")) > NAME_MAX:
        raise ArchiveError(
            f"the package file name {name[:60]}... is {len(name.encode('utf-8'))} bytes, more "
            f"than the {NAME_MAX} a file name may have: shorten the package name or version"
        )
    final = output_dir / name
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        # what builds killed here left (never a running build's: debfile/tempfiles.py)
        remove_stale(output_dir, TEMP_PREFIX)
        _write(final, normalised, control, scripts, compressor, mtime, size_kib, conffiles)
    except OSError as exc:  # the output directory: read-only, full, not a directory...
        raise ArchiveError(
            f"cannot write {str(final)!r}: {exc.strerror or exc} "
            f"({errno.errorcode.get(exc.errno or 0, 'error')}); make room, or choose a "
            "writable output directory"
        ) from None
    return final


def _scratch_error(exc: OSError) -> ArchiveError:
    return ArchiveError(
        f"cannot write data.tar in the temporary directory {tempfile.gettempdir()!r}: "
        f"{exc.strerror or exc} ({errno.errorcode.get(exc.errno or 0, 'error')}); make room "
        "there, or point TMPDIR elsewhere")


@contextlib.contextmanager
def _scratch_file() -> Iterator[BinaryIO]:
    try:
        data_file = tempfile.TemporaryFile(  # noqa: SIM115 -- the with below closes it
            prefix="pydebvenv-", suffix=".data.tar")
    except OSError as exc:
        raise _scratch_error(exc) from None
    with data_file:
        yield data_file


def _write(final: Path, normalised: list[Entry], control: Control, scripts: MaintainerScripts,
           compressor: Compressor, mtime: int, size_kib: int, conffiles: list[str]) -> None:
    # Scratch space, not the output directory: the file has no name where the system
    # allows it (O_TMPFILE on Linux, delete-on-close on Windows), so nothing is left to
    # remove whatever happens.
    with _scratch_file() as data_file:
        try:
            sums = _write_data_tar(normalised, data_file, compressor, mtime)
        except OSError as exc:
            raise _scratch_error(exc) from None
        data_size = data_file.tell()
        control_tar = _control_tar(
            _control_members(control, scripts, size_kib, sums, conffiles), compressor, mtime)
        data_file.seek(0)
        # named for this build and locked while open, so a later build can tell it from
        # what a killed one left
        fd, deb_path = owned_file(final.parent, TEMP_PREFIX, ".deb.tmp")
        try:
            with open(fd, "wb") as deb_file:
                write_deb_ar(deb_file, "control.tar" + compressor.suffix, control_tar,
                             "data.tar" + compressor.suffix, data_file, data_size, mtime)
            # closed before the rename: Windows cannot rename an open file
            os.chmod(deb_path, 0o644)  # created 0600; a package is world-readable
            os.replace(deb_path, final)
        except BaseException:
            # the file is closed by now; if it cannot go, the error that matters is the
            # one being raised, not this one
            with contextlib.suppress(OSError):
                os.unlink(deb_path)
            raise
