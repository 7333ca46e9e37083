"""fetch: pip's resolver answering for the TARGET (tags and markers), the cache and the lock."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import re
import socket
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pydebvenv.acquire.fetch import fetch, fetch_requirements, lock_path_for
from pydebvenv.acquire.pip import SHIM, PipOutput, run_pip
from pydebvenv.errors import ConfigError, FetchError
from pydebvenv.project.requirements import requirement_specs
from pydebvenv.project.sources import Inputs
from pydebvenv.redact import redact
from pydebvenv.report import VERBOSE, Reporter
from pydebvenv.target import HostFacts, get_target
from pydebvenv.wheels.lock import Lock, LockedWheel, lock_text, read_lock, write_lock
from tests.support.host import running_python_target
from tests.support.index import LocalIndex, serve_index
from tests.support.isolation import isolate_process
from tests.support.wheelmaker import make_wheel

# A PEP 517 backend shipped inside the sdist (backend-path), so building needs nothing
# from any index: the isolated build works offline and in CI.  It writes a pure wheel,
# or, with TAG = "host", a wheel tagged for the running interpreter and platform, the way a
# C extension's build would.  Like many real backends it is not reproducible by itself:
# members in random order, dated by the clock, a random zip comment; it records the
# SOURCE_DATE_EPOCH it was given in NAME/_built.py.
_BACKEND = '''\
import base64, hashlib, os, random, sys, sysconfig, time, zipfile
NAME, VERSION, TAG = {name!r}, {version!r}, {tag!r}

def _tag():
    if TAG != "host":
        return TAG
    py = "cp%d%d" % sys.version_info[:2]
    return "%s-%s-%s" % (py, py, sysconfig.get_platform().replace("-", "_").replace(".", "_"))

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    tag = _tag()
    info = "%s-%s.dist-info" % (NAME, VERSION)
    files = {{
        NAME + "/__init__.py": b"",
        NAME + "/_built.py": ("EPOCH = %r\\n" % os.environ.get("SOURCE_DATE_EPOCH")).encode(),
        info + "/METADATA": ("Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n"
                             % (NAME, VERSION)).encode(),
        info + "/WHEEL": ("Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: %s\\n"
                          "Tag: %s\\n" % (str(tag.endswith("any")).lower(), tag)).encode(),
    }}
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record += "%s,sha256=%s,%d\\n" % (path, digest.decode(), len(data))
    files[info + "/RECORD"] = (record + info + "/RECORD,,\\n").encode()
    filename = "%s-%s-%s.whl" % (NAME, VERSION, tag)
    members = list(files.items())
    random.shuffle(members)
    with zipfile.ZipFile(wheel_directory + "/" + filename, "w") as zf:
        zf.comment = os.urandom(8).hex().encode()
        for path, data in members:
            zf.writestr(zipfile.ZipInfo(path, time.localtime()[:6]), data)
    return filename
'''


def _make_sdist(
    directory: Path, name: str, version: str = "1.0", tag: str = "py3-none-any"
) -> Path:
    base = f"{name}-{version}"
    members = {
        "pyproject.toml": (
            '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        ),
        "backend.py": _BACKEND.format(name=name, version=version, tag=tag),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    path = directory / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for member, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{member}")
            info.size = len(data)
            info.mtime = 1577836800
            tf.addfile(info, io.BytesIO(data))
    return path


def _populate(files: Path) -> None:
    """The test index: platform wheels, marker-guarded dependencies, sdists."""
    make_wheel(files, "topapp", requires=[
        "plat", "newglibc",
        'linuxonly; sys_platform == "linux"',
        'armonly; platform_machine == "aarch64"',
        'oldpy; python_version < "3.12"',
        'winonly; sys_platform == "win32"',
        'maconly; platform_system == "Darwin"',
    ])
    for tag in (
        "cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "cp38-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64",
        "cp38-abi3-macosx_11_0_arm64",
        "cp38-abi3-macosx_10_9_x86_64",
        "cp38-abi3-win_amd64",
    ):
        make_wheel(files, "plat", tag=tag)
    # 2.0 needs glibc 2.39: Debian 13 (2.41) takes it, Debian 12 (2.36) must stay on 1.0
    make_wheel(files, "newglibc", "2.0", tag="cp38-abi3-manylinux_2_39_x86_64")
    make_wheel(files, "newglibc", "1.0", tag="cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64")
    make_wheel(files, "newglibc", "1.0", tag="cp38-abi3-manylinux2014_aarch64")
    for name in ("linuxonly", "armonly", "oldpy", "winonly", "maconly", "buildtool"):
        make_wheel(files, name)
    make_wheel(files, "needspure", requires=["puresrc"])
    _make_sdist(files, "puresrc")
    _make_sdist(files, "csrc", tag="host")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("index")
    (root / "files").mkdir()
    _populate(root / "files")
    with serve_index(root) as idx:
        yield idx


@pytest.fixture(autouse=True)
def _isolated_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """fetch runs pip as a subprocess inheriting os.environ: give it the isolated one."""
    # PIP_RETRIES=0: the unreachable-index test fails fast
    isolate_process(monkeypatch, tmp_path / "pip-cache", PIP_RETRIES="0")


def _project(tmp_path: Path, deps: list[str], build_requires: list[str] | None = None) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    requires = json.dumps(build_requires if build_requires is not None else ["buildtool"])
    (project / "pyproject.toml").write_text(
        f'[build-system]\nrequires = {requires}\nbuild-backend = "buildtool.api"\n\n'
        f'[project]\nname = "app"\nversion = "1.0"\ndependencies = {json.dumps(deps)}\n'
    )
    return project


def _chosen(lock: Lock) -> set[tuple[str, str, str]]:
    return {(w.name, w.version, w.filename) for w in lock.wheels}


EXPECTED = {
    ("debian-12", "amd64"): {
        ("topapp", "1.0", "topapp-1.0-py3-none-any.whl"),
        ("plat", "1.0", "plat-1.0-cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ("newglibc", "1.0",
         "newglibc-1.0-cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ("linuxonly", "1.0", "linuxonly-1.0-py3-none-any.whl"),
        ("oldpy", "1.0", "oldpy-1.0-py3-none-any.whl"),
    },
    ("debian-12", "arm64"): {
        ("topapp", "1.0", "topapp-1.0-py3-none-any.whl"),
        ("plat", "1.0", "plat-1.0-cp38-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"),
        ("newglibc", "1.0", "newglibc-1.0-cp38-abi3-manylinux2014_aarch64.whl"),
        ("linuxonly", "1.0", "linuxonly-1.0-py3-none-any.whl"),
        ("armonly", "1.0", "armonly-1.0-py3-none-any.whl"),
        ("oldpy", "1.0", "oldpy-1.0-py3-none-any.whl"),
    },
    ("debian-13", "amd64"): {
        ("topapp", "1.0", "topapp-1.0-py3-none-any.whl"),
        ("plat", "1.0", "plat-1.0-cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ("newglibc", "2.0", "newglibc-2.0-cp38-abi3-manylinux_2_39_x86_64.whl"),
        ("linuxonly", "1.0", "linuxonly-1.0-py3-none-any.whl"),
    },
}
TOP_LEVEL_313 = ("maconly", "1.0", "maconly-1.0-py3-none-any.whl")


@pytest.mark.parametrize(("release", "arch"), sorted(EXPECTED))
def test_fetch_picks_the_targets_set(
    index: LocalIndex, tmp_path: Path, release: str, arch: str
) -> None:
    # a top-level marker is the target's business too
    project = _project(tmp_path, ["topapp", 'maconly; python_version >= "3.13"'])
    cache = tmp_path / "cache"
    log = Reporter(io.StringIO(), VERBOSE)
    lock = fetch(project, target=release, arch=arch, wheel_cache=cache,
                 index_url=index.url, reporter=log)
    expected = EXPECTED[release, arch] | ({TOP_LEVEL_313} if release == "debian-13" else set())
    assert _chosen(lock) == expected
    assert lock.target == f"{release}/{arch}"
    # every locked file is in the cache with the locked hash, and nothing else was kept
    for w in (*lock.wheels, *lock.build_requires):
        assert hashlib.sha256((cache / w.filename).read_bytes()).hexdigest() == w.sha256
        assert w.index == index.url
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        w.filename for w in (*lock.wheels, *lock.build_requires))
    # the build backend's requirements are cached for the HOST, in their own section
    assert [w.name for w in lock.build_requires] == ["buildtool"]
    written = read_lock(lock_path_for(project, get_target(release, arch)))
    assert written == lock
    assert "resolving" in log.stream.getvalue()


def test_fetch_ignores_a_host_that_looks_like_macos_or_windows(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = []
    for sys_platform, system, machine in (("darwin", "Darwin", "arm64"),
                                          ("win32", "Windows", "AMD64")):
        with monkeypatch.context() as m:
            m.setattr(sys, "platform", sys_platform)
            m.setattr(platform, "system", lambda s=system: s)
            m.setattr(platform, "machine", lambda mc=machine: mc)
            cache = tmp_path / f"cache-{sys_platform}"
            lock = fetch_requirements(
                Inputs(requirement_specs(["topapp"], "test"), index_url=index.url),
                target=get_target("debian-12", "arm64"), cache=cache)
            results.append(_chosen(lock))
    assert results == [EXPECTED["debian-12", "arm64"]] * 2


def test_pip_runs_with_only_the_targets_marker_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pip's own view of the environment (``pip inspect``) is the target's, key for key."""
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    target = get_target("debian-13", "arm64")
    log = Reporter(io.StringIO(), VERBOSE)
    rc, out = run_pip(["inspect"], marker_env=target.marker_environment(),
                      out=PipOutput(log))
    assert rc == 0
    report = json.loads("\n".join(out))
    assert report["environment"] == target.marker_environment()
    # and without the bootstrap pip reports this host (so the check above can fail)
    rc, out = run_pip(["inspect"], marker_env=None, out=PipOutput(log))
    assert json.loads("\n".join(out))["environment"] != target.marker_environment()
    assert "_PYDEBVENV" in SHIM


