"""Flask-AppBuilder themed in the State design system (DSFR), the view side: the one module that
gives FAB's re-templated widgets (app/templates/appbuilder/) what they need, in French.

- template globals: the current menu entry and the breadcrumb trail, a list's caption and count,
  a form field's kind and choices (FAB's widgets write Bootstrap; the DSFR templates write the
  controls themselves), a cell's display value;
- French names of FAB's menu entries, filter operators, roles, permissions and screens (an
  administrator reads "Chef de service" and "Ouvrir les demandes du service", never
  ``office_manager`` or "can access on AgentCases").

See docs/design.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Flask, Response, abort, g, request
from flask_appbuilder import AppBuilder
from flask_appbuilder.menu import MenuItem
from flask_babel import format_decimal, ngettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import Field

from app.directory.access import (
    ROLE_ADMIN,
    ROLE_AGENT,
    ROLE_CORRESPONDENT,
    ROLE_OFFICE_MANAGER,
    ROLE_STEERING,
)
from app.platform.templating import format_datetime

# --- roles ------------------------------------------------------------------------------------

ROLE_LABELS = {
    ROLE_AGENT: _l("Agent"),
    ROLE_OFFICE_MANAGER: _l("Chef de service"),
    ROLE_STEERING: _l("Pilotage"),
    ROLE_CORRESPONDENT: _l("Correspondant départemental"),
    ROLE_ADMIN: _l("Administrateur"),
}
PUBLIC_ROLE = "Public"  # FAB's role of pages open without signing in
ROLE_DESCRIPTIONS = {
    ROLE_AGENT: _l(
        "Traite les demandes de son service, enregistre les contacts au téléphone et au "
        "guichet, consulte la fiche de synthèse d'un usager."
    ),
    ROLE_OFFICE_MANAGER: _l(
        "Comme un agent, et attribue les demandes, gère les modèles de réponse du service, lit "
        "son journal des consultations et ses statistiques."
    ),
    ROLE_STEERING: _l(
        "Consulte les statistiques de sa direction ou de sa délégation, sans le contenu des "
        "messages ni l'identité des usagers."
    ),
    ROLE_CORRESPONDENT: _l(
        "Répond aux difficultés que signalent les agents de sa direction et suit les "
        "signalements jusqu'à leur clôture."
    ),
    ROLE_ADMIN: _l(
        "Gère le référentiel (services, agents, motifs, règles, modèles), les paramètres et "
        "les droits ; lit tout le journal des consultations."
    ),
    PUBLIC_ROLE: _l("Les pages ouvertes sans connexion."),
}


def role_label(name: str) -> str:
    if name == PUBLIC_ROLE:
        return str(_l("Public (sans connexion)"))
    return str(ROLE_LABELS.get(name, name))


def role_description(name: str) -> str:
    return str(ROLE_DESCRIPTIONS.get(name, ""))


# --- permissions: (permission, screen) in words --------------------------------------------

PERMISSION_LABELS = {
    "can_access": _l("Ouvrir"),
    "can_list": _l("Lister"),
    "can_show": _l("Voir le détail"),
    "can_add": _l("Ajouter"),
    "can_edit": _l("Modifier"),
    "can_delete": _l("Supprimer"),
    "can_download": _l("Télécharger"),
    "can_userinfo": _l("Voir son compte"),
    "can_this_form_get": _l("Ouvrir le formulaire"),
    "can_this_form_post": _l("Envoyer le formulaire"),
    "can_get": _l("Lire"),
    "menu_access": _l("Voir dans le menu"),
    "copyrole": _l("Copier un rôle"),
    "resetpasswords": _l("Changer le mot de passe d'un agent"),
    "resetmypassword": _l("Changer son mot de passe"),
    "userinfoedit": _l("Modifier ses informations"),
    "reset_second_factor": _l("Réinitialiser le second facteur"),
    "unlock": _l("Débloquer un compte"),
    "end_agent_sessions": _l("Fermer les sessions d'un agent"),
}
VIEW_LABELS = {
    "AgentHome": _l("l'accueil des agents"),
    "AgentIndexView": _l("l'accueil des agents"),
    "AgentCases": _l("les demandes du service"),
    "AgentSearch": _l("la recherche"),
    "Contacts": _l("l'enregistrement des contacts"),
    "TaxpayerSummary": _l("la fiche de synthèse d'un usager"),
    "Steering": _l("le pilotage (statistiques)"),
    "OfficeTemplates": _l("les modèles de réponse du service"),
    "AccessLog": _l("le journal des consultations"),
    "Offices": _l("les services"),
    "Topics": _l("les motifs de demande"),
    "TaxMatters": _l("les impôts concernés"),
    "RoutingRules": _l("les règles d'aiguillage"),
    "ReplyTemplates": _l("les modèles de réponse"),
    "DirectoryImport": _l("l'import CSV du référentiel"),
    "Settings": _l("les paramètres"),
    "FailedAlerts": _l("les alertes en échec"),
    "UserDBModelView": _l("les agents"),
    "RoleModelView": _l("les rôles"),
    "UserGroupModelView": _l("les groupes"),
    "PermissionModelView": _l("les autorisations de base"),
    "ViewMenuModelView": _l("les écrans et menus"),
    "PermissionViewModelView": _l("les autorisations par écran"),
    "UserInfoEditView": _l("ses informations personnelles"),
    "ResetPasswordView": _l("le changement de mot de passe d'un agent"),
    "ResetMyPasswordView": _l("le changement de son mot de passe"),
    "MenuApi": _l("le menu (API)"),
    "SecurityApi": _l("la connexion (API)"),
    "ClosedSecurityApi": _l("la connexion par l'API (fermée)"),
    "AuthDBView": _l("la connexion des agents"),
    "LocaleView": _l("le choix de la langue"),
    "UtilView": _l("le retour à la page précédente"),
    # Added by the agent's day, administration and reliability branches (issues 16, 18, 22).
    "AgentNotices": _l("ses avis (« Mes avis »)"),
    "AgentTags": _l("les étiquettes du service"),
    "LegalHolds": _l("les gels juridiques"),
    "OfficeKinds": _l("les types de service"),
    "RetentionReports": _l("les rapports de conservation"),
    # Added by the help, mail and training branches (issue 19).
    "AgentHelp": _l("l'aide en ligne des agents"),
    "AgentReports": _l("les signalements de difficultés"),
    "Mailboxes": _l("les boîtes aux lettres des services"),
    "FailedEmails": _l("les courriels des boîtes aux lettres en échec"),
    "Training": _l("l'espace de formation"),
}
# Menu entries (permission "menu_access"), by the name FAB gives them.
MENU_ENTRY_LABELS = {
    "Demandes": _l("« Demandes »"),
    "Rechercher": _l("« Rechercher »"),
    "RecordContact": _l("« Enregistrer un contact »"),
    "Pilotage": _l("« Pilotage »"),
    "Directory": _l("« Référentiel »"),
    "Security": _l("« Droits d'accès »"),
    "Office templates": _l("« Modèles de réponse du service »"),
    "Access log": _l("« Journal des consultations »"),
    "Agents": _l("« Agents »"),
    "Offices": _l("« Services »"),
    "Mailboxes": _l("« Boîtes aux lettres »"),
    "Formation": _l("« Formation »"),
    "Topics": _l("« Motifs de demande »"),
    "Tax matters": _l("« Impôts concernés »"),
    "Routing rules": _l("« Règles d'aiguillage »"),
    "Reply templates": _l("« Modèles de réponse »"),
    "Directory import": _l("« Import CSV »"),
    "Settings": _l("« Paramètres »"),
    "Failed alerts": _l("« Alertes en échec »"),
    "Failed e-mails": _l("« Courriels en échec »"),
    "List Users": _l("« Agents »"),
    "List Roles": _l("« Rôles »"),
    "List Groups": _l("« Groupes »"),
    "Base Permissions": _l("« Autorisations de base »"),
    "Views/Menus": _l("« Écrans et menus »"),
    "Permission on Views/Menus": _l("« Autorisations par écran »"),
    "Étiquettes": _l("« Étiquettes »"),
    "Legal holds": _l("« Gels juridiques »"),
    "Office kinds": _l("« Types de service »"),
    "Retention reports": _l("« Rapports de conservation »"),
}


def permission_label(name: str) -> str:
    return str(PERMISSION_LABELS.get(name, name.replace("_", " ")))


def view_label(name: str) -> str:
    """A screen's name, or a menu entry's for the names that are only menu entries."""
    return str(VIEW_LABELS.get(name) or MENU_ENTRY_LABELS.get(name) or name)


def permission_view_label(permission: str, view: str) -> str:
    if permission == "menu_access":
        entry = MENU_ENTRY_LABELS.get(view, view)
        return str(_l("Voir l'entrée %(entry)s du menu", entry=entry))
    return f"{permission_label(permission)} {view_label(view)}"


# --- FAB's menu and filter operators -------------------------------------------------------

MENU_LABELS = {
    "Security": _l("Droits d'accès"),
    "List Users": _l("Agents"),
    "List Roles": _l("Rôles"),
    "List Groups": _l("Groupes"),
    "Base Permissions": _l("Autorisations de base"),
    "Views/Menus": _l("Écrans et menus"),
    "Permission on Views/Menus": _l("Autorisations par écran"),
}

FILTER_LABELS = {
    "sw": _l("Commence par"),
    "nsw": _l("Ne commence pas par"),
    "ew": _l("Se termine par"),
    "new": _l("Ne se termine pas par"),
    "ct": _l("Contient"),
    "nct": _l("Ne contient pas"),
    "eq": _l("Égal à"),
    "neq": _l("Différent de"),
    "gt": _l("Supérieur à"),
    "lt": _l("Inférieur à"),
    "in": _l("Parmi"),
    "not_in": _l("Hors de"),
    "rel_o_m": _l("Est"),
    "nrel_o_m": _l("N'est pas"),
    "rel_m_m": _l("Comprend"),
    "eqf": _l("Égal à"),
    "inf": _l("Parmi"),
}


def filter_label(flt: Any) -> str:
    return str(FILTER_LABELS.get(getattr(flt, "arg_name", ""), flt.name))


# --- what the templates call --------------------------------------------------------------


def _menu_base(url: str) -> str:
    """A FAB list's URL stands for its whole screen (list, show, edit, add)."""
    for suffix in ("list/", "list"):
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


