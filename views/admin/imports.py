"""Loading offices and agents from a CSV file, with a dry run (app.directory.imports)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField
from wtforms.fields.choices import SelectChoice

from app.directory import imports as directory_import
from models import db


class ImportForm(FlaskForm):
    kind = RadioField(
        _l("Contenu du fichier"),
        choices=[
            SelectChoice(directory_import.OFFICES, _l("Services")),
            SelectChoice(directory_import.AGENTS, _l("Agents")),
        ],
        default=directory_import.OFFICES,
    )
    file = FileField(
        _l("Fichier CSV"),
        validators=[FileRequired(message=_l("Choisissez un fichier CSV."))],
    )
    dry_run = BooleanField(_l("Simulation (aucune modification)"), default=True)


class DirectoryImportView(BaseView):
    route_base = "/referentiel/import"
    default_view = "index"
    class_permission_name = "DirectoryImport"
    method_permission_name = {"index": "edit"}
    base_permissions = ["can_edit"]
    template = "admin/import.html"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def index(self) -> Any:
        form = ImportForm()
        report = None
        if request.method == "GET":
            form.dry_run.data = True
        if form.validate_on_submit():
            data = form.file.data.read()
            importer = directory_import.IMPORTERS[form.kind.data]
            report = importer(data, dry_run=bool(form.dry_run.data), by=current_user)
            if report.applied:
                db.session.commit()
            else:
                db.session.rollback()
        return self.render_template(
            self.template, form=form, report=report, title=_("Import du référentiel")
        )
