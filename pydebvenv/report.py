"""The one reporter: phases with their duration, messages, download progress and the final line.

Library code never prints; it is handed a Reporter (or ``Reporter.silent()``).  Durations
are for humans only and never reach a package.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

__all__ = ["NORMAL", "QUIET", "VERBOSE", "Reporter"]

QUIET, NORMAL, VERBOSE = -1, 0, 1


class Reporter:
    """Writes progress to ``stream``.

    ``verbosity``: -1 (``-q``) prints only the final path, 0 prints phases and messages,
    1 or more (``-v``) adds details (``debug``).
    """

    def __init__(self, stream: TextIO, verbosity: int = NORMAL, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.verbosity = verbosity
        self._clock = clock
        self._depth = 0
        self._progress_open = False

    @classmethod
    def silent(cls) -> Reporter:
        """A reporter that prints nothing (the library's default)."""
        return cls(io.StringIO(), QUIET - 1)

    def _write(self, text: str) -> None:
        if self._progress_open:  # end a "\r" progress line before anything else
            self.stream.write("\n")
            self._progress_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def info(self, message: str) -> None:
        """A message shown unless ``-q``."""
        if self.verbosity >= NORMAL:
            self._write("  " * self._depth + message)

    def warning(self, message: str) -> None:
        """A problem that leaves the command's result standing (shown unless ``-q``)."""
        self.info(f"warning: {message}")

    def debug(self, message: str) -> None:
        """A detail shown only with ``-v``."""
        if self.verbosity >= VERBOSE:
            self._write("  " * self._depth + message)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Announce ``name``, run the block, then print how long it took."""
        self.info(f"{name} ...")
        start = self._clock()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        self.info(f"{name}: done in {self._clock() - start:.1f} s")

    def progress(self, label: str, done: int, total: int | None = None) -> None:
        """Bytes (or items) ``done`` of ``total`` for a long download.

        On a terminal the line is rewritten in place; elsewhere only completion is shown,
        so logs stay short.
        """
        if self.verbosity < NORMAL:
            return
        finished = total is not None and done >= total
        amount = f"{done:,}" + (f" / {total:,}" if total is not None else "")
        if self.stream.isatty():
            self.stream.write(f"\r{'  ' * self._depth}{label}: {amount}")
            self._progress_open = not finished
            if finished:
                self.stream.write("\n")
            self.stream.flush()
        elif finished:
            self.info(f"{label}: {amount}")

    def summary(self, message: str, path: Path) -> None:
        """The final line of a command that wrote ``path`` (``-q``: the path only)."""
        if self.verbosity < QUIET:
            return
        self._write(str(path) if self.verbosity == QUIET else message)

    def done(self, path: Path) -> None:
        """The final line: the package's path, size and sha256 (``-q``: the path only)."""
        if self.verbosity < QUIET:
            return
        if self.verbosity == QUIET:
            self._write(str(path))
            return
        digest = hashlib.sha256()
        with open(path, "rb") as fp:
            for block in iter(lambda: fp.read(1 << 20), b""):
                digest.update(block)
        size = path.stat().st_size
        self._write(f"built {path} ({size:,} bytes, sha256 {digest.hexdigest()})")
