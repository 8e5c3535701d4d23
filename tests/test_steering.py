"""Steering (pilotage): every figure of a small fixed dataset, computed by hand, at each level.

The dataset (``dataset`` fixture): the harness's delegation with two directorates, the Rhône
(offices A = SIP Lyon 3e and B = SIE Lyon Nord) and the Loire (office C = SIP Saint-Étienne);
19 cases with chosen dates relative to "now" (ages carry 0.2 day so that no figure sits on a
bucket boundary), 4 transfers and a few answer/closing events. Durations are in days.

    ref  office channel topic        matter age   1st answer  closed  due  status     on time
    A1   A      online  Question     IR     10.2  +1          +2      +30  closed     yes
    A2   A      online  Q./Avis(sub) IR      9.2  +3          -       +30  in prog.   yes
    A3   A      phone   Réclamation  PAS     8.2  +0.5        +0.5    +2   closed     yes
    A4   A      online  Réclamation  IR      7.2  +5          -       +2   awaiting   no
    A5   A      online  Question     -       6.2  -           -       +3   new        no (past due)
    A6   A      counter Question     IR      1.2  -           -       +30  new        pending
    A7   A      online  Réclamation  TF     25.2  (outside the period)     +30  new
    A8   A      online  Question     IR     40.2  (outside the period)     +30  in prog.
    A9   A      letter  Question     IR      4.2  +1          +3      +30  closed     yes
    B1   B      online  Question     TVA    12.2  +2          +6      +30  closed     yes
    B2   B      online  Réclamation  TVA    11.2  +10         -       +5   in prog.   no
    B3   B      phone   Question     TVA     5.2  -           +0      +30  closed     yes (closed)
    B4   B      online  Q./Avis(sub) TVA     2.2  -           -       +30  new        pending
    B5   B      online  Réclamation  IS     15.2  +4          -       +30  awaiting   yes
    C1   C      online  Question     IR     14.2  +1          +1      +30  closed     yes
    C2   C      online  Question     IR     13.2  +6          +8      +5   closed     no
    C3   C      counter Réclamation  PAS     3.2  -           -       +2   new        no (past due)
    C4   C      online  Réclamation  IR     16.2  +2          -       +30  in prog.   yes
    C5   C      online  Question     IR     35.2  (outside the period)     +30  new

The period is the last 21 days (``du`` = today - 20, ``au`` = today).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from factories import World, make_agent, make_tax_matter, make_topic
from flask import Flask
from flask.testing import FlaskClient
from helpers import assert_refused, sign_in_agent

from app.platform.templating import local
from models import (
    Agent,
    Case,
    CaseStatus,
    Channel,
    Event,
    EventKind,
    Office,
    Transfer,
    db,
    utcnow,
)

# --- reading the pages and exports -----------------------------------------------------------


class _Tables(HTMLParser):
    """Every <table id=...> of a page as a list of rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.captions: dict[str, str] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or "?"
            self.tables[self._table] = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "caption" and self._table and self._caption is not None:
            self.captions[self._table] = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag == "tr" and self._table and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def page_tables(client: FlaskClient, url: str) -> dict[str, list[list[str]]]:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    parser = _Tables()
    parser.feed(response.get_data(as_text=True))
    return {key.removeprefix("table-"): rows for key, rows in parser.tables.items()}


def csv_rows(client: FlaskClient, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())  # a BOM, for French Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


# --- the dataset ----------------------------------------------------------------------------


@dataclass
class Dataset:
    world: World
    now: datetime
    period: str  # the query string of the period
    steering_rhone: Agent
    steering_loire: Agent
    steering_delegation: Agent
    cases: dict[str, Case]


