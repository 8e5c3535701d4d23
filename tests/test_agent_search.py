"""The agents' search: identifiers, references, words; only what the agent may see."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from factories import World, make_case, make_taxpayer
from flask.testing import FlaskClient
from test_agent_support import (
    clean_presence,  # noqa: F401
    taxpayer_message,
    text_of,
)

from app.cases import operations, search
from models import AccessLog, AuthorKind, Message, TaxpayerKind, db, utcnow


def _search(client: FlaskClient, query: str, period: str | None = None) -> str:
    args = {"q": query} | ({"periode": period} if period else {})
    response = client.get("/agent/recherche/", query_string=args)
    assert response.status_code == 200
    return text_of(response)


def _links(page: str, *cases: object) -> list[bool]:
    return [f'href="/agent/demandes/{case.id}"' in page for case in cases]  # type: ignore[attr-defined]


def test_by_tax_number_and_siren_shows_the_taxpayer_and_their_cases(
    world: World, agent_a_client: FlaskClient
) -> None:
    business = make_taxpayer(TaxpayerKind.BUSINESS, company_name="Boulangerie Durand")
    own = make_case(world.taxpayer_a, world.office_a)
    elsewhere = make_case(world.taxpayer_a, world.office_b)
    db.session.commit()
    number = world.taxpayer_a.tax_number
    assert number is not None
    spaced = f"{number[:2]} {number[2:4]} {number[4:7]} {number[7:10]} {number[10:]}"
    page = _search(agent_a_client, spaced)
    assert world.taxpayer_a.display_name in page
    assert f"/agent/usagers/{world.taxpayer_a.id}/synthese?reason=" in page
    assert _links(page, own, elsewhere) == [True, False]
    page = _search(agent_a_client, business.siren or "")
    assert "Boulangerie Durand" in page and f"/agent/usagers/{business.id}/synthese" in page
    assert "Aucune demande de votre service" in page
    # Looking a taxpayer up is a consultation of their data: logged.
    logged = db.session.scalars(db.select(AccessLog).where(AccessLog.object_kind == "search"))
    assert {row.taxpayer_id for row in logged} == {world.taxpayer_a.id, business.id}
    assert "Aucun usager ne porte cet identifiant." in _search(agent_a_client, "9999999999999")


def test_by_reference_whatever_the_case(world: World, agent_a_client: FlaskClient) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    # An exact reference opens the case itself (issue 16).
    response = agent_a_client.get(
        "/agent/recherche/", query_string={"q": f"  {case.reference.lower()} "}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/agent/demandes/{case.id}")


def test_a_reference_of_another_office_opens_nothing(
    world: World, agent_a_client: FlaskClient
) -> None:
    elsewhere = make_case(world.taxpayer_a, world.office_b)
    db.session.commit()
    page = _search(agent_a_client, elsewhere.reference)
    assert elsewhere.reference not in page.split("<h1")[-1] or "Aucune" in page


def test_full_text_over_subjects_messages_and_notes(
    world: World, agent_a_client: FlaskClient
) -> None:
    by_subject = make_case(world.taxpayer_a, world.office_a, subject="Dégrèvement de taxe foncière")
    by_message = make_case(world.taxpayer_a, world.office_a, subject="Question")
    taxpayer_message(by_message, world.taxpayer_a, "Mon prélèvement mensuel a doublé.")
    by_note = make_case(world.taxpayer_a, world.office_a, subject="Autre question")
    operations.add_note(agent=world.agent_a, case=by_note, body="Vérifier l'échéancier.")
    elsewhere = make_case(world.taxpayer_a, world.office_b, subject="Dégrèvement de taxe foncière")
    db.session.commit()
    page = _search(agent_a_client, "taxe foncière")
    assert _links(page, by_subject, by_message, by_note, elsewhere) == [True, False, False, False]
    page = _search(agent_a_client, "prélèvement mensuel")
    assert _links(page, by_subject, by_message, by_note) == [False, True, False]
    page = _search(agent_a_client, "échéancier")
    assert _links(page, by_subject, by_message, by_note) == [False, False, True]
    assert "Aucune demande de votre service ne correspond" in _search(agent_a_client, "zèbre")
    # Bad input never breaks the page.
    for query in ("%", "_", "'; drop table case; --", "a" * 500, "&|!:*"):
        _search(agent_a_client, query)


def test_postgresql_ignores_accents_and_word_forms(
    world: World, agent_a_client: FlaskClient
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("French stemming and accent folding: PostgreSQL only (SQLite uses LIKE)")
    case = make_case(world.taxpayer_a, world.office_a, subject="Dégrèvements demandés")
    db.session.commit()
    assert _links(_search(agent_a_client, "degrevement"), case) == [True]
    assert _links(_search(agent_a_client, "DEMANDE"), case) == [True]


def _old_message(case: object, body: str, age_days: int) -> None:
    """A taxpayer's message written ``age_days`` ago (its year's partition on PostgreSQL)."""
    db.session.add(
        Message(
            case_id=case.id,  # type: ignore[attr-defined]
            office_id=case.office_id,  # type: ignore[attr-defined]
            author_kind=AuthorKind.TAXPAYER,
            body=body,
            created_at=utcnow() - timedelta(days=age_days),
        )
    )
    db.session.flush()


def test_words_are_searched_in_the_period_chosen(world: World, agent_a_client: FlaskClient) -> None:
    """Decision 0022: by default the requests of the last 3 years; an older one is found only
    with « Tout l'historique », which the page offers when nothing is found."""
    recent = make_case(world.taxpayer_a, world.office_a, subject="Question", age_days=200)
    _old_message(recent, "Ma scierie et le bûcheronnage.", 200)
    old = make_case(world.taxpayer_a, world.office_a, subject="Ancienne question", age_days=1600)
    _old_message(old, "La grange du bûcheronnage.", 1600)
    older = make_case(world.taxpayer_a, world.office_a, subject="Grange à foin", age_days=3000)
    db.session.commit()
    page = _search(agent_a_client, "bûcheronnage")
    assert _links(page, recent, old) == [True, False]
    assert "Les 3 dernières années" in page and "demandes reçues depuis le" in page
    assert 'value="3" selected' in page
    assert _links(_search(agent_a_client, "bûcheronnage", "1"), recent, old) == [True, False]
    page = _search(agent_a_client, "bûcheronnage", "tout")
    assert _links(page, recent, old) == [True, True]
    assert "sur tout l'historique" in page and 'value="tout" selected' in page
    # Nothing in the period: the page says where it looked and offers the whole history.
    page = _search(agent_a_client, "grange")
    assert _links(page, old, older) == [False, False]
    assert "periode=tout" in page and "Chercher sur tout l" in page, page.split("<h1")[-1]
    assert _links(_search(agent_a_client, "grange", "tout"), old, older) == [True, True]
    # An unknown period is the default one; identifiers and references ignore the period.
    assert _links(_search(agent_a_client, "bûcheronnage", "x"), recent, old) == [True, False]
    response = agent_a_client.get("/agent/recherche/", query_string={"q": old.reference})
    assert response.status_code == 302


