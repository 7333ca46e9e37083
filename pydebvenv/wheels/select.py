"""Choosing among the cached wheels of one distribution for a target: tags, versions, Python.

Everything is decided by the Target (its tags, its PEP 508 environment and its Python
version); the build host is never consulted.  Specs: wheel tags (PEP 425, PEP 600),
markers (PEP 508), Requires-Python (core metadata), pre-releases (PEP 440), build tags
(PEP 427).  The closure over many requirements is resolve.py's.
"""

from __future__ import annotations

import email.message
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, parse_wheel_filename
from packaging.version import Version

from pydebvenv.errors import ResolutionError, WheelError
from pydebvenv.wheels.cache import read_metadata

__all__ = ["Platform", "Selector"]


class Platform(Protocol):
    """The interpreter wheels are chosen for: a Target, or the build host's own Python.

    The host's Python only ever matters for the application's build backend, which runs on
    the host (acquire/buildenv.py); everything that goes into the package uses a Target.
    """

    @property
    def name(self) -> str: ...
    @property
    def python_full_version(self) -> str: ...
    def tags(self) -> list[Tag]: ...
    def marker_environment(self) -> dict[str, str]: ...


class _Wheel(Protocol):
    """What selection needs of a wheel (CachedWheel, or a scan result not hashed yet)."""

    @property
    def path(self) -> Path: ...
    @property
    def name(self) -> NormalizedName: ...
    @property
    def version(self) -> Version: ...
    @property
    def tags(self) -> frozenset[Tag]: ...


_W = TypeVar("_W", bound=_Wheel)


class Selector:
    """Selection for one target, with the wheel metadata it has read so far."""

    def __init__(self, target: Platform) -> None:
        self.target = target
        self.env: dict[str, str] = dict(target.marker_environment())
        self.ranks: Mapping[Tag, int] = {tag: i for i, tag in enumerate(target.tags())}
        self._metadata: dict[Path, email.message.Message] = {}

    def metadata(self, wheel: _Wheel) -> email.message.Message:
        if wheel.path not in self._metadata:
            self._metadata[wheel.path] = read_metadata(wheel.path, wheel.name)
        return self._metadata[wheel.path]

    def rank(self, wheel: _Wheel) -> int | None:
        """Position of the wheel's best tag in the target's tags; None if none fits."""
        ranks = [self.ranks[tag] for tag in wheel.tags if tag in self.ranks]
        return min(ranks) if ranks else None

    def applies(self, requirement: Requirement, extra: str) -> bool:
        """Whether the requirement's marker holds on the target (with ``extra`` requested)."""
        if requirement.marker is None:
            return True
        # evaluate() merges this over the HOST's default environment: pass every key
        try:
            return requirement.marker.evaluate({**self.env, "extra": extra})
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
            raise ResolutionError(
                f"cannot evaluate the marker of {str(requirement)!r} for {self.target.name}: "
                f"{exc}; fix or remove the marker"
            ) from exc

    def python_ok(self, wheel: _Wheel) -> bool:
        requires_python = self.metadata(wheel).get("Requires-Python")
        if not requires_python:
            return True
        try:
            spec = SpecifierSet(str(requires_python))
        except InvalidSpecifier as exc:
            raise WheelError(
                f"wheel {wheel.path.name!r} has an invalid Requires-Python "
                f"{requires_python!r}; rebuild or remove it"
            ) from exc
        return spec.contains(self.target.python_full_version, prereleases=True)

    def pick(
        self, candidates: Sequence[_W], specifier: SpecifierSet, *, prereleases: bool = False
    ) -> _W | None:
        # PEP 440: pre-releases only when asked for; packaging >= 26 would otherwise
        # accept them in contains(), so the flag is always passed explicitly.
        allow_pre = prereleases or bool(specifier.prereleases)
        fitting = [
            (c, rank)
            for c in candidates
            if (rank := self.rank(c)) is not None
            and specifier.contains(c.version, prereleases=allow_pre)
        ]
        # best first: highest version, then best tag, then highest build tag (PEP 427),
        # then the file name; stable sorts applied from the least significant key
        fitting.sort(key=lambda cr: cr[0].path.name)
        fitting.sort(key=lambda cr: _build_tag(cr[0].path), reverse=True)
        fitting.sort(key=lambda cr: cr[1])
        fitting.sort(key=lambda cr: cr[0].version, reverse=True)
        for candidate, _rank in fitting:
            if self.python_ok(candidate):
                return candidate
        return None


def _build_tag(path: Path) -> tuple[int, str]:
    build = parse_wheel_filename(path.name)[2]
    return build if build else (-1, "")  # no build tag sorts below every build tag
