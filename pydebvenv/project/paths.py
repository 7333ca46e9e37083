"""The path rules of a build: where the venv may live, what may be read, where files may go.

Three rules, explained with their sources in docs/safety.md:

* the venv is a directory of its own (``<prefix>/<package>`` below a tree no other package
  ships into), so the maintainer scripts may tidy it without touching anyone else's files;
* every file a build reads because the project names it lies inside the project directory
  once symlinks are resolved, so building a project never packs the builder's secrets;
* an extra file never lands where the system keeps state that no package owns
  (``/etc/passwd``, dpkg's database, ``/home``...).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pydebvenv.errors import ConfigError

__all__ = [
    "DENIED_FILES",
    "DENIED_TREES",
    "DESTINATION_TREES",
    "VENV_TREES",
    "destination_problem",
    "inside_project",
    "local_location",
    "prefix_problem",
    "venv_home",
    "venv_problem",
    "walk_project_dir",
]

#: Trees a venv may live below: pydebvenv's default home and the FHS add-on tree (FHS 3.0
#: §3.13 "/opt: Add-on application software packages").  ``/usr/lib/<package>`` is allowed
#: too (FHS §4.6: an application's own subdirectory of /usr/lib), see venv_problem().
VENV_TREES = ("/usr/share/python", "/opt")

#: Top-level trees a package may ship extra files into (Debian Policy §9.1, FHS 3.0).
DESTINATION_TREES = ("/etc", "/opt", "/usr", "/var")
#: Trees inside those that hold no package's files, or hold the package manager's state.
DENIED_TREES = (
    "/usr/local",  # Policy §9.1.2: the local administrator's, never a package's
    "/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt", "/var/cache/debconf",
    "/var/lib/ucf",  # dpkg's, apt's, debconf's and ucf's own state
    "/var/tmp", "/var/run", "/var/lock",  # scratch space and run-time state (FHS §5)
)  # fmt: skip
#: Files the system needs that no package ships: accounts, host identity, name resolution,
#: mounts, time, the dynamic linker (passwd(5), shadow(5), group(5), gshadow(5), subuid(5),
#: hosts(5), hostname(5), resolv.conf(5), fstab(5), crypttab(5), machine-id(5),
#: localtime(5), ld.so(8)).  Shipping one would replace the administrator's on install and
#: delete it on removal.
DENIED_FILES = frozenset({
    "/etc/passwd", "/etc/passwd-", "/etc/shadow", "/etc/shadow-", "/etc/group",
    "/etc/group-", "/etc/gshadow", "/etc/gshadow-", "/etc/subuid", "/etc/subuid-",
    "/etc/subgid", "/etc/subgid-", "/etc/sudoers", "/etc/hosts", "/etc/hostname",
    "/etc/mailname", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/fstab", "/etc/crypttab",
    "/etc/mtab", "/etc/machine-id", "/etc/localtime", "/etc/timezone", "/etc/adjtime",
    "/etc/ld.so.preload", "/etc/ld.so.cache", "/etc/shells", "/etc/environment",
})  # fmt: skip

# A venv path is written into shebangs, pyvenv.cfg and shell scripts: portable file name
# characters only (POSIX "portable filename character set", plus "+" as in package names).
_COMPONENT = re.compile(r"[A-Za-z0-9._+-]+")


def _under(path: str, tree: str) -> bool:
    return path == tree or path.startswith(tree.rstrip("/") + "/")


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` is not a normalised absolute directory of portable names, or None."""
    if not prefix.startswith("/") or prefix.startswith("//"):
        return "it must be an absolute path starting with a single '/'"
    trimmed = prefix.rstrip("/") or "/"
    parts = trimmed.split("/")[1:]
    if trimmed == "/" or posixpath.normpath(trimmed) != trimmed:
        return "it must be a normalised directory other than '/' (no '//', '.' or '..')"
    bad = next((part for part in parts if not _COMPONENT.fullmatch(part)), None)
    if bad is not None:
        return f"its part {bad!r} may only use the letters A-Z a-z, digits and . _ + -"
    return None