def _current_menu(appbuilder: AppBuilder) -> tuple[MenuItem | None, MenuItem | None]:
    """(category, item) of the menu entry the current page belongs to: the longest URL prefix."""
    if "ec_menu" in g:
        return g.ec_menu
    best: tuple[int, MenuItem | None, MenuItem | None] = (0, None, None)
    path = request.path
    for item1 in appbuilder.menu.get_list():
        for category, item in [(None, item1), *((item1, c) for c in item1.childs or [])]:
            if not item or item.name == "-" or item.childs:
                continue
            try:
                base = _menu_base(item.get_url())
            except Exception:  # noqa: BLE001, S112 - an entry whose view is not registered
                continue
            if base not in ("", "/") and path.startswith(base) and len(base) > best[0]:
                best = (len(base), category, item)
    g.ec_menu = (best[1], best[2])
    return g.ec_menu


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


def _choice_label(label: Any) -> str:
    """A related object's label in words (roles and permissions are stored as codes)."""
    from flask_appbuilder.security.sqla.models import Permission, PermissionView, Role, ViewMenu

    if isinstance(label, Role):
        return role_label(label.name)
    if isinstance(label, PermissionView):
        return permission_view_label(label.permission.name, label.view_menu.name)
    if isinstance(label, Permission):
        return permission_label(label.name)
    if isinstance(label, ViewMenu):
        return view_label(label.name)
    return str(label)


