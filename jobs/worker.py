"""The RQ worker: runs jobs inside the app's context and sweeps the outbox periodically.

Start it with ``python -m jobs.worker`` (``make run`` does). Several workers may run at once:
every job claims its row under a lock.

It does not die with Redis. RQ's ``Worker.work()`` returns (or raises) when Redis fails outside
its dequeue loop (the job heartbeat after a job, registering, tearing down): a supervising loop
starts a fresh RQ worker once Redis answers again, with a backoff of 1 s doubling to 10 s. Every
``OUTBOX_SWEEP_SECONDS`` a second thread sweeps the outbox; while Redis is down it sends what is
due itself, from the database. It writes the process's heartbeat row (``WorkerHeartbeat``) that
``flask econtacts status`` and the administrators' outbox page read.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from types import FrameType

import redis
from flask import Flask
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job
from sqlalchemy import delete

from app import create_app
from app.platform.queue import get_redis
from jobs import context
from jobs.mailbox import process_due_directly, sweep_inbound
from jobs.notices import enqueue_daily as enqueue_daily_notices
from jobs.notifications import send_due_directly, sweep_outbox
from jobs.retention import enqueue_daily
from jobs.rollups import fold_journal
from jobs.storage import enqueue_daily_cleanup
from jobs.training import enqueue_nightly as enqueue_training_reset
from models import WorkerHeartbeat, db, utcnow

log = logging.getLogger(__name__)

RESTART_PAUSE_MAX = 10.0


class AppWorker(SimpleWorker):
    """Runs each job in the worker process (no fork per job) inside the app context."""

    flask_app: Flask | None = None

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        assert self.flask_app is not None
        with self.flask_app.app_context():
            return super().perform_job(job, queue, execution)


@dataclass
class WorkerState:
    """What the process reports in its heartbeat row (shared by its two threads)."""

    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    sweep_seconds: float = 30.0
    redis_ok: bool = True
    restarts: int = 0
    sent_directly: int = 0
    stopping: bool = False
    detail: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def state(self) -> str:
        if self.stopping:
            return "stopped"
        return "running" if self.redis_ok else "redis-down"


def write_heartbeat(state: WorkerState) -> None:
    """Upsert this process's row; forget rows silent for a week. In an app context."""
    now = utcnow()
    try:
        row = db.session.get(WorkerHeartbeat, state.name)
        if row is None:
            row = WorkerHeartbeat(name=state.name, started_at=now)
            db.session.add(row)
        with state.lock:
            row.state = state.state
            row.redis_ok = state.redis_ok
            row.sweep_seconds = round(state.sweep_seconds)
            row.restarts = state.restarts
            row.sent_directly = state.sent_directly
            row.detail = state.detail[:2000] or None
        row.beat_at = now
        db.session.execute(
            delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - timedelta(days=7))
        )
        db.session.commit()
    except Exception:
        with contextlib.suppress(Exception):
            db.session.rollback()
        raise


def _redis_answers() -> bool:
    try:
        return bool(get_redis().ping())
    except redis.RedisError:
        return False


def sweep_once(state: WorkerState) -> None:
    """One round of the sweep thread; each step outlives the failure of the others."""
    app = context.get_app()
    with app.app_context():
        redis_ok = _redis_answers()
        if redis_ok:
            try:
                count = sweep_outbox()
                if count:
                    log.info("Sweep queued %s due notification(s)", count)
                count = sweep_inbound()
                if count:
                    log.info("Sweep queued %s accepted e-mail(s) to process", count)
            except redis.RedisError:
                redis_ok = False
            except Exception:  # the database is down: next round
                log.exception("Outbox sweep failed; next try in %s s", state.sweep_seconds)
        if not redis_ok:
            try:
                sent = send_due_directly()
                with state.lock:
                    state.sent_directly += sent
                log.warning("Outbox sweep failed (Redis unreachable): %s sent directly", sent)
                processed = process_due_directly()
                if processed:
                    log.warning("Redis unreachable: %s accepted e-mail(s) processed", processed)
            except Exception:
                log.exception("Outbox sweep failed; next try in %s s", state.sweep_seconds)
        with state.lock:
            state.redis_ok = redis_ok
        if redis_ok and app.config["WORKER_DAILY_JOBS"]:
            for daily in (
                enqueue_daily,
                enqueue_daily_cleanup,
                enqueue_daily_notices,
                enqueue_training_reset,
            ):
                try:
                    daily()  # once a day across all workers
                except Exception:
                    log.exception("Daily job not queued")
        try:
            fold_journal()  # the steering journal into the rollups
        except Exception:
            log.exception("Steering journal not folded; next try in %s s", state.sweep_seconds)
        try:
            write_heartbeat(state)
        except Exception as error:
            log.warning("Heartbeat not written (database: %s)", type(error).__name__)


