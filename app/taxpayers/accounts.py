"""Taxpayer accounts: passwords, sign-in rules, e-mailed links and codes, drafts, data export.

Nothing here commits: the view that calls these functions commits once (e-mails are outbox rows
queued after that commit, ``app.notifications.outbox.queue_email``).

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
from dataclasses import dataclass
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
from app.notifications.outbox import public_url, queue_email
from app.platform import drafts, passwords, ratelimit
from app.platform.queue import get_redis
from app.platform.sessions import PASSWORD as PASSWORD_CHANGED
from app.platform.sessions import end_sessions
from models import (
    Attachment,
    Case,
    Message,
    NotificationKind,
    Taxpayer,
    TaxpayerKind,
    Topic,
    db,
    utcnow,
)

log = logging.getLogger(__name__)

# Compared against when no account matches, so that the time taken tells nothing either.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")

PASSWORD_MAX = passwords.MAX_LENGTH  # the policy itself: app.platform.passwords
MAX_FAILED_LOGINS = 6
LOCK_MINUTES = 15
CONFIRM_HOURS = 48
RESET_MINUTES = 60
CODE_MINUTES = 10
CODE_TRIES = 5
DRAFT_HOURS = 24
TRUSTED_COOKIE = "ec_browser"

_SALT_CONFIRM = "taxpayer-email-confirmation"
_SALT_RESET = "taxpayer-password-reset"
_SALT_EMAIL_CHANGE = "taxpayer-email-change"
_SALT_BROWSER = "taxpayer-trusted-browser"
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
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(taxpayer.password_hash, password):
        return None
    if taxpayer.email_confirmed_at is None:
        return None
    return taxpayer


# --- signing in: lockout ---------------------------------------------------------------------

OK = "ok"
INVALID = "invalid"
LOCKED = "locked"
UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class LoginAttempt:
    outcome: str
    taxpayer: Taxpayer | None = None


def attempt_login(identifier: str, password: str) -> LoginAttempt:
    """Check a password and keep the lockout counters (the caller commits).

    ``LOCKED`` is answered the same way for an account locked in the database and for an
    identifier (known or not) that failed too often, so the answer never tells whether an
    account exists. ``UNCONFIRMED`` is only told to someone who gave the right password.
    """
    digits = digits_of(identifier)
    failures_key = f"taxpayer-login-failures:{digits}"
    taxpayer = find_by_identifier(digits)
    now = utcnow()
    if taxpayer is not None and taxpayer.locked_until is not None and taxpayer.locked_until > now:
        check_password_hash(_DUMMY_HASH, password)
        return LoginAttempt(LOCKED)
    if taxpayer is None or taxpayer.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        failed_too_often = ratelimit.too_many(
            failures_key, limit=MAX_FAILED_LOGINS - 1, window_seconds=LOCK_MINUTES * 60
        )
        return LoginAttempt(LOCKED if failed_too_often else INVALID)
    if not check_password_hash(taxpayer.password_hash, password):
        taxpayer.failed_logins = (taxpayer.failed_logins or 0) + 1
        if taxpayer.failed_logins >= MAX_FAILED_LOGINS:
            taxpayer.failed_logins = 0
            taxpayer.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            log.warning("taxpayer %s locked after %s failures", taxpayer.id, MAX_FAILED_LOGINS)
            return LoginAttempt(LOCKED)
        return LoginAttempt(INVALID)
    taxpayer.failed_logins = 0
    taxpayer.locked_until = None
    ratelimit.reset(failures_key)
    if taxpayer.email_confirmed_at is None:
        return LoginAttempt(UNCONFIRMED)
    return LoginAttempt(OK, taxpayer)


# --- signed links ------------------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _load(salt: str, token: str, max_age: timedelta) -> dict[str, Any] | None:
    try:
        data = _serializer(salt).loads(token, max_age=int(max_age.total_seconds()))
    except BadSignature:  # also SignatureExpired
        return None
    return data if isinstance(data, dict) else None


def _password_digest(taxpayer: Taxpayer) -> str:
    """A short digest of the current password hash: a used reset link stops matching it."""
    return hashlib.sha256((taxpayer.password_hash or "").encode()).hexdigest()[:16]


# --- creating an account -----------------------------------------------------------------------


def access_number_digest(identifier: str, access_number: str) -> str:
    """What is kept of an online access number: SHA-256 of "identifier:number" (the tax file
    holds the number; this column only keeps it from being read at a glance)."""
    return hashlib.sha256(
        f"{digits_of(identifier)}:{digits_of(access_number)}".encode()
    ).hexdigest()


def set_activation_data(
    taxpayer: Taxpayer, *, access_number: str, reference_income: int | None
) -> None:
    """The proof of identity the administration sent the taxpayer (the last notice, or the
    activation letter to a business's registered office)."""
    taxpayer.access_number_digest = access_number_digest(taxpayer.identifier, access_number)
    taxpayer.reference_income = reference_income


def _activation_matches(taxpayer: Taxpayer | None, data: Registration) -> bool:
    """Both proofs match the tax file (compared in constant time, with the same work when no
    taxpayer matches)."""
    given = access_number_digest(data.identifier, data.access_number)
    expected = taxpayer.access_number_digest if taxpayer is not None else None
    number_ok = hmac.compare_digest(given, expected or "0" * 64) and expected is not None
    if taxpayer is None or taxpayer.kind is not data.kind:
        return False
    if taxpayer.kind is TaxpayerKind.BUSINESS:
        return number_ok
    income_ok = (
        taxpayer.reference_income is not None
        and data.reference_income is not None
        and taxpayer.reference_income == data.reference_income
    )
    return number_ok and income_ok


@dataclass(frozen=True)
class Registration:
    kind: TaxpayerKind
    identifier: str
    access_number: str
    reference_income: int | None  # individuals only
    email: str
    password: str


def register(data: Registration) -> None:
    """Activate the online space of a taxpayer the administration knows, and e-mail the
    confirmation link.

    Activation asks what the administration sent the taxpayer by post (issue 20, finding 5):
    the online access number and, for an individual, the reference tax income of the last tax
    notice; for a business, the access number of the activation letter sent to its registered
    office (docs/decisions/0014). The caller shows the same page whatever happened here:
    - an identifier the administration does not know, or proofs that do not match: nothing;
    - an account still unconfirmed: the latest registration replaces the earlier one;
    - an active account: its owner is told by e-mail, at the address already on file.
    """
    taxpayer = find_by_identifier(data.identifier)
    if (
        taxpayer is not None
        and taxpayer.kind is data.kind
        and taxpayer.email_confirmed_at is not None
        and taxpayer.password_hash is not None
        and taxpayer.email
    ):
        _mail_account_exists(taxpayer)
        return
    if taxpayer is None or not _activation_matches(taxpayer, data):
        log.info("registration refused: unknown identifier or proofs that do not match")
        return
    taxpayer.email = data.email
    taxpayer.email_confirmed_at = None
    taxpayer.email_undeliverable_at = None
    taxpayer.email_undeliverable_reason = None
    passwords.check(data.password, identifiers=[taxpayer.identifier, data.email])
    taxpayer.password_hash = hash_password(data.password)
    taxpayer.failed_logins = 0
    taxpayer.locked_until = None
    db.session.flush()
    _mail_confirmation(taxpayer)


def _mail_confirmation(taxpayer: Taxpayer) -> None:
    assert taxpayer.email
    token = _serializer(_SALT_CONFIRM).dumps({"t": taxpayer.id, "e": taxpayer.email})
    body = _(
        "Bonjour,\n\n"
        "Pour activer votre espace de messagerie sécurisée, confirmez votre adresse "
        "électronique en ouvrant ce lien (valable %(hours)s heures) :\n%(link)s\n\n"
        "Si vous n'avez pas demandé la création d'un espace, ignorez ce courriel : "
        "aucun espace ne sera activé.\n"
        "Ne répondez pas à ce courriel : il est envoyé automatiquement.\n",
        hours=CONFIRM_HOURS,
        link=public_url("taxpayer.confirm_email", token=token),
    )
    queue_email(
        kind=NotificationKind.EMAIL_CONFIRMATION,
        recipient=taxpayer.email,
        subject=_("Confirmez votre adresse électronique"),
        body=body,
        taxpayer=taxpayer,
    )


def _mail_account_exists(taxpayer: Taxpayer) -> None:
    assert taxpayer.email
    body = _(
        "Bonjour,\n\n"
        "Une demande de création d'espace a été faite avec votre identifiant, mais votre "
        "espace existe déjà. Connectez-vous :\n%(login)s\n\n"
        "Si vous avez oublié votre mot de passe, vous pouvez le réinitialiser :\n%(reset)s\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce courriel : rien n'a été "
        "modifié.\n",
        login=public_url("taxpayer.login"),
        reset=public_url("taxpayer.forgot_password"),
    )
    queue_email(
        kind=NotificationKind.EMAIL_CONFIRMATION,
        recipient=taxpayer.email,
        subject=_("Votre espace existe déjà"),
        body=body,
        taxpayer=taxpayer,
    )


def confirm_email(token: str) -> Taxpayer | None:
    """The account whose address the link confirms (now confirmed), or None."""
    data = _load(_SALT_CONFIRM, token, timedelta(hours=CONFIRM_HOURS))
    if data is None:
        return None
    taxpayer = db.session.get(Taxpayer, data.get("t"))
    if taxpayer is None or not taxpayer.email or taxpayer.email != data.get("e"):
        return None
    if taxpayer.email_confirmed_at is None:
        taxpayer.email_confirmed_at = utcnow()
    return taxpayer


# --- password reset ----------------------------------------------------------------------------


def request_password_reset(identifier: str) -> None:
    """E-mail a single-use link to the account's address, if there is such an account."""
    taxpayer = find_by_identifier(identifier)
    if (
        taxpayer is None
        or taxpayer.password_hash is None
        or taxpayer.email is None
        or taxpayer.email_confirmed_at is None
    ):
        return
    token = _serializer(_SALT_RESET).dumps({"t": taxpayer.id, "h": _password_digest(taxpayer)})
    body = _(
        "Bonjour,\n\n"
        "Pour choisir un nouveau mot de passe, ouvrez ce lien (valable %(minutes)s minutes, "
        "une seule fois) :\n%(link)s\n\n"
        "Si vous n'avez rien demandé, ignorez ce courriel : votre mot de passe reste le même.\n",
        minutes=RESET_MINUTES,
        link=public_url("taxpayer.reset_password", token=token),
    )
    queue_email(
        kind=NotificationKind.PASSWORD_RESET,
        recipient=taxpayer.email,
        subject=_("Réinitialisation de votre mot de passe"),
        body=body,
        taxpayer=taxpayer,
    )


def taxpayer_for_reset(token: str) -> Taxpayer | None:
    data = _load(_SALT_RESET, token, timedelta(minutes=RESET_MINUTES))
    if data is None:
        return None
    taxpayer = db.session.get(Taxpayer, data.get("t"))
    if taxpayer is None or not hmac.compare_digest(
        _password_digest(taxpayer), str(data.get("h", ""))
    ):
        return None
    return taxpayer


def set_password(taxpayer: Taxpayer, password: str, *, keep_session: str | None = None) -> None:
    """A new password: unlocks the account, forgets the browsers trusted so far and ends every
    session of the account (but ``keep_session``, the token of the one changing it, if given)."""
    passwords.check(password, identifiers=[taxpayer.identifier, taxpayer.email])
    taxpayer.password_hash = hash_password(password)
    taxpayer.failed_logins = 0
    taxpayer.locked_until = None
    end_sessions(taxpayer=taxpayer, keep=keep_session, reason=PASSWORD_CHANGED)


def change_password(taxpayer: Taxpayer, password: str, *, keep_session: str | None = None) -> None:
    """The taxpayer changes their password from "Mon compte" (the caller checked the current
    one): browsers trusted so far are forgotten, every other session ends (``keep_session``,
    the token of this one, stays), and the account's address is told."""
    set_password(taxpayer, password, keep_session=keep_session)
    if taxpayer.email:
        queue_email(
            kind=NotificationKind.PASSWORD_RESET,
            recipient=taxpayer.email,
            subject=_("Votre mot de passe a été modifié"),
            body=_(
                "Bonjour,\n\n"
                "Le mot de passe de votre messagerie sécurisée vient d'être modifié depuis votre "
                "espace. Si ce n'est pas vous, choisissez-en un nouveau sans attendre : %(link)s\n",
                link=public_url("taxpayer.forgot_password"),
            ),
            taxpayer=taxpayer,
        )


# --- change of contact e-mail -----------------------------------------------------------------


def request_email_change(taxpayer: Taxpayer, new_email: str) -> None:
    """Send a confirmation link to the new address; the current one stays until it is used."""
    token = _serializer(_SALT_EMAIL_CHANGE).dumps(
        {"t": taxpayer.id, "old": taxpayer.email or "", "new": new_email}
    )
    body = _(
        "Bonjour,\n\n"
        "Pour que cette adresse devienne celle de votre messagerie sécurisée, ouvrez ce lien "
        "(valable %(hours)s heures) :\n%(link)s\n\n"
        "Tant que vous ne l'avez pas ouvert, votre adresse actuelle reste utilisée. Si vous "
        "n'avez rien demandé, ignorez ce courriel.\n",
        hours=CONFIRM_HOURS,
        link=public_url("taxpayer.confirm_email_change", token=token),
    )
    queue_email(
        kind=NotificationKind.EMAIL_CONFIRMATION,
        recipient=new_email,
        subject=_("Confirmez votre nouvelle adresse électronique"),
        body=body,
        taxpayer=taxpayer,
    )


def confirm_email_change(token: str) -> Taxpayer | None:
    data = _load(_SALT_EMAIL_CHANGE, token, timedelta(hours=CONFIRM_HOURS))
    if data is None:
        return None
    taxpayer = db.session.get(Taxpayer, data.get("t"))
    if taxpayer is None or (taxpayer.email or "") != data.get("old"):
        # Already used, or another change happened since.
        return None
    taxpayer.email = str(data["new"])
    taxpayer.email_confirmed_at = utcnow()
    taxpayer.email_undeliverable_at = None  # a new address: alerts are tried on it afresh
    taxpayer.email_undeliverable_reason = None
    return taxpayer


# --- browsers already seen ---------------------------------------------------------------------


def trusted_browser_days() -> int:
    return int(current_app.config.get("TAXPAYER_TRUSTED_BROWSER_DAYS", 90))


def _browser_mark(taxpayer: Taxpayer) -> str:
    # Changing the password forgets every browser trusted before.
    return f"{taxpayer.id}:{_password_digest(taxpayer)[:8]}"


def _trusted_marks(cookie: str | None) -> list[str]:
    if not cookie:
        return []
    data = _load(_SALT_BROWSER, cookie, timedelta(days=trusted_browser_days()))
    marks = (data or {}).get("m")
    return [str(m) for m in marks] if isinstance(marks, list) else []


def is_trusted_browser(cookie: str | None, taxpayer: Taxpayer) -> bool:
    return _browser_mark(taxpayer) in _trusted_marks(cookie)


def trust_browser(cookie: str | None, taxpayer: Taxpayer) -> str:
    """The new cookie value: this account added to the ones the browser already holds."""
    own = _browser_mark(taxpayer)
    prefix = f"{taxpayer.id}:"
    marks = [m for m in _trusted_marks(cookie) if not m.startswith(prefix)][-4:] + [own]
    return _serializer(_SALT_BROWSER).dumps({"m": marks})


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
