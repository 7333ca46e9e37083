"""A build reads only from inside the project, and ships extra files only where packages may.

docs/safety.md, "What a build reads" and "Where extra files may go".  Every refusal is one
error line that names the key and the path, and leaves nothing in the output directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pydebvenv.errors import ConfigError
from tests.support.project import offline_build, write_project

SECRET = "TOP-SECRET-of-the-build-host\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file beside the project, standing for the build host's secrets."""
    secret = tmp_path / "host" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    (tmp_path / "host" / "dir").mkdir()
    (tmp_path / "host" / "dir" / "id_rsa").write_text(SECRET)
    return secret


def _refused(tmp_path: Path, cache: Path, project: Path, *needles: str,
             **options: object) -> str:
    out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}"
    with pytest.raises(ConfigError) as info:
        offline_build(project, out, cache, **options)
    message = str(info.value)
    assert "\n" not in message and SECRET.strip() not in message
    for needle in needles:
        assert needle in message, (needle, message)
    assert not out.exists() or list(out.iterdir()) == []
    return message


def _files(source: str, destination: str = "/usr/share/safeapp/x") -> str:
    return f'files = [{{ source = "{source}", destination = "{destination}" }}]'


def test_files_source_absolute(tmp_path: Path, cache: Path, outside: Path) -> None:
    project = write_project(tmp_path / "proj", tool=_files(str(outside)))
    _refused(tmp_path, cache, project, "tool.pydebvenv.files in", str(outside),
             "outside the project directory")


def test_files_source_dotdot(tmp_path: Path, cache: Path, outside: Path) -> None:
    project = write_project(tmp_path / "proj", tool=_files("../host/secret.txt"))
    _refused(tmp_path, cache, project, "tool.pydebvenv.files in", "../host/secret.txt")


def test_files_source_symlink(tmp_path: Path, cache: Path, outside: Path) -> None:
    project = write_project(tmp_path / "proj", tool=_files("innocent.txt"))
    (project / "innocent.txt").symlink_to(outside)
    _refused(tmp_path, cache, project, "innocent.txt", f"-> {outside}")


def test_files_directory_holding_a_symlink_out(tmp_path: Path, cache: Path,
                                               outside: Path) -> None:
    project = write_project(tmp_path / "proj", tool=_files("share", "/usr/share/safeapp"))
    (project / "share").mkdir()
    (project / "share" / "ok.txt").write_text("fine\n")
    (project / "share" / "keys").symlink_to(outside.parent / "dir")
    _refused(tmp_path, cache, project, "tool.pydebvenv.files", "share': keys",
             str(outside.parent / "dir"))
    (project / "share" / "keys").unlink()
    (project / "share" / "a-link").symlink_to(outside)
    _refused(tmp_path, cache, project, "share': a-link", str(outside))


def test_files_directory_with_links_inside_the_project(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj", tool=_files("share", "/usr/share/safeapp"))
    (project / "share" / "sub").mkdir(parents=True)
    (project / "share" / "sub" / "b.txt").write_text("b\n")
    (project / "share" / "again").symlink_to("sub")  # a directory reached twice: copied twice
    (project / "share" / "loop").symlink_to(".")  # a loop: skipped
    (project / "share" / "conf.txt").symlink_to("../pyproject.toml")
    deb = offline_build(project, tmp_path / "out", cache)
    names = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                           check=True).stdout
    assert "./usr/share/safeapp/sub/b.txt" in names
    assert "./usr/share/safeapp/again/b.txt" in names
    assert "./usr/share/safeapp/conf.txt" in names
    assert "loop" not in names


@pytest.mark.parametrize("snippet", ["{path}", "../host/secret.txt", "link.sh"])
def test_snippet_file_outside(tmp_path: Path, cache: Path, outside: Path, snippet: str) -> None:
    snippet = snippet.format(path=outside)
    project = write_project(tmp_path / "proj", tool=f'postinst = {{ file = "{snippet}" }}')
    (project / "link.sh").symlink_to(outside)
    _refused(tmp_path, cache, project, "tool.pydebvenv.postinst in", snippet)


