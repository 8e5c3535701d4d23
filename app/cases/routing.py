"""Which office is competent for a new case: the routing rules, then the territory.

1. Among the active rules matching the topic (or its parent topic), the tax matter and the
   taxpayer's kind, the most specific wins (a rule on the sub-topic beats one on its parent);
   ties go to the lowest rule id, so routing never depends on row order.
2. Among active offices of that kind, the one competent for the taxpayer's commune wins, then one
   competent for the whole département; ties go to the lowest office id.
3. When no office of that kind serves the territory, the case goes to the default office kind
   of the taxpayer's kind there (SIP for individuals, SIE for businesses), then to a contact
   centre, so that no case is ever refused for want of a rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select

from app.platform.cache import VersionedCache
from models import (
    Office,
    OfficeKind,
    OfficeTerritory,
    RoutingRule,
    TaxMatter,
    Taxpayer,
    TaxpayerKind,
    Topic,
    db,
)

DEFAULT_KIND = {TaxpayerKind.INDIVIDUAL: OfficeKind.SIP, TaxpayerKind.BUSINESS: OfficeKind.SIE}


class NoCompetentOffice(LookupError):
    """No office at all can take the case: the directory is incomplete."""


def _matches(rule: Any, topic: Any, tax_matter_id: int | None, taxpayer_kind: TaxpayerKind) -> bool:
    return (
        rule.active
        and rule.topic_id in (None, topic.id, topic.parent_id)
        and rule.tax_matter_id in (None, tax_matter_id)
        and rule.taxpayer_kind in (None, taxpayer_kind)
    )


def _pick_kind(
    rules: Iterable[Any],
    *,
    topic: Any,
    tax_matter_id: int | None,
    taxpayer_kind: TaxpayerKind,
) -> OfficeKind:
    """The most specific matching rule's office kind (ties: lowest id), else the default."""
    matching = [rule for rule in rules if _matches(rule, topic, tax_matter_id, taxpayer_kind)]
    if not matching:
        return DEFAULT_KIND[taxpayer_kind]

    def rank(rule: Any) -> tuple[int, int, int]:
        on_subtopic = int(rule.topic_id == topic.id and topic.parent_id is not None)
        return (-rule.specificity, -on_subtopic, rule.id)

    kind: OfficeKind = min(matching, key=rank).office_kind
    return kind


def office_kind_for(
    *, topic: Topic, tax_matter: TaxMatter | None, taxpayer_kind: TaxpayerKind
) -> OfficeKind:
    topic_ids = [topic.id] + ([topic.parent_id] if topic.parent_id else [])
    rules = db.session.scalars(
        select(RoutingRule)
        .where(
            RoutingRule.active.is_(True),
            RoutingRule.topic_id.is_(None) | RoutingRule.topic_id.in_(topic_ids),
            RoutingRule.tax_matter_id.is_(None)
            | (RoutingRule.tax_matter_id == (tax_matter.id if tax_matter else -1)),
            RoutingRule.taxpayer_kind.is_(None) | (RoutingRule.taxpayer_kind == taxpayer_kind),
        )
        .order_by(RoutingRule.id)
    ).all()
    return _pick_kind(
        rules,
        topic=topic,
        tax_matter_id=tax_matter.id if tax_matter else None,
        taxpayer_kind=taxpayer_kind,
    )


def office_for_territory(kind: OfficeKind, commune_code: str | None) -> Office | None:
    if not commune_code:
        return None
    departement = commune_code[:3] if commune_code.startswith("97") else commune_code[:2]
    return db.session.scalar(
        select(Office)
        .join(OfficeTerritory, OfficeTerritory.office_id == Office.id)
        .where(
            Office.kind == kind,
            Office.active.is_(True),
            OfficeTerritory.departement == departement,
            OfficeTerritory.commune_code.is_(None) | (OfficeTerritory.commune_code == commune_code),
        )
        .order_by(case((OfficeTerritory.commune_code.is_(None), 1), else_=0), Office.id)
        .limit(1)
    )


