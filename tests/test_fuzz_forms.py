"""Random and malformed data posted to every form and the API: no 500, no half-written row.

The rules come from ``app.url_map`` (every rule that accepts POST, and every ``/api/`` rule with
each of its methods), so a new form is fuzzed without touching this file. For each rule:

- its URL parameters are real objects (a case of office A for taxpayer A with a message and an
  attachment, a reply template, a topic, an office, an agent...) or random values;
- the form page is read once (the rule's own page, else the page it is posted from) to learn the
  field names, their valid values (select options, hidden fields) and the file inputs, and to
  choose the role that can use it (the first of ``DISCOVERY_ROLES`` that gets the form);
- hypothesis then posts, as that role or any other: a random subset of the fields, random extra
  field names, values that are huge, hold NUL bytes, unicode, HTML, SQL, wrong types, impossible
  dates, and files of random bytes, empty, or HTML named ``.pdf``; with a valid CSRF token, a
  forged one, or none.

After every request: the status is below 500, and the database holds together (every case has
a message, every message its case, every attachment row its file and every file its row, no
notification points to a missing message). ``FUZZ_EXAMPLES`` sets the examples per rule.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from factories import (
    World,
    make_agent,
    make_case,
    make_office,
    make_tax_matter,
    make_topic,
    office_kind,
)
from flask import Flask
from flask.testing import FlaskClient
from helpers import clear_rate_limits, session_csrf_token, sign_in_as
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.routing import BaseConverter, IntegerConverter, Rule

from app.cases.attachments import path_of
from app.correspondents import operations as report_operations
from models import (
    AgentNotice,
    Attachment,
    AuthorKind,
    Case,
    CaseLink,
    CaseLinkKind,
    Channel,
    InboundEmail,
    InboundStatus,
    KindCode,
    Mailbox,
    MailboxStatus,
    Message,
    NoticeKind,
    Notification,
    NotificationKind,
    NotificationStatus,
    OfficeKind,
    ReplyTemplate,
    RoutingRule,
    Tag,
    db,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
DATA = Path(__file__).parent / "data"
ROLES = ("anon", "tp_a", "tp_b", "agent_a", "agent_b", "manager", "steering", "admin")
DISCOVERY_ROLES = ("anon", "tp_a", "agent_a", "manager", "admin")
SKIPPED_PREFIXES = ("/static/", "/appbuilder/static/")
# Kept between tests by conftest (roles and permissions), edited here by the administrator.
SECURITY_TABLES = (
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_role",
    "ab_permission_view_role",
)


# --- the rules ----------------------------------------------------------------------------------


def fuzzed_rules(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method) to fuzz: each POST, and every method of the ``/api/`` rules."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(SKIPPED_PREFIXES):
            continue
        methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}
        if rule.rule.startswith("/api/"):
            found += [(rule, method) for method in sorted(methods)]
        elif "POST" in methods:
            found.append((rule, "POST"))
    return found


# --- what the form page tells us ----------------------------------------------------------------


@dataclass
class Form:
    """The fields seen on a page: name -> the values the page offers (options, hidden values)."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form = Form()
        self.forms = 0
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        name = attr.get("name", "")
        if tag == "form":
            self.forms += 1
        elif tag in ("input", "textarea", "select", "button") and name:
            if name == "csrf_token":
                return
            values = self.form.fields.setdefault(name, [])
            if attr.get("type") == "file":
                self.form.files.add(name)
            elif attr.get("value"):
                values.append(attr["value"])
            self._select = name if tag == "select" else None
        elif tag == "option" and self._select and attr.get("value"):
            self.form.fields[self._select].append(attr["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _read_form(client: FlaskClient, url: str) -> Form | None:
    response = client.get(url)
    if response.status_code != 200 or "html" not in (response.content_type or ""):
        return None
    parser = _FormParser()
    parser.feed(response.get_data(as_text=True))
    return parser.form if parser.forms else None


def _pages(path: str) -> list[str]:
    """The rule's own page, then its parents (a POST-only route is posted from its parent)."""
    pages, current = [path], path.rstrip("/")
    while current.count("/") > 1:
        current = current.rsplit("/", 1)[0]
        pages += [current, current + "/"]
    return pages


# --- the objects the URLs point at --------------------------------------------------------------


def _store_file(content: bytes) -> str:
    key = secrets.token_hex(16)
    path = path_of(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return key


def _objects(world: World) -> dict[str, Any]:
    """A case of office A for taxpayer A with a message and an attachment, and one object of
    every kind the admin screens edit; URL parameter name -> value."""
    sip = office_kind(KindCode.SIP)
    topic = make_topic()
    case = make_case(world.taxpayer_a, world.office_a, topic=topic, subject="Demande de A")
    message = Message(case=case, author_kind=AuthorKind.TAXPAYER, body="Bonjour", internal=False)
    db.session.add(message)
    db.session.flush()
    content = (DATA / "avis.pdf").read_bytes()
    attachment = Attachment(
        message=message,
        filename="avis.pdf",
        storage_key=_store_file(content),
        content_type="application/pdf",
        size=len(content),
        sha256="0" * 64,
    )
    template = ReplyTemplate(title="Modèle de A", body="Bonjour", office=world.office_a)
    routing = RoutingRule(topic=topic, office_kind=sip)
    failed = Notification(
        kind=NotificationKind.NEW_MESSAGE,
        recipient="a@example.fr",
        subject="s",
        body="b",
        taxpayer_id=world.taxpayer_a.id,
        status=NotificationStatus.FAILED,
    )
    db.session.add_all([attachment, template, routing, failed])
    tag = Tag(office_id=world.office_a.id, name="Étiquette fuzz")
    # Another case of taxpayer A, so that a link or a merge can find a real reference.
    other = make_case(world.taxpayer_a, world.office_a, topic=topic, subject="Autre demande")
    db.session.add(Message(case=other, author_kind=AuthorKind.TAXPAYER, body="Re", internal=False))
    db.session.add(tag)
    db.session.flush()
    notice = AgentNotice(agent_id=world.agent_a.id, kind=NoticeKind.NEW_CASE, case_id=case.id)
    db.session.add(notice)
    matter = make_tax_matter("Impôt fuzz")
    office = make_office(KindCode.SIE, parent=world.directorate)
    agent = make_agent(office, "agent")
    kind = OfficeKind(code="essai", label="Type d'essai")
    db.session.add(kind)
    mailbox = Mailbox(
        address="balf.fuzz@dgfip.test",
        office=world.office_a,
        status=MailboxStatus.OPEN,
        auto_reply_enabled=True,
        received_count=0,
        closed_count=0,
    )
    db.session.add(mailbox)
    # An e-mail's request of office A (issue 19), for the answer-by-e-mail and convert forms.
    email_case = make_case(None, world.office_a, topic=topic, channel=Channel.EMAIL)
    email_case.declared_identity = "Expéditeur <expediteur@example.fr>"
    db.session.add(
        Message(case=email_case, author_kind=AuthorKind.TAXPAYER, body="Courriel", internal=False)
    )
    db.session.flush()
    db.session.add(
        InboundEmail(
            mailbox_id=mailbox.id,
            envelope_from="expediteur@example.fr",
            recipient=mailbox.address,
            sender="expediteur@example.fr",
            subject="Courriel",
            size=0,
            status=InboundStatus.DONE,
            case_id=email_case.id,
            refused_parts=[],
            defects=[],
            auto_replied=False,
        )
    )
    # An e-mail the intake gave up on (issue 19), for « Relancer le traitement ».
    failed_email = InboundEmail(
        mailbox_id=mailbox.id,
        envelope_from="expediteur@example.fr",
        recipient=mailbox.address,
        raw=b"From: expediteur@example.fr\r\nSubject: Courriel\r\n\r\nBonjour\r\n",
        size=0,
        status=InboundStatus.FAILED,
        attempts=12,
        last_error="RuntimeError: essai",
        refused_parts=[],
        defects=[],
        auto_replied=False,
    )
    db.session.add(failed_email)
    report = report_operations.file_report(
        agent=world.agent_a, theme="tool", description="La liste des demandes est lente."
    )
    db.session.commit()
    return {
        "inbound_id": failed_email.id,
        "report_id": report.id,
        "case_id": case.id,
        "attachment_id": attachment.id,
        "taxpayer_id": world.taxpayer_a.id,
        "office_id": world.office_a.id,
        "notification_id": failed.id,
        "notice_id": notice.id,
        "tag_id": tag.id,
        "reference": case.reference,
        "email_case_id": email_case.id,
        "token": "jeton",
        "filename": "absent.csv",
        "name": "muldelete",
        "code": "repondre-reclamation",
        "pk_by_prefix": {
            "/modeles-du-service/": template.id,
            "/referentiel/modeles/": template.id,
            "/referentiel/aiguillage/": routing.id,
            "/referentiel/impots/": matter.id,
            "/referentiel/motifs/": topic.id,
            "/referentiel/boites-aux-lettres/": mailbox.id,
            "/referentiel/services/": office.id,
            "/referentiel/types-de-service/": kind.id,
            "/users/": agent.id,
            "/roles/": 1,
            "/groups/": 1,
        },
    }


def _real_values(rule: Rule, objects: dict[str, Any]) -> dict[str, Any]:
    pk = next(
        (pk for prefix, pk in objects["pk_by_prefix"].items() if rule.rule.startswith(prefix)),
        987654321,
    )
    values = {**objects, "pk": pk}
    if "/courriel/" in rule.rule:  # the e-mail forms of a request: an e-mail's request
        values["case_id"] = objects["email_case_id"]
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: teach _objects what to put in {missing}"
    return {name: values[name] for name in rule.arguments}


# --- the invariants -----------------------------------------------------------------------------


def _broken_invariants(app: Flask) -> list[str]:
    with Session(db.engine) as session:
        return _check(app, session)


def _check(app: Flask, session: Session) -> list[str]:
    problems = []
    # A duplicate merged into another case gave it its messages (issue 16): its link says so.
    merged = select(CaseLink.id).where(
        CaseLink.case_id == Case.id, CaseLink.kind == CaseLinkKind.MERGED
    )
    bare = session.scalars(
        select(Case.id).where(
            ~select(Message.id).where(Message.case_id == Case.id).exists(), ~merged.exists()
        )
    ).all()
    if bare:
        problems.append(f"cases without any message: {bare}")
    orphans = session.scalars(
        select(Message.id).outerjoin(Case, Message.case_id == Case.id).where(Case.id.is_(None))
    ).all()
    if orphans:
        problems.append(f"messages without their case: {orphans}")
    dangling = session.scalars(
        select(Notification.id)
        .outerjoin(Message, Notification.message_id == Message.id)
        .where(Notification.message_id.is_not(None), Message.id.is_(None))
    ).all()
    if dangling:
        problems.append(f"notifications pointing to a missing message: {dangling}")
    keys = session.scalars(select(Attachment.storage_key)).all()
    missing = [key for key in keys if not path_of(key).is_file()]
    if missing:
        problems.append(f"attachment rows without their file: {missing}")
    files = [p for p in Path(app.config["ATTACHMENT_DIR"]).rglob("*") if p.is_file()]
    count = session.scalar(select(func.count(Attachment.id)))
    if len(files) != count:
        problems.append(f"{len(files)} stored files for {count} attachment rows")
    return problems


# --- the strategies -----------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "abc\x00def",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    '\'; DROP TABLE "case"; --',
    "0",
    "-1",
    "-2026",
    "1.5",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "2026-13-45",
    "0000-00-00",
    "31/02/2026",
    "true",
    "None",
    "[]",
    '{"a": 1}',
    "é" * 300,
    "\u202eLTR\u200b\ufeff",
    "𝕏🙂" * 50,
    "%s%n{0}{{7*7}}",
    "../../../../etc/passwd",
]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
HUGE = st.integers(1_000, 120_000).map(lambda n: "x" * n)
VALUE = st.one_of(
    st.sampled_from(NASTY),
    TEXT,
    st.integers(-(2**70), 2**70).map(str),
    st.dates().map(lambda d: d.isoformat()),
    HUGE,
)
FILE_CONTENT = st.one_of(
    st.just(b""),
    st.binary(max_size=2_000),
    st.sampled_from(["avis.pdf", "photo.png", "page.html.pdf"]).map(
        lambda name: (DATA / name).read_bytes()
    ),
    st.just(b"<html><script>alert(1)</script></html>"),
)
FILE_NAME = st.one_of(
    st.sampled_from(["avis.pdf", "photo.png", "x.exe", "", "../../x.pdf", "a" * 300 + ".pdf"]),
    TEXT,
)
MIME = st.sampled_from(["application/pdf", "image/png", "text/html", "application/octet-stream"])
URL_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="/"), min_size=1, max_size=30
)


