"""Seed the benchmark dataset: the migrations, then a bulk load with PostgreSQL COPY.

``SCALE=smoke|national python scripts/bench/seed.py``. It creates the schema with the project's
own migrations (``flask db upgrade``, ``flask econtacts sync-roles``), then streams rows from
plain Python generators into ``COPY ... FROM STDIN`` (psycopg 3), one connection per table so
that PostgreSQL parses while Python generates: never one ORM insert per row. Secondary indexes
are dropped before the load and rebuilt from their own definitions after it, then ``ANALYZE``.

A dataset already seeded at that scale (the ``bench.dataset`` marker row) is reused; a base left
half-seeded is dropped and seeded again.

The shape (``national``): 3 delegations → 15 directorates (real départements) → 150 offices
(SIP, SIE, CDIF, CPS, CIS, treasury) with their territories (communes of the département);
about 650 agents; 200,000 taxpayers (13-digit tax numbers, SIRENs with their Luhn key);
1,000,000 cases over three years, growing with time, skewed (large départements, large
offices, a few taxpayers with 300 cases each, one office with 10,000 open cases);
5,000,000 messages; transfers; events for every step; attachment rows pointing to real files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from common import (
    BENCH_OTP_SECRET,
    BENCH_PASSWORD,
    PYTHON,
    RARE_WORD,
    ROOT,
    Scale,
    app_env,
    database_url,
    psycopg_url,
    scale_from_env,
)
from psycopg import sql

SEED = 9009
LOADED_TABLES = ("taxpayer", "case", "message", "attachment", "transfer", "event")
NULL = "\\N"

# --- The office tree: real départements, grouped into three delegations ----------------------

# (code, name, [(département, name, chef-lieu, weight = population in 100,000s)])
DELEGATIONS: tuple[tuple[str, str, tuple[tuple[str, str, str, int], ...]], ...] = (
    (
        "DI-IDF",
        "Délégation interrégionale Île-de-France",
        (
            ("75", "Paris", "Paris", 21),
            ("92", "Hauts-de-Seine", "Nanterre", 16),
            ("93", "Seine-Saint-Denis", "Bobigny", 16),
            ("94", "Val-de-Marne", "Créteil", 14),
            ("77", "Seine-et-Marne", "Melun", 14),
        ),
    ),
    (
        "DI-NE",
        "Délégation interrégionale Nord-Est",
        (
            ("59", "Nord", "Lille", 26),
            ("62", "Pas-de-Calais", "Arras", 15),
            ("67", "Bas-Rhin", "Strasbourg", 11),
            ("57", "Moselle", "Metz", 10),
            ("54", "Meurthe-et-Moselle", "Nancy", 7),
        ),
    ),
    (
        "DI-SUD",
        "Délégation interrégionale Sud",
        (
            ("13", "Bouches-du-Rhône", "Marseille", 20),
            ("69", "Rhône", "Lyon", 19),
            ("33", "Gironde", "Bordeaux", 17),
            ("31", "Haute-Garonne", "Toulouse", 14),
            ("06", "Alpes-Maritimes", "Nice", 11),
        ),
    ),
)
# Offices of each directorate: (kind, code prefix, label, count)
OFFICE_PLAN = (
    ("sip", "SIP", "SIP", 4),
    ("sie", "SIE", "SIE", 2),
    ("cdif", "CDIF", "CDIF", 1),
    ("cps", "CPS", "CPS", 1),
    ("cis", "CIS", "Centre impôts service", 1),
    ("treasury", "TRES", "Trésorerie de proximité", 1),
)
COMMUNES_PER_DEPARTEMENT = 40
BIG_OFFICE = "SIP-75-1"  # the office with the large open backlog

FIRST_NAMES = (
    "Camille", "Jean-Pierre", "Nathalie", "Mohamed", "Sophie", "Thomas", "Isabelle", "Lucas",
    "Fatima", "Bernard", "Chantal", "Julien", "Élodie", "Karim", "Monique", "Antoine", "Léa",
    "Patrick", "Nadia", "Hugo", "Martine", "Yannick", "Anne", "Céline", "Olivier", "Valérie",
    "Stéphane", "Aurélie", "Nicolas", "Sandrine", "Émilie", "Laurent", "Inès", "Manon", "Louis",
)  # fmt: skip
LAST_NAMES = (
    "Durand", "Morel", "Girard", "Benali", "Lefèvre", "Chevalier", "Fontaine", "Perrin",
    "Haddad", "Mathieu", "Rey", "Faure", "Gauthier", "Mansouri", "Bertrand", "Roussel",
    "Marchetti", "Vidal", "Ferrand", "Blanchard", "Colin", "Brun", "Bonnet", "Dupuis", "Lemoine",
    "Garnier", "Renaud", "Barbier", "Aubert", "Guérin", "Picard", "Masson", "Nguyen", "Martin",
)  # fmt: skip
STREETS = (
    "rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Pasteur",
    "rue du Moulin", "place de la Mairie", "rue des Écoles", "chemin des Vignes",
)  # fmt: skip
TRADES = ("Boulangerie", "Garage", "Librairie", "Cabinet", "Atelier", "Transports", "Pharmacie")
RARE_SENTENCE = f" Je précise que mon activité principale est le {RARE_WORD}."


def esc(text: str) -> str:
    """A value in COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def luhn_key(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * 2 if index % 2 == 0 else int(char)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


class Clock:
    """Epoch seconds → ``YYYY-MM-DD HH:MM:SS+00`` fast (one strftime per day, not per row)."""

    def __init__(self) -> None:
        self.days: dict[int, str] = {}

    def __call__(self, moment: int) -> str:
        day, second = divmod(moment, 86400)
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
        hour, rest = divmod(second, 3600)
        return f"{text} {hour:02d}:{rest // 60:02d}:{rest % 60:02d}+00"


# --- Database plumbing ------------------------------------------------------------------------


def _admin_url(url: str) -> tuple[str, str]:
    base, _, name = psycopg_url(url).rpartition("/")
    return base + "/postgres", name.split("?")[0]


def dataset_state(url: str, scale: Scale) -> dict[str, Any] | None:
    """The marker of a complete dataset at this scale, or None."""
    try:
        with psycopg.connect(psycopg_url(url), connect_timeout=5) as conn:
            row = conn.execute("SELECT to_regclass('bench.dataset') IS NOT NULL").fetchone()
            if not row or not row[0]:
                return None
            found = conn.execute(
                "SELECT facts FROM bench.dataset WHERE scale = %s AND complete", (scale.name,)
            ).fetchone()
            return found[0] if found else None
    except psycopg.OperationalError as error:
        if "does not exist" in str(error):
            return None
        raise


def recreate_database(url: str) -> None:
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate(scale: Scale) -> None:
    env = app_env(scale)
    # The history's yearly partitions (decision 0021) from the first seeded year.
    since = str(datetime.fromtimestamp(time.time() - scale.years * 365 * 86400, UTC).year)
    for args in (
        ["db", "upgrade"],
        ["econtacts", "sync-roles"],
        ["econtacts", "partitions", "--since", since],
    ):
        print(f"$ flask {' '.join(args)}", flush=True)
        result = subprocess.run([PYTHON, "-m", "flask", *args], env=env, cwd=ROOT, check=False)
        if result.returncode:
            raise SystemExit(f"flask {' '.join(args)} failed (exit {result.returncode})")


class Copy:
    """One ``COPY table (columns) FROM STDIN`` on its own connection, fed in large chunks."""

    def __init__(self, url: str, table: str, columns: tuple[str, ...], stack: Any) -> None:
        self.table = table
        self.conn = stack.enter_context(psycopg.connect(url))
        self.conn.execute("SET synchronous_commit = off")
        # Foreign keys are not checked row by row during the load (the generator keeps them
        # consistent); tables with triggers of their own keep them (search vectors...).
        if not _user_triggers(self.conn, table):
            self.conn.execute("SET session_replication_role = replica")
        self.cursor = stack.enter_context(self.conn.cursor())
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        self.copy = stack.enter_context(self.cursor.copy(statement))
        self.buffer: list[str] = []
        self.rows = 0

    def add(self, line: str) -> None:
        self.buffer.append(line)
        if len(self.buffer) >= 5000:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.copy.write("".join(self.buffer))
            self.rows += len(self.buffer)
            self.buffer = []


def _user_triggers(conn: psycopg.Connection[Any], table: str) -> list[str]:
    rows = conn.execute(
        "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relname = %s AND NOT t.tgisinternal",
        (table,),
    ).fetchall()
    return [row[0] for row in rows]


def bench_access_number(tid: int) -> str:
    """The online access number of bench taxpayer ``tid`` (7 digits, derived from its id)."""
    return f"{tid * 7_919 % 10_000_000:07d}"


def bench_reference_income(tid: int) -> int:
    """The reference tax income of bench individual ``tid``, in euros."""
    return 9_000 + tid * 37 % 86_000


def bench_access_digest(identifier: str, tid: int) -> str:
    """The same digest as app.taxpayers.accounts.access_number_digest (the seed does not import
    the app): SHA-256 of "identifier:number"."""
    return hashlib.sha256(f"{identifier}:{bench_access_number(tid)}".encode()).hexdigest()


def copy_rows(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], rows) -> int:
    count = 0
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


