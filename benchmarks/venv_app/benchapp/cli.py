"""The command line: `benchapp check` imports every dependency and exercises its C extension."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import boto3
import botocore.session
import click
import jinja2
import msgpack
import orjson
import pydantic
import requests
import rich.console
import sqlalchemy
import tenacity
import wrapt
import yaml
from cryptography.hazmat.primitives import hashes

__all__ = ["main"]


class Item(pydantic.BaseModel):
    """A record that goes through every serialiser below."""

    name: str
    size: int


@wrapt.decorator
def _traced(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    return wrapped(*args, **kwargs)


@tenacity.retry(stop=tenacity.stop_after_attempt(1))
@_traced
def _round_trip(item: Item) -> Item:
    data = orjson.loads(orjson.dumps(item.model_dump()))
    data = msgpack.unpackb(msgpack.packb(data))
    data = yaml.safe_load(yaml.safe_dump(data))
    return Item.model_validate(data)


async def _aiohttp_ready() -> bool:
    async with aiohttp.ClientSession() as session:
        return not session.closed


@click.group()
@click.version_option()
def main() -> None:
    """benchapp: a benchmark fixture."""


@main.command()
def check() -> None:
    """Import every dependency and use each C extension once."""
    item = _round_trip(Item(name="benchapp", size=3))
    digest = hashes.Hash(hashes.SHA256())
    digest.update(item.name.encode())
    engine = sqlalchemy.create_engine("sqlite://")
    with engine.connect() as conn:
        one = conn.execute(sqlalchemy.text("select 1")).scalar()
    services = botocore.session.get_session().get_available_services()
    page = jinja2.Template("{{ n }} services").render(n=len(services))
    rich.console.Console(file=sys.stdout).print(
        f"ok {item.name} {digest.finalize().hex()[:8]} sql={one} {page} "
        f"boto3={boto3.__version__} requests={requests.__version__} "
        f"aiohttp={asyncio.run(_aiohttp_ready())}"
    )
