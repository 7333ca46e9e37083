"""layout.py: the venv skeleton plus wheels, checked as entries and by really running it."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pydebvenv.debfile.entry import Entry
from pydebvenv.debian.fields import depends, unpackaged_sonames
from pydebvenv.debian.maintscripts import maintainer_scripts
from pydebvenv.errors import ConfigError, WheelError
from pydebvenv.target import get_target
from pydebvenv.venv.layout import pyvenv_cfg, skeleton_entries, venv_entries
from tests.support.gate import need
from tests.support.host import system_python_target
from tests.support.wheelmaker import make_wheel
from tests.test_elf import make_elf

VENV = "/usr/share/python/app"
T = get_target("debian-12", "amd64")


def by_path(entries: tuple[Entry, ...]) -> dict[str, Entry]:
    return {e.path: e for e in entries}


def read(entry: Entry) -> bytes:
    with entry.open() as stream:
        return stream.read()


def materialise(entries: tuple[Entry, ...], root: Path) -> None:
    """Write entries under ``root`` as dpkg would unpack them (parents first)."""
    for entry in sorted(entries, key=lambda e: e.path):
        path = root / entry.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if entry.kind == "dir":
            path.mkdir(exist_ok=True)
        elif entry.kind == "symlink":
            assert entry.link is not None
            path.symlink_to(entry.link)
        else:
            path.write_bytes(read(entry))
        if entry.kind != "symlink":
            path.chmod(entry.mode)


def test_pyvenv_cfg() -> None:
    assert pyvenv_cfg(T) == (
        "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n"
        "executable = /usr/bin/python3.11\n")
    assert pyvenv_cfg(T, prompt="my app").endswith("prompt = 'my app'\n")
    old = get_target("debian-11", "amd64")
    assert "executable" not in pyvenv_cfg(old) and "version = 3.9.2\n" in pyvenv_cfg(old)
    assert "command" not in pyvenv_cfg(T)


def test_skeleton_symlinks() -> None:
    e = by_path(skeleton_entries(VENV, T))
    assert e["usr/share/python/app/bin/python3.11"].link == "../../../../bin/python3.11"
    assert e["usr/share/python/app/bin/python"].link == "python3.11"
    assert e["usr/share/python/app/bin/python3"].link == "python3.11"
    assert e["usr/share/python/app/lib64"].link == "lib"
    assert e["usr/share/python/app/lib/python3.11/site-packages"].kind == "dir"
    assert e["usr/share/python/app/include"].kind == "dir"
    for name in ("activate", "activate.fish", "activate.csh", "activate.nu", "activate.ps1",
                 "activate_this.py"):
        assert e[f"usr/share/python/app/bin/{name}"].kind == "file"
    assert read(e["usr/share/python/app/pyvenv.cfg"]) == pyvenv_cfg(T).encode()
    deep = by_path(skeleton_entries("/opt/venvs/a/b", T))
    assert deep["opt/venvs/a/b/bin/python3.11"].link == "../../../../../usr/bin/python3.11"


@pytest.mark.parametrize(("arch", "lib64"), [("amd64", True), ("arm64", True), ("i386", False),
                                             ("armhf", False), ("s390x", True)])
def test_lib64_follows_the_target_bits(arch: str, lib64: bool) -> None:
    e = by_path(skeleton_entries(VENV, get_target("debian-12", arch)))
    assert ("usr/share/python/app/lib64" in e) is lib64


def test_other_python_versions() -> None:
    t = get_target("debian-13", "arm64")
    e = by_path(skeleton_entries(VENV, t))
    assert e["usr/share/python/app/bin/python3.13"].link == "../../../../bin/python3.13"
    assert "usr/share/python/app/lib/python3.13/site-packages" in e


@pytest.mark.parametrize("bad", ["relative/path", "/", "/usr/share/python/app/", "/a/../b",
                                 "/a//b", "/a\nb"])
def test_bad_venv_paths(bad: str) -> None:
    with pytest.raises(ConfigError):
        venv_entries(bad, T, [])


def test_system_sonames_are_needed_minus_shipped(tmp_path: Path) -> None:
    ext = make_elf(["libbundled-9f8e.so.1", "libgcc_s.so.1", "libGLU.so.1", "libc.so.6"])
    a = make_wheel(tmp_path, "a", tag="cp311-cp311-manylinux_2_28_x86_64", files={
        "a/_a.so": ext, "a.libs/libbundled-9f8e.so.1": make_elf([], "libbundled-9f8e.so.1")})
    b = make_wheel(tmp_path, "b", tag="cp311-cp311-manylinux_2_17_x86_64", files={
        "b/_b.so": make_elf(["libstdc++.so.6", "libm.so.6"])})
    layout = venv_entries(VENV, T, [a, b])
    assert layout.system_sonames == {"libgcc_s.so.1", "libGLU.so.1", "libc.so.6",
                                     "libstdc++.so.6", "libm.so.6"}
    assert unpackaged_sonames(layout.system_sonames) == {"libGLU.so.1"}
    assert depends(T, layout.platform_tags, layout.has_binary,
                   sonames=layout.system_sonames) == (
        "python3.11, libc6 (>= 2.28), libgcc-s1 (>= 4.2), libstdc++6 (>= 4.1.1)")


def test_wheels_and_report(tmp_path: Path) -> None:
    app = make_wheel(tmp_path, "app", files={"app/__init__.py": "def main(): pass\n"},
                     entry_points={"console_scripts": {"app": "app:main", "app-admin": "app:main"}})
    so = b"\x7fELF\x02\x01\x01" + bytes(11) + (183).to_bytes(2, "little") + bytes(40)
    ext = make_wheel(tmp_path, "ext", tag="cp311-cp311-manylinux_2_17_aarch64",
                     files={"ext/_c.so": so})
    layout = venv_entries(VENV, T, [ext, app], requested=["App"])
    assert layout.scripts == {"app": ("app", "app-admin"), "ext": ()}
    assert layout.has_binary
    assert layout.platform_tags == {"manylinux_2_17_aarch64"}
    paths = [e.path for e in layout.entries]
    assert len(paths) == len(set(paths))
    site = "usr/share/python/app/lib/python3.11/site-packages"
    assert f"{site}/app-1.0.dist-info/REQUESTED" in paths
    assert f"{site}/ext-1.0.dist-info/REQUESTED" not in paths
    for entry in layout.entries:  # no host path anywhere
        blob = entry.path + entry.source + (entry.link or "")
        data = read(entry) if entry.kind == "file" else b""
        assert str(tmp_path) not in blob and str(tmp_path).encode() not in data


def test_cached_wheel_values(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class Cached:
        path: Path
        requested: bool

    one = make_wheel(tmp_path, "one")
    two = make_wheel(tmp_path, "two")
    layout = venv_entries(VENV, T, [Cached(one, True), Cached(two, False)])
    paths = {e.path for e in layout.entries}
    site = "usr/share/python/app/lib/python3.11/site-packages"
    assert f"{site}/one-1.0.dist-info/REQUESTED" in paths
    assert f"{site}/two-1.0.dist-info/REQUESTED" not in paths


def test_conflicting_wheels(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = make_wheel(tmp_path / "a", "one", files={"shared/x.py": "1"})
    two = make_wheel(tmp_path / "b", "two", files={"shared/x.py": "2"})
    with pytest.raises(WheelError, match="installed by both"):
        venv_entries(VENV, T, [one, two])
    again = make_wheel(tmp_path / "b", "one", "2.0")
    with pytest.raises(WheelError, match="two wheels of distribution 'one'"):
        venv_entries(VENV, T, [one, again])


def test_real_run(tmp_path: Path) -> None:
    """Materialise the venv at its baked path and run it with the system's own Python."""
    target = system_python_target()  # debian-12 on a Debian 12 host, debian-13 on Debian 13
    venv = tmp_path / "root" / "usr share" / "python" / "app"  # a space: the sh trick too
    wheel = make_wheel(tmp_path, "hello", files={
        "hello/__init__.py": "import sys\ndef main():\n    print('hello from', sys.prefix)\n",
        "hello/sub/__init__.py": "",
    }, entry_points={"console_scripts": {"hello": "hello:main"}})
    layout = venv_entries(str(venv), target, [wheel], requested=["hello"])
    materialise(layout.entries, Path("/"))
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([str(venv / "bin" / "hello")], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout == f"hello from {venv}\n"
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import sys, hello; print(sys.prefix); print(hello.__file__)"],
                         capture_output=True, text=True, check=True, env=env)
    site = venv / target.site_packages
    assert out.stdout.splitlines() == [str(venv), str(site / "hello/__init__.py")]
    # the packaging tools of the venv see the distribution
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import importlib.metadata as m; d = m.distribution('hello');"
                          "print(d.read_text('INSTALLER'), end='')"],
                         capture_output=True, text=True, check=True, env=env)
    assert out.stdout == "pydebvenv\n"


