"""The office inbox: tabs and their counts, filters, order, keyset pages, what each row shows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from factories import World, make_case, make_tax_matter, make_topic
from flask.testing import FlaskClient
from test_agent_support import (
    clean_presence,  # noqa: F401
    text_of,
)

from app.cases import operations
from models import CaseStatus, Channel, db, utcnow
from views.agent import inbox


def _references(page: str) -> list[str]:
    return re.findall(r'href="/agent/demandes/\d+">([^<]+)</a>', page)


def _count(page: str, label: str) -> str:
    match = re.search(re.escape(label) + r'\s*<span class="fr-badge[^"]*">([^<]+)</span>', page)
    assert match, label
    return match.group(1)


@pytest.fixture
def cases(world: World) -> dict[str, str]:
    """One case per tab, plus one of office B."""
    a, b = world.office_a, world.office_b
    new = make_case(world.taxpayer_a, a, age_days=3, subject="Nouvelle")
    mine = make_case(
        world.taxpayer_a, a, age_days=10, subject="À moi", status=CaseStatus.IN_PROGRESS
    )
    mine.assignee = world.agent_a
    waiting = make_case(world.taxpayer_b, a, age_days=20, status=CaseStatus.AWAITING_TAXPAYER)
    waiting.assignee = world.manager_a
    closed = make_case(world.taxpayer_b, a, age_days=40, status=CaseStatus.CLOSED)
    forwarded = make_case(world.taxpayer_b, b, age_days=1, subject="Transmise")
    db.session.flush()
    operations.transfer_case(
        agent=world.agent_b, case=forwarded, to_office=a, reason="Relève du SIP, pas du SIE."
    )
    other = make_case(world.taxpayer_a, b, subject="Chez B")
    db.session.commit()
    return {
        "new": new.reference,
        "mine": mine.reference,
        "waiting": waiting.reference,
        "closed": closed.reference,
        "forwarded": forwarded.reference,
        "other": other.reference,
    }


def test_tabs_list_their_cases_with_counts(
    cases: dict[str, str], agent_a_client: FlaskClient
) -> None:
    def tab(key: str) -> list[str]:
        return _references(text_of(agent_a_client.get(f"/agent/demandes/?onglet={key}")))

    # Oldest first by default.
    assert tab("nouvelles") == [cases["new"], cases["forwarded"]]
    assert tab("miennes") == [cases["mine"]]
    assert tab("attente") == [cases["waiting"]]
    assert tab("ouvertes") == [cases["waiting"], cases["mine"], cases["new"], cases["forwarded"]]
    assert tab("transmises") == [cases["forwarded"]]
    assert tab("cloturees") == [cases["closed"]]
    page = text_of(agent_a_client.get("/agent/demandes/"))
    assert cases["other"] not in page
    for label, expected in (
        ("Nouvelles et non attribuées", "2"),
        ("Mes demandes", "1"),
        ("En attente de l'usager", "1"),
        ("Toutes les ouvertes", "4"),
        ("Transmises à prendre en compte", "1"),
        ("Clôturées", "1"),
    ):
        assert _count(page, label) == expected, label


def test_a_row_shows_what_an_agent_needs_at_a_glance(
    world: World, cases: dict[str, str], agent_a_client: FlaskClient
) -> None:
    page = text_of(agent_a_client.get("/agent/demandes/?onglet=ouvertes"))
    row = page[page.index(cases["waiting"]) :].split("</tr>")[0]
    taxpayer = world.taxpayer_b
    for text in (taxpayer.display_name, taxpayer.tax_number, "Question générale", "Internet"):
        assert text in row, text
    assert "20 jours" in row and world.manager_a.full_name in row
    forwarded = page[page.index(cases["forwarded"]) :].split("</tr>")[0]
    assert "Transmise" in forwarded and "Non lue" in forwarded and "1 jour" in forwarded


def test_overdue_cases_are_flagged(world: World, agent_a_client: FlaskClient) -> None:
    late = make_case(world.taxpayer_a, world.office_a, age_days=45)
    on_time = make_case(world.taxpayer_a, world.office_a, age_days=2)
    db.session.commit()
    page = text_of(agent_a_client.get("/agent/demandes/"))
    late_row = page[page.index(late.reference) :].split("</tr>")[0]
    on_time_row = page[page.index(on_time.reference) :].split("</tr>")[0]
    assert "En retard" in late_row and "En retard" not in on_time_row


def test_filters(world: World, agent_a_client: FlaskClient) -> None:
    topic = make_topic("Réclamation")
    matter = make_tax_matter("Taxe foncière")
    by_topic = make_case(world.taxpayer_a, world.office_a, topic=topic, age_days=2)
    by_matter = make_case(world.taxpayer_a, world.office_a, age_days=12)
    by_matter.tax_matter = matter
    by_phone = make_case(world.taxpayer_a, world.office_a, channel=Channel.PHONE, age_days=35)
    assigned = make_case(world.taxpayer_a, world.office_a, age_days=5)
    assigned.assignee = world.agent_a
    db.session.commit()

    def listed(query: str) -> set[str]:
        page = text_of(agent_a_client.get(f"/agent/demandes/?onglet=ouvertes&{query}"))
        return set(_references(page))

    assert listed(f"motif={topic.id}") == {by_topic.reference}
    assert listed(f"impot={matter.id}") == {by_matter.reference}
    assert listed("canal=phone") == {by_phone.reference}
    assert listed("age=0-7") == {by_topic.reference, assigned.reference}
    assert listed("age=8-15") == {by_matter.reference}
    assert listed("age=31%2B") == {by_phone.reference}
    assert listed(f"agent={world.agent_a.id}") == {assigned.reference}
    assert listed("agent=aucun") == {by_topic.reference, by_matter.reference, by_phone.reference}
    # Counts follow the filters; nonsense is ignored, never a 500.
    page = text_of(agent_a_client.get("/agent/demandes/?canal=phone"))
    assert _count(page, "Toutes les ouvertes") == "1"
    response = agent_a_client.get("/agent/demandes/?motif=x&age=zz&canal=fax&apres=nope&tri=?")
    assert response.status_code == 200


def test_sort_by_due_date(world: World, agent_a_client: FlaskClient) -> None:
    soon = make_case(world.taxpayer_a, world.office_a, age_days=1)
    later = make_case(world.taxpayer_a, world.office_a, age_days=5)
    soon.due_at = utcnow() + timedelta(days=2)
    later.due_at = utcnow() + timedelta(days=20)
    db.session.commit()
    oldest_first = _references(text_of(agent_a_client.get("/agent/demandes/?onglet=ouvertes")))
    by_due = _references(
        text_of(agent_a_client.get("/agent/demandes/?onglet=ouvertes&tri=echeance"))
    )
    assert oldest_first == [later.reference, soon.reference]
    assert by_due == [soon.reference, later.reference]


def test_keyset_pages_walk_the_whole_list_once(
    world: World, agent_a_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "PAGE_SIZE", 3)
    created = [make_case(world.taxpayer_a, world.office_a, age_days=10 - n) for n in range(8)]
    # Two with the very same receipt time: the id breaks the tie.
    created[5].received_at = created[4].received_at
    db.session.commit()
    for sort in ("anciennete", "recentes", "echeance"):
        seen: list[str] = []
        url = f"/agent/demandes/?onglet=ouvertes&tri={sort}"
        for _ in range(5):
            page = text_of(agent_a_client.get(url))
            seen += _references(page)
            match = re.search(r'<li class="next"><a href="([^"]+)"', page)
            if not match:
                break
            url = match.group(1)
        assert sorted(seen) == sorted(c.reference for c in created), sort
        assert len(seen) == len(set(seen)) == 8
        assert "Début de la liste" in page


def test_counts_are_capped(
    world: World, agent_a_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "COUNT_CAP", 3)
    for _ in range(5):
        make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    page = text_of(agent_a_client.get("/agent/demandes/"))
    assert _count(page, "Toutes les ouvertes") == "3+"
    monkeypatch.undo()
    assert inbox.count_label(1001) == "1\u202f000+"
    assert inbox.count_label(1000) == "1\u202f000"


def test_an_agent_without_an_office_sees_an_explanation(admin_client: FlaskClient) -> None:
    page = text_of(admin_client.get("/agent/demandes/"))
    assert "Votre compte n'est rattaché à aucun service" in page
