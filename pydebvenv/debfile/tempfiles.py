"""Temporary files and directories that name their owner, and the removal of those whose owner died.

A build names each temporary ``<prefix><host>-<pid>-<random><suffix>`` and holds an exclusive
``flock(2)`` on it (on a ``.lock`` file inside a directory) while it works.  A build killed by
SIGKILL cannot clean up; a later build removes what it left, and never what a running build
owns: that build runs on this host under that pid, or it still holds the lock (on NFS, Linux
carries flock as the server's byte-range locks, so builds on other hosts see each other's).
docs/safety.md, "Temporary files".
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import stat
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock, and os.kill(pid, 0) would end the process
    fcntl = None  # type: ignore[assignment]

__all__ = ["FOREIGN_GRACE", "LOCK", "lock", "owned_dir", "owned_file", "remove_stale"]

#: An entry another host made is removed only when it is at least this old: between making
#: a file and locking it, its owner cannot be told from a dead one.
FOREIGN_GRACE = 60.0
#: The lock file inside an owned directory.
LOCK = ".lock"


def _host() -> str:
    # the first label of the host name, in characters that cannot be confused with the
    # separators of the name
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname().split(".")[0])[:32] or "host"


def _name(prefix: str, suffix: str) -> str:
    return f"{prefix}{_host()}-{os.getpid()}-{secrets.token_hex(8)}{suffix}"


def lock(fd: int) -> None:
    """Hold an exclusive lock on ``fd`` until it is closed (nothing where locks do not exist)."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks: the pid still says
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def owned_file(directory: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """A new file ``directory/<prefix>...<suffix>``, mode 0600, open (the descriptor) and
    locked until it is closed."""
    while True:
        path = directory / _name(prefix, suffix)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o600)
        except FileExistsError:
            continue
        lock(fd)
        return fd, path


def owned_dir(directory: Path, prefix: str) -> tuple[Path, int]:
    """A new directory ``directory/<prefix>...`` (mode 0700) and the descriptor of its lock
    file, locked until it is closed; close it before removing the directory."""
    while True:
        path = directory / _name(prefix, "")
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        break
    fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    lock(fd)
    return path, fd


def _alive_here(host: str, pid: int) -> bool:
    if host != _host():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists (kill(2))
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _lock_state(path: Path) -> str:
    """"held" when someone holds the lock of ``path``, "free" when nobody does, "unknown"
    when there is no lock file or the file system cannot tell."""
    assert fcntl is not None
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return "unknown"
    except OSError:
        return "held"  # not ours to open: keep it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return "held"
    except OSError:
        return "unknown"  # ENOLCK: no locks on this file system
    finally:
        os.close(fd)  # releases the lock taken here
    return "free"


def remove_stale(directory: Path, prefix: str) -> list[str]:
    """Remove what killed builds left in ``directory`` (names starting with ``prefix``);
    return the names removed.

    An entry goes only when its name says who made it, it belongs to this user, its owner
    no longer runs here (its pid is gone), nobody holds its lock, and, for another host's
    entry, it is older than FOREIGN_GRACE.  Anything else, a symlink included, stays.  On
    systems without flock (Windows) nothing is removed.
    """
    if fcntl is None:
        return []
    pattern = re.compile(re.escape(prefix) + r"(?P<host>[A-Za-z0-9_]+)-(?P<pid>[0-9]+)-"
                         r"[0-9a-f]{16}(?:\.[A-Za-z0-9.]+)?")
    removed: list[str] = []
    try:
        names = sorted(name for name in os.listdir(directory) if name.startswith(prefix))
    except OSError:
        return removed
    for name in names:
        found = pattern.fullmatch(name)
        if found is None:
            continue
        host, pid = found["host"], int(found["pid"])
        if _alive_here(host, pid):
            continue
        path = directory / name
        try:
            info = path.lstat()
        except OSError:
            continue
        if info.st_uid != os.getuid():
            continue  # never another user's files (a shared /tmp)
        if host != _host() and time.time() - info.st_mtime < FOREIGN_GRACE:
            continue
        if stat.S_ISREG(info.st_mode):
            state = _lock_state(path)
        elif stat.S_ISDIR(info.st_mode):
            state = _lock_state(path / LOCK)
        else:
            continue
        # "unknown" is enough only when the owner was verified dead here
        if state == "held" or (state == "unknown" and host != _host()):
            continue
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        removed.append(name)
    return removed
