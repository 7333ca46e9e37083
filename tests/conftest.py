"""Suite-wide test setup: make `tests.support` importable however pytest is started."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `pytest` (unlike `python -m pytest`) does not put the repository on sys.path, and the tests
# import their helpers as `tests.support.*` / `tests.e2e.*`. (`pythonpath = ["."]` in
# [tool.pytest.ini_options] would do the same.)
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


@pytest.fixture(autouse=True, scope="session")
def _build_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Build environments and application wheels go to a directory of this test run.

    Shared by the tests of one run (a build environment is made once); never the user's
    ~/.cache/pydebvenv.  Tests of the caching itself pass their own directory.
    """
    saved = os.environ.get("PYDEBVENV_CACHE")
    os.environ["PYDEBVENV_CACHE"] = str(tmp_path_factory.mktemp("pydebvenv-cache"))
    yield
    if saved is None:
        os.environ.pop("PYDEBVENV_CACHE", None)
    else:
        os.environ["PYDEBVENV_CACHE"] = saved
