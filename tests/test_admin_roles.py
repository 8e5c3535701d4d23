"""Every directory, manager, read-log and failed-alert URL, asked by every role.

Expected outcomes: anonymous and taxpayers are sent to the agents' login (302); an agent without
the permission gets 403; the office manager opens their own screens; the administrator opens
everything. FAB's action, delete and download routes are covered too.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from factories import World, make_tax_matter, make_topic
from flask.testing import FlaskClient

from models import Notification, NotificationKind, NotificationStatus, ReplyTemplate, db

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ROLES = ("anonymous", "taxpayer", "agent", "manager", "steering", "admin")
OK, DENIED, LOGIN, MISSING = 200, 403, 302, 404


def _ids(world: World) -> dict[str, Any]:
    topic = make_topic("Réclamation")
    matter = make_tax_matter()
    own = ReplyTemplate(title="Modèle A", body="Bonjour {nom}", office_id=world.office_a.id)
    db.session.add(own)
    alert = Notification(
        kind=NotificationKind.NEW_MESSAGE,
        status=NotificationStatus.FAILED,
        recipient="inconnu@example.fr",
        subject="Nouveau message",
        body="Connectez-vous",
        attempts=1,
        last_error="SMTPRecipientsRefused",
    )
    db.session.add(alert)
    db.session.commit()
    return {
        "office": world.office_a.id,
        "topic": topic.id,
        "matter": matter.id,
        "template": own.id,
        "alert": alert.id,
        "agent": world.agent_a.id,
    }


# (url template, who gets 200: "admin" or "manager+admin")
PAGES = [
    ("/referentiel/services/list/", "admin"),
    ("/referentiel/services/show/{office}", "admin"),
    ("/referentiel/services/add", "admin"),
    ("/referentiel/services/edit/{office}", "admin"),
    ("/referentiel/motifs/list/", "admin"),
    ("/referentiel/motifs/show/{topic}", "admin"),
    ("/referentiel/motifs/edit/{topic}", "admin"),
    ("/referentiel/impots/list/", "admin"),
    ("/referentiel/impots/show/{matter}", "admin"),
    ("/referentiel/aiguillage/list/", "admin"),
    ("/referentiel/aiguillage/add", "admin"),
    ("/referentiel/modeles/list/", "admin"),
    ("/referentiel/modeles/show/{template}", "admin"),
    ("/referentiel/import/", "admin"),
    ("/referentiel/parametres/", "admin"),
    ("/referentiel/alertes-en-echec/", "admin"),
    ("/users/list/", "admin"),
    ("/users/show/{agent}", "admin"),
    ("/users/add", "admin"),
    ("/users/edit/{agent}", "admin"),
    ("/modeles-du-service/list/", "manager, admin redirected"),
    ("/modeles-du-service/show/{template}", "manager+admin"),
    ("/modeles-du-service/add", "manager+admin"),
    ("/modeles-du-service/edit/{template}", "manager+admin"),
    ("/journal-des-consultations/", "manager+admin"),
    ("/journal-des-consultations/export.csv", "manager+admin"),
]

# Writes by POST (CSRF token included): nobody but the admin (or the manager for their own
# template) gets past the permission check.
POSTS = [
    ("/referentiel/services/delete/{office}", "admin"),
    ("/referentiel/motifs/delete/{topic}", "admin"),
    ("/referentiel/alertes-en-echec/{alert}/relancer", "admin"),
    ("/users/action/reset_second_factor/{agent}", "admin"),
    ("/users/delete/{agent}", "admin"),
    ("/modeles-du-service/delete/{template}", "manager+admin"),
]


def _expected(role: str, allowed: str) -> set[int]:
    if role in ("anonymous", "taxpayer"):
        return {LOGIN}
    if allowed == "manager, admin redirected":
        # The administrator is sent to the directory's list of every template.
        return {OK} if role == "manager" else {LOGIN} if role == "admin" else {DENIED}
    if role == "admin" or (role == "manager" and allowed == "manager+admin"):
        return {OK}
    return {DENIED}


@pytest.fixture
def clients(
    anonymous_client: FlaskClient,
    taxpayer_client: FlaskClient,
    agent_a_client: FlaskClient,
    manager_client: FlaskClient,
    steering_client: FlaskClient,
    admin_client: FlaskClient,
) -> dict[str, FlaskClient]:
    return {
        "anonymous": anonymous_client,
        "taxpayer": taxpayer_client,
        "agent": agent_a_client,
        "manager": manager_client,
        "steering": steering_client,
        "admin": admin_client,
    }


def test_every_page_answers_each_role_as_the_table_says(
    world: World, clients: dict[str, FlaskClient]
) -> None:
    ids = _ids(world)
    failures = []
    for template, allowed in PAGES:
        url = template.format(**ids)
        for role in ROLES:
            status = clients[role].get(url).status_code
            if status not in _expected(role, allowed):
                failures.append(f"{role} GET {url}: {status}")
    assert failures == []


def test_every_write_is_refused_to_those_without_the_right(
    world: World, clients: dict[str, FlaskClient], app: Any
) -> None:
    ids = _ids(world)
    failures = []
    for template, allowed in POSTS:
        url = template.format(**ids)
        for role in ROLES:
            if role == "admin" or (role == "manager" and allowed == "manager+admin"):
                continue  # their effect is tested in the area's own tests
            client = clients[role]
            response = client.post(url, data={"csrf_token": csrf_for(client)})
            # A valid token: the refusal comes from the permission check, not from CSRF.
            if response.status_code not in {LOGIN, DENIED}:
                failures.append(f"{role} POST {url}: {response.status_code}")
    assert failures == []
    # Nothing was changed by the refused posts.
    db.session.expire_all()
    assert db.session.get(Notification, ids["alert"]).status is NotificationStatus.FAILED
    assert db.session.get(ReplyTemplate, ids["template"]) is not None


def csrf_for(client: FlaskClient) -> str:
    """A valid CSRF token of this client's session, from the first page that shows a form."""
    for url in ("/login/", "/espace/", "/espace/connexion"):
        match = TOKEN.search(client.get(url).get_data(as_text=True))
        if match:
            return match.group(1)
    raise AssertionError("no page with a form for this client")


