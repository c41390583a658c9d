"""Placeholder for `agmem run`: replaced by its real module (work in progress)."""

import click


@click.command("run")
def command() -> None:
    """Not yet implemented."""
    raise click.ClickException("not yet implemented")
