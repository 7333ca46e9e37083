"""SIGTERM leaves nothing behind; what SIGKILL leaves, a later build removes, never a running one's.

docs/safety.md, "Temporary files".  The builds here are real CLI processes with their own
TMPDIR (where the scratch directory lives), signalled in a given phase.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pydebvenv.debfile import tempfiles
from pydebvenv.debfile.writer import TEMP_PREFIX
from pydebvenv.scratch import PREFIX
from tests.support.project import write_project

BIG = 16 << 20  # random bytes compress slowly with xz: the build is still writing when hit


def _slow_project(root: Path) -> Path:
    project = write_project(root, tool='files = [{ source = "big.bin", destination = '
                                       '"/usr/share/safeapp/big.bin" }]\ncompression = "xz"')
    (project / "big.bin").write_bytes(os.urandom(BIG))
    return project


def _start(project: Path, out: Path, cache: Path, tmp: Path) -> subprocess.Popen[str]:
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "PIP_NO_INDEX": "1", "SOURCE_DATE_EPOCH": "1700000000",
           "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-m", "pydebvenv", "build", str(project), "-o", str(out), "--offline",
         "--wheel-cache", str(cache), "--target", "debian-12", "--arch", "amd64"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _until_phase(proc: subprocess.Popen[str], phase: str) -> None:
    """Read the build's output until it announces ``phase`` (the reporter flushes each line)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(f"{phase} ..."):
            return
    raise AssertionError(f"the build ended before {phase!r}: {proc.wait()}")


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.mark.parametrize(("phase", "signum", "code", "word"), [
    ("build the app's wheel", signal.SIGTERM, 143, "terminated"),
    ("write", signal.SIGTERM, 143, "terminated"),
    ("write", signal.SIGINT, 130, "interrupted"),
])
def test_signal_leaves_nothing(tmp_path: Path, cache: Path, phase: str, signum: int,
                               code: int, word: str) -> None:
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    proc = _start(_slow_project(tmp_path / "proj"), out, cache, tmp)
    _until_phase(proc, phase)
    assert any(name.startswith(PREFIX) for name in _names(tmp))  # its scratch directory
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip() == f"pydebvenv: {word}"
    assert _names(out) == [] and _names(tmp) == []


def test_sigkill_leftovers_are_removed_by_the_next_build(tmp_path: Path, cache: Path) -> None:
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    proc = _start(_slow_project(tmp_path / "slow"), out, cache, tmp)
    _until_phase(proc, "write")
    proc.kill()
    proc.wait()
    left = _names(tmp)
    assert len(left) == 1 and left[0].startswith(PREFIX), left
    # a package's temporary file a killed process left in the output directory
    holder, name = _holder(out, tempfiles._host(), "file")
    holder.kill()
    holder.wait()
    assert (out / name).exists()
    quick = _start(write_project(tmp_path / "quick"), out, cache, tmp)
    _, err = quick.communicate(timeout=120)
    assert quick.returncode == 0, err
    assert [p.name for p in out.iterdir()] == [deb.name for deb in out.glob("safeapp_*.deb")]
    assert len(_names(out)) == 1 and _names(tmp) == []


@pytest.mark.parametrize("phase", ["build the app's wheel", "write"])
def test_a_running_build_keeps_its_temporaries(tmp_path: Path, cache: Path, phase: str) -> None:
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    slow = _start(_slow_project(tmp_path / "slow"), out, cache, tmp)
    _until_phase(slow, phase)
    slow.send_signal(signal.SIGSTOP)  # still running, however fast this machine is
    try:
        running = _names(tmp)
        assert running
        quick = _start(write_project(tmp_path / "quick", name="quickapp"), out, cache, tmp)
        _, err = quick.communicate(timeout=120)
        assert quick.returncode == 0, err
        assert _names(tmp) == running  # the quick build removed none of them
    finally:
        slow.send_signal(signal.SIGCONT)
    slow.terminate()
    _, err = slow.communicate(timeout=120)
    assert slow.returncode == 143, err
    assert [p.name for p in out.iterdir()] == [deb.name for deb in out.glob("quickapp_*.deb")]
    assert len(_names(out)) == 1 and _names(tmp) == []


# The rule itself, with processes that hold (or held) a temporary: another host's is
# simulated by its name; its owner is "alive" exactly as long as a process holds its lock.
HOLD = """
import os, sys, time
from pathlib import Path
from pydebvenv.debfile import tempfiles
tempfiles._host = lambda: sys.argv[2]
if sys.argv[3] == "file":
    fd, path = tempfiles.owned_file(Path(sys.argv[1]), ".pydebvenv-", ".deb.tmp")
else:
    path, fd = tempfiles.owned_dir(Path(sys.argv[1]), "pydebvenv-")
print(path.name, flush=True)
time.sleep(600)
"""


def _holder(directory: Path, host: str, kind: str) -> tuple[subprocess.Popen[str], str]:
    directory.mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory), host, kind],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


@pytest.mark.parametrize("kind", ["file", "dir"])
@pytest.mark.parametrize("host", ["here", "otherhost"])
def test_remove_stale_decides_by_pid_and_lock(tmp_path: Path, kind: str, host: str) -> None:
    prefix = TEMP_PREFIX if kind == "file" else PREFIX
    name_host = tempfiles._host() if host == "here" else "otherhost"
    proc, name = _holder(tmp_path, name_host, kind)
    path = tmp_path / name
    old = time.time() - 2 * tempfiles.FOREIGN_GRACE
    try:
        assert path.exists()
        os.utime(path, (old, old))
        assert tempfiles.remove_stale(tmp_path, prefix) == [] and path.exists()  # it runs
    finally:
        proc.kill()
        proc.wait()
    if host != "here":
        os.utime(path, None)  # young: another host's owner may not have locked it yet
        assert tempfiles.remove_stale(tmp_path, prefix) == [] and path.exists()
        os.utime(path, (old, old))
    assert tempfiles.remove_stale(tmp_path, prefix) == [name] and not path.exists()


def test_remove_stale_leaves_what_it_cannot_judge(tmp_path: Path) -> None:
    (tmp_path / "pydebvenv-abcd1234").mkdir()  # an older pydebvenv's name: no owner in it
    (tmp_path / "pydebvenv-x-1-0123456789abcdef").symlink_to("/etc")
    (tmp_path / "unrelated").mkdir()
    # another host's directory without a lock file: nobody can tell whether it runs
    (tmp_path / "pydebvenv-otherhost-1-0123456789abcdef").mkdir()
    old = time.time() - 2 * tempfiles.FOREIGN_GRACE
    os.utime(tmp_path / "pydebvenv-otherhost-1-0123456789abcdef", (old, old))
    # another user's (a shared /tmp): never removed, whatever its name says
    theirs = tmp_path / f"pydebvenv-{tempfiles._host()}-999999999-0123456789abcdef"
    theirs.mkdir()
    if os.geteuid() == 0:
        os.chown(theirs, 65534, 65534)
    before = _names(tmp_path)
    removed = tempfiles.remove_stale(tmp_path, PREFIX)
    assert removed == ([] if os.geteuid() == 0 else [theirs.name])
    assert _names(tmp_path) == sorted(set(before) - set(removed))
