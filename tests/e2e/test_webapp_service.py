"""End to end: the webapp example as a systemd service, under a real systemd and in plain chroots.

Each systemd test boots systemd as PID 1 in a fresh copy of the cached Debian 12 root
(tests/e2e/systemd.py) and drives it only through dpkg, as an admin would.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.chroots import run_in
from tests.e2e.debtools import dpkg_install, dpkg_purge, fsys_members, lintian
from tests.e2e.projects import Build, copy_example, edit_pyproject, set_version
from tests.e2e.systemd import Systemd

pytestmark = pytest.mark.e2e

URL = "http://127.0.0.1:8089"
UNITS = ("webapp.service", "webapp-report.service", "webapp-report.timer")
UNIT_DIR = "/lib/systemd/system"  # Debian 12's debhelper puts units there
ADMIN_TITLE = "Edited by the admin"


def _webapp(tmp_path: Path, version: str = "1.0") -> Path:
    project = copy_example("webapp", tmp_path / f"v{version}")
    if version != "1.0":
        set_version(project, version)
    return project


def _uid_of(sd: Systemd, pid: str) -> str:
    status = sd.run("cat", f"/proc/{pid}/status").stdout
    match = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
    assert match, status
    return match.group(1)


def _running(sd: Systemd, unit: str = "webapp.service") -> str:
    """The MainPID of the running unit."""
    props = sd.wait_for(unit)
    assert props["SubState"] == "running", props
    return props["MainPID"]


def _starts(sd: Systemd, count: int) -> int:
    """How often systemd started webapp.service, from the journal, once it says ``count``
    (journald writes a moment late); a start more or less shows in the number."""
    deadline = time.monotonic() + 10
    while True:
        started = sd.journal("webapp.service").count("systemd[1]: Started webapp.service")
        if started >= count or time.monotonic() > deadline:
            return started
        time.sleep(0.1)


def test_install_starts_the_service_as_its_own_user(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    deb = build(_webapp(tmp_path))
    sd = systemd()
    sd.install(deb)

    pid = _running(sd)
    user = sd.run("getent", "passwd", "webapp").stdout.strip().split(":")
    assert user[5:] == ["/nonexistent", "/usr/sbin/nologin"], user  # a system user, no home
    assert int(user[2]) < 1000 and not (sd.root / "nonexistent").exists()
    # made by systemd-sysusers from the shipped sysusers.d file, as dh_installsysusers does:
    # it allocates from the top of the system range down (999, 998, ...), adduser from 100 up
    assert int(user[2]) > 900, user
    assert (sd.root / "usr/lib/sysusers.d/webapp.conf").is_file()
    assert sd.run("getent", "group", "webapp").returncode == 0
    assert _uid_of(sd, pid) == user[2]
    assert sd.show("webapp.service", "User")["User"] == "webapp"
    page = sd.http_get(f"{URL}/")
    assert "<h1>Hello &lt;Debian&gt; &amp; friends</h1>" in page
    assert "<li>run by systemd as the webapp user</li>" in page  # the conffile's text
    assert sd.http_get(f"{URL}/version") == "1.0\n"
    # the hardening defaults are in force, and the service still writes its state directory
    props = sd.show("webapp.service", "ProtectSystem", "ProtectHome", "PrivateTmp",
                    "NoNewPrivileges", "PrivateDevices")
    assert props == {"ProtectSystem": "full", "ProtectHome": "yes", "PrivateTmp": "yes",
                     "NoNewPrivileges": "yes", "PrivateDevices": "yes"}
    assert sd.run("cat", "/var/lib/webapp/hits").stdout == "1\n"
    assert sd.run("stat", "-c", "%U %G", "/var/lib/webapp").stdout == "webapp webapp\n"
    # postinst compiled the venv before it started the service (root wrote the caches)
    site = "/usr/share/python/webapp/lib/python3.11/site-packages/webapp/__pycache__"
    assert sd.run("stat", "-c", "%U", site).stdout == "root\n"
    # enabled the way deb-systemd-helper does it; systemd-analyze accepts every unit
    wants = sd.root / "etc/systemd/system/multi-user.target.wants/webapp.service"
    assert wants.is_symlink() and str(wants.readlink()) == f"{UNIT_DIR}/webapp.service"
    sd.run("systemd-analyze", "verify", *(f"{UNIT_DIR}/{u}" for u in UNITS))
    assert sd.run("systemctl", "is-enabled", "webapp-report.timer").stdout == "enabled\n"
    assert sd.run("systemctl", "is-active", "webapp-report.timer").stdout == "active\n"


def test_upgrade_restarts_downgrade_rolls_back_admin_edits_survive(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    old, new = build(_webapp(tmp_path, "1.0")), build(_webapp(tmp_path, "1.1"))
    sd = systemd()
    sd.install(old)
    conffile = sd.root / "etc/webapp/webapp.yaml"
    conffile.write_text(conffile.read_text().replace("Hello <Debian> & friends", ADMIN_TITLE))
    sd.run("systemctl", "restart", "webapp.service")
    first = _running(sd)
    assert f"<h1>{ADMIN_TITLE}</h1>" in sd.http_get(f"{URL}/")

    sd.install(new)  # upgrade: the new postinst restarts it on the new code
    second = _running(sd)
    assert second != first
    assert sd.http_get(f"{URL}/version") == "1.1\n"
    assert f"<h1>{ADMIN_TITLE}</h1>" in sd.http_get(f"{URL}/")
    assert sd.run("cat", "/var/lib/webapp/hits").stdout == "2\n"  # the state is kept
    # restarted once: one start each for the install, the admin's restart, the upgrade
    assert _starts(sd, 3) == 3, sd.journal("webapp.service")

    sd.install(old)  # rollback: installing the previous .deb
    third = _running(sd)
    assert third not in (first, second)
    assert sd.http_get(f"{URL}/version") == "1.0\n"
    assert _starts(sd, 4) == 4, sd.journal("webapp.service")
    assert ADMIN_TITLE in conffile.read_text()
    assert f"<h1>{ADMIN_TITLE}</h1>" in sd.http_get(f"{URL}/")


def test_remove_stops_quickly_and_purge_leaves_nothing(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    sd = systemd()
    deb = build(_webapp(tmp_path))
    sd.install(deb)
    _running(sd)
    sd.http_get(f"{URL}/")
    start = time.monotonic()
    sd.run("dpkg", "-r", "webapp")
    seconds = time.monotonic() - start
    # a stop that hangs waits TimeoutStopSec (90 s); SIGTERM ends this service at once
    assert seconds < 15, f"dpkg -r took {seconds:.1f} s"
    assert sd.show("webapp.service", "ActiveState", "LoadState") == {
        "ActiveState": "inactive", "LoadState": "not-found"}
    assert "code=killed" not in sd.wait_journal("webapp.service", "webapp: stopped")
    assert not (sd.root / UNIT_DIR[1:] / "webapp.service").exists()
    # installed again (systemd still knows the removed unit as not-found): it starts
    sd.install(deb)
    _running(sd)
    assert sd.http_get(f"{URL}/version") == "1.0\n"

    sd.run("dpkg", "-P", "webapp")
    leftovers = sd.run("sh", "-c", "ls -d /lib/systemd/system/webapp* /etc/systemd/system/*/webapp* "
                       "/var/lib/systemd/deb-systemd-helper-enabled/webapp* "
                       "/var/lib/systemd/deb-systemd-helper-enabled/*/webapp* /var/lib/webapp "
                       "/etc/webapp /usr/share/python/webapp 2>/dev/null", check=False).stdout
    assert leftovers == ""
    assert sd.run("getent", "passwd", "webapp").returncode == 0  # the user stays (Policy 9.2)


def test_the_timer_is_listed_and_its_job_runs(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    project = _webapp(tmp_path)
    # every two seconds, to the second, instead of hourly
    edit_pyproject(project, 'on-calendar = "hourly"',
                   'on-calendar = "*:*:0/2"\nunit = { Timer = { AccuracySec = "1s" } }')
    sd = systemd()
    sd.install(build(project))
    timers = sd.run("systemctl", "list-timers", "--all", "--no-pager").stdout
    assert re.search(r"webapp-report\.timer\s+webapp-report\.service", timers), timers
    _running(sd)
    sd.http_get(f"{URL}/")
    # the job may have run before that page was served: wait for a run that counts it
    deadline = time.monotonic() + 30
    report = sd.root / "var/lib/webapp/report.txt"
    while time.monotonic() < deadline:
        if report.exists() and report.read_text() == "pages served: 1\n":
            break
        time.sleep(0.2)
    assert report.read_text() == "pages served: 1\n", sd.journal("webapp-report.service")
    sd.wait_journal("webapp-report.service", "webapp-report: pages served: 1")
    assert sd.show("webapp-report.service", "Result")["Result"] == "success"


def test_an_admin_disable_or_mask_survives_an_upgrade(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    old, new = build(_webapp(tmp_path, "1.0")), build(_webapp(tmp_path, "1.1"))
    sd = systemd()
    sd.install(old)
    _running(sd)
    sd.run("systemctl", "disable", "--now", "webapp.service")
    sd.install(new)
    assert sd.run("systemctl", "is-enabled", "webapp.service", check=False).stdout == "disabled\n"
    assert sd.show("webapp.service", "ActiveState")["ActiveState"] == "inactive"
    # and a mask holds too
    sd.run("systemctl", "enable", "--now", "webapp.service")
    _running(sd)
    sd.run("systemctl", "mask", "--now", "webapp.service")
    for deb in (old, new):  # a downgrade, then an upgrade
        sd.install(deb)
        assert sd.run("systemctl", "is-enabled", "webapp.service",
                      check=False).stdout == "masked\n"
        assert sd.show("webapp.service", "ActiveState")["ActiveState"] == "inactive"


def _reloads(sd: Systemd, expected: int) -> int:
    """How often systemd has re-read its units ("Reloading." from PID 1), once the journal has
    ``expected`` of them or 10 s have passed (journald writes a moment after PID 1 logs)."""
    deadline = time.monotonic() + 10
    while True:
        lines = sd.run("journalctl", "--no-pager", "-o", "cat", "_PID=1").stdout.splitlines()
        if lines.count("Reloading.") >= expected or time.monotonic() > deadline:
            return lines.count("Reloading.")
        time.sleep(0.2)


def _environment(sd: Systemd) -> set[str]:
    """The environment of the running webapp (once it answers: systemd has exec'd it)."""
    pid = _running(sd)
    sd.http_get(f"{URL}/version")
    return set(sd.run("cat", f"/proc/{pid}/environ").stdout.split("\0"))


def test_systemd_is_reloaded_when_the_units_change_and_only_then(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    # 1.0 and 1.1 ship the same units, 1.2 one more variable. The unit files of all three have
    # the same mtime (SOURCE_DATE_EPOCH), so systemd's NeedDaemonReload cannot tell them apart.
    same, changed = build(_webapp(tmp_path, "1.1")), _webapp(tmp_path, "1.2")
    edit_pyproject(changed, "state-directory = true",
                   'state-directory = true\nenvironment = { WEBAPP_FLAVOUR = "new" }')
    first, changed_deb = build(_webapp(tmp_path, "1.0")), build(changed)
    sd = systemd()
    sd.install(first)
    pid = _running(sd)
    assert _reloads(sd, 0) == 0  # a first install needs none: starting the unit loads it

    sd.install(same)  # restarted on the new code, without a reload
    assert _running(sd) != pid and sd.http_get(f"{URL}/version") == "1.1\n"
    sd.install(changed_deb)  # the changed unit: reloaded, then restarted with it
    assert "WEBAPP_FLAVOUR=new" in _environment(sd)
    assert sd.show("webapp.service", "NeedDaemonReload") == {"NeedDaemonReload": "no"}
    assert _reloads(sd, 1) == 1  # so the upgrade to 1.1 did not reload
    sd.install(first)  # the rollback reloads too: its unit is the older one
    assert not [e for e in _environment(sd) if e.startswith("WEBAPP_FLAVOUR=")]
    assert sd.http_get(f"{URL}/version") == "1.0\n"
    assert _reloads(sd, 2) == 2

    # An admin's drop-in that waits for a reload is applied by the next upgrade, as by
    # debhelper's unconditional reload (NeedDaemonReload sees the new drop-in).
    dropin = sd.root / "etc/systemd/system/webapp.service.d"
    dropin.mkdir(parents=True)
    (dropin / "local.conf").write_text("[Service]\nEnvironment=ADMIN_SETTING=1\n")
    sd.install(same)
    assert "ADMIN_SETTING=1" in _environment(sd)
    assert _reloads(sd, 3) == 3


def test_policy_rc_d_101_forbids_start_restart_and_stop(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    # /usr/sbin/policy-rc.d (invoke-rc.d(8)): container images install one that exits 101
    old, new = build(_webapp(tmp_path, "1.0")), build(_webapp(tmp_path, "1.1"))
    sd = systemd()
    policy = sd.root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    proc = sd.install(old)
    assert "/usr/sbin/policy-rc.d returned 101, not running 'start " in proc.stderr
    for unit in ("webapp.service", "webapp-report.timer"):
        assert sd.show(unit, "ActiveState")["ActiveState"] == "inactive", unit
        # enabling is not starting: they start at the next boot
        assert sd.run("systemctl", "is-enabled", unit).stdout == "enabled\n", unit
    sd.run("systemctl", "start", "webapp.service")  # the admin starts it
    pid = _running(sd)
    proc = sd.install(new)
    assert "/usr/sbin/policy-rc.d returned 101, not running 'restart " in proc.stderr
    assert _running(sd) == pid and sd.http_get(f"{URL}/version") == "1.0\n"
    sd.run("dpkg", "-r", "webapp")  # nor stopped on remove
    assert _running(sd) == pid

    # 104 ("the action is allowed", like 0): the next install starts it again
    sd.run("systemctl", "stop", "webapp.service")
    policy.write_text("#!/bin/sh\nexit 104\n")
    sd.install(new)
    assert sd.http_get(f"{URL}/version") == "1.1\n"


def test_a_preset_that_disables_the_service_is_kept(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    # systemd.preset(5): the first install enables through `systemctl preset`, as with dh
    old, new = build(_webapp(tmp_path, "1.0")), build(_webapp(tmp_path, "1.1"))
    sd = systemd()
    presets = sd.root / "etc/systemd/system-preset"
    presets.mkdir(parents=True, exist_ok=True)
    (presets / "10-local.preset").write_text("disable webapp.service\n")
    proc = sd.install(old)
    assert "webapp.service is a disabled or a static unit, not starting it." in proc.stderr
    for deb in (old, new):  # and no upgrade changes that
        sd.install(deb)
        assert sd.run("systemctl", "is-enabled", "webapp.service",
                      check=False).stdout == "disabled\n"
        assert sd.show("webapp.service", "ActiveState")["ActiveState"] == "inactive"
    # the timer is not named by the preset: enabled and started
    assert sd.run("systemctl", "is-active", "webapp-report.timer").stdout == "active\n"


def test_restart_on_upgrade_false_keeps_the_old_process(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    projects = [_webapp(tmp_path, v) for v in ("1.0", "1.1")]
    for project in projects:
        edit_pyproject(project, "state-directory = true",
                       "state-directory = true\nrestart-on-upgrade = false")
    old, new = (build(p) for p in projects)
    sd = systemd()
    sd.install(old)
    pid = _running(sd)
    sd.install(new)
    assert _running(sd) == pid
    assert sd.http_get(f"{URL}/version") == "1.0\n"  # until the admin restarts it
    sd.run("systemctl", "restart", "webapp.service")
    assert sd.http_get(f"{URL}/version") == "1.1\n"


def test_enable_and_start_false_leave_it_to_the_admin(
    build: Build, systemd: Callable[[], Systemd], tmp_path: Path
) -> None:
    project = _webapp(tmp_path)
    edit_pyproject(project, "state-directory = true",
                   "state-directory = true\nenable = false\nstart = false")
    sd = systemd()
    sd.install(build(project))
    assert sd.run("systemctl", "is-enabled", "webapp.service", check=False).stdout == "disabled\n"
    assert sd.show("webapp.service", "ActiveState")["ActiveState"] == "inactive"
    sd.run("systemctl", "start", "webapp.service")
    assert sd.http_get(f"{URL}/version") == "1.0\n"
    sd.run("dpkg", "-r", "webapp")  # stopped on remove even so: its code is gone
    assert sd.show("webapp.service", "ActiveState")["ActiveState"] == "inactive"


def _processes_of(root: Path, user: str) -> list[str]:
    """Command lines of the processes running in `root` as `user` (host /proc)."""
    uid = next(line.split(":")[2] for line in (root / "etc/passwd").read_text().splitlines()
               if line.startswith(f"{user}:"))
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or (entry / "root").readlink() != root:
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        if re.search(rf"^Uid:\s+{uid}\s", status, re.MULTILINE):
            found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
    return found


@pytest.mark.parametrize("target", ["debian-12", "debian-13"])
def test_a_chroot_without_systemd_installs_upgrades_purges_and_starts_nothing(
    build: Build, chroot: Callable[[str], Path], tmp_path: Path, target: str
) -> None:
    old = build(_webapp(tmp_path, "1.0"), target=target)
    new = build(_webapp(tmp_path, "1.1"), target=target)
    root = chroot(target)
    # debhelper's unit directory on each release: /lib before the /usr-move, /usr/lib after
    unit_dir = {"debian-12": "lib/systemd/system", "debian-13": "usr/lib/systemd/system"}[target]
    assert {m.name for m in fsys_members(new) if m.name.endswith(".service")} == {
        f"./{unit_dir}/webapp.service", f"./{unit_dir}/webapp-report.service"}
    assert not (root / "run/systemd/system").exists()
    dpkg_install(root, old)
    dpkg_install(root, new)
    assert run_in(root, "getent", "passwd", "webapp").returncode == 0
    assert _processes_of(root, "webapp") == []
    # deb-systemd-helper enabled it all the same: it starts when this root boots (both roots
    # have a merged /usr, where /lib is a link to usr/lib)
    wants = root / "etc/systemd/system/multi-user.target.wants/webapp.service"
    assert run_in(root, "readlink", "-f", str(Path("/") / wants.relative_to(root))).stdout == (
        "/usr/lib/systemd/system/webapp.service\n")
    assert run_in(root, "/usr/bin/webapp", "--check").returncode == 0
    dpkg_purge(root, "webapp")
    assert not wants.is_symlink() and not (root / unit_dir / "webapp.service").exists()
    assert not (root / "etc/webapp").exists()


def test_without_adduser_the_postinst_falls_back_to_useradd(
    build: Build, chroot: Callable[[str], Path], tmp_path: Path
) -> None:
    deb = build(_webapp(tmp_path), target="debian-13")
    root = chroot("debian-13")
    run_in(root, "dpkg", "--purge", "adduser")  # nothing in trixie's minbase needs it
    (root / "tmp/debs").mkdir(parents=True, exist_ok=True)
    (root / "tmp/debs" / deb.name).write_bytes(deb.read_bytes())
    # Depends: adduser is unmet, so only a forced install gets here: the user is made anyway
    proc = run_in(root, "dpkg", "--force-depends", "-i", f"/tmp/debs/{deb.name}")
    assert "adduser" in proc.stderr  # dpkg says what it forced
    user = run_in(root, "getent", "passwd", "webapp").stdout.strip().split(":")
    assert user[0] == "webapp" and user[5:] == ["/nonexistent", "/usr/sbin/nologin"], user
    assert run_in(root, "id", "-gn", "webapp").stdout == "webapp\n"


@pytest.mark.lintian
def test_lintian_has_nothing_to_say_about_the_service(build: Build, tmp_path: Path) -> None:
    deb = build(_webapp(tmp_path), compression="xz")  # Debian 12's lintian reads no zstd
    tags = lintian(deb)
    assert not [t for t in tags if t.startswith("E:")], tags
    about = [t for t in tags if re.search(r"systemd|maintainer-script|adduser|init\.d", t)]
    # Only two informational tags are left: the example's project has no Homepage to point
    # Documentation= at, and it has no System V init script (nor needs one).
    assert {t.split()[2] for t in about} == {
        "systemd-service-file-missing-documentation-key",
        "package-supports-alternative-init-but-no-init.d-script"}, about
    assert all(t.startswith("I: ") for t in about), about


def test_a_chrootless_install_makes_the_user_in_the_root(
    build: Build, chroot: Callable[[str], Path], tmp_path: Path
) -> None:
    # dpkg --root with --force-script-chrootless runs the scripts on this host with DPKG_ROOT
    # set: the user must appear in the root's /etc/passwd, not in the host's
    deb = build(_webapp(tmp_path))
    root = chroot("debian-12")
    host_users = Path("/etc/passwd").read_text()
    proc = subprocess.run(["dpkg", f"--root={root}", "--force-script-chrootless", "-i", str(deb)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Path("/etc/passwd").read_text() == host_users
    user = run_in(root, "getent", "passwd", "webapp").stdout.strip().split(":")
    assert user[5:] == ["/nonexistent", "/usr/sbin/nologin"], user
    assert int(user[2]) > 900, user  # this host's systemd-sysusers --root made it
    wants = root / "etc/systemd/system/multi-user.target.wants/webapp.service"
    assert wants.is_symlink()  # deb-systemd-helper works on DPKG_ROOT too
    assert _processes_of(root, "webapp") == []
