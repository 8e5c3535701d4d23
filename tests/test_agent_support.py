"""Helpers shared by the agent screens' tests (no test here)."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import make_case
from flask import Flask
from flask.testing import FlaskClient

from app.cases import operations
from app.cases.attachments import IncomingFile
from app.platform.queue import get_redis
from models import Case, Event, Message, Office, Taxpayer, db

DATA = Path(__file__).parent / "data"
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_FIELD = r'name="{name}" value="([^"]*)"'


def agent_csrf(client: FlaskClient, url: str = "/agent/demandes/") -> str:
    """The CSRF token any agent page carries (its meta tag), as agent.js reads it."""
    page = client.get(url).get_data(as_text=True)
    match = _META_CSRF.search(page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def field(page: str, name: str) -> str:
    match = re.search(_FIELD.format(name=name), page)
    assert match, f"no field {name!r} on the page"
    return match.group(1)


def post_action(
    client: FlaskClient, case_id: int, action: str, data: dict[str, Any] | None = None, **kw: Any
) -> Any:
    """POST one of a case's forms as the page would (CSRF token, version as loaded)."""
    payload = {"csrf_token": agent_csrf(client), **(data or {})}
    return client.post(f"/agent/demandes/{case_id}/{action}", data=payload, **kw)


def text_of(response: Any) -> str:
    """The page as a person reads it: entities decoded (``l'usager``, not ``l&#39;usager``)."""
    return html.unescape(response.get_data(as_text=True))


def refused_and_back(client: Any, response: Any) -> str:
    """A refused action: its page shows the reason and nothing of the case; the link back
    opens the case's page with what was typed. Returns both pages' text."""
    refusal = text_of(response)
    assert response.status_code == 400
    match = re.search(r'id="refused-back" href="([^"]+)"', refusal)
    assert match, refusal
    return refusal + text_of(client.get(match.group(1)))


def page_of(client: FlaskClient, case_id: int) -> str:
    response = client.get(f"/agent/demandes/{case_id}")
    assert response.status_code == 200, response.status_code
    return text_of(response)


def followed(client: FlaskClient, response: Any) -> str:
    """The page a POST redirected to, with its flash messages."""
    assert response.status_code == 302, response.status_code
    return text_of(client.get(response.headers["Location"]))


@pytest.fixture(autouse=True)
def clean_presence(app: Flask) -> Iterator[None]:
    """Presence marks live in Redis, and case ids are reused from one test to the next."""
    yield
    with app.app_context():
        redis = get_redis()
        for key in redis.scan_iter("econtacts:presence:*"):
            redis.delete(key)


def taxpayer_message(case: Case, taxpayer: Taxpayer, body: str, *, pdf: bool = False) -> Message:
    files = []
    if pdf:
        files = [IncomingFile("avis.pdf", io.BytesIO((DATA / "avis.pdf").read_bytes()))]
    return operations.reply_as_taxpayer(taxpayer=taxpayer, case=case, body=body, files=files)


def case_with_thread(taxpayer: Taxpayer, office: Office, agent: Any, size: int, **kw: Any) -> Case:
    """A case with ``size`` messages and as many events (taxpayer replies and agent notes)."""
    case = make_case(taxpayer, office, **kw)
    for n in range(size):
        if n % 2:
            operations.add_note(agent=agent, case=case, body=f"Note numéro {n}")
        else:
            taxpayer_message(case, taxpayer, f"Message numéro {n}")
    db.session.commit()
    return case


def events_of(case_id: int) -> list[str]:
    return [
        event.kind.value
        for event in db.session.scalars(
            db.select(Event).where(Event.case_id == case_id).order_by(Event.id)
        )
    ]
