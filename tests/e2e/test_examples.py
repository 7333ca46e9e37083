"""End to end: build the examples with pydebvenv, install them with dpkg in Debian chroots, run them."""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import types
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.chroots import run_in
from tests.e2e.debtools import (
    EM_AARCH64,
    EM_X86_64,
    ctrl_members,
    deb_field,
    dpkg_install,
    dpkg_purge,
    dpkg_status,
    elf_machine,
    fsys_members,
    lintian,
)
from tests.e2e.projects import REPO, Build, copy_example, set_version

pytestmark = pytest.mark.e2e

PY = {"debian-12": "3.11", "debian-13": "3.13"}
#: what `webapp --check` prints when both C extensions are loaded
WEBAPP_CHECK = "title=Hello &lt;Debian&gt; &amp; friends libyaml=True speedups=True\n"
def _venv(package: str) -> str:
    return f"/usr/share/python/{package}"


def _check_venv(root: Path, package: str, pyver: str) -> None:
    """The venv's python is the target's, and `activate` works in bash."""
    py = f"{_venv(package)}/bin/python"
    out = run_in(root, py, "-c", "import sys; print(sys.prefix, sys.version_info[:2])").stdout
    assert out.split(" ", 1)[0] == _venv(package)
    assert out.split(" ", 1)[1].strip() == str(tuple(int(p) for p in pyver.split(".")))
    activate = f"source {_venv(package)}/bin/activate && python -c 'import sys; print(sys.prefix)'"
    assert run_in(root, "bash", "-c", activate).stdout == f"{_venv(package)}\n"
    # the command on PATH is a symlink into the venv (design: /usr/bin/<cmd> -> venv bin)
    assert (root / "usr" / "bin" / package).is_symlink()
    target = run_in(root, "readlink", "-f", f"/usr/bin/{package}").stdout.strip()
    assert target == f"{_venv(package)}/bin/{package}"


@pytest.mark.parametrize("target", ["debian-12", "debian-13"])
def test_cli_example_installs_and_runs(
    build: Build, chroot: Callable[[str], Path], tmp_path: Path, target: str
) -> None:
    """The pure-Python example; debian-13 is built on this debian-12 host (a foreign target)."""
    deb = build(copy_example("hello-cli", tmp_path), target=target)
    root = chroot(target)
    dpkg_install(root, deb)
    assert run_in(root, "/usr/bin/hello-cli", "--name", "Debian").stdout == "Hello, Debian!\n"
    assert run_in(root, "hello-cli", "--version").stdout == "hello-cli, version 1.0\n"
    site = f"{_venv('hello-cli')}/lib/python{PY[target]}/site-packages/"
    where = "import click, hello_cli; print(click.__file__); print(hello_cli.__file__)"
    paths = run_in(root, f"{_venv('hello-cli')}/bin/python", "-c", where).stdout.split()
    assert paths and all(p.startswith(site) for p in paths), paths
    _check_venv(root, "hello-cli", PY[target])


@pytest.mark.parametrize("target", ["debian-12", "debian-13"])
def test_c_extension_example_installs_and_runs(
    build: Build, chroot: Callable[[str], Path], tmp_path: Path, target: str
) -> None:
    deb = build(copy_example("webapp", tmp_path), target=target)
    assert deb_field(deb, "Architecture") == "amd64"
    elves = [m for m in fsys_members(deb) if elf_machine(m.data) is not None]
    assert elves and all(elf_machine(m.data) == EM_X86_64 for m in elves), elves
    root = chroot(target)
    dpkg_install(root, deb)
    assert run_in(root, "/usr/bin/webapp", "--check").stdout == WEBAPP_CHECK
    # the C extensions themselves are imported, from the venv
    probe = (
        "import yaml, markupsafe, yaml._yaml, markupsafe._speedups as s;"
        "print(yaml.__with_libyaml__); print(yaml._yaml.__file__); print(s.__file__)"
    )
    out = run_in(root, f"{_venv('webapp')}/bin/python", "-c", probe).stdout.split()
    assert out[0] == "True"
    site = f"{_venv('webapp')}/lib/python{PY[target]}/site-packages/"
    assert all(p.startswith(site) and p.endswith(".so") for p in out[1:]), out
    _check_venv(root, "webapp", PY[target])


