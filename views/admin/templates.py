"""An office manager's reply templates: those of their own office, and nothing else.

The scope is in the data model itself (``ScopedInterface`` with ``access.templates_managed_by``):
list, show, edit, delete and any FAB action by primary key only ever find the manager's own
office's templates, and anything else is a 404. The office is not a form field: it is always
the manager's.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app import access
from models import ReplyTemplate, db
from views.admin.common import DirectoryModelView, ScopedInterface, yes_no
from views.admin.directory import TEMPLATE_BODY_HELP, TEMPLATE_LABELS, any_topic


def _managed() -> Any:
    return access.templates_managed_by(current_user)


class OfficeTemplateView(DirectoryModelView):
    route_base = "/modeles-du-service"
    datamodel = ScopedInterface(ReplyTemplate, _managed)
    class_permission_name = "OfficeTemplates"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]

    list_title = _l("Modèles de réponse du service")
    show_title = _l("Modèle de réponse")
    add_title = _l("Ajouter un modèle de réponse")
    edit_title = _l("Modifier un modèle de réponse")
    label_columns = TEMPLATE_LABELS
    list_columns = ["title", "topic", "active"]
    show_columns = ["title", "office", "topic", "body", "active"]
    add_columns = ["title", "topic", "body", "active"]
    edit_columns = add_columns
    search_columns = ["title", "topic", "active"]
    order_columns = ["title"]
    base_order = ("title", "asc")
    formatters_columns = {"active": yes_no, "topic": any_topic}
    description_columns = {"body": TEMPLATE_BODY_HELP}

    @expose("/list/")
    @has_access
    def list(self) -> Any:
        if access.is_admin(current_user) and not access.is_office_manager(current_user):
            # The navbar shows this entry to administrators too (FAB's menu ignores menu_cond):
            # theirs is the directory's list of every template.
            return redirect(url_for("ReplyTemplateView.list"))
        return super().list()

    def _own_office(self, item: ReplyTemplate) -> None:
        if not access.is_office_manager(current_user):
            # Administrators manage every template from the directory, offices included.
            raise PermissionError(_("Seul un chef de service gère les modèles de son service."))
        item.office_id = current_user.office_id

    def pre_add(self, item: ReplyTemplate) -> None:
        self._own_office(item)

    def pre_update(self, item: ReplyTemplate) -> None:
        managed = select(ReplyTemplate.id).where(
            ReplyTemplate.id == item.id, access.templates_managed_by(current_user)
        )
        with db.session.no_autoflush:  # the stored row decides, not what the form changed
            stored = db.session.scalar(managed)
        if stored is None:
            abort(404)
        self._own_office(item)
