"""The load driver: a separate process that signs in as the right role and drives each operation
over HTTP with a fixed number of concurrent clients (threads) for a fixed time.

Every operation is one entry of ``operations()``: the URL it needs, how to do it once, and what
the page must contain. An operation whose route is not in the app's URL map yet is reported as
"not available yet" and skipped. Results go to a JSON-lines file read by ``report.py``.

Run by ``run.py`` (which starts the servers); on its own:
``python scripts/bench/driver.py --port PORT --gunicorn-pid N --out results.jsonl``.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import json
import os
import random
import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pyotp
from common import (
    BENCH_OTP_SECRET,
    BENCH_PASSWORD,
    COMMON_WORD,
    RARE_WORD,
    TWO_WORDS,
    app_env,
    database_url,
    own_cluster,
    psycopg_url,
    redis_url,
    scale_from_env,
)
from meter import Meter
from pgcluster import postmaster_pid
from webclient import REFERENCE, Client, FileUpload, Response, error_excerpt, find_form


class Skip(Exception):
    """The operation cannot run yet (route missing, nothing to act on)."""


class Failed(Exception):
    """One request failed: wrong status or the page lacks the expected content."""


def make_pdf(size: int = 100 * 1024) -> bytes:
    """A well-formed PDF of ``size`` bytes (python-magic sees application/pdf)."""
    head = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    head += b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n3 0 obj << /Length "
    tail = b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    filler = size - len(head) - len(tail) - len(b"000000 >> stream\n")
    payload = random.Random(7).randbytes(filler)
    return head + f"{filler:06d}".encode() + b" >> stream\n" + payload + tail


@dataclass
class Ctx:
    """What every operation may use: the servers, the dataset, the signed-in sessions."""

    host: str
    port: int
    db: str
    facts: dict[str, Any]
    mail_dir: Path
    attachment_dir: Path
    rules: Any  # the app's URL map adapter
    sessions: dict[str, Client] = field(default_factory=dict)
    pdf: bytes = field(default_factory=make_pdf)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self) -> Client:
        return Client(self.host, self.port)

    def query(self, sql: str, params: Any = ()) -> list[Any]:
        with psycopg.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()

    def has_route(self, path: str, method: str = "GET") -> bool:
        from werkzeug.exceptions import MethodNotAllowed, NotFound
        from werkzeug.routing import RequestRedirect

        try:
            self.rules.match(path.split("?")[0], method=method)
        except (NotFound, MethodNotAllowed):
            return False
        except RequestRedirect:
            return True
        return True


# --- signing in --------------------------------------------------------------------------


def post_password(client: Client, who: str, path: str, field: str, name: str) -> Response | None:
    """The first step of a login: the form on ``path`` with ``field`` = ``name`` and the bench
    password. None when rate-limited (after a pause: try again); the redirect otherwise."""
    page = client.get(path)
    form = find_form(page, has=field)
    if form is None:
        raise Skip(f"{who} login form not found at {path} (HTTP {page.status})")
    response = client.post_form(form, form.fill({field: name, "password": BENCH_PASSWORD}))
    if response.status == 429:
        time.sleep(5)
        return None
    if response.status not in (302, 303):
        raise Failed(f"{who} login refused for {name}: {error_excerpt(response)}")
    return response


def sign_in_agent(ctx: Ctx, username: str) -> Client:
    client = ctx.client()
    for _attempt in range(3):
        response = post_password(client, "agent", "/login/", "username", username)
        if response is None:
            continue
        page = client.get(response.location)
        otp_form = find_form(page, has="otp")
        if otp_form is None:
            return client  # no second factor asked
        code = pyotp.TOTP(BENCH_OTP_SECRET).now()
        response = client.post_form(otp_form, otp_form.fill({"otp": code}))
        if response.status in (302, 303) and "/login" not in response.location:
            return client
        # A code already used in this 30-second step (an earlier run): wait for the next one.
        time.sleep(31 - time.time() % 30)
    raise Failed(f"agent {username} could not sign in (second factor refused)")


def read_code(ctx: Ctx, address: str, since: float, timeout: float = 30.0) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for path in sorted(ctx.mail_dir.glob("*.eml"), reverse=True):
            if path.stat().st_mtime < since - 1:
                break
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address.lower() not in str(message.get("To", "")).lower():
                continue
            part = message.get_body(preferencelist=("plain",))
            text = part.get_content() if part is not None else ""
            match = re.search(r"\b(\d{6})\b", text)
            if match:
                return match.group(1)
        time.sleep(0.2)
    raise Failed(f"no sign-in code e-mailed to {address} within {timeout:.0f} s")


def sign_in_taxpayer(ctx: Ctx, identifier: str) -> Client:
    client = ctx.client()
    address = ctx.query(
        "SELECT email FROM taxpayer WHERE tax_number = %s OR siren = %s", (identifier, identifier)
    )[0][0]
    for _attempt in range(3):
        since = time.time()
        response = post_password(client, "taxpayer", "/espace/connexion", "identifier", identifier)
        if response is None:
            continue
        if "/connexion/code" not in response.location:
            return client
        page = client.get(response.location)
        code_form = find_form(page, has="code")
        if code_form is None:
            raise Failed("the sign-in code page has no code field")
        code = read_code(ctx, address, since)
        response = client.post_form(code_form, code_form.fill({"code": code}))
        if response.status in (302, 303) and "/connexion" not in response.location:
            return client
        raise Failed(f"sign-in code refused for {identifier}: {error_excerpt(response)}")
    raise Failed(f"taxpayer {identifier} rate-limited at sign-in")


# --- operations ---------------------------------------------------------------------------


@dataclass
class Operation:
    name: str
    label: str
    path: str  # the route it needs (checked against the URL map)
    method: str
    setup: Callable[[Ctx, int], list[Any]]  # one state per client
    once: Callable[[Ctx, Any], Response]  # timed part; raises Failed on a wrong page
    levels: tuple[int, ...] = (8, 1)
    note: str = ""
    # The statement that yields the page's rows (a regex on pg_stat_statements' normalised
    # text); the page's "main query". None: the SELECT that took the most time.
    main: str | None = None
    # The page's floor (views/floor): the path of the bare route for one state, and the text it
    # must contain; ``make bench`` turns the routes on (BENCH_FLOOR_ROUTES) and drives them too.
    floor: Callable[[dict[str, Any]], tuple[str, str]] | None = None


def expect(response: Response, status: int = 200, texts: tuple[str, ...] = (), refs: int = 0):
    if response.status != status:
        raise Failed(f"HTTP {response.status} (expected {status}) at {response.url}")
    body = response.text
    for text in texts:
        if text not in body:
            raise Failed(f"{text!r} missing from {response.url}")
    if refs and len(set(REFERENCE.findall(body))) < refs:
        raise Failed(f"fewer than {refs} case references on {response.url}")
    return response


def agents_for(ctx: Ctx, count: int) -> list[Client]:
    names = ctx.facts["agents"]["big_office_agents"]
    clients = []
    for index in range(count):
        name = names[index % len(names)]
        if name not in ctx.sessions:
            ctx.sessions[name] = sign_in_agent(ctx, name)
        clients.append(ctx.sessions[name].clone())
    return clients


def taxpayers_for(ctx: Ctx, count: int) -> list[Client]:
    clients = []
    for index in range(count):
        identifier = ctx.facts["submitters"][index]
        if identifier not in ctx.sessions:
            ctx.sessions[identifier] = sign_in_taxpayer(ctx, identifier)
        clients.append(ctx.sessions[identifier].clone())
    return clients


def steering_for(ctx: Ctx, count: int) -> list[Client]:
    name = ctx.facts["agents"]["steering_delegation"]
    if name not in ctx.sessions:
        ctx.sessions[name] = sign_in_agent(ctx, name)
    return [ctx.sessions[name].clone() for _ in range(count)]


def _submit_state(ctx: Ctx, count: int) -> list[Any]:
    return [{"client": client, "n": 0} for client in taxpayers_for(ctx, count)]


def _submit(ctx: Ctx, state: dict[str, Any]) -> Response:
    client: Client = state["client"]
    page = client.get("/espace/demandes/nouvelle")
    form = find_form(page, has="subject")
    if form is None:
        raise Failed(f"no new-case form at /espace/demandes/nouvelle (HTTP {page.status})")
    file_field = next((f.name for f in form.fields if f.kind == "file"), "files")
    state["n"] += 1
    marker = f"bench-{os.getpid()}-{threading.get_ident()}-{state['n']}"
    subject = f"Question sur ma déclaration ({marker})"
    fields = form.fill(
        {
            "subject": subject,
            "body": "Bonjour, je joins mon avis d'impôt : le montant me paraît trop élevé. "
            f"Pouvez-vous vérifier ? Référence interne {marker}.",
            file_field: FileUpload("avis-impot.pdf", "application/pdf", ctx.pdf),
        }
    )
    started = time.perf_counter()
    response = client.post_form(form, fields)
    state["elapsed"] = time.perf_counter() - started
    if response.status not in (302, 303) or "/envoyee" not in response.location:
        raise Failed(f"submission not acknowledged: {error_excerpt(response)}")
    reference = REFERENCE.search(response.location)
    token = dict(fields).get("submission_token", "")
    with ctx.lock:
        ctx.submissions.append(
            {"reference": reference.group(0) if reference else None, "subject": subject,
             "marker": marker, "token": token}
        )  # fmt: skip
    return response


def _page_state(clients: list[Client], path: str) -> list[Any]:
    return [{"client": c, "path": path} for c in clients]


def _get_page(texts: tuple[str, ...] = (), refs: int = 0) -> Callable[[Ctx, Any], Response]:
    def once(ctx: Ctx, state: dict[str, Any]) -> Response:
        path = state["path"]() if callable(state["path"]) else state["path"]
        started = time.perf_counter()
        response = state["client"].get(path, follow=False)
        state["elapsed"] = time.perf_counter() - started
        return expect(response, texts=texts, refs=refs)

    return once


def _open_cases(ctx: Ctx, limit: int) -> list[tuple[int, str]]:
    return ctx.query(
        'SELECT c.id, c.reference FROM "case" c JOIN office o ON o.id = c.office_id '
        "WHERE o.code = %s AND c.status <> 'closed' ORDER BY random() LIMIT %s",
        (ctx.facts["big_office"], limit),
    )


def _case_page_state(ctx: Ctx, count: int) -> list[Any]:
    cases = _open_cases(ctx, 2000)
    if not cases:
        raise Skip("no open case in the big office")
    states = []
    for client in agents_for(ctx, count):
        rng = random.Random(len(states))
        states.append({"client": client, "cases": cases, "rng": rng})
    return states


def _case_page(ctx: Ctx, state: dict[str, Any]) -> Response:
    case_id, reference = state["rng"].choice(state["cases"])
    started = time.perf_counter()
    response = state["client"].get(f"/agent/demandes/{case_id}", follow=False)
    state["elapsed"] = time.perf_counter() - started
    return expect(response, texts=(reference,))


def _case_floor(state: dict[str, Any]) -> tuple[str, str]:
    case_id, reference = state["rng"].choice(state["cases"])
    return f"/_floor/case/{case_id}", reference


def floor_of(op: Operation) -> Operation:
    """The operation that drives ``op``'s floor route with the same sign-in and states."""
    assert op.floor is not None
    make = op.floor

    def once(ctx: Ctx, state: dict[str, Any]) -> Response:
        path, text = make(state)
        started = time.perf_counter()
        response = state["client"].get(path, follow=False)
        state["elapsed"] = time.perf_counter() - started
        return expect(response, texts=(text,) if text else ())

    return Operation(
        op.name + "_floor",
        f"floor of: {op.label}",
        make({"rng": random.Random(0), "cases": [(1, "")]})[0],
        "GET",
        op.setup,
        once,
        levels=(1,),
        main=op.main,
    )


