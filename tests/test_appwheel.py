"""The application's own wheel through the PEP 517 front end, offline, with an in-tree backend."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from pydebvenv.acquire.appwheel import (
    AppWheel,
    build_app_wheel,
    check_app_wheel_fits,
    copy_source_tree,
)
from pydebvenv.errors import BuildError
from pydebvenv.target import HostFacts, get_target
from tests.support import wheelmaker
from tests.support.tree import snapshot

BACKEND = '''
import pathlib, os
import wheelmaker

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if os.environ.get("FAIL_BACKEND"):
        raise RuntimeError("error: the backend refused: " + os.environ["FAIL_BACKEND"])
    path = wheelmaker.make_wheel(pathlib.Path(wheel_directory), "tiny-app", "2.0", tag=TAG)
    return path.name
'''


def _project(tmp_path: Path, tag: str = "py3-none-any") -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "tiny-app"\nversion = "2.0"\n'
    )
    (project / "backend.py").write_text(BACKEND.replace("TAG", repr(tag)))
    shutil.copy(wheelmaker.__file__, project / "wheelmaker.py")
    return project


def test_builds_offline_with_the_standard_front_end(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    wheel = build_app_wheel(_project(tmp_path), out, wheel_cache=tmp_path / "cache",
                            offline=True, source_date_epoch=1700000000)
    assert wheel.path.parent == out and wheel.path.name == "tiny_app-2.0-py3-none-any.whl"
    assert wheel.pure
    assert [p.name for p in out.iterdir()] == [wheel.path.name]  # its temp dir is gone


def test_a_failing_backend_is_one_line_naming_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL_BACKEND", "no compiler")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BuildError) as info:
        build_app_wheel(_project(tmp_path), out, wheel_cache=tmp_path, offline=True,
                        source_date_epoch=1)
    message = str(info.value)
    assert "building the wheel of" in message and "no compiler" in message
    assert "\n" not in message
    assert list(out.iterdir()) == []


def test_compiled_app_wheel_only_for_the_host_platform(tmp_path: Path) -> None:
    wheel = AppWheel(tmp_path / "tiny_app-2.0-cp311-cp311-linux_x86_64.whl", pure=False)
    debian12 = HostFacts("debian-12", "x86_64")
    check_app_wheel_fits(wheel, get_target("debian-12", "amd64"), debian12)  # the host itself
    for target in (get_target("debian-12", "arm64"), get_target("debian-13", "amd64")):
        with pytest.raises(BuildError, match=f"cannot run on {target.name}"):
            check_app_wheel_fits(wheel, target, debian12)
    with pytest.raises(BuildError, match="compiled code"):
        check_app_wheel_fits(wheel, get_target("debian-12", "amd64"), HostFacts(None, "arm64"))
    pure = AppWheel(tmp_path / "tiny_app-2.0-py3-none-any.whl", pure=True)
    check_app_wheel_fits(pure, get_target("debian-13", "arm64"), HostFacts(None, "arm64"))


def test_offline_without_the_backend_in_the_cache_says_so(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["no-such-backend-xyz"]\nbuild-backend = "nsb"\n'
        '[project]\nname = "tiny-app"\nversion = "2.0"\n'
    )
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BuildError) as info:
        build_app_wheel(project, out, wheel_cache=tmp_path / "cache", offline=True,
                        source_date_epoch=1)
    message = str(info.value)
    assert "no-such-backend-xyz" in message and "pydebvenv fetch" in message, message


# A backend that writes into the tree it builds, as setuptools does (build/, *.egg-info/).
LITTERING = '''
import pathlib
import wheelmaker

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    pathlib.Path("build/lib").mkdir(parents=True, exist_ok=True)
    pathlib.Path("build/lib/tiny.py").write_text("copied\\n")
    pathlib.Path("tiny_app.egg-info").mkdir(exist_ok=True)
    pathlib.Path("tiny_app.egg-info/SOURCES.txt").write_text("backend.py\\n")
    pathlib.Path("README.md").write_text("rewritten by the backend\\n")
    text = pathlib.Path("data/readme-link.txt").read_text()
    path = wheelmaker.make_wheel(pathlib.Path(wheel_directory), "tiny-app", "2.0",
                                 files={"tiny_app/__init__.py": text})
    return path.name
'''


def test_the_backend_never_writes_into_the_project(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "backend.py").write_text(LITTERING)
    (project / "README.md").write_text("the project's readme\n")
    (project / "data").mkdir()
    # a link out of the project (a monorepo's shared file) still reads the same file
    (tmp_path / "shared.txt").write_text("shared text\n")
    (project / "data" / "readme-link.txt").symlink_to("../../shared.txt")
    (project / "dist").mkdir()  # the output directory inside the project
    (project / "dist" / "old.deb").write_bytes(b"x" * 10)
    before = snapshot(project)
    wheel = build_app_wheel(project, project / "dist", wheel_cache=tmp_path / "cache",
                            offline=True, source_date_epoch=1700000000,
                            exclude=[project / "dist"])
    with zipfile.ZipFile(wheel.path) as zf:
        assert zf.read("tiny_app/__init__.py") == b"shared text\n"
    wheel.path.unlink()
    assert snapshot(project) == before  # byte for byte, modes and links included


def test_the_copy_leaves_out_what_no_backend_builds_from(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    for path, text in {
        "pyproject.toml": "[project]\n",
        "src/app/__init__.py": "",
        "src/app/__pycache__/x.cpython-311.pyc": "",
        ".venv/pyvenv.cfg": "home = /usr/bin\n",
        ".venv/lib/big.py": "",
        ".mypy_cache/CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55\n",
        ".mypy_cache/x.json": "",
        "notcache/CACHEDIR.TAG": "something else\n",
        ".git/HEAD": "ref: refs/heads/main\n",
        "out/old.deb": "",
    }.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    (project / "run.sh").write_text("#!/bin/sh\n")
    (project / "run.sh").chmod(0o755)
    (project / "src" / "link.py").symlink_to("app/__init__.py")
    copy = tmp_path / "copy"
    copy_source_tree(project, copy, exclude=[project / "out"])
    copied = snapshot(copy)
    assert sorted(p for p, v in copied.items() if v[0] != "dir") == [
        ".git/HEAD", "notcache/CACHEDIR.TAG", "pyproject.toml", "run.sh", "src/app/__init__.py",
        "src/link.py"]
    assert copied["run.sh"][1] == 0o755
    assert copied["src/link.py"] == ("link", copied["src/link.py"][1], "app/__init__.py")
