"""``flask econtacts init`` and ``load-demo``: set-up, with the demo data when asked for."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from app.dev.demo import load_demo_data
from app.training import seed as training_seed
from models import Office, db


@click.command("init")
@click.option("--demo/--no-demo", default=None, help="Load the demo data if the base is empty.")
@with_appcontext
def init_command(demo: bool | None) -> None:
    """After ``flask db upgrade``: sync roles, then load the demo data into an empty base."""
    current_app.appbuilder.sm.sync_roles()  # type: ignore[attr-defined]
    # The training store follows the schema and roles just upgraded (decision 0020).
    training_seed.reset()
    click.echo("Training store rebuilt.")
    load = current_app.config["DEMO_MODE"] if demo is None else demo
    empty = db.session.scalar(select(func.count()).select_from(Office)) == 0
    if load and empty:
        load_demo_data(progress=click.echo)
        db.session.commit()
        click.echo("Demo data loaded.")
    elif load:
        click.echo("The database already has data: demo data not loaded.")


@click.command("load-demo")
@with_appcontext
def load_demo_command() -> None:
    """Load the demo data (offices, agents, taxpayers, cases) into an empty base."""
    if db.session.scalar(select(func.count()).select_from(Office)):
        raise click.ClickException("The database already has offices: demo data not loaded.")
    load_demo_data(progress=click.echo)
    db.session.commit()
    click.echo("Demo data loaded.")
