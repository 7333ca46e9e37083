"""publish(): the repository it writes, read back as apt-ftparchive, gpgv and apt would."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from itertools import takewhile
from pathlib import Path

import pytest

import pydebvenv
from pydebvenv.cli import main
from pydebvenv.errors import ConfigError, PublishError
from pydebvenv.repo import files, publish, publishing
from tests.repo.checks import check_repository, stanzas
from tests.support.debs import make_deb
from tests.support.gate import need
from tests.support.gpgkey import GpgKey, gpg_home

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


def _packages(repo: Path, arch: str = "amd64", suite: str = "stable",
              component: str = "main") -> list[dict[str, str]]:
    path = repo / "dists" / suite / component / f"binary-{arch}" / "Packages"
    return stanzas(path.read_text(encoding="utf-8"))


def _listed(repo: Path, arch: str = "amd64", suite: str = "stable") -> list[tuple[str, str]]:
    return sorted((s["Package"], s["Version"]) for s in _packages(repo, arch, suite))


def _tree(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes()
            for p in sorted(repo.rglob("*")) if p.is_file() and p.name != files.LOCK_NAME}


# --- the Packages index: what apt-ftparchive writes -------------------------------------


def test_packages_stanzas_are_what_apt_ftparchive_writes(tmp_path: Path) -> None:
    """The same pool indexed by apt-ftparchive (SHA1/SHA512 off) gives the same stanzas, byte
    for byte: fields, their order, multi-line values, unknown fields, Filename, hashes."""
    if shutil.which("apt-ftparchive") is None:
        need("apt-ftparchive is missing: apt-get install apt-utils")
    debs = tmp_path / "in"
    made = [
        make_deb(debs, "tick", "1.0", "all", fields=(
            ("Depends", "python3.11, libc6 (>= 2.36)"), ("Section", "utils"),
            ("Priority", "optional"), ("Homepage", "https://example.org/tick"),
            ("X-Custom", "kept as given"), ("Multi-Arch", "foreign"),
            ("Recommends", "a,\n b"))),
        make_deb(debs, "tick", "1:2.0~rc1-3", "amd64"),
        make_deb(debs, "libfoo1", "2.0-1", "amd64", fields=(("Source", "libfoo (2.0)"),)),
        make_deb(debs, "zeta", "0.1", "arm64", fields=(("Breaks", "tick (<< 1.0)"),)),
    ]
    repo = tmp_path / "repo"
    publish(repo, made, unsigned=True, now=NOW)
    ours = []
    for arch in ("amd64", "arm64"):
        text = (repo / f"dists/stable/main/binary-{arch}/Packages").read_text()
        ours += [block for block in text.split("\n\n") if block.strip()]
    theirs = subprocess.run(
        ["apt-ftparchive", "-o", "APT::FTPArchive::SHA1=false", "-o",
         "APT::FTPArchive::SHA512=false", "packages", "pool"],
        cwd=repo, capture_output=True, text=True, check=True).stdout
    expected = [block for block in theirs.split("\n\n") if block.strip()]
    # arch:all packages are listed once per architecture; apt-ftparchive lists each file once
    assert sorted(set(ours)) == sorted(expected)
    assert len(expected) == 4
    assert sum(block.startswith("Package: tick\nArchitecture: all") for block in ours) == 2


def test_pool_layout_follows_debians_archive(tmp_path: Path) -> None:
    debs = [make_deb(tmp_path / "in", "libfoo1", "2.0-1", "amd64",
                     fields=(("Source", "libfoo (2.0)"),)),
            make_deb(tmp_path / "in", "tick", "1:2.0-1", "all")]
    result = publish(tmp_path / "repo", debs, unsigned=True, component="contrib")
    assert result.added == ("pool/contrib/libf/libfoo/libfoo1_2.0-1_amd64.deb",
                            "pool/contrib/t/tick/tick_2.0-1_all.deb")
    for name in result.added:
        assert (tmp_path / "repo" / name).read_bytes() in {d.read_bytes() for d in debs}
        assert (tmp_path / "repo" / name).stat().st_mode & 0o777 == 0o644


def test_architecture_all_is_listed_for_every_architecture(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    publish(repo, [make_deb(tmp_path / "in", "tick", "1.0", "all")], unsigned=True)
    # only arch:all packages: the default architectures, so apt on either finds them
    assert _release_fields(repo)["Architectures"] == "amd64 arm64"
    publish(repo, [make_deb(tmp_path / "in", "native", "1.0", "riscv64")], unsigned=True,
            architectures=["ppc64el"])
    assert _release_fields(repo)["Architectures"] == "amd64 arm64 ppc64el riscv64"
    assert _listed(repo, "riscv64") == [("native", "1.0"), ("tick", "1.0")]
    assert _listed(repo, "ppc64el") == [("tick", "1.0")]
    assert _listed(repo, "amd64") == [("tick", "1.0")]


def test_versions_are_ordered_as_dpkg_orders_them(tmp_path: Path) -> None:
    versions = ["1.10", "1.9", "1.9~rc1", "1:0.1", "1.9+b1"]
    debs = [make_deb(tmp_path / "in", "tick", v) for v in versions]
    publish(tmp_path / "repo", debs, unsigned=True)
    assert [s["Version"] for s in _packages(tmp_path / "repo")] == [
        "1.9~rc1", "1.9", "1.9+b1", "1.10", "1:0.1"]


# --- the Release file and its signatures ----------------------------------------------------


def _release_fields(repo: Path, suite: str = "stable") -> dict[str, str]:
    text = (repo / "dists" / suite / "Release").read_text()
    return dict(re.findall(r"^([^\s:]+): (.+)$", text, re.MULTILINE))


def test_release_lists_every_index_with_its_hashes_and_by_hash_copies(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    publish(repo, [make_deb(tmp_path / "in", "tick", "1.0", "amd64")], unsigned=True,
            origin="Example Ops", label="Example apps", codename="apps", now=NOW)
    fields = _release_fields(repo)
    assert fields == {"Origin": "Example Ops", "Label": "Example apps", "Suite": "stable",
                      "Codename": "apps", "Date": "Sat, 01 Jun 2024 12:00:00 UTC",
                      "Architectures": "amd64", "Components": "main",
                      "Acquire-By-Hash": "yes"}
    text = (repo / "dists/stable/Release").read_text()
    for algo, name in (("md5", "MD5Sum"), ("sha256", "SHA256")):
        block = text.split(f"{name}:\n", 1)[1]
        lines = [line.split() for line in takewhile(lambda ln: ln.startswith(" "),
                                                    block.splitlines())]
        assert sorted(path for _, _, path in lines) == [
            "main/binary-amd64/Packages", "main/binary-amd64/Packages.gz",
            "main/binary-amd64/Packages.xz"]
        for digest, size, path in lines:
            data = (repo / "dists/stable" / path).read_bytes()
            assert (hashlib.new(algo, data).hexdigest(), len(data)) == (digest, int(size))
    check_repository(repo, "stable")
    # the compressed indexes hold the same text; gzip has no name and no time in its header
    data = (repo / "dists/stable/main/binary-amd64/Packages").read_bytes()
    gz = (repo / "dists/stable/main/binary-amd64/Packages.gz").read_bytes()
    assert gz[4:8] == b"\0\0\0\0" and not gz[3] & 0x08
    assert subprocess.run(["gzip", "-dc"], input=gz, capture_output=True).stdout == data


def test_signed_release_verifies_with_the_key_and_not_with_another(
        tmp_path: Path, keys: list[GpgKey]) -> None:
    key, other = keys
    repo = tmp_path / "repo"
    result = publish(repo, [make_deb(tmp_path / "in")], sign_key=key.fingerprint)
    assert result.signed_by == key.fingerprint
    suite = repo / "dists/stable"
    good, bad = key.export(tmp_path / "good.gpg"), other.export(tmp_path / "bad.gpg")
    for keyring, ok in ((good, True), (bad, False)):
        inline = subprocess.run(["gpgv", "--keyring", str(keyring), str(suite / "InRelease")],
                                capture_output=True, text=True)
        detached = subprocess.run(["gpgv", "--keyring", str(keyring), str(suite / "Release.gpg"),
                                   str(suite / "Release")], capture_output=True, text=True)
        assert (inline.returncode == 0) is ok, inline.stderr
        assert (detached.returncode == 0) is ok, detached.stderr
    # InRelease carries exactly the Release text
    out = subprocess.run(["gpgv", "--keyring", str(good), "--output", "-",
                          str(suite / "InRelease")], capture_output=True, check=True).stdout
    assert out == (suite / "Release").read_bytes()
    assert "Hash: SHA512" in (suite / "InRelease").read_text()


def test_default_key_is_gpgs_first_secret_key(tmp_path: Path, keys: list[GpgKey]) -> None:
    result = publish(tmp_path / "repo", [make_deb(tmp_path / "in")])
    assert result.signed_by == keys[0].fingerprint


def test_missing_gpg_or_key_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    deb = make_deb(tmp_path / "in")
    if shutil.which("gpg") is None:
        need("the publishing tests need gpg (apt-get install gpg)")
    with gpg_home() as (empty, _):
        monkeypatch.setenv("GNUPGHOME", str(empty))
        assert main(["publish", str(tmp_path / "repo"), str(deb)]) == 1
        err = capsys.readouterr().err
        assert err == (f"pydebvenv: error: no secret key in {empty}; create one (gpg "
                       "--quick-gen-key), point GNUPGHOME at the keyring that holds it, or pass "
                       "--unsigned\n")
        assert main(["publish", "--sign-key", "nobody@example.org", str(tmp_path / "repo"),
                     str(deb)]) == 1
        assert "no secret key 'nobody@example.org'" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(PublishError, match=r"^gpg is not installed; .* or pass --unsigned$"):
        publish(tmp_path / "repo", [deb])
    assert not (tmp_path / "repo").exists()  # nothing was written


def test_unsigned_is_refused_on_a_signed_suite(tmp_path: Path, keys: list[GpgKey]) -> None:
    repo = tmp_path / "repo"
    publish(repo, [make_deb(tmp_path / "in", version="1.0")])
    before = _tree(repo)
    with pytest.raises(PublishError, match="the suite is signed"):
        publish(repo, [make_deb(tmp_path / "in", version="1.1")], unsigned=True)
    assert _tree(repo) == before


def test_key_rotation_signs_again_though_nothing_else_changed(
        tmp_path: Path, keys: list[GpgKey]) -> None:
    repo, deb = tmp_path / "repo", make_deb(tmp_path / "in")
    publish(repo, [deb], sign_key=keys[0].fingerprint)
    assert not publish(repo, [deb], sign_key=keys[0].fingerprint).changed
    result = publish(repo, [deb], sign_key=keys[1].fingerprint)
    assert result.changed and result.signed_by == keys[1].fingerprint
    ring = keys[1].export(tmp_path / "new.gpg")
    subprocess.run(["gpgv", "--keyring", str(ring), str(repo / "dists/stable/InRelease")],
                   capture_output=True, check=True)


# --- what stays, what is refused, what is pruned ----------------------------------------


def test_republishing_the_same_file_changes_nothing(tmp_path: Path, keys: list[GpgKey]) -> None:
    repo, deb = tmp_path / "repo", make_deb(tmp_path / "in")
    first = publish(repo, [deb])
    assert first.changed and first.added
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in repo.rglob("*") if p.is_file()}
    again = publish(repo, [deb, deb])
    assert not again.changed and again.added == () and again.unchanged == first.added
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in repo.rglob("*") if p.is_file()}
    assert after == before


def test_same_version_with_other_bytes_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    publish(repo, [make_deb(tmp_path / "a", files={"usr/bin/tick": b"one\n"})], unsigned=True)
    before = _tree(repo)
    other = make_deb(tmp_path / "b", files={"usr/bin/tick": b"two\n"})
    code = main(["publish", "--unsigned", str(repo), str(other)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"pydebvenv: error: {str(other)!r}: tick 1.0 (all) is already in "
                          "stable/main with other bytes (sha256 ")
    assert err.endswith("a published version never changes: build it with a new version or "
                        "revision\n")
    assert _tree(repo) == before
    # the same in another suite sharing the pool: refused too (the pool file differs)
    with pytest.raises(PublishError, match="already holds other bytes"):
        publish(repo, [other], unsigned=True, suite="testing")


def test_every_version_stays_until_keep_prunes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for version in ("1.9", "1.10", "1.2"):
        publish(repo, [make_deb(tmp_path / "in", "tick", version)], unsigned=True)
    publish(repo, [make_deb(tmp_path / "in", "other", "5")], unsigned=True)
    assert _listed(repo) == [("other", "5"), ("tick", "1.10"), ("tick", "1.2"), ("tick", "1.9")]
    # the oldest tick is also in another suite: its pool file must stay for that suite
    publish(repo, [make_deb(tmp_path / "in", "tick", "1.2")], unsigned=True, suite="old")
    result = publish(repo, [make_deb(tmp_path / "in", "tick", "1.11")], unsigned=True, keep=2)
    assert result.removed == ("pool/main/t/tick/tick_1.2_all.deb",
                              "pool/main/t/tick/tick_1.9_all.deb")
    assert _listed(repo) == [("other", "5"), ("tick", "1.10"), ("tick", "1.11")]
    assert not (repo / "pool/main/t/tick/tick_1.9_all.deb").exists()
    assert (repo / "pool/main/t/tick/tick_1.2_all.deb").exists()
    assert _listed(repo, suite="old") == [("tick", "1.2")]
    check_repository(repo, "stable")
    check_repository(repo, "old")


def test_release_fields_are_kept_once_set(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    publish(repo, [make_deb(tmp_path / "in", version="1")], unsigned=True, origin="Ops",
            label="Apps", codename="apps", now=NOW)
    later = datetime(2024, 6, 2, tzinfo=UTC)
    publish(repo, [make_deb(tmp_path / "in", version="2")], unsigned=True, now=later)
    fields = _release_fields(repo)
    assert (fields["Origin"], fields["Label"], fields["Codename"]) == ("Ops", "Apps", "apps")
    assert fields["Date"] == "Sun, 02 Jun 2024 00:00:00 UTC"
    # a clock behind the last Release never moves Date back (apt refuses going back in time)
    publish(repo, [make_deb(tmp_path / "in", version="3")], unsigned=True, now=NOW)
    assert _release_fields(repo)["Date"] == "Sun, 02 Jun 2024 00:00:00 UTC"


@pytest.mark.parametrize(("options", "message"), [
    ({"suite": "../x"}, "invalid suite '../x'"),
    ({"component": "main/x"}, "invalid component 'main/x'"),
    ({"keep": 0}, "invalid keep 0"),
    ({"architectures": ["all"]}, "architecture 'all' is not indexed on its own"),
    ({"architectures": ["AMD64"]}, "invalid architecture 'AMD64'"),
    ({"origin": "two\nlines"}, "invalid origin"),
])
def test_bad_options_are_config_errors(tmp_path: Path, options: dict[str, object],
                                       message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        publish(tmp_path / "repo", [make_deb(tmp_path / "in")], unsigned=True,
                **options)  # type: ignore[arg-type]
    assert not (tmp_path / "repo").exists()


def test_a_broken_deb_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    publish(repo, [make_deb(tmp_path / "in", version="1")], unsigned=True)
    before = _tree(repo)
    bad = tmp_path / "bad.deb"
    data = bytearray(make_deb(tmp_path / "in", version="2").read_bytes())
    data[-40] ^= 0xFF  # inside the data.tar member
    bad.write_bytes(bytes(data))
    with pytest.raises(pydebvenv.InspectError, match=re.escape(repr(str(bad)))):
        publish(repo, [make_deb(tmp_path / "in", version="3"), bad], unsigned=True)
    assert _tree(repo) == before
    assert not [p for p in repo.iterdir() if p.name.startswith(".publish-")]


def test_hostile_control_names_cannot_leave_the_pool(tmp_path: Path) -> None:
    deb = make_deb(tmp_path / "in", "tick", "1.0", fields=(("Source", "../../etc"),))
    with pytest.raises(PublishError, match=re.escape("invalid package name '../../etc'")):
        publish(tmp_path / "repo", [deb], unsigned=True)


# --- atomicity, interruption, locking, cost ---------------------------------------------


def test_an_interrupted_publish_leaves_a_repository_apt_accepts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: list[GpgKey]) -> None:
    """Stop the publish at every rename in turn: each time the repository still checks out
    (old or new state), and the next publish completes it and removes the leftovers."""
    repo = tmp_path / "repo"
    publish(repo, [make_deb(tmp_path / "in", "tick", "1.0")], keep=1)
    real_replace = files.replace
    stopped_at = 0
    while True:
        calls = 0

        def replace(tmp: Path, path: Path, stop: int = stopped_at) -> None:
            nonlocal calls
            if calls == stop:
                raise KeyboardInterrupt  # as if the process were stopped here
            calls += 1
            real_replace(tmp, path)

        monkeypatch.setattr(files, "replace", replace)
        version = f"2.{stopped_at}"
        try:
            publish(repo, [make_deb(tmp_path / "in", "tick", version)], keep=1)
        except KeyboardInterrupt:
            pass
        else:
            break  # every rename has been interrupted once
        finally:
            monkeypatch.setattr(files, "replace", real_replace)
        listed = check_repository(repo, "stable")
        assert listed["main/binary-amd64"], "an interrupted publish emptied the index"
        stopped_at += 1
    assert stopped_at >= 8  # pool, 2 x 3 indexes, Release.gpg, Release, InRelease
    publish(repo, [make_deb(tmp_path / "in", "tick", "3.0")], keep=1)
    check_repository(repo, "stable")
    assert _listed(repo) == [("tick", "3.0")]
    leftovers = [p for p in repo.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_concurrent_publishes_wait_for_each_other(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    debs = [make_deb(tmp_path / "in", f"pkg{i}", "1.0") for i in range(4)]
    publish(repo, debs[:1], unsigned=True)
    command = [sys.executable, "-m", "pydebvenv", "publish", "--unsigned", str(repo)]
    with files.publish_lock(repo):
        blocked = subprocess.Popen([*command, str(debs[1])], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        assert blocked.poll() is None, "a publish ran while another held the lock"
        assert _listed(repo) == [("pkg0", "1.0")]
    _, err = blocked.communicate(timeout=60)
    assert blocked.returncode == 0, err
    # several at once: each one's package is in the final index
    procs = [subprocess.Popen([*command, str(deb)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for deb in debs[2:]]
    for proc in procs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    assert _listed(repo) == [(f"pkg{i}", "1.0") for i in range(4)]
    check_repository(repo, "stable")


def test_adding_one_package_reads_only_that_package(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    publish(repo, [make_deb(tmp_path / "in", f"pkg{i:02d}", "1.0") for i in range(30)],
            unsigned=True)
    read: list[Path] = []
    real_read_deb = publishing.read_deb
    real_hash_file = files.hash_file
    monkeypatch.setattr(publishing, "read_deb",
                        lambda path: read.append(Path(path)) or real_read_deb(path))
    monkeypatch.setattr(files, "hash_file",
                        lambda path: read.append(Path(path)) or real_hash_file(path))
    new = make_deb(tmp_path / "in", "newcomer", "1.0")
    opened: list[str] = []
    real_open = Path.open

    def tracking_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self.suffix == ".deb":
            opened.append(self.name)
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", tracking_open)
    publish(repo, [new], unsigned=True)
    assert read == [new]
    assert set(opened) == {new.name}
    assert len(_packages(repo)) == 31


def test_cli_prints_what_it_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    deb = make_deb(tmp_path / "in", "tick", "1.0")
    assert main(["publish", "--unsigned", "--arch", "amd64", str(repo), str(deb)]) == 0
    assert capsys.readouterr().out == (
        "added     pool/main/t/tick/tick_1.0_all.deb\n"
        f"{repo}/dists/stable: Release UNSIGNED; architectures amd64; components main\n")
    assert main(["publish", "--unsigned", str(repo), str(deb)]) == 0
    assert capsys.readouterr().out == ("unchanged pool/main/t/tick/tick_1.0_all.deb\n"
                                       f"{repo}/dists/stable: nothing changed\n")
    assert main(["publish", "--unsigned", "--suite", "a b", str(repo), str(deb)]) == 2
    assert capsys.readouterr().err.startswith("pydebvenv: error: invalid suite 'a b'")
    assert os.access(repo / "dists/stable/Release", os.R_OK)


def test_cli_signs_with_the_key_named_by_address_and_prints_what_keep_removed(
        tmp_path: Path, keys: list[GpgKey], capsys: pytest.CaptureFixture[str]) -> None:
    """The README's command: --sign-key by address, --keep; one line per pool file added or
    removed, then the suite with the key it is signed by."""
    repo = tmp_path / "repo"
    for version in ("1.0", "1.1"):
        deb = make_deb(tmp_path / "in", "tick", version)
        assert main(["publish", "--sign-key", "repo@example.org", "--keep", "1", str(repo),
                     str(deb)]) == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "added     pool/main/t/tick/tick_1.1_all.deb",
        "removed   pool/main/t/tick/tick_1.0_all.deb",
        f"{repo}/dists/stable: Release signed by {keys[0].fingerprint}; architectures amd64 "
        "arm64; components main"]
    assert _listed(repo) == [("tick", "1.1")]


def test_the_pool_then_the_indexes_then_the_release_then_pruning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: list[GpgKey]) -> None:
    """README: copy in the order publish writes (the pool, the indexes, the Release files, and
    only then delete what was pruned); publish itself writes in that order."""
    repo = tmp_path / "repo"
    publish(repo, [make_deb(tmp_path / "in", "tick", "1.0")], keep=1)
    steps: list[str] = []
    real_replace, real_delete = files.replace, publishing._delete_pool_files

    def replace(tmp: Path, path: Path) -> None:
        rel = path.relative_to(repo)
        steps.append("pool" if rel.parts[0] == "pool" else "release"
                     if rel.name in ("Release", "Release.gpg", "InRelease") else "indexes")
        real_replace(tmp, path)

    def delete(where: Path, removed: list[str]) -> None:
        steps.extend(["pruning"] if removed else [])
        real_delete(where, removed)

    monkeypatch.setattr(files, "replace", replace)
    monkeypatch.setattr(publishing, "_delete_pool_files", delete)
    publish(repo, [make_deb(tmp_path / "in", "tick", "2.0")], keep=1)
    assert [s for i, s in enumerate(steps) if s not in steps[:i]] == [
        "pool", "indexes", "release", "pruning"]
    assert steps == sorted(steps, key=["pool", "indexes", "release", "pruning"].index)


def test_the_readmes_copy_leaves_out_the_publish_lock() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"--delete --exclude '{files.LOCK_NAME}'" in readme


def test_each_release_is_a_whole_second_newer_for_http_caches(tmp_path: Path) -> None:
    """Servers answer If-Modified-Since from mtimes in whole seconds: two publishes within one
    second must still give the second Release a newer second, or a client that fetched the
    first one would be told "not modified" and keep it."""
    repo = tmp_path / "repo"
    seconds = []
    for version in ("1", "2", "3"):
        publish(repo, [make_deb(tmp_path / "in", version=version)], unsigned=True)
        seconds.append(int((repo / "dists/stable/Release").stat().st_mtime))
    assert seconds[0] < seconds[1] < seconds[2]
