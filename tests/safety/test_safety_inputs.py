"""Accepted-but-wrong inputs are refused: relationship fields dpkg would reject, wheels whose
METADATA contradicts their file name, carriage returns in the description."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pydebvenv.debfile.control import Control
from pydebvenv.debfile.entry import file_entry
from pydebvenv.debfile.reader import read_deb
from pydebvenv.debfile.writer import write_deb
from pydebvenv.errors import ArchiveError, ConfigError, InspectError, WheelError
from pydebvenv.target import get_target
from pydebvenv.venv.install import install_wheel
from tests.support.project import offline_build, write_project
from tests.support.wheelmaker import make_wheel

T = get_target("debian-12", "amd64")


@pytest.mark.parametrize(("tool", "key"), [
    ('depends = ["foo (>> ", "bar,,"]', "tool.pydebvenv.depends"),
    ('depends = ["bar,,"]', "tool.pydebvenv.depends"),
    ('pre-depends = ["dpkg (>= 1.0) | "]', "tool.pydebvenv.pre-depends"),
    ('breaks = ["old | older"]', "tool.pydebvenv.breaks"),
    ('provides = ["api (>= 1)"]', "tool.pydebvenv.provides"),
    ('recommends = ["git [amd64]"]', "tool.pydebvenv.recommends"),
    ('suggests = ["Nginx"]', "tool.pydebvenv.suggests"),
    ('conflicts = ["old (< 2)"]', "tool.pydebvenv.conflicts"),
    ('fields = { Enhances = "x,," }', "tool.pydebvenv.fields"),
    ('fields = { Built-Using = "gcc-12 (>= 12)" }', "tool.pydebvenv.fields"),
    ('summary = "a\\rb"', "tool.pydebvenv.summary"),
    ('description = "line one\\rline two"', "tool.pydebvenv.description"),
])
def test_refused_at_build_time(tmp_path: Path, cache: Path, tool: str, key: str) -> None:
    project = write_project(tmp_path / "proj", tool=tool)
    with pytest.raises(ConfigError) as info:
        offline_build(project, tmp_path / "out", cache)
    assert str(info.value).startswith(key) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_carriage_return_never_reaches_the_control_file(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(ConfigError, match=r"option 'summary' contains a carriage return"):
        offline_build(write_project(tmp_path / "proj"), tmp_path / "out", cache,
                      summary="safe\rapp")
    # [project].description reaches METADATA's Summary, whose parser ends the line at a CR
    deb = offline_build(write_project(tmp_path / "proj2", description="safe\rapp"),
                        tmp_path / "out", cache)
    control = subprocess.run(["dpkg-deb", "-I", str(deb), "control"], capture_output=True,
                             check=True).stdout
    assert b"\r" not in control


def test_valid_relations_reach_the_package(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj", tool=(
        'depends = ["aa (>= 1.0) | bb", "cc:any"]\nprovides = ["api (= 1)"]\n'
        'fields = { Enhances = "nginx", Built-Using = "gcc-12 (= 12.2.0-14)" }'))
    deb = offline_build(project, tmp_path / "out", cache)
    out = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends", "Provides", "Enhances"],
                         capture_output=True, text=True, check=True).stdout
    assert "aa (>= 1.0) | bb, cc:any" in out and "Provides: api (= 1)" in out


def test_the_writer_refuses_what_dpkg_would(tmp_path: Path) -> None:
    # the writer refuses what dpkg would (the configuration adds Policy's rules)
    for field, value in (("Depends", "foo (>> "), ("Depends", "bar,,"),
                         ("Conflicts", "a1 | b1"), ("Depends", "foo [amd64]")):
        control = Control("pkg", "1.0", "all", "M <m@example.org>", "s\nx",
                          fields=((field, value),))
        with pytest.raises(ArchiveError, match=rf"invalid {field} field"):
            write_deb(control, [file_entry("usr/share/pkg/x", b"x", source="t")], tmp_path)
        assert list(tmp_path.iterdir()) == []
    control = Control("pkg", "1.0", "all", "M <m@example.org>", "syn\rop\nx")
    with pytest.raises(ArchiveError, match="carriage return"):
        write_deb(control, [], tmp_path)


def test_inspect_reports_an_invalid_relation(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "debfile"))
    from reader_fixtures.build import CONTROL, control_tar, hand_deb

    deb = tmp_path / "bad.deb"
    control = CONTROL.replace("Depends: python3.11, libc6 (>= 2.36)", "Depends: foo (>> , bar")
    deb.write_bytes(hand_deb(control=control_tar(control)))
    with pytest.raises(InspectError, match=r"field 'Depends' is invalid"):
        read_deb(deb)
    assert subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True,
                          check=False).returncode != 0  # dpkg agrees
    result = subprocess.run([sys.executable, "-m", "pydebvenv", "inspect", str(deb)],
                            capture_output=True, text=True, env=os.environ, check=False)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


def _renamed(wheel: Path, filename: str) -> Path:
    """The same wheel under another file name (dist-info directory and RECORD unchanged)."""
    target = wheel.with_name(filename)
    wheel.rename(target)
    return target


@pytest.mark.parametrize(("made", "what"), [
    (("other", "1.0"), "names the distribution 'other', its file name 'mine'"),
    (("mine", "2.0"), "has version '2.0', its file name '1.0'"),
])
def test_metadata_must_match_the_file_name(tmp_path: Path, made: tuple[str, str],
                                           what: str) -> None:
    # a consistent wheel of another name or version, renamed (dist-info and RECORD too)
    wheel = make_wheel(tmp_path, made[0], made[1])
    with zipfile.ZipFile(wheel) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    info, stem = f"{made[0]}-{made[1]}.dist-info", "mine-1.0.dist-info"
    target = tmp_path / "renamed" / "mine-1.0-py3-none-any.whl"
    target.parent.mkdir()
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in members.items():
            if name.endswith("/RECORD"):
                data = data.replace(info.encode(), stem.encode())
            zf.writestr(name.replace(info, stem), data)
    with pytest.raises(WheelError, match=what):
        install_wheel(target, "/usr/share/python/app", T)


def test_metadata_spelled_differently_is_the_same(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "Foo.Bar", "1.0.0")  # Name: Foo.Bar, Version: 1.0.0
    renamed = _renamed(wheel, "foo_bar-1.0-py3-none-any.whl")
    installed = install_wheel(renamed, "/usr/share/python/app", T)
    assert installed.name == "foo-bar" and installed.version == "1.0"
