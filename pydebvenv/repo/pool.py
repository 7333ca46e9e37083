"""Where things lie in a Debian repository: the pool path of a .deb, the index directories.

DebianRepository/Format: packages live in ``pool/<component>/<prefix>/<source>/`` where the
prefix is the source name's first letter, or its first four for names starting with ``lib``
(``pool/main/libf/libfoo/``), as in Debian's own archive; the file is named
``<package>_<version without epoch>_<architecture>.deb``.  Indexes live in
``dists/<suite>/<component>/binary-<arch>/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pydebvenv.debfile.control import (
    Control,
    deb_filename,
    validate_architecture,
    validate_package_name,
    validate_version,
)
from pydebvenv.errors import ArchiveError, ConfigError, PublishError
from pydebvenv.repo.stanza import source_name

__all__ = ["binary_dir", "check_name", "pool_filename", "pool_prefix", "remove_empty_dirs"]

# Suites and components become directory names and apt configuration words.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]*")


def check_name(what: str, value: str) -> str:
    """A suite, component or codename: one path component of letters, digits and ``.+_-``."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ConfigError(f"invalid {what} {value!r}: use letters, digits and . + _ - "
                          "(starting with a letter or digit), such as 'stable' or 'main'")
    return value


def pool_prefix(source: str) -> str:
    """``hello`` -> ``h``, ``libfoo`` -> ``libf`` (Debian's archive layout)."""
    return source[:4] if source.startswith("lib") else source[:1]


def pool_filename(component: str, control: Mapping[str, str], where: str) -> str:
    """The path, relative to the repository root, of the .deb whose control is ``control``.

    Every part of it comes from the package, so each is checked first: a name that is not a
    Debian package name could otherwise lead outside the pool.
    """
    try:
        package = validate_package_name(control["Package"])
        source = validate_package_name(source_name(control))
        version = validate_version(control["Version"])
        arch = validate_architecture(control["Architecture"])
    except ArchiveError as exc:
        raise PublishError(f"{where}: {exc}") from None
    name = deb_filename(Control(package, version, arch, maintainer="", description=""))
    return f"pool/{component}/{pool_prefix(source)}/{source}/{name}"


def binary_dir(suite_dir: Path, component: str, arch: str) -> Path:
    return suite_dir / component / f"binary-{arch}"


def remove_empty_dirs(start: Path, stop: Path) -> None:
    """Remove ``start`` and its parents while they are empty, up to (not including) ``stop``."""
    current = start
    while current != stop and stop in current.parents:
        try:
            current.rmdir()
        except OSError:  # not empty (or already gone): stop here
            return
        current = current.parent
