"""The wheel cache: scan it, choose the best wheel for a target, resolve the closure.

Everything is decided by the Target (its tags, its PEP 508 environment and its
Python version); the build host's platform and interpreter are never consulted.
Specs: wheel file names and tags (PEP 427, PEP 425, PEP 600), markers (PEP 508),
Requires-Python and Requires-Dist (core metadata), pre-releases (PEP 440).
"""

from __future__ import annotations

import email.message
import email.parser
import hashlib
import os
import zipfile
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
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
    "HashError",
    "Resolution",
    "default_wheel_cache",
    "read_wheel_metadata",
    "resolve",
    "scan_cache",
    "select_wheel",
]

# A resolution that has not settled after this many rounds is oscillating between versions.
_MAX_ROUNDS = 50
# How many target tags an error message shows before "... and N more".
_TAGS_SHOWN = 4


class HashError(ResolutionError):
    """A --hash pinned requirement has no wheel in the cache with one of its hashes.

    A ResolutionError: fetching the pinned file (pip checks the hash) can fix it.
    """


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


@dataclass(frozen=True, slots=True)
class Resolution:
    """The wheels that make up the venv, sorted by name."""

    wheels: tuple[CachedWheel, ...]


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
class _Found:
    """A wheel file found in the cache; hashed only if it is chosen or hash-pinned."""

    path: Path
    name: NormalizedName
    version: Version
    tags: frozenset[Tag]


def scan_cache(cache: Path) -> list[CachedWheel]:
    """Every wheel in ``cache`` (and its subdirectories), sorted by name, version and file."""
    return [CachedWheel(f.path, f.name, f.version, f.tags, _sha256(f.path)) for f in _scan(cache)]


def _scan(cache: Path) -> list[_Found]:
    found: dict[str, _Found] = {}
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
        found[path.name] = _Found(path, name, version, tags)
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
    selector = _Selector(target)
    name = canonicalize_name(requirement.name)
    specifier = requirement.specifier
    for constraint in constraints:
        if canonicalize_name(constraint.requirement.name) == name and selector.applies(
            constraint.requirement, ""
        ):
            specifier &= constraint.requirement.specifier
    return selector.pick([c for c in candidates if c.name == name], specifier)


def resolve(
    requirements: Sequence[RequirementSpec],
    cache: Path,
    target: Target,
    *,
    local_wheels: Sequence[Path] = (),
    constraints: Sequence[RequirementSpec] = (),
) -> Resolution:
    """The closure of ``requirements`` (and the local wheels' Requires-Dist) for ``target``.

    Raises HashError when a --hash pin matches no cached wheel, ResolutionError
    listing every missing or conflicting requirement at once, and WheelError when a
    chosen wheel fails its RECORD.
    """
    resolver = _Resolver(_Selector(target), cache, requirements, local_wheels, constraints)
    wheels = resolver.run()
    for wheel in wheels:
        _verify_record(wheel.path)
    return Resolution(tuple(wheels))


# --- selection ---------------------------------------------------------------------------


class _Selector:
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

    def explain(self, candidates: Sequence[_Wheel], specifier: SpecifierSet) -> str:
        """Why nothing in ``candidates`` was picked: the fix is in this text."""
        if not candidates:
            return "no wheel of that name in the cache"
        fits = [c for c in candidates if self.rank(c) is not None]
        if not fits:
            names = sorted(c.path.name for c in candidates)
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            return f"no cached wheel has a tag for {self.target.name}: {shown}"
        too_new = [c for c in fits if specifier.contains(c.version, prereleases=True)]
        too_new = [c for c in too_new if not self.python_ok(c)]
        if too_new:
            best = max(too_new, key=lambda c: c.version)
            return (
                f"{best.name} {best.version} requires Python "
                f"{str(self.metadata(best).get('Requires-Python'))!r} "
                f"and {self.target.name} has {self.target.python_full_version}"
            )
        versions = sorted({c.version for c in fits})
        return f"versions cached for {self.target.name}: {', '.join(map(str, versions))}"

    def tags_tried(self) -> str:
        tags = list(self.ranks)
        shown = ", ".join(str(t) for t in tags[:_TAGS_SHOWN])
        return (
            f"tags tried for {self.target.name} (CPython {self.target.python_full_version}): "
            f"{shown}, ... and {len(tags) - _TAGS_SHOWN} more"
        )


def _build_tag(path: Path) -> tuple[int, str]:
    build = parse_wheel_filename(path.name)[2]
    return build if build else (-1, "")  # no build tag sorts below every build tag


# --- resolution --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Demand:
    requirement: Requirement
    requirer: str  # "requirements.txt:3", "flask 3.0.0", "local wheel app-1.0-py3-none-any.whl"


