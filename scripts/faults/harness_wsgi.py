"""The production WSGI app (``app:create_app()``) plus test-only routes, for the fault tests.

``gunicorn harness_wsgi:app`` serves the real application with every real route, and adds under
``/_faults/`` a submission and an agent reply that call the real operations and commit once,
exactly as the views do. The fault tests use them to put load on several servers while the
taxpayer's form and the agents' answer screens are being built; they never ship (this module
lives in ``scripts/faults/`` and is loaded by no production entry point).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, request

from app import create_app
from app.cases import operations
from app.cases.attachments import IncomingFile
from app.extensions import csrf
from models import Agent, Case, Taxpayer, Topic, db

app = create_app()
harness = Blueprint("faults_harness", __name__, url_prefix="/_faults")


def commit_once(work: Callable[[], str]) -> tuple[str, int]:
    """Run the operation and commit once, as a view does; a refusal rolls back and answers 400.
    ``work`` returns the page text, built before the commit expires the rows."""
    try:
        text = work()
    except operations.OperationError as refused:
        db.session.rollback()
        return refused.message, 400
    db.session.commit()
    return text, 200


@harness.get("/ping")
def ping() -> str:
    return "ok"


@harness.post("/submit")
def submit() -> tuple[str, int]:
    taxpayer = db.session.get(Taxpayer, int(request.form["taxpayer_id"]))
    topic = db.session.get(Topic, int(request.form["topic_id"]))
    assert taxpayer is not None
    files = [
        IncomingFile(filename=f.filename or "", stream=f.stream)
        for f in request.files.getlist("files")
        if f.filename
    ]

    def work() -> str:
        case = operations.submit_case(
            taxpayer=taxpayer,
            topic=topic,
            tax_matter=None,
            tax_year=None,
            subject=request.form["subject"],
            body=request.form["body"],
            files=files,
            submission_token=request.form.get("submission_token") or None,
        )
        return f"Votre demande est enregistrée sous la référence {case.reference}."

    return commit_once(work)


@harness.post("/reply")
def reply() -> tuple[str, int]:
    agent = db.session.get(Agent, int(request.form["agent_id"]))
    case = db.session.get(Case, int(request.form["case_id"]))
    assert agent is not None and case is not None

    def work() -> str:
        operations.reply_to_case(agent=agent, case=case, body=request.form["body"])
        return f"Réponse envoyée pour la demande {case.reference}."

    return commit_once(work)


csrf.exempt(harness)
app.register_blueprint(harness)
