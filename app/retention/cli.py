"""``flask econtacts retention``: apply the retention periods now (the worker does it daily)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.retention.operations import Periods, apply_retention, count_due
from models import db


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing.")
@click.option("--batch-size", default=500, show_default=True, help="Rows per transaction.")
@with_appcontext
def retention_command(dry_run: bool, batch_size: int) -> None:
    """Apply the retention periods: archive, purge cases, purge internal notes."""
    config = current_app.config
    click.echo(
        f"Periods: archive after {config['RETENTION_ARCHIVE_YEARS']} years, purge after "
        f"{config['RETENTION_PURGE_YEARS']} years, internal notes after "
        f"{config['RETENTION_NOTES_YEARS']} years; legal holds skipped."
    )
    if dry_run:
        report = count_due(Periods.from_config())
        db.session.rollback()
        click.echo(f"Dry run, nothing changed. Would do: {report.summary()}.")
        return
    report = apply_retention(commit=db.session.commit, progress=click.echo, batch_size=batch_size)
    click.echo(f"Done: {report.summary()}.")