ROWS = [
    # ref, office, channel, topic, matter, age, first answer, closed, due, status
    ("A1", "a", "online", "q", "ir", 10.2, 1, 2, 30, "closed"),
    ("A2", "a", "online", "sub", "ir", 9.2, 3, None, 30, "in_progress"),
    ("A3", "a", "phone", "r", "pas", 8.2, 0.5, 0.5, 2, "closed"),
    ("A4", "a", "online", "r", "ir", 7.2, 5, None, 2, "awaiting_taxpayer"),
    ("A5", "a", "online", "q", None, 6.2, None, None, 3, "new"),
    ("A6", "a", "counter", "q", "ir", 1.2, None, None, 30, "new"),
    ("A7", "a", "online", "r", "tf", 25.2, None, None, 30, "new"),
    ("A8", "a", "online", "q", "ir", 40.2, 2, None, 30, "in_progress"),
    ("A9", "a", "letter", "q", "ir", 4.2, 1, 3, 30, "closed"),
    ("B1", "b", "online", "q", "tva", 12.2, 2, 6, 30, "closed"),
    ("B2", "b", "online", "r", "tva", 11.2, 10, None, 5, "in_progress"),
    ("B3", "b", "phone", "q", "tva", 5.2, None, 0, 30, "closed"),
    ("B4", "b", "online", "sub", "tva", 2.2, None, None, 30, "new"),
    ("B5", "b", "online", "r", "is", 15.2, 4, None, 30, "awaiting_taxpayer"),
    ("C1", "c", "online", "q", "ir", 14.2, 1, 1, 30, "closed"),
    ("C2", "c", "online", "q", "ir", 13.2, 6, 8, 5, "closed"),
    ("C3", "c", "counter", "r", "pas", 3.2, None, None, 2, "new"),
    ("C4", "c", "online", "r", "ir", 16.2, 2, None, 30, "in_progress"),
    ("C5", "c", "online", "q", "ir", 35.2, None, None, 30, "new"),
]


@pytest.fixture
def dataset(world: World) -> Dataset:
    now = utcnow().replace(microsecond=0)
    offices = {"a": world.office_a, "b": world.office_b, "c": world.office_c}
    question = make_topic("Question générale")
    topics = {
        "q": question,
        "sub": make_topic("Avis d'impôt", parent=question),
        "r": make_topic("Réclamation"),
    }
    matters = {
        code: make_tax_matter(label)
        for code, label in (
            ("ir", "Impôt sur le revenu"),
            ("pas", "Prélèvement à la source"),
            ("tva", "TVA"),
            ("is", "Impôt sur les sociétés"),
            ("tf", "Taxe foncière"),
        )
    }
    cases: dict[str, Case] = {}
    for ref, office, channel, topic, matter, age, first, closed, due, status in ROWS:
        received = now - timedelta(days=age)
        case = Case(
            reference=f"26-PIL-{ref}",
            taxpayer=world.taxpayer_a,
            office=offices[office],
            topic=topics[topic],
            tax_matter=matters[matter] if matter else None,
            channel=Channel(channel),
            status=CaseStatus(status),
            subject=f"Sujet confidentiel {ref}",
            received_at=received,
            last_activity_at=received,
            first_answer_at=received + timedelta(days=first) if first is not None else None,
            closed_at=received + timedelta(days=closed) if closed is not None else None,
            due_at=received + timedelta(days=due),
        )
        db.session.add(case)
        cases[ref] = case
    db.session.flush()
    # Open cases assigned in office A: agent A has A2, A4, A8; the manager A5; A6, A7 nobody.
    for ref in ("A2", "A4", "A8"):
        cases[ref].assignee = world.agent_a
    cases["A5"].assignee = world.manager_a
    for case_ref, source, target, age, reason in (
        ("B1", "a", "b", 5, "Relève des entreprises : M. Dupont, SIREN 123456789"),
        ("C1", "a", "c", 3, "Compétence territoriale de la Loire"),
        ("A1", "c", "a", 2, "Retour au service compétent"),
        ("B2", "b", "a", 30, "Ancienne transmission hors période"),
    ):
        db.session.add(
            Transfer(
                case=cases[case_ref],
                from_office=offices[source],
                to_office=offices[target],
                reason=reason,
                created_at=now - timedelta(days=age),
            )
        )
    # The event log of office A: answers and closings per agent (one answer out of the period).
    for kind, agent, age in (
        (EventKind.ANSWERED, world.agent_a, 3),
        (EventKind.ANSWERED, world.agent_a, 4),
        (EventKind.ANSWERED, world.manager_a, 5),
        (EventKind.ANSWERED, world.agent_a, 30),
        (EventKind.CLOSED, world.agent_a, 2),
    ):
        db.session.add(
            Event(
                kind=kind,
                office_id=world.office_a.id,
                actor_agent_id=agent.id,
                created_at=now - timedelta(days=age),
            )
        )
    built = Dataset(
        world=world,
        now=now,
        period=(f"du={(now - timedelta(days=20)).date().isoformat()}&au={now.date().isoformat()}"),
        steering_rhone=make_agent(world.directorate, "steering"),
        steering_loire=world.steering_other,
        steering_delegation=make_agent(world.delegation, "steering"),
        cases=cases,
    )
    db.session.commit()
    return built


