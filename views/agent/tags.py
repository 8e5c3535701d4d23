"""An office's tags, managed by its office manager (the agents put them on cases)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.cases import access, operations, organise
from app.directory import access as directory_access
from models import Tag, db


class TagsView(BaseView):
    route_base = "/agent/etiquettes"
    class_permission_name = "AgentTags"
    default_view = "list"
    method_permission_name = dict.fromkeys(("list", "add", "retire"), "access")

    def _render(self, *, error: str = "", name: str = "", status: int = 200) -> Any:
        tags = list(
            db.session.scalars(
                select(Tag).where(access.tags_managed_by(current_user)).order_by(Tag.name)
            )
        )
        html = self.render_template("agent/tags.html", tags=tags, error=error, name=name)
        return (html, status) if status != 200 else html

    @expose("/")
    @has_access
    def list(self) -> Any:
        if not directory_access.is_office_manager(current_user):
            abort(404)
        html = self._render()
        db.session.rollback()
        return html

    @expose("/", methods=["POST"])
    @has_access
    def add(self) -> Any:
        if not directory_access.is_office_manager(current_user):
            abort(404)
        name = request.form.get("name", "")
        try:
            tag = organise.create_tag(agent=current_user, name=name)
            created = tag.name
            db.session.commit()
        except operations.OperationError as error:
            db.session.rollback()
            return self._render(error=error.message, name=name[:60], status=400)
        flash(
            _("L'étiquette « %(name)s » est disponible pour le service.", name=created), "success"
        )
        return redirect(url_for("TagsView.list"))

    @expose("/<int:tag_id>/retirer", methods=["POST"])
    @has_access
    def retire(self, tag_id: int) -> Response:
        tag = db.session.scalar(
            select(Tag).where(Tag.id == tag_id, access.tags_managed_by(current_user))
        )
        if tag is None:
            abort(404)
        organise.retire_tag(agent=current_user, tag=tag)
        name = tag.name
        db.session.commit()
        flash(
            _("L'étiquette « %(name)s » n'est plus proposée ; les demandes la gardent.", name=name),
            "success",
        )
        return redirect(url_for("TagsView.list"))
