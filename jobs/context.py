"""The Flask app a job runs in: the worker's own, or one made on first use."""

from __future__ import annotations

from flask import Flask, current_app, has_app_context

_app: Flask | None = None


def get_app() -> Flask:
    global _app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def set_app(app: Flask) -> None:
    global _app
    _app = app
