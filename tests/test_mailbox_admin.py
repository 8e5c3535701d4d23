"""The offices' mailboxes in the directory (issue 19): administrators add, close and list them."""

from __future__ import annotations

from factories import World
from flask.testing import FlaskClient
from helpers import submit_form
from sqlalchemy import select

from models import Mailbox, MailboxStatus, db


def test_an_administrator_adds_then_closes_a_mailbox(
    world: World, admin_client: FlaskClient, agent_a_client: FlaskClient
) -> None:
    response = submit_form(
        admin_client,
        "/referentiel/boites-aux-lettres/add",
        {
            "address": "SIP.Lyon3@DGFiP.fr",
            "office": str(world.office_a.id),
            "status": "open",
            "auto_reply_enabled": "y",
            "auto_reply": "",
        },
    )
    assert response.status_code == 302
    box = db.session.scalars(select(Mailbox)).one()
    assert box.address == "sip.lyon3@dgfip.fr" and box.status is MailboxStatus.OPEN
    assert box.auto_reply is None
    page = admin_client.get("/referentiel/boites-aux-lettres/list/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "sip.lyon3@dgfip.fr" in text and "Ouverte" in text
    response = submit_form(
        admin_client,
        f"/referentiel/boites-aux-lettres/edit/{box.id}",
        {
            "address": "sip.lyon3@dgfip.fr",
            "office": str(world.office_a.id),
            "status": "closed",
            "auto_reply_enabled": "y",
            "auto_reply": "Écrivez-nous sur {lien}.",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    box = db.session.scalars(select(Mailbox)).one()
    assert box.status is MailboxStatus.CLOSED and box.auto_reply == "Écrivez-nous sur {lien}."
    # A steering office cannot hold a mailbox; agents do not reach the screen.
    assert agent_a_client.get("/referentiel/boites-aux-lettres/list/").status_code in (
        302,
        403,
        404,
    )
    response = submit_form(
        admin_client,
        "/referentiel/boites-aux-lettres/add",
        {"address": "ddfip@dgfip.fr", "office": str(world.directorate.id), "status": "open"},
    )
    assert db.session.scalar(select(Mailbox).where(Mailbox.address == "ddfip@dgfip.fr")) is None
