"""Fixtures for the safety tests: offline builds from a wheel cache the test makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.wheelmaker import make_wheel


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # the application's wheel is built by the in-tree backend: pip must never reach an index
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A wheel cache with one dependency, ``dep-one``."""
    directory = tmp_path / "cache"
    directory.mkdir()
    make_wheel(directory, "dep-one", "1.0")
    return directory
