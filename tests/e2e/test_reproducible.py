"""Reproducible under Debian's own checker: reprotest(1) builds the example twice, varying
everything it can vary here, and the two packages must be byte-identical; and a build whose
output and scratch space sit on a disorderfs(1) mount leaves nothing behind.

docs/reproducibility.md explains the variations and why one of them is not applied.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

import pydebvenv
from tests.e2e.projects import copy_example
from tests.support.gate import need
from tests.support.isolation import isolated_pip_env

pytestmark = pytest.mark.e2e

#: reprotest's variations (reprotest(1), VARIATIONS) applied to the second build
VARIED = (
    "environment",  # an extra variable, REPROTEST_CAPTURE_ENVIRONMENT
    "build_path",  # another directory for the source tree
    "kernel",  # another personality for uname (setarch)
    "aslr",  # address space randomisation off, then on
    "num_cpus",  # 1 CPU, then more (taskset): no effect on a 1-CPU machine
    "time",  # faketime: the clock months or years ahead
    "fileordering",  # the tree on a disorderfs mount that shuffles directory listings
    "domain_host",  # other host and domain names (unshare --uts, no sudo)
    "home",  # HOME=/nonexistent/second-build
    "locales",  # LC_ALL=et_EE.UTF-8 (needs the locale: locales-all)
    "exec_path",  # an extra PATH entry
    "timezone",  # TZ=GMT+12, then GMT-14
    "umask",  # 0022, then 0002
)
#: the variations not applied, and why
NOT_VARIED = {
    "user_group": "needs another account and sudo; reprotest 0.7.23 runs `sudo -h localhost`, "
                  "which Debian 12's sudo 1.9.13 refuses (\"a remote host may only be "
                  "specified when listing privileges\"), so no build can run",
}
#: the locale reprotest's `locales` variation sets
VARIED_LOCALE = "et_EE.utf8"
_TOOLS = ("reprotest", "faketime", "disorderfs", "fusermount", "setarch", "taskset", "unshare")


def _need_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        need(f"{missing!r} missing: .ci/run installs reprotest, faketime, disorderfs, fuse3")
    if not os.path.exists("/dev/fuse"):
        need("/dev/fuse is missing: disorderfs (a FUSE filesystem) cannot mount")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reprotest(source: Path, command: str, artifacts: str, variations: Sequence[str],
               store: Path) -> subprocess.CompletedProcess[str]:
    """reprotest on ``source`` with the null virtual server (a copy of it under /tmp).

    pip sees nothing of this machine's configuration (isolated_pip_env) and no index;
    SOURCE_DATE_EPOCH is unset, so the writer's fixed date must do.  The two builds are
    compared with diff(1), which is enough to say whether they differ.
    """
    env = isolated_pip_env()
    env["PIP_NO_INDEX"] = "1"
    env.pop("SOURCE_DATE_EPOCH", None)
    cmd = ["reprotest", "--verbosity", "1", "--no-diffoscope", "--min-cpus", "1",
           "--store-dir", str(store), "--variations=-all," + ",".join(variations),
           "-c", command, str(source), artifacts]
    return subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, check=False)


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((proc.stdout + proc.stderr).splitlines()[-lines:])


def _applied(proc: subprocess.CompletedProcess[str]) -> set[str]:
    """The variations reprotest says it applied to the experiment build."""
    line = re.search(r'build "experiment-1": (.*)', proc.stderr)
    assert line, _tail(proc)
    return {item.split()[1] for item in line[1].split(", ") if item.startswith("vary ")}


def test_the_variations_are_all_of_reprotests() -> None:
    # a reprotest that learns a new variation makes this fail: apply it or say why not
    _need_tools("reprotest")
    text = " ".join(subprocess.run(["reprotest", "--help"], capture_output=True, text=True,
                                   check=True).stdout.split())
    listed = re.search(r'equivalent to "([^"]+)"', text)
    assert listed, text
    names = [name.strip().lstrip("+") for name in listed[1].split(",")]
    assert sorted(names) == sorted((*VARIED, *NOT_VARIED))
    assert not set(VARIED) & set(NOT_VARIED)


def test_reprotest_finds_the_example_reproducible(wheel_cache: Path, tmp_path: Path) -> None:
    _need_tools(*_TOOLS)
    locales = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    if VARIED_LOCALE not in locales:
        need(f"locale {VARIED_LOCALE} missing: .ci/run installs locales-all")
    source = copy_example("hello-cli", tmp_path / "src")
    # the command runs in reprotest's copy of the tree, offline, from the session's wheels
    build = shlex.join([sys.executable, "-m", "pydebvenv", "build", ".", "-o", "dist",
                        "--offline", "--wheel-cache", str(wheel_cache), "-r",
                        "requirements.txt", "--target", "debian-12", "--arch", "amd64"])
    store = tmp_path / "store"
    proc = _reprotest(source, build, "dist/*.deb", VARIED, store)
    assert proc.returncode == 0, _tail(proc)
    assert "Reproduction successful" in proc.stdout, _tail(proc)
    assert "requires these program(s)" not in proc.stderr, _tail(proc)
    assert _applied(proc) == set(VARIED)
    # what was compared is a real package, the same in both builds
    deb = store / "control" / "source-root" / "dist" / "hello-cli_1.0-1+deb12_all.deb"
    assert pydebvenv.inspect(deb).control["Package"] == "hello-cli"
    assert f"{_sha256(deb)}  ./dist/hello-cli_1.0-1+deb12_all.deb" in proc.stdout
    assert (store / "experiment-1").resolve() == (store / "control").resolve()


def test_reprotest_reports_builds_that_differ(tmp_path: Path) -> None:
    # the check above can fail: a "package" holding $TZ differs under the timezone variation
    _need_tools("reprotest")
    source = tmp_path / "src"
    source.mkdir()
    (source / "README").write_text("nothing to build\n")
    proc = _reprotest(source, 'mkdir -p dist && echo "$TZ" > dist/tz.deb', "dist/*.deb",
                      ["timezone"], tmp_path / "store")
    assert proc.returncode == 1, _tail(proc)
    assert "Reproduction successful" not in proc.stdout
    assert _applied(proc) == {"timezone"}


@contextmanager
def _disorderfs(under: Path, mountpoint: Path) -> Iterator[Path]:
    """``under`` mounted at ``mountpoint`` by disorderfs, directory listings shuffled.

    Unmounting fails ("Device or resource busy") while a file on the mount is still open.
    """
    under.mkdir()
    mountpoint.mkdir()
    subprocess.run(["disorderfs", "-q", "--shuffle-dirents=yes", str(under), str(mountpoint)],
                   check=True)
    try:
        yield mountpoint
    finally:
        done = subprocess.run(["fusermount", "-u", str(mountpoint)], capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            subprocess.run(["fusermount", "-u", "-z", str(mountpoint)], check=False)
    assert done.returncode == 0, f"unmounting {mountpoint}: {done.stderr}"


def test_a_build_on_a_disorderfs_mount_leaves_only_the_package(
    offline_pip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A FUSE filesystem keeps a file removed while open as a hidden .fuse_hidden* entry,
    # so a directory removed with an open file in it fails with "Directory not empty".
    # The project, the output directory and the temporary directory are all on the mount.
    _need_tools("disorderfs", "fusermount")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")

    def build(project: Path, out: Path) -> Path:
        return pydebvenv.build(project, output_dir=out, target="debian-12", arch="amd64",
                               wheel_cache=offline_pip, offline=True,
                               requirements=[project / "requirements.txt"])

    plain = build(copy_example("hello-cli", tmp_path / "plain"), tmp_path / "plain" / "dist")
    under = tmp_path / "under"
    with _disorderfs(under, tmp_path / "mnt") as mnt:
        scratch = mnt / "tmp"
        scratch.mkdir()
        monkeypatch.setenv("TMPDIR", str(scratch))
        monkeypatch.setattr(tempfile, "tempdir", str(scratch))
        deb = build(copy_example("hello-cli", mnt), mnt / "dist")
        assert sorted(os.listdir(mnt / "dist")) == [deb.name]
        assert os.listdir(scratch) == []
        digest = _sha256(deb)
    assert sorted(os.listdir(under / "dist")) == [deb.name]  # no .fuse_hidden* either
    assert os.listdir(under / "tmp") == []
    assert digest == _sha256(plain)  # shuffled directory listings change no byte
