"""Profile one page of the app on the bench dataset with pyinstrument (docs/benchmarks.md).

    SCALE=national .venv/bin/python scripts/bench/profile.py AGENT_LOGIN URL [REPEAT]
    SCALE=national .venv/bin/python scripts/bench/profile.py --taxpayer TAX_NUMBER URL [REPEAT]
    SCALE=national .venv/bin/python scripts/bench/profile.py --submit TAX_NUMBER [REPEAT]

The second form profiles a page of a taxpayer (``/espace/``, ``/_floor/taxpayer-inbox``); the
third a taxpayer's new case with a 100 KB PDF (the POST only: the GET of the form before each
one is not profiled).

The app runs in this process with the production settings of the benchmark; the agent is signed
in by writing Flask-Login's session keys (both factors passed), as the tests do. The page is
fetched once to warm the caches, then REPEAT times (default 50) under the profiler; the script
prints the CPU time and query count per request unprofiled, then pyinstrument's call tree
(wall time), or with ``PROFILE_CPU=1`` cProfile's tables on CPU time (a busy machine's waits
left out; ``PROFILE_DUMP=FILE`` also writes them for ``pstats``).
"""

from __future__ import annotations

import io
import os
import pstats
import re
import sys
import time
from pathlib import Path
from typing import Any

# This file is named like the standard library's ``profile``, which cProfile imports: cProfile
# is loaded with this folder out of the path.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(_HERE)]
import cProfile  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import app_env, scale_from_env  # noqa: E402


def row_id(app: Any, column: Any, value: str) -> tuple[int | None, Any]:
    """The id of the row whose ``column`` equals ``value`` (None if absent), and the engine."""
    from sqlalchemy import select

    from models import db

    with app.app_context():
        found = db.session.scalar(select(column.class_).where(column == value))
        return (found.id if found is not None else None), db.engine


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    args = sys.argv[1:]
    as_taxpayer = args[0] == "--taxpayer"
    if as_taxpayer:
        args = args[1:]
    login, url = args[0], args[1]
    repeat = int(args[2]) if len(args) > 2 else 50
    os.environ.update(app_env(scale_from_env()))
    from pyinstrument import Profiler
    from sqlalchemy import event

    from app import create_app
    from models import Taxpayer
    from models.agent import Agent

    app = create_app()
    client = app.test_client()
    if login == "--submit":
        return profile_submit(app, client, url, repeat)
    if as_taxpayer:
        taxpayer_id, engine = row_id(app, Taxpayer.tax_number, login)
        if taxpayer_id is None:
            print(f"No taxpayer {login!r} in the bench database.")
            return 1
        sign_in_taxpayer(app, client, taxpayer_id)
    else:
        agent_id, engine = row_id(app, Agent.username, login)
        if agent_id is None:
            print(f"No agent {login!r} in the bench database.")
            return 1
        token = server_session(app, agent_id=agent_id)
        with client.session_transaction() as session:
            session["_user_id"] = str(agent_id)
            session["_fresh"] = True
            session["mfa_ok"] = True
            session["agent_sid"] = token
    first = client.get(url)
    print(f"GET {url}: HTTP {first.status_code}, {len(first.data)} bytes")
    if first.status_code != 200:
        return 1
    queries = 0

    def count(*_args: object) -> None:
        nonlocal queries
        queries += 1

    event.listen(engine, "before_cursor_execute", count)
    batches = []  # the least CPU of five batches: the one least disturbed by the machine's load
    for _ in range(5):
        cpu_started = time.process_time()
        for _ in range(repeat):
            client.get(url)
        batches.append((time.process_time() - cpu_started) / repeat * 1000)
    event.remove(engine, "before_cursor_execute", count)
    print(
        f"{repeat} requests × 5 unprofiled: {min(batches):.2f} ms of CPU each at best "
        f"(median {sorted(batches)[2]:.2f}), {queries / repeat / 5:.1f} queries"
    )
    if os.environ.get("PROFILE_CPU"):
        # CPU time only (a shared machine's waits left out): cProfile on process_time.
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(repeat):
            client.get(url)
        profile.disable()
        if os.environ.get("PROFILE_DUMP"):  # for pstats or snakeviz
            profile.dump_stats(os.environ["PROFILE_DUMP"])
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
        for name in filter(None, os.environ.get("PROFILE_CALLERS", "").split(",")):
            stats.print_callers(name)
        print(out.getvalue())
        return 0
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    with profiler:
        for _ in range(repeat):
            client.get(url)
    elapsed = time.perf_counter() - started
    each = elapsed / repeat * 1000
    print(f"{repeat} requests: {each:.1f} ms each")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


def server_session(app: Any, **owner_id: int) -> str:
    """A live server-side session (app.platform.sessions) for the agent or taxpayer of that id."""
    from app.platform import sessions
    from models import Agent, Taxpayer, db

    with app.app_context():
        model, key = (Agent, "agent") if "agent_id" in owner_id else (Taxpayer, "taxpayer")
        owner = db.session.get(model, next(iter(owner_id.values())))
        token = sessions.open_session(**{key: owner})
        db.session.commit()
        sessions.remember_live(token)
    return token


def sign_in_taxpayer(app: Any, client: Any, taxpayer_id: int) -> None:
    """Sign the test client in as the taxpayer of that id, as the taxpayer's login does."""
    token = server_session(app, taxpayer_id=taxpayer_id)
    with client.session_transaction() as session:
        session["taxpayer_id"] = taxpayer_id
        session["taxpayer_sid"] = token


def profile_submit(app: Any, client: Any, tax_number: str, repeat: int) -> int:
    from driver import make_pdf
    from pyinstrument import Profiler
    from sqlalchemy import event

    from models import Taxpayer

    taxpayer_id, engine = row_id(app, Taxpayer.tax_number, tax_number)
    if taxpayer_id is None:
        print(f"No taxpayer {tax_number!r} in the bench database.")
        return 1
    sign_in_taxpayer(app, client, taxpayer_id)
    pdf = make_pdf(100 * 1024)
    queries = 0

    def count(*_args: object) -> None:
        nonlocal queries
        queries += 1

    def form() -> dict[str, Any]:
        page = client.get("/espace/demandes/nouvelle").get_data(as_text=True)
        fields = dict(re.findall(r'name="(csrf_token|submission_token)"[^>]*value="([^"]+)"', page))
        topic = re.search(r'<option value="(\d+)"', page)
        return {
            **fields,
            "topic": topic.group(1) if topic else "",
            "subject": "Question sur ma déclaration",
            "body": "Bonjour, je joins mon avis d'impôt : le montant me paraît trop élevé.",
        }

    profiler = Profiler(interval=0.0005)
    elapsed = 0.0
    for number in range(repeat + 1):
        data = form()
        data["files"] = (io.BytesIO(pdf), "avis-impot.pdf", "application/pdf")
        if number:
            event.listen(engine, "before_cursor_execute", count)
            profiler.start()
        started = time.perf_counter()
        response = client.post("/espace/demandes/nouvelle", data=data)
        if number:
            elapsed += time.perf_counter() - started
            profiler.stop()
            event.remove(engine, "before_cursor_execute", count)
        if response.status_code not in (302, 303) or "/envoyee" not in response.location:
            print(f"Submission refused: HTTP {response.status_code}")
            return 1
    each = elapsed / repeat * 1000
    print(f"{repeat} submissions: {each:.1f} ms each, {queries / repeat:.1f} queries")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
