"""Every screen, menu entry and permission FAB registers has a French name (views/theme.py): the
roles' cards and the rights screens never show a code such as ``AgentNotices`` or
``can_this_form_get`` (issue 15)."""

from __future__ import annotations

from flask import Flask

from models import db
from views.theme import MENU_ENTRY_LABELS, PERMISSION_LABELS, VIEW_LABELS


def test_every_registered_view_menu_and_permission_has_a_french_name(app: Flask) -> None:
    with app.app_context():
        sm = app.appbuilder.sm  # type: ignore[attr-defined]
        views = {view.name for view in db.session.query(sm.viewmenu_model)}
        permissions = {permission.name for permission in db.session.query(sm.permission_model)}
    unnamed_views = sorted(views - set(VIEW_LABELS) - set(MENU_ENTRY_LABELS))
    unnamed_permissions = sorted(permissions - set(PERMISSION_LABELS))
    assert not unnamed_views, unnamed_views
    assert not unnamed_permissions, unnamed_permissions
