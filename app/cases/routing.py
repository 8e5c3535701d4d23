"""Which office is competent for a new case: the routing rules, then the territory.

1. Among the active rules matching the topic (or its parent topic), the tax matter and the
   taxpayer's kind, the most specific wins (a rule on the sub-topic beats one on its parent);
   ties go to the lowest rule id, so routing never depends on row order. A rule names a kind of
   office, or one given office (which then takes the request if it is active and its kind
   receives online requests).
2. Among active offices of that kind, the one competent for the taxpayer's commune wins, then one
   competent for the whole département; ties go to the lowest office id.
3. When no office of that kind serves the territory, the request goes to the default kind of the
   taxpayer's kind there (``OfficeKind.default_for``: SIP for individuals, SIE for businesses in
   the first directory), then to any office of the rule's kind, then to an office of a kind
   marked as last resort (contact centres), so that no request is ever refused for want of a
   rule. Only kinds that receive online requests are ever chosen: what a kind may do is data
   (``app.directory.kinds``), never a code in this module.
"""

from __future__ import annotations

from sqlalchemy import case, select

from app.directory.kinds import default_kind_for, receiving_online
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


def winning_rule(
    *, topic: Topic, tax_matter: TaxMatter | None, taxpayer_kind: TaxpayerKind
) -> RoutingRule | None:
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
    if not rules:
        return None

    def rank(rule: RoutingRule) -> tuple[int, int, int]:
        on_subtopic = int(rule.topic_id == topic.id and topic.parent_id is not None)
        return (-rule.specificity, -on_subtopic, rule.id)

    return min(rules, key=rank)


def office_for_territory(kind: OfficeKind | None, commune_code: str | None) -> Office | None:
    if kind is None or not commune_code:
        return None
    departement = commune_code[:3] if commune_code.startswith("97") else commune_code[:2]
    return db.session.scalar(
        select(Office)
        .join(OfficeTerritory, OfficeTerritory.office_id == Office.id)
        .where(
            Office.kind_id == kind.id,
            Office.active.is_(True),
            receiving_online(),
            OfficeTerritory.departement == departement,
            OfficeTerritory.commune_code.is_(None) | (OfficeTerritory.commune_code == commune_code),
        )
        .order_by(case((OfficeTerritory.commune_code.is_(None), 1), else_=0), Office.id)
        .limit(1)
    )


def _takes_online(office: Office | None) -> bool:
    return office is not None and office.active and office.kind.receives_online


def competent_office(
    *, taxpayer: Taxpayer, topic: Topic, tax_matter: TaxMatter | None = None
) -> Office:
    rule = winning_rule(topic=topic, tax_matter=tax_matter, taxpayer_kind=taxpayer.kind)
    if rule is not None and rule.office is not None and _takes_online(rule.office):
        return rule.office
    default = default_kind_for(taxpayer.kind)
    kind = rule.office_kind if rule is not None and rule.office_kind is not None else default
    for candidate in (kind, default):
        office = office_for_territory(candidate, taxpayer.commune_code)
        if office is not None:
            return office
    kind_id = kind.id if kind is not None else -1
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
        code = kind.code if kind is not None else "-"
        raise NoCompetentOffice(f"no office for {code} / {taxpayer.commune_code}")
    return fallback
