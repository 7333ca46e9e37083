"""control.py: names, versions, field order, Description folding, Installed-Size, md5sums."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from debian.deb822 import Deb822

from pydebvenv.debfile.control import (
    Control,
    deb_filename,
    installed_size,
    render_conffiles,
    render_control,
    render_md5sums,
    validate_package_name,
    validate_version,
)
from pydebvenv.debfile.entries import normalise
from pydebvenv.debfile.entry import dir_entry, file_entry, symlink_entry
from pydebvenv.errors import ArchiveError


@pytest.mark.parametrize("name", ["ab", "hello", "python3-foo", "g++", "lib.x-1", "0ad"])
def test_valid_package_names(name: str) -> None:
    assert validate_package_name(name) == name


@pytest.mark.parametrize("name", ["a", "", "Hello", "-foo", ".foo", "foo_bar", "foo bar", "fé"])
def test_invalid_package_names_one_line(name: str) -> None:
    with pytest.raises(ArchiveError) as info:
        validate_package_name(name)
    message = str(info.value)
    assert "\n" not in message and repr(name) in message and "5.6.1" in message


@pytest.mark.parametrize("version", [
    "1", "1.0", "1.0-1", "1:1.0-1", "1.0~rc1-1~deb12", "2.0+post1", "1.0-1-2", "1:2:3",
    "1.0+0local.abc.1-1", "0",
])
def test_valid_versions(version: str) -> None:
    assert validate_version(version) == version


@pytest.mark.parametrize("version", [
    "", "a1.0", "1.0-", "-1", "1:", "x:1.0", "1.0 1", "1.0_1", "1:2.0-a_b", "1.0:1",
    "1.0-1-", "1.0-é",
])
def test_invalid_versions_one_line(version: str) -> None:
    with pytest.raises(ArchiveError) as info:
        validate_version(version)
    message = str(info.value)
    assert "\n" not in message and repr(version) in message and "deb-version(7)" in message


def test_versions_agree_with_dpkg() -> None:
    """Our validator accepts exactly what dpkg --validate-version accepts on these samples."""
    samples = ["1.0-1", "1:1.0", "a1", "1.0-", "1:2:3", "1.0:1", "1.0_1", "0", "1.0~~dev1",
               "1.0-1-2", "1:", "x:1", "1.0-a+b.c~d"]
    for version in samples:
        dpkg_ok = subprocess.run(["dpkg", "--validate-version", version],
                                 capture_output=True, check=False).returncode == 0
        try:
            validate_version(version)
            ours = True
        except ArchiveError:
            ours = False
        assert ours == dpkg_ok, version


def _control(**kw: object) -> Control:
    base: dict[str, object] = dict(
        package="hello", version="1:1.0-1", architecture="amd64",
        maintainer="Jane Doe <jane@example.org>",
        description="says hello\nFirst paragraph\nstill first.\n\nSecond:\n  verbatim line\n",
        fields=(("Depends", "libc6 (>= 2.36), python3.11"), ("Section", "utils"),
                ("Priority", "optional"), ("Source", "hello-src"), ("X-Extra", "yes")),
    )
    base.update(kw)
    return Control(**base)  # type: ignore[arg-type]


def test_render_control_order_and_folding(golden: Callable[[str, str], None]) -> None:
    text = render_control(_control(), 42).decode()
    golden("control-rendered.txt", text)
    assert text.endswith("\n") and "\n\n" not in text
    lines = text.splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")] == [
        "Package", "Source", "Version", "Architecture", "Maintainer", "Installed-Size",
        "Depends", "Section", "Priority", "X-Extra", "Description"]
    assert " ." in lines and "   verbatim line" in lines
    parsed = Deb822(text)
    assert parsed["Installed-Size"] == "42"
    assert parsed["Description"].splitlines()[0] == "says hello"


@pytest.mark.parametrize("fields, needle", [
    ((("Depends", "a"), ("depends", "b")), "duplicate field"),
    ((("Version", "2"),), "comes from the Control value"),
    ((("Installed-Size", "2"),), "comes from the Control value"),
    ((("Bad Name", "x"),), "invalid field name"),
    ((("Depends", ""),), "empty value"),
    ((("Depends", "a\n\n b"),), "continuation lines"),
    ((("Depends", "a\nb"),), "continuation lines"),
])
def test_bad_fields_refused(fields: tuple[tuple[str, str], ...], needle: str) -> None:
    with pytest.raises(ArchiveError, match=needle) as info:
        render_control(_control(fields=fields), 1)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kw, needle", [
    ({"description": "\nno synopsis"}, "synopsis"),
    ({"maintainer": "two\nlines"}, "maintainer"),
    ({"architecture": "AMD64"}, "architecture"),
    ({"package": "X"}, "package name"),
    ({"version": "v1"}, "Debian version"),
])
def test_bad_control_values(kw: dict[str, str], needle: str) -> None:
    with pytest.raises(ArchiveError, match=needle):
        render_control(_control(**kw), 1)


def test_multiline_field_value_kept() -> None:
    text = render_control(_control(fields=(("X-Multi", "first\n second"),)), 1).decode()
    assert "X-Multi: first\n second\n" in text


def test_installed_size_like_dpkg_gencontrol() -> None:
    entries = normalise([
        file_entry("usr/a", b"", source="t"),            # 0
        file_entry("usr/b", b"x", source="t"),           # 1
        file_entry("usr/c", b"x" * 1024, source="t"),    # 1
        file_entry("usr/d", b"x" * 1025, source="t"),    # 2
        symlink_entry("usr/l", "a", source="t"),         # 1
        dir_entry("usr/e", source="t"),                  # 1
    ])  # + usr/ (1) + root (1)
    assert installed_size(entries) == 0 + 1 + 1 + 2 + 1 + 1 + 1 + 1


def test_installed_size_matches_dpkg_gencontrol(tmp_path: Path) -> None:
    """Compute Installed-Size with dpkg-gencontrol itself on the same tree."""
    entries = normalise([
        file_entry("usr/share/x/a", b"x" * 5000, source="t"),
        file_entry("usr/share/x/b", b"", source="t"),
        file_entry("usr/bin/c", b"y" * 1024, source="t", mode=0o755),
        symlink_entry("usr/bin/d", "c", source="t"),
        dir_entry("var/lib/x", source="t"),
    ])
    tree = tmp_path / "debian" / "tmp"
    for e in entries:
        p = tree / e.path
        if e.kind == "dir":
            p.mkdir(parents=True, exist_ok=True)
        elif e.kind == "symlink":
            p.symlink_to(e.link or "")
        else:
            with e.open() as f:
                p.write_bytes(f.read())
    (tree / "DEBIAN").mkdir()
    (tmp_path / "debian" / "control").write_text(
        "Source: x\nMaintainer: A <a@b.c>\n\nPackage: x\nArchitecture: all\nDescription: d\n d\n")
    (tmp_path / "debian" / "changelog").write_text(
        "x (1.0) unstable; urgency=low\n\n  * t\n\n -- A <a@b.c>  Tue, 14 Nov 2023 22:13:20 +0000\n")
    subprocess.run(["dpkg-gencontrol", "-px", f"-P{tree}", f"-O{tmp_path}/out"],
                   cwd=tmp_path, check=True, capture_output=True)
    fields = Deb822((tmp_path / "out").read_text())
    # dpkg-gencontrol counts the DEBIAN directory too (1 KiB); our tree has none.
    assert int(fields["Installed-Size"]) - 1 == installed_size(entries)


def test_md5sums_and_conffiles_rendering() -> None:
    assert render_md5sums([("usr/a", "D41D8CD98F00B204E9800998ECF8427E")]) == (
        b"d41d8cd98f00b204e9800998ecf8427e  usr/a\n")
    assert render_conffiles(["etc/a.conf", "etc/b/c"]) == b"/etc/a.conf\n/etc/b/c\n"


def test_deb_filename_drops_epoch() -> None:
    assert deb_filename(_control()) == "hello_1.0-1_amd64.deb"
    assert deb_filename(_control(version="2.0")) == "hello_2.0_amd64.deb"
