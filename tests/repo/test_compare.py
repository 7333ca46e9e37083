"""diff(): control fields, bundled distributions, files, scripts and conffiles between two .debs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pydebvenv
from pydebvenv.cli import main
from pydebvenv.debian.bom import BundledWheel, BundleInputs, render_pylock
from pydebvenv.target import get_target
from tests.support.debs import make_deb

SITE = "usr/share/python/app/lib/python3.11/site-packages"


def _pylock(*wheels: tuple[str, str, str]) -> bytes:
    bundle = BundleInputs(
        package="app", version="1", architecture="all", target=get_target("debian-12", "amd64"),
        venv="/usr/share/python/app", tool_version="0",
        wheels=[BundledWheel(name, version, f"{name.replace('-', '_')}-{version}-py3-none-any.whl",
                             10, sha * 64) for name, version, sha in wheels])
    return render_pylock(bundle).encode()


def _app(out: Path, version: str, files: dict[str, bytes], **kwargs: object) -> Path:
    return make_deb(out, "app", version, files=files, **kwargs)  # type: ignore[arg-type]


def test_nothing_differs_between_a_package_and_itself(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    deb = _app(tmp_path, "1.0", {"usr/bin/app": b"x"})
    changes = pydebvenv.diff(deb, deb)
    assert (changes.control, changes.dependencies, changes.files, changes.scripts,
            changes.conffiles) == ((), (), (), (), ())
    assert main(["diff", str(deb), str(deb)]) == 0
    out = capsys.readouterr().out
    for section in ("control fields", "files", "maintainer scripts", "conffiles"):
        assert f"\n{section}: unchanged\n" in out
    assert "dependencies (from the *.dist-info directories): unchanged" in out


def test_dependencies_from_the_bundled_lists(tmp_path: Path) -> None:
    old = _app(tmp_path / "a", "1.0", {"usr/share/doc/app/pylock.toml": _pylock(
        ("kept", "1.0", "a"), ("up", "1.9", "b"), ("down", "2.0", "c"), ("gone", "0.1", "d"),
        ("rebuilt", "3.0", "e"))})
    new = _app(tmp_path / "b", "1.1", {"usr/share/doc/app/pylock.toml": _pylock(
        ("kept", "1.0", "a"), ("up", "1.10", "b"), ("down", "1.0", "c"), ("new", "5", "f"),
        ("rebuilt", "3.0", "9"))})
    changes = pydebvenv.diff(old, new)
    assert changes.dependencies_from == "pylock.toml"
    assert [(d.name, d.change, d.old, d.new) for d in changes.dependencies] == [
        ("down", "downgraded", "2.0", "1.0"),
        ("gone", "removed", "0.1", None),
        ("new", "added", None, "5"),
        ("rebuilt", "rebuilt", "3.0", "3.0"),
        ("up", "upgraded", "1.9", "1.10"),  # PEP 440 order, not text order
    ]
    text = pydebvenv.repo.format_diff(changes)
    assert "dependencies (from the bundled pylock.toml):\n" in text
    assert "  upgraded   up 1.9 -> 1.10\n" in text
    assert "  rebuilt    rebuilt 3.0 (another wheel file)\n" in text
    assert "  removed    gone 0.1\n" in text


def test_dependencies_of_packages_built_by_other_tools_come_from_dist_info(tmp_path: Path) -> None:
    """A package without a bundled list (dh-virtualenv, fpm...): its .dist-info directories."""
    old = _app(tmp_path / "a", "1.0", {f"{SITE}/Foo_Bar-1.0.dist-info/METADATA": b"m",
                                       f"{SITE}/baz-2.0.dist-info/METADATA": b"m",
                                       f"{SITE}/foo_bar/__init__.py": b""})
    new = _app(tmp_path / "b", "1.1", {
        f"{SITE}/foo_bar-1.2.dist-info/METADATA": b"m",
        f"{SITE}/qux-0.5.dist-info/METADATA": b"m",
        "usr/share/doc/app/pylock.toml": _pylock(("foo-bar", "1.2", "a"))})
    changes = pydebvenv.diff(old, new)
    assert changes.dependencies_from == "dist-info"  # only one side has a list: like with like
    assert [(d.name, d.change, d.old, d.new) for d in changes.dependencies] == [
        ("baz", "removed", "2.0", None), ("foo-bar", "upgraded", "1.0", "1.2"),
        ("qux", "added", None, "0.5")]


def test_control_files_scripts_and_conffiles(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    old = _app(tmp_path / "a", "1.0", {
        "usr/bin/app": b"#!/bin/sh\necho 1\n", "usr/share/app/same": b"same",
        "usr/share/app/gone": b"bye", "etc/app/app.conf": b"a=1\n", "etc/app/old.conf": b"o\n",
    }, conffiles=("etc/app/app.conf", "etc/app/old.conf"), postinst="#!/bin/sh\necho one\n",
        fields=(("Depends", "python3.11"), ("Section", "utils")))
    new = _app(tmp_path / "b", "1.1", {
        "usr/bin/app": b"#!/bin/sh\necho 1.1\n", "usr/share/app/same": b"same",
        "usr/share/app/new": b"hello", "etc/app/app.conf": b"a=2\n", "etc/app/new.conf": b"n\n",
    }, conffiles=("etc/app/app.conf", "etc/app/new.conf"), postinst="#!/bin/sh\necho two\n",
        fields=(("Depends", "python3.11, libc6"), ("Homepage", "https://example.org")))
    changes = pydebvenv.diff(old, new)
    assert [(c.name, c.old, c.new) for c in changes.control] == [
        ("Version", "1.0", "1.1"), ("Depends", "python3.11", "python3.11, libc6"),
        ("Section", "utils", None), ("Homepage", None, "https://example.org")]
    assert [(f.path, f.change, f.old_size, f.new_size, f.what) for f in changes.files] == [
        ("./etc/app/app.conf", "changed", 4, 4, "content"),
        ("./etc/app/new.conf", "added", None, 2, ""),
        ("./etc/app/old.conf", "removed", 2, None, ""),
        ("./usr/bin/app", "changed", 17, 19, "content"),
        ("./usr/share/app/gone", "removed", 3, None, ""),
        ("./usr/share/app/new", "added", None, 5, ""),
    ]
    assert [(s.name, s.change) for s in changes.scripts] == [("postinst", "changed")]
    assert "-echo one" in changes.scripts[0].diff and "+echo two" in changes.scripts[0].diff
    assert [(c.path, c.change) for c in changes.conffiles] == [
        ("/etc/app/app.conf", "changed"), ("/etc/app/new.conf", "added"),
        ("/etc/app/old.conf", "removed")]

    assert main(["diff", str(old), str(new)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"app 1.0 (all) -> app 1.1 (all)\n  old: {old}\n  new: {new}\n")
    assert "files: 2 added, 2 removed, 2 changed (+4 bytes):\n" in text
    assert f"  changed  {'17 -> 19':>17}  ./usr/bin/app  (content)\n" in text
    assert f"  added    {'5':>17}  ./usr/share/app/new\n" in text
    assert "  changed  /etc/app/app.conf (content)\n" in text
    assert "    +echo two\n" in text

    assert main(["diff", "--json", str(old), str(new)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(changes.to_json()))
    assert data["conffiles"][0] == {"path": "/etc/app/app.conf", "change": "changed"}
    assert data["files"][3]["what"] == "content"


def test_mode_and_kind_changes(tmp_path: Path) -> None:
    old = _app(tmp_path / "a", "1.0", {"usr/share/app/x": b"1", "usr/share/app/tool": b"t"})
    new = _app(tmp_path / "b", "1.0", {"usr/share/app/x/inner": b"1", "usr/bin/tool": b"t"})
    changes = pydebvenv.diff(old, new)
    by_path = {f.path: f for f in changes.files}
    assert by_path["./usr/share/app/x/"].what == "file -> dir, mode 0644 -> 0755"
    assert by_path["./usr/share/app/x/"].change == "changed"
    assert by_path["./usr/share/app/tool"].change == "removed"
    assert by_path["./usr/bin/tool"].change == "added"


def test_a_missing_package_is_one_line(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    deb = _app(tmp_path, "1.0", {"usr/bin/app": b"x"})
    assert main(["diff", str(deb), str(tmp_path / "nope.deb")]) == 1
    assert capsys.readouterr().err == (f"pydebvenv: error: {str(tmp_path / 'nope.deb')!r} does "
                                       "not exist; give the path of a .deb file\n")
