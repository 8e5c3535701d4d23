"""The one CSV export: streamed, for French Excel (UTF-8 with BOM, ``;`` between fields), and
with no spreadsheet formula in any cell (CSV injection: a subject or a name typed as
``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from flask import Response, stream_with_context

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
FLUSH_BYTES = 8192


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula, prefixed with ``'``."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV text of ``rows``, a few kilobytes at a time (a million rows never sit in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    first = _FORMULA_FIRST
    for row in rows:
        # ``neutralise`` inlined: a million-row export calls it for every cell
        writer.writerow(
            ["'" + cell if isinstance(cell, str) and cell[:1] in first else cell for cell in row]
        )
        if buffer.tell() > FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(filename: str, rows: Iterable[Iterable[object]]) -> Response:
    """A streamed CSV download of ``rows`` (read inside the request: ``stream_with_context``)."""
    return Response(
        stream_with_context(csv_lines(rows)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
