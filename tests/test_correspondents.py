"""Departmental correspondents (app.correspondents): any agent reports a difficulty; the
correspondents of the agent's directorate see, answer, close and raise; administrators answer
what is raised; steering counts the reports by directorate and theme."""

from __future__ import annotations

import html

import pytest
from factories import World, make_agent, make_case
from flask import Flask
from flask.testing import FlaskClient
from helpers import csrf_token, run_jobs, sign_in_agent, submit_form

from app.correspondents import access, operations
from models import (
    Agent,
    DifficultyReport,
    Event,
    EventKind,
    Notification,
    NotificationKind,
    NotificationStatus,
    ReportStatus,
    ReportTheme,
    db,
)


def text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


@pytest.fixture
def correspondents(world: World) -> tuple[Agent, Agent]:
    """A correspondent of the DDFiP du Rhône (offices A and B) and one of the Loire."""
    rhone = make_agent(world.directorate, "correspondent")
    loire = make_agent(world.other_directorate, "correspondent")
    db.session.commit()
    return rhone, loire


def client_of(app: Flask, agent: Agent) -> FlaskClient:
    return sign_in_agent(app.test_client(), agent)


def _report(agent: Agent, **fields: str) -> DifficultyReport:
    values = {"theme": "tool", "description": "La page des demandes est lente le matin."}
    values.update(fields)
    report = operations.file_report(agent=agent, **values)  # type: ignore[arg-type]
    db.session.commit()
    return report


def _events(report_id: int) -> list[str]:
    db.session.expire_all()
    return [
        event.kind.value
        for event in db.session.scalars(select_events())
        if (event.data or {}).get("report_id") == report_id
    ]


def select_events():  # type: ignore[no-untyped-def]
    return db.select(Event).where(Event.case_id.is_(None)).order_by(Event.id)


def test_the_directorate_is_found_above_the_office(world: World) -> None:
    assert access.directorate_of(world.office_a) is world.directorate
    assert access.directorate_of(world.office_c) is world.other_directorate
    assert access.directorate_of(world.directorate) is world.directorate
    assert access.directorate_of(world.delegation) is None


def test_an_agent_reports_from_any_page_with_the_page_and_time(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    form = agent_a_client.get("/agent/signalements/nouveau?page=/agent/recherche/?q=1234567890123")
    assert form.status_code == 200
    # The query string (it may hold a tax number) is never kept.
    assert 'value="/agent/recherche/"' in form.get_data(as_text=True)
    response = submit_form(
        agent_a_client,
        "/agent/signalements/nouveau",
        {
            "theme": "procedure",
            "description": "Je ne sais pas quel motif choisir pour une remise gracieuse.",
            "page_url": "/agent/demandes/?onglet=nouvelles",
        },
    )
    assert response.status_code == 302
    report = db.session.scalars(db.select(DifficultyReport)).one()
    assert report.reporter_id == world.agent_a.id and report.office_id == world.office_a.id
    assert report.directorate_id == world.directorate.id
    assert report.page_url == "/agent/demandes/" and report.theme is ReportTheme.PROCEDURE
    assert report.reported_at is not None and report.case_id is None
    assert _events(report.id) == ["report_filed"]
    page = text(agent_a_client.get(response.location))
    assert "envoyé aux correspondants de votre direction" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"theme": "", "description": "Une phrase assez longue."}, "Choisissez le thème"),
        ({"theme": "nope", "description": "Une phrase assez longue."}, "Choisissez le thème"),
        ({"theme": "tool", "description": "court"}, "Décrivez la difficulté"),
        ({"theme": "tool", "description": "x" * 5001}, "trop long"),
    ],
)
def test_a_bad_report_is_refused_with_what_was_typed(
    agent_a_client: FlaskClient, fields: dict[str, str], message: str
) -> None:
    response = submit_form(agent_a_client, "/agent/signalements/nouveau", fields)
    assert response.status_code == 400 and message in text(response)
    assert db.session.scalar(db.select(db.func.count(DifficultyReport.id))) == 0


