"""The taxpayer's real form (``/espace/demandes/nouvelle``) under faults: attachment storage
failing, and the same form posted twice. Through HTTP, as the taxpayer's browser sends it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from factories import World, make_topic
from faultkit import pdf_bytes, report
from flask import Flask
from flask.testing import FlaskClient
from helpers import csrf_token
from sqlalchemy import func, select

from models import Attachment, Case, db

URL = "/espace/demandes/nouvelle"
REFUSAL = "Vos pièces jointes n'ont pas pu être enregistrées pour le moment"


@pytest.fixture(autouse=True)
def _form_exists(app: Flask) -> None:
    """The form under test is there: a missing route fails, it is not expected to."""
    assert any(rule.rule == URL for rule in app.url_map.iter_rules()), URL


def post(client: FlaskClient, topic_id: int, token: str) -> tuple[int, str]:
    data = {
        "csrf_token": csrf_token(client, URL),
        "topic": str(topic_id),
        "tax_matter": "",
        "tax_year": "",
        "subject": "Mon avis d'impôt",
        "body": "Bonjour, voici mon justificatif.",
        "suite": "",
        "submission_token": token,
        "files": (io.BytesIO(pdf_bytes(50_000)), "avis.pdf"),
    }
    response = client.post(URL, data=data, content_type="multipart/form-data")
    if response.status_code == 302:
        response = client.get(response.headers["Location"])
    return response.status_code, response.get_data(as_text=True)


def test_storage_failing_the_form_says_so_and_keeps_the_text(
    world: World, app: Flask, taxpayer_client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    topic = make_topic()
    db.session.commit()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(blocker / "sub" / "attachments"))
    status, page = post(taxpayer_client, topic.id, "form-storage-1")
    report(
        "real form, storage failing",
        status=status,
        cases=db.session.scalar(select(func.count(Case.id))),
    )
    assert status == 400 and REFUSAL in page.replace("&#39;", "'").replace("&#x27;", "'")
    assert "Bonjour, voici mon justificatif." in page and "Traceback" not in page
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


def test_the_same_form_posted_twice_gives_one_case(
    world: World, taxpayer_client: FlaskClient
) -> None:
    topic = make_topic()
    db.session.commit()
    first = post(taxpayer_client, topic.id, "form-twice-1")
    second = post(taxpayer_client, topic.id, "form-twice-1")
    cases = db.session.scalars(select(Case).where(Case.submission_token == "form-twice-1")).all()
    report("real form posted twice", statuses=f"{first[0]}/{second[0]}", cases_in_db=len(cases))
    assert len(cases) == 1
    assert cases[0].reference in first[1] and cases[0].reference in second[1]
