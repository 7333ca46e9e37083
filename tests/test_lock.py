"""The lock is the single source of truth: build installs exactly it, online or offline, while
it matches the requirements; a changed requirement shows and is resolved again only online.

Wheels are made in the test and served by an index on 127.0.0.1 that the tests change under
the lock's feet (a newer version appears, the cache gets other bytes).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import pydebvenv
from pydebvenv.acquire.fetch import fetch, lock_path_for
from pydebvenv.errors import FetchError, ResolutionError
from pydebvenv.project.config import load_config
from pydebvenv.project.sources import requirements_digest
from pydebvenv.report import QUIET, VERBOSE, Reporter
from pydebvenv.target import get_target
from pydebvenv.wheels.lock import read_lock
from tests.support.backend import BACKEND
from tests.support.index import LocalIndex, serve_index
from tests.support.isolation import isolated_pip_env
from tests.support.wheelmaker import make_wheel

EPOCH = "1700000000"
TARGET = {"target": "debian-12", "arch": "amd64"}
T = get_target("debian-12", "amd64")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[LocalIndex]:
    """A fresh index per test: the tests publish new versions into it."""
    root = tmp_path / "index"
    files = root / "files"
    files.mkdir(parents=True)
    make_wheel(files, "minibackend", files={"minibackend/__init__.py": BACKEND})
    make_wheel(files, "click", "8.1.8")
    make_wheel(files, "colorama", "0.4.6")
    with serve_index(root) as idx:
        yield idx


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = isolated_pip_env()
    env["PIP_CACHE_DIR"] = str(tmp_path / "pip-cache")
    env["SOURCE_DATE_EPOCH"] = EPOCH
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def _project(tmp_path: Path, deps: list[str], name: str = "lockapp") -> Path:
    project = tmp_path / name
    project.mkdir()
    quoted = ", ".join(f'"{d}"' for d in deps)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["minibackend"]\nbuild-backend = "minibackend"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0.0"\ndescription = "a locked app"\n'
        f"dependencies = [{quoted}]\n"
        'maintainers = [{name = "Lock Smith", email = "lock@example.org"}]\n'
    )
    return project


def _publish(index: LocalIndex, name: str, version: str, **kwargs: object) -> None:
    make_wheel(index.files, name, version, **kwargs)  # type: ignore[arg-type]
    index.refresh()


def _bundled(deb: Path) -> set[str]:
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True,
                              text=True, check=True).stdout
    return {line.rsplit("/site-packages/", 1)[1].split("/")[0].removesuffix(".dist-info")
            for line in contents.splitlines() if line.endswith(".dist-info/")}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build(project: Path, out: Path, cache: Path, index: LocalIndex, *, offline: bool,
           reporter: Reporter | None = None) -> Path:
    return pydebvenv.build(project, output_dir=out, wheel_cache=cache, index_url=index.url,
                           offline=offline, reporter=reporter, **TARGET)


def test_online_and_offline_builds_install_exactly_the_lock(
    index: LocalIndex, tmp_path: Path
) -> None:
    project = _project(tmp_path, ["click"])
    cache = tmp_path / "cache"
    lock = fetch(project, wheel_cache=cache, index_url=index.url, **TARGET)
    assert [(w.name, w.version) for w in lock.wheels] == [("click", "8.1.8")]
    # a newer click appears on the index, and another project puts it into the shared cache
    _publish(index, "click", "8.5.1")
    other = _project(tmp_path, ["click"], name="otherapp")
    fetch(other, wheel_cache=cache, index_url=index.url, **TARGET)
    assert (cache / "click-8.5.1-py3-none-any.whl").is_file()

    log = Reporter(io.StringIO())
    online = _build(project, tmp_path / "online", cache, index, offline=False, reporter=log)
    offline = _build(project, tmp_path / "offline", cache, index, offline=True)
    assert _bundled(online) == _bundled(offline) == {"click-8.1.8", "lockapp-1.0.0"}
    assert online.name == offline.name == "lockapp_1.0.0-1+deb12_all.deb"
    assert _sha256(online) == _sha256(offline)
    assert f"exactly as locked in {lock_path_for(project, T)}" in \
        log.stream.getvalue()
    assert read_lock(lock_path_for(project, T)) == lock  # untouched


def test_changed_requirements_are_resolved_again_only_online(
    index: LocalIndex, tmp_path: Path
) -> None:
    project = _project(tmp_path, ["click"])
    cache = tmp_path / "cache"
    lock_file = lock_path_for(project, T)
    fetch(project, wheel_cache=cache, index_url=index.url, **TARGET)
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace('["click"]', '["click", "colorama"]'))

    # offline: one line saying what changed and what to run; nothing written
    cmd = [sys.executable, "-m", "pydebvenv", "build", str(project), "-o", str(tmp_path / "o"),
           "--target", "debian-12", "--arch", "amd64", "--offline", "--wheel-cache", str(cache)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr == (
        f"pydebvenv: error: the requirements changed since {str(lock_file)!r} was written; "
        "run `pydebvenv fetch --target debian-12 --arch amd64` to lock them again (an offline "
        "build installs only what a current lock names)\n")
    assert not list((tmp_path / "o").glob("*.deb"))
    assert "colorama" not in lock_file.read_text()

    # online: says so, resolves, rewrites the lock, ships the new dependency
    log = Reporter(io.StringIO())
    deb = _build(project, tmp_path / "online", cache, index, offline=False, reporter=log)
    assert "the requirements changed since" in log.stream.getvalue()
    assert _bundled(deb) == {"click-8.1.8", "colorama-0.4.6", "lockapp-1.0.0"}
    relocked = read_lock(lock_file)
    assert {w.name for w in relocked.wheels} == {"click", "colorama"}
    assert relocked.requirements == requirements_digest(load_config(project))
    # the rewritten lock is what fetch would have written: fetch now only checks the cache
    assert fetch(project, wheel_cache=cache, index_url=index.url, **TARGET) == relocked


def test_fetch_follows_a_matching_lock_until_upgrade(index: LocalIndex, tmp_path: Path) -> None:
    project = _project(tmp_path, ["click"])
    first = fetch(project, wheel_cache=tmp_path / "c1", index_url=index.url, **TARGET)
    _publish(index, "click", "8.5.1")
    # another machine: an empty cache, the committed lock
    again = fetch(project, wheel_cache=tmp_path / "c2", index_url=index.url, **TARGET)
    assert again == first
    assert (tmp_path / "c2" / "click-8.1.8-py3-none-any.whl").is_file()
    assert not (tmp_path / "c2" / "click-8.5.1-py3-none-any.whl").exists()
    upgraded = fetch(project, wheel_cache=tmp_path / "c2", index_url=index.url, upgrade=True,
                     **TARGET)
    assert [(w.name, w.version) for w in upgraded.wheels] == [("click", "8.5.1")]
    assert read_lock(lock_path_for(project, T)) == upgraded


def test_an_online_build_fetches_exactly_the_locked_files(
    index: LocalIndex, tmp_path: Path
) -> None:
    """CI: the lock is committed, the cache is empty, the index has moved on."""
    project = _project(tmp_path, ["click"])
    fetch(project, wheel_cache=tmp_path / "dev-cache", index_url=index.url, **TARGET)
    _publish(index, "click", "8.5.1")
    cache = tmp_path / "ci-cache"
    deb = _build(project, tmp_path / "out", cache, index, offline=False)
    assert _bundled(deb) == {"click-8.1.8", "lockapp-1.0.0"}
    assert sorted(p.name for p in cache.iterdir()) == [
        "click-8.1.8-py3-none-any.whl", "minibackend-1.0-py3-none-any.whl"]


def test_other_bytes_under_a_locked_name_say_which_file_and_what_to_run(
    index: LocalIndex, tmp_path: Path
) -> None:
    project = _project(tmp_path, ["click"])
    cache = tmp_path / "cache"
    fetch(project, wheel_cache=cache, index_url=index.url, **TARGET)
    wheel = cache / "click-8.1.8-py3-none-any.whl"
    wheel.unlink()
    make_wheel(cache, "click", "8.1.8", summary="rebuilt elsewhere")  # same name, other bytes
    with pytest.raises(ResolutionError) as info:
        _build(project, tmp_path / "out", cache, index, offline=True)
    message = str(info.value)
    assert "the wheel cache holds other files than pydebvenv-debian-12-amd64.lock names" in message
    assert "run `pydebvenv fetch --target debian-12 --arch amd64`" in message
    assert f"wheel {str(wheel)!r} has sha256:{_sha256(wheel)}" in message


def test_the_lock_and_the_cache_files_are_0644(index: LocalIndex, tmp_path: Path) -> None:
    project = _project(tmp_path, ["click"])
    old = os.umask(0o077)  # a private umask must not make the shared files private
    try:
        fetch(project, wheel_cache=tmp_path / "cache", index_url=index.url, **TARGET)
    finally:
        os.umask(old)
    lock_file = lock_path_for(project, T)
    written = [lock_file, *(tmp_path / "cache").iterdir()]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {
        p.name: 0o644 for p in written}


def test_fetch_prints_a_short_view_and_names_the_lock(index: LocalIndex, tmp_path: Path) -> None:
    project = _project(tmp_path, ["click", "colorama"])
    lock_file = lock_path_for(project, T)
    assert lock_file == project / "pydebvenv-debian-12-amd64.lock"  # README: beside pyproject
    normal = Reporter(io.StringIO())
    fetch(project, wheel_cache=tmp_path / "cache", index_url=index.url, reporter=normal,
          **TARGET)
    lines = normal.stream.getvalue().splitlines()
    assert lines[-1] == (f"locked 2 wheel(s) and 1 build requirement(s) for debian-12/amd64 "
                         f"in {lock_file}")
    assert "resolved 2 file(s) for the wheels for debian-12/amd64: 0 in the wheel cache, " \
        "2 to fetch" in lines
    assert "fetching the wheels for debian-12/amd64: 2 / 2" in lines
    assert any(line.startswith("fetched 3 file(s), ") and line.endswith(" bytes, into "
                                                                         f"{tmp_path / 'cache'}")
               for line in lines), lines
    # pip's own log is a detail
    assert not [line for line in lines if line.startswith(("Collecting", "Looking in", "ERROR"))]
    assert len(lines) < 12, lines

    verbose = Reporter(io.StringIO(), VERBOSE)
    fetch(project, wheel_cache=tmp_path / "cache2", index_url=index.url, reporter=verbose,
          upgrade=True, **TARGET)
    assert "Collecting click" in verbose.stream.getvalue()
    quiet = Reporter(io.StringIO(), QUIET)
    fetch(project, wheel_cache=tmp_path / "cache3", index_url=index.url, reporter=quiet,
          **TARGET)
    assert quiet.stream.getvalue() == f"{lock_file}\n"


def test_the_digest_follows_what_is_wanted_not_how_it_is_written(tmp_path: Path) -> None:
    project = _project(tmp_path, ["click"])
    reqs = project / "requirements.txt"

    def digest(text: str, **overrides: object) -> str:
        reqs.write_text(text)
        return requirements_digest(load_config(project, overrides))

    base = digest("click==8.1.8\ncolorama==0.4.6\n")
    assert digest("# pinned\n--index-url https://example.org/simple\n"
                  "colorama==0.4.6   # later\nclick==8.1.8\n") == base
    assert digest("click==8.1.8\ncolorama==0.4.6\n", index_url="https://other/simple") == base
    assert digest("click==8.5.1\ncolorama==0.4.6\n") != base
    assert digest("click==8.1.8\ncolorama==0.4.6\n", extras=["fast"]) != base
    assert digest("click==8.1.8\ncolorama==0.4.6\n", include_pip=True) != base
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace('["click"]', '["click>=8"]'))
    assert digest("click==8.1.8\ncolorama==0.4.6\n") != base


def test_the_build_reports_a_pure_wheel_standing_in_for_a_compiled_one(
    index: LocalIndex, tmp_path: Path
) -> None:
    _publish(index, "fastlib", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    _publish(index, "fastlib", "1.0")
    project = _project(tmp_path, ["fastlib"])
    cache = tmp_path / "cache"
    line = ("fastlib 1.0: no compiled wheel for debian-12/arm64, using the pure-Python one "
            "(slower; compiled wheels exist for manylinux_2_17_x86_64)")

    def build(arch: str) -> str:
        log = Reporter(io.StringIO())
        pydebvenv.build(project, output_dir=tmp_path / arch, wheel_cache=cache, offline=True,
                        target="debian-12", arch=arch, reporter=log)
        return log.stream.getvalue()

    for arch in ("arm64", "amd64"):
        fetch(project, target="debian-12", arch=arch, wheel_cache=cache, index_url=index.url)
    assert line in build("arm64")  # from the lock (what the index offered)
    assert "no compiled wheel" not in build("amd64")
    # without a lock, from what the cache holds
    lock_path_for(project, get_target("debian-12", "arm64")).unlink()
    assert line in build("arm64")


def test_a_dependency_the_lock_does_not_name_is_not_installed_from_the_cache(
    index: LocalIndex, tmp_path: Path
) -> None:
    """Dynamic dependencies: fetch cannot see them, the application's wheel brings them."""
    project = _project(tmp_path, ["colorama"])  # what the tiny backend writes as Requires-Dist
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace(
        'description = "a locked app"\n', 'description = "a locked app"\ndynamic = ["dependencies"]\n'))
    (project / "requirements.txt").write_text("click\n")
    cache = tmp_path / "cache"
    fetch(project, wheel_cache=cache, index_url=index.url, **TARGET)
    fetch(_project(tmp_path, ["colorama"], name="other"), wheel_cache=cache,
          index_url=index.url, **TARGET)  # colorama is in the shared cache
    with pytest.raises(ResolutionError) as info:
        _build(project, tmp_path / "offline", cache, index, offline=True)
    assert str(info.value) == (
        "pydebvenv-debian-12-amd64.lock does not name colorama 0.4.6, which the venv needs: "
        "add them to the requirements and run `pydebvenv fetch --target debian-12 --arch "
        "amd64`")
    log = Reporter(io.StringIO())
    deb = _build(project, tmp_path / "online", cache, index, offline=False, reporter=log)
    assert "pydebvenv-debian-12-amd64.lock does not name colorama 0.4.6: resolving" in \
        log.stream.getvalue()
    assert _bundled(deb) == {"click-8.1.8", "colorama-0.4.6", "lockapp-1.0.0"}
    assert {w.name for w in read_lock(lock_path_for(project, T)).wheels} == {"click", "colorama"}


def test_an_index_serving_other_bytes_than_the_lock_says_what_to_run(
    index: LocalIndex, tmp_path: Path
) -> None:
    project = _project(tmp_path, ["click"])
    fetch(project, wheel_cache=tmp_path / "c1", index_url=index.url, **TARGET)
    (index.files / "click-8.1.8-py3-none-any.whl").unlink()
    _publish(index, "click", "8.1.8", summary="republished")  # same name, other bytes
    with pytest.raises(FetchError) as info:
        fetch(project, wheel_cache=tmp_path / "c2", index_url=index.url, **TARGET)
    message = str(info.value)
    assert message.startswith("hash mismatch for ")
    assert "click" in message
    assert message.endswith(
        "the lock names other bytes than the index (or a build of its sdist) gives now: run "
        "`pydebvenv fetch --upgrade --target debian-12 --arch amd64` to lock what it gives")
    assert not (tmp_path / "c2" / "click-8.1.8-py3-none-any.whl").exists()