def _reply_state(ctx: Ctx, count: int) -> list[Any]:
    cases = _open_cases(ctx, 4000)
    if not cases:
        raise Skip("no open case in the big office")
    return [
        {"client": client, "cases": cases[index::count], "next": 0}
        for index, client in enumerate(agents_for(ctx, count))
    ]


def _reply(ctx: Ctx, state: dict[str, Any]) -> Response:
    client: Client = state["client"]
    case_id, _reference = state["cases"][state["next"] % len(state["cases"])]
    state["next"] += 1
    page = client.get(f"/agent/demandes/{case_id}", follow=False)
    form = find_form(page, action_contains="/repondre")
    if form is None:
        raise Failed(f"no reply form on case {case_id} (HTTP {page.status})")
    marker = f"bench-reply-{os.getpid()}-{threading.get_ident()}-{state['next']}"
    body = f"Bonjour, nous avons bien examiné votre demande ({marker}). Cordialement."
    fields = form.fill({"body": body, "kind": "reponse"})
    started = time.perf_counter()
    response = client.post_form(form, fields)
    state["elapsed"] = time.perf_counter() - started
    if response.status not in (302, 303):
        raise Failed(f"reply refused: {error_excerpt(response)}")
    with ctx.lock:
        ctx.replies.append({"case_id": case_id, "marker": marker})
    return response


