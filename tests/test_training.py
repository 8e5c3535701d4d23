"""The training space (e-formation): the store apart from the real database, the exercises
checked from what the operations recorded, the progress kept, the mode visible on every page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from factories import World, make_agent
from flask import Flask
from flask.testing import FlaskClient
from helpers import count_queries, sign_in_agent
from sqlalchemy import select, text
from test_agent_support import field, page_of, post_action, text_of

from app.platform.queue import get_queue
from app.training import exercises, seed, store
from models import Case, Taxpayer, TrainingProgress, db, utcnow

BANNER = "Mode formation — données fictives"
INDEX = "/agent/formation/"


def real_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every real table (but the course record), read from the real engine."""
    tables = [t for t in db.metadata.sorted_tables if t.name != TrainingProgress.__tablename__]
    with db.engines[None].connect() as connection:
        return {
            table.name: sorted(
                (tuple(str(value) for value in row) for row in connection.execute(table.select())),
            )
            for table in tables
        }


def csrf_of(client: FlaskClient, url: str = INDEX) -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def post(client: FlaskClient, url: str, **data: str) -> Any:
    return client.post(url, data={"csrf_token": csrf_of(client), **data})


@pytest.fixture
def fresh_store(app: Flask, app_context: None) -> None:
    seed.reset()


def enter(client: FlaskClient) -> None:
    response = post(client, INDEX + "entrer")
    assert response.status_code == 302, response.status_code


def in_store(app: Flask, query: Any) -> Any:
    with app.app_context(), store.store_session():
        return query()


def test_the_store_is_apart_from_the_real_database(app: Flask, fresh_store: None) -> None:
    real = db.engines[None]
    training = store.engine()
    assert training is not real
    if real.dialect.name == "postgresql":
        assert training.get_execution_options()["schema_translate_map"][None] == "formation"
        with training.connect() as connection:
            schemas = set(
                connection.execute(
                    text(
                        "SELECT table_schema FROM "
                        "information_schema.tables WHERE table_name = 'case'"
                    )
                ).scalars()
            )
        assert schemas == {"public", "formation"}
    else:
        assert training.url.database != real.url.database
    # The fictitious data is in the training store, none of it in the real database.
    assert db.session.scalar(select(Taxpayer).where(Taxpayer.tax_number == seed.CLAIMANT)) is None
    names = in_store(app, lambda: set(db.session.scalars(select(Taxpayer.last_name))))
    assert {"Fictif", "Exemple", "Modèle"} <= names


def test_banner_on_every_page_in_the_mode_and_never_outside(
    app: Flask, world: World, agent_a_client: FlaskClient, fresh_store: None
) -> None:
    assert BANNER not in text_of(agent_a_client.get("/agent/demandes/"))
    enter(agent_a_client)
    for url in (
        INDEX,
        "/agent/demandes/",
        "/agent/recherche/",
        "/agent/contacts/nouveau",
        "/agent/",
    ):
        response = agent_a_client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        assert BANNER in text_of(response), url
    # The inbox is the training office's, with its fictitious requests.
    inbox = text_of(agent_a_client.get("/agent/demandes/"))
    assert "Changement d'adresse" in inbox
    post(agent_a_client, INDEX + "quitter")
    assert BANNER not in text_of(agent_a_client.get("/agent/demandes/"))


