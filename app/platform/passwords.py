"""The one password policy, for agents and taxpayers alike, on every path that sets a password.

A password is refused when it is:

- shorter than ``MIN_LENGTH`` characters (or longer than ``MAX_LENGTH``);
- a common password (``app/platform/data/common-passwords.txt``), compared lower-cased, without
  spaces and without leading or trailing digits and punctuation ("Azerty2026!" is "azerty");
- containing the account's identifier (the agent's login, the taxpayer's tax number or SIREN),
  whatever the case.

``problems()`` gives the French reasons; ``PasswordPolicy`` is the WTForms validator every form
uses (the agents' add form, the administrator's reset, the agent's own change, the taxpayer's
account forms); the security manager checks it again under FAB's own paths (its CLI).
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from wtforms import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
_TRIM = string.digits + string.punctuation + " "


class WeakPassword(ValueError):
    """A password the policy refuses; ``reasons`` are in French, for the screen."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def _forms_of(password: str) -> set[str]:
    folded = password.lower()
    squeezed = "".join(folded.split())
    return {folded, squeezed, squeezed.strip(_TRIM)}


def problems(password: str, *, identifiers: Iterable[str | None] = ()) -> list[str]:
    """Why ``password`` is refused (empty when it is accepted)."""
    reasons = []
    if len(password) < MIN_LENGTH:
        reasons.append(
            _("Le mot de passe doit compter au moins %(min)d caractères.", min=MIN_LENGTH)
        )
    if len(password) > MAX_LENGTH:
        reasons.append(
            _("Le mot de passe doit compter au plus %(max)d caractères.", max=MAX_LENGTH)
        )
    if _forms_of(password) & common_passwords():
        reasons.append(_("Ce mot de passe est trop courant : choisissez-en un autre."))
    folded = password.lower()
    for identifier in identifiers:
        # "1 234 567 890 123" as typed is the tax number 1234567890123.
        wanted = "".join((identifier or "").split()).lower()
        if len(wanted) >= 3 and wanted in folded:
            reasons.append(_("Le mot de passe ne doit pas contenir votre identifiant."))
            break
    return reasons


def check(password: str, *, identifiers: Iterable[str | None] = ()) -> None:
    """Raise ``WeakPassword`` when the policy refuses ``password``."""
    reasons = problems(password, identifiers=identifiers)
    if reasons:
        raise WeakPassword(reasons)


def policy_hint() -> str:
    return _(
        "%(min)d caractères au moins ; ni un mot de passe courant, ni votre identifiant.",
        min=MIN_LENGTH,
    )


class PasswordPolicy:
    """WTForms validator: the policy, with the identifiers read from the form's fields named
    here and from ``form.password_identifiers`` (set by a view that knows the account)."""

    def __init__(self, *identifier_fields: str) -> None:
        self.identifier_fields = identifier_fields

    def __call__(self, form: Any, field: Any) -> None:
        identifiers = [
            getattr(getattr(form, name, None), "data", None) for name in self.identifier_fields
        ]
        identifiers.extend(getattr(form, "password_identifiers", None) or [])
        reasons = problems(field.data or "", identifiers=identifiers)
        if reasons:
            raise ValidationError(" ".join(reasons))


def fab_complexity_validator(password: str) -> None:
    """FAB's ``FAB_PASSWORD_COMPLEXITY_VALIDATOR``: any FAB form still asking for a password
    gets the same policy (FAB does not know the identifier there)."""
    reasons = problems(password)
    if reasons:
        raise ValidationError(" ".join(reasons))
