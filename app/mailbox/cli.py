"""``flask econtacts mailbox-server``: the mailboxes' SMTP endpoint, until stopped."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext

from app.mailbox.server import controller


@click.command("mailbox-server")
@click.option("--host", default=None, help="Adresse d'écoute (MAILBOX_SMTP_HOST).")
@click.option("--port", default=None, type=int, help="Port d'écoute (MAILBOX_SMTP_PORT).")
@with_appcontext
def mailbox_server_command(host: str | None, port: int | None) -> None:
    """Run the SMTP endpoint of the offices' mailboxes (stopped by SIGTERM or Ctrl-C)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    host = host or str(app.config["MAILBOX_SMTP_HOST"])
    port = port or int(app.config["MAILBOX_SMTP_PORT"])
    server = controller(app, host, port)
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    server.start()
    click.echo(f"Mailbox SMTP endpoint on {host}:{port}", err=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
