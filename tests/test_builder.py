"""Every [tool.pydebvenv] key reaches the control file or the build: real builds, read back
with dpkg-deb and pydebvenv.inspect.  The application is built by a tiny in-tree PEP 517
backend and its dependencies come from a wheel cache the test makes, all offline."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import pydebvenv
from pydebvenv.project.keys import KEYS
from pydebvenv.report import Reporter
from tests.support.backend import BACKEND
from tests.support.host import running_python_target
from tests.support.wheelmaker import make_wheel

EPOCH = "1700000000"
Build = Callable[..., Path]


def _project(root: Path, toml_extra: str = "", name: str = "keyapp") -> Path:
    project = root / "proj"
    project.mkdir(exist_ok=True)
    (project / "backend.py").write_text(BACKEND)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "' + name + '"\nversion = "2.0"\ndescription = "exercise every key"\n'
        'dependencies = ["dep-one"]\noptional-dependencies = {fast = ["dep-fast"]}\n'
        'maintainers = [{name = "Key Tester", email = "keys@example.org"}]\n'
        + toml_extra
    )
    (project / "app.conf").write_text("setting = 1\n")
    (project / "share").mkdir(exist_ok=True)
    (project / "share" / "a.txt").write_text("a\n")
    (project / "share" / "sub").mkdir(exist_ok=True)
    (project / "share" / "sub" / "b.txt").write_text("b\n")
    return project


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    cache.mkdir()
    make_wheel(cache, "dep-one", "1.0")
    make_wheel(cache, "dep-fast", "1.0")
    make_wheel(cache, "dep-pinned", "3.0")
    make_wheel(cache, "dep-pinned", "4.0")
    make_wheel(cache, "pip", "99.0", files={"pip/__init__.py": ""})
    # the installer tools are in the cache, as in any real one: they must not reach the venv
    make_wheel(cache, "setuptools", "80.0", files={"setuptools/__init__.py": ""})
    make_wheel(cache, "wheel", "0.45.0", files={"wheel/__init__.py": ""})
    make_wheel(cache, "dep-native", "1.0", tag="cp38-abi3-manylinux_2_28_x86_64")
    return cache


@pytest.fixture
def build(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Build:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("PIP_NO_INDEX", "1")

    def run(toml_extra: str = "", **options: Any) -> Path:
        project = _project(tmp_path, toml_extra)
        options.setdefault("target", "debian-12")
        options.setdefault("arch", "amd64")
        options.setdefault("offline", True)
        options.setdefault("wheel_cache", cache)
        out = tmp_path / "out"
        return pydebvenv.build(project, output_dir=out, **options)

    return run


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True,
                          check=True).stdout.strip()


def _names(deb: Path) -> list[str]:
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return tf.getnames()


def _bundled(deb: Path) -> list[str]:
    """The distributions in the venv, as their .dist-info directories name them."""
    site = "./usr/share/python/keyapp/lib/python3.11/site-packages/"
    return sorted(n[len(site):].removesuffix(".dist-info") for n in _names(deb)
                  if n.startswith(site) and n.endswith(".dist-info") and "/" not in n[len(site):])


def _unit(deb: Path, path: str) -> str | None:
    """The text of the data.tar member ``path`` (a unit file), None when absent."""
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        try:
            member = tf.extractfile(f"./{path}")
        except KeyError:
            return None
        return member.read().decode() if member else None


def test_defaults_from_project(build: Build) -> None:
    deb = build()
    assert deb.name == "keyapp_2.0-1+deb12_all.deb"
    assert _field(deb, "Maintainer") == "Key Tester <keys@example.org>"
    assert _field(deb, "Depends") == "python3.11"
    assert _field(deb, "Section") == "utils" and _field(deb, "Priority") == "optional"
    names = _names(deb)
    assert "./usr/bin/keyapp" in names and "./usr/bin/keyapp-extra" in names
    assert "./usr/share/python/keyapp/lib/python3.11/site-packages/dep_one/__init__.py" in names
    assert not [n for n in names if n.endswith(".pyc")]
    # README: no pip, setuptools or wheel unless the application needs them
    site = "./usr/share/python/keyapp/lib/python3.11/site-packages/"
    dists = sorted(n[len(site):].split("-")[0] for n in names
                   if n.startswith(site) and n.endswith(".dist-info") and "/" not in n[len(site):])
    assert dists == ["dep_one", "keyapp"]


# (keyword argument, value, check on the built package)
CASES: list[tuple[str, object, Callable[[Path], bool]]] = [
    ("name", "renamed", lambda d: _field(d, "Package") == "renamed"
     and "./usr/share/python/renamed/bin/python" in _names(d)),
    ("revision", "7", lambda d: _field(d, "Version") == "2.0-7+deb12"),
    ("release_suffix", ".{codename}", lambda d: _field(d, "Version") == "2.0-1.bookworm"),
    ("maintainer", "Other One <other@example.org>",
     lambda d: _field(d, "Maintainer") == "Other One <other@example.org>"),
    ("summary", "a better synopsis", lambda d: _field(d, "Description").startswith(
        "a better synopsis")),
    ("description", "Longer text.\n\nSecond paragraph.",
     lambda d: "Second paragraph." in pydebvenv.inspect(d).control["Description"]),
    ("prefix", "/opt/venvs", lambda d: "./opt/venvs/keyapp/bin/python" in _names(d)),
    ("target", "debian-13", lambda d: _field(d, "Depends") == "python3.13"
     and "./usr/share/python/keyapp/lib/python3.13/site-packages" in _names(d)),
    ("compression", "gzip", lambda d: pydebvenv.inspect(d).compression == ("gzip", "gzip")),
    ("extras", ["fast"], lambda d: any("site-packages/dep_fast/" in n for n in _names(d))),
    ("depends", ["adduser"], lambda d: _field(d, "Depends") == "python3.11, adduser"),
    ("pre_depends", ["dpkg (>= 1.19)"], lambda d: _field(d, "Pre-Depends") == "dpkg (>= 1.19)"),
    ("recommends", ["nginx"], lambda d: _field(d, "Recommends") == "nginx"),
    ("suggests", ["curl"], lambda d: _field(d, "Suggests") == "curl"),
    ("conflicts", ["oldapp"], lambda d: _field(d, "Conflicts") == "oldapp"),
    ("breaks", ["oldapp (<< 2)"], lambda d: _field(d, "Breaks") == "oldapp (<< 2)"),
    ("replaces", ["oldapp"], lambda d: _field(d, "Replaces") == "oldapp"),
    ("provides", ["app-service"], lambda d: _field(d, "Provides") == "app-service"),
    ("section", "web", lambda d: _field(d, "Section") == "web"),
    ("priority", "extra", lambda d: _field(d, "Priority") == "extra"),
    ("fields", {"X-Team": "platform"}, lambda d: _field(d, "X-Team") == "platform"),
    ("scripts", ["keyapp-extra"], lambda d: "./usr/bin/keyapp-extra" in _names(d)
     and "./usr/bin/keyapp" not in _names(d)),
    ("files", [{"source": "app.conf", "destination": "/etc/keyapp/app.conf", "conffile": True},
               {"source": "share", "destination": "/usr/share/keyapp", "mode": "0755"}],
     lambda d: pydebvenv.inspect(d).conffiles == ("/etc/keyapp/app.conf",)
     and {f.path: f.mode for f in pydebvenv.inspect(d).files}.get(
         "./usr/share/keyapp/sub/b.txt") == 0o755),
    ("preinst", "echo PRE-SNIPPET", lambda d: "PRE-SNIPPET" in pydebvenv.inspect(d).scripts.get("preinst", "")
     ),
    ("postinst", "echo POST-SNIPPET", lambda d: "POST-SNIPPET" in pydebvenv.inspect(d).scripts.get("postinst", "")
     ),
    ("prerm", "echo PRERM-SNIPPET", lambda d: "PRERM-SNIPPET" in pydebvenv.inspect(d).scripts.get("prerm", "")
     ),
    ("postrm", "echo POSTRM-SNIPPET", lambda d: "POSTRM-SNIPPET" in pydebvenv.inspect(d).scripts.get("postrm", "")
     ),
    ("services", [{"exec": "keyapp --serve", "state-directory": True}], lambda d: _unit(
        d, "lib/systemd/system/keyapp.service") is not None and "ExecStart=/usr/share/python/"
     "keyapp/bin/keyapp --serve\n" in (_unit(d, "lib/systemd/system/keyapp.service") or "")
     and _field(d, "Depends") == "python3.11, adduser"
     and "_pydebvenv_invoke restart 'keyapp.service'" in pydebvenv.inspect(d).scripts[
         "postinst"]),
    ("timers", [{"name": "prune", "exec": "keyapp-extra --prune", "on-calendar": "daily"}],
     lambda d: "OnCalendar=daily\n" in (_unit(d, "lib/systemd/system/prune.timer") or "")
     and "Type=oneshot\n" in (_unit(d, "lib/systemd/system/prune.service") or "")),
    ("include_pip", True, lambda d: any("site-packages/pip/__init__.py" in n for n in _names(d))),
    ("offline", True, lambda d: d.is_file()),
]


@pytest.mark.parametrize(("key", "value", "check"), CASES, ids=[c[0] for c in CASES])
def test_each_key_reaches_the_package(build: Build, key: str, value: object,
                                      check: Callable[[Path], bool]) -> None:
    assert not check(build()) or key == "offline", f"{key}: the default already passes"
    assert check(build(**{key: value}))


def test_the_same_keys_from_tool_pydebvenv(build: Build) -> None:
    deb = build('\n[tool.pydebvenv]\nname = "fromtoml"\nrevision = "3"\n'
                'recommends = ["nginx"]\npre-depends = ["dpkg"]\n')
    assert (_field(deb, "Package"), _field(deb, "Version")) == ("fromtoml", "2.0-3+deb12")
    assert _field(deb, "Recommends") == "nginx" and _field(deb, "Pre-Depends") == "dpkg"
    # the API (like the CLI) wins over [tool.pydebvenv]
    assert _field(build('\n[tool.pydebvenv]\nrevision = "3"\n', revision="4"), "Version") == "2.0-4+deb12"


def test_requirements_and_arch(build: Build, tmp_path: Path) -> None:
    req = tmp_path / "req.txt"
    req.write_text("dep-one==1.0\ndep-pinned==3.0\ndep-native\n")
    deb = build(requirements=[req])
    names = _names(deb)
    assert any("dep_pinned-3.0.dist-info" in n for n in names)
    # a platform wheel: the target architecture and the libc of its manylinux tag
    assert deb.name == "keyapp_2.0-1+deb12_amd64.deb"
    assert _field(deb, "Depends") == "python3.11, libc6 (>= 2.28)"


def test_compile_ships_hash_based_pycs(build: Build) -> None:
    target = running_python_target()  # only the target's own X.Y can make its pycs
    deb = build(compile=True, target=target.release.name, arch=target.arch.name)
    tag = "cpython-{}{}".format(*target.python_version)
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                          check=True).stdout
    pycs: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        bundles = [m for m in tf if "/lib/pydebvenv-bytecode/" in m.name and m.isfile()]
        assert bundles and not [n for n in tf.getnames() if n.endswith(".pyc")]
        for member in bundles:
            with tarfile.open(fileobj=tf.extractfile(member), mode="r:gz") as bundle:
                pycs += bundle.getnames()
    assert f"dep_one/__pycache__/__init__.{tag}.pyc" in pycs
    postinst = pydebvenv.inspect(deb).scripts.get("postinst", "")
    # the bundles are put in place; compileall only when the interpreter cannot use them
    unpack, _, fallback = postinst.partition("|| ")
    assert "pydebvenv-bytecode" in unpack and "compileall" not in unpack
    assert "compileall" in fallback


def test_every_key_has_a_case() -> None:
    covered = {c[0] for c in CASES} | {"requirements", "arch", "wheel_cache", "compile",
                                       # index keys only steer fetch: tests/test_fetch.py
                                       "index_url", "extra_index_urls", "find_links"}
    assert {k.toml.replace("-", "_") for k in KEYS} <= covered


def test_scripts_of_a_project_whose_name_is_not_normalised(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    project = _project(tmp_path, name="Key_App")
    deb = pydebvenv.build(project, output_dir=tmp_path / "out", target="debian-12",
                          arch="amd64", offline=True, wheel_cache=cache)
    assert _field(deb, "Package") == "key-app"
    names = _names(deb)
    assert "./usr/bin/Key_App" in names and "./usr/bin/Key_App-extra" in names


def test_a_script_that_needs_missing_extras_is_refused(build: Build, cache: Path) -> None:
    make_wheel(cache, "dep-one", "1.1", extras=["d"], requires=['dep-fast; extra == "d"'],
               entry_points={"console_scripts": {"oned": "dep_one:main [d]"}})
    with pytest.raises(pydebvenv.ConfigError, match=r"^console script 'oned' needs the extras "
                       r"\[d\] of dep-one \(dep-fast not installed\)"):
        build(scripts=["keyapp", "oned"])
    # the application's extra "fast" brings dep-fast: now the script can start
    deb = build(scripts=["keyapp", "oned"], extras=["fast"])
    assert "./usr/bin/oned" in _names(deb)


def test_installer_tools_come_only_when_something_requires_them(build: Build,
                                                                cache: Path) -> None:
    # README: no pip, setuptools or wheel unless the application needs them (the cache
    # holds all three; test_defaults_from_project builds without them)
    make_wheel(cache, "dep-one", "1.1", requires=["setuptools"])
    assert _bundled(build()) == ["dep_one-1.1", "keyapp-2.0", "setuptools-80.0"]


def test_the_build_says_which_requirements_it_used(build: Build, tmp_path: Path) -> None:
    """README: the -r files given, else those in [tool.pydebvenv], else a requirements.txt
    beside pyproject.toml, else the project's own dependencies; the build says which."""
    def built(toml_extra: str = "", **options: Any) -> tuple[str, list[str]]:
        log = io.StringIO()
        deb = build(toml_extra, reporter=Reporter(log), **options)
        (line,) = [ln.strip() for ln in log.getvalue().splitlines()
                   if ln.strip().startswith("requirements: ")]
        return line.split(";")[0], _bundled(deb)

    project = tmp_path / "proj"
    assert built() == ("requirements: dependencies", ["dep_one-1.0", "keyapp-2.0"])
    (project / "requirements.txt").write_text("dep-one\ndep-pinned==3.0\n")
    assert built() == (f"requirements: requirements.txt ({project / 'requirements.txt'})",
                       ["dep_one-1.0", "dep_pinned-3.0", "keyapp-2.0"])
    (project / "reqs").mkdir()
    (project / "reqs" / "a.txt").write_text("dep-one\ndep-pinned==4.0\n")
    config = '\n[tool.pydebvenv]\nrequirements = ["reqs/a.txt"]\n'
    assert built(config) == (f"requirements: config ({project / 'reqs' / 'a.txt'})",
                             ["dep_one-1.0", "dep_pinned-4.0", "keyapp-2.0"])
    given = tmp_path / "given.txt"
    given.write_text("dep-one\ndep-fast\n")
    assert built(config, requirements=[given]) == (
        f"requirements: override ({given})", ["dep_fast-1.0", "dep_one-1.0", "keyapp-2.0"])