def test_c_extension_example_serves_http(
    build: Build, chroot: Callable[[str], Path], tmp_path: Path
) -> None:
    deb = build(copy_example("webapp", tmp_path))
    root = chroot("debian-12")
    dpkg_install(root, deb)
    with socket.socket() as sock:  # a free port (the chroot shares the host's network)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fetch = (
        "import time, urllib.request\n"
        "for _ in range(100):\n"
        "    try:\n"
        f"        print(urllib.request.urlopen('http://127.0.0.1:{port}/').read().decode())\n"
        "        break\n"
        "    except OSError:\n"
        "        time.sleep(0.1)\n"
    )
    script = f'/usr/bin/webapp {port} & pid=$!; python3.11 -c "$1"; kill $pid'
    out = run_in(root, "bash", "-c", script, "fetch", fetch).stdout
    assert "<h1>Hello &lt;Debian&gt; &amp; friends</h1>" in out, out


def test_arm64_build_carries_aarch64_extensions(build: Build, tmp_path: Path) -> None:
    deb = build(copy_example("webapp", tmp_path), target="debian-12", arch="arm64")
    assert deb_field(deb, "Architecture") == "arm64"
    assert deb.name.endswith("_arm64.deb"), deb.name
    members = list(fsys_members(deb))
    shared = [m for m in members if m.kind == "file" and ".so" in Path(m.name).suffixes]
    assert {Path(m.name).name.split(".")[0] for m in shared} >= {"_yaml", "_speedups"}, shared
    for member in shared:
        assert elf_machine(member.data) == EM_AARCH64, member.name
    # no x86_64 object slipped in anywhere
    assert not [m.name for m in members if elf_machine(m.data) not in (None, EM_AARCH64)]


@pytest.mark.parametrize("example", ["hello-cli", "webapp"])
def test_arm64_package_installs_and_runs_in_an_arm64_debian(
    build: Build, chroot: Callable[..., Path], emulation_ready: None, tmp_path: Path,
    example: str,
) -> None:
    """What was tested is what runs: the arm64 package is installed by dpkg into an arm64
    Debian 12 (its programs emulated by qemu-user-static) and its commands run there."""
    deb = build(copy_example(example, tmp_path), target="debian-12", arch="arm64")
    root = chroot("debian-12", "arm64")
    assert run_in(root, "dpkg", "--print-architecture").stdout == "arm64\n"
    dpkg_install(root, deb)
    assert dpkg_status(root, example) == "install ok installed"
    python = f"{_venv(example)}/bin/python"
    machine = "import platform, sys; print(platform.machine(), sys.implementation._multiarch)"
    assert run_in(root, python, "-c", machine).stdout == "aarch64 aarch64-linux-gnu\n"
    if example == "hello-cli":
        assert run_in(root, "/usr/bin/hello-cli", "--name", "Debian").stdout == "Hello, Debian!\n"
    else:
        assert run_in(root, "/usr/bin/webapp", "--check").stdout == WEBAPP_CHECK
        probe = "import yaml._yaml as y, markupsafe._speedups as s; print(y.__file__, s.__file__)"
        loaded = run_in(root, python, "-c", probe).stdout.split()
        assert [Path(p).name for p in loaded] == [
            "_yaml.cpython-311-aarch64-linux-gnu.so",
            "_speedups.cpython-311-aarch64-linux-gnu.so"], loaded
    _check_venv(root, example, "3.11")
    dpkg_purge(root, example)
    assert not (root / _venv(example)[1:]).exists()


def test_bundled_shared_objects_are_shipped_unstripped(
    build: Build, offline_pip: Path, tmp_path: Path
) -> None:
    # manylinux wheels carry their .so files as built; the package must ship the same bytes
    deb = build(copy_example("webapp", tmp_path), target="debian-12", arch="arm64")
    shipped = {m.name.split("/site-packages/", 1)[1]: m.data for m in fsys_members(deb)
               if m.kind == "file" and ".so" in Path(m.name).suffixes}
    assert shipped
    in_wheels: dict[str, bytes] = {}
    for wheel in offline_pip.glob("*cp311*aarch64*.whl"):
        with zipfile.ZipFile(wheel) as zf:
            in_wheels.update({n: zf.read(n) for n in zf.namelist() if n in shipped})
    assert set(in_wheels) == set(shipped)
    for name, data in shipped.items():
        assert data == in_wheels[name], f"{name} differs from the wheel's copy"


