"""maintscripts.py: generated maintainer scripts, merged snippets, build-time pycs."""

from __future__ import annotations

import importlib.util
import io
import marshal
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pydebvenv.debfile.entry import Entry, dir_entry, file_entry
from pydebvenv.debian.maintscripts import Snippets, maintainer_scripts
from pydebvenv.errors import BuildError, ConfigError
from pydebvenv.target import Target, get_target
from pydebvenv.venv.bytecode import BUNDLES, bytecode_magic, compile_entries
from tests.support.host import running_python_target

VENV = "/usr/share/python/app"
T = get_target("debian-12", "amd64")
SITE = "usr/share/python/app/lib/python3.11/site-packages"
SNIPPETS = Snippets(preinst="echo PRE", postinst="echo POST", prerm="echo RM",
                    postrm="echo POSTRM")


def _all(scripts: object) -> dict[str, str]:
    names = ("preinst", "postinst", "prerm", "postrm")
    return {n: getattr(scripts, n) for n in names if getattr(scripts, n) is not None}


def test_shape_and_syntax() -> None:
    for kwargs in ({}, {"snippets": SNIPPETS}, {"compile_on_install": False}):
        scripts = maintainer_scripts(VENV, **kwargs)
        assert scripts.triggers is None
        for name, text in _all(scripts).items():
            assert text.startswith("#!/bin/sh\nset -e\n"), name
            subprocess.run(["sh", "-n", "-c", text], check=True)


def test_defaults() -> None:
    s = maintainer_scripts(VENV)
    assert s.preinst is None
    assert s.postinst is not None
    assert "/usr/share/python/app/bin/python -m compileall -qq -j0 /usr/share/python/app/lib" in (
        s.postinst)
    assert s.prerm is not None and "remove|upgrade|deconfigure|failed-upgrade)" in s.prerm
    assert "-path '*/__pycache__/*' \\( -name '*.pyc' -o -name '*.pyc.[0-9]*' \\) -delete" in s.prerm
    assert "rm -rf" not in s.prerm
    assert s.postrm is not None and '"$1" = "purge"' in s.postrm
    assert "rm -rf" not in s.postrm and "rmdir" in s.postrm


def test_site_packages_only() -> None:
    s = maintainer_scripts(VENV, python_version="3.11")
    assert s.postinst is not None
    assert "-j0 /usr/share/python/app/lib/python3.11/site-packages >" in s.postinst
    with pytest.raises(ConfigError):
        maintainer_scripts(VENV, python_version="3.11; rm -rf /")


def test_no_compile() -> None:
    assert maintainer_scripts(VENV, compile_on_install=False).postinst is None
    s = maintainer_scripts(VENV, compile_on_install=False, snippets=Snippets(postinst="echo x"))
    assert s.postinst is not None and "compileall" not in s.postinst


def test_snippet_order() -> None:
    s = maintainer_scripts(VENV, snippets=SNIPPETS)
    assert s.preinst is not None and "echo PRE" in s.preinst
    assert s.postinst is not None
    assert s.postinst.index("compileall") < s.postinst.index("echo POST")  # generated first
    assert s.prerm is not None and s.prerm.index("echo RM") < s.prerm.index("__pycache__")
    assert s.postrm is not None and s.postrm.index("echo POSTRM") < s.postrm.index("rmdir")
    assert "# Begin user snippet: postinst" in s.postinst
    assert "# End user snippet: postinst" in s.postinst


def test_bad_venv() -> None:
    for venv in ("usr/share/python/app", "/usr/share/common-licenses", "//etc", "/usr/lib",
                 "/usr/share/python/../../etc"):
        with pytest.raises(ConfigError, match=r"docs/safety\.md"):
            maintainer_scripts(venv)


