"""``flask econtacts training reset``: empty the training store and load its fictitious data."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.training import seed


@click.group("training")
def training_command() -> None:
    """The training space (e-formation)."""


@training_command.command("reset")
@with_appcontext
def reset_command() -> None:
    """Empty the training store and load the fictitious offices, taxpayers and cases."""
    token = seed.reset()
    click.echo(f"Training store rebuilt (build {token}).")
