"""Decompression bombs: small members inflating to gigabytes fail fast, in bounded memory."""

from __future__ import annotations

import gzip
import lzma
import tarfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from reader_fixtures.build import EXT, Tar, ar, compress, control_tar, hand_deb

from pydebvenv.debfile.reader import RATIO_FLOOR, read_deb
from pydebvenv.errors import InspectError

GIB = 2**30
ZEROS = bytes(1 << 20)


def _header(size: int) -> bytes:
    info = tarfile.TarInfo("./big")
    info.size = size - 512
    info.mode = 0o644
    return info.tobuf(format=tarfile.GNU_FORMAT)


def _zstd_stream(size: int, header: bool) -> bytes:
    """One zstd frame, compressed chunk by chunk (never more than 1 MiB of input at once)."""
    obj = zstandard.ZstdCompressor(level=1).compressobj()
    parts = [obj.compress(_header(size))] if header else []
    parts += [obj.compress(ZEROS) for _ in range(size // len(ZEROS))]
    return b"".join([*parts, obj.flush()])


def _repeated(size: int, header: bool, one: Callable[[bytes], bytes]) -> bytes:
    """Concatenated gzip members / xz streams (both formats allow it; gzip(1), xz(1)): the
    first carries the tar header, then the same 64 MiB-of-zeros stream over and over."""
    block = bytes(64 * 2**20)
    first = one((_header(size) if header else b"") + block[512 if header else 0:])
    return first + one(block) * (size // len(block) - 1)


def bomb_stream(compression: str, *, header: bool) -> tuple[bytes, int]:
    """A compressed tar of `size` bytes: optionally one file header claiming it all, zeros."""
    if compression == "zstd":
        size = 8 * GIB
        return _zstd_stream(size, header), size
    if compression == "gzip":  # deflate cannot pass ~1030:1, so 2 GiB is already ~2 MB
        size = 2 * GIB
        return _repeated(size, header, lambda data: gzip.compress(data, 9, mtime=0)), size
    size = 8 * GIB
    return _repeated(size, header, lambda data: lzma.compress(data, preset=0)), size


@pytest.fixture(scope="module", params=["zstd", "gzip", "xz"])
def bomb_deb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             ) -> tuple[Path, str, int]:
    compression = request.param
    stream, size = bomb_stream(compression, header=True)
    ext = EXT[compression]
    deb = tmp_path_factory.mktemp("bomb") / f"bomb-{compression}.deb"
    deb.write_bytes(ar([("debian-binary", b"2.0\n"),
                        (f"control.tar{ext}", compress(control_tar(), compression)),
                        (f"data.tar{ext}", stream)]))
    return deb, compression, size


def test_bomb_is_rejected_fast_in_bounded_memory(bomb_deb: tuple[Path, str, int]) -> None:
    deb, compression, size = bomb_deb
    assert deb.stat().st_size < size // 500  # really a bomb: ratio > 500:1
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(InspectError) as caught:
            read_deb(deb)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert "\n" not in message
    assert f"'data.tar{EXT[compression]}' decompresses to more than" in message
    assert "decompression bomb" in message and "max_ratio" in message
    assert elapsed < 30, f"took {elapsed:.1f}s"
    assert peak < 48 * 2**20, f"peak traced memory {peak} bytes"


def test_zeros_after_the_end_of_the_tar_are_drained_and_bounded(tmp_path: Path) -> None:
    stream, _ = bomb_stream("zstd", header=False)
    deb = tmp_path / "zeros.deb"
    deb.write_bytes(ar([("debian-binary", b"2.0\n"),
                        ("control.tar.zst", compress(control_tar(), "zstd")),
                        ("data.tar.zst", stream)]))
    started = time.monotonic()
    with pytest.raises(InspectError, match="decompresses to more than"):
        read_deb(deb)
    assert time.monotonic() - started < 30


def test_bomb_in_control_tar(tmp_path: Path) -> None:
    stream, _ = bomb_stream("zstd", header=True)
    deb = tmp_path / "control-bomb.deb"
    deb.write_bytes(ar([("debian-binary", b"2.0\n"), ("control.tar.zst", stream),
                        ("data.tar", Tar().dir("./").bytes())]))
    with pytest.raises(InspectError, match=r"'control\.tar\.zst' decompresses to more than"):
        read_deb(deb)


def test_limits_are_parameters(tmp_path: Path) -> None:
    """A genuine, very compressible package needs a larger limit, and gets it."""
    data = Tar().dir("./").add("./zeros", data=bytes(RATIO_FLOOR + 2**20)).bytes()
    deb = tmp_path / "zeros.deb"
    deb.write_bytes(hand_deb(data, compression="zstd"))
    with pytest.raises(InspectError, match="larger max_ratio"):
        read_deb(deb)
    info = read_deb(deb, max_ratio=10**6)
    assert info.files[-1].size == RATIO_FLOOR + 2**20
    with pytest.raises(InspectError, match="decompresses to more than 1000000 bytes"):
        read_deb(deb, max_ratio=10**6, max_size=10**6)
