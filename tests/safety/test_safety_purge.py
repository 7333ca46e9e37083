"""Purge removes only what is provably the package's own (docs/safety.md, "What purge removes").

The venv must be a directory of the package's own (checked at build time), and the scripts
never ``rm -rf``: they delete byte-code caches and then the venv's directories that are
empty and that dpkg says no other package lists.  Proven here with real dpkg, next to a
package that shares the venv's directories.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from pydebvenv.debfile.control import Control
from pydebvenv.debfile.entry import dir_entry, file_entry
from pydebvenv.debfile.writer import write_deb
from pydebvenv.debian.maintscripts import maintainer_scripts
from pydebvenv.errors import ConfigError
from tests.support.dpkgroot import dpkg, make_dpkg_root
from tests.support.project import offline_build, write_project

VENV = "usr/share/python/safeapp"
SITE = f"{VENV}/lib/python3.11/site-packages"


@pytest.mark.parametrize(("tool", "venv"), [
    ('prefix = "/usr/share"\nname = "common-licenses"', "/usr/share/common-licenses"),
    ('prefix = "/usr"\nname = "lib"', "/usr/lib"),
    ('prefix = "/usr/lib"\nname = "python3"', "/usr/lib/python3"),
    ('prefix = "/usr/local"\nname = "app"', "/usr/local/app"),
    ('prefix = "/etc"\nname = "app"', "/etc/app"),
])
def test_a_venv_that_is_not_a_directory_of_its_own_is_refused(
    tmp_path: Path, cache: Path, tool: str, venv: str,
) -> None:
    project = write_project(tmp_path / "proj", tool=tool)
    with pytest.raises(ConfigError) as info:
        offline_build(project, tmp_path / "out", cache)
    message = str(info.value)
    assert message.startswith(f"tool.pydebvenv.prefix in {str(project / 'pyproject.toml')!r}")
    assert f"the venv would be {venv!r}" in message and "\n" not in message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("prefix", ["//", "/", "//usr/share/python", "/usr/share/python/../..",
                                    "/usr//share/python", "/usr/share/python/./x", "opt",
                                    "/opt/my venvs", "/opt/\u00e9"])
def test_a_prefix_that_is_not_normalised_is_refused(
    tmp_path: Path, cache: Path, prefix: str,
) -> None:
    project = write_project(tmp_path / "proj", tool='name = "etc"')
    with pytest.raises(ConfigError, match="must be an absolute POSIX directory"):
        offline_build(project, tmp_path / "out", cache, prefix=prefix)


@pytest.mark.parametrize(("prefix", "venv"), [
    ("/usr/share/python/", "usr/share/python/safeapp"),
    ("/opt", "opt/safeapp"),
    ("/opt/venvs", "opt/venvs/safeapp"),
    ("/usr/lib/safeapp", "usr/lib/safeapp/safeapp"),
])
def test_dedicated_prefixes_build(tmp_path: Path, cache: Path, prefix: str, venv: str) -> None:
    project = write_project(tmp_path / "proj")
    deb = offline_build(project, tmp_path / "out", cache, prefix=prefix)
    names = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                           check=True).stdout
    assert f"./{venv}/bin/python" in names


def _neighbour(out: Path) -> Path:
    """A package that ships into the venv's own directory (dpkg allows shared directories):
    a file, an empty directory, and an empty directory beside the venv."""
    control = Control("neighbour", "1.0", "all", "N <n@example.org>",
                      "shares directories with safeapp\nA test package.")
    entries = [
        file_entry(f"{VENV}/NEIGHBOUR.txt", b"keep me\n", source="test"),
        dir_entry(f"{VENV}/shared-empty", source="test"),
        dir_entry(f"{SITE}/neighbour-empty", source="test"),
        dir_entry("usr/share/python/neighbour-empty", source="test"),
        file_entry("usr/share/common-licenses/LICENSE-NEIGHBOUR", b"text\n", source="test"),
    ]
    return write_deb(control, entries, out, compression="gzip")


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if not str(p.relative_to(root)).startswith("var/lib/dpkg")}


@pytest.mark.dpkg
def test_purge_next_to_a_package_sharing_the_venv(tmp_path: Path, cache: Path) -> None:
    root = make_dpkg_root(tmp_path / "root")
    dpkg(root, "-i", str(_neighbour(tmp_path / "n")))
    neighbour_files = _tree(root)
    deb = offline_build(write_project(tmp_path / "proj", dependencies=["dep-one"]),
                        tmp_path / "out", cache)
    dpkg(root, "-i", str(deb))
    site = root / SITE
    assert (site / "safeapp" / "__init__.py").is_file()

    # run time: byte-code caches, and a file the administrator put into the venv
    (site / "safeapp" / "__pycache__").mkdir()
    (site / "safeapp" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"pyc")
    (site / "local").mkdir()
    (site / "local" / "settings.py").write_text("ADMIN = True\n")
    dpkg(root, "-r", "safeapp")
    # a process still running from the venv wrote a cache after prerm had cleaned
    (site / "dep_one" / "__pycache__").mkdir(parents=True)
    (site / "dep_one" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"late")
    (site / "dep_one" / "__pycache__" / "__init__.cpython-311.pyc.1234").write_bytes(b"tmp")
    dpkg(root, "-P", "safeapp")

    left = _tree(root)
    # everything the neighbour ships is still there, its empty directories included
    assert neighbour_files <= left, sorted(neighbour_files - left)
    dpkg(root, "--verify", "neighbour")
    # the administrator's file stays, with the directories that lead to it
    assert (site / "local" / "settings.py").read_text() == "ADMIN = True\n"
    # nothing else of the package: caches gone, its empty directories gone
    assert left - neighbour_files == {
        f"{SITE}/local", f"{SITE}/local/settings.py",
    }, sorted(left - neighbour_files)


@pytest.mark.dpkg
def test_purge_after_a_plain_install_leaves_only_shared_directories(
    tmp_path: Path, cache: Path,
) -> None:
    root = make_dpkg_root(tmp_path / "root")
    dpkg(root, "-i", str(_neighbour(tmp_path / "n")))
    neighbour_files = _tree(root)
    deb = offline_build(write_project(tmp_path / "proj"), tmp_path / "out", cache)
    dpkg(root, "-i", str(deb))
    pycache = root / SITE / "safeapp" / "__pycache__"
    pycache.mkdir()
    (pycache / "__init__.cpython-311.pyc").write_bytes(b"pyc")
    (pycache / "notes.txt").write_text("not a cache\n")  # not ours to delete
    dpkg(root, "-P", "safeapp")
    # the neighbour lists lib/python3.11/site-packages; below it only the file that is
    # not a byte-code cache stays, with its directories
    assert _tree(root) - neighbour_files == {
        f"{SITE}/safeapp", f"{SITE}/safeapp/__pycache__",
        f"{SITE}/safeapp/__pycache__/notes.txt",
    }


def _sh(script: str, *args: str, root: Path) -> None:
    subprocess.run(["sh", "-c", script, "script", *args], check=True,
                   env={"PATH": "/usr/bin:/bin", "DPKG_ROOT": str(root),
                        "DPKG_ADMINDIR": str(root / "var/lib/dpkg")})


def test_purge_keeps_an_empty_directory_that_another_package_lists(tmp_path: Path) -> None:
    root = make_dpkg_root(tmp_path / "root")
    (root / "var/lib/dpkg/status").write_text(
        "Package: other\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"
        "Maintainer: O <o@example.org>\nDescription: other\n\n")
    (root / "var/lib/dpkg/info/other.list").write_text(
        f"/.\n/usr\n/usr/share\n/usr/share/python\n/{VENV}\n/{VENV}/theirs\n")
    (root / VENV / "theirs").mkdir(parents=True)
    (root / VENV / "ours" / "deep").mkdir(parents=True)
    scripts = maintainer_scripts("/" + VENV)
    assert scripts.postrm is not None
    _sh(scripts.postrm, "remove", root=root)
    assert (root / VENV / "ours" / "deep").is_dir()  # only purge tidies
    _sh(scripts.postrm, "purge", root=root)
    assert (root / VENV / "theirs").is_dir()
    assert not (root / VENV / "ours").exists()
    assert (root / VENV).is_dir()  # it lists the venv directory itself


def test_purge_does_not_follow_a_symlinked_venv(tmp_path: Path) -> None:
    root = make_dpkg_root(tmp_path / "root")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "empty").mkdir(parents=True)
    (elsewhere / "__pycache__").mkdir()
    (elsewhere / "__pycache__" / "x.pyc").write_bytes(b"x")
    (root / VENV).parent.mkdir(parents=True)
    (root / VENV).symlink_to(elsewhere)
    scripts = maintainer_scripts("/" + VENV)
    assert scripts.postrm is not None and scripts.prerm is not None
    _sh(scripts.prerm, "remove", root=root)
    _sh(scripts.postrm, "purge", root=root)
    assert (elsewhere / "empty").is_dir() and (elsewhere / "__pycache__" / "x.pyc").exists()


SERVICE = '[[tool.pydebvenv.services]]\nexec = "safeapp"\nuser = "root"\n'


@pytest.mark.dpkg
@pytest.mark.parametrize("shared", [False, True])
def test_purge_of_a_service_state_directory(tmp_path: Path, cache: Path, shared: bool) -> None:
    # the state directory is the package's (/var/lib/safeapp): purge removes it with what the
    # service wrote, unless another package ships something into it
    root = make_dpkg_root(tmp_path / "root")
    if shared:
        control = Control("neighbour", "1.0", "all", "N <n@example.org>", "shares\nA test.")
        dpkg(root, "-i", str(write_deb(control, [file_entry(
            "var/lib/safeapp/NEIGHBOUR", b"keep\n", source="test")], tmp_path / "n",
            compression="gzip")))
    # README: purge removes "the state, cache and log directories it declared"
    project = write_project(tmp_path / "proj", tool=SERVICE + "state-directory = true\n"
                            "cache-directory = true\nlogs-directory = true\n")
    dpkg(root, "-i", str(offline_build(project, tmp_path / "out", cache)))
    state, made = root / "var/lib/safeapp", [root / "var/cache/safeapp", root / "var/log/safeapp"]
    for directory in (state, *made):
        directory.mkdir(parents=True, exist_ok=True)  # systemd makes them when it starts
        (directory / "written").write_text("by the service\n")
    dpkg(root, "-P", "safeapp")
    assert state.exists() == shared
    assert [d for d in made if d.exists()] == []
    if shared:
        assert (state / "NEIGHBOUR").read_text() == "keep\n"


def test_a_state_directory_not_named_after_the_package_is_not_purged(
    tmp_path: Path, cache: Path,
) -> None:
    import pydebvenv
    from pydebvenv.report import Reporter

    project = write_project(tmp_path / "proj", tool=SERVICE + 'state-directory = "dpkg"\n')
    out = io.StringIO()
    deb = pydebvenv.build(project, output_dir=tmp_path / "out", offline=True,
                          wheel_cache=cache, target="debian-12", arch="amd64",
                          reporter=Reporter(out, 0))
    assert "purge leaves /var/lib/dpkg" in out.getvalue()
    postrm = subprocess.run(["dpkg-deb", "-I", str(deb), "postrm"], capture_output=True,
                            text=True, check=True).stdout
    assert "/var/lib/dpkg" not in postrm and "rm -rf" not in postrm
