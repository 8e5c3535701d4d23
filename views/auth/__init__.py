"""The agents' login: a password, then a TOTP code (enrolled at the first login).

FAB's ``AuthDBView`` calls ``login_user`` right after the password; this subclass keeps the
agent pending in the session (``PENDING_AGENT``, not signed in) and calls ``login_user`` only
once the code is right. Rules and messages: docs/security.md.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

import pyotp
import segno
from flask import current_app, flash, redirect, request, session, url_for
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.views import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.fab.security import (
    MFA_OK,
    OTP_ATTEMPTS,
    PENDING_AGENT,
    PENDING_SECONDS,
    PENDING_SECRET,
    LoginOutcome,
    mfa_required,
)
from app.notifications.outbox import masked, public_url, queue_email
from app.platform import sessions
from app.platform.headers import end_agent_session_keys
from app.platform.ratelimit import reset, too_many
from models import Agent, NotificationKind, db
from views.auth.forms import AgentLoginForm, EndSessionsForm, OtpForm


def _messages() -> dict[LoginOutcome, str]:
    # One sentence per outcome; none of them says whether the identifier exists.
    return {
        LoginOutcome.INVALID: _("Identifiant ou mot de passe incorrect."),
        LoginOutcome.LOCKED: _(
            "Trop d'échecs de connexion avec cet identifiant : la connexion est bloquée "
            "pendant %(minutes)s minutes. Réessayez plus tard ou adressez-vous à votre "
            "administrateur.",
            minutes=current_app.config["AGENT_LOCKOUT_MINUTES"],
        ),
        LoginOutcome.RATE_LIMITED: _(
            "Trop de tentatives de connexion en peu de temps. Patientez quelques minutes "
            "puis réessayez."
        ),
    }


def _group(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _qr_svg(uri: str) -> Markup:
    """The ``otpauth://`` URI as a QR code drawn here, inline SVG (no image request, nothing
    from outside, nothing the CSP blocks)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=4, light="#fff", title=_("Code QR de configuration")
    )
    labelled = svg.replace("<svg ", '<svg role="img" aria-labelledby="otp-qr-title" ', 1)
    return Markup(labelled)  # noqa: S704 - segno draws paths; only our own title is text


ENROLMENT_SECONDS = 15 * 60
_SALT_ENROLMENT = "agent-otp-enrolment"


def _enrolment_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT_ENROLMENT)


def send_enrolment_link(agent: Agent, token: str) -> None:
    """E-mail the one-time enrolment link to the agent's professional address (outbox)."""
    body = _(
        "Bonjour,\n\n"
        "Pour activer le second facteur de votre compte e-contacts (%(username)s), ouvrez ce "
        "lien dans le navigateur où vous venez de saisir votre mot de passe (valable "
        "%(minutes)s minutes, une seule fois) :\n%(link)s\n\n"
        "Si vous n'êtes pas en train de vous connecter, quelqu'un connaît votre mot de passe : "
        "prévenez sans attendre votre administrateur.\n",
        username=agent.username,
        minutes=ENROLMENT_SECONDS // 60,
        link=public_url("AuthDBView.enrolment", token=token),
    )
    queue_email(
        kind=NotificationKind.SIGN_IN_CODE,
        recipient=str(agent.email),
        subject=_("Activez le second facteur de votre compte e-contacts"),
        body=body,
    )


