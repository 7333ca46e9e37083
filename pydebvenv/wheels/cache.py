"""The wheel cache on disk: where it is, which wheel files it holds, their hashes and metadata.

Wheel file names follow PEP 427 (and PEP 491); a file whose name is not one, or that is
still being written (hidden or ``.part``/``.tmp`` names), is never offered.  Choosing among
the wheels is select.py's, the closure over many requirements resolve.py's.
"""

from __future__ import annotations

import email.message
import email.parser
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from pydebvenv.errors import WheelError
from pydebvenv.redact import redact

__all__ = [
    "CachedWheel",
    "FoundWheel",
    "cache_home",
    "default_wheel_cache",
    "file_sha256",
    "find_wheels",
    "read_metadata",
    "read_wheel_metadata",
]


def _user_cache_dir() -> Path:
    """$XDG_CACHE_HOME, else ~/.cache (XDG Base Directory specification)."""
    # the spec: a relative $XDG_CACHE_HOME is invalid and must be ignored
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"


def default_wheel_cache() -> Path:
    """The per-user wheel cache: $PYDEBVENV_WHEEL_CACHE, else the XDG cache directory."""
    explicit = os.environ.get("PYDEBVENV_WHEEL_CACHE")
    return Path(explicit) if explicit else _user_cache_dir() / "pydebvenv" / "wheels"


def cache_home() -> Path:
    """Where builds keep what they reuse besides wheels (build environments, built wheels).

    $PYDEBVENV_CACHE, else $XDG_CACHE_HOME/pydebvenv, else ~/.cache/pydebvenv.
    """
    explicit = os.environ.get("PYDEBVENV_CACHE")
    return Path(explicit) if explicit else _user_cache_dir() / "pydebvenv"


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
        return read_metadata(self.path, self.name)


@dataclass(frozen=True, slots=True)
class FoundWheel:
    """A wheel file found in the cache; hashed only if it is chosen or hash-pinned."""

    path: Path
    name: NormalizedName
    version: Version
    tags: frozenset[Tag]


def find_wheels(cache: Path) -> list[FoundWheel]:
    """Every wheel file in ``cache`` (and its subdirectories), sorted by name, version and
    file name; not hashed yet (only the chosen and the hash-pinned ones are)."""
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
    return read_metadata(Path(path), name)


def read_metadata(path: Path, name: NormalizedName) -> email.message.Message:
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
    # core metadata is UTF-8 ("Core metadata specifications"); BytesParser would read it as
    # ASCII and turn a name such as "Łukasz" into undecodable bytes
    meta = email.parser.Parser().parsestr(data.decode("utf-8", "replace"))
    for field in _URL_FIELDS:
        for value in meta.get_all(field) or []:
            if redact(str(value)) != str(value):
                raise WheelError(
                    f"wheel {path.name!r}: METADATA {field} {redact(str(value))!r} holds a "
                    "credential (user:password@ in a URL), which the package would ship; "
                    "remove it from the project's metadata and rebuild the wheel"
                )
    return meta


# The METADATA fields that hold URLs (core metadata: Requires-Dist may be "name @ URL").
_URL_FIELDS = ("Requires-Dist", "Project-URL", "Home-page", "Download-URL")
