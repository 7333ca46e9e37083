"""A real HTTP server process on 127.0.0.1 serving a directory, for apt to read a repository.

``serve(directory)`` starts ``python tests/support/httpserve.py`` (the standard library's
http.server) in a subprocess and yields its base URL; ``delay`` makes it wait before every
answer, so a test can publish while a client is in the middle of reading.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["serve"]


@contextmanager
def serve(directory: Path, *, delay: float = 0.0) -> Iterator[str]:
    """Serve ``directory`` until the block ends; yields ``http://127.0.0.1:PORT/``."""
    proc = subprocess.Popen([sys.executable, "-u", __file__, str(directory), str(delay)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"the HTTP server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class _Handler(SimpleHTTPRequestHandler):
    delay = 0.0

    def send_head(self):  # type: ignore[no-untyped-def]
        time.sleep(self.delay)
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _main(directory: str, delay: str) -> None:
    handler = type("Handler", (_Handler,), {"delay": float(delay)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=directory))
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
