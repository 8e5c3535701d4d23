"""``make run``: everything the single-machine mode needs, in one command; Ctrl-C stops it all.

It checks the configuration and the database, starts the embedded Redis (unless ``REDIS_URL``)
and the mail capture (unless ``MAIL_SERVER``), applies the migrations, syncs the roles, loads the
demo data into an empty base, then runs the web server (gunicorn) and an RQ worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from app.dev.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from app.dev.mailcapture import start_mail_capture
from app.platform.queue import start_embedded_redis
from config import BASE_DIR, ConfigurationError, load_settings


def fail(sentence: str) -> None:
    print(f"e-contacts ne peut pas démarrer : {sentence}", file=sys.stderr)
    raise SystemExit(2)


def check_database(url: str) -> None:
    """Connect once, so that a wrong DATABASE_URL is one clear sentence, not a traceback."""
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args["connect_timeout"] = 5
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        where = engine.url.render_as_string(hide_password=True)
        fail(
            f"la base de données {where} ne répond pas ({reason}) : démarrez-la, ou corrigez "
            "DATABASE_URL (retirez-la pour utiliser le fichier SQLite local)."
        )
    finally:
        engine.dispose()


def run_step(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(args, env=env, cwd=BASE_DIR, check=False)
    if result.returncode != 0:
        fail(
            f"l'étape « {' '.join(args[2:])} » a échoué (code {result.returncode}) ; "
            "voir plus haut."
        )


def main() -> None:
    try:
        settings = load_settings()
    except ConfigurationError as error:
        fail(str(error))
    env = dict(os.environ)
    data_dir = Path(str(settings["DATA_DIR"]))
    data_dir.mkdir(parents=True, exist_ok=True)
    check_database(str(settings["SQLALCHEMY_DATABASE_URI"]))

    keep_alive: list[Any] = []
    if not settings["REDIS_URL"]:
        env["REDIS_URL"] = start_embedded_redis(data_dir)
        print(f"Embedded Redis: {env['REDIS_URL']}")
    if settings["MAIL_CAPTURE"]:
        keep_alive.append(
            start_mail_capture(data_dir / "mails", port=int(str(settings["MAIL_PORT"])))
        )
        print(f"Mail capture on 127.0.0.1:{settings['MAIL_PORT']}, kept in {data_dir}/mails")

    python = sys.executable
    env.setdefault("FLASK_APP", "app:create_app")
    run_step([python, "-m", "flask", "db", "upgrade"], env)
    run_step([python, "-m", "flask", "econtacts", "init"], env)

    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "5000")
    children = [
        subprocess.Popen([python, "-m", "jobs.worker"], env=env, cwd=BASE_DIR),
        # The offices' mailboxes: the SMTP endpoint the mail relay forwards their e-mails to.
        subprocess.Popen(
            [python, "-m", "flask", "econtacts", "mailbox-server"], env=env, cwd=BASE_DIR
        ),
        subprocess.Popen(
            [
                python, "-m", "gunicorn", "app:create_app()",
                "--bind", f"{host}:{port}",
                "--workers", env.get("WEB_CONCURRENCY", "2"),
                "--threads", "4",
                "--worker-class", "app.platform.server.FrenchThreadWorker",
                "--access-logfile", "-",
            ],
            env=env,
            cwd=BASE_DIR,
        ),
    ]  # fmt: skip
    print(f"\ne-contacts is running: http://{host}:{port}/")
    print(f"Mailbox SMTP endpoint: {settings['MAILBOX_SMTP_HOST']}:{settings['MAILBOX_SMTP_PORT']}")
    if settings["DEMO_MODE"]:
        print(f"Captured e-mails: http://{host}:{port}/demo/mails")
        print(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for login, description in DEMO_ACCOUNTS:
            print(f"  {login:<22} {description}")
    print("Press Ctrl-C to stop.\n")

    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    for item in keep_alive:
        item.stop()
    print("e-contacts stopped.")
    if not stopping:
        fail("un processus s'est arrêté de façon inattendue ; voir les messages plus haut.")


if __name__ == "__main__":
    main()
