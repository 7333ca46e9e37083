"""No credential is printed, logged or packaged, whatever form the requirement takes.

A URL may carry ``user:password@`` (RFC 3986 §3.2.1); pydebvenv.redact removes it from every
message, and a wheel whose METADATA would ship one is refused (docs/safety.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pydebvenv.errors import WheelError
from tests.support.project import offline_build, write_project
from tests.support.wheelmaker import make_wheel

SECRET = "s3cr3t-pass"
URL = f"https://alice:{SECRET}@wheels.example.org"


def _cli_build(project: Path, out: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_NO_INDEX": "1", "SOURCE_DATE_EPOCH": "1700000000"}
    return subprocess.run(
        [sys.executable, "-m", "pydebvenv", "build", str(project), "-o", str(out), "--offline",
         "--wheel-cache", str(cache), "--target", "debian-12", "--arch", "amd64"],
        capture_output=True, text=True, env=env, check=False)


def _one_clean_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pydebvenv: error: "), result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "alice" not in result.stdout + result.stderr
    return lines[0]


@pytest.mark.parametrize("line", [
    f"click @ {URL}/click-8.0-py3-none-any.whl",
    f"click @ {URL}/click-8.0-py3-none-any.whl --hash=sha256:{'0' * 64}",
    f"click @ git+{URL}/click.git@v8",
    f"-i {URL}/simple extra",
    f"-i{URL}/simple extra",
    f"--index-url={URL}/simple extra",
    f"--extra-index-url {URL}/simple extra",
    f"-f {URL}/links extra",
    f"click==8.0 --hash {URL}",
    f'click; python_version >= "3" @ {URL}',
    f"-e {URL}/click.git",
    f"{URL}/click-8.0-py3-none-any.whl",
])
def test_requirements_file_errors_hide_the_password(tmp_path: Path, cache: Path,
                                                    line: str) -> None:
    project = write_project(tmp_path / "proj")
    (project / "requirements.txt").write_text(f"dep-one\n{line}\n")
    message = _one_clean_line(_cli_build(project, tmp_path / "out", cache), 2)
    assert "requirements.txt:2" in message
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_an_included_file_is_scrubbed_too(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj")
    (project / "requirements.txt").write_text("dep-one\n-c more.txt\n")
    (project / "more.txt").write_text(f"click @ {URL}/x.whl\n")
    assert "more.txt:1" in _one_clean_line(_cli_build(project, tmp_path / "out", cache), 2)


def test_project_dependency_with_a_password_is_not_packaged(tmp_path: Path, cache: Path) -> None:
    # [project].dependencies reach the application's METADATA as Requires-Dist: the
    # package would ship the password, so the wheel is refused
    make_wheel(cache, "click", "8.0")
    project = write_project(tmp_path / "proj", dependencies=[f"click @ {URL}/x.whl"])
    message = _one_clean_line(_cli_build(project, tmp_path / "out", cache), 1)
    assert "Requires-Dist" in message and "wheels.example.org/x.whl" in message
    assert list((tmp_path / "out").iterdir()) == []


def test_dependency_wheel_with_a_password_in_its_metadata_is_refused(
    tmp_path: Path, cache: Path,
) -> None:
    make_wheel(cache, "leaky", "1.0", requires=[f"dep-one @ {URL}/dep.whl"])
    project = write_project(tmp_path / "proj", dependencies=["leaky"])
    with pytest.raises(WheelError) as info:
        offline_build(project, tmp_path / "out", cache)
    assert SECRET not in str(info.value) and "leaky-1.0-py3-none-any.whl" in str(info.value)


def test_index_options_in_pyproject_are_scrubbed(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj", tool=f'index-url = "{URL}/simple\\nmore"')
    _one_clean_line(_cli_build(project, tmp_path / "out", cache), 2)
    project = write_project(tmp_path / "proj2", tool=f'extra-index-urls = ["{URL}", 3]')
    _one_clean_line(_cli_build(project, tmp_path / "out", cache), 2)


def test_homepage_with_a_password_is_not_shipped(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj")
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace(
        "[tool.pydebvenv]", f'[project.urls]\nHomepage = "{URL}/home"\n\n[tool.pydebvenv]'))
    deb = offline_build(project, tmp_path / "out", cache)
    control = subprocess.run(["dpkg-deb", "-f", str(deb), "Homepage"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert control == "https://wheels.example.org/home"
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                          check=True).stdout
    assert SECRET.encode() not in data and SECRET.encode() not in deb.read_bytes()
