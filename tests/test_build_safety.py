"""A wheel that fails its RECORD fails the whole build, and leaves nothing in the output dir.

RECORD hashes are checked in the one pass that reads every member (the archive write), so
these builds go through resolve and lay out and fail while data.tar is streamed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import pydebvenv
from pydebvenv.errors import WheelError
from tests.support.backend import BACKEND
from tests.support.wheelmaker import make_wheel, record_hash


def _project(root: Path) -> Path:
    project = root / "proj"
    project.mkdir()
    (project / "backend.py").write_text(BACKEND)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "safeapp"\nversion = "1.0"\ndescription = "safety"\n'
        'dependencies = ["dep-one", "dep-bad"]\n'
        'maintainers = [{name = "T", email = "t@example.org"}]\n'
    )
    return project


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    cache = tmp_path / "cache"
    cache.mkdir()
    make_wheel(cache, "dep-one", "1.0")
    return _project(tmp_path), cache, tmp_path / "out"


def _run(project: Path, cache: Path, out: Path) -> Path:
    return pydebvenv.build(project, output_dir=out, target="debian-12", arch="amd64",
                           offline=True, wheel_cache=cache, compression="gzip")


def test_member_not_matching_record_fails_the_build_and_leaves_nothing(
    build: tuple[Path, Path, Path],
) -> None:
    project, cache, out = build
    # a big member, so the mismatch is found mid-stream, after other members were written
    big = bytes(range(256)) * 4096
    make_wheel(cache, "dep-bad", "1.0",
               files={"dep_bad/__init__.py": "", "dep_bad/blob.bin": big},
               record_override={"dep_bad/blob.bin": record_hash(big[:-1] + b"X")})
    with pytest.raises(WheelError) as info:
        _run(project, cache, out)
    message = str(info.value)
    assert "dep_bad-1.0-py3-none-any.whl" in message and "'dep_bad/blob.bin'" in message
    assert "RECORD" in message and "\n" not in message
    assert sorted(p.name for p in out.iterdir()) == []  # no .deb, no temporary file or dir


def test_a_good_build_of_the_same_project(build: tuple[Path, Path, Path]) -> None:
    # the same project with an honest wheel builds: the failure above is the hash's
    project, cache, out = build
    make_wheel(cache, "dep-bad", "1.0", files={"dep_bad/__init__.py": ""})
    deb = _run(project, cache, out)
    assert sorted(p.name for p in out.iterdir()) == [deb.name]


def test_a_script_not_matching_record_fails_the_build(build: tuple[Path, Path, Path]) -> None:
    # "#!python" scripts are read whole (to rewrite the shebang): checked on that read
    project, cache, out = build
    make_wheel(cache, "dep-bad", "1.0",
               files={"dep_bad/__init__.py": "",
                      "dep_bad-1.0.data/scripts/tool": "#!python\nprint('hi')\n"},
               record_override={"dep_bad-1.0.data/scripts/tool": record_hash(b"#!python\n")})
    with pytest.raises(WheelError, match=r"dep_bad-1\.0-py3-none-any\.whl.*"
                                         r"'dep_bad-1\.0\.data/scripts/tool'"):
        _run(project, cache, out)
    assert sorted(p.name for p in out.iterdir()) == []
