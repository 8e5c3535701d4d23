"""The agents' screens (e-contacts): the office inbox, a case's page, search (FAB)."""

from __future__ import annotations

from flask import current_app
from flask_appbuilder import AppBuilder

from app.cases import notices as case_notices
from app.directory import access
from app.fab.security import signed_in
from views.agent.cases import BulkCasesView, CasesView
from views.agent.email import CaseEmailView
from views.agent.help import HelpView
from views.agent.notices import NoticesView
from views.agent.reports import ReportsView
from views.agent.search import SearchView
from views.agent.tags import TagsView

# Menu names: FAB's "menu_access" permissions (app.fab.permissions.AGENT_SCREENS) use them.
MENU_INBOX = "Demandes"
MENU_SEARCH = "Rechercher"
MENU_TAGS = "Étiquettes"


def register(appbuilder: AppBuilder) -> None:
    # The agent home is FAB's index view (views.agent.home.AgentIndexView).
    appbuilder.add_view_no_menu(CasesView())
    appbuilder.add_view_no_menu(BulkCasesView())
    appbuilder.add_view_no_menu(CaseEmailView())
    appbuilder.add_view_no_menu(SearchView())
    appbuilder.add_view_no_menu(NoticesView())
    appbuilder.add_view_no_menu(TagsView())
    appbuilder.add_view_no_menu(HelpView())
    appbuilder.add_view_no_menu(ReportsView())
    current_app.add_template_global(agent_notices)
    # The menu shows ``_(label)``: the msgids are the French words themselves.
    appbuilder.add_link(MENU_INBOX, href="/agent/demandes/", icon="fa-inbox", label=MENU_INBOX)
    appbuilder.add_link(MENU_SEARCH, href="/agent/recherche/", icon="fa-search", label=MENU_SEARCH)
    appbuilder.add_link(MENU_TAGS, href="/agent/etiquettes/", icon="fa-tags", label=MENU_TAGS)


def agent_notices() -> str | None:
    """The header's counter of unread notices ("99+" beyond), None for whoever handles no
    cases (steering, administrators): one capped count per page."""
    if not access.handles_cases(signed_in()):
        return None
    count = case_notices.unread_count(signed_in())
    return case_notices.counter_label(count) if count else ""
