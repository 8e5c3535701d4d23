"""Mailbox intake (issue 19, first bullet): e-mails to an office's shared mailbox, through the real
SMTP endpoint (``app.mailbox.server`` on a free port, spoken to by smtplib: no mock of the mail
server), become cases of channel ``email``; the bad inputs of the issue, each tested.
"""

# ruff: noqa: F811 - fixtures imported from other test modules are used as parameters

from __future__ import annotations

import html
import re
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from factories import World, make_agent, make_topic
from flask import Flask
from flask.testing import FlaskClient
from helpers import csrf_token, database_down, free_port, run_jobs
from sqlalchemy import func, select
from test_clamd import EICAR, clamd_socket  # noqa: F401
from test_steering import client_for, page_tables

from app.cases import operations
from app.mailbox.server import controller
from models import (
    Attachment,
    Case,
    Channel,
    Event,
    EventKind,
    InboundEmail,
    InboundStatus,
    Mailbox,
    MailboxStatus,
    Message,
    Notification,
    NotificationKind,
    db,
    utcnow,
)

PDF = (Path(__file__).parent / "data" / "avis.pdf").read_bytes()
BOX = "sip.lyon3@dgfip.test"


@pytest.fixture
def endpoint(app: Flask) -> Iterator[int]:
    """The real SMTP endpoint of the mailboxes, on a free port, for this test."""
    server = controller(app, "127.0.0.1", free_port())
    server.start()
    try:
        yield int(server.port)
    finally:
        server.stop()


@pytest.fixture
def mailbox(world: World) -> Mailbox:
    box = Mailbox(
        address=BOX,
        office=world.office_a,
        status=MailboxStatus.OPEN,
        topic=make_topic("Question générale"),
        auto_reply_enabled=True,
        received_count=0,
        closed_count=0,
    )
    db.session.add(box)
    db.session.commit()
    return box


def email(
    sender: str,
    *,
    subject: str = "Ma taxe foncière",
    body: str = "Bonjour,\nje ne comprends pas mon avis.\nCordialement",
    message_id: str | None = None,
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Claire Martin <{sender}>"
    message["To"] = BOX
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="example.fr")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def send(port: int, message: EmailMessage | bytes, *, envelope: str | None = None) -> None:
    """Through smtplib, as a mail relay would; ``envelope``: MAIL FROM (default: the From)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        if isinstance(message, bytes):
            client.sendmail(envelope or "", [BOX], message)
        else:
            address = message["From"].addresses[0].addr_spec
            client.send_message(
                message, from_addr=address if envelope is None else envelope, to_addrs=[BOX]
            )


def post_from(client: FlaskClient, page: str, action: str, data: dict[str, str]) -> object:
    """POST a form of ``page`` to ``action``, with the page's CSRF token, as a browser would."""
    return client.post(action, data={"csrf_token": csrf_token(client, page), **data})


def rows() -> list[InboundEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(InboundEmail).order_by(InboundEmail.id)))


def email_cases() -> list[Case]:
    db.session.expire_all()
    return list(db.session.scalars(select(Case).where(Case.channel == Channel.EMAIL)))


def auto_replies() -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.MAILBOX_AUTO_REPLY)
        )
    )


# --- the path ------------------------------------------------------------------------------


