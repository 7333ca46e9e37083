"""maintscripts.py: generated maintainer scripts, merged snippets, build-time pycs."""

from __future__ import annotations

import importlib.util
import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from pydebvenv.debfile.entry import Entry, dir_entry, file_entry
from pydebvenv.debian.maintscripts import Snippets, maintainer_scripts
from pydebvenv.errors import BuildError, ConfigError
from pydebvenv.target import get_target
from pydebvenv.venv.bytecode import compile_entries
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


def test_compile_entries() -> None:
    target = running_python_target()  # pycs can only be made by the target's own X.Y
    site = f"usr/share/python/app/{target.site_packages}"
    out = compile_entries(VENV, target, _entries(site))
    added = {e.path: e for e in out[len(_entries(site)):]}
    pyc_path = f"{site}/pkg/__pycache__/__init__.cpython-{{}}{{}}.pyc".format(
        *target.python_version)
    assert set(added) == {pyc_path}  # not the broken file, not bin/, not data
    with added[pyc_path].open() as stream:
        data = stream.read()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b11  # PEP 552 checked hash
    source = b"def f():\n    return 1 / 0\n"
    assert data[8:16] == importlib.util.source_hash(source)
    code = marshal.loads(data[16:])
    assert code.co_filename == f"/{site}/pkg/__init__.py"
    again = compile_entries(VENV, target, _entries(site))
    with again[-1].open() as stream:
        assert stream.read() == data  # reproducible


def test_compile_entries_refuses_another_python() -> None:
    other = next(get_target(r, "amd64") for r in ("debian-13", "debian-11")
                 if get_target(r, "amd64").python_version != sys.version_info[:2])
    with pytest.raises(BuildError, match="cannot byte-compile"):
        compile_entries(VENV, other, _entries())
