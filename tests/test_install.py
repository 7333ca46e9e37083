"""install, wheelzip, destination, elf: one wheel -> entries at the venv's final path."""

from __future__ import annotations

import csv
import io
import posixpath
import struct
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from installer.scripts import Script

from pydebvenv.debfile.entry import Entry
from pydebvenv.errors import WheelError
from pydebvenv.target import get_target
from pydebvenv.venv.destination import shebang
from pydebvenv.venv.install import install_wheel
from tests.support.wheelmaker import make_wheel, record_hash
from tests.test_elf import make_elf

VENV = "/usr/share/python/app"
SITE = "usr/share/python/app/lib/python3.11/site-packages"
T = get_target("debian-12", "amd64")


def fake_elf(machine: int, *, is_64: bool = True, little: bool = True) -> bytes:
    ident = b"\x7fELF" + bytes([2 if is_64 else 1, 1 if little else 2, 1]) + bytes(9)
    order = "<" if little else ">"
    return ident + struct.pack(order + "HH", 3, machine) + b"\0" * 100


def by_path(entries: tuple[Entry, ...]) -> dict[str, Entry]:
    return {e.path: e for e in entries}


def read(entry: Entry) -> bytes:
    with entry.open() as stream:
        return stream.read()


@pytest.fixture
def app_wheel(tmp_path: Path) -> Path:
    return make_wheel(
        tmp_path, "my-app", "1.2",
        files={
            "my_app/__init__.py": "def main():\n    print('hello')\n",
            "my_app/tool.sh": "#!/bin/sh\necho tool\n",
            "my_app/_speed.cpython-311-x86_64-linux-gnu.so": fake_elf(62),
            "my_app/__pycache__/__init__.cpython-311.pyc": b"junk",
            "my_app/stale.pyc": b"junk",
            "my_app-1.2.data/scripts/legacy": "#!python\nprint('legacy')\n",
            "my_app-1.2.data/scripts/shell-tool": "#!/bin/sh\necho shell\n",
            "my_app-1.2.data/data/share/man/man1/app.1": ".TH APP 1\n",
            "my_app-1.2.data/headers/app.h": "int app;\n",
        },
        executable=["my_app/tool.sh", "my_app/_speed.cpython-311-x86_64-linux-gnu.so"],
        entry_points={"console_scripts": {"my-app": "my_app:main"},
                      "gui_scripts": {"my-app-gui": "my_app:main"}},
    )


def test_layout_of_a_wheel(app_wheel: Path) -> None:
    inst = install_wheel(app_wheel, VENV, T, requested=True)
    e = by_path(inst.entries)
    assert f"{SITE}/my_app/__init__.py" in e
    assert "usr/share/python/app/share/man/man1/app.1" in e
    assert "usr/share/python/app/include/site/python3.11/my-app/app.h" in e
    assert "usr/share/python/app/bin/legacy" in e
    assert not any("__pycache__" in p or p.endswith(".pyc") for p in e)
    assert not any(".data" in p for p in e)
    # entry points and the wheel's own .data/scripts are all commands in bin/
    assert inst.scripts == ("legacy", "my-app", "my-app-gui", "shell-tool")
    assert inst.name == "my-app" and inst.version == "1.2"
    info = f"{SITE}/my_app-1.2.dist-info"
    assert read(e[f"{info}/INSTALLER"]) == b"pydebvenv\n"
    assert read(e[f"{info}/REQUESTED"]) == b""
    assert f"{info}/direct_url.json" not in e
    assert all(not p.startswith("/") for p in e)


def test_not_requested_has_no_requested_file(app_wheel: Path) -> None:
    e = by_path(install_wheel(app_wheel, VENV, T).entries)
    assert f"{SITE}/my_app-1.2.dist-info/REQUESTED" not in e


def test_modes(app_wheel: Path) -> None:
    e = by_path(install_wheel(app_wheel, VENV, T).entries)
    assert e[f"{SITE}/my_app/__init__.py"].mode == 0o644
    assert e[f"{SITE}/my_app/tool.sh"].mode == 0o755  # exec bit from the zip
    # lintian shared-library-is-executable: .so always 0644 even when the zip says 0755
    assert e[f"{SITE}/my_app/_speed.cpython-311-x86_64-linux-gnu.so"].mode == 0o644
    assert e["usr/share/python/app/bin/my-app"].mode == 0o755
    assert e["usr/share/python/app/bin/legacy"].mode == 0o755
    assert e["usr/share/python/app/bin/shell-tool"].mode == 0o755  # zip said 0644