def test_upgrade_then_rollback_then_purge(
    build: Build, chroot: Callable[[str], Path], tmp_path: Path
) -> None:
    old = copy_example("hello-cli", tmp_path / "v1.0")
    new = copy_example("hello-cli", tmp_path / "v1.1")
    set_version(new, "1.1")
    (new / "src" / "hello_cli" / "extra.py").write_text("FEATURE = 'only in 1.1'\n")
    deb_old, deb_new = build(old), build(new)
    assert deb_old.name != deb_new.name

    root = chroot("debian-12")
    py = f"{_venv('hello-cli')}/bin/python"
    pkg_dir = root / f"{_venv('hello-cli')[1:]}/lib/python3.11/site-packages/hello_cli"

    dpkg_install(root, deb_old)
    assert run_in(root, "hello-cli", "--version").stdout == "hello-cli, version 1.0\n"

    dpkg_install(root, deb_new)  # upgrade
    assert run_in(root, "hello-cli", "--version").stdout == "hello-cli, version 1.1\n"
    # importing as root writes the .pyc even if postinst did not: dpkg does not know that file
    assert run_in(root, py, "-c", "import hello_cli.extra as e; print(e.FEATURE)").stdout == (
        "only in 1.1\n"
    )
    assert (pkg_dir / "extra.py").exists()
    assert list((pkg_dir / "__pycache__").glob("extra.*.pyc"))

    dpkg_install(root, deb_old)  # rollback: dpkg -i of the older version
    assert run_in(root, "hello-cli", "--version").stdout == "hello-cli, version 1.0\n"
    assert not (pkg_dir / "extra.py").exists()
    assert not list(pkg_dir.glob("__pycache__/extra.*")), "the 1.1-only module's pyc survived"
    assert run_in(root, py, "-c", "import hello_cli.extra", check=False).returncode != 0
    assert run_in(root, "hello-cli").stdout == "Hello, world!\n"

    dpkg_purge(root, "hello-cli")
    assert not (root / _venv("hello-cli")[1:]).exists()
    assert not (root / "usr" / "bin" / "hello-cli").is_symlink()
    assert dpkg_status(root, "hello-cli") in ("", "unknown ok not-installed")


@pytest.mark.lintian
@pytest.mark.parametrize("example", ["hello-cli", "webapp"])
def test_lintian_reports_no_errors(build: Build, tmp_path: Path, example: str) -> None:
    # xz: Debian 12's lintian (2.116) does not read zstd members and would report
    # malformed-deb-archive for the target's default compression; dpkg itself reads both.
    deb = build(copy_example(example, tmp_path), compression="xz")
    tags = lintian(deb)
    assert not [t for t in tags if t.startswith("E:")], "\n".join(tags)
    # the overrides shipped match what the layout causes: none is left unused
    assert not [t for t in tags if "unused-override" in t or "mismatched-override" in t], tags


def _host_needles(*paths: Path) -> dict[str, bytes]:
    needles = {str(p): str(p).encode() for p in paths}
    needles[os.getcwd()] = os.getcwd().encode()
    return {k: v for k, v in needles.items() if len(k) > 1}


