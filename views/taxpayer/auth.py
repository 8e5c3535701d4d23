"""Sign in and sign out of the personal space."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.taxpayers import authenticate
from views.taxpayer import blueprint
from views.taxpayer.forms import LoginForm
from views.taxpayer.session import current_taxpayer, sign_in, sign_out


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/espace/") and not target.startswith("//"):
        return target
    return url_for("taxpayer.inbox")


@blueprint.route("/connexion", methods=["GET", "POST"])
def login() -> str | Response:
    if current_taxpayer() is not None:
        return redirect(url_for("taxpayer.inbox"))
    form = LoginForm()
    if form.validate_on_submit():
        taxpayer = authenticate(form.normalised_identifier, form.password.data or "")
        if taxpayer is not None:
            sign_in(taxpayer)
            return redirect(_safe_next(request.args.get("next")))
        # One message whatever went wrong: it never tells whether an account exists.
        form.password.errors = [_("Identifiant ou mot de passe incorrect.")]
    return render_template("taxpayer/login.html", form=form)


@blueprint.post("/deconnexion")
def logout() -> Response:
    sign_out()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("public.index"))