def test_pure_sdist_becomes_a_wheel(index: LocalIndex, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    lock = fetch_requirements(
        Inputs(requirement_specs(["needspure"], "test"), index_url=index.url),
        target=get_target("debian-12", "arm64"), cache=cache)
    assert _chosen(lock) == {
        ("needspure", "1.0", "needspure-1.0-py3-none-any.whl"),
        ("puresrc", "1.0", "puresrc-1.0-py3-none-any.whl"),
    }
    assert (cache / "puresrc-1.0-py3-none-any.whl").is_file()


def test_compiled_sdist_for_a_foreign_target_is_refused(index: LocalIndex, tmp_path: Path) -> None:
    host = HostFacts(release="debian-12", machine="x86_64")
    with pytest.raises(FetchError) as err:
        fetch_requirements(
            Inputs(requirement_specs(["csrc"], "test"), index_url=index.url),
            target=get_target("debian-12", "arm64"), cache=tmp_path / "cache", host=host)
    message = str(err.value)
    assert "'csrc'" in message and "compiles code" in message and "debian-12/arm64" in message
    assert "\n" not in message


def test_compiled_sdist_on_a_matching_host_is_kept(index: LocalIndex, tmp_path: Path) -> None:
    # the sdist is compiled by this interpreter: the target is the one it stands for
    target = running_python_target()
    host = HostFacts(release=target.release.name, machine=platform.machine())
    lock = fetch_requirements(
        Inputs(requirement_specs(["csrc"], "test"), index_url=index.url),
        target=target, cache=tmp_path / "cache", host=host)
    cp = "cp{}{}".format(*target.python_version)
    assert [w.filename for w in lock.wheels] == [
        f"csrc-1.0-{cp}-{cp}-linux_{target.arch.wheel_arch}.whl"]


def test_hash_mismatch_is_one_line(index: LocalIndex, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"--index-url {index.url}\noldpy==1.0 --hash=sha256:{'0' * 64}\n")
    project = _project(tmp_path, [], build_requires=[])
    with pytest.raises(FetchError) as err:
        fetch(project, requirements=[requirements], target="debian-12", arch="amd64",
              wheel_cache=tmp_path / "cache")
    assert "hash" in str(err.value) and "0" * 64 in str(err.value)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "cache" / "oldpy-1.0-py3-none-any.whl").exists()


