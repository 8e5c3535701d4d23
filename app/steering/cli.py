"""``flask econtacts rollups``: fold the steering journal now, or rebuild the rollups."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from app.steering import rollups
from models import db


@click.command("rollups")
@click.argument("action", type=click.Choice(["fold", "rebuild"]))
@with_appcontext
def rollups_command(action: str) -> None:
    """Steering rollups: fold the journal, or rebuild everything from the cases."""
    if action == "fold":
        folded = rollups.fold()
        db.session.commit()
        click.echo(f"{folded} change(s) folded into the steering rollups.")
        return
    click.echo("Rebuilding the steering rollups from the cases (writers wait meanwhile)...")
    started = time.monotonic()
    rollups.rebuild()
    db.session.commit()
    click.echo(f"Steering rollups rebuilt in {time.monotonic() - started:.1f} s.")
