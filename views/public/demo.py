"""Demo mode only: the e-mails captured by the local mail capture (no real mail is sent).

Registered only in demo mode, which start-up allows only when the app listens on a loopback
address (``config.load_settings``); each request must also come from this machine, so that no
one reaches the captured links and codes through a relay.
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request

from app.platform.templating import format_datetime
from config import is_loopback

blueprint = Blueprint("demo", __name__, url_prefix="/demo")


@blueprint.before_request
def from_this_machine_only() -> None:
    if not is_loopback(request.remote_addr or "") or not current_app.config["DEMO_MODE"]:
        abort(404)


def mail_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "mails"


def _read(path: Path) -> dict[str, str]:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    body = message.get_body(preferencelist=("plain",))
    return {
        "id": path.stem,
        "to": str(message["To"] or ""),
        "subject": str(message["Subject"] or ""),
        "date": _french_date(str(message["Date"] or "")),
        "body": body.get_content() if body is not None else "",
    }


def _french_date(header: str) -> str:
    """The Date header as a French reader expects it ("2 décembre 2026 à 01:30"), Paris time."""
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return header
    return format_datetime(moment)


@blueprint.get("/mails")
def mails() -> str:
    folder = mail_dir()
    paths = sorted(folder.glob("*.eml"), reverse=True)[:100] if folder.exists() else []
    return render_template("demo/mails.html", mails=[_read(p) for p in paths])


@blueprint.get("/mails/<mail_id>")
def mail(mail_id: str) -> str:
    if not mail_id.replace("-", "").isalnum():
        abort(404)
    path = mail_dir() / f"{mail_id}.eml"
    if not path.is_file():
        abort(404)
    return render_template("demo/mail.html", mail=_read(path))
