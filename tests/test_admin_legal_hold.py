"""Legal holds and retention reports (issue 22): an administrator places a hold on a case and
on a taxpayer (reason required), agents see the badge, retention skips them and says so in its
report; once lifted, retention acts, and the report lists what went (references, counts)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from factories import World, make_case
from flask import Flask
from flask.testing import FlaskClient
from helpers import csrf_token
from sqlalchemy import select

from models import (
    AccessLog,
    AuthorKind,
    Case,
    CaseStatus,
    Event,
    EventKind,
    Message,
    RetentionCategory,
    RetentionItem,
    RetentionRun,
    Taxpayer,
    db,
    utcnow,
)

HOLDS = "/referentiel/gels-juridiques/"
REPORTS = "/referentiel/conservation/"
SECRET_BODY = "Contenu confidentiel du message"


def _old_closed_case(taxpayer: Taxpayer, world: World, *, years: float, messages: int) -> Case:
    case = make_case(taxpayer, world.office_a)
    moment = utcnow() - timedelta(days=365.25 * years)
    case.received_at = moment
    for number in range(messages):
        db.session.add(
            Message(
                case=case,
                author_kind=AuthorKind.TAXPAYER,
                body=f"{SECRET_BODY} {number}",
                internal=False,
                created_at=moment,
            )
        )
    case.status = CaseStatus.CLOSED
    case.closed_at = moment
    case.last_activity_at = moment
    db.session.flush()
    return case


def _retention(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["econtacts", "retention"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def _post(client: FlaskClient, action: str, data: dict[str, str], **kwargs: object) -> Any:
    """A form of the holds page, posted with the page's CSRF token."""
    token = csrf_token(client, HOLDS)
    return client.post(HOLDS + action, data={"csrf_token": token, **data}, **kwargs)


def _place(client: FlaskClient, target: str, reason: str) -> object:
    return _post(client, "poser", {"target": target, "reason": reason}, follow_redirects=True)


def _lift(client: FlaskClient, kind: str, target_id: int, reason: str) -> object:
    data = {"kind": kind, "target_id": str(target_id), "reason": reason}
    return _post(client, "lever", data, follow_redirects=True)


def _text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def _latest_run() -> RetentionRun:
    run = db.session.scalar(select(RetentionRun).order_by(RetentionRun.id.desc()))
    assert run is not None and run.finished_at is not None
    return run


def _items(run: RetentionRun, category: RetentionCategory) -> dict[str, RetentionItem]:
    return {
        item.reference: item
        for item in db.session.scalars(
            select(RetentionItem).where(
                RetentionItem.run_id == run.id, RetentionItem.category == category
            )
        )
    }