def client_for(app: Flask, agent: Agent) -> FlaskClient:
    return sign_in_agent(app.test_client(), agent)


def url(office: Office | None, dataset: Dataset, table: str | None = None) -> str:
    base = "/pilotage/" if office is None else f"/pilotage/{office.id}"
    if table is not None:
        base = (
            f"/pilotage/export/{table}.csv"
            if office is None
            else f"/pilotage/{office.id}/export/{table}.csv"
        )
    return f"{base}?{dataset.period}"


def assert_table(
    client: FlaskClient, office: Office | None, dataset: Dataset, table: str, expected: list
) -> None:
    """The page's table and its CSV export hold exactly the expected rows (headers aside)."""
    on_page = page_tables(client, url(office, dataset))[table]
    exported = csv_rows(client, url(office, dataset, table))
    assert exported[0] == on_page[0]  # same headers
    assert exported[1:] == expected, f"CSV {table}"
    assert on_page[1:] == expected, f"page {table}"


# --- figures at each level -------------------------------------------------------------------


def test_directorate_figures_per_office_and_in_total(app: Flask, dataset: Dataset) -> None:
    w = dataset.world
    client = client_for(app, dataset.steering_rhone)
    # The Rhône's page is its root page, and lists its two offices (no Loire).
    assert page_tables(client, url(None, dataset)) == page_tables(
        client, url(w.directorate, dataset)
    )
    # received / answered / closed / open / awaiting taxpayer / transfers sent / received.
    # Transfers in the period: A→B, A→C, C→A (B→A is 30 days old).
    assert_table(
        client,
        w.directorate,
        dataset,
        "synthese",
        [
            ["SIE Lyon Nord", "5", "3", "2", "0", "3", "1", "0", "1"],
            ["SIP Lyon 3e", "7", "5", "3", "0", "6", "1", "2", "1"],
            ["Total", "12", "8", "5", "0", "9", "2", "2", "2"],
        ],
    )
    # First answers: A [0.5, 1, 1, 3, 5] → median 1, p90 3 + 0.6 × 2 = 4.2;
    #                B [2, 4, 10] → 4, 4 + 0.8 × 6 = 8.8;
    #                Rhône [0.5, 1, 1, 2, 3, 4, 5, 10] → (2 + 3) / 2 = 2.5, 5 + 0.3 × 5 = 6.5.
    # Closings:      A [0.5, 2, 3] → 2, 2.8; B [0, 6] → 3, 5.4; Rhône [0, 0.5, 2, 3, 6] → 2, 4.8.
    # On time / settled: A 4/6 (A6 pending), B 3/4 (B4 pending), Rhône 7/10.
    assert_table(
        client,
        w.directorate,
        dataset,
        "delais",
        [
            ["SIE Lyon Nord", "4,0", "8,8", "3,0", "5,4", "3", "4", "75,0"],
            ["SIP Lyon 3e", "1,0", "4,2", "2,0", "2,8", "4", "6", "66,7"],
            ["Total", "2,5", "6,5", "2,0", "4,8", "7", "10", "70,0"],
        ],
    )
    # Open now, by age: A: A6 (1) | A4, A5 (7, 6) | A2, A7 (9, 25) | A8 (40);
    #                   B: B4 (2) | - | B2, B5 (11, 15) | -.
    a8 = local(dataset.cases["A8"].received_at).strftime("%d/%m/%Y %H:%M")  # type: ignore[union-attr]
    b5 = local(dataset.cases["B5"].received_at).strftime("%d/%m/%Y %H:%M")  # type: ignore[union-attr]
    assert_table(
        client,
        w.directorate,
        dataset,
        "stock",
        [
            ["SIE Lyon Nord", "1", "0", "2", "0", "3", b5, "15"],
            ["SIP Lyon 3e", "1", "2", "2", "1", "6", a8, "40"],
            ["Total", "2", "2", "4", "1", "9", a8, "40"],
        ],
    )
    assert_table(
        client,
        w.directorate,
        dataset,
        "canaux",
        [
            ["Internet", "8", "66,7"],
            ["Téléphone", "2", "16,7"],
            ["Courrier", "1", "8,3"],
            ["Guichet", "1", "8,3"],
            ["Total", "12", "100,0"],
        ],
    )
    # Sub-topics count under their parent: A1 A2 A5 A6 A9 B1 B3 B4 are "Question générale".
    assert_table(
        client,
        w.directorate,
        dataset,
        "motifs",
        [
            ["Question générale", "8", "66,7"],
            ["Réclamation", "4", "33,3"],
            ["Total", "12", "100,0"],
        ],
    )
    assert_table(
        client,
        w.directorate,
        dataset,
        "impots",
        [
            ["Impôt sur le revenu", "5", "41,7"],
            ["TVA", "4", "33,3"],
            ["Impôt sur les sociétés", "1", "8,3"],
            ["Non précisé", "1", "8,3"],
            ["Prélèvement à la source", "1", "8,3"],
            ["Total", "12", "100,0"],
        ],
    )
    assert_table(
        client,
        w.directorate,
        dataset,
        "transmissions",
        [
            ["SIP Lyon 3e", "SIE Lyon Nord", "1"],
            ["SIP Lyon 3e", "SIP Saint-Étienne", "1"],
            ["SIP Saint-Étienne", "SIP Lyon 3e", "1"],
        ],
    )