def _taxpayer_id(ctx: Ctx, identifier: str) -> int:
    return ctx.query("SELECT id FROM taxpayer WHERE tax_number = %s", (identifier,))[0][0]


def _last_name(ctx: Ctx, identifier: str) -> str:
    return ctx.query("SELECT last_name FROM taxpayer WHERE tax_number = %s", (identifier,))[0][0]


# The statement that yields a list of requests (pg_stat_statements' normalised text).
CASE_ROWS = r'^SELECT "case"\.id\b.*\bFROM "case"'


def operations(ctx: Ctx) -> list[Operation]:
    facts = ctx.facts
    heavy = facts["heavy_taxpayers"][0]
    typical = facts["typical_taxpayer"]
    reason = quote("Accueil de proximité : demande de l'usager au guichet")
    delegation = ctx.query(
        "SELECT id, name FROM office WHERE code = %s", (facts["delegation_code"],)
    )
    delegation_id, delegation_name = delegation[0]
    first = (date.today() - timedelta(days=365 * 3 + 2)).isoformat()
    period = f"du={first}&au={date.today().isoformat()}"
    heavy_id, typical_id = _taxpayer_id(ctx, heavy), _taxpayer_id(ctx, typical)
    steering_path = f"/pilotage/{delegation_id}?{period}"

    def search(words: str, refs: int) -> Operation:
        return Operation(
            "search_" + {RARE_WORD: "rare", COMMON_WORD: "common"}.get(words, "two_words"),
            f"full-text search « {words} »",
            "/agent/recherche/",
            "GET",
            lambda c, n: _page_state(agents_for(c, n), f"/agent/recherche/?q={quote(words)}"),
            _get_page(refs=refs),
            main=r"office_tsquery",  # either pass of the search (decision 0016)
            floor=lambda state: (f"/_floor/search?q={quote(words)}", ""),
        )

    return [
        Operation(
            "submit",
            "submit (new case, 100 KB PDF, real form)",
            "/espace/demandes/nouvelle",
            "POST",
            _submit_state,
            _submit,
            note="timed: the POST of the form; the GET of the form before it is not timed",
        ),
        Operation(
            "taxpayer_inbox",
            "taxpayer inbox",
            "/espace/",
            "GET",
            lambda c, n: _page_state(taxpayers_for(c, n), "/espace/"),
            _get_page(refs=1),
            main=CASE_ROWS,
            floor=lambda state: ("/_floor/taxpayer-inbox", "<td>"),
        ),
        Operation(
            "agent_inbox",
            f"agent office inbox ({facts['big_office']}, open cases)",
            "/agent/demandes/",
            "GET",
            lambda c, n: _page_state(agents_for(c, n), "/agent/demandes/"),
            _get_page(refs=10),
            main=CASE_ROWS + r".*ORDER BY",
            floor=lambda state: ("/_floor/agent-inbox", "<td>"),
        ),
        Operation(
            "case_page",
            "a case's page (agent)",
            "/agent/demandes/1",
            "GET",
            _case_page_state,
            _case_page,
            main=r"^SELECT message\.id\b.*FROM message\b",
            floor=_case_floor,
        ),
        Operation(
            "reply",
            "an agent's reply",
            "/agent/demandes/1/repondre",
            "POST",
            _reply_state,
            _reply,
            note="timed: the POST; the case's page loaded before it is not timed",
        ),
        Operation(
            "summary_300",
            f"summary sheet, {facts['heavy_counts'][0]} contacts",
            f"/agent/usagers/{heavy_id}/synthese",
            "GET",
            lambda c, n: _page_state(
                agents_for(c, n), f"/agent/usagers/{heavy_id}/synthese?reason={reason}"
            ),
            _get_page(texts=(_last_name(ctx, heavy),), refs=10),
            main=CASE_ROWS + r".*taxpayer_id",
            floor=lambda state: (f"/_floor/summary/{heavy_id}", "<td>"),
        ),
        Operation(
            "summary_typical",
            "summary sheet, a typical taxpayer",
            f"/agent/usagers/{typical_id}/synthese",
            "GET",
            lambda c, n: _page_state(
                agents_for(c, n), f"/agent/usagers/{typical_id}/synthese?reason={reason}"
            ),
            _get_page(texts=(_last_name(ctx, typical),), refs=1),
            main=CASE_ROWS + r".*taxpayer_id",
            floor=lambda state: (f"/_floor/summary/{typical_id}", "<td>"),
        ),
        search(RARE_WORD, 0),
        search(COMMON_WORD, 1),
        search(TWO_WORDS, 0),
        Operation(
            "steering_delegation",
            "steering dashboard, delegation, whole period",
            steering_path,
            "GET",
            lambda c, n: _page_state(steering_for(c, n), steering_path),
            _get_page(texts=(delegation_name,)),
        ),
    ]