def _with_project_table(project: Path, line: str) -> None:
    path = project / "pyproject.toml"
    path.write_text(path.read_text().replace("[tool.pydebvenv]", f"{line}\n\n[tool.pydebvenv]"))


@pytest.mark.parametrize(("line", "key"), [
    ('readme = "../host/secret.txt"', "[project].readme"),
    ('license = { file = "../host/secret.txt" }', "[project].license"),
    ('license-files = ["../host/*.txt"]', "[project].license-files"),
])
def test_readme_and_license_outside(tmp_path: Path, cache: Path, outside: Path, line: str,
                                    key: str) -> None:
    project = write_project(tmp_path / "proj")
    # the in-tree backend reads only name/version/description/...: [project] may say more
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace('maintainers = [', f'{line}\nmaintainers = ['))
    _refused(tmp_path, cache, project, key, "secret.txt")


def test_pyproject_symlinked_out(tmp_path: Path, cache: Path) -> None:
    elsewhere = write_project(tmp_path / "elsewhere")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").symlink_to(elsewhere / "pyproject.toml")
    _refused(tmp_path, cache, project, "pyproject.toml", "outside the project directory")


def test_requirements_outside(tmp_path: Path, cache: Path, outside: Path) -> None:
    (outside.parent / "reqs.txt").write_text("dep-one\n")
    project = write_project(tmp_path / "proj", tool='requirements = ["../host/reqs.txt"]')
    _refused(tmp_path, cache, project, "requirements", "../host/reqs.txt")
    # found beside pyproject.toml, but a symlink out
    project = write_project(tmp_path / "proj2")
    (project / "requirements.txt").symlink_to(outside.parent / "reqs.txt")
    _refused(tmp_path, cache, project, "requirements.txt", str(outside.parent / "reqs.txt"))


def test_requirements_including_a_file_outside(tmp_path: Path, cache: Path,
                                               outside: Path) -> None:
    project = write_project(tmp_path / "proj")
    (project / "requirements.txt").write_text(f"dep-one\n-r {outside}\n")
    message = _refused(tmp_path, cache, project, "requirements.txt:2", str(outside))
    assert "root:" not in message


def test_find_links_outside(tmp_path: Path, cache: Path, outside: Path) -> None:
    project = write_project(tmp_path / "proj", tool=f'find-links = ["{outside.parent}"]')
    _refused(tmp_path, cache, project, "tool.pydebvenv.find-links", str(outside.parent))
    project = write_project(tmp_path / "proj2", tool='find-links = ["file:///srv/wheels"]')
    _refused(tmp_path, cache, project, "tool.pydebvenv.find-links", "/srv/wheels")
    project = write_project(tmp_path / "proj3")
    (project / "requirements.txt").write_text("-f ../host/dir\ndep-one\n")
    _refused(tmp_path, cache, project, "requirements.txt:1", "host/dir")


def test_find_links_inside_is_made_absolute(tmp_path: Path) -> None:
    from pydebvenv.project.config import load_config

    project = write_project(tmp_path / "proj", tool='find-links = ["vendor", "https://e.org/x"]')
    (project / "vendor").mkdir()
    options = load_config(project).options
    assert options.find_links == (str(project / "vendor"), "https://e.org/x")


def test_wheel_cache_from_the_project_stays_inside(tmp_path: Path, cache: Path) -> None:
    project = write_project(tmp_path / "proj", tool='wheel-cache = "../cache"')
    from pydebvenv.project.config import load_config

    with pytest.raises(ConfigError) as info:
        load_config(project)
    assert str(info.value).startswith("tool.pydebvenv.wheel-cache in")
    assert f"{project / '../cache'} -> {cache}" in str(info.value)


