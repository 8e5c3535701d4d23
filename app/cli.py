"""``flask econtacts ...``: set-up, demo data, the outbox. Each command commits once."""

from __future__ import annotations

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
        from app.demo import load_demo_data

        load_demo_data(progress=click.echo)
        db.session.commit()
        click.echo("Demo data loaded.")
    elif load:
        click.echo("The database already has data: demo data not loaded.")


@econtacts.command("load-demo")
def load_demo_command() -> None:
    """Load the demo data (offices, agents, taxpayers, requests) into an empty base."""
    from app.demo import load_demo_data

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


def register_cli(app: Flask) -> None:
    app.cli.add_command(econtacts)
