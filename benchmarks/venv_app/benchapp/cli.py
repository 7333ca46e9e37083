"""The command line: `benchapp check` imports every dependency and exercises the C extensions."""

from __future__ import annotations

import asyncio
import importlib
import sys

import click

from benchapp.deps import MODULES

__all__ = ["main"]

# requirements.txt's set (and the 150-distribution one, which holds it): exercised, not only
# imported
_EXERCISED = {"aiohttp", "boto3", "cryptography", "jinja2", "msgpack", "orjson", "pydantic",
              "yaml", "requests", "rich", "sqlalchemy", "tenacity", "wrapt"}


def _exercise() -> str:
    """Use each C extension once: a record through every serialiser, a hash, SQL, templates."""
    import aiohttp
    import boto3
    import botocore.session
    import jinja2
    import msgpack
    import orjson
    import pydantic
    import requests
    import sqlalchemy
    import tenacity
    import wrapt
    import yaml
    from cryptography.hazmat.primitives import hashes

    class Item(pydantic.BaseModel):
        name: str
        size: int

    @wrapt.decorator
    def traced(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
        return wrapped(*args, **kwargs)

    @tenacity.retry(stop=tenacity.stop_after_attempt(1))
    @traced
    def round_trip(item: Item) -> Item:
        data = orjson.loads(orjson.dumps(item.model_dump()))
        data = msgpack.unpackb(msgpack.packb(data))
        data = yaml.safe_load(yaml.safe_dump(data))
        return Item.model_validate(data)

    async def aiohttp_ready() -> bool:
        async with aiohttp.ClientSession() as session:
            return not session.closed

    item = round_trip(Item(name="benchapp", size=3))
    digest = hashes.Hash(hashes.SHA256())
    digest.update(item.name.encode())
    engine = sqlalchemy.create_engine("sqlite://")
    with engine.connect() as conn:
        one = conn.execute(sqlalchemy.text("select 1")).scalar()
    services = botocore.session.get_session().get_available_services()
    page = jinja2.Template("{{ n }} services").render(n=len(services))
    return (f"{item.name} {digest.finalize().hex()[:8]} sql={one} {page} "
            f"boto3={boto3.__version__} requests={requests.__version__} "
            f"aiohttp={asyncio.run(aiohttp_ready())}")


@click.group()
@click.version_option()
def main() -> None:
    """benchapp: a benchmark fixture."""


@main.command()
def check() -> None:
    """Import every dependency; exercise the C extensions of the 40-distribution set."""
    for name in MODULES:
        importlib.import_module(name)
    detail = _exercise() if set(MODULES) >= _EXERCISED else ""
    sys.stdout.write(f"ok {len(MODULES)} modules {detail}\n")
