"""``flask econtacts orphans``: remove attachment files no row names (the worker does it daily)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cases.attachments import remove_orphan_files
from models import db


@click.command("orphans")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@click.option(
    "--min-age-hours",
    type=float,
    default=None,
    help="Only files older than this (default ORPHAN_FILE_MIN_AGE_HOURS, 24).",
)
@with_appcontext
def orphans_command(dry_run: bool, min_age_hours: float | None) -> None:
    """Remove attachment files that no row names (a process killed before its commit)."""
    hours = (
        float(current_app.config["ORPHAN_FILE_MIN_AGE_HOURS"])
        if min_age_hours is None
        else min_age_hours
    )
    report = remove_orphan_files(timedelta(hours=hours), dry_run=dry_run)
    db.session.rollback()
    prefix = "Dry run, nothing removed: " if dry_run else ""
    click.echo(f"{prefix}{report.summary()} (older than {hours:g} h).")
