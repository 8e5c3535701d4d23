"""Profile one page of the app on the bench dataset with pyinstrument (docs/benchmarks.md).

    SCALE=national .venv/bin/python scripts/bench/profile.py AGENT_LOGIN URL [REPEAT]

The app runs in this process with the production settings of the benchmark; the agent is signed
in by writing Flask-Login's session keys (both factors passed), as the tests do. The page is
fetched once to warm the caches, then REPEAT times (default 50) under the profiler; the script
prints the mean time and query count per request and pyinstrument's call tree.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import app_env, scale_from_env  # noqa: E402


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    login, url = sys.argv[1], sys.argv[2]
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    os.environ.update(app_env(scale_from_env()))
    from pyinstrument import Profiler
    from sqlalchemy import event, select

    from app import create_app
    from models import db
    from models.agent import Agent

    app = create_app()
    client = app.test_client()
    with app.app_context():
        agent = db.session.scalar(select(Agent).where(Agent.username == login))
        if agent is None:
            print(f"No agent {login!r} in the bench database.")
            return 1
        agent_id = agent.id
        engine = db.engine
    with client.session_transaction() as session:
        session["_user_id"] = str(agent_id)
        session["_fresh"] = True
        session["mfa_ok"] = True
    first = client.get(url)
    print(f"GET {url}: HTTP {first.status_code}, {len(first.data)} bytes")
    if first.status_code != 200:
        return 1
    queries = 0

    def count(*_args: object) -> None:
        nonlocal queries
        queries += 1

    event.listen(engine, "before_cursor_execute", count)
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    with profiler:
        for _ in range(repeat):
            client.get(url)
    elapsed = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", count)
    each = elapsed / repeat * 1000
    print(f"{repeat} requests: {each:.1f} ms each, {queries / repeat:.1f} queries")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