class AuthDBView(FabAuthDBView):
    """Named as FAB's: FAB builds its "access denied" redirect from the class name
    (``auth_view.__class__.__name__ + ".login"``) and templates use ``AuthDBView.login``."""

    login_template = "auth/login.html"
    otp_template = "auth/otp.html"
    sessions_template = "auth/sessions.html"
    enrolment_template = "auth/enrolment_sent.html"
    title = _l("e-contacts — Connexion des agents")

    def _render(self, template: str, status: int = 200, **context: Any) -> tuple[str, int]:
        page = self.render_template(
            template,
            title=self.title,
            appbuilder=self.appbuilder,
            mfa_required=mfa_required(),
            **context,
        )
        return page, status

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self) -> Any:
        if current_user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = AgentLoginForm()
        if form.validate_on_submit():
            check = self.appbuilder.sm.check_password(
                form.username.data or "", form.password.data or ""
            )
            if check.outcome is LoginOutcome.OK and check.agent is not None:
                return self._password_passed(check.agent)
            form.password.errors = [_messages()[check.outcome]]
            form.password.data = ""
            status = 429 if check.outcome is LoginOutcome.RATE_LIMITED else 200
            return self._render(self.login_template, status, form=form)
        return self._render(self.login_template, form=form)

    def _password_passed(self, agent: Agent) -> Response:
        next_url = get_safe_redirect(request.args.get("next", ""))
        session.pop(MFA_OK, None)
        session.pop(PENDING_SECRET, None)
        if not mfa_required():
            self._sign_in(agent)
            return redirect(next_url)
        session[PENDING_AGENT] = {"id": agent.id, "at": int(time.time()), "next": next_url}
        reset(f"agent-otp:{agent.id}")
        return redirect(url_for(f"{self.endpoint}.otp"))

    def _pending_agent(self) -> tuple[Agent | None, str]:
        pending = session.get(PENDING_AGENT)
        if not isinstance(pending, dict):
            return None, ""
        # Waiting for the enrolment e-mail takes longer than typing a code.
        limit = ENROLMENT_SECONDS if "enrol" in pending else PENDING_SECONDS
        if time.time() - pending.get("at", 0) > limit:
            return None, ""
        agent = db.session.get(Agent, pending.get("id"))
        if agent is None or not agent.is_active:
            return None, ""
        return agent, str(pending.get("next") or "")

    def _restart(self, message: str) -> Response:
        session.pop(PENDING_AGENT, None)
        session.pop(PENDING_SECRET, None)
        flash(message, "warning")
        return redirect(url_for(f"{self.endpoint}.login"))

    @expose("/login/otp", methods=["GET", "POST"])
    @no_cache
    def otp(self) -> Any:
        if current_user.is_authenticated:
            return redirect(self._get_safe_next_url())
        agent, next_url = self._pending_agent()
        if agent is None:
            return self._restart(
                _("Votre connexion a expiré : saisissez à nouveau vos identifiants.")
            )
        sm = self.appbuilder.sm
        secret = agent.otp_secret
        enrolling = secret is None
        if enrolling and not session[PENDING_AGENT].get("enrol_ok"):
            return self._enrolment_link_sent(agent)
        if secret is None:
            secret = session.get(PENDING_SECRET)
            if not isinstance(secret, str):
                secret = pyotp.random_base32()
                session[PENDING_SECRET] = secret
        form = OtpForm()
        if form.validate_on_submit():
            if too_many(
                f"agent-otp:{agent.id}", limit=OTP_ATTEMPTS, window_seconds=PENDING_SECONDS
            ):
                return self._restart(
                    _("Trop de codes erronés : saisissez à nouveau vos identifiants.")
                )
            step = sm.verify_code(agent, secret, form.otp.data or "")
            if step is not None and sm.claim_step(agent, step, secret if enrolling else None):
                session.pop(PENDING_AGENT, None)
                session.pop(PENDING_SECRET, None)
                self._sign_in(agent)
                return redirect(get_safe_redirect(next_url))
            form.otp.errors = [
                _("Code incorrect ou déjà utilisé : saisissez le code affiché maintenant.")
            ]
            form.otp.data = ""
        uri = sm.provisioning_uri(agent, secret) if enrolling else None
        return self._render(
            self.otp_template,
            form=form,
            agent=agent,
            enrolling=enrolling,
            secret=secret if enrolling else None,
            secret_grouped=_group(secret) if enrolling else None,
            otpauth_uri=uri,
            qr_code=_qr_svg(uri) if uri else None,
        )

    def _enrolment_link_sent(self, agent: Agent) -> Any:
        """Not enrolled yet: the password is not enough to see a new secret. A one-time link
        goes to the agent's professional address; it works in this browser only (its nonce is
        in this session), once, for ENROLMENT_SECONDS."""
        pending = dict(session[PENDING_AGENT])
        if "enrol" not in pending and agent.email:
            nonce = secrets.token_urlsafe(16)
            pending.update(enrol=nonce, at=int(time.time()))
            session[PENDING_AGENT] = pending
            send_enrolment_link(agent, _enrolment_serializer().dumps({"a": agent.id, "n": nonce}))
            db.session.commit()
        return self._render(
            self.enrolment_template, sent_to=masked(agent.email), minutes=ENROLMENT_SECONDS // 60
        )

    @expose("/login/enrolement/<token>", methods=["GET"])
    @no_cache
    def enrolment(self, token: str) -> Any:
        pending = session.get(PENDING_AGENT)
        try:
            data = _enrolment_serializer().loads(token, max_age=ENROLMENT_SECONDS)
        except BadSignature:
            data = None
        agent, _next = self._pending_agent()
        if (
            agent is None
            or not isinstance(data, dict)
            or not isinstance(pending, dict)
            or data.get("a") != agent.id
            or not hmac.compare_digest(str(pending.get("enrol", "")), str(data.get("n", "")))
        ):
            return self._restart(
                _(
                    "Ce lien d'activation n'est plus valable, a déjà servi ou a été ouvert dans un "
                    "autre navigateur : saisissez vos identifiants dans ce navigateur pour en "
                    "recevoir un nouveau."
                )
            )
        pending = {k: v for k, v in pending.items() if k != "enrol"}
        pending.update(enrol_ok=True, at=int(time.time()))
        session[PENDING_AGENT] = pending
        return redirect(url_for(f"{self.endpoint}.otp"))

    def _sign_in(self, agent: Agent) -> None:
        """Both factors passed: a server-side session (``app.platform.sessions``), then
        Flask-Login."""
        login_user(agent, remember=False)
        session[MFA_OK] = True
        token = sessions.open_session(agent=agent)
        session[sessions.AGENT_SID] = token
        db.session.commit()
        sessions.remember_live(token)

    @expose("/mes-sessions/", methods=["GET", "POST"])
    @no_cache
    def sessions(self) -> Any:
        """The signed-in agent ends every other session of theirs (other browsers, devices)."""
        if not current_user.is_authenticated:
            return redirect(url_for(f"{self.endpoint}.login"))
        form = EndSessionsForm()
        if form.validate_on_submit():
            ended = sessions.end_sessions(
                agent=current_user, keep=session.get(sessions.AGENT_SID), reason=sessions.OTHERS
            )
            db.session.commit()
            flash(sessions.others_ended_message(ended), "success")
            return redirect(url_for(f"{self.endpoint}.sessions"))
        return self._render(self.sessions_template, form=form)

    @expose("/logout/", methods=["POST"])
    def logout(self) -> Any:
        """POST only, with the form's CSRF token (Flask-WTF checks it before this runs): a link
        or an image on another site cannot sign an agent out. The session ends on the server
        too, so a copy of the cookie stops working."""
        token = session.get(sessions.AGENT_SID)
        if isinstance(token, str):
            sessions.end_sessions(token=token, reason=sessions.LOGOUT)
            db.session.commit()
        end_agent_session_keys()
        return redirect(self.appbuilder.get_url_for_index)