def test_no_rest_api_and_no_user_statistics_chart(world: World, admin_client: FlaskClient) -> None:
    for url in (
        "/api/v1/officeview/",
        "/api/v1/replytemplate/",
        "/api/v1/accesslog/",
        "/userstatschartview/chart/",
    ):
        assert admin_client.get(url).status_code == 404, url
    rules = {rule.rule for rule in admin_client.application.url_map.iter_rules()}
    assert not any("userstatschart" in rule for rule in rules)
    assert not any(rule.startswith("/referentiel/") and "download" in rule for rule in rules)


def test_menus_follow_the_role(
    world: World,
    admin_client: FlaskClient,
    manager_client: FlaskClient,
    agent_a_client: FlaskClient,
) -> None:
    # Administrators land on their figures; the menu is the same on every page.
    admin_page = admin_client.get("/agent/", follow_redirects=True).get_data(as_text=True)
    for label in ("Référentiel", "Services", "Agents", "Motifs de demande", "Paramètres"):
        assert label in admin_page
    assert "Journal des consultations" in admin_page
    assert "User&#39;s Statistics" not in admin_page and "Statistics" not in admin_page
    manager_page = manager_client.get("/agent/").get_data(as_text=True)
    assert "Modèles de réponse" in manager_page
    assert "Journal des consultations" in manager_page
    assert "Référentiel" not in manager_page
    agent_page = agent_a_client.get("/agent/").get_data(as_text=True)
    assert "Journal des consultations" not in agent_page
    assert "Référentiel" not in agent_page


def test_a_write_refused_by_a_constraint_says_so_in_french(
    world: World, admin_client: FlaskClient
) -> None:
    """FAB's "copy role" twice: the second copy's name is taken. A clear 409, not a 503 saying
    the database is down (the fuzz test found it), and nothing written."""
    from flask_appbuilder.security.sqla.models import Role
    from sqlalchemy import func, select

    agent_role = db.session.scalar(select(Role).where(Role.name == "agent"))
    assert agent_role is not None
    token = csrf_for(admin_client)
    form = {"action": "copyrole", "rowid": str(agent_role.id), "csrf_token": token}
    admin_client.post("/roles/action_post", data=form)
    roles_before = db.session.scalar(select(func.count()).select_from(Role))
    response = admin_client.post("/roles/action_post", data=form)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 409
    assert "existe déjà" in page and "Rien n'a été modifié" in page
    assert "Traceback" not in page and "indisponible" not in page
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Role)) == roles_before