# --- running ----------------------------------------------------------------------------


def drive(
    ctx: Ctx, op: Operation, clients: int, duration: float, meter: Meter | None = None
) -> dict[str, Any]:
    states = op.setup(ctx, clients)
    for state in states[:1]:  # warm: the first request of a process loads what it caches
        with contextlib.suppress(Exception):
            op.once(ctx, state)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(state: Any) -> None:
        while time.perf_counter() < start_at:
            time.sleep(0.01)
        while time.perf_counter() < stop_at:
            try:
                op.once(ctx, state)
                with lock:
                    latencies.append(state["elapsed"])
            except Failed as failure:
                with lock:
                    errors.append(str(failure))
            except Exception as error:  # noqa: BLE001 - a broken connection is one error
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in states]
    if meter:
        meter.settle()
    before = meter.snapshot() if meter else None
    start_at = time.perf_counter() + 0.2  # counted from here: settling is not the window's
    stop_at = start_at + duration
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 300)
    elapsed = max(time.perf_counter() - start_at, 1e-9)
    if meter:
        meter.settle()
    after = meter.snapshot() if meter else None
    for state in states:
        state["client"].close()
    row = summarise(op, clients, latencies, errors, elapsed)
    if meter and before and after:
        row.update(meter.measure(before, after, len(latencies) + len(errors), op.main))
    return row


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarise(op, clients, latencies, errors, elapsed) -> dict[str, Any]:
    ms = [value * 1000 for value in latencies]
    return {
        "kind": "operation",
        "operation": op.name,
        "label": op.label,
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:3],
        "seconds": round(elapsed, 2),
        "throughput": round(len(latencies) / elapsed, 1),
        "p50_ms": _round(statistics.median(ms) if ms else None),
        "p95_ms": _round(percentile(ms, 0.95)),
        "p99_ms": _round(percentile(ms, 0.99)),
        "note": op.note,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- CSV export and worker memory ---------------------------------------------------------


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == master:
                    pids.append(int(entry.name))
    return pids


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def export(ctx: Ctx, master: int) -> dict[str, Any]:
    first = (date.today() - timedelta(days=365 * 3 + 2)).isoformat()
    period = f"du={first}&au={date.today().isoformat()}"
    candidates = [
        (ctx.facts["agents"]["admin"], f"/pilotage/export/demandes.csv?{period}", "national"),
        (ctx.facts["agents"]["steering_delegation"], None, "delegation"),
    ]
    delegation_id = ctx.query(
        "SELECT id FROM office WHERE code = %s", (ctx.facts["delegation_code"],)
    )[0][0]
    result: dict[str, Any] = {"kind": "export", "operation": "csv_export"}
    if not ctx.has_route("/pilotage/export/demandes.csv"):
        return {**result, "skipped": "not available yet: no /pilotage/export/<table>.csv route"}
    for username, path, scope in candidates:
        path = path or f"/pilotage/{delegation_id}/export/demandes.csv?{period}"
        if username not in ctx.sessions:
            ctx.sessions[username] = sign_in_agent(ctx, username)
        client = ctx.sessions[username].clone()
        pids = worker_pids(master)
        baseline = {pid: rss_mb(pid) for pid in pids}
        peak = dict(baseline)
        done = threading.Event()

        def sample(pids: list[int] = pids, peak: dict[int, float] = peak, done: Any = done) -> None:
            while not done.is_set():
                for pid in pids:
                    peak[pid] = max(peak.get(pid, 0.0), rss_mb(pid))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        counted = {"bytes": 0, "lines": 0}

        def consume(chunk: bytes, counted: dict[str, int] = counted) -> None:
            counted["bytes"] += len(chunk)
            counted["lines"] += chunk.count(b"\n")

        started = time.perf_counter()
        response = client.request("GET", path, stream=consume)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        client.close()
        if response.status in (403, 404) and scope == "national":
            continue
        growth = max((peak[p] - baseline.get(p, 0.0) for p in peak), default=0.0)
        ok = response.status == 200 and counted["lines"] > 1
        return {
            **result,
            "scope": scope,
            "status": response.status,
            "rows": max(counted["lines"] - 1, 0),
            "megabytes": round(counted["bytes"] / 1e6, 1),
            "seconds": round(seconds, 2),
            "peak_worker_rss_mb": round(max(peak.values(), default=0.0), 1),
            "worker_rss_growth_mb": round(growth, 1),
            "errors": 0 if ok else 1,
        }
    return {**result, "skipped": "export refused for the admin and the delegation", "errors": 1}


