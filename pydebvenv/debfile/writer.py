"""write_deb(): entries + control -> a .deb file, streamed, reproducible and written atomically.

The container is what dpkg-deb writes (deb(5); docs/deb-format.md): an ar archive holding
``debian-binary``, ``control.tar.<c>`` and ``data.tar.<c>``.  data.tar's segments are made
first (segments.py: in parallel, or taken from the segment cache) into an anonymous
temporary file in the system's temporary directory while md5sums are computed, because
md5sums go in control.tar, which precedes data.tar in the ar archive; then the ar archive
is assembled under a temporary name in the output directory and renamed.  Memory use does
not depend on the payload size.  Only that one temporary file is ever in the output
directory, and every file is closed before it is renamed or removed (Windows refuses to
remove an open file; a FUSE filesystem keeps it as a hidden entry; docs/reproducibility.md).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

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
from pydebvenv.debfile.segments import (
    Piece,
    Segment,
    SegmentCache,
    member_key,
    plan,
    produce_all,
)
from pydebvenv.debfile.tarstream import TarStream, end_of_archive, md5, write_tar
from pydebvenv.debfile.tempfiles import owned_file, remove_stale
from pydebvenv.errors import ArchiveError

__all__ = ["DEFAULT_EPOCH", "NAME_MAX", "SEGMENT_CACHE_LIMIT", "TEMP_PREFIX", "resolve_epoch",
           "write_deb"]

#: mtime used when neither the argument nor SOURCE_DATE_EPOCH is set: 1980-01-01T00:00:00Z,
#: the ZIP epoch.  Never the clock; and not 0, since lintian rejects files older than 1975
#: (package-contains-ancient-file; docs/reproducibility.md).
DEFAULT_EPOCH = 315532800

#: The longest file name Linux file systems take (NAME_MAX of ext4, xfs, btrfs, tmpfs).
NAME_MAX = 255
#: How the package's temporary file in the output directory starts (a hidden name).
TEMP_PREFIX = ".pydebvenv-"

#: the default size of the segment cache: a few packages of a few hundred MB each
SEGMENT_CACHE_LIMIT = 2 << 30
_OPEN_PIECES = 256  # cached segments read straight from their files; the rest are copied

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
            tar.content(io.BytesIO(data), len(data), md5())

    write_tar(raw, compressor, mtime, fill)
    return raw.getvalue()


def _data_tar(entries: list[Entry], compressor: Compressor, mtime: int, spool: BinaryIO,
              cache: SegmentCache | None) -> tuple[list[Piece], list[tuple[str, str]]]:
    """data.tar's pieces in order, and (path, md5) of every regular, non-conffile file."""
    segments = plan(entries, compressor, mtime)
    if compressor.spliced:
        pieces = _spliced(segments, compressor, mtime, spool, cache)
    else:
        pieces = _one_stream(segments, compressor, mtime, spool, cache)
    files = [e for segment in segments for e in segment.entries if e.kind == "file"]
    md5s = [sum_ for piece in pieces for sum_ in piece.md5s]
    # dh_md5sums leaves conffiles out (dpkg tracks them in its status file).
    return pieces, [(e.path, sum_) for e, sum_ in zip(files, md5s, strict=True)
                    if not e.conffile]


def _spliced(segments: list[Segment], compressor: Compressor, mtime: int, spool: BinaryIO,
             cache: SegmentCache | None) -> list[Piece]:
    """The compressed segments, then the end of the archive as a segment of its own.

    Made segments are appended to ``spool`` (one file, so few descriptors stay open);
    segments taken from the cache stay in their cache files, up to _OPEN_PIECES of them.
    """
    pieces: list[Piece] = []
    open_files = 0
    for piece in produce_all(segments, compressor, mtime, cache):
        if piece.cached and open_files < _OPEN_PIECES:
            pieces.append(piece)
            open_files += 1
            continue
        offset = spool.seek(0, os.SEEK_END)
        try:
            piece.copy_to(spool)
        finally:
            piece.close()
        pieces.append(replace(piece, source=spool, offset=offset, cached=False))
    # the end depends on the total size: never stored
    tail = end_of_archive(sum(p.size for p in pieces))
    offset = spool.seek(0, os.SEEK_END)
    out = compressor.segment(spool)
    out.write(tail)
    check = out.finish()  # before measuring: it writes the segment's last bytes
    pieces.append(Piece(spool, offset, spool.tell() - offset, len(tail), check, (), False))
    return pieces


