"""The directory for administrators (offices, agents, topics, routing, templates, settings, the
CSV import, failed alerts, failed mailbox e-mails) and the office manager's screens (their
office's reply templates, the read log). Rules and usage: docs/directory.md."""

from __future__ import annotations

from flask import current_app
from flask_appbuilder import AppBuilder
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.directory import access
from views.admin.access_log import AccessLogView
from views.admin.directory import (
    OfficeKindView,
    OfficeView,
    ReplyTemplateView,
    RoutingRuleView,
    TaxMatterView,
    TopicView,
)
from views.admin.holds import LegalHoldView, RetentionReportView
from views.admin.imports import DirectoryImportView
from views.admin.inbound import FailedEmailsView
from views.admin.mailboxes import MailboxView
from views.admin.outbox import FailedAlertsView
from views.admin.passwords import must_change_password_first
from views.admin.settings import SettingsView
from views.admin.templates import OfficeTemplateView

DIRECTORY = "Directory"
DIRECTORY_LABEL = _l("Référentiel")
# Menu item names (FAB's "menu_access" permissions are given on these names).
MENU_OFFICE_TEMPLATES = "Office templates"
MENU_ACCESS_LOG = "Access log"


def register(appbuilder: AppBuilder) -> None:
    def directory(view: type, name: str, label: object, icon: str) -> None:
        appbuilder.add_view(
            view,
            name,
            label=label,
            icon=icon,
            category=DIRECTORY,
            category_label=DIRECTORY_LABEL,
            category_icon="fa-sitemap",
        )

    current_app.before_request(must_change_password_first)
    directory(OfficeView, "Offices", _l("Services"), "fa-building")
    directory(OfficeKindView, "Office kinds", _l("Types de service"), "fa-th-list")
    _move_user_view(appbuilder)
    directory(MailboxView, "Mailboxes", _l("Boîtes aux lettres"), "fa-envelope")
    directory(TopicView, "Topics", _l("Motifs de demande"), "fa-tags")
    directory(TaxMatterView, "Tax matters", _l("Impôts concernés"), "fa-folder")
    directory(RoutingRuleView, "Routing rules", _l("Règles d'aiguillage"), "fa-random")
    directory(ReplyTemplateView, "Reply templates", _l("Modèles de réponse"), "fa-file-text")
    directory(DirectoryImportView, "Directory import", _l("Import CSV"), "fa-upload")
    directory(SettingsView, "Settings", _l("Paramètres"), "fa-sliders")
    directory(FailedAlertsView, "Failed alerts", _l("Alertes en échec"), "fa-exclamation-triangle")
    directory(FailedEmailsView, "Failed e-mails", _l("Courriels en échec"), "fa-envelope-o")
    directory(LegalHoldView, "Legal holds", _l("Gels juridiques"), "fa-gavel")
    directory(
        RetentionReportView, "Retention reports", _l("Rapports de conservation"), "fa-archive"
    )

    # Office managers: top-level entries. Administrators reach every template from the directory.
    appbuilder.add_view(
        OfficeTemplateView,
        MENU_OFFICE_TEMPLATES,
        label=_l("Modèles de réponse"),
        icon="fa-file-text",
        menu_cond=lambda: not access.is_admin(current_user),
    )
    appbuilder.add_view(
        AccessLogView, MENU_ACCESS_LOG, label=_l("Journal des consultations"), icon="fa-eye"
    )


def _move_user_view(appbuilder: AppBuilder) -> None:
    """FAB lists agents under its "Security" menu: they belong to the directory, in French."""
    security = appbuilder.menu.find("Security")
    if security is not None:
        security.childs = [item for item in security.childs if item.name != "List Users"]
    user_view = getattr(appbuilder.sm, "user_view", None)
    if user_view is not None:
        appbuilder.add_link(
            "Agents",
            href=f"{type(user_view).__name__}.list",
            label=_l("Agents"),
            icon="fa-user",
            category=DIRECTORY,
            category_label=DIRECTORY_LABEL,
            category_icon="fa-sitemap",
        )
