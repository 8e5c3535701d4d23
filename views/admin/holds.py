"""Legal holds for administrators: place one on a case or a taxpayer, lift it, with a
mandatory reason (``app.retention.holds``); and the reports of the retention runs, on screen and as
CSV (``app.retention``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import abort, flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Regexp

from app.platform.csvexport import csv_response
from app.platform.params import int_or_none
from app.platform.templating import PARIS
from app.retention import holds as legal_hold
from models import Case, RetentionCategory, RetentionItem, RetentionRun, Taxpayer, db

ITEMS_SHOWN = 200  # per category on the report page; the CSV has them all


def _reason() -> TextAreaField:
    return TextAreaField(
        _l("Motif"),
        description=_l("Obligatoire : la procédure ou la demande qui justifie le gel."),
        validators=[
            DataRequired(_l("Indiquez le motif.")),
            Length(max=legal_hold.REASON_MAX, message=_l("255 caractères au plus.")),
        ],
    )


class PlaceHoldForm(FlaskForm):
    target = StringField(
        _l("Demande ou usager"),
        description=_l(
            "La référence d'une demande, ou le numéro fiscal (13 chiffres) ou le SIREN "
            "(9 chiffres) d'un usager : le gel s'applique alors à toutes ses demandes."
        ),
        validators=[
            DataRequired(_l("Indiquez une référence, un numéro fiscal ou un SIREN.")),
            Length(max=40),
        ],
    )
    reason = _reason()


class LiftHoldForm(FlaskForm):
    kind = HiddenField(validators=[AnyOf(["case", "taxpayer"])])
    target_id = HiddenField(validators=[Regexp(r"^\d{1,10}$")])
    reason = _reason()


def _lift_target(form: LiftHoldForm) -> Case | Taxpayer:
    target_id = int_or_none(form.target_id.data)
    if target_id is None:
        abort(404)
    target: Case | Taxpayer | None = (
        db.session.get(Case, target_id)
        if form.kind.data == "case"
        else db.session.get(Taxpayer, target_id)
    )
    if target is None or not target.legal_hold:
        abort(404)
    return target


def _target_label(target: Case | Taxpayer) -> str:
    if isinstance(target, Case):
        return _("la demande %(reference)s", reference=target.reference)
    return _("l'usager %(name)s", name=str(target))


class LegalHoldView(BaseView):
    route_base = "/referentiel/gels-juridiques"
    default_view = "index"
    class_permission_name = "LegalHolds"
    method_permission_name = {"index": "list", "place": "edit", "lift": "edit"}
    base_permissions = ["can_list", "can_edit"]
    template = "admin/holds.html"

    def _render(
        self, place_form: PlaceHoldForm | None = None, status: int = 200, **context: Any
    ) -> tuple[str, int]:
        return self.render_template(
            self.template,
            title=_("Gels juridiques"),
            form=place_form or PlaceHoldForm(),
            holds=legal_hold.holds_in_force(),
            lift_form=LiftHoldForm(),
            **context,
        ), status

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._render()

    @expose("/poser", methods=["POST"])
    @has_access
    def place(self) -> Any:
        form = PlaceHoldForm()
        if not form.validate_on_submit():
            return self._render(form, 400)
        target = legal_hold.find_target(form.target.data or "")
        if target is None:
            form.target.errors = [
                _(
                    "Aucune demande ni aucun usager ne correspond à « %(text)s ».",
                    text=form.target.data,
                )
            ]
            return self._render(form, 400)
        try:
            legal_hold.place_hold(target, agent=current_user, reason=form.reason.data or "")
        except legal_hold.HoldRefused:
            form.target.errors = [
                _("%(what)s est déjà sous gel juridique.", what=_target_label(target).capitalize())
            ]
            return self._render(form, 400)
        db.session.commit()
        flash(_("Gel juridique posé sur %(what)s.", what=_target_label(target)), "success")
        return redirect(url_for("LegalHoldView.index"))

    @expose("/lever", methods=["POST"])
    @has_access
    def lift(self) -> Any:
        form = LiftHoldForm()
        if not form.validate_on_submit():
            if form.kind.errors or form.target_id.errors:
                abort(404)
            return self._render(
                status=400,
                lift_errors=form.reason.errors,
                lift_target=(form.kind.data, form.target_id.data),
            )
        target = _lift_target(form)
        legal_hold.lift_hold(target, agent=current_user, reason=form.reason.data or "")
        db.session.commit()
        flash(_("Gel juridique levé sur %(what)s.", what=_target_label(target)), "success")
        return redirect(url_for("LegalHoldView.index"))


# --- the retention reports ----------------------------------------------------------------------


def _run_or_404(run_id: int) -> RetentionRun:
    run = db.session.get(RetentionRun, run_id)
    if run is None:
        abort(404)
    return run


class RetentionReportView(BaseView):
    route_base = "/referentiel/conservation"
    default_view = "index"
    class_permission_name = "RetentionReports"
    method_permission_name = {"index": "list", "show": "list", "export": "list"}
    base_permissions = ["can_list"]

    @expose("/")
    @has_access
    def index(self) -> Any:
        runs = db.session.scalars(
            select(RetentionRun).order_by(RetentionRun.started_at.desc()).limit(100)
        ).all()
        return self.render_template(
            "admin/retention_runs.html", title=_("Rapports de conservation"), runs=runs
        )

    @expose("/<int:run_id>")
    @has_access
    def show(self, run_id: int) -> Any:
        run = _run_or_404(run_id)
        totals = dict(
            db.session.execute(
                select(RetentionItem.category, func.count())
                .where(RetentionItem.run_id == run.id)
                .group_by(RetentionItem.category)
            ).all()
        )
        sections = []
        for category in RetentionCategory:
            items = db.session.scalars(
                select(RetentionItem)
                .where(RetentionItem.run_id == run.id, RetentionItem.category == category)
                .order_by(RetentionItem.id)
                .limit(ITEMS_SHOWN)
            ).all()
            sections.append((category, totals.get(category, 0), items))
        return self.render_template(
            "admin/retention_run.html",
            title=_("Rapport de conservation"),
            run=run,
            sections=sections,
            shown=ITEMS_SHOWN,
        )

    @expose("/<int:run_id>/export.csv")
    @has_access
    def export(self, run_id: int) -> Any:
        run = _run_or_404(run_id)
        labels = {category: str(category.label) for category in RetentionCategory}
        header: list[object] = [
            _("Catégorie"),
            _("Référence"),
            _("Messages supprimés"),
            _("Pièces jointes supprimées"),
        ]

        def rows() -> Iterator[list[object]]:
            yield header
            statement = (
                select(
                    RetentionItem.category,
                    RetentionItem.reference,
                    RetentionItem.messages,
                    RetentionItem.attachments,
                )
                .where(RetentionItem.run_id == run.id)
                .order_by(RetentionItem.category, RetentionItem.id)
                .execution_options(yield_per=1000)
            )
            for category, reference, messages, attachments in db.session.execute(statement):
                yield [labels[category], reference, messages, attachments]

        stamp = run.started_at.astimezone(PARIS).strftime("%Y%m%d-%H%M")
        return csv_response(f"conservation-{stamp}.csv", rows())
