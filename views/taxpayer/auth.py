"""Signing in and out, creating an account, confirming the e-mail, resetting the password.

No answer tells whether an account exists: the same message and the same page follow a known or
an unknown identifier. Every form is rate-limited per address (and per identifier where one is
typed); wrong passwords lock the account (``app.taxpayers.operations.attempt_login``).
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.notifications.outbox import masked
from app.platform.ratelimit import too_many
from app.taxpayers import accounts as taxpayers
from app.taxpayers import operations as taxpayer_operations
from models import Taxpayer, TaxpayerKind, db
from views.taxpayer import blueprint
from views.taxpayer.forms import (
    CodeForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from views.taxpayer.session import (
    PENDING_KEY,
    current_taxpayer,
    remember_browser,
    session_committed,
    sign_in,
    sign_out,
)

HOUR = 3600


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/espace/") and not target.startswith("//"):
        return target
    return url_for("taxpayer.inbox")


def _client_key() -> str:
    return request.remote_addr or "unknown"


def _address_over_limit(action: str, setting: str, default: int, window_seconds: int) -> bool:
    """Whether this address sent ``action`` too often (limit from the ``setting`` config key)."""
    return too_many(
        f"taxpayer-{action}-ip:{_client_key()}",
        limit=int(current_app.config.get(setting, default)),
        window_seconds=window_seconds,
    )


def _too_many_message() -> str:
    return _("Trop de tentatives en peu de temps. Patientez quelques minutes puis réessayez.")


def _locked_message() -> str:
    return _(
        "Par sécurité, la connexion avec cet identifiant est bloquée pendant %(n)s minutes "
        "après plusieurs essais infructueux. Réessayez plus tard, ou choisissez un nouveau "
        "mot de passe avec « Mot de passe oublié ».",
        n=taxpayers.LOCK_MINUTES,
    )


def _open_session(taxpayer: Taxpayer, next_url: str | None) -> Response:
    sign_in(taxpayer)
    db.session.commit()
    session_committed()
    return remember_browser(redirect(_safe_next(next_url)), taxpayer)


@blueprint.route("/connexion", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    next_url = request.args.get("next")
    if current_taxpayer() is not None:
        return redirect(_safe_next(next_url))
    form = LoginForm()
    if form.validate_on_submit():
        identifier = form.normalised_identifier
        if _address_over_limit("login", "TAXPAYER_LOGIN_IP_LIMIT", 50, 600):
            form.password.errors = [_too_many_message()]
            return render_template("taxpayer/login.html", form=form), 429
        attempt = taxpayer_operations.attempt_login(identifier, form.password.data or "")
        db.session.commit()
        if attempt.outcome == taxpayers.OK and attempt.taxpayer is not None:
            taxpayer = attempt.taxpayer
            if taxpayers.is_trusted_browser(
                request.cookies.get(taxpayers.TRUSTED_COOKIE), taxpayer
            ):
                return _open_session(taxpayer, next_url)
            try:
                challenge = taxpayers.start_code_challenge(taxpayer)
            except taxpayers.CodeUnavailable:
                db.session.rollback()
                form.password.errors = [
                    _("La connexion est momentanément impossible. Réessayez dans quelques minutes.")
                ]
                return render_template("taxpayer/login.html", form=form), 503
            db.session.commit()
            session[PENDING_KEY] = {
                "c": challenge,
                "next": _safe_next(next_url),
                "to": masked(taxpayer.email),
            }
            return redirect(url_for("taxpayer.login_code"))
        if attempt.outcome == taxpayers.LOCKED:
            form.password.errors = [_locked_message()]
        elif attempt.outcome == taxpayers.UNCONFIRMED:
            form.password.errors = [
                _(
                    "Votre adresse électronique n'est pas encore confirmée : ouvrez le lien "
                    "du courriel reçu à la création de votre espace. Pour le recevoir à "
                    "nouveau, refaites la création de votre espace."
                )
            ]
        else:
            # One message whatever went wrong: it never tells whether an account exists.
            form.password.errors = [_("Identifiant ou mot de passe incorrect.")]
    return render_template("taxpayer/login.html", form=form), 200


@blueprint.route("/connexion/code", methods=["GET", "POST"])
def login_code() -> str | Response:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or "c" not in pending:
        return redirect(url_for("taxpayer.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            outcome, taxpayer_id = taxpayers.check_code(pending["c"], form.code.data or "")
        except taxpayers.CodeUnavailable:
            form.code.errors = [
                _("La vérification est momentanément impossible. Réessayez dans quelques minutes.")
            ]
            return render_template("taxpayer/code.html", form=form, sent_to=pending.get("to"))
        taxpayer = db.session.get(Taxpayer, taxpayer_id) if taxpayer_id else None
        if outcome == taxpayers.OK and taxpayer is not None:
            return _open_session(taxpayer, pending.get("next"))
        if outcome == taxpayers.EXPIRED:
            session.pop(PENDING_KEY, None)
            flash(
                _(
                    "Ce code n'est plus valable (il expire après %(minutes)s minutes ou "
                    "%(tries)s essais). Connectez-vous à nouveau pour recevoir un nouveau code.",
                    minutes=taxpayers.CODE_MINUTES,
                    tries=taxpayers.CODE_TRIES,
                ),
                "error",
            )
            return redirect(url_for("taxpayer.login"))
        form.code.errors = [_("Ce code n'est pas le bon. Vérifiez le dernier courriel reçu.")]
    return render_template("taxpayer/code.html", form=form, sent_to=pending.get("to"))


@blueprint.post("/deconnexion")
def logout() -> Response:
    sign_out()
    db.session.commit()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("public.index"))


# --- creating an account -------------------------------------------------------------------


@blueprint.route("/inscription", methods=["GET", "POST"])
def register() -> str | Response | tuple[str, int]:
    if current_taxpayer() is not None:
        return redirect(url_for("taxpayer.inbox"))
    form = RegisterForm()
    if form.validate_on_submit():
        identifier = form.normalised_identifier
        if _address_over_limit("register", "TAXPAYER_REGISTER_IP_LIMIT", 10, HOUR):
            form.identifier.errors = [_too_many_message()]
            return render_template("taxpayer/register.html", form=form), 429
        # Per identifier: past the limit nothing more is sent, and the page says the same.
        if not too_many(f"taxpayer-register-id:{identifier}", limit=3, window_seconds=HOUR):
            kind = {k.value: k for k in TaxpayerKind}[form.kind.data or ""]
            taxpayer_operations.register(
                taxpayer_operations.Registration(
                    kind=kind,
                    identifier=identifier,
                    access_number=form.access_number.data or "",
                    reference_income=form.income,
                    email=form.email.data or "",
                    password=form.password.data or "",
                )
            )
            db.session.commit()
        return redirect(url_for("taxpayer.register_sent"))
    return render_template("taxpayer/register.html", form=form)


@blueprint.get("/inscription/envoyee")
def register_sent() -> str:
    return render_template("taxpayer/sent.html", what="register")


@blueprint.get("/confirmation/<token>")
def confirm_email(token: str) -> str | tuple[str, int]:
    taxpayer = taxpayer_operations.confirm_email(token)
    if taxpayer is None:
        return render_template("taxpayer/link_invalid.html", what="confirm"), 400
    db.session.commit()
    return render_template("taxpayer/confirmed.html", what="account")


# --- password reset ------------------------------------------------------------------------


@blueprint.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password() -> str | Response | tuple[str, int]:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        identifier = form.normalised_identifier
        if _address_over_limit("reset", "TAXPAYER_RESET_IP_LIMIT", 10, HOUR):
            form.identifier.errors = [_too_many_message()]
            return render_template("taxpayer/forgot.html", form=form), 429
        if not too_many(f"taxpayer-reset-id:{identifier}", limit=3, window_seconds=HOUR):
            taxpayer_operations.request_password_reset(identifier)
            db.session.commit()
        return redirect(url_for("taxpayer.forgot_sent"))
    return render_template("taxpayer/forgot.html", form=form)


@blueprint.get("/mot-de-passe-oublie/envoye")
def forgot_sent() -> str:
    return render_template("taxpayer/sent.html", what="reset")


@blueprint.route("/mot-de-passe/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> str | Response | tuple[str, int]:
    taxpayer = taxpayers.taxpayer_for_reset(token)
    if taxpayer is None:
        return render_template("taxpayer/link_invalid.html", what="reset"), 400
    form = ResetPasswordForm()
    form.password_identifiers = [taxpayer.identifier, taxpayer.email]
    if form.validate_on_submit():
        taxpayer_operations.set_password(taxpayer, form.password.data or "")  # ends every session
        sign_out()
        db.session.commit()
        flash(_("Votre mot de passe a été changé. Connectez-vous avec le nouveau."), "success")
        return redirect(url_for("taxpayer.login"))
    return render_template("taxpayer/reset.html", form=form)