def test_missing_package_is_one_line(index: LocalIndex, tmp_path: Path) -> None:
    with pytest.raises(FetchError) as err:
        fetch_requirements(
            Inputs(requirement_specs(["nosuchthing>=1"], "test"), index_url=index.url),
            target=get_target("debian-12", "amd64"), cache=tmp_path / "cache")
    assert "'nosuchthing>=1'" in str(err.value) and "\n" not in str(err.value)


def test_unreachable_index_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(FetchError) as err:
        fetch_requirements(
            Inputs(requirement_specs(["topapp"], "test"),
                        index_url=f"http://127.0.0.1:{port}/simple"),
            target=get_target("debian-12", "amd64"), cache=tmp_path / "cache")
    assert "cannot reach" in str(err.value) and str(port) in str(err.value)
    assert "\n" not in str(err.value)


def test_concurrent_fetches_share_one_cache(index: LocalIndex, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    results: list[Lock | BaseException] = []

    def run() -> None:
        try:
            results.append(fetch_requirements(
                Inputs(requirement_specs(["topapp"], "test"), index_url=index.url),
                target=get_target("debian-12", "amd64"), cache=cache))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, Lock) for r in results), results
    expected = EXPECTED["debian-12", "amd64"]
    assert [_chosen(r) for r in results if isinstance(r, Lock)] == [expected] * 2
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f for _, _, f in EXPECTED["debian-12", "amd64"])  # no staging leftovers
    for r in results:
        assert isinstance(r, Lock)
        for w in r.wheels:
            assert hashlib.sha256((cache / w.filename).read_bytes()).hexdigest() == w.sha256


