"""Placeholder for `agmem baseline`: replaced by its real module (work in progress)."""

import click


@click.command("baseline")
def command() -> None:
    """Not yet implemented."""
    raise click.ClickException("not yet implemented")
