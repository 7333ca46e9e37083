"""Purge in a real Debian 12 system: only the package's own leftovers go, nothing of base-files,
nothing of a package sharing the venv's directories (docs/safety.md, "What purge removes")."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydebvenv.debfile.control import Control
from pydebvenv.debfile.entry import dir_entry, file_entry
from pydebvenv.debfile.writer import write_deb
from pydebvenv.errors import ConfigError
from tests.e2e.chroots import run_in
from tests.e2e.debtools import dpkg_install, dpkg_purge, dpkg_status
from tests.support.project import offline_build, write_project
from tests.support.wheelmaker import make_wheel

pytestmark = pytest.mark.e2e

VENV = "usr/share/python/safeapp"


def _neighbour(out: Path) -> Path:
    control = Control("neighbour", "1.0", "all", "N <n@example.org>",
                      "shares directories with safeapp\nA test package.")
    return write_deb(control, [
        file_entry(f"{VENV}/NEIGHBOUR.txt", b"keep me\n", source="test"),
        dir_entry(f"{VENV}/shared-empty", source="test"),
        file_entry("usr/share/common-licenses/NEIGHBOUR", b"text\n", source="test"),
    ], out, compression="xz")


def _owned_paths(root: Path, but: str = "") -> set[str]:
    """Every path the installed packages (but ``but``) list, that exists now."""
    paths: set[str] = set()
    for listing in (root / "var/lib/dpkg/info").glob("*.list"):
        if listing.stem.split(":")[0] == but:
            continue
        for line in listing.read_text(encoding="utf-8").splitlines():
            if line and line != "/." and (root / line.lstrip("/")).exists():
                paths.add(line)
    return paths


def test_purge_in_a_debian_system(chroot: object, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    cache = tmp_path / "cache"
    cache.mkdir()
    make_wheel(cache, "dep-one", "1.0")
    # the venv issue 9 found: base-files' directory; refused before anything is written
    with pytest.raises(ConfigError, match="common-licenses"):
        offline_build(write_project(tmp_path / "evil", tool='prefix = "/usr/share"\n'
                                    'name = "common-licenses"'), tmp_path / "out", cache)
    deb = offline_build(write_project(tmp_path / "proj", dependencies=["dep-one"]),
                        tmp_path / "out", cache, compression="xz")

    root = chroot("debian-12")  # type: ignore[operator]
    verify_before = run_in(root, "dpkg", "--verify", check=False).stdout
    dpkg_install(root, _neighbour(tmp_path / "n"))
    dpkg_install(root, deb)
    assert run_in(root, "safeapp").stdout == "hello from the app\n"
    # run time: the application writes caches as root; the administrator adds a file
    run_in(root, f"/{VENV}/bin/python", "-c", "import dep_one, safeapp")
    site = root / VENV / "lib/python3.11/site-packages"
    assert list(site.rglob("*.pyc"))
    (site / "local_settings.py").write_text("ADMIN = True\n")
    others = _owned_paths(root, but="safeapp")
    assert "/usr/share/common-licenses" in others and f"/{VENV}/shared-empty" in others

    dpkg_purge(root, "safeapp")
    assert dpkg_status(root, "safeapp") == ""
    # every path another package lists is still there: base-files', the neighbour's...
    assert others <= _owned_paths(root), sorted(others - _owned_paths(root))
    assert run_in(root, "dpkg", "--verify", check=False).stdout == verify_before
    run_in(root, "dpkg", "--verify", "neighbour")
    # ...and of the venv only those, the administrator's file and the way to it remain
    left = sorted(str(p.relative_to(root / VENV)) for p in (root / VENV).rglob("*"))
    assert left == ["NEIGHBOUR.txt", "lib", "lib/python3.11", "lib/python3.11/site-packages",
                    "lib/python3.11/site-packages/local_settings.py", "shared-empty"]
