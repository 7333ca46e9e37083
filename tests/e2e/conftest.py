"""Fixtures for the end-to-end tests: cached debootstrap chroots, the real wheel cache, builds."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.e2e.chroots import cache_root, cached_chroot, chroot_copy
from tests.e2e.projects import EPOCH, EXAMPLES, Build
from tests.e2e.systemd import Systemd, boot, cached_systemd_root
from tests.e2e.wheelcache import fill_wheel_cache, use_only_the_cache
from tests.support.gate import need

#: the requirements files whose wheels the session cache holds
REQUIREMENT_FILES = (
    EXAMPLES / "hello-cli" / "requirements.txt",
    EXAMPLES / "webapp" / "requirements.txt",
    Path(__file__).with_name("from-tools.txt"),
)
_TOOLS = ("debootstrap", "dpkg", "dpkg-deb", "unshare", "nsenter", "mount", "chroot", "lintian")


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    """The e2e tests need root (debootstrap, mounts, chroot) and the Debian tools."""
    if os.geteuid() != 0:
        need("the e2e tests need root (debootstrap, mount, chroot)")
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        need(f"the e2e tests need {missing!r}; run .ci/run or apt-get install them")


@pytest.fixture(scope="session")
def wheel_cache(e2e_ready: None) -> Path:
    """Real wheels for the examples and the --from tools (from-tools.txt) for every tested
    target, plus the examples' build backend.

    Filled once by `pip download` and kept under $PYDEBVENV_TEST_CACHE/wheels.
    """
    return fill_wheel_cache(cache_root() / "wheels", REQUIREMENT_FILES)


@pytest.fixture(scope="session")
def emulation_ready(e2e_ready: None) -> None:
    """Foreign-architecture chroots run under qemu-user-static through binfmt_misc."""
    missing = [tool for tool in ("qemu-aarch64-static", "update-binfmts")
               if shutil.which(tool) is None]
    if missing:
        need(f"the arm64 e2e tests need {missing!r}: apt-get install qemu-user-static "
             "binfmt-support (.ci/run does)")


@pytest.fixture
def chroot(
    e2e_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Path]]:
    """`chroot("debian-12")` -> the root of a fresh, writable copy of that release's chroot;
    `chroot("debian-12", "arm64")` one of another architecture, emulated (use the
    emulation_ready fixture too).

    The release itself is debootstrapped once and cached; every call gives a new copy.
    """
    with ExitStack() as stack:

        def make(target: str, arch: str = "amd64") -> Path:
            lower = cached_chroot(target, arch)
            scratch = tmp_path_factory.mktemp(f"chroot-{target}-{arch}")
            return stack.enter_context(chroot_copy(lower, scratch))

        yield make


@pytest.fixture
def systemd(
    e2e_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Systemd]]:
    """`systemd()` -> a real systemd booted in a fresh copy of the cached Debian 12 root that
    has systemd installed; it is killed (and the copy dropped) when the test ends."""
    with ExitStack() as stack:

        def make(target: str = "debian-12") -> Systemd:
            lower = cached_systemd_root(target)
            scratch = tmp_path_factory.mktemp(f"systemd-{target}")
            root = stack.enter_context(chroot_copy(lower, scratch))
            return stack.enter_context(boot(root, scratch / "systemd.log"))

        yield make


@pytest.fixture
def offline_pip(wheel_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every pip the build may start (the PEP 517 isolated build env) at the cache only.

    The `build` front end installs the build backend with pip, which inherits this process's
    environment: PIP_NO_INDEX + PIP_FIND_LINKS make it take flit_core from the wheel cache,
    and PIP_CONFIG_FILE=/dev/null keeps this machine's pip configuration out.
    """
    use_only_the_cache(monkeypatch, wheel_cache)
    return wheel_cache



@pytest.fixture
def build(
    offline_pip: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Build:
    """`build(project, target=, arch=)` -> the .deb, built offline from the session wheel cache.

    Calls the public API exactly as the README shows it.
    """
    import pydebvenv

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)

    def run(
        project: Path, *, target: str = "debian-12", arch: str = "amd64", out: Path | None = None,
        compression: str | None = None,
    ) -> Path:
        output_dir = out if out is not None else tmp_path_factory.mktemp("dist")
        deb: Path = pydebvenv.build(
            project,
            output_dir=output_dir,
            target=target,
            arch=arch,
            wheel_cache=offline_pip,
            offline=True,
            requirements=[project / "requirements.txt"],
            compression=compression,
        )
        assert deb.is_file() and deb.parent == output_dir, deb
        return deb

    return run
