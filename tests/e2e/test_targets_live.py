"""The targets table checked against the releases themselves: each Debian row's python, glibc,
zstd support and marker environment, read inside a debootstrap chroot of that release."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pydebvenv.debfile.control import Control
from pydebvenv.debfile.entry import file_entry
from pydebvenv.debfile.writer import write_deb
from pydebvenv.target import RELEASES, get_target
from tests.e2e.chroots import run_in

pytestmark = pytest.mark.e2e

DEBIAN = ["debian-11", "debian-12", "debian-13"]

_ENV_PROBE = (
    "import json, os, platform, sys; print(json.dumps({"
    "'implementation_name': sys.implementation.name,"
    "'os_name': os.name,"
    "'platform_machine': platform.machine(),"
    "'platform_python_implementation': platform.python_implementation(),"
    "'platform_system': platform.system(),"
    "'python_full_version': platform.python_version(),"
    "'python_version': '.'.join(platform.python_version_tuple()[:2]),"
    "'sys_platform': sys.platform}))"
)


@pytest.mark.parametrize("name", DEBIAN)
def test_release_row_matches_the_release(chroot: Callable[[str], Path], name: str) -> None:
    root = chroot(name)
    row = RELEASES[name]
    target = get_target(name, "amd64")
    version = run_in(root, target.interpreter, "--version").stdout.strip()
    assert version == f"Python {row.python_full_version}"
    glibc = run_in(root, "getconf", "GNU_LIBC_VERSION").stdout.strip()
    assert glibc == "glibc {}.{}".format(*row.glibc)
    # the marker environment we compute is what the target's own interpreter reports
    # (the kernel keys excepted: they describe the machine it will run on, unknowable here)
    real = json.loads(run_in(root, target.interpreter, "-c", _ENV_PROBE).stdout)
    ours = target.marker_environment()
    assert {key: ours[key] for key in real} == real


@pytest.mark.parametrize("name", DEBIAN)
def test_zstd_support_is_what_the_release_dpkg_does(
    chroot: Callable[[str], Path], tmp_path: Path, name: str
) -> None:
    root = chroot(name)
    control = Control("zstd-probe", "1.0-1", "all", "Probe <probe@example.org>",
                      "probe zstd support")
    deb = write_deb(control, [file_entry("usr/share/zstd-probe/x", b"x\n", source="test")],
                    tmp_path, compression="zstd")
    (root / "tmp" / "debs").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(deb, root / "tmp" / "debs" / deb.name)
    proc = run_in(root, "dpkg", "-i", f"/tmp/debs/{deb.name}", check=False)
    assert (proc.returncode == 0) is RELEASES[name].dpkg_zstd, proc.stderr
    if not RELEASES[name].dpkg_zstd:
        assert "unknown compression" in proc.stderr
    # and the default compression of the target always installs
    deb = write_deb(control, [file_entry("usr/share/zstd-probe/x", b"x\n", source="test")],
                    tmp_path / "default", compression=get_target(name, "amd64").default_compression)
    shutil.copyfile(deb, root / "tmp" / "debs" / "default.deb")
    run_in(root, "dpkg", "-i", "/tmp/debs/default.deb")
