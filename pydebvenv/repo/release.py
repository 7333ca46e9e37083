"""The suite's Release file: its fields and the hashes of every index, both ways.

DebianRepository/Format ("Release files"): Origin, Label, Suite, Codename, Date (RFC 2822,
UTC), Architectures, Components, ``Acquire-By-Hash: yes``, then ``MD5Sum:`` and ``SHA256:``
blocks with one `` <hash> <size> <path>`` line per index file, the path relative to
``dists/<suite>/``.  apt (apt-secure(8)) trusts the indexes only through these hashes, so the
Release file is what is signed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["IndexFile", "Release", "format_date", "parse_date", "parse_release", "render_release"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FIELD = re.compile(r"^([!-9;-~]+):[ \t]*(.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class IndexFile:
    """One index as the Release file lists it: path under ``dists/<suite>/``, size, hashes."""

    path: str
    size: int
    md5: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Release:
    """What a suite's Release file says; ``origin``, ``label`` are left out when None."""

    suite: str
    codename: str
    date: datetime
    architectures: tuple[str, ...]
    components: tuple[str, ...]
    files: tuple[IndexFile, ...]
    origin: str | None = None
    label: str | None = None


def format_date(when: datetime) -> str:
    """RFC 2822 in UTC with English names whatever the locale: ``Sat, 01 Jun 2024 12:00:00 UTC``."""
    when = when.astimezone(UTC)
    return (f"{_DAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} {when.year} "
            f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} UTC")


def _block(name: str, files: Sequence[IndexFile], attr: str) -> list[str]:
    # the size right-aligned in 16 columns, as apt-ftparchive and dak write it
    return [f"{name}:"] + [f" {getattr(f, attr)} {f.size:>16} {f.path}" for f in files]


def render_release(release: Release) -> bytes:
    """The Release file, every line newline-terminated."""
    lines = [f"Origin: {release.origin}"] if release.origin else []
    lines += [f"Label: {release.label}"] if release.label else []
    lines += [
        f"Suite: {release.suite}",
        f"Codename: {release.codename}",
        f"Date: {format_date(release.date)}",
        f"Architectures: {' '.join(release.architectures)}",
        f"Components: {' '.join(release.components)}",
        "Acquire-By-Hash: yes",
    ]
    files = sorted(release.files, key=lambda f: f.path)
    lines += _block("MD5Sum", files, "md5") + _block("SHA256", files, "sha256")
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_release(text: str) -> dict[str, str]:
    """The single-line fields of a Release file (the hash blocks are left out)."""
    return {name: value.strip() for name, value in _FIELD.findall(text) if value.strip()}


def parse_date(value: str) -> datetime | None:
    """A Release file's Date, or None when it cannot be read."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
