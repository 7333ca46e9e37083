"""The target this test host can stand for, for the few tests that compare with the host itself.

pydebvenv never asks the host what the target is; these tests do the reverse on purpose:
they check the target table, compiled wheels or pycs against a real interpreter, so they
need the target whose Python X.Y (or /usr/bin/python3.X) and CPU this host has.  Nothing
assumes Debian 12 or CPython 3.11: on a Debian 13 host the same tests use debian-13.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from pydebvenv.errors import TargetError
from pydebvenv.target import RELEASES, Target, get_target, host_facts
from tests.support.gate import need

__all__ = ["running_python_target", "system_python_target"]


def _host_arch() -> str:
    try:
        return get_target("debian-12", None).arch.name  # the host's CPU in Debian's name
    except TargetError:
        need(f"this host's CPU {platform.machine()!r} has no Debian architecture")


def running_python_target() -> Target:
    """The target whose CPython X.Y is the one running the tests, on this CPU (the host's own
    release first, when several releases share the X.Y)."""
    arch = _host_arch()
    host = host_facts().release
    rows = sorted(RELEASES.values(), key=lambda r: r.name != host)
    for row in rows:
        if sys.implementation.name == "cpython" and row.python_version == sys.version_info[:2] \
                and arch in row.archs:
            return get_target(row.name, arch)
    need(f"no target in the table runs CPython {sys.version_info[0]}.{sys.version_info[1]}")


def system_python_target() -> Target:
    """The target whose interpreter (/usr/bin/python3.X) this host has, on this CPU (the
    host's own release first)."""
    arch = _host_arch()
    host = host_facts().release
    for row in sorted(RELEASES.values(), key=lambda r: r.name != host):
        target = get_target(row.name, arch) if arch in row.archs else None
        if target is not None and Path(target.interpreter).exists():
            return target
    need("no /usr/bin/python3.X of a release in the target table: apt-get install python3")
