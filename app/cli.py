"""``flask econtacts ...``: set-up, demo data, the outbox. Each command commits once."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from models import Office, db

econtacts = AppGroup("econtacts", help="e-contacts: set-up and maintenance.")


@econtacts.command("sync-roles")
def sync_roles_command() -> None:
    """Create FAB permissions for every screen and give each role exactly its own."""
    current_app.appbuilder.sm.sync_roles()  # type: ignore[attr-defined]
    click.echo("Roles and permissions synced.")


@econtacts.command("init")
@click.option("--demo/--no-demo", default=None, help="Load the demo data if the base is empty.")
def init_command(demo: bool | None) -> None:
    """After ``flask db upgrade``: sync roles, then load the demo data into an empty base."""
    current_app.appbuilder.sm.sync_roles()  # type: ignore[attr-defined]
    load = current_app.config["DEMO_MODE"] if demo is None else demo
    empty = db.session.scalar(select(func.count()).select_from(Office)) == 0
    if load and empty:
        from app.dev.demo import load_demo_data

        load_demo_data(progress=click.echo)
        db.session.commit()
        click.echo("Demo data loaded.")
    elif load:
        click.echo("The database already has data: demo data not loaded.")


@econtacts.command("load-demo")
def load_demo_command() -> None:
    """Load the demo data (offices, agents, taxpayers, requests) into an empty base."""
    from app.dev.demo import load_demo_data

    if db.session.scalar(select(func.count()).select_from(Office)):
        raise click.ClickException("The database already has offices: demo data not loaded.")
    load_demo_data(progress=click.echo)
    db.session.commit()
    click.echo("Demo data loaded.")


@econtacts.command("sweep")
def sweep_command() -> None:
    """Queue every e-mail still due (what Redis lost, what SMTP refused for a while)."""
    from jobs.notifications import sweep_outbox

    click.echo(f"{sweep_outbox()} notification(s) queued.")


@econtacts.command("retention")
@click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing.")
@click.option("--batch-size", default=500, show_default=True, help="Rows per transaction.")
def retention_command(dry_run: bool, batch_size: int) -> None:
    """Apply the retention periods: archive, purge requests, purge internal notes."""
    from app.retention.operations import Periods, apply_retention, count_due

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


@econtacts.command("rollups")
@click.argument("action", type=click.Choice(["fold", "rebuild"]))
def rollups_command(action: str) -> None:
    """Steering rollups: fold the journal, or rebuild everything from the requests."""
    from app.steering import rollups

    if action == "fold":
        folded = rollups.fold()
        db.session.commit()
        click.echo(f"{folded} change(s) folded into the steering rollups.")
        return
    click.echo("Rebuilding the steering rollups from the requests (writers wait meanwhile)...")
    started = time.monotonic()
    rollups.rebuild()
    db.session.commit()
    click.echo(f"Steering rollups rebuilt in {time.monotonic() - started:.1f} s.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(econtacts)
