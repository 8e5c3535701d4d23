"""The agents' screens (e-contacts), built with Flask-AppBuilder."""

from __future__ import annotations

from flask_appbuilder import AppBuilder


def register_agent_views(appbuilder: AppBuilder) -> None:
    # The agent home is FAB's index view (views.agent.home.AgentIndexView).
    return None
