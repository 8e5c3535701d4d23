"""An office manager's reply templates: those of their own office, and nothing else.

The scope is in the data model itself (``ScopedInterface`` with ``access.templates_managed_by``,
as for the directory's list of every template):
list, show, edit, delete and any FAB action by primary key only ever find the manager's own
office's templates, and anything else is a 404. The office is not a form field: it is always
the manager's.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.directory import access
from models import ReplyTemplate
from views.admin.common import ScopedInterface
from views.admin.directory import (
    TEMPLATE_ACTION_HELP,
    TEMPLATE_BODY_HELP,
    ReplyTemplateView,
    templates_managed,
)


class OfficeTemplateView(ReplyTemplateView):
    """The directory's template screen under the same access scope, without the office field."""

    route_base = "/modeles-du-service"
    datamodel = ScopedInterface(ReplyTemplate, templates_managed)
    class_permission_name = "OfficeTemplates"

    list_title = _l("Modèles de réponse du service")
    list_columns = ["title", "topic", "action", "active"]
    add_columns = ["title", "topic", "body", "action", "closing_outcome", "active"]
    search_columns = ["title", "topic", "active"]
    description_columns = {"body": TEMPLATE_BODY_HELP, "action": TEMPLATE_ACTION_HELP}

    @expose("/list/")
    @has_access
    def list(self) -> Any:
        if access.uses_directory_templates(current_user):
            # The navbar shows this entry to administrators too (FAB's menu ignores menu_cond):
            # theirs is the directory's list of every template.
            return redirect(url_for("ReplyTemplateView.list"))
        return super().list()

    def pre_add(self, item: ReplyTemplate) -> None:
        # An edited row was found through the scoped data model (else FAB answered 404), and the
        # office is not a form field: either way the template is the manager's office's.
        if not access.manages_office_templates(current_user):
            # Administrators manage every template from the directory, offices included.
            raise PermissionError(_("Seul un chef de service gère les modèles de son service."))
        item.office_id = current_user.office_id

    pre_update = pre_add
