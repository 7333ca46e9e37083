"""The writer's own tar layout: byte for byte what tarfile writes, md5s, streams and failures."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydebvenv.debfile import writer
from pydebvenv.debfile.compress import SEGMENT, Chunk, Compressor, get_compressor
from pydebvenv.debfile.entries import normalise
from pydebvenv.debfile.entry import Entry
from pydebvenv.debfile.tarstream import TarStream, end_of_archive
from pydebvenv.errors import ArchiveError

MTIME = 1700000000
MIB = 1 << 20


class _Collect:
    """A compressor that keeps what it is given."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: Chunk, /) -> int:
        self.data += data
        return len(data)

    def close(self) -> None:
        pass


def _tobuf(name: str, kind: str, mode: int, size: int, link: str | None) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE,
                 "symlink": tarfile.SYMTYPE}[kind]
    info.mode, info.mtime, info.size, info.linkname = mode, MTIME, size, link or ""
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict")


def _headers(members: list[tuple[str, str, int, int, str | None]]) -> bytes:
    out = _Collect()
    tar = TarStream(out, MTIME)
    for member in members:
        tar.header(*member)
    tar.write(end_of_archive(tar.offset))
    tar.flush()
    return bytes(out.data)


def data_member(entries: list[Entry], compressor: Compressor, spool_dir: Path
                ) -> tuple[bytes, list[tuple[str, str]]]:
    """data.tar.<c> as write_deb writes it, and its md5sums."""
    with (spool_dir / "spool").open("w+b") as spool:
        pieces, sums = writer._data_tar(normalise(entries), compressor, MTIME, spool, None)
        out = io.BytesIO()
        out.write(compressor.header)
        for piece in pieces:
            piece.copy_to(out)
        out.write(compressor.trailer([(p.size, p.check) for p in pieces]))
    return out.getvalue(), sums


_names = st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1,
                 max_size=130)
_member = st.tuples(
    _names.map(lambda s: f"./{s}"),
    st.sampled_from(["file", "dir", "symlink"]),
    st.sampled_from([0o644, 0o755, 0o777]),
    st.one_of(st.integers(0, 10 * MIB), st.integers(8 ** 11 - 2, 8 ** 11 + 2)),
    st.one_of(st.none(), _names),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_member, min_size=1, max_size=6))
def test_headers_are_tarfiles_bytes(members: list[tuple[str, str, int, int, str | None]]
                                    ) -> None:
    # The fast path (template + patched fields) and tarfile's encoder must agree, for
    # names and targets around the 100-byte limit, multi-byte UTF-8 and huge sizes.
    got = _headers(members)
    expected = b"".join(_tobuf(*m) for m in members)
    end = bytes(2 * tarfile.BLOCKSIZE)
    expected += end + bytes(-(len(expected) + len(end)) % tarfile.RECORDSIZE)
    assert got == expected


@pytest.mark.parametrize("length", [98, 99, 100, 101, 102, 511, 512, 513])
def test_header_name_length_edges(length: int) -> None:
    for kind, link in (("file", None), ("dir", None), ("symlink", "t" * length)):
        name = "./" + "é" * ((length - 2) // 2) + "x" * ((length - 2) % 2)
        members = [(name, kind, 0o755, 0, link)] * 2  # the second one takes the fast path
        expected = b"".join(_tobuf(*m) for m in members)
        assert _headers(members)[:len(expected)] == expected


class _ReadOnly:
    """A stream without readinto: the writer falls back to read()."""

    def __init__(self, data: bytes) -> None:
        self._io = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._io.read(min(n, 1000) if n > 0 else n)  # short reads, too

    def __enter__(self) -> _ReadOnly:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _entries() -> list[Entry]:
    sizes = [0, 1, 511, 512, 513, MIB - 600, MIB, MIB + 1, 3 * MIB + 17, 70_000, SEGMENT + 3]
    out = []
    for i, size in enumerate(sizes):
        data = os.urandom(size)
        out.append(Entry(f"usr/share/t/{i:02d}-{'n' * (i * 12)}", "file", 0o644, "test",
                         size=size, opener=lambda d=data: io.BytesIO(d)))  # type: ignore[misc]
    blob = os.urandom(2 * MIB + 5)
    out.append(Entry("usr/share/t/readonly", "file", 0o755, "test", size=len(blob),
                     opener=lambda: _ReadOnly(blob)))  # type: ignore[arg-type,return-value]
    out.append(Entry("usr/share/t/z-link", "symlink", 0o777, "test", link="l" * 150))
    return out


def test_data_tar_is_tarfiles_bytes(tmp_path: Path) -> None:
    # What TarFile.addfile would write for the same explicit TarInfos: the streaming
    # layout changes speed, not bytes (files cross buffer and segment boundaries here).
    entries = _entries()
    got, sums = data_member(entries, get_compressor("none"), tmp_path)

    expected = io.BytesIO()
    expected_sums = []
    with tarfile.TarFile(fileobj=expected, mode="w", format=tarfile.GNU_FORMAT,
                         encoding="utf-8", errors="strict") as tar:
        tar.addfile(_info(".", "dir", 0o755, 0, None))
        tar.addfile(_info("./usr", "dir", 0o755, 0, None))
        tar.addfile(_info("./usr/share", "dir", 0o755, 0, None))
        tar.addfile(_info("./usr/share/t", "dir", 0o755, 0, None))
        for e in entries:
            if e.kind == "file":
                data = e.open().read()
                tar.addfile(_info(f"./{e.path}", "file", e.mode, e.size, None),
                            io.BytesIO(data))
                expected_sums.append((e.path, hashlib.md5(data).hexdigest()))
            else:
                tar.addfile(_info(f"./{e.path}", e.kind, e.mode, 0, e.link))
    assert got == expected.getvalue()
    assert sums == expected_sums


def _info(name: str, kind: str, mode: int, size: int, link: str | None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE,
                 "symlink": tarfile.SYMTYPE}[kind]
    info.mode, info.mtime, info.size, info.linkname = mode, MTIME, size, link or ""
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


class _Failing(_Collect):
    def write(self, data: Chunk, /) -> int:
        raise OSError("no space left on device")

    def finish(self) -> int:
        return 0


def test_compressor_failure_reaches_the_caller(tmp_path: Path) -> None:
    # An error in a compressing thread is raised in the caller, without hanging, even with
    # far more segments behind it than threads.
    compressor = Compressor("failing", "", lambda raw: _Failing(), MIB, b"",
                            lambda segments: b"")
    big = os.urandom(MIB)
    entries = [Entry(f"usr/f{i}", "file", 0o644, "t", size=MIB,
                     opener=lambda: io.BytesIO(big)) for i in range(12)]
    with pytest.raises(OSError, match="no space left"):
        data_member(entries, compressor, tmp_path)


def test_short_stream_names_the_entry(tmp_path: Path) -> None:
    def opener() -> BinaryIO:
        return io.BufferedReader(io.BytesIO(b"abc"))

    entries = [Entry("usr/short", "file", 0o644, "gen", size=MIB + 3, opener=opener)]
    with pytest.raises(ArchiveError, match=r"usr/short.*fewer than its declared size"):
        data_member(entries, get_compressor("none"), tmp_path)