def _run(text: str, *args: str, root: str = "") -> str:
    out = subprocess.run(["sh", "-c", text, "script", *args], check=True, capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin", "DPKG_ROOT": root})
    return out.stdout


def test_clean_and_purge_honour_dpkg_root(tmp_path: Path) -> None:
    (tmp_path / "var/lib/dpkg/info").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text("")  # dpkg-query: nobody owns anything
    venv = tmp_path / VENV.lstrip("/")
    cache = venv / "lib/python3.11/site-packages/pkg/__pycache__"
    cache.mkdir(parents=True)
    (cache / "m.cpython-311.pyc").write_bytes(b"x")
    (venv / "lib/python3.11/site-packages/pkg/m.py").write_text("")
    s = maintainer_scripts(VENV, snippets=SNIPPETS)
    assert s.prerm is not None and s.postrm is not None and s.postinst is not None
    assert _run(s.prerm, "upgrade", "2.0", root=str(tmp_path)) == "RM\n"
    assert not cache.exists() and (venv / "lib/python3.11/site-packages/pkg/m.py").exists()
    _run(s.prerm, "remove", root=str(tmp_path))  # idempotent
    # a chrootless postinst does not run the target's interpreter
    assert _run(s.postinst, "configure", "", root=str(tmp_path)) == "POST\n"
    assert not cache.exists()
    _run(s.postrm, "remove", root=str(tmp_path))
    assert venv.exists()
    (venv / "lib/python3.11/site-packages/pkg/m.py").unlink()  # what dpkg removes itself
    cache.mkdir()  # written after prerm by a process still running from the venv
    (cache / "m.cpython-311.pyc").write_bytes(b"x")
    _run(s.postrm, "purge", root=str(tmp_path))
    assert not venv.exists() and venv.parent.exists()
    _run(s.postrm, "purge", root=str(tmp_path))  # idempotent


def _entries(site: str = SITE) -> tuple[Entry, ...]:
    return (
        dir_entry(site, source="t"),
        file_entry(f"{site}/pkg/__init__.py", b"def f():\n    return 1 / 0\n", source="t"),
        file_entry(f"{site}/pkg/broken.py", b"def (:\n", source="t"),
        file_entry(f"{site}/pkg/data.txt", b"x", source="t"),
        file_entry("usr/share/python/app/bin/activate_this.py", b"x = 1\n", source="t"),
    )


def _pycs(out: tuple[Entry, ...]) -> dict[str, bytes]:
    """The pycs of the bundles among ``out``, by their path in the venv's site-packages."""
    found: dict[str, bytes] = {}
    for entry in out:
        if entry.path.startswith(f"{VENV.lstrip('/')}/{BUNDLES}/"):
            assert entry.path.endswith(".tar.gz") and entry.mode == 0o644
            with entry.open() as stream, tarfile.open(fileobj=stream, mode="r:gz") as tar:
                for member in tar:
                    assert member.uid == member.gid == 0 and member.mtime == 0
                    found[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return found


def _tag(target: Target) -> str:
    return "cpython-{}{}".format(*target.python_version)


def test_compile_entries() -> None:
    target = running_python_target()  # pycs can only be made by the target's own X.Y
    site = f"usr/share/python/app/{target.site_packages}"
    out = compile_entries(VENV, target, _entries(site))
    assert [e.path for e in out[:len(_entries(site))]] == [e.path for e in _entries(site)]
    pycs = _pycs(out)
    name = f"pkg/__pycache__/__init__.{_tag(target)}.pyc"
    assert set(pycs) == {name}  # not the broken file, not bin/, not data
    data = pycs[name]
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b11  # PEP 552 checked hash
    source = b"def f():\n    return 1 / 0\n"
    assert data[8:16] == importlib.util.source_hash(source)
    code = marshal.loads(data[16:])
    assert code.co_filename == f"/{site}/pkg/__init__.py"
    again = compile_entries(VENV, target, _entries(site))
    with again[-1].open() as a, out[-1].open() as b:
        assert a.read() == b.read()  # reproducible, bundle included


def test_compile_entries_refuses_another_python() -> None:
    other = next(get_target(r, "amd64") for r in ("debian-13", "debian-11")
                 if get_target(r, "amd64").python_version != sys.version_info[:2])
    with pytest.raises(BuildError, match="cannot byte-compile"):
        compile_entries(VENV, other, _entries())


class _Counted:
    """Sources whose reads are counted, each in its own group (wheel)."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def entry(self, name: str, text: bytes, group: str, site: str) -> Entry:
        path = f"{site}/{name}"

        def opener() -> io.BytesIO:
            self.read.append(name)
            return io.BytesIO(text)

        return Entry(path, "file", 0o644, "t", size=len(text), opener=opener,
                     digest=f"{group}/{name}/{hash(text)}", group=group)


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="needs a 3.11 host for debian-12")
def test_compiled_byte_code_is_kept_per_wheel(tmp_path: Path) -> None:
    target = running_python_target()
    site = f"usr/share/python/app/{target.site_packages}"
    counted = _Counted()
    sources = [counted.entry("a/__init__.py", b"A = 1\n", "wheel-a", site),
               counted.entry("b/__init__.py", b"B = 2\n", "wheel-b", site)]

    first = _pycs(compile_entries(VENV, target, sources, cache_dir=tmp_path))
    assert sorted(counted.read) == ["a/__init__.py", "b/__init__.py"]
    assert first == _pycs(compile_entries(VENV, target, sources))  # the same bytes uncached
    counted.read.clear()
    assert _pycs(compile_entries(VENV, target, sources, cache_dir=tmp_path)) == first
    assert counted.read == []  # nothing compiled again
    changed = [sources[0], counted.entry("b/__init__.py", b"B = 3\n", "wheel-b", site)]
    counted.read.clear()
    again = _pycs(compile_entries(VENV, target, changed, cache_dir=tmp_path))
    assert counted.read == ["b/__init__.py"]  # only the changed wheel
    name = f"a/__pycache__/__init__.{_tag(target)}.pyc"
    assert again[name] == first[name] and again != first
    for kept in tmp_path.glob("*.tar.gz"):  # damaged: compiled again, never used
        kept.write_bytes(kept.read_bytes()[:-3])
    counted.read.clear()
    assert _pycs(compile_entries(VENV, target, changed, cache_dir=tmp_path)) == again
    assert sorted(counted.read) == ["a/__init__.py", "b/__init__.py"]


@pytest.mark.parametrize("magic", ["own", "other"])
def test_postinst_unpacks_the_shipped_byte_code(tmp_path: Path, magic: str) -> None:
    """The bundles' pycs land in __pycache__ and are used; an interpreter with another magic
    number compiles instead, so no pyc of the wrong interpreter is ever put in place."""
    target = running_python_target()
    venv = tmp_path / "venv"
    site = venv / target.site_packages
    entries = (file_entry(f"{str(site).lstrip('/')}/pkg/__init__.py", b"VALUE = 42\n",
                          source="t"),)
    for entry in compile_entries(str(venv), target, entries):
        dest = Path("/" + entry.path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with entry.open() as stream:
            dest.write_bytes(stream.read())
    (venv / "bin").mkdir()
    (venv / "bin/python").symlink_to(sys.executable)
    # made for a venv where packages may put one, run on this test's copy of it
    scripts = maintainer_scripts(VENV, compile_on_install=False, python_version=target.pyver,
                                 bytecode_magic=bytecode_magic() if magic == "own" else "00000000")
    assert scripts.postinst is not None and VENV in scripts.postinst
    postinst = scripts.postinst.replace(VENV, str(venv))
    env = {k: v for k, v in os.environ.items() if k != "DPKG_ROOT"}
    subprocess.run(["sh", "-c", postinst, "postinst", "configure"], check=True, env=env)
    pyc = site / f"pkg/__pycache__/__init__.{_tag(target)}.pyc"
    data = pyc.read_bytes()
    assert int.from_bytes(data[4:8], "little") == (0b11 if magic == "own" else 0)
    assert not list(site.rglob("*.pyc.*"))  # no temporary left ("<pyc>.<pid>")
    run = subprocess.run([sys.executable, "-c", "import pkg; print(pkg.VALUE)"], cwd=site,
                         capture_output=True, text=True, check=True)
    assert run.stdout == "42\n"
    assert pyc.read_bytes() == data  # valid for this interpreter: used, not written again
