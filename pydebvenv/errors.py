"""The one error hierarchy: every failure pydebvenv reports is a PydebvenvError.

The CLI turns any of these into one line and an exit code; anything else is a bug
and keeps its traceback.  Messages say what went wrong, quote the value with
``{value!r}`` and say how to fix it.
"""

from __future__ import annotations

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
]


class PydebvenvError(Exception):
    """Base class of every error pydebvenv raises on bad input or a failed build."""

    #: process exit code the CLI uses: 1 = build failed, 2 = usage or configuration error
    exit_code = 1


class ConfigError(PydebvenvError):
    """pyproject.toml, [tool.pydebvenv], a requirements file or an argument is wrong."""

    exit_code = 2


class TargetError(ConfigError):
    """An unknown target release, architecture or a combination that does not exist."""


class ArchiveError(PydebvenvError):
    """The entries or control data cannot be written as a valid .deb."""


class InspectError(PydebvenvError):
    """A .deb file is truncated, corrupt, hostile or not a Debian package."""


class WheelError(PydebvenvError):
    """A wheel is malformed, unsafe (paths escaping the venv) or fails its RECORD hashes."""


class ResolutionError(PydebvenvError):
    """Requirements cannot be satisfied from the wheel cache for the target."""


class FetchError(PydebvenvError):
    """Downloading wheels for the target failed (index unreachable, hash mismatch, sdist...)."""


class BuildError(PydebvenvError):
    """Building the application's own wheel failed, or it cannot work on the target."""


class PublishError(PydebvenvError):
    """Publishing into an APT repository failed: a conflicting file, gpg or its key missing."""
