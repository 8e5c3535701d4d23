"""The harness's clients per role reach what their role opens, and no more (for now: homes)."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_each_population_lands_in_its_own_space(
    anonymous_client: FlaskClient,
    taxpayer_client: FlaskClient,
    agent_a_client: FlaskClient,
    manager_client: FlaskClient,
    steering_client: FlaskClient,
    admin_client: FlaskClient,
    world: object,
) -> None:
    assert anonymous_client.get("/espace/").status_code == 302
    assert anonymous_client.get("/agent/").status_code == 302
    assert "Mes demandes" in taxpayer_client.get("/espace/").get_data(as_text=True)
    # A taxpayer's session opens no agent screen.
    assert taxpayer_client.get("/agent/").status_code == 302
    for client, office in (
        (agent_a_client, "SIP Lyon 3e"),
        (manager_client, "SIP Lyon 3e"),
    ):
        page = client.get("/agent/").get_data(as_text=True)
        assert office in page and "Ma journée" in page
    # Steering users land on their figures (issue 16), administrators on their home (the
    # alerts and the workers, issue 21).
    response = steering_client.get("/agent/")
    assert response.status_code == 302 and response.headers["Location"] == "/pilotage/"
    assert "Courriels d'alerte et workers" in admin_client.get("/agent/").get_data(as_text=True)
    assert "DDFiP de la Loire" in steering_client.get("/pilotage/").get_data(as_text=True)
    # An agent's session is not a taxpayer's.
    assert agent_a_client.get("/espace/").status_code == 302
    assert admin_client.get("/users/list/").status_code == 200
    assert agent_a_client.get("/users/list/").status_code in (302, 403)
