"""HTTP load on app servers, and the checks that follow it: every acknowledged case complete,
nothing half-written, every alert delivered (at most one duplicate).

Submissions and agent answers go to ``/_faults/submit`` and ``/_faults/reply`` of
``scripts/faults/harness_wsgi.py``: the real app, the real operations, one commit, as the views do
(the taxpayer's form and the agents' answer screens were being built when these tests were
written; see the module docstring there).
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faultkit import Outcome, Proc, Seeded, Tally, http_post, pdf_bytes, read_outcome
from flask import Flask
from sqlalchemy import select

from models import Attachment, AuthorKind, Case, Event, EventKind, Message, Notification, db

CLEAN_ERROR_TEXTS = (
    "Le service est momentanément indisponible",
    "Une erreur est survenue",
)


DIGITS_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")


@dataclass
class Load:
    """Clients that submit cases (and answer them as agents) through several servers."""

    servers: list[Proc]
    seeded: Seeded
    attachment: bytes = field(default_factory=lambda: pdf_bytes(150_000))
    retry_elsewhere: bool = False  # a load balancer resends a submission to another server
    submissions: Tally = field(default_factory=Tally)
    replies: Tally = field(default_factory=Tally)
    stop: threading.Event = field(default_factory=threading.Event)
    acked_cases: list[tuple[int, str]] = field(default_factory=list)  # (taxpayer, reference)
    reply_bodies: dict[str, str] = field(default_factory=dict)  # body -> outcome kind
    tokens: dict[str, list[str]] = field(default_factory=dict)  # token -> references seen
    case_ids: dict[str, int] = field(default_factory=dict)  # reference -> case id
    max_submissions: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _count: itertools.count = field(default_factory=itertools.count)  # type: ignore[type-arg]

    def live_servers(self) -> list[Proc]:
        return [s for s in self.servers if s.alive()] or self.servers

    def _post(self, server: Proc, path: str, fields: dict[str, str], files: bool) -> Outcome:
        try:
            status, text = http_post(
                server.base + path,
                fields,
                [("files", "justificatif.pdf", self.attachment)] if files else [],
            )
        except (OSError, http.client.HTTPException) as error:  # the server is gone
            return Outcome("no-answer", None, None, str(error))
        return read_outcome(status, text)

    def submit_once(self) -> bool:
        number = next(self._count)
        if self.max_submissions is not None and number >= self.max_submissions:
            return False
        taxpayer_id = self.seeded.taxpayer_ids[number % len(self.seeded.taxpayer_ids)]
        token = uuid.uuid4().hex
        fields = {
            "taxpayer_id": str(taxpayer_id),
            "topic_id": str(self.seeded.topic_id),
            "subject": f"Demande {number}",
            "body": f"Bonjour, demande numéro {number}.",
            "submission_token": token,
        }
        server = self.servers[number % len(self.servers)]
        outcome = self._post(server, "/_faults/submit", fields, files=True)
        if outcome.kind == "no-answer" and self.retry_elsewhere:
            others = [s for s in self.live_servers() if s is not server]
            if others:
                outcome = self._post(others[0], "/_faults/submit", fields, files=True)
        self.submissions.add(outcome)
        with self.lock:
            if outcome.reference:
                self.acked_cases.append((taxpayer_id, outcome.reference))
                self.tokens.setdefault(token, []).append(outcome.reference)
        return True

    def reply_once(self) -> None:
        with self.lock:
            target = random.choice(self.acked_cases) if self.acked_cases else None  # noqa: S311
        if target is None:
            time.sleep(0.05)
            return
        # Unique, and letters only: hex digits could read as a tax number or an IBAN to the
        # guide's pre-send check (app.cases.guidance), which would hold the answer back.
        body = f"Réponse {uuid.uuid4().hex.translate(DIGITS_AS_LETTERS)}"
        with self.lock:
            case_id = self.case_ids.get(target[1])
        if case_id is None:
            time.sleep(0.02)
            return
        server = random.choice(self.live_servers())  # noqa: S311
        fields = {"agent_id": str(self.seeded.agent_ids[0]), "case_id": str(case_id), "body": body}
        outcome = self._post(server, "/_faults/reply", fields, files=False)
        self.replies.add(outcome)
        with self.lock:
            self.reply_bodies[body] = outcome.kind

    def submitter(self) -> None:
        while not self.stop.is_set() and self.submit_once():
            pass

    def replier(self, resolve: Callable[[str], int | None]) -> None:
        while not self.stop.is_set():
            with self.lock:
                unknown = [ref for _t, ref in self.acked_cases if ref not in self.case_ids]
            for reference in unknown:
                case_id = resolve(reference)
                if case_id is not None:
                    with self.lock:
                        self.case_ids[reference] = case_id
            self.reply_once()


@dataclass
class Findings:
    acknowledged: int = 0
    found_complete: int = 0
    cases_in_db: int = 0
    half_written: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    orphan_files: int = 0
    replies_acknowledged: int = 0
    replies_found: int = 0
    replies_without_alert: int = 0


def check_database(load: Load, attachment_dir: Path) -> Findings:
    """Every acknowledged case is complete; no case of the load's taxpayers, in any state,
    is half-written (other tests may share the database: their rows are not looked at)."""
    db.session.expire_all()
    found = Findings()
    acked = {reference for _t, reference in load.acked_cases}
    found.acknowledged = len(acked)
    keys: set[str] = set()
    mine = Case.taxpayer_id.in_(load.seeded.taxpayer_ids)
    for case in db.session.scalars(select(Case).where(mine)):
        found.cases_in_db += 1
        messages = [m for m in case.messages if m.author_kind is AuthorKind.TAXPAYER]
        files = [a for m in messages for a in m.attachments]
        received = db.session.scalars(
            select(Event).where(Event.case_id == case.id, Event.kind == EventKind.RECEIVED)
        ).all()
        complete = len(messages) == 1 and len(files) == 1 and len(received) == 1
        for attachment in files:
            keys.add(attachment.storage_key)
            if not _file_matches(attachment_dir, attachment):
                found.missing_files.append(attachment.storage_key)
                complete = False
        if not complete:
            found.half_written.append(case.reference)
        elif case.reference in acked:
            found.found_complete += 1
    on_disk = {p.name for p in attachment_dir.rglob("*") if p.is_file()}
    found.orphan_files = len(on_disk - keys)
    for body, kind in load.reply_bodies.items():
        message = db.session.scalars(select(Message).where(Message.body == body)).one_or_none()
        if kind == "ack":
            found.replies_acknowledged += 1
            found.replies_found += message is not None
        if message is not None:
            alert = db.session.scalars(
                select(Notification).where(Notification.message_id == message.id)
            ).one_or_none()
            found.replies_without_alert += alert is None
    return found


def _file_matches(root: Path, attachment: Attachment) -> bool:
    key = attachment.storage_key
    path = root / key[:2] / key[2:4] / key
    if not path.is_file():
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() == attachment.sha256


def resolver(app: Flask) -> Callable[[str], int | None]:
    """Looks a reference up in the database (from a client thread: its own app context)."""

    def resolve(reference: str) -> int | None:
        with app.app_context():
            return db.session.scalar(select(Case.id).where(Case.reference == reference))

    return resolve
