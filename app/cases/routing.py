"""Which office is competent for a new case: the routing rules, then the territory.

1. Among the active rules matching the topic (or its parent topic), the tax matter and the
   taxpayer's kind, the most specific wins (a rule on the sub-topic beats one on its parent);
   ties go to the lowest rule id, so routing never depends on row order. A rule names a kind of
   office, or one given office (which then takes the case if it is active and its kind
   receives online cases).
2. Among active offices of that kind, the one competent for the taxpayer's commune wins, then one
   competent for the whole département; ties go to the lowest office id.
3. When no office of that kind serves the territory, the case goes to the default kind of the
   taxpayer's kind there (``OfficeKind.default_for``: SIP for individuals, SIE for businesses in
   the first directory), then to any office of the rule's kind, then to an office of a kind
   marked as last resort (contact centres), so that no case is ever refused for want of a
   rule. Only kinds that receive online cases are ever chosen: what a kind may do is data
   (``app.directory.kinds``), never a code in this module.

The same choice serves a new case (``competent_office``), the contact form's preselection
for every topic at once (``competent_offices_by_topic``) and the transfer form of a case already
there (``competent_office_id_for``, from a per-process copy of the rules).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, bindparam, case, select

from app.directory.kinds import default_kind_for, receiving_online
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


class NoCompetentOffice(LookupError):
    """No office at all can take the case: the directory is incomplete."""


def _matches(rule: Any, topic: Any, tax_matter_id: int | None, taxpayer_kind: TaxpayerKind) -> bool:
    return bool(
        rule.active
        and rule.topic_id in (None, topic.id, topic.parent_id)
        and rule.tax_matter_id in (None, tax_matter_id)
        and rule.taxpayer_kind in (None, taxpayer_kind)
    )


def _pick_rule(
    rules: Iterable[Any], *, topic: Any, tax_matter_id: int | None, taxpayer_kind: TaxpayerKind
) -> Any | None:
    """The most specific matching rule (ties: lowest id), or None."""
    matching = [rule for rule in rules if _matches(rule, topic, tax_matter_id, taxpayer_kind)]
    if not matching:
        return None

    def rank(rule: Any) -> tuple[int, int, int]:
        on_subtopic = int(rule.topic_id == topic.id and topic.parent_id is not None)
        return (-rule.specificity, -on_subtopic, rule.id)

    return min(matching, key=rank)


def office_for_territory(kind: OfficeKind | None, commune_code: str | None) -> Office | None:
    return _office_in_territory(kind.id if kind is not None else None, commune_code)


def _office_in_territory(kind_id: int | None, commune_code: str | None) -> Office | None:
    if kind_id is None or not commune_code:
        return None
    departement = commune_code[:3] if commune_code.startswith("97") else commune_code[:2]
    return db.session.scalar(
        _territory_statement(),
        {"kind_id": kind_id, "departement": departement, "commune_code": commune_code},
    )


_TERRITORY: list[Any] = []


def _territory_statement() -> Any:
    """The active office of a kind covering a commune (its own territory first, then its
    département's), built once: a case's page asks it at every opening (the transfer form's
    preselection), each submission too."""
    if not _TERRITORY:
        commune_code = bindparam("commune_code", type_=String)
        _TERRITORY.append(
            select(Office)
            .join(OfficeTerritory, OfficeTerritory.office_id == Office.id)
            .where(
                Office.kind_id == bindparam("kind_id", type_=Integer),
                Office.active.is_(True),
                receiving_online(),
                OfficeTerritory.departement == bindparam("departement", type_=String),
                OfficeTerritory.commune_code.is_(None)
                | (OfficeTerritory.commune_code == commune_code),
            )
            .order_by(case((OfficeTerritory.commune_code.is_(None), 1), else_=0), Office.id)
            .limit(1)
        )
    return _TERRITORY[0]


def _takes_online(office: Office | None) -> bool:
    return office is not None and office.active and office.kind.receives_online


def _default_kind_id(taxpayer_kind: TaxpayerKind) -> int | None:
    default = default_kind_for(taxpayer_kind)
    return default.id if default is not None else None


def _office_for_rule(rule: Any | None, taxpayer: Taxpayer, default_kind_id: int | None) -> Office:
    """Steps 1 to 3 once the winning rule (or none) is known; ``rule`` has the columns of
    ``RoutingRule`` (a row or the per-process copy), ``default_kind_id`` is the default kind
    of the taxpayer's kind."""
    if rule is not None and rule.office_id is not None:
        office = db.session.get(Office, rule.office_id)
        if _takes_online(office):
            assert office is not None
            return office
    chosen = default_kind_id
    if rule is not None and rule.office_kind_id is not None:
        chosen = rule.office_kind_id
    for candidate in (chosen, default_kind_id):
        office = _office_in_territory(candidate, taxpayer.commune_code)
        if office is not None:
            return office
    kind_id = chosen if chosen is not None else -1
    fallback = db.session.scalar(
        select(Office)
        .join(OfficeKind, OfficeKind.id == Office.kind_id)
        .where(
            Office.active.is_(True),
            OfficeKind.receives_online.is_(True),
            (Office.kind_id == kind_id) | OfficeKind.last_resort.is_(True),
        )
        .order_by(case((Office.kind_id == kind_id, 0), else_=1), Office.id)
        .limit(1)
    )
    if fallback is None:
        raise NoCompetentOffice(f"no office for kind {kind_id} / {taxpayer.commune_code}")
    return fallback


def competent_office(
    *, taxpayer: Taxpayer, topic: Topic, tax_matter: TaxMatter | None = None
) -> Office:
    """The office a new case goes to. The rules and the default kinds come from the
    per-process copy (``_ROUTING``, reloaded at the next request after a rule, a topic or an
    office kind changes): a submission costs the territory lookup only."""
    routing = _ROUTING.get(_load_routing)
    rule = _pick_rule(
        routing.rules,
        topic=topic,
        tax_matter_id=tax_matter.id if tax_matter else None,
        taxpayer_kind=taxpayer.kind,
    )
    return _office_for_rule(rule, taxpayer, routing.default_kinds[taxpayer.kind])


def competent_offices_by_topic(
    *, taxpayer: Taxpayer, topics: Iterable[Topic], tax_matter: TaxMatter | None = None
) -> dict[int, int]:
    """{topic id: competent office id} for a taxpayer, in a few queries (one for the rules, a
    couple per winning rule): what the contact form preselects when forwarding."""
    rules = db.session.scalars(
        select(RoutingRule).where(RoutingRule.active.is_(True)).order_by(RoutingRule.id)
    ).all()
    default_kind_id = _default_kind_id(taxpayer.kind)
    by_rule: dict[int | None, int | None] = {}
    result: dict[int, int] = {}
    for topic in topics:
        rule = _pick_rule(
            rules,
            topic=topic,
            tax_matter_id=tax_matter.id if tax_matter else None,
            taxpayer_kind=taxpayer.kind,
        )
        key = rule.id if rule is not None else None
        if key not in by_rule:
            try:
                by_rule[key] = _office_for_rule(rule, taxpayer, default_kind_id).id
            except NoCompetentOffice:
                by_rule[key] = None
        office_id = by_rule[key]
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
    office_kind_id: int | None
    office_id: int | None

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
    default_kinds: dict[TaxpayerKind, int | None]


_ROUTING: VersionedCache[_Routing] = VersionedCache("routing-rules", RoutingRule, Topic, OfficeKind)


def _load_routing() -> _Routing:
    rules = db.session.execute(
        select(
            RoutingRule.id,
            RoutingRule.active,
            RoutingRule.topic_id,
            RoutingRule.tax_matter_id,
            RoutingRule.taxpayer_kind,
            RoutingRule.office_kind_id,
            RoutingRule.office_id,
        ).where(RoutingRule.active.is_(True))
    ).all()
    parents = db.session.execute(select(Topic.id, Topic.parent_id)).all()
    return _Routing(
        rules=tuple(_Rule(*row) for row in rules),
        topic_parents={row.id: row.parent_id for row in parents},
        default_kinds={kind: _default_kind_id(kind) for kind in TaxpayerKind},
    )


def competent_office_id_for(
    *, taxpayer: Taxpayer, topic_id: int, tax_matter_id: int | None = None
) -> int | None:
    """The competent office of a case already received (what a transfer would preselect):
    the rules and the default kinds come from a per-process copy (invalidated when a rule, a
    topic or an office kind changes), so this costs the territory lookup only. None when no
    office at all is competent."""
    routing = _ROUTING.get(_load_routing)
    topic = _Topic(topic_id, routing.topic_parents.get(topic_id))
    rule = _pick_rule(
        routing.rules, topic=topic, tax_matter_id=tax_matter_id, taxpayer_kind=taxpayer.kind
    )
    try:
        return _office_for_rule(rule, taxpayer, routing.default_kinds[taxpayer.kind]).id
    except NoCompetentOffice:
        return None