def test_scripts_use_the_final_interpreter(app_wheel: Path) -> None:
    e = by_path(install_wheel(app_wheel, VENV, T).entries)
    script = read(e["usr/share/python/app/bin/my-app"])
    assert script.startswith(b"#!/usr/share/python/app/bin/python\n")
    assert b"from my_app import main" in script
    assert read(e["usr/share/python/app/bin/legacy"]) == (
        b"#!/usr/share/python/app/bin/python\nprint('legacy')\n")
    assert read(e["usr/share/python/app/bin/shell-tool"]) == b"#!/bin/sh\necho shell\n"


def test_long_prefix_uses_the_sh_trick(tmp_path: Path) -> None:
    venv = "/opt/" + "x" * 120 + "/app"
    wheel = make_wheel(tmp_path, "tool", files={
        "tool/__init__.py": "def main():\n    return 0\n",
        "tool-1.0.data/scripts/old": "#!pythonw\nprint(1)\n",
    }, entry_points={"console_scripts": {"tool": "tool:main"}})
    e = by_path(install_wheel(wheel, venv, T).entries)
    bin_ = venv.lstrip("/") + "/bin"
    for name in ("tool", "old"):
        data = read(e[f"{bin_}/{name}"])
        assert data.startswith(
            b"#!/bin/sh\n'''exec' " + venv.encode() + b'/bin/python "$0" "$@"\n'), name
    assert read(e[f"{bin_}/old"]).endswith(b"' '''\nprint(1)\n")


@pytest.mark.parametrize("exe", ["/usr/share/python/app/bin/python", "/a b/bin/python",
                                 "/" + "y" * 130 + "/bin/python", "/" + "y" * 122])
def test_shebang_equals_installers(exe: str) -> None:
    _, data = Script("x", "m", "f", "console").generate(exe, "posix")
    assert data.startswith(shebang(exe) + b"\n# -*- coding")


def test_record_is_rewritten(app_wheel: Path) -> None:
    e = by_path(install_wheel(app_wheel, VENV, T, requested=True).entries)
    info = f"{SITE}/my_app-1.2.dist-info"
    rows = list(csv.reader(io.StringIO(read(e[f"{info}/RECORD"]).decode())))
    paths = {r[0]: r for r in rows}
    assert paths["my_app-1.2.dist-info/RECORD"] == ["my_app-1.2.dist-info/RECORD", "", ""]
    assert "../../../bin/my-app" in paths
    assert "../../../bin/legacy" in paths
    assert "../../../share/man/man1/app.1" in paths
    assert "../../../include/site/python3.11/my-app/app.h" in paths
    assert "my_app-1.2.dist-info/INSTALLER" in paths
    assert "my_app-1.2.dist-info/REQUESTED" in paths
    assert not any("__pycache__" in p or p.endswith(".pyc") for p in paths)
    # every listed file exists with that hash and size; every installed file is listed
    base = SITE
    for path, hash_, size in rows:
        if path.endswith("RECORD"):
            continue
        full = posixpath.normpath(f"{base}/{path}")
        data = read(e[full])
        assert hash_ == record_hash(data) and size == str(len(data)), path
    assert len(rows) == len(e)


def test_elf_and_tags(tmp_path: Path, app_wheel: Path) -> None:
    inst = install_wheel(app_wheel, VENV, T)
    assert inst.elf_machines == {"x86_64"} and inst.has_binary
    arm = make_wheel(tmp_path, "armpkg", tag="cp311-cp311-manylinux_2_17_aarch64", files={
        "armpkg/_c.so": fake_elf(183), "armpkg/__init__.py": ""})
    inst = install_wheel(arm, VENV, T)
    assert inst.elf_machines == {T.arch.elf_machine.replace("x86_64", "aarch64")} == {"aarch64"}
    assert inst.platform_tags == {"manylinux_2_17_aarch64"}
    ppc = make_wheel(tmp_path, "ppc", files={"ppc/_c.so": fake_elf(21)})
    assert install_wheel(ppc, VENV, T).elf_machines == {"ppc64le"}
    pure = make_wheel(tmp_path, "pure", files={"pure/x.so": b"not an elf at all, just text"})
    inst = install_wheel(pure, VENV, T)
    assert not inst.has_binary and inst.platform_tags == frozenset()


