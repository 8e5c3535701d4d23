"""Closing outcomes (issues): the list offered for a case's topic, and the checked choice.

The list is reference data (``ClosingOutcome``): national outcomes (no topic) and those of the
case's topic or of its parent topic. "Autre" (``asks_text``) needs the agent's words.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.platform.cache import VersionedCache
from models import Case, ClosingOutcome, Topic, db

OTHER_MAX = 200

# The national outcomes the migration writes (code, label, asks_text, position); kept here for
# the tests that empty the tables and for the demo.
NATIONAL_OUTCOMES = (
    ("answered", "Réponse apportée", False, 1),
    ("granted", "Demande satisfaite", False, 2),
    ("partly_granted", "Demande satisfaite en partie", False, 3),
    ("rejected", "Demande rejetée", False, 4),
    ("no_follow_up", "Sans suite (désistement, usager injoignable)", False, 5),
    ("other", "Autre", True, 99),
)


def national_rows() -> list[dict[str, object]]:
    return [
        {
            "code": code,
            "label": label,
            "topic_id": None,
            "asks_text": asks_text,
            "position": position,
            "active": True,
        }
        for code, label, asks_text, position in NATIONAL_OUTCOMES
    ]


class OutcomeRefused(ValueError):
    """The outcome is missing or not one of the list: the French sentence to show."""


@dataclass(frozen=True)
class OutcomeChoice:
    id: int
    label: str
    asks_text: bool


@dataclass(frozen=True)
class _Outcomes:
    rows: tuple[tuple[int, str, bool, int | None], ...]  # id, label, asks_text, topic_id
    parents: dict[int, int | None]  # topic -> its parent


# One copy per process, reloaded when an outcome or a topic changes (app.cache).
OUTCOMES: VersionedCache[_Outcomes] = VersionedCache("closing-outcomes", ClosingOutcome, Topic)


def _load() -> _Outcomes:
    rows = db.session.execute(
        select(
            ClosingOutcome.id,
            ClosingOutcome.label,
            ClosingOutcome.asks_text,
            ClosingOutcome.topic_id,
        )
        .where(ClosingOutcome.active.is_(True))
        .order_by(ClosingOutcome.asks_text, ClosingOutcome.position, ClosingOutcome.id)
    ).all()
    parents = {
        row.id: row.parent_id for row in db.session.execute(select(Topic.id, Topic.parent_id))
    }
    return _Outcomes(
        rows=tuple((row.id, row.label, row.asks_text, row.topic_id) for row in rows),
        parents=parents,
    )


def choices_for(topic_id: int | None) -> list[OutcomeChoice]:
    """National outcomes and those of the topic and its parent, in their order ("Autre" last)."""
    data = OUTCOMES.get(_load)
    scope: set[int | None] = {None}
    if topic_id is not None:
        scope |= {topic_id, data.parents.get(topic_id)}
    return [
        OutcomeChoice(outcome_id, label, asks_text)
        for outcome_id, label, asks_text, outcome_topic in data.rows
        if outcome_topic in scope
    ]


def resolve(case: Case, outcome_id: int | None, other: str | None) -> tuple[ClosingOutcome, str]:
    """The chosen outcome if it is offered for this case, and the text to keep."""
    if outcome_id is None:
        raise OutcomeRefused(_("Choisissez l'issue de la demande pour la clôturer."))
    offered = {choice.id for choice in choices_for(case.topic_id)}
    outcome = db.session.get(ClosingOutcome, outcome_id) if outcome_id in offered else None
    if outcome is None:
        raise OutcomeRefused(_("Choisissez l'issue de la demande dans la liste."))
    if not outcome.asks_text:
        return outcome, outcome.label
    words = " ".join((other or "").split())
    if not words:
        raise OutcomeRefused(_("Précisez l'issue de la demande (« Autre »)."))
    if len(words) > OTHER_MAX:
        raise OutcomeRefused(
            _("La précision de l'issue ne peut dépasser %(n)s caractères.", n=OTHER_MAX)
        )
    return outcome, f"{outcome.label} : {words}"
