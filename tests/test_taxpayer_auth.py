"""Taxpayer accounts over HTTP: creation and confirmation, the new-browser code, lockout, rate
limits, password reset, change of e-mail, alerts preference, data export, drafts kept across an
expired session. E-mails are read back from the real SMTP server after the jobs ran."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from factories import PASSWORD, World, make_case, make_taxpayer, make_topic
from flask import Flask
from flask.testing import FlaskClient
from helpers import csrf_token, run_jobs, submit_form
from sqlalchemy import select

from app.cases import operations
from app.platform.queue import get_redis
from app.taxpayers.operations import set_activation_data
from models import Case, Notification, NotificationKind, Taxpayer, TaxpayerKind, db, utcnow

LINK = re.compile(r"http://127\.0\.0\.1:5000(/espace/\S+)")
CODE = re.compile(r"\b(\d{6})\b")
GENERIC = "Identifiant ou mot de passe incorrect."
LOCKED = "la connexion avec cet identifiant est bloquée pendant 15 minutes"


def mails_to(app: Flask, smtp_server: Any, recipient: str) -> list[Any]:
    run_jobs(app)
    return [m for m in smtp_server.messages if m["To"] == recipient]


def text_of(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())


def link_in(mail: Any) -> str:
    match = LINK.search(text_of(mail))
    assert match, text_of(mail)
    return match.group(1)


def code_in(mail: Any) -> str:
    match = CODE.search(text_of(mail))
    assert match, text_of(mail)
    return match.group(1)


def login(client: FlaskClient, identifier: str, password: str = PASSWORD, **kw: Any) -> Any:
    return submit_form(
        client, "/espace/connexion", {"identifier": identifier, "password": password}, **kw
    )


def sign_in_with_code(
    app: Flask, client: FlaskClient, smtp_server: Any, taxpayer: Taxpayer, next_url: str = ""
) -> Any:
    url = "/espace/connexion" + (f"?next={next_url}" if next_url else "")
    response = submit_form(client, url, {"identifier": taxpayer.identifier, "password": PASSWORD})
    assert response.headers["Location"].endswith("/espace/connexion/code"), response.data
    mail = mails_to(app, smtp_server, str(taxpayer.email))[-1]
    assert mail["Subject"] == "Votre code de connexion"
    return submit_form(client, "/espace/connexion/code", {"code": code_in(mail)})


REGISTRATION = {
    "kind": "individual",
    "identifier": "1 234 567 890 999",
    "access_number": "7654321",
    "reference_income": "31 250",
    "email": "lucie@example.fr",
    "password": "une phrase de passe solide",
    "password_confirm": "une phrase de passe solide",
}


def known_taxpayer(**fields: Any) -> Taxpayer:
    """A taxpayer the administration knows (the tax file), with no online space yet, and the
    references of their last notice: access number 7654321, reference income 31,250 EUR."""
    values: dict[str, Any] = {
        "tax_number": "1234567890999",
        "first_name": "Lucie",
        "last_name": "Bernard",
        "password_hash": None,
        "email": None,
        "email_confirmed_at": None,
        **fields,
    }
    kind = values.pop("kind", TaxpayerKind.INDIVIDUAL)
    taxpayer = make_taxpayer(kind, **values)
    income = None if kind is TaxpayerKind.BUSINESS else 31_250
    set_activation_data(taxpayer, access_number="7654321", reference_income=income)
    db.session.commit()
    return taxpayer


# --- account creation ---------------------------------------------------------------------------


def test_create_confirm_and_sign_in_from_a_new_browser(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    known_taxpayer()
    page = client.get("/espace/inscription").get_data(as_text=True)
    assert "Créer votre espace – Messagerie sécurisée" in page
    response = submit_form(client, "/espace/inscription", REGISTRATION)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/espace/inscription/envoyee")
    taxpayer = db.session.scalar(select(Taxpayer).where(Taxpayer.tax_number == "1234567890999"))
    assert taxpayer is not None and taxpayer.email_confirmed_at is None
    assert taxpayer.kind is TaxpayerKind.INDIVIDUAL and taxpayer.commune_code == "69383"
    assert taxpayer.password_hash and taxpayer.password_hash.startswith("scrypt:")

    # Not before the e-mail is confirmed.
    early = login(client, "1234567890999", "une phrase de passe solide")
    assert early.status_code == 200
    assert "pas encore confirmée" in early.get_data(as_text=True)

    mail = mails_to(app, smtp_server, "lucie@example.fr")[-1]
    assert mail["Subject"] == "Confirmez votre adresse électronique"
    confirmed = client.get(link_in(mail))
    assert confirmed.status_code == 200
    assert "votre espace est activé" in confirmed.get_data(as_text=True)

    first = login(client, "1234567890999", "une phrase de passe solide")
    assert first.headers["Location"].endswith("/espace/connexion/code")
    code_page = client.get("/espace/connexion/code").get_data(as_text=True)
    assert 'name="code"' in code_page and "l•••@example.fr" in code_page
    wrong = submit_form(client, "/espace/connexion/code", {"code": "000000"})
    code = code_in(mails_to(app, smtp_server, "lucie@example.fr")[-1])
    if code == "000000":  # one chance in a million
        pytest.skip("the drawn code was 000000")
    assert "Ce code n&#39;est pas le bon" in wrong.get_data(as_text=True)
    ok = submit_form(client, "/espace/connexion/code", {"code": code})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/espace/")
    cookie = ok.headers.getlist("Set-Cookie")
    trusted = next(c for c in cookie if c.startswith("ec_browser="))
    assert "HttpOnly" in trusted and "SameSite=Lax" in trusted
    assert f"Max-Age={90 * 24 * 3600}" in trusted and "Path=/espace" in trusted
    assert "Bonjour Lucie Bernard." in client.get("/espace/").get_data(as_text=True)

    # The same browser is remembered: no code the next time.
    client.post("/espace/deconnexion", data={"csrf_token": csrf_token(client, "/espace/")})
    again = login(client, "1234567890999", "une phrase de passe solide")
    assert again.headers["Location"].endswith("/espace/")
    # Another browser is not.
    other = app.test_client()
    assert (
        login(other, "1234567890999", "une phrase de passe solide")
        .headers["Location"]
        .endswith("/espace/connexion/code")
    )


def test_the_trusted_period_is_configurable(
    app: Flask,
    client: FlaskClient,
    smtp_server: Any,
    app_context: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "TAXPAYER_TRUSTED_BROWSER_DAYS", 7)
    taxpayer = make_taxpayer()
    db.session.commit()
    ok = sign_in_with_code(app, client, smtp_server, taxpayer)
    trusted = next(c for c in ok.headers.getlist("Set-Cookie") if c.startswith("ec_browser="))
    assert f"Max-Age={7 * 24 * 3600}" in trusted


def test_a_new_password_forgets_the_trusted_browsers(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    from app.taxpayers.operations import set_password

    taxpayer = make_taxpayer()
    db.session.commit()
    sign_in_with_code(app, client, smtp_server, taxpayer)
    client.post("/espace/deconnexion", data={"csrf_token": csrf_token(client, "/espace/")})
    set_password(taxpayer, PASSWORD)  # same words, new hash
    db.session.commit()
    assert login(client, str(taxpayer.identifier)).headers["Location"].endswith("/code")


def test_five_wrong_codes_end_the_attempt(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    taxpayer = make_taxpayer()
    db.session.commit()
    login(client, str(taxpayer.identifier))
    code = code_in(mails_to(app, smtp_server, str(taxpayer.email))[-1])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        page = submit_form(client, "/espace/connexion/code", {"code": wrong})
        assert page.status_code == 200 and "pas le bon" in page.get_data(as_text=True)
    fifth = submit_form(client, "/espace/connexion/code", {"code": wrong})
    assert fifth.status_code == 302 and fifth.headers["Location"].endswith("/espace/connexion")
    assert "n&#39;est plus valable" in client.get("/espace/connexion").get_data(as_text=True)
    # Even the right code no longer opens the session.
    assert client.get("/espace/connexion/code").status_code == 302
    assert client.get("/espace/").status_code == 302


def test_creating_an_account_that_exists_reveals_nothing(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    existing = make_taxpayer(tax_number="1234567890999", email="titulaire@example.fr")
    db.session.commit()
    old_hash = existing.password_hash
    response = submit_form(client, "/espace/inscription", REGISTRATION)
    assert response.headers["Location"].endswith("/espace/inscription/envoyee")
    page = client.get("/espace/inscription/envoyee").get_data(as_text=True)
    assert "Si les informations saisies permettent de créer votre espace" in page
    db.session.expire_all()
    again = db.session.get(Taxpayer, existing.id)
    assert again is not None and again.password_hash == old_hash
    assert again.email == "titulaire@example.fr"
    assert mails_to(app, smtp_server, "lucie@example.fr") == []
    owner_mail = mails_to(app, smtp_server, "titulaire@example.fr")
    assert [m["Subject"] for m in owner_mail] == ["Votre espace existe déjà"]


def test_finding_5_activation_needs_the_references_of_the_last_notice(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    """Known from a counter visit: the tax number and the surname (what the counter's agent or a
    neighbour knows) no longer activate the space, nor does one reference alone."""
    known = known_taxpayer()
    attempts = [
        {"access_number": "1111111"},  # the number is wrong
        {"reference_income": "31 251"},  # the income is wrong
        {"reference_income": ""},  # the income is missing
        {"identifier": "1234567890998"},  # a tax number the administration does not know
    ]
    for change in attempts:
        _clear_limits(app)
        response = submit_form(
            client, "/espace/inscription", {**REGISTRATION, "email": "intrus@example.fr", **change}
        )
        assert response.status_code in (200, 302)
        db.session.expire_all()
        assert db.session.get(Taxpayer, known.id).password_hash is None  # type: ignore[union-attr]
    assert mails_to(app, smtp_server, "intrus@example.fr") == []
    assert db.session.scalar(select(Taxpayer).where(Taxpayer.tax_number == "1234567890998")) is None
    _clear_limits(app)
    submit_form(client, "/espace/inscription", REGISTRATION)
    db.session.expire_all()
    activated = db.session.get(Taxpayer, known.id)
    assert activated is not None and activated.password_hash and activated.email
    assert mails_to(app, smtp_server, "lucie@example.fr")


def _clear_limits(app: Flask) -> None:
    with app.app_context():
        connection = get_redis()
        for key in connection.scan_iter("econtacts:rl:*"):
            connection.delete(key)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "court", "password_confirm": "court"}, "au moins 12 caractères"),
        ({"password_confirm": "autre chose encore"}, "ne sont pas identiques"),
        ({"access_number": "765432"}, "Le numéro d'accès en ligne compte 7 chiffres"),
        ({"reference_income": "31 250,50"}, "sans centimes"),
        ({"reference_income": ""}, "Saisissez le revenu fiscal de référence"),
        ({"email": "pas-une-adresse"}, "Saisissez une adresse électronique valide"),
        ({"identifier": "123456789"}, "numéro fiscal de 13 chiffres"),
        ({"kind": "business"}, "SIREN de 9 chiffres"),
        ({"kind": ""}, "Indiquez si vous êtes un particulier ou un professionnel."),
    ],
)
def test_registration_errors_are_shown_next_to_the_fields(
    client: FlaskClient, app_context: None, change: dict[str, str], message: str
) -> None:
    response = submit_form(client, "/espace/inscription", {**REGISTRATION, **change})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page.replace("&#39;", "'")
    assert "fr-message--error" in page
    typed = {**REGISTRATION, **change}["access_number"]
    assert f'value="{typed}"' in page  # what was typed stays
    assert db.session.scalar(select(Taxpayer)) is None


def test_a_business_registers_with_its_siren(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    known_taxpayer(
        kind=TaxpayerKind.BUSINESS,
        tax_number=None,
        siren="552100554",
        first_name=None,
        last_name="Boulangerie Bernard SARL",
        company_name="Boulangerie Bernard SARL",
    )
    # A business's proof: the access number of the letter sent to its registered office.
    data = {**REGISTRATION, "kind": "business", "identifier": "552100554", "reference_income": ""}
    submit_form(client, "/espace/inscription", data)
    business = db.session.scalar(select(Taxpayer).where(Taxpayer.siren == "552100554"))
    assert business is not None and business.kind is TaxpayerKind.BUSINESS
    assert business.company_name == "Boulangerie Bernard SARL"
    assert mails_to(app, smtp_server, "lucie@example.fr")


def test_a_tampered_or_stale_confirmation_link_is_refused(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    known_taxpayer()
    submit_form(client, "/espace/inscription", REGISTRATION)
    link = link_in(mails_to(app, smtp_server, "lucie@example.fr")[-1])
    bad = client.get(link[:-3] + "xyz")
    assert bad.status_code == 400
    assert "Lien expiré ou déjà utilisé" in bad.get_data(as_text=True)
    # A later registration with another address makes the first link useless.
    _clear_limits(app)
    submit_form(client, "/espace/inscription", {**REGISTRATION, "email": "autre@example.fr"})
    assert client.get(link).status_code == 400


# --- brute force --------------------------------------------------------------------------------


def test_the_sixth_wrong_password_locks_and_says_nothing_about_existence(
    client: FlaskClient, app_context: None
) -> None:
    taxpayer = make_taxpayer()
    db.session.commit()
    for attempt in range(1, 7):
        known = login(client, str(taxpayer.identifier), "mauvais mot de passe")
        unknown = login(client, "9999999999999", "mauvais mot de passe")
        expected = LOCKED if attempt == 6 else GENERIC
        for response in (known, unknown):
            assert response.status_code == 200
            assert expected in response.get_data(as_text=True).replace("&#39;", "'")
    db.session.expire_all()
    locked = db.session.get(Taxpayer, taxpayer.id)
    assert locked is not None and locked.locked_until is not None
    assert locked.locked_until > utcnow() + timedelta(minutes=14)
    # Even the right password waits.
    right = login(client, str(taxpayer.identifier))
    assert LOCKED in right.get_data(as_text=True)
    # Fifteen minutes later, it opens again.
    locked.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login(client, str(taxpayer.identifier)).status_code == 302


def test_a_good_password_resets_the_count(client: FlaskClient, app_context: None) -> None:
    taxpayer = make_taxpayer()
    db.session.commit()
    for _ in range(5):
        login(client, str(taxpayer.identifier), "mauvais")
    assert login(client, str(taxpayer.identifier)).status_code == 302
    db.session.expire_all()
    assert db.session.get(Taxpayer, taxpayer.id).failed_logins == 0  # type: ignore[union-attr]


def test_logins_are_rate_limited_per_address(
    app: Flask, client: FlaskClient, app_context: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "TAXPAYER_LOGIN_IP_LIMIT", 3)
    for _ in range(3):
        assert login(client, "9999999999999", "x").status_code == 200
    response = login(client, "9999999999999", "x")
    assert response.status_code == 429
    assert "Trop de tentatives" in response.get_data(as_text=True)


def test_registration_and_reset_requests_are_rate_limited(
    app: Flask, client: FlaskClient, app_context: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "TAXPAYER_REGISTER_IP_LIMIT", 1)
    monkeypatch.setitem(app.config, "TAXPAYER_RESET_IP_LIMIT", 1)
    assert submit_form(client, "/espace/inscription", REGISTRATION).status_code == 302
    assert submit_form(client, "/espace/inscription", REGISTRATION).status_code == 429
    forgot = "/espace/mot-de-passe-oublie"
    assert submit_form(client, forgot, {"identifier": "9999999999999"}).status_code == 302
    assert submit_form(client, forgot, {"identifier": "9999999999999"}).status_code == 429


# --- password reset -----------------------------------------------------------------------------


def test_password_reset_by_a_single_use_link(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    taxpayer = make_taxpayer(email="claire@example.fr")
    db.session.commit()
    forgot = "/espace/mot-de-passe-oublie"
    known = submit_form(client, forgot, {"identifier": taxpayer.identifier})
    unknown = submit_form(client, forgot, {"identifier": "9999999999999"})
    assert known.headers["Location"] == unknown.headers["Location"]
    page = client.get(known.headers["Location"]).get_data(as_text=True)
    assert "Si un espace correspond à cet identifiant" in page
    mails = mails_to(app, smtp_server, "claire@example.fr")
    assert len(smtp_server.messages) == 1 and len(mails) == 1
    link = link_in(mails[0])
    assert "Choisir un nouveau mot de passe" in client.get(link).get_data(as_text=True)
    short = submit_form(client, link, {"password": "court", "password_confirm": "court"})
    assert "au moins 12 caractères" in short.get_data(as_text=True)
    new = "un tout nouveau mot de passe"
    done = submit_form(client, link, {"password": new, "password_confirm": new})
    assert done.status_code == 302 and done.headers["Location"].endswith("/espace/connexion")
    assert client.get(link).status_code == 400  # used once
    assert GENERIC in login(client, str(taxpayer.identifier)).get_data(as_text=True)
    assert login(client, str(taxpayer.identifier), new).status_code == 302


# --- account: e-mail, alerts, export ------------------------------------------------------------


def test_a_new_contact_email_counts_only_once_confirmed(
    app: Flask, taxpayer_client: FlaskClient, world: World, smtp_server: Any
) -> None:
    old = world.taxpayer_a.email
    page = taxpayer_client.get("/espace/compte").get_data(as_text=True)
    assert "Mon compte – Messagerie sécurisée" in page
    wrong = taxpayer_client.post(
        "/espace/compte/courriel",
        data={
            "csrf_token": csrf_token(taxpayer_client, "/espace/compte"),
            "email": "nouvelle@example.fr",
            "current_password": "faux",
        },
    )
    assert wrong.status_code == 400
    assert "Ce mot de passe n&#39;est pas le bon." in wrong.get_data(as_text=True)
    ok = taxpayer_client.post(
        "/espace/compte/courriel",
        data={
            "csrf_token": csrf_token(taxpayer_client, "/espace/compte"),
            "email": "nouvelle@example.fr",
            "current_password": PASSWORD,
        },
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Taxpayer, world.taxpayer_a.id).email == old  # type: ignore[union-attr]
    mail = mails_to(app, smtp_server, "nouvelle@example.fr")[-1]
    link = link_in(mail)
    assert "votre adresse actuelle reste utilisée" in text_of(mail)
    assert taxpayer_client.get(link).status_code == 200
    db.session.expire_all()
    changed = db.session.get(Taxpayer, world.taxpayer_a.id)
    assert changed is not None and changed.email == "nouvelle@example.fr"
    assert taxpayer_client.get(link).status_code == 400  # once only


def test_alerts_can_be_switched_off(
    app: Flask, taxpayer_client: FlaskClient, world: World, smtp_server: Any
) -> None:
    response = taxpayer_client.post(
        "/espace/compte/preferences",
        data={"csrf_token": csrf_token(taxpayer_client, "/espace/compte")},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Taxpayer, world.taxpayer_a.id).notify_by_email is False  # type: ignore[union-attr]
    case = make_case(world.taxpayer_a, world.office_a)
    operations.reply_to_case(agent=world.agent_a, case=case, body="Réponse")
    db.session.commit()
    run_jobs(app)
    assert smtp_server.messages == []
    taxpayer_client.post(
        "/espace/compte/preferences",
        data={"csrf_token": csrf_token(taxpayer_client, "/espace/compte"), "notify_by_email": "y"},
    )
    db.session.expire_all()
    assert db.session.get(Taxpayer, world.taxpayer_a.id).notify_by_email is True  # type: ignore[union-attr]


def test_the_taxpayer_downloads_all_their_data(taxpayer_client: FlaskClient, world: World) -> None:
    import io

    from app.cases.attachments import IncomingFile

    topic = make_topic("Question générale")
    case = operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topic,
        tax_matter=None,
        tax_year=None,
        subject="Mon export",
        body="Texte de l'usager",
        files=[
            IncomingFile("avis.pdf", io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n"))
        ],
    )
    operations.add_note(agent=world.agent_a, case=case, body="Note à ne pas exporter")
    operations.reply_to_case(agent=world.agent_a, case=case, body="Réponse exportée")
    make_case(world.taxpayer_b, world.office_a, subject="Demande de B")
    db.session.commit()
    response = taxpayer_client.get("/espace/compte/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.get_data(as_text=True))
    assert data["compte"]["numero_fiscal"] == world.taxpayer_a.tax_number
    assert data["compte"]["courriel"] == world.taxpayer_a.email
    assert [d["reference"] for d in data["demandes"]] == [case.reference]
    texts = [m["texte"] for m in data["demandes"][0]["messages"]]
    assert texts == ["Texte de l'usager", "Réponse exportée"]
    assert data["demandes"][0]["messages"][0]["pieces_jointes"][0]["nom"] == "avis.pdf"
    assert "Note à ne pas exporter" not in response.get_data(as_text=True)
    assert "Demande de B" not in response.get_data(as_text=True)
    assert "password" not in response.get_data(as_text=True)


# --- drafts across an expired session -----------------------------------------------------------


def _expire_session(client: FlaskClient) -> None:
    """What the idle timeout does: the browser drops the session cookie."""
    client.delete_cookie("session")


def test_a_new_case_posted_after_the_session_expired_keeps_its_text(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    taxpayer = make_taxpayer()
    topic = make_topic("Question générale")
    db.session.commit()
    sign_in_with_code(app, client, smtp_server, taxpayer)
    form = client.get("/espace/demandes/nouvelle").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    _expire_session(client)
    response = client.post(
        "/espace/demandes/nouvelle",
        data={
            "csrf_token": token,
            "submission_token": "expired-1",
            "topic": str(topic.id),
            "subject": "Objet long à retaper",
            "body": "Un long message écrit pendant quarante minutes.",
        },
    )
    assert response.status_code == 302
    assert "/espace/connexion?next=/espace/demandes/nouvelle" in response.headers["Location"]
    assert db.session.scalar(select(Case)) is None
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "le texte de votre message a été conservé" in login_page
    # Signing in again (this browser is trusted) leads back to the filled-in form.
    back = submit_form(
        client,
        response.headers["Location"],
        {"identifier": taxpayer.identifier, "password": PASSWORD},
    )
    assert back.headers["Location"].endswith("/espace/demandes/nouvelle")
    page = client.get("/espace/demandes/nouvelle").get_data(as_text=True)
    assert "Votre brouillon a été conservé" in page
    assert "Un long message écrit pendant quarante minutes.</textarea>" in page
    assert 'value="Objet long à retaper"' in page
    assert f'<option value="{topic.id}" selected>' in page
    # Given once.
    assert "Votre brouillon a été conservé" not in client.get("/espace/demandes/nouvelle").get_data(
        as_text=True
    )


def test_a_reply_posted_after_signing_out_elsewhere_keeps_its_text(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None, world: World
) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    sign_in_with_code(app, client, smtp_server, world.taxpayer_a)
    url = f"/espace/demandes/{case.reference}"
    token = csrf_token(client, url)
    client.post("/espace/deconnexion", data={"csrf_token": token})  # another tab
    response = client.post(
        url + "/repondre",
        data={"csrf_token": token, "body": "Ma réponse détaillée", "submission_token": "r-1"},
    )
    assert response.headers["Location"].endswith(f"/espace/connexion?next={url}")
    submit_form(
        client,
        response.headers["Location"],
        {"identifier": world.taxpayer_a.identifier, "password": PASSWORD},
    )
    page = client.get(url).get_data(as_text=True)
    assert "Votre brouillon a été conservé" in page
    assert "Ma réponse détaillée</textarea>" in page


def test_a_form_with_a_stale_csrf_token_keeps_its_text(
    taxpayer_client: FlaskClient, world: World
) -> None:
    topic = make_topic("Question générale")
    db.session.commit()
    response = taxpayer_client.post(
        "/espace/demandes/nouvelle",
        data={"csrf_token": "périmé", "topic": str(topic.id), "subject": "S", "body": "Gardé"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Gardé</textarea>" in page and "doit être envoyé à nouveau" in page
    assert db.session.scalar(select(Case)) is None


def test_notifications_use_the_existing_kinds(
    app: Flask, client: FlaskClient, smtp_server: Any, app_context: None
) -> None:
    known_taxpayer()
    submit_form(client, "/espace/inscription", REGISTRATION)
    kinds = set(db.session.scalars(select(Notification.kind)))
    assert kinds == {NotificationKind.EMAIL_CONFIRMATION}
