"""Loading a directorate's real directory from CSV files: offices, then agents.

Each file is checked line by line first. Every rejected line is reported with its number and
the reason, in French; what would be created or updated is listed. Then:

- a dry run (simulation) writes nothing;
- a real run applies the whole file, or nothing at all if a single line is rejected (fix the
  file and send it again): a directory half-loaded would route cases to the wrong offices.

This module reads and checks; the writes are the directory's operations
(``app.directory.operations.apply_offices`` and ``apply_agents``, which record the import as an
event). Nothing commits: the caller commits once when ``report.applied``.

Offices (one line per office; parents before their children, or already in the directory)::

    code,nom,type,parent,courriel,telephone,adresse,territoires
    DDFIP69,DDFiP du Rhône,direction locale,DI-CE,,,,
    SIP693,SIP Lyon 3e,sip,DDFIP69,sip.lyon3@dgfip.example,04 72 00 00 00,"1 rue X, Lyon",69

``type`` is an office kind's code (``sip``) or its French label; ``territoires`` lists
départements and communes separated by ``;``: ``69`` (the whole département) or ``42:42218``
(one commune of it).

Agents::

    identifiant,prenom,nom,courriel,service,roles
    c.martin,Camille,Martin,camille.martin@dgfip.example,SIP693,agent;office_manager

``roles`` are separated by ``;`` or ``|``: ``agent``, ``office_manager`` (chef de service),
``steering`` (pilote), ``admin`` (administrateur). New agents get no usable password: an
administrator sets it from the agents' screen, and the agent enrols the second factor at first
sign-in. Existing offices and agents (same code, same identifier) are updated.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.directory.access import ROLE_ADMIN, ROLE_AGENT, ROLE_OFFICE_MANAGER, ROLE_STEERING
from app.directory.operations import AgentEntry, OfficeEntry, apply_agents, apply_offices
from models import Agent, Office, OfficeKind, OfficeTerritory, db

OFFICES = "offices"
AGENTS = "agents"

MAX_LINES = 20000
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
PHONE = re.compile(r"^[0-9+ .()-]{4,32}$")
USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,128}$")
DEPARTEMENT = re.compile(r"^(?:\d{2}|2[AB]|97\d)$")
COMMUNE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")

# Header aliases, compared without accents nor case.
OFFICE_COLUMNS = {
    "code": ("code", "code_service"),
    "name": ("nom", "name", "libelle"),
    "kind": ("type", "kind", "nature"),
    "parent": ("parent", "code_parent", "parent_code"),
    "email": ("courriel", "email", "e-mail", "mel", "adresse_electronique"),
    "phone": ("telephone", "phone", "tel"),
    "address": ("adresse", "address", "adresse_postale"),
    "territories": ("territoires", "territories", "territoire"),
}
AGENT_COLUMNS = {
    "username": ("identifiant", "username", "login"),
    "first_name": ("prenom", "first_name"),
    "last_name": ("nom", "last_name"),
    "email": ("courriel", "email", "e-mail", "mel", "adresse_electronique"),
    "office": ("service", "office", "code_service"),
    "roles": ("roles", "role"),
}
REQUIRED = {
    OFFICES: ("code", "name", "kind"),
    AGENTS: ("username", "first_name", "last_name", "email", "roles"),
}
ROLE_ALIASES = {
    ROLE_AGENT: (ROLE_AGENT,),
    ROLE_OFFICE_MANAGER: (ROLE_OFFICE_MANAGER, "chef de service", "chef_de_service"),
    ROLE_STEERING: (ROLE_STEERING, "pilote", "pilotage"),
    ROLE_ADMIN: (ROLE_ADMIN, "administrateur", "administrator"),
}
# Roles that work inside an office and so need one.
ROLES_NEEDING_OFFICE = (ROLE_AGENT, ROLE_OFFICE_MANAGER, ROLE_STEERING)


@dataclass(frozen=True)
class Rejection:
    line: int
    message: str


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    lines: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected

    def reject(self, line: int, message: str) -> None:
        self.rejected.append(Rejection(line, message))


# --- shared parsing ---------------------------------------------------------------------------


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace(" ", "_")


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 (a spreadsheet's French export)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _rows(
    text: str, aliases: dict[str, tuple[str, ...]], required: tuple[str, ...], report: ImportReport
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {field: value}) for each non-empty line after the header."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        report.reject(1, _("Le fichier est vide : la première ligne doit nommer les colonnes."))
        return
    header_line = lines[0]
    delimiter = "," if header_line.count(",") >= header_line.count(";") else ";"
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [_plain(name) for name in next(reader)]
    positions: dict[str, int] = {}
    for field_name, names in aliases.items():
        for index, name in enumerate(header):
            if name in {_plain(alias) for alias in names}:
                positions[field_name] = index
                break
    missing = [aliases[name][0] for name in required if name not in positions]
    if missing:
        report.reject(
            1,
            _(
                "Colonnes manquantes dans la première ligne : %(columns)s.",
                columns=", ".join(missing),
            ),
        )
        return
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        report.lines += 1
        if report.lines > MAX_LINES:
            report.reject(line, _("Trop de lignes : %(max)d au plus par fichier.", max=MAX_LINES))
            return
        yield (
            line,
            {
                name: (values[index].strip() if index < len(values) else "")
                for name, index in positions.items()
            },
        )


def _sentence(problems: list[str]) -> str:
    text = "; ".join(problem.rstrip(". ") for problem in problems) + "."
    return text[:1].upper() + text[1:]


def parse_territories(text: str) -> list[tuple[str, str | None]]:
    """``"69;42:42218"`` → ``[("69", None), ("42", "42218")]``; ValueError with a French
    message when an entry is malformed."""
    found: list[tuple[str, str | None]] = []
    for raw in re.split(r"[;|\n]", text or ""):
        entry = raw.strip().upper()
        if not entry:
            continue
        departement, _sep, commune = (part.strip() for part in entry.partition(":"))
        if not DEPARTEMENT.match(departement):
            raise ValueError(
                _(
                    "Territoire « %(entry)s » invalide : département attendu (69, 2A, 974…), "
                    "éventuellement suivi de « : » et du code INSEE d'une commune (42:42218).",
                    entry=raw.strip(),
                )
            )
        if commune and not (COMMUNE.match(commune) and commune.startswith(departement[:2])):
            raise ValueError(
                _(
                    "Territoire « %(entry)s » invalide : le code INSEE de la commune doit avoir "
                    "5 caractères et commencer par le département.",
                    entry=raw.strip(),
                )
            )
        item = (departement, commune or None)
        if item not in found:
            found.append(item)
    return found


def territory_code(territory: OfficeTerritory) -> str:
    """``69`` for a whole département, ``42:42218`` for one commune (what ``parse_territories``
    reads)."""
    if territory.commune_code:
        return f"{territory.departement}:{territory.commune_code}"
    return territory.departement


def format_territories(office: Office) -> str:
    return ";".join(
        territory_code(t)
        for t in sorted(office.territories, key=lambda t: (t.departement, t.commune_code or ""))
    )


def active_kinds() -> list[OfficeKind]:
    return list(
        db.session.scalars(
            select(OfficeKind).where(OfficeKind.active.is_(True)).order_by(OfficeKind.id)
        )
    )


def parse_kind(value: str, kinds: list[OfficeKind]) -> OfficeKind | None:
    """The active kind whose code or French label is ``value`` (case and accents ignored)."""
    wanted = _plain(value)
    for kind in kinds:
        if wanted in (_plain(kind.code), _plain(kind.label)):
            return kind
    return None


def kind_choices(kinds: list[OfficeKind]) -> str:
    return ", ".join(kind.code for kind in kinds)


# --- offices ----------------------------------------------------------------------------------


def import_offices(data: bytes | str, *, dry_run: bool, by: Agent | None = None) -> ImportReport:
    report = ImportReport(kind=OFFICES, dry_run=dry_run)
    text = decode(data) if isinstance(data, bytes) else data
    offices = select(Office)
    if not dry_run:  # applying the file replaces each existing office's territories
        offices = offices.options(selectinload(Office.territories))
    known = {office.code: office for office in db.session.scalars(offices)}
    # The tree as it would be after the import: code → parent code.
    parents: dict[str, str | None] = {
        office.code: (office.parent.code if office.parent else None) for office in known.values()
    }
    kinds: dict[str, OfficeKind] = {office.code: office.kind for office in known.values()}
    offered = active_kinds()
    seen: dict[str, int] = {}
    accepted: list[OfficeEntry] = []
    for line, row in _rows(text, OFFICE_COLUMNS, REQUIRED[OFFICES], report):
        problems: list[str] = []
        code = row["code"].upper()
        if not code:
            problems.append(_("code du service manquant"))
        elif len(code) > 16 or not re.match(r"^[A-Z0-9_.-]+$", code):
            problems.append(
                _(
                    "code « %(code)s » invalide (16 caractères au plus : lettres, chiffres, "
                    "« - », « _ » ou « . »)",
                    code=row["code"],
                )
            )
        elif code in seen:
            problems.append(
                _(
                    "code « %(code)s » en double dans le fichier (déjà ligne %(line)d)",
                    code=code,
                    line=seen[code],
                )
            )
        name = row["name"]
        if not name:
            problems.append(_("nom du service manquant"))
        elif len(name) > 160:
            problems.append(_("nom trop long (160 caractères au plus)"))
        kind = parse_kind(row["kind"], offered) if row["kind"] else None
        if kind is None:
            problems.append(
                _(
                    "type de service inconnu « %(kind)s » (attendu : %(choices)s, ou leur libellé)",
                    kind=row["kind"],
                    choices=kind_choices(offered),
                )
            )
        parent_code = row.get("parent", "").upper() or None
        if parent_code and code and parent_code == code:
            problems.append(_("un service ne peut pas être son propre parent"))
        elif parent_code and parent_code not in kinds:
            problems.append(
                _(
                    "service parent « %(parent)s » inconnu (il doit déjà exister ou figurer plus "
                    "haut dans le fichier)",
                    parent=parent_code,
                )
            )
        elif parent_code and not kinds[parent_code].steers:
            problems.append(
                _(
                    "le service parent « %(parent)s » n'est ni une direction ni une délégation",
                    parent=parent_code,
                )
            )
        email = row.get("email") or None
        if email and not EMAIL.match(email):
            problems.append(_("adresse électronique invalide « %(email)s »", email=email))
        phone = row.get("phone") or None
        if phone and not PHONE.match(phone):
            problems.append(_("numéro de téléphone invalide « %(phone)s »", phone=phone))
        address = row.get("address") or None
        if address and len(address) > 255:
            problems.append(_("adresse trop longue (255 caractères au plus)"))
        try:
            territories = parse_territories(row.get("territories", ""))
        except ValueError as error:
            problems.append(str(error))
            territories = []
        if (
            not problems
            and parent_code
            and code in parents
            and _would_loop(parents, code, parent_code)
        ):
            problems.append(
                _(
                    "« %(parent)s » dépend déjà de « %(code)s » : un service ne peut pas "
                    "dépendre de lui-même",
                    parent=parent_code,
                    code=code,
                )
            )
        if code and code not in seen:
            seen[code] = line
        if problems:
            report.reject(line, _sentence(problems))
            continue
        assert kind is not None
        parents[code] = parent_code
        kinds[code] = kind
        existing = known.get(code)
        accepted.append(
            OfficeEntry(
                line, code, name, kind, parent_code, email, phone, address, territories, existing
            )
        )
        label = f"{code} — {name}"
        (report.updated if existing else report.created).append(label)
    if report.ok and not dry_run:
        apply_offices(accepted, known, by=by)
        report.applied = True
    return report


def _would_loop(parents: dict[str, str | None], code: str, parent_code: str) -> bool:
    current: str | None = parent_code
    visited: set[str] = set()
    while current is not None and current not in visited:
        if current == code:
            return True
        visited.add(current)
        current = parents.get(current)
    return False


# --- agents -----------------------------------------------------------------------------------


def parse_roles(text: str) -> tuple[list[str], list[str]]:
    """(role names, unknown entries) from ``"agent;chef de service"``."""
    names: list[str] = []
    unknown: list[str] = []
    for raw in re.split(r"[;|+]", text or ""):
        entry = _plain(raw).replace("_", " ")
        if not entry:
            continue
        for role, aliases in ROLE_ALIASES.items():
            if entry in {_plain(alias).replace("_", " ") for alias in aliases}:
                if role not in names:
                    names.append(role)
                break
        else:
            unknown.append(raw.strip())
    return names, unknown


def import_agents(data: bytes | str, *, dry_run: bool, by: Agent | None = None) -> ImportReport:
    report = ImportReport(kind=AGENTS, dry_run=dry_run)
    text = decode(data) if isinstance(data, bytes) else data
    offices = {office.code: office for office in db.session.scalars(select(Office))}
    known = select(Agent)
    if not dry_run:  # applying the file replaces each existing agent's roles
        known = known.options(selectinload(Agent.roles))
    agents = {agent.username.lower(): agent for agent in db.session.scalars(known)}
    emails = {agent.email.lower(): agent.username for agent in agents.values()}
    seen: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    accepted: list[AgentEntry] = []
    for line, row in _rows(text, AGENT_COLUMNS, REQUIRED[AGENTS], report):
        problems: list[str] = []
        username = row["username"]
        key = username.lower()
        if not username:
            problems.append(_("identifiant manquant"))
        elif not USERNAME.match(username):
            problems.append(
                _(
                    "identifiant « %(username)s » invalide (lettres, chiffres, « . », « _ », "
                    "« - » ou « @ », sans espace)",
                    username=username,
                )
            )
        elif key in seen:
            problems.append(
                _(
                    "identifiant « %(username)s » en double dans le fichier (déjà ligne %(line)d)",
                    username=username,
                    line=seen[key],
                )
            )
        for name, label in (("first_name", _("prénom")), ("last_name", _("nom"))):
            if not row[name]:
                problems.append(_("%(field)s manquant", field=label))
            elif len(row[name]) > 64:
                problems.append(_("%(field)s trop long (64 caractères au plus)", field=label))
        email = row["email"]
        if not EMAIL.match(email):
            problems.append(_("adresse électronique invalide « %(email)s »", email=email))
        elif email.lower() in seen_emails:
            problems.append(
                _(
                    "adresse électronique « %(email)s » en double dans le fichier "
                    "(déjà ligne %(line)d)",
                    email=email,
                    line=seen_emails[email.lower()],
                )
            )
        elif emails.get(email.lower(), key) != key:
            problems.append(
                _(
                    "adresse électronique « %(email)s » déjà utilisée par l'agent « %(other)s »",
                    email=email,
                    other=emails[email.lower()],
                )
            )
        roles, unknown = parse_roles(row["roles"])
        if unknown:
            problems.append(
                _(
                    "rôle inconnu « %(roles)s » (attendu : agent, office_manager, steering, admin)",
                    roles=", ".join(unknown),
                )
            )
        elif not roles:
            problems.append(_("aucun rôle"))
        office_code = row.get("office", "").upper()
        office = offices.get(office_code) if office_code else None
        if office_code and office is None:
            problems.append(_("service « %(code)s » inconnu", code=office_code))
        elif office is not None and not office.active:
            problems.append(_("service « %(code)s » désactivé", code=office_code))
        elif office is None and any(role in ROLES_NEEDING_OFFICE for role in roles):
            problems.append(
                _("service manquant : un agent, un chef de service ou un pilote en a un")
            )
        if username and key not in seen:
            seen[key] = line
        if email and email.lower() not in seen_emails:
            seen_emails[email.lower()] = line
        if problems:
            report.reject(line, _sentence(problems))
            continue
        existing = agents.get(key)
        accepted.append(
            AgentEntry(
                line, username, row["first_name"], row["last_name"], email, office, roles, existing
            )
        )
        label = f"{username} — {row['first_name']} {row['last_name']}"
        (report.updated if existing else report.created).append(label)
    if report.ok and not dry_run:
        apply_agents(accepted, by=by)
        report.applied = True
    return report


IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    OFFICES: import_offices,
    AGENTS: import_agents,
}
