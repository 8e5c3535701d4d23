"""The bench's own PostgreSQL cluster, with ``pg_stat_statements`` loaded.

``pg_stat_statements`` needs ``shared_preload_libraries``, which only a server restart applies:
the bench cannot do that to a shared server (other work runs on it). So, unless
``BENCH_DATABASE_URL`` names a database elsewhere, the bench keeps its own cluster in
``bench-data/pg`` (``initdb`` and ``pg_ctl`` from Debian's PostgreSQL binaries, the ones the
machine's server uses), started on a free port of 127.0.0.1 for the run and stopped after it.
The datasets stay in it between runs (the national one is seeded once). As root (CI, this
machine) the cluster runs as the ``postgres`` system user, since PostgreSQL refuses root.

Its settings are the defaults but for what a benchmark needs: ``pg_stat_statements`` (SQL
execution time per statement), ``track_io_timing``, 512 MB of shared buffers and of maintenance
memory (the seed's index builds), 200 connections.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

DATA_DIR = Path(
    os.environ.get("BENCH_DATA_DIR", str(Path(__file__).resolve().parents[2] / "bench-data"))
).resolve()  # the same folder as common.DATA_DIR (common imports this module)
PG_DIR = DATA_DIR / "pg"
PORT_FILE = PG_DIR / "bench-port"
started_here = False  # stop() at the end only what this process started
SETTINGS = """
# --- e-contacts bench (scripts/bench/pgcluster.py) ---
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = '512MB'
maintenance_work_mem = '512MB'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 10000
pg_stat_statements.track = 'top'
track_io_timing = on
logging_collector = off
"""


def pg_bin(name: str) -> str:
    """``BENCH_PG_BIN``/name, else the newest of Debian's /usr/lib/postgresql/<v>/bin/name."""
    explicit = os.environ.get("BENCH_PG_BIN")
    if explicit:
        return str(Path(explicit) / name)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/" + name),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if versions:
        return str(versions[-1])
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"make bench needs PostgreSQL's {name} (Debian: postgresql-15)")
    return found


def _as_owner(command: list[str]) -> list[str]:
    """Root cannot run PostgreSQL: run as the postgres system user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(path, owner.pw_uid, owner.pw_gid)


def _free_port() -> int:
    wanted = int(os.environ.get("BENCH_PG_PORT", "5499"))
    for port in [wanted, *range(5500, 5600)]:
        with socket.socket() as probe, contextlib.suppress(OSError):
            probe.bind(("127.0.0.1", port))
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postmaster_pid() -> int | None:
    try:
        pid = int((PG_DIR / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def _init() -> None:
    PG_DIR.parent.mkdir(parents=True, exist_ok=True)
    PG_DIR.mkdir(mode=0o700, exist_ok=True)
    _chown(PG_DIR)
    print(f"Creating the bench's PostgreSQL cluster in {PG_DIR}", flush=True)
    subprocess.run(
        _as_owner([pg_bin("initdb"), "-D", str(PG_DIR), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C.UTF-8"]),
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    with (PG_DIR / "postgresql.conf").open("a") as conf:
        conf.write(SETTINGS + f"unix_socket_directories = '{PG_DIR}'\n")


def ensure_running() -> str:
    """Start (creating it if needed) the bench cluster; its server URL, without a database."""
    if not (PG_DIR / "PG_VERSION").exists():
        _init()
    global started_here
    if postmaster_pid() is None:
        started_here = True
        port = _free_port()
        PORT_FILE.write_text(str(port))
        subprocess.run(
            _as_owner([pg_bin("pg_ctl"), "-D", str(PG_DIR), "-l", str(PG_DIR / "server.log"),
                       "-o", f"-p {port}", "-w", "-t", "120", "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        print(f"Bench PostgreSQL cluster started on 127.0.0.1:{port} ({PG_DIR})", flush=True)
    return f"postgresql://postgres@127.0.0.1:{PORT_FILE.read_text().strip()}"


def running_url() -> str | None:
    if postmaster_pid() is None or not PORT_FILE.exists():
        return None
    return f"postgresql://postgres@127.0.0.1:{PORT_FILE.read_text().strip()}"


def stop(only_if_started_here: bool = False) -> None:
    if postmaster_pid() is None or (only_if_started_here and not started_here):
        return
    subprocess.run(
        _as_owner([pg_bin("pg_ctl"), "-D", str(PG_DIR), "-m", "fast", "-w", "stop"]),
        check=False, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 30
    while postmaster_pid() is not None and time.time() < deadline:
        time.sleep(0.2)


if __name__ == "__main__":  # python scripts/bench/pgcluster.py start|stop|status
    import sys

    action = sys.argv[1] if len(sys.argv) > 1 else "status"
    if action == "start":
        print(ensure_running())
    elif action == "stop":
        stop()
    else:
        print(running_url() or "stopped")
