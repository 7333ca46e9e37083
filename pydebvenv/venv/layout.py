"""The venv as Entries: skeleton (pyvenv.cfg, bin/python*, lib64, activate) plus every wheel.

The skeleton is what CPython's ``python3 -m venv`` makes on the target (docs/venv.md),
written for the venv's final path so nothing is relocated afterwards, and decided from the
Target alone (never the build host's Python, CPU or filesystem).
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from pydebvenv.debfile.entry import Entry, dir_entry, file_entry, symlink_entry
from pydebvenv.errors import ConfigError, WheelError
from pydebvenv.venv.activate import activate_entries
from pydebvenv.venv.install import InstalledWheel, install_wheel
from pydebvenv.venv.wheelzip import LazyZip

if TYPE_CHECKING:
    from pydebvenv.target import Target

__all__ = [
    "UnmetExtras",
    "VenvLayout",
    "WheelLike",
    "check_venv_path",
    "interpreter_commands",
    "pyvenv_cfg",
    "skeleton_entries",
    "venv_entries",
]


@dataclass(frozen=True, slots=True)
class UnmetExtras:
    """A script whose entry point names extras that are not installed: it fails at start."""

    dist: str  # the distribution that provides the script
    extras: tuple[str, ...]
    missing: tuple[str, ...]  # what those extras require and the venv lacks


@dataclass(frozen=True, slots=True)
class VenvLayout:
    """The venv's entries and what the package metadata needs to know about them.

    The entries read the wheels' members lazily, from ``archives``; the layout is a context
    manager that closes them, so a build closes every wheel before its scratch space goes.
    """

    entries: tuple[Entry, ...]
    scripts: dict[str, tuple[str, ...]]  # canonical dist name -> its commands in bin/
    has_binary: bool  # any ELF member
    platform_tags: frozenset[str]  # platform tags of the non-pure wheels installed
    needed: frozenset[str] = frozenset()  # DT_NEEDED sonames of every ELF file in the venv
    shipped: frozenset[str] = frozenset()  # file names / DT_SONAMEs of the venv's ELF files
    archives: tuple[LazyZip, ...] = ()  # the wheels the entries read from
    #: canonical dist name -> the paths (entry paths, no leading "/") its wheel installed
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: script -> the extras its entry point names (only scripts that name some)
    script_extras: dict[str, frozenset[str]] = field(default_factory=dict)
    #: scripts whose extras' requirements are not all installed: they fail at start
    unmet_extras: dict[str, UnmetExtras] = field(default_factory=dict)

    def close(self) -> None:
        """Close every wheel the entries read from; reading an entry afterwards fails."""
        _close_all(self.archives)

    def __enter__(self) -> VenvLayout:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def system_sonames(self) -> frozenset[str]:
        """The libraries the venv's ELF files need that the venv does not bring itself."""
        return self.needed - self.shipped


def check_venv_path(venv: str) -> str:
    """Return ``venv`` if it is a normalised absolute POSIX path other than ``/``, else raise."""
    if (
        not venv.startswith("/")
        or venv == "/"
        or posixpath.normpath(venv) != venv
        or venv.startswith("//")
        or any(c in venv for c in "\0\n\r\\")
    ):
        raise ConfigError(
            f"venv path {venv!r} is not a normalised absolute POSIX path; use e.g. "
            "'/usr/share/python/app'"
        )
    return venv


def pyvenv_cfg(target: Target, *, prompt: str | None = None) -> str:
    """pyvenv.cfg as CPython's venv writes it on the target (PEP 405; docs/venv.md).

    No ``command`` line: it would name the build host, and it is informational only.
    """
    lines = [
        f"home = {posixpath.dirname(target.interpreter)}",
        "include-system-site-packages = false",
        f"version = {target.python_full_version}",
    ]
    if target.python_version >= (3, 11):
        # CPython's venv writes the resolved interpreter from 3.11 on.
        lines.append(f"executable = {target.interpreter}")
    if prompt is not None:
        lines.append(f"prompt = {prompt!r}")  # CPython writes repr() of the prompt
    return "\n".join(lines) + "\n"


def skeleton_entries(venv: str, target: Target, *, prompt: str | None = None) -> tuple[Entry, ...]:
    """Everything of the venv except the wheels' files."""
    check_venv_path(venv)
    root = venv.lstrip("/")
    src = f"venv skeleton for {target.name}"
    bin_dir = f"{venv}/bin"
    versioned = posixpath.basename(target.interpreter)  # python3.11
    entries = [
        dir_entry(root, source=src),
        dir_entry(f"{root}/bin", source=src),
        dir_entry(f"{root}/include", source=src),
        dir_entry(f"{root}/lib", source=src),
        dir_entry(f"{root}/lib/python{target.pyver}", source=src),
        dir_entry(f"{root}/{target.site_packages}", source=src),
        file_entry(f"{root}/pyvenv.cfg", pyvenv_cfg(target, prompt=prompt).encode(), source=src),
        # Relative, so the link stays inside the package's tree (lintian
        # absolute-symlink-in-top-level-folder); versioned, so a new python3 default
        # cannot silently swap the interpreter under the venv (docs/targets.md).
        symlink_entry(f"{root}/bin/{versioned}",
                      posixpath.relpath(target.interpreter, bin_dir), source=src),
        *(symlink_entry(f"{root}/bin/{name}", versioned, source=src)
          for name in interpreter_commands(target)[1:]),
    ]
    if target.arch.bits == 64:
        # CPython's venv adds lib64 -> lib on 64-bit non-macOS POSIX; the TARGET's bitness.
        entries.append(symlink_entry(f"{root}/lib64", "lib", source=src))
    entries.extend(activate_entries(venv, target.site_packages, prompt=prompt))
    return tuple(entries)