def test_a_request_reference_only_if_the_agent_may_open_it(
    world: World, agent_a_client: FlaskClient
) -> None:
    mine = make_case(world.taxpayer_a, world.office_a)
    other = make_case(world.taxpayer_b, world.office_c)
    db.session.commit()
    refused = submit_form(
        agent_a_client,
        "/agent/signalements/nouveau",
        {"theme": "tool", "description": "Pièce jointe illisible.", "reference": other.reference},
    )
    assert refused.status_code == 400
    assert "Aucune demande de votre service ne porte cette référence." in text(refused)
    done = submit_form(
        agent_a_client,
        "/agent/signalements/nouveau",
        {
            "theme": "tool",
            "description": "Pièce jointe illisible.",
            "reference": mine.reference.lower(),
        },
    )
    assert done.status_code == 302
    assert db.session.scalars(db.select(DifficultyReport)).one().case_id == mine.id


def test_the_directorates_correspondent_answers_and_closes(
    app: Flask, world: World, correspondents: tuple[Agent, Agent]
) -> None:
    rhone, loire = correspondents
    report = _report(world.agent_b)  # SIE Lyon Nord, DDFiP du Rhône
    rhone_client, loire_client = client_of(app, rhone), client_of(app, loire)
    listing = text(rhone_client.get("/agent/signalements/?onglet=direction"))
    assert f"Signalement n° {report.id}" in listing
    assert f"Signalement n° {report.id}" not in text(loire_client.get("/agent/signalements/"))
    assert loire_client.get(f"/agent/signalements/{report.id}").status_code == 404
    page = text(rhone_client.get(f"/agent/signalements/{report.id}"))
    assert "La page des demandes est lente le matin." in page and "Répondre" in page
    # Another directorate's correspondent cannot act, even by a forged POST.
    loire_token = _token(loire_client, None)
    for action in ("repondre", "cloturer", "remonter"):
        forged = loire_client.post(
            f"/agent/signalements/{report.id}/{action}",
            data={"answer": "x" * 20, "reason": "x" * 20, "csrf_token": loire_token},
        )
        assert forged.status_code == 404, action
    done = rhone_client.post(
        f"/agent/signalements/{report.id}/repondre",
        data={
            "answer": "Un correctif arrive lundi.",
            "close": "1",
            "csrf_token": _token(rhone_client, report.id),
        },
    )
    assert done.status_code == 302
    db.session.expire_all()
    report = db.session.get(DifficultyReport, report.id)
    assert report is not None and report.status is ReportStatus.CLOSED
    assert report.answer == "Un correctif arrive lundi." and report.answered_by_id == rhone.id
    assert _events(report.id) == ["report_filed", "report_answered", "report_closed"]
    # The reporter reads the answer.
    reporter = text(client_of(app, world.agent_b).get(f"/agent/signalements/{report.id}"))
    assert "Un correctif arrive lundi." in reporter and "Répondre" not in reporter


def _token(client: FlaskClient, report_id: int | None) -> str:
    url = f"/agent/signalements/{report_id}" if report_id else "/agent/signalements/nouveau"
    return csrf_token(client, url)


def test_raised_to_the_national_level(
    app: Flask, world: World, correspondents: tuple[Agent, Agent], admin_client: FlaskClient
) -> None:
    rhone, _loire = correspondents
    report = _report(world.agent_a, theme="access")
    rhone_client = client_of(app, rhone)
    # The reporter, an agent, may not raise it.
    agent_client = client_of(app, world.agent_a)
    refused = agent_client.post(
        f"/agent/signalements/{report.id}/remonter",
        data={"reason": "x", "csrf_token": _token(agent_client, report.id)},
    )
    assert refused.status_code == 400
    raised = rhone_client.post(
        f"/agent/signalements/{report.id}/remonter",
        data={"reason": "Touche tous les SIP.", "csrf_token": _token(rhone_client, report.id)},
    )
    assert raised.status_code == 302
    db.session.expire_all()
    assert db.session.get(DifficultyReport, report.id).status is ReportStatus.RAISED  # type: ignore[union-attr]
    # Once raised, the correspondent no longer answers; the national level does.
    assert "Remonter" not in text(rhone_client.get(f"/agent/signalements/{report.id}"))
    national = text(admin_client.get("/agent/signalements/?onglet=national"))
    assert f"Signalement n° {report.id}" in national
    answered = admin_client.post(
        f"/agent/signalements/{report.id}/repondre",
        data={"answer": "Droits corrigés.", "csrf_token": _token(admin_client, report.id)},
    )
    assert answered.status_code == 302
    closed = admin_client.post(
        f"/agent/signalements/{report.id}/cloturer",
        data={"csrf_token": _token(admin_client, report.id)},
    )
    assert closed.status_code == 302
    assert _events(report.id) == [
        "report_filed",
        "report_raised",
        "report_answered",
        "report_closed",
    ]


