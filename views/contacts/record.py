"""Recording a phone call, a counter visit or a letter; attaching an unidentified contact later."""

from __future__ import annotations

import secrets
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from app.cases import access, operations, routing
from app.cases.operations import AGENT_CHANNELS, DISPOSITIONS, FORWARDED, HANDLED, OperationError
from app.cases.summary import SearchResult, search_taxpayers, taxpayer_for_agent
from app.directory import kinds
from app.fab.security import signed_in
from app.platform.params import int_or_none
from models import Channel, Message, Office, TaxMatter, Taxpayer, Topic, Transfer, db, utcnow
from views.contacts.guard import PERMISSION, agents_only


def _disposition_labels() -> dict[str, str]:
    return {
        operations.HANDLED: _("Traité sur place"),
        operations.KEPT: _("À traiter dans mon service"),
        operations.FORWARDED: _("Transmettre au service compétent"),
    }


def _search_terms() -> dict[str, str]:
    return {key: request.args.get(key, "").strip() for key in ("identifier", "name", "commune")}


def _topics(taxpayer: Taxpayer | None) -> list[Topic]:
    query = (
        select(Topic)
        .options(joinedload(Topic.parent))
        .where(Topic.active.is_(True), ~Topic.children.any())
    )
    if taxpayer is not None:
        query = query.where(Topic.taxpayer_kind.is_(None) | (Topic.taxpayer_kind == taxpayer.kind))
    topics = list(db.session.scalars(query))
    return sorted(
        topics,
        key=lambda t: (
            t.parent.position if t.parent else t.position,
            t.parent.label if t.parent else t.label,
            t.position,
            t.label,
        ),
    )


def _tax_matters(taxpayer: Taxpayer | None) -> list[TaxMatter]:
    query = select(TaxMatter).where(TaxMatter.active.is_(True))
    if taxpayer is not None:
        query = query.where(
            TaxMatter.taxpayer_kind.is_(None) | (TaxMatter.taxpayer_kind == taxpayer.kind)
        )
    return list(db.session.scalars(query.order_by(TaxMatter.position, TaxMatter.label)))


def _receiving_offices(agent: Any) -> list[Office]:
    return list(
        db.session.scalars(
            select(Office)
            .where(
                Office.active.is_(True),
                kinds.receiving_transfers(),
                Office.id != agent.office_id,
            )
            .order_by(Office.name)
        )
    )


def _competent(agent: Any, taxpayer: Taxpayer | None, topics: list[Topic]) -> dict[int, int]:
    """{topic id: the competent office (routing)} for a known taxpayer, the agent's own office
    left out (a contact is forwarded only elsewhere)."""
    if taxpayer is None:
        return {}
    competent = routing.competent_offices_by_topic(taxpayer=taxpayer, topics=topics)
    return {topic: office for topic, office in competent.items() if office != agent.office_id}


def _visible(value: str | None) -> bool | None:
    """The explicit yes/no of "visible par l'usager": anything else is no choice at all."""
    return {"1": True, "0": False}.get(value or "")


