"""Property tests: damaged archives raise InspectError or read, never anything else, never hang."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_fixtures.build import (
    EXT,
    Tar,
    ar,
    compress,
    control_tar,
    hand_deb,
    simple_data_tar,
)

from pydebvenv.debfile.reader import DebInfo, read_deb
from pydebvenv.debfile.show import format_deb_info
from pydebvenv.errors import InspectError

BODY = b"#!/bin/sh\necho hello\n"
CONF = b"key = value\n"


def _tars() -> tuple[bytes, bytes]:
    data = (Tar().dir("./").dir("./etc").add("./etc/app.conf", data=CONF)
            .dir("./usr").dir("./usr/bin")
            .add("./usr/bin/hello", data=BODY, mode=0o755)
            .add("./usr/bin/again", kind=tarfile.LNKTYPE, link="./usr/bin/hello")
            .add("./usr/bin/hi", kind=tarfile.SYMTYPE, link="hello").bytes())
    md5sums = (f"{hashlib.md5(BODY).hexdigest()}  usr/bin/hello\n"
               f"{hashlib.md5(BODY).hexdigest()}  usr/bin/again\n").encode()
    control = control_tar(md5sums=md5sums, conffiles=b"/etc/app.conf\n",
                          postinst=b"#!/bin/sh\nset -e\n")
    return control, data


CONTROL_TAR, DATA_TAR = _tars()


def _base(compression: str) -> bytes:
    return hand_deb(DATA_TAR, control=CONTROL_TAR, compression=compression)


BASES = {compression: _base(compression) for compression in EXT}


def _interesting(data: bytes) -> list[int]:
    """Offsets of ar headers and, for uncompressed members, of 512-byte tar blocks."""
    offsets, pos = [], 8
    while pos + 60 <= len(data):
        offsets += [pos, pos + 48, pos + 58]
        size = int(data[pos + 48:pos + 58])
        offsets += range(pos + 60, pos + 60 + size, 512)
        pos += 60 + size + size % 2
    return offsets


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**20), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 2**20), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), st.integers(0, 2**20), st.integers(1, 600)),
    st.tuples(st.just("truncate"), st.integers(0, 2**20), st.just(0)),
)


def _mutate(data: bytes, ops: list[tuple[str, int, object]], near: list[int]) -> bytes:
    out = bytearray(data)
    for op, where, arg in ops:
        if not out:
            break
        # Half of the positions land on structure (headers), half anywhere.
        pos = near[where % len(near)] if where % 2 and near else where % len(out)
        pos = min(pos, len(out) - 1)
        if op == "flip":
            out[pos] ^= int(arg)  # type: ignore[call-overload]
        elif op == "insert":
            out[pos:pos] = bytes(arg)  # type: ignore[call-overload]
        elif op == "delete":
            del out[pos:pos + int(arg)]  # type: ignore[call-overload]
        else:
            del out[pos:]
    return bytes(out)


def _check(tmp_path: Path, data: bytes) -> None:
    deb = tmp_path / "fuzz.deb"
    deb.write_bytes(data)
    try:
        info = read_deb(deb)
    except InspectError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(info, DebInfo)
    format_deb_info(info)


def test_bases_are_valid(tmp_path: Path) -> None:
    for data in BASES.values():
        deb = tmp_path / "base.deb"
        deb.write_bytes(data)
        info = read_deb(deb)
        assert [e.kind for e in info.files].count("hardlink") == 1


@pytest.mark.parametrize("compression", list(EXT))
@settings(max_examples=150, deadline=5000,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_archives_fail_cleanly(tmp_path: Path, compression: str,
                                       ops: list[tuple[str, int, object]]) -> None:
    base = BASES[compression]
    _check(tmp_path, _mutate(base, ops, _interesting(base)))


@settings(max_examples=200, deadline=5000,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(mutation, min_size=1, max_size=4), which=st.sampled_from(["control", "data"]),
       compression=st.sampled_from(["xz", "zstd"]))
def test_mutated_tars_fail_cleanly(tmp_path: Path, ops: list[tuple[str, int, object]],
                                   which: str, compression: str) -> None:
    """Damage inside the tar itself, then compress it properly, so the tar parser sees it."""
    tar = CONTROL_TAR if which == "control" else DATA_TAR
    damaged = _mutate(tar, ops, list(range(0, len(tar), 512)) + list(range(124, len(tar), 512)))
    if which == "control":
        data = hand_deb(DATA_TAR, control=damaged, compression=compression)
    else:
        data = hand_deb(damaged, control=CONTROL_TAR, compression=compression)
    _check(tmp_path, data)


@settings(max_examples=100, deadline=5000,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048), prefix=st.sampled_from([b"", b"!<arch>\n"]))
def test_random_bytes_fail_cleanly(tmp_path: Path, data: bytes, prefix: bytes) -> None:
    _check(tmp_path, prefix + data)


@settings(max_examples=100, deadline=5000,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096), compression=st.sampled_from(list(EXT)),
       which=st.sampled_from(["control", "data"]))
def test_random_member_contents_fail_cleanly(tmp_path: Path, data: bytes, compression: str,
                                             which: str) -> None:
    """Arbitrary bytes (compressed as the name says) as control.tar or data.tar."""
    ext = EXT[compression]
    control = compress(data if which == "control" else control_tar(), compression)
    payload = compress(data if which == "data" else simple_data_tar(), compression)
    _check(tmp_path, ar([("debian-binary", b"2.0\n"), (f"control.tar{ext}", control),
                         (f"data.tar{ext}", payload)]))