def test_the_wheel_cache_option_beats_the_environment(
    build: Build, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: --wheel-cache, else $PYDEBVENV_WHEEL_CACHE, else the XDG cache directory
    (tests/test_wheels.py::test_default_wheel_cache checks the order of the last two)."""
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    monkeypatch.setenv("PYDEBVENV_WHEEL_CACHE", str(empty))
    with pytest.raises(pydebvenv.ResolutionError, match="dep-one"):
        build(wheel_cache=None)  # no option: the variable's (empty) cache
    assert build(wheel_cache=cache).is_file()  # the option wins over the variable
    monkeypatch.setenv("PYDEBVENV_WHEEL_CACHE", str(cache))
    assert build(wheel_cache=None).is_file()
    with pytest.raises(pydebvenv.ResolutionError, match="dep-one"):
        build(wheel_cache=empty)


@pytest.mark.parametrize("compression", ["zstd", "xz"])
def test_a_build_starts_no_debian_tool(build: Build, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, compression: str) -> None:
    """README: no dpkg-buildpackage, no dpkg-deb: the .deb is written in Python, so a build
    needs no program on PATH at all (none of dpkg, tar, xz or zstd), as on macOS or Windows."""
    path = os.environ["PATH"]
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    deb = build(compression=compression)
    monkeypatch.setenv("PATH", path)
    assert pydebvenv.inspect(deb).compression == (compression, compression)
    assert _field(deb, "Package") == "keyapp"  # and dpkg-deb reads what was written
