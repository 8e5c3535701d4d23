"""The taxpayer's summary sheet through HTTP: content, rules, filters, access log, query count."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from factories import World, make_agent, make_case, make_contact, make_topic
from flask import Flask
from flask.testing import FlaskClient
from helpers import count_queries
from sqlalchemy import select

from app.cases import operations
from models import AccessLog, Case, CaseStatus, Channel, Taxpayer, Transfer, db, utcnow


def sheet_url(taxpayer: Taxpayer, reason: str | None = "Appel de l'usager", **params: str) -> str:
    query = {"reason": reason, **params} if reason is not None else params
    suffix = f"?{urlencode(query)}" if query else ""
    return f"/agent/usagers/{taxpayer.id}/synthese{suffix}"


def references(page: str) -> list[str]:
    """The cases of the timeline, top to bottom."""
    return re.findall(r'<tr class="ec-entry" data-reference="([^"]+)"', page)


def aged(case: Case, days: float) -> Case:
    case.received_at = utcnow() - timedelta(days=days)
    case.last_activity_at = case.received_at
    return case


@pytest.fixture
def history(world: World) -> dict[str, Case]:
    """Taxpayer A's contacts with three offices over three channels, and an online case."""
    topic = make_topic("Réclamation")
    agent_c = make_agent(world.office_c, "agent")
    cases = {
        "online_b": aged(
            make_case(
                world.taxpayer_a,
                world.office_b,
                topic=topic,
                subject="Demande en ligne au SIE",
            ),
            40,
        ),
        "phone_a": aged(
            make_contact(
                world.agent_a,
                world.taxpayer_a,
                channel=Channel.PHONE,
                topic=topic,
                disposition="kept",
                subject="Appel au SIP sur le prélèvement",
            ),
            20,
        ),
        "letter_c": aged(
            make_contact(
                agent_c,
                world.taxpayer_a,
                channel=Channel.LETTER,
                topic=topic,
                subject="Courrier reçu à Saint-Étienne",
            ),
            10,
        ),
        "counter_a_to_b": aged(
            make_contact(
                world.agent_a,
                world.taxpayer_a,
                channel=Channel.COUNTER,
                topic=topic,
                disposition="forwarded",
                to_office=world.office_b,
                reason="Question de TVA : relève du service des entreprises.",
                subject="Visite au guichet sur la TVA",
            ),
            1,
        ),
    }
    # Someone else's contact never shows on taxpayer A's sheet.
    make_contact(world.agent_a, world.taxpayer_b, subject="Contact d'un autre usager")
    db.session.commit()
    return cases


def test_the_sheet_lists_every_office_and_channel_newest_first(
    agent_a_client: FlaskClient, world: World, history: dict[str, Case]
) -> None:
    response = agent_a_client.get(sheet_url(world.taxpayer_a))
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    expected = ["counter_a_to_b", "letter_c", "phone_a", "online_b"]
    assert references(page) == [history[key].reference for key in expected]
    for office in ("SIP Lyon 3e", "SIE Lyon Nord", "SIP Saint-Étienne"):
        assert office in page
    for channel in ("Internet", "Téléphone", "Guichet", "Courrier"):
        assert channel in page
    assert "Contact d'un autre usager" not in page
    # Identity and contact details.
    assert world.taxpayer_a.display_name in page and world.taxpayer_a.tax_number in page
    assert world.taxpayer_a.email in page
    # The transfer shows on the forwarded visit.
    assert "SIP Lyon 3e → SIE Lyon Nord" in page


def test_other_offices_cases_show_metadata_only(
    agent_a_client: FlaskClient, world: World, history: dict[str, Case]
) -> None:
    page = html.unescape(agent_a_client.get(sheet_url(world.taxpayer_a)).get_data(as_text=True))
    # Office A's own case: subject and link.
    phone = history["phone_a"]
    assert "Appel au SIP sur le prélèvement" in page
    assert f'href="/agent/demandes/{phone.id}"' in page
    # Other offices' cases (including the visit A forwarded to B): metadata, no text.
    for key, subject in (
        ("online_b", "Demande en ligne au SIE"),
        ("letter_c", "Courrier reçu à Saint-Étienne"),
        ("counter_a_to_b", "Visite au guichet sur la TVA"),
    ):
        assert subject not in page
        assert f'href="/agent/demandes/{history[key].id}"' not in page
        assert history[key].reference in page
    assert "Question de TVA : relève du service des entreprises." not in page


def test_office_b_sees_the_visit_the_transfer_reason_and_its_links(
    agent_b_client: FlaskClient, world: World, history: dict[str, Case]
) -> None:
    page = html.unescape(agent_b_client.get(sheet_url(world.taxpayer_a)).get_data(as_text=True))
    visit = history["counter_a_to_b"]
    assert "Visite au guichet sur la TVA" in page
    assert "Question de TVA : relève du service des entreprises." in page
    assert f'href="/agent/demandes/{visit.id}"' in page
    assert f'href="/agent/demandes/{history["online_b"].id}"' in page
    assert "Appel au SIP sur le prélèvement" not in page
    # The agent who recorded the visit is named, from the other office.
    assert world.agent_a.full_name in page


