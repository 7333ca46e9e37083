"""Every OS error and every malformed input is one ``pydebvenv: error:`` line, exit 1 or 2.

No traceback, and nothing left in the output directory (docs/safety.md, "Errors").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.gate import need
from tests.support.project import write_project
from tests.support.wheelmaker import make_wheel


def _build_cmd(project: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pydebvenv", "build", str(project), "-o", str(out),
            "--offline", "--wheel-cache", str(cache), "--target", "debian-12", "--arch",
            "amd64", *extra]


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_NO_INDEX": "1", "SOURCE_DATE_EPOCH": "1700000000"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


def _one_line(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pydebvenv: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _empty(directory: Path) -> None:
    assert not directory.exists() or sorted(p.name for p in directory.iterdir()) == []


def _in_namespace(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` (sh) in a mount namespace of its own: its mounts vanish with it."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        need("mounting a tmpfs or a read-only bind mount needs root and unshare")
    env = {**os.environ, "PIP_NO_INDEX": "1", "SOURCE_DATE_EPOCH": "1700000000"}
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                           "sh", *args], capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize(("where", "size", "words"), [
    ("out", "4k", ("No space left on device", "make room")),
    ("out", "8k", ("No space left on device", "make room")),
    ("tmp", "4k", ("scratch directory", "No space left on device", "TMPDIR")),
    ("tmp", "64k", ("data.tar", "temporary directory", "No space left on device", "TMPDIR")),
])
def test_a_full_disk(tmp_path: Path, cache: Path, where: str, size: str,
                     words: tuple[str, ...]) -> None:
    # the output directory, or the temporary directory: the project's copy fills 4k, the
    # data.tar of a dependency of 100 kB (incompressible) fills 64k
    make_wheel(cache, "big", "1.0", files={"big/__init__.py": "", "big/blob": os.urandom(100_000)})
    project = write_project(tmp_path / "proj", dependencies=["big"])
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / "out" if where == "out" else tmp_path / "out"
    cmd = " ".join(f"'{a}'" for a in _build_cmd(project, out, cache))
    tmpdir = 'TMPDIR="$1" ' if where == "tmp" else ""
    # the build's output is dropped: what find prints is what was left behind
    result = _in_namespace(f'mount -t tmpfs -o size={size} tmpfs "$1" && {tmpdir}{cmd} '
                           '>/dev/null; rc=$?; find "$1" "$2" -mindepth 1 ! -path "$2"; '
                           'exit $rc', str(disk), str(out))
    _one_line(result, 1, *words)
    assert result.stdout == ""


def test_output_directory_read_only(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj")
    out = tmp_path / "ro"
    out.mkdir()
    cmd = " ".join(f"'{a}'" for a in _build_cmd(project, out, cache))
    result = _in_namespace(f'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && {cmd} '
                           '>/dev/null', str(out))
    _one_line(result, 1, str(out), "Read-only file system")
    _empty(out)


def test_output_is_a_file(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj")
    (tmp_path / "afile").write_text("x")
    _one_line(_run(_build_cmd(project, tmp_path / "afile", cache)), 2, "is a file", "-o")
    assert (tmp_path / "afile").read_text() == "x"


def test_long_name_over_the_file_name_limit(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj", tool=f'name = "{"a" * 246}"')
    _one_line(_run(_build_cmd(project, tmp_path / "out", cache)), 2, "tool.pydebvenv.name",
              "at most 245")
    _empty(tmp_path / "out")
    # a name dpkg takes, with a version that makes the .deb's file name too long
    project = write_project(tmp_path / "proj2", tool=f'name = "{"a" * 245}"')
    _one_line(_run(_build_cmd(project, tmp_path / "out", cache)), 1, "more than the 255")
    _empty(tmp_path / "out")


def test_pyproject_not_utf8(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj")
    path = project / "pyproject.toml"
    path.write_bytes(path.read_bytes().replace(b"a test application", b"caf\xe9"))
    _one_line(_run(_build_cmd(project, tmp_path / "out", cache)), 2, str(path), "UTF-8")
    _empty(tmp_path / "out")


def test_pyproject_is_a_directory(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "proj" / "pyproject.toml").mkdir(parents=True)
    _one_line(_run(_build_cmd(tmp_path / "proj", tmp_path / "out", cache)), 2,
              "pyproject.toml", "is a directory")


def test_requirements_not_utf8(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj")
    (project / "requirements.txt").write_bytes(b"dep-one  # caf\xe9\n")
    _one_line(_run(_build_cmd(project, tmp_path / "out", cache)), 2, "requirements.txt",
              "UTF-8")


def test_snippet_not_utf8(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj", tool='postinst = { file = "post.sh" }')
    (project / "post.sh").write_bytes(b"echo caf\xe9\n")
    _one_line(_run(_build_cmd(project, tmp_path / "out", cache)), 2, "post.sh", "UTF-8",
              "tool.pydebvenv.postinst")


def _rewrite(wheel: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(wheel) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members.update(change)
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@pytest.mark.parametrize("row", [b"dep_one/__init__.py,extra,1,2", b"dep_one/__init__.py",
                                 b"a,b"])
def test_record_rows_of_the_wrong_width(tmp_path: Path, cache: Path, row: bytes) -> None:
    wheel = cache / "dep_one-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        record = zf.read("dep_one-1.0.dist-info/RECORD")
    _rewrite(wheel, {"dep_one-1.0.dist-info/RECORD": row + b"\n" + record})
    project = write_project(tmp_path / "proj", dependencies=["dep-one"])
    _one_line(_run(_build_cmd(project, tmp_path / "out", cache)), 1,
              "dep_one-1.0-py3-none-any.whl", "RECORD", "expected 3 elements")
    _empty(tmp_path / "out")


def test_unknown_data_key_is_a_clear_line(tmp_path: Path, cache: Path) -> None:
    make_wheel(cache, "odd", "1.0", files={"odd/__init__.py": "", "odd-1.0.data/bogus/x": "x"})
    project = write_project(tmp_path / "proj", dependencies=["odd"])
    line = _one_line(_run(_build_cmd(project, tmp_path / "out", cache)), 1,
                     "odd-1.0.data/bogus/x is not contained in a valid .data subdirectory")
    assert "object at 0x" not in line and "<" not in line


def test_lock_file_in_an_unwritable_place(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj")
    (project / "requirements.txt").write_text("dep-one\n")
    result = _run([sys.executable, "-m", "pydebvenv", "fetch", str(project), "--lock",
                   "/proc/pydebvenv.lock", "--wheel-cache", str(cache), "--target", "debian-12",
                   "--arch", "amd64", "--find-links", str(cache)])
    _one_line(result, 1, "cannot write the lock file '/proc/pydebvenv.lock'", "--lock")


def test_the_cli_turns_an_unforeseen_os_error_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # the last resort behind the causes fixed where they are: an OSError raised anywhere
    import pydebvenv.cli as cli

    def fail(*args: object) -> int:
        raise PermissionError(13, "Permission denied", "/srv/x")

    monkeypatch.setattr(cli, "_run", fail)
    assert cli.main(["inspect", "x.deb"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pydebvenv: error: /srv/x: Permission denied; check the path")
    assert len(err.splitlines()) == 1
