"""``make bench [SCALE=smoke|national]``: seed (or reuse) the dataset, serve the app the production
way, drive every operation from a separate process, write the report.

Servers: gunicorn (``app:create_app()``, ``BENCH_WORKERS`` workers × ``BENCH_THREADS`` threads),
one RQ worker (``python -m jobs.worker``), PostgreSQL and Redis, and a local SMTP sink (the app's
own mail capture) that keeps every e-mail as a file: the driver reads the taxpayers' sign-in codes
there. Exit status: non-zero if any operation had an error or a correctness check failed (never
on timings), or, with ``BENCH_STRICT=1``, if an operation was skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pgcluster
from common import PYTHON, ROOT, app_env, results_dir, scale_from_env


def start_servers(scale, env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    workers = os.environ.get("BENCH_WORKERS", "4")
    threads = os.environ.get("BENCH_THREADS", "2")
    port = env["PUBLIC_BASE_URL"].rsplit(":", 1)[1]  # BENCH_PORT, else a free one (common)
    web_log = (logs / "gunicorn.log").open("w")
    worker_log = (logs / "worker.log").open("w")
    web = subprocess.Popen(
        [
            PYTHON, "-m", "gunicorn", "app:create_app()",
            "--bind", f"127.0.0.1:{port}",
            "--workers", workers,
            "--threads", threads,
            "--worker-class", "gthread",
            "--keep-alive", "30",
            "--timeout", "300",
            "--log-level", "warning",
        ],
        env=env, cwd=ROOT, stdout=web_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = subprocess.Popen(
        [PYTHON, "-m", "jobs.worker"],
        env={**env, "OUTBOX_SWEEP_SECONDS": "10"},
        cwd=ROOT,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    print(
        f"Serving on 127.0.0.1:{port}: gunicorn {workers} workers × {threads} threads "
        f"(pid {web.pid}), RQ worker (pid {worker.pid}); logs in {logs}",
        flush=True,
    )
    return [web, worker]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    scale = scale_from_env()
    started = time.monotonic()
    print(f"== make bench: scale {scale.name} ==", flush=True)
    from seed import ensure_dataset

    ensure_dataset(scale)
    env = app_env(scale)
    data = Path(env["ECONTACTS_DATA_DIR"])
    mails = data / "mails"
    shutil.rmtree(mails, ignore_errors=True)
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    from app.dev.mailcapture import start_mail_capture

    sink = start_mail_capture(mails, port=int(env["MAIL_PORT"]))
    processes = start_servers(scale, env, logs)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = results_dir(scale) / f"{stamp}.jsonl"
    try:
        driver = subprocess.run(
            [
                PYTHON,
                str(Path(__file__).with_name("driver.py")),
                "--port",
                env["PUBLIC_BASE_URL"].rsplit(":", 1)[1],
                "--gunicorn-pid",
                str(processes[0].pid),
                "--out",
                str(out),
                *(["--only", os.environ["BENCH_ONLY"]] if os.environ.get("BENCH_ONLY") else []),
            ],
            env={**os.environ, "SCALE": scale.name},
            check=False,
        )
    finally:
        stop(processes)
        sink.stop()
        pgcluster.stop(only_if_started_here=True)
    if driver.returncode:
        print(f"The driver failed (exit {driver.returncode}); see above and {logs}")
        return 1
    from report import write_report

    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    failures = write_report(scale, rows, time.monotonic() - started)
    print(f"Results: {out}")
    if failures:
        print("make bench FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("make bench: every operation ran without error and every check passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
