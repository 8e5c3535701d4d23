"""Mailbox intake: an accepted e-mail becomes a case of channel ``email`` (docs/decisions/0018).

Two steps, each one commit:

1. ``accept`` (the SMTP endpoint, ``app.mailbox.server``, before it answers 250): for an open
   mailbox the raw message is written to ``inbound_email``; for a closed one only the count goes
   up and the automatic reply is queued in the outbox. The processing job is queued after commit.
2. ``process`` (the job ``jobs.mailbox.process_inbound``, or the sweep): parse, drop a second copy
   of a Message-ID, match the sender to a taxpayer when it is safe, check the attachments like
   any other, make the case, queue the automatic reply, drop the raw message (headers kept).

Nothing here commits: the endpoint and the job do.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr
from html.parser import HTMLParser

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.cases import operations
from app.cases.attachments import (
    AttachmentRejected,
    IncomingFile,
    StoredFile,
    limits,
    store_files,
)
from app.notifications.outbox import public_url, queue_email
from models import (
    InboundEmail,
    InboundStatus,
    Mailbox,
    MailboxStatus,
    Notification,
    NotificationKind,
    Taxpayer,
    Topic,
    db,
    utcnow,
)

log = logging.getLogger(__name__)

# The job that processes one accepted e-mail, named (the worker imports it; the domain does not).
PROCESS_JOB = "jobs.mailbox.process_inbound"
HEADERS_MAX = 64 * 1024
# ``Precedence`` values of lists and robots (RFC 3834, 2): never answered.
ROBOT_PRECEDENCE = {"bulk", "junk", "list"}
ROBOT_LOCAL_PARTS = {
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "ne-pas-repondre",
    "nepasrepondre",
}

DEFAULT_AUTO_REPLY_OPEN = (
    "Bonjour,\n\n"
    "Nous avons bien reçu votre courriel adressé au service {service}. Il sera traité.\n\n"
    "Pour la suite de vos échanges, et pour toute nouvelle démarche, utilisez la messagerie "
    "sécurisée de votre espace particulier ou professionnel : vos échanges y sont protégés, "
    "vous suivez l'avancement de votre demande et vous pouvez joindre des documents.\n"
    "{lien}\n\n"
    "Ce message est envoyé automatiquement : merci de ne pas y répondre.\n"
)
DEFAULT_AUTO_REPLY_CLOSED = (
    "Bonjour,\n\n"
    "L'adresse électronique du service {service} n'est plus consultée : votre courriel n'a "
    "pas été transmis à un agent.\n\n"
    "Pour écrire à l'administration fiscale, utilisez la messagerie sécurisée de votre espace "
    "particulier ou professionnel : vos échanges y sont protégés et vous suivez l'avancement de "
    "votre demande.\n"
    "{lien}\n\n"
    "Ce message est envoyé automatiquement : merci de ne pas y répondre.\n"
)


class NoActiveTopic(RuntimeError):
    """The mailbox has no topic and no topic is active: the case cannot be made."""


def job_id(inbound_id: int, attempts: int) -> str:
    """The RQ job of a row's next attempt: the sweep sees whether it is already queued."""
    return f"inbound-{inbound_id}-{attempts}"


def normalise_address(address: str) -> str:
    return (address or "").strip().strip("<>").strip().lower()


def open_mailbox_for(address: str) -> Mailbox | None:
    """The mailbox of a recipient address (open or closed), or None."""
    return db.session.scalar(select(Mailbox).where(Mailbox.address == normalise_address(address)))


# --- reading an e-mail, whatever its state --------------------------------------------------


def parse(raw: bytes) -> EmailMessage:
    """The e-mail parsed leniently: a malformed one gives what can be read, and its defects."""
    return BytesParser(policy=policy.default).parsebytes(raw)


def header(message: Message, name: str) -> str:
    """A header's value as text; an unreadable one gives ''."""
    try:
        value = message.get(name)
        return " ".join(str(value or "").split())
    except Exception:  # a malformed header the policy cannot decode
        raw = message.get_all(name, failobj=[]) if hasattr(message, "get_all") else []
        return " ".join(str(raw[0]).split()) if raw else ""


