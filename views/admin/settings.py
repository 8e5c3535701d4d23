"""Run-time settings for administrators: the intake pause (cut-over week) and messaging."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.directory import operations, settings
from models import db


class SettingsForm(FlaskForm):
    paused = BooleanField(_l("Suspendre le dépôt de nouvelles demandes en ligne"))
    reopens_on = DateField(
        _l("Date de réouverture annoncée"),
        validators=[Optional()],
        description=_l("Affichée aux usagers pendant la suspension (facultative)."),
    )
    replies_allowed = BooleanField(
        _l("Les usagers peuvent toujours répondre à leurs demandes en cours")
    )
    notice = TextAreaField(
        _l("Message affiché aux usagers pendant la suspension"),
        validators=[Length(max=1000, message=_l("1 000 caractères au plus."))],
    )
    reopen_period_days = IntegerField(
        _l("Délai de réouverture d'une demande close (jours)"),
        validators=[
            InputRequired(message=_l("Indiquez un nombre de jours.")),
            NumberRange(min=0, max=365, message=_l("Entre 0 et 365 jours.")),
        ],
        description=_l("Pendant ce délai après la clôture, une réponse de l'usager la rouvre."),
    )
    show_agent_names = BooleanField(_l("Montrer aux usagers le nom de l'agent qui répond"))

    def validate_reopens_on(self, field: Any) -> None:
        if self.paused.data and field.data is not None and field.data < date.today():
            raise ValidationError(_("La date de réouverture est déjà passée."))


class SettingsView(BaseView):
    route_base = "/referentiel/parametres"
    default_view = "index"
    class_permission_name = "Settings"
    method_permission_name = {"index": "edit"}
    base_permissions = ["can_edit"]
    template = "admin/settings.html"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def index(self) -> Any:
        intake = settings.intake()
        messaging = settings.messaging()
        form = SettingsForm(
            data={
                "paused": intake.paused,
                "reopens_on": intake.reopens_on,
                "replies_allowed": intake.replies_allowed,
                "notice": intake.notice,
                "reopen_period_days": messaging.reopen_period_days,
                "show_agent_names": messaging.show_agent_names,
            }
        )
        if form.validate_on_submit():
            operations.store_setting(
                settings.INTAKE,
                {
                    "paused": bool(form.paused.data),
                    "reopens_on": form.reopens_on.data.isoformat()
                    if form.reopens_on.data
                    else None,
                    "replies_allowed": bool(form.replies_allowed.data),
                    "notice": (form.notice.data or "").strip(),
                },
                by=current_user,
            )
            operations.store_setting(
                settings.MESSAGING,
                {
                    "reopen_period_days": int(form.reopen_period_days.data),
                    "show_agent_names": bool(form.show_agent_names.data),
                },
                by=current_user,
            )
            db.session.commit()
            if form.paused.data:
                flash(
                    _("Paramètres enregistrés : le dépôt de nouvelles demandes est suspendu."),
                    "warning",
                )
            else:
                flash(_("Paramètres enregistrés : le dépôt de demandes est ouvert."), "success")
            return redirect(url_for(f"{type(self).__name__}.index"))
        return self.render_template(self.template, form=form, intake=intake, title=_("Paramètres"))
