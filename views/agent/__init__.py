"""The agents' screens (e-contacts): the office inbox, a request's page, search (FAB)."""

from __future__ import annotations

from flask_appbuilder import AppBuilder


def register(appbuilder: AppBuilder) -> None:
    # The agent home is FAB's index view (views.agent.home.AgentIndexView).
    return None
