"""elf.py on the C extensions of real manylinux wheels (pyyaml, markupsafe), against readelf."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pydebvenv.venv.elf import elf_dynamic, elf_machine
from tests.test_elf import readelf_dynamic

pytestmark = pytest.mark.e2e


def test_wheel_extensions_match_readelf(wheel_cache: Path, tmp_path: Path) -> None:
    checked = []
    for wheel in sorted(wheel_cache.glob("*.whl")):
        if not (wheel.name.startswith(("pyyaml-", "markupsafe-")) and "manylinux" in wheel.name):
            continue
        with zipfile.ZipFile(wheel) as zf:
            for member in (n for n in zf.namelist() if n.endswith(".so")):
                data = zf.read(member)
                info = zf.getinfo(member)
                with zf.open(member) as stream:  # a compressed zip member, as install reads it
                    streamed = elf_dynamic(stream, info.file_size)
                (tmp_path / "lib.so").write_bytes(data)
                expected = readelf_dynamic(tmp_path / "lib.so")
                assert expected.needed and "libc.so.6" in expected.needed, member
                assert elf_dynamic(data) == streamed == expected, (wheel.name, member)
                assert elf_machine(data[:20]) in ("x86_64", "aarch64")
                checked.append((wheel.name, member))
    # the session cache holds both projects for x86_64 and aarch64, two Pythons each
    assert len({w for w, _ in checked}) >= 4, checked
