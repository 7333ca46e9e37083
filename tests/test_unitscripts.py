"""debian/unitscripts.py against the real deb-systemd-helper of this machine.

The postinst decides from deb-systemd-helper's state files whether the helper has anything to
do.  These tests run the generated postinst code and debhelper's own sequence of helper calls
side by side, each in a root of its own (DPKG_ROOT, so nothing outside the test's directory is
touched and no systemd is involved), through installs, upgrades and an admin's disable, and
require the same links and state files afterwards, with fewer helper calls.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pydebvenv.debian.services import UnitFile, plan_units
from pydebvenv.debian.unitscripts import helper_links, service_scripts
from tests.support.gate import need
from tests.test_services import FACTS, svc, timer

HELPER = "/usr/bin/deb-systemd-helper"


@pytest.fixture
def helper() -> str:
    if not os.access(HELPER, os.X_OK):
        need("deb-systemd-helper (init-system-helpers, Essential on Debian) is not installed")
    return HELPER


def _unit(text: str, name: str = "app.service") -> UnitFile:
    return UnitFile(name, text, True, enable=True, start=True, restart_on_upgrade=True)


def _root(path: Path, units: dict[str, str]) -> Path:
    unit_dir = path / "lib" / "systemd" / "system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for name, text in units.items():
        (unit_dir / name).write_text(text)
    return path


def _env(root: Path, log: Path | None = None, wrapper: Path | None = None) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "DPKG_ROOT": str(root),
           "DPKG_MAINTSCRIPT_PACKAGE": "app", "LC_ALL": "C"}
    if wrapper is not None and log is not None:
        env["PATH"] = f"{wrapper}:{env['PATH']}"
        env["HELPER_LOG"] = str(log)
    return env


def _wrapper(tmp_path: Path) -> Path:
    """A directory whose deb-systemd-helper logs its arguments, then runs the real one."""
    wrapper = tmp_path / "wrapper"
    wrapper.mkdir(exist_ok=True)
    script = wrapper / "deb-systemd-helper"
    script.write_text(f'#!/bin/sh\necho "$*" >> "$HELPER_LOG"\nexec {HELPER} "$@"\n')
    script.chmod(0o755)
    return wrapper


def _tree(root: Path) -> dict[str, str]:
    """The links and state files the helper manages, and what each holds."""
    found = {}
    for top in ("etc/systemd", "var/lib/systemd"):
        for path in sorted((root / top).rglob("*")):
            rel = str(path.relative_to(root))
            if path.is_symlink():
                found[rel] = "-> " + str(path.readlink())
            elif path.is_file():
                found[rel] = path.read_text()
    return found


def test_helper_links_are_what_the_helper_records(helper: str, tmp_path: Path) -> None:
    texts = {
        "generated": plan_units([svc()], [], FACTS).files[0].text,
        "two keys, three targets": ("[Service]\nExecStart=/bin/true\n[Install]\n"
                                    "WantedBy=multi-user.target graphical.target\n"
                                    "RequiredBy=network-online.target\n"),
    }
    for what, text in texts.items():
        root = _root(tmp_path / what, {"app.service": text})
        subprocess.run([helper, "update-state", "app.service"], env=_env(root), check=True)
        state = root / "var/lib/systemd/deb-systemd-helper-enabled/app.service.dsh-also"
        assert helper_links(_unit(text)) == tuple(state.read_text().splitlines()), what


@pytest.mark.parametrize("install", [
    "Alias=web.service", "Also=other.service", "DefaultInstance=a",  # the helper's own rules
    "WantedBy='multi-user.target'",  # the helper's parser reads a quoted value differently
    "wantedby=multi-user.target",  # it matches the key in any case, then expects "WantedBy"
    "WantedBy=a.target a.target",  # repeated: update-state would record it twice
    "WantedBy=a.target  b.target",
])
def test_helper_links_leave_unusual_units_to_the_helper(install: str) -> None:
    assert helper_links(_unit(f"[Service]\nExecStart=/bin/true\n[Install]\n{install}\n")) is None


_V1 = ("[Unit]\nDescription=v1\n[Service]\nExecStart=/bin/true\n"
       "[Install]\nWantedBy=multi-user.target\n")
_V2 = _V1.replace("WantedBy=multi-user.target", "WantedBy=multi-user.target graphical.target")


def _debhelper(name: str, enable: bool) -> str:
    """The helper calls of debhelper's postinst-systemd-enable / -dont-enable snippets."""
    if enable:
        return (f"if deb-systemd-helper --quiet was-enabled {name}; then\n"
                f"\tdeb-systemd-helper enable {name} >/dev/null || true\n"
                f"else\n\tdeb-systemd-helper update-state {name} >/dev/null || true\nfi\n")
    return (f"if deb-systemd-helper debian-installed {name}; then\n"
            f"\tif deb-systemd-helper --quiet was-enabled {name}; then\n"
            f"\t\tdeb-systemd-helper enable {name} >/dev/null || true\n\tfi\nfi\n"
            f"deb-systemd-helper update-state {name} >/dev/null || true\n")


