"""The application's own wheel through the PEP 517 front end, offline, with an in-tree backend."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest

from pydebvenv.acquire.appwheel import (
    AppWheel,
    build_app_wheel,
    check_app_wheel_fits,
    copy_source_tree,
)
from pydebvenv.errors import BuildError, ConfigError
from pydebvenv.target import HostFacts, get_target
from tests.support import wheelmaker
from tests.support.tree import snapshot

BACKEND = '''
import pathlib, os
import wheelmaker

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if os.environ.get("FAIL_BACKEND"):
        raise RuntimeError("error: the backend refused: " + os.environ["FAIL_BACKEND"])
    path = wheelmaker.make_wheel(pathlib.Path(wheel_directory), "tiny-app", "2.0", tag=TAG)
    return path.name
'''


def _project(tmp_path: Path, tag: str = "py3-none-any") -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "tiny-app"\nversion = "2.0"\n'
    )
    (project / "backend.py").write_text(BACKEND.replace("TAG", repr(tag)))
    shutil.copy(wheelmaker.__file__, project / "wheelmaker.py")
    return project


def test_builds_offline_with_the_standard_front_end(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    wheel = build_app_wheel(_project(tmp_path), out, wheel_cache=tmp_path / "cache",
                            offline=True, source_date_epoch=1700000000)
    assert wheel.path.parent == out and wheel.path.name == "tiny_app-2.0-py3-none-any.whl"
    assert wheel.pure
    assert [p.name for p in out.iterdir()] == [wheel.path.name]  # its temp dir is gone


def test_a_failing_backend_is_one_line_naming_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL_BACKEND", "no compiler")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BuildError) as info:
        build_app_wheel(_project(tmp_path), out, wheel_cache=tmp_path, offline=True,
                        source_date_epoch=1)
    message = str(info.value)
    assert "building the wheel of" in message and "no compiler" in message
    assert "\n" not in message
    assert list(out.iterdir()) == []


def test_compiled_app_wheel_only_for_the_host_platform(tmp_path: Path) -> None:
    wheel = AppWheel(tmp_path / "tiny_app-2.0-cp311-cp311-linux_x86_64.whl", pure=False)
    debian12 = HostFacts("debian-12", "x86_64")
    check_app_wheel_fits(wheel, get_target("debian-12", "amd64"), debian12)  # the host itself
    for target in (get_target("debian-12", "arm64"), get_target("debian-13", "amd64")):
        with pytest.raises(BuildError, match=f"cannot run on {target.name}"):
            check_app_wheel_fits(wheel, target, debian12)
    with pytest.raises(BuildError, match="compiled code"):
        check_app_wheel_fits(wheel, get_target("debian-12", "amd64"), HostFacts(None, "arm64"))
    pure = AppWheel(tmp_path / "tiny_app-2.0-py3-none-any.whl", pure=True)
    check_app_wheel_fits(pure, get_target("debian-13", "arm64"), HostFacts(None, "arm64"))


def test_offline_without_the_backend_in_the_cache_says_so(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["no-such-backend-xyz"]\nbuild-backend = "nsb"\n'
        '[project]\nname = "tiny-app"\nversion = "2.0"\n'
    )
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BuildError) as info:
        build_app_wheel(project, out, wheel_cache=tmp_path / "cache", offline=True,
                        source_date_epoch=1)
    message = str(info.value)
    assert "no-such-backend-xyz" in message and "pydebvenv fetch" in message, message


# A backend that writes into the tree it builds, as setuptools does (build/, *.egg-info/).
LITTERING = '''
import pathlib
import wheelmaker

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    pathlib.Path("build/lib").mkdir(parents=True, exist_ok=True)
    pathlib.Path("build/lib/tiny.py").write_text("copied\\n")
    pathlib.Path("tiny_app.egg-info").mkdir(exist_ok=True)
    pathlib.Path("tiny_app.egg-info/SOURCES.txt").write_text("backend.py\\n")
    pathlib.Path("README.md").write_text("rewritten by the backend\\n")
    text = pathlib.Path("data/readme-link.txt").read_text()
    path = wheelmaker.make_wheel(pathlib.Path(wheel_directory), "tiny-app", "2.0",
                                 files={"tiny_app/__init__.py": text})
    return path.name
'''


def test_the_backend_never_writes_into_the_project(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "backend.py").write_text(LITTERING)
    (project / "README.md").write_text("the project's readme\n")
    (project / "data").mkdir()
    # a link out of the project (a monorepo's shared file) still reads the same file
    (tmp_path / "shared.txt").write_text("shared text\n")
    (project / "data" / "readme-link.txt").symlink_to("../../shared.txt")
    (project / "dist").mkdir()  # the output directory inside the project
    (project / "dist" / "old.deb").write_bytes(b"x" * 10)
    before = snapshot(project)
    wheel = build_app_wheel(project, project / "dist", wheel_cache=tmp_path / "cache",
                            offline=True, source_date_epoch=1700000000,
                            exclude=[project / "dist"])
    with zipfile.ZipFile(wheel.path) as zf:
        assert zf.read("tiny_app/__init__.py") == b"shared text\n"
    wheel.path.unlink()
    assert snapshot(project) == before  # byte for byte, modes and links included


def test_the_copy_leaves_out_what_no_backend_builds_from(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    for path, text in {
        "pyproject.toml": "[project]\n",
        "src/app/__init__.py": "",
        "src/app/__pycache__/x.cpython-311.pyc": "",
        ".venv/pyvenv.cfg": "home = /usr/bin\n",
        ".venv/lib/big.py": "",
        ".mypy_cache/CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55\n",
        ".mypy_cache/x.json": "",
        "notcache/CACHEDIR.TAG": "something else\n",
        ".git/HEAD": "ref: refs/heads/main\n",
        "out/old.deb": "",
    }.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    (project / "run.sh").write_text("#!/bin/sh\n")
    (project / "run.sh").chmod(0o755)
    (project / "src" / "link.py").symlink_to("app/__init__.py")
    copy = tmp_path / "copy"
    copy_source_tree(project, copy, exclude=[project / "out"])
    copied = snapshot(copy)
    assert sorted(p for p, v in copied.items() if v[0] != "dir") == [
        ".git/HEAD", "notcache/CACHEDIR.TAG", "pyproject.toml", "run.sh", "src/app/__init__.py",
        "src/link.py"]
    assert copied["run.sh"][1] == 0o755
    assert copied["src/link.py"] == ("link", copied["src/link.py"][1], "app/__init__.py")


# --- the cached build environment and the reuse of unchanged wheels -----------------------

# A backend shipped as a wheel in the cache: it logs every hook call (to a file named by
# BUILD_LOG), packs app.py, and asks for what EXTRA_REQUIRES names.
COUNTING_BACKEND = '''
import os, pathlib, sys, tomllib, wheelmaker_copy as wm

if os.environ.get("FAIL_IN") == "import":
    raise RuntimeError("refused in import")

def _fail(hook):
    if os.environ.get("FAIL_IN") == hook:
        raise RuntimeError("refused in " + hook)

def _log(hook):
    with open(os.environ["BUILD_LOG"], "a") as log:
        log.write("%s %d %s\\n" % (hook, os.getpid(), sys.prefix))

def get_requires_for_build_wheel(config_settings=None):
    _log("get_requires")
    _fail("get_requires")
    return os.environ.get("EXTRA_REQUIRES", "").split()

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _log("build_wheel")
    _fail("build_wheel")
    for name in os.environ.get("EXTRA_REQUIRES", "").split():
        __import__(name.split(">")[0].replace("-", "_"))  # what it asked for is importable
    request = pathlib.Path(os.environ["BUILD_LOG"] + ".edit")  # outside the project
    if request.exists():  # someone edits the project's app.py while the backend runs
        pathlib.Path(os.environ["PROJECT_APP"]).write_text(request.read_text())
        request.unlink()
    project = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]
    files = {"app.py": pathlib.Path("app.py").read_bytes()}
    path = wm.make_wheel(pathlib.Path(wheel_directory), project["name"], project["version"],
                         files=files)
    return path.name
'''


def _counting_backend(wheels: Path, version: str = "1.0") -> None:
    wheelmaker.make_wheel(wheels, "counting-backend", version, files={
        "counting_backend/__init__.py": COUNTING_BACKEND,
        "wheelmaker_copy.py": Path(wheelmaker.__file__).read_text(),
    })


def _counted_project(tmp_path: Path, wheels: Path) -> Path:
    """A project built by the counting backend, whose wheel goes into ``wheels``."""
    _counting_backend(wheels)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["counting-backend"]\nbuild-backend = "counting_backend"\n'
        '[project]\nname = "tiny-app"\nversion = "2.0"\n')
    (project / "app.py").write_text("print('v1')\n")
    return project


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    project = _counted_project(tmp_path, wheels)
    log = tmp_path / "hooks.log"
    monkeypatch.setenv("BUILD_LOG", str(log))
    monkeypatch.setenv("PROJECT_APP", str(project / "app.py"))  # the project, not the copy
    monkeypatch.delenv("EXTRA_REQUIRES", raising=False)
    monkeypatch.delenv("FAIL_IN", raising=False)
    return {"wheels": wheels, "project": project, "log": log, "cache": tmp_path / "caches",
            "tmp": tmp_path}


def _build(c: dict[str, Path], epoch: int = 1700000000) -> AppWheel:
    out = Path(tempfile.mkdtemp(dir=c["tmp"], prefix="out-"))
    return build_app_wheel(c["project"], out, wheel_cache=c["wheels"], offline=True,
                           source_date_epoch=epoch, cache_dir=c["cache"])


def _hooks(c: dict[str, Path]) -> list[str]:
    lines = c["log"].read_text().splitlines() if c["log"].exists() else []
    return [line.split()[0] for line in lines]


def _prefixes(c: dict[str, Path]) -> list[str]:
    return [line.split()[2] for line in c["log"].read_text().splitlines()]


def _app_py(wheel: AppWheel) -> bytes:
    with zipfile.ZipFile(wheel.path) as zf:
        return zf.read("app.py")


def test_an_unchanged_project_reuses_its_wheel_without_running_the_backend(
        counted: dict[str, Path]) -> None:
    first = _build(counted)
    assert not first.reused and _hooks(counted) == ["get_requires", "build_wheel"]
    second = _build(counted)
    assert second.reused and _hooks(counted) == ["get_requires", "build_wheel"]
    assert second.path.read_bytes() == first.path.read_bytes()
    assert second.path.parent != first.path.parent  # a copy in this build's directory
    assert len(list((counted["cache"] / "build-envs").iterdir())) == 1


@pytest.mark.parametrize("change", ["source file", "pyproject", "backend", "SOURCE_DATE_EPOCH",
                                    "a variable the backend sees"])
def test_any_changed_input_builds_again(counted: dict[str, Path], change: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _build(counted)
    epoch = 1700000000
    if change == "source file":
        (counted["project"] / "app.py").write_text("print('v2')\n")
    elif change == "pyproject":
        text = (counted["project"] / "pyproject.toml").read_text()
        (counted["project"] / "pyproject.toml").write_text(text.replace('"2.0"', '"2.1"'))
    elif change == "backend":  # a newer backend wheel arrives in the cache
        _counting_backend(counted["wheels"], "1.1")
    elif change == "SOURCE_DATE_EPOCH":
        epoch += 1
    else:
        monkeypatch.setenv("CFLAGS", "-O3")
    again = _build(counted, epoch)
    assert not again.reused
    assert _hooks(counted).count("build_wheel") == 2
    if change == "source file":
        assert _app_py(again) == b"print('v2')\n"
    if change == "backend":
        assert len(list((counted["cache"] / "build-envs").iterdir())) == 2


def test_a_terminal_variable_does_not_rebuild(counted: dict[str, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _build(counted)
    monkeypatch.setenv("OLDPWD", "/somewhere/else")
    assert _build(counted).reused


def test_going_back_to_earlier_sources_reuses_their_wheel(counted: dict[str, Path]) -> None:
    _build(counted)
    (counted["project"] / "app.py").write_text("print('v2')\n")
    _build(counted)
    (counted["project"] / "app.py").write_text("print('v1')\n")
    back = _build(counted)
    assert back.reused and _app_py(back) == b"print('v1')\n"
    assert _hooks(counted).count("build_wheel") == 2


def test_a_source_edited_during_the_build_is_not_recorded(counted: dict[str, Path]) -> None:
    Path(str(counted["log"]) + ".edit").write_text("print('edited while building')\n")
    _build(counted)
    assert (counted["project"] / "app.py").read_text() == "print('edited while building')\n"
    # the copy the backend built from may hold either version: that wheel stands for neither
    (counted["project"] / "app.py").write_text("print('v1')\n")
    again = _build(counted)
    assert not again.reused and _app_py(again) == b"print('v1')\n"


def test_a_damaged_cached_wheel_is_built_again(counted: dict[str, Path]) -> None:
    _build(counted)
    stored = next((counted["cache"] / "app-wheels").glob("*/*.whl"))
    stored.write_bytes(stored.read_bytes()[:-10])
    again = _build(counted)
    assert not again.reused and zipfile.ZipFile(again.path).testzip() is None


def test_the_hooks_run_in_the_build_environment_in_order(counted: dict[str, Path]) -> None:
    _build(counted)
    assert _hooks(counted) == ["get_requires", "build_wheel"]
    envs = counted["cache"] / "build-envs"
    # each hook's interpreter is the cached environment's, not the caller's
    assert all(Path(p).is_relative_to(envs) for p in _prefixes(counted))


def test_what_the_backend_asks_for_is_installed_for_it(counted: dict[str, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    wheelmaker.make_wheel(counted["wheels"], "extra-helper", "1.0")
    monkeypatch.setenv("EXTRA_REQUIRES", "extra-helper>=1")
    wheel = _build(counted)  # build_wheel imports extra_helper, or fails
    assert not wheel.reused
    assert len(list((counted["cache"] / "build-envs").iterdir())) == 2
    # asked in the first environment, then both hooks again in the one that holds it
    assert _hooks(counted) == ["get_requires", "get_requires", "build_wheel"]


def test_what_the_backend_asks_for_must_be_in_the_cache_offline(
        counted: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXTRA_REQUIRES", "not-in-the-cache>=1")
    with pytest.raises(BuildError) as info:
        _build(counted)
    assert "not-in-the-cache>=1" in str(info.value) and "pydebvenv fetch" in str(info.value)


@pytest.mark.parametrize("hook", ["get_requires", "build_wheel", "import"])
def test_a_failing_hook_is_one_line(counted: dict[str, Path], hook: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIL_IN", hook)
    with pytest.raises(BuildError) as info:
        _build(counted)
    message = str(info.value)
    assert message.startswith("building the wheel of ") and "\n" not in message
    assert f"RuntimeError: refused in {hook}" in message


def test_backend_path_must_stay_in_the_project(tmp_path: Path) -> None:
    project = _project(tmp_path)
    text = (project / "pyproject.toml").read_text().replace('backend-path = ["."]',
                                                            'backend-path = [".."]')
    (project / "pyproject.toml").write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConfigError, match="backend-path"):
        build_app_wheel(project, out, wheel_cache=tmp_path / "cache", offline=True,
                        source_date_epoch=1)


def test_online_a_missing_backend_is_fetched_into_the_wheel_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an online build: what [build-system] asks for and the cache lacks comes from the
    # index into the wheel cache (the way `pydebvenv fetch` would put it there), then the
    # environment is made from the cache, without pip installing anything into it
    from pydebvenv.acquire.fetch import fetch_requirements
    from pydebvenv.project.sources import Inputs
    from tests.support.index import serve_index
    from tests.support.isolation import isolated_pip_env

    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    for key, value in isolated_pip_env().items():
        monkeypatch.setenv(key, value)
    served = tmp_path / "index"
    (served / "files").mkdir(parents=True)
    project = _counted_project(tmp_path, served / "files")
    monkeypatch.setenv("BUILD_LOG", str(tmp_path / "hooks.log"))
    cache = tmp_path / "wheels"
    out = tmp_path / "out"
    out.mkdir()
    target = get_target("debian-12", "amd64")
    with serve_index(served) as index:
        wheel = build_app_wheel(
            project, out, wheel_cache=cache, offline=False, source_date_epoch=1700000000,
            cache_dir=tmp_path / "caches",
            fetch_missing=lambda requires: fetch_requirements(
                Inputs(build_requires=tuple(requires), index_url=index.url),
                target=target, cache=cache))
    assert wheel.path.name == "tiny_app-2.0-py3-none-any.whl"
    assert [p.name for p in cache.glob("*.whl")] == ["counting_backend-1.0-py3-none-any.whl"]