def test_credentials_never_reach_the_lock_or_the_log(tmp_path: Path) -> None:
    root = tmp_path / "private"
    (root / "files").mkdir(parents=True)
    make_wheel(root / "files", "privpkg")
    with serve_index(root, auth=("user", "secret")) as idx:
        url = idx.url.replace("http://", "http://user:secret@")
        log = Reporter(io.StringIO(), VERBOSE)
        project = _project(tmp_path, ["privpkg"], build_requires=[])
        lock_path = tmp_path / "out.lock"
        lock = fetch(project, target="debian-12", arch="amd64", wheel_cache=tmp_path / "cache",
                     index_url=url, reporter=log, lock_path=lock_path)
    assert [w.name for w in lock.wheels] == ["privpkg"]
    assert any(h.startswith("Basic ") for h in idx.auth_headers)  # the server checked them
    assert "secret@" not in lock_path.read_text() and "user:" not in lock_path.read_text()
    assert lock.wheels[0].index == idx.url
    assert "privpkg" in log.stream.getvalue()  # the log is there, and without secrets
    assert "secret" not in log.stream.getvalue()
    assert "user:****" not in log.stream.getvalue()


def test_pylock_wheels_for_the_target(index: LocalIndex, tmp_path: Path) -> None:
    files = index.files
    def entry(filename: str) -> str:
        digest = hashlib.sha256((files / filename).read_bytes()).hexdigest()
        url = f"http://127.0.0.1:{index.port}/files/{filename}"
        return f'{{ name = "{filename}", url = "{url}", hashes = {{ sha256 = "{digest}" }} }}'
    plat = [f for f in sorted(p.name for p in files.iterdir()) if f.startswith("plat-")]
    project = _project(tmp_path, [], build_requires=[])
    (project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "test"\n\n'
        '[[packages]]\nname = "plat"\nversion = "1.0"\n'
        f"wheels = [{', '.join(entry(f) for f in plat)}]\n\n"
        '[[packages]]\nname = "armonly"\nversion = "1.0"\n'
        'marker = \'platform_machine == "aarch64"\'\n'
        f'wheels = [{entry("armonly-1.0-py3-none-any.whl")}]\n'
    )
    arm = fetch(project, target="debian-12", arch="arm64", wheel_cache=tmp_path / "c1")
    amd = fetch(project, target="debian-12", arch="amd64", wheel_cache=tmp_path / "c2")
    assert {w.filename for w in arm.wheels} == {
        "plat-1.0-cp38-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "armonly-1.0-py3-none-any.whl"}
    assert {w.filename for w in amd.wheels} == {
        "plat-1.0-cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"}


def test_constraints_and_extras_from_requirements(index: LocalIndex, tmp_path: Path) -> None:
    (tmp_path / "constraints.txt").write_text("newglibc<2\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"-i {index.url}\n-c constraints.txt\nnewglibc\n")
    project = _project(tmp_path, [], build_requires=[])
    lock = fetch(project, requirements=[requirements], target="debian-13", arch="amd64",
                 wheel_cache=tmp_path / "cache")
    assert [(w.name, w.version) for w in lock.wheels] == [("newglibc", "1.0")]


def test_lock_round_trip_is_deterministic(tmp_path: Path) -> None:
    w1 = LockedWheel("b", "1", "b-1-py3-none-any.whl", "a" * 64, "https://u:p@h/simple")
    w2 = LockedWheel("a", "2", "a-2-py3-none-any.whl", "b" * 64, "https://h/simple")
    lock = Lock("debian-12/amd64", (w1, w2), (w2,))
    write_lock(lock, tmp_path / "x.lock")
    again = read_lock(tmp_path / "x.lock")
    assert [w.name for w in again.wheels] == ["a", "b"]
    assert again.wheels[1].index == "https://h/simple"  # credentials dropped on write
    assert lock_text(again) == (tmp_path / "x.lock").read_text()
    (tmp_path / "bad.lock").write_text('version = 1\ntarget = "x"\n[[wheel]]\nname = "a"\n')
    with pytest.raises(ConfigError):
        read_lock(tmp_path / "bad.lock")
    with pytest.raises(ConfigError):
        read_lock(tmp_path / "missing.lock")


def test_redact_removes_user_and_password() -> None:
    assert redact("Looking in http://user:****@h/simple and https://tok@h2/x") == (
        "Looking in http://h/simple and https://h2/x")
    # a password holding "@", and a URL with no userinfo but an "@" in its path
    assert redact("https://u:p@ss@host:8080/simple/") == "https://host:8080/simple/"
    assert redact("https://host/a@b/c.whl") == "https://host/a@b/c.whl"


def test_a_corrupt_or_partial_cached_file_is_fetched_again(
    index: LocalIndex, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    good = (index.files / "oldpy-1.0-py3-none-any.whl").read_bytes()
    (cache / "oldpy-1.0-py3-none-any.whl").write_bytes(good[: len(good) // 2])  # truncated
    lock = fetch_requirements(
        Inputs(requirement_specs(["oldpy"], "test"), index_url=index.url),
        target=get_target("debian-12", "amd64"), cache=cache)
    assert (cache / "oldpy-1.0-py3-none-any.whl").read_bytes() == good
    assert lock.wheels[0].sha256 == hashlib.sha256(good).hexdigest()


def test_project_dependencies_with_extras(index: LocalIndex, tmp_path: Path) -> None:
    project = _project(tmp_path, ["oldpy"], build_requires=[])
    with (project / "pyproject.toml").open("a") as f:
        f.write('\n[project.optional-dependencies]\narm = ["armonly"]\n')
    lock = fetch(project, target="debian-12", arch="amd64", wheel_cache=tmp_path / "c",
                 extras=["arm"], index_url=index.url)
    assert [w.name for w in lock.wheels] == ["armonly", "oldpy"]
    with pytest.raises(ConfigError, match="'nope'"):
        fetch(project, target="debian-12", arch="amd64", wheel_cache=tmp_path / "c",
              extras=["nope"], index_url=index.url)


def test_wrong_credentials_are_one_line_without_the_password(tmp_path: Path) -> None:
    root = tmp_path / "private"
    (root / "files").mkdir(parents=True)
    make_wheel(root / "files", "privpkg")
    with serve_index(root, auth=("user", "secret")) as idx:
        url = idx.url.replace("http://", "http://user:wrongpass@")
        with pytest.raises(FetchError) as err:
            fetch_requirements(Inputs(requirement_specs(["privpkg"], "test"), index_url=url),
                               target=get_target("debian-12", "amd64"), cache=tmp_path / "c")
    assert "credentials" in str(err.value) and "wrongpass" not in str(err.value)
    assert "\n" not in str(err.value)


def test_the_applications_own_wheel_drives_the_fetch_but_is_not_cached(
    index: LocalIndex, tmp_path: Path
) -> None:
    """build.py passes the app's wheel: its Requires-Dist are fetched, the app is not."""
    app = make_wheel(tmp_path, "myapp", requires=["topapp"])
    cache = tmp_path / "cache"
    lock = fetch_requirements(Inputs(index_url=index.url), target=get_target("debian-12", "arm64"),
                              cache=cache, local_wheels=[app])
    assert _chosen(lock) == EXPECTED["debian-12", "arm64"]
    assert not (cache / app.name).exists()


def test_tool_pydebvenv_settings_are_used(index: LocalIndex, tmp_path: Path) -> None:
    project = _project(tmp_path, ["topapp"], build_requires=[])
    with (project / "pyproject.toml").open("a") as f:
        f.write(f'\n[tool.pydebvenv]\ntarget = "debian-12"\narch = "arm64"\n'
                f'index-url = "{index.url}"\nwheel-cache = "cache"\n')
    lock = fetch(project)
    assert _chosen(lock) == EXPECTED["debian-12", "arm64"]
    assert (project / "cache" / "armonly-1.0-py3-none-any.whl").is_file()
    assert lock_path_for(project, get_target("debian-12", "arm64")).is_file()
    # an argument wins over the table
    lock = fetch(project, arch="amd64")
    assert _chosen(lock) == EXPECTED["debian-12", "amd64"]


def test_progress_goes_to_the_reporter(index: LocalIndex, tmp_path: Path) -> None:
    from pydebvenv.report import Reporter

    root = tmp_path / "big"
    (root / "files").mkdir(parents=True)
    # incompressible, and big enough for pip to show progress at all
    blob = __import__("random").Random(0).randbytes(2_000_000)
    make_wheel(root / "files", "bigpkg", files={"bigpkg/blob.bin": blob})
    stream = io.StringIO()
    with serve_index(root) as idx:
        fetch_requirements(Inputs(requirement_specs(["bigpkg"], "test"), index_url=idx.url),
                           target=get_target("debian-12", "amd64"), cache=tmp_path / "cache",
                           reporter=Reporter(stream))
    # the non-terminal Reporter prints a finished download as "label: done / total"
    assert "bigpkg-1.0-py3-none-any.whl" in stream.getvalue()
    assert re.search(r"bigpkg-1\.0-py3-none-any\.whl: [\d,]+ / [\d,]+", stream.getvalue())


def test_specs_from_pylock(tmp_path: Path) -> None:
    from pydebvenv.project.pylock import specs_from_pylock

    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "test"\n[[packages]]\nname = "a"\nversion = "1.2"\n'
        "marker = 'sys_platform == \"linux\"'\n"
        f'wheels = [{{ name = "a-1.2-py3-none-any.whl", url = "https://h/a.whl", '
        f'hashes = {{ sha256 = "{"c" * 64}" }} }}]\n')
    (spec,) = specs_from_pylock(tmp_path / "pylock.toml")
    assert str(spec.requirement) == 'a==1.2; sys_platform == "linux"'
    assert spec.hashes == {"sha256:" + "c" * 64}


def test_cli_fetch(index: LocalIndex, tmp_path: Path) -> None:
    import os
    import subprocess

    project = _project(tmp_path, ["topapp"], build_requires=[])
    cmd = [sys.executable, "-m", "pydebvenv", "fetch", str(project), "--target", "debian-12",
           "--arch", "arm64", "--wheel-cache", str(tmp_path / "cache"), "--index-url", index.url]
    done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ),
                          cwd=Path(__file__).parent.parent, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    lock = read_lock(lock_path_for(project, get_target("debian-12", "arm64")))
    assert _chosen(lock) == EXPECTED["debian-12", "arm64"]
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1.0"\ndependencies = ["nosuchthing"]\n')
    done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ),
                          cwd=Path(__file__).parent.parent, check=False)
    assert done.returncode == 1
    assert "nosuchthing" in done.stderr.strip().splitlines()[-1]


def test_the_extra_index_and_find_links_are_searched_too(index: LocalIndex,
                                                          tmp_path: Path) -> None:
    """README: --index-url, --extra-index-url, --find-links (on the command line)."""
    import os
    import subprocess

    extra = tmp_path / "extra-index"
    (extra / "files").mkdir(parents=True)
    make_wheel(extra / "files", "onlyextra")
    links = tmp_path / "links"
    links.mkdir()
    make_wheel(links, "onlylinks")
    project = _project(tmp_path, ["onlyextra", "onlylinks", "linuxonly"], build_requires=[])
    cmd = [sys.executable, "-m", "pydebvenv", "fetch", str(project), "--target", "debian-12",
           "--arch", "amd64", "--wheel-cache", str(tmp_path / "cache"), "--index-url", index.url]
    with serve_index(extra) as extra_index:
        more = ["--extra-index-url", extra_index.url, "--find-links", str(links)]
        for only_one in (more[:2], more[2:]):  # with one of the two, a wheel is nowhere
            done = subprocess.run([*cmd, *only_one], capture_output=True, text=True,
                                  env=dict(os.environ), check=False)
            assert done.returncode == 1, done.stdout
        done = subprocess.run([*cmd, *more], capture_output=True, text=True,
                              env=dict(os.environ), check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    lock = read_lock(lock_path_for(project, get_target("debian-12", "amd64")))
    assert {w.name for w in lock.wheels} == {"onlyextra", "onlylinks", "linuxonly"}


def test_each_file_is_downloaded_once(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run's downloads are kept and reused: by the later resolution round (after an
    sdist was built) and by the download step.  pip's own HTTP cache is off, so this shows
    pydebvenv's doing."""
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    before = len(index.requests)
    fetch_requirements(Inputs(requirement_specs(["topapp", "needspure"], "test"),
                              index_url=index.url),
                       target=get_target("debian-12", "arm64"), cache=tmp_path / "cache")
    files = sorted(r for r in index.requests[before:] if r.startswith("/files/"))
    assert "/files/puresrc-1.0.tar.gz" in files  # two rounds: the sdist was built between
    assert "/files/topapp-1.0-py3-none-any.whl" in files
    assert len(files) == len(set(files)), files


def test_a_wheel_built_from_an_sdist_has_the_same_bytes_every_time(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wheel.wheelfile import WheelFile

    built = []
    for i, (release, arch, epoch) in enumerate((("debian-12", "amd64", "1"),
                                                ("debian-13", "arm64", "1800000000"))):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)  # the caller's epoch does not matter
        cache = tmp_path / f"cache{i}"
        fetch_requirements(Inputs(requirement_specs(["puresrc"], "test"), index_url=index.url),
                           target=get_target(release, arch), cache=cache)
        built.append(cache / "puresrc-1.0-py3-none-any.whl")
        if i == 0:
            time.sleep(2.1)  # the backend dates its members by the clock (2 s zip resolution)
    assert built[0].read_bytes() == built[1].read_bytes()
    with zipfile.ZipFile(built[0]) as zf:
        names = zf.namelist()
        assert names == ["puresrc/__init__.py", "puresrc/_built.py",
                         "puresrc-1.0.dist-info/METADATA", "puresrc-1.0.dist-info/WHEEL",
                         "puresrc-1.0.dist-info/RECORD"]
        # one date: the sdist's newest member (2020-01-01), which the backend was given too
        assert {i.date_time for i in zf.infolist()} == {(2020, 1, 1, 0, 0, 0)}
        assert zf.read("puresrc/_built.py") == b"EPOCH = '1577836800'\n"
        assert {i.external_attr >> 16 for i in zf.infolist()} == {0o100644}
        assert zf.comment == b""
    with WheelFile(built[0]) as wf:  # RECORD rewritten: every member checks against it
        for name in names:
            wf.read(name)


def test_a_cached_build_of_the_same_sdist_is_kept_and_locked(
    index: LocalIndex, tmp_path: Path
) -> None:
    """A wheel an earlier fetch built from the sdist may be named by a lock: never replaced."""
    cache = tmp_path / "cache"
    cache.mkdir()
    earlier = make_wheel(cache, "puresrc", summary="built by an earlier fetch").read_bytes()
    lock = fetch_requirements(Inputs(requirement_specs(["needspure"], "test"),
                                     index_url=index.url),
                              target=get_target("debian-13", "arm64"), cache=cache)
    assert (cache / "puresrc-1.0-py3-none-any.whl").read_bytes() == earlier
    assert {w.name: w.sha256 for w in lock.wheels}["puresrc"] == \
        hashlib.sha256(earlier).hexdigest()


def test_other_bytes_under_a_cached_name_are_never_overwritten(
    index: LocalIndex, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cached = make_wheel(cache, "oldpy", summary="from another index")
    before = cached.read_bytes()
    with pytest.raises(FetchError) as err:
        fetch_requirements(Inputs(requirement_specs(["oldpy"], "test"), index_url=index.url),
                           target=get_target("debian-12", "amd64"), cache=cache)
    message = str(err.value)
    assert f"the wheel cache holds 'oldpy-1.0-py3-none-any.whl' with sha256 " \
           f"{hashlib.sha256(before).hexdigest()}" in message
    assert f"delete {str(cached)!r} and run `pydebvenv fetch` again" in message
    assert "\n" not in message
    assert cached.read_bytes() == before


def test_a_pure_fallback_is_locked_with_the_platforms_that_have_compiled_wheels(
    tmp_path: Path,
) -> None:
    root = tmp_path / "index"
    (root / "files").mkdir(parents=True)
    make_wheel(root / "files", "fastlib", tag="cp311-cp311-manylinux_2_17_x86_64")
    make_wheel(root / "files", "fastlib", tag="cp311-cp311-macosx_11_0_arm64")
    make_wheel(root / "files", "fastlib")
    with serve_index(root) as idx:
        locks = {arch: fetch_requirements(
            Inputs(requirement_specs(["fastlib"], "test"), index_url=idx.url),
            target=get_target("debian-12", arch), cache=tmp_path / "cache")
            for arch in ("arm64", "amd64")}
    (arm,) = locks["arm64"].wheels
    assert (arm.filename, arm.compiled_for) == (
        "fastlib-1.0-py3-none-any.whl", ("macosx_11_0_arm64", "manylinux_2_17_x86_64"))
    (amd,) = locks["amd64"].wheels
    assert (amd.filename, amd.compiled_for) == (
        "fastlib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", ())
    assert 'compiled-for = ["macosx_11_0_arm64", "manylinux_2_17_x86_64"]' in lock_text(
        locks["arm64"])


def test_the_epoch_of_an_sdist_is_its_newest_member(tmp_path: Path) -> None:
    from pydebvenv.acquire.sdist import sdist_epoch

    def tar(name: str, *mtimes: int) -> Path:
        path = tmp_path / name
        with tarfile.open(path, "w:gz") as tf:
            for i, mtime in enumerate(mtimes):
                info = tarfile.TarInfo(f"pkg-1.0/f{i}")
                info.mtime = mtime
                tf.addfile(info, io.BytesIO(b""))
        return path

    assert sdist_epoch(tar("a-1.0.tar.gz", 1_600_000_000, 1_500_000_000)) == 1_600_000_000
    assert sdist_epoch(tar("b-1.0.tar.gz", 0)) == 315532800  # zip's first date, 1980-01-01
    with zipfile.ZipFile(tmp_path / "c-1.0.zip", "w") as zf:
        zf.writestr(zipfile.ZipInfo("c-1.0/setup.py", (2021, 6, 1, 12, 0, 0)), b"")
    assert sdist_epoch(tmp_path / "c-1.0.zip") == 1622548800
    (tmp_path / "d-1.0.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(FetchError, match=r"cannot read the sdist 'd-1\.0\.tar\.gz'"):
        sdist_epoch(tmp_path / "d-1.0.tar.gz")
