"""The SMTP endpoint of the offices' mailboxes, run by the app's own process
(``flask econtacts mailbox-server``; ``make run`` starts it beside the worker).

It sits behind the organisation's mail relay, which receives the BALF addresses from the internet
(TLS, SPF/DKIM/DMARC, anti-spam) and forwards them here (docs/decisions/0018). What it answers:

- ``RCPT TO`` an address that is no mailbox: ``550 5.1.1`` (the relay bounces it);
- a message over ``MAILBOX_MAX_BYTES``: ``552`` at ``MAIL FROM`` when the client declares its
  size, else at the end of ``DATA`` (nothing stored);
- ``250`` only once the message is committed to the database (``inbound_email``); if the
  database does not answer, ``451 4.3.0`` and the relay keeps the message and tries again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from flask import Flask

from app.mailbox import intake
from app.platform.queue import enqueue_after_commit
from models import db

log = logging.getLogger(__name__)


class IntakeHandler:
    """aiosmtpd's handler: each database step runs in a thread, inside the app's context."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _known(self, address: str) -> bool:
        with self.app.app_context():
            try:
                return intake.open_mailbox_for(address) is not None
            finally:
                db.session.remove()

    def _store(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> intake.Accepted:
        with self.app.app_context():
            try:
                accepted = intake.accept(mail_from, rcpt_tos, raw)
                for inbound_id in accepted.stored:
                    enqueue_after_commit(
                        intake.PROCESS_JOB, inbound_id, job_id=intake.job_id(inbound_id, 0)
                    )
                db.session.commit()
                return accepted
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        loop = asyncio.get_running_loop()
        try:
            known = await loop.run_in_executor(None, self._known, address)
        except Exception:
            log.exception("mailbox lookup failed for %s", address)
            return "451 4.3.0 Temporary failure, please try again later"
        if not known:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        try:
            accepted = await loop.run_in_executor(
                None, self._store, envelope.mail_from or "", list(envelope.rcpt_tos), raw
            )
        except Exception:
            log.exception("e-mail from %s not stored: answered 451", envelope.mail_from)
            return "451 4.3.0 Not stored, please try again later"
        log.info(
            "e-mail from %s accepted: %s stored, %s to closed mailboxes",
            envelope.mail_from,
            len(accepted.stored),
            accepted.counted,
        )
        return "250 2.0.0 Message accepted for delivery"


def controller(app: Flask, host: str, port: int) -> Controller:
    """The endpoint, not started (``.start()`` runs it in a thread; tests use it so)."""
    return Controller(
        IntakeHandler(app),
        hostname=host,
        port=port,
        data_size_limit=int(app.config["MAILBOX_MAX_BYTES"]),
        decode_data=False,
        ident="e-contacts mailbox intake",
    )
