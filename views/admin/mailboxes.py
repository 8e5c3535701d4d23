"""The offices' mailbox addresses (BALF) for administrators: open or closed (the cut-over
switch), their topic and automatic reply, and what they received (docs/directory.md)."""

from __future__ import annotations

from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterInFunction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.directory.kinds import handling_office_ids
from app.mailbox.intake import normalise_address
from models import Mailbox, MailboxStatus, db
from views.admin.common import (
    DirectoryModelView,
    InUse,
    LabelledEnumField,
    ScopedInterface,
    every_row,
    label_of,
    text_or,
    yes_no,
)


class MailboxView(DirectoryModelView):
    route_base = "/referentiel/boites-aux-lettres"
    datamodel = ScopedInterface(Mailbox, every_row)
    class_permission_name = "Mailboxes"

    list_title = _l("Boîtes aux lettres des services")
    show_title = _l("Boîte aux lettres")
    add_title = _l("Ajouter une boîte aux lettres")
    edit_title = _l("Modifier une boîte aux lettres")
    label_columns = {
        "address": _l("Adresse électronique"),
        "office": _l("Service"),
        "status": _l("État"),
        "topic": _l("Motif des demandes créées"),
        "auto_reply": _l("Réponse automatique"),
        "auto_reply_enabled": _l("Envoyer la réponse automatique"),
        "received_count": _l("Courriels enregistrés"),
        "closed_count": _l("Reçus depuis la fermeture"),
        "created_at": _l("Créée le"),
    }
    list_columns = ["address", "office", "status", "received_count", "closed_count"]
    show_columns = [
        "address",
        "office",
        "status",
        "topic",
        "auto_reply_enabled",
        "auto_reply",
        "received_count",
        "closed_count",
    ]
    add_columns = ["address", "office", "status", "topic", "auto_reply_enabled", "auto_reply"]
    search_columns = ["address", "office"]
    order_columns = ["address", "received_count", "closed_count"]
    base_order = ("address", "asc")
    formatters_columns = {
        "status": label_of(MailboxStatus),
        "topic": text_or(_l("Le premier motif actif")),
        "auto_reply": lambda text: text or _("Texte national par défaut"),
        "auto_reply_enabled": yes_no,
    }
    add_form_extra_fields = {
        "status": LabelledEnumField(MailboxStatus, _l("État")),
        "auto_reply": TextAreaField(
            _l("Réponse automatique"),
            description=_l(
                "Laisser vide pour le texte national. {lien} est remplacé par le lien vers la "
                "messagerie sécurisée, {service} par le nom du service."
            ),
            validators=[Optional(), Length(max=5000)],
            widget=BS3TextAreaFieldWidget(),
        ),
    }
    add_form_query_rel_fields = {
        "office": [["id", FilterInFunction, handling_office_ids], ["active", FilterEqual, True]],
        "topic": [["active", FilterEqual, True]],
    }
    validators_columns = {
        "address": [
            DataRequired(message=_l("Saisissez l'adresse de la boîte.")),
            Email(message=_l("Adresse électronique invalide.")),
        ],
        "office": [DataRequired(message=_l("Choisissez le service."))],
    }
    description_columns = {
        "address": _l(
            "L'adresse publique de la boîte (BALF) : le relais de messagerie transmet ses "
            "courriels à e-contacts."
        ),
        "status": _l(
            "Fermée : l'expéditeur reçoit seulement la réponse automatique qui l'invite à "
            "utiliser la messagerie sécurisée ; rien n'est enregistré que le nombre de courriels."
        ),
        "topic": _l("Le motif donné aux demandes créées depuis les courriels de cette boîte."),
    }

    def check(self, item: Mailbox) -> None:
        item.address = normalise_address(item.address)
        if item.status is None:
            item.status = MailboxStatus.OPEN
        other = db.session.scalar(
            select(Mailbox.id).where(Mailbox.address == item.address, Mailbox.id != item.id)
        )
        if other is not None:
            raise InUse(_("Cette adresse est déjà celle d'une autre boîte."))
        item.auto_reply = (item.auto_reply or "").strip() or None

    def pre_add(self, item: Mailbox) -> None:
        item.received_count = 0
        item.closed_count = 0
        super().pre_add(item)
