"""The training store's fictitious data: a training office tree, taxpayers and cases.

Built by ``reset()`` (an administrator's button, ``flask econtacts training reset``, the nightly
job). The requests and contacts are made by the real operations, so their events, rollups and
summary sheets are exactly what agents will see in the real application.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.cases import operations
from app.training import store
from models import (
    Agent,
    Channel,
    ClosingOutcome,
    KindCode,
    Office,
    OfficeKind,
    OfficeTerritory,
    TaxMatter,
    Taxpayer,
    TaxpayerKind,
    Topic,
    db,
    utcnow,
)

TRAINEE_OFFICE = "FORM-SIP"
TRANSFER_OFFICE = "FORM-CDIF"
DEPARTEMENT = "69"
COMMUNE = "69383"  # Lyon 3e: the training offices are competent for the whole département
TOPIC_CLAIM = "formation-reclamation"
TOPIC_QUESTION = "formation-question"
TOPIC_PROPERTY = "formation-foncier"
MATTER_INCOME = "formation-ir"
MATTER_PROPERTY = "formation-tf"
# Fictitious agents' ids stand far above real ones: a trainee's training copy keeps the id of
# their real account (decision 0020), so the two ranges never meet.
TRAINER_ID = 2_100_000_001
TRAINER_USERNAME = "formateur.fictif"
UNUSABLE_PASSWORD = "!"  # noqa: S105 - no hash matches it: nobody signs in to the training store

FAB_TABLES = (
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_role",
    "ab_permission_view_role",
)

# The exercises' taxpayers (tax numbers of the fictitious range 999...).
CLAIMANT = "9990000000011"
VISITOR = "9990000000022"
SHEET_OWNER = "9990000000033"


@dataclass(frozen=True)
class _Person:
    tax_number: str
    first_name: str
    last_name: str


PEOPLE = (
    _Person(CLAIMANT, "Louis", "Fictif"),
    _Person(VISITOR, "Paul", "Exemple"),
    _Person(SHEET_OWNER, "Jeanne", "Modèle"),
    _Person("9990000000044", "Inès", "Démo"),
    _Person("9990000000055", "Marc", "Essai"),
)

OFFICES = (
    # code, name, kind, parent code
    ("FORM-DI", "DI Formation (fictive)", KindCode.DELEGATION, None),
    ("FORM-DDFIP", "DDFiP Formation (fictive)", KindCode.DIRECTORATE, "FORM-DI"),
    (TRAINEE_OFFICE, "SIP Formation", KindCode.SIP, "FORM-DDFIP"),
    ("FORM-SIE", "SIE Formation", KindCode.SIE, "FORM-DDFIP"),
    (TRANSFER_OFFICE, "CDIF Formation", KindCode.CDIF, "FORM-DDFIP"),
)


def reset() -> str:
    """Empty the training store and load the fictitious data again; returns the new build's
    token. Runs in its own session of the training store (commits it)."""
    store.rebuild_schema()
    with store.store_session():
        load()
        token = store.new_generation()
        db.session.commit()
    return token


def ensure_built() -> None:
    """Build the training store if it was never built."""
    if not store.is_built():
        reset()
        return
    with store.store_session():
        missing = store.generation() is None
    if missing:
        reset()


def load() -> None:
    """The fictitious data, in the training store's session (flushes, never commits)."""
    # Roles and permissions as the real application has them, then what the migrations made.
    store.copy_reference_tables(*(db.metadata.tables[name] for name in FAB_TABLES))
    store.copy_reference_tables(OfficeKind.__table__, ClosingOutcome.__table__)
    db.session.flush()
    offices = _offices()
    topics = _topics()
    matters = _matters()
    trainer = _trainer(offices[TRAINEE_OFFICE])
    people = {person.tax_number: _taxpayer(person) for person in PEOPLE}
    db.session.flush()
    _history(trainer, people, topics, matters)
    db.session.flush()


def _offices() -> dict[str, Office]:
    kinds = {kind.code: kind for kind in db.session.scalars(select(OfficeKind))}
    made: dict[str, Office] = {}
    for code, name, kind_code, parent_code in OFFICES:
        kind = kinds[kind_code]
        office = Office(
            code=code,
            name=name,
            kind=kind,
            parent=made.get(parent_code) if parent_code else None,
            email=f"{code.lower()}@formation.invalid",
        )
        db.session.add(office)
        db.session.flush()
        office.path = office.compute_path()
        if not kind.steers:
            db.session.add(OfficeTerritory(office=office, departement=DEPARTEMENT))
        made[code] = office
    db.session.flush()
    return made


