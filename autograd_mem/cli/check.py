"""Placeholder for `agmem check`: replaced by its real module (work in progress)."""

import click


@click.command("check")
def command() -> None:
    """Not yet implemented."""
    raise click.ClickException("not yet implemented")
