"""One wheel -> Entries at the venv's final path, through pypa/installer's algorithm.

``installer.install(source, destination, metadata)`` decides what goes where (PEP 427 and
the "Binary distribution format" spec: root scheme, ``.data/<key>/`` spreading, entry point
scripts, RECORD rewriting).  Here it is composed: the wheel's members are checked first
(wheelzip), the destination collects :class:`Entry` values instead of writing files
(destination), so the venv is laid out at ``/usr/share/python/<name>`` directly and nothing
needs relocating (docs/venv.md, docs/wheels.md).
"""

from __future__ import annotations

import configparser
import posixpath
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import TYPE_CHECKING

import installer
from installer.exceptions import InstallerError
from installer.records import InvalidRecordEntry
from installer.utils import parse_metadata_file
from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pydebvenv.debfile.entry import Entry
from pydebvenv.errors import WheelError
from pydebvenv.venv.destination import EntryDestination
from pydebvenv.venv.wheelzip import LazyZip, WheelSource, read_dist_info, verify_members

if TYPE_CHECKING:
    from pydebvenv.target import Target

__all__ = [
    "INSTALLER_NAME",
    "InstalledWheel",
    "install_wheel",
    "scheme_paths",
]

#: What INSTALLER says (PEP 376 / "Recording installed projects": one line naming the tool).
INSTALLER_NAME = "pydebvenv"


@dataclass(frozen=True, slots=True)
class InstalledWheel:
    """What one wheel became: its entries and the facts the package metadata needs.

    ``archive`` is the wheel's zip the entries read their content from: opened on the first
    read, closed by whoever owns the entries (layout.VenvLayout.close).
    """

    name: str  # canonical (PEP 503) distribution name
    version: str
    wheel: str  # the wheel's file name (never its host directory)
    entries: tuple[Entry, ...]
    archive: LazyZip
    #: the commands it puts in bin/: console and gui entry points and its own
    #: ``.data/scripts/`` files, sorted
    scripts: tuple[str, ...]
    elf_machines: frozenset[str]  # elf.ELF_MACHINES names of the ELF members
    tags: frozenset[Tag]
    needed: frozenset[str] = frozenset()  # DT_NEEDED sonames of the ELF members
    shipped: frozenset[str] = frozenset()  # file names and DT_SONAMEs of the ELF members
    #: entry point scripts that name extras (``blackd = blackd:main [d]``): script -> extras
    script_extras: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: each extra those scripts name -> the canonical names it adds to the requirements on
    #: the target (Requires-Dist with an ``extra == ...`` marker, PEP 508)
    extra_requires: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def has_binary(self) -> bool:
        return bool(self.elf_machines)

    @property
    def platform_tags(self) -> frozenset[str]:
        return frozenset(t.platform for t in self.tags if t.platform != "any")


def scheme_paths(venv: str, target: Target, dist: str) -> dict[str, str]:
    """The install scheme of a venv at ``venv`` (absolute POSIX) for the target's Python.

    purelib/platlib are the sysconfig ``venv`` scheme's site-packages; headers follow pip's
    venv rule ``include/site/pythonX.Y/<dist>``; data is the venv root (docs/wheels.md).
    """
    site = posixpath.join(venv, target.site_packages)
    return {
        "purelib": site,
        "platlib": site,
        "scripts": posixpath.join(venv, "bin"),
        "headers": posixpath.join(venv, "include", "site", f"python{target.pyver}", dist),
        "data": venv,
    }


def _check_identity(meta: Message, name: str, version: Version, label: str) -> None:
    """METADATA's Name and Version are the file name's (pip refuses a wheel otherwise: the
    resolver chose it by its file name, the venv would record another distribution)."""
    meta_name, meta_version = meta.get("Name"), meta.get("Version")
    if not meta_name or canonicalize_name(str(meta_name)) != canonicalize_name(name):
        raise WheelError(f"wheel {label!r}: its METADATA names the distribution "
                         f"{str(meta_name or '')!r}, its file name {name!r}; the wheel is "
                         "inconsistent, rebuild or replace it")
    try:
        same = Version(str(meta_version)) == version
    except InvalidVersion:
        same = False
    if not same:
        raise WheelError(f"wheel {label!r}: its METADATA has version "
                         f"{str(meta_version or '')!r}, its file name {str(version)!r}; the "
                         "wheel is inconsistent, rebuild or replace it")


def _reason(exc: BaseException) -> str:
    """An installer error as words: InvalidWheelSource carries (source, message), and
    InvalidRecordEntry its issues; never an object's repr."""
    if isinstance(exc, InvalidRecordEntry):
        return "; ".join(exc.issues)
    if isinstance(exc, configparser.Error):  # its message spans lines, naming '<string>'
        return f"entry_points.txt is not an INI file ({type(exc).__name__})"
    words = [arg for arg in exc.args if isinstance(arg, str)]
    return "; ".join(word.rstrip(".") for word in words) or type(exc).__name__


