"""PEP 751 lock files (pylock.toml): their packages as pins, and each package's wheel for a target.

https://packaging.python.org/en/latest/specifications/pylock-toml/
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from pydebvenv.errors import ConfigError, FetchError
from pydebvenv.project.paths import inside_project
from pydebvenv.project.requirements import RequirementSpec
from pydebvenv.redact import redact
from pydebvenv.target import Target

__all__ = ["is_pylock", "pylock_requirements", "specs_from_pylock"]


def is_pylock(path: Path) -> bool:
    """Whether ``path`` is named like a PEP 751 lock: pylock.toml or pylock.<name>.toml."""
    return path.name == "pylock.toml" or (path.name.startswith("pylock.")
                                          and path.name.endswith(".toml"))


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc}; fix the PEP 751 lock") from exc


def pylock_requirements(path: Path, target: Target, extras: Sequence[str]) -> list[str]:
    """PEP 751: pick each package's best wheel for the target, as ``name @ url --hash`` lines."""
    data = _read(path)
    env: dict[str, Any] = dict(target.marker_environment())
    # PEP 751 markers may test the selected extras and dependency groups
    env |= {"extras": frozenset(canonicalize_name(e) for e in extras),
            "dependency_groups": frozenset(data.get("default-groups", []))}
    rank = target.tag_rank()
    lines = []
    for package in data.get("packages", []):
        name = package.get("name", "?")
        try:
            if package.get("marker") and not Marker(package["marker"]).evaluate(env):
                continue
            if package.get("requires-python") and target.python_full_version not in \
                    SpecifierSet(package["requires-python"]):
                continue
        except (InvalidMarker, InvalidSpecifier) as exc:
            raise ConfigError(f"{str(path)!r}: package {name!r} has a bad marker or "
                              f"requires-python ({exc}); fix the lock") from exc
        best: tuple[int, dict[str, Any]] | None = None
        for wheel in package.get("wheels", []):
            filename = wheel.get("name") or (wheel.get("url") or wheel.get("path", "")
                                             ).rpartition("/")[2]
            try:
                tags = parse_wheel_filename(filename)[3]
            except InvalidWheelFilename:
                continue
            score = min((rank[t] for t in tags if t in rank), default=None)
            if score is not None and (best is None or score < best[0]):
                best = (score, wheel)
        if best is None:
            raise FetchError(f"{str(path)!r} has no wheel of {name!r} for {target.name}; "
                             "regenerate the lock including wheels for that platform")
        wheel = best[1]
        sha = wheel.get("hashes", {}).get("sha256")
        if not sha:
            raise FetchError(f"{str(path)!r}: the wheel of {name!r} has no sha256; "
                             "regenerate the lock with hashes")
        # a local wheel lies beside the lock (inside the project for the project's lock)
        url = wheel.get("url") or inside_project(
            path.parent, path.parent / wheel["path"], f"{str(path)!r}: the wheel of {name!r}"
        ).as_uri()
        lines.append(f"{name} @ {url} --hash=sha256:{sha}")
    return lines


def specs_from_pylock(path: Path | str) -> tuple[RequirementSpec, ...]:
    """A PEP 751 lock's packages as pins: ``name==version; marker`` with every wheel's sha256.

    For ``wheels.resolve``: the lock already is the whole closure, so each pin stands alone.
    """
    path = Path(path)
    data = _read(path)
    specs = []
    for i, package in enumerate(data.get("packages", [])):
        name, version = package.get("name"), package.get("version")
        line = f"{name}=={version}" if version else f"{name}"
        if package.get("marker"):
            line += f"; {package['marker']}"
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise ConfigError(f"{str(path)!r}: package {i} ({redact(line)!r}) is not a valid pin "
                              f"({exc}); fix the lock") from exc
        hashes = frozenset(f"sha256:{w['hashes']['sha256']}" for w in package.get("wheels", [])
                           if isinstance(w.get("hashes"), dict) and "sha256" in w["hashes"])
        specs.append(RequirementSpec(requirement, hashes, f"{path.name} packages[{i}]"))
    return tuple(specs)
