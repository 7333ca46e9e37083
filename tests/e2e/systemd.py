"""A real systemd as PID 1 of its own namespaces, inside a chroot copy, for the e2e tests.

The machines the tests run on do not boot with systemd, so ``systemd-nspawn`` cannot be used;
systemd still runs as PID 1 of a new PID namespace (docs/services.md, "Testing under a real
systemd"). ``boot(root)`` starts it in a copy of the cached root made by
``cached_systemd_root()`` (debootstrap minbase + the interpreter + systemd, systemd-sysv,
dbus), and ``Systemd.run`` runs commands inside with nsenter(1):

* the root must be a mount point, or every unit with sandboxing directives (ProtectSystem=,
  PrivateTmp=, ...) fails with 226/NAMESPACE: it is bind-mounted onto itself;
* ``/run`` is a fresh tmpfs, so ``/run/systemd/system`` exists only while this systemd runs;
* the root directory is 0755, or services with ``User=`` fail with 200/CHDIR;
* no ``/usr/sbin/policy-rc.d``, so the postinst may start services (invoke-rc.d(8));
* a network namespace of its own (systemd brings its loopback up), so services bind
  127.0.0.1 without meeting the host's or another test's ports;
* a /dev of its own, and the units that would change kernel-wide settings or the host's
  devices masked (binfmt_misc, sysctl, modules, udev, e2scrub, fstrim): the machine is shared.

Every mount is made inside the new mount namespace, so ``kill -9`` of that PID 1 (which takes
every process of the namespace with it) leaves nothing mounted on the host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.chroots import cached_chroot

__all__ = ["SYSTEMD_PACKAGES", "Systemd", "boot", "cached_systemd_root"]

SYSTEMD_PACKAGES = ("dbus", "systemd", "systemd-sysv")
_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
        "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"]
# Inside the new namespaces: make the root a private mount point, give it an empty /run, the
# namespace's own /proc, and a /dev of its own (a tmpfs with the host's harmless character
# devices bound in, and a new devpts instance) so that nothing systemd does to /dev reaches
# the host's devtmpfs; then become systemd (exec keeps PID 1).
_START = """
R="$0"
mount --bind "$R" "$R" && mount --make-private "$R" &&
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run" &&
mount -t proc proc "$R/proc" &&
mount -t tmpfs -o mode=0755,nosuid tmpfs "$R/dev" || exit 1
for node in null zero full random urandom tty; do
    : > "$R/dev/$node" && mount --bind "/dev/$node" "$R/dev/$node" || exit 1