def test_delegation_figures_per_directorate_and_in_total(app: Flask, dataset: Dataset) -> None:
    w = dataset.world
    client = client_for(app, dataset.steering_delegation)
    # Loire = office C: C1..C4 in the period; Rhône as in the directorate test.
    assert_table(
        client,
        w.delegation,
        dataset,
        "synthese",
        [
            ["DDFiP de la Loire", "4", "3", "2", "0", "3", "0", "1", "1"],
            ["DDFiP du Rhône", "12", "8", "5", "0", "9", "2", "2", "2"],
            ["Total", "16", "11", "7", "0", "12", "2", "3", "3"],
        ],
    )
    # First answers: Loire [1, 2, 6] → 2, 2 + 0.8 × 4 = 5.2;
    #   delegation [0.5, 1, 1, 1, 2, 2, 3, 4, 5, 6, 10] → 2, 6.
    # Closings: Loire [1, 8] → 4.5, 1 + 0.9 × 7 = 7.3; delegation [0, 0.5, 1, 2, 3, 6, 8] → 2,
    #   6 + 0.4 × 2 = 6.8. On time: Loire 2/4 (C2 late, C3 past due), delegation 9/14 = 64.3 %.
    assert_table(
        client,
        w.delegation,
        dataset,
        "delais",
        [
            ["DDFiP de la Loire", "2,0", "5,2", "4,5", "7,3", "2", "4", "50,0"],
            ["DDFiP du Rhône", "2,5", "6,5", "2,0", "4,8", "7", "10", "70,0"],
            ["Total", "2,0", "6,0", "2,0", "6,8", "9", "14", "64,3"],
        ],
    )
    a8 = local(dataset.cases["A8"].received_at).strftime("%d/%m/%Y %H:%M")  # type: ignore[union-attr]
    c5 = local(dataset.cases["C5"].received_at).strftime("%d/%m/%Y %H:%M")  # type: ignore[union-attr]
    assert_table(
        client,
        w.delegation,
        dataset,
        "stock",
        [
            ["DDFiP de la Loire", "0", "1", "1", "1", "3", c5, "35"],
            ["DDFiP du Rhône", "2", "2", "4", "1", "9", a8, "40"],
            ["Total", "2", "3", "5", "2", "12", a8, "40"],
        ],
    )
    # The page links down to each directorate, and breadcrumbs stop at the user's root.
    page = client.get(url(w.delegation, dataset)).get_data(as_text=True)
    assert f'href="/pilotage/{w.directorate.id}?' in page
    assert f'href="/pilotage/{w.other_directorate.id}?' in page