# --- correctness ----------------------------------------------------------------------------


def check_submissions(ctx: Ctx) -> dict[str, Any]:
    expected_size = len(ctx.pdf)
    complete, problems, alerts = 0, [], 0
    for item in ctx.submissions:
        rows = ctx.query(
            "SELECT c.id, c.subject, (SELECT count(*) FROM message m WHERE m.case_id = c.id "
            "AND m.body LIKE %s), (SELECT count(*) FROM event e WHERE e.case_id = c.id "
            "AND e.kind = 'received'), (SELECT count(*) FROM notification n "
            'WHERE n.case_id = c.id) FROM "case" c WHERE c.reference = %s',
            (f"%{item['marker']}%", item["reference"]),
        )
        if not rows:
            problems.append(f"{item['reference']}: acknowledged but not in the database")
            continue
        case_id, subject, messages, events, notifications = rows[0]
        files = ctx.query(
            "SELECT a.storage_key, a.size FROM attachment a JOIN message m ON m.id = a.message_id "
            "WHERE m.case_id = %s",
            (case_id,),
        )
        missing = []
        if subject != item["subject"]:
            missing.append("subject")
        if messages != 1:
            missing.append("message")
        if events < 1:
            missing.append("RECEIVED event")
        if len(files) != 1 or files[0][1] != expected_size:
            missing.append("attachment row")
        else:
            key = files[0][0]
            stored = ctx.attachment_dir / key[:2] / key[2:4] / key
            if not stored.exists() or stored.stat().st_size != expected_size:
                missing.append("attachment file")
        alerts += notifications > 0
        if missing:
            problems.append(f"{item['reference']}: missing {', '.join(missing)}")
        else:
            complete += 1
    return {
        "kind": "check",
        "check": "submissions",
        "acknowledged": len(ctx.submissions),
        "complete": complete,
        "with_notification_row": alerts,
        "problems": problems[:5],
        "ok": not problems,
        "note": "complete = case + message + RECEIVED event + attachment row + file on disk; "
        "the app queues no e-mail on a taxpayer's own submission (alerts are for the "
        "administration's messages: see the reply check)",
    }


