"""What every part of the benchmark shares: scales, where things live, the bench accounts.

The benchmark is four scripts run in this order by ``run.py`` (``make bench``):
``seed.py`` (the dataset, bulk-loaded with COPY), the servers (gunicorn, the RQ worker, a mail
sink), ``driver.py`` (a separate process that drives each operation over HTTP) and ``report.py``
(JSON lines and the Markdown table in ``docs/benchmarks.md``).
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pgcluster

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the scripts run as files; the app's packages live at the root
    sys.path.insert(0, str(ROOT))

DATA_DIR = pgcluster.DATA_DIR  # BENCH_DATA_DIR, else bench-data/ at the root
PYTHON = sys.executable

# Every bench account (agents and taxpayers) has this password; one scrypt hash is reused.
BENCH_PASSWORD = "bench-econtacts-2026"  # noqa: S105 - a documented benchmark value
# Every bench agent is enrolled in the second factor with this TOTP secret (base32).
BENCH_OTP_SECRET = "BENCHECONTACTSTOTPSECRETZZAAAAAA"  # noqa: S105 - benchmark value
BENCH_SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
RARE_WORD = "bûcheronnage"  # appears in about one message in 20,000
COMMON_WORD = "impôt"
TWO_WORDS = "remise gracieuse"
# The targets (national scale, 8 clients): operation → (throughput/s, p95 ms).
TARGETS: dict[str, tuple[float, float]] = {
    "submit": (300, 60),
    "agent_inbox": (200, 60),
    "case_page": (200, 60),
    "summary_300": (150, 80),
    "search_rare": (50, 200),
    "search_common": (50, 200),
    "search_two_words": (50, 200),
    "steering_delegation": (20, 300),
}

# Issue 17's targets (national scale, 1 client): operation → (app CPU ms, SQL exec ms) per request.
CPU_TARGETS: dict[str, tuple[float, float]] = {
    "submit": (12, 1.5),  # with a 100 KB PDF
    "taxpayer_inbox": (4, 1),
    "agent_inbox": (6, 1.5),
    "case_page": (5, 1),
    "reply": (8, 1.5),
    "summary_typical": (5, 1),
    "summary_300": (8, 3),
    "search_rare": (8, 15),
    "search_common": (8, 15),
    "search_two_words": (8, 15),
    "steering_delegation": (25, 15),
}


@dataclass(frozen=True)
class Scale:
    name: str
    taxpayers: int
    cases: int
    messages_per_case: float  # the mean; 5 gives 5,000,000 messages for 1,000,000 cases
    heavy_taxpayers: int  # taxpayers with ``heavy_contacts`` cases each
    heavy_contacts: int
    big_office_open: int  # open cases of the busiest office (the inbox operation)
    years: int
    duration: float  # seconds each operation is driven, per concurrency level


SCALES = {
    "smoke": Scale("smoke", 2_000, 10_000, 5.0, 2, 300, 1_000, 3, 2.0),
    "national": Scale("national", 200_000, 1_000_000, 5.0, 5, 300, 10_000, 3, 20.0),
    # Ten years at the national rate (issue 18): ~3.3 M requests, ~17 M messages.
    "decade": Scale("decade", 666_667, 3_333_333, 5.0, 5, 300, 10_000, 10, 20.0),
    # The same comparison at a tenth of the national rate, what one shared machine seeds in
    # minutes: 3 years against 10 years of history, the same requests per year.
    "tenth": Scale("tenth", 20_000, 100_000, 5.0, 5, 300, 1_000, 3, 10.0),
    "decade_tenth": Scale("decade_tenth", 66_667, 333_333, 5.0, 5, 300, 1_000, 10, 10.0),
}


def scale_from_env() -> Scale:
    name = os.environ.get("SCALE", "national") or "national"
    if name not in SCALES:
        raise SystemExit(f"SCALE must be one of {', '.join(SCALES)}, not {name!r}.")
    scale = SCALES[name]
    if os.environ.get("BENCH_DURATION"):
        from dataclasses import replace

        scale = replace(scale, duration=float(os.environ["BENCH_DURATION"]))
    return scale


def own_cluster() -> bool:
    """True unless ``BENCH_DATABASE_URL`` names a database elsewhere (pgcluster.py)."""
    return not os.environ.get("BENCH_DATABASE_URL")


def database_url(scale: Scale) -> str:
    """``BENCH_DATABASE_URL``, else the database ``econtacts_bench`` (``econtacts_bench_smoke``
    at smoke scale, so that a smoke run never drops the national dataset) of the bench's own
    PostgreSQL cluster (``pgcluster.py``, started here if it is not running)."""
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        if not urlsplit(explicit).scheme.startswith("postgres"):
            raise SystemExit("make bench needs PostgreSQL: BENCH_DATABASE_URL=postgresql://...")
        return explicit
    name = "econtacts_bench" + ("" if scale.name == "national" else f"_{scale.name}")
    parts = urlsplit(pgcluster.ensure_running())
    return urlunsplit(parts._replace(path="/" + name))


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or os.environ.get(
        "REDIS_URL", "redis://127.0.0.1:6379/7"
    )


def free_port(name: str) -> str:
    """The port in the environment variable ``name`` (``BENCH_PORT``, ``BENCH_MAIL_PORT``), else a
    free one that the OS picks, written back to the environment so that every later reader (the
    servers, the driver, the mail sink) uses the same: other benches may run on the machine."""
    if not os.environ.get(name):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            os.environ[name] = str(probe.getsockname()[1])
    return os.environ[name]


def app_env(scale: Scale, **extra: str) -> dict[str, str]:
    """The environment the app's processes run with: production settings on the bench base."""
    env = dict(os.environ)
    env.update(
        {
            "ECONTACTS_ENV": "production",
            "SECRET_KEY": BENCH_SECRET_KEY,
            "DEMO_MODE": "0",
            "TRUSTED_PROXIES": "0",
            "ANTIVIRUS_WAIVER": "benchmark: no clamd on the benchmark machine",
            "DATABASE_URL": database_url(scale),
            "REDIS_URL": redis_url(),
            # Its own queue (other benches may share the Redis database), and no daily
            # housekeeping: the retention purge of the seeded years would skew the windows.
            "RQ_QUEUE": "econtacts_bench_" + free_port("BENCH_PORT"),
            "WORKER_DAILY_JOBS": "0",
            "ECONTACTS_DATA_DIR": str(DATA_DIR / scale.name),
            "ATTACHMENT_DIR": str(DATA_DIR / scale.name / "attachments"),
            "SESSION_IDLE_MINUTES": "600",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": free_port("BENCH_MAIL_PORT"),
            "PUBLIC_BASE_URL": "http://127.0.0.1:" + free_port("BENCH_PORT"),
            "FLASK_APP": "app:create_app",
            "BENCH_FLOOR_ROUTES": "1",  # the floor of each page (views/floor)
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def results_dir(scale: Scale) -> Path:
    path = DATA_DIR / scale.name / "results"
    path.mkdir(parents=True, exist_ok=True)
    return path