def _topics() -> dict[str, Topic]:
    rows = (
        (TOPIC_CLAIM, "Réclamation", 30),
        (TOPIC_QUESTION, "Question générale", 30),
        (TOPIC_PROPERTY, "Taxe foncière : question sur un bien", 30),
    )
    made = {}
    for position, (code, label, days) in enumerate(rows):
        topic = Topic(code=code, label=label, target_days=days, position=position)
        db.session.add(topic)
        made[code] = topic
    db.session.flush()
    return made


def _matters() -> dict[str, TaxMatter]:
    made = {
        MATTER_INCOME: TaxMatter(code=MATTER_INCOME, label="Impôt sur le revenu"),
        MATTER_PROPERTY: TaxMatter(code=MATTER_PROPERTY, label="Taxe foncière"),
    }
    db.session.add_all(made.values())
    db.session.flush()
    return made


def _trainer(office: Office) -> Agent:
    role_class = Agent.roles.property.mapper.class_
    roles = list(db.session.scalars(select(role_class).where(role_class.name == "agent")))
    trainer = Agent(
        id=TRAINER_ID,
        first_name="Dominique",
        last_name="Formateur",
        username=TRAINER_USERNAME,
        email="formateur@formation.invalid",
        active=True,
        password=UNUSABLE_PASSWORD,
        office=office,
        roles=roles,
        # FAB fills these with the signed-in user, who has no row in the training store.
        created_by_fk=None,
        changed_by_fk=None,
    )
    db.session.add(trainer)
    db.session.flush()
    return trainer


def _taxpayer(person: _Person) -> Taxpayer:
    taxpayer = Taxpayer(
        kind=TaxpayerKind.INDIVIDUAL,
        tax_number=person.tax_number,
        first_name=person.first_name,
        last_name=person.last_name,
        email=f"{person.first_name.lower()}.{person.tax_number[-2:]}@formation.invalid",
        commune_code=COMMUNE,
    )
    db.session.add(taxpayer)
    return taxpayer


def _history(
    trainer: Agent,
    people: dict[str, Taxpayer],
    topics: dict[str, Topic],
    matters: dict[str, TaxMatter],
) -> None:
    """A few cases in the inbox, and a summary sheet with every channel for one taxpayer."""
    year = utcnow().year - 1
    for number, subject, body in (
        (
            "9990000000044",
            "Changement d'adresse",
            "Bonjour, j'ai déménagé en mars : comment déclarer ma nouvelle adresse ?",
        ),
        (
            "9990000000055",
            "Taux de prélèvement",
            "Bonjour, je souhaite baisser mon taux de prélèvement à la source.",
        ),
    ):
        operations.submit_case(
            taxpayer=people[number],
            topic=topics[TOPIC_QUESTION],
            tax_matter=matters[MATTER_INCOME],
            tax_year=year,
            subject=subject,
            body=body,
        )
    owner = people[SHEET_OWNER]
    operations.submit_case(
        taxpayer=owner,
        topic=topics[TOPIC_QUESTION],
        tax_matter=matters[MATTER_INCOME],
        tax_year=year,
        subject="Attestation de revenus",
        body="Bonjour, pouvez-vous m'envoyer une attestation de revenus ?",
    )
    for channel, subject, summary in (
        (Channel.PHONE, "Appel : date de prélèvement", "Date du prochain prélèvement donnée."),
        (Channel.PHONE, "Appel : avis de taxe foncière", "Explication de l'avis de taxe foncière."),
        (Channel.COUNTER, "Visite : dépôt d'un justificatif", "Justificatif de domicile remis."),
    ):
        operations.record_contact(
            agent=trainer,
            channel=channel,
            taxpayer=owner,
            topic=topics[TOPIC_QUESTION],
            tax_matter=matters[MATTER_INCOME],
            subject=subject,
            summary=summary,
            disposition=operations.HANDLED,
            visible_to_taxpayer=True,
        )


def trainee_office() -> Office | None:
    return db.session.scalar(select(Office).where(Office.code == TRAINEE_OFFICE))


def office(code: str) -> Office | None:
    return db.session.scalar(select(Office).where(Office.code == code))


def taxpayer(tax_number: str) -> Taxpayer | None:
    return db.session.scalar(select(Taxpayer).where(Taxpayer.tax_number == tax_number))


def topic(code: str) -> Topic | None:
    return db.session.scalar(select(Topic).where(Topic.code == code))


def matter(code: str) -> TaxMatter | None:
    return db.session.scalar(select(TaxMatter).where(TaxMatter.code == code))
