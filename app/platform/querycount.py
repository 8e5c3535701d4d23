"""Counts the SQL statements of each request, for the benchmark and the query-count tests.

When ``QUERY_COUNT_HEADER`` is on, every response carries ``X-Query-Count``. The counter lives
in ``g`` (one per request), so it is exact under threads and several workers.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_app_context
from sqlalchemy import event
from werkzeug.wrappers import Response

from models import db


def _count(*_args: Any, **_kwargs: Any) -> None:
    if has_app_context():
        g.query_count = g.get("query_count", 0) + 1


def init_app(app: Flask) -> None:
    if not app.config.get("QUERY_COUNT_HEADER"):
        return
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _count)

    @app.after_request
    def _header(response: Response) -> Response:
        response.headers["X-Query-Count"] = str(g.get("query_count", 0))
        return response
