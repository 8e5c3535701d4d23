"""``flask econtacts sweep``: queue every e-mail still due now (the worker does it every minute)."""

from __future__ import annotations

import click
import redis
from flask.cli import with_appcontext

from app.notifications.outbox import outbox_status
from app.platform.queue import get_redis
from jobs import notifications
from models import db


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Queue every e-mail still due (what Redis lost, what SMTP refused for a while)."""
    click.echo(f"{notifications.sweep_outbox()} notification(s) queued.")


@click.command("status")
@with_appcontext
def status_command() -> None:
    """The workers (their heartbeat rows), Redis, and the outbox: what is due, failed, refused.
    Exits with 1 when no worker is alive or Redis does not answer."""
    try:
        redis_ok = bool(get_redis().ping())
    except redis.RedisError:
        redis_ok = False
    status = outbox_status()
    db.session.rollback()
    click.echo(f"Redis: {'answers' if redis_ok else 'UNREACHABLE'}")
    click.echo(f"Workers alive: {len(status.live_workers)}")
    for worker in status.workers:
        age = (status.now - worker.beat_at).total_seconds()
        alive = "alive" if worker in status.live_workers else "SILENT"
        click.echo(
            f"  {worker.name}: {alive}, {worker.state}, last heartbeat {age:.0f} s ago, "
            f"Redis {'ok' if worker.redis_ok else 'down'}, RQ restarts {worker.restarts}, "
            f"sent without Redis {worker.sent_directly}"
        )
    click.echo(
        f"Outbox: {status.pending} pending ({status.due} due now), {status.failed} failed; "
        f"{status.undeliverable} taxpayer address(es) undeliverable."
    )
    if not redis_ok or not status.live_workers:
        raise SystemExit(1)