def _daemon_tool(tmp_path: Path) -> Path:
    """black's shape: ``toold = tool:daemon [d]`` and an extra that needs aiohttp."""
    return make_wheel(
        tmp_path, "tool", extras=["d"],
        requires=['aiohttp>=3; extra == "d"', 'uvloop; extra == "d" and sys_platform == "win32"'],
        entry_points={"console_scripts": {"tool": "tool:main", "toold": "tool:daemon [d]"}})


def test_a_script_whose_extras_are_not_installed_is_refused(tmp_path: Path) -> None:
    from pydebvenv.debian.links import exposed_commands

    layout = venv_entries(VENV, T, [_daemon_tool(tmp_path)])
    (unmet,) = layout.unmet_extras.items()
    # uvloop's marker does not hold on the target: only aiohttp is missing
    assert (unmet[0], unmet[1].dist, unmet[1].extras, unmet[1].missing) == (
        "toold", "tool", ("d",), ("aiohttp",))
    assert exposed_commands(None, ["tool"], layout.scripts, layout.unmet_extras) == ("tool",)
    with pytest.raises(ConfigError) as info:
        exposed_commands(["tool", "toold"], ["tool", "toold"], layout.scripts,
                         layout.unmet_extras)
    assert str(info.value) == (
        "console script 'toold' needs the extras [d] of tool (aiohttp not installed), so it "
        "would fail at start: add tool[d] to the requirements (extras = ['d'] when tool is "
        "the application), or leave 'toold' out of tool.pydebvenv.scripts")


