"""The resolver: the closure of the requirements over the wheel cache, every problem at once.

A deterministic fixed point without backtracking; everything is decided by the Target (its
tags, its PEP 508 environment and its Python version), never by the build host.
Specs: markers and extras (PEP 508), Requires-Dist and Requires-Python (core metadata),
pre-releases (PEP 440), --hash pins (pip's hash-checking mode).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from pydebvenv.errors import ResolutionError, WheelError
from pydebvenv.project.requirements import RequirementSpec
from pydebvenv.redact import redact
from pydebvenv.target import Target
from pydebvenv.wheels.cache import CachedWheel, FoundWheel, file_sha256, find_wheels
from pydebvenv.wheels.select import Platform, Selector

__all__ = ["HashError", "Resolution", "resolve"]

# A resolution that has not settled after this many rounds is oscillating between versions.
_MAX_ROUNDS = 50
# How many target tags an error message shows before "... and N more".
_TAGS_SHOWN = 4


class HashError(ResolutionError):
    """A --hash pinned requirement has no wheel in the cache with one of its hashes.

    A ResolutionError: fetching the pinned file (pip checks the hash) can fix it.
    """


@dataclass(frozen=True, slots=True)
class Resolution:
    """The wheels that make up the venv, sorted by name."""

    wheels: tuple[CachedWheel, ...]
    # a pure wheel chosen while the cache holds compiled wheels of the same version for
    # other targets: distribution -> their platform tags (build reports the fallback)
    compiled_for: Mapping[NormalizedName, tuple[str, ...]] = field(default_factory=dict)


def resolve(
    requirements: Sequence[RequirementSpec],
    cache: Path,
    target: Platform,
    *,
    local_wheels: Sequence[Path] = (),
    constraints: Sequence[RequirementSpec] = (),
) -> Resolution:
    """The closure of ``requirements`` (and the local wheels' Requires-Dist) for ``target``.

    Raises HashError when a --hash pin matches no cached wheel, ResolutionError
    listing every missing or conflicting requirement at once, and WheelError when a
    chosen wheel's name or metadata cannot be read.  RECORD is not checked here: installing
    the wheel checks its listing and writing the package checks every member's hash, in the
    one pass that reads the contents (wheelzip).
    """
    resolver = _Resolver(Selector(target), cache, requirements, local_wheels, constraints)
    wheels = tuple(resolver.run())
    return Resolution(wheels, {w.name: platforms for w in wheels
                               if (platforms := resolver.compiled_for(w))})


# --- resolution --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Demand:
    requirement: Requirement
    requirer: str  # "requirements.txt:3", "flask 3.0.0", "local wheel app-1.0-py3-none-any.whl"


class _Resolver:
    """A deterministic fixed-point resolver over the cached wheels (no backtracking)."""

    def __init__(
        self,
        selector: Selector,
        cache: Path,
        requirements: Sequence[RequirementSpec],
        local_wheels: Sequence[Path],
        constraints: Sequence[RequirementSpec],
    ) -> None:
        self.selector = selector
        self.cache = cache
        self.candidates: dict[NormalizedName, list[FoundWheel]] = {}
        for found in find_wheels(cache):
            self.candidates.setdefault(found.name, []).append(found)
        self.local: dict[NormalizedName, FoundWheel] = {}
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
        self.local[name] = found = FoundWheel(path, name, version, tags)
        self.candidates[name] = [found]
        self.roots.append(_Demand(Requirement(f"{name}=={version}"), f"local wheel {path.name}"))

    def compiled_for(self, wheel: CachedWheel) -> tuple[str, ...]:
        """For a pure wheel: the platforms of the cached compiled wheels of its version."""
        if not wheel.is_pure:
            return ()
        return tuple(sorted({tag.platform for c in self.candidates.get(wheel.name, ())
                             if c.version == wheel.version for tag in c.tags
                             if tag.platform != "any"}))

    def sha256(self, wheel: FoundWheel) -> str:
        if wheel.path not in self._sha:
            self._sha[wheel.path] = file_sha256(wheel.path)
        return self._sha[wheel.path]

    def specifier(self, name: NormalizedName, demands: Sequence[_Demand]) -> SpecifierSet:
        spec = SpecifierSet()
        for demand in (*demands, *self.constraints.get(name, ())):
            spec &= demand.requirement.specifier
        return spec

    def choose(self, name: NormalizedName, spec: SpecifierSet) -> FoundWheel | None:
        candidates = self.candidates.get(name, [])
        pre = name in self.local  # the app's own wheel is often a .dev version
        if name in self.pins:
            allowed = self.pins[name][0]
            candidates = [c for c in candidates if f"sha256:{self.sha256(c)}" in allowed]
        return self.selector.pick(candidates, spec, prereleases=pre)

    def requires_dist(self, wheel: FoundWheel) -> list[Requirement]:
        if wheel.path not in self._requires:
            parsed = []
            for text in self.selector.metadata(wheel).get_all("Requires-Dist") or []:
                try:
                    parsed.append(Requirement(str(text)))
                except InvalidRequirement as exc:
                    reason = str(exc).splitlines()[0]
                    raise WheelError(
                        f"wheel {wheel.path.name!r} has an invalid Requires-Dist "
                        f"{redact(str(text))!r}: "
                        f"{reason}; rebuild it or use another version"
                    ) from exc
            self._requires[wheel.path] = parsed
        return self._requires[wheel.path]

    def dependencies(self, wheel: FoundWheel, extras: set[str], base: bool) -> list[Requirement]:
        """Requires-Dist entries that hold on the target: base ones and those of ``extras``."""
        return [
            dep
            for dep in self.requires_dist(wheel)
            # a marker without "extra" holds for every extra too: the walk drops repeats
            if (base and self.selector.applies(dep, ""))
            or any(self.selector.applies(dep, extra) for extra in sorted(extras))
        ]

    def walk(self, chosen: dict[NormalizedName, FoundWheel]) -> dict[NormalizedName, list[_Demand]]:
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
        chosen: dict[NormalizedName, FoundWheel] = {}
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
        target = self.selector.target
        fetch = ("`pydebvenv fetch`" if not isinstance(target, Target) else
                 f"`pydebvenv fetch --target {target.release.name} --arch {target.arch.name}`")
        if hash_problems and not problems:
            locks = sorted({source for _hashes, sources in self.pins.values()
                            for source in sources if source.endswith(".lock")})
            fix = (f"the wheel cache holds other files than {', '.join(locks)} names: run "
                   f"{fetch} to fetch the locked files (or build without --offline)"
                   if locks else "fetch the pinned files or update the --hash lines")
            raise HashError(
                f"{len(hash_problems)} hash-pinned requirement(s) match no wheel in the cache "
                f"{str(self.cache)!r}; {fix}\n" + "\n".join(hash_problems)
            )
        if problems:  # every problem at once, hash pins included
            raise ResolutionError(
                f"{len(problems) + len(hash_problems)} requirement(s) cannot be satisfied from "
                f"the wheel cache {str(self.cache)!r} for {target.name}; run {fetch} or add "
                "the wheels\n"
                + "\n".join(sorted(problems + hash_problems))
                + "\n  "
                + _tags_tried(self.selector)
            )
        return [
            CachedWheel(w.path, w.name, w.version, w.tags, self.sha256(w), n in self.requested)
            for n, w in sorted(settled.items())
        ]

    def settle(
        self, walked: dict[NormalizedName, FoundWheel], demands: dict[NormalizedName, list[_Demand]]
    ) -> tuple[dict[NormalizedName, FoundWheel], list[str], list[str]]:
        """Re-pick every name against all of its demands; report what cannot be satisfied.

        Always the best wheel for the combined specifier, not merely an acceptable one,
        so the result does not depend on the order in which names were first seen.
        """
        settled: dict[NormalizedName, FoundWheel] = {}
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
        return False, f"  - {wanted}: {_explain(self.selector, candidates, spec)}"


# --- what the error lines say ------------------------------------------------------------


def _explain(selector: Selector, candidates: Sequence[FoundWheel], specifier: SpecifierSet) -> str:
    """Why nothing in ``candidates`` was picked: the fix is in this text."""
    if not candidates:
        return "no wheel of that name in the cache"
    fits = [c for c in candidates if selector.rank(c) is not None]
    if not fits:
        names = sorted(c.path.name for c in candidates)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        return f"no cached wheel has a tag for {selector.target.name}: {shown}"
    too_new = [c for c in fits if specifier.contains(c.version, prereleases=True)]
    too_new = [c for c in too_new if not selector.python_ok(c)]
    if too_new:
        best = max(too_new, key=lambda c: c.version)
        return (
            f"{best.name} {best.version} requires Python "
            f"{str(selector.metadata(best).get('Requires-Python'))!r} "
            f"and {selector.target.name} has {selector.target.python_full_version}"
        )
    versions = sorted({c.version for c in fits})
    return f"versions cached for {selector.target.name}: {', '.join(map(str, versions))}"


def _tags_tried(selector: Selector) -> str:
    tags = list(selector.ranks)
    shown = ", ".join(str(t) for t in tags[:_TAGS_SHOWN])
    return (
        f"tags tried for {selector.target.name} (CPython {selector.target.python_full_version}): "
        f"{shown}, ... and {len(tags) - _TAGS_SHOWN} more"
    )