class ContactView(BaseView):
    route_base = "/agent/contacts"
    class_permission_name = "Contacts"
    base_permissions = [PERMISSION]
    default_view = "new"

    # --- record -------------------------------------------------------------------------------

    @expose("/nouveau", methods=["GET", "POST"])
    @agents_only
    def new(self) -> str | Response:
        agent = signed_in()
        if not kinds.records_contacts(agent):  # the kind of the agent's office says so
            abort(404)
        if request.method == "POST":
            return self._record(agent)
        taxpayer_id = int_or_none(request.args.get("taxpayer"))
        if taxpayer_id is not None:
            taxpayer = taxpayer_for_agent(agent, taxpayer_id)
            if taxpayer is None:
                abort(404)
            html = self._form(agent, taxpayer=taxpayer, unknown=False)
            operations.log_taxpayers_seen(
                agent=agent,
                taxpayer_ids=[taxpayer.id],
                object_kind="contact_form",
                reason=_("Enregistrement d'un contact"),
            )
            db.session.commit()  # the page goes out once its reading is logged
            return html
        if request.args.get("unknown"):
            return self._form(agent, taxpayer=None, unknown=True)
        terms = _search_terms()
        result = search_taxpayers(agent, **terms) if any(terms.values()) else None
        html = self.render_template("contacts/search.html", terms=terms, result=result, agent=agent)
        _log_search(agent, result)
        return html

    def _form(
        self,
        agent: Any,
        *,
        taxpayer: Taxpayer | None,
        unknown: bool,
        values: dict[str, Any] | None = None,
        error: OperationError | None = None,
        preview: dict[str, Any] | None = None,
    ) -> str:
        if values is None:
            values = {"submission_token": secrets.token_urlsafe(24), "disposition": HANDLED}
        topics = _topics(taxpayer)
        offices = _receiving_offices(agent)
        competent = _competent(agent, taxpayer, topics)
        chosen_topic = int_or_none(values.get("topic"))
        if not values.get("to_office") and chosen_topic in competent:
            values = {**values, "to_office": str(competent[chosen_topic])}
        return self.render_template(
            "contacts/new.html",
            agent=agent,
            taxpayer=taxpayer,
            unknown=unknown,
            values=values,
            error=error,
            channels=AGENT_CHANNELS,
            dispositions=[(key, _disposition_labels()[key]) for key in DISPOSITIONS],
            topics=topics,
            tax_matters=_tax_matters(taxpayer),
            offices=offices,
            competent=competent,
            forwarded=FORWARDED,
            preview=preview,
        )

    def _record(self, agent: Any) -> str | Response:
        form = request.form
        taxpayer: Taxpayer | None = None
        taxpayer_id = int_or_none(form.get("taxpayer_id"))
        if taxpayer_id is not None:
            taxpayer = taxpayer_for_agent(agent, taxpayer_id)
            if taxpayer is None:
                abort(404)
        unknown = taxpayer is None
        values = form.to_dict()
        values.pop("preview", None)
        if form.get("preview"):
            return self._form(
                agent,
                taxpayer=taxpayer,
                unknown=unknown,
                values=values,
                preview=_preview(agent, form),
            )
        try:
            channel = _channel(form.get("channel"))
            tax_year = _year(form.get("tax_year"))
            topic = _get(Topic, form.get("topic"))
            tax_matter = _get(TaxMatter, form.get("tax_matter"))
            disposition = form.get("disposition", "")
            to_office = _get(Office, form.get("to_office")) if disposition == FORWARDED else None
            case = operations.record_contact(
                agent=agent,
                channel=channel,
                taxpayer=taxpayer,
                declared_identity=form.get("declared_identity") if unknown else None,
                topic=topic,
                tax_matter=tax_matter,
                tax_year=tax_year,
                subject=form.get("subject", ""),
                summary=form.get("summary", ""),
                disposition=disposition,
                to_office=to_office,
                reason=form.get("reason") if disposition == FORWARDED else None,
                visible_to_taxpayer=_visible(form.get("visible_to_taxpayer")),
                submission_token=form.get("submission_token") or None,
            )
        except OperationError as refused:
            db.session.rollback()
            if taxpayer is not None:
                taxpayer = taxpayer_for_agent(agent, taxpayer.id)
            return self._form(
                agent, taxpayer=taxpayer, unknown=unknown, values=values, error=refused
            )
        reference, case_id = case.reference, case.id
        to_name = to_office.name if (disposition == FORWARDED and to_office) else None
        db.session.commit()
        if to_name:
            flash(
                _(
                    "Contact %(reference)s enregistré et transmis à %(office)s.",
                    reference=reference,
                    office=to_name,
                ),
                "success",
            )
        else:
            flash(_("Contact %(reference)s enregistré.", reference=reference), "success")
        if taxpayer is not None:
            return redirect(
                url_for(
                    "SummaryView.summary",
                    taxpayer_id=taxpayer.id,
                    reason=_("Contact %(reference)s", reference=reference),
                )
            )
        if access.case_for_agent(agent, case_id) is not None:
            return redirect(url_for("CasesView.show", case_id=case_id))
        return redirect(url_for("ContactView.show", case_id=case_id))

    # --- what the recording agent keeps of a contact forwarded away ----------------------------

    @expose("/<int:case_id>")
    @agents_only
    def show(self, case_id: int) -> str | Response:
        agent = signed_in()
        if access.case_for_agent(agent, case_id) is not None:
            return redirect(url_for("CasesView.show", case_id=case_id))
        case = access.contact_recorded_by(agent, case_id)
        if case is None:
            abort(404)
        messages = db.session.scalars(
            select(Message)
            .where(Message.case_id == case.id, access.messages_written_by(agent))
            .order_by(Message.created_at, Message.id)
        ).all()
        transfers = db.session.scalars(
            select(Transfer)
            .options(joinedload(Transfer.from_office), joinedload(Transfer.to_office))
            .where(Transfer.case_id == case.id, Transfer.agent_id == agent.id)
            .order_by(Transfer.created_at, Transfer.id)
        ).all()
        rendered = self.render_template(
            "contacts/recorded.html", case=case, messages=messages, transfers=transfers
        )
        operations.log_access(
            agent=agent,
            object_kind="contact",
            object_id=case.id,
            taxpayer_id=case.taxpayer_id,
            case_id=case.id,
            reason=_("Contact que j'ai enregistré"),
        )
        db.session.commit()
        return rendered

    # --- attach a contact of someone not identified at the time -------------------------------

    @expose("/<int:case_id>/rattacher", methods=["GET", "POST"])
    @agents_only
    def attach(self, case_id: int) -> str | Response:
        agent = signed_in()
        case = access.case_for_agent(agent, case_id)
        if case is None:
            abort(404)
        error: str | None = None
        if request.method == "POST":
            taxpayer = taxpayer_for_agent(agent, int_or_none(request.form.get("taxpayer_id")) or 0)
            if taxpayer is None:
                abort(404)
            try:
                operations.attach_to_taxpayer(agent=agent, case=case, taxpayer=taxpayer)
            except OperationError as refused:
                db.session.rollback()
                error = refused.message
                case = access.case_for_agent(agent, case_id)
                assert case is not None
            else:
                reference, taxpayer_id = case.reference, taxpayer.id
                db.session.commit()
                flash(
                    _("Le contact %(reference)s est rattaché à l'usager.", reference=reference),
                    "success",
                )
                return redirect(
                    url_for(
                        "SummaryView.summary",
                        taxpayer_id=taxpayer_id,
                        reason=_("Rattachement du contact %(reference)s", reference=reference),
                    )
                )
        terms = _search_terms()
        result = search_taxpayers(agent, **terms) if any(terms.values()) else None
        html = self.render_template(
            "contacts/attach.html",
            case=case,
            may_attach=access.may(agent, "attach_taxpayer", case),
            terms=terms,
            result=result,
            error=error,
        )
        _log_search(agent, result)
        return html


