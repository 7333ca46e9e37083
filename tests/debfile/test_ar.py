"""The ar container module: headers rendered byte for byte as dpkg-deb writes them, read back."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from pathlib import Path

import pytest

from pydebvenv.debfile.ar import (
    AR_HEADER_SIZE,
    AR_MAGIC,
    AR_MAX_SIZE,
    ar_header,
    ar_padding,
    read_ar,
)
from pydebvenv.errors import ArchiveError

EPOCH = 1_700_000_000
CONTROL = "Package: tiny\nVersion: 1.0\nArchitecture: all\nMaintainer: A <a@example.org>\n" \
          "Description: tiny\n"


def _dpkg_deb(tmp: Path, filler: int) -> bytes:
    """A tiny package from dpkg-deb; ``filler`` bytes of a file change the members' sizes."""
    root = tmp / f"root-{filler}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(CONTROL)
    (root / "usr/share/tiny").mkdir(parents=True)
    (root / "usr/share/tiny/data").write_bytes(hashlib.shake_256(b"tiny").digest(filler))
    out = tmp / f"tiny-{filler}.deb"
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out)],
                   check=True, capture_output=True, env=env)
    return out.read_bytes()


@pytest.fixture(scope="module")
def dpkg_built(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A dpkg-deb package with at least one odd-sized member, so padding is compared too."""
    tmp = tmp_path_factory.mktemp("ar")
    for filler in range(1, 40):
        data = _dpkg_deb(tmp, filler)
        if any(member.size % 2 for member in read_ar(io.BytesIO(data), len(data))):
            return data
    raise AssertionError("dpkg-deb wrote no odd-sized member in 39 tries")


@pytest.mark.dpkg
def test_debian_binary_header_is_dpkg_debs(dpkg_built: bytes) -> None:
    assert dpkg_built.startswith(AR_MAGIC)
    expected = dpkg_built[len(AR_MAGIC):len(AR_MAGIC) + AR_HEADER_SIZE]
    assert ar_header("debian-binary", 4, EPOCH) == expected


@pytest.mark.dpkg
def test_every_header_and_padding_is_dpkg_debs(dpkg_built: bytes) -> None:
    members = read_ar(io.BytesIO(dpkg_built), len(dpkg_built))
    assert [m.name for m in members] == ["debian-binary", "control.tar.gz", "data.tar.gz"]
    rebuilt = [AR_MAGIC]
    for member in members:
        rebuilt += [ar_header(member.name, member.size, EPOCH),
                    dpkg_built[member.offset:member.offset + member.size],
                    ar_padding(member.size)]
    assert b"".join(rebuilt) == dpkg_built


def test_padding_only_after_odd_sizes() -> None:
    assert [ar_padding(size) for size in (0, 1, 2, 3)] == [b"", b"\n", b"", b"\n"]


def test_header_is_sixty_ascii_bytes_with_its_fields() -> None:
    header = ar_header("data.tar.xz", 12345, 315532800)
    assert len(header) == AR_HEADER_SIZE
    assert header == (b"data.tar.xz     315532800   0     0     100644  12345     `\n")


def test_header_holds_the_largest_size_and_refuses_more() -> None:
    assert ar_header("data.tar.xz", AR_MAX_SIZE, 0)[48:58] == b"9999999999"
    with pytest.raises(ArchiveError, match=r"'data\.tar\.xz' is 10000000000 bytes"):
        ar_header("data.tar.xz", AR_MAX_SIZE + 1, 0)