def test_office_figures_and_series_by_day(app: Flask, dataset: Dataset) -> None:
    w = dataset.world
    client = client_for(app, dataset.steering_delegation)
    assert_table(
        client,
        w.office_c,
        dataset,
        "synthese",
        [["SIP Saint-Étienne", "4", "3", "2", "0", "3", "0", "1", "1"]],
    )
    assert_table(
        client,
        w.office_c,
        dataset,
        "delais",
        [["SIP Saint-Étienne", "2,0", "5,2", "4,5", "7,3", "2", "4", "50,0"]],
    )
    # The series by day (UTC days): 21 days, C's cases on their days, zero elsewhere.
    tables = page_tables(client, url(w.office_c, dataset))
    series = tables["evolution"][1:]
    assert len(series) == 21
    expected: dict[str, int] = {}
    for ref in ("C1", "C2", "C3", "C4"):
        day = dataset.cases[ref].received_at.strftime("%d/%m/%Y")
        expected[day] = expected.get(day, 0) + 1
    assert {d: int(n) for d, n in series if n != "0"} == expected
    assert sum(int(n) for _d, n in series) == 4
    assert csv_rows(client, url(w.office_c, dataset, "evolution"))[1:] == series
    # Breadcrumbs: delegation → Loire → the office.
    page = client.get(url(w.office_c, dataset)).get_data(as_text=True)
    assert page.index("Délégation Centre-Est") < page.index("DDFiP de la Loire")
    # Reasons and per-agent figures are not for a steering user.
    assert "motifs-transmission" not in tables and "agents" not in tables
    assert "Compétence territoriale" not in page


def test_series_by_week_for_a_long_period(app: Flask, dataset: Dataset) -> None:
    client = client_for(app, dataset.steering_delegation)
    tables = page_tables(client, "/pilotage/?periode=90j")
    header, *weeks = tables["evolution"]
    assert header == ["Semaine du", "Demandes reçues"]
    # 90 days: all 19 cases are younger than that.
    assert sum(int(n) for _d, n in weeks) == 19
    for day, _n in weeks:
        assert datetime.strptime(day, "%d/%m/%Y").weekday() == 0  # Mondays


