"""Signed-in people on the real pages while PostgreSQL stops and restarts, and while Redis dies.

A taxpayer and an agent sign in through the real forms (the taxpayer with the code e-mailed to
them, the agent with a TOTP code) on a real app server (gunicorn). Three clients then load the
real pages in a loop: the taxpayer's space, the new-case form (and posting it), a case's
thread; the agent's inbox, a case's page and the summary sheet. Meanwhile our own PostgreSQL
is stopped for 5 s, then restarted three times in a row; then our own Redis is killed.

Every answer must be the page itself or the French "Service momentanément indisponible" (503):
never a 500, never a bare page of gunicorn's, never a traceback; once the database is back, the
same sessions see their pages again (nobody was signed out).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pyotp
from faultkit import (
    Browser,
    ControlledSmtp,
    PrivateDatabase,
    PrivateRedis,
    Proc,
    app_env,
    report,
    seed,
    sign_in_agent,
    sign_in_taxpayer,
    start_gunicorn,
    wait_until,
)
from helpers import run_jobs
from sqlalchemy import select

from models import Agent, Case, Taxpayer, db

UNAVAILABLE = "Le service est momentanément indisponible. Réessayez dans quelques instants."


class Pages:
    """Loads pages in a loop and keeps every answer: (page, status, kind)."""

    def __init__(self, browser: Browser, paths: list[str], post: tuple[str, dict[str, str]] | None):
        self.browser = browser
        self.paths = paths
        self.post = post
        self.answers: list[tuple[str, int, str]] = []
        self.rounds = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def classify(self, status: int, text: str) -> str:
        if "Traceback" in text or 'File "/' in text:
            return "traceback"
        if status == 503:
            return "french-503" if UNAVAILABLE in text and 'lang="fr"' in text else "bare-503"
        if status == 200:
            return "signed-out" if 'name="password"' in text else "page"
        return f"other-{status}"

    def run(self) -> None:
        while not self.stop.is_set():
            for path in self.paths:
                try:
                    status, text = self.browser.get(path, timeout=20)
                except OSError as error:
                    status, text = 0, str(error)
                with self.lock:
                    self.answers.append((path, status, self.classify(status, text)))
            self.rounds += 1
            if self.post is not None and self.rounds % 3 == 0:
                path, fields = self.post
                token = uuid.uuid4().hex
                try:
                    status, text = self.browser.post(
                        path, {**fields, "submission_token": token}, timeout=20
                    )
                except OSError as error:
                    status, text = 0, str(error)
                with self.lock:
                    self.answers.append((f"POST {path}", status, self.classify(status, text)))
            time.sleep(0.05)

    def since(self, mark: int) -> list[tuple[str, int, str]]:
        with self.lock:
            return self.answers[mark:]

    def count(self) -> int:
        with self.lock:
            return len(self.answers)


def test_signed_in_pages_show_the_french_503_through_database_and_redis_outages(
    private_postgres: PrivateDatabase,
    private_redis: PrivateRedis,
    fault_smtp: ControlledSmtp,
    fault_procs: list[Proc],
    tmp_path: Path,
) -> None:
    pg_app = private_postgres.app
    if not private_redis.answers():
        private_redis.start()
    secret = pyotp.random_base32()
    with pg_app.app_context():
        seeded = seed(taxpayers=1, agents=1)
        taxpayer = db.session.get(Taxpayer, seeded.taxpayer_ids[0])
        agent = db.session.get(Agent, seeded.agent_ids[0])
        assert taxpayer is not None and agent is not None
        agent.otp_secret = secret
        db.session.commit()
        db.session.refresh(taxpayer)
        db.session.refresh(agent)
        db.session.expunge_all()
    env = app_env(
        database_url=private_postgres.url,
        redis_url=pg_app.config["REDIS_URL"],
        queue=pg_app.config["RQ_QUEUE"],
        mail_port=fault_smtp.port,
        data_dir=tmp_path,
    )
    server = start_gunicorn("web-pages", env, tmp_path, workers=2)
    fault_procs.append(server)

    person, officer = Browser(server.base), Browser(server.base)
    page = sign_in_taxpayer(
        person,
        str(taxpayer.tax_number),
        str(taxpayer.email),
        fault_smtp,
        send_mail=lambda: run_jobs(pg_app),  # no worker here: the code is sent in-process
    )
    assert taxpayer.display_name in page
    assert agent.full_name in sign_in_agent(officer, agent.username, secret)
    form = {"topic": str(seeded.topic_id), "subject": "Pendant la panne", "body": "Bonjour."}
    status, page = person.submit("/espace/demandes/nouvelle", form)
    assert status == 200, page[:500]
    with pg_app.app_context():
        case = db.session.scalars(select(Case).where(Case.taxpayer_id == taxpayer.id)).one()
        reference, case_id = case.reference, case.id
    _s, new_form = person.get("/espace/demandes/nouvelle")
    post_fields = {**form, "csrf_token": person.csrf(new_form)}
    taxpayer_pages = Pages(
        person,
        ["/espace/", "/espace/demandes/nouvelle", f"/espace/demandes/{reference}"],
        ("/espace/demandes/nouvelle", post_fields),
    )
    agent_pages = Pages(
        officer,
        [
            "/agent/demandes/",
            f"/agent/demandes/{case_id}",
            f"/agent/usagers/{taxpayer.id}/synthese?reason=appel",
        ],
        None,
    )
    clients = [taxpayer_pages, agent_pages]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: all(c.count() >= 8 for c in clients), 60, "pages loaded")
        # 1. PostgreSQL stopped for 5 s.
        marks = [c.count() for c in clients]
        private_postgres.server.stop("fast")
        time.sleep(5)
        down = [c.since(m) for c, m in zip(clients, marks, strict=True)]
        private_postgres.server.start()
        # 2. Four quick restarts in a row.
        for _ in range(4):
            private_postgres.server.stop("immediate")
            time.sleep(0.3)
            private_postgres.server.start()
        back = [c.count() for c in clients]
        wait_until(
            lambda: all(
                sum(1 for a in c.since(m) if a[2] == "page") >= 6
                for c, m in zip(clients, back, strict=True)
            ),
            60,
            "the pages back after the restarts",
        )
        after_pg = [c.since(m) for c, m in zip(clients, back, strict=True)]
        # 3. Redis killed (the queue, rate limits, caches): pages still answer, or the French 503.
        redis_marks = [c.count() for c in clients]
        private_redis.kill()
        time.sleep(4)
        redis_down = [c.since(m) for c, m in zip(clients, redis_marks, strict=True)]
        private_redis.start()
    finally:
        for c in clients:
            c.stop.set()
        for thread in threads:
            thread.join(60)
        if not private_redis.answers():
            private_redis.start()

    everything = [a for c in clients for a in c.answers]
    kinds = Counter(kind for _p, _s, kind in everything)
    during = Counter(kind for answers in down for _p, _s, kind in answers)
    during_redis = Counter(kind for answers in redis_down for _p, _s, kind in answers)
    last = [answers[-3:] for answers in after_pg]
    report(
        "signed-in pages through PostgreSQL and Redis outages",
        pages_loaded=len(everything),
        answers=dict(kinds),
        while_postgres_stopped=dict(during),
        while_redis_down=dict(during_redis),
        pages_after_restart=sum(1 for answers in after_pg for a in answers if a[2] == "page"),
    )
    assert set(kinds) <= {"page", "french-503"}, kinds
    assert during["french-503"] >= 4, during  # both people saw the French page
    assert all(any(a[2] == "french-503" for a in answers) for answers in down)
    assert set(during_redis) <= {"page", "french-503"}, during_redis
    # Still signed in: the last answers are the pages themselves.
    assert all(a[2] == "page" for answers in last for a in answers), last
    assert server.alive()
