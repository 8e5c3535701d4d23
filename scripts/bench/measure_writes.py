"""Measure the summary sheet, a taxpayer's submission and an agent's reply in-process (issue 17).

    SCALE=smoke .venv/bin/python scripts/bench/measure_writes.py summary AGENT_LOGIN TAXPAYER_ID [N]
    SCALE=smoke .venv/bin/python scripts/bench/measure_writes.py submit TAX_NUMBER [N]
    SCALE=smoke .venv/bin/python scripts/bench/measure_writes.py reply AGENT_LOGIN [N]
    SCALE=smoke .venv/bin/python scripts/bench/measure_writes.py page AGENT_LOGIN URL [N]

The app runs in this process with the benchmark's production settings (as ``profile.py``). Each
request is measured alone: CPU time of this process (``time.process_time``), SQL statements and
their time as the client sees it (cursor execute to its end, network included). The script
prints the median of N requests (default 30) after 3 unmeasured ones. ``submit`` measures the
GET of the form and the POST (a 100 KB PDF; ``NO_PDF=1``: none) apart; ``reply`` measures the
POST of an answer to an open case of the agent's office (the GET of the case page before it is
not measured; ``REPLY_STATUS=new``: only new cases, the first answer).
``STATEMENTS=1`` prints the statements of the last request. Writes: use a smoke
dataset of your own, never a shared one.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# This folder holds a ``profile.py``, which cProfile would import instead of the standard
# library's: cProfile is loaded with this folder out of the path (as profile.py does).
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(_HERE)]
import cProfile  # noqa: E402

sys.path.insert(0, _HERE)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import app_env, scale_from_env  # noqa: E402


def _bench_profile() -> Any:
    """scripts/bench/profile.py, loaded under another name (``profile`` is the standard
    library's): its sign-in helpers, ``row_id`` and ``server_session``."""
    spec = importlib.util.spec_from_file_location("bench_profile", Path(_HERE) / "profile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_PROFILE = _bench_profile()
row_id = _PROFILE.row_id
server_session = _PROFILE.server_session


class Meter:
    """Statements and their client-side time, per request."""

    def __init__(self, engine: Any) -> None:
        import psycopg
        from sqlalchemy import event

        # The server's own execution time (pg_stat_statements), where it is loaded.
        self.pg: Any = None
        if engine.dialect.name == "postgresql" and os.environ.get("PGSS", "1") == "1":
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.pg = psycopg.connect(url, autocommit=True)
            try:
                self._server_ms()
            except psycopg.Error:
                self.pg = None
        self.server = 0.0
        self.instrumented = False
        # PROFILE_CPU=1: cProfile (CPU time) of the measured requests, printed at the end.
        self.profile: Any = None
        if os.environ.get("PROFILE_CPU"):
            self.profile = cProfile.Profile(time.process_time)
        self.statements: list[str] = []
        self.times: list[float] = []
        self.sql = 0.0
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)
        self._started = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        spent = time.perf_counter() - self._started
        self.times.append(spent * 1000)
        self.sql += spent

    def _server_ms(self) -> float:
        row = self.pg.execute(
            "SELECT coalesce(sum(total_exec_time), 0) FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query NOT LIKE '%pg_stat_statements%'"
        ).fetchone()
        return float(row[0])

    def callgrind(self, *command: str) -> None:
        """Under ``valgrind --tool=callgrind --instr-atstart=no`` with ``CALLGRIND=1``: the
        instrumentation is switched on before the first measured request; the counters are
        zeroed before each measured request (``-z``) and dumped after it (``-d``), so that the
        dumps hold only those requests (``callgrind_sum.py`` adds them up)."""
        if os.environ.get("CALLGRIND"):
            import subprocess

            subprocess.run(
                ["callgrind_control", *command, str(os.getpid())],
                check=True,
                stdout=subprocess.DEVNULL,
            )

    def measure(
        self, call: Callable[[], Any], *, counted: bool = True
    ) -> tuple[float, int, float, Any]:
        """CPU ms, statements, SQL ms (the server's execution time where pg_stat_statements
        answers, else the client's), and what ``call`` returned."""
        if counted and not self.instrumented:
            self.instrumented = True
            self.callgrind("-i", "on")
        if counted:
            self.callgrind("-z")
        self.statements = []
        self.times = []
        self.sql = 0.0
        before = self._server_ms() if self.pg is not None else 0.0
        cpu = time.process_time()
        profiled = counted and self.profile is not None
        result = self.profile.runcall(call) if profiled else call()
        cpu = time.process_time() - cpu
        if counted:
            self.callgrind("-d")
        sql = self.sql * 1000
        if self.pg is not None:
            sql = self._server_ms() - before
        return cpu * 1000, len(self.statements), sql, result


def report(label: str, rows: list[tuple[float, int, float]]) -> None:
    cpu = statistics.median(r[0] for r in rows)
    queries = statistics.median(r[1] for r in rows)
    sql = statistics.median(r[2] for r in rows)
    print(
        f"{label}: {len(rows)} requests, median {cpu:.2f} ms CPU "
        f"(best {min(r[0] for r in rows):.2f}), {queries:.0f} statements, {sql:.2f} ms SQL"
    )


def sign_in_agent(app: Any, client: Any, login: str) -> int:
    from models.agent import Agent

    agent_id, _engine = row_id(app, Agent.username, login)
    if agent_id is None:
        raise SystemExit(f"No agent {login!r}.")
    token = server_session(app, agent_id=agent_id)
    with client.session_transaction() as session:
        session["_user_id"] = str(agent_id)
        session["_fresh"] = True
        session["mfa_ok"] = True
        session["agent_sid"] = token
    return agent_id


def summary(app: Any, client: Any, meter: Meter, args: list[str], n: int) -> None:
    url = f"/agent/usagers/{int(args[1])}/synthese?reason=Accueil+t%C3%A9l%C3%A9phonique"
    page(app, client, meter, [args[0], url], n, label="summary GET")


def page(app: Any, client: Any, meter: Meter, args: list[str], n: int, *, label: str = "") -> None:
    sign_in_agent(app, client, args[0])
    url = args[1]
    rows = []
    for number in range(n + 3):
        cpu, count, sql, response = meter.measure(lambda: client.get(url), counted=number >= 3)
        assert response.status_code == 200, response.status_code
        if number >= 3:
            rows.append((cpu, count, sql))
    report(label or f"GET {url}", rows)


def submit(app: Any, client: Any, meter: Meter, args: list[str], n: int) -> None:
    from driver import make_pdf

    from models import Taxpayer

    taxpayer_id, _engine = row_id(app, Taxpayer.tax_number, args[0])
    if taxpayer_id is None:
        raise SystemExit(f"No taxpayer {args[0]!r}.")
    token = server_session(app, taxpayer_id=taxpayer_id)
    with client.session_transaction() as session:
        session["taxpayer_id"] = taxpayer_id
        session["taxpayer_sid"] = token
    pdf = None if os.environ.get("NO_PDF") else make_pdf(100 * 1024)
    gets, posts = [], []
    for number in range(n + 3):
        cpu, count, sql, page = meter.measure(
            lambda: client.get("/espace/demandes/nouvelle"), counted=number >= 3
        )
        text = page.get_data(as_text=True)
        if number >= 3:
            gets.append((cpu, count, sql))
        fields = dict(re.findall(r'name="(csrf_token|submission_token)"[^>]*value="([^"]+)"', text))
        topic = re.search(r'<option value="(\d+)"', text)
        data: dict[str, Any] = {
            **fields,
            "topic": topic.group(1) if topic else "",
            "subject": "Question sur ma déclaration",
            "body": "Bonjour, je joins mon avis d'impôt : le montant me paraît trop élevé.",
        }
        if pdf is not None:
            data["files"] = (io.BytesIO(pdf), "avis-impot.pdf", "application/pdf")
        cpu, count, sql, response = meter.measure(
            lambda data=data: client.post("/espace/demandes/nouvelle", data=data),
            counted=number >= 3,
        )
        if response.status_code not in (302, 303) or "/envoyee" not in response.location:
            raise SystemExit(f"Submission refused: HTTP {response.status_code}")
        if number >= 3:
            posts.append((cpu, count, sql))
    report("submit GET form", gets)
    report("submit POST" + (" (no file)" if pdf is None else " (100 KB PDF)"), posts)
    report(
        "submit GET+POST",
        [tuple(map(sum, zip(g, p, strict=True))) for g, p in zip(gets, posts, strict=True)],
    )  # type: ignore[misc]


def reply(app: Any, client: Any, meter: Meter, args: list[str], n: int) -> None:
    from sqlalchemy import select

    from models import OPEN_STATUSES, Agent, Case, CaseStatus, db

    agent_id = sign_in_agent(app, client, args[0])
    # REPLY_STATUS=new: answer only new cases (the first answer: assignee, status, rollups).
    wanted = os.environ.get("REPLY_STATUS")
    statuses = [CaseStatus(wanted)] if wanted else list(OPEN_STATUSES)
    with app.app_context():
        office_id = db.session.get(Agent, agent_id).office_id
        case_ids = list(
            db.session.scalars(
                select(Case.id)
                .where(Case.office_id == office_id, Case.status.in_(statuses))
                .order_by(Case.id)
                .limit(n + 3)
            )
        )
    if len(case_ids) < n + 3:
        raise SystemExit("Not enough open cases in the agent's office.")
    rows = []
    for number, case_id in enumerate(case_ids):
        page = client.get(f"/agent/demandes/{case_id}").get_data(as_text=True)
        form = page[page.index(f'action="/agent/demandes/{case_id}/repondre"') :]
        form = form[: form.index("</form>")]
        fields = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', form))
        data = {
            "csrf_token": fields.get("csrf_token", ""),
            "submission_token": fields.get("submission_token", ""),
            "last_message_id": fields.get("last_message_id", ""),
            "kind": "reponse",
            "body": f"Bonjour, nous avons bien examiné votre demande ({number}). Cordialement.",
        }
        cpu, count, sql, response = meter.measure(
            lambda data=data, case_id=case_id: client.post(
                f"/agent/demandes/{case_id}/repondre", data=data
            ),
            counted=number >= 3,
        )
        if response.status_code not in (302, 303):
            raise SystemExit(f"Reply refused: HTTP {response.status_code}")
        if number >= 3:
            rows.append((cpu, count, sql))
    report("reply POST", rows)


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    what, args = sys.argv[1], sys.argv[2:]
    needed = {"summary": 2, "page": 2, "submit": 1, "reply": 1}[what]
    n = int(args[needed]) if len(args) > needed else 30
    os.environ.update(app_env(scale_from_env()))
    from app import create_app
    from models import db

    app = create_app()
    client = app.test_client()
    with app.app_context():
        meter = Meter(db.engine)
    {"summary": summary, "page": page, "submit": submit, "reply": reply}[what](
        app, client, meter, args, n
    )
    if meter.profile is not None:
        import pstats

        stats = pstats.Stats(meter.profile)
        stats.sort_stats("cumulative").print_stats(70)
        stats.sort_stats("tottime").print_stats(30)
    if os.environ.get("STATEMENTS"):
        for spent, statement in zip(meter.times, meter.statements, strict=False):
            print(f"{spent:7.2f} ms  {' '.join(statement.split())[:400]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