def test_office_manager_sees_their_office_with_agents_and_reasons(
    app: Flask, dataset: Dataset
) -> None:
    w = dataset.world
    client = client_for(app, w.manager_a)
    tables = page_tables(client, url(None, dataset))
    assert tables["synthese"][1:] == [["SIP Lyon 3e", "7", "5", "3", "0", "6", "1", "2", "1"]]
    agent = f"{w.agent_a.first_name} {w.agent_a.last_name}"
    manager = f"{w.manager_a.first_name} {w.manager_a.last_name}"
    # Open assigned now; answers and closings of the period from the event log.
    expected = sorted(
        [[agent, "3", "2", "1"], [manager, "1", "1", "0"]],
        key=lambda row: row[0].split()[-1],
    ) + [["Non attribuées", "2", "0", "0"]]
    assert_table(client, w.office_a, dataset, "agents", expected)
    # Reasons of the transfers in and out of the office, newest first (B→A is too old).
    reasons = csv_rows(client, url(w.office_a, dataset, "motifs-transmission"))[1:]
    assert [row[1:] for row in reasons] == [
        ["SIP Saint-Étienne", "SIP Lyon 3e", "Retour au service compétent"],
        ["SIP Lyon 3e", "SIP Saint-Étienne", "Compétence territoriale de la Loire"],
        ["SIP Lyon 3e", "SIE Lyon Nord", "Relève des entreprises : M. Dupont, SIREN 123456789"],
    ]
    # Nothing above the office.
    assert client.get(url(w.directorate, dataset)).status_code == 404
    assert client.get(url(w.office_b, dataset)).status_code == 404
    assert client.get(url(w.office_b, dataset, "synthese")).status_code == 404


def test_detailed_export_one_row_per_case_without_identity(app: Flask, dataset: Dataset) -> None:
    w = dataset.world
    client = client_for(app, dataset.steering_rhone)
    rows = csv_rows(client, url(w.directorate, dataset, "demandes"))
    assert rows[0] == [
        "Référence",
        "Code du service",
        "Service",
        "Canal",
        "Motif",
        "Sous-motif",
        "Impôt concerné",
        "Statut",
        "Reçue le",
        "Première réponse le",
        "Clôturée le",
        "Échéance",
        "Traitée dans le délai",
    ]

    def shown(moment: datetime | None) -> str:
        return local(moment).strftime("%d/%m/%Y %H:%M") if moment else ""  # type: ignore[union-attr]

    yes, late, pending = "oui", "non", "en attente"
    on_time = {"A1": yes, "A2": yes, "A3": yes, "A4": late, "A5": late, "A6": pending,
               "A9": yes, "B1": yes, "B2": late, "B3": yes, "B4": pending, "B5": yes}  # fmt: skip
    ordered = sorted(on_time, key=lambda ref: dataset.cases[ref].received_at)
    expected = []
    for ref in ordered:
        case = dataset.cases[ref]
        topic = case.topic.parent or case.topic
        expected.append(
            [
                case.reference,
                case.office.code,
                case.office.name,
                case.channel.label,
                topic.label,
                case.topic.label if case.topic.parent else "",
                case.tax_matter.label if case.tax_matter else "",
                case.status.label,
                shown(case.received_at),
                shown(case.first_answer_at),
                shown(case.closed_at),
                shown(case.due_at),
                on_time[ref],
            ]
        )
    assert [[str(cell) for cell in row] for row in expected] == rows[1:]
    text = "\n".join(";".join(row) for row in rows)
    taxpayer = w.taxpayer_a
    for secret in (taxpayer.last_name, taxpayer.email, taxpayer.tax_number, "Sujet confidentiel"):
        assert secret and secret not in text


def test_admin_sees_every_root_and_can_drill_down(app: Flask, dataset: Dataset) -> None:
    w = dataset.world
    client = client_for(app, w.admin)
    tables = page_tables(client, url(None, dataset))
    assert tables["synthese"][1:] == [
        ["Délégation Centre-Est", "16", "11", "7", "0", "12", "2", "3", "3"]
    ]
    assert client.get(url(w.office_b, dataset)).status_code == 200


# --- scope ----------------------------------------------------------------------------------


