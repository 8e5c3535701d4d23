"""The one CSV export (app/platform/csvexport.py): French Excel's dialect, streamed, and no
spreadsheet formula in any cell, whichever screen exports."""

from __future__ import annotations

import csv
import io

from app.platform.csvexport import FLUSH_BYTES, csv_lines


def _read(chunks: list[str]) -> list[list[str]]:
    text = "".join(chunks)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    rows = [['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "\tx", "plain", "12,5"], [3, None]]
    assert _read(list(csv_lines(rows))) == [
        ['\'=HYPERLINK("x")', "'+1", "'-2", "'@SUM(A1)", "'\tx", "plain", "12,5"],
        ["3", ""],
    ]


def test_a_long_export_is_streamed_in_pieces() -> None:
    rows = ([str(n), "x" * 100] for n in range(1000))
    chunks = list(csv_lines(rows))
    assert len(chunks) > 5
    assert max(len(chunk) for chunk in chunks) < FLUSH_BYTES + 200
    assert len(_read(chunks)) == 1000
