"""``flask econtacts retention``: apply the retention periods now (the worker does it daily)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.platform import partitions
from app.retention.operations import Periods, apply_retention, count_due
from app.retention.partitions import expired
from models import db, utcnow


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
        periods = Periods.from_config()
        report = count_due(periods)
        years = [partition.name for partition in expired(periods.purge_before)]
        db.session.rollback()
        click.echo(f"Dry run, nothing changed. Would do: {report.summary()}.")
        click.echo(f"Year partitions that would be dropped: {', '.join(years) or 'none'}.")
        return
    report = apply_retention(commit=db.session.commit, progress=click.echo, batch_size=batch_size)
    click.echo(f"Done: {report.summary()}.")


@click.command("partitions")
@click.option("--ahead", default=partitions.YEARS_AHEAD, show_default=True, help="Years ahead.")
@click.option("--since", type=int, help="Also create the years from this one (a bulk load).")
@with_appcontext
def partitions_command(ahead: int, since: int | None) -> None:
    """Create the history's yearly partitions ahead (PostgreSQL) and list them."""
    if not partitions.enabled():
        click.echo("This database does not partition the history (SQLite): nothing to do.")
        return
    created = partitions.create_ahead(years=ahead)
    for year in range(since or utcnow().year, utcnow().year):
        for table in partitions.TABLES:
            if partitions.create_year(table, year):
                created.append(f"{table}_y{year}")
    for table in partitions.TABLES:
        for partition in partitions.partitions(table):
            partitions.name_indexes(partition.name)
    db.session.commit()
    click.echo(f"Created: {', '.join(created) or 'none'}.")
    for table in partitions.TABLES:
        names = [f"{p.name} (~{max(p.rows or 0, 0)} rows)" for p in partitions.partitions(table)]
        click.echo(f"{table}: {len(names)} partitions: {', '.join(names)}")
        click.echo(f"  rows in {table}_default: {partitions.default_rows(table)}")
