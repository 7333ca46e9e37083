"""Packages from write_deb() installed, upgraded, verified, removed and purged by real dpkg."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from writer_samples import EPOCH, dpkg, marker_scripts, sample_control, sample_entries

from pydebvenv.debfile.control import MaintainerScripts
from pydebvenv.debfile.writer import write_deb

pytestmark = pytest.mark.dpkg

CONF = "etc/hello-deb/hello.conf"
MARKERS = "var/lib/hello-deb-markers"


def _build(out: Path, version: str = "1.0-1", compression: str = "xz",
           scripts: MaintainerScripts | None = None) -> Path:
    return write_deb(sample_control(version), sample_entries(version), out,
                     compression=compression, scripts=scripts or marker_scripts(),
                     source_date_epoch=EPOCH)


def _status(root: Path) -> str:
    result = subprocess.run(["dpkg-query", f"--root={root}", "-W", "-f=${db:Status-Abbrev}",
                             "hello-deb"], capture_output=True, text=True, check=False)
    return result.stdout.strip()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if not str(p.relative_to(root)).startswith("var/lib/dpkg")}


@pytest.mark.parametrize("compression", ["xz", "gzip", "zstd", "none"])
def test_each_compression_installs(tmp_path: Path, dpkg_root: Path, compression: str) -> None:
    deb = _build(tmp_path / "out", compression=compression)
    dpkg(dpkg_root, "-i", str(deb))
    assert _status(dpkg_root) == "ii"
    assert (dpkg_root / "usr/bin/hello-deb").read_bytes() == b"#!/bin/sh\necho hello\n"
    assert (dpkg_root / "usr/bin/hello-deb").stat().st_mode & 0o777 == 0o755
    long_name = dpkg_root / "usr/share/hello-deb" / ("long-" * 30 + ".txt")
    assert long_name.read_bytes() == b"long name\n"
    assert (dpkg_root / "usr/share/hello-deb/longlink").resolve() == long_name.resolve()
    assert (dpkg_root / "usr/share/hello-deb/empty").is_dir()
    assert (dpkg_root / "usr/share/hello-deb/data.txt").stat().st_mtime == EPOCH
    dpkg(dpkg_root, "--verify", "hello-deb")


def test_install_scripts_remove_purge(tmp_path: Path, dpkg_root: Path) -> None:
    deb = _build(tmp_path / "out")
    dpkg(dpkg_root, "-i", str(deb))
    markers = dpkg_root / MARKERS
    assert (markers / "preinst").read_text() == "install\n"
    assert (markers / "postinst").read_text() == "configure \n"
    conffiles = subprocess.run(
        ["dpkg-query", f"--root={dpkg_root}", "-W", "-f=${Conffiles}", "hello-deb"],
        capture_output=True, text=True, check=True).stdout
    assert "/etc/hello-deb/hello.conf" in conffiles
    dpkg(dpkg_root, "--verify", "hello-deb")

    dpkg(dpkg_root, "-r", "hello-deb")
    assert (markers / "prerm").read_text() == "remove\n"
    assert _status(dpkg_root) == "rc"
    assert (dpkg_root / CONF).exists()  # -r keeps conffiles
    assert not (dpkg_root / "usr/bin/hello-deb").exists()

    dpkg(dpkg_root, "-P", "hello-deb")
    assert (markers / "postrm").read_text() == "remove\npurge\n"
    assert _status(dpkg_root) == ""
    # everything the package shipped is gone; only the scripts' own markers remain
    assert _files(dpkg_root) <= {"var", "var/lib", "var/lib/hello-deb-markers",
                                  *(f"{MARKERS}/{s}" for s in
                                    ("preinst", "postinst", "prerm", "postrm"))}


def test_remove_without_scripts_leaves_nothing(tmp_path: Path, dpkg_root: Path) -> None:
    deb = _build(tmp_path / "out", scripts=MaintainerScripts())
    dpkg(dpkg_root, "-i", str(deb))
    dpkg(dpkg_root, "-P", "hello-deb")
    assert _files(dpkg_root) == {"var", "var/lib"}


def test_edited_conffile_survives_upgrade(tmp_path: Path, dpkg_root: Path) -> None:
    dpkg(dpkg_root, "-i", str(_build(tmp_path / "v1", "1.0-1")))
    (dpkg_root / CONF).write_text("greeting=edited by the admin\n")
    # 1.1 ships the same conffile content: dpkg keeps the admin's edit without asking
    deb2 = _build(tmp_path / "v2", "1.1-1")
    dpkg(dpkg_root, "-i", str(deb2))
    assert (dpkg_root / CONF).read_text() == "greeting=edited by the admin\n"
    assert (dpkg_root / MARKERS / "postinst").read_text() == "configure \nconfigure 1.0-1\n"
    assert (dpkg_root / MARKERS / "preinst").read_text() == "install\nupgrade 1.0-1 1.1-1\n"
    version = subprocess.run(["dpkg-query", f"--root={dpkg_root}", "-W", "-f=${Version}",
                              "hello-deb"], capture_output=True, text=True, check=True).stdout
    assert version == "1.1-1"
    dpkg(dpkg_root, "--verify", "hello-deb")  # md5sums leave the conffile out: no mismatch
    dpkg(dpkg_root, "-P", "hello-deb")
    assert not (dpkg_root / CONF).exists()


def test_verify_detects_tampering(tmp_path: Path, dpkg_root: Path) -> None:
    """--verify really checks our md5sums: a changed file is reported."""
    dpkg(dpkg_root, "-i", str(_build(tmp_path / "out")))
    (dpkg_root / "usr/share/hello-deb/data.txt").write_text("changed")
    result = subprocess.run(["dpkg", f"--root={dpkg_root}", "--verify", "hello-deb"],
                            capture_output=True, text=True, check=False)
    assert "usr/share/hello-deb/data.txt" in result.stdout
    assert "5" in result.stdout.split()[0]


@pytest.mark.parametrize("compression", ["xz", "gzip", "zstd"])
def test_many_segments_install(tmp_path: Path, dpkg_root: Path, compression: str,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """data.tar made of many segments (xz blocks, sync-flushed deflate, zstd's tar parts in
    one frame) is read by dpkg's own decoders, every file of it."""
    from pydebvenv.debfile import compress, segments

    monkeypatch.setitem(compress.COMPRESSIONS, compression,
                        replace(compress.COMPRESSIONS[compression], segment_size=1024))
    monkeypatch.setattr(segments, "MIN_SEGMENT", 0)
    deb = _build(tmp_path / "out", compression=compression)
    dpkg(dpkg_root, "-i", str(deb))
    dpkg(dpkg_root, "--verify", "hello-deb")
    assert (dpkg_root / "usr/share/hello-deb/data.txt").read_bytes() == b"x" * 3000
    long_name = dpkg_root / "usr/share/hello-deb" / ("long-" * 30 + ".txt")
    assert long_name.read_bytes() == b"long name\n"
