"""The taxpayer's account: password, contact e-mail (confirmed again), alerts, download of their
data (JSON, PDF, CSV)."""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from app.platform import sessions
from app.platform.csvexport import csv_response
from app.platform.ratelimit import too_many
from app.taxpayers import accounts as taxpayers
from app.taxpayers import documents
from app.taxpayers import operations as taxpayer_operations
from models import Taxpayer, db, utcnow
from views.taxpayer import blueprint
from views.taxpayer.forms import EmailChangeForm, PasswordChangeForm, PreferencesForm
from views.taxpayer.session import me, remember_browser, taxpayer_required

HOUR = 3600


def _render(
    email_form: EmailChangeForm | None = None,
    preferences_form: PreferencesForm | None = None,
    password_form: PasswordChangeForm | None = None,
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
            password_form=password_form or PasswordChangeForm(formdata=None),
        ),
        status,
    )


def _password_is(taxpayer: Taxpayer, password: str | None) -> bool:
    return bool(taxpayer.password_hash) and check_password_hash(
        taxpayer.password_hash or "", password or ""
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
    if not _password_is(taxpayer, form.current_password.data):
        form.current_password.errors = [_("Ce mot de passe n'est pas le bon.")]
        return _render(email_form=form, status=400)
    new_email = form.email.data or ""
    if new_email.casefold() == (taxpayer.email or "").casefold():
        form.email.errors = [_("C'est déjà votre adresse actuelle.")]
        return _render(email_form=form, status=400)
    taxpayer_operations.request_email_change(taxpayer, new_email)
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


@blueprint.post("/compte/mot-de-passe")
@taxpayer_required
def change_password() -> Response | tuple[str, int]:
    """A new password, the current one required; this browser stays trusted, others not."""
    taxpayer = me()
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _render(password_form=form, status=400)
    if too_many(f"taxpayer-password-change:{taxpayer.id}", limit=5, window_seconds=HOUR):
        form.old_password.errors = [
            _("Trop de demandes en peu de temps. Patientez quelques minutes puis réessayez.")
        ]
        return _render(password_form=form, status=429)
    if not _password_is(taxpayer, form.old_password.data):
        form.old_password.errors = [_("Ce mot de passe n'est pas le bon.")]
        return _render(password_form=form, status=400)
    if _password_is(taxpayer, form.new_password.data):
        form.new_password.errors = [_("Choisissez un mot de passe différent de l'actuel.")]
        return _render(password_form=form, status=400)
    # The sessions opened elsewhere (perhaps by whoever knew the old password) end now.
    taxpayer_operations.change_password(
        taxpayer, form.new_password.data or "", keep_session=session.get(sessions.TAXPAYER_SID)
    )
    db.session.commit()
    flash(
        _(
            "Votre mot de passe a été changé. Vos autres sessions sont fermées, et les autres "
            "navigateurs devront confirmer votre identité par un code à la prochaine connexion."
        ),
        "success",
    )
    return remember_browser(redirect(url_for("taxpayer.account")), taxpayer)


@blueprint.get("/compte/courriel/<token>")
def confirm_email_change(token: str) -> str | tuple[str, int]:
    taxpayer = taxpayer_operations.confirm_email_change(token)
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


def _download(body: object, mimetype: str, extension: str) -> Response:
    stamp = utcnow().strftime("%Y%m%d")
    return Response(
        body,  # type: ignore[arg-type]
        mimetype=mimetype,
        headers={
            "Content-Disposition": (
                f'attachment; filename="mes-donnees-e-contacts-{stamp}.{extension}"'
            ),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@blueprint.get("/compte/export")
@taxpayer_required
def export() -> Response:
    """Right of access: everything about the taxpayer, as one JSON file."""
    data = taxpayers.export_data(me())
    return _download(json.dumps(data, ensure_ascii=False, indent=2), "application/json", "json")


@blueprint.get("/compte/export.pdf")
@taxpayer_required
def export_pdf() -> Response:
    """The same data as a readable PDF document."""
    return _download(documents.export_pdf(taxpayers.export_data(me())), "application/pdf", "pdf")


@blueprint.get("/compte/export.csv")
@taxpayer_required
def export_csv() -> Response:
    """The same exchanges as a CSV file (one line per message, formulas neutralised)."""
    stamp = utcnow().strftime("%Y%m%d")
    response = csv_response(
        f"mes-echanges-e-contacts-{stamp}.csv",
        documents.export_csv_rows(taxpayers.export_data(me())),
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


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