def _url_value(converter: BaseConverter, real: Any) -> st.SearchStrategy[Any]:
    if isinstance(converter, IntegerConverter):
        return st.one_of(st.just(real), st.integers(0, 10**6), st.integers(2**31, 2**70))
    return st.one_of(st.just(real), URL_TEXT)


@st.composite
def _request(draw: Any, rule: Rule, real: dict[str, Any], form: Form, actions: list[str]) -> Any:
    values = {}
    for name in rule.arguments:
        strategy = _url_value(rule._converters[name], real[name])
        if name == "name" and actions:
            strategy = st.one_of(st.sampled_from(actions), strategy)
        values[name] = draw(strategy)
    data: dict[str, Any] = {}
    for name, offered in form.fields.items():
        if not draw(st.booleans()):
            continue  # a missing field
        if name in form.files:
            continue
        value = st.one_of(st.sampled_from(offered), VALUE) if offered else VALUE
        data[name] = draw(st.lists(value, min_size=1, max_size=2))
    if actions and draw(st.booleans()):
        data["action"] = [draw(st.one_of(st.sampled_from(actions), TEXT))]
        data["rowid"] = draw(st.lists(st.one_of(st.just(str(real.get("pk", 1))), TEXT), max_size=2))
    for name in draw(st.lists(TEXT.filter(bool), max_size=2)):
        data[name] = [draw(VALUE)]
    file_fields = sorted(form.files) + draw(
        st.lists(st.sampled_from(["files", "fichier"]), max_size=1)
    )
    for name in file_fields:
        if draw(st.booleans()):
            files = draw(st.lists(st.tuples(FILE_CONTENT, FILE_NAME, MIME), min_size=1, max_size=3))
            data[name] = [(io.BytesIO(c), n or "sans-nom", mime) for c, n, mime in files]
    csrf = draw(st.sampled_from(["valid", "valid", "none", "forged"]))
    role = draw(st.one_of(st.just("chosen"), st.sampled_from(ROLES)))
    query = draw(st.dictionaries(TEXT.filter(bool), VALUE, max_size=2))
    return values, data, csrf, role, query


