"""The e2e wheel cache: real wheels from the default index for every target the tests build."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.chroots import cache_lock
from tests.support.isolation import isolated_pip_env

__all__ = ["BACKEND", "TARGETS", "WheelTarget", "fill_wheel_cache", "manylinux_platforms",
           "use_only_the_cache"]

# The PEP 517 build backends the tests build with, for the host: `build` installs them (and
# their own dependencies, which pip downloads alongside, e.g. hatchling's packaging, pathspec,
# pluggy and trove-classifiers) into its isolated environment.  flit_core builds the examples;
# the others are the common backends test_backends.py proves offline builds with.
BACKEND: tuple[str, ...] = (
    "flit_core>=3.12,<4",
    # 70.1 ships bdist_wheel itself: its build_meta no longer asks for `wheel`
    "setuptools>=70.1",
    "hatchling>=1.26",
    "pdm-backend>=2.4",
    "poetry-core>=2",
)


@dataclass(frozen=True, slots=True)
class WheelTarget:
    """One (CPython, glibc, machine) combination whose wheels the tests need."""

    python: str  # "3.11"
    glibc: tuple[int, int]  # the release's glibc: the newest manylinux_2_X it can run
    machine: str  # "x86_64" / "aarch64"


TARGETS: tuple[WheelTarget, ...] = (
    WheelTarget("3.11", (2, 36), "x86_64"),  # debian-12 amd64
    WheelTarget("3.11", (2, 36), "aarch64"),  # debian-12 arm64
    WheelTarget("3.13", (2, 41), "x86_64"),  # debian-13 amd64
    WheelTarget("3.13", (2, 41), "aarch64"),  # debian-13 arm64
)


def manylinux_platforms(glibc: tuple[int, int], machine: str) -> list[str]:
    """Every manylinux platform tag the target accepts, best first (PEP 600).

    pip expands only the legacy aliases, so each `manylinux_2_X` is passed on its own
    (docs/wheels.md, "What pip download does not adapt").  aarch64 has no manylinux before 2_17 (manylinux2014).
    """
    floor = 5 if machine in ("x86_64", "i686") else 17
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(glibc[1], floor - 1, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{name}_{machine}" for minor, name in legacy.items() if minor >= floor]
    return tags


def _key(requirement_files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in requirement_files:
        digest.update(path.read_bytes())
    digest.update(repr((TARGETS, BACKEND)).encode())
    return digest.hexdigest()[:16]


def _pip(args: list[str]) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", *args]
    proc = subprocess.run(cmd, env=isolated_pip_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"pip download failed: {cmd!r}\n{proc.stdout}\n{proc.stderr}")


def fill_wheel_cache(cache: Path, requirement_files: Sequence[Path]) -> Path:
    """Fill `cache` once with the wheels for every target and the build backends; return it.

    A stamp file named after the requirement files' hash marks a complete fill, so a change
    to a requirements file (or an interrupted run) fills again; pip skips files it has.
    """
    with cache_lock("wheels"):
        return _fill(cache, requirement_files)


def _fill(cache: Path, requirement_files: Sequence[Path]) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    stamp = cache / f".filled-{_key(requirement_files)}"
    if stamp.exists():
        return cache
    for target in TARGETS:
        abi = "cp" + target.python.replace(".", "")
        args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", target.python]
        args += ["--abi", abi, "--abi", "abi3", "--abi", "none"]
        for platform in manylinux_platforms(target.glibc, target.machine):
            args += ["--platform", platform]
        # one pip per file: a file with --hash lines puts pip in hash-checking mode, which
        # would then want a hash for every requirement of the other files too
        for path in requirement_files:
            _pip([*args, "-d", str(cache), "-r", str(path)])
    # the backends for the host interpreter: `build` installs them into its isolated environment
    _pip(["--only-binary=:all:", "-d", str(cache), *BACKEND])
    for old in cache.glob(".filled-*"):
        old.unlink()
    stamp.write_text(os.linesep.join(sorted(p.name for p in cache.glob("*.whl"))) + "\n")
    return cache


def use_only_the_cache(patch: pytest.MonkeyPatch, wheel_cache: Path) -> None:
    """pip sees the wheel cache and nothing else: no index, no machine configuration."""
    for key in list(os.environ):
        if key.startswith("PIP_"):
            patch.delenv(key)
    patch.setenv("PIP_CONFIG_FILE", os.devnull)
    patch.setenv("PIP_NO_INDEX", "1")
    patch.setenv("PIP_FIND_LINKS", str(wheel_cache))
    patch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
