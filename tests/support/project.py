"""A small application project built by the in-tree test backend, and an offline build of it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydebvenv
from tests.support.backend import BACKEND

__all__ = ["offline_build", "write_project"]


def write_project(directory: Path, *, name: str = "safeapp", version: str = "1.0",
                  dependencies: Sequence[str] = (), tool: str = "",
                  description: str = "a test application") -> Path:
    """``directory`` holding pyproject.toml (``tool`` is the body of [tool.pydebvenv]) and the
    backend that builds the application's wheel; returns ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "backend.py").write_text(BACKEND)
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        f"[project]\nname = {json.dumps(name)}\nversion = {json.dumps(version)}\n"
        f"description = {json.dumps(description)}\n"
        f"dependencies = {json.dumps(list(dependencies))}\n"
        'maintainers = [{name = "T", email = "t@example.org"}]\n\n'
        f"[tool.pydebvenv]\n{tool}\n",
        encoding="utf-8",
    )
    return directory


def offline_build(project: Path, out: Path, cache: Path, **options: Any) -> Path:
    """pydebvenv.build() for debian-12/amd64 from the wheel cache only (no index, no network)."""
    options.setdefault("target", "debian-12")
    options.setdefault("arch", "amd64")
    options.setdefault("compression", "gzip")
    return pydebvenv.build(project, output_dir=out, offline=True, wheel_cache=cache, **options)
