"""The benchmark's own pieces that need no server: the form filler, the CPU and SQL meter, the
seed's identifiers. The benchmark itself runs with ``make bench SCALE=smoke``
(docs/benchmarks.md)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "scripts" / "bench"
sys.path.insert(0, str(BENCH))

import driver  # noqa: E402
import meter  # noqa: E402
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


def test_the_meter_divides_by_requests_and_picks_the_rows_query() -> None:
    """Per request: CPU ticks and pg_stat_statements' deltas; the main query is the one that
    yields the rows (the pattern), not the slower access-log INSERT; the meter's own and
    non-data statements are left out."""
    rows = 'SELECT "case".id, "case".reference FROM "case" WHERE "case".office_id = $1'
    log = "INSERT INTO access_log (agent_id) VALUES ($1)"
    before = meter.Snapshot(app=100, pg=50, statements={1: (10, 5.0, rows), 2: (0, 0.0, log)})
    after = meter.Snapshot(
        app=100 + 2 * meter.CLOCK_TICKS // 10,  # 200 ms of CPU
        pg=50 + meter.CLOCK_TICKS // 10,  # 100 ms
        statements={1: (20, 15.0, rows), 2: (10, 30.0, log), 3: (10, 1.0, "BEGIN")},
    )
    probe = meter.Meter.__new__(meter.Meter)
    probe.problem = ""
    out = probe.measure(before, after, 10, r'^SELECT "case"\.id\b')
    assert out["app_cpu_ms"] == 20.0 and out["pg_cpu_ms"] == 10.0
    assert out["sql_ms"] == 4.0 and out["queries"] == 2.0  # (10 + 30 ms) / 10; BEGIN left out
    assert out["app_cpu_per_sql"] == 5.0
    assert out["main_query"] == rows and out["main_query_ms"] == 1.0
    assert out["main_query_per_request"] == 1.0
    assert meter.tree_ticks(1) >= 0  # reads /proc without failing


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
