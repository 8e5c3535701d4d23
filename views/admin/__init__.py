"""The directory for administrators (offices, agents, topics, routing, templates, settings)."""

from __future__ import annotations

from flask_appbuilder import AppBuilder


def register(appbuilder: AppBuilder) -> None:
    return None
