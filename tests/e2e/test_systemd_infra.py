"""Self-tests of the systemd harness: it boots, runs units as other users with sandboxing, dies."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.systemd import Systemd

pytestmark = pytest.mark.e2e

PROBE = """\
[Unit]
Description=harness probe

[Service]
User=nobody
ExecStart=/usr/bin/python3.11 -c "import os, time; print('uid', os.getuid(), flush=True); time.sleep(600)"
ProtectSystem=strict
PrivateTmp=yes
PrivateDevices=yes
StateDirectory=probe
"""


def test_systemd_is_pid_1_and_runs_a_sandboxed_unit(systemd: Callable[[], Systemd]) -> None:
    sd = systemd()
    assert sd.run("cat", "/proc/1/comm").stdout == "systemd\n"
    assert sd.run("systemctl", "is-system-running", check=False).stdout.strip() in (
        "running", "degraded")
    assert (sd.root / "usr" / "bin" / "deb-systemd-invoke").exists()
    assert not (sd.root / "usr" / "sbin" / "policy-rc.d").exists()
    # /run/systemd/system exists inside only: the maintainer scripts' test for a running systemd
    assert sd.run("test", "-d", "/run/systemd/system", check=False).returncode == 0
    assert not (sd.root / "run" / "systemd" / "system").exists()
    (sd.root / "etc" / "systemd" / "system" / "probe.service").write_text(PROBE)
    sd.run("systemctl", "daemon-reload")
    sd.run("systemctl", "start", "probe.service")
    props = sd.wait_for("probe.service")
    assert props["SubState"] == "running"
    sd.wait_journal("probe.service", "uid 65534")
    assert sd.run("stat", "-c", "%U", "/var/lib/probe").stdout == "nobody\n"


def test_services_get_their_own_loopback(systemd: Callable[[], Systemd]) -> None:
    sd = systemd()
    out = sd.run("python3.11", "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 22)); print('bound')")
    assert out.stdout == "bound\n"  # port 22 is free in its own network namespace


def _processes_in(root: Path) -> list[int]:
    """Host PIDs of the processes whose root directory is `root`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "root") == str(root):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_kill_of_its_pid_1_ends_every_process(systemd: Callable[[], Systemd]) -> None:
    sd = systemd()
    (sd.root / "etc" / "systemd" / "system" / "probe.service").write_text(PROBE)
    sd.run("systemctl", "daemon-reload")
    sd.run("systemctl", "start", "probe.service")
    sd.wait_for("probe.service")
    assert sd.pid in _processes_in(sd.root) and len(_processes_in(sd.root)) > 2
    os.kill(sd.pid, 9)
    deadline = time.monotonic() + 10
    while _processes_in(sd.root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_in(sd.root) == []


def test_nothing_reaches_the_machine(systemd: Callable[[], Systemd]) -> None:
    # binfmt_misc and sysctl are kernel-wide, udev would trigger the host's devices: masked;
    # /dev is the namespace's own tmpfs, not the host's devtmpfs
    sd = systemd()
    for unit in ("systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount",
                 "systemd-sysctl.service", "systemd-modules-load.service",
                 "systemd-udev-trigger.service"):
        assert sd.show(unit, "LoadState", "ActiveState") == {
            "LoadState": "masked", "ActiveState": "inactive"}, unit
    assert sd.run("stat", "-f", "-c", "%T", "/dev").stdout == "tmpfs\n"
    assert sd.run("sh", "-c", "echo ok > /dev/null && head -c 4 /dev/urandom | wc -c").stdout == "4\n"
    assert not sd.run("sh", "-c", "ls /dev/tty1 /dev/sda /dev/vda 2>/dev/null", check=False).stdout
