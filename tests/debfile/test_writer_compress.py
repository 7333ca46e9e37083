"""compress.py: the closed table, reproducible headers, and round trips through real tools."""

from __future__ import annotations

import io
import lzma
import os
import subprocess
from pathlib import Path

import pytest

from pydebvenv.debfile import compress
from pydebvenv.debfile.compress import COMPRESSIONS, _Xz, _Zstd, get_compressor
from pydebvenv.errors import ArchiveError

DATA = os.urandom(300_000) + b"compressible " * 200_000


def _compress(name: str, data: bytes = DATA, step: int = 65_536) -> bytes:
    raw = io.BytesIO()
    writer = get_compressor(name).open(raw)
    for i in range(0, len(data), step):
        writer.write(data[i:i + step])
    writer.close()
    return raw.getvalue()


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
def test_real_tools_decompress(name: str, tool: str) -> None:
    out = subprocess.run([tool, "-dc"], input=_compress(name), capture_output=True, check=True)
    assert out.stdout == DATA


def test_none_is_identity() -> None:
    assert _compress("none") == DATA


def test_gzip_header_has_no_name_or_time() -> None:
    data = _compress("gzip")
    assert data[3] == 0  # FLG: no FNAME, no FCOMMENT, no FEXTRA
    assert data[4:8] == b"\0\0\0\0"  # MTIME 0


def test_xz_uses_crc64() -> None:
    data = _compress("xz")
    assert data[:6] == b"\xfd7zXZ\0" and data[7] == 0x04  # stream flags: check type CRC64


@pytest.mark.parametrize("step", [1, 4096, 1 << 20])
def test_output_independent_of_write_sizes(step: int) -> None:
    small = DATA[:200_000]
    for name in COMPRESSIONS:
        assert _compress(name, small, step) == _compress(name, small, 65_536), name


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


def _xz_with(threads: int, data: bytes) -> bytes:
    raw = io.BytesIO()
    writer = _Xz(raw, threads=threads)
    for i in range(0, len(data), 70_000):
        writer.write(data[i:i + 70_000])
    writer.close()
    return raw.getvalue()


def test_xz_blocks_parallel_and_reproducible(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """Several xz blocks: same bytes for any thread count, and xz/liblzma decode them."""
    monkeypatch.setattr(compress, "XZ_BLOCK_SIZE", 100_000)
    data = DATA[:1_000_000]
    outputs = {_xz_with(threads, data) for threads in (1, 2, 3, 4)}
    assert len(outputs) == 1
    (out,) = outputs
    assert lzma.decompress(out) == data
    assert subprocess.run(["xz", "-dc"], input=out, capture_output=True, check=True).stdout == data
    path = tmp_path / "out.xz"
    path.write_bytes(out)
    listing = subprocess.run(["xz", "--robot", "--list", str(path)], capture_output=True,
                             text=True, check=True).stdout
    totals = next(line for line in listing.splitlines() if line.startswith("totals")).split()
    assert totals[2] == "10" and totals[6] == "CRC64"  # ten blocks, CRC64 checks


@pytest.mark.parametrize("size", [0, 1, 100_000, 100_001])
def test_xz_edge_sizes(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(compress, "XZ_BLOCK_SIZE", 100_000)
    out = _xz_with(2, DATA[:size])
    assert lzma.decompress(out) == DATA[:size]
    subprocess.run(["xz", "-t"], input=out, check=True)


def test_xz_default_block_is_what_xz_threads_use() -> None:
    assert compress.XZ_BLOCK_SIZE == 3 * (8 << 20)  # 3 x the preset-6 dictionary (xz(1) -T)
