"""End to end: a repository made by `publish`, served over HTTP, used by real apt in chroots.

Deploy a pinned version, upgrade, roll back, refuse a tampered pool file and an index signed by
a key the host does not trust, and keep every `apt-get update` clean while publishes run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import pydebvenv
from tests.e2e.chroots import run_in
from tests.e2e.debtools import deb_field, dpkg_status
from tests.e2e.projects import build_example
from tests.support.debs import make_deb
from tests.support.gate import need
from tests.support.gpgkey import GpgKey, gpg_home
from tests.support.httpserve import serve

pytestmark = pytest.mark.e2e

SUITE = {"debian-12": "bookworm", "debian-13": "trixie"}
EPOCH = "1700000000"
# apt's message prefixes: error, warning, notice (apt-get(8) prints them on stderr)
_COMPLAINT = re.compile(r"^(E|W|N|Err):", re.MULTILINE)


@pytest.fixture
def keys(e2e_ready: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[GpgKey]]:
    """The repository's signing key and another one, in a throwaway GNUPGHOME."""
    if shutil.which("gpg") is None:
        need("publishing needs gpg: apt-get install gpg gpg-agent")
    with gpg_home("Fleet Repository <repo@example.org>", "Stranger <other@example.org>") \
            as (home, made):
        monkeypatch.setenv("GNUPGHOME", str(home))
        yield made


