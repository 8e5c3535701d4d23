"""What one measuring window cost the servers: CPU of the app and of PostgreSQL, SQL time.

Read before and after each window (an operation driven at one concurrency level), divided by the
requests served in it:

- **app CPU**: user + system time of every gunicorn worker, from ``/proc/<pid>/stat``, plus the
  time of workers that exited meanwhile (the master's ``cutime``/``cstime``). The master itself
  only supervises and is left out.
- **PostgreSQL CPU**: the same for every process of the cluster (its backends, and the writer,
  WAL writer, checkpointer, autovacuum that the writes cause), children of the postmaster. Only
  when the bench runs its own cluster on this machine (``pgcluster.py``).
- **SQL time**: ``pg_stat_statements``' execution time of the bench database's statements
  (top-level, planning excluded), and their number per request. The meter's own statements are
  left out.

The page's **main query** is the statement that yields its rows, picked by the operation's
pattern on the normalised text (``Operation.main``), else the SELECT that took the most time.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_STATEMENTS = (
    "SELECT s.queryid, sum(s.calls), sum(s.total_exec_time), min(s.query) "
    "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
    "WHERE d.datname = %s AND s.query NOT LIKE '%%pg_stat_statements%%' GROUP BY s.queryid"
)
_DATA = re.compile(r"(?is)^\s*(?:/\*.*?\*/\s*)?(select|with|insert|update|delete)\b")
_ROWS = re.compile(r"(?is)^\s*(?:/\*.*?\*/\s*)?(select|with)\b")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def tree_ticks(root: int) -> int:
    """CPU ticks of ``root``'s children, alive (their own) and reaped (root's cutime/cstime)."""
    total = 0
    fields = _stat(root)
    if fields:
        total += int(fields[13]) + int(fields[14])  # cutime, cstime (0-based after the name)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields and int(fields[1]) == root:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


@dataclass
class Snapshot:
    app: int
    pg: int | None
    statements: dict[int, tuple[int, float, str]] | None


class Meter:
    def __init__(self, db_url: str, dbname: str, gunicorn_pid: int, postmaster: int | None):
        self.dbname = dbname
        self.gunicorn_pid = gunicorn_pid
        self.postmaster = postmaster
        self.conn: psycopg.Connection[Any] | None = None
        self.problem = ""
        try:
            self.conn = psycopg.connect(db_url, autocommit=True)
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            self.conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
        except psycopg.Error as error:
            self.problem = f"pg_stat_statements unavailable: {str(error).splitlines()[0]}"
            if self.conn is not None:
                self.conn.close()
            self.conn = None

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until no statement of the bench database is running (the last window's slow
        requests finish before this one's figures are read)."""
        if self.conn is None:
            time.sleep(0.3)
            return
        deadline = time.time() + timeout
        while time.time() < deadline:
            row = self.conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                "AND pid <> pg_backend_pid()",
                (self.dbname,),
            ).fetchone()
            if not row or not row[0]:
                break
            time.sleep(0.1)
        time.sleep(0.1)

    def snapshot(self) -> Snapshot:
        statements = None
        if self.conn is not None:
            rows = self.conn.execute(_STATEMENTS, (self.dbname,)).fetchall()
            statements = {row[0]: (int(row[1]), float(row[2]), row[3]) for row in rows}
        pg = tree_ticks(self.postmaster) if self.postmaster else None
        return Snapshot(tree_ticks(self.gunicorn_pid), pg, statements)

    def measure(
        self, before: Snapshot, after: Snapshot, requests: int, main: str | None
    ) -> dict[str, Any]:
        """Per request: app CPU, PostgreSQL CPU, SQL time and count, the main query."""
        if requests <= 0:
            return {}
        per = 1000.0 / CLOCK_TICKS / requests
        out: dict[str, Any] = {"app_cpu_ms": round((after.app - before.app) * per, 2)}
        out["pg_cpu_ms"] = (
            round((after.pg - before.pg) * per, 2)
            if after.pg is not None and before.pg is not None
            else None
        )
        if after.statements is None or before.statements is None:
            out.update(sql_ms=None, queries=None, sql_note=self.problem)
            return out
        diffs = []
        for queryid, (calls, total, text) in after.statements.items():
            was_calls, was_total, _ = before.statements.get(queryid, (0, 0.0, text))
            if calls > was_calls and _DATA.match(text):
                diffs.append((total - was_total, calls - was_calls, text))
        sql_ms = sum(d[0] for d in diffs)
        out["sql_ms"] = round(sql_ms / requests, 3)
        out["queries"] = round(sum(d[1] for d in diffs) / requests, 1)
        out["app_cpu_per_sql"] = round(out["app_cpu_ms"] / out["sql_ms"], 1) if sql_ms else None

        # The statement run for every request (most calls), then the slowest: a straggler of
        # the window before (one call, long) is never taken for the page's main query.
        def weight(d: tuple[float, int, str]) -> tuple[int, float]:
            return d[1], d[0]

        chosen = None
        if main:
            matching = [d for d in diffs if re.search(main, d[2], re.S)]
            chosen = max(matching, key=weight, default=None)
        if chosen is None:  # no pattern (dashboard, writes): the SELECT that took the most time
            chosen = max((d for d in diffs if _ROWS.match(d[2])), default=None)
            if chosen is not None and main:
                out["main_query_note"] = "pattern not found: the slowest SELECT"
        if chosen is not None:
            out["main_query_ms"] = round(chosen[0] / chosen[1], 3)
            out["main_query_per_request"] = round(chosen[1] / requests, 2)
            out["main_query"] = " ".join(chosen[2].split())[:600]
        return out

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):
                self.conn.close()
