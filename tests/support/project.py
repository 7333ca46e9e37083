"""A project with a [tool.pydebvenv] table, and an offline build of it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydebvenv
from tests.support import backend

__all__ = ["offline_build", "write_project"]


def write_project(directory: Path, *, name: str = "safeapp", version: str = "1.0",
                  dependencies: Sequence[str] = (), tool: str = "",
                  description: str = "a test application") -> Path:
    """backend.write_project's project, with ``tool`` as the body of [tool.pydebvenv]."""
    backend.write_project(directory, name, version, list(dependencies),
                          description=description)
    with (directory / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write(f"\n[tool.pydebvenv]\n{tool}\n")
    return directory


def offline_build(project: Path, out: Path, cache: Path, **options: Any) -> Path:
    """pydebvenv.build() for debian-12/amd64 from the wheel cache only (no index, no network)."""
    options.setdefault("target", "debian-12")
    options.setdefault("arch", "amd64")
    options.setdefault("compression", "gzip")
    return pydebvenv.build(project, output_dir=out, offline=True, wheel_cache=cache, **options)
