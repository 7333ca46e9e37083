"""The `webapp` command: serve the page, or `--check` the dependencies and exit."""

import argparse
import importlib.resources
import importlib.util
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import markupsafe
import yaml


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
    items = "".join(
        markupsafe.Markup("<li>{}</li>").format(item) for item in config.get("items", [])
    )
    return str(markupsafe.Markup("<h1>{}</h1><ul>{}</ul>").format(config["title"], items))


def make_app(config: dict[str, Any]) -> Callable[..., Iterable[bytes]]:
    page = render(config).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/health":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
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
    with make_server(args.host, args.port, make_app(config)) as server:
        print(f"webapp: serving on http://{args.host}:{args.port}/", file=sys.stderr)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