def _do_every_exercise(app: Flask, client: FlaskClient) -> None:
    """Every training action an agent can do, through the ordinary screens."""
    enter(client)
    # 1. Answer a claim: a note first (wrong), then the reply (right).
    post(client, INDEX + f"exercices/{exercises.CLAIM}/commencer")
    wrong = post(client, INDEX + f"exercices/{exercises.CLAIM}/verifier")
    assert wrong.status_code == 302
    page = text_of(client.get(INDEX + f"exercices/{exercises.CLAIM}"))
    assert "Aucune réponse à l'usager" in page
    case_id = int(re.search(r"/agent/demandes/(\d+)", page).group(1))  # type: ignore[union-attr]
    case_page = page_of(client, case_id)
    assert BANNER in case_page
    post_action(
        client, case_id, "prendre", {"expected_version": field(case_page, "expected_version")}
    )
    post_action(client, case_id, "note", {"note_body": "À vérifier avec l'acte de vente."})
    case_page = page_of(client, case_id)
    response = post_action(
        client,
        case_id,
        "repondre",
        {
            "kind": "reponse",
            "body": "Bonjour, votre avis est annulé : vous n'occupiez plus le logement.",
            "submission_token": field(case_page, "submission_token"),
            "last_message_id": field(case_page, "last_message_id"),
        },
    )
    assert response.status_code == 302
    post(client, INDEX + f"exercices/{exercises.CLAIM}/verifier")
    assert "Exercice réussi" in text_of(client.get(INDEX + f"exercices/{exercises.CLAIM}"))

    # 2. Record a counter visit and forward it to the CDIF Formation.
    post(client, INDEX + f"exercices/{exercises.VISIT}/commencer")
    visitor, cdif, topic = in_store(
        app,
        lambda: (
            seed.taxpayer(seed.VISITOR).id,  # type: ignore[union-attr]
            seed.office(seed.TRANSFER_OFFICE).id,  # type: ignore[union-attr]
            seed.topic(seed.TOPIC_PROPERTY).id,  # type: ignore[union-attr]
        ),
    )
    form = client.get(f"/agent/contacts/nouveau?taxpayer={visitor}").get_data(as_text=True)
    token = re.search(r'name="submission_token" value="([^"]*)"', form).group(1)  # type: ignore[union-attr]
    response = post(
        client,
        "/agent/contacts/nouveau",
        submission_token=token,
        taxpayer_id=str(visitor),
        channel="counter",
        topic=str(topic),
        subject="Taxe foncière de la maison",
        summary="L'usager conteste la surface retenue pour sa maison.",
        disposition="forwarded",
        to_office=str(cdif),
        reason="La taxe foncière relève du CDIF.",
        visible_to_taxpayer="1",
    )
    assert response.status_code == 302
    post(client, INDEX + f"exercices/{exercises.VISIT}/verifier")
    assert "Exercice réussi" in text_of(client.get(INDEX + f"exercices/{exercises.VISIT}"))

    # 3. Read a summary sheet, answer wrong, then right.
    post(client, INDEX + f"exercices/{exercises.SHEET}/commencer")
    owner = in_store(app, lambda: seed.taxpayer(seed.SHEET_OWNER).id)  # type: ignore[union-attr]
    post(client, INDEX + f"exercices/{exercises.SHEET}/verifier", answer="2")
    assert "pas encore ouvert la fiche" in text_of(
        client.get(INDEX + f"exercices/{exercises.SHEET}")
    )
    sheet = client.get(f"/agent/usagers/{owner}/synthese?reason=Formation")
    assert sheet.status_code == 200 and BANNER in text_of(sheet)
    client.get(f"/agent/recherche/?q={seed.SHEET_OWNER}")
    post(client, INDEX + f"exercices/{exercises.SHEET}/verifier", answer="7")
    assert "pas le bon nombre" in text_of(client.get(INDEX + f"exercices/{exercises.SHEET}"))
    post(client, INDEX + f"exercices/{exercises.SHEET}/verifier", answer="2")
    assert "Exercice réussi" in text_of(client.get(INDEX + f"exercices/{exercises.SHEET}"))


def test_every_training_action_leaves_the_real_tables_unchanged(
    app: Flask, world: World, agent_a_client: FlaskClient, fresh_store: None
) -> None:
    db.session.commit()
    before = real_snapshot()
    queued = get_queue().count
    _do_every_exercise(app, agent_a_client)
    assert real_snapshot() == before
    assert get_queue().count == queued  # no alert job from the training store
    # Only the course record was written in the real database: three exercises done.
    rows = db.session.scalars(
        select(TrainingProgress).where(TrainingProgress.agent_id == world.agent_a.id)
    ).all()
    assert {row.exercise for row in rows if row.completed_at} == {
        e.code for e in exercises.EXERCISES
    }
    # The work is in the training store, by the agent's training copy.
    answered = in_store(
        app,
        lambda: db.session.scalar(
            select(Case).where(
                Case.subject.like("Réclamation%"), Case.assignee_id == world.agent_a.id
            )
        ),
    )
    assert answered is not None


def test_progress_is_kept_across_a_reset_and_the_mode_ends(
    app: Flask,
    world: World,
    agent_a_client: FlaskClient,
    admin_client: FlaskClient,
    fresh_store: None,
) -> None:
    _do_every_exercise(app, agent_a_client)
    response = post(admin_client, INDEX + "reinitialiser")
    assert response.status_code == 302
    # The agent's copy is gone with the store: back on the real database, told so.
    response = agent_a_client.get("/agent/demandes/", follow_redirects=True)
    assert BANNER not in text_of(response)
    assert "réinitialisé" in text_of(response)
    page = text_of(agent_a_client.get(INDEX))
    assert "3 exercices réussis sur 3" in page
    # The claim of the exercise is gone, the seeded requests are back.
    count = in_store(app, lambda: len(db.session.scalars(select(Case)).all()))
    assert count == 6


def test_exercises_outside_the_mode_send_back_to_the_index(
    world: World, agent_a_client: FlaskClient, fresh_store: None
) -> None:
    response = agent_a_client.get(INDEX + f"exercices/{exercises.CLAIM}")
    assert response.status_code == 302 and response.headers["Location"].endswith(INDEX)
    assert agent_a_client.get(INDEX + "exercices/inconnu").status_code == 404


def test_who_may_train_and_reset(
    world: World,
    steering_client: FlaskClient,
    admin_client: FlaskClient,
    agent_a_client: FlaskClient,
    fresh_store: None,
) -> None:
    assert steering_client.get(INDEX).status_code == 404
    assert post(agent_a_client, INDEX + "reinitialiser").status_code == 404
    admin_page = text_of(admin_client.get(INDEX))
    assert "Réinitialiser l'espace de formation" in admin_page
    assert "Entrer en formation" not in admin_page


