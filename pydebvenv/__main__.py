"""``python -m pydebvenv``: the same command line as the ``pydebvenv`` script."""

from __future__ import annotations

import sys

from pydebvenv.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
