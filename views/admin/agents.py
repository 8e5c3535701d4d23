"""Agents for administrators: FAB's user screen bound to an office, with our four roles, the
second factor's state and its reset. ``EContactsSecurityManager.userdbmodelview`` points here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action as fab_action
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.models.sqla.filters import FilterIn
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from app.directory import operations
from app.directory.imports import ROLES_NEEDING_OFFICE
from app.platform import passwords, sessions
from app.platform.templating import local
from models import Agent, db, utcnow
from views.admin.common import InUse, refuse_delete_if_referenced, text_or, yes_no
from views.theme import ROLE_LABELS, role_label


def _roles(roles: Any) -> str:
    return ", ".join(role_label(role.name) for role in roles or [])


def _second_factor(secret: str | None) -> str:
    return _("Activé") if secret else _("Non activé")


def _lock(until: datetime | None) -> str:
    if until is None or until <= utcnow():
        return _("Non bloqué")
    return _("Bloqué jusqu'à %(time)s", time=local(until).strftime("%H:%M"))  # type: ignore[union-attr]


class AgentInterface(SQLAInterface):
    """FAB's data model of ``ab_user``, loading each agent's roles with the page of agents (one
    query for the page rather than one per row of the list)."""

    def get_related_interface(self, col_name: str) -> SQLAInterface:
        # FAB builds the related models' interfaces (the form's offices, roles) from this class.
        return SQLAInterface(self.get_related_model(col_name), self.session)

    def get_related_obj(self, col_name: str, value: Any) -> Any:
        # FAB uses Query.get (legacy in SQLAlchemy 2.x, a warning, an error in the tests); the
        # role's card lists its agents through this filter.
        return self.session.get(self.get_related_model(col_name), value)

    def apply_all(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return super().apply_all(query, *args, **kwargs).options(selectinload(Agent.roles))


class AgentUserView(UserDBModelView):
    """The agents' list, card, creation and edition (FAB's ``/users`` screen, in French)."""

    class_permission_name = "UserDBModelView"
    exclude_route_methods = {"download"}
    add_row_message = _l("Agent enregistré.")
    edit_row_message = _l("Modifications enregistrées.")
    delete_row_message = _l("Agent supprimé.")
    database_error_message = _l("L'enregistrement a échoué : rien n'a été modifié.")
    list_title = _l("Agents")
    show_title = _l("Agent")
    add_title = _l("Ajouter un agent")
    edit_title = _l("Modifier un agent")
    user_info_title = _l("Mon compte")

    label_columns = {
        "first_name": _l("Prénom"),
        "last_name": _l("Nom"),
        "username": _l("Identifiant"),
        "password": _l("Mot de passe"),
        "conf_password": _l("Confirmation du mot de passe"),
        "active": _l("Actif"),
        "email": _l("Adresse électronique"),
        "office": _l("Service"),
        "roles": _l("Rôles"),
        "otp_secret": _l("Second facteur"),
        "locked_until": _l("Connexion"),
        "must_change_password": _l("Mot de passe à changer"),
        "last_login": _l("Dernière connexion"),
        "login_count": _l("Nombre de connexions"),
        "fail_login_count": _l("Échecs de connexion"),
        "created_on": _l("Créé le"),
        "changed_on": _l("Modifié le"),
        "created_by": _l("Créé par"),
        "changed_by": _l("Modifié par"),
    }
    description_columns = {
        "username": _l("L'identifiant de connexion de l'agent."),
        "office": _l("Le service de l'agent : il y traite les demandes de ce service."),
        "roles": _l(
            "Agent : traite les demandes. Chef de service : attribue les demandes, gère les "
            "modèles du service et lit son journal des consultations. Pilotage : statistiques "
            "de sa direction. Administrateur : référentiel et paramètres."
        ),
        "active": _l("Un agent désactivé ne peut plus se connecter ; son historique est conservé."),
    }
    list_columns = [
        "username",
        "first_name",
        "last_name",
        "office",
        "roles",
        "active",
        "otp_secret",
        "locked_until",
    ]
    show_fieldsets = [
        (
            _l("Agent"),
            {
                "fields": [
                    "username",
                    "first_name",
                    "last_name",
                    "email",
                    "office",
                    "roles",
                    "active",
                    "otp_secret",
                    "locked_until",
                    "must_change_password",
                ]
            },
        ),
        (
            _l("Connexions"),
            {
                "fields": ["last_login", "login_count", "fail_login_count", "created_on"],
                "expanded": False,
            },
        ),
    ]
    user_show_fieldsets = [
        (
            _l("Mon compte"),
            {"fields": ["username", "first_name", "last_name", "email", "office", "roles"]},
        )
    ]
    search_columns = ["username", "first_name", "last_name", "email", "office", "roles", "active"]
    order_columns = ["username", "first_name", "last_name"]
    base_order = ("username", "asc")
    add_columns = [
        "first_name",
        "last_name",
        "username",
        "email",
        "office",
        "roles",
        "active",
        "password",
        "conf_password",
    ]
    edit_columns = ["first_name", "last_name", "username", "email", "office", "roles", "active"]
    formatters_columns = {
        "roles": _roles,
        "active": yes_no,
        "otp_secret": _second_factor,
        "locked_until": _lock,
        "must_change_password": yes_no,
        "office": text_or(),
    }
    validators_columns = {"roles": [DataRequired(message=_l("Choisissez au moins un rôle."))]}
    add_form_query_rel_fields = {"roles": [["name", FilterIn, list(ROLE_LABELS)]]}
    edit_form_query_rel_fields = add_form_query_rel_fields
    add_form_extra_fields = {
        "password": PasswordField(
            _l("Mot de passe"),
            description=_l(
                "12 caractères au moins ; ni un mot de passe courant, ni l'identifiant de "
                "l'agent. L'agent pourra le changer."
            ),
            validators=[DataRequired(), passwords.PasswordPolicy("username", "email")],
            widget=BS3PasswordFieldWidget(),
        ),
        "conf_password": PasswordField(
            _l("Confirmation du mot de passe"),
            validators=[
                DataRequired(),
                EqualTo("password", message=_l("Les deux mots de passe sont différents.")),
            ],
            widget=BS3PasswordFieldWidget(),
        ),
    }

    def __init__(self, **kwargs: Any) -> None:
        # FAB's security manager sets a bare SQLAInterface on this class before creating it.
        self.datamodel = AgentInterface(Agent, db.session)
        super().__init__(**kwargs)

    @staticmethod
    def _check_office(item: Agent) -> None:
        needs_office = any(role.name in ROLES_NEEDING_OFFICE for role in item.roles or [])
        if needs_office and item.office is None:
            raise InUse(
                _(
                    "Un agent, un chef de service ou un pilote est rattaché à un service : "
                    "choisissez-le."
                )
            )

    def pre_add(self, item: Agent) -> None:
        self._check_office(item)
        super().pre_add(item)

    def pre_update(self, item: Agent) -> None:
        self._check_office(item)
        super().pre_update(item)

    def pre_delete(self, item: Agent) -> None:
        refuse_delete_if_referenced(item, ignore=("ab_user_role", "ab_user_group"))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> Any:
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        names = ["resetpasswords", "reset_second_factor", "end_agent_sessions"]
        if item.locked_until is not None and item.locked_until > utcnow():
            names.insert(0, "unlock")
        actions = {name: self.actions[name] for name in names}
        widgets = self._get_show_widget(pk, item, actions=actions)
        self.update_redirect()
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=widgets,
            related_views=self._related_views,
        )

    @fab_action(
        "unlock",
        _l("Débloquer"),
        _l("Le compte sera débloqué et ses échecs de connexion oubliés. Continuer ?"),
        "fa-unlock",
        multiple=False,
    )
    def unlock(self, item: Agent) -> Response:
        agent = item[0] if isinstance(item, list) else item
        operations.unlock_agent(agent=agent, by=current_user)
        db.session.commit()
        flash(_("Compte de %(name)s débloqué.", name=agent.full_name), "success")
        return redirect(url_for(f"{type(self).__name__}.show", pk=agent.id))

    @fab_action(
        "reset_second_factor",
        _l("Réinitialiser le second facteur"),
        _l("L'agent devra enrôler un nouveau second facteur à sa prochaine connexion. Continuer ?"),
        "fa-key",
        multiple=False,  # from the agent's card (FAB's list checkboxes have no labels)
    )
    def reset_second_factor(self, items: Any) -> Response:
        agents = items if isinstance(items, list) else [items]
        agents = [agent for agent in agents if agent is not None]
        operations.reset_second_factor(agents=agents, by=current_user)
        db.session.commit()
        flash(
            _(
                "Second facteur réinitialisé pour %(count)d agent(s) : il sera enrôlé à la "
                "prochaine connexion.",
                count=len(agents),
            ),
            "success",
        )
        if len(agents) == 1:
            return redirect(url_for(f"{type(self).__name__}.show", pk=agents[0].id))
        return redirect(url_for(f"{type(self).__name__}.list"))

    @fab_action(
        "end_agent_sessions",
        _l("Fermer ses sessions"),
        _l("Toutes les sessions ouvertes de cet agent seront fermées à l'instant. Continuer ?"),
        "fa-sign-out",
        multiple=False,
    )
    def end_agent_sessions(self, items: Any) -> Response:
        agents = [agent for agent in (items if isinstance(items, list) else [items]) if agent]
        ended = sum(sessions.end_sessions(agent=agent, reason=sessions.ADMIN) for agent in agents)
        db.session.commit()
        flash(_("%(count)d session(s) fermée(s).", count=ended), "success")
        if len(agents) == 1:
            return redirect(url_for(f"{type(self).__name__}.show", pk=agents[0].id))
        return redirect(url_for(f"{type(self).__name__}.list"))
