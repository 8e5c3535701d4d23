"""The Flask app a job runs in: the worker's own, or one made on first use."""

from __future__ import annotations

from flask import Flask, current_app, has_app_context

import app as factory  # the factory's module: create_app is looked up when a job needs it

_app: Flask | None = None


def get_app() -> Flask:
    global _app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _app is None:
        _app = factory.create_app()
    return _app


def set_app(app: Flask) -> None:
    global _app
    _app = app
