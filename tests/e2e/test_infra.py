"""Self-tests of the e2e harness: chroots, dpkg inside them, the wheel cache, the ELF probe."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.chroots import (
    RELEASES,
    _keyring,
    _overlay_ok,
    _source_entries,
    apt_mirror,
    cache_root,
    chroot_copy,
    run_in,
)
from tests.e2e.debtools import (
    EM_AARCH64,
    EM_X86_64,
    dpkg_install,
    dpkg_purge,
    dpkg_status,
    elf_machine,
    lintian,
    make_trivial_deb,
)
from tests.e2e.wheelcache import manylinux_platforms
from tests.support.gate import need

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("ci", "outcome"), [
    ("true", pytest.fail.Exception), ("1", pytest.fail.Exception), ("yes", pytest.fail.Exception),
    ("", pytest.skip.Exception), (None, pytest.skip.Exception),
])
def test_a_missing_tool_skips_here_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str | None, outcome: type[BaseException]
) -> None:
    """README: outside CI a test that cannot run skips; with CI=true it fails instead."""
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    # caught by hand: pytest.raises would let a Skipped through and skip this very test
    try:
        need("no frobnicator here")
    except BaseException as exc:  # pytest's outcomes are BaseExceptions
        raised: BaseException | None = exc
    else:
        raised = None
    assert type(raised) is outcome and str(raised) == "no frobnicator here", repr(raised)


def test_mirror_comes_from_apt_sources(e2e_ready: None) -> None:
    mirror = apt_mirror()
    assert re.match(r"^(https?|file)://", mirror), mirror
    assert any(mirror in uris for uris, _ in _source_entries())


def test_the_settings_override_the_machine(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    """README, Tests: PYDEBVENV_TEST_CACHE, PYDEBVENV_TEST_MIRROR, PYDEBVENV_TEST_KEYRING."""
    monkeypatch.setenv("PYDEBVENV_TEST_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PYDEBVENV_TEST_MIRROR", "file:///srv/debian-mirror")
    monkeypatch.setenv("PYDEBVENV_TEST_KEYRING", str(tmp_path / "keys.gpg"))
    assert (cache_root(), apt_mirror(), _keyring()) == (
        tmp_path / "cache", "file:///srv/debian-mirror", tmp_path / "keys.gpg")
    monkeypatch.delenv("PYDEBVENV_TEST_CACHE")
    assert cache_root() == Path.home() / ".cache" / "pydebvenv-tests"


@pytest.mark.parametrize("overlay", [True, False])
def test_a_chroot_copy_is_an_overlay_unless_told_not_to(
    e2e_ready: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, overlay: bool
) -> None:
    """README, Tests: each test gets its own overlayfs copy, or a `cp -a` copy with
    PYDEBVENV_TEST_NO_OVERLAY=1; either way the cached root never changes."""
    lower = tmp_path / "lower"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc" / "marker").write_text("cached\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    if overlay:
        monkeypatch.delenv("PYDEBVENV_TEST_NO_OVERLAY", raising=False)
        if not _overlay_ok(scratch):
            need(f"overlayfs cannot be mounted in {scratch}")
    else:
        monkeypatch.setenv("PYDEBVENV_TEST_NO_OVERLAY", "1")
    with chroot_copy(lower, scratch) as root:
        assert os.path.ismount(root) is overlay
        (root / "etc" / "marker").write_text("changed\n")
    assert (lower / "etc" / "marker").read_text() == "cached\n"


@pytest.mark.parametrize("target", sorted(RELEASES))
def test_chroot_runs_the_release_python(chroot: Callable[[str], Path], target: str) -> None:
    root = chroot(target)
    release = RELEASES[target]
    proc = run_in(root, release.python, "-c", "import sys; print(sys.version_info[:2])")
    assert proc.stdout.strip() == str(tuple(int(p) for p in release.python[6:].split(".")))
    # /proc is mounted inside, and only for the command: nothing stays mounted in the copy
    assert run_in(root, "cat", "/proc/self/comm").stdout.strip() == "cat"
    assert not any((root / "proc").iterdir())


def test_install_run_purge_a_dpkg_deb_package(
    chroot: Callable[[str], Path], tmp_path: Path
) -> None:
    deb = make_trivial_deb(tmp_path)
    root = chroot("debian-12")
    dpkg_install(root, deb)
    assert dpkg_status(root, "e2e-trivial") == "install ok installed"
    assert run_in(root, "e2e-trivial").stdout == "trivial-ok\n"
    assert run_in(root, "python3.11", "-c", "print(6 * 7)").stdout == "42\n"
    dpkg_purge(root, "e2e-trivial")
    assert not (root / "usr" / "bin" / "e2e-trivial").exists()
    assert dpkg_status(root, "e2e-trivial") in ("", "unknown ok not-installed")


def test_lintian_helper_sees_errors(e2e_ready: None, tmp_path: Path) -> None:
    tags = lintian(make_trivial_deb(tmp_path))
    assert "E: e2e-trivial: no-copyright-file" in tags
    with pytest.raises(AssertionError, match="lintian failed"):
        lintian(tmp_path / "missing.deb")


def test_chroot_copies_are_independent(chroot: Callable[[str], Path]) -> None:
    first, second = chroot("debian-12"), chroot("debian-12")
    (first / "root" / "marker").write_text("x", encoding="utf-8")
    assert not (second / "root" / "marker").exists()


def test_run_in_reports_failures(chroot: Callable[[str], Path]) -> None:
    root = chroot("debian-12")
    with pytest.raises(AssertionError, match="exit code 3"):
        run_in(root, "sh", "-c", "exit 3")


@pytest.mark.parametrize(
    ("python", "machine"),
    [("cp311", "x86_64"), ("cp311", "aarch64"), ("cp313", "x86_64"), ("cp313", "aarch64")],
)
def test_wheel_cache_has_pyyaml_manylinux(wheel_cache: Path, python: str, machine: str) -> None:
    wheels = [p.name for p in wheel_cache.glob(f"pyyaml-*-{python}-{python}-*.whl")]
    assert any("manylinux" in w and w.endswith(f"_{machine}.whl") for w in wheels), wheels


def test_wheel_cache_has_the_build_backend(wheel_cache: Path) -> None:
    assert list(wheel_cache.glob("flit_core-*-py3-none-any.whl"))


def test_manylinux_platforms() -> None:
    x86 = manylinux_platforms((2, 36), "x86_64")
    assert x86[0] == "manylinux_2_36_x86_64"
    assert {"manylinux2014_x86_64", "manylinux1_x86_64", "manylinux_2_5_x86_64"} <= set(x86)
    arm = manylinux_platforms((2, 41), "aarch64")
    assert arm[0] == "manylinux_2_41_aarch64"
    assert "manylinux_2_16_aarch64" not in arm
    assert "manylinux2014_aarch64" in arm
    assert "manylinux1_aarch64" not in arm


def test_elf_machine_reads_the_header() -> None:
    assert elf_machine(Path(sys.executable).resolve().read_bytes()[:64]) in (EM_X86_64, EM_AARCH64)
    assert elf_machine(b"#!/bin/sh\n" + bytes(30)) is None
