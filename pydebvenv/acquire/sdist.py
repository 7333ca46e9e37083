"""Wheels built here from sdists, for the packages an index offers no wheel of for the target.

A pure wheel (``*-none-any``) runs anywhere.  A wheel with compiled code only runs on the
platform that built it, so it is refused unless the host *is* the target (PEP 600: a
``linux_<arch>`` wheel is only promised to run where it was built).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from pydebvenv.acquire.pip import Chosen, run_pip
from pydebvenv.acquire.piperrors import (
    error_line,
    missing_requirement,
    raise_for,
    refused,
    unreachable,
)
from pydebvenv.acquire.session import Session, resolve
from pydebvenv.errors import FetchError
from pydebvenv.target import HostFacts, Target, host_facts, host_runs

__all__ = ["build_from_sdist", "resolve_target"]

_MAX_SDIST_ROUNDS = 25


def _wheel_is_pure(filename: str) -> tuple[bool, frozenset[Tag]]:
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename as exc:
        raise FetchError(f"the build produced {filename!r}, not a valid wheel name") from exc
    return all(t.abi == "none" and t.platform == "any" for t in tags), tags


def build_from_sdist(session: Session, requirement: str, target: Target,
                     host: HostFacts | None) -> bool:
    """Build ``requirement``'s sdist into a wheel on the host; False when it has no sdist.

    The wheel goes to ``session.built`` (a find-links directory of the next resolution).
    """
    try:
        name = canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        name = canonicalize_name(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
    sdists = Path(tempfile.mkdtemp(dir=session.stage, prefix="sdist-"))
    session.out.info(f"no wheel of {requirement} for {target.name}; looking for its sdist")
    rc, lines = run_pip(
        # --no-binary for this project only: its build backend may well come as a wheel
        ["download", "--no-deps", "--no-binary", name, "-d", str(sdists),
         *session.index_args(), *session.constraint_args, requirement],
        marker_env=None, out=session.out)
    if rc != 0:
        if unreachable(lines, session.indexes()):
            raise_for(lines, f"looking for an sdist of {requirement!r}", session.indexes())
        return False
    found = sorted(sdists.iterdir())
    if not found:
        return False
    session.out.info(f"building a wheel from {found[0].name} (PEP 517, isolated)")
    out = Path(tempfile.mkdtemp(dir=session.stage, prefix="wheel-"))
    rc, lines = run_pip(["wheel", "--no-deps", "-w", str(out), *session.index_args(),
                         str(found[0])], marker_env=None, out=session.out)
    if rc != 0:
        raise FetchError(f"building a wheel from the sdist {found[0].name!r} failed: "
                         f"{error_line(lines)!r}; publish a wheel of {name!r} for "
                         f"{target.name} to your index instead")
    wheels = sorted(out.glob("*.whl"))
    if not wheels:
        raise FetchError(f"building the sdist {found[0].name!r} produced no wheel; publish a "
                         f"wheel of {name!r} for {target.name} instead")
    pure, tags = _wheel_is_pure(wheels[0].name)
    target_tags = set(target.tags())
    if not pure and not (tags & target_tags) and not host_runs(target, host or host_facts()):
        raise FetchError(
            f"{name!r} has no wheel for {target.name} and its sdist compiles code "
            f"({wheels[0].name!r} built here only runs on this host); publish a "
            f"{target.platforms()[-1]}-compatible wheel to an index (--extra-index-url or "
            f"--find-links) or run fetch on a {target.name} host")
    if not pure and not (tags & target_tags):
        # built on a host that is the target: its linux_<arch> wheel runs there (PEP 600)
        session.extra_platforms.append(f"linux_{target.arch.wheel_arch}")
    shutil.move(str(wheels[0]), session.built / wheels[0].name)
    return True


def resolve_target(session: Session, requirement_args: Sequence[str], target: Target,
                   host: HostFacts | None) -> list[Chosen]:
    """Resolve for the target, building pure sdists on the host for what has no wheel."""
    tried: set[str] = set()
    for _ in range(_MAX_SDIST_ROUNDS):
        rc, lines, chosen = resolve(session, requirement_args, target=target,
                                    what=f"the requirements for {target.name}")
        if rc == 0:
            return chosen
        requirement = missing_requirement(lines)
        if requirement is None or unreachable(lines, session.indexes()) or refused(lines):
            raise_for(lines, f"resolving the requirements for {target.name}", session.indexes())
        if requirement in tried:
            raise FetchError(
                f"{requirement!r} was built from its sdist but pip still finds nothing that fits "
                f"{target.name} (Python {target.pyver}; check its Requires-Python); pin a "
                "version that supports the target")
        if not build_from_sdist(session, requirement, target, host):
            where = ", ".join(session.indexes()) or "pip's configured index"
            raise FetchError(
                f"no wheel of {requirement!r} for {target.name} (Python {target.pyver}, "
                f"{target.platforms()[0]} or older) and no sdist on {where}; check the name "
                "and version, or add an index that has it (--extra-index-url/--find-links)")
        tried.add(requirement)
    raise FetchError(f"more than {_MAX_SDIST_ROUNDS} packages need building from sdists for "
                     f"{target.name}; publish wheels for them to your index")
