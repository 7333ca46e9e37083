"""elf: the CPU of an ELF file and its DT_NEEDED/DT_SONAME, checked against readelf -d."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pydebvenv.venv.elf import ElfDynamic, elf_dynamic
from tests.support.gate import need
from tests.support.host import system_python_target


def readelf_dynamic(path: Path) -> ElfDynamic:
    """What binutils' readelf -d says: the NEEDED names in order and the SONAME."""
    out = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True, text=True,
                         check=True, env={"LC_ALL": "C"}).stdout
    needed = tuple(re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", out))
    soname = re.findall(r"\(SONAME\)\s+Library soname: \[(.*)\]", out)
    return ElfDynamic(needed, soname[0] if soname else None)


def make_elf(needed: list[str], soname: str | None = None, *, is_64: bool = True,
             little: bool = True, machine: int = 62) -> bytes:
    """A minimal shared object: ELF header, PT_LOAD + PT_DYNAMIC, .dynstr, then .dynamic
    (after the string table, as linkers lay it out).  readelf reads it (test below)."""
    o = "<" if little else ">"
    word = "Q" if is_64 else "I"
    ehsize, phentsize = (64, 56) if is_64 else (52, 32)
    strtab = b"\0"
    index = {}
    for name in [*needed, *([soname] if soname else [])]:
        index[name] = len(strtab)
        strtab += name.encode() + b"\0"
    str_off = ehsize + 2 * phentsize
    dyn_off = (str_off + len(strtab) + 7) // 8 * 8
    base = 0x400000
    tags = [(1, index[n]) for n in needed]
    if soname:
        tags.append((14, index[soname]))
    tags += [(5, base + str_off), (10, len(strtab)), (0, 0)]
    dynamic = b"".join(struct.pack(o + word * 2, t, v) for t, v in tags)
    size = dyn_off + len(dynamic)
    ident = b"\x7fELF" + bytes([2 if is_64 else 1, 1 if little else 2, 1]) + bytes(9)
    if is_64:
        header = ident + struct.pack(o + "HHIQQQIHHHHHH", 3, machine, 1, 0, ehsize, 0, 0,
                                     ehsize, phentsize, 2, 64, 0, 0)
        phdrs = struct.pack(o + "IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
        phdrs += struct.pack(o + "IIQQQQQQ", 2, 6, dyn_off, base + dyn_off, base + dyn_off,
                             len(dynamic), len(dynamic), 8)
    else:
        header = ident + struct.pack(o + "HHIIIIIHHHHHH", 3, machine, 1, 0, ehsize, 0, 0,
                                     ehsize, phentsize, 2, 40, 0, 0)
        phdrs = struct.pack(o + "IIIIIIII", 1, 0, base, base, size, size, 5, 0x1000)
        phdrs += struct.pack(o + "IIIIIIII", 2, dyn_off, base + dyn_off, base + dyn_off,
                             len(dynamic), len(dynamic), 6, 4)
    body = header + phdrs + strtab
    return body + bytes(dyn_off - len(body)) + dynamic


def _host_libs() -> list[Path]:
    """About 40 ELF shared objects of this host's multiarch library directory."""
    if shutil.which("readelf") is None:
        need("readelf is not installed: apt-get install binutils (.ci/run does)")
    host_libs = Path("/usr/lib") / system_python_target().arch.triplet
    libs = sorted(p for p in host_libs.glob("*.so*") if p.is_file() and not p.is_symlink())
    libs = libs[:: max(1, len(libs) // 40)]  # spread over the alphabet
    return [p for p in libs if _head(p) == b"\x7fELF"]  # not the linker scripts (libc.so)


def _head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(4)


def test_host_libraries_match_readelf() -> None:
    libs = _host_libs()
    assert len(libs) >= 10, libs
    for path in libs:
        expected = readelf_dynamic(path)
        assert elf_dynamic(path.read_bytes()) == expected, path
        with path.open("rb") as stream:  # through bounded seeks, never read whole
            assert elf_dynamic(stream, path.stat().st_size) == expected, path


@pytest.mark.parametrize("is_64", [True, False])
@pytest.mark.parametrize("little", [True, False])
def test_synthetic_elf_all_classes_and_orders(is_64: bool, little: bool, tmp_path: Path) -> None:
    needed = ["libstdc++.so.6", "libgcc_s.so.1", "libc.so.6"]
    data = make_elf(needed, "libfoo.so.1", is_64=is_64, little=little,
                    machine=62 if is_64 else 3)
    path = tmp_path / "libfoo.so.1"
    path.write_bytes(data)
    # readelf agrees with the synthetic file: the builder above is a real ELF
    assert readelf_dynamic(path) == ElfDynamic(tuple(needed), "libfoo.so.1")
    assert elf_dynamic(data) == ElfDynamic(tuple(needed), "libfoo.so.1")


def test_not_elf_static_and_broken() -> None:
    assert elf_dynamic(b"#!/bin/sh\necho hi\n") is None
    assert elf_dynamic(b"") is None
    assert elf_dynamic(b"\x7fELF") is None  # truncated header
    good = make_elf(["libc.so.6"])
    # no program headers at all (e_phnum 0): nothing is loaded dynamically
    no_phdrs = good[:56] + b"\0\0" + good[58:]
    assert elf_dynamic(no_phdrs) == ElfDynamic((), None)
    # truncated inside the dynamic section or string table: not trusted
    assert elf_dynamic(good[: len(good) - 20]) is None
    assert elf_dynamic(good[:130]) is None
    # DT_STRTAB pointing outside every PT_LOAD segment
    bad = bytearray(good)
    at = bad.rfind(struct.pack("<QQ", 5, 0x400000 + 64 + 112))
    assert at > 0 and elf_dynamic(bytes(bad)) is not None
    bad[at + 8: at + 16] = struct.pack("<Q", 0x900000)
    assert elf_dynamic(bytes(bad)) is None


_SEED = make_elf(["libstdc++.so.6", "libz.so.1"], "libseed.so")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, len(_SEED)),
       flips=st.lists(st.tuples(st.integers(0, len(_SEED) - 1), st.integers(0, 255)),
                      max_size=8))
def test_malformed_elf_never_raises(cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(_SEED)
    for at, value in flips:
        data[at] = value
    result = elf_dynamic(bytes(data[:cut]))
    assert result is None or isinstance(result, ElfDynamic)
    stream_result = elf_dynamic(io.BytesIO(bytes(data[:cut])), cut)
    assert stream_result == result


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([b"\x7fELF\x01\x01", b"\x7fELF\x02\x01",
                                                 b"\x7fELF\x01\x02", b"\x7fELF\x02\x02"]))
def test_arbitrary_bytes_after_an_elf_ident_never_raise(tail: bytes, ident: bytes) -> None:
    result = elf_dynamic(ident + tail)
    assert result is None or isinstance(result, ElfDynamic)
