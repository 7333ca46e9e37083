"""Fixtures for the .deb writer tests: golden files and throwaway dpkg roots."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.dpkgroot import make_dpkg_root

GOLDEN = Path(__file__).parent / "golden"
#: PYDEBVENV_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing with them.
UPDATE = os.environ.get("PYDEBVENV_UPDATE_GOLDEN") == "1"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare text with tests/debfile/golden/<name>; rewrite it when the switch is on."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; run with PYDEBVENV_UPDATE_GOLDEN=1"
        assert text == path.read_text(encoding="utf-8"), f"differs from golden {path}"

    return check


@pytest.fixture
def dpkg_root(tmp_path: Path) -> Path:
    """An empty dpkg database under tmp_path/root (docs/deb-format.md, "Testing with dpkg --root")."""
    return make_dpkg_root(tmp_path / "root")
