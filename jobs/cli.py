"""``flask econtacts sweep``: queue every e-mail still due now (the worker does it every minute)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from jobs import notifications


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Queue every e-mail still due (what Redis lost, what SMTP refused for a while)."""
    click.echo(f"{notifications.sweep_outbox()} notification(s) queued.")