done
mkdir "$R/dev/pts" "$R/dev/shm" &&
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts" &&
ln -s pts/ptmx "$R/dev/ptmx" && ln -s /proc/self/fd "$R/dev/fd" || exit 1
exec chroot "$R" env -i container=other /lib/systemd/systemd --system
"""
# Units that would change the machine rather than the root: binfmt_misc and sysctl settings
# are kernel-wide (systemd-binfmt first empties the whole binfmt_misc table, taking away the
# qemu-user entries other tests rely on), module loading is too, udev's trigger would send
# uevents for the host's devices, and e2scrub and fstrim act on the host's block devices.
_MASKED = (
    "systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount", "systemd-sysctl.service", "systemd-modules-load.service",
    "systemd-udevd.service", "systemd-udev-trigger.service", "systemd-udev-settle.service",
    "e2scrub_all.timer", "e2scrub_reap.service", "fstrim.timer",
)


def cached_systemd_root(target: str = "debian-12", arch: str = "amd64") -> Path:
    """The cached root with systemd installed (debootstrapped once, like the other chroots)."""
    return cached_chroot(target, arch, extra=SYSTEMD_PACKAGES)


@dataclass(frozen=True, slots=True)
class Systemd:
    """A running systemd: its root (as seen from the host) and its PID (host numbering)."""

    root: Path
    pid: int

    def run(self, *cmd: str, check: bool = True, input: str | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``cmd`` inside: the systemd's namespaces and root, a clean environment."""
        argv = ["nsenter", "-t", str(self.pid), "-m", "-p", "-u", "-i", "-n",
                "chroot", str(self.root), "env", "-i", *_ENV, *cmd]
        proc = subprocess.run(argv, capture_output=True, text=True, input=input,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"command {list(cmd)!r} failed under systemd in {self.root} with exit code "
                f"{proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return proc

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--no-pager", *args, check=False)

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        """``systemctl show -p ...`` as a dict (ActiveState, MainPID, User, ...)."""
        out = self.run("systemctl", "show", "-p", ",".join(properties), unit).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, unit: str) -> str:
        """The unit's journal, for failure messages."""
        return self.run("journalctl", "--no-pager", "-o", "short", "-u", unit, check=False).stdout

    def wait_journal(self, unit: str, text: str, timeout: float = 10) -> str:
        """The unit's journal once it holds ``text`` (journald writes a moment after the
        process); AssertionError with the journal when it does not in time."""
        deadline = time.monotonic() + timeout
        while text not in (journal := self.journal(unit)):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} is not in the journal of {unit}:\n{journal}")
            time.sleep(0.1)
        return journal

    def install(self, deb: Path, *dpkg_args: str,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        """``dpkg -i`` of a host file inside, so the maintainer scripts meet this systemd."""
        inbox = self.root / "var" / "tmp" / "debs"
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(deb, inbox / deb.name)
        try:
            return self.run("dpkg", *dpkg_args, "-i", f"/var/tmp/debs/{deb.name}", check=check)
        finally:
            (inbox / deb.name).unlink()

    def wait_for(self, unit: str, state: str = "active", timeout: float = 30) -> dict[str, str]:
        """Wait until ``unit``'s ActiveState is ``state``; its properties then."""
        deadline = time.monotonic() + timeout
        while True:
            props = self.show(unit, "ActiveState", "SubState", "MainPID", "Result")
            if props.get("ActiveState") == state:
                return props
            if time.monotonic() > deadline:
                raise AssertionError(f"{unit} is {props}, not {state} after {timeout} s\n"
                                     + self.journal(unit))
            time.sleep(0.2)

    def http_get(self, url: str, timeout: float = 30) -> str:
        """The body of ``url`` fetched inside (retried while the service comes up)."""
        script = (
            "import sys, time, urllib.request\n"
            f"deadline = time.monotonic() + {timeout}\n"
            "while True:\n"
            "    try:\n"
            "        print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end='')\n"
            "        break\n"
            "    except OSError as exc:\n"
            "        if time.monotonic() > deadline:\n"
            "            sys.exit(f'{sys.argv[1]}: {exc}')\n"
            "        time.sleep(0.1)\n"
        )
        python = next(p.name for p in sorted((self.root / "usr" / "bin").glob("python3.*"))
                      if p.name[len("python3."):].isdigit())
        return self.run(python, "-c", script, url, timeout=timeout + 30).stdout


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="ascii").strip()
    except OSError:
        return ""


@contextmanager
def boot(root: Path, log: Path, timeout: float = 60) -> Iterator[Systemd]:
    """systemd booted in ``root`` (a writable copy: it is changed), until the block ends.

    ``log`` receives systemd's own console output. Waits until ``systemctl
    is-system-running`` says running or degraded.
    """
    os.chmod(root, 0o755)
    (root / "usr" / "sbin" / "policy-rc.d").unlink(missing_ok=True)
    masks = root / "etc" / "systemd" / "system"
    for unit in _MASKED:
        (masks / unit).unlink(missing_ok=True)
        (masks / unit).symlink_to("/dev/null")  # systemctl mask, without systemctl
    with log.open("wb") as out:
        starter = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
             "--kill-child", "--uts", "--ipc", "--net", "sh", "-c", _START, str(root)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid = 0
    try:
        deadline = time.monotonic() + timeout
        while not pid:
            # unshare --fork: its one child is the namespace's PID 1, which execs systemd
            pid = next((c for c in _children(starter.pid) if _comm(c) == "systemd"), 0)
            if starter.poll() is not None:
                raise AssertionError(f"systemd did not start (exit {starter.returncode}):\n"
                                     + log.read_text(errors="replace")[-3000:])
            if not pid and time.monotonic() > deadline:
                raise AssertionError("systemd did not start:\n"
                                     + log.read_text(errors="replace")[-3000:])
            time.sleep(0.05)
        systemd = Systemd(root, pid)
        state = ""
        while state not in ("running", "degraded"):
            if time.monotonic() > deadline:
                failed = systemd.systemctl("--failed").stdout
                raise AssertionError(f"systemd is {state!r} after {timeout} s\n{failed}")
            time.sleep(0.2)
            state = systemd.run("systemctl", "is-system-running", check=False).stdout.strip()
        yield systemd
    finally:
        if pid:
            with suppress(ProcessLookupError):
                os.kill(pid, 9)  # PID 1 of the namespace: every process in it dies too
        else:
            starter.kill()
        starter.wait(timeout=30)
