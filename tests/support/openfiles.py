"""Windows' rule for open files, on Linux: a file this process holds open cannot be removed
or renamed, nor can the directory holding it.

Windows opens files without FILE_SHARE_DELETE (CPython's open() does), so DeleteFile and
MoveFileEx fail with a sharing violation (WinError 32) while any handle is open; Linux
allows both.  Tests that patch the removal and rename functions with
:func:`refuse_open_files` fail the way a Windows build would whenever pydebvenv removes or
renames something it has not closed.  What is open is read from ``/proc/self/fd``, so every
way of opening counts: open(), os.open, zipfile, tempfile, subprocess pipes.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import Any

import pytest

__all__ = ["open_paths", "refuse_open_files"]

_MESSAGE = "The process cannot access the file because it is being used by another process"


def open_paths() -> set[str]:
    """The absolute paths of the files and directories this process has open now."""
    paths = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
        if target.startswith("/"):
            paths.add(target)
    return paths


def _full(path: Any, dir_fd: int | None) -> str:
    name = os.fsdecode(os.fspath(path))
    if dir_fd is not None and not os.path.isabs(name):
        return os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), name)
    parent, base = os.path.split(os.path.abspath(name))
    return os.path.join(os.path.realpath(parent), base)  # as /proc names it


def refuse_open_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Patch os.unlink/remove/rmdir/rename/replace to refuse what is open; return the refusals.

    shutil.rmtree and tempfile go through os.unlink and os.rmdir, so they are covered.
    A directory is refused while a file under it is open (on Windows the file's own
    removal would have failed first).
    """
    refused: list[str] = []

    def check(full: str, *, tree: bool) -> None:
        held = open_paths()
        if full in held or (tree and any(p.startswith(full + "/") for p in held)):
            refused.append(full)
            raise PermissionError(errno.EACCES, _MESSAGE, full)

    def guard(real: Callable[..., Any], tree: bool) -> Callable[..., Any]:
        def patched(path: Any, *args: Any, dir_fd: int | None = None, **kw: Any) -> Any:
            check(_full(path, dir_fd), tree=tree)
            return real(path, *args, dir_fd=dir_fd, **kw) if dir_fd is not None \
                else real(path, *args, **kw)
        return patched

    def guard_move(real: Callable[..., Any]) -> Callable[..., Any]:
        def patched(src: Any, dst: Any, *args: Any, src_dir_fd: int | None = None,
                    dst_dir_fd: int | None = None, **kw: Any) -> Any:
            check(_full(src, src_dir_fd), tree=True)
            if os.path.lexists(_full(dst, dst_dir_fd)):
                check(_full(dst, dst_dir_fd), tree=True)  # replacing an open file fails too
            if src_dir_fd is not None or dst_dir_fd is not None:
                kw.update(src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
            return real(src, dst, *args, **kw)
        return patched

    monkeypatch.setattr(os, "unlink", guard(os.unlink, tree=False))
    monkeypatch.setattr(os, "remove", guard(os.remove, tree=False))
    monkeypatch.setattr(os, "rmdir", guard(os.rmdir, tree=True))
    monkeypatch.setattr(os, "rename", guard_move(os.rename))
    monkeypatch.setattr(os, "replace", guard_move(os.replace))
    return refused
