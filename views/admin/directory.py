"""The directory (référentiel) for administrators: offices and their tree and territory, topics,
tax matters, routing rules and every reply template."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterInFunction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Optional, Regexp
from wtforms.widgets import Select

from app.directory import access
from app.directory.imports import (
    format_territories,
    parse_territories,
    territory_code,
)
from app.directory.kinds import online_office_ids, steering_office_ids
from app.directory.operations import move_office, set_territories
from models import (
    Office,
    OfficeKind,
    ReplyTemplate,
    RoutingRule,
    SteeringLevel,
    TaxMatter,
    TaxpayerKind,
    TemplateAction,
    Topic,
)
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


def templates_managed() -> Any:
    return access.templates_managed_by(current_user)


def _check_territories(form: Any, field: Any) -> None:
    try:
        parse_territories(field.data or "")
    except ValueError as error:
        raise ValidationError(str(error)) from None


def _territories_field() -> StringField:
    return StringField(
        _l("Territoire"),
        description=_l(
            "Départements et communes séparés par « ; » : 69 pour tout le département, "
            "42:42218 pour une commune (code INSEE)."
        ),
        validators=[Optional(), _check_territories],
        widget=BS3TextFieldWidget(),
    )


BOTH_KINDS = _l("Particuliers et professionnels")


def template_action_field() -> LabelledEnumField:
    return LabelledEnumField(
        TemplateAction, _l("Action rapide"), blank=_l("Aucune (simple réponse type)")
    )


def _taxpayer_kind_field() -> LabelledEnumField:
    return LabelledEnumField(TaxpayerKind, _l("Usagers concernés"), blank=BOTH_KINDS)


national_or = text_or(_l("National (tous les services)"))
any_topic = text_or(_l("Tous"))


COMMON_LABELS = {
    "code": _l("Code"),
    "name": _l("Nom"),
    "label": _l("Libellé"),
    "active": _l("Actif"),
    "position": _l("Ordre d'affichage"),
    "taxpayer_kind": _l("Usagers concernés"),
    "parent": _l("Rattachement"),
}


class OfficeView(DirectoryModelView):
    route_base = "/referentiel/services"
    datamodel = ScopedInterface(Office, every_row)
    class_permission_name = "Offices"

    list_title = _l("Services")
    show_title = _l("Service")
    add_title = _l("Ajouter un service")
    edit_title = _l("Modifier un service")
    label_columns = {
        **COMMON_LABELS,
        "kind": _l("Type de service"),
        "parent": _l("Service de rattachement"),
        "path": _l("Chemin dans l'arborescence"),
        "email": _l("Adresse électronique"),
        "phone": _l("Téléphone"),
        "address": _l("Adresse"),
        "territories": _l("Territoire"),
        "territories_text": _l("Territoire"),
    }
    list_columns = ["code", "name", "kind", "parent", "path", "active"]
    show_columns = [
        "code",
        "name",
        "kind",
        "parent",
        "path",
        "email",
        "phone",
        "address",
        "territories",
        "active",
    ]
    add_columns = [
        "code",
        "name",
        "kind",
        "parent",
        "email",
        "phone",
        "address",
        "territories_text",
        "active",
    ]
    search_columns = ["code", "name", "parent", "active"]
    order_columns = ["code", "name", "path"]
    base_order = ("path", "asc")
    formatters_columns = {
        "active": yes_no,
        "parent": text_or(),
        "territories": lambda territories: ", ".join(map(territory_code, territories)),
    }
    add_form_extra_fields = {"territories_text": _territories_field()}
    add_form_query_rel_fields = {
        "kind": [["active", FilterEqual, True]],
        "parent": [["id", FilterInFunction, steering_office_ids]],
    }
    validators_columns = {
        "email": [Optional(), Email(message=_l("Adresse électronique invalide."))],
        "kind": [DataRequired(message=_l("Choisissez le type de service."))],
    }
    description_columns = {
        "kind": _l(
            "Ce que le service peut faire (recevoir des demandes, des transmissions…) vient de "
            "son type : Référentiel › Types de service."
        ),
        "parent": _l("La direction ou la délégation dont dépend le service."),
        "active": _l(
            "Un service désactivé ne reçoit plus de demandes ; son historique est conservé."
        ),
    }

    def prefill_form(self, form: Any, pk: Any) -> None:
        item = self.datamodel.get(pk)
        if item is not None:
            form.territories_text.data = format_territories(item)

    def check(self, item: Office) -> None:
        territories = parse_territories(getattr(item, "territories_text", "") or "")
        try:
            move_office(item, item.parent)
        except ValueError as error:
            raise InUse(str(error)) from None
        set_territories(item, territories)

    def pre_add(self, item: Office) -> None:
        item.path = "/"
        super().pre_add(item)


class TopicView(DirectoryModelView):
    route_base = "/referentiel/motifs"
    datamodel = ScopedInterface(Topic, every_row)
    class_permission_name = "Topics"

    list_title = _l("Motifs de demande")
    show_title = _l("Motif")
    add_title = _l("Ajouter un motif")
    edit_title = _l("Modifier un motif")
    label_columns = {
        **COMMON_LABELS,
        "parent": _l("Motif parent"),
        "target_days": _l("Délai cible (jours)"),
        "full_label": _l("Motif"),
    }
    list_columns = ["code", "full_label", "taxpayer_kind", "target_days", "position", "active"]
    show_columns = ["code", "label", "parent", "taxpayer_kind", "target_days", "position", "active"]
    add_columns = ["code", "label", "parent", "taxpayer_kind", "target_days", "position", "active"]
    search_columns = ["code", "label", "parent", "active"]
    order_columns = ["code", "position"]
    base_order = ("position", "asc")
    formatters_columns = {
        "taxpayer_kind": label_of(TaxpayerKind, BOTH_KINDS),
        "active": yes_no,
        "parent": text_or(),
    }
    add_form_extra_fields = {"taxpayer_kind": _taxpayer_kind_field()}
    description_columns = {
        "target_days": _l(
            "La réponse est attendue dans ce délai (objectif suivi par le pilotage)."
        ),
        "parent": _l("Laisser vide pour un motif principal ; sinon, c'est un sous-motif."),
    }

    def pre_update(self, item: Topic) -> None:
        ancestor = item.parent
        while ancestor is not None:
            if ancestor is item or ancestor.id == item.id:
                raise InUse(_("Un motif ne peut pas être son propre parent."))
            ancestor = ancestor.parent


class TaxMatterView(DirectoryModelView):
    route_base = "/referentiel/impots"
    datamodel = ScopedInterface(TaxMatter, every_row)
    class_permission_name = "TaxMatters"

    list_title = _l("Impôts concernés")
    show_title = _l("Impôt concerné")
    add_title = _l("Ajouter un impôt")
    edit_title = _l("Modifier un impôt")
    label_columns = {**COMMON_LABELS, "asks_year": _l("Demander l'année")}
    list_columns = ["code", "label", "taxpayer_kind", "asks_year", "position", "active"]
    show_columns = list_columns
    add_columns = list_columns
    search_columns = ["code", "label", "active"]
    order_columns = ["code", "label", "position"]
    base_order = ("position", "asc")
    formatters_columns = {
        "taxpayer_kind": label_of(TaxpayerKind, BOTH_KINDS),
        "active": yes_no,
        "asks_year": yes_no,
    }
    add_form_extra_fields = {"taxpayer_kind": _taxpayer_kind_field()}


class RoutingRuleView(DirectoryModelView):
    route_base = "/referentiel/aiguillage"
    datamodel = ScopedInterface(RoutingRule, every_row)
    class_permission_name = "RoutingRules"

    list_title = _l("Règles d'aiguillage")
    show_title = _l("Règle d'aiguillage")
    add_title = _l("Ajouter une règle d'aiguillage")
    edit_title = _l("Modifier une règle d'aiguillage")
    label_columns = {
        **COMMON_LABELS,
        "topic": _l("Motif"),
        "tax_matter": _l("Impôt concerné"),
        "office_kind": _l("Type de service compétent"),
        "office": _l("Ou service désigné"),
    }
    list_columns = ["topic", "tax_matter", "taxpayer_kind", "office_kind", "office", "active"]
    show_columns = list_columns
    add_columns = list_columns
    search_columns = ["topic", "tax_matter", "office_kind", "office", "active"]
    formatters_columns = {
        "taxpayer_kind": label_of(TaxpayerKind, BOTH_KINDS),
        "office_kind": text_or(),
        "office": text_or(),
        "active": yes_no,
        "topic": any_topic,
        "tax_matter": any_topic,
    }
    add_form_extra_fields = {"taxpayer_kind": _taxpayer_kind_field()}
    add_form_query_rel_fields = {
        "office_kind": [["receives_online", FilterEqual, True]],
        "office": [["id", FilterInFunction, online_office_ids]],
    }
    description_columns = {
        "topic": _l("Vide : tous les motifs. La règle la plus précise l'emporte."),
        "tax_matter": _l("Vide : tous les impôts."),
        "office_kind": _l(
            "La demande va au service de ce type compétent pour la commune de l'usager."
        ),
        "office": _l(
            "Ou bien : la demande va toujours à ce service, quelle que soit la commune. "
            "Choisissez un type ou un service."
        ),
    }

    def check(self, item: RoutingRule) -> None:
        if (item.office_kind is None) == (item.office is None):
            raise InUse(_("Choisissez soit un type de service, soit un service désigné."))


STEERING_LEVELS = {
    SteeringLevel.NONE: _l("Aucun : le service traite des demandes"),
    SteeringLevel.DIRECTORATE: _l("Direction : pilote ses services"),
    SteeringLevel.DELEGATION: _l("Délégation : pilote plusieurs directions"),
}


def _steering_level(value: Any) -> str:
    try:
        return str(STEERING_LEVELS[SteeringLevel(int(value))])
    except (TypeError, ValueError, KeyError):
        return str(value)


class PlainSelect(Select):
    """WTForms' select with Bootstrap's class (FAB's forms call widgets without it)."""

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("class", "form-control")
        return super().__call__(field, **kwargs)


KIND_LABELS = {
    **COMMON_LABELS,
    "receives_online": _l("Reçoit les demandes en ligne"),
    "receives_transfers": _l("Reçoit les transmissions"),
    "records_contacts": _l("Enregistre les contacts"),
    "steering_level": _l("Niveau de pilotage"),
    "default_for": _l("Type par défaut pour"),
    "last_resort": _l("Reçoit en dernier recours"),
}


KIND_HELP = {
    "code": _l("Le code des fichiers d'import (colonne « type »), par exemple « spl »."),
    "receives_online": _l(
        "Les règles d'aiguillage peuvent adresser les demandes en ligne à ces services."
    ),
    "receives_transfers": _l("Les agents peuvent transmettre une demande à ces services."),
    "records_contacts": _l(
        "Les agents de ces services enregistrent les contacts au guichet, au téléphone, "
        "par courrier."
    ),
    "steering_level": _l(
        "Un service qui pilote (direction, délégation) ne traite pas de demandes : il peut "
        "être le rattachement d'autres services."
    ),
    "default_for": _l(
        "Sans règle d'aiguillage, les demandes de ces usagers vont au service de ce type "
        "compétent pour leur commune."
    ),
    "last_resort": _l(
        "Quand aucun service compétent n'existe, la demande va à un service de ce type."
    ),
    "active": _l("Un type désactivé n'est plus proposé ; ses services gardent ses règles."),
}


class OfficeKindView(DirectoryModelView):
    """The kinds of office and what offices of each kind may do (directory data)."""

    route_base = "/referentiel/types-de-service"
    datamodel = ScopedInterface(OfficeKind, every_row)
    class_permission_name = "OfficeKinds"

    list_title = _l("Types de service")
    show_title = _l("Type de service")
    add_title = _l("Ajouter un type de service")
    edit_title = _l("Modifier un type de service")
    label_columns = KIND_LABELS
    list_columns = [
        "code",
        "label",
        "receives_online",
        "receives_transfers",
        "records_contacts",
        "steering_level",
        "active",
    ]
    show_columns = [
        "code",
        "label",
        "receives_online",
        "receives_transfers",
        "records_contacts",
        "steering_level",
        "default_for",
        "last_resort",
        "active",
    ]
    add_columns = show_columns
    search_columns = ["code", "label", "active"]
    order_columns = ["code", "label"]
    base_order = ("id", "asc")
    formatters_columns = {
        "receives_online": yes_no,
        "receives_transfers": yes_no,
        "records_contacts": yes_no,
        "last_resort": yes_no,
        "active": yes_no,
        "steering_level": _steering_level,
        "default_for": label_of(TaxpayerKind, _l("Aucun")),
    }
    validators_columns = {
        "code": [
            DataRequired(message=_l("Indiquez un code.")),
            Regexp(
                r"^[a-z0-9_]{2,32}$",
                message=_l("De 2 à 32 caractères : minuscules, chiffres et « _ »."),
            ),
        ],
        "label": [DataRequired(message=_l("Indiquez le libellé."))],
    }
    # Not-null booleans get a DataRequired from FAB: an unticked box would be refused.
    add_form_extra_fields = {
        **{
            name: BooleanField(
                KIND_LABELS[name], description=KIND_HELP[name], default=name != "last_resort"
            )
            for name in (
                "receives_online",
                "receives_transfers",
                "records_contacts",
                "last_resort",
                "active",
            )
        },
        "steering_level": SelectField(
            _l("Niveau de pilotage"),
            choices=[SelectChoice(int(level), label) for level, label in STEERING_LEVELS.items()],
            coerce=int,
            widget=Select2Widget(),
        ),
        # A plain select: Select2's placeholder for the blank choice fails axe (no name,
        # low contrast).
        "default_for": LabelledEnumField(
            TaxpayerKind, _l("Type par défaut pour"), blank=_l("Aucun"), widget=PlainSelect()
        ),
    }
    description_columns = KIND_HELP

    def check(self, item: OfficeKind) -> None:
        if item.steering_level and (item.receives_online or item.receives_transfers):
            raise InUse(
                _(
                    "Un type qui pilote ne reçoit ni demandes en ligne ni transmissions : "
                    "décochez-les ou choisissez « Aucun » comme niveau de pilotage."
                )
            )


TEMPLATE_LABELS = {
    "title": _l("Titre"),
    "body": _l("Texte"),
    "office": _l("Service"),
    "topic": _l("Motif"),
    "active": _l("Actif"),
    "action": _l("Action rapide"),
    "closing_outcome": _l("Issue (si l'action clôture)"),
}
TEMPLATE_ACTION_HELP = _l(
    "Vide : simple réponse type. Sinon un clic prépare le message, son type et l'issue ; "
    "l'agent relit et modifie le texte avant l'envoi."
)
TEMPLATE_BODY_HELP = _l(
    "Variables remplacées à l'envoi : {nom} (l'usager), {reference} (la demande), "
    "{service} (le service), {date} (la date du jour)."
)


class ReplyTemplateView(DirectoryModelView):
    """Every reply template, national (no office) or of one office: administrators only."""

    route_base = "/referentiel/modeles"
    datamodel = ScopedInterface(ReplyTemplate, templates_managed)
    class_permission_name = "ReplyTemplates"

    list_title = _l("Modèles de réponse")
    show_title = _l("Modèle de réponse")
    add_title = _l("Ajouter un modèle de réponse")
    edit_title = _l("Modifier un modèle de réponse")
    label_columns = TEMPLATE_LABELS
    list_columns = ["title", "office", "topic", "action", "active"]
    show_columns = ["title", "office", "topic", "body", "action", "closing_outcome", "active"]
    add_columns = ["title", "office", "topic", "body", "action", "closing_outcome", "active"]
    search_columns = ["title", "office", "topic", "active"]
    order_columns = ["title"]
    base_order = ("title", "asc")
    formatters_columns = {
        "active": yes_no,
        "office": national_or,
        "topic": any_topic,
        "action": label_of(TemplateAction, "—"),
    }
    description_columns = {
        "office": _l("Vide : modèle national, proposé à tous les services."),
        "body": TEMPLATE_BODY_HELP,
        "action": TEMPLATE_ACTION_HELP,
    }
    add_form_extra_fields = {"action": template_action_field()}
