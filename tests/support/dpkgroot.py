"""Throwaway dpkg databases: real dpkg installs into a directory, scripts run chrootless."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["dpkg", "make_dpkg_root"]


def make_dpkg_root(root: Path) -> Path:
    """An empty dpkg database under ``root`` (dpkg(1) --root: the admin directory is
    ``<root>/var/lib/dpkg``); returns ``root``."""
    for sub in ("info", "updates", "triggers"):
        (root / "var/lib/dpkg" / sub).mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("")
    return root


def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run dpkg on a throwaway root; scripts run on the host with DPKG_ROOT set."""
    cmd = ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-not-root",
           "--force-depends", "--log=/dev/null", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result
