"""Mailbox intake in a real Chromium (issue 19): an e-mail sent through the real SMTP endpoint
appears in the office's inbox as a request of channel "Courriel"; the agent reads it as text
(its scripts dropped), sees what was left out, converts it to a request of the taxpayer's space
and answers by e-mail; the administrator's mailbox screens. axe on every page, screenshots kept.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from axe import assert_accessible
from factories import PASSWORD, World, make_topic
from harness import screenshot, sign_in_agent, sign_out_agent
from helpers import free_port, run_jobs
from sqlalchemy import select

from app.cases import operations
from app.mailbox.server import controller
from models import Case, Channel, Mailbox, MailboxStatus, Notification, NotificationKind, db

BOX = "sip.lyon3@dgfip.example"


def test_an_email_read_converted_and_answered_then_the_admin_screens(
    page, live_server, app, world: World, smtp_server
) -> None:
    db.session.add(
        Mailbox(
            address=BOX,
            office=world.office_a,
            status=MailboxStatus.OPEN,
            topic=make_topic("Question générale"),
            auto_reply_enabled=True,
            received_count=0,
            closed_count=0,
        )
    )
    username, admin = world.agent_a.username, world.admin.username
    db.session.commit()
    message = EmailMessage()
    message["From"] = "Claire Martin <claire.martin@example.fr>"
    message["To"] = BOX
    message["Subject"] = "Question sur ma taxe foncière"
    message["Message-ID"] = make_msgid(domain="example.fr")
    message.set_content(
        "<p>Bonjour,</p><script>alert('x')</script><p>je ne comprends pas mon avis.</p>",
        subtype="html",
    )
    message.add_attachment(b"MZ" * 50, maintype="application", subtype="octet-stream",
                           filename="programme.exe")  # fmt: skip
    endpoint = controller(app, "127.0.0.1", free_port())
    endpoint.start()
    try:
        with smtplib.SMTP("127.0.0.1", int(endpoint.port)) as client:
            client.send_message(message)
    finally:
        endpoint.stop()
    run_jobs(app)
    case = db.session.scalars(select(Case).where(Case.channel == Channel.EMAIL)).one()
    case_id = case.id

    sign_in_agent(page, live_server, username, PASSWORD)
    page.goto(f"{live_server}/agent/demandes/")
    assert "Question sur ma taxe foncière" in page.content()
    assert_accessible(page)
    screenshot(page, "mailbox-inbox")
    page.goto(f"{live_server}/agent/demandes/{case_id}")
    panel = page.locator("section.ec-email")
    assert "Courriel reçu par la boîte du service" in panel.inner_text()
    assert "programme.exe" in panel.inner_text()
    thread = page.locator("section.ec-thread").inner_text()
    assert "je ne comprends pas mon avis." in thread and "alert" not in thread
    assert_accessible(page)
    screenshot(page, "mailbox-case")

    # Attached (as for a counter visit), then converted to a request of the taxpayer's space.
    case = db.session.get(Case, case_id)
    assert case is not None
    operations.attach_to_taxpayer(agent=world.agent_a, case=case, taxpayer=world.taxpayer_a)
    db.session.commit()
    page.reload()
    page.get_by_role("button", name="Convertir en demande de l'espace").click()
    page.wait_for_load_state()
    assert "dans l'espace de l'usager" in page.content()
    assert_accessible(page)

    # The guide's check, as on the reply form: nothing sent, the warnings, the text kept.
    warned = "Madame, votre mot de passe provisoire : Soleil2026"
    page.get_by_label("Répondre par courriel à claire.martin@example.fr").fill(warned)
    page.get_by_role("button", name="Envoyer par courriel").click()
    page.wait_for_load_state()
    warnings = page.locator("#email-guide-warnings")
    assert "Votre message n'a pas été envoyé." in warnings.inner_text()
    assert "Soleil2026" in warnings.inner_text()
    assert page.get_by_label("Répondre par courriel à claire.martin@example.fr").input_value() == (
        warned
    )
    assert page.get_by_role("button", name="Envoyer quand même").is_visible()
    assert_accessible(page)
    screenshot(page, "mailbox-answer-warned")
    page.set_viewport_size({"width": 375, "height": 900})
    screenshot(page, "mailbox-answer-warned-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Répondre par courriel à claire.martin@example.fr").fill(
        "Madame, votre avis est correct : le montant tient compte de la nouvelle base."
    )
    page.get_by_role("button", name="Envoyer par courriel").click()
    page.wait_for_load_state()
    assert "Votre réponse part par courriel" in page.content()
    assert "votre avis est correct" in page.locator("section.ec-thread").inner_text()
    assert_accessible(page)
    screenshot(page, "mailbox-answered")
    db.session.expire_all()
    answer = db.session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.MAILBOX_ANSWER)
    ).one()
    assert answer.recipient == "claire.martin@example.fr" and answer.sender == BOX
    sign_out_agent(page, live_server)

    sign_in_agent(page, live_server, admin, PASSWORD)
    page.goto(f"{live_server}/referentiel/boites-aux-lettres/list/")
    assert BOX in page.content() and "Ouverte" in page.content()
    assert_accessible(page)
    screenshot(page, "mailbox-admin-list")
    page.goto(f"{live_server}/referentiel/boites-aux-lettres/add")
    assert_accessible(page)
    screenshot(page, "mailbox-admin-add")