def _one_stream(segments: list[Segment], compressor: Compressor, mtime: int, spool: BinaryIO,
                cache: SegmentCache | None) -> list[Piece]:
    """zstd: the segments' tar compressed into one frame (compress.py says why), as one piece.

    The whole member is kept in the cache too, under a key made of its segments' keys: a
    build whose every segment is unchanged takes it as it is.
    """
    key = member_key(segments)
    if cache is not None and key is not None and (found := cache.get(key)) is not None:
        return [found]
    stream = compressor.open(spool)
    total = 0
    md5s: list[str] = []
    for piece in produce_all(segments, compressor, mtime, cache):
        try:
            for chunk in piece.chunks():
                stream.write(chunk)
        finally:
            piece.close()
        total += piece.size
        md5s += piece.md5s
    tail = end_of_archive(total)
    stream.write(tail)
    stream.close()
    member = Piece(spool, 0, spool.tell(), total + len(tail), 0, tuple(md5s), False)
    if cache is not None and key is not None:
        cache.put(key, member)
    return [member]


def write_deb(control: Control, entries: Iterable[Entry], output_dir: Path, *,
              compression: str = "xz", scripts: MaintainerScripts = _NO_SCRIPTS,
              source_date_epoch: int | None = None, segment_cache: Path | None = None,
              segment_cache_limit: int = SEGMENT_CACHE_LIMIT) -> Path:
    """Write ``<package>_<version without epoch>_<arch>.deb`` into ``output_dir``; return its path.

    Entries are normalised (parents added, duplicates refused, modes normalised,
    sorted).  Every mtime is ``source_date_epoch``, else $SOURCE_DATE_EPOCH, else
    DEFAULT_EPOCH.  With ``segment_cache``, data.tar's compressed segments are kept there
    (at most ``segment_cache_limit`` bytes) and reused by later builds (segments.py); the
    bytes written are the same either way.  On any failure nothing is left in
    ``output_dir``.
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
        cache = SegmentCache(Path(segment_cache), segment_cache_limit) \
            if segment_cache else None
        _write(final, normalised, control, scripts, compressor, mtime, size_kib, conffiles,
               cache)
        if cache is not None:
            cache.prune()
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
           compressor: Compressor, mtime: int, size_kib: int, conffiles: list[str],
           cache: SegmentCache | None) -> None:
    # Scratch space, not the output directory: the file has no name where the system
    # allows it (O_TMPFILE on Linux, delete-on-close on Windows), so nothing is left to
    # remove whatever happens.
    pieces: list[Piece] = []
    with _scratch_file() as data_file:
        try:
            try:
                pieces, sums = _data_tar(normalised, compressor, mtime, data_file, cache)
            except OSError as exc:
                raise _scratch_error(exc) from None
            control_tar = _control_tar(
                _control_members(control, scripts, size_kib, sums, conffiles), compressor,
                mtime)
            trailer = compressor.trailer([(p.size, p.check) for p in pieces])
            data_size = len(compressor.header) + sum(p.length for p in pieces) + len(trailer)

            def copy_data(out: BinaryIO) -> None:
                out.write(compressor.header)
                for piece in pieces:
                    piece.copy_to(out)
                out.write(trailer)

            # named for this build and locked while open, so a later build can tell it from
            # what a killed one left
            fd, deb_path = owned_file(final.parent, TEMP_PREFIX, ".deb.tmp")
            try:
                with open(fd, "wb") as deb_file:
                    write_deb_ar(deb_file, "control.tar" + compressor.suffix, control_tar,
                                 "data.tar" + compressor.suffix, data_size, copy_data, mtime)
                # closed before the rename: Windows cannot rename an open file
                os.chmod(deb_path, 0o644)  # created 0600; a package is world-readable
                os.replace(deb_path, final)
            except BaseException:
                # the file is closed by now; if it cannot go, the error that matters is the
                # one being raised, not this one
                with contextlib.suppress(OSError):
                    os.unlink(deb_path)
                raise
        finally:
            for piece in pieces:
                if piece.cached:
                    piece.close()  # cache files: closed before anything may remove them