def venv_problem(venv: str) -> str | None:
    """Why ``venv`` is not a directory the package may call its own, or None.

    The venv is ``<prefix>/<package>``: its prefix must be ``/usr/share/python`` or ``/opt``
    (or below them), or ``/usr/lib/<package>`` (or below it), so that no other package
    ships files into it and purge may tidy it (docs/safety.md, "The venv's home").
    """
    problem = prefix_problem(venv)
    if problem is not None:
        return problem
    prefix, name = posixpath.split(venv)
    if any(_under(prefix, tree) for tree in VENV_TREES) or _under(prefix, f"/usr/lib/{name}"):
        return None
    return (f"{prefix!r} is not a tree the package may own a directory in: use "
            f"{' or '.join(VENV_TREES)} (or a directory below them), or /usr/lib/{name}")


def venv_home(prefix: str, package: str, where: str) -> str:
    """The venv's absolute path ``<prefix>/<package>``; ConfigError naming ``where`` when it
    is not a directory of the package's own."""
    venv = f"{prefix.rstrip('/')}/{package}"
    problem = venv_problem(venv)
    if problem is not None:
        raise ConfigError(
            f"{where}: the venv would be {venv!r}, and {problem}; the package's purge tidies "
            "that directory, so it must be the package's alone (docs/safety.md)"
        )
    return venv


def destination_problem(destination: str) -> str | None:
    """Why an extra file must not be shipped at ``destination`` (absolute, normalised), or None."""
    if any(_under(destination, tree) for tree in DENIED_TREES):
        tree = next(tree for tree in DENIED_TREES if _under(destination, tree))
        return f"{tree} holds no package's files"
    if destination in DENIED_FILES:
        return "the system needs that file and no package owns it"
    if not any(_under(destination, tree) and destination != tree for tree in DESTINATION_TREES):
        return f"packages ship files below {', '.join(DESTINATION_TREES)} only"
    return None


def inside_project(root: Path, path: Path, where: str, *, also: Sequence[Path] = ()) -> Path:
    """``path`` with symlinks resolved, if it lies inside the project directory ``root`` (or
    one of the directories ``also``); else ConfigError naming ``where`` and the path."""
    bases = [base.resolve() for base in (root, *also)]
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL character
        raise ConfigError(f"{where}: cannot resolve {str(path)!r} ({exc}); fix the path") \
            from None
    if not any(resolved == base or resolved.is_relative_to(base) for base in bases):
        shown = str(path) if str(path) == str(resolved) else f"{path} -> {resolved}"
        raise ConfigError(
            f"{where}: {shown!r} is outside the project directory {str(bases[0])!r}; a "
            "build reads only files inside the project: copy the file into it"
        )
    return resolved


def local_location(value: str, base: Path) -> Path | None:
    """The directory or file a find-links or index value names on this machine (a path,
    relative to ``base``, or a ``file:`` URL), or None for a remote URL."""
    scheme = urlsplit(value).scheme
    if scheme == "file":
        return Path(url2pathname(urlsplit(value).path))
    if "://" in value or (len(scheme) > 1 and ":" in value):
        return None
    return base / value


def walk_project_dir(root: Path, directory: Path, where: str) -> Iterator[tuple[str, Path]]:
    """(POSIX path relative to ``directory``, resolved file) of every file below
    ``directory``, sorted, each checked to lie inside the project ``root``.

    Symlinks are followed when they stay inside the project (a link out is an error), as
    ``cp -rL`` would; a link back to a directory being walked (a loop) is skipped.
    """

    def walk(current: Path, rel: str, ancestors: frozenset[Path]) -> Iterator[tuple[str, Path]]:
        real = inside_project(root, current, where)
        if real in ancestors:
            return
        try:
            children = sorted(current.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            raise ConfigError(f"{where}: cannot list {str(current)!r} ({exc.strerror}); "
                              "fix its permissions") from None
        for child in children:
            name = f"{rel}{child.name}"
            resolved = inside_project(root, child, f"{where}: {name}")
            if resolved.is_dir():
                yield from walk(child, name + "/", ancestors | {real})
            elif resolved.is_file():
                yield name, resolved

    yield from walk(directory, "", frozenset())
