"""Run ``jobs.worker`` for the fault tests, with the outbox timings shortened by environment.

- ``OUTBOX_SWEEP_SECONDS``: the sweep interval (as in production).
- ``FAULTS_LOCK_STALE_SECONDS``: how old a send lock must be before the sweep takes it over
  (production: 5 minutes, ``jobs.notifications.LOCK_STALE_AFTER``); tests cannot wait that long.
- ``FAULTS_PAUSE_AFTER_SEND``: seconds to wait after the SMTP server accepted a message and before
  the row is marked sent, so that a test can kill the worker in exactly that window. The worker
  prints ``FAULTS sent <recipient>`` when it enters the window.

- ``FAULTS_INBOUND_LOCK_STALE_SECONDS``: the same for the mailbox intake's e-mails
  (``jobs.mailbox.LOCK_STALE_AFTER``, 5 minutes in production).
- ``FAULTS_PAUSE_IN_INBOUND``: seconds to wait after an accepted e-mail was turned into a case and
  before that is committed (the worker prints ``FAULTS inbound <id>``), so that a test can kill
  the worker in the middle of processing it.

Nothing else changes: the real worker class, jobs, claim, sweep and SMTP sending run.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from typing import Any

import jobs.mailbox as mailbox_jobs
import jobs.notifications as notifications
from app.mailbox import intake
from jobs.worker import main


class _PausingMail:
    def __init__(self, real: Any, pause: float) -> None:
        self.real = real
        self.pause = pause

    def send(self, message: Any) -> None:
        self.real.send(message)
        print(f"FAULTS sent {','.join(message.recipients)}", flush=True)
        time.sleep(self.pause)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _pausing_process(real: Any, pause: float) -> Any:
    def process(row: Any) -> str:
        outcome = real(row)
        print(f"FAULTS inbound {row.id}", flush=True)
        time.sleep(pause)
        return str(outcome)

    return process


def run() -> None:
    stale = os.environ.get("FAULTS_LOCK_STALE_SECONDS")
    if stale:
        notifications.LOCK_STALE_AFTER = timedelta(seconds=float(stale))
    pause = float(os.environ.get("FAULTS_PAUSE_AFTER_SEND", "0") or 0)
    if pause:
        notifications.mail = _PausingMail(notifications.mail, pause)  # type: ignore[assignment]
    stale = os.environ.get("FAULTS_INBOUND_LOCK_STALE_SECONDS")
    if stale:
        mailbox_jobs.LOCK_STALE_AFTER = timedelta(seconds=float(stale))
    pause = float(os.environ.get("FAULTS_PAUSE_IN_INBOUND", "0") or 0)
    if pause:
        intake.process = _pausing_process(intake.process, pause)  # type: ignore[assignment]
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    main(sweep_interval=float(os.environ.get("OUTBOX_SWEEP_SECONDS", "30")))


if __name__ == "__main__":
    run()
