"""Factories: small functions that add consistent rows and flush. Tests commit when needed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.cases.operations import record_contact
from app.taxpayers.accounts import hash_password
from models import (
    Agent,
    Case,
    CaseStatus,
    Channel,
    KindCode,
    Office,
    OfficeKind,
    OfficeTerritory,
    ReplyTemplate,
    TaxMatter,
    Taxpayer,
    TaxpayerKind,
    Topic,
    db,
    utcnow,
)

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)
_password_hash: str | None = None


def _hash() -> str:
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(PASSWORD)
    return _password_hash


def office_kind(code: str) -> OfficeKind:
    """A kind of office by its code (the migrations create the usual ones: ``KindCode``)."""
    kind = db.session.scalar(select(OfficeKind).where(OfficeKind.code == code))
    assert kind is not None, f"no office kind {code!r}"
    return kind


def make_office(
    kind: str | OfficeKind = KindCode.SIP,
    *,
    parent: Office | None = None,
    name: str | None = None,
    departement: str | None = "69",
) -> Office:
    n = next(_seq)
    if isinstance(kind, str):
        kind = office_kind(kind)
    office = Office(code=f"T{n:05d}", name=name or f"{kind.label} n°{n}", kind=kind, parent=parent)
    db.session.add(office)
    db.session.flush()
    office.path = office.compute_path()
    if departement and not kind.steers:
        db.session.add(OfficeTerritory(office=office, departement=departement))
    db.session.flush()
    return office


def make_agent(office: Office | None, *roles: str, username: str | None = None) -> Agent:
    n = next(_seq)
    sm = current_app.appbuilder.sm  # type: ignore[attr-defined]
    agent = Agent(
        first_name="Camille",
        last_name=f"Agent{n}",
        username=username or f"agent{n}",
        email=f"agent{n}@dgfip.example",
        active=True,
        password=_hash(),
        office=office,
        roles=[sm.find_role(role) for role in (roles or ("agent",))],
    )
    db.session.add(agent)
    db.session.flush()
    return agent


def make_taxpayer(
    kind: TaxpayerKind = TaxpayerKind.INDIVIDUAL, *, commune_code: str = "69383", **fields: object
) -> Taxpayer:
    n = next(_seq)
    values: dict[str, object] = {
        "kind": kind,
        "last_name": f"Martin{n}",
        "first_name": "Claire" if kind is TaxpayerKind.INDIVIDUAL else None,
        "email": f"usager{n}@example.fr",
        "email_confirmed_at": utcnow(),
        "password_hash": _hash(),
        "commune_code": commune_code,
    }
    if kind is TaxpayerKind.INDIVIDUAL:
        values["tax_number"] = f"{3000000000000 + n}"
    else:
        values["siren"] = f"{800000000 + n}"
        values["company_name"] = values["last_name"]
    values.update(fields)
    taxpayer = Taxpayer(**values)
    db.session.add(taxpayer)
    db.session.flush()
    return taxpayer


def make_topic(label: str = "Question générale", *, parent: Topic | None = None) -> Topic:
    topic = Topic(code=f"topic-{next(_seq)}", label=label, parent=parent, target_days=30)
    db.session.add(topic)
    db.session.flush()
    return topic


def make_tax_matter(label: str = "Impôt sur le revenu") -> TaxMatter:
    matter = TaxMatter(code=f"matter-{next(_seq)}", label=label)
    db.session.add(matter)
    db.session.flush()
    return matter


def make_case(
    taxpayer: Taxpayer | None,
    office: Office,
    *,
    topic: Topic | None = None,
    status: CaseStatus = CaseStatus.NEW,
    channel: Channel = Channel.ONLINE,
    age_days: int = 0,
    subject: str = "Question sur mon avis d'impôt",
) -> Case:
    received = utcnow() - timedelta(days=age_days)
    case = Case(
        reference=f"26-TEST-{next(_seq):04d}",
        taxpayer=taxpayer,
        office=office,
        topic=topic or make_topic(),
        channel=channel,
        status=status,
        subject=subject,
        received_at=received,
        last_activity_at=received,
        due_at=received + timedelta(days=30),
    )
    db.session.add(case)
    db.session.flush()
    return case


@dataclass
class World:
    """Two directorates under one delegation; offices A and B in the first, C in the second."""

    delegation: Office
    directorate: Office
    other_directorate: Office
    office_a: Office
    office_b: Office
    office_c: Office
    agent_a: Agent
    agent_b: Agent
    manager_a: Agent
    steering_other: Agent
    admin: Agent
    taxpayer_a: Taxpayer
    taxpayer_b: Taxpayer


def make_contact(
    agent: Agent,
    taxpayer: Taxpayer | None,
    *,
    channel: Channel = Channel.COUNTER,
    topic: Topic | None = None,
    disposition: str = "handled",
    to_office: Office | None = None,
    reason: str | None = None,
    visible: bool = True,
    subject: str = "Visite au sujet de mon avis",
    summary: str = "L'usager demande des explications sur son avis.",
    declared_identity: str | None = None,
) -> Case:
    """A phone, counter or letter contact recorded by ``agent`` through the real operation."""
    return record_contact(
        agent=agent,
        channel=channel,
        taxpayer=taxpayer,
        declared_identity=declared_identity,
        topic=topic or make_topic(),
        subject=subject,
        summary=summary,
        disposition=disposition,
        to_office=to_office,
        reason=reason,
        visible_to_taxpayer=visible,
    )


def make_reply_template(
    title: str = "Accusé de réception",
    body: str = (
        "Bonjour {nom},\n\nNous avons bien reçu votre demande {reference}.\n{service}, le {date}"
    ),
    *,
    office: Office | None = None,
) -> ReplyTemplate:
    """A reply template (national when ``office`` is None)."""
    template = ReplyTemplate(title=title, body=body, office=office, active=True)
    db.session.add(template)
    db.session.flush()
    return template


def outcome_id(code: str) -> str:
    """The id (as a form value) of a closing outcome of the reference data."""
    from models import ClosingOutcome

    found = db.session.scalar(db.select(ClosingOutcome.id).where(ClosingOutcome.code == code))
    assert found is not None, code
    return str(found)