class _Resolver:
    """A deterministic fixed-point resolver over the cached wheels (no backtracking)."""

    def __init__(
        self,
        selector: _Selector,
        cache: Path,
        requirements: Sequence[RequirementSpec],
        local_wheels: Sequence[Path],
        constraints: Sequence[RequirementSpec],
    ) -> None:
        self.selector = selector
        self.cache = cache
        self.candidates: dict[NormalizedName, list[_Found]] = {}
        for found in _scan(cache):
            self.candidates.setdefault(found.name, []).append(found)
        self.local: dict[NormalizedName, _Found] = {}
        self.roots: list[_Demand] = []
        for path in local_wheels:
            self._add_local(Path(path))
        self.requested: set[NormalizedName] = set(self.local)
        for spec in requirements:
            if selector.applies(spec.requirement, ""):
                self.roots.append(_Demand(spec.requirement, spec.source))
                self.requested.add(canonicalize_name(spec.requirement.name))
        self.constraints: dict[NormalizedName, list[_Demand]] = {}
        self.pins: dict[NormalizedName, tuple[frozenset[str], list[str]]] = {}
        tagged = [(s, False) for s in requirements] + [(s, True) for s in constraints]
        for spec, is_constraint in tagged:
            if not selector.applies(spec.requirement, ""):
                continue
            name = canonicalize_name(spec.requirement.name)
            if is_constraint:
                self.constraints.setdefault(name, []).append(_Demand(spec.requirement, spec.source))
            if spec.hashes:
                # a second pin for the same name narrows the allowed set, as pip does
                if name in self.pins:
                    hashes, sources = self.pins[name]
                    self.pins[name] = (hashes & spec.hashes, [*sources, spec.source])
                else:
                    self.pins[name] = (spec.hashes, [spec.source])
        self._sha: dict[Path, str] = {}
        self._requires: dict[Path, list[Requirement]] = {}

    def _add_local(self, path: Path) -> None:
        try:
            name, version, _build, tags = parse_wheel_filename(path.name)
        except InvalidWheelFilename as exc:
            raise WheelError(f"local wheel {str(path)!r} has an invalid name: {exc}") from exc
        if not path.is_file():
            raise WheelError(f"local wheel {str(path)!r} does not exist; build it first")
        if name in self.local:
            raise WheelError(
                f"two local wheels for {name!r}: {self.local[name].path.name!r} and "
                f"{path.name!r}; pass one"
            )
        # the application's own wheel replaces any cached copy of the same name
        self.local[name] = found = _Found(path, name, version, tags)
        self.candidates[name] = [found]
        self.roots.append(_Demand(Requirement(f"{name}=={version}"), f"local wheel {path.name}"))

    def sha256(self, wheel: _Wheel) -> str:
        if wheel.path not in self._sha:
            self._sha[wheel.path] = _sha256(wheel.path)
        return self._sha[wheel.path]

    def specifier(self, name: NormalizedName, demands: Sequence[_Demand]) -> SpecifierSet:
        spec = SpecifierSet()
        for demand in (*demands, *self.constraints.get(name, ())):
            spec &= demand.requirement.specifier
        return spec

    def choose(self, name: NormalizedName, spec: SpecifierSet) -> _Found | None:
        candidates = self.candidates.get(name, [])
        pre = name in self.local  # the app's own wheel is often a .dev version
        if name in self.pins:
            allowed = self.pins[name][0]
            candidates = [c for c in candidates if f"sha256:{self.sha256(c)}" in allowed]
        return self.selector.pick(candidates, spec, prereleases=pre)

    def requires_dist(self, wheel: _Found) -> list[Requirement]:
        if wheel.path not in self._requires:
            parsed = []
            for text in self.selector.metadata(wheel).get_all("Requires-Dist") or []:
                try:
                    parsed.append(Requirement(str(text)))
                except InvalidRequirement as exc:
                    reason = str(exc).splitlines()[0]
                    raise WheelError(
                        f"wheel {wheel.path.name!r} has an invalid Requires-Dist {str(text)!r}: "
                        f"{reason}; rebuild it or use another version"
                    ) from exc
            self._requires[wheel.path] = parsed
        return self._requires[wheel.path]

    def dependencies(self, wheel: _Found, extras: set[str], base: bool) -> list[Requirement]:
        """Requires-Dist entries that hold on the target: base ones and those of ``extras``."""
        return [
            dep
            for dep in self.requires_dist(wheel)
            # a marker without "extra" holds for every extra too: the walk drops repeats
            if (base and self.selector.applies(dep, ""))
            or any(self.selector.applies(dep, extra) for extra in sorted(extras))
        ]

    def walk(self, chosen: dict[NormalizedName, _Found]) -> dict[NormalizedName, list[_Demand]]:
        """Every demand reachable from the roots through ``chosen`` (picking unseen names)."""
        demands: dict[NormalizedName, list[_Demand]] = {}
        extras: dict[NormalizedName, set[str]] = {}
        expanded: dict[NormalizedName, set[str]] = {}
        queue = deque(self.roots)
        while queue:
            demand = queue.popleft()
            name = canonicalize_name(demand.requirement.name)
            seen = demands.setdefault(name, [])
            if demand not in seen:
                seen.append(demand)
            wanted = extras.setdefault(name, set())
            wanted.update(canonicalize_name(e) for e in demand.requirement.extras)
            if name not in chosen:
                pick = self.choose(name, self.specifier(name, seen))
                if pick is None:
                    continue  # missing or conflicting: settle() reports it
                chosen[name] = pick
            done = expanded.get(name)
            if done is not None and wanted <= done:
                continue
            wheel = chosen[name]
            new_extras = wanted - (done or set())
            requirer = f"{wheel.name} {wheel.version}"
            for dep in self.dependencies(wheel, new_extras, base=done is None):
                queue.append(_Demand(dep, requirer))
            expanded[name] = set(wanted)
        return demands

    def run(self) -> list[CachedWheel]:
        chosen: dict[NormalizedName, _Found] = {}
        for _round in range(_MAX_ROUNDS):
            walked = dict(chosen)
            demands = self.walk(walked)
            settled, problems, hash_problems = self.settle(walked, demands)
            if settled == walked:
                break
            chosen = settled
        else:
            last = ", ".join(f"{n} {w.version}" for n, w in sorted(chosen.items()))
            raise ResolutionError(
                f"resolving for {self.selector.target.name} did not settle after {_MAX_ROUNDS} "
                f"rounds (last choice: {last}); pin the versions in a constraints file"
            )
        if hash_problems and not problems:
            raise HashError(
                f"{len(hash_problems)} hash-pinned requirement(s) match no wheel in the cache "
                f"{str(self.cache)!r}; fetch the pinned files or update the --hash lines\n"
                + "\n".join(hash_problems)
            )
        if problems:  # every problem at once, hash pins included
            raise ResolutionError(
                f"{len(problems) + len(hash_problems)} requirement(s) cannot be satisfied from "
                f"the wheel cache {str(self.cache)!r} for {self.selector.target.name}; run "
                "`pydebvenv fetch` for this target or add the wheels\n"
                + "\n".join(sorted(problems + hash_problems))
                + "\n  "
                + self.selector.tags_tried()
            )
        return [
            CachedWheel(w.path, w.name, w.version, w.tags, self.sha256(w), n in self.requested)
            for n, w in sorted(settled.items())
        ]

    def settle(
        self, walked: dict[NormalizedName, _Found], demands: dict[NormalizedName, list[_Demand]]
    ) -> tuple[dict[NormalizedName, _Found], list[str], list[str]]:
        """Re-pick every name against all of its demands; report what cannot be satisfied.

        Always the best wheel for the combined specifier, not merely an acceptable one,
        so the result does not depend on the order in which names were first seen.
        """
        settled: dict[NormalizedName, _Found] = {}
        problems: list[str] = []
        hash_problems: list[str] = []
        for name in sorted(demands):
            spec = self.specifier(name, demands[name])
            pick = self.choose(name, spec)
            if pick is not None:
                settled[name] = pick
                continue
            current = walked.get(name)
            if current is not None:
                settled[name] = current  # keep it so the rounds settle; the error is reported
            problems_or_hash = self.describe(name, demands[name], spec)
            (hash_problems if problems_or_hash[0] else problems).append(problems_or_hash[1])
        return settled, problems, hash_problems

    def describe(
        self, name: NormalizedName, demands: Sequence[_Demand], spec: SpecifierSet
    ) -> tuple[bool, str]:
        """(is a hash problem, one line saying what is wrong and who asked for it)."""
        candidates = self.candidates.get(name, [])
        pre = name in self.local
        unpinned = self.selector.pick(candidates, spec, prereleases=pre)
        if name in self.pins and unpinned is not None:
            allowed, sources = self.pins[name]
            expected = ", ".join(sorted(allowed)) or "nothing (the pins exclude each other)"
            return True, (
                f"  - {name} (pinned at {', '.join(sources)}): wheel {str(unpinned.path)!r} "
                f"has sha256:{self.sha256(unpinned)}, expected {expected}"
            )
        asks = [*demands, *self.constraints.get(name, ())]
        by_source = [
            f"{str(d.requirement.specifier) or 'any version'!r} from {d.requirer}"
            + (" (constraint)" if d in self.constraints.get(name, ()) else "")
            for d in asks
        ]
        each_alone = len(asks) > 1 and all(
            self.selector.pick(candidates, d.requirement.specifier, prereleases=pre) is not None
            for d in asks
        )
        if each_alone:
            versions = ", ".join(sorted({str(c.version) for c in candidates}, key=Version))
            return False, (
                f"  - version conflict for {name}: {'; '.join(by_source)}; "
                f"cached versions: {versions}"
            )
        if len(asks) == 1:
            wanted = f"{name}{spec} (required by {asks[0].requirer})"
        else:
            wanted = f"{name} ({'; '.join(by_source)})"
        return False, f"  - {wanted}: {self.selector.explain(candidates, spec)}"


# --- reading wheels ----------------------------------------------------------------------


def _sha256(path: Path) -> str:
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


def _verify_record(path: Path) -> None:
    """Check every member against RECORD (PEP 427/RECORD spec) via pypa/installer."""
    from installer.sources import WheelFile  # imported here: only resolve() needs it

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
