"""The application's own wheel through the PEP 517 front end, offline, with an in-tree backend."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pydebvenv.acquire.appwheel import AppWheel, build_app_wheel, check_app_wheel_fits
from pydebvenv.errors import BuildError
from pydebvenv.target import HostFacts, get_target
from tests.support import wheelmaker

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