def test_steering_counts_reports_by_directorate_and_theme(
    app: Flask, world: World, correspondents: tuple[Agent, Agent], admin_client: FlaskClient
) -> None:
    _report(world.agent_a, theme="tool")
    _report(world.agent_b, theme="tool")
    closed = _report(world.agent_a, theme="procedure")
    closed.status = ReportStatus.CLOSED
    loire_agent = make_agent(world.office_c, "agent")
    db.session.commit()
    _report(loire_agent, theme="access")
    page = text(admin_client.get("/pilotage/signalements"))
    assert "DDFiP du Rhône" in page and "DDFiP de la Loire" in page
    # The Loire's steering user sees their directorate only.
    steering = text(client_of(app, world.steering_other).get("/pilotage/signalements"))
    assert "DDFiP de la Loire" in steering and "DDFiP du Rhône" not in steering
    assert client_of(app, world.agent_a).get("/pilotage/signalements").status_code in (302, 403)


def test_the_correspondent_role_is_offered_to_administrators(admin_client: FlaskClient) -> None:
    from views.admin.agents import ROLE_LABELS

    assert str(ROLE_LABELS["correspondent"]) == "Correspondant départemental"
    assert EventKind.REPORT_FILED.value == "report_filed"


def test_the_correspondents_of_the_directorate_get_an_e_mail_with_a_link_only(
    app: Flask,
    world: World,
    correspondents: tuple[Agent, Agent],
    agent_a_client: FlaskClient,
    smtp_server: object,
) -> None:
    """Through the outbox and the real worker, to the real SMTP capture: each correspondent of
    the reporter's directorate, and no one else, gets a link to the report and nothing of it."""
    rhone, loire = correspondents
    in_office = make_agent(world.office_b, "correspondent")  # under the same directorate
    gone = make_agent(world.directorate, "correspondent")
    gone.active = False
    db.session.commit()
    smtp_server.messages.clear()  # type: ignore[attr-defined]
    description = "Le numéro fiscal 1234567890123 ne s'affiche pas sur la fiche de Mme Durand."
    response = submit_form(
        agent_a_client,
        "/agent/signalements/nouveau",
        {"theme": "tool", "description": description, "page_url": "/agent/demandes/"},
    )
    assert response.status_code == 302
    report = db.session.scalars(db.select(DifficultyReport)).one()
    alerts = db.session.scalars(
        db.select(Notification).where(Notification.kind == NotificationKind.REPORT_FILED)
    ).all()
    assert sorted(n.recipient for n in alerts) == sorted([rhone.email, in_office.email])

    run_jobs(app)
    sent = smtp_server.messages  # type: ignore[attr-defined]
    assert sorted(str(m["To"]) for m in sent) == sorted([rhone.email, in_office.email])
    link = f"{app.config['PUBLIC_BASE_URL'].rstrip('/')}/agent/signalements/{report.id}"
    for message in sent:
        body = message.get_content()
        assert message["Subject"] == "e-contacts : un nouveau signalement de difficulté"
        assert message["Auto-Submitted"] == "auto-generated"
        assert link in body
        # Nothing of the report: not its text, its theme, its page, nor who filed it.
        for secret in ("1234567890123", "Durand", "L'outil", "/agent/demandes/"):
            assert secret not in body and secret not in str(message["Subject"])
        assert world.agent_a.last_name not in body
    db.session.expire_all()
    assert all(
        n.status is NotificationStatus.SENT
        for n in db.session.scalars(
            db.select(Notification).where(Notification.kind == NotificationKind.REPORT_FILED)
        )
    )
    # The link opens the report for the correspondent.
    page = client_of(app, rhone).get(f"/agent/signalements/{report.id}")
    assert page.status_code == 200 and description in text(page)


def test_a_report_with_no_correspondent_to_tell_queues_no_e_mail(
    world: World, agent_a_client: FlaskClient
) -> None:
    _report(world.agent_a)
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0
