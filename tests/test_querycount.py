"""The X-Query-Count header the benchmark reads counts each request's statements."""

from __future__ import annotations

from app import create_app
from models import db


def test_the_header_counts_the_statements_of_the_request(app) -> None:
    counted = create_app({**app.config, "QUERY_COUNT_HEADER": True})
    try:
        client = counted.test_client()
        assert client.get("/healthz").headers["X-Query-Count"] == "1"
        assert "X-Query-Count" not in app.test_client().get("/healthz").headers
    finally:
        with counted.app_context():
            db.engine.dispose()  # its own pool: closed now, not by the garbage collector