def check_replies(ctx: Ctx, timeout: float = 60.0) -> dict[str, Any]:
    """Every acknowledged reply is a message with its alert row, and the worker sends it."""
    if not ctx.replies:
        return {"kind": "check", "check": "replies", "acknowledged": 0, "ok": True}
    deadline = time.time() + timeout
    while True:
        problems = []
        sent = queued = 0
        for item in ctx.replies:
            rows = ctx.query(
                "SELECT m.id, (SELECT string_agg(n.status, ',') FROM notification n "
                "WHERE n.message_id = m.id) FROM message m WHERE m.case_id = %s "
                "AND m.body LIKE %s",
                (item["case_id"], f"%{item['marker']}%"),
            )
            if not rows:
                problems.append(f"case {item['case_id']}: reply not in the database")
                continue
            statuses = (rows[0][1] or "").split(",")
            if statuses == [""]:
                problems.append(f"case {item['case_id']}: no alert row")
            queued += statuses != [""]
            sent += "sent" in statuses
        if problems or sent == len(ctx.replies) or time.time() > deadline:
            break
        time.sleep(1)
    unsent = len(ctx.replies) - sent
    if not problems and unsent:
        problems.append(f"{unsent} alert(s) still not sent after {timeout:.0f} s")
    return {
        "kind": "check",
        "check": "replies",
        "acknowledged": len(ctx.replies),
        "alert_rows": queued,
        "alerts_sent": sent,
        "problems": problems[:5],
        "ok": not problems,
    }