def _with_systemctl(root: Path) -> None:
    """The root's own systemctl (the host's binary): the helper then enables a unit on its
    first install through `systemctl --root=ROOT preset`, which works on the files alone."""
    host = shutil.which("systemctl")
    if host is None:
        need("systemctl (package systemd) is not installed")
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    (root / "usr/bin/systemctl").symlink_to(str(host))


@pytest.mark.parametrize("systemctl", [False, True], ids=["no-systemctl", "systemctl"])
@pytest.mark.parametrize("enable", [True, False], ids=["enable", "enable-false"])
def test_the_postinst_leaves_the_helpers_state_as_debhelper_does(
    helper: str, tmp_path: Path, enable: bool, systemctl: bool
) -> None:
    wrapper = _wrapper(tmp_path)
    # each step: (what, unit text, old version, the admin's change before it)
    steps = [("install", _V1, "", None),
             ("upgrade, nothing changed", _V1, "1.0", None),
             ("upgrade to a unit wanted by one more target", _V2, "1.0", None),
             ("upgrade after the admin disabled it", _V2, "1.1", "disable"),
             ("downgrade to the first unit, still disabled", _V1, "1.2", None),
             ("upgrade after the admin enabled it again", _V1, "1.0", "enable"),
             # the helper reads a full copy in /etc instead of the package's unit
             ("upgrade after the admin copied the unit to /etc, wanted by more", _V1, "1.0",
              "copy")]
    roots = {who: _root(tmp_path / who, {}) for who in ("debhelper", "pydebvenv")}
    if systemctl:
        for root in roots.values():
            _with_systemctl(root)
    wants = "etc/systemd/system/multi-user.target.wants/app.service"
    for what, text, old, admin in steps:
        units = plan_units([svc(enable=enable, exec=None, unit_text=text)], [], FACTS)
        assert helper_links(units.files[0]) is not None  # the postinst decides by itself
        ours = service_scripts(units).units
        calls = {}
        for who, root in roots.items():
            _root(root, {"app.service": text})
            if admin == "disable":  # what `systemctl disable` does: every link goes
                for wants_dir in (root / "etc/systemd/system").glob("*.wants"):
                    (wants_dir / "app.service").unlink(missing_ok=True)  # dangling here
            elif admin == "enable":  # `systemctl enable`, with the first unit's WantedBy=
                (root / wants).parent.mkdir(parents=True, exist_ok=True)
                (root / wants).symlink_to("/lib/systemd/system/app.service")
            elif admin == "copy":
                (root / "etc/systemd/system/app.service").write_text(_V2)
            log = tmp_path / f"{who}.log"
            log.write_text("")
            code = _debhelper("app.service", enable) if who == "debhelper" else ours
            subprocess.run(["sh", "-e", "-c", code, "postinst", "configure", old],
                           env=_env(root, log, wrapper), check=True)
            calls[who] = log.read_text().splitlines()
        assert _tree(roots["pydebvenv"]) == _tree(roots["debhelper"]), what
        assert len(calls["pydebvenv"]) <= len(calls["debhelper"]), (what, calls)
        if what == "upgrade, nothing changed" or (what == "install" and enable):
            # a first install that enables writes the helper's state itself; an upgrade with
            # nothing to do has nothing to write: the helper is not run
            assert calls["pydebvenv"] == [], calls
    # and the admin's choices held: disabled by the admin stayed disabled until re-enabled
    assert (roots["pydebvenv"] / wants).is_symlink()


def test_a_timer_and_its_static_job_need_no_helper_call(helper: str, tmp_path: Path) -> None:
    units = plan_units([svc()], [timer(name="job")], FACTS)
    code = service_scripts(units).units
    root = _root(tmp_path / "root", {u.name: u.text for u in units.files})
    log = tmp_path / "calls.log"
    log.write_text("")
    env = _env(root, log, _wrapper(tmp_path))
    subprocess.run(["sh", "-e", "-c", code, "postinst", "configure", ""], env=env, check=True)
    assert log.read_text().splitlines() == []  # a first install: no helper at all
    assert (root / "etc/systemd/system/timers.target.wants/job.timer").is_symlink()
    state = root / "var/lib/systemd/deb-systemd-helper-enabled"
    assert (state / "job.timer.dsh-also").read_text() == (
        "/etc/systemd/system/timers.target.wants/job.timer\n")
    assert (state / "timers.target.wants/job.timer").read_text() == ""
    log.write_text("")
    subprocess.run(["sh", "-e", "-c", code, "postinst", "configure", "1.0"], env=env, check=True)
    assert log.read_text() == ""


def test_the_scripts_parse_with_dash() -> None:
    dash = shutil.which("dash")
    if dash is None:
        need("dash, Debian's /bin/sh, is not installed")
    units = plan_units([svc(), svc(1, name="two", enable=False, start=False)],
                       [timer(name="job")], FACTS)
    scripts = service_scripts(units)
    for code in (scripts.users, scripts.units, scripts.prerm, scripts.postrm):
        subprocess.run([dash, "-n", "-c", code], check=True)