def test_an_email_is_committed_before_250_then_becomes_a_case_of_its_taxpayer(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int, smtp_server: object
) -> None:
    message = email(world.taxpayer_a.email or "")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="avis.pdf")
    send(endpoint, message)
    # Acknowledged means committed: the raw message is in the database before any job ran.
    [row] = rows()
    assert row.status is InboundStatus.PENDING and row.raw and b"avis.pdf" in row.raw
    assert row.envelope_from == world.taxpayer_a.email

    run_jobs(app)
    [case] = email_cases()
    assert case.office_id == world.office_a.id
    assert case.taxpayer_id == world.taxpayer_a.id
    assert case.subject == "Ma taxe foncière"
    assert case.visible_to_taxpayer is False  # until an agent converts it
    [first] = db.session.scalars(select(Message).where(Message.case_id == case.id)).all()
    assert "je ne comprends pas mon avis" in first.body
    [attachment] = db.session.scalars(select(Attachment)).all()
    assert attachment.filename == "avis.pdf" and attachment.content_type == "application/pdf"
    [row] = rows()
    assert row.status is InboundStatus.DONE and row.raw is None and row.case_id == case.id
    assert "Message-ID: " in (row.headers or "") and "Subject: Ma taxe" in (row.headers or "")
    assert row.auto_replied
    assert db.session.get(Mailbox, mailbox.id).received_count == 1  # type: ignore[union-attr]

    # The automatic reply: French, a link to the secure messaging, from the mailbox, marked.
    [reply] = auto_replies()
    assert reply.recipient == world.taxpayer_a.email and reply.sender == BOX
    run_jobs(app)
    [sent] = smtp_server.messages  # type: ignore[attr-defined]
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["In-Reply-To"] == message["Message-ID"]
    assert BOX in sent["From"]
    text = sent.get_content()
    assert "messagerie sécurisée" in text and "/espace/connexion" in text
    assert "SIP Lyon 3e" in text


