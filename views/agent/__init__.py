"""The agents' screens (e-contacts): the office inbox, a request's page, search (FAB)."""

from __future__ import annotations

from flask_appbuilder import AppBuilder

from views.agent.cases import CasesView
from views.agent.search import SearchView

# Menu names: FAB's "menu_access" permissions (app.fab.permissions.AGENT_SCREENS) use them.
MENU_INBOX = "Demandes"
MENU_SEARCH = "Rechercher"


def register(appbuilder: AppBuilder) -> None:
    # The agent home is FAB's index view (views.agent.home.AgentIndexView).
    appbuilder.add_view_no_menu(CasesView())
    appbuilder.add_view_no_menu(SearchView())
    # The menu shows ``_(label)``: the msgids are the French words themselves.
    appbuilder.add_link(MENU_INBOX, href="/agent/demandes/", icon="fa-inbox", label=MENU_INBOX)
    appbuilder.add_link(MENU_SEARCH, href="/agent/recherche/", icon="fa-search", label=MENU_SEARCH)
