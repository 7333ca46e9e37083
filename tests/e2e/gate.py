"""When the e2e tests cannot run: skip on a developer machine, fail in CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["need"]


def need(reason: str) -> NoReturn:
    """Skip the test with `reason`, or fail it when CI is set: in CI the e2e tests are mandatory."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
