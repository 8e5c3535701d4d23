"""The domain operations, called directly: effects, events, refusals, nothing half-written."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from factories import World, make_agent, make_case, make_office, make_topic, office_kind
from flask import Flask
from sqlalchemy import func, select

from app.cases import operations
from app.cases.attachments import IncomingFile
from app.directory import settings
from app.directory.operations import store_setting
from models import (
    Attachment,
    CaseStatus,
    Channel,
    Event,
    EventKind,
    KindCode,
    Message,
    Notification,
    RoutingRule,
    Transfer,
    db,
    utcnow,
)

DATA = Path(__file__).parent / "data"


def upload(name: str, source: str | None = None) -> IncomingFile:
    return IncomingFile(filename=name, stream=io.BytesIO((DATA / (source or name)).read_bytes()))


def events(case_id: int) -> list[EventKind]:
    return list(
        db.session.scalars(select(Event.kind).where(Event.case_id == case_id).order_by(Event.id))
    )


def test_submit_routes_to_the_competent_office_and_records_everything(world: World) -> None:
    topic = make_topic("Réclamation")
    db.session.add(
        RoutingRule(topic_id=topic.id, taxpayer_kind=None, office_kind=office_kind(KindCode.SIE))
    )
    case = operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topic,
        tax_matter=None,
        tax_year=None,
        subject="Mon avis",
        body="Bonjour, une question.",
        files=[upload("avis.pdf")],
        submission_token="tok-1",
    )
    db.session.commit()
    assert case.office_id == world.office_b.id  # the SIE competent for the Rhône
    assert case.status is CaseStatus.NEW and case.reference
    assert case.due_at == case.received_at + timedelta(days=30)
    [message] = case.messages
    [attachment] = message.attachments
    assert attachment.content_type == "application/pdf" and attachment.size == 193
    assert events(case.id) == [EventKind.RECEIVED]
    again = operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topic,
        tax_matter=None,
        tax_year=None,
        subject="Mon avis",
        body="Bonjour, une question.",
        submission_token="tok-1",
    )
    assert again.id == case.id


def test_a_commune_beats_a_departement_and_ties_go_to_the_lowest_id(world: World) -> None:
    from app.cases.routing import office_for_territory
    from models import OfficeTerritory

    later = make_office(KindCode.SIP, parent=world.directorate, name="SIP Lyon bis")
    assert office_for_territory(office_kind(KindCode.SIP), "69383").id == world.office_a.id
    db.session.add(OfficeTerritory(office_id=later.id, departement="69", commune_code="69383"))
    db.session.flush()
    assert office_for_territory(office_kind(KindCode.SIP), "69383").id == later.id
    assert office_for_territory(office_kind(KindCode.SIP), "42218").id == world.office_c.id


def test_a_file_that_is_html_named_pdf_is_refused_and_nothing_is_left(
    world: World, app: Flask
) -> None:
    topic = make_topic()
    db.session.commit()
    with pytest.raises(operations.OperationError) as refused:
        operations.submit_case(
            taxpayer=world.taxpayer_a,
            topic=topic,
            tax_matter=None,
            tax_year=None,
            subject="Objet",
            body="Texte",
            files=[upload("avis.pdf"), upload("releve.pdf", "page.html.pdf")],
        )
    assert "n'est pas un PDF, un JPEG ou un PNG" in refused.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    assert not [p for p in Path(app.config["ATTACHMENT_DIR"]).rglob("*") if p.is_file()]


def test_files_of_a_rolled_back_submission_are_removed(world: World, app: Flask) -> None:
    topic = make_topic()
    db.session.commit()
    operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topic,
        tax_matter=None,
        tax_year=None,
        subject="Objet",
        body="Texte",
        files=[upload("avis.pdf"), upload("photo.png")],
    )
    root = Path(app.config["ATTACHMENT_DIR"])
    assert len([p for p in root.rglob("*") if p.is_file()]) == 2
    db.session.rollback()
    assert not [p for p in root.rglob("*") if p.is_file()]


def test_limits_on_size_and_count(world: World, app: Flask) -> None:
    topic = make_topic()
    db.session.commit()
    app.config["ATTACHMENT_MAX_BYTES"] = 100
    try:
        with pytest.raises(operations.OperationError, match="dépasse la taille autorisée"):
            operations.submit_case(
                taxpayer=world.taxpayer_a,
                topic=topic,
                tax_matter=None,
                tax_year=None,
                subject="Objet",
                body="Texte",
                files=[upload("avis.pdf")],
            )
    finally:
        app.config["ATTACHMENT_MAX_BYTES"] = 10 * 1024 * 1024
    with pytest.raises(operations.OperationError, match="au plus 5 fichiers"):
        operations.submit_case(
            taxpayer=world.taxpayer_a,
            topic=topic,
            tax_matter=None,
            tax_year=None,
            subject="Objet",
            body="Texte",
            files=[upload("photo.png") for _ in range(6)],
        )


def test_answer_alerts_the_taxpayer_and_information_request_waits(world: World) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    operations.request_information(agent=world.agent_a, case=case, body="Votre avis ?")
    assert case.status is CaseStatus.AWAITING_TAXPAYER and case.unread_by_taxpayer
    operations.reply_as_taxpayer(taxpayer=world.taxpayer_a, case=case, body="Le voici.")
    assert case.status is CaseStatus.IN_PROGRESS and case.unread_by_office
    operations.reply_to_case(agent=world.agent_a, case=case, body="Réglé.", close=True)
    db.session.commit()
    assert case.status is CaseStatus.CLOSED and case.first_answer_at is not None
    assert case.assignee_id == world.agent_a.id
    assert db.session.scalar(select(func.count(Notification.id))) == 2
    assert events(case.id) == [
        EventKind.INFORMATION_REQUESTED,
        EventKind.STATUS_CHANGED,
        EventKind.TAXPAYER_REPLIED,
        EventKind.ANSWERED,
        EventKind.CLOSED,
    ]


def test_taxpayer_reopens_within_the_period_only(world: World, app: Flask) -> None:
    case = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.CLOSED)
    case.closed_at = utcnow() - timedelta(days=29)
    db.session.commit()
    operations.reply_as_taxpayer(taxpayer=world.taxpayer_a, case=case, body="Encore moi.")
    assert case.status is CaseStatus.IN_PROGRESS
    old = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.CLOSED)
    old.closed_at = utcnow() - timedelta(days=31)
    with pytest.raises(operations.OperationError, match="plus de 30 jours"):
        operations.reply_as_taxpayer(taxpayer=world.taxpayer_a, case=old, body="Trop tard.")


def test_transfer_moves_the_case_and_a_stale_close_is_refused(world: World) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    seen_version = case.version
    with pytest.raises(operations.OperationError, match="Motif de la transmission"):
        operations.transfer_case(
            agent=world.agent_a, case=case, to_office=world.office_b, reason=""
        )
    operations.transfer_case(
        agent=world.agent_a,
        case=case,
        to_office=world.office_b,
        reason="Le dossier relève du SIE : activité professionnelle.",
    )
    db.session.commit()
    assert case.office_id == world.office_b.id and case.awaiting_acknowledgement
    # agent A's stale close form: A no longer holds the case at all
    with pytest.raises(operations.NotAllowed):
        operations.close_case(
            agent=world.agent_a, case=case, outcome="Fait", expected_version=seen_version
        )
    # an agent of B with a form loaded before the transfer
    with pytest.raises(operations.StaleCase, match="transmise à un autre service"):
        operations.close_case(
            agent=world.agent_b, case=case, outcome="Fait", expected_version=seen_version
        )
    operations.acknowledge_transfer(agent=world.agent_b, case=case)
    db.session.commit()
    transfer = db.session.scalar(select(Transfer))
    assert transfer.acknowledged_by_id == world.agent_b.id
    assert not case.awaiting_acknowledgement


def test_assign_is_for_office_managers(world: World) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    with pytest.raises(operations.NotAllowed, match="chef de service"):
        operations.assign_case(agent=world.agent_a, case=case, assignee=world.agent_a)
    with pytest.raises(operations.OperationError, match="agent du service"):
        operations.assign_case(agent=world.manager_a, case=case, assignee=world.agent_b)
    operations.assign_case(agent=world.manager_a, case=case, assignee=world.agent_a)
    assert case.assignee_id == world.agent_a.id and case.status is CaseStatus.IN_PROGRESS
    with pytest.raises(operations.NotAllowed, match="déjà prise en charge"):
        colleague = make_agent(world.office_a, "agent")
        operations.take_case(agent=colleague, case=case)


@pytest.mark.parametrize("disposition", operations.DISPOSITIONS)
def test_record_contact_each_disposition(world: World, disposition: str) -> None:
    topic = make_topic()
    db.session.commit()
    case = operations.record_contact(
        agent=world.agent_a,
        channel=Channel.COUNTER,
        taxpayer=world.taxpayer_a,
        topic=topic,
        subject="Visite au guichet",
        summary="L'usager demande un échéancier.",
        disposition=disposition,
        to_office=world.office_b if disposition == operations.FORWARDED else None,
        reason="Relève du SIE : paiement de la CFE." if disposition == "forwarded" else None,
        visible_to_taxpayer=True,
    )
    db.session.commit()
    expected = {
        "handled": (CaseStatus.CLOSED, world.office_a.id),
        "kept": (CaseStatus.NEW, world.office_a.id),
        "forwarded": (CaseStatus.NEW, world.office_b.id),
    }[disposition]
    assert (case.status, case.office_id) == expected
    assert events(case.id)[0] is EventKind.CONTACT_RECORDED
    message = db.session.scalar(select(Message).where(Message.case_id == case.id))
    assert not message.internal


def test_intake_pause_refuses_new_cases(world: World) -> None:
    topic = make_topic()
    store_setting(settings.INTAKE, {"paused": True, "reopens_on": "2026-12-07"}, by=None)
    db.session.commit()
    assert settings.intake().reopens_on.isoformat() == "2026-12-07"
    with pytest.raises(operations.IntakePaused):
        operations.submit_case(
            taxpayer=world.taxpayer_a,
            topic=topic,
            tax_matter=None,
            tax_year=None,
            subject="Objet",
            body="Texte",
        )
