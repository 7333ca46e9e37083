"""Wheels built here from sdists, for the packages an index offers no wheel of for the target.

A pure wheel (``*-none-any``) runs anywhere.  A wheel with compiled code only runs on the
platform that built it, so it is refused unless the host *is* the target (PEP 600: a
``linux_<arch>`` wheel is only promised to run where it was built).

The same sdist gives the same wheel bytes on every fetch, for every target: the backend
runs with SOURCE_DATE_EPOCH set to the sdist's newest member time (a property of the sdist,
not of the build host or the clock), and its wheel is repacked with the ``wheel`` package's
WheelFile, which checks every member against the backend's RECORD while reading and
writes RECORD anew: members in sorted order (.dist-info last), that one timestamp, modes
0644 or 0755 (docs/lock.md, "Wheels built from sdists").
"""

from __future__ import annotations

import calendar
import re
import stat
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from wheel.wheelfile import WheelError, WheelFile

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

__all__ = ["build_from_sdist", "repack_wheel", "resolve_target", "sdist_epoch"]

_MAX_SDIST_ROUNDS = 25
# zip stores dates from 1980 on (the wheel package's MINIMUM_TIMESTAMP)
_ZIP_EPOCH = 315532800


def sdist_epoch(sdist: Path) -> int:
    """The newest modification time among the sdist's members (never before 1980)."""
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                times = [calendar.timegm((*i.date_time, 0, 0, 0)) for i in archive.infolist()]
        else:
            with tarfile.open(sdist) as archive:
                times = [int(member.mtime) for member in archive]
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise FetchError(f"cannot read the sdist {sdist.name!r} ({exc}); check the index "
                         "serves a valid archive") from exc
    return max([_ZIP_EPOCH, *times])


class _StampedWheelFile(WheelFile):  # type: ignore[misc]  # wheel ships no type hints
    """A WheelFile whose members, RECORD included, all carry one date and a fixed mode.

    WheelFile.close() writes RECORD through writestr() with a bare name, dating it from the
    environment's SOURCE_DATE_EPOCH or the clock; here every bare name gets ``date_time``.
    """

    def __init__(self, path: Path, date_time: tuple[int, int, int, int, int, int]) -> None:
        self.date_time = date_time
        super().__init__(path, "w")

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: Any = None) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = _member_info(zinfo_or_arcname, self.date_time, executable=False)
        super().writestr(zinfo_or_arcname, data, compress_type)


def _member_info(name: str, date_time: tuple[int, int, int, int, int, int], *,
                 executable: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def repack_wheel(source: Path, dest: Path, epoch: int) -> Path:
    """Rewrite the wheel ``source`` as ``dest`` byte-reproducibly (see the module's text)."""
    date_time = time.gmtime(max(epoch, _ZIP_EPOCH))[:6]
    try:
        with WheelFile(source) as wheel:
            record = wheel.record_path
            names = [n for n in wheel.namelist() if not n.endswith("/")
                     and n not in (record, f"{record}.jws", f"{record}.p7s")]
            # the layout WheelFile.write_files gives: .dist-info after everything else
            names.sort(key=lambda n: (n.split("/", 1)[0].endswith(".dist-info"), n))
            with _StampedWheelFile(dest, date_time) as out:
                for name in names:
                    executable = bool(wheel.getinfo(name).external_attr >> 16 & 0o111)
                    # read() checks the member against the backend's RECORD
                    out.writestr(_member_info(name, date_time, executable=executable),
                                 wheel.read(name))
    except (OSError, zipfile.BadZipFile, WheelError) as exc:
        dest.unlink(missing_ok=True)
        raise FetchError(f"the wheel built from an sdist, {source.name!r}, is not sound "
                         f"({exc}); report it to the project, or publish a wheel of it to "
                         "your index") from exc
    return dest


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
    epoch = sdist_epoch(found[0])
    rc, lines = run_pip(["wheel", "--no-deps", "-w", str(out), *session.index_args(),
                         str(found[0])], marker_env=None, out=session.out,
                        env={"SOURCE_DATE_EPOCH": str(epoch)})
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
    repack_wheel(wheels[0], session.built / wheels[0].name, epoch)
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
            raise_for(lines, f"resolving the requirements for {target.name}", session.indexes(),
                      hash_fix=session.hash_fix)
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
