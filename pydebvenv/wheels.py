"""The wheel cache: scan it, read and verify its wheels, choose the best wheel for a target.

Everything is decided by the Target (its tags, its PEP 508 environment and its
Python version); the build host's platform and interpreter are never consulted.
Specs: wheel file names and tags (PEP 427, PEP 425, PEP 600), markers (PEP 508),
Requires-Python (core metadata), pre-releases (PEP 440), RECORD (PEP 376/427).
The closure of many requirements is resolve.py's.
"""

from __future__ import annotations

import email.message
import email.parser
import hashlib
import os
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from .errors import ResolutionError, WheelError
from .requirements import RequirementSpec

if TYPE_CHECKING:
    from .target import Target

__all__ = [
    "CachedWheel",
    "FoundWheel",
    "Selector",
    "default_wheel_cache",
    "file_sha256",
    "find_wheels",
    "read_wheel_metadata",
    "scan_cache",
    "select_wheel",
    "verify_record",
]


def default_wheel_cache() -> Path:
    """The per-user wheel cache: $PYDEBVENV_WHEEL_CACHE, else the XDG cache directory."""
    explicit = os.environ.get("PYDEBVENV_WHEEL_CACHE")
    if explicit:
        return Path(explicit)
    # XDG Base Directory spec: a relative $XDG_CACHE_HOME is invalid and must be ignored
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "pydebvenv" / "wheels"


@dataclass(frozen=True, slots=True)
class CachedWheel:
    """A wheel file, its parsed name and tags, and its sha256 (hex)."""

    path: Path
    name: NormalizedName
    version: Version
    tags: frozenset[Tag]
    sha256: str
    requested: bool = False  # a top-level requirement or a local wheel (REQUESTED, PEP 376)

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def is_pure(self) -> bool:
        return all(tag.platform == "any" for tag in self.tags)

    def metadata(self) -> email.message.Message:
        """The wheel's ``.dist-info/METADATA`` (core metadata, an RFC 822 style message)."""
        return _read_metadata(self.path, self.name)


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


@dataclass(frozen=True, slots=True)
class FoundWheel:
    """A wheel file found in the cache; hashed only if it is chosen or hash-pinned."""

    path: Path
    name: NormalizedName
    version: Version
    tags: frozenset[Tag]


def scan_cache(cache: Path) -> list[CachedWheel]:
    """Every wheel in ``cache`` (and its subdirectories), sorted by name, version and file."""
    return [
        CachedWheel(f.path, f.name, f.version, f.tags, file_sha256(f.path))
        for f in find_wheels(cache)
    ]


def find_wheels(cache: Path) -> list[FoundWheel]:
    """The wheels scan_cache() finds, not hashed yet, in the same order."""
    found: dict[str, FoundWheel] = {}
    if not cache.is_dir():
        return []
    for path in sorted(cache.rglob("*.whl")):
        relative = path.relative_to(cache).parts
        # hidden names (a fetch's ".fetch-*" staging area) and .part/.tmp names are
        # downloads in progress, never wheels to choose
        if any(_in_progress(part) for part in relative):
            continue
        if path.name in found or not path.is_file():
            continue  # the same file in two subdirectories: the first in sorted order wins
        try:
            name, version, _build, tags = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue  # not a wheel pip or fetch could have written: ignore, like pip's cache
        found[path.name] = FoundWheel(path, name, version, tags)
    return sorted(found.values(), key=lambda f: (f.name, f.version, f.path.name))


def _in_progress(name: str) -> bool:
    return (
        name.startswith(".")
        or name.endswith((".part", ".tmp"))
        or ".part." in name
        or ".tmp." in name
    )


def select_wheel(
    candidates: Iterable[CachedWheel],
    requirement: Requirement,
    target: Target,
    *,
    constraints: Sequence[RequirementSpec] = (),
) -> CachedWheel | None:
    """The best wheel for ``requirement`` on ``target``, or None.

    Highest version satisfying the specifier (and the constraints whose marker holds
    for the target); pre-releases only when a specifier names one; the wheel's
    Requires-Python must accept the target's Python; among that version's wheels the
    one whose best tag ranks highest in ``target.tags()`` (then the highest build tag).
    """
    selector = Selector(target)
    name = canonicalize_name(requirement.name)
    specifier = requirement.specifier
    for constraint in constraints:
        if canonicalize_name(constraint.requirement.name) == name and selector.applies(
            constraint.requirement, ""
        ):
            specifier &= constraint.requirement.specifier
    return selector.pick([c for c in candidates if c.name == name], specifier)


# --- selection ---------------------------------------------------------------------------


class Selector:
    """Selection for one target, with the wheel metadata it has read so far."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.env: dict[str, str] = dict(target.marker_environment())
        self.ranks: Mapping[Tag, int] = {tag: i for i, tag in enumerate(target.tags())}
        self._metadata: dict[Path, email.message.Message] = {}

    def metadata(self, wheel: _Wheel) -> email.message.Message:
        if wheel.path not in self._metadata:
            self._metadata[wheel.path] = _read_metadata(wheel.path, wheel.name)
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


# --- reading wheels ----------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """The sha256 of a file (hex), read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_wheel_metadata(path: Path) -> email.message.Message:
    """The core metadata (``.dist-info/METADATA``) of any wheel file, e.g. the app's own."""
    try:
        name = parse_wheel_filename(Path(path).name)[0]
    except InvalidWheelFilename as exc:
        raise WheelError(f"{str(path)!r} is not a wheel file name: {exc}") from exc
    return _read_metadata(Path(path), name)


def _read_metadata(path: Path, name: NormalizedName) -> email.message.Message:
    """METADATA of the wheel's one ``{name}-{version}.dist-info`` directory."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {
                member.split("/", 1)[0]
                for member in archive.namelist()
                if member.split("/", 1)[0].endswith(".dist-info")
            }
            # the directory's name part may be spelled differently (case, "_" vs "-")
            matching = [
                d for d in infos if canonicalize_name(d.rsplit("-", 2)[0]) == name
            ]  # "{name}-{version}.dist-info": the version holds no "-"
            if len(matching) != 1:
                raise WheelError(
                    f"wheel {path.name!r} has no single .dist-info directory for {name!r} "
                    f"(found {sorted(infos)!r}); it is not a valid wheel, remove it"
                )
            data = archive.read(f"{matching[0]}/METADATA")
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise WheelError(
            f"cannot read the metadata of wheel {str(path)!r}: {exc}; remove it and fetch again"
        ) from exc
    return email.parser.BytesParser().parsebytes(data)


def verify_record(path: Path) -> None:
    """Check every member against RECORD (PEP 427/RECORD spec) via pypa/installer."""
    from installer.sources import WheelFile  # imported here: only resolve.resolve() needs it

    try:
        with WheelFile.open(path) as source:
            source.validate_record(validate_contents=True)
    except WheelFile.validation_error as exc:
        issues = [str(i).removeprefix(f"In {path}, ") for i in getattr(exc, "issues", [exc])]
        more = f" (and {len(issues) - 1} more issues)" if len(issues) > 1 else ""
        raise WheelError(
            f"wheel {path.name!r} fails its RECORD: {issues[0]}{more}; the file is corrupt "
            "or was modified: delete it and fetch it again"
        ) from exc
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise WheelError(
            f"cannot verify wheel {str(path)!r}: {exc}; delete it and fetch it again"
        ) from exc
