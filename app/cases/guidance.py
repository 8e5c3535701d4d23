"""The check before an agent's message goes to a taxpayer: what the guide of good practice
forbids and a machine can see (issue 19). A pure function of the text: no database, no request.

- a full tax number (13 digits, spaces or dots allowed) other than the case's taxpayer's;
- an IBAN (checked with its key, ISO 13616 mod 97, so that a long reference is not one);
- a phrase that gives a password or a code ("mot de passe : …", "mdp = …", "code d'accès …");
- a message that is a reply template and nothing more (nothing added, or only spaces).

The caller shows the warnings, and sends only once the agent confirmed (``app.cases.operations``
refuses an unconfirmed message that has warnings).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.directory.access import templates_usable_by
from app.platform.templating import format_date
from models import Case, ReplyTemplate, db, utcnow

TAX_NUMBER = "tax_number"
IBAN = "iban"
PASSWORD = "password"  # noqa: S105  (the warning's code, not a password)
TEMPLATE_ONLY = "template_only"

MESSAGES = {
    TAX_NUMBER: _l(
        "Le message contient un numéro fiscal (%(value)s) qui n'est pas celui de l'usager de "
        "la demande : le secret fiscal interdit de communiquer les données d'un tiers."
    ),
    IBAN: _l(
        "Le message contient un IBAN complet (%(value)s) : ne recopiez pas de coordonnées "
        "bancaires ; citez au plus les 4 derniers caractères."
    ),
    PASSWORD: _l(
        "Le message semble donner un mot de passe ou un code (« %(value)s ») : l'administration "
        "n'en communique ni n'en demande jamais par message."
    ),
    TEMPLATE_ONLY: _l(
        "Le message est le modèle « %(value)s » sans rien d'autre : complétez-le avec la "
        "situation de l'usager."
    ),
}

# 13 digits, each pair possibly separated by one space or dot, not part of a longer number.
_TAX_NUMBER = re.compile(r"(?<![\d.])\d(?:[ .\u00a0]?\d){12}(?![\d])(?!\s?\d)")
# Two letters, two check digits, then 11 to 30 letters or digits, spaces allowed between them;
# the longest run that passes the key is the IBAN ("FR76 … 189 sous huit jours" ends at 189).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ \u00a0]?[A-Z0-9]){11,30}", re.IGNORECASE)
_PASSWORD = re.compile(
    r"\b(?:mot\s+de\s+passe|mdp|password|passe|code\s+(?:d['’]\s*acc[eè]s|secret|confidentiel|"
    r"de\s+connexion)|identifiants?\s+de\s+connexion)\b"
    r"\s*(?:provisoire\s*)?(?::|=|est\s*:?|sera\s*:?|suivant\s*:)\s*[«\"']?\s*(\S{4,})",
    re.IGNORECASE,
)
# Words a password phrase may end on that are not a password ("mot de passe : votre date…").
_NOT_SECRET = {"votre", "vous", "celui", "celle", "le", "la", "les", "un", "une", "aucun", "jamais"}


@dataclass(frozen=True)
class Warning:
    code: str
    value: str

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code]) % {"value": self.value}


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _iban_valid(candidate: str) -> bool:
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def _longest_iban(candidate: str) -> str | None:
    """The longest start of ``candidate`` that is a valid IBAN (words after it are not)."""
    for end in range(len(candidate), 14, -1):
        if not candidate[end - 1].isspace() and _iban_valid(candidate[:end]):
            return candidate[:end]
    return None


def _mask(value: str, keep: int = 4) -> str:
    compact = re.sub(r"\s", "", value)
    return "…" + compact[-keep:]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n")
    return re.sub(r"\s+", " ", text).strip().casefold()


def check_message(
    body: str,
    *,
    own_tax_numbers: Iterable[str] = (),
    templates: Iterable[tuple[str, str]] = (),
) -> list[Warning]:
    """What the guide forbids in ``body``. ``own_tax_numbers``: the tax numbers the message may
    quote (the case's taxpayer's); ``templates``: (title, filled text) of the templates the
    agent could have used."""
    text = body or ""
    warnings: list[Warning] = []
    ibans = []
    for match in _IBAN.finditer(text):
        found = _longest_iban(match.group(0))
        if found:
            ibans.append((match.start(), match.start() + len(found)))
            warnings.append(Warning(IBAN, _mask(found)))
    own = {_digits(number) for number in own_tax_numbers if number}
    seen: set[str] = set()
    for match in _TAX_NUMBER.finditer(text):
        if any(start <= match.start() < end for start, end in ibans):
            continue
        number = _digits(match.group(0))
        if number not in own and number not in seen:
            seen.add(number)
            warnings.append(Warning(TAX_NUMBER, number))
    for match in _PASSWORD.finditer(text):
        secret = match.group(1).strip("«»\"'.,;")
        if secret.casefold() not in _NOT_SECRET and len(secret) >= 4:
            warnings.append(Warning(PASSWORD, match.group(0).strip()[:60]))
            break
    folded = _fold(text)
    for title, filled in templates:
        if folded and folded == _fold(filled):
            warnings.append(Warning(TEMPLATE_ONLY, title))
            break
    return warnings


def fill_template(body: str, case: Case, *, today: datetime | None = None) -> str:
    """The template with ``{nom}``, ``{reference}``, ``{service}``, ``{date}`` filled in; any
    other brace is left as written."""
    name = case.taxpayer.display_name if case.taxpayer else (case.declared_identity or "")
    values = {
        "{nom}": name,
        "{reference}": case.reference,
        "{service}": case.office.name if case.office else "",
        "{date}": format_date(today or utcnow()),
    }
    for variable, value in values.items():
        body = body.replace(variable, value)
    return body


def check_reply(agent: object, case: Case, body: str) -> list[Warning]:
    """``check_message`` for an agent's message on ``case``: the taxpayer's own tax number is
    allowed, and the templates the agent may use, filled for this case, are compared."""
    templates = db.session.execute(
        select(ReplyTemplate.title, ReplyTemplate.body).where(templates_usable_by(agent))
    ).all()
    own = [case.taxpayer.tax_number] if case.taxpayer and case.taxpayer.tax_number else []
    return check_message(
        body,
        own_tax_numbers=own,
        templates=[(title, fill_template(text, case)) for title, text in templates],
    )