def field_kind(field: Field) -> str:
    """How the DSFR templates write a form field's control."""
    kind = field.type
    if kind in ("BooleanField",):
        return "checkbox"
    if kind in ("QuerySelectMultipleField", "SelectMultipleField"):
        return "multiple"
    if kind in ("QuerySelectField", "SelectField", "Select2Field", "EnumField"):
        return "select"
    if hasattr(field, "iter_choices"):
        return "multiple" if getattr(field, "_ec_multiple", False) else "select"
    if kind in ("TextAreaField",):
        return "textarea"
    if kind in ("PasswordField",):
        return "password"
    if kind in ("DateField",):
        return "date"
    if kind in ("DateTimeField",):
        return "datetime"
    return "text"


def field_choices(field: Field, value: Any = None) -> Iterator[Choice]:
    """A select's choices with French labels; ``value`` (a filter's) wins over the field's."""
    for option in field.iter_choices():
        key, label, selected = option[0], option[1], option[2]
        key = str(key)
        if key in ("__None", "") and not str(label or "").strip():
            label = _l("— Aucun —")
        if value is not None:
            selected = key == str(value)
        # FAB's get_label gives the object's str(); map roles and permissions to words.
        obj = next((o for pk, o in _objects(field) if str(pk) == key), None)
        text = _choice_label(obj) if obj is not None else str(label)
        yield Choice(key, text if obj is None or text != str(obj) else str(label), bool(selected))


