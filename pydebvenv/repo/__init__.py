"""Publishing an APT repository (a signed pool + dists tree that apt on every host trusts),
and what a deploy changes: the difference between two packages.

Knows the .deb format through :mod:`pydebvenv.debfile` only; nothing of the build side.
"""

from __future__ import annotations

from pydebvenv.repo.compare import DebDiff, diff
from pydebvenv.repo.publishing import PublishResult, publish
from pydebvenv.repo.show import format_diff, format_publish_result

__all__ = ["DebDiff", "PublishResult", "diff", "format_diff", "format_publish_result", "publish"]
