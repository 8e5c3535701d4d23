"""The taxpayer accounts' only writers: activation, sign-in counters, confirmation of the
address, password reset and change, change of e-mail address.

Nothing here commits: the view that calls these functions commits once (e-mails are outbox rows
queued after that commit, ``app.notifications.outbox.queue_email``). The rules they share with
the reads (signed links, lockout limits, the activation proofs) are in ``app.taxpayers.accounts``.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from werkzeug.security import check_password_hash

from app.notifications.outbox import public_url, queue_email
from app.platform import passwords, ratelimit
from app.platform.sessions import PASSWORD as PASSWORD_CHANGED
from app.platform.sessions import end_sessions
from app.taxpayers import accounts
from app.taxpayers.accounts import INVALID, LOCKED, OK, UNCONFIRMED
from models import NotificationKind, Taxpayer, TaxpayerKind, db, utcnow

log = logging.getLogger(__name__)


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
    digits = accounts.digits_of(identifier)
    failures_key = f"taxpayer-login-failures:{digits}"
    taxpayer = accounts.find_by_identifier(digits)
    now = utcnow()
    if taxpayer is not None and taxpayer.locked_until is not None and taxpayer.locked_until > now:
        check_password_hash(accounts.DUMMY_HASH, password)
        return LoginAttempt(LOCKED)
    if taxpayer is None or taxpayer.password_hash is None:
        check_password_hash(accounts.DUMMY_HASH, password)
        failed_too_often = ratelimit.too_many(
            failures_key,
            limit=accounts.MAX_FAILED_LOGINS - 1,
            window_seconds=accounts.LOCK_MINUTES * 60,
        )
        return LoginAttempt(LOCKED if failed_too_often else INVALID)
    if not check_password_hash(taxpayer.password_hash, password):
        taxpayer.failed_logins = (taxpayer.failed_logins or 0) + 1
        if taxpayer.failed_logins >= accounts.MAX_FAILED_LOGINS:
            taxpayer.failed_logins = 0
            taxpayer.locked_until = now + timedelta(minutes=accounts.LOCK_MINUTES)
            log.warning(
                "taxpayer %s locked after %s failures", taxpayer.id, accounts.MAX_FAILED_LOGINS
            )
            return LoginAttempt(LOCKED)
        return LoginAttempt(INVALID)
    taxpayer.failed_logins = 0
    taxpayer.locked_until = None
    ratelimit.reset(failures_key)
    if taxpayer.email_confirmed_at is None:
        return LoginAttempt(UNCONFIRMED)
    return LoginAttempt(OK, taxpayer)


def set_activation_data(
    taxpayer: Taxpayer, *, access_number: str, reference_income: int | None
) -> None:
    """The proof of identity the administration sent the taxpayer (the last notice, or the
    activation letter to a business's registered office)."""
    taxpayer.access_number_digest = accounts.access_number_digest(
        taxpayer.identifier, access_number
    )
    taxpayer.reference_income = reference_income


def _activation_matches(taxpayer: Taxpayer | None, data: Registration) -> bool:
    """Both proofs match the tax file (compared in constant time, with the same work when no
    taxpayer matches)."""
    given = accounts.access_number_digest(data.identifier, data.access_number)
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
    taxpayer = accounts.find_by_identifier(data.identifier)
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
    taxpayer.password_hash = accounts.hash_password(data.password)
    taxpayer.failed_logins = 0
    taxpayer.locked_until = None
    db.session.flush()
    _mail_confirmation(taxpayer)


def _mail_confirmation(taxpayer: Taxpayer) -> None:
    assert taxpayer.email
    token = accounts.link_serializer(accounts.SALT_CONFIRM).dumps(
        {"t": taxpayer.id, "e": taxpayer.email}
    )
    body = _(
        "Bonjour,\n\n"
        "Pour activer votre espace de messagerie sécurisée, confirmez votre adresse "
        "électronique en ouvrant ce lien (valable %(hours)s heures) :\n%(link)s\n\n"
        "Si vous n'avez pas demandé la création d'un espace, ignorez ce courriel : "
        "aucun espace ne sera activé.\n"
        "Ne répondez pas à ce courriel : il est envoyé automatiquement.\n",
        hours=accounts.CONFIRM_HOURS,
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
    data = accounts.load_link(accounts.SALT_CONFIRM, token, timedelta(hours=accounts.CONFIRM_HOURS))
    if data is None:
        return None
    taxpayer = db.session.get(Taxpayer, data.get("t"))
    if taxpayer is None or not taxpayer.email or taxpayer.email != data.get("e"):
        return None
    if taxpayer.email_confirmed_at is None:
        taxpayer.email_confirmed_at = utcnow()
    return taxpayer


def request_password_reset(identifier: str) -> None:
    """E-mail a single-use link to the account's address, if there is such an account."""
    taxpayer = accounts.find_by_identifier(identifier)
    if (
        taxpayer is None
        or taxpayer.password_hash is None
        or taxpayer.email is None
        or taxpayer.email_confirmed_at is None
    ):
        return
    token = accounts.link_serializer(accounts.SALT_RESET).dumps(
        {"t": taxpayer.id, "h": accounts.password_digest(taxpayer)}
    )
    body = _(
        "Bonjour,\n\n"
        "Pour choisir un nouveau mot de passe, ouvrez ce lien (valable %(minutes)s minutes, "
        "une seule fois) :\n%(link)s\n\n"
        "Si vous n'avez rien demandé, ignorez ce courriel : votre mot de passe reste le même.\n",
        minutes=accounts.RESET_MINUTES,
        link=public_url("taxpayer.reset_password", token=token),
    )
    queue_email(
        kind=NotificationKind.PASSWORD_RESET,
        recipient=taxpayer.email,
        subject=_("Réinitialisation de votre mot de passe"),
        body=body,
        taxpayer=taxpayer,
    )


def set_password(taxpayer: Taxpayer, password: str, *, keep_session: str | None = None) -> None:
    """A new password: unlocks the account, forgets the browsers trusted so far and ends every
    session of the account (but ``keep_session``, the token of the one changing it, if given)."""
    passwords.check(password, identifiers=[taxpayer.identifier, taxpayer.email])
    taxpayer.password_hash = accounts.hash_password(password)
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


def request_email_change(taxpayer: Taxpayer, new_email: str) -> None:
    """Send a confirmation link to the new address; the current one stays until it is used."""
    token = accounts.link_serializer(accounts.SALT_EMAIL_CHANGE).dumps(
        {"t": taxpayer.id, "old": taxpayer.email or "", "new": new_email}
    )
    body = _(
        "Bonjour,\n\n"
        "Pour que cette adresse devienne celle de votre messagerie sécurisée, ouvrez ce lien "
        "(valable %(hours)s heures) :\n%(link)s\n\n"
        "Tant que vous ne l'avez pas ouvert, votre adresse actuelle reste utilisée. Si vous "
        "n'avez rien demandé, ignorez ce courriel.\n",
        hours=accounts.CONFIRM_HOURS,
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
    data = accounts.load_link(
        accounts.SALT_EMAIL_CHANGE, token, timedelta(hours=accounts.CONFIRM_HOURS)
    )
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
