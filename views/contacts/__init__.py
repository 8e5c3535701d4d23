"""Recording phone, counter and letter contacts, and the taxpayer's summary sheet (FAB)."""

from __future__ import annotations

from flask_appbuilder import AppBuilder


def register(appbuilder: AppBuilder) -> None:
    return None
