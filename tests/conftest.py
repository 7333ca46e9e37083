"""Suite-wide test setup: make `tests.support` importable however pytest is started."""

from __future__ import annotations

import sys
from pathlib import Path

# `pytest` (unlike `python -m pytest`) does not put the repository on sys.path, and the tests
# import their helpers as `tests.support.*` / `tests.e2e.*`. (`pythonpath = ["."]` in
# [tool.pytest.ini_options] would do the same.)
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
