"""Shared pieces of the directory screens: scoped data models, French field helpers, the
refusal to delete anything that other rows still point to, and the skeleton of the screens of
what failed and may be retried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, redirect, url_for
from flask_appbuilder import BaseView, ModelView
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, exists, select, true
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from app.fab.security import signed_in
from models import db
from models.base import LabelledEnum

Scope = Callable[[], ColumnElement[bool]]


def every_row() -> ColumnElement[bool]:
    """The scope of the administrators' directory screens (offices, kinds, topics, tax matters,
    routing rules, mailboxes): every row. Who opens them at all is the view's FAB permission
    (app.directory.access says administrators; app.fab.permissions grants it)."""
    return true()


class ScopedInterface(SQLAInterface):
    """FAB's data model with an access clause added to every query it runs.

    ``base_filters`` only reach list, show, edit and delete: FAB's actions load rows with a bare
    ``datamodel.get(pk)`` (STACK.md). Putting the clause here, under every ``get`` and every list
    query, means no FAB route can reach a row outside the scope: the row is simply not found (404).
    """

    def __init__(self, obj: Any, scope: Scope) -> None:
        super().__init__(obj, db.session)
        self.scope = scope

    def get_related_interface(self, col_name: str) -> SQLAInterface:
        # Related rows (a form's select of offices, topics...) are not scoped by this clause.
        return SQLAInterface(self.get_related_model(col_name), db.session)

    def query_count(self, query: Any, *args: Any, **kwargs: Any) -> int:
        return super().query_count(query.filter(self.scope()), *args, **kwargs)

    def apply_all(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return super().apply_all(query.filter(self.scope()), *args, **kwargs)


class FailedItemsView(BaseView):
    """A list of what failed (e-mails the intake gave up on, alerts the outbox gave up on) with
    a « Relancer » button per row: FAB's ``list`` permission to see it, ``edit`` to retry, and
    the domain's access rule (``may``) asked on top by every route, a 404 when it says no."""

    default_view = "index"
    method_permission_name = {"index": "list", "retry": "edit"}
    base_permissions = ["can_list", "can_edit"]

    @staticmethod
    def may(user: Any) -> bool:
        raise NotImplementedError

    def signed_in_allowed(self) -> Any:
        """The signed-in user, once the access rule let them in (else a 404)."""
        user = signed_in()
        if not self.may(user):
            abort(404)
        return user

    def back_to_list(self) -> Any:
        return redirect(url_for(f"{type(self).__name__}.index"))


class InUse(Exception):
    """Raised by ``pre_delete``: FAB shows the message and deletes nothing."""


def referencing_tables(item: Any, *, ignore: tuple[str, ...] = ()) -> list[str]:
    """The tables holding a row that points to ``item`` through a RESTRICT foreign key.

    Foreign keys that cascade (an office's territories) and tables in ``ignore`` (association
    tables SQLAlchemy empties itself) do not count.
    """
    table = item.__table__
    found = []
    for other in db.metadata.sorted_tables:
        if other.name in ignore:
            continue
        for fk in other.foreign_keys:
            if fk.column.table is not table or (fk.ondelete or "").upper() == "CASCADE":
                continue
            value = getattr(item, fk.column.key)
            if db.session.scalar(select(exists().where(fk.parent == value))):
                found.append(other.name)
                break
    return found


def refuse_delete_if_referenced(item: Any, *, ignore: tuple[str, ...] = ()) -> None:
    if referencing_tables(item, ignore=ignore):
        raise InUse(
            _(
                "« %(name)s » est utilisé par d'autres données (demandes, historique, "
                "agents ou sous-éléments) et ne peut pas être supprimé : désactivez-le plutôt.",
                name=str(item),
            )
        )


def member_of(enum_class: type[LabelledEnum], value: Any) -> LabelledEnum:
    """The member whose value is ``value``; ValueError if none."""
    for member in enum_class:
        if member.value == str(value):
            return member
    raise ValueError(value)


class LabelledEnumField(SelectField):
    """A select of a ``LabelledEnum`` showing its French labels; optional when ``blank`` is set."""

    def __init__(
        self,
        enum_class: type[LabelledEnum],
        *args: Any,
        blank: Any = None,
        **kwargs: Any,
    ) -> None:
        def coerce(value: Any) -> LabelledEnum | None:
            if value is None or value == "" or value == "None":
                return None
            if isinstance(value, enum_class):
                return value
            return member_of(enum_class, value)

        choices = [SelectChoice(member.value, member.label) for member in enum_class]
        if blank is not None:
            choices.insert(0, SelectChoice("", blank))
        self.optional = blank is not None
        kwargs.setdefault("widget", Select2Widget())
        super().__init__(*args, coerce=coerce, choices=choices, **kwargs)

    def pre_validate(self, form: Any) -> None:
        if self.data is None and self.optional:
            return
        super().pre_validate(form)

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_("Choix invalide.")) from None


def label_of(enum_class: type[LabelledEnum], empty: Any = "") -> Callable[[Any], str]:
    """A list/show formatter: FAB hands enums over as their value; show the French label."""

    def formatter(value: Any) -> str:
        if value is None or value == "":
            return str(empty)
        try:
            return str(member_of(enum_class, value).label)
        except ValueError:
            return str(value)

    return formatter


def text_or(empty: Any = "") -> Callable[[Any], str]:
    """A list/show formatter of a related row: its text, or ``empty`` when there is none."""

    def formatter(value: Any) -> str:
        return str(value) if value else str(empty)

    return formatter


def yes_no(value: Any) -> str:
    return _("Oui") if value else _("Non")


ACTIVE_LABEL = _l("Actif")


class DirectoryModelView(ModelView):
    """A FAB list/show/add/edit screen of the directory, in French, with no REST API.

    What every directory screen shares, so that a screen only declares its columns and rules:

    - the edit form is the add form: a class that sets ``add_columns``,
      ``add_form_extra_fields`` or ``add_form_query_rel_fields`` and not the ``edit_`` one gets
      the same (``__init_subclass__``);
    - ``check(item)`` runs before every add and every edit: raise ``InUse`` with the French
      reason to refuse the row (FAB shows the message and saves nothing);
    - ``delete`` is refused with a French message for any row still referenced (``pre_delete``);
      referenced rows are deactivated instead.
    """

    page_size = 50
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    delete_ignore: tuple[str, ...] = ()
    # No file columns and no actions here: those FAB routes are not even registered.
    exclude_route_methods = {"download", "action", "action_post"}
    add_row_message = _l("Enregistré.")
    edit_row_message = _l("Modifications enregistrées.")
    delete_row_message = _l("Supprimé.")
    database_error_message = _l("L'enregistrement a échoué : rien n'a été modifié.")

    _SAME_AS_ADD = (
        ("add_columns", "edit_columns"),
        ("add_form_extra_fields", "edit_form_extra_fields"),
        ("add_form_query_rel_fields", "edit_form_query_rel_fields"),
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for add, edit in cls._SAME_AS_ADD:
            if add in cls.__dict__ and edit not in cls.__dict__:
                setattr(cls, edit, cls.__dict__[add])

    def check(self, item: Any) -> None:
        """Refuse a row that breaks a rule of the screen (raise ``InUse``); nothing by default."""

    def pre_add(self, item: Any) -> None:
        self.check(item)

    def pre_update(self, item: Any) -> None:
        self.check(item)

    def pre_delete(self, item: Any) -> None:
        refuse_delete_if_referenced(item, ignore=self.delete_ignore)