def test_a_script_whose_extras_are_installed_is_exposed(tmp_path: Path) -> None:
    from pydebvenv.debian.links import exposed_commands

    wheels = [_daemon_tool(tmp_path), make_wheel(tmp_path, "aiohttp", "3.9")]
    layout = venv_entries(VENV, T, wheels)
    assert layout.unmet_extras == {}
    assert exposed_commands(["tool", "toold"], ["tool", "toold"], layout.scripts,
                            layout.unmet_extras) == ("tool", "toold")


def _at_opt(opt: Path, script: str, *args: str) -> None:
    """Run ``script`` with ``opt`` mounted on /opt in a mount namespace of its own, so the
    venv sits at its real path (/opt/app: a tree a venv may live in) without touching /opt."""
    subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount --bind "$1" /opt && shift && exec sh -c "$@"', "at-opt", str(opt),
                    script, *args],
                   check=True, env={"PATH": "/usr/bin:/bin", "DPKG_ROOT": ""})


def test_real_scripts(tmp_path: Path) -> None:
    """postinst compiles the venv with the target's interpreter, prerm and purge remove the
    caches (and nothing else: the package's files are dpkg's to remove)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        need("mounting a directory on /opt needs root and unshare")
    target = system_python_target()
    wheel = make_wheel(tmp_path, "hello", files={"hello/__init__.py": "", "hello/sub/__init__.py": ""})
    with venv_entries("/opt/app", target, [wheel]) as layout:
        materialise(layout.entries, tmp_path)
    venv = tmp_path / "opt" / "app"
    site = venv / target.site_packages
    scripts = maintainer_scripts("/opt/app", python_version=target.pyver)
    assert scripts.postinst and scripts.prerm and scripts.postrm
    _at_opt(tmp_path / "opt", scripts.postinst, "postinst", "configure", "")
    pycs = sorted(p.relative_to(site) for p in site.rglob("*.pyc"))
    tag = "cpython-{}{}".format(*target.python_version)
    assert Path(f"hello/__pycache__/__init__.{tag}.pyc") in pycs
    assert Path(f"hello/sub/__pycache__/__init__.{tag}.pyc") in pycs
    assert not (venv / "bin" / "__pycache__").exists()
    _at_opt(tmp_path / "opt", scripts.postinst, "postinst", "configure", "1.0")  # idempotent
    _at_opt(tmp_path / "opt", scripts.prerm, "prerm", "upgrade", "0.9")
    assert not list(venv.rglob("__pycache__"))
    _at_opt(tmp_path / "opt", scripts.postinst, "postinst", "configure", "1.0")
    _at_opt(tmp_path / "opt", scripts.prerm, "prerm", "remove")
    _at_opt(tmp_path / "opt", scripts.postrm, "postrm", "purge")
    assert not list(venv.rglob("__pycache__"))
    assert (site / "hello" / "sub" / "__init__.py").is_file()