def test_the_automatic_reply_goes_once_per_sender_per_period(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    for n in range(3):
        send(endpoint, email("inconnu@example.fr", subject=f"Relance {n}"))
    run_jobs(app)
    assert len(email_cases()) == 3
    assert len(auto_replies()) == 1
    # Past the period, a new one.
    for row in auto_replies():
        row.created_at = utcnow() - timedelta(days=8)
    db.session.commit()
    send(endpoint, email("inconnu@example.fr", subject="Encore"))
    run_jobs(app)
    assert len(auto_replies()) == 2


def test_a_second_copy_of_a_message_id_is_ignored(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    message = email("inconnu@example.fr")
    send(endpoint, message)
    send(endpoint, message)  # the relay lost our 250 and sent it again
    run_jobs(app)
    assert len(email_cases()) == 1
    assert [row.status for row in rows()] == [InboundStatus.DONE, InboundStatus.DUPLICATE]


def test_an_unknown_recipient_is_refused_at_rcpt(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    message = email("inconnu@example.fr")
    with (
        smtplib.SMTP("127.0.0.1", endpoint) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.send_message(message, to_addrs=["personne@dgfip.test"])
    [(code, _text)] = refused.value.recipients.values()
    assert code == 550
    assert rows() == []


# --- bad input -----------------------------------------------------------------------------


def test_a_30_mb_email_is_refused_at_smtp_with_552(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    """Decision 0018: refused whole (552, the relay bounces it to the sender), never stored."""
    message = email("inconnu@example.fr")
    message.add_attachment(
        b"%PDF-1.4\n" + b"0" * (30 * 1024 * 1024),
        maintype="application",
        subtype="pdf",
        filename="gros.pdf",
    )
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
        send(endpoint, message)
    assert refused.value.smtp_code == 552
    # Even a client that does not declare its size is stopped at the end of DATA.
    with smtplib.SMTP("127.0.0.1", endpoint) as client:
        client.ehlo()
        client.esmtp_features.pop("size", None)
        client.mail("inconnu@example.fr")
        client.rcpt(BOX)
        code, _text = client.data(message.as_bytes(policy=policy.SMTP))
    assert code == 552
    assert rows() == []


def test_an_oversize_or_forbidden_attachment_is_left_out_and_listed(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    message = email("inconnu@example.fr")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="avis.pdf")
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (11 * 1024 * 1024)
    message.add_attachment(big, maintype="image", subtype="png", filename="scan.png")
    message.add_attachment(b"MZ\x90\0" * 100, maintype="application", subtype="octet-stream",
                           filename="facture.exe")  # fmt: skip
    send(endpoint, message)
    run_jobs(app)
    [case] = email_cases()
    assert [a.filename for a in db.session.scalars(select(Attachment))] == ["avis.pdf"]
    [row] = rows()
    assert [part["filename"] for part in row.refused_parts] == ["scan.png", "facture.exe"]
    assert "taille" in row.refused_parts[0]["reason"]
    note = db.session.scalars(
        select(Message).where(Message.case_id == case.id, Message.internal.is_(True))
    ).one()
    assert "scan.png" in note.body and "facture.exe" in note.body


def test_an_infected_attachment_is_refused_by_the_antivirus(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int, clamd_socket: str
) -> None:
    message = email("inconnu@example.fr")
    message.add_attachment(b"%PDF-1.4\n" + EICAR, maintype="application", subtype="pdf",
                           filename="virus.pdf")  # fmt: skip
    send(endpoint, message)
    app.config["CLAMD_ADDRESS"] = clamd_socket
    try:
        run_jobs(app)
    finally:
        app.config["CLAMD_ADDRESS"] = None
    [case] = email_cases()
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    [row] = rows()
    assert row.refused_parts[0]["filename"] == "virus.pdf"
    assert "antivirus" in row.refused_parts[0]["reason"]


def test_the_antivirus_down_keeps_the_email_for_later(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int, tmp_path: Path
) -> None:
    message = email("inconnu@example.fr")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="avis.pdf")
    send(endpoint, message)
    app.config["CLAMD_ADDRESS"] = str(tmp_path / "no-clamd.sock")
    try:
        run_jobs(app)
    finally:
        app.config["CLAMD_ADDRESS"] = None
    assert email_cases() == []
    [row] = rows()
    assert row.status is InboundStatus.PENDING and row.raw and row.attempts == 1
    assert row.next_attempt_at > utcnow()
    assert "StorageUnavailable" in (row.last_error or "")


def test_a_malformed_mime_message_is_read_as_can_be(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    raw = (
        b"From: =?utf-8?q?Ren=C3=A9?= <rene@example.fr\r\n"  # unclosed angle bracket
        b"To: " + BOX.encode() + b"\r\n"
        b"Subject: =?unknown-8bit?b?////?= Avis\r\n"
        b"Message-ID: <malforme@example.fr>\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n'
        b"MIME-Version: 1.0\r\n\r\n"
        b"--XYZ\r\nContent-Type: text/plain; charset=x-inconnu\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"Qm9uam91ciwgdm9pY2kgbW9uIG1lc3NhZ2U=!!!\r\n"
        b'--XYZ\r\nContent-Type: application/pdf; name="a.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"%%%% not base64 %%%%\r\n"
        # no closing boundary
    )
    send(endpoint, raw, envelope="rene@example.fr")
    run_jobs(app)
    [case] = email_cases()
    [row] = rows()
    assert row.status is InboundStatus.DONE
    body = db.session.scalars(
        select(Message.body).where(Message.case_id == case.id, Message.internal.is_(False))
    ).one()
    assert "Bonjour, voici mon message" in body
    assert row.defects  # said on the case's internal note
    assert case.taxpayer_id is None


@pytest.mark.parametrize(
    ("headers", "envelope"),
    [
        ({"Auto_Submitted": "auto-replied"}, None),
        ({"Auto_Submitted": "auto-generated"}, None),
        ({"Precedence": "bulk"}, None),
        ({"Precedence": "junk"}, None),
        ({"Precedence": "list"}, None),
        ({"List_Id": "<annonces.example.fr>"}, None),
        ({}, ""),  # a bounce: empty envelope sender
        ({}, "mailer-daemon@example.fr"),
    ],
)
def test_robots_and_lists_are_never_answered(
    app: Flask,
    world: World,
    mailbox: Mailbox,
    endpoint: int,
    headers: dict[str, str],
    envelope: str | None,
) -> None:
    send(endpoint, email("robot@example.fr", **headers), envelope=envelope)
    run_jobs(app)
    assert len(email_cases()) == 1  # recorded all the same
    assert auto_replies() == []


def test_two_robots_answering_each_other_stop_at_once(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int, smtp_server: object
) -> None:
    """A robot that answers our automatic reply (even without saying it is one) gets at most
    one answer per period; our own reply coming back is never answered."""
    send(endpoint, email("robot@example.fr", subject="Question"))
    run_jobs(app)
    run_jobs(app)
    [ours] = smtp_server.messages  # type: ignore[attr-defined]
    # Our automatic reply, bounced back to the mailbox as is.
    send(endpoint, ours.as_bytes(), envelope="robot@example.fr")
    # The robot's own answer to it, without any header saying so, ten times.
    for n in range(10):
        send(endpoint, email("robot@example.fr", subject=f"RE: Réponse automatique {n}"))
    run_jobs(app)
    run_jobs(app)
    assert len(auto_replies()) == 1
    assert len(smtp_server.messages) == 1  # type: ignore[attr-defined]


def test_an_html_only_email_with_scripts_is_shown_as_text(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int, agent_a_client: FlaskClient
) -> None:
    message = EmailMessage()
    message["From"] = "html@example.fr"
    message["To"] = BOX
    message["Subject"] = "HTML"
    message["Message-ID"] = make_msgid()
    message.set_content(
        "<html><head><script>alert('head')</script><style>p{color:red}</style></head>"
        "<body><p>Bonjour <b>madame</b>,</p><script>document.location='https://x'</script>"
        "<p>voici <a href='javascript:alert(1)'>mon avis</a> &amp; ma question.</p>"
        "<img src=x onerror=alert(2)></body></html>",
        subtype="html",
    )
    send(endpoint, message)
    run_jobs(app)
    [case] = email_cases()
    body = db.session.scalars(
        select(Message.body).where(Message.case_id == case.id, Message.internal.is_(False))
    ).one()
    assert "Bonjour madame," in body and "voici mon avis & ma question." in body
    assert "alert" not in body and "script" not in body and "color" not in body
    page = agent_a_client.get(f"/agent/demandes/{case.id}").get_data(as_text=True)
    assert "Bonjour madame," in page
    assert "alert(" not in page.split("ec-thread", 1)[1].split("ec-compose", 1)[0]


def test_a_forged_sender_is_never_attached_to_the_taxpayer(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    """From: a taxpayer's address, envelope sender someone else's: not attached; the automatic
    reply goes to the envelope sender (RFC 3834), not to the taxpayer."""
    send(endpoint, email(world.taxpayer_a.email or ""), envelope="pirate@example.net")
    run_jobs(app)
    [case] = email_cases()
    assert case.taxpayer_id is None
    assert world.taxpayer_a.email in (case.declared_identity or "")
    [row] = rows()
    assert "enveloppe" in (row.match_note or "")
    [reply] = auto_replies()
    assert reply.recipient == "pirate@example.net"


def test_the_relay_s_authentication_results_are_required_when_configured(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    address = world.taxpayer_a.email or ""
    app.config["MAILBOX_TRUSTED_AUTHSERV_ID"] = "relais.dgfip.test"
    try:
        # A header written by the sender itself (another authserv-id) is not believed.
        send(endpoint, email(address, Authentication_Results="mx.example.fr; spf=pass"))
        send(
            endpoint,
            email(address, Authentication_Results="relais.dgfip.test; spf=fail; dkim=pass"),
        )
        run_jobs(app)
    finally:
        app.config["MAILBOX_TRUSTED_AUTHSERV_ID"] = None
    first, second = sorted(email_cases(), key=lambda case: case.id)
    assert first.taxpayer_id is None
    assert second.taxpayer_id == world.taxpayer_a.id


def test_a_sender_shared_by_two_taxpayers_is_left_to_the_agent(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    world.taxpayer_b.email = (world.taxpayer_a.email or "").upper()
    db.session.commit()
    send(endpoint, email(world.taxpayer_a.email or ""))
    run_jobs(app)
    [case] = email_cases()
    assert case.taxpayer_id is None
    assert "Plusieurs usagers" in (rows()[0].match_note or "")


def test_the_database_down_answers_451_and_the_relay_keeps_the_email(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    with database_down(app), pytest.raises(smtplib.SMTPException) as refused:
        send(endpoint, email("inconnu@example.fr"))
    assert getattr(refused.value, "smtp_code", None) == 451 or 451 in [
        code for code, _t in getattr(refused.value, "recipients", {}).values()
    ]
    assert rows() == []


# --- cut-over -------------------------------------------------------------------------------


def test_a_closed_mailbox_sends_the_automatic_reply_and_keeps_only_the_count(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int, smtp_server: object
) -> None:
    mailbox.status = MailboxStatus.CLOSED
    db.session.commit()
    send(endpoint, email("inconnu@example.fr", subject="Toujours là ?"))
    send(endpoint, email("inconnu@example.fr", Precedence="bulk"))
    assert rows() == []
    run_jobs(app)
    assert email_cases() == []
    db.session.expire_all()
    assert db.session.get(Mailbox, mailbox.id).closed_count == 2  # type: ignore[union-attr]
    [reply] = auto_replies()
    assert "n'est plus consultée" in reply.body and "/espace/connexion" in reply.body
    [sent] = smtp_server.messages  # type: ignore[attr-defined]
    assert sent["Auto-Submitted"] == "auto-replied"


def test_an_office_s_own_automatic_reply_text(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    mailbox.auto_reply = "Bonjour, le {service} vous répond sur {lien} uniquement."
    db.session.commit()
    send(endpoint, email("inconnu@example.fr"))
    run_jobs(app)
    [reply] = auto_replies()
    assert reply.body.startswith("Bonjour, le SIP Lyon 3e vous répond sur http")


# --- the agent's side ----------------------------------------------------------------------


def _one_case(app: Flask, endpoint: int, sender: str) -> tuple[Case, EmailMessage]:
    message = email(sender)
    send(endpoint, message)
    run_jobs(app)
    [case] = email_cases()
    return case, message


def test_an_agent_answers_by_email_on_the_thread(
    app: Flask,
    world: World,
    mailbox: Mailbox,
    endpoint: int,
    agent_a_client: FlaskClient,
    agent_b_client: FlaskClient,
    smtp_server: object,
) -> None:
    case, original = _one_case(app, endpoint, "inconnu@example.fr")
    run_jobs(app)  # the automatic reply
    smtp_server.messages.clear()  # type: ignore[attr-defined]
    url = f"/agent/demandes/{case.id}"
    page = agent_a_client.get(url).get_data(as_text=True)
    assert "Répondre par courriel à inconnu@example.fr" in page
    assert "Message-ID" in page  # the headers, kept
    assert agent_b_client.post(f"{url}/courriel/repondre", data={}).status_code in (400, 404)
    answer_url = f"{url}/courriel/repondre"
    response = post_from(
        agent_a_client, url, answer_url, {"email_body": "Madame, votre avis est correct."}
    )
    assert response.status_code == 302
    db.session.expire_all()
    answer = db.session.scalars(
        select(Message).where(Message.case_id == case.id, Message.author_agent_id.is_not(None))
    ).one()
    assert answer.body == "Madame, votre avis est correct." and not answer.internal
    [notification] = db.session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.MAILBOX_ANSWER)
    ).all()
    assert notification.recipient == "inconnu@example.fr" and notification.sender == BOX
    run_jobs(app)
    [sent] = smtp_server.messages  # type: ignore[attr-defined]
    assert sent["In-Reply-To"] == original["Message-ID"]
    assert sent["Subject"] == "RE: Ma taxe foncière"
    assert sent["Auto-Submitted"] is None
    assert "votre avis est correct" in sent.get_content()
    db.session.expire_all()
    assert db.session.get(Case, case.id).first_answer_at is not None  # type: ignore[union-attr]


def test_an_email_is_attached_then_converted_to_a_request_of_the_space(
    app: Flask,
    world: World,
    mailbox: Mailbox,
    endpoint: int,
    agent_a_client: FlaskClient,
    taxpayer_client: FlaskClient,
) -> None:
    case, _message = _one_case(app, endpoint, "autre.adresse@example.fr")
    url = f"/agent/demandes/{case.id}"
    assert taxpayer_client.get(f"/espace/demandes/{case.reference}").status_code == 404
    # Not attached yet: refused, with the reason.
    response = post_from(agent_a_client, url, f"{url}/courriel/convertir", {})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).visible_to_taxpayer is False  # type: ignore[union-attr]
    case = db.session.get(Case, case.id)  # type: ignore[assignment]
    operations.attach_to_taxpayer(agent=world.agent_a, case=case, taxpayer=world.taxpayer_a)
    db.session.commit()
    response = post_from(agent_a_client, url, f"{url}/courriel/convertir", {})
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)  # type: ignore[assignment]
    assert case.visible_to_taxpayer is True
    assert taxpayer_client.get(f"/espace/demandes/{case.reference}").status_code == 200
    alert = db.session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.NEW_MESSAGE)
    ).one()
    assert alert.recipient == world.taxpayer_a.email
    assert db.session.scalar(
        select(func.count()).where(
            Event.case_id == case.id, Event.kind == EventKind.CONVERTED_TO_REQUEST
        )
    )


def test_steering_counts_the_email_channel(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int
) -> None:
    _one_case(app, endpoint, "inconnu@example.fr")
    today = utcnow().date()
    period = f"du={(today - timedelta(days=6)).isoformat()}&au={today.isoformat()}"
    client = client_for(app, make_agent(world.directorate, "steering"))
    db.session.commit()
    tables = page_tables(client, f"/pilotage/{world.directorate.id}?{period}")
    assert ["Courriel", "1", "100,0"] in tables["canaux"]


def test_an_answer_by_email_is_checked_by_the_guide_like_the_reply_form(
    app: Flask,
    world: World,
    mailbox: Mailbox,
    endpoint: int,
    agent_a_client: FlaskClient,
    smtp_server: object,
) -> None:
    """The guide's warnings on the answer by e-mail: nothing sent, the page comes back with the
    warnings and the draft, « Envoyer quand même » sends it, once."""
    case, _original = _one_case(app, endpoint, "inconnu@example.fr")
    run_jobs(app)  # the automatic reply
    smtp_server.messages.clear()  # type: ignore[attr-defined]
    url = f"/agent/demandes/{case.id}"
    body = "Votre voisin a le numéro fiscal 9876543210987. Mot de passe : Soleil2026"
    token = re.search(
        r'name="submission_token" value="([0-9a-f]+)"',
        agent_a_client.get(url).get_data(as_text=True).split("courriel/repondre", 1)[1],
    )
    assert token is not None
    form = {"email_body": body, "submission_token": token.group(1)}
    response = post_from(agent_a_client, url, f"{url}/courriel/repondre", form)
    assert response.status_code == 302  # type: ignore[attr-defined]
    location = response.location  # type: ignore[attr-defined]
    assert "saisie=" in location and location.endswith("#email-title")
    answers = select(Message).where(
        Message.case_id == case.id, Message.author_agent_id.is_not(None)
    )
    assert db.session.scalars(answers).all() == []
    page = html.unescape(agent_a_client.get(location).get_data(as_text=True))
    assert "Vérifiez votre message avant de l'envoyer" in page  # the flash
    assert "Votre message n'a pas été envoyé." in page
    assert "9876543210987" in page and "Soleil2026" in page
    email_form = page.split("courriel/repondre", 1)[1]
    assert f">{body}</textarea>" in email_form  # the draft, in the e-mail form
    assert "Envoyer quand même" in email_form
    assert f'value="{token.group(1)}"' in email_form  # the same one-time token
    run_jobs(app)
    assert smtp_server.messages == []  # type: ignore[attr-defined]

    # Sent anyway: written once, sent once to the sender.
    form["confirm_warnings"] = "1"
    response = post_from(agent_a_client, url, f"{url}/courriel/repondre", form)
    assert response.status_code == 302  # type: ignore[attr-defined]
    again = post_from(agent_a_client, url, f"{url}/courriel/repondre", form)  # double click
    assert again.status_code == 302  # type: ignore[attr-defined]
    db.session.expire_all()
    assert [m.body for m in db.session.scalars(answers)] == [body]
    run_jobs(app)
    [sent] = smtp_server.messages  # type: ignore[attr-defined]
    assert sent["To"] == "inconnu@example.fr" and "9876543210987" in sent.get_content()


def test_an_empty_answer_by_email_keeps_the_page_and_says_why(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int, agent_a_client: FlaskClient
) -> None:
    case, _original = _one_case(app, endpoint, "inconnu@example.fr")
    url = f"/agent/demandes/{case.id}"
    response = post_from(agent_a_client, url, f"{url}/courriel/repondre", {"email_body": "  "})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Écrivez votre réponse." in html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]