def competent_office(
    *, taxpayer: Taxpayer, topic: Topic, tax_matter: TaxMatter | None = None
) -> Office:
    kind = office_kind_for(topic=topic, tax_matter=tax_matter, taxpayer_kind=taxpayer.kind)
    return _office_of_kind(kind, taxpayer)


def _office_of_kind(kind: OfficeKind, taxpayer: Taxpayer) -> Office:
    for candidate in (kind, DEFAULT_KIND[taxpayer.kind]):
        office = office_for_territory(candidate, taxpayer.commune_code)
        if office is not None:
            return office
    fallback = db.session.scalar(
        select(Office)
        .where(Office.kind.in_([kind, OfficeKind.CONTACT_CENTRE]), Office.active.is_(True))
        .order_by(case((Office.kind == kind, 0), else_=1), Office.id)
        .limit(1)
    )
    if fallback is None:
        raise NoCompetentOffice(f"no office for {kind.value} / {taxpayer.commune_code}")
    return fallback


def competent_offices_by_topic(
    *, taxpayer: Taxpayer, topics: Iterable[Topic], tax_matter: TaxMatter | None = None
) -> dict[int, int]:
    """{topic id: competent office id} for a taxpayer, in a few queries (one for the rules, a
    couple per office kind): what the contact form preselects when forwarding."""
    rules = db.session.scalars(select(RoutingRule).where(RoutingRule.active.is_(True))).all()
    offices: dict[OfficeKind, int | None] = {}
    result: dict[int, int] = {}
    for topic in topics:
        kind = _pick_kind(
            rules,
            topic=topic,
            tax_matter_id=tax_matter.id if tax_matter else None,
            taxpayer_kind=taxpayer.kind,
        )
        if kind not in offices:
            try:
                offices[kind] = _office_of_kind(kind, taxpayer).id
            except NoCompetentOffice:
                offices[kind] = None
        office_id = offices[kind]
        if office_id is not None:
            result[topic.id] = office_id
    return result


# --- the competent office of a case already there (the transfer form's preselection) -------


@dataclass(frozen=True)
class _Rule:
    """A routing rule as plain data (the per-process copy below)."""

    id: int
    active: bool
    topic_id: int | None
    tax_matter_id: int | None
    taxpayer_kind: TaxpayerKind | None
    office_kind: OfficeKind

    @property
    def specificity(self) -> int:
        return sum(
            value is not None for value in (self.topic_id, self.tax_matter_id, self.taxpayer_kind)
        )


@dataclass(frozen=True)
class _Topic:
    id: int
    parent_id: int | None


@dataclass(frozen=True)
class _Routing:
    rules: tuple[_Rule, ...]
    topic_parents: dict[int, int | None]


_ROUTING: VersionedCache[_Routing] = VersionedCache("routing-rules", RoutingRule, Topic)


def _load_routing() -> _Routing:
    rules = db.session.execute(
        select(
            RoutingRule.id,
            RoutingRule.active,
            RoutingRule.topic_id,
            RoutingRule.tax_matter_id,
            RoutingRule.taxpayer_kind,
            RoutingRule.office_kind,
        ).where(RoutingRule.active.is_(True))
    ).all()
    parents = db.session.execute(select(Topic.id, Topic.parent_id)).all()
    return _Routing(
        rules=tuple(_Rule(*row) for row in rules),
        topic_parents={row.id: row.parent_id for row in parents},
    )


def competent_office_id_for(
    *, taxpayer: Taxpayer, topic_id: int, tax_matter_id: int | None = None
) -> int | None:
    """The competent office of a case already received (what a transfer would preselect):
    the rules come from a per-process copy (invalidated when a rule or a topic changes), so this
    costs the territory lookup only. None when no office at all is competent."""
    routing = _ROUTING.get(_load_routing)
    topic = _Topic(topic_id, routing.topic_parents.get(topic_id))
    kind = _pick_kind(
        routing.rules, topic=topic, tax_matter_id=tax_matter_id, taxpayer_kind=taxpayer.kind
    )
    try:
        return _office_of_kind(kind, taxpayer).id
    except NoCompetentOffice:
        return None
