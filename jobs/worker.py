"""The RQ worker: runs jobs inside the app's context and sweeps the outbox periodically.

Start it with ``python -m jobs.worker`` (``make run`` does). Several workers may run at once:
every job claims its row under a lock.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job

from app import create_app
from app.platform.queue import get_redis
from jobs import context
from jobs.notices import enqueue_daily as enqueue_daily_notices
from jobs.notifications import sweep_outbox
from jobs.retention import enqueue_daily
from jobs.rollups import fold_journal

log = logging.getLogger(__name__)


class AppWorker(SimpleWorker):
    """Runs each job in the worker process (no fork per job) inside the app context."""

    flask_app: Flask | None = None

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        assert self.flask_app is not None
        with self.flask_app.app_context():
            return super().perform_job(job, queue, execution)


def _sweep_forever(stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            count = sweep_outbox()
            if count:
                log.info("Sweep queued %s due notification(s)", count)
            enqueue_daily()  # the retention periods, once a day across all workers
            enqueue_daily_notices()  # agents' due-date notices and digests, once a day
            fold_journal()  # the steering journal into the rollups
        except Exception:  # the sweep must outlive a Redis or database outage
            log.exception("Outbox sweep failed; next try in %s s", interval)


def main(sweep_interval: float = 30.0, burst: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    app = create_app()
    context.set_app(app)
    with app.app_context():
        connection = get_redis()
        queue = Queue(app.config["RQ_QUEUE"], connection=connection)
    AppWorker.flask_app = app
    stop = threading.Event()
    sweeper = threading.Thread(target=_sweep_forever, args=(stop, sweep_interval), daemon=True)
    sweeper.start()
    try:
        AppWorker([queue], connection=connection).work(burst=burst, with_scheduler=False)
    finally:
        stop.set()


if __name__ == "__main__":
    main(sweep_interval=float(os.environ.get("OUTBOX_SWEEP_SECONDS", "30")))
