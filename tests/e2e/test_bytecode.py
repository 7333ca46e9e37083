"""End to end: `compile = true` ships byte code bundles that the postinst puts in place.

Built on this host for the release whose CPython X.Y runs the tests (only that interpreter
can make the target's pycs), installed with dpkg in that release's chroot: the pycs are the
shipped checked-hash ones and the interpreter uses them; an upgrade, a rollback and a purge
leave no stale or stray byte code; lintian finds no error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import pydebvenv
from tests.e2e.chroots import run_in
from tests.e2e.debtools import dpkg_install, dpkg_purge, dpkg_status, fsys_members, lintian
from tests.e2e.projects import copy_example, set_version
from tests.support.host import running_python_target

pytestmark = pytest.mark.e2e

EPOCH = "1700000000"
VENV = "/usr/share/python/hello-cli"


def _build(project: Path, out: Path, wheels: Path, compression: str | None = None) -> Path:
    target = running_python_target()
    return pydebvenv.build(project, output_dir=out, target=target.release.name,
                           arch=target.arch.name, wheel_cache=wheels, offline=True,
                           requirements=[project / "requirements.txt"], compile=True,
                           compression=compression)


def _pycs(root: Path, site: str) -> dict[str, bytes]:
    base = root / site.lstrip("/")
    return {str(p.relative_to(base)): p.read_bytes() for p in base.rglob("__pycache__/*.pyc")}


def test_shipped_byte_code_through_upgrade_rollback_and_purge(
    offline_pip: Path, chroot: Callable[[str], Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    target = running_python_target()
    old = copy_example("hello-cli", tmp_path / "v1.0")
    new = copy_example("hello-cli", tmp_path / "v1.1")
    set_version(new, "1.1")
    (new / "src" / "hello_cli" / "extra.py").write_text("FEATURE = 'only in 1.1'\n")
    deb_old = _build(old, tmp_path / "dist-old", offline_pip)
    deb_new = _build(new, tmp_path / "dist-new", offline_pip)
    assert not [m for m in fsys_members(deb_new) if m.name.endswith(".pyc")]  # none for dpkg
    site = f"{VENV}/{target.site_packages}"
    tag = "cpython-{}{}".format(*target.python_version)

    root = chroot(target.release.name)
    dpkg_install(root, deb_new)
    pycs = _pycs(root, site)
    extra = f"hello_cli/__pycache__/extra.{tag}.pyc"
    assert extra in pycs and f"click/__pycache__/core.{tag}.pyc" in pycs
    assert all(int.from_bytes(data[4:8], "little") == 0b11 for data in pycs.values())
    assert run_in(root, "hello-cli", "--version").stdout == "hello-cli, version 1.1\n"
    py = f"{VENV}/bin/python"
    assert run_in(root, py, "-c", "import hello_cli.extra as e; print(e.FEATURE)").stdout == (
        "only in 1.1\n")
    assert _pycs(root, site) == pycs  # used as shipped: the interpreter wrote nothing new

    dpkg_install(root, deb_old)  # rollback: the 1.1-only module's byte code goes with it
    assert extra not in _pycs(root, site)
    assert run_in(root, "hello-cli", "--version").stdout == "hello-cli, version 1.0\n"
    assert f"hello_cli/__pycache__/__init__.{tag}.pyc" in _pycs(root, site)

    dpkg_purge(root, "hello-cli")
    assert not (root / VENV.lstrip("/")).exists()
    assert dpkg_status(root, "hello-cli") in ("", "unknown ok not-installed")


@pytest.mark.lintian
def test_shipped_byte_code_is_lintian_clean(offline_pip: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # pycs in the package would be package-installs-python-pycache-dir (an error): bundles not
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    deb = _build(copy_example("hello-cli", tmp_path / "p"), tmp_path / "dist", offline_pip,
                 compression="xz")
    tags = lintian(deb)
    assert not [t for t in tags if t.startswith("E:")], "\n".join(tags)
