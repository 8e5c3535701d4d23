"""``flask econtacts bounce``: a bounce for an alert, named by its Message-ID."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.notifications.outbox import record_bounce
from models import db


@click.command("bounce")
@click.argument("message_id")
@click.option("--reason", default="bounce", help="What the bounce said (kept on the taxpayer).")
@with_appcontext
def bounce_command(message_id: str, reason: str) -> None:
    """Record a bounce for the alert with this Message-ID: its address becomes undeliverable."""
    notification = record_bounce(message_id, reason)
    if notification is None:
        raise click.ClickException(f"No alert has the Message-ID {message_id}.")
    db.session.commit()
    click.echo(f"Alert {notification.id} to {notification.recipient} marked failed (bounce).")