def raw_headers(message: Message) -> str:
    """The headers as received, one a line (kept for agents and as evidence)."""
    try:
        items: Iterable[tuple[str, object]] = message.raw_items()
        text = "".join(f"{name}: {value}\n" for name, value in items)
    except Exception:
        text = ""
    return text[:HEADERS_MAX]


class _HtmlText(HTMLParser):
    """HTML to plain text: scripts, styles and their content dropped, blocks on new lines."""

    SKIPPED = {"script", "style", "head", "title", "noscript", "template", "iframe", "object"}
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # pragma: no cover - HTMLParser is lenient
        return re.sub(r"<[^>]*>", " ", html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _part_text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except Exception:  # unknown charset, broken encoding: the bytes, decoded as can be
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    text = str(content)
    if part.get_content_type() == "text/html":
        text = html_to_text(text)
    return text


def body_text(message: EmailMessage) -> str:
    """The text to show agents: the plain part, else the HTML one as text (never as HTML)."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        if message.is_multipart():
            return ""
        return _part_text(message) if message.get_content_maintype() == "text" else ""
    return _part_text(part)


def _attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    try:
        parts = list(message.iter_attachments()) if message.is_multipart() else []
    except Exception:
        parts = []
    for part in parts:
        try:
            name = part.get_filename() or ""
            payload = part.get_payload(decode=True)
        except Exception as error:
            log.info("unreadable attachment part skipped: %s", error)
            continue
        if part.is_multipart() or not isinstance(payload, bytes):
            continue  # an attached e-mail or a broken part: its text is not an attachment
        found.append((name or "piece-jointe", payload))
    return found


@dataclass
class Facts:
    """What is read from an e-mail's headers."""

    message_id: str | None
    sender: str
    sender_name: str
    subject: str
    headers: str
    defects: list[str] = field(default_factory=list)


def read_facts(message: EmailMessage) -> Facts:
    name, address = parseaddr(header(message, "From"))
    address = normalise_address(address)
    if "@" not in address or len(address) > 320:
        address = ""
    message_id = header(message, "Message-ID")[:998] or None
    defects = [type(defect).__name__ for defect in getattr(message, "defects", [])]
    for part in message.walk() if message.is_multipart() else []:
        defects += [type(defect).__name__ for defect in getattr(part, "defects", [])]
    return Facts(
        message_id=message_id,
        sender=address,
        sender_name=" ".join(name.split())[:255],
        subject=header(message, "Subject")[:255],
        headers=raw_headers(message),
        defects=sorted(set(defects))[:20],
    )


# --- robots and loops -----------------------------------------------------------------------


def robot_reason(message: Message, envelope_from: str) -> str | None:
    """Why an e-mail must never be answered automatically (RFC 3834), or None."""
    if not normalise_address(envelope_from):
        return "empty envelope sender (a bounce)"
    auto = header(message, "Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto[:40]}"
    precedence = header(message, "Precedence").lower()
    if precedence in ROBOT_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond"):
        if header(message, name):
            return name
    suppress = header(message, "X-Auto-Response-Suppress").lower()
    if any(word in suppress for word in ("all", "autoreply", "oof")):
        return "X-Auto-Response-Suppress"
    local = normalise_address(envelope_from).split("@", 1)[0]
    if local in ROBOT_LOCAL_PARTS or local.startswith("owner-") or local.endswith("-request"):
        return f"robot address {local}"
    return None


def _replied_recently(address: str, now: datetime) -> bool:
    days = int(current_app.config.get("MAILBOX_AUTO_REPLY_DAYS", 7))
    return (
        db.session.scalar(
            select(Notification.id)
            .where(
                Notification.kind == NotificationKind.MAILBOX_AUTO_REPLY,
                Notification.recipient == address,
                Notification.created_at > now - timedelta(days=days),
            )
            .limit(1)
        )
        is not None
    )


def auto_reply_text(mailbox: Mailbox) -> str:
    default = DEFAULT_AUTO_REPLY_OPEN if mailbox.is_open else DEFAULT_AUTO_REPLY_CLOSED
    text = (mailbox.auto_reply or "").strip() or default
    link = public_url("taxpayer.login")
    if "{lien}" not in text:
        text = text.rstrip() + "\n\n{lien}\n"
    return text.replace("{lien}", link).replace("{service}", mailbox.office.name)


def queue_auto_reply(
    mailbox: Mailbox, message: Message, envelope_from: str, subject: str, message_id: str | None
) -> Notification | None:
    """The automatic reply, to the envelope sender (the Return-Path, RFC 3834), at most once
    per address and period (``MAILBOX_AUTO_REPLY_DAYS``), never to a robot or a list."""
    if not mailbox.auto_reply_enabled:
        return None
    reason = robot_reason(message, envelope_from)
    if reason is not None:
        log.info("mailbox %s: no automatic reply (%s)", mailbox.address, reason)
        return None
    address = normalise_address(envelope_from)
    now = utcnow()
    if _replied_recently(address, now):
        return None
    return queue_email(
        kind=NotificationKind.MAILBOX_AUTO_REPLY,
        recipient=address,
        subject=(_("Réponse automatique : %(subject)s", subject=subject or _("votre courriel")))[
            :255
        ],
        body=auto_reply_text(mailbox),
        sender=mailbox.address,
        in_reply_to=message_id,
    )


# --- step 1: accepted by the endpoint --------------------------------------------------------


@dataclass
class Accepted:
    stored: list[int] = field(default_factory=list)  # inbound_email ids to process
    counted: int = 0  # e-mails to closed mailboxes: counted, auto-reply only


def accept(envelope_from: str, recipients: Iterable[str], raw: bytes) -> Accepted:
    """Record an e-mail for each known recipient mailbox (the endpoint commits, then answers
    250). Unknown recipients were refused at RCPT already."""
    result = Accepted()
    now = utcnow()
    closed_header: EmailMessage | None = None
    for recipient in dict.fromkeys(normalise_address(r) for r in recipients):
        mailbox = open_mailbox_for(recipient)
        if mailbox is None:
            continue
        if mailbox.status is MailboxStatus.CLOSED:
            # The cut-over switch: nothing recorded but the count; the sender is redirected.
            db.session.execute(
                update(Mailbox)
                .where(Mailbox.id == mailbox.id)
                .values(closed_count=Mailbox.closed_count + 1)
            )
            if closed_header is None:
                closed_header = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
            assert closed_header is not None
            queue_auto_reply(
                mailbox,
                closed_header,
                envelope_from,
                header(closed_header, "Subject"),
                header(closed_header, "Message-ID") or None,
            )
            result.counted += 1
            continue
        row = InboundEmail(
            mailbox_id=mailbox.id,
            envelope_from=normalise_address(envelope_from)[:320],
            recipient=recipient[:320],
            raw=raw,
            size=len(raw),
            received_at=now,
            next_attempt_at=now,
            status=InboundStatus.PENDING,
            attempts=0,
            refused_parts=[],
            defects=[],
            auto_replied=False,
        )
        db.session.add(row)
        db.session.flush()
        result.stored.append(row.id)
    return result


# --- step 2: processed by a job --------------------------------------------------------------


def dedupe_key(mailbox_id: int, message_id: str) -> str:
    normalised = message_id.strip().strip("<>").strip().lower()
    return hashlib.sha256(f"{mailbox_id}|{normalised}".encode()).hexdigest()


def _authenticated(message: Message) -> bool:
    """An ``Authentication-Results`` header of our own relay (``MAILBOX_TRUSTED_AUTHSERV_ID``)
    says SPF, DKIM or DMARC passed. The relay must remove such headers coming from outside."""
    authserv = (current_app.config.get("MAILBOX_TRUSTED_AUTHSERV_ID") or "").strip().lower()
    if not authserv:
        return True  # nothing to check against: the envelope rule alone applies
    for value in message.get_all("Authentication-Results", failobj=[]):
        text = " ".join(str(value).split()).lower()
        if text.split(";", 1)[0].split()[:1] == [authserv] and re.search(
            r"\b(dmarc|dkim|spf)=pass\b", text
        ):
            return True
    return False


def match_taxpayer(
    message: Message, envelope_from: str, sender: str
) -> tuple[Taxpayer | None, str]:
    """The taxpayer the sender is, when that is safe to say, and why (or why not).

    Attached only if the envelope sender (the Return-Path) is the From address, the relay's
    checks passed (when configured), and exactly one taxpayer has confirmed that address."""
    if not sender:
        return None, _("Adresse de l'expéditeur illisible : à rattacher par un agent.")
    if normalise_address(envelope_from) != sender:
        return None, _(
            "L'expéditeur de l'enveloppe (%(envelope)s) n'est pas celui de l'en-tête From : "
            "pas de rattachement automatique.",
            envelope=normalise_address(envelope_from) or "<>",
        )
    if not _authenticated(message):
        return None, _(
            "L'expéditeur n'a pas été authentifié (SPF, DKIM) : pas de rattachement automatique."
        )
    found = list(
        db.session.scalars(
            select(Taxpayer)
            .where(func.lower(Taxpayer.email) == sender, Taxpayer.email_confirmed_at.is_not(None))
            .limit(2)
        )
    )
    if len(found) == 1:
        return found[0], _("Rattaché à l'usager par son adresse électronique confirmée.")
    if found:
        return None, _("Plusieurs usagers ont cette adresse : à rattacher par un agent.")
    return None, _("Aucun usager connu avec cette adresse : à rattacher par un agent.")


def _topic(mailbox: Mailbox) -> Topic | None:
    if mailbox.topic is not None:
        return mailbox.topic
    return db.session.scalar(
        select(Topic)
        .where(Topic.active.is_(True), Topic.parent_id.is_(None))
        .order_by(Topic.position, Topic.id)
        .limit(1)
    )


def _store_attachments(
    found: list[tuple[str, bytes]],
) -> tuple[list[StoredFile], list[dict[str, str]]]:
    """Each file checked like any other (type, size, antivirus); the refused ones are listed.
    ``StorageUnavailable`` (disk, antivirus down) is raised: the e-mail is tried again later."""
    max_count, _max_bytes = limits()
    stored: list[StoredFile] = []
    refused: list[dict[str, str]] = []
    for name, content in found:
        if len(stored) >= max_count:
            refused.append(
                {
                    "filename": name[:255],
                    "reason": _("Au plus %(n)s pièces jointes par message.", n=max_count),
                }
            )
            continue
        try:
            stored += store_files([IncomingFile(filename=name, stream=io.BytesIO(content))])
        except AttachmentRejected as error:
            refused.append({"filename": name[:255], "reason": str(error)[:500]})
    return stored, refused


def _refusal_note(refused: list[dict[str, str]], defects: list[str]) -> str:
    lines = [_("Courriel reçu par la boîte du service.")]
    if refused:
        lines.append(_("Pièces jointes non enregistrées :"))
        lines += [f"- {item['filename']} : {item['reason']}" for item in refused]
    if defects:
        lines.append(
            _("Message mal formé (lu au mieux) : %(defects)s.", defects=", ".join(defects))
        )
    return "\n".join(lines)


def process(row: InboundEmail) -> str:
    """Turn one accepted e-mail into a case; returns what happened. Flushes, never commits.
    Raises ``StorageUnavailable`` when attachments cannot be stored or scanned now."""
    mailbox = row.mailbox
    raw = row.raw or b""
    message = parse(raw)
    facts = read_facts(message)
    row.message_id = facts.message_id
    row.sender = facts.sender or None
    row.sender_name = facts.sender_name or None
    row.subject = facts.subject or None
    row.headers = facts.headers
    row.defects = facts.defects
    now = utcnow()
    if facts.message_id:
        key = dedupe_key(mailbox.id, facts.message_id)
        if db.session.scalar(select(InboundEmail.id).where(InboundEmail.dedupe_key == key)):
            _finish(row, InboundStatus.DUPLICATE, now)
            return "duplicate"
        row.dedupe_key = key
    if not mailbox.is_open:  # closed since it was accepted: as if it had come now
        queue_auto_reply(mailbox, message, row.envelope_from, facts.subject, facts.message_id)
        db.session.execute(
            update(Mailbox)
            .where(Mailbox.id == mailbox.id)
            .values(closed_count=Mailbox.closed_count + 1)
        )
        db.session.delete(row)
        db.session.flush()
        return "closed"
    topic = _topic(mailbox)
    if topic is None:
        raise NoActiveTopic("no active topic for the mailbox's cases")
    taxpayer, note = match_taxpayer(message, row.envelope_from, facts.sender)
    stored, refused = _store_attachments(_attachments(message))
    identity = (
        f"{facts.sender_name} <{facts.sender}>" if facts.sender_name else facts.sender
    ) or _("Expéditeur inconnu")
    case = operations.record_email(
        office=mailbox.office,
        taxpayer=taxpayer,
        declared_identity=identity,
        topic=topic,
        subject=facts.subject,
        body=body_text(message),
        stored=stored,
        received_at=row.received_at,
    )
    if refused or facts.defects:
        operations.add_system_note(case, _refusal_note(refused, facts.defects), at=now)
    row.case_id = case.id
    row.match_note = note[:255]
    row.refused_parts = refused
    db.session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox.id)
        .values(received_count=Mailbox.received_count + 1)
    )
    reply = queue_auto_reply(mailbox, message, row.envelope_from, facts.subject, facts.message_id)
    row.auto_replied = reply is not None
    _finish(row, InboundStatus.DONE, now)
    return "done"


