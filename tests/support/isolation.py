"""Run pip and friends with a configuration the machine cannot change.

This machine (and CI's) has its own pip configuration: extra indexes, find-links
and constraints.  Tests must not depend on it, so every subprocess that runs pip
gets this environment.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["isolate_process", "isolated_pip_env"]


def isolated_pip_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment with every PIP_* variable removed and no config files."""
    env = {k: v for k, v in (base or os.environ).items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # pip reads no global, user or site file
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    # keep the CA bundle: it is not configuration, and HTTPS to PyPI needs it
    if "PIP_CERT" in (base or os.environ):
        env["SSL_CERT_FILE"] = (base or os.environ)["PIP_CERT"]
    return env


def isolate_process(monkeypatch: pytest.MonkeyPatch, cache_dir: Path, **extra: str) -> None:
    """Make this process's environment the isolated one (every pip it starts inherits it),
    with its own pip cache in ``cache_dir`` (no stale answers between tests) and ``extra``
    variables; the rest of the environment is dropped for the test."""
    env = isolated_pip_env()
    env["PIP_CACHE_DIR"] = str(cache_dir)
    env.update(extra)
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
