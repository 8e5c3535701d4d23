"""FAB's stock security screens in French: roles, groups, base permissions, screens and menus,
permissions per screen and the agent's own information (the password forms are
views/admin/passwords.py).

Same behaviour and the same class names as FAB's (so the same endpoints and permission names;
``EContactsSecurityManager`` points at these); only the words change: titles, column names,
messages, form labels, and roles and permissions shown by their French name and what they allow
(views/theme.py), never their code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security import views as fab
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import StringField
from wtforms.validators import DataRequired

from views.theme import permission_label, permission_view_label, role_description, role_label
from views.theme import view_label as screen_label


def _permissions_summary(permissions: Any) -> str:
    count = len(permissions or [])
    return (
        str(_l("%(count)s autorisations", count=count)) if count != 1 else str(_l("1 autorisation"))
    )


def _permissions_list(permissions: Any) -> Markup:
    items = sorted(
        permission_view_label(pv.permission.name, pv.view_menu.name) for pv in permissions or []
    )
    if not items:
        return escape(str(_l("Aucune autorisation")))
    return Markup('<ul class="fr-mb-0">{}</ul>').format(
        Markup("").join(Markup("<li>{}</li>").format(item) for item in items)
    )


def _role_name(name: str) -> Markup:
    description = role_description(name)
    label = escape(role_label(name))
    if not description:
        return label
    return Markup('{}<br><span class="fr-text--xs fr-text-mention--grey">{}</span>').format(
        label, description
    )


class RoleModelView(fab.RoleModelView):
    list_title = _l("Rôles")
    show_title = _l("Rôle")
    add_title = _l("Ajouter un rôle")
    edit_title = _l("Modifier un rôle")
    add_row_message = _l("Rôle enregistré.")
    edit_row_message = _l("Modifications enregistrées.")
    delete_row_message = _l("Rôle supprimé.")
    label_columns = {
        "name": _l("Rôle"),
        "permissions": _l("Autorisations"),
        "user": _l("Agents"),
        "groups": _l("Groupes"),
    }
    description_columns = {
        "permissions": _l("Ce que le rôle permet d'ouvrir et de faire, écran par écran.")
    }
    formatters_columns: dict[str, Callable[[Any], Any]] = {"name": _role_name}
    list_columns = ["name", "permissions"]

    # The list counts a role's permissions, its card lists them in words.
    def _get_list_widget(self, *args: Any, **kwargs: Any) -> Any:
        self.formatters_columns = {"name": _role_name, "permissions": _permissions_summary}
        return super()._get_list_widget(*args, **kwargs)

    def _get_show_widget(self, *args: Any, **kwargs: Any) -> Any:
        self.formatters_columns = {"name": _role_name, "permissions": _permissions_list}
        return super()._get_show_widget(*args, **kwargs)


class UserGroupModelView(fab.UserGroupModelView):
    list_title = _l("Groupes")
    show_title = _l("Groupe")
    add_title = _l("Ajouter un groupe")
    edit_title = _l("Modifier un groupe")
    label_columns = {
        "name": _l("Nom"),
        "label": _l("Libellé"),
        "description": _l("Description"),
        "users": _l("Agents"),
        "roles": _l("Rôles"),
    }


class PermissionModelView(fab.PermissionModelView):
    list_title = _l("Autorisations de base")
    show_title = _l("Autorisation de base")
    label_columns = {"name": _l("Autorisation"), "view_menu": _l("Écrans et menus")}
    formatters_columns = {"name": permission_label}


class ViewMenuModelView(fab.ViewMenuModelView):
    list_title = _l("Écrans et menus")
    show_title = _l("Écran ou menu")
    label_columns = {"name": _l("Écran ou entrée de menu"), "permission": _l("Autorisations")}
    formatters_columns = {"name": screen_label}


class PermissionViewModelView(fab.PermissionViewModelView):
    list_title = _l("Autorisations par écran")
    show_title = _l("Autorisation sur un écran")
    label_columns = {
        "permission": _l("Autorisation"),
        "view_menu": _l("Écran ou menu"),
        "role": _l("Rôles"),
    }
    formatters_columns = {
        "permission": lambda permission: permission_label(permission.name),
        "view_menu": lambda view_menu: screen_label(view_menu.name),
    }


class FrenchInfoForm(DynamicForm):
    first_name = StringField(
        _l("Prénom"),
        validators=[DataRequired(message=_l("Saisissez le prénom."))],
        widget=BS3TextFieldWidget(),
    )
    last_name = StringField(
        _l("Nom"),
        validators=[DataRequired(message=_l("Saisissez le nom."))],
        widget=BS3TextFieldWidget(),
    )


class UserInfoEditView(fab.UserInfoEditView):
    form = FrenchInfoForm
    form_title = _l("Modifier mes informations")
    message = _l("Informations enregistrées.")
