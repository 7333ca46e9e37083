"""End to end: `diff` between two real builds, and the bundled list against what the venv holds.

The webapp example (two C extensions) at 1.0, and at 1.1 with a dependency dropped and one
added; the bundled list of 1.0 is compared with what the venv's own interpreter reports once
the package is installed in a Debian chroot, and with the wheel files in the cache.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

import pydebvenv
from pydebvenv.cli import main
from tests.e2e.chroots import run_in
from tests.e2e.debtools import dpkg_install, fsys_members
from tests.e2e.projects import build_example, copy_example

pytestmark = pytest.mark.e2e

EPOCH = "1700000000"
# what a venv's python says it holds (PEP 566 / importlib.metadata), one "name version" a line
LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m, re\n"
    "for d in sorted(m.distributions(), key=lambda d: d.metadata['Name'].lower()):\n"
    "    print(re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(), d.version)\n"
)


def _pylock(deb: Path) -> dict[str, object]:
    member = next(m for m in fsys_members(deb) if m.name.endswith("/pylock.toml"))
    return tomllib.loads(member.data.decode())


@pytest.fixture
def webapps(offline_pip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> tuple[Path, Path]:
    """webapp 1.0, and 1.1 that depends on click instead of markupsafe (debian-12, amd64)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    old = build_example("webapp", "1.0", tmp_path / "old", target="debian-12",
                        wheel_cache=offline_pip)
    project = copy_example("webapp", tmp_path / "new")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        'dependencies = ["pyyaml>=6", "markupsafe>=2.1"]', 'dependencies = ["pyyaml>=6", "click"]'))
    requirements = project / "requirements.txt"
    pins = requirements.read_text().split("markupsafe==")[0]  # pyyaml's pin and hashes only
    click = (copy_example("hello-cli", tmp_path / "hello") / "requirements.txt").read_text()
    requirements.write_text(pins.rstrip() + "\n" + click)
    new = build_example("webapp", "1.1", tmp_path / "new", target="debian-12",
                        wheel_cache=offline_pip)
    return old, new


def test_diff_between_two_real_builds(webapps: tuple[Path, Path],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    old, new = webapps
    changes = pydebvenv.diff(old, new)
    assert changes.dependencies_from == "pylock.toml"
    assert {(d.name, d.change, d.old, d.new) for d in changes.dependencies} == {
        ("webapp", "upgraded", "1.0", "1.1"), ("markupsafe", "removed", "3.0.4", None),
        ("click", "added", None, "8.5.1")}
    assert {c.name for c in changes.control} >= {"Version", "Installed-Size"}
    assert ("Version", "1.0-1+deb12", "1.1-1+deb12") in {
        (c.name, c.old, c.new) for c in changes.control}
    paths = {(f.path, f.change) for f in changes.files}
    site = "./usr/share/python/webapp/lib/python3.11/site-packages/"
    assert (f"{site}click-8.5.1.dist-info/", "added") in paths
    assert (f"{site}markupsafe-3.0.4.dist-info/", "removed") in paths
    assert (f"{site}webapp-1.0.dist-info/", "removed") in paths
    assert (f"{site}webapp-1.1.dist-info/", "added") in paths
    assert ("./usr/share/doc/webapp/pylock.toml", "changed") in paths
    assert changes.scripts == () and changes.conffiles == ()  # same maintainer scripts

    assert main(["diff", str(old), str(new)]) == 0
    text = capsys.readouterr().out
    assert "  upgraded   webapp 1.0 -> 1.1\n" in text
    assert "  removed    markupsafe 3.0.4\n" in text
    assert "maintainer scripts: unchanged\n" in text
    assert main(["diff", "--json", str(new), str(old)]) == 0
    back = json.loads(capsys.readouterr().out)
    assert {(d["name"], d["change"]) for d in back["dependencies"]} == {
        ("webapp", "downgraded"), ("markupsafe", "added"), ("click", "removed")}


def test_bundled_list_is_what_the_venv_holds(webapps: tuple[Path, Path], offline_pip: Path,
                                             chroot: Callable[[str], Path]) -> None:
    old, _ = webapps
    lock = _pylock(old)
    packages = lock["packages"]
    assert isinstance(packages, list)
    listed = sorted((p["name"], p["version"]) for p in packages)
    assert listed == [("markupsafe", "3.0.4"), ("pyyaml", "6.0.4"), ("webapp", "1.0")]
    for package in packages:  # the very wheel files of the cache (the app's is built anew)
        wheel = package["wheels"][0]
        if package["name"] == "webapp":
            continue
        data = (offline_pip / wheel["name"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (
            wheel["size"], wheel["hashes"]["sha256"])
        assert "cp311" in wheel["name"] and "x86_64" in wheel["name"]
    root = chroot("debian-12")
    dpkg_install(root, old)
    out = run_in(root, "/usr/share/python/webapp/bin/python", "-c", LIST_DISTRIBUTIONS).stdout
    installed = sorted(tuple(line.split()) for line in out.splitlines())
    assert installed == listed
