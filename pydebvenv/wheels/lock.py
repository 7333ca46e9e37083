"""The lock: which files were chosen for one target, and for which requirements.

``fetch`` writes it; ``build`` (online or offline) installs exactly it while it matches the
requirements: ``requirements`` is the digest of the requirement inputs it was resolved
from (project/sources.py ``requirements_digest``), so a changed requirements file,
[project] dependency or extra shows (docs/lock.md).  The lock is TOML, written in a fixed
order (sorted entries, fixed key order) so the same choice gives the same bytes, with mode
0644.  It never holds credentials: ``index`` is a URL with any ``user:password@`` removed
by the writer as a last line of defence.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydebvenv.errors import ConfigError, FetchError
from pydebvenv.redact import redact

__all__ = [
    "LOCK_VERSION",
    "Lock",
    "LockedWheel",
    "lock_text",
    "matching_lock",
    "read_lock",
    "write_lock",
]

#: bumped when the file's meaning changes; readers refuse versions they do not know
#: (2: the requirements digest, compiled-for)
LOCK_VERSION = 2

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class LockedWheel:
    """One file in the cache (a wheel, or an sdist among the build requirements)."""

    name: str  # the distribution's name as its metadata spells it
    version: str
    filename: str  # the file's name inside the wheel cache
    sha256: str  # hex digest of the file's bytes
    index: str  # where it came from: the index (or find-links) URL, without credentials
    # a pure wheel chosen although the index has compiled wheels of this version for
    # other platforms: their platform tags (reported by build; empty otherwise)
    compiled_for: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lock:
    """What ``fetch`` chose for one target: run-time wheels and build requirements (host)."""

    target: str  # Target.name, "debian-12/amd64"
    wheels: tuple[LockedWheel, ...] = ()
    build_requires: tuple[LockedWheel, ...] = ()
    requirements: str = ""  # sha256 (hex) of the requirement inputs it was resolved from


def _toml_string(value: str) -> str:
    # JSON string escapes are a subset of TOML basic-string escapes (TOML 1.0 "String")
    return json.dumps(value, ensure_ascii=False)


def _table(header: str, wheels: Iterable[LockedWheel]) -> list[str]:
    lines: list[str] = []
    for w in sorted(wheels, key=lambda w: (w.name.lower(), w.version, w.filename)):
        lines += [
            "",
            f"[[{header}]]",
            f"name = {_toml_string(w.name)}",
            f"version = {_toml_string(w.version)}",
            f"filename = {_toml_string(w.filename)}",
            f"sha256 = {_toml_string(w.sha256)}",
            f"index = {_toml_string(redact(w.index))}",
        ]
        if w.compiled_for:
            lines.append(f"compiled-for = [{', '.join(map(_toml_string, w.compiled_for))}]")
    return lines


def lock_text(lock: Lock) -> str:
    """The lock as TOML text (deterministic)."""
    lines = [
        "# pydebvenv lock: the files `pydebvenv fetch` chose for one target.",
        "# `pydebvenv build` installs exactly these while the requirements are unchanged.",
        f"version = {LOCK_VERSION}",
        f"target = {_toml_string(lock.target)}",
        f"requirements = {_toml_string(lock.requirements)}",
    ]
    lines += _table("wheel", lock.wheels)
    lines += _table("build-requires", lock.build_requires)
    return "\n".join(lines) + "\n"


def write_lock(lock: Lock, path: Path | str) -> None:
    """Write ``lock`` to ``path`` atomically (temporary file in the same directory, rename),
    mode 0644: a lock is meant to be read by others and committed, never private."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise FetchError(f"cannot write the lock file {str(path)!r}: {exc.strerror}; pass "
                         "a writable place with --lock") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(lock_text(lock))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise FetchError(f"cannot write the lock file {str(path)!r}: {exc.strerror}; make "
                         "room, or pass a writable place with --lock") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _wheels(path: Path, data: Mapping[str, Any], key: str) -> tuple[LockedWheel, ...]:
    entries = data.get(key, [])
    if not isinstance(entries, list):
        raise ConfigError(f"lock file {str(path)!r}: {key!r} must be an array of tables; "
                          "run `pydebvenv fetch` again to rewrite it")
    out = []
    for i, entry in enumerate(entries):
        fields = ("name", "version", "filename", "sha256", "index")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in fields):
            raise ConfigError(f"lock file {str(path)!r}: entry {i} of {key!r} lacks one of "
                              f"{', '.join(fields)}; run `pydebvenv fetch` again to rewrite it")
        if not _SHA256.fullmatch(entry["sha256"]):
            raise ConfigError(f"lock file {str(path)!r}: bad sha256 {entry['sha256']!r} for "
                              f"{entry['filename']!r}; run `pydebvenv fetch` again")
        if "/" in entry["filename"] or "\\" in entry["filename"]:
            raise ConfigError(f"lock file {str(path)!r}: filename {entry['filename']!r} is not "
                              "a plain file name; run `pydebvenv fetch` again")
        compiled = entry.get("compiled-for", [])
        if not isinstance(compiled, list) or not all(isinstance(t, str) for t in compiled):
            raise ConfigError(f"lock file {str(path)!r}: compiled-for of {entry['filename']!r} "
                              "must be a list of strings; run `pydebvenv fetch` again")
        name, version, filename, sha256, index = (entry[f] for f in fields)
        out.append(LockedWheel(name, version, filename, sha256, index, tuple(compiled)))
    return tuple(out)


def read_lock(path: Path | str) -> Lock:
    """Read a lock written by ``write_lock``; ConfigError when it is missing or malformed."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no lock file at {str(path)!r}; run `pydebvenv fetch` first") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read lock file {str(path)!r} ({exc}); "
                          "run `pydebvenv fetch` again to rewrite it") from exc
    if data.get("version") != LOCK_VERSION:
        raise ConfigError(f"lock file {str(path)!r} has version {data.get('version')!r}, this "
                          f"pydebvenv reads {LOCK_VERSION}; run `pydebvenv fetch` again")
    target = data.get("target")
    requirements = data.get("requirements")
    if not isinstance(target, str) or not isinstance(requirements, str):
        raise ConfigError(f"lock file {str(path)!r} names no target or requirements; run "
                          "`pydebvenv fetch` again")
    return Lock(target, _wheels(path, data, "wheel"), _wheels(path, data, "build-requires"),
                requirements)


def matching_lock(path: Path, target: str, requirements: str) -> tuple[Lock | None, str]:
    """The lock at ``path`` when it is for ``target`` and was resolved from the requirement
    inputs whose digest is ``requirements``; else None and why not, as a phrase
    ("no lock ...", "the requirements changed since ... was written")."""
    if not path.is_file():
        return None, f"no lock for {target} ({path.name})"
    try:
        lock = read_lock(path)
    except ConfigError as exc:
        return None, str(exc)
    if lock.target != target:
        return None, f"the lock {str(path)!r} is for {lock.target}, not {target}"
    if lock.requirements != requirements:
        return None, f"the requirements changed since {str(path)!r} was written"
    return lock, ""
