"""Scratch directories: made for one command, removed after it, never failing it on the way out.

A build's scratch space (the application's wheel, pip's staging) lives in the system's
temporary directory (``tempfile.gettempdir()``: ``$TMPDIR``, else ``/tmp`` on POSIX), not in
the output directory: only the package's own temporary file goes there, for the atomic
rename.  Removing scratch space can fail after the work itself succeeded (a file another
program still holds open on Windows, a FUSE filesystem that keeps an unlinked open file as
a hidden entry, a virus scanner): that is reported in one line and never replaces the
command's result or its error.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydebvenv.debfile.tempfiles import owned_dir, remove_stale

__all__ = ["PREFIX", "remove_scratch", "scratch_dir"]


#: How a scratch directory's name starts, in the system's temporary directory.
PREFIX = "pydebvenv-"


@contextmanager
def scratch_dir(warn: Callable[[str], None]) -> Iterator[Path]:
    """A new private directory in the system's temporary directory, removed when the block
    ends, however it ends; a failure to remove it goes to ``warn``.

    The directory is named for this process and locked while the block runs, and what
    killed builds left there is removed first (debfile/tempfiles.py).
    """
    parent = Path(tempfile.gettempdir())
    remove_stale(parent, PREFIX)
    path, lock_fd = owned_dir(parent, PREFIX)
    try:
        yield path
    finally:
        os.close(lock_fd)  # closed before its directory goes (Windows, FUSE)
        remove_scratch(path, warn)


def remove_scratch(path: Path, warn: Callable[[str], None]) -> None:
    """Remove the tree at ``path`` as far as possible; say in one line what could not be."""
    try:
        shutil.rmtree(path)
    except OSError as exc:
        shutil.rmtree(path, ignore_errors=True)  # what can still go, goes
        if path.exists():
            reason = exc.strerror or str(exc)
            where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
            warn(f"could not remove the temporary directory {path}: {reason}{where}; "
                 "delete it by hand")
