"""The `hello-cli` command."""

import click

from hello_cli import __version__


@click.command()
@click.option("--name", default="world", show_default=True, help="Who to greet.")
@click.version_option(__version__, prog_name="hello-cli")
def main(name: str) -> None:
    """Print a greeting."""
    click.echo(f"Hello, {name}!")