def test_a_directorate_cannot_see_another_by_url_or_export(app: Flask, dataset: Dataset) -> None:
    w = dataset.world
    loire = client_for(app, dataset.steering_loire)
    for office in (w.directorate, w.office_a, w.office_b, w.delegation):
        assert loire.get(url(office, dataset)).status_code == 404
        for table in ("synthese", "delais", "stock", "demandes", "transmissions"):
            assert loire.get(url(office, dataset, table)).status_code == 404
    # Its own root shows the Loire only.
    page = loire.get(url(None, dataset)).get_data(as_text=True)
    assert "SIP Saint-Étienne" in page and "SIE Lyon Nord" not in page
    assert [row[0] for row in csv_rows(loire, url(None, dataset, "demandes"))[1:]] == [
        "26-PIL-C4",
        "26-PIL-C1",
        "26-PIL-C2",
        "26-PIL-C3",
    ]
    # An office that does not exist is a 404 too; so is an unknown table.
    assert loire.get("/pilotage/999999").status_code == 404
    assert loire.get(url(w.other_directorate, dataset, "inconnue")).status_code == 404
    # Reasons and agents are refused to a steering user, even of the office's directorate.
    rhone = client_for(app, dataset.steering_rhone)
    assert rhone.get(url(w.office_a, dataset, "motifs-transmission")).status_code == 404
    assert rhone.get(url(w.office_a, dataset, "agents")).status_code == 404


def test_steering_users_cannot_open_a_case_or_a_summary_sheet(app: Flask, dataset: Dataset) -> None:
    case = dataset.cases["A1"]
    taxpayer_id = dataset.world.taxpayer_a.id
    paths = (
        f"/agent/demandes/{case.id}",
        f"/agent/usagers/{taxpayer_id}/synthese?motif=Contr%C3%B4le",
        f"/agent/contacts/nouveau?taxpayer={taxpayer_id}",
    )
    # The routes exist (an agent of the office opens them), so a refusal below means something.
    office_agent = client_for(app, dataset.world.agent_a)
    for path in paths:
        assert office_agent.get(path).status_code == 200, path
    for agent in (dataset.steering_rhone, dataset.steering_delegation):
        client = client_for(app, agent)
        for path in paths:
            assert_refused(client.get(path), path)
        # And no steering page shows a subject, a taxpayer or a message.
        page = client.get(url(None, dataset)).get_data(as_text=True)
        assert "Sujet confidentiel" not in page
        assert dataset.world.taxpayer_a.last_name not in page
        assert "SIREN 123456789" not in page


def test_agents_without_a_steering_role_get_no_steering_url(
    app: Flask, dataset: Dataset, agent_a_client: FlaskClient, anonymous_client: FlaskClient
) -> None:
    w = dataset.world
    for path in ("/pilotage/", url(w.office_a, dataset), url(w.office_a, dataset, "demandes")):
        assert agent_a_client.get(path).status_code in (403, 404)
        response = anonymous_client.get(path)
        assert response.status_code == 302 and "/login/" in response.headers["Location"]
    # The "Pilotage" menu is there for steering users, not for agents.
    steering = client_for(app, dataset.steering_rhone)
    assert 'href="/pilotage/' in steering.get("/agent/").get_data(as_text=True)
    assert "/pilotage/" not in agent_a_client.get("/agent/").get_data(as_text=True)


def test_a_wrong_period_keeps_what_was_typed_and_says_why(app: Flask, dataset: Dataset) -> None:
    client = client_for(app, dataset.steering_rhone)
    response = client.get("/pilotage/?du=2026-02-31&au=2026-01-01")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Saisissez une date valide" in page
    assert 'value="2026-02-31"' in page
    page = client.get("/pilotage/?du=2026-03-01&au=2026-01-01").get_data(as_text=True)
    assert "La date de fin doit être postérieure à la date de début." in page
    assert client.get("/pilotage/export/synthese.csv?du=x&au=y").status_code == 400


# --- issue 16: recorded contacts counted where recorded, withdrawals ---------------------------