def interpreter_commands(target: Target) -> tuple[str, ...]:
    """The interpreter's names in the venv's bin/: the versioned link to the target's
    interpreter (``python3.11``), then ``python`` and ``python3``, links to it."""
    return (posixpath.basename(target.interpreter), "python", "python3")


@runtime_checkable
class WheelLike(Protocol):
    """What venv_entries needs of a cached wheel (wheels.CachedWheel has it)."""

    @property
    def path(self) -> Path: ...


def _path_of(wheel: Path | WheelLike) -> Path:
    return wheel.path if isinstance(wheel, WheelLike) else Path(wheel)


def _dist_name(wheel: Path) -> str | None:
    try:
        return canonicalize_name(parse_wheel_filename(wheel.name)[0])
    except InvalidWheelFilename:
        return None  # install_wheel reports it


def venv_entries(
    venv: str,
    target: Target,
    wheels: Sequence[Path | WheelLike],
    *,
    requested: Collection[str] = (),
    prompt: str | None = None,
) -> VenvLayout:
    """The whole venv at final path ``venv`` for ``target`` with ``wheels`` installed.

    ``wheels`` are paths or ``wheels.CachedWheel`` values (anything with ``.path``; its
    ``.requested``, when true, counts as requested).  ``requested`` names further
    distributions the user asked for (they get a REQUESTED file).
    Two wheels of one distribution, or two wheels writing one path, raise WheelError.
    """
    check_venv_path(venv)
    wanted = {canonicalize_name(n) for n in requested}
    entries = list(skeleton_entries(venv, target, prompt=prompt))
    owner = {e.path: e.source for e in entries}
    scripts: dict[str, tuple[str, ...]] = {}
    has_binary = False
    platforms: set[str] = set()
    needed: set[str] = set()
    shipped: set[str] = set()
    archives: list[LazyZip] = []
    files: dict[str, tuple[str, ...]] = {}
    script_extras: dict[str, frozenset[str]] = {}
    requires: dict[str, tuple[str, tuple[str, ...], frozenset[str]]] = {}
    try:
        for item in sorted(wheels, key=lambda w: _path_of(w).name):
            wheel = _path_of(item)
            asked = _dist_name(wheel) in wanted or bool(getattr(item, "requested", False))
            installed = install_wheel(wheel, venv, target, requested=asked,
                                      sha256=getattr(item, "sha256", None))
            archives.append(installed.archive)
            _check_new(installed, scripts, owner)
            entries.extend(installed.entries)
            scripts[installed.name] = installed.scripts
            files[installed.name] = tuple(entry.path for entry in installed.entries)
            script_extras.update(installed.script_extras)
            for script, extras in installed.script_extras.items():
                required = frozenset().union(
                    *(installed.extra_requires.get(extra, ()) for extra in extras))
                requires[script] = (installed.name, tuple(sorted(extras)), required)
            has_binary = has_binary or installed.has_binary
            platforms |= installed.platform_tags
            needed |= installed.needed
            shipped |= installed.shipped
    except BaseException:
        _close_all(archives)  # no layout is returned to close them
        raise
    unmet = {
        script: UnmetExtras(dist, extras, missing)
        for script, (dist, extras, required) in sorted(requires.items())
        if (missing := tuple(sorted(required - set(scripts))))
    }
    return VenvLayout(
        entries=tuple(entries),  # in install order: debfile's normalise() sorts
        scripts=dict(sorted(scripts.items())),
        has_binary=has_binary,
        platform_tags=frozenset(platforms),
        needed=frozenset(needed),
        shipped=frozenset(shipped),
        archives=tuple(archives),
        files=dict(sorted(files.items())),
        script_extras=dict(sorted(script_extras.items())),
        unmet_extras=unmet,
    )


def _check_new(installed: InstalledWheel, scripts: Mapping[str, object],
               owner: dict[str, str]) -> None:
    """Refuse a second wheel of one distribution, or two wheels writing one path."""
    if installed.name in scripts:
        raise WheelError(
            f"two wheels of distribution {installed.name!r} were given (the second is "
            f"{installed.wheel!r}); pass one wheel per distribution"
        )
    for entry in installed.entries:
        if entry.path in owner:
            raise WheelError(
                f"{('/' + entry.path)!r} is installed by both {owner[entry.path]!r} and "
                f"{entry.source!r}; these wheels conflict, drop one"
            )
        owner[entry.path] = entry.source


def _close_all(archives: Iterable[LazyZip]) -> None:
    for archive in archives:
        archive.close()
