"""Agents' passwords: the administrator's reset and the agent's own change, in French, with the
password policy (``app.platform.passwords``). They replace FAB's stock ``/resetpassword/form`` and
``/resetmypassword/form`` (English and Spanish, no policy): same routes, same class names, so
FAB's "Reset Password" action and its permission names keep working."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from app.platform import passwords
from app.platform.params import int_or_none
from models import Agent, db


def _new_password() -> PasswordField:
    return PasswordField(
        _l("Nouveau mot de passe"),
        description=_l(
            "12 caractères au moins ; ni un mot de passe courant, ni l'identifiant de l'agent."
        ),
        validators=[DataRequired(_l("Choisissez un mot de passe.")), passwords.PasswordPolicy()],
    )


def _confirmation() -> PasswordField:
    return PasswordField(
        _l("Confirmation du mot de passe"),
        validators=[
            DataRequired(_l("Saisissez le mot de passe une seconde fois.")),
            EqualTo("password", message=_l("Les deux mots de passe sont différents.")),
        ],
    )


class AgentPasswordForm(FlaskForm):
    password = _new_password()
    conf_password = _confirmation()


class OwnPasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Mot de passe actuel"),
        validators=[
            DataRequired(_l("Saisissez votre mot de passe actuel.")),
            Length(max=passwords.MAX_LENGTH),
        ],
    )
    password = _new_password()
    conf_password = _confirmation()


def _agent_from_query() -> Agent:
    pk = int_or_none(request.args.get("pk"))
    if pk is None:
        abort(404)
    agent = db.session.get(Agent, pk)
    if agent is None:
        abort(404)
    return agent


class ResetPasswordView(BaseView):
    """An administrator sets an agent's password: the account is unlocked, the agent must
    choose a new password at the next sign-in, and their sessions end."""

    route_base = "/resetpassword"
    default_view = "this_form_get"
    template = "admin/password.html"

    def _render(self, form: FlaskForm, agent: Agent, status: int = 200) -> tuple[str, int]:
        return self.render_template(
            self.template,
            form=form,
            title=_("Réinitialiser le mot de passe"),
            agent=agent,
            own=False,
            back=url_for("AgentUserView.show", pk=agent.id),
        ), status

    @expose("/form", methods=["GET"])
    @has_access
    def this_form_get(self) -> Any:
        agent = _agent_from_query()
        return self._render(AgentPasswordForm(), agent)

    @expose("/form", methods=["POST"])
    @has_access
    def this_form_post(self) -> Any:
        agent = _agent_from_query()
        form = AgentPasswordForm()
        form.password_identifiers = [agent.username, agent.email]
        if not form.validate_on_submit():
            return self._render(form, agent, 400)
        self.appbuilder.sm.set_agent_password(
            agent, form.password.data or "", by=current_user, forced_change=True
        )
        db.session.commit()
        flash(
            _(
                "Mot de passe de %(name)s réinitialisé : le compte est débloqué, ses sessions "
                "sont fermées et il devra choisir un nouveau mot de passe à sa prochaine "
                "connexion.",
                name=agent.full_name,
            ),
            "success",
        )
        return redirect(url_for("AgentUserView.show", pk=agent.id))


class ResetMyPasswordView(BaseView):
    """An agent changes their own password (and must, after an administrator's reset)."""

    route_base = "/resetmypassword"
    default_view = "this_form_get"
    template = "admin/password.html"

    def _render(self, form: FlaskForm, status: int = 200) -> tuple[str, int]:
        return self.render_template(
            self.template,
            form=form,
            title=_("Changer mon mot de passe"),
            agent=current_user,
            own=True,
            back=url_for("AgentIndexView.index") if not current_user.must_change_password else None,
        ), status

    @expose("/form", methods=["GET"])
    @has_access
    def this_form_get(self) -> Any:
        return self._render(OwnPasswordForm())

    @expose("/form", methods=["POST"])
    @has_access
    def this_form_post(self) -> Any:
        agent: Agent = current_user
        form = OwnPasswordForm()
        form.password_identifiers = [agent.username, agent.email]
        if not form.validate_on_submit():
            return self._render(form, 400)
        if not check_password_hash(agent.password or "", form.current_password.data or ""):
            form.current_password.errors = [_("Ce mot de passe n'est pas le bon.")]
            return self._render(form, 400)
        if check_password_hash(agent.password or "", form.password.data or ""):
            form.password.errors = [_("Choisissez un mot de passe différent de l'actuel.")]
            return self._render(form, 400)
        sm = self.appbuilder.sm
        sm.set_agent_password(agent, form.password.data or "", by=agent, forced_change=False)
        db.session.commit()  # the other sessions ended; this one (its token kept) goes on
        flash(_("Votre mot de passe a été changé."), "success")
        return redirect(url_for("AgentIndexView.index"))


def must_change_password_first() -> Response | None:
    """Before every request: an agent whose password was reset by an administrator can only
    change it (or sign out) until they have. Static files and the sign-in pages are left alone
    (checked first: a static file loads no user, so a database outage cannot fail it)."""
    endpoint = request.endpoint or ""
    if endpoint.startswith(("ResetMyPasswordView.", "AuthDBView.", "static", "appbuilder.")):
        return None
    if not getattr(current_user, "is_authenticated", False):
        return None
    if not getattr(current_user, "must_change_password", False):
        return None
    if request.method == "GET":
        flash(
            _("Votre mot de passe a été réinitialisé : choisissez-en un nouveau pour continuer."),
            "warning",
        )
    return redirect(url_for("ResetMyPasswordView.this_form_get"))
