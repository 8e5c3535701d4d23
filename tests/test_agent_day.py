"""The agent's day (issue 16): "Ma journée", notices and the digest, bulk actions, tags, links
and merges, macros, closing outcomes."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

from factories import (
    World,
    make_agent,
    make_case,
    make_reply_template,
    make_topic,
    office_kind,
    outcome_id,
)
from flask import Flask
from flask.testing import FlaskClient
from helpers import run_jobs
from sqlalchemy import func, select
from test_agent_support import (
    agent_csrf,
    events_of,
    field,
    page_of,
    post_action,
    refused_and_back,
    text_of,
)

from app.cases import notices, operations
from app.cases.attachments import path_of
from app.platform.templating import PARIS
from jobs.notices import run_daily
from models import (
    AgentDigest,
    AgentNotice,
    Attachment,
    AuthorKind,
    Case,
    CaseLink,
    CaseStatus,
    ClosingOutcome,
    KindCode,
    Message,
    NoticeKind,
    Notification,
    NotificationKind,
    RoutingRule,
    Tag,
    TemplateAction,
    db,
    utcnow,
)


def _notices(agent_id: int) -> list[tuple[NoticeKind, int | None]]:
    return [
        (row.kind, row.case_id)
        for row in db.session.scalars(
            select(AgentNotice).where(AgentNotice.agent_id == agent_id).order_by(AgentNotice.id)
        )
    ]


def _reload(case_id: int) -> Case:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case is not None
    return case


# --- Ma journée ------------------------------------------------------------------------------


def test_my_day_counts_what_waits_and_links_to_the_filtered_inbox(
    world: World, agent_a_client: FlaskClient, manager_client: FlaskClient
) -> None:
    now = utcnow()
    make_case(world.taxpayer_a, world.office_a)  # new, unassigned
    mine = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.IN_PROGRESS)
    mine.assignee_id = world.agent_a.id
    mine.unread_by_office = True
    read = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.IN_PROGRESS)
    read.assignee_id = world.agent_a.id
    read.unread_by_office = False
    read.due_at = now + timedelta(days=40)
    mine.due_at = now - timedelta(days=1)  # overdue
    forwarded = make_case(world.taxpayer_b, world.office_a)
    forwarded.awaiting_acknowledgement = True
    forwarded.due_at = now + timedelta(days=30)
    awaiting = make_case(world.taxpayer_b, world.office_a, status=CaseStatus.AWAITING_TAXPAYER)
    awaiting.assignee_id = world.manager_a.id
    awaiting.due_at = now + timedelta(days=2)
    make_case(world.taxpayer_b, world.office_b)  # another office: never counted
    db.session.commit()

    page = agent_a_client.get("/agent/").get_data(as_text=True)
    assert "Ma journée" in page

    def count(key: str) -> str:
        return page.split(f'data-day="{key}"')[1].split('ec-day-count">')[1].split("<")[0]

    # The new one and the forwarded one have no assignee; "due" counts every open one due
    # within 3 days or late (mine overdue, awaiting in 2 days; the new one has no due date).
    assert count("new") == "2"
    assert count("mine_unread") == "1"
    assert count("forwarded") == "1"
    assert count("due") == "2"
    assert count("awaiting") == "1"
    assert "Charge par agent" not in page  # office managers only
    # Each figure opens the inbox with the same filter, which lists exactly those cases.
    due_link = page.split('data-day="due"')[0].rsplit('href="', 1)[1].split('"')[0]
    listed = agent_a_client.get(due_link.replace("&amp;", "&")).get_data(as_text=True)
    assert mine.reference in listed and awaiting.reference in listed
    assert read.reference not in listed and forwarded.reference not in listed
    unread = agent_a_client.get("/agent/demandes/?onglet=miennes&non_lue=1").get_data(as_text=True)
    assert mine.reference in unread and read.reference not in unread

    manager_page = manager_client.get("/agent/").get_data(as_text=True)
    assert "Charge par agent" in manager_page
    load = manager_page.split(world.agent_a.full_name)[1].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in load.split("<td>")[1:]] == ["2", "1", "1"]


def test_each_role_lands_on_its_own_page(
    steering_client: FlaskClient, admin_client: FlaskClient, agent_a_client: FlaskClient
) -> None:
    assert agent_a_client.get("/agent/").status_code == 200
    assert steering_client.get("/agent/").headers["Location"] == "/pilotage/"
    # Administrators land on their own home: the state of the alerts and the workers.
    admin_home = admin_client.get("/agent/")
    assert admin_home.status_code == 200
    assert "Courriels d'alerte et workers" in admin_home.get_data(as_text=True)


# --- notices ---------------------------------------------------------------------------------


def test_operations_write_notices_in_the_same_transaction(world: World) -> None:
    colleague = make_agent(world.office_a, "agent")
    steering_here = make_agent(world.office_a, "steering")
    topic = make_topic("Réclamation")
    db.session.add(RoutingRule(topic_id=topic.id, office_kind=office_kind(KindCode.SIP)))
    db.session.commit()
    case = operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topic,
        tax_matter=None,
        tax_year=None,
        subject="Mon avis",
        body="Bonjour",
    )
    db.session.rollback()  # nothing committed: no notice either
    assert db.session.scalar(select(func.count()).select_from(AgentNotice)) == 0

    case = operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topic,
        tax_matter=None,
        tax_year=None,
        subject="Mon avis",
        body="Bonjour",
    )
    db.session.commit()
    assert case.office_id == world.office_a.id
    for agent in (world.agent_a, world.manager_a, colleague):
        assert _notices(agent.id) == [(NoticeKind.NEW_CASE, case.id)]
    assert _notices(steering_here.id) == [] and _notices(world.agent_b.id) == []

    operations.take_case(agent=world.agent_a, case=case)
    operations.reply_as_taxpayer(taxpayer=world.taxpayer_a, case=case, body="Une précision")
    db.session.commit()
    assert _notices(world.agent_a.id)[-1] == (NoticeKind.TAXPAYER_REPLIED, case.id)
    assert _notices(colleague.id) == [(NoticeKind.NEW_CASE, case.id)]

    operations.transfer_case(
        agent=world.agent_a, case=case, to_office=world.office_b, reason="Relève du SIE."
    )
    db.session.commit()
    assert _notices(world.agent_b.id) == [(NoticeKind.FORWARDED, case.id)]


def test_the_header_counter_the_list_and_reading(
    world: World, agent_a_client: FlaskClient, agent_b_client: FlaskClient
) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    other = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    notices.new_case(case)
    notices.new_case(other)
    db.session.commit()
    page = agent_a_client.get("/agent/demandes/").get_data(as_text=True)
    assert 'ec-notices-badge">2</span>' in page
    listing = text_of(agent_a_client.get("/agent/avis/"))
    assert listing.count("Nouvelle demande dans votre service") == 2
    assert case.reference in listing
    # Another agent cannot read nor open agent A's notices.
    mine = db.session.scalars(
        select(AgentNotice.id).where(AgentNotice.agent_id == world.agent_a.id)
    ).all()
    csrf = agent_csrf(agent_b_client)
    response = agent_b_client.post(f"/agent/avis/{mine[0]}/ouvrir", data={"csrf_token": csrf})
    assert response.status_code == 404
    # Opening a notice opens its case and reads it.
    csrf = agent_csrf(agent_a_client)
    notice_id = db.session.scalar(
        select(AgentNotice.id).where(
            AgentNotice.agent_id == world.agent_a.id, AgentNotice.case_id == case.id
        )
    )
    response = agent_a_client.post(f"/agent/avis/{notice_id}/ouvrir", data={"csrf_token": csrf})
    assert response.headers["Location"].endswith(f"/agent/demandes/{case.id}")
    page = agent_a_client.get("/agent/demandes/").get_data(as_text=True)
    assert 'ec-notices-badge">1</span>' in page
    # Opening a case's page reads its notices too; then "mark all read".
    agent_a_client.get(f"/agent/demandes/{other.id}")
    assert 'ec-notices-badge">' not in agent_a_client.get("/agent/avis/").get_data(as_text=True)
    notices.new_case(case)
    db.session.commit()
    agent_a_client.post("/agent/avis/tout-lire", data={"csrf_token": csrf})
    unread = db.session.scalar(
        select(func.count())
        .select_from(AgentNotice)
        .where(AgentNotice.read_at.is_(None), AgentNotice.agent_id == world.agent_a.id)
    )
    assert unread == 0


def test_due_tomorrow_notices_are_written_once_by_the_daily_job(app: Flask, world: World) -> None:
    today = notices.paris_day()
    tomorrow_noon = utcnow().astimezone(PARIS).replace(
        hour=12, minute=0, second=0, microsecond=0
    ) + timedelta(days=1)
    assigned = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.IN_PROGRESS)
    assigned.assignee_id = world.agent_a.id
    assigned.due_at = tomorrow_noon
    unassigned = make_case(world.taxpayer_a, world.office_a)
    unassigned.due_at = tomorrow_noon
    later = make_case(world.taxpayer_a, world.office_a)
    later.due_at = tomorrow_noon + timedelta(days=1)
    closed = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.CLOSED)
    closed.due_at = tomorrow_noon
    db.session.commit()
    run_daily(today.isoformat())
    run_daily(today.isoformat())  # twice: nothing more
    db.session.expire_all()
    assert _notices(world.agent_a.id) == [
        (NoticeKind.DUE_TOMORROW, assigned.id),
        (NoticeKind.DUE_TOMORROW, unassigned.id),
    ] or sorted(_notices(world.agent_a.id), key=lambda n: n[1] or 0) == [
        (NoticeKind.DUE_TOMORROW, assigned.id),
        (NoticeKind.DUE_TOMORROW, unassigned.id),
    ]
    assert _notices(world.manager_a.id) == [(NoticeKind.DUE_TOMORROW, unassigned.id)]
    assert _notices(world.agent_b.id) == []


def test_the_daily_digest_goes_through_the_outbox_rq_and_smtp_without_content(
    app: Flask, world: World, agent_a_client: FlaskClient, smtp_server: object
) -> None:
    case = make_case(world.taxpayer_a, world.office_a, subject="Ma taxe foncière 2025")
    db.session.commit()
    notices.new_case(case)
    notices.notify_agent(NoticeKind.TAXPAYER_REPLIED, world.manager_a.id, case)
    db.session.commit()
    # The agent asks for the digest on their notices page; the manager does not.
    csrf = agent_csrf(agent_a_client)
    response = agent_a_client.post(
        "/agent/avis/preferences", data={"csrf_token": csrf, "daily_digest": "1"}
    )
    assert response.status_code == 302
    today = notices.paris_day().isoformat()
    app_queue_before = run_jobs(app)
    assert app_queue_before == 0
    run_daily(today)
    run_daily(today)  # twice: one digest
    assert run_jobs(app) == 1
    mails = smtp_server.messages  # type: ignore[attr-defined]
    assert len(mails) == 1
    assert mails[0]["To"] == world.agent_a.email
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert "Nouvelle demande dans votre service : 1" in body
    assert "/agent/avis/" in body
    for secret in (case.reference, "taxe foncière", world.taxpayer_a.display_name):
        assert secret not in body
    sent = db.session.scalar(
        select(Notification).where(Notification.kind == NotificationKind.AGENT_DIGEST)
    )
    assert sent is not None and sent.status.value == "sent"
    assert db.session.scalar(select(func.count()).select_from(AgentDigest)) == 1


# --- bulk actions ------------------------------------------------------------------------------


def test_bulk_assign_checks_each_case_and_records_each(
    world: World, manager_client: FlaskClient, agent_a_client: FlaskClient
) -> None:
    first = make_case(world.taxpayer_a, world.office_a)
    second = make_case(world.taxpayer_b, world.office_a)
    foreign = make_case(world.taxpayer_a, world.office_b)
    db.session.commit()
    csrf = agent_csrf(manager_client)
    response = manager_client.post(
        "/agent/demandes/groupe/",
        data={
            "csrf_token": csrf,
            "action": "attribuer",
            "assignee_id": str(world.agent_a.id),
            "case_ids": [str(first.id), str(second.id), str(foreign.id)],
        },
    )
    assert response.status_code == 302
    assert _reload(first.id).assignee_id == world.agent_a.id
    assert _reload(second.id).assignee_id == world.agent_a.id
    assert _reload(foreign.id).assignee_id is None  # another office's: refused, untouched
    assert events_of(first.id)[-1] == "assigned" and events_of(second.id)[-1] == "assigned"
    flashes = text_of(manager_client.get("/agent/demandes/"))
    assert "2 demandes traitées" in flashes and "introuvable dans votre service" in flashes
    # An agent may not assign (only take).
    csrf = agent_csrf(agent_a_client)
    agent_a_client.post(
        "/agent/demandes/groupe/",
        data={
            "csrf_token": csrf,
            "action": "attribuer",
            "assignee_id": str(world.manager_a.id),
            "case_ids": [str(first.id)],
        },
    )
    assert _reload(first.id).assignee_id == world.agent_a.id


def test_bulk_close_needs_an_outcome_and_closes_each_with_its_event(
    world: World, agent_a_client: FlaskClient
) -> None:
    cases = [make_case(world.taxpayer_a, world.office_a) for _ in range(3)]
    cases[2].status = CaseStatus.CLOSED
    db.session.commit()
    csrf = agent_csrf(agent_a_client)
    ids = [str(case.id) for case in cases]
    agent_a_client.post(
        "/agent/demandes/groupe/",
        data={"csrf_token": csrf, "action": "cloturer", "case_ids": ids},
    )
    assert _reload(cases[0].id).status is CaseStatus.NEW
    agent_a_client.post(
        "/agent/demandes/groupe/",
        data={
            "csrf_token": csrf,
            "action": "cloturer",
            "case_ids": ids,
            "outcome_id": outcome_id("other"),
            "outcome_other": "Doublon d'un courrier",
        },
    )
    for case in cases[:2]:
        reloaded = _reload(case.id)
        assert reloaded.status is CaseStatus.CLOSED
        assert reloaded.outcome == "Autre : Doublon d'un courrier"
        assert events_of(case.id)[-1] == "closed"
    assert "non traitée" in text_of(agent_a_client.get("/agent/demandes/"))


# --- tags --------------------------------------------------------------------------------------


def test_tags_are_the_offices_managed_by_its_manager_and_filter_the_inbox(
    world: World, manager_client: FlaskClient, agent_a_client: FlaskClient
) -> None:
    csrf = agent_csrf(manager_client)
    assert agent_a_client.get("/agent/etiquettes/").status_code in (302, 403, 404)
    manager_client.post("/agent/etiquettes/", data={"csrf_token": csrf, "name": "Urgent"})
    tag = db.session.scalar(select(Tag).where(Tag.name == "Urgent"))
    assert tag is not None and tag.office_id == world.office_a.id
    elsewhere = Tag(office_id=world.office_b.id, name="Autre service")
    db.session.add(elsewhere)
    tagged = make_case(world.taxpayer_a, world.office_a)
    untagged = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    csrf = agent_csrf(agent_a_client)
    post_action(agent_a_client, tagged.id, "etiquettes", {"tag_id": str(tag.id)})
    refused = post_action(agent_a_client, untagged.id, "etiquettes", {"tag_id": str(elsewhere.id)})
    assert refused.status_code == 400
    listed = agent_a_client.get(f"/agent/demandes/?onglet=ouvertes&etiquette={tag.id}")
    page = listed.get_data(as_text=True)
    assert tagged.reference in page and untagged.reference not in page
    assert "Urgent" in page_of(agent_a_client, tagged.id)
    post_action(agent_a_client, tagged.id, "etiquettes", {"remove_tag_id": str(tag.id)})
    page = agent_a_client.get(f"/agent/demandes/?onglet=ouvertes&etiquette={tag.id}")
    assert tagged.reference not in page.get_data(as_text=True)
    # Both are in the case's history, with the tag's name; the refused one is not.
    assert events_of(tagged.id)[-2:] == ["tagged", "untagged"]
    assert "untagged" not in events_of(untagged.id) and "tagged" not in events_of(untagged.id)
    history = page_of(agent_a_client, tagged.id)
    assert "Étiquette ajoutée" in history and "Étiquette retirée" in history


# --- links and merges --------------------------------------------------------------------------


def test_link_shows_on_both_and_merge_gives_the_taxpayer_one_thread(
    world: World, agent_a_client: FlaskClient, taxpayer_client: FlaskClient
) -> None:
    kept = make_case(world.taxpayer_a, world.office_a, subject="Ma demande")
    duplicate = make_case(world.taxpayer_a, world.office_a, subject="Ma demande (bis)")
    related = make_case(world.taxpayer_b, world.office_a)
    foreign = make_case(world.taxpayer_a, world.office_b)
    for case, body in ((kept, "Premier message"), (duplicate, "Second message")):
        db.session.add(Message(case=case, author_kind=AuthorKind.TAXPAYER, body=body))
    db.session.commit()
    response = post_action(agent_a_client, kept.id, "lier", {"reference": foreign.reference})
    assert response.status_code == 400  # another office's case: not found
    response = post_action(agent_a_client, kept.id, "lier", {"reference": related.reference})
    assert response.status_code == 302
    assert related.reference in page_of(agent_a_client, kept.id)
    assert kept.reference in page_of(agent_a_client, related.id)
    assert events_of(kept.id)[-1] == "linked" and events_of(related.id)[-1] == "linked"
    sheet = text_of(
        agent_a_client.get(f"/agent/usagers/{world.taxpayer_a.id}/synthese?reason=Suivi du dossier")
    )
    assert f"Liée à {related.reference}" in sheet
    # Merging needs the same taxpayer.
    response = post_action(agent_a_client, related.id, "fusionner", {"reference": kept.reference})
    assert response.status_code == 400
    response = post_action(agent_a_client, duplicate.id, "fusionner", {"reference": kept.reference})
    assert response.status_code == 302
    merged = _reload(duplicate.id)
    assert merged.status is CaseStatus.CLOSED and not merged.visible_to_taxpayer
    assert events_of(duplicate.id)[-2:] == ["merged", "closed"]
    assert events_of(kept.id)[-1] == "merged"
    bodies = db.session.scalars(select(Message.body).where(Message.case_id == kept.id)).all()
    assert sorted(bodies) == ["Premier message", "Second message"]
    link = db.session.scalar(select(CaseLink).where(CaseLink.case_id == duplicate.id))
    assert link is not None and link.other_case_id == kept.id
    # The taxpayer sees one case with both messages; nothing was deleted.
    space = text_of(taxpayer_client.get("/espace/"))
    assert kept.reference in space and duplicate.reference not in space
    thread = text_of(taxpayer_client.get(f"/espace/demandes/{kept.reference}"))
    assert "Premier message" in thread and "Second message" in thread
    assert db.session.get(Case, duplicate.id) is not None


# --- macros and outcomes -----------------------------------------------------------------------


def test_a_macro_prepares_the_answer_and_the_close_and_the_agent_can_edit(
    world: World, agent_a_client: FlaskClient
) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    template = make_reply_template(
        "Dégrèvement accordé", "Bonjour {nom}, c'est accordé.", office=world.office_a
    )
    template.action = TemplateAction.ANSWER_AND_CLOSE
    template.closing_outcome_id = int(outcome_id("granted"))
    db.session.commit()
    page = page_of(agent_a_client, case.id)
    assert "Actions rapides du service" in page and 'data-close="1"' in page
    # Without JavaScript, the macro's link fills the form; nothing is sent yet.
    page = text_of(agent_a_client.get(f"/agent/demandes/{case.id}?modele={template.id}"))
    assert f"Bonjour {world.taxpayer_a.display_name}, c'est accordé.</textarea>" in page
    assert 'name="close" value="1" checked' in page
    assert f'<option value="{outcome_id("granted")}" selected>' in page
    assert _reload(case.id).status is CaseStatus.NEW
    response = post_action(
        agent_a_client,
        case.id,
        "repondre",
        {
            "kind": "reponse",
            "body": "Bonjour, c'est accordé (texte relu).",
            "close": "1",
            "outcome_id": outcome_id("granted"),
            "submission_token": field(page, "submission_token"),
        },
    )
    assert response.status_code == 302
    closed = _reload(case.id)
    assert closed.status is CaseStatus.CLOSED and closed.outcome == "Demande satisfaite"


def test_outcomes_follow_the_topic_and_other_needs_words(
    world: World, agent_a_client: FlaskClient
) -> None:
    claim = make_topic("Réclamation")
    child = make_topic("Contester le montant", parent=claim)
    special = ClosingOutcome(code="relief", label="Dégrèvement accordé", topic_id=claim.id)
    db.session.add(special)
    case = make_case(world.taxpayer_a, world.office_a, topic=child)
    plain = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    assert "Dégrèvement accordé" in page_of(agent_a_client, case.id)
    assert "Dégrèvement accordé" not in page_of(agent_a_client, plain.id)
    version = field(page_of(agent_a_client, plain.id), "expected_version")
    refused = post_action(
        agent_a_client,
        plain.id,
        "cloturer",
        {"outcome_id": str(special.id), "expected_version": version},
    )
    assert refused.status_code == 400
    refused = post_action(
        agent_a_client,
        plain.id,
        "cloturer",
        {"outcome_id": outcome_id("other"), "outcome_other": " ", "expected_version": version},
    )
    assert refused.status_code == 400
    assert "Précisez l'issue de la demande (« Autre »)." in text_of(refused)
    done = post_action(
        agent_a_client,
        case.id,
        "cloturer",
        {
            "outcome_id": str(special.id),
            "expected_version": field(page_of(agent_a_client, case.id), "expected_version"),
        },
    )
    assert done.status_code == 302
    assert _reload(case.id).outcome == "Dégrèvement accordé"
    assert events_of(case.id)[-1] == "closed"


def test_a_refused_close_keeps_the_text_and_the_files(
    app: Flask, world: World, agent_a_client: FlaskClient, manager_client: FlaskClient
) -> None:
    pdf = (Path(__file__).parent / "data" / "avis.pdf").read_bytes()
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    page = page_of(agent_a_client, case.id)
    data = {
        "kind": "reponse",
        "body": "Votre dossier est réglé.",
        "close": "1",
        "submission_token": field(page, "submission_token"),
        "pieces_jointes": (io.BytesIO(pdf), "avis.pdf"),
    }
    refused = post_action(
        agent_a_client, case.id, "repondre", data, content_type="multipart/form-data"
    )
    assert refused.status_code == 400
    # The refusal shows nothing of the case; its link back gives the text and the files.
    assert "Votre dossier est réglé." not in text_of(refused)
    html = refused_and_back(agent_a_client, refused)
    assert "Votre dossier est réglé.</textarea>" in html and "Fichiers déjà joints" in html
    assert "avis.pdf" in html
    [token] = re.findall(r'name="held_file" value="([^"]+)"', html)
    # Held outside the attachment store: no file without its row meanwhile.
    stored = [p for p in Path(app.config["ATTACHMENT_DIR"]).rglob("*") if p.is_file()]
    assert stored == []
    # Another agent cannot use the token.
    other = post_action(
        manager_client,
        case.id,
        "repondre",
        {"kind": "reponse", "body": "x", "held_file": token, "submission_token": "m-1"},
    )
    assert other.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    done = post_action(
        agent_a_client,
        case.id,
        "repondre",
        {
            "kind": "reponse",
            "body": "Votre dossier est réglé.",
            "close": "1",
            "outcome_id": outcome_id("answered"),
            "held_file": token,
            "submission_token": field(page, "submission_token"),
        },
    )
    assert done.status_code == 302
    [attachment] = db.session.scalars(select(Attachment)).all()
    assert attachment.filename == "avis.pdf" and path_of(attachment.storage_key).is_file()
    assert _reload(case.id).status is CaseStatus.CLOSED
