"""The guided exercises and their automatic checks.

Each exercise makes its subject in the training store with the real operations (a claim, or
names a fictitious taxpayer), the agent then works with the ordinary screens, and the check reads
what the operations recorded (events, transfers, the access log, the cases' state) since the
exercise started: never the screens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.cases import operations
from app.training import seed
from models import AccessLog, Agent, Case, Channel, Event, EventKind, Taxpayer, Transfer, db

CLAIM = "repondre-reclamation"
VISIT = "visite-guichet"
SHEET = "fiche-synthese"


@dataclass(frozen=True)
class Result:
    passed: bool
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Exercise:
    code: str
    title: object  # a lazy French string
    goal: object
    steps: tuple[object, ...]
    subject: str  # "case" or "taxpayer"
    question: object | None = None  # asked on the exercise page, answered there


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        code=CLAIM,
        title=_l("Répondre à une réclamation"),
        goal=_l(
            "Un usager fictif conteste sa taxe d'habitation. Vous prenez en charge sa demande "
            "et lui répondez dans la messagerie sécurisée."
        ),
        steps=(
            _l("Ouvrez la demande indiquée ci-dessous (lien « Ouvrir la demande »)."),
            _l("Prenez-la en charge avec le bouton « Prendre en charge »."),
            _l(
                "Rédigez une réponse à l'usager (pas une note interne) et envoyez-la ; "
                "vous pouvez clôturer la demande en même temps."
            ),
            _l("Revenez ici et cliquez sur « Vérifier mon travail »."),
        ),
        subject="case",
    ),
    Exercise(
        code=VISIT,
        title=_l("Enregistrer une visite au guichet et la transmettre"),
        goal=_l(
            "Paul Exemple se présente au guichet du SIP Formation avec une question sur la taxe "
            "foncière de sa maison, qui relève du CDIF Formation."
        ),
        steps=(
            _l("Ouvrez « Enregistrer un contact » dans le menu."),
            _l("Recherchez l'usager par son numéro fiscal : 9990000000022."),
            _l("Choisissez le canal « Guichet », décrivez la visite en quelques mots."),
            _l(
                "Choisissez « Transmettre au service compétent », le service « CDIF Formation », "
                "et indiquez le motif de la transmission."
            ),
            _l("Revenez ici et cliquez sur « Vérifier mon travail »."),
        ),
        subject="taxpayer",
    ),
    Exercise(
        code=SHEET,
        title=_l("Lire une fiche de synthèse"),
        goal=_l(
            "Jeanne Modèle appelle : avant de lui répondre, vous consultez sa fiche de synthèse, "
            "qui réunit tous ses contacts, quel que soit le canal."
        ),
        steps=(
            _l("Ouvrez « Rechercher » et cherchez le numéro fiscal 9990000000033."),
            _l("Ouvrez la fiche de synthèse de l'usager ; indiquez le motif de consultation."),
            _l("Lisez la chronologie, filtrez par canal si besoin."),
            _l("Répondez à la question ci-dessous et cliquez sur « Vérifier mon travail »."),
        ),
        subject="taxpayer",
        question=_l(
            "Combien d'appels téléphoniques de cet usager la fiche de synthèse montre-t-elle ?"
        ),
    ),
)
BY_CODE = {exercise.code: exercise for exercise in EXERCISES}


# --- starting: the exercise's subject, made with the real operations -------------------------


def start(exercise: Exercise) -> int:
    """Make or name the subject of ``exercise`` in the training store; its id."""
    starters: dict[str, Callable[[], int]] = {
        CLAIM: _start_claim,
        VISIT: lambda: _taxpayer_id(seed.VISITOR),
        SHEET: lambda: _taxpayer_id(seed.SHEET_OWNER),
    }
    return starters[exercise.code]()


def _taxpayer_id(tax_number: str) -> int:
    taxpayer = seed.taxpayer(tax_number)
    assert taxpayer is not None, "the training store has no such taxpayer: reset it"
    return taxpayer.id


def _start_claim() -> int:
    taxpayer = seed.taxpayer(seed.CLAIMANT)
    topic = seed.topic(seed.TOPIC_CLAIM)
    assert taxpayer is not None and topic is not None, "the training store is not built"
    case = operations.submit_case(
        taxpayer=taxpayer,
        topic=topic,
        tax_matter=seed.matter(seed.MATTER_INCOME),
        tax_year=None,
        subject="Réclamation : taxe d'habitation sur une résidence vendue",
        body=(
            "Bonjour, j'ai reçu un avis de taxe d'habitation pour un appartement que j'ai vendu "
            "l'an dernier. Je vous joins l'acte de vente et vous demande l'annulation de cet "
            "avis. Louis Fictif"
        ),
    )
    return case.id


# --- what the page shows of the subject ------------------------------------------------------


def subject_case(subject_id: int | None) -> Case | None:
    return db.session.get(Case, subject_id) if subject_id else None


def subject_taxpayer(subject_id: int | None) -> Taxpayer | None:
    return db.session.get(Taxpayer, subject_id) if subject_id else None


# --- checking: what the operations recorded since the start ----------------------------------


def check(
    exercise: Exercise, *, agent: Agent, subject_id: int, started_at: datetime, answer: str = ""
) -> Result:
    checkers: dict[str, Callable[[Agent, int, datetime, str], Result]] = {
        CLAIM: _check_claim,
        VISIT: _check_visit,
        SHEET: _check_sheet,
    }
    return checkers[exercise.code](agent, subject_id, started_at, answer)


def _events(case_id: int, agent: Agent, since: datetime, kind: EventKind) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Event)
            .where(
                Event.case_id == case_id,
                Event.kind == kind,
                Event.actor_agent_id == agent.id,
                Event.created_at >= since,
            )
        )
        or 0
    )


def _check_claim(agent: Agent, case_id: int, since: datetime, _answer: str) -> Result:
    case = db.session.get(Case, case_id)
    if case is None:
        return Result(
            False, [_("La demande de l'exercice n'existe plus : recommencez l'exercice.")]
        )
    if _events(case_id, agent, since, EventKind.ANSWERED):
        messages = [
            _(
                "Votre réponse a bien été envoyée à l'usager sur la demande %(ref)s.",
                ref=case.reference,
            )
        ]
        if case.assignee_id != agent.id:
            messages.append(
                _("Pensez aussi à prendre la demande en charge : elle n'est pas attribuée à vous.")
            )
        return Result(True, messages)
    messages = [
        _(
            "Aucune réponse à l'usager n'est enregistrée par vous sur la demande %(ref)s.",
            ref=case.reference,
        )
    ]
    if _events(case_id, agent, since, EventKind.NOTE_ADDED):
        messages.append(
            _(
                "Vous avez écrit une note interne : l'usager ne la voit pas. Utilisez le "
                "formulaire « Répondre à l'usager »."
            )
        )
    if _events(case_id, agent, since, EventKind.INFORMATION_REQUESTED):
        messages.append(
            _(
                "Vous avez demandé une précision : ici, l'usager a tout donné, il attend une "
                "réponse."
            )
        )
    return Result(False, messages)


def _check_visit(agent: Agent, taxpayer_id: int, since: datetime, _answer: str) -> Result:
    recorded = list(
        db.session.scalars(
            select(Case).where(
                Case.taxpayer_id == taxpayer_id,
                Case.created_by_id == agent.id,
                Case.received_at >= since,
            )
        )
    )
    if not recorded:
        return Result(
            False,
            [
                _(
                    "Aucun contact n'est enregistré par vous pour Paul "
                    "Exemple depuis le début de l'exercice."
                )
            ],
        )
    counter = [case for case in recorded if case.channel == Channel.COUNTER]
    if not counter:
        return Result(
            False,
            [
                _(
                    "Le contact enregistré n'a pas le canal « Guichet » "
                    ": l'usager est venu en personne."
                )
            ],
        )
    target = seed.office(seed.TRANSFER_OFFICE)
    transfers = list(
        db.session.scalars(
            select(Transfer).where(Transfer.case_id.in_([case.id for case in counter]))
        )
    )
    if not transfers:
        return Result(
            False,
            [_("La visite est enregistrée, mais elle n'a pas été transmise au CDIF Formation.")],
        )
    if target is None or not any(row.to_office_id == target.id for row in transfers):
        return Result(
            False,
            [
                _(
                    "La visite a été transmise à un autre service : le CDIF "
                    "Formation est compétent pour la taxe foncière."
                )
            ],
        )
    return Result(
        True,
        [
            _(
                "La visite est enregistrée et transmise au CDIF Formation, "
                "avec son motif : c'est ce qu'il fallait faire."
            )
        ],
    )


def expected_phone_calls(taxpayer_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.taxpayer_id == taxpayer_id, Case.channel == Channel.PHONE)
        )
        or 0
    )


def _check_sheet(agent: Agent, taxpayer_id: int, since: datetime, answer: str) -> Result:
    opened = db.session.scalar(
        select(func.count())
        .select_from(AccessLog)
        .where(
            AccessLog.agent_id == agent.id,
            AccessLog.taxpayer_id == taxpayer_id,
            AccessLog.object_kind == "summary",
            AccessLog.created_at >= since,
        )
    )
    if not opened:
        return Result(
            False,
            [
                _(
                    "Vous n'avez pas encore ouvert la fiche de synthèse de "
                    "Jeanne Modèle depuis le début de l'exercice."
                )
            ],
        )
    value = answer.strip()
    if not value.isdigit() or len(value) > 3:
        return Result(False, [_("Indiquez un nombre (par exemple 4).")])
    expected = expected_phone_calls(taxpayer_id)
    if int(value) != expected:
        return Result(
            False,
            [
                _(
                    "Ce n'est pas le bon nombre. Filtrez la fiche sur le "
                    "canal « Téléphone » et comptez à nouveau."
                )
            ],
        )
    return Result(
        True, [_("Exact : la fiche montre %(count)s appels téléphoniques.", count=expected)]
    )
