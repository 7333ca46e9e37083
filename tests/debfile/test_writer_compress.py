"""compress.py: the closed table, reproducible headers, segments, and real tools reading them."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import subprocess
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydebvenv.debfile import compress
from pydebvenv.debfile.compress import (
    COMPRESSIONS,
    Compressor,
    _Zstd,
    compress_segment,
    crc32_combine,
    get_compressor,
)
from pydebvenv.errors import ArchiveError

DATA = os.urandom(300_000) + b"compressible " * 200_000


def _compress(name: str | Compressor, data: bytes = DATA, step: int = 65_536) -> bytes:
    raw = io.BytesIO()
    compressor = get_compressor(name) if isinstance(name, str) else name
    writer = compressor.open(raw)
    for i in range(0, len(data), step):
        writer.write(data[i:i + step])
    writer.close()
    return raw.getvalue()


def _small(name: str, size: int = 100_000) -> Compressor:
    """The table's row with small segments, so a test's data spans many of them."""
    return replace(get_compressor(name), segment_size=size)


def test_table_is_closed() -> None:
    assert set(COMPRESSIONS) == {"zstd", "xz", "gzip", "none"}
    assert {c.suffix for c in COMPRESSIONS.values()} == {".zst", ".xz", ".gz", ""}


@pytest.mark.parametrize("name", ["bzip2", "lzma", "ZSTD", "", "gz"])
def test_unknown_compression_lists_accepted(name: str) -> None:
    with pytest.raises(ArchiveError) as info:
        get_compressor(name)
    message = str(info.value)
    assert repr(name) in message and "zstd, xz, gzip, none" in message and "\n" not in message


@pytest.mark.parametrize("name, tool", [("zstd", "zstd"), ("xz", "xz"), ("gzip", "gzip")])
@pytest.mark.parametrize("segment", [None, 100_000])
def test_real_tools_decompress(name: str, tool: str, segment: int | None) -> None:
    compressor = _small(name, segment) if segment else get_compressor(name)
    out = subprocess.run([tool, "-dc"], input=_compress(compressor), capture_output=True,
                         check=True)
    assert out.stdout == DATA


@pytest.mark.parametrize("name", ["zstd", "xz", "gzip", "none"])
@pytest.mark.parametrize("size", [0, 1, 99_999, 100_000, 100_001])
def test_edge_sizes(name: str, size: int) -> None:
    out = _compress(_small(name), DATA[:size])
    decompress = {"zstd": lambda b: subprocess.run(["zstd", "-dc"], input=b, check=True,
                                                    capture_output=True).stdout,
                  "xz": lzma.decompress, "gzip": gzip.decompress, "none": bytes}[name]
    assert decompress(out) == DATA[:size]


def test_none_is_identity() -> None:
    assert _compress("none") == DATA


def test_gzip_header_has_no_name_or_time() -> None:
    data = _compress("gzip")
    assert data[3] == 0  # FLG: no FNAME, no FCOMMENT, no FEXTRA
    assert data[4:8] == b"\0\0\0\0"  # MTIME 0
    assert data[9] == 255  # OS: unknown, whatever the host


def test_gzip_segments_make_one_member() -> None:
    out = _compress(_small("gzip"), DATA[:1_000_000])
    # one member: zlib in gzip mode stops at the end of the first member and leaves no tail
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert inflate.decompress(out) == DATA[:1_000_000] and inflate.eof
    assert inflate.unused_data == b""


def test_xz_uses_crc64() -> None:
    data = _compress("xz")
    assert data[:6] == b"\xfd7zXZ\0" and data[7] == 0x04  # stream flags: check type CRC64


@pytest.mark.parametrize("step", [1, 4096, 1 << 20])
def test_output_independent_of_write_sizes(step: int) -> None:
    small = DATA[:200_000]
    for name in COMPRESSIONS:
        assert _compress(_small(name), small, step) == _compress(_small(name), small), name


def test_zstd_identical_across_thread_counts() -> None:
    data = DATA * 4  # several zstd jobs, so workers really split the input
    outputs = set()
    for threads in (1, 2, 4, 8):
        raw = io.BytesIO()
        writer = _Zstd(raw, threads=threads)
        for i in range(0, len(data), 1 << 20):
            writer.write(data[i:i + (1 << 20)])
        writer.close()
        outputs.add(raw.getvalue())
    assert len(outputs) == 1


@pytest.mark.parametrize("name", ["xz", "gzip"])
def test_segments_parallel_and_reproducible(name: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """Many segments: the same bytes for any thread count, and the real tool decodes them."""
    data = DATA[:1_000_000]
    outputs = set()
    for threads in (1, 2, 3, 4):
        monkeypatch.setattr(compress, "worker_threads", lambda t=threads: t)
        outputs.add(_compress(_small(name), data, 70_000))
    assert len(outputs) == 1
    (out,) = outputs
    assert subprocess.run([name, "-dc"], input=out, capture_output=True,
                          check=True).stdout == data
    if name == "xz":
        path = tmp_path / "out.xz"
        path.write_bytes(out)
        listing = subprocess.run(["xz", "--robot", "--list", str(path)], capture_output=True,
                                 text=True, check=True).stdout
        totals = next(line for line in listing.splitlines() if line.startswith("totals"))
        assert totals.split()[2] == "10" and totals.split()[6] == "CRC64"  # ten blocks


@pytest.mark.parametrize("name", ["xz", "gzip", "none"])
def test_a_member_is_its_segments_between_header_and_trailer(name: str) -> None:
    """Each segment compresses alone: a member can be put together from kept segments."""
    compressor = _small(name)
    parts = [DATA[i:i + 100_000] for i in range(0, 500_000, 100_000)]
    made = [compress_segment(compressor, part) for part in parts]
    spliced = (compressor.header + b"".join(data for data, _ in made)
               + compressor.trailer([(len(p), check) for p, (_, check) in zip(parts, made,
                                                                            strict=True)]))
    assert spliced == _compress(compressor, DATA[:500_000])


def test_default_segment_sizes() -> None:
    assert compress.XZ_SEGMENT == 3 * (8 << 20)  # 3 x the preset-6 dictionary (xz(1) -T)
    assert get_compressor("xz").segment_size == compress.XZ_SEGMENT
    assert not get_compressor("zstd").spliced  # dpkg reads only one zstd frame


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.binary(max_size=3000))
def test_crc32_combine_is_zlibs(a: bytes, b: bytes) -> None:
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