def test_no_build_host_path_in_the_package(
    build: Build,
    offline_pip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Distinctive temp and home directories, so any leak of them is visible in the bytes.
    host_tmp = tmp_path / "hostTMPmarker"
    host_home = tmp_path / "hostHOMEmarker"
    host_tmp.mkdir()
    host_home.mkdir()
    real_home = Path.home()
    monkeypatch.setenv("TMPDIR", str(host_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(host_tmp))
    monkeypatch.setenv("HOME", str(host_home))
    project = copy_example("webapp", tmp_path / "hostPROJECTmarker")
    out = tmp_path / "hostOUTmarker"
    out.mkdir()
    deb = build(project, out=out)

    needles = _host_needles(host_tmp, host_home, project, out, offline_pip, tmp_path, REPO)
    needles["sys.prefix"] = sys.prefix.encode()  # the host's (venv) interpreter
    found: list[str] = []
    for member in fsys_members(deb):
        blob = member.name.encode() + b"\0" + member.link.encode() + b"\0" + member.data
        found += [f"{member.name}: {k}" for k, v in needles.items() if v in blob]
        # the upstream .so files were built in /root/... on the wheel builders: only text
        # files are checked for the real $HOME
        if elf_machine(member.data) is None and str(real_home).encode() + b"/" in blob:
            found.append(f"{member.name}: $HOME {real_home}")
    for member in ctrl_members(deb):  # control, md5sums and the maintainer scripts
        found += [f"control.tar {member.name}: {k}" for k, v in needles.items() if v in member.data]
    assert not found, "\n".join(found)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_builds_are_byte_identical(build: Build, tmp_path: Path) -> None:
    # different project and output paths, same SOURCE_DATE_EPOCH: the same bytes
    first = build(copy_example("webapp", tmp_path / "one"))
    second = build(copy_example("webapp", tmp_path / "two" / "deeper"))
    assert first.name == second.name
    assert _sha256(first) == _sha256(second)


# What a build on another OS looks like from inside this process. Patching `os.sep` or
# `os.path` would break pathlib and the PEP 517 front end in-process, and `sys.platform`
# changes how `venv` lays out the isolated build environment that `build` creates, so
# `sys.platform` is replaced only as seen by pydebvenv's own modules.
FOREIGN_HOSTS = {
    "darwin": {"system": "Darwin", "machine": "arm64", "release": "23.4.0"},
    "win32": {"system": "Windows", "machine": "AMD64", "release": "10"},
}


@pytest.fixture
def foreign_host(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, linux_build: Path
) -> Iterator[str]:
    """Make this process look like a macOS or Windows host (after the Linux reference build)."""
    name: str = request.param
    facts = FOREIGN_HOSTS[name]
    import packaging.markers

    import pydebvenv.target as target_mod

    monkeypatch.setattr(platform, "system", lambda: facts["system"])
    monkeypatch.setattr(platform, "machine", lambda: facts["machine"])
    monkeypatch.setattr(platform, "release", lambda: facts["release"])

    original_env = packaging.markers.default_environment

    def default_environment() -> dict[str, str]:
        env = {key: str(value) for key, value in original_env().items()}
        env.update(sys_platform=name, platform_system=facts["system"])
        env.update(platform_machine=facts["machine"], platform_release=facts["release"])
        env["os_name"] = "nt" if name == "win32" else "posix"
        return env

    monkeypatch.setattr(packaging.markers, "default_environment", default_environment)
    fake_facts = target_mod.HostFacts(release=None, machine=facts["machine"])
    fake_sys = types.SimpleNamespace(**{**vars(sys), "platform": name})
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("pydebvenv") or module is None:
            continue
        if getattr(module, "sys", None) is sys:
            monkeypatch.setattr(module, "sys", fake_sys)
        if getattr(module, "host_facts", None) is not None:
            monkeypatch.setattr(module, "host_facts", lambda: fake_facts)
        if getattr(module, "default_environment", None) is original_env:
            monkeypatch.setattr(module, "default_environment", default_environment)
    old_umask = os.umask(0o077)  # a private umask: files the build writes get 0600/0700
    try:
        yield name
    finally:
        os.umask(old_umask)


def _load_pydebvenv_modules() -> None:
    """Import every pydebvenv module first, so the patches reach the names they bind."""
    import pkgutil

    import pydebvenv

    for info in pkgutil.walk_packages(pydebvenv.__path__, "pydebvenv."):
        if info.name in ("pydebvenv.__main__",):
            continue
        __import__(info.name)


@pytest.fixture
def linux_build(build: Build, tmp_path: Path) -> Path:
    """The reference: webapp for debian-12 amd64 built on this (Linux) host."""
    _load_pydebvenv_modules()
    return build(copy_example("webapp", tmp_path / "linux"), target="debian-12", arch="amd64")


@pytest.mark.parametrize("foreign_host", sorted(FOREIGN_HOSTS), indirect=True)
def test_a_foreign_build_host_gives_the_same_bytes(
    build: Build, linux_build: Path, foreign_host: str, tmp_path: Path
) -> None:
    project = copy_example("webapp", tmp_path / foreign_host)
    deb = build(project, target="debian-12", arch="amd64")
    assert deb.name == linux_build.name
    assert _sha256(deb) == _sha256(linux_build), f"a build on {foreign_host} differs"


def test_the_cli_builds_the_same_package_as_the_api(
    build: Build, offline_pip: Path, tmp_path: Path
) -> None:
    project = copy_example("hello-cli", tmp_path)
    by_api = build(project, target="debian-13", arch="arm64")
    out = tmp_path / "cli-dist"
    cmd = [sys.executable, "-m", "pydebvenv", "build", str(project), "-o", str(out)]
    cmd += ["--target", "debian-13", "--arch", "arm64", "--wheel-cache", str(offline_pip)]
    cmd += ["--offline", "-r", str(project / "requirements.txt")]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    (by_cli,) = out.glob("*.deb")
    assert by_cli.name == by_api.name
    assert _sha256(by_cli) == _sha256(by_api)