def _objects(field: Field) -> Iterable[tuple[Any, Any]]:
    getter = getattr(field, "_get_object_list", None)
    if getter is None:
        return ()
    objects = getattr(field, "_ec_objects", None)
    if objects is None:
        objects = list(getter())
        field._ec_objects = objects
    return objects


def display_value(value: Any) -> Any:
    """A cell or a card's value in French: dates, numbers, booleans, lists, roles."""
    from flask_appbuilder.security.sqla.models import PermissionView, Role

    if value is None or value == "":
        return Markup('<span class="fr-text-mention--grey">—</span>')
    if isinstance(value, bool):
        return _l("Oui") if value else _l("Non")
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, int | float):
        return format_decimal(value)
    if isinstance(value, Role):
        return role_label(value.name)
    if isinstance(value, PermissionView):
        return permission_view_label(value.permission.name, value.view_menu.name)
    if isinstance(value, list | tuple | set):
        return ", ".join(str(display_value(v)) for v in value) or Markup("—")
    return value


def count_rows(count: int) -> str:
    return ngettext("%(n)s résultat", "%(n)s résultats", count, n=_number(count))


def _number(value: int) -> str:
    return format_decimal(value)


def _no_fab_static(filename: str) -> Response:
    """FAB's own files (Bootstrap 3, jQuery, select2, Font Awesome) are used by no page: none is
    served, so none can come back by accident."""
    abort(404)


def init_app(app: Flask, appbuilder: AppBuilder) -> None:
    """Register the template helpers and put FAB's own menu entries in French."""
    if "appbuilder.static" in app.view_functions:
        app.view_functions["appbuilder.static"] = _no_fab_static
    for item1 in appbuilder.menu.get_list():
        for item in [item1, *(item1.childs or [])]:
            if item and item.name in MENU_LABELS:
                item.label = MENU_LABELS[item.name]

    def menu_item_current(item: MenuItem) -> bool:
        return _current_menu(appbuilder)[1] is item

    def breadcrumb_trail() -> list[tuple[str, str | None]]:
        category, item = _current_menu(appbuilder)
        trail: list[tuple[str, str | None]] = []
        if category is not None:
            trail.append((str(category.label), None))
        if item is not None:
            url = item.get_url()
            trail.append((str(item.label), None if url == request.path else url))
        return trail

    def list_caption(modelview_name: str, count: int) -> str:
        view = next((v for v in appbuilder.baseviews if type(v).__name__ == modelview_name), None)
        title = str(getattr(view, "list_title", "") or "")
        return f"{title} ({count_rows(count)})" if title else count_rows(count)

    app.jinja_env.globals.update(
        menu_item_current=menu_item_current,
        breadcrumb_trail=breadcrumb_trail,
        list_caption=list_caption,
        count_rows=count_rows,
        field_kind=field_kind,
        field_choices=field_choices,
        display_value=display_value,
        filter_label=filter_label,
        role_label=role_label,
        role_description=role_description,
        permission_view_label=permission_view_label,
    )
