"""The `webapp` command: serve the page, or `--check` the dependencies and exit.

Run by systemd as the `webapp` service (see pyproject.toml): it counts the pages it served in
its state directory ($STATE_DIRECTORY, /var/lib/webapp) and stops at once on SIGTERM.
"""

import argparse
import importlib.resources
import importlib.util
import os
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any
from wsgiref.simple_server import make_server

import markupsafe
import yaml

from webapp import __version__


def load_config(path: Path | None) -> dict[str, Any]:
    """The YAML configuration, parsed with libyaml's C loader when the wheel has it."""
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else importlib.resources.files("webapp").joinpath("default.yaml").read_text("utf-8")
    )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    config: dict[str, Any] = yaml.load(text, Loader=loader)  # a safe loader, C or Python
    return config


def render(config: dict[str, Any]) -> str:
    """The HTML page; every value from the configuration is escaped."""
    items = markupsafe.Markup("").join(
        markupsafe.Markup("<li>{}</li>").format(item) for item in config.get("items", [])
    )
    return str(markupsafe.Markup("<h1>{}</h1><ul>{}</ul>").format(config["title"], items))


def state_file(name: str) -> Path | None:
    """A file in the state directory systemd made for the service (StateDirectory=)."""
    state = os.environ.get("STATE_DIRECTORY")
    return Path(state.split(":")[0]) / name if state else None


def count_hit() -> None:
    hits = state_file("hits")
    if hits is not None:
        count = int(hits.read_text()) if hits.exists() else 0
        hits.write_text(f"{count + 1}\n")


def make_app(config: dict[str, Any]) -> Callable[..., Iterable[bytes]]:
    page = render(config).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/health":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if environ.get("PATH_INFO") == "/version":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"{__version__}\n".encode()]
        count_hit()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page]

    return app


def check(config: dict[str, Any]) -> str:
    """One deterministic line proving both C extensions are loaded and working."""
    speedups = importlib.util.find_spec("markupsafe._speedups") is not None
    return (
        f"title={markupsafe.escape(config['title'])} "
        f"libyaml={yaml.__with_libyaml__} speedups={speedups}"
    )


def _stop(signum: int, frame: FrameType | None) -> None:
    # Raised in the main thread, inside serve_forever(): the loop ends and the socket closes.
    # (Calling server.shutdown() here would wait for serve_forever() to return, which cannot
    # happen while this handler runs on its thread: `systemctl stop` would hang 90 s.)
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="webapp", description=__doc__)
    parser.add_argument("port", nargs="?", type=int, default=8080, help="TCP port (8080)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--config", type=Path, help="a YAML configuration file")
    parser.add_argument("--check", action="store_true", help="check the dependencies and exit")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if args.check:
        print(check(config))
        return 0
    signal.signal(signal.SIGTERM, _stop)
    with make_server(args.host, args.port, make_app(config)) as server:
        print(f"webapp {__version__}: serving on http://{args.host}:{args.port}/", file=sys.stderr)
        try:
            server.serve_forever()
        finally:
            print("webapp: stopped", file=sys.stderr)
    return 0


def report(argv: list[str] | None = None) -> int:
    """`webapp-report`, run by the webapp-report timer: write how many pages were served."""
    argparse.ArgumentParser(prog="webapp-report", description=report.__doc__).parse_args(argv)
    hits, out = state_file("hits"), state_file("report.txt")
    if hits is None or out is None:
        print("webapp-report: no STATE_DIRECTORY (run it from its systemd unit)", file=sys.stderr)
        return 1
    count = int(hits.read_text()) if hits.exists() else 0
    out.write_text(f"pages served: {count}\n")
    print(f"webapp-report: pages served: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