@pytest.fixture
def hello(offline_pip: Path, tmp_path_factory: pytest.TempPathFactory,
          monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """`hello(target, version)` -> hello-cli at that version built for the target."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)

    def build(target: str, version: str) -> Path:
        return build_example("hello-cli", version, tmp_path_factory.mktemp(f"hello-{version}"),
                             target=target, wheel_cache=offline_pip)

    return build


def _trust(root: Path, url: str, suite: str, key: GpgKey) -> None:
    """Make the chroot a fleet host: only this repository, checked with Signed-By."""
    # The interpreter the packages depend on is already in the chroot: no Debian mirror.
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    for path in (root / "etc/apt/sources.list.d").glob("*"):
        path.unlink()
    keyring = key.export(root / "etc/apt/keyrings/fleet.gpg")
    (root / "etc/apt/sources.list.d/fleet.sources").write_text(
        f"Types: deb\nURIs: {url}\nSuites: {suite}\nComponents: main\n"
        f"Signed-By: /{keyring.relative_to(root)}\n", encoding="utf-8")


def _apt(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # no pty in the chroot: without Use-Pty=0 dpkg's output goes through one and apt complains
    return run_in(root, "apt-get", "-y", "-o", "Dpkg::Use-Pty=0", *args, check=check)


def _update(root: Path) -> None:
    """apt-get update succeeds and says nothing but what it fetched."""
    proc = _apt(root, "update")
    complaints = _COMPLAINT.findall(proc.stdout + proc.stderr)
    assert not complaints, f"apt-get update complained:\n{proc.stdout}\n{proc.stderr}"


def _installed(root: Path) -> str:
    return run_in(root, "hello-cli", "--version").stdout.strip()


@pytest.mark.parametrize("target", ["debian-12", "debian-13"])
def test_deploy_upgrade_rollback_and_refusals(
        target: str, keys: list[GpgKey], hello: Callable[[str, str], Path],
        chroot: Callable[[str], Path], tmp_path: Path) -> None:
    key, stranger = keys
    suite = SUITE[target]
    old, new = hello(target, "1.0"), hello(target, "1.1")
    old_version, new_version = deb_field(old, "Version"), deb_field(new, "Version")
    repo = tmp_path / "repo"
    pydebvenv.publish(repo, [old], suite=suite, sign_key=key.fingerprint)
    root = chroot(target)
    with serve(repo) as url:
        _trust(root, url, suite, key)
        _update(root)
        _apt(root, "install", f"hello-cli={old_version}")
        assert _installed(root) == "hello-cli, version 1.0"

        # a new release: publish, update, upgrade
        pydebvenv.publish(repo, [new], suite=suite, sign_key=key.fingerprint)
        _update(root)
        madison = run_in(root, "apt-cache", "madison", "hello-cli").stdout
        assert {line.split("|")[1].strip() for line in madison.splitlines()} == {
            old_version, new_version}
        _apt(root, "upgrade")
        assert _installed(root) == "hello-cli, version 1.1"

        # roll back to the version still in the repository
        _apt(root, "install", "--allow-downgrades", f"hello-cli={old_version}")
        assert _installed(root) == "hello-cli, version 1.0"

        # a pool file changed behind the index's back is refused, nothing is installed
        _apt(root, "clean")  # no copy from the earlier download in the cache
        pooled = repo / "pool/main/h/hello-cli" / new.name
        data = bytearray(pooled.read_bytes())
        data[len(data) // 2] ^= 0x01
        pooled.write_bytes(bytes(data))
        proc = _apt(root, "install", f"hello-cli={new_version}", check=False)
        assert proc.returncode != 0
        assert "Hash Sum mismatch" in proc.stderr, proc.stderr
        assert dpkg_status(root, "hello-cli") == "install ok installed"
        assert _installed(root) == "hello-cli, version 1.0"

        # an index signed by another key is refused: the host keeps what it had
        intruder = make_deb(tmp_path / "debs", "intruder", "6.6.6")
        pydebvenv.publish(repo, [intruder], suite=suite, sign_key=stranger.fingerprint)
        proc = _apt(root, "update", check=False)
        assert "The repository is not updated and the previous index files will be used" \
            in proc.stderr, proc.stdout + proc.stderr
        policy = run_in(root, "apt-cache", "policy", "intruder").stdout
        assert "Candidate" not in policy, policy
        # and a host that has nothing yet refuses the repository outright
        run_in(root, "sh", "-c", "rm -rf /var/lib/apt/lists/*")
        proc = _apt(root, "update", check=False)
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert f"{url.rstrip('/')} {suite} InRelease' is not signed" in proc.stderr, proc.stderr
        assert run_in(root, "apt-cache", "madison", "hello-cli").stdout == ""


@pytest.mark.parametrize("target", ["debian-12", "debian-13"])
def test_clients_reading_during_publishes_never_see_a_broken_repository(
        target: str, keys: list[GpgKey], chroot: Callable[[str], Path], tmp_path: Path) -> None:
    """apt-get update runs again and again against a slow server while publishes land; every
    update must succeed cleanly, and some publishes must land in the middle of one."""
    key = keys[0]
    suite = SUITE[target]
    repo = tmp_path / "repo"
    debs = [make_deb(tmp_path / "debs", "tick", f"{n}.0") for n in range(1, 14)]
    pydebvenv.publish(repo, debs[:1], suite=suite, sign_key=key.fingerprint)
    root = chroot(target)
    published: list[float] = []
    failures: list[BaseException] = []

    def publisher() -> None:
        try:
            for deb in debs[1:]:
                pydebvenv.publish(repo, [deb], suite=suite, sign_key=key.fingerprint, keep=3)
                published.append(time.monotonic())
                time.sleep(0.15)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    # every answer waits: an update fetches InRelease, then the indexes it names, and a
    # publish lands between the two
    with serve(repo, delay=0.25) as url:
        _trust(root, url, suite, key)
        _update(root)
        thread = threading.Thread(target=publisher)
        thread.start()
        updates: list[tuple[float, float]] = []
        try:
            while thread.is_alive():
                start = time.monotonic()
                _update(root)
                updates.append((start, time.monotonic()))
                policy = run_in(root, "apt-cache", "policy", "tick").stdout
                assert re.search(r"Candidate: \d+\.0", policy), policy
        finally:
            thread.join()
        assert not failures, failures
        _update(root)
        assert "Candidate: 13.0" in run_in(root, "apt-cache", "policy", "tick").stdout
    during = [t for t in published if any(start < t < end for start, end in updates)]
    assert len(during) >= 3, (published, updates)
    os.sync()
