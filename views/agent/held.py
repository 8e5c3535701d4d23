"""Files of a refused message form, kept for the form shown again: each a signed token naming a
file set aside by ``app.cases.attachments.hold``, valid for this agent, this case, one day."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.cases.attachments import StoredFile

SALT = "econtacts-held-attachment"
MAX_AGE = 24 * 3600
MAX_HELD = 20


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=SALT)


def token(item: StoredFile, *, agent_id: int, case_id: int) -> str:
    return _serializer().dumps({**asdict(item), "agent": agent_id, "case": case_id})


def read(tokens: list[str], *, agent_id: int, case_id: int) -> list[StoredFile]:
    """The files the tokens name, if they were held for this agent and case."""
    found: list[StoredFile] = []
    for raw in tokens[:MAX_HELD]:
        try:
            data: dict[str, Any] = _serializer().loads(raw, max_age=MAX_AGE)
        except (BadSignature, TypeError, ValueError):
            continue
        if data.pop("agent", None) != agent_id or data.pop("case", None) != case_id:
            continue
        try:
            item = StoredFile(**data)
        except TypeError:
            continue
        if item not in found:
            found.append(item)
    return found