def _sweep_forever(stop: threading.Event, state: WorkerState) -> None:
    with context.get_app().app_context(), contextlib.suppress(Exception):
        write_heartbeat(state)
    while not stop.wait(state.sweep_seconds):
        sweep_once(state)


def supervise(app: Flask, queue_name: str, state: WorkerState, burst: bool = False) -> None:
    """Run RQ workers one after the other until a stop is asked (SIGTERM, SIGINT) or a burst
    ends; a worker that quit because Redis went away is replaced once Redis answers."""
    stop_asked = threading.Event()
    pause = 1.0
    while True:
        with app.app_context():
            connection = get_redis()
        worker = AppWorker([Queue(queue_name, connection=connection)], connection=connection)
        try:
            worker.work(burst=burst, with_scheduler=False)
            clean = True
        except SystemExit:  # cold shutdown (a second SIGTERM)
            raise
        except Exception as error:  # Redis went away in RQ's bookkeeping
            log.warning("RQ worker stopped on %s: %s", type(error).__name__, error)
            clean = False
        if burst or getattr(worker, "_shutdown_requested_date", None) is not None:
            return
        _drop_pubsub(worker)
        # RQ's loop ended although nobody asked: Redis failed under it. Wait, then start again.
        with state.lock:
            state.restarts += 1
            state.redis_ok = False
            state.detail = "RQ loop restarted" + ("" if clean else " after an error")
        _handle_stop_signals(stop_asked)
        while not stop_asked.wait(pause):
            pause = min(pause * 2, RESTART_PAUSE_MAX)
            with app.app_context():
                if _redis_answers():
                    break
        if stop_asked.is_set():
            return
        log.info("Redis answers again: starting a new RQ worker (restart %s)", state.restarts)
        pause = 1.0


def _drop_pubsub(worker: AppWorker) -> None:
    """RQ's teardown could not unsubscribe (Redis was gone): stop the old worker's command
    thread, or it would retry its connection for ever beside the new worker's."""
    thread = getattr(worker, "pubsub_thread", None)
    if thread is not None:
        with contextlib.suppress(Exception):
            thread.stop()
            thread.join(timeout=1)
        with contextlib.suppress(Exception):
            worker.pubsub.close()  # type: ignore[union-attr]


def _handle_stop_signals(stop_asked: threading.Event) -> None:
    """Between two RQ workers, SIGTERM and SIGINT stop the process cleanly."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop_asked.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def main(sweep_interval: float = 30.0, burst: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    app = create_app()
    context.set_app(app)
    AppWorker.flask_app = app
    state = WorkerState(sweep_seconds=sweep_interval)
    stop = threading.Event()
    sweeper = threading.Thread(target=_sweep_forever, args=(stop, state), daemon=True)
    sweeper.start()
    try:
        supervise(app, app.config["RQ_QUEUE"], state, burst=burst)
    finally:
        stop.set()
        state.stopping = True
        with app.app_context(), contextlib.suppress(Exception):
            write_heartbeat(state)


if __name__ == "__main__":
    main(sweep_interval=float(os.environ.get("OUTBOX_SWEEP_SECONDS", "30")))