def _finish(row: InboundEmail, status: InboundStatus, now: datetime) -> None:
    row.status = status
    row.raw = None  # the case holds the text and the checked files; the headers stay here
    row.locked_at = None
    row.last_error = None
    row.processed_at = now
    db.session.flush()


def email_of_case(case_id: int) -> InboundEmail | None:
    """The e-mail a case was made from (agents' page), or None."""
    return db.session.scalar(
        select(InboundEmail).where(InboundEmail.case_id == case_id).order_by(InboundEmail.id)
    )


# --- e-mails whose processing failed (administrators, docs/directory.md) ---------------------

FAILED_PAGE_SIZE = 50


@dataclass
class FailedEmail:
    """One e-mail given up on, as the administrators' screen shows it."""

    row: InboundEmail
    sender: str
    subject: str
    reason: str


def failure_reason(last_error: str | None) -> str:
    """The last error of a row, said in French (the job records ``Type: detail``)."""
    kind = (last_error or "").split(":", 1)[0].strip()
    if kind == "StorageUnavailable":
        return _(
            "Le stockage des pièces jointes ou l'antivirus ne répondait pas : le courriel n'a pas "
            "pu être enregistré."
        )
    if kind == NoActiveTopic.__name__:
        return _(
            "Aucun motif de demande n'est actif pour cette boîte : choisissez-en un sur la boîte "
            "aux lettres ou réactivez un motif, puis relancez."
        )
    if kind in ("OperationalError", "DBAPIError", "InterfaceError"):
        return _("La base de données ne répondait pas.")
    return _("Erreur inattendue pendant le traitement (détail technique ci-dessous).")


