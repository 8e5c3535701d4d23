"""The agents' login: a password, then a TOTP code (enrolled at the first login).

FAB's ``AuthDBView`` calls ``login_user`` right after the password; this subclass keeps the
agent pending in the session (``PENDING_AGENT``, not signed in) and calls ``login_user`` only
once the code is right. Rules and messages: docs/security.md.
"""

from __future__ import annotations

import time
from typing import Any

import pyotp
from flask import current_app, flash, redirect, request, session, url_for
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.views import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from app.fab.security import (
    AGENT_SINCE,
    MFA_OK,
    OTP_ATTEMPTS,
    PENDING_AGENT,
    PENDING_SECONDS,
    PENDING_SECRET,
    LoginOutcome,
    mfa_required,
)
from app.platform.ratelimit import reset, too_many
from models import Agent, db
from views.auth.forms import AgentLoginForm, OtpForm


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


class AuthDBView(FabAuthDBView):
    """Named as FAB's: FAB builds its "access denied" redirect from the class name
    (``auth_view.__class__.__name__ + ".login"``) and templates use ``AuthDBView.login``."""

    login_template = "auth/login.html"
    otp_template = "auth/otp.html"
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
            login_user(agent, remember=False)
            session[MFA_OK] = True
            self.appbuilder.sm.mark_session_start()
            return redirect(next_url)
        session[PENDING_AGENT] = {"id": agent.id, "at": int(time.time()), "next": next_url}
        reset(f"agent-otp:{agent.id}")
        return redirect(url_for(f"{self.endpoint}.otp"))

    def _pending_agent(self) -> tuple[Agent | None, str]:
        pending = session.get(PENDING_AGENT)
        if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
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
            if step is not None:
                if enrolling:
                    agent.otp_secret = secret
                agent.otp_last_counter = step
                db.session.commit()
                session.pop(PENDING_AGENT, None)
                session.pop(PENDING_SECRET, None)
                login_user(agent, remember=False)
                session[MFA_OK] = True
                sm.mark_session_start()
                return redirect(get_safe_redirect(next_url))
            form.otp.errors = [
                _("Code incorrect ou déjà utilisé : saisissez le code affiché maintenant.")
            ]
            form.otp.data = ""
        return self._render(
            self.otp_template,
            form=form,
            agent=agent,
            enrolling=enrolling,
            secret=secret if enrolling else None,
            secret_grouped=_group(secret) if enrolling else None,
            otpauth_uri=sm.provisioning_uri(agent, secret) if enrolling else None,
        )

    @expose("/logout/")
    def logout(self) -> Any:
        response = super().logout()
        for key in (MFA_OK, PENDING_AGENT, PENDING_SECRET, AGENT_SINCE):
            session.pop(key, None)
        return response