def test_needed_and_shipped_sonames(tmp_path: Path) -> None:
    # auditwheel's layout: the extension needs a bundled library by its file name
    ext = make_elf(["libyaml-0-1a2b3c.so.2.0.9", "libstdc++.so.6", "libc.so.6"])
    lib = make_elf(["libc.so.6"], "libyaml-0-1a2b3c.so.2.0.9")
    w = make_wheel(tmp_path, "yamlish", tag="cp311-cp311-manylinux_2_17_x86_64", files={
        "yamlish/_c.cpython-311-x86_64-linux-gnu.so": ext,
        "yamlish.libs/libyaml-0-1a2b3c.so.2.0.9": lib,
        "yamlish/__init__.py": "",
        "yamlish/__pycache__/x.so": make_elf(["libskipped.so.1"]),  # never installed
    })
    inst = install_wheel(w, VENV, T)
    assert inst.needed == {"libyaml-0-1a2b3c.so.2.0.9", "libstdc++.so.6", "libc.so.6"}
    assert inst.shipped == {"_c.cpython-311-x86_64-linux-gnu.so", "libyaml-0-1a2b3c.so.2.0.9"}
    pure = make_wheel(tmp_path, "pure", files={"pure/x.so": b"not an elf"})
    assert install_wheel(pure, VENV, T).needed == frozenset()


def test_skipped_elf_in_pycache_does_not_count(tmp_path: Path) -> None:
    w = make_wheel(tmp_path, "p", files={"p/__pycache__/x.so": fake_elf(62), "p/a.py": ""})
    assert install_wheel(w, VENV, T).elf_machines == frozenset()


def test_content_is_lazy_and_exact(app_wheel: Path) -> None:
    e = by_path(install_wheel(app_wheel, VENV, T).entries)
    so = e[f"{SITE}/my_app/_speed.cpython-311-x86_64-linux-gnu.so"]
    assert read(so) == fake_elf(62) and so.size == len(fake_elf(62))
    assert read(so) == fake_elf(62)  # a fresh stream each time
    # as the archive writer reads it: tarfile copies exactly `size` bytes, never reads EOF
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in e.values():
            info = tarfile.TarInfo(entry.path)
            info.size = entry.size
            with entry.open() as stream:
                tar.addfile(info, stream)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        member = tar.extractfile(so.path)
        assert member is not None and member.read() == fake_elf(62)


def test_changed_wheel_is_detected_on_read(tmp_path: Path) -> None:
    w = make_wheel(tmp_path, "chg", files={"chg/__init__.py": "x = 1\n"})
    e = by_path(install_wheel(w, VENV, T).entries)
    make_wheel(tmp_path, "chg", files={"chg/__init__.py": "x = 2\n"})  # same name, new bytes
    with pytest.raises(WheelError, match=r"'chg/__init__.py' does not match its RECORD"):
        read(e[f"{SITE}/chg/__init__.py"])


def test_no_host_path_in_output(tmp_path: Path, app_wheel: Path) -> None:
    inst = install_wheel(app_wheel, VENV, T, requested=True)
    needles = [str(tmp_path).encode(), str(app_wheel.parent).encode(), b"/tmp/"]
    for entry in inst.entries:
        blob = entry.path.encode() + entry.source.encode() + (entry.link or "").encode()
        if entry.kind == "file":
            blob += read(entry)
        for needle in needles:
            assert needle not in blob, (entry.path, needle)