def _envelope_facts(row: InboundEmail) -> tuple[str, str]:
    """Sender and subject of a row: from the row once read, else from the raw headers."""
    sender, subject = row.sender or "", row.subject or ""
    if (not sender or not subject) and row.raw:
        message = BytesParser(policy=policy.default).parsebytes(row.raw, headersonly=True)
        _name, address = parseaddr(header(message, "From"))
        sender = sender or normalise_address(address)[:320]
        subject = subject or header(message, "Subject")[:255]
    return sender or row.envelope_from or _("Expéditeur inconnu"), subject or _("(sans objet)")


def failed_sender(row: InboundEmail) -> str:
    return _envelope_facts(row)[0]


def failed_emails(page: int) -> tuple[list[FailedEmail], bool]:
    """A page of the e-mails given up on, the most recent first, and whether there is a next."""
    rows = list(
        db.session.scalars(
            select(InboundEmail)
            .where(InboundEmail.status == InboundStatus.FAILED)
            .options(selectinload(InboundEmail.mailbox).selectinload(Mailbox.office))
            .order_by(InboundEmail.received_at.desc(), InboundEmail.id.desc())
            .limit(FAILED_PAGE_SIZE + 1)
            .offset((page - 1) * FAILED_PAGE_SIZE)
        )
    )
    shown = [
        FailedEmail(row, *_envelope_facts(row), failure_reason(row.last_error))
        for row in rows[:FAILED_PAGE_SIZE]
    ]
    return shown, len(rows) > FAILED_PAGE_SIZE


def failed_count() -> int:
    return int(
        db.session.scalar(
            select(func.count(InboundEmail.id)).where(InboundEmail.status == InboundStatus.FAILED)
        )
        or 0
    )