# --- the test -----------------------------------------------------------------------------------


def _sign_in(client: FlaskClient, role: str, world: World) -> FlaskClient:
    client._cookies.clear()  # type: ignore[attr-defined]
    return sign_in_as(client, role, world)


def _actions(app: Flask, rule: Rule) -> list[str]:
    view_endpoint = rule.endpoint.rpartition(".")[0]
    for view in app.appbuilder.baseviews:  # type: ignore[attr-defined]
        if getattr(view, "endpoint", None) == view_endpoint:
            return sorted(getattr(view, "actions", {}) or {})
    return []


@pytest.fixture
def _no_limits(app: Flask) -> Iterator[None]:
    clear_rate_limits(app)
    yield
    clear_rate_limits(app)


@pytest.fixture
def _security_tables_restored(app: Flask) -> Iterator[None]:
    """Roles and permissions survive from test to test (see conftest's ``KEPT_TABLES``) and the
    fuzz edits them as an administrator: put them back as they were."""
    kept = [t for t in db.metadata.sorted_tables if t.name in SECURITY_TABLES]
    pointing = [
        t
        for t in db.metadata.sorted_tables
        if t not in kept and any(fk.column.table in kept for fk in t.foreign_keys)
    ]
    with app.app_context(), db.engine.connect() as connection:
        snapshot = {
            t.name: [dict(r._mapping) for r in connection.execute(t.select())] for t in kept
        }
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in pointing + list(reversed(kept)):
                connection.execute(table.delete())
            for table in kept:
                if snapshot[table.name]:
                    connection.execute(table.insert(), snapshot[table.name])