def _log_search(agent: Any, result: SearchResult | None) -> None:
    """Every taxpayer a lookup listed is a consultation of their data: logged and committed
    before the page (already rendered, so nothing expired is reloaded) goes out."""
    if result is not None and result.taxpayers:
        operations.log_taxpayers_seen(
            agent=agent,
            taxpayer_ids=[taxpayer.id for taxpayer in result.taxpayers],
            object_kind="taxpayer_search",
            reason=_("Recherche d'un usager"),
        )
        db.session.commit()


def _preview(agent: Any, form: Any) -> dict[str, Any]:
    """What the taxpayer would see of the contact being recorded, from the form as it is."""
    channel = {member.value: member for member in AGENT_CHANNELS}.get(form.get("channel") or "")
    disposition = form.get("disposition") or ""
    to_office = _get(Office, form.get("to_office")) if disposition == FORWARDED else None
    return {
        "visible": _visible(form.get("visible_to_taxpayer")),
        "channel": channel.value if channel else "",
        "office": agent.office.name if agent.office else "",
        "to_office": to_office.name if to_office else "",
        "at": utcnow(),
        "subject": (form.get("subject") or "").strip(),
        "summary": (form.get("summary") or "").strip(),
        "disposition": disposition,
    }


def _channel(value: str | None) -> Channel:
    channel = {member.value: member for member in AGENT_CHANNELS}.get(value or "")
    if channel is None:
        raise OperationError(_("Choisissez le canal du contact."), field="channel")
    return channel


def _year(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not (text.isdigit() and len(text) == 4):
        raise OperationError(
            _("Saisissez l'année sur quatre chiffres, par exemple 2025."), field="tax_year"
        )
    return int(text)


def _get(model: Any, value: str | None) -> Any:
    identifier = int_or_none(value)
    return db.session.get(model, identifier) if identifier is not None else None
