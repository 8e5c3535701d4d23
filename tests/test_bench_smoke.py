"""The benchmark's own pieces that need no server: the form filler, the log reader, the seed's
identifiers. The benchmark itself runs with ``make bench SCALE=smoke`` (docs/benchmarks.md)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "scripts" / "bench"
sys.path.insert(0, str(BENCH))

import driver  # noqa: E402
import seed  # noqa: E402
from webclient import REFERENCE, FileUpload, Response, find_form  # noqa: E402

PAGE = """
<form method="get" action="/agent/recherche/"><input name="q"></form>
<form method="post" action="/espace/demandes/nouvelle" enctype="multipart/form-data">
  <input type="hidden" name="csrf_token" value="tok">
  <input type="hidden" name="submission_token" value="sub-1">
  <select name="topic"><option value="">Choisir</option><option value="7">Impôt</option></select>
  <select name="tax_year"><option value="2024">2024</option>
    <option value="2025" selected>2025</option></select>
  <input type="text" name="subject" value="">
  <textarea name="body">déjà écrit</textarea>
  <input type="checkbox" name="close" value="1">
  <input type="radio" name="kind" value="reponse" checked><input type="radio" name="kind"
    value="precision">
  <input type="file" name="files">
</form>
"""


def test_the_form_is_filled_as_a_browser_would() -> None:
    page = Response(200, {}, PAGE.encode(), "/espace/demandes/nouvelle")
    form = find_form(page, has="subject")
    assert form is not None and form.multipart
    upload = FileUpload("a.pdf", "application/pdf", b"%PDF-")
    fields = form.fill({"subject": "Objet", "files": upload})
    assert ("csrf_token", "tok") in fields
    assert ("submission_token", "sub-1") in fields
    assert ("topic", "7") in fields  # the first real choice
    assert ("tax_year", "2025") in fields  # the selected one
    assert ("body", "déjà écrit") in fields
    assert ("kind", "reponse") in fields
    assert ("files", upload) in fields
    assert "close" not in dict(fields)


def test_statements_and_their_parameters_are_read_from_the_log() -> None:
    log = (
        "2026-11-26 20:00:00.000 UTC [12] postgres@econtacts_bench LOG:  duration: 1.5 ms  "
        'execute <unnamed>: SELECT * FROM "case" WHERE office_id = $1 AND status != $2\n'
        "2026-11-26 20:00:00.000 UTC [12] postgres@econtacts_bench DETAIL:  parameters: "
        "$1 = '19', $2 = 'closed'\n"
        "2026-11-26 20:00:00.001 UTC [12] postgres@econtacts_bench LOG:  duration: 0.1 ms  "
        "statement: BEGIN\n"
        "2026-11-26 20:00:00.002 UTC [13] postgres@other LOG:  duration: 9.0 ms  "
        "statement: SELECT 1\n"
    )
    statements = driver.parse_log(log, "econtacts_bench")
    assert statements == [
        (1.5, "SELECT * FROM \"case\" WHERE office_id = '19' AND status != 'closed'")
    ]


def test_seeded_identifiers_are_valid_and_unique() -> None:
    references = {seed._reference(case_id, 1_700_000_000) for case_id in range(1, 20_001)}
    assert len(references) == 20_000
    assert all(REFERENCE.fullmatch(reference) for reference in references)
    digits = "73282932"  # SIREN 732829320: a real one, Luhn-valid
    assert seed.luhn_key(digits) == "0"


def test_the_bench_pdf_is_a_100_kb_pdf() -> None:
    pdf = driver.make_pdf()
    assert len(pdf) == 100 * 1024
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