def test_fuzz_rules_are_found(app: Flask) -> None:
    """The rule list comes from the URL map: the known forms are in it."""
    paths = {rule.rule for rule, _ in fuzzed_rules(app)}
    assert "/espace/demandes/nouvelle" in paths
    assert "/agent/demandes/<int:case_id>/repondre" in paths
    assert "/referentiel/services/add" in paths
    # Issue 16: the taxpayer's new forms (the contact form above covers its preview).
    assert "/espace/compte/mot-de-passe" in paths
    assert "/espace/demandes/<reference>/retirer" in paths
    assert "/agent/contacts/nouveau" in paths
    # Issue 22: the agents' password forms (administrator's reset, own change).
    assert {"/resetpassword/form", "/resetmypassword/form"} <= paths
    assert "/referentiel/types-de-service/add" in paths
    # Issue 19: the offices' mailboxes and the e-mail forms of a request.
    assert "/referentiel/boites-aux-lettres/add" in paths
    assert {
        "/agent/demandes/<int:case_id>/courriel/repondre",
        "/agent/demandes/<int:case_id>/courriel/convertir",
    } <= paths
    assert {"/referentiel/gels-juridiques/poser", "/referentiel/gels-juridiques/lever"} <= paths
    # Issue 19: difficulty reports.
    assert "/agent/signalements/nouveau" in paths
    assert {
        f"/agent/signalements/<int:report_id>/{action}"
        for action in ("repondre", "cloturer", "remonter")
    } <= paths
    assert any(path.startswith("/api/") for path in paths)


