"""Taxpayer accounts, the reads and rules: identifiers, passwords, signed links, trusted
browsers, e-mailed codes, drafts, data export. The writes (activation, lockout counters,
confirmations, password and address changes) are ``app.taxpayers.operations``.

- Links (confirmation, password reset, change of e-mail) are signed with the app's SECRET_KEY by
  ``itsdangerous.URLSafeTimedSerializer``, one salt per purpose, and expire. A reset link also
  carries a digest of the current password hash, so it stops working once used.
- Sign-in: a wrong password counts in ``Taxpayer.failed_logins``; the sixth in a row locks the
  account for 15 minutes. A per-identifier counter in Redis gives an unknown identifier the same
  answer, so that no answer tells whether an account exists.
- A browser not seen before gets a 6-digit code by e-mail (10 minutes, 5 tries, kept in Redis);
  the browser is then remembered by a signed cookie for ``TAXPAYER_TRUSTED_BROWSER_DAYS`` days.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from datetime import timedelta
from typing import Any

import redis
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import false, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from app.cases.access import cases_of_taxpayer, messages_for_taxpayer
from app.notifications.outbox import queue_email
from app.platform import drafts, passwords
from app.platform.queue import get_redis
from models import (
    Attachment,
    Case,
    Message,
    NotificationKind,
    Taxpayer,
    Topic,
    db,
    utcnow,
)

log = logging.getLogger(__name__)

# Compared against when no account matches, so that the time taken tells nothing either.
DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")

PASSWORD_MAX = passwords.MAX_LENGTH  # the policy itself: app.platform.passwords
MAX_FAILED_LOGINS = 6
LOCK_MINUTES = 15
CONFIRM_HOURS = 48
RESET_MINUTES = 60
CODE_MINUTES = 10
CODE_TRIES = 5
DRAFT_HOURS = 24
TRUSTED_COOKIE = "ec_browser"

SALT_CONFIRM = "taxpayer-email-confirmation"
SALT_RESET = "taxpayer-password-reset"
SALT_EMAIL_CHANGE = "taxpayer-email-change"
SALT_BROWSER = "taxpayer-trusted-browser"
_REDIS_PREFIX = "econtacts:taxpayer:"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def digits_of(identifier: str) -> str:
    return "".join(ch for ch in identifier if ch.isdigit())


def find_by_identifier(identifier: str) -> Taxpayer | None:
    digits = digits_of(identifier)
    if len(digits) not in (9, 13):
        return None
    return db.session.scalar(
        select(Taxpayer).where(or_(Taxpayer.tax_number == digits, Taxpayer.siren == digits))
    )


def authenticate(identifier: str, password: str) -> Taxpayer | None:
    """The taxpayer whose identifier and password match, or None (whatever the reason)."""
    taxpayer = find_by_identifier(identifier)
    if taxpayer is None or taxpayer.password_hash is None:
        check_password_hash(DUMMY_HASH, password)
        return None
    if not check_password_hash(taxpayer.password_hash, password):
        return None
    if taxpayer.email_confirmed_at is None:
        return None
    return taxpayer


# Outcomes of a sign-in (``app.taxpayers.operations.attempt_login``) and of a code check.
OK = "ok"
INVALID = "invalid"
LOCKED = "locked"
UNCONFIRMED = "unconfirmed"


# --- signed links ------------------------------------------------------------------------------


def link_serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def load_link(salt: str, token: str, max_age: timedelta) -> dict[str, Any] | None:
    try:
        data = link_serializer(salt).loads(token, max_age=int(max_age.total_seconds()))
    except BadSignature:  # also SignatureExpired
        return None
    return data if isinstance(data, dict) else None


def password_digest(taxpayer: Taxpayer) -> str:
    """A short digest of the current password hash: a used reset link stops matching it."""
    return hashlib.sha256((taxpayer.password_hash or "").encode()).hexdigest()[:16]


# --- creating an account -----------------------------------------------------------------------


def access_number_digest(identifier: str, access_number: str) -> str:
    """What is kept of an online access number: SHA-256 of "identifier:number" (the tax file
    holds the number; this column only keeps it from being read at a glance)."""
    return hashlib.sha256(
        f"{digits_of(identifier)}:{digits_of(access_number)}".encode()
    ).hexdigest()


# --- password reset ----------------------------------------------------------------------------


def taxpayer_for_reset(token: str) -> Taxpayer | None:
    data = load_link(SALT_RESET, token, timedelta(minutes=RESET_MINUTES))
    if data is None:
        return None
    taxpayer = db.session.get(Taxpayer, data.get("t"))
    if taxpayer is None or not hmac.compare_digest(
        password_digest(taxpayer), str(data.get("h", ""))
    ):
        return None
    return taxpayer


# --- browsers already seen ---------------------------------------------------------------------


def trusted_browser_days() -> int:
    return int(current_app.config.get("TAXPAYER_TRUSTED_BROWSER_DAYS", 90))


def _browser_mark(taxpayer: Taxpayer) -> str:
    # Changing the password forgets every browser trusted before.
    return f"{taxpayer.id}:{password_digest(taxpayer)[:8]}"


def _trusted_marks(cookie: str | None) -> list[str]:
    if not cookie:
        return []
    data = load_link(SALT_BROWSER, cookie, timedelta(days=trusted_browser_days()))
    marks = (data or {}).get("m")
    return [str(m) for m in marks] if isinstance(marks, list) else []


def is_trusted_browser(cookie: str | None, taxpayer: Taxpayer) -> bool:
    return _browser_mark(taxpayer) in _trusted_marks(cookie)


def trust_browser(cookie: str | None, taxpayer: Taxpayer) -> str:
    """The new cookie value: this account added to the ones the browser already holds."""
    own = _browser_mark(taxpayer)
    prefix = f"{taxpayer.id}:"
    marks = [m for m in _trusted_marks(cookie) if not m.startswith(prefix)][-4:] + [own]
    return link_serializer(SALT_BROWSER).dumps({"m": marks})


# --- the e-mailed code for a new browser -------------------------------------------------------


class CodeUnavailable(RuntimeError):
    """The code store (Redis) cannot be reached."""


def _code_digest(challenge: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{challenge}:{code}".encode(), hashlib.sha256).hexdigest()


def _code_key(challenge: str) -> str:
    return _REDIS_PREFIX + "code:" + challenge


def start_code_challenge(taxpayer: Taxpayer) -> str:
    """Draw a 6-digit code, keep its digest for 10 minutes, e-mail it; returns the challenge id."""
    challenge = secrets.token_urlsafe(24)
    code = f"{secrets.randbelow(1_000_000):06d}"
    state = {"t": taxpayer.id, "d": _code_digest(challenge, code)}
    try:
        with get_redis().pipeline() as pipe:
            pipe.set(_code_key(challenge), json.dumps(state), ex=CODE_MINUTES * 60)
            pipe.set(_code_key(challenge) + ":tries", 0, ex=CODE_MINUTES * 60)
            pipe.execute()
    except redis.RedisError as error:
        raise CodeUnavailable(str(error)) from error
    assert taxpayer.email
    body = _(
        "Bonjour,\n\n"
        "Voici le code pour vous connecter à votre espace depuis un nouvel appareil : %(code)s\n"
        "Il est valable %(minutes)s minutes.\n\n"
        "Si vous n'êtes pas en train de vous connecter, quelqu'un connaît votre mot de passe : "
        "changez-le sans attendre.\n",
        code=code,
        minutes=CODE_MINUTES,
    )
    queue_email(
        kind=NotificationKind.SIGN_IN_CODE,
        recipient=taxpayer.email,
        subject=_("Votre code de connexion"),
        body=body,
        taxpayer=taxpayer,
    )
    return challenge


WRONG = "wrong"
EXPIRED = "expired"


def check_code(challenge: str, code: str) -> tuple[str, int | None]:
    """(OK, taxpayer id), (WRONG, None) while tries remain, or (EXPIRED, None).

    Atomic whatever the concurrency (issue 20, finding 6): every try is counted by one Redis
    ``INCR`` before the code is compared, so no more than CODE_TRIES are ever evaluated; and
    the right code signs in once, for the request whose ``DELETE`` removed the challenge."""
    key = _code_key(challenge)
    try:
        connection = get_redis()
        tries = int(connection.incr(key + ":tries"))
        raw = connection.get(key)
        if raw is None or tries > CODE_TRIES:
            connection.delete(key, key + ":tries")
            return EXPIRED, None
        state = json.loads(raw)
        if hmac.compare_digest(state["d"], _code_digest(challenge, code.strip())):
            if connection.delete(key) == 1:  # only one request can remove it
                connection.delete(key + ":tries")
                return OK, int(state["t"])
            return EXPIRED, None
        if tries >= CODE_TRIES:
            connection.delete(key, key + ":tries")
            return EXPIRED, None
    except redis.RedisError as error:
        raise CodeUnavailable(str(error)) from error
    return WRONG, None


# --- drafts kept across an expired session -----------------------------------------------------


def stash_draft(fields: dict[str, str]) -> str | None:
    """Keep the text of a form (not its files) for a day; returns its id, or None."""
    return drafts.keep(fields, seconds=DRAFT_HOURS * 3600)


def take_draft(draft_id: str) -> dict[str, str] | None:
    return drafts.take(draft_id)


# --- right of access ---------------------------------------------------------------------------


def export_data(taxpayer: Taxpayer) -> dict[str, Any]:
    """Everything the taxpayer may see about themself, as JSON-ready data."""

    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    cases = db.session.scalars(
        select(Case)
        .where(cases_of_taxpayer(taxpayer))
        .options(
            joinedload(Case.topic).joinedload(Topic.parent),
            joinedload(Case.tax_matter),
            joinedload(Case.office),
        )
        .order_by(Case.received_at, Case.id)
    ).all()
    messages = db.session.scalars(
        select(Message)
        .where(Message.case_id.in_([c.id for c in cases]) if cases else false())
        .where(messages_for_taxpayer())
        .options(joinedload(Message.author_office))
        .order_by(Message.created_at, Message.id)
    ).all()
    attachments = db.session.scalars(
        select(Attachment).where(
            Attachment.message_id.in_([m.id for m in messages]) if messages else false()
        )
    ).all()
    files: dict[int, list[dict[str, Any]]] = {}
    for item in attachments:
        files.setdefault(item.message_id, []).append(
            {"nom": item.filename, "type": item.content_type, "taille": item.size}
        )
    by_case: dict[int, list[dict[str, Any]]] = {}
    for message in messages:
        by_case.setdefault(message.case_id, []).append(
            {
                "date": when(message.created_at),
                "auteur": "usager" if message.author_kind.value == "taxpayer" else "service",
                "service": message.author_office.name if message.author_office else None,
                "texte": message.body,
                "pieces_jointes": files.get(message.id, []),
            }
        )
    return {
        "export": {"date": when(utcnow()), "service": "e-contacts"},
        "compte": {
            "type": str(taxpayer.kind.label),
            "numero_fiscal": taxpayer.tax_number,
            "siren": taxpayer.siren,
            "prenom": taxpayer.first_name,
            "nom": taxpayer.last_name,
            "raison_sociale": taxpayer.company_name,
            "courriel": taxpayer.email,
            "courriel_confirme_le": when(taxpayer.email_confirmed_at),
            "alertes_par_courriel": taxpayer.notify_by_email,
            "adresse": taxpayer.address_line,
            "code_postal": taxpayer.postcode,
            "ville": taxpayer.city,
            "code_commune": taxpayer.commune_code,
            "telephone": taxpayer.phone,
            "cree_le": when(taxpayer.created_at),
        },
        "demandes": [
            {
                "reference": case.reference,
                "canal": str(case.channel.label),
                "motif": case.topic.full_label,
                "impot": case.tax_matter.label if case.tax_matter else None,
                "annee": case.tax_year,
                "objet": case.subject,
                "service": case.office.name,
                "statut": case.taxpayer_status,
                "recue_le": when(case.received_at),
                "cloturee_le": when(case.closed_at),
                "messages": by_case.get(case.id, []),
            }
            for case in cases
        ],
    }