# --- The generator ---------------------------------------------------------------------------


@dataclass
class OfficeRow:
    id: int
    code: str
    kind: str
    departement: str
    agents: list[int] = field(default_factory=list)


class Seeder:
    def __init__(self, scale: Scale, url: str) -> None:
        self.scale = scale
        self.url = psycopg_url(url)
        self.rng = random.Random(SEED)
        self.clock = Clock()
        self.now = int(time.time())
        self.start = self.now - scale.years * 365 * 86400
        self.offices: dict[str, OfficeRow] = {}
        self.communes: dict[str, list[str]] = {}  # département → commune codes
        self.commune_sip: dict[str, str] = {}  # commune → SIP code
        self.facts: dict[str, Any] = {"scale": scale.name}
        self.counts: dict[str, int] = {}
        from werkzeug.security import generate_password_hash

        self.password_hash = generate_password_hash(BENCH_PASSWORD, method="scrypt")

    # Reference data ----------------------------------------------------------------------

    def load_directory(self, conn: psycopg.Connection[Any]) -> None:
        office_rows: list[tuple[Any, ...]] = []
        territory_rows: list[tuple[Any, ...]] = []
        next_id = 1
        delegation_ids = []
        for code, name, _departements in DELEGATIONS:
            office_rows.append((next_id, code, name, "delegation", None, f"/{next_id}/"))
            delegation_ids.append(next_id)
            next_id += 1
        directorates = []
        for (_code, _name, departements), delegation_id in zip(
            DELEGATIONS, delegation_ids, strict=True
        ):
            for dep, dep_name, _city, _weight in departements:
                path = f"/{delegation_id}/{next_id}/"
                office_rows.append(
                    (next_id, f"DDFIP-{dep}", f"DDFiP — {dep_name}", "directorate",
                     delegation_id, path)
                )  # fmt: skip
                directorates.append((next_id, path))
                next_id += 1
        for _code, _name, departements in DELEGATIONS:
            for dep, _dep_name, city, _weight in departements:
                directorate_id, directorate_path = directorates.pop(0)
                if dep == "75":
                    communes = [f"751{k:02d}" for k in range(1, 21)]
                else:
                    communes = [f"{dep}{k:03d}" for k in range(1, COMMUNES_PER_DEPARTEMENT + 1)]
                self.communes[dep] = communes
                for kind, prefix, label, count in OFFICE_PLAN:
                    for number in range(1, count + 1):
                        code = f"{prefix}-{dep}-{number}"
                        suffix = f" {number}" if count > 1 else ""
                        office_rows.append(
                            (next_id, code, f"{label} {city}{suffix}", kind, directorate_id,
                             f"{directorate_path}{next_id}/")
                        )  # fmt: skip
                        self.offices[code] = OfficeRow(next_id, code, kind, dep)
                        if kind == "sip":
                            for index, commune in enumerate(communes):
                                if index % count == number - 1:
                                    territory_rows.append((next_id, dep, commune))
                                    self.commune_sip[commune] = code
                        else:
                            territory_rows.append((next_id, dep, None))
                        next_id += 1
        # Office kinds are rows the migrations created; offices point to them by id.
        self.kind_ids = dict(conn.execute("SELECT code, id FROM office_kind").fetchall())
        copy_rows(
            conn,
            "office",
            ("id", "code", "name", "kind_id", "parent_id", "path", "email", "active"),
            (
                (
                    oid,
                    code,
                    name,
                    self.kind_ids[kind],
                    parent,
                    path,
                    f"{code.lower()}@dgfip.example",
                    True,
                )
                for oid, code, name, kind, parent, path in office_rows
            ),  # fmt: skip
        )
        copy_rows(
            conn, "office_territory", ("office_id", "departement", "commune_code"), territory_rows
        )
        self.counts["office"] = len(office_rows)
        self.facts["delegation_code"] = DELEGATIONS[0][0]
        self.facts["big_office"] = BIG_OFFICE
        self.load_reference(conn)

    def load_reference(self, conn: psycopg.Connection[Any]) -> None:
        from app.dev import demo

        topics: dict[str, int] = {}
        self.topic_days: dict[int, int] = {}
        topic_rows = []
        next_id = 1
        for position, (code, label, days, kind, children) in enumerate(demo._TOPICS, 1):
            topics[code] = parent_id = next_id
            topic_rows.append(
                (next_id, code, label, None, kind and kind.value, days, position, True)
            )
            next_id += 1
            for child_position, (child_code, child_label, child_kind) in enumerate(children, 1):
                topics[child_code] = next_id
                self.topic_days[next_id] = days
                topic_rows.append(
                    (next_id, child_code, child_label, parent_id,
                     child_kind and child_kind.value, days, child_position, True)
                )  # fmt: skip
                next_id += 1
        copy_rows(
            conn,
            "topic",
            ("id", "code", "label", "parent_id", "taxpayer_kind", "target_days", "position",
             "active"),
            topic_rows,
        )  # fmt: skip
        matters: dict[str, int] = {}
        matter_rows = []
        for position, (code, label, kind, asks_year) in enumerate(demo._TAX_MATTERS, 1):
            matters[code] = position
            matter_rows.append(
                (position, code, label, kind and kind.value, asks_year, position, True)
            )
        copy_rows(
            conn,
            "tax_matter",
            ("id", "code", "label", "taxpayer_kind", "asks_year", "position", "active"),
            matter_rows,
        )
        copy_rows(
            conn,
            "routing_rule",
            ("topic_id", "tax_matter_id", "taxpayer_kind", "office_kind_id", "active"),
            (
                (topics.get(t) if t else None, matters.get(m) if m else None,
                 k and k.value, self.kind_ids[ok], True)
                for t, m, k, ok in demo._ROUTING_RULES
            ),
        )  # fmt: skip
        copy_rows(
            conn,
            "reply_template",
            ("title", "body", "office_id", "topic_id", "active"),
            (
                (title, body, None, topics.get(topic) if topic else None, True)
                for title, office, topic, body in demo._REPLY_TEMPLATES
                if office is None
            ),
        )
        # The words of both sides, per taxpayer kind: (topic, matter, subject, texts...).
        self.scenarios: dict[str, list[tuple[Any, ...]]] = {"individual": [], "business": []}
        year = datetime.now(UTC).year
        for scenario in demo._SCENARIOS:
            if scenario.large:
                continue
            for tax_year in (year - 1, year - 2, year - 3):
                words = _Words(annee=tax_year, adresse="12 rue Victor Hugo", nom="Madame Durand")
                self.scenarios[scenario.kind.value].append(
                    (
                        topics[scenario.topic],
                        matters[scenario.matter] if scenario.matter else None,
                        tax_year if scenario.matter else None,
                        esc(scenario.subject.format_map(words)),
                        esc(scenario.question.format_map(words)),
                        esc(scenario.answer.format_map(words)),
                        esc(scenario.info_request.format_map(words)),
                        esc(scenario.info_reply.format_map(words)),
                        esc(scenario.summary.format_map(words)),
                        esc(scenario.outcome),
                    )
                )
        self.notes = [esc(note) for note in demo._NOTES]
        self.follow_ups = [(esc(q), esc(a)) for q, a in demo._FOLLOW_UPS]

    def load_agents(self, conn: psycopg.Connection[Any]) -> None:
        roles = dict(conn.execute("SELECT name, id FROM ab_role").fetchall())
        for name in ("agent", "office_manager", "steering", "admin"):
            if name not in roles:
                raise SystemExit(f"role {name!r} missing: did `flask econtacts sync-roles` run?")
        rng = self.rng
        users: list[tuple[Any, ...]] = []
        user_roles: list[tuple[int, int]] = []
        stamp = datetime.now(UTC).replace(tzinfo=None)

        def add(username: str, office_id: int | None, role: str) -> int:
            user_id = len(users) + 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            users.append(
                (user_id, first, last, username, self.password_hash, True,
                 f"{username}@dgfip.example", 0, 0, stamp, stamp, office_id, BENCH_OTP_SECRET)
            )  # fmt: skip
            user_roles.append((user_id, roles[role]))
            return user_id

        add("bench.admin", 1, "admin")
        office_ids = {
            row[0]: row[1] for row in conn.execute("SELECT code, id FROM office").fetchall()
        }
        for code, office_id in office_ids.items():
            if code.startswith(("DI-", "DDFIP-")):
                add(f"bench.pilote.{code.lower()}", office_id, "steering")
        for office in self.offices.values():
            count = 8 if office.code == BIG_OFFICE else 3
            for number in range(1, count + 1):
                office.agents.append(add(f"bench.agent.{office.code.lower()}.{number}",
                                         office.id, "agent"))  # fmt: skip
            office.agents.append(add(f"bench.chef.{office.code.lower()}", office.id,
                                     "office_manager"))  # fmt: skip
        copy_rows(
            conn,
            "ab_user",
            ("id", "first_name", "last_name", "username", "password", "active", "email",
             "login_count", "fail_login_count", "created_on", "changed_on", "office_id",
             "otp_secret"),
            users,
        )  # fmt: skip
        copy_rows(conn, "ab_user_role", ("user_id", "role_id"), user_roles)
        conn.execute("SELECT setval(pg_get_serial_sequence('ab_user', 'id'), max(id)) FROM ab_user")
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('ab_user_role', 'id'), max(id)) FROM ab_user_role"
        )
        self.counts["agent"] = len(users)
        big = BIG_OFFICE.lower()
        self.facts["agents"] = {
            "big_office_agents": [f"bench.agent.{big}.{n}" for n in range(1, 9)],
            "big_office_manager": f"bench.chef.{big}",
            "steering_delegation": f"bench.pilote.{DELEGATIONS[0][0].lower()}",
            "admin": "bench.admin",
        }

    # Taxpayers --------------------------------------------------------------------------

    def taxpayers(self) -> Iterator[str]:
        rng = self.rng
        clock = self.clock
        deps = [dep for _c, _n, departements in DELEGATIONS for dep, *_rest in departements]
        weights = [w for _c, _n, departements in DELEGATIONS for *_r, w in departements]
        cities = {d[0]: d[2] for _c, _n, ds in DELEGATIONS for d in ds}
        dep_cum = list(_cumulative(weights))
        commune_cum = list(_cumulative([1 / (k + 1) ** 0.7 for k in range(40)]))
        self.taxpayer_home: list[tuple[int, int, int]] = [(0, 0, 0)]  # id → (kind, sip, sie)
        self.big_office_taxpayers: list[int] = []
        self.submitters: list[str] = []
        big_id = self.offices[BIG_OFFICE].id
        pw = esc(self.password_hash)
        for tid in range(1, self.scale.taxpayers + 1):
            dep = deps[bisect(dep_cum, rng.random() * dep_cum[-1])]
            communes = self.communes[dep]
            commune = communes[
                min(bisect(commune_cum, rng.random() * commune_cum[-1]), len(communes) - 1)
            ]
            sip = self.offices[self.commune_sip[commune]].id
            sie = self.offices[f"SIE-{dep}-{tid % 2 + 1}"].id
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            created = clock(self.start - rng.randint(0, 5 * 365 * 86400))
            postcode = f"750{commune[-2:]}" if dep == "75" else f"{dep}{commune[-3:]}"[:5]
            address = f"{rng.randint(1, 150)} {rng.choice(STREETS)}"
            if tid % 7 == 0:  # one taxpayer in seven is a business
                digits = f"{30_000_000 + tid:08d}"
                siren = digits + luhn_key(digits)
                company = esc(f"{rng.choice(TRADES)} {last} SARL")
                self.taxpayer_home.append((1, sip, sie))
                yield (
                    f"{tid}\tbusiness\t{NULL}\t{siren}\t{NULL}\t{company}\t{company}\t"
                    f"pro{tid}@bench.example\t{created}\t{pw}\t{address}\t{postcode}\t"
                    f"{cities[dep]}\t{commune}\tt\t0\t{created}\t"
                    f"{bench_access_digest(siren, tid)}\t{NULL}\n"
                )
            else:
                tax_number = f"{3_000_000_000_000 + tid:013d}"
                self.taxpayer_home.append((0, sip, sie))
                if sip == big_id:
                    self.big_office_taxpayers.append(tid)
                if len(self.submitters) < 64 and tid % 11 == 3:
                    self.submitters.append(tax_number)
                yield (
                    f"{tid}\tindividual\t{tax_number}\t{NULL}\t{esc(first)}\t{esc(last)}\t{NULL}\t"
                    f"usager{tid}@bench.example\t{created}\t{pw}\t{address}\t{postcode}\t"
                    f"{cities[dep]}\t{commune}\tt\t0\t{created}\t"
                    f"{bench_access_digest(tax_number, tid)}\t{bench_reference_income(tid)}\n"
                )

    TAXPAYER_COLUMNS = (
        "id", "kind", "tax_number", "siren", "first_name", "last_name", "company_name", "email",
        "email_confirmed_at", "password_hash", "address_line", "postcode", "city",
        "commune_code", "notify_by_email", "failed_logins", "created_at",
        "access_number_digest", "reference_income",
    )  # fmt: skip
    CASE_COLUMNS = (
        "id", "reference", "taxpayer_id", "channel", "topic_id", "tax_matter_id", "tax_year",
        "subject", "status", "office_id", "assignee_id", "created_by_id", "received_at",
        "first_answer_at", "closed_at", "due_at", "last_activity_at", "outcome",
        "visible_to_taxpayer", "unread_by_taxpayer", "unread_by_office",
        "awaiting_acknowledgement", "legal_hold", "version",
    )  # fmt: skip
    MESSAGE_COLUMNS = (
        "id", "case_id", "office_id", "author_kind", "author_agent_id", "author_office_id",
        "body", "internal", "requests_information", "created_at", "read_at",
    )  # fmt: skip
    EVENT_COLUMNS = (
        "id", "kind", "case_id", "taxpayer_id", "office_id", "actor_agent_id",
        "actor_taxpayer_id", "created_at", "data",
    )  # fmt: skip
    TRANSFER_COLUMNS = (
        "id", "case_id", "from_office_id", "to_office_id", "reason", "agent_id", "created_at",
        "acknowledged_at", "acknowledged_by_id",
    )  # fmt: skip
    ATTACHMENT_COLUMNS = (
        "id", "message_id", "filename", "storage_key", "content_type", "size", "sha256",
        "created_at", "message_created_at",
    )  # fmt: skip

    # Cases and everything in them ------------------------------------------------------------

    def load_cases(self, stack: contextlib.ExitStack) -> None:
        scale, rng, clock = self.scale, self.rng, self.clock
        rand, randint, choice = rng.random, rng.randint, rng.choice
        out = {
            name: Copy(self.url, table, columns, stack)
            for name, table, columns in (
                ("case", "case", self.CASE_COLUMNS),
                ("message", "message", self.MESSAGE_COLUMNS),
                ("event", "event", self.EVENT_COLUMNS),
                ("transfer", "transfer", self.TRANSFER_COLUMNS),
                ("attachment", "attachment", self.ATTACHMENT_COLUMNS),
            )
        }
        case_out, msg_out, ev_out = out["case"].add, out["message"].add, out["event"].add
        tr_out, att_out = out["transfer"].add, out["attachment"].add
        offices_by_id = {o.id: o for o in self.offices.values()}
        office_code = {o.id: o.code for o in self.offices.values()}
        big = self.offices[BIG_OFFICE]
        n = scale.cases
        heavy_total = scale.heavy_taxpayers * scale.heavy_contacts
        heavy_stride = max(1, n // max(1, heavy_total))
        # Heavy taxpayers: individuals of the big office, so their cases come there too.
        heavy_ids = self.big_office_taxpayers[: scale.heavy_taxpayers]
        big_pool = self.big_office_taxpayers[scale.heavy_taxpayers :] or heavy_ids
        big_step = max(2, min(20, n // (scale.big_office_open * 2)))
        big_window_start = n - scale.big_office_open * big_step
        tp_cum = list(_cumulative([1 / (k + 10) ** 0.5 for k in range(scale.taxpayers)]))
        tp_total = tp_cum[-1]
        span = self.now - self.start
        msg_counts = [1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 7, 8, 9, 10, 12]  # mean 5.33
        files = self.attachment_files
        message_id = event_id = transfer_id = attachment_id = 0
        heavy_seen: dict[int, int] = dict.fromkeys(heavy_ids, 0)
        started = time.monotonic()
        for index in range(n):
            case_id = index + 1
            received = self.start + int(span * ((index + rand()) / n) ** (1 / 1.4))
            received = min(received, self.now - 60)
            forced_big = index >= big_window_start and (index - big_window_start) % big_step == 0
            if heavy_ids and index % heavy_stride == 0 and index // heavy_stride < heavy_total:
                taxpayer_id = heavy_ids[(index // heavy_stride) % len(heavy_ids)]
            elif forced_big:
                taxpayer_id = big_pool[(index // big_step) % len(big_pool)]
            else:
                taxpayer_id = bisect(tp_cum, rand() * tp_total) + 1
                taxpayer_id = min(taxpayer_id, scale.taxpayers)
            if taxpayer_id in heavy_seen:
                heavy_seen[taxpayer_id] += 1
            kind, sip, sie = self.taxpayer_home[taxpayer_id]
            home = sie if kind else sip
            dep = offices_by_id[home].departement
            scenario = choice(self.scenarios["business" if kind else "individual"])
            (
                topic_id,
                matter_id,
                tax_year,
                subject,
                question,
                answer,
                info_q,
                info_a,
                summary,
                outcome,
            ) = scenario  # noqa: E501
            draw = rand()
            channel = (
                "online" if draw < 0.6 else "phone" if draw < 0.85 else
                "counter" if draw < 0.95 else "letter"
            )  # fmt: skip
            office = home
            draw = rand()
            if forced_big:
                office = big.id
            elif draw < 0.04:
                office = self.offices[f"CDIF-{dep}-1"].id
            elif draw < 0.08:
                office = self.offices[f"CPS-{dep}-1"].id
            transferred_from = None
            if not forced_big and rand() < 0.07:
                source = "TRES" if channel == "counter" else "CIS"
                transferred_from = self.offices[f"{source}-{dep}-1"].id
            first_office = transferred_from or office
            agents = offices_by_id[office].agents
            age = self.now - received
            if forced_big:
                is_open = True
            elif age < 20 * 86400:
                is_open = rand() < 0.8
            elif age < 90 * 86400:
                is_open = rand() < 0.05
            else:
                is_open = False
            online = channel == "online"
            recorder = None if online else choice(offices_by_id[first_office].agents)
            count = 1 if is_open and online and rand() < 0.45 else choice(msg_counts)
            # Messages alternate: the taxpayer (or the agent's record), then the office...
            room = max(age - 3600, 600)
            gap = min(room // (count + 1), 6 * 86400)
            moment = received
            assignee = choice(agents)
            reference = _reference(case_id, received)
            first_answer = None
            last_agent_message = False
            status = "new" if online else "in_progress"
            tp_event = f"\t{NULL}\t{taxpayer_id}\t"
            for position in range(count):
                message_id += 1
                if position:
                    moment += randint(gap // 3 + 1, gap + 1)
                stamp = clock(moment)
                if position == 0:
                    if online:
                        body = question
                        if message_id % 20011 == 7:
                            body += RARE_SENTENCE
                        msg_out(
                            f"{message_id}\t{case_id}\t{office}\ttaxpayer\t{NULL}\t{NULL}\t{body}\tf\tf\t"
                            f"{stamp}\t{clock(moment + 3600)}\n"
                        )
                        if rand() < 0.1:
                            attachment_id += 1
                            name, size, digest, ctype = files[attachment_id % len(files)]
                            key = hashlib.md5(  # noqa: S324 - a storage name, not security
                                str(attachment_id).encode()
                            ).hexdigest()
                            att_out(
                                f"{attachment_id}\t{message_id}\t{name}\t{key}\t{ctype}\t"
                                f"{size}\t{digest}\t{stamp}\t{stamp}\n"
                            )
                        event_id += 1
                        ev_out(
                            f"{event_id}\treceived\t{case_id}\t{taxpayer_id}\t{first_office}"
                            f'{tp_event}{stamp}\t{{"channel": "online"}}\n'
                        )
                    else:
                        msg_out(
                            f"{message_id}\t{case_id}\t{office}\tagent\t{recorder}\t{first_office}\t"
                            f"{summary}\tf\tf\t{stamp}\t{NULL}\n"
                        )
                        event_id += 1
                        ev_out(
                            f"{event_id}\tcontact_recorded\t{case_id}\t{taxpayer_id}\t"
                            f"{first_office}\t{recorder}\t{NULL}\t{stamp}\t"
                            f'{{"channel": "{channel}"}}\n'
                        )
                        first_answer = moment
                    if transferred_from is not None:
                        transfer_id += 1
                        sender = choice(offices_by_id[transferred_from].agents)
                        moment += randint(600, 4 * 3600)
                        acknowledged = moment + randint(3600, 86400)
                        receiver = choice(agents)
                        tr_out(
                            f"{transfer_id}\t{case_id}\t{transferred_from}\t{office}\t"
                            "Demande transmise au service compétent pour le domicile de "
                            f"l'usager.\t{sender}\t{clock(moment)}\t{clock(acknowledged)}\t"
                            f"{receiver}\n"
                        )
                        event_id += 1
                        ev_out(
                            f"{event_id}\ttransferred\t{case_id}\t{taxpayer_id}\t"
                            f"{transferred_from}\t{sender}\t{NULL}\t{clock(moment)}\t"
                            f'{{"to": "{office_code[office]}"}}\n'
                        )
                        event_id += 1
                        ev_out(
                            f"{event_id}\ttransfer_acknowledged\t{case_id}\t{taxpayer_id}\t"
                            f"{office}\t{receiver}\t{NULL}\t{clock(acknowledged)}\t{{}}\n"
                        )
                        moment = acknowledged
                    continue
                agent_turn = position % 2 == 1 if online else position % 2 == 0
                if agent_turn:
                    draw = rand()
                    if draw < 0.08:
                        body, internal, asks, kind_name = choice(self.notes), "t", "f", "note_added"
                    elif draw < 0.3 and (position < count - 1 or is_open):
                        body, internal, asks, kind_name = info_q, "f", "t", "information_requested"
                    else:
                        body, internal, asks, kind_name = answer, "f", "f", "answered"
                        if position > 2:
                            body = choice(self.follow_ups)[1]
                    read = clock(moment + 7200) if rand() < 0.9 else NULL
                    msg_out(
                        f"{message_id}\t{case_id}\t{office}\tagent\t{assignee}\t{office}\t{body}\t"
                        f"{internal}\t{asks}\t{stamp}\t{read}\n"
                    )
                    if internal == "f":
                        first_answer = first_answer or moment
                        last_agent_message = True
                        status = "awaiting_taxpayer" if asks == "t" else "in_progress"
                    event_id += 1
                    ev_out(
                        f"{event_id}\t{kind_name}\t{case_id}\t{taxpayer_id}\t{office}\t"
                        f"{assignee}\t{NULL}\t{stamp}\t{{}}\n"
                    )
                else:
                    body = info_a if position == 2 else choice(self.follow_ups)[0]
                    if message_id % 20011 == 7:
                        body += RARE_SENTENCE
                    msg_out(
                        f"{message_id}\t{case_id}\t{office}\ttaxpayer\t{NULL}\t{NULL}\t{body}\tf\tf\t"
                        f"{stamp}\t{clock(moment + 3600)}\n"
                    )
                    last_agent_message = False
                    status = "in_progress"
                    event_id += 1
                    ev_out(
                        f"{event_id}\ttaxpayer_replied\t{case_id}\t{taxpayer_id}\t{office}"
                        f"{tp_event}{stamp}\t{{}}\n"
                    )
            closed_at = NULL
            case_outcome = NULL
            if not is_open:
                moment += randint(600, 86400)
                closed_at = clock(moment)
                status = "closed"
                case_outcome = outcome
                event_id += 1
                ev_out(
                    f"{event_id}\tclosed\t{case_id}\t{taxpayer_id}\t{office}\t{assignee}\t"
                    f"{NULL}\t{closed_at}\t{{}}\n"
                )
            elif count == 1 and online:
                status = "new"
            moment = min(moment, self.now)
            unread_tp = "t" if last_agent_message and is_open and rand() < 0.5 else "f"
            unread_office = "t" if is_open and not last_agent_message else "f"
            case_out(
                f"{case_id}\t{reference}\t{taxpayer_id}\t{channel}\t{topic_id}\t"
                f"{_n(matter_id)}\t{_n(tax_year)}\t{subject}\t{status}\t{office}\t"
                f"{assignee if status != 'new' else NULL}\t{_n(recorder)}\t{clock(received)}\t"
                f"{clock(first_answer) if first_answer else NULL}\t{closed_at}\t"
                f"{clock(received + self.topic_days.get(topic_id, 30) * 86400)}\t"
                f"{clock(moment)}\t{case_outcome}\tt\t{unread_tp}\t{unread_office}\tf\tf\t"
                f"{count + 1}\n"
            )
            if case_id % 50_000 == 0 or case_id == n:
                elapsed = time.monotonic() - started
                rows = case_id + message_id + event_id + transfer_id + attachment_id
                print(
                    f"  cases {case_id:>9,} / {n:,}  messages {message_id:>10,}  "
                    f"events {event_id:>10,}  {rows / elapsed:>9,.0f} rows/s",
                    flush=True,
                )
        for stream in out.values():
            stream.flush()
        self.counts.update({name: stream.rows for name, stream in out.items()})
        self.facts["heavy_taxpayers"] = [f"{3_000_000_000_000 + t:013d}" for t in heavy_ids]
        self.facts["heavy_counts"] = [heavy_seen[t] for t in heavy_ids]
        self.facts["submitters"] = self.submitters
        self.facts["attachments"] = attachment_id

    def prepare_attachment_files(self, root: Path) -> None:
        """A few real small files; every attachment row's storage key is a hard link to one."""
        self.attachment_dir = root
        sources = [
            ("avis-d-imposition.pdf", ROOT / "tests" / "data" / "avis.pdf", "application/pdf"),
            ("justificatif.png", ROOT / "tests" / "data" / "photo.png", "image/png"),
        ]
        self.attachment_files = []
        self.attachment_sources = []
        for name, path, content_type in sources:
            data = path.read_bytes()
            self.attachment_files.append(
                (name, len(data), hashlib.sha256(data).hexdigest(), content_type)
            )
            self.attachment_sources.append(path)

    def link_attachment_files(self, count: int) -> None:
        root = self.attachment_dir
        sources = self.attachment_sources
        for attachment_id in range(1, count + 1):
            key = hashlib.md5(str(attachment_id).encode()).hexdigest()  # noqa: S324
            target = root / key[:2] / key[2:4] / key
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.link(sources[attachment_id % len(sources)], target)

    # The whole run -----------------------------------------------------------------------

    def run(self, attachment_root: Path) -> None:
        started = time.monotonic()
        self.prepare_attachment_files(attachment_root)
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            with conn.transaction():
                self.load_directory(conn)
                self.load_agents(conn)
            indexes = _secondary_indexes(conn, LOADED_TABLES)
            for name, _definition in indexes:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            print(f"Dropped {len(indexes)} secondary indexes for the load", flush=True)
            with contextlib.ExitStack() as stack:
                tp = Copy(self.url, "taxpayer", self.TAXPAYER_COLUMNS, stack)
                for line in self.taxpayers():
                    tp.add(line)
                tp.flush()
                self.counts["taxpayer"] = tp.rows
            print(
                f"  taxpayers {self.counts['taxpayer']:,} in {time.monotonic() - started:.0f} s",
                flush=True,
            )
            with contextlib.ExitStack() as stack:
                self.load_cases(stack)
            linker = threading.Thread(
                target=self.link_attachment_files, args=(self.facts["attachments"],)
            )
            linker.start()
            loaded = time.monotonic()
            print(f"Rows loaded in {loaded - started:.0f} s; rebuilding indexes", flush=True)
            conn.execute("SET maintenance_work_mem = '1GB'")
            for name, definition in indexes:
                step = time.monotonic()
                # A partitioned table's index is defined "ON ONLY" its parent (no partition
                # would get it): built on the parent, it is built on every partition.
                conn.execute(definition.replace(" ON ONLY ", " ON ", 1))
                print(f"  {name}: {time.monotonic() - step:.1f} s", flush=True)
            # The partitions' indexes rebuilt from their parent's get PostgreSQL's names: the
            # app's names again (app.platform.partitions.name_indexes).
            subprocess.run(
                [PYTHON, "-m", "flask", "econtacts", "partitions"],
                env=app_env(self.scale),
                cwd=ROOT,
                check=True,
            )
            for table in LOADED_TABLES:
                conn.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence({}, 'id'), "
                        "coalesce(max(id), 0) + 1, false) FROM {}"
                    ).format(sql.Literal(f'"{table}"'), sql.Identifier(table))
                )
            step = time.monotonic()
            conn.execute("ANALYZE")
            print(f"ANALYZE: {time.monotonic() - step:.1f} s", flush=True)
            # The steering rollups, from the loaded cases (the app's own rebuild).
            step = time.monotonic()
            print("$ flask econtacts rollups rebuild", flush=True)
            result = subprocess.run(
                [PYTHON, "-m", "flask", "econtacts", "rollups", "rebuild"],
                env=app_env(self.scale),
                cwd=ROOT,
                check=False,
            )
            if result.returncode:
                raise SystemExit(f"rollups rebuild failed (exit {result.returncode})")
            print(f"Steering rollups: {time.monotonic() - step:.1f} s", flush=True)
            # A database in service has been vacuumed: index-only scans need the visibility map.
            step = time.monotonic()
            conn.execute("VACUUM (ANALYZE)")
            print(f"VACUUM (ANALYZE): {time.monotonic() - step:.1f} s", flush=True)
            linker.join()
            typical = conn.execute(
                'SELECT t.tax_number FROM taxpayer t JOIN "case" c ON c.taxpayer_id = t.id '
                "WHERE t.kind = 'individual' AND t.id > 100 GROUP BY t.id "
                "HAVING count(*) BETWEEN 4 AND 8 ORDER BY t.id LIMIT 1"
            ).fetchone()
            self.facts["typical_taxpayer"] = typical[0] if typical else self.submitters[0]
            seconds = time.monotonic() - started
            self.facts["seed_seconds"] = round(seconds, 1)
            self.facts["counts"] = self.counts
            conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench.dataset (scale text PRIMARY KEY, "
                "complete boolean NOT NULL, seeded_at timestamptz NOT NULL DEFAULT now(), "
                "facts jsonb NOT NULL)"
            )
            conn.execute(
                "INSERT INTO bench.dataset (scale, complete, facts) VALUES (%s, true, %s)",
                (self.scale.name, json.dumps(self.facts)),
            )
        rows = sum(self.counts.values())
        print(
            f"Seeded {self.scale.name}: {rows:,} rows in {seconds:.0f} s "
            f"({rows / seconds:,.0f} rows/s): "
            + ", ".join(f"{k} {v:,}" for k, v in self.counts.items()),
            flush=True,
        )


class _Words(dict[str, object]):
    """The demo's placeholders; any other one is left as it is."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _n(value: object) -> str:
    return NULL if value is None else str(value)


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _reference(case_id: int, received: int) -> str:
    """A unique reference like the app's (``YY-XXXX-XXXX``): the id, scrambled bijectively."""
    value = (case_id * 0x9E3779B1) % (1 << 40)
    chars = "".join(CROCKFORD[(value >> (5 * k)) & 31] for k in range(8))
    year = datetime.fromtimestamp(received, UTC).year % 100
    return f"{year:02d}-{chars[:4]}-{chars[4:]}"


def _secondary_indexes(conn: psycopg.Connection[Any], tables: tuple[str, ...]) -> list[Any]:
    """Indexes that back no constraint: dropped for the load, rebuilt from their definition."""
    return conn.execute(
        "SELECT ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relname = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
        "ORDER BY c.relname, ic.relname",
        (list(tables),),
    ).fetchall()


def ensure_dataset(scale: Scale) -> dict[str, Any]:
    """Seed unless a complete dataset of this scale exists; return its facts."""
    url = database_url(scale)
    facts = dataset_state(url, scale)
    if facts is not None:
        print(
            f"Reusing the {scale.name} dataset in {url.rsplit('/', 1)[-1]} "
            f"(seeded in {facts.get('seed_seconds')} s); applying new migrations if any.",
            flush=True,
        )
        migrate(scale)
        return facts
    print(f"Seeding the {scale.name} dataset into {url.rsplit('/', 1)[-1]}", flush=True)
    started = time.monotonic()
    recreate_database(url)
    attachments = Path(app_env(scale)["ATTACHMENT_DIR"])
    shutil.rmtree(attachments, ignore_errors=True)
    attachments.mkdir(parents=True, exist_ok=True)
    migrate(scale)
    Seeder(scale, url).run(attachments)
    print(f"Seeding took {time.monotonic() - started:.0f} s in all (migrations included)")
    facts = dataset_state(url, scale)
    assert facts is not None
    return facts


def main() -> None:
    scale = scale_from_env()
    if "--force" in sys.argv:
        recreate_database(database_url(scale))
    ensure_dataset(scale)


if __name__ == "__main__":
    main()
