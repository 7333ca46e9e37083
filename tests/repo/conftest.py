"""Fixtures for the publishing tests: throwaway signing keys, a repository checker."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support.gate import need
from tests.support.gpgkey import GpgKey, gpg_home


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[GpgKey]]:
    """Two signing keys in a fresh GNUPGHOME, which is set for the test (publish reads it)."""
    if shutil.which("gpg") is None:
        need("the publishing tests need gpg (apt-get install gpg)")
    with gpg_home("Repository <repo@example.org>", "Someone Else <other@example.org>") as made:
        monkeypatch.setenv("GNUPGHOME", str(made[0]))
        yield made[1]
