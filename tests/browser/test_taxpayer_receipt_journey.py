"""Issue 16 in Chromium, the taxpayer's side: write a case, download its receipt (PDF), withdraw
it before any answer, see it withdrawn; change the password from "Mon compte" and download the
data as PDF and CSV. axe on every page, screenshots ``taxpayer-receipt-*``, nothing from outside.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from factories import PASSWORD, World, make_topic
from harness import sign_in_taxpayer
from helpers import clear_rate_limits, run_jobs
from pypdf import PdfReader
from sqlalchemy import select
from test_taxpayer_journey import check as journey_check

from models import Case, Event, EventKind, db

pytestmark = pytest.mark.browser

NEW_PASSWORD = "une autre phrase de passe solide"


def check(page: Any, name: str, *, status: int = 200) -> None:
    """The taxpayer journey's checks (title, axe, screenshot, nothing from outside, no JS error),
    screenshots named ``taxpayer-receipt-*``."""
    journey_check(page, f"receipt-{name}", status=status)


def download(page: Any, link_name: Any) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    item = info.value
    path = item.path()
    assert path is not None
    with open(path, "rb") as handle:
        return item.suggested_filename, handle.read()


def pdf_text(body: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


def test_receipt_and_withdrawal_then_password_and_exports(
    page: Any, live_server: str, app: Any, world: World, smtp_server: Any
) -> None:
    clear_rate_limits(app)
    make_topic("Question générale")
    tax_number = world.taxpayer_a.tax_number
    email = world.taxpayer_a.email
    assert tax_number and email
    db.session.commit()

    def read_code() -> str:
        run_jobs(app)
        mail = [m for m in smtp_server.messages if m["To"] == email][-1]
        found = re.search(r"\b(\d{6})\b", mail.get_body(preferencelist=("plain",)).get_content())
        assert found
        return found.group(1)

    sign_in_taxpayer(page, live_server, tax_number, PASSWORD, read_code)
    page.wait_for_url("**/espace/")

    # 1. A case written online.
    page.get_by_role("link", name="Écrire une nouvelle demande").click()
    page.wait_for_url("**/espace/demandes/nouvelle")
    page.get_by_label("Motif de votre demande").select_option(label="Question générale")
    page.fill("#subject", "Échéancier de paiement – taxe foncière")
    page.locator("#body").fill("Bonjour, puis-je payer ma taxe foncière en 3 fois ?")
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_url("**/envoyee")
    reference = re.search(r"/espace/demandes/([^/]+)/envoyee", page.url)
    assert reference
    ref = reference.group(1)

    # 2. Its page offers the receipt and the withdrawal (no agent has answered yet).
    page.goto(f"{live_server}/espace/demandes/{ref}")
    assert page.get_by_role("link", name=re.compile("Télécharger le récépissé")).is_visible()
    assert page.get_by_role("link", name="Retirer ma demande").is_visible()
    check(page, "01-request")
    name, body = download(page, re.compile("Télécharger le récépissé"))
    assert name == f"recepisse-{ref}.pdf" and body.startswith(b"%PDF-")
    text = pdf_text(body)
    for expected in (
        "Récépissé de demande",
        ref,
        "SIP Lyon 3e",
        "Question générale",
        "Échéancier de paiement – taxe foncière",
    ):
        assert expected in text, expected

    # 3. Withdraw it: a confirmation page first, then the case shows withdrawn.
    page.get_by_role("link", name="Retirer ma demande").click()
    page.wait_for_url(f"**/espace/demandes/{ref}/retirer")
    assert page.get_by_role("heading", name="Retirer ma demande").is_visible()
    check(page, "02-withdraw-confirm")
    page.get_by_label(re.compile("Pourquoi retirez-vous")).fill("J'ai trouvé la réponse en ligne.")
    page.get_by_role("button", name="Confirmer le retrait").click()
    page.wait_for_url(f"**/espace/demandes/{ref}")
    body_text = page.locator("main").inner_text()
    assert f"Votre demande {ref} est retirée." in body_text
    assert "Vous avez retiré cette demande le" in body_text
    assert page.get_by_role("link", name="Retirer ma demande").count() == 0
    check(page, "03-withdrawn")
    page.get_by_role("link", name="Mes demandes").first.click()
    page.wait_for_url("**/espace/")
    assert "RETIRÉE" in page.locator("table").inner_text().upper()
    check(page, "04-inbox")
    db.session.expire_all()
    case = db.session.scalar(select(Case).where(Case.reference == ref))
    assert case is not None and case.withdrawn_at is not None
    assert db.session.scalar(
        select(Event).where(Event.case_id == case.id, Event.kind == EventKind.WITHDRAWN)
    )

    # 4. Mon compte: change the password (the current one is asked), download PDF and CSV.
    page.goto(f"{live_server}/espace/compte")
    check(page, "05-account")
    page.locator("#old_password").fill("pas le bon")
    page.locator("#new_password").fill(NEW_PASSWORD)
    page.locator("#new_password_confirm").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer mon mot de passe").click()
    page.wait_for_load_state()
    assert "Ce mot de passe n'est pas le bon." in page.locator("main").inner_text()
    check(page, "06-password-wrong", status=400)
    page.locator("#old_password").fill(PASSWORD)
    page.locator("#new_password").fill(NEW_PASSWORD)
    page.locator("#new_password_confirm").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer mon mot de passe").click()
    page.wait_for_url("**/espace/compte")
    assert "Votre mot de passe a été changé." in page.locator("main").inner_text()
    check(page, "07-password-changed")

    name, body = download(page, re.compile("Mes données, à lire ou imprimer"))
    assert name.endswith(".pdf")
    text = pdf_text(body)
    assert ref in text and "Échéancier de paiement – taxe foncière" in text and "Retirée" in text
    name, body = download(page, re.compile("Mes échanges, pour un tableur"))
    assert name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Référence" and rows[1][0] == ref

    # The new password signs in (this browser stays trusted: no code asked).
    page.get_by_role("button", name=re.compile("Se déconnecter")).first.click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/espace/connexion")
    page.fill("input[name=identifier]", tax_number)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.locator("form [type=submit]").first.click()
    page.wait_for_url("**/espace/")
