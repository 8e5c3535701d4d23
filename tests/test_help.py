"""The online help (app.help, views.public.help, views.agent.help): every page renders with the
configured figures, raw HTML is escaped, the search finds pages whatever the accents, and
"Aide" is in the header of both layouts."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.help import pages


def text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


@pytest.fixture
def small_limits(app: Flask) -> Iterator[None]:
    saved = {key: app.config[key] for key in ("ATTACHMENT_MAX_BYTES", "RETENTION_PURGE_YEARS")}
    app.config.update(ATTACHMENT_MAX_BYTES=3 * 1024 * 1024, RETENTION_PURGE_YEARS=12)
    yield
    app.config.update(saved)


def test_every_page_uses_known_figures_only(app: Flask) -> None:
    with app.app_context():
        known = set(pages.values())
    for audience in pages.AUDIENCES:
        assert pages.pages(audience), audience
        for item in pages.pages(audience):
            assert pages.placeholders(item.source) <= known, (audience, item.slug)
            assert item.title and pages.SLUG.match(item.slug)


def test_taxpayer_pages_render_in_the_taxpayer_layout(anonymous_client: FlaskClient) -> None:
    index = anonymous_client.get("/aide/")
    assert index.status_code == 200
    assert "fr-header" in index.get_data(as_text=True)
    for item in pages.pages(pages.TAXPAYER):
        response = anonymous_client.get(f"/aide/{item.slug}")
        assert response.status_code == 200, item.slug
        body = text(response)
        assert item.title in body and "[[" not in body
        assert 'class="fr-header"' in body


def test_the_figures_come_from_the_configuration(
    anonymous_client: FlaskClient, small_limits: None
) -> None:
    body = text(anonymous_client.get("/aide/pieces-jointes"))
    assert "3 Mo au plus" in body and "JPG, PDF, PNG" in body
    assert "supprimée <strong>12 ans</strong> après" in text(anonymous_client.get("/aide/delais"))


def test_agent_pages_render_in_the_agent_layout_for_every_role(
    agent_a_client: FlaskClient,
    steering_client: FlaskClient,
    admin_client: FlaskClient,
    anonymous_client: FlaskClient,
) -> None:
    for client in (agent_a_client, steering_client, admin_client):
        assert client.get("/agent/aide/").status_code == 200
        for item in pages.pages(pages.AGENT):
            response = client.get(f"/agent/aide/{item.slug}")
            assert response.status_code == 200, item.slug
            body = text(response)
            assert item.title in body and "[[" not in body and '<body class="ec-agent">' in body
    # Signed out: FAB sends to its login.
    assert anonymous_client.get("/agent/aide/").status_code == 302


def test_an_unknown_page_is_a_404(
    anonymous_client: FlaskClient, agent_a_client: FlaskClient
) -> None:
    assert anonymous_client.get("/aide/nulle-part").status_code == 404
    assert anonymous_client.get("/aide/" + "a" * 200).status_code == 404
    assert agent_a_client.get("/agent/aide/ecrire").status_code == 404  # a taxpayer page


def test_raw_html_in_a_page_is_escaped(app: Flask) -> None:
    item = pages.Page(
        audience="usager", slug="x", title="X", source="<script>alert(1)</script>\n\n**gras**"
    )
    with app.test_request_context():
        rendered = str(pages.render(item))
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert "<strong>gras</strong>" in rendered


def test_search_ignores_accents_and_case(app: Flask, anonymous_client: FlaskClient) -> None:
    with app.app_context():
        assert [hit.page.slug for hit in pages.search("usager", "DELAI")][0] == "delais"
        assert "pieces-jointes" in [hit.page.slug for hit in pages.search("usager", "pièce jointe")]
        assert pages.search("usager", "") == [] and pages.search("usager", "   ;; ") == []
    body = text(anonymous_client.get("/aide/?q=statut"))
    assert "Résultats pour « statut »" in body and "/aide/statuts" in body
    none = text(anonymous_client.get("/aide/?q=zzzzyx"))
    assert "Aucune page d'aide ne contient « zzzzyx »." in none
    long = anonymous_client.get("/aide/?q=" + "é" * 5000)
    assert long.status_code == 200


def test_agent_search(agent_a_client: FlaskClient) -> None:
    body = text(agent_a_client.get("/agent/aide/?q=conservation"))
    assert "/agent/aide/conservation" in body
    assert "/agent/aide/journal" in text(agent_a_client.get("/agent/aide/?q=journal consultations"))


def test_aide_is_in_the_header_of_both_layouts(
    anonymous_client: FlaskClient, taxpayer_client: FlaskClient, agent_a_client: FlaskClient
) -> None:
    for client, url in (
        (anonymous_client, "/"),
        (anonymous_client, "/espace/connexion"),
        (taxpayer_client, "/espace/"),
        (taxpayer_client, "/espace/demandes/nouvelle"),
    ):
        assert 'href="/aide/"' in client.get(url).get_data(as_text=True), url
    for url in ("/agent/", "/agent/demandes/", "/agent/recherche/"):
        body = agent_a_client.get(url).get_data(as_text=True)
        assert 'href="/agent/aide/"' in body, url
        assert "/agent/signalements/nouveau?page=" in body, url


def test_contextual_links(taxpayer_client: FlaskClient, agent_a_client: FlaskClient) -> None:
    new_request = taxpayer_client.get("/espace/demandes/nouvelle").get_data(as_text=True)
    assert "/aide/ecrire" in new_request and "/aide/pieces-jointes" in new_request
    assert "/aide/statuts" in taxpayer_client.get("/espace/").get_data(as_text=True)
    assert "/agent/aide/ma-journee" in agent_a_client.get("/agent/demandes/").get_data(as_text=True)
