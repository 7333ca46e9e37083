"""diff(): what installing one .deb over another changes, for a deploy's review.

Both packages are read and verified with read_deb.  Compared: the control fields; the
distributions in the venv (from the bundled ``usr/share/doc/<package>/pylock.toml`` when both
packages carry one, docs/bundled.md; else from the ``*.dist-info`` directories in data.tar,
which every installed wheel leaves, whatever tool built the package); the files (added,
removed, or changed in content, mode, owner, kind or link target, with sizes); the maintainer
scripts (with a unified diff); the conffiles (listed, or changed in content, which dpkg asks
about when the admin changed the file).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pydebvenv.debfile.reader import DebInfo, read_deb
from pydebvenv.debfile.tarwalk import DebFileEntry
from pydebvenv.debian.bom import is_bundled_list, read_bundled

__all__ = [
    "ConffileChange",
    "DebDiff",
    "DependencyChange",
    "FieldChange",
    "FileChange",
    "ScriptChange",
    "Side",
    "diff",
]

Change = Literal["added", "removed", "changed"]
DependencyKind = Literal["upgraded", "downgraded", "added", "removed", "rebuilt", "changed"]


@dataclass(frozen=True, slots=True)
class Side:
    """One of the two packages: where it is and what it is."""

    path: str
    package: str
    version: str
    architecture: str


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    old: str | None  # None: the field is new
    new: str | None  # None: the field is gone


@dataclass(frozen=True, slots=True)
class DependencyChange:
    """A distribution in the venv: ``rebuilt`` is the same version from another wheel file
    (another hash); ``changed`` is a version change that PEP 440 cannot order."""

    name: str
    change: DependencyKind
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str  # as dpkg-deb --contents writes it: ./usr/bin/x, ./usr/share/ (directories)
    change: Change
    kind: str  # file, dir, symlink, hardlink (the new one's, or the old one's if removed)
    old_size: int | None  # sizes of regular files; None for anything else or if absent
    new_size: int | None
    what: str  # for "changed": what differs (content, mode 0644 -> 0755, ...)


@dataclass(frozen=True, slots=True)
class ScriptChange:
    name: str  # preinst, postinst, prerm, postrm, config, triggers
    change: Change
    diff: tuple[str, ...]  # unified diff lines


@dataclass(frozen=True, slots=True)
class ConffileChange:
    path: str  # the conffiles line: /etc/x, or remove-on-upgrade /etc/y
    change: Change  # "changed": listed in both, the shipped content differs


@dataclass(frozen=True, slots=True)
class DebDiff:
    """Everything that differs between ``old`` and ``new``; empty tuples where nothing does."""

    old: Side
    new: Side
    control: tuple[FieldChange, ...]
    dependencies_from: Literal["pylock.toml", "dist-info"]
    dependencies: tuple[DependencyChange, ...]
    files: tuple[FileChange, ...]
    scripts: tuple[ScriptChange, ...]
    conffiles: tuple[ConffileChange, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping with the same structure (``pydebvenv diff --json``)."""
        return asdict(self)


def _side(info: DebInfo) -> Side:
    control = info.control
    return Side(str(info.path), control["Package"], control["Version"], control["Architecture"])