def test_a_recorded_contact_counts_in_the_recording_office_and_a_withdrawal_apart(
    app: Flask, world: World
) -> None:
    """Through the real operations, figures computed by hand:

    - V: a counter visit recorded by office A (SIP Lyon 3e), forwarded to B (SIE Lyon Nord),
      then answered by B: volume (received, counter) at A; answer and backlog at B; one
      transfer A → B;
    - P: a phone call recorded by B and handled on the spot: received, answered, closed at B;
    - W: an online case to A, withdrawn by the taxpayer before any answer: received and
      withdrawn at A, neither closed by the office nor counted on time or late.

                      received  answered  closed  withdrawn  open  awaiting  sent  received(tr)
        SIE Lyon Nord    1         2        1        0        1       0       0       1
        SIP Lyon 3e      2         0        0        1        0       0       1       0
        Total            3         2        1        1        1       0       1       1
    """
    from factories import make_case

    from app.cases import operations

    topic = make_topic("Question générale")
    db.session.commit()
    visit = operations.record_contact(
        agent=world.agent_a,
        channel=Channel.COUNTER,
        taxpayer=world.taxpayer_a,
        topic=topic,
        subject="Visite TVA",
        summary="Question de TVA.",
        disposition=operations.FORWARDED,
        to_office=world.office_b,
        reason="Relève du service des entreprises.",
        visible_to_taxpayer=True,
    )
    operations.record_contact(
        agent=world.agent_b,
        channel=Channel.PHONE,
        taxpayer=world.taxpayer_b,
        topic=topic,
        subject="Appel",
        summary="Réglé au téléphone.",
        disposition=operations.HANDLED,
        visible_to_taxpayer=False,
    )
    online = make_case(world.taxpayer_a, world.office_a, topic=topic, subject="En ligne")
    db.session.commit()
    operations.reply_to_case(agent=world.agent_b, case=visit, body="Voici la réponse du SIE.")
    operations.withdraw_case(taxpayer=world.taxpayer_a, case=online, reason="Réglé.")
    db.session.commit()
    today = utcnow().date()
    period = f"du={(today - timedelta(days=6)).isoformat()}&au={today.isoformat()}"
    client = client_for(app, make_agent(world.directorate, "steering"))
    db.session.commit()
    tables = page_tables(client, f"/pilotage/{world.directorate.id}?{period}")
    assert tables["synthese"][1:] == [
        ["SIE Lyon Nord", "1", "2", "1", "0", "1", "0", "0", "1"],
        ["SIP Lyon 3e", "2", "0", "0", "1", "0", "0", "1", "0"],
        ["Total", "3", "2", "1", "1", "1", "0", "1", "1"],
    ]
    # By channel (equal counts: in label order): the visit is a counter contact of the
    # directorate's volumes.
    assert tables["canaux"][1:] == [
        ["Guichet", "1", "33,3"],
        ["Internet", "1", "33,3"],
        ["Téléphone", "1", "33,3"],
        ["Total", "3", "100,0"],
    ]
    # Office A's own page: the visit it recorded (and forwarded) is among its counter volumes;
    # office B's has the call only.
    office_a = page_tables(client, f"/pilotage/{world.office_a.id}?{period}")
    assert office_a["canaux"][1:] == [
        ["Guichet", "1", "50,0"],
        ["Internet", "1", "50,0"],
        ["Total", "2", "100,0"],
    ]
    office_b = page_tables(client, f"/pilotage/{world.office_b.id}?{period}")
    assert office_b["canaux"][1:] == [["Téléphone", "1", "100,0"], ["Total", "1", "100,0"]]
    # On time: only the phone call (handled at once) and the visit (answered) are settled;
    # the withdrawn case is not counted.
    assert tables["delais"][-1][5:7] == ["2", "2"]
    # The detailed export says it was withdrawn, with no on-time verdict.
    rows = csv_rows(client, f"/pilotage/{world.directorate.id}/export/demandes.csv?{period}")
    [withdrawn] = [r for r in rows[1:] if r[0] == online.reference]
    assert withdrawn[7] == "Retirée par l'usager" and withdrawn[-1] == ""