def test_at_a_glance(agent_a_client: FlaskClient, world: World, history: dict[str, Case]) -> None:
    aged(make_case(world.taxpayer_a, world.office_a, channel=Channel.PHONE), 400)
    db.session.commit()
    page = html.unescape(agent_a_client.get(sheet_url(world.taxpayer_a)).get_data(as_text=True))
    counts = dict(re.findall(r'data-channel="(\w+)">(\d+)<', page))
    # Over the last 12 months: the 400-day-old call is not counted.
    assert counts == {"online": "1", "phone": "1", "counter": "1", "letter": "1"}
    assert re.search(r'id="count-total">4<', page)
    opened = page.split('id="open-cases"')[1].split("</ul>")[0]
    # Open: the online case and the forwarded visit (B), the call kept by A, the old call;
    # the letter was handled on the spot.
    assert opened.count("<li>") == 4
    assert "SIE Lyon Nord" in opened and "SIP Lyon 3e" in opened
    assert "SIP Saint-Étienne" not in opened
    last = page.split('id="last-contact">')[1].split("</p>")[0]
    assert "Guichet" in last and "SIE Lyon Nord" in last


def test_filters_by_channel_office_and_period(
    agent_a_client: FlaskClient, world: World, history: dict[str, Case]
) -> None:
    def refs(**params: str) -> list[str]:
        page = agent_a_client.get(sheet_url(world.taxpayer_a, **params)).get_data(as_text=True)
        return references(page)

    ref = {key: case.reference for key, case in history.items()}
    assert refs(channel="phone") == [ref["phone_a"]]
    assert refs(channel="online") == [ref["online_b"]]
    # Office B: what it holds, including the visit forwarded to it.
    assert refs(office=str(world.office_b.id)) == [ref["counter_a_to_b"], ref["online_b"]]
    # Office A: what it holds and what it forwarded.
    assert refs(office=str(world.office_a.id)) == [ref["counter_a_to_b"], ref["phone_a"]]
    assert refs(office=str(world.office_c.id)) == [ref["letter_c"]]
    today = utcnow().date()
    period = {
        "from": (today - timedelta(days=25)).isoformat(),
        "to": (today - timedelta(days=5)).isoformat(),
    }
    assert refs(**period) == [ref["letter_c"], ref["phone_a"]]
    assert refs(channel="letter", **period) == [ref["letter_c"]]
    # A wrong date is said, not a crash, and the other filters still apply.
    bad = agent_a_client.get(sheet_url(world.taxpayer_a, channel="phone", **{"from": "32/13/2025"}))
    assert bad.status_code == 200
    assert "n&#39;est pas valide" in bad.get_data(as_text=True)
    assert references(bad.get_data(as_text=True)) == [ref["phone_a"]]
    inverted = agent_a_client.get(
        sheet_url(world.taxpayer_a, **{"from": period["to"], "to": period["from"]})
    ).get_data(as_text=True)
    assert "période est inversée" in inverted and len(references(inverted)) == 4


def test_every_opening_is_in_the_access_log_with_its_reason(
    agent_a_client: FlaskClient, agent_b_client: FlaskClient, world: World, history: dict[str, Case]
) -> None:
    visit = history["counter_a_to_b"]
    agent_a_client.get(sheet_url(world.taxpayer_a, reason="Contact en cours"))
    agent_b_client.get(sheet_url(world.taxpayer_a, reason=f"Demande {visit.reference}"))
    agent_b_client.get(sheet_url(world.taxpayer_a, reason="Recherche", channel="phone"))
    db.session.expire_all()
    rows = db.session.scalars(select(AccessLog).order_by(AccessLog.id)).all()
    assert [
        (r.agent_id, r.office_id, r.object_kind, r.object_id, r.taxpayer_id, r.reason) for r in rows
    ] == [
        (
            world.agent_a.id,
            world.office_a.id,
            "summary",
            world.taxpayer_a.id,
            world.taxpayer_a.id,
            "Contact en cours",
        ),
        (
            world.agent_b.id,
            world.office_b.id,
            "summary",
            world.taxpayer_a.id,
            world.taxpayer_a.id,
            f"Demande {visit.reference}",
        ),
        (
            world.agent_b.id,
            world.office_b.id,
            "summary",
            world.taxpayer_a.id,
            world.taxpayer_a.id,
            "Recherche",
        ),
    ]
    assert all(r.created_at is not None for r in rows)


def test_without_a_reason_nothing_is_shown_and_a_reason_is_asked(
    agent_a_client: FlaskClient, world: World, history: dict[str, Case]
) -> None:
    for reason in (None, "", "   "):
        response = agent_a_client.get(sheet_url(world.taxpayer_a, reason=reason))
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Motif de la consultation" in page and 'name="reason"' in page
        assert world.taxpayer_a.last_name not in page
        assert history["phone_a"].reference not in page
    assert db.session.scalars(select(AccessLog)).all() == []


