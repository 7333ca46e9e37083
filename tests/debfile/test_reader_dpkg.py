"""read_deb on packages built by the real dpkg-deb, compared with dpkg-deb's own listing."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from reader_fixtures.build import (
    CONTROL,
    LONG_NAME,
    build_with_dpkg,
    dpkg_contents,
    dpkg_fields,
)

from pydebvenv.debfile.reader import DebInfo, read_deb
from pydebvenv.debfile.show import format_deb_info

pytestmark = pytest.mark.dpkg

COMPRESSIONS = ["zstd", "xz", "gzip", "none"]
EXT = {"none": "", "gzip": ".gz", "xz": ".xz", "zstd": ".zst"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("dpkg-built")
    return {c: build_with_dpkg(tmp, c) for c in COMPRESSIONS}


def _perms(entry_kind: str, mode: int) -> str:
    bits = {"file": stat.S_IFREG, "hardlink": stat.S_IFREG, "dir": stat.S_IFDIR,
            "symlink": stat.S_IFLNK}[entry_kind]
    text = stat.filemode(bits | mode)
    return "h" + text[1:] if entry_kind == "hardlink" else text


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_file_list_matches_dpkg_deb_contents(built: dict[str, Path], compression: str) -> None:
    deb = built[compression]
    info = read_deb(deb)
    ours = [(_perms(e.kind, e.mode), e.owner, e.size, e.path, e.link) for e in info.files]
    assert ours == dpkg_contents(deb)
    assert any(len(e.path) > 100 for e in info.files)  # GNU long name survived
    assert any(e.link is not None and len(e.link) > 100 for e in info.files)  # long link


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_control_and_layout_match_dpkg_deb(built: dict[str, Path], compression: str) -> None:
    info = read_deb(built[compression])
    assert info.control == dpkg_fields(built[compression])
    assert list(info.control) == [line.split(":")[0] for line in CONTROL.splitlines()
                                  if not line.startswith(" ")]
    assert info.members == ("debian-binary", f"control.tar{EXT[compression]}",
                            f"data.tar{EXT[compression]}")
    assert info.compression == (compression, compression)
    assert info.format_version == "2.0"


def test_conffiles_scripts_and_md5sums(built: dict[str, Path]) -> None:
    info = read_deb(built["xz"])
    assert info.conffiles == ("/etc/sample/sample.conf",)
    assert set(info.scripts) == {"preinst", "postinst", "prerm", "postrm", "triggers"}
    assert info.scripts["postinst"] == "#!/bin/sh\nset -e\n# postinst of sample\nexit 0\n"
    assert info.scripts["triggers"] == "interest-noawait /usr/lib/python3.11\n"
    assert info.md5sums[LONG_NAME] == hashlib.md5(b"x = 1\n" * 300).hexdigest()
    by_path = {e.path: e for e in info.files}
    hard = by_path["./usr/share/doc/sample/copyright2"]
    assert hard.kind == "hardlink"
    assert hard.link == "./usr/share/doc/sample/copyright"
    assert hard.md5 == by_path["./usr/share/doc/sample/copyright"].md5
    assert by_path["./usr/share/python/sample/bin/sample"].mode == 0o755
    assert by_path["./usr/share/python/sample/empty"].md5 == hashlib.md5(b"").hexdigest()
    assert "control" in info.control_members and "md5sums" in info.control_members


def test_package_without_md5sums_reads(tmp_path: Path) -> None:
    info = read_deb(build_with_dpkg(tmp_path, "gzip", md5sums=False))
    assert info.md5sums == {}
    assert "md5sums" not in info.control_members


def test_format_shows_fields_scripts_and_listing(built: dict[str, Path]) -> None:
    info = read_deb(built["xz"])
    text = format_deb_info(info)
    assert "Package: sample\n" in text
    assert "Description: a sample package for the reader\n Extended text" in text
    assert " /etc/sample/sample.conf\n" in text
    assert " postinst " in text and "#!/bin/sh" in text
    assert "\ndrwxr-xr-x root/root     0 ./\n" in text
    assert "\n-rw-r--r-- root/root   900 ./usr/share/doc/sample/copyright\n" in text
    assert ("\nlrwxrwxrwx root/root     0 ./usr/bin/sample -> "
            "../share/python/sample/bin/sample\n") in text
    assert ("\nhrw-r--r-- root/root     0 ./usr/share/doc/sample/copyright2 link to "
            "./usr/share/doc/sample/copyright\n") in text
    assert "# postinst of sample" not in text
    full = format_deb_info(info, full_scripts=True)
    assert "   # postinst of sample\n" in full


def test_format_is_deterministic(built: dict[str, Path]) -> None:
    assert format_deb_info(read_deb(built["zstd"])) == format_deb_info(read_deb(built["zstd"]))


def test_values_are_frozen(built: dict[str, Path]) -> None:
    info = read_deb(built["gzip"])
    assert isinstance(info, DebInfo)
    with pytest.raises(AttributeError):
        info.files[0].path = "x"  # type: ignore[misc]


def test_round_trip_through_write_deb(tmp_path: Path) -> None:
    """A package from pydebvenv's own writer reads back, and dpkg-deb agrees with us."""
    from pydebvenv.debfile import writer
    from pydebvenv.debfile.control import Control, MaintainerScripts
    from pydebvenv.debfile.entry import dir_entry, file_entry, symlink_entry

    entries = [
        dir_entry("etc", source="t"),
        file_entry("etc/app.conf", b"a = 1\n", source="t", conffile=True),
        file_entry("usr/share/python/app/bin/app", b"#!/bin/sh\n", mode=0o755, source="t"),
        file_entry(LONG_NAME, b"long\n", source="t"),
        symlink_entry("usr/bin/app", "../share/python/app/bin/app", source="t"),
    ]
    control = Control(package="app", version="1.0-1", architecture="all",
                      maintainer="T <t@example.org>", description="an app\nLonger text.")
    scripts = MaintainerScripts(postinst="#!/bin/sh\nset -e\n")
    deb = writer.write_deb(control, entries, tmp_path, compression="xz", scripts=scripts)
    info = read_deb(deb)
    ours = [(_perms(e.kind, e.mode), e.owner, e.size, e.path, e.link) for e in info.files]
    assert ours == dpkg_contents(deb)
    assert info.control == dpkg_fields(deb)
    assert info.conffiles == ("/etc/app.conf",)
    assert info.scripts["postinst"] == "#!/bin/sh\nset -e\n"
    assert info.md5sums["usr/share/python/app/bin/app"] == hashlib.md5(b"#!/bin/sh\n").hexdigest()


def _cached_debs(count: int) -> list[Path]:
    """Real Debian packages from apt's cache, smallest first (none on a bare machine)."""
    debs = sorted(Path("/var/cache/apt/archives").glob("*.deb"), key=lambda p: p.stat().st_size)
    return debs[:: max(1, len(debs) // count)][:count]


@pytest.mark.parametrize("deb", _cached_debs(12), ids=lambda p: p.name)
def test_real_debian_packages_match_dpkg_deb(deb: Path) -> None:
    info = read_deb(deb)
    ours = [(_perms(e.kind, e.mode), e.owner, e.size, e.path, e.link) for e in info.files]
    assert ours == dpkg_contents(deb)
    assert info.control == dpkg_fields(deb)
