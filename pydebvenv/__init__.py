"""pydebvenv: build a Debian package carrying a Python application in a virtualenv, on any OS.

    import pydebvenv
    deb = pydebvenv.build("path/to/project", output_dir="dist", target="debian-12", arch="amd64")
    deb = pydebvenv.build(from_=["httpie==3.2.4"], output_dir="dist", target="debian-12")

The public face: ``build()``, ``fetch()``, ``inspect()``, ``publish()``, ``diff()`` and the
error classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydebvenv.errors import (
    ArchiveError,
    BuildError,
    ConfigError,
    FetchError,
    InspectError,
    PublishError,
    PydebvenvError,
    ResolutionError,
    TargetError,
    WheelError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pydebvenv.debfile.reader import DebInfo
    from pydebvenv.repo.compare import DebDiff
    from pydebvenv.repo.publishing import PublishResult
    from pydebvenv.wheels.lock import Lock

__version__ = "0.1.0"

__all__ = [
    "ArchiveError",
    "BuildError",
    "ConfigError",
    "FetchError",
    "InspectError",
    "PublishError",
    "PydebvenvError",
    "ResolutionError",
    "TargetError",
    "WheelError",
    "__version__",
    "build",
    "diff",
    "fetch",
    "inspect",
    "publish",
]


def build(project_dir: str | Path | None = None, **options: Any) -> Path:
    """Build the project's .deb (``from_=[...]``: a published distribution's); see
    :func:`pydebvenv.builder.build` for the options."""
    from pydebvenv.builder import build as _build

    return _build(project_dir, **options)


def fetch(project_dir: str | Path | None = None, **options: Any) -> Lock:
    """Fill the wheel cache for the target; see :func:`pydebvenv.acquire.fetch.fetch`."""
    from pydebvenv.acquire.fetch import fetch as _fetch

    return _fetch(project_dir, **options)


def inspect(path: str | Path) -> DebInfo:
    """Read a .deb back and verify it; raises InspectError when it is not sound.

    ``DebInfo.contents`` holds the bundled list(s), ``usr/share/doc/<package>/pylock.toml``
    (read them with :func:`pydebvenv.debian.bom.read_bundled`).
    """
    from pathlib import Path as _Path

    from pydebvenv.debfile.reader import read_deb
    from pydebvenv.debian.bom import is_bundled_list

    return read_deb(_Path(path), keep=is_bundled_list)


def publish(repo_dir: str | Path, debs: Sequence[str | Path], **options: Any) -> PublishResult:
    """Add ``debs`` to the signed APT repository in ``repo_dir``; see
    :func:`pydebvenv.repo.publishing.publish` for the options (suite, component, sign_key, ...)."""
    from pydebvenv.repo.publishing import publish as _publish

    return _publish(repo_dir, debs, **options)


def diff(old: str | Path, new: str | Path) -> DebDiff:
    """What installing ``new`` over ``old`` changes; see :func:`pydebvenv.repo.compare.diff`."""
    from pydebvenv.repo.compare import diff as _diff

    return _diff(old, new)