def test_nightly_job_is_queued_at_the_reset_hour_once(app: Flask) -> None:
    from datetime import datetime

    from app.platform.templating import PARIS
    from jobs import training

    with app.app_context():
        hour = app.config["TRAINING_RESET_HOUR"]
        assert not training.enqueue_nightly(datetime(2026, 12, 2, (hour + 5) % 24, tzinfo=PARIS))
        assert training.enqueue_nightly(datetime(2026, 12, 2, hour, 10, tzinfo=PARIS))
        assert not training.enqueue_nightly(datetime(2026, 12, 2, hour, 40, tzinfo=PARIS))
        assert get_queue().count == 1
        assert training.reset_training_store()


# --- the trainees' progress, for administrators ------------------------------------------------

PROGRESS = INDEX + "suivi"


def _record(agent_id: int, code: str, *, days_ago: int, done: bool) -> None:
    moment = utcnow() - timedelta(days=days_ago)
    db.session.add(
        TrainingProgress(
            agent_id=agent_id,
            exercise=code,
            started_at=moment,
            checks=1,
            completed_at=moment if done else None,
        )
    )


def _row_of(page: str, name: str) -> str:
    match = re.search(r"<tr>(?:(?!</tr>).)*" + re.escape(name) + r".*?</tr>", page, re.S)
    assert match, f"no row for {name}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def test_administrators_see_every_trainee_progress_and_filter_by_office(
    app: Flask, world: World, admin_client: FlaskClient
) -> None:
    codes = [exercise.code for exercise in exercises.EXERCISES]
    for code in codes:
        _record(world.agent_a.id, code, days_ago=3, done=True)
    _record(world.agent_b.id, codes[0], days_ago=1, done=False)
    _record(world.manager_a.id, codes[0], days_ago=10, done=True)
    make_agent(world.office_b, "agent").active = False  # a disabled account is not listed
    db.session.commit()

    index = text_of(admin_client.get(INDEX))
    assert "Suivre la progression des agents" in index
    admin_client.get(PROGRESS)  # per-process caches (permissions, labels) filled
    with count_queries(app) as statements:
        response = admin_client.get(PROGRESS)
    assert response.status_code == 200
    page = text_of(response)
    assert "<h1>Progression des agents en formation</h1>" in page
    total = len(codes)
    # Agents and office managers of an office; not the steering user nor the administrator.
    assert "3 agents" in page and "1 a réussi tous les exercices" in page
    row_a = _row_of(page, world.agent_a.last_name)
    assert "SIP Lyon 3e" in row_a and f"{total} sur {total}" in row_a and "Terminé" in row_a
    row_b = _row_of(page, world.agent_b.last_name)
    assert "SIE Lyon Nord" in row_b and f"0 sur {total}" in row_b and "En cours" in row_b
    row_m = _row_of(page, world.manager_a.last_name)
    assert f"1 sur {total}" in row_m
    assert world.steering_other.last_name not in page
    assert world.admin.last_name not in page.split("<main")[1].split("</table>")[0]
    # The offices in the filter are those with trainees; the page costs a fixed few queries.
    assert '<option value="">Tous les services</option>' in page
    assert "SIP Saint-Étienne" not in page
    page_queries = len(statements)

    filtered = text_of(admin_client.get(f"{PROGRESS}?service={world.office_b.id}"))
    assert "1 agent" in filtered and "SIE Lyon Nord" in filtered
    assert world.agent_b.last_name in filtered and world.agent_a.last_name not in filtered
    assert f'<option value="{world.office_b.id}" selected>' in filtered

    # More agents, the same number of queries; a wrong filter or page shows everyone, page 1.
    for _ in range(5):
        make_agent(world.office_a, "agent")
    db.session.commit()
    admin_client.get(PROGRESS)  # the permissions cache, invalidated by the new accounts
    with count_queries(app) as statements:
        assert admin_client.get(PROGRESS).status_code == 200
    assert len(statements) == page_queries
    for query in ("?service=abc", "?service=99999999999999999999", "?page=-3", "?page=x"):
        response = admin_client.get(PROGRESS + query)
        assert response.status_code == 200
        assert "8 agents" in text_of(response)


def test_only_administrators_follow_the_progress(
    app: Flask,
    world: World,
    anonymous_client: FlaskClient,
    taxpayer_client: FlaskClient,
    agent_a_client: FlaskClient,
    manager_client: FlaskClient,
    steering_client: FlaskClient,
    admin_client: FlaskClient,
) -> None:
    correspondent = make_agent(world.office_a, "agent", "correspondent")
    db.session.commit()
    correspondent_client = sign_in_agent(app.test_client(), correspondent)

    assert admin_client.get(PROGRESS).status_code == 200
    for client in (agent_a_client, manager_client, steering_client, correspondent_client):
        assert client.get(PROGRESS).status_code == 404
        assert "Suivre la progression" not in text_of(client.get(INDEX))
    # As the rest of the training space: the page does not exist for them.
    for client in (anonymous_client, taxpayer_client):
        assert client.get(PROGRESS).status_code == 404