def install_wheel(
    wheel: Path, venv: str, target: Target, *, requested: bool = False,
    sha256: str | None = None,
) -> InstalledWheel:
    """Install ``wheel`` into the venv whose final absolute path is ``venv``, as Entries.

    ``sha256`` (the wheel file's, when the caller knows it) names the members' contents,
    so the archive writer can reuse their compressed bytes from an earlier build.

    Raises WheelError for a malformed or unsafe wheel: a member path that is absolute, holds
    ``..`` or lands outside the venv, a missing RECORD, a member missing from RECORD, with a
    weak hash or another size, an unknown ``.data`` key or a bad entry point.  Member
    contents are checked against their RECORD hashes when the entries' openers are read
    (the archive write), which raises WheelError naming the wheel and the member.
    """
    wheel = Path(wheel)
    label = wheel.name
    try:
        parsed = parse_wheel_filename(wheel.name)
    except ValueError as exc:
        raise WheelError(
            f"not a wheel file name: {wheel.name!r}; expected {{dist}}-{{ver}}-{{tags}}.whl"
        ) from exc
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise WheelError(f"cannot read wheel {label!r}: {exc}; download it again") from exc
    with zf:
        source = WheelSource(zf, label)
        try:
            source.dist_info_dir  # noqa: B018 -- installer checks there is exactly one
        except (InstallerError, ValueError) as exc:
            raise WheelError(f"wheel {label!r} is malformed: {exc}; rebuild it") from exc
        members = verify_members(zf, source, label)
        meta = parse_metadata_file(read_dist_info(source, "METADATA", label))
        script_extras = _script_extras(source)
        extra_requires = _extra_requires(
            meta, frozenset().union(*script_extras.values()), target, label)
        _check_identity(meta, parsed[0], parsed[1], label)
        dist_name = str(meta["Name"])
        destination = EntryDestination(
            scheme_dict=scheme_paths(venv, target, dist_name),
            venv=venv,
            interpreter=posixpath.join(venv, "bin", "python"),
            wheel=wheel,
            label=label,
            members=members,
            wheel_digest=f"sha256:{sha256}" if sha256 else None,
        )
        metadata = {"INSTALLER": f"{INSTALLER_NAME}\n".encode()}
        if requested:
            metadata["REQUESTED"] = b""
        try:
            installer.install(source, destination, metadata)
        except (InstallerError, InvalidRecordEntry, configparser.Error, ValueError,
                AssertionError, KeyError) as exc:
            destination.archive.close()  # its entries are dropped: nothing will read them
            # installer signals bad .data keys, bad WHEEL files and entry points this way;
            # a malformed entry_points.txt is configparser's error.
            raise WheelError(
                f"cannot install wheel {label!r}: {_reason(exc)}; "
                "the wheel is malformed, rebuild or replace it"
            ) from exc
        except BaseException:
            destination.archive.close()
            raise
    sniffs = destination.installed.values()
    elf = frozenset(sniff.elf for sniff in sniffs if sniff.elf is not None)
    needed: set[str] = set()
    shipped: set[str] = set()
    for name, sniff in destination.installed.items():
        if sniff.elf is None:
            continue
        # the dynamic linker finds a bundled library (auditwheel's <dist>.libs/) by the
        # file name DT_NEEDED gives, through the RPATH; DT_SONAME is what others may ask for
        shipped.add(posixpath.basename(name))
        if sniff.dynamic is not None:
            needed.update(sniff.dynamic.needed)
            if sniff.dynamic.soname:
                shipped.add(sniff.dynamic.soname)
    return InstalledWheel(
        name=canonicalize_name(parsed[0]),
        version=str(parsed[1]),
        wheel=label,
        entries=tuple(destination.entries.values()),
        archive=destination.archive,
        scripts=tuple(sorted(destination.scripts)),
        elf_machines=elf,
        tags=frozenset(parsed[3]),
        needed=frozenset(needed),
        shipped=frozenset(shipped),
        script_extras=script_extras,
        extra_requires=extra_requires,
    )


def _script_extras(source: WheelSource) -> dict[str, frozenset[str]]:
    """The extras each console/gui entry point names, for those that name any.

    The entry points specification keeps ``[extra]`` after the object reference only as a
    legacy form: installers create the script anyway, but it needs those extras' packages to
    run, so the package links it into /usr/bin only when the extras are installed.
    """
    try:
        text = source.read_dist_info("entry_points.txt")
    except (KeyError, InstallerError, ValueError):
        return {}  # no entry points (installer itself reports a malformed file)
    parser = configparser.ConfigParser(delimiters="=", interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    gated: dict[str, frozenset[str]] = {}
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            for name, value in parser.items(section):
                extras = EntryPoint(name, value, section).extras
                if extras:
                    gated[name] = frozenset(canonicalize_name(e) for e in extras)
    return gated


def _extra_requires(meta: Message, extras: frozenset[str], target: Target,
                    label: str) -> dict[str, frozenset[str]]:
    """What each of ``extras`` adds to the distribution's requirements on the target: the
    canonical names of its Requires-Dist whose marker holds with that extra and not
    without it."""
    env = dict(target.marker_environment())
    out: dict[str, frozenset[str]] = {}
    requirements = []
    for text in meta.get_all("Requires-Dist") or []:
        try:
            requirements.append(Requirement(str(text)))
        except InvalidRequirement as exc:
            # packaging adds the text and a caret on more lines: the first is the reason
            raise WheelError(f"wheel {label!r} has an invalid Requires-Dist {str(text)!r} "
                             f"({str(exc).splitlines()[0]}); rebuild it") from exc
    for extra in sorted(extras):
        names = set()
        for requirement in requirements:
            marker = requirement.marker
            try:
                if marker is not None and marker.evaluate({**env, "extra": extra}) \
                        and not marker.evaluate({**env, "extra": ""}):
                    names.add(canonicalize_name(requirement.name))
            except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
                raise WheelError(f"wheel {label!r} has a Requires-Dist marker that cannot be "
                                 f"evaluated, {str(requirement)!r} ({exc}); rebuild it") from exc
        out[extra] = frozenset(names)
    return out