@pytest.mark.parametrize(
    "client_name", ["anonymous_client", "taxpayer_client", "steering_client", "admin_client"]
)
def test_the_sheet_is_404_for_everyone_but_agents(
    request: pytest.FixtureRequest, world: World, client_name: str
) -> None:
    client: FlaskClient = request.getfixturevalue(client_name)
    assert client.get(sheet_url(world.taxpayer_a)).status_code == 404
    assert client.get(sheet_url(world.taxpayer_a, reason=None)).status_code == 404
    assert db.session.scalars(select(AccessLog)).all() == []


def test_an_unknown_taxpayer_is_404(agent_a_client: FlaskClient, world: World) -> None:
    assert agent_a_client.get("/agent/usagers/999999/synthese?reason=x").status_code == 404


def test_any_agent_may_open_any_taxpayer_sheet(
    manager_client: FlaskClient, agent_b_client: FlaskClient, world: World
) -> None:
    """Accueil de proximité: no case with the office is needed to open the sheet."""
    assert manager_client.get(sheet_url(world.taxpayer_b)).status_code == 200
    assert agent_b_client.get(sheet_url(world.taxpayer_b)).status_code == 200


def test_pages_of_fifty_newest_first_without_gaps(
    agent_a_client: FlaskClient, world: World
) -> None:
    topic = make_topic()
    for n in range(60):
        aged(make_case(world.taxpayer_a, world.office_a, topic=topic, subject=f"n{n}"), n / 10)
    db.session.commit()
    first = agent_a_client.get(sheet_url(world.taxpayer_a)).get_data(as_text=True)
    page_one = references(first)
    assert len(page_one) == 50
    match = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert match
    second = agent_a_client.get(html.unescape(match.group(1))).get_data(as_text=True)
    page_two = references(second)
    assert len(page_two) == 10 and 'rel="next"' not in second
    everything = db.session.scalars(
        select(Case.reference).order_by(Case.received_at.desc(), Case.id.desc())
    ).all()
    assert page_one + page_two == list(everything)
    assert "Revenir aux plus récentes" in second


def _bulk_history(world: World, taxpayer: Taxpayer, count: int) -> None:
    """``count`` cases over three offices and four channels, one in three forwarded."""
    topic = make_topic()
    offices = [world.office_a, world.office_b, world.office_c]
    channels = list(Channel)
    for n in range(count):
        case = make_case(
            taxpayer,
            offices[n % 3],
            topic=topic,
            channel=channels[n % 4],
            status=CaseStatus.CLOSED if n % 2 else CaseStatus.IN_PROGRESS,
            age_days=n % 500,
        )
        case.created_by_id = world.agent_a.id if case.channel is not Channel.ONLINE else None
        if n % 3 == 1:  # in office B, forwarded from office C
            db.session.add(
                Transfer(
                    case_id=case.id,
                    from_office_id=world.office_c.id,
                    to_office_id=case.office_id,
                    reason="Relève d'un autre service.",
                    agent_id=world.agent_a.id,
                    created_at=case.received_at,
                )
            )
    db.session.commit()


def test_the_sheet_of_300_contacts_runs_as_many_queries_as_the_sheet_of_3(
    app: Flask, agent_a_client: FlaskClient, world: World
) -> None:
    _bulk_history(world, world.taxpayer_a, 3)
    _bulk_history(world, world.taxpayer_b, 300)
    agent_a_client.get(sheet_url(world.taxpayer_a))  # warm-up: first request's one-off work
    counts = {}
    for taxpayer, n in ((world.taxpayer_a, 3), (world.taxpayer_b, 300)):
        url = sheet_url(taxpayer)
        with count_queries(app) as statements:
            page = agent_a_client.get(url).get_data(as_text=True)
        assert len(references(page)) == min(n, 50)
        counts[n] = len(statements)
    assert counts[300] == counts[3], counts
    # The page itself needs 8 (taxpayer, timeline, transfers, 3 for the glance, offices, the
    # access log); the rest is the signed-in agent and the menu's permissions.
    assert counts[3] <= 30, counts


def test_recording_a_contact_then_attaching_an_unknown_one_shows_on_the_sheet(
    agent_a_client: FlaskClient, world: World
) -> None:
    case = make_contact(
        world.agent_a, None, declared_identity="M. Inconnu", disposition="kept", subject="Sans nom"
    )
    db.session.commit()
    assert "Sans nom" not in agent_a_client.get(sheet_url(world.taxpayer_a)).get_data(as_text=True)
    operations.attach_to_taxpayer(agent=world.agent_a, case=case, taxpayer=world.taxpayer_a)
    db.session.commit()
    assert "Sans nom" in agent_a_client.get(sheet_url(world.taxpayer_a)).get_data(as_text=True)