def _zip(path: Path, members: dict[str, bytes], record: str | None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if record is not None:
            zf.writestr("bad-1.0.dist-info/RECORD", record)
    return path


def _meta() -> dict[str, bytes]:
    return {
        "bad-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: bad\nVersion: 1.0\n",
        "bad-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }


def _record(members: dict[str, bytes]) -> str:
    return "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, d in members.items()) + (
        "bad-1.0.dist-info/RECORD,,\n")


@pytest.mark.parametrize("name", ["/etc/passwd", "../evil.py", "bad/../../evil.py",
                                  "bad-1.0.data/data/../../../etc/x", "bad\\..\\x.py"])
def test_unsafe_paths_are_refused(tmp_path: Path, name: str) -> None:
    members = {**_meta(), name: b"x"}
    wheel = _zip(tmp_path / "bad-1.0-py3-none-any.whl", members, _record(members))
    with pytest.raises(WheelError, match="unsafe member path"):
        install_wheel(wheel, VENV, T)


def test_record_mismatch_is_refused(tmp_path: Path) -> None:
    # the content hash is checked in the one pass that reads the content: the write
    w = make_wheel(tmp_path, "bad", files={"bad/__init__.py": "x = 1\n"},
                   record_override={"bad/__init__.py": record_hash(b"other")})
    e = by_path(install_wheel(w, VENV, T).entries)
    with pytest.raises(WheelError, match=r"bad-1.0-py3-none-any.whl.*'bad/__init__.py'") as info:
        read(e[f"{SITE}/bad/__init__.py"])
    assert "\n" not in str(info.value)
    # a size RECORD disagrees with is refused up front
    members = {**_meta(), "bad/__init__.py": b"x = 1\n"}
    record = "".join(line.rsplit(",", 1)[0] + ",99\n" if line.startswith("bad/__init__") else line
                     for line in _record(members).splitlines(keepends=True))
    wheel = _zip(tmp_path / "bad-1.0-py3-none-any.whl", members, record)
    with pytest.raises(WheelError, match=r"'bad/__init__.py' does not match its RECORD"):
        install_wheel(wheel, VENV, T)
    w = make_wheel(tmp_path, "bad", files={"bad/__init__.py": "x = 1\n"},
                   record_override={"bad/__init__.py": "md5=AAAA"})
    with pytest.raises(WheelError, match="sha256 or stronger"):
        install_wheel(w, VENV, T)


def test_missing_record_and_unlisted_member(tmp_path: Path) -> None:
    members = {**_meta(), "bad/__init__.py": b""}
    with pytest.raises(WheelError, match="RECORD"):
        install_wheel(_zip(tmp_path / "bad-1.0-py3-none-any.whl", members, None), VENV, T)
    record = _record(_meta())
    with pytest.raises(WheelError, match="not listed in RECORD"):
        install_wheel(_zip(tmp_path / "bad-1.0-py3-none-any.whl", members, record), VENV, T)


def test_bad_data_key_and_escaping_names(tmp_path: Path) -> None:
    w = make_wheel(tmp_path, "bad", files={"bad-1.0.data/nope/x": "x"})
    with pytest.raises(WheelError, match="nope"):
        install_wheel(w, VENV, T)
    w = make_wheel(tmp_path, "bad", files={"bad/__init__.py": ""},
                   entry_points={"console_scripts": {"../../../../../../etc/evil": "bad:x"}})
    with pytest.raises(WheelError, match="outside"):
        install_wheel(w, VENV, T)


def test_not_a_wheel(tmp_path: Path) -> None:
    p = tmp_path / "junk-1.0-py3-none-any.whl"
    p.write_bytes(b"not a zip")
    with pytest.raises(WheelError, match="cannot read wheel"):
        install_wheel(p, VENV, T)
    q = tmp_path / "junk.zip"
    q.write_bytes(b"")
    with pytest.raises(WheelError, match="not a wheel file name"):
        install_wheel(q, VENV, T)


def test_script_runs_with_sh_trick_on_this_host(tmp_path: Path) -> None:
    # The /bin/sh trick must really run: bake a long path whose bin/python is this host's.
    venv = tmp_path / ("v" * 130)
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    w = make_wheel(tmp_path, "hello", files={"hello/__init__.py": "def main():\n print('hi')\n"},
                   entry_points={"console_scripts": {"hello": "hello:main"}})
    e = by_path(install_wheel(w, str(venv), T).entries)
    script = venv / "bin" / "hello"
    script.write_bytes(read(e[str(script).lstrip("/")]))
    script.chmod(0o755)
    pkg = venv / "lib/python3.11/site-packages/hello"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("def main():\n print('hi')\n")
    out = subprocess.run([str(script)], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(pkg.parent), "PATH": "/usr/bin:/bin"})
    assert out.stdout == "hi\n"


def test_bad_wheel_metadata(tmp_path: Path) -> None:
    members = {k: v for k, v in _meta().items() if not k.endswith("WHEEL")}
    members["bad/__init__.py"] = b""
    wheel = _zip(tmp_path / "bad-1.0-py3-none-any.whl", members, _record(members))
    with pytest.raises(WheelError, match=r"bad-1\.0-py3-none-any\.whl.*WHEEL"):
        install_wheel(wheel, VENV, T)
    members = {**_meta(), "bad-1.0.dist-info/WHEEL": b"Wheel-Version: 2.0\nRoot-Is-Purelib: true\n"}
    wheel = _zip(tmp_path / "bad-1.0-py3-none-any.whl", members, _record(members))
    with pytest.raises(WheelError, match="Wheel-Version"):
        install_wheel(wheel, VENV, T)
    members = {**_meta(), "other-1.0.dist-info/METADATA": b"Name: other\n"}
    wheel = _zip(tmp_path / "bad-1.0-py3-none-any.whl", members, _record(members))
    with pytest.raises(WheelError, match="dist-info"):
        install_wheel(wheel, VENV, T)