# --- main -----------------------------------------------------------------------------------


def wait_healthy(ctx: Ctx, after_reload: bool = False, timeout: float = 60.0) -> None:
    if after_reload:
        time.sleep(2.0)
    deadline = time.time() + timeout
    while time.time() < deadline:
        client = ctx.client()
        try:
            if client.get("/healthz").status == 200:
                return
        except OSError:
            pass
        finally:
            client.close()
        time.sleep(0.3)
    raise SystemExit("the app did not answer /healthz")


def load_url_map(scale) -> Any:
    """The app's routes, to tell which operations exist yet."""
    os.environ.update({k: v for k, v in app_env(scale).items() if k not in os.environ or k in (
        "DATABASE_URL", "ECONTACTS_ENV", "SECRET_KEY", "REDIS_URL", "ECONTACTS_DATA_DIR",
        "ATTACHMENT_DIR", "DEMO_MODE")})  # fmt: skip
    from app import create_app

    return create_app().url_map.bind("127.0.0.1")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--gunicorn-pid", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", default="", help="comma-separated operation names")
    args = parser.parse_args()
    scale = scale_from_env()
    env = app_env(scale)
    db = psycopg_url(database_url(scale))
    dbname = db.rsplit("/", 1)[-1]
    with psycopg.connect(db) as conn:
        facts = conn.execute("SELECT facts FROM bench.dataset WHERE scale = %s", (scale.name,))
        facts_row = facts.fetchone()
    if not facts_row:
        raise SystemExit("no bench dataset: run seed.py first")
    ctx = Ctx(
        "127.0.0.1",
        args.port,
        db,
        facts_row[0],
        Path(env["ECONTACTS_DATA_DIR"]) / "mails",
        Path(env["ATTACHMENT_DIR"]),
        load_url_map(scale),
    )
    with contextlib.suppress(Exception):  # forget earlier runs' sign-in attempts
        import redis

        connection = redis.Redis.from_url(redis_url())
        for key in connection.scan_iter("econtacts:rl:*"):
            connection.delete(key)
    wait_healthy(ctx)
    out = args.out.open("w")

    def emit(row: dict[str, Any]) -> None:
        row.setdefault("scale", scale.name)
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
        shown = {k: v for k, v in row.items() if k not in ("scale", "kind", "note", "main_query")}
        print("  " + json.dumps(shown, ensure_ascii=False), flush=True)

    only = {name for name in args.only.split(",") if name}
    ops = [op for op in operations(ctx) if not only or op.name in only]
    available = []
    for op in ops:
        if ctx.has_route(op.path, op.method):
            available.append(op)
        else:
            print(f"{op.name}: not available yet (no route {op.method} {op.path})", flush=True)
            emit({"kind": "operation", "operation": op.name, "label": op.label,
                  "skipped": f"not available yet: no route {op.method} {op.path}"})  # fmt: skip
    for op in list(available):  # each page's floor right after it
        if op.floor is not None:
            floor = floor_of(op)
            if ctx.has_route(floor.path):
                available.insert(available.index(op) + 1, floor)
            else:
                print(f"{op.name}: no floor route (BENCH_FLOOR_ROUTES off?)", flush=True)
    print(f"Driving {len(available)} operations for {scale.duration:.0f} s each", flush=True)
    meter = Meter(db, dbname, args.gunicorn_pid, postmaster_pid() if own_cluster() else None)
    if meter.problem:
        print(meter.problem, flush=True)
    for op in available:
        for clients in op.levels:
            print(f"{op.name} × {clients} client(s)", flush=True)
            try:
                row = drive(ctx, op, clients, scale.duration, meter)
                if op.name.endswith("_floor"):
                    row["floor_of"] = op.name.removesuffix("_floor")
                emit(row)
            except Exception as error:  # noqa: BLE001 - reported, and the run goes on
                detail = str(error) if isinstance(error, Skip | Failed) else repr(error)
                emit({"kind": "operation", "operation": op.name, "label": op.label,
                      "clients": clients, "skipped": detail,
                      "errors": 0 if isinstance(error, Skip) else 1})  # fmt: skip
                break
    if not only or "csv_export" in only:
        print("csv_export × 1 client", flush=True)
        emit(export(ctx, args.gunicorn_pid))
    print("Correctness", flush=True)
    emit(check_submissions(ctx))
    emit(check_replies(ctx))
    meter.close()
    emit({"kind": "run", "finished_at": datetime.now(UTC).isoformat(timespec="seconds")})
    out.close()


if __name__ == "__main__":
    main()