def test_hold_placed_retention_skips_hold_lifted_retention_acts(
    app: Flask,
    world: World,
    admin_client: FlaskClient,
    agent_a_client: FlaskClient,
) -> None:
    to_archive = _old_closed_case(world.taxpayer_a, world, years=5, messages=1)
    to_purge = _old_closed_case(world.taxpayer_b, world, years=11, messages=3)
    db.session.commit()
    archive_ref, purge_ref = to_archive.reference, to_purge.reference
    archive_id, purge_id = to_archive.id, to_purge.id
    taxpayer_b_id = world.taxpayer_b.id

    # A reason is required; an unknown target is refused.
    missing = _post(admin_client, "poser", {"target": archive_ref, "reason": " "})
    assert missing.status_code == 400 and "Indiquez le motif" in _text(missing)
    unknown = _post(admin_client, "poser", {"target": "ZZ-NONE", "reason": "x"})
    assert unknown.status_code == 400 and "Aucune demande ni aucun usager" in _text(unknown)
    assert not db.session.get(Case, archive_id).legal_hold  # type: ignore[union-attr]

    # Placed on a case (by reference) and on a taxpayer (by tax number).
    page = _text(_place(admin_client, archive_ref, "Contentieux n° 2026-118"))
    assert "Gel juridique posé" in page and "Contentieux n° 2026-118" in page
    page = _text(_place(admin_client, world.taxpayer_b.tax_number or "", "Enquête pénale"))
    assert "Gel juridique posé" in page and "Enquête pénale" in page
    again = _post(admin_client, "poser", {"target": archive_ref, "reason": "Bis"})
    assert again.status_code == 400 and "déjà sous gel" in _text(again)
    placed = db.session.scalars(
        select(Event).where(Event.kind == EventKind.LEGAL_HOLD_PLACED).order_by(Event.id)
    ).all()
    assert [(e.case_id, e.taxpayer_id) for e in placed] == [
        (archive_id, world.taxpayer_a.id),
        (None, taxpayer_b_id),
    ]
    assert all(e.actor_agent_id == world.admin.id for e in placed)
    logged = db.session.scalars(select(AccessLog).where(AccessLog.object_kind == "legal_hold"))
    assert {log.reason for log in logged} == {"Contentieux n° 2026-118", "Enquête pénale"}

    # Agents see the badge: the case page, the inbox, the summary sheets.
    assert "Gel juridique" in _text(agent_a_client.get(f"/agent/demandes/{archive_id}"))
    inbox = _text(agent_a_client.get("/agent/demandes/?onglet=cloturees"))
    row = inbox[inbox.index(archive_ref) :][:600]
    assert "ec-label-held" in row
    held_sheet = agent_a_client.get(f"/agent/usagers/{taxpayer_b_id}/synthese?reason=Accueil")
    assert "sous gel juridique" in _text(held_sheet)
    free_sheet = agent_a_client.get(f"/agent/usagers/{world.taxpayer_a.id}/synthese?reason=Accueil")
    assert "sous gel juridique" not in _text(free_sheet)  # only a case of A is held
    assert "ec-label-held" in _text(free_sheet)  # ...and shows its badge in the timeline

    # Retention skips both, and says so.
    output = _retention(app)
    assert "2 under legal hold" in output
    assert db.session.get(Case, archive_id).archived_at is None  # type: ignore[union-attr]
    assert db.session.get(Case, purge_id) is not None
    run = _latest_run()
    assert (run.held, run.archived, run.purged_cases) == (2, 0, 0)
    assert set(_items(run, RetentionCategory.HELD)) == {archive_ref, purge_ref}
    report = _text(admin_client.get(f"{REPORTS}{run.id}"))
    assert archive_ref in report and purge_ref in report and "gel juridique" in report
    assert SECRET_BODY not in report

    # Lifted (a reason is required there too).
    no_reason = _lift(admin_client, "case", archive_id, "")
    assert "Indiquez le motif" in _text(no_reason)
    assert "Gel juridique levé" in _text(_lift(admin_client, "case", archive_id, "Jugement"))
    assert "Gel juridique levé" in _text(_lift(admin_client, "taxpayer", taxpayer_b_id, "Clos"))
    assert _lift(admin_client, "case", archive_id, "Encore").status_code == 404  # not held
    lifted = db.session.scalars(select(Event).where(Event.kind == EventKind.LEGAL_HOLD_LIFTED))
    assert {e.data["reason"] for e in lifted} == {"Jugement", "Clos"}
    after = _text(agent_a_client.get(f"/agent/demandes/{archive_id}"))
    assert "ec-label-held" not in after and "sous gel juridique" not in after
    # The case's history keeps both, with their reasons.
    assert "Gel juridique levé" in after and "Motif : Jugement" in after

    # Retention acts now; its report lists what went, with counts, never contents.
    _retention(app)
    assert db.session.get(Case, archive_id).archived_at is not None  # type: ignore[union-attr]
    assert db.session.get(Case, purge_id) is None
    run = _latest_run()
    assert (run.held, run.archived, run.purged_cases, run.purged_messages) == (0, 1, 1, 3)
    assert set(_items(run, RetentionCategory.ARCHIVED)) == {archive_ref}
    purged = _items(run, RetentionCategory.PURGED)
    assert set(purged) == {purge_ref} and purged[purge_ref].messages == 3
    listing = _text(admin_client.get(REPORTS))
    assert f"{REPORTS}{run.id}" in listing
    export = admin_client.get(f"{REPORTS}{run.id}/export.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    csv_text = _text(export)
    assert f"Demandes supprimées;{purge_ref};3;0" in csv_text
    assert f"Demandes archivées;{archive_ref};0;0" in csv_text
    assert SECRET_BODY not in csv_text


def test_holds_and_reports_are_for_administrators_only(
    app: Flask, world: World, manager_client: FlaskClient, agent_a_client: FlaskClient
) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    for client in (manager_client, agent_a_client):
        assert client.get(HOLDS).status_code in (302, 403)
        assert client.get(REPORTS).status_code in (302, 403)
        response = client.post(HOLDS + "poser", data={"target": case.reference, "reason": "x"})
        assert response.status_code in (302, 400, 403)
    db.session.expire_all()
    assert not db.session.get(Case, case.id).legal_hold  # type: ignore[union-attr]
