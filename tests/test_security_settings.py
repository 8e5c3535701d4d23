"""Issue 20, findings 1, 2 and 16: production refuses unsafe settings, the secret key is never a
documented constant, the captured e-mails are served to this machine only, and behind a relay the
rate limits see each person's address."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from factories import World
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from helpers import PRODUCTION_ENV, clear_rate_limits, submit_form

from app import create_app
from config import (
    OLD_DEMO_SECRET_KEY,
    ConfigurationError,
    load_settings,
)
from models import db


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AGENT_MFA_REQUIRED", "ANTIVIRUS_WAIVER", "HOST", "SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_complete_production_environment_starts(production: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings["DEMO_MODE"] is False
    assert settings["TRUSTED_PROXIES"] == 1


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DEMO_MODE": "true"}, "DEMO_MODE est interdit en production"),
        ({"AGENT_MFA_REQUIRED": "false", "DEMO_MODE": "true"}, "DEMO_MODE est interdit"),
        ({"AGENT_MFA_REQUIRED": "false"}, "AGENT_MFA_REQUIRED=false est permis en démonstration"),
        ({"REDIS_URL": ""}, "REDIS_URL manque"),
        ({"MAIL_SERVER": ""}, "MAIL_SERVER manque"),
        ({"CLAMD_ADDRESS": ""}, "CLAMD_ADDRESS manque"),
        ({"TRUSTED_PROXIES": ""}, "TRUSTED_PROXIES manque"),
        ({"SECRET_KEY": ""}, "SECRET_KEY manque"),
        ({"SECRET_KEY": OLD_DEMO_SECRET_KEY}, "ancienne valeur de démonstration"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY manque, est trop courte"),
        ({"SESSION_COOKIE_SECURE": "false"}, "SESSION_COOKIE_SECURE est désactivé"),
    ],
)
def test_production_refuses_each_unsafe_setting_in_one_french_sentence(
    production: pytest.MonkeyPatch, change: dict[str, str], named: str
) -> None:
    for name, value in change.items():
        production.setenv(name, value)
    with pytest.raises(ConfigurationError, match=named) as refused:
        load_settings()
    sentence = str(refused.value)
    assert "\n" not in sentence and sentence.count(" : ") >= 1


def test_an_antivirus_waiver_is_accepted_and_logged_at_each_start(
    production: pytest.MonkeyPatch, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    production.setenv("CLAMD_ADDRESS", "")
    production.setenv("ANTIVIRUS_WAIVER", "analyse faite par la passerelle de messagerie")
    settings = load_settings()
    assert settings["CLAMD_ADDRESS"] is None
    from app.platform.headers import check_settings, log

    production.setattr(log, "disabled", False)  # alembic's logging set-up disables it in tests
    probe = Flask("probe")
    probe.config.update(settings)
    check_settings(probe)
    assert "analyse faite par la passerelle" in caplog.text


def test_outside_production_the_secret_key_is_drawn_once_per_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("ECONTACTS_ENV", raising=False)
    monkeypatch.setenv("ECONTACTS_DATA_DIR", str(tmp_path / "one"))
    first = load_settings()["SECRET_KEY"]
    assert load_settings()["SECRET_KEY"] == first  # kept: sessions survive a restart
    key_file = tmp_path / "one" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    monkeypatch.setenv("ECONTACTS_DATA_DIR", str(tmp_path / "two"))
    second = load_settings()["SECRET_KEY"]
    assert second != first and len(str(second)) >= 48
    assert OLD_DEMO_SECRET_KEY not in (first, second)
    monkeypatch.setenv("SECRET_KEY", OLD_DEMO_SECRET_KEY)
    with pytest.raises(ConfigurationError, match="ancienne valeur de démonstration"):
        load_settings()


def test_finding_2_a_cookie_forged_with_the_documented_key_opens_nothing(
    app: Flask, world: World
) -> None:
    assert app.config["SECRET_KEY"] != OLD_DEMO_SECRET_KEY
    forger = Flask("forger")
    forger.secret_key = OLD_DEMO_SECRET_KEY
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    assert serializer is not None
    forged = serializer.dumps({"_user_id": str(world.admin.id), "_fresh": True, "mfa_ok": True})
    client = app.test_client()
    client.set_cookie("session", forged)
    response = client.get("/users/list/")
    assert response.status_code in (302, 401, 403)
    assert "/login/" in response.headers.get("Location", "/login/")


def test_demo_mode_needs_a_loopback_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECONTACTS_ENV", raising=False)
    monkeypatch.delenv("DEMO_MODE", raising=False)
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - the setting under test
    assert load_settings()["DEMO_MODE"] is False  # not by default
    monkeypatch.setenv("DEMO_MODE", "true")
    with pytest.raises(ConfigurationError, match="DEMO_MODE est permis seulement"):
        load_settings()
    monkeypatch.setenv("HOST", "127.0.0.1")
    assert load_settings()["DEMO_MODE"] is True


def test_finding_1_the_captured_mails_are_not_served_to_another_machine(
    app: Flask, world: World
) -> None:
    assert app.test_client().get("/demo/mails").status_code == 200
    remote = app.test_client()
    remote.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    assert remote.get("/demo/mails").status_code == 404


def test_finding_16_behind_a_relay_rate_limits_key_on_each_person(app: Flask, world: World) -> None:
    relayed = create_app(
        {
            key: app.config[key]
            for key in (
                "TESTING",
                "ECONTACTS_ENV",
                "DEMO_MODE",
                "SQLALCHEMY_DATABASE_URI",
                "DATA_DIR",
                "ATTACHMENT_DIR",
                "REDIS_URL",
                "RQ_QUEUE",
                "SECRET_KEY",
            )
        }
        | {"TRUSTED_PROXIES": 1, "LOGIN_ATTEMPTS_PER_IP": 2, "SERVER_NAME": None}
    )
    clear_rate_limits(app)
    balancer = {"REMOTE_ADDR": "10.0.0.1"}

    def attempt(client_address: str) -> int:
        client = relayed.test_client()
        client.environ_base.update(balancer)
        headers = {"X-Forwarded-For": client_address}
        client.get("/login/", headers=headers)
        form = {"username": f"nobody-{client_address}", "password": "wrong password"}
        return int(submit_form(client, "/login/", form, headers=headers).status_code)

    try:
        assert [attempt("198.51.100.1") for _ in range(3)] == [200, 200, 429]
        # Another person behind the same balancer keeps their own budget.
        assert attempt("198.51.100.2") == 200
    finally:
        clear_rate_limits(app)
        with relayed.app_context():  # its own engine: close its connections now
            db.engine.dispose()