def test_two_words_match_requests_holding_both(world: World, agent_a_client: FlaskClient) -> None:
    both = make_case(world.taxpayer_a, world.office_a, subject="Question")
    taxpayer_message(both, world.taxpayer_a, "Je sollicite une remise gracieuse des pénalités.")
    one = make_case(world.taxpayer_a, world.office_a, subject="Remise en cause")
    in_subject = make_case(world.taxpayer_a, world.office_a, subject="Remise gracieuse")
    db.session.commit()
    page = _search(agent_a_client, "remise gracieuse")
    assert _links(page, both, one, in_subject) == [True, False, True]


def test_results_page_by_key_newest_first(
    world: World, agent_a_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More than a page: the newest first, then « Résultats plus anciens » by cursor (no
    OFFSET), until the last; every case once."""
    monkeypatch.setattr(search, "RESULT_LIMIT", 2)
    cases = [
        make_case(world.taxpayer_a, world.office_a, subject="Avis de taxe foncière", age_days=age)
        for age in (1, 40, 3, 700, 90)
    ]
    db.session.commit()
    expected = sorted(cases, key=lambda case: (case.received_at, case.id), reverse=True)
    seen: list[int] = []
    url = "/agent/recherche/?q=taxe+fonci%C3%A8re"
    pages = 0
    while url:
        page = text_of(agent_a_client.get(url))
        pages += 1
        seen += [int(found) for found in re.findall(r'href="/agent/demandes/(\d+)"', page)]
        older = re.search(r'href="(/agent/recherche/\?[^"]*apres=[^"]+)"', page)
        url = older.group(1).replace("&amp;", "&") if older else ""
        if pages > 1:
            assert "Résultats les plus récents" in page
    assert pages == 3
    assert seen == [case.id for case in expected]