def test_caller_named_requirements_may_live_elsewhere(tmp_path: Path, cache: Path,
                                                      outside: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "reqs.txt").write_text("dep-one\n-c constraints.txt\n")
    (shared / "constraints.txt").write_text("dep-one==1.0\n")
    project = write_project(tmp_path / "proj")
    deb = offline_build(project, tmp_path / "out", cache, requirements=[shared / "reqs.txt"])
    assert deb.is_file()
    # what that file includes stays in its directory or the project
    (shared / "reqs.txt").write_text(f"dep-one\n-c {outside}\n")
    _refused(tmp_path, cache, project, "reqs.txt:2", str(outside),
             requirements=[shared / "reqs.txt"])


@pytest.mark.parametrize("destination", [
    "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/hosts", "/etc/hostname",
    "/etc/resolv.conf", "/etc/fstab", "/etc/machine-id", "/etc/ld.so.preload", "/etc/sudoers",
    "/var/lib/dpkg/status", "/var/lib/dpkg/info/base-files.postinst", "/var/lib/apt/lists/x",
    "/usr/local/bin/tool", "/home/user/.bashrc", "/root/.ssh/authorized_keys", "/bin/sh",
    "/lib/x86_64-linux-gnu/libc.so.6", "/boot/vmlinuz", "/tmp/x", "/run/x", "/etc",
    "//etc/passwd", "/etc/./passwd", "/usr/lib/../../etc/shadow",
])
def test_destinations_the_system_needs_are_refused(tmp_path: Path, destination: str) -> None:
    from pydebvenv.project.config import load_config

    project = write_project(tmp_path / "proj", tool=_files("a.conf", destination))
    (project / "a.conf").write_text("x\n")
    with pytest.raises(ConfigError) as info:
        load_config(project)
    message = str(info.value)
    assert message.startswith(f"tool.pydebvenv.files in {str(project / 'pyproject.toml')!r}")
    assert "destination" in message and "\n" not in message


@pytest.mark.parametrize("destination", [
    "/etc/safeapp/app.conf", "/etc/default/safeapp", "/etc/cron.d/safeapp", "/usr/bin/tool",
    "/usr/lib/systemd/system/safeapp.service", "/var/lib/safeapp/seed", "/opt/safeapp/x",
    "/usr/share/safeapp/data.txt",
])
def test_usual_destinations_build(tmp_path: Path, cache: Path, destination: str) -> None:
    project = write_project(tmp_path / "proj", tool=_files("a.conf", destination))
    (project / "a.conf").write_text("x\n")
    deb = offline_build(project, tmp_path / "out", cache)
    names = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                           check=True).stdout
    assert f".{destination}\n" in names


def test_cli_refusal_is_one_line_and_exit_2(tmp_path: Path, cache: Path, outside: Path) -> None:
    project = write_project(tmp_path / "proj", tool=_files("../host/secret.txt"))
    env = {**os.environ, "PIP_NO_INDEX": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pydebvenv", "build", str(project), "-o", str(tmp_path / "out"),
         "--offline", "--wheel-cache", str(cache), "--target", "debian-12", "--arch", "amd64"],
        capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pydebvenv: error: tool.pydebvenv.files")
    assert "../host/secret.txt" in lines[0] and "Traceback" not in result.stderr


def test_a_unit_file_outside(tmp_path: Path, cache: Path, outside: Path) -> None:
    unit = outside.parent / "evil.service"
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    project = write_project(tmp_path / "proj", tool=(
        '[[tool.pydebvenv.services]]\nunit-file = "../host/evil.service"\n'))
    _refused(tmp_path, cache, project, "unit-file", str(unit))
    project = write_project(tmp_path / "proj2", tool=(
        '[[tool.pydebvenv.services]]\nunit-file = "app.service"\n'))
    (project / "app.service").symlink_to(unit)
    _refused(tmp_path, cache, project, "unit-file", f"-> {unit}")
