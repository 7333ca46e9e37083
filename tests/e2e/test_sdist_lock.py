"""End to end: a real dependency published only as an sdist (pyperclip 1.9.0), fetched from the
package index for two Debian releases, built into the same wheel bytes both times, and both
packages built offline (no network at all) from the locks and run in their releases."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import pydebvenv
from pydebvenv.acquire.fetch import lock_path_for
from pydebvenv.target import get_target
from tests.e2e.chroots import run_in
from tests.e2e.debtools import deb_field, dpkg_install
from tests.support.isolation import isolated_pip_env

pytestmark = pytest.mark.e2e

EPOCH = "1700000000"
RELEASES = ("debian-12", "debian-13")
SDIST_ONLY = "pyperclip==1.9.0"  # the index has no wheel of this version
WHEEL = "pyperclip-1.9.0-py3-none-any.whl"


def _project(root: Path) -> Path:
    project = root / "clipapp"
    (project / "clipapp").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.12,<4"]\n'
        'build-backend = "flit_core.buildapi"\n\n'
        '[project]\nname = "clipapp"\nversion = "1.0.0"\ndescription = "shows pyperclip"\n'
        f'dependencies = ["{SDIST_ONLY}"]\n'
        'maintainers = [{name = "Clip Tester", email = "clip@example.org"}]\n\n'
        '[project.scripts]\nclipapp = "clipapp:main"\n', encoding="utf-8")
    (project / "clipapp" / "__init__.py").write_text(
        '"""Print the version of pyperclip this venv has."""\n\nimport pyperclip\n\n\n'
        'def main() -> None:\n    print("pyperclip", pyperclip.__version__)\n',
        encoding="utf-8")
    return project


@pytest.fixture
def real_index(e2e_ready: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """pip talks to its default index with no configuration of this machine."""
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    for key, value in isolated_pip_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def test_an_sdist_only_dependency_locked_for_two_releases_builds_both_offline(
    real_index: None, chroot: Callable[..., Path], tmp_path: Path
) -> None:
    project = _project(tmp_path)
    cache = tmp_path / "cache"
    locks = {release: pydebvenv.fetch(project, target=release, arch="amd64", wheel_cache=cache)
             for release in RELEASES}
    built = {release: {w.filename: w.sha256 for w in lock.wheels}[WHEEL]
             for release, lock in locks.items()}
    assert built["debian-12"] == built["debian-13"]
    # built again from the sdist in an empty cache (a fresh fetch): the same bytes
    again = pydebvenv.fetch(project, target="debian-13", arch="amd64",
                            wheel_cache=tmp_path / "other-cache", lock_path=tmp_path / "x.lock")
    assert {w.filename: w.sha256 for w in again.wheels}[WHEEL] == built["debian-12"]
    assert (cache / WHEEL).read_bytes() == (tmp_path / "other-cache" / WHEEL).read_bytes()

    out = tmp_path / "dist"
    for release in RELEASES:
        # a network namespace with no interface: nothing at all can be downloaded
        proc = subprocess.run(
            ["unshare", "--net", sys.executable, "-m", "pydebvenv", "build", str(project),
             "-o", str(out), "--target", release, "--arch", "amd64", "--offline",
             "--wheel-cache", str(cache)],
            capture_output=True, text=True, check=False, env=dict(os.environ))
        assert proc.returncode == 0, proc.stderr
        assert f"exactly as locked in {lock_path_for(project, get_target(release, 'amd64'))}" \
            in proc.stdout
    debs = sorted(out.glob("*.deb"))
    assert [d.name for d in debs] == ["clipapp_1.0.0-1+deb12_all.deb",
                                      "clipapp_1.0.0-1+deb13_all.deb"]
    for release, deb in zip(RELEASES, debs, strict=True):
        assert deb_field(deb, "Depends") == get_target(release, "amd64").interpreter_package
        root = chroot(release)
        dpkg_install(root, deb)
        assert run_in(root, "/usr/bin/clipapp").stdout == "pyperclip 1.9.0\n"
