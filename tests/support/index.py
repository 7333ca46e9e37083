"""A PEP 503 simple index served on 127.0.0.1 from a directory of files, for tests."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["LocalIndex", "serve_index", "write_simple_pages"]


def _project_of(filename: str) -> str:
    """The PEP 503 normalised project name of a wheel or sdist filename."""
    stem = filename.removesuffix(".whl").removesuffix(".tar.gz").removesuffix(".zip")
    name = stem.split("-")[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def write_simple_pages(root: Path) -> None:
    """(Re)write ``root/simple/**/index.html`` for every file in ``root/files``.

    Links carry ``#sha256=`` fragments as PEP 503 recommends, so pip knows each hash.
    """
    files = sorted((root / "files").iterdir())
    simple = root / "simple"
    if simple.exists():
        shutil.rmtree(simple)
    projects: dict[str, list[Path]] = {}
    for path in files:
        projects.setdefault(_project_of(path.name), []).append(path)
    for project, paths in projects.items():
        links = []
        for path in paths:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            href = html.escape(f"../../files/{path.name}#sha256={digest}")
            links.append(f'<a href="{href}">{html.escape(path.name)}</a><br/>')
        (simple / project).mkdir(parents=True)
        (simple / project / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
        )
    simple.mkdir(exist_ok=True)
    anchors = "".join(f'<a href="{p}/">{p}</a><br/>\n' for p in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{anchors}</body></html>\n")


@dataclass
class LocalIndex:
    """A running index: ``url`` is the simple root; ``requests`` logs every path asked for."""

    root: Path
    port: int
    auth: tuple[str, str] | None = None
    requests: list[str] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple"

    @property
    def files(self) -> Path:
        return self.root / "files"

    def refresh(self) -> None:
        write_simple_pages(self.root)


class _Handler(SimpleHTTPRequestHandler):
    index: LocalIndex

    def __init__(self, *args: Any, index: LocalIndex, **kwargs: Any) -> None:
        self.index = index
        super().__init__(*args, directory=str(index.root), **kwargs)

    def do_GET(self) -> None:
        self.index.requests.append(self.path)
        header = self.headers.get("Authorization", "")
        self.index.auth_headers.append(header)
        if self.index.auth is not None:
            user, password = self.index.auth
            expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            if header != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="test index"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest's output clean


@contextmanager
def serve_index(root: Path, auth: tuple[str, str] | None = None) -> Iterator[LocalIndex]:
    """Serve ``root`` (which holds ``files/``) as a simple index on 127.0.0.1, port 0."""
    (root / "files").mkdir(parents=True, exist_ok=True)
    index = LocalIndex(root=root, port=0, auth=auth)
    index.refresh()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, index=index))
    index.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
