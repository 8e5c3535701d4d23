"""Taxpayer accounts: passwords and authentication."""

from __future__ import annotations

from sqlalchemy import or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from models import Taxpayer, db

# Compared against when no account matches, so that the time taken tells nothing either.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def find_by_identifier(identifier: str) -> Taxpayer | None:
    digits = "".join(ch for ch in identifier if ch.isdigit())
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
