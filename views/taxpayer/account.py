"""The taxpayer's account: contact e-mail (confirmed again), alerts, download of their data."""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from app.platform import sessions
from app.platform.ratelimit import too_many
from app.taxpayers import accounts as taxpayers
from models import db, utcnow
from views.taxpayer import blueprint
from views.taxpayer.forms import EmailChangeForm, PreferencesForm
from views.taxpayer.session import me, taxpayer_required


def _render(
    email_form: EmailChangeForm | None = None,
    preferences_form: PreferencesForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    taxpayer = me()
    if preferences_form is None:
        preferences_form = PreferencesForm(notify_by_email=taxpayer.notify_by_email)
    return (
        render_template(
            "taxpayer/account.html",
            taxpayer=taxpayer,
            email_form=email_form or EmailChangeForm(formdata=None),
            preferences_form=preferences_form,
        ),
        status,
    )


@blueprint.get("/compte")
@taxpayer_required
def account() -> tuple[str, int]:
    return _render()


@blueprint.post("/compte/courriel")
@taxpayer_required
def change_email() -> Response | tuple[str, int]:
    taxpayer = me()
    form = EmailChangeForm()
    if not form.validate_on_submit():
        return _render(email_form=form, status=400)
    if too_many(f"taxpayer-email-change:{taxpayer.id}", limit=5, window_seconds=3600):
        form.email.errors = [
            _("Trop de demandes en peu de temps. Patientez quelques minutes puis réessayez.")
        ]
        return _render(email_form=form, status=429)
    if not taxpayer.password_hash or not check_password_hash(
        taxpayer.password_hash, form.current_password.data or ""
    ):
        form.current_password.errors = [_("Ce mot de passe n'est pas le bon.")]
        return _render(email_form=form, status=400)
    new_email = form.email.data or ""
    if new_email.casefold() == (taxpayer.email or "").casefold():
        form.email.errors = [_("C'est déjà votre adresse actuelle.")]
        return _render(email_form=form, status=400)
    taxpayers.request_email_change(taxpayer, new_email)
    db.session.commit()
    flash(
        _(
            "Un lien de confirmation a été envoyé à %(email)s. Votre adresse actuelle reste "
            "utilisée tant que vous ne l'avez pas ouvert.",
            email=new_email,
        ),
        "success",
    )
    return redirect(url_for("taxpayer.account"))


@blueprint.get("/compte/courriel/<token>")
def confirm_email_change(token: str) -> str | tuple[str, int]:
    taxpayer = taxpayers.confirm_email_change(token)
    if taxpayer is None:
        return render_template("taxpayer/link_invalid.html", what="email_change"), 400
    db.session.commit()
    return render_template("taxpayer/confirmed.html", what="email_change")


@blueprint.post("/compte/preferences")
@taxpayer_required
def preferences() -> Response | tuple[str, int]:
    taxpayer = me()
    form = PreferencesForm()
    if not form.validate_on_submit():
        return _render(preferences_form=form, status=400)
    taxpayer.notify_by_email = bool(form.notify_by_email.data)
    db.session.commit()
    flash(_("Vos préférences sont enregistrées."), "success")
    return redirect(url_for("taxpayer.account"))


@blueprint.get("/compte/export")
@taxpayer_required
def export() -> Response:
    """Right of access: everything about the taxpayer, as one JSON file."""
    data = taxpayers.export_data(me())
    body = json.dumps(data, ensure_ascii=False, indent=2)
    stamp = utcnow().strftime("%Y%m%d")
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="mes-donnees-e-contacts-{stamp}.json"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@blueprint.post("/compte/sessions")
@taxpayer_required
def end_other_sessions() -> Response:
    """Every other session of this account ends at once (the CSRF token is checked by
    Flask-WTF); this one stays open."""
    ended = sessions.end_sessions(
        taxpayer=me(), keep=session.get(sessions.TAXPAYER_SID), reason=sessions.OTHERS
    )
    db.session.commit()
    flash(sessions.others_ended_message(ended), "success")
    return redirect(url_for("taxpayer.account"))
