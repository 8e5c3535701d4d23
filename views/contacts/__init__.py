"""Recording phone, counter and letter contacts, and the taxpayer's summary sheet (FAB)."""

from __future__ import annotations

from flask_appbuilder import AppBuilder
from flask_babel import lazy_gettext as _l

from views.contacts.record import ContactView
from views.contacts.sheet import SummaryView


def register(appbuilder: AppBuilder) -> None:
    appbuilder.add_view(
        ContactView,
        "RecordContact",
        label=_l("Enregistrer un contact"),
        icon="fa-phone",
    )
    appbuilder.add_view_no_menu(SummaryView)
