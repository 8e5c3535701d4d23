"""Tools for the fault tests: servers we own and may kill, processes of the app, figures.

Nothing here touches the machine's shared PostgreSQL or Redis services: a test that stops a
database or a Redis starts its own throw-away server (``PrivateRedis``, ``PrivatePostgres``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "faults"
PYTHON = sys.executable
PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("FAULTS_REDIS_SERVER", shutil.which("redis-server") or "")
REFERENCE = re.compile(r"\b\d{2}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def report(title: str, **figures: object) -> None:
    """Print a fault's figures (pytest -s, or the -rA summary, shows them)."""
    line = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in figures.items())
    print(f"\n[faults] {title} -- {line}", flush=True)


# --- SMTP we control --------------------------------------------------------------------------


class ControlledHandler:
    """Records what it accepts; refuses some addresses for good; may be slow or hold a send."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[str] = []
        self.refused: set[str] = set()  # 550: refused for good
        self.deferred: set[str] = set()  # 451: try again later
        self.delay = 0.0
        self.hold = threading.Event()  # set: DATA waits until released
        self.drop_at_quit = False  # close the connection at QUIT, after accepting the message
        self.holding = threading.Event()  # set while a DATA is being held
        self.lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: unknown user"
        if address in self.deferred:
            return "451 4.3.0 Temporary failure, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        while self.hold.is_set():
            self.holding.set()
            await asyncio.sleep(0.05)
        self.holding.clear()
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"

    async def handle_QUIT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.drop_at_quit and server.transport is not None:
            server.transport.abort()  # the connection drops before "221 Bye"
        return "221 Bye"

    def message_ids_for(self, address: str) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages if address in str(m["To"])]


class ControlledSmtp:
    """A real SMTP server (aiosmtpd) that can go down and come back on the same port."""

    def __init__(self) -> None:
        self.handler = ControlledHandler()
        self.port = free_port()
        self.controller: Controller | None = None
        self.up()

    def up(self) -> None:
        if self.controller is None:
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def count_for(self, address: str) -> int:
        with self.handler.lock:
            return self.handler.recipients.count(address)

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()
            self.handler.recipients.clear()
        self.handler.refused.clear()
        self.handler.deferred.clear()
        self.handler.delay = 0.0
        self.handler.hold.clear()
        self.handler.drop_at_quit = False


# --- Redis we own -----------------------------------------------------------------------------


class PrivateRedis:
    """A throw-away redis-server on a free port, without persistence: a restart loses all."""

    def __init__(self, workdir: Path) -> None:
        if not REDIS_SERVER:
            raise RuntimeError("redis-server not found (set FAULTS_REDIS_SERVER)")
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self.answers, 10, "the private redis-server")

    def answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


# --- PostgreSQL we own ------------------------------------------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temporary folder, on a free port.

    ``initdb`` refuses to run as root: as root, the cluster belongs to the ``postgres`` user.
    """

    def __init__(self, options: str = "", primary: PrivatePostgres | None = None) -> None:
        """A new cluster (``initdb``), or with ``primary`` a streaming replica of it
        (``pg_basebackup -R``: a hot standby that follows the primary's WAL). ``options``: more
        ``-c name=value`` settings for ``postgres``."""
        self.dir = Path(tempfile.mkdtemp(prefix="econtacts_faults_pg_"))
        self.port = free_port()
        self.data = self.dir / "data"
        self.options = options
        self.user_prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.user_prefix = ["runuser", "-u", "postgres", "--"]
        if primary is not None:
            self._run(
                [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                 "-U", "postgres", "-D", str(self.data), "-R", "-X", "stream", "--no-sync",
                 "-c", "fast"]
            )  # fmt: skip
            return
        self._run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"]
        )  # fmt: skip

    def _run(self, args: list[str]) -> None:
        subprocess.run(self.user_prefix + args, check=True, capture_output=True, cwd=self.dir)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c max_connections=100 {self.options}"
        )
        self._run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
             "-l", str(self.dir / "log"), "-w", "start"]
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-Atc", sql],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return result.stdout.strip()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class AutoFailoverCluster:
    """pg_auto_failover on this machine (Debian's ``postgresql-15-auto-failover``): a monitor, a
    primary and a secondary with synchronous replication, each a ``pg_autoctl`` keeper on its own
    free port, in a temporary folder. ``pg_autoctl`` refuses root: as root, it runs as
    ``postgres``. ``settings``: the monitor's ``pgautofailover.*`` settings (milliseconds)."""

    def __init__(self, database: str, settings: dict[str, int] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="econtacts_ha_"))
        self.database = database
        self.settings = settings or {}
        self.monitor_port = free_port()
        self.node_ports = [free_port(), free_port()]
        self.keepers: dict[str, subprocess.Popen[bytes]] = {}
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.env = {**os.environ, "PATH": f"{PG_BIN}:{os.environ.get('PATH', '')}"}

    @property
    def url(self) -> str:
        """The multi-host URL the app uses: psycopg keeps the host that accepts writes."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.node_ports)
        return f"postgresql://postgres@{hosts}/{self.database}?target_session_attrs=read-write"

    def _autoctl(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            return subprocess.Popen(
                [*self.prefix, "env", f"PATH={self.env['PATH']}", "pg_autoctl", *args],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()

    def monitor_sql(self, sql: str) -> str:
        return _psql(self.monitor_port, "pg_auto_failover", sql)

    def node_sql(self, port: int, sql: str, database: str = "postgres") -> str:
        return _psql(port, database, sql)

    def states(self) -> dict[int, str]:
        """Each node's port and the state it reports to the monitor."""
        rows = self.monitor_sql("SELECT nodeport, reportedstate FROM pgautofailover.node")
        return {int(p): state for p, state in (r.split("|") for r in rows.splitlines() if r)}

    def primary_port(self) -> int | None:
        """The node that the monitor holds for the primary (reported and assigned), if one."""
        rows = self.monitor_sql(
            "SELECT nodeport FROM pgautofailover.node WHERE reportedstate IN "
            "('single', 'primary', 'wait_primary') AND goalstate IN "
            "('single', 'primary', 'wait_primary')"
        ).split()
        return int(rows[0]) if len(rows) == 1 else None

    def start(self) -> None:
        monitor = self.dir / "monitor"
        created = subprocess.run(
            [*self.prefix, "env", f"PATH={self.env['PATH']}", "pg_autoctl", "create", "monitor",
             "--pgdata", str(monitor), "--pgport", str(self.monitor_port),
             "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"],
            cwd=self.dir, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr
        self.keepers["monitor"] = self._autoctl("monitor", "run", "--pgdata", str(monitor))
        wait_until(lambda: self._answers(self.monitor_port), 60, "the pg_auto_failover monitor")
        for name, value in self.settings.items():
            self.monitor_sql(f"ALTER SYSTEM SET pgautofailover.{name} = {int(value)}")
        self.monitor_sql("SELECT pg_reload_conf()")
        monitor_uri = (
            f"postgres://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover"
            "?sslmode=disable"
        )
        for number, port in enumerate(self.node_ports, start=1):
            self.keepers[f"node{number}"] = self._autoctl(
                f"node{number}", "create", "postgres", "--pgdata", str(self.dir / f"node{number}"),
                "--pgport", str(port), "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl",
                "--dbname", self.database, "--name", f"node{number}", "--monitor", monitor_uri,
                "--run",
            )  # fmt: skip
            if number == 1:
                wait_until(self._first_is_primary, 120, "the first node (primary)")

        def ready() -> bool:
            states = self.states()
            if sorted(states.values()) == ["primary", "secondary"]:
                return True
            primary = self.primary_port()
            if primary is not None:  # the standby's pg_basebackup waits for a checkpoint
                with contextlib.suppress(subprocess.CalledProcessError):
                    self.node_sql(primary, "CHECKPOINT")
            return False

        wait_until(ready, 180, "a primary and a synchronous secondary", every=1.0)

    def _first_is_primary(self) -> bool:
        return self.primary_port() == self.node_ports[0]

    @staticmethod
    def _answers(port: int) -> bool:
        try:
            _psql(port, "postgres", "SELECT 1")
        except subprocess.CalledProcessError:
            return False
        return True

    def kill_primary(self) -> int:
        """SIGKILL the primary's keeper and its PostgreSQL at once (a machine lost); returns its
        port."""
        port = self.primary_port()
        assert port is not None, self.states()
        number = self.node_ports.index(port) + 1
        postmaster = int((self.dir / f"node{number}" / "postmaster.pid").read_text().split()[0])
        keeper = self.keepers[f"node{number}"]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(keeper.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(postmaster, signal.SIGKILL)
        keeper.wait(10)
        return port

    def destroy(self) -> None:
        """Stop everything this cluster started (its keepers' process groups, its postmasters)."""
        for keeper in self.keepers.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(keeper.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                keeper.wait(10)
        for pidfile in self.dir.glob("*/postmaster.pid"):
            with contextlib.suppress(ProcessLookupError, ValueError, OSError):
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


def _psql(port: int, database: str, sql: str) -> str:
    result = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
         "-v", "ON_ERROR_STOP=1", "-Atc", sql],
        check=True, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return result.stdout.strip()


@dataclass
class PrivateDatabase:
    """A database on a ``PrivatePostgres``, with an app bound to it."""

    server: PrivatePostgres
    name: str
    app: Any

    @property
    def url(self) -> str:
        return self.server.url(self.name)


# --- the app's own processes ------------------------------------------------------------------


def app_env(
    *, database_url: str, redis_url: str, queue: str, mail_port: int, data_dir: Path, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RQ_QUEUE": queue,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(mail_port),
            "ECONTACTS_ENV": "test",
            "DEMO_MODE": "0",
            "ECONTACTS_DATA_DIR": str(data_dir),
            "ATTACHMENT_DIR": str(data_dir / "attachments"),
            "SECRET_KEY": "faults-" + uuid.uuid4().hex,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), str(SCRIPTS), os.environ.get("PYTHONPATH")])
            ),
        }
    )
    env.update(extra)
    return env


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: a gunicorn master and its workers die at once."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _spawn(
    name: str, args: list[str], env: dict[str, str], logdir: Path
) -> subprocess.Popen[bytes]:
    log = logdir / f"{name}.log"
    handle = open(log, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        handle.close()


def start_gunicorn(name: str, env: dict[str, str], logdir: Path, workers: int = 2) -> Proc:
    """One app server as in production (``app:create_app()``), plus the harness routes."""
    port = free_port()
    args = [PYTHON, "-m", "gunicorn", "harness_wsgi:app", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", "4", "--timeout", "30",
            "--graceful-timeout", "2"]  # fmt: skip
    proc = Proc(name, _spawn(name, args, env, logdir), logdir / f"{name}.log", port)

    def ready() -> bool:
        if not proc.alive():
            raise AssertionError(f"{name} exited:\n{proc.output()[-3000:]}")
        with contextlib.suppress(OSError):
            return http_get(proc.base + "/_faults/ping", timeout=1)[0] == 200
        return False

    wait_until(ready, 60, f"gunicorn {name}")
    return proc


def start_worker(name: str, env: dict[str, str], logdir: Path) -> Proc:
    """``python -m jobs.worker`` through a wrapper that may shorten the outbox timings."""
    args = [PYTHON, str(SCRIPTS / "run_worker.py")]
    proc = Proc(name, _spawn(name, args, env, logdir), logdir / f"{name}.log")
    wait_until(lambda: "Listening on" in proc.output() or not proc.alive(), 60, f"worker {name}")
    assert proc.alive(), proc.output()[-3000:]
    return proc


# --- HTTP load -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one HTTP request got back, as a user would see it."""

    kind: str  # "ack" (a reference shown), "refused" (a clean error page), "no-answer"
    status: int | None = None
    reference: str | None = None
    text: str = ""


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def with_traceback(self) -> list[Outcome]:
        return [o for o in self.outcomes if "Traceback" in o.text or 'File "/' in o.text]


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    request = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def http_post(
    url: str,
    fields: dict[str, str],
    files: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
    timeout: float = 30,
) -> tuple[int, str]:
    """A multipart POST, as a browser sends a form with files; HTTP errors are answers too."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        url,
        data=b"".join(parts),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def read_outcome(status: int, text: str) -> Outcome:
    if status == 200 and (match := REFERENCE.search(text)):
        return Outcome("ack", status, match.group(0), text)
    return Outcome("refused", status, None, text)


@contextlib.contextmanager
def background(target: Callable[[], None], count: int) -> Iterator[list[threading.Thread]]:
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        for thread in threads:
            thread.join(120)


# --- a browser on the real pages ----------------------------------------------------------------


class Browser:
    """Cookies, redirects followed, forms posted with their CSRF token: a person on the real
    pages of an app server (never the ``/_faults/`` harness routes)."""

    CSRF = re.compile(
        r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
    )

    def __init__(self, base: str) -> None:
        import http.cookiejar

        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _open(self, request: urllib.request.Request, timeout: float) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def get(self, path: str, timeout: float = 15) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path), timeout)

    def post(self, path: str, fields: dict[str, str], timeout: float = 30) -> tuple[int, str]:
        data = urllib.parse.urlencode(fields).encode()
        return self._open(
            urllib.request.Request(self.base + path, data=data, method="POST"), timeout
        )

    def csrf(self, page: str) -> str:
        match = self.CSRF.search(page)
        assert match, f"no CSRF token in the page: {page[:300]}"
        return match.group(1) or match.group(2)

    def submit(
        self, form_path: str, fields: dict[str, str], action: str | None = None
    ) -> tuple[int, str]:
        """GET the form, then POST it with its token (to ``action``, the form's own path by
        default)."""
        status, page = self.get(form_path)
        assert status == 200, (form_path, status, page[:300])
        return self.post(action or form_path, {"csrf_token": self.csrf(page), **fields})


PASSWORD = "correct horse battery staple"  # tests/factories.py


def sign_in_taxpayer(
    browser: Browser,
    identifier: str,
    email: str,
    smtp: ControlledSmtp,
    send_mail: Callable[[], object] | None = None,
) -> str:
    """The taxpayer's real sign-in: password, then the code e-mailed to them (``send_mail`` runs
    the job in-process when no worker does). Returns the page they land on."""
    before = len(smtp.handler.messages)
    status, page = browser.submit(
        "/espace/connexion", {"identifier": identifier, "password": PASSWORD}
    )
    assert status == 200, page[:500]
    if "Code reçu par courriel" not in page:
        return page  # a browser already trusted: no code asked
    if send_mail is not None:
        send_mail()

    def code() -> str | None:
        with smtp.handler.lock:
            mails = [m for m in smtp.handler.messages[before:] if email in str(m["To"])]
        if not mails:
            return None
        body = mails[-1].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        found = re.search(r"\b(\d{6})\b", body)
        return found.group(1) if found else None

    wait_until(lambda: code() is not None, 30, "the sign-in code e-mail")
    status, page = browser.submit("/espace/connexion/code", {"code": code() or ""})
    assert status == 200, page[:500]
    return page


def sign_in_agent(browser: Browser, username: str, secret: str) -> str:
    """The agent's real sign-in: password, then a TOTP code. Returns the page they land on."""
    import pyotp

    status, page = browser.submit("/login/", {"username": username, "password": PASSWORD})
    assert status == 200, page[:500]
    status, page = browser.submit("/login/otp", {"otp": pyotp.TOTP(secret).now()})
    assert status == 200, page[:500]
    return page


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``flask econtacts ...`` as an operator runs it, in its own process."""
    return subprocess.run(
        [PYTHON, "-m", "flask", "econtacts", *args],
        env={**env, "FLASK_APP": "app:create_app"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- data -------------------------------------------------------------------------------------


@dataclass
class Seeded:
    office_id: int
    agent_ids: list[int]
    taxpayer_ids: list[int]
    emails: dict[int, str]
    topic_id: int


def seed(taxpayers: int, agents: int = 2) -> Seeded:
    """An office tree, agents and taxpayers of the Rhône, a topic; committed. In an app context."""
    from factories import make_agent, make_office, make_taxpayer, make_topic

    from models import KindCode, db

    delegation = make_office(KindCode.DELEGATION, name="Délégation Centre-Est")
    directorate = make_office(KindCode.DIRECTORATE, parent=delegation, name="DDFiP du Rhône")
    office = make_office(KindCode.SIP, parent=directorate, name="SIP Lyon 3e")
    agent_rows = [make_agent(office, "agent") for _ in range(agents)]
    people = [make_taxpayer() for _ in range(taxpayers)]
    topic = make_topic("Question générale")
    db.session.commit()
    return Seeded(
        office_id=office.id,
        agent_ids=[a.id for a in agent_rows],
        taxpayer_ids=[t.id for t in people],
        emails={t.id: str(t.email) for t in people},
        topic_id=topic.id,
    )


def pdf_bytes(size: int) -> bytes:
    """A PDF (as libmagic sees it) of about ``size`` bytes."""
    head = (ROOT / "tests" / "data" / "avis.pdf").read_bytes()
    return head + b"%" + b"0" * max(0, size - len(head) - 2) + b"\n"
