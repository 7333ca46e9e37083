"""Publishing an APT repository: a signed pool + dists tree that apt on every host trusts.

Knows the .deb format through :mod:`pydebvenv.debfile` only; nothing of the build side.
"""

from __future__ import annotations

from pydebvenv.repo.publishing import PublishResult, publish
from pydebvenv.repo.show import format_publish_result

__all__ = ["PublishResult", "format_publish_result", "publish"]