def _control(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[FieldChange, ...]:
    names = list(old) + [name for name in new if name not in old]
    return tuple(FieldChange(name, old.get(name), new.get(name)) for name in names
                 if old.get(name) != new.get(name))


# --- the distributions in the venv ------------------------------------------------------

def _from_pylock(info: DebInfo) -> dict[str, tuple[str, str]] | None:
    """name -> (version, wheel sha256) from the bundled list; None when there is none."""
    found = [path for path in info.contents if is_bundled_list(path)]
    if not found:
        return None
    wheels = read_bundled(info.contents[found[0]], f"{str(info.path)!r}: /{found[0]}")
    return {canonicalize_name(w.name): (w.version, w.sha256) for w in wheels}


def _from_dist_info(info: DebInfo) -> dict[str, tuple[str, str]]:
    """name -> (version, "") from every ``site-packages/<name>-<version>.dist-info/``
    directory (the installed-project format: PyPA "Recording installed projects")."""
    dists: dict[str, tuple[str, str]] = {}
    for entry in info.files:
        parts = entry.path.rstrip("/").split("/")
        if len(parts) < 2 or parts[-2] != "site-packages" or \
                not parts[-1].endswith(".dist-info"):
            continue
        name, _, version = parts[-1][:-len(".dist-info")].partition("-")
        if name and version:
            dists[canonicalize_name(name)] = (version, "")
    return dists


def _version_change(old: str, new: str) -> DependencyKind:
    try:
        return "upgraded" if Version(new) > Version(old) else \
            "downgraded" if Version(new) < Version(old) else "rebuilt"
    except InvalidVersion:
        return "changed"


def _dependencies(old: dict[str, tuple[str, str]], new: dict[str, tuple[str, str]]
                  ) -> tuple[DependencyChange, ...]:
    changes = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before is None:
            changes.append(DependencyChange(name, "added", None, new[name][0]))
        elif after is None:
            changes.append(DependencyChange(name, "removed", before[0], None))
        elif before[0] != after[0]:
            changes.append(DependencyChange(name, _version_change(before[0], after[0]),
                                            before[0], after[0]))
        elif before[1] != after[1]:  # same version, another wheel file
            changes.append(DependencyChange(name, "rebuilt", before[0], after[0]))
    return tuple(changes)


# --- files, scripts, conffiles ----------------------------------------------------------

def _what(old: DebFileEntry, new: DebFileEntry) -> str:
    what = []
    if old.kind != new.kind:
        what.append(f"{old.kind} -> {new.kind}")
    elif old.md5 != new.md5:
        what.append("content")
    if old.link != new.link and old.kind == new.kind:
        what.append(f"link {old.link} -> {new.link}")
    if old.mode != new.mode:
        what.append(f"mode {old.mode:04o} -> {new.mode:04o}")
    if old.owner != new.owner:
        what.append(f"owner {old.owner} -> {new.owner}")
    return ", ".join(what)


def _size(entry: DebFileEntry) -> int | None:
    return entry.size if entry.kind == "file" else None


def _files(old: tuple[DebFileEntry, ...], new: tuple[DebFileEntry, ...]
           ) -> tuple[FileChange, ...]:
    before = {entry.path.rstrip("/") or ".": entry for entry in old}
    after = {entry.path.rstrip("/") or ".": entry for entry in new}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was is None and now is not None:
            changes.append(FileChange(now.path, "added", now.kind, None, _size(now), ""))
        elif now is None and was is not None:
            changes.append(FileChange(was.path, "removed", was.kind, _size(was), None, ""))
        elif was is not None and now is not None and (what := _what(was, now)):
            changes.append(FileChange(now.path, "changed", now.kind, _size(was), _size(now),
                                      what))
    return tuple(changes)


def _scripts(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[ScriptChange, ...]:
    changes = []
    for name in sorted(old.keys() | new.keys()):
        if old.get(name) == new.get(name):
            continue
        change: Change = "added" if name not in old else "removed" if name not in new \
            else "changed"
        lines = difflib.unified_diff(old.get(name, "").splitlines(),
                                     new.get(name, "").splitlines(), f"old/{name}",
                                     f"new/{name}", lineterm="")
        changes.append(ScriptChange(name, change, tuple(lines)))
    return tuple(changes)


def _conffile_path(line: str) -> str:
    return line.split(" ", 1)[1] if not line.startswith("/") and " " in line else line


def _conffiles(old: DebInfo, new: DebInfo) -> tuple[ConffileChange, ...]:
    changes = [ConffileChange(line, "removed") for line in old.conffiles
               if line not in new.conffiles]
    changes += [ConffileChange(line, "added") for line in new.conffiles
                if line not in old.conffiles]
    # md5sums leaves conffiles out (dh_md5sums does): their digests come from data.tar
    old_md5 = {entry.path: entry.md5 for entry in old.files}
    new_md5 = {entry.path: entry.md5 for entry in new.files}
    for line in new.conffiles:
        if line in old.conffiles:
            path = "." + _conffile_path(line)
            if old_md5.get(path) != new_md5.get(path):
                changes.append(ConffileChange(line, "changed"))
    return tuple(sorted(changes, key=lambda c: (_conffile_path(c.path), c.change)))


def diff(old: str | Path, new: str | Path) -> DebDiff:
    """What changes when ``new`` is installed over ``old`` (both read and verified)."""
    before = read_deb(Path(old), keep=is_bundled_list)
    after = read_deb(Path(new), keep=is_bundled_list)
    old_dists, new_dists = _from_pylock(before), _from_pylock(after)
    source: Literal["pylock.toml", "dist-info"] = "pylock.toml"
    if old_dists is None or new_dists is None:
        source = "dist-info"  # compare like with like
        old_dists, new_dists = _from_dist_info(before), _from_dist_info(after)
    return DebDiff(
        old=_side(before), new=_side(after),
        control=_control(before.control, after.control),
        dependencies_from=source,
        dependencies=_dependencies(old_dists, new_dists),
        files=_files(before.files, after.files),
        scripts=_scripts(before.scripts, after.scripts),
        conffiles=_conffiles(before, after),
    )
