"""The foundation: configuration, schema, home page, both logins, the outbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from factories import PASSWORD, make_agent, make_office, make_taxpayer
from flask import Flask
from flask.testing import FlaskClient
from helpers import PRODUCTION_ENV, open_enrolment_link, run_jobs, submit_form
from sqlalchemy import inspect, select

from app.notifications.outbox import alert_new_message
from config import BASE_DIR, ConfigurationError, load_settings
from models import (
    AuthorKind,
    Message,
    Notification,
    NotificationStatus,
    db,
)


def test_production_refuses_the_demo_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert load_settings()["SESSION_COOKIE_SECURE"] is True


def test_a_wrong_setting_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTACHMENT_MAX_COUNT", "five")
    with pytest.raises(ConfigurationError, match="ATTACHMENT_MAX_COUNT must be a whole number"):
        load_settings()


def _start(env_changes: dict[str, str], tmp_path: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    env.update({"ECONTACTS_DATA_DIR": str(tmp_path), **env_changes})
    return subprocess.run(
        [sys.executable, "-m", "app.dev.runner"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_start_up_with_an_unreachable_database_says_one_clear_sentence(tmp_path: object) -> None:
    result = _start({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("e-contacts ne peut pas démarrer : la base de données")
    assert "DATABASE_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_production_start_up_without_a_secret_says_one_clear_sentence(tmp_path: object) -> None:
    result = _start({"ECONTACTS_ENV": "production"}, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_migrations_create_every_table_and_match_the_models(app: Flask) -> None:
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, db.metadata)
        if db.engine.dialect.name == "postgresql":
            differences = [d for d in differences if not _partitioning(d)]
        assert differences == []


PARTITION = re.compile(r"^(message|event|access_log)_(y\d{4}|default)$")


def _partitioning(difference: Any) -> bool:
    """What PostgreSQL's yearly partitions of the history make differ from the models, on
    purpose (docs/decisions/0021): the partitions themselves and their indexes; the composite
    keys (message_id, message_created_at) of attachment and notification to message, and the
    per-partition keys PostgreSQL derives from them; submission_token unique per partition."""
    item = difference[0] if isinstance(difference, list) else difference
    kind, subject = item[0], item[1]
    table = getattr(subject, "table", None)
    names = {getattr(subject, "name", None), getattr(table, "name", None)}
    if any(PARTITION.match(str(name)) for name in names if name):
        return True
    if kind in ("add_fk", "remove_fk") and getattr(table, "name", None) in REFERENCING_MESSAGE:
        referenced = {element.column.table.name for element in subject.elements}
        return all(name == "message" or PARTITION.match(name) for name in referenced)
    return kind == "add_constraint" and getattr(subject, "name", None) == (
        "uq_message_submission_token"
    )


REFERENCING_MESSAGE = ("attachment", "notification")


def test_home_page_offers_both_logins(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Vous êtes un particulier ou un professionnel" in page
    assert 'href="/espace/connexion"' in page
    assert "Vous êtes agent de l'administration" in page
    assert 'href="/login/"' in page
    assert "vendor/dsfr/dsfr.min.css" in page


def test_agent_login_page_is_in_french(client: FlaskClient) -> None:
    page = client.get("/login/").get_data(as_text=True)
    assert "Mot de passe" in page


def test_taxpayer_signs_in_and_a_wrong_password_reveals_nothing(
    app: Flask, client: FlaskClient, app_context: None, smtp_server: Any
) -> None:
    taxpayer = make_taxpayer()
    db.session.commit()
    wrong = submit_form(
        client,
        "/espace/connexion",
        {"identifier": taxpayer.tax_number, "password": "not the password"},
    )
    unknown = submit_form(
        client, "/espace/connexion", {"identifier": "9999999999999", "password": PASSWORD}
    )
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "Identifiant ou mot de passe incorrect." in response.get_data(as_text=True)
    first = submit_form(
        client, "/espace/connexion", {"identifier": taxpayer.tax_number, "password": PASSWORD}
    )
    assert first.headers["Location"].endswith("/espace/connexion/code")  # a new browser
    run_jobs(app)
    mail = smtp_server.messages[-1].get_body(preferencelist=("plain",)).get_content()
    code = re.search(r"\b(\d{6})\b", mail)
    assert code is not None
    ok = submit_form(client, "/espace/connexion/code", {"code": code.group(1)})
    assert ok.status_code == 302
    assert ok.headers["Location"].endswith("/espace/")
    inbox = client.get("/espace/").get_data(as_text=True)
    assert "Mes demandes" in inbox
    assert taxpayer.last_name in inbox


def test_agent_signs_in_through_fab_and_sees_their_office(
    app: Flask, client: FlaskClient, app_context: None
) -> None:
    office = make_office(name="SIP de Lyon 3e")
    agent = make_agent(office, username="camille.agent")
    db.session.commit()
    response = submit_form(client, "/login/", {"username": "camille.agent", "password": PASSWORD})
    assert response.headers["Location"].endswith("/login/otp")
    # The password alone opens nothing: the second factor is enrolled at the first login.
    assert client.get("/agent/").status_code == 302
    open_enrolment_link(client, "camille.agent")
    enrolment = client.get("/login/otp").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', enrolment)
    assert secret is not None
    code = pyotp.TOTP(secret.group(1)).now()
    assert submit_form(client, "/login/otp", {"otp": code}).status_code == 302
    home = client.get("/agent/").get_data(as_text=True)
    assert agent.full_name in home
    assert "SIP de Lyon 3e" in home


def test_the_new_message_alert_reaches_a_real_smtp_server_without_content(
    app: Flask, app_context: None, smtp_server: object
) -> None:
    from factories import make_case

    office = make_office()
    taxpayer = make_taxpayer(email="claire@example.fr")
    case = make_case(taxpayer, office, subject="Ma taxe foncière 2025")
    message = Message(
        case=case,
        author_kind=AuthorKind.AGENT,
        body="Votre dégrèvement de taxe foncière est accordé.",
        author_office=office,
    )
    db.session.add(message)
    db.session.flush()
    alert_new_message(case, message)
    db.session.commit()

    assert run_jobs(app) == 1
    mails = smtp_server.messages  # type: ignore[attr-defined]
    assert len(mails) == 1
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert mails[0]["To"] == "claire@example.fr"
    assert "/espace/connexion" in body
    for secret in ("taxe foncière", "dégrèvement", case.reference, "Ma taxe"):
        assert secret not in body
        assert secret not in mails[0]["Subject"]
    db.session.expire_all()
    row = db.session.scalar(select(Notification))
    assert row is not None and row.status is NotificationStatus.SENT and row.attempts == 1
    # Running the job again sends nothing more: the row is already sent.
    from jobs.notifications import send_notification

    assert send_notification(row.id) == "skipped"
    assert len(mails) == 1


def test_production_refused_at_start_up_in_one_french_line(tmp_path: object) -> None:
    result = _start({**PRODUCTION_ENV, "DEMO_MODE": "true"}, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("e-contacts ne peut pas démarrer : DEMO_MODE est interdit")
