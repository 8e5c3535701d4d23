"""The web basics for every response: security headers, secure cookies, idle sessions.

- A Content-Security-Policy with no inline script (``script-src 'self'``); inline styles stay
  allowed because FAB's Bootstrap 3 pages and widgets set ``style=`` attributes
  (docs/security.md). No page may be framed (``frame-ancestors 'none'``).
- ``X-Content-Type-Options: nosniff``, a ``Referrer-Policy`` that sends nothing to other sites,
  ``Cache-Control: no-store`` on pages served to a signed-in person, and HSTS in production.
- A session ended on the server (``app.platform.sessions``) is refused at once, wherever its
  cookie was copied.
- Sessions end after ``SESSION_IDLE_MINUTES`` without a request, separately for the agent
  (Flask-Login's keys) and the taxpayer (``taxpayer_id``); the other population's keys stay
  (never ``session.clear()``: both may be signed in from the same browser).
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app, flash, request, session
from flask import Response as FlaskResponse
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _
from flask_login import logout_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from app.platform import sessions
from config import check_mfa_setting, check_production

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

AGENT_KEY = "_user_id"  # Flask-Login's
TAXPAYER_KEY = "taxpayer_id"  # views.taxpayer.session.SESSION_KEY
AGENT_SEEN = "agent_seen_at"
TAXPAYER_SEEN = "taxpayer_seen_at"
AGENT_KEYS = ("mfa_ok", "pending_agent", "pending_otp_secret")  # app.fab.security's
SEEN_PRECISION_SECONDS = 30  # the session cookie is rewritten at most this often


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def _expired(seen_key: str, now: int, idle_seconds: int) -> bool:
    seen = session.get(seen_key)
    if isinstance(seen, int) and now - seen > idle_seconds:
        session.pop(seen_key, None)
        return True
    if not isinstance(seen, int) or now - seen >= SEEN_PRECISION_SECONDS:
        session[seen_key] = now
    return False


def expire_idle_sessions() -> None:
    """End the agent's or the taxpayer's session after too long without a request, or at once
    when it was ended on the server (logout elsewhere, an administrator, a new password)."""
    if _is_static():
        return
    now = int(time.time())
    idle_seconds = int(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    message = _(
        "Votre session a expiré après %(minutes)s minutes d'inactivité : reconnectez-vous.",
        minutes=current_app.config["SESSION_IDLE_MINUTES"],
    )
    if AGENT_KEY in session:
        if not sessions.is_live(session.get(sessions.AGENT_SID)):
            end_agent_session_keys()
        elif _expired(AGENT_SEEN, now, idle_seconds):
            end_agent_session_keys()
            flash(message, "warning")
    elif AGENT_SEEN in session:
        session.pop(AGENT_SEEN)
    if TAXPAYER_KEY in session:
        if not sessions.is_live(session.get(sessions.TAXPAYER_SID)):
            end_taxpayer_session_keys()
        elif _expired(TAXPAYER_SEEN, now, idle_seconds):
            end_taxpayer_session_keys()
            flash(message, "warning")
    elif TAXPAYER_SEEN in session:
        session.pop(TAXPAYER_SEEN)


def end_agent_session_keys() -> None:
    """Forget the agent's keys of this cookie (the taxpayer's stay)."""
    logout_user()
    for key in (*AGENT_KEYS, AGENT_SEEN, sessions.AGENT_SID):
        session.pop(key, None)


def end_taxpayer_session_keys() -> None:
    """Forget the taxpayer's keys of this cookie (the agent's stay)."""
    for key in (TAXPAYER_KEY, TAXPAYER_SEEN, sessions.TAXPAYER_SID):
        session.pop(key, None)


def from_another_site() -> bool:
    """Whether the browser says a page of another site sent this request (a form that
    auto-posts from elsewhere). Browsers send ``Sec-Fetch-Site`` and ``Origin`` with every POST."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.rstrip("/") != request.host_url.rstrip("/")
    return False


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, never written in answer to a cross-site POST: the browser sent no
    cookie with it (SameSite=Lax), so a cookie written then (FAB stores the locale in every new
    session) would replace the person's and sign them out (issue 20, finding 9)."""

    def save_session(self, app: Flask, session: SessionMixin, response: FlaskResponse) -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS") and from_another_site():
            return
        super().save_session(app, session, response)


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    max_age = int(current_app.config.get("HSTS_MAX_AGE") or 0)
    if current_app.config["ECONTACTS_ENV"] == "production" and max_age > 0:
        response.headers.setdefault(
            "Strict-Transport-Security", f"max-age={max_age}; includeSubDomains"
        )
    signed_in = AGENT_KEY in session or TAXPAYER_KEY in session
    if signed_in and not _is_static() and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def check_settings(app: Flask) -> None:
    """Refuse to start with settings that would weaken security (also those given to
    ``create_app`` directly, which ``config.load_settings`` did not see)."""
    config = app.config
    check_mfa_setting(
        agent_mfa_required=bool(config["AGENT_MFA_REQUIRED"]),
        demo_mode=bool(config["DEMO_MODE"]),
    )
    check_production(config)
    if not config.get("CLAMD_ADDRESS") and config.get("ANTIVIRUS_WAIVER"):
        log.warning(
            "attachments are not scanned by an antivirus (ANTIVIRUS_WAIVER): %s",
            config["ANTIVIRUS_WAIVER"],
        )


def trust_proxies(app: Flask) -> None:
    """Behind N relays, read the client's address and scheme from their X-Forwarded-* headers
    (only the last N hops: a client cannot forge its way past them)."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    check_settings(app)
    trust_proxies(app)
    app.session_interface = SessionInterface()
    # First of all: an expired session must be gone before FAB or a view reads it.
    app.before_request_funcs.setdefault(None, []).insert(0, expire_idle_sessions)
    app.after_request(add_security_headers)
