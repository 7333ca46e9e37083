"""fetch, then build --offline from the lock with no network at all (a network namespace
without interfaces), and an offline build that names every missing wheel at once."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pydebvenv.acquire.fetch import fetch, lock_path_for
from pydebvenv.target import get_target
from pydebvenv.wheels.lock import read_lock
from tests.support.backend import BACKEND
from tests.support.index import LocalIndex, serve_index
from tests.support.isolation import isolate_process
from tests.support.wheelmaker import make_wheel


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("index")
    files = root / "files"
    files.mkdir()
    make_wheel(files, "minibackend", files={"minibackend/__init__.py": BACKEND})
    make_wheel(files, "libone", "2.0", requires=["libtwo>=1"])
    make_wheel(files, "libtwo", "1.5", tag="cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64")
    make_wheel(files, "libtwo", "1.5", tag="cp38-abi3-manylinux2014_aarch64")
    with serve_index(root) as idx:
        yield idx


@pytest.fixture(autouse=True)
def _isolated_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_process(monkeypatch, tmp_path / "pip-cache")


def _project(tmp_path: Path, deps: list[str]) -> Path:
    project = tmp_path / "offapp"
    project.mkdir()
    quoted = ", ".join(f'"{d}"' for d in deps)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["minibackend"]\nbuild-backend = "minibackend"\n\n'
        f'[project]\nname = "offapp"\nversion = "1.0"\ndescription = "an offline build"\n'
        f"dependencies = [{quoted}]\n"
        'maintainers = [{name = "Off Line", email = "off@example.org"}]\n'
    )
    return project


def _without_network(*cmd: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A new network namespace has only a loopback interface, and it is down: nothing,
    # not even the test index on 127.0.0.1, can be reached.
    return subprocess.run(["unshare", "--net", *cmd], env=env, capture_output=True, text=True,
                          check=False)


@pytest.mark.dpkg
def test_build_offline_from_the_lock_needs_no_network(index: LocalIndex, tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed: .ci/run installs it")
    project = _project(tmp_path, ["libone"])
    cache = tmp_path / "cache"
    lock = fetch(project, target="debian-12", arch="arm64", wheel_cache=cache,
                 index_url=index.url)
    assert {w.name for w in lock.wheels} == {"libone", "libtwo"}
    assert [w.name for w in lock.build_requires] == ["minibackend"]
    assert lock_path_for(project, get_target("debian-12", "arm64")).is_file()
    # newer wheels of the locked distributions land in the shared cache (another project's
    # fetch, say): the offline build still installs exactly what the lock names
    make_wheel(cache, "libone", "3.0", requires=["libtwo>=1"])
    make_wheel(cache, "libtwo", "2.0", tag="cp38-abi3-manylinux2014_aarch64")

    out = tmp_path / "out"
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    proc = _without_network(sys.executable, "-m", "pydebvenv", "build", str(project), "-o",
                            str(out), "--target", "debian-12", "--arch", "arm64", "--offline",
                            "--wheel-cache", str(cache), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "exactly as locked in" in proc.stdout + proc.stderr
    (deb,) = out.glob("*.deb")
    assert deb.name == "offapp_1.0-1+deb12_arm64.deb"
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True,
                              text=True, check=True).stdout
    assert "site-packages/libtwo-1.5.dist-info/" in contents
    assert "site-packages/libone-2.0.dist-info/" in contents
    assert "libtwo-2.0" not in contents and "libone-3.0" not in contents
    assert "./usr/bin/offapp -> ../share/python/offapp/bin/offapp" in contents
    assert "./usr/bin/offapp-extra -> ../share/python/offapp/bin/offapp-extra" in contents
    depends = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert depends == "python3.11, libc6 (>= 2.17)"
    # README: build prints the target, each phase with its time, and a last line with the
    # package's path, size and sha256
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("target: debian-12/arm64 (python3.11, glibc 2.36)")
    for phase in ("build the app's wheel", "resolve", "lay out", "write"):
        assert any(re.fullmatch(rf"{re.escape(phase)}: done in \d+\.\d s", ln) for ln in lines), \
            (phase, lines)
    digest = hashlib.sha256(deb.read_bytes()).hexdigest()
    assert lines[-1] == f"built {deb} ({deb.stat().st_size:,} bytes, sha256 {digest})"


def test_offline_build_names_every_missing_wheel(index: LocalIndex, tmp_path: Path) -> None:
    project = _project(tmp_path, ["libone", "absent-one", "absent-two"])
    cache = tmp_path / "cache"
    # the backend only: what the application needs is not in the cache; and no lock for the
    # project, so the offline build chooses from the cache
    _fetch_backend_only(index, tmp_path, cache)
    proc = _without_network(sys.executable, "-m", "pydebvenv", "build", str(project), "-o",
                            str(tmp_path / "out"), "--target", "debian-12", "--arch", "amd64",
                            "--offline", "--wheel-cache", str(cache), env=dict(os.environ))
    assert proc.returncode == 1
    err = proc.stderr
    assert "Traceback" not in err
    for name in ("libone", "absent-one", "absent-two"):
        assert name in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def _fetch_backend_only(index: LocalIndex, tmp_path: Path, cache: Path) -> None:
    """Fill the cache with the build backend alone: a fetch of a directory that holds a
    requirements file and no pyproject.toml (so no project dependencies, no project lock)."""
    bare = tmp_path / "bare"
    bare.mkdir()
    fetch(bare, target="debian-12", arch="amd64", wheel_cache=cache, index_url=index.url,
          requirements=[_requirements(bare, "minibackend")])


def _requirements(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "req.txt"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def test_build_without_offline_fetches_what_is_missing(index: LocalIndex, tmp_path: Path) -> None:
    import pydebvenv

    project = _project(tmp_path, ["libone"])
    cache = tmp_path / "cache"
    # the build backend is there (as after an earlier fetch); the dependencies are not
    _fetch_backend_only(index, tmp_path, cache)
    assert not list(cache.glob("libone-*.whl"))
    deb = pydebvenv.build(project, output_dir=tmp_path / "out", target="debian-12",
                          arch="amd64", wheel_cache=cache, index_url=index.url)
    assert sorted(p.name.split("-")[0] for p in cache.glob("lib*.whl")) == ["libone", "libtwo"]
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True,
                              text=True, check=True).stdout
    assert "site-packages/libone-2.0.dist-info/" in contents
    assert deb.name == "offapp_1.0-1+deb12_amd64.deb"
    # and it locked what it resolved, for the next build
    lock = read_lock(lock_path_for(project, get_target("debian-12", "amd64")))
    assert {w.name for w in lock.wheels} == {"libone", "libtwo"}
    assert [w.name for w in lock.build_requires] == ["minibackend"]
