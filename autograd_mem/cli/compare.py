"""Placeholder for `agmem compare`: replaced by its real module (work in progress)."""

import click


@click.command("compare")
def command() -> None:
    """Not yet implemented."""
    raise click.ClickException("not yet implemented")
