"""Steering for directorates, delegations and office managers: figures, charts, CSV (FAB)."""

from __future__ import annotations

from flask_appbuilder import AppBuilder


def register(appbuilder: AppBuilder) -> None:
    return None
