"""The extended description when the application has none: what the package bundles, in words.

An empty extended description is lintian's extended-description-is-empty (an error), and a
readme-less wrapper or a published tool without a long description has none; this text is
made from what the package holds instead (docs/metadata.md).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

__all__ = ["bundle_description"]

# Policy 3.4: extended description lines fit 80 columns, with their leading space
_WIDTH = 78


def bundle_description(dist: str, version: str, bundled: Sequence[str], venv: str,
                       interpreter_package: str, commands: Sequence[str]) -> str:
    """Paragraphs (separated by a blank line) saying what the package ships: the
    distribution ``dist`` with the ``bundled`` ones it needs, where the venv is, the
    interpreter it runs on and the commands it links into /usr/bin."""
    if bundled:
        plural = "s" if len(bundled) > 1 else ""
        needs = (f" and the {len(bundled)} Python distribution{plural} it needs "
                 f"({', '.join(bundled)})")
    else:
        needs = ""
    first = (f"This package ships {dist} {version}{needs} in a virtualenv under {venv}, "
             f"run by the system's {interpreter_package}.")
    paragraphs = [first]
    if commands:
        paragraphs.append(f"Commands: {', '.join(commands)}.")
    return "\n\n".join(textwrap.fill(p, width=_WIDTH, break_on_hyphens=False)
                       for p in paragraphs)