class _Errors(logging.Handler):
    """The tracebacks the app's error handler logs (Alembic's set-up disables that logger)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.traces: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.traces.append(logging.Formatter().format(record))


@pytest.fixture
def app_errors() -> Iterator[_Errors]:
    logger = logging.getLogger("app.platform.errors")
    handler, disabled = _Errors(), logger.disabled
    logger.disabled = False
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.disabled = disabled


@dataclass
class Target:
    """One (rule, method) to fuzz, with what its form page told us."""

    rule: Rule
    method: str
    real: dict[str, Any]
    role: str = "anon"
    form: Form = field(default_factory=Form)
    actions: list[str] = field(default_factory=list)


def _target(
    app: Flask, client: FlaskClient, world: World, rule: Rule, method: str, objects: Any
) -> Target:
    target = Target(rule, method, _real_values(rule, objects), actions=_actions(app, rule))
    _, path = rule.build(target.real, append_unknown=False)  # type: ignore[misc]
    for role in DISCOVERY_ROLES:
        _sign_in(client, role, world)
        found = next(filter(None, (_read_form(client, page) for page in _pages(path))), None)
        if found is not None:
            target.role, target.form = role, found
            break
    return target


def _fuzz(
    app: Flask,
    world: World,
    client: FlaskClient,
    target: Target,
    errors: _Errors,
    seen: Counter[int],
) -> None:
    """Post ``EXAMPLES`` random requests to ``target``; raise AssertionError on the first 5xx or
    broken invariant (after hypothesis has shrunk it)."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        request=_request(target.rule, target.real, target.form, target.actions),
        draw_json=st.booleans(),
    )
    def post_anything(request: Any, draw_json: bool) -> None:
        values, data, csrf, role, query = request
        _sign_in(client, target.role if role == "chosen" else role, world)
        if csrf != "none" and target.method != "GET":
            token = (
                session_csrf_token(app, client)
                if csrf == "valid"
                else "forged." + secrets.token_hex(8)
            )
            data["csrf_token"] = [token]
        _, url = target.rule.build(values, append_unknown=False)  # type: ignore[misc]
        errors.traces.clear()
        body: dict[str, Any] = {"data": data or None}
        if target.rule.rule.startswith("/api/") and data and draw_json:
            body = {"json": {k: v for k, v in data.items() if all(isinstance(x, str) for x in v)}}
        response = client.open(url, method=target.method, query_string=query, buffered=True, **body)
        response.close()
        seen[response.status_code // 100] += 1
        trace = "\n".join(errors.traces)
        assert response.status_code < 500, (
            f"{target.method} {url} answered {response.status_code}\n{trace}"
        )
        problems = _broken_invariants(app)
        assert not problems, f"{target.method} {url}: " + "; ".join(problems)

    post_anything()


# FAB's related views (a role's edit page lists its users) still call the legacy ``Query.get``:
# a warning in production, an exception under ``filterwarnings=error``; not what is tested here.
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.LegacyAPIWarning")
def test_fuzz_every_form_and_the_api(
    app: Flask,
    world: World,
    anonymous_client: FlaskClient,
    app_errors: _Errors,
    _no_limits: None,
    _security_tables_restored: None,
) -> None:
    objects = _objects(world)
    assert not _broken_invariants(app)
    failures = []
    seen: Counter[int] = Counter()  # status classes: 2 (ok), 3 (redirect), 4 (refused)
    for rule, method in fuzzed_rules(app):
        target = _target(app, anonymous_client, world, rule, method, objects)
        try:
            _fuzz(app, world, anonymous_client, target, app_errors, seen)
        except AssertionError as error:
            notes = "\n".join(getattr(error, "__notes__", []))
            failures.append(f"{rule.rule} [{method}] as {target.role}: {error}\n{notes}")
    assert not failures, "\n\n".join(failures)
    # The data got past the CSRF check and the forms, not only refused at the door.
    assert seen[2] and seen[3], seen


# --- integers past the key range (issue 20, finding 15) -----------------------------------------

# Past SQL INTEGER (PostgreSQL answers "out of range"), past BIGINT and a C long (SQLite and
# Python's sqlite3 raise OverflowError), and their negatives.
PAST_THE_KEYS = [
    "2147483648",
    "9223372036854775808",
    "99999999999999999999",
    "-9223372036854775809",
]
INTEGER_ROLES = ("manager", "admin", "tp_a")
_READ_ARG = re.compile(r'\b(args|form)\.get(?:list)?\(\s*"([A-Za-z_]+)"')


def _names_read(kind: str) -> list[str]:
    """Every query-string (``args``) or form (``form``) name the views read, from their source,
    so that a new one is tried without touching this file."""
    root = Path(__file__).resolve().parent.parent / "views"
    found = {
        name
        for path in root.rglob("*.py")
        for source, name in _READ_ARG.findall(path.read_text(encoding="utf-8"))
        if source == kind
    }
    return sorted(found | ({"page", "psize"} if kind == "args" else set()))


def _integer_params(rule: Rule) -> list[str]:
    return [
        name
        for name, converter in rule._converters.items()  # type: ignore[attr-defined]
        if isinstance(converter, IntegerConverter) or name == "pk" or name.endswith("_id")
    ]


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.LegacyAPIWarning")
def test_integers_past_the_key_range_answer_404_or_400_never_500(
    app: Flask,
    world: World,
    anonymous_client: FlaskClient,
    app_errors: _Errors,
    _no_limits: None,
    _security_tables_restored: None,
) -> None:
    """Every rule, its integer URL parameters and every query-string and form name the views
    read, at values past 2^31 and 2^63, as an office manager, an administrator and a taxpayer:
    404 or 400 (or the page without the value), never 500 or 503, on SQLite and PostgreSQL."""
    objects = _objects(world)
    args, form = _names_read("args"), _names_read("form")
    assert {"motif", "agent", "taxpayer"} <= set(args), args
    assert {"to_office_id", "assignee_id", "taxpayer_id"} <= set(form), form
    client = anonymous_client
    failures: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(("/static/", "/appbuilder/static/")) or rule.rule == "/logout/":
            continue
        methods = sorted((rule.methods or set()) & {"GET", "POST"})
        # GET rules' own words (a table's name, a locale...): any text.
        words = {name: "x" for name in rule.arguments if name not in objects}
        real = _real_values(rule, {**objects, **words, "locale": "fr", "table": "synthese"})
        params = _integer_params(rule)
        for index, huge in enumerate(PAST_THE_KEYS):
            role = INTEGER_ROLES[index % len(INTEGER_ROLES)]
            variants = [real] + [{**real, name: huge} for name in params]
            for values in variants:
                try:
                    _, url = rule.build(values, append_unknown=False)  # type: ignore[misc]
                except (ValueError, TypeError):
                    continue
                for method in methods:
                    _sign_in(client, role, world)
                    errors = app_errors.traces
                    errors.clear()
                    if method == "GET":
                        response = client.get(url, query_string=dict.fromkeys(args, huge))
                    else:
                        data = dict.fromkeys(form, huge)
                        data["csrf_token"] = session_csrf_token(app, client)
                        response = client.post(url, data=data)
                    response.close()
                    if response.status_code >= 500:
                        failures.append(
                            f"{method} {url} ({huge}) as {role}: {response.status_code}\n"
                            + "\n".join(errors)[-600:]
                        )
    assert not failures, "\n\n".join(failures[:20]) + f"\n({len(failures)} in all)"
