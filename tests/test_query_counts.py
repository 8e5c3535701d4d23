"""The agents' hot pages run a fixed, small number of queries whatever the number of rows, and
the per-process caches that make it so (app.platform.cache: permissions, directory labels, transfer
offices) never show what the database no longer says."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from factories import World, make_case, make_contact, make_office, make_topic
from flask import Flask
from flask.testing import FlaskClient
from helpers import count_queries
from sqlalchemy import event, func, select
from test_agent_support import (
    case_with_thread,
    clean_presence,  # noqa: F401
    events_of,
    taxpayer_message,
)

from app.cases import operations, organise, search
from app.directory.access import ROLE_AGENT
from app.platform.queue import get_redis
from app.steering import rollups
from models import (
    Case,
    CaseStatus,
    Channel,
    EventKind,
    KindCode,
    Notification,
    NotificationKind,
    db,
    utcnow,
)

# Queries of the first request after a restart or an edit fill the caches; the counts below
# are those of the next one, as every request but a few of a running server sees them.
# agent (with roles and office), the page (its cases with their taxpayers, assignees and tags:
# one statement), tab counts, colleagues, the header's notices counter (the office's tags and
# closing outcomes come from app.cache)
# 5 statements; one more on the PostgreSQL leg in some random orders (a per-process cache,
# permissions or tags, reloaded in both requests after an earlier test: not yet understood,
# see the session 7 closing note). What the test is for, equal counts with few and many rows,
# is asserted exactly.
INBOX_MAX = 6
# agent, case (+ taxpayer, assignee), log, notices read, messages (+ authors, files), events
# (+ agents), transfers (+ agents), tags, links, the competent office's territory (the transfer
# form's preselection; the routing rules and default office kinds are a per-process copy),
# notices counter: 11 queries (reply templates and office names are per-process copies); an
# office manager's page adds the agents they may assign to
CASE_MAX = 11
# agent, the five capped counts (one query), the notices counter; managers: the load per agent
# (grouped) and the colleagues
HOME_MAX = 3
HOME_MANAGER_MAX = 5
# agent, taxpayer, timeline, links, transfers, figures, open cases, offices, the notices
# counter, the access log (the last contact is the timeline's first line on its first page
# unfiltered, else one query more)
SUMMARY_MAX = 10
SEARCH_MAX = 6  # agent, matches, taxpayers, assignees
DATA = Path(__file__).parent / "data"
PDF = (DATA / "avis.pdf").read_bytes()
# a word absent from the newest cases: the walk, then at most 5 windows of the index over the
# default period of 3 years (2, 8, 32, 128 weeks, the rest; decision 0022)
SEARCH_RARE_MAX = SEARCH_MAX + 5


def _queries(app: Flask, client: FlaskClient, url: str) -> list[str]:
    assert client.get(url).status_code == 200  # fills the caches
    with count_queries(app) as statements:
        assert client.get(url).status_code == 200
    return statements


def _permission_queries(statements: list[str]) -> list[str]:
    return [s for s in statements if "ab_permission" in s or "ab_view_menu" in s]


def test_inbox_queries_do_not_grow_with_rows(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    def add(count: int) -> None:
        for n in range(count):
            case = make_case(world.taxpayer_a if n % 2 else world.taxpayer_b, world.office_a)
            case.assignee = world.agent_a if n % 3 else world.manager_a
        db.session.commit()

    add(5)
    few = _queries(app, agent_a_client, "/agent/demandes/?onglet=ouvertes")
    add(45)
    many = _queries(app, agent_a_client, "/agent/demandes/?onglet=ouvertes")
    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= INBOX_MAX, "\n".join(many)
    assert not _permission_queries(many)
    # What the rows show still comes through: topic, channel, assignee.
    page = agent_a_client.get("/agent/demandes/?onglet=ouvertes").get_data(as_text=True)
    assert "Question générale" in page and "Internet" in page
    assert world.manager_a.full_name in page


def test_case_page_queries_do_not_grow_with_the_thread(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    small = case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 3)
    big = case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 30)
    few = _queries(app, agent_a_client, f"/agent/demandes/{small.id}")
    many = _queries(app, agent_a_client, f"/agent/demandes/{big.id}")
    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= CASE_MAX, "\n".join(many)
    assert not _permission_queries(many)
    assert not [s for s in many if "FROM office" in s and "kind NOT IN" in s], "list cached"
    page = agent_a_client.get(f"/agent/demandes/{big.id}").get_data(as_text=True)
    assert "Note numéro 29" in page
    # The forward select: every other receiving office, not the case's own.
    assert f'<option value="{world.office_b.id}">{world.office_b.name}</option>' in page
    assert f'<option value="{world.office_a.id}">{world.office_a.name}<' not in page


def test_inbox_queries_do_not_grow_with_tags_assignees_or_filters(
    app: Flask, world: World, agent_a_client: FlaskClient, manager_client: FlaskClient
) -> None:
    """Rows with tags (several each), assignees and unidentified people: the same statements,
    on every tab, filtered or not, for the agent and the office manager."""
    urgent = organise.create_tag(agent=world.manager_a, name="Urgent")
    mail = organise.create_tag(agent=world.manager_a, name="Courrier")
    db.session.commit()

    def add(count: int) -> None:
        for n in range(count):
            case = make_case(world.taxpayer_a if n % 2 else world.taxpayer_b, world.office_a)
            case.assignee = (world.agent_a, world.manager_a, None)[n % 3]
            db.session.flush()
            for tag in (urgent, mail)[: n % 3]:
                organise.tag_case(agent=world.manager_a, case=case, tag=tag)
        db.session.commit()

    urls = [
        "/agent/demandes/?onglet=ouvertes",
        "/agent/demandes/?onglet=nouvelles&tri=recentes",
        f"/agent/demandes/?onglet=ouvertes&tri=echeance&etiquette={urgent.id}",
        f"/agent/demandes/?onglet=miennes&agent={world.agent_a.id}&age=0-7",
    ]
    add(3)
    few = {url: _queries(app, agent_a_client, url) for url in urls}
    few_manager = _queries(app, manager_client, urls[0])
    add(60)
    for url in urls:
        many = _queries(app, agent_a_client, url)
        assert len(many) == len(few[url]) <= INBOX_MAX, "\n".join(many)
    many_manager = _queries(app, manager_client, urls[0])
    assert len(many_manager) == len(few_manager) <= INBOX_MAX, "\n".join(many_manager)
    page = agent_a_client.get(urls[0]).get_data(as_text=True)
    # A row's tags, in name order.
    assert 'ec-tag">Courrier</span> <span class="fr-tag fr-tag--sm ec-tag">Urgent</span>' in page
    assert page.count("<tr") == 51  # the header and 50 rows (the page's size), 63 cases
    assert "apres=" in page


def test_case_page_queries_do_not_grow_with_files_events_transfers_tags_or_links(
    app: Flask, world: World, agent_a_client: FlaskClient, manager_client: FlaskClient
) -> None:
    """A case of one message against one of many messages with files, events, transfers back
    and forth, tags and links: the same statements, for the agent and the office manager."""
    tags = [organise.create_tag(agent=world.manager_a, name=name) for name in ("Urgent", "Relance")]
    db.session.commit()
    small = case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 1)
    big = case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 12)
    for n in range(4):
        taxpayer_message(big, world.taxpayer_a, f"Pièce numéro {n}", pdf=True)
    for _ in range(2):
        operations.transfer_case(
            agent=world.manager_a, case=big, to_office=world.office_b, reason="Aller vers B."
        )
        db.session.flush()
        operations.transfer_case(
            agent=world.agent_b, case=big, to_office=world.office_a, reason="Retour vers A."
        )
        db.session.flush()
    for tag in tags:
        organise.tag_case(agent=world.manager_a, case=big, tag=tag)
    for _ in range(3):
        other = make_case(world.taxpayer_a, world.office_a)
        db.session.flush()
        organise.link_cases(agent=world.manager_a, case=big, other=other)
    operations.assign_case(agent=world.manager_a, case=big, assignee=world.agent_a)
    db.session.commit()
    for client in (agent_a_client, manager_client):
        few = _queries(app, client, f"/agent/demandes/{small.id}")
        many = _queries(app, client, f"/agent/demandes/{big.id}")
        assert len(few) == len(many), "\n".join(many)
        assert len(many) <= CASE_MAX + (client is manager_client), "\n".join(many)
    page = agent_a_client.get(f"/agent/demandes/{big.id}").get_data(as_text=True)
    assert page.count(" download>avis.pdf</a>") == 4
    assert page.count("Retour vers A.") >= 2 and "Urgent" in page and "Relance" in page
    assert page.count('<a href="/agent/demandes/') >= 3  # the linked cases
    with _offsets_read(app) as found:
        assert agent_a_client.get(f"/agent/demandes/{big.id}").status_code == 200
    assert not found, "\n".join(found)


def test_summary_sheet_queries_do_not_grow_with_contacts(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    """Cases, contacts of every channel, transfers and links: the sheet's statements stay the
    same, on the first page, the next one and a filtered one."""
    url = f"/agent/usagers/{world.taxpayer_a.id}/synthese?reason=Accueil"

    def add(count: int) -> None:
        for n in range(count):
            if n % 3 == 2:
                make_contact(world.agent_a, world.taxpayer_a, channel=Channel.PHONE)
                continue
            case = make_case(world.taxpayer_a, world.office_b if n % 2 else world.office_a)
            if n % 5 == 0:
                operations.transfer_case(
                    agent=world.agent_a if case.office_id == world.office_a.id else world.agent_b,
                    case=case,
                    to_office=world.office_c,
                    reason="Compétence d'un autre service",
                )
        db.session.commit()
        cases = db.session.scalars(
            select(Case)
            .where(Case.taxpayer_id == world.taxpayer_a.id, Case.office_id == world.office_a.id)
            .order_by(Case.id.desc())
            .limit(2)
        ).all()
        organise.link_cases(agent=world.agent_a, case=cases[0], other=cases[1])
        db.session.commit()

    add(6)
    few = _queries(app, agent_a_client, url)
    few_filtered = _queries(app, agent_a_client, url + "&channel=phone")
    add(80)
    many = _queries(app, agent_a_client, url)
    many_filtered = _queries(app, agent_a_client, url + "&channel=phone")
    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= SUMMARY_MAX, "\n".join(many)
    # Filtered, the last contact is not the first line: one query more, whatever the rows.
    assert len(few_filtered) == len(many_filtered) == len(many) + 1, "\n".join(many_filtered)
    page = agent_a_client.get(url).get_data(as_text=True)
    assert world.office_b.name in page and "Question générale" in page
    assert "Liée à" in page and 'data-event="transferred"' in page
    older = re.search(r'<li class="next"><a href="([^"]+)"', page)
    assert older, "more than a page of contacts"
    next_page = _queries(app, agent_a_client, html.unescape(older.group(1)))
    assert len(next_page) == len(many) + 1, "\n".join(next_page)


# --- writes: the statements of a submission and of an answer, pinned (issue 17) ---------------

# The taxpayer, the topics offered (the form's check), the submission token (a form posted
# twice gives one case), the competent office in the territory (rules and default kinds are
# a per-process copy), the case, its steering journal row, the message, the event, the office's
# notices (INSERT ... SELECT); the files' rows (one INSERT each, one for all on PostgreSQL).
SUBMIT_STATEMENTS = 9
# The agent (with roles and office), the case locked and read once, the submission token, the
# messages by others since the page was loaded, the reply templates and the taxpayer (the
# guide's check), the event, the case, the message, the outbox row; the first answer of a new
# case also journals the steering change.
REPLY_STATEMENTS = 10


def test_a_submission_runs_a_fixed_number_of_statements(
    app: Flask, world: World, taxpayer_client: FlaskClient
) -> None:
    topic = make_topic("Question sur mon avis")
    db.session.commit()

    def submit(*files: tuple[io.BytesIO, str]) -> list[str]:
        page = taxpayer_client.get("/espace/demandes/nouvelle").get_data(as_text=True)
        fields = dict(re.findall(r'name="(csrf_token|submission_token)"[^>]*value="([^"]+)"', page))
        data: dict[str, object] = {
            **fields,
            "topic": str(topic.id),
            "subject": "Mon avis 2025",
            "body": "Bonjour, je conteste le montant.",
        }
        if files:
            data["files"] = list(files)
        with count_queries(app) as statements:
            response = taxpayer_client.post(
                "/espace/demandes/nouvelle", data=data, content_type="multipart/form-data"
            )
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
        assert "/envoyee" in response.location
        return statements

    submit()  # the first one fills the per-process copies
    plain = submit()
    assert len(plain) == SUBMIT_STATEMENTS, "\n".join(plain)
    with_files = submit((io.BytesIO(PDF), "avis.pdf"), (io.BytesIO(PDF), "avis-2.pdf"))
    # The files' rows: one INSERT each (SQLite), or one for both (PostgreSQL's batch).
    files = [s for s in with_files if s.startswith("INSERT INTO attachment")]
    assert 1 <= len(files) <= 2, "\n".join(with_files)
    assert len(with_files) - len(files) == SUBMIT_STATEMENTS, "\n".join(with_files)
    # Nothing lost: three cases, each with its message, event and files.
    cases = db.session.scalars(select(Case).where(Case.taxpayer_id == world.taxpayer_a.id)).all()
    assert len(cases) == 3
    assert all(len(case.messages) == 1 for case in cases)
    assert sum(len(case.messages[0].attachments) for case in cases) == 2


def test_an_agents_reply_runs_a_fixed_number_of_statements(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    def reply(case_id: int) -> list[str]:
        page = agent_a_client.get(f"/agent/demandes/{case_id}").get_data(as_text=True)
        form = page[page.index(f'action="/agent/demandes/{case_id}/repondre"') :]
        fields = dict(
            re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', form[: form.index("</form>")])
        )
        data = {
            "csrf_token": fields["csrf_token"],
            "submission_token": fields["submission_token"],
            "last_message_id": fields.get("last_message_id", ""),
            "kind": "reponse",
            "body": "Bonjour, nous avons bien examiné votre demande. Cordialement.",
        }
        with count_queries(app) as statements:
            response = agent_a_client.post(f"/agent/demandes/{case_id}/repondre", data=data)
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
        return statements

    answered = case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 3)
    answered.assignee = world.agent_a
    answered.status = CaseStatus.IN_PROGRESS
    answered.first_answer_at = utcnow()
    new = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    reply(case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 1).id)  # caches
    again = reply(answered.id)
    assert len(again) == REPLY_STATEMENTS, "\n".join(again)
    first = reply(new.id)
    assert len(first) == REPLY_STATEMENTS + 1, "\n".join(first)
    # Nothing lost: each answer is a message with its event and its outbox row.
    for case in (answered, new):
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.case_id == case.id,
                    Notification.kind == NotificationKind.NEW_MESSAGE,
                )
            )
            == 1
        )
        assert EventKind.ANSWERED.value in events_of(case.id)


def test_full_text_search_queries_do_not_grow_with_matches(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    url = "/agent/recherche/?q=remboursement"

    def add(count: int) -> None:
        for _ in range(count):
            make_case(world.taxpayer_a, world.office_a, subject="Demande de remboursement")
        db.session.commit()

    add(3)
    few = _queries(app, agent_a_client, url)
    add(40)
    many = _queries(app, agent_a_client, url)
    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= SEARCH_MAX, "\n".join(many)
    assert agent_a_client.get(url).get_data(as_text=True).count("Demande de remboursement") == 43


def test_search_of_a_rare_word_queries_do_not_grow_with_rows(
    app: Flask, world: World, agent_a_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word absent from the newest cases: on PostgreSQL the walk, then the office's index
    window by window (decision 0022); as many statements with 5 cases as with 60, and with
    the match in the first window or the last."""
    monkeypatch.setattr(search, "WALK_CASES", 2)
    url = "/agent/recherche/?q=grange"

    def add(count: int) -> None:
        for number in range(count):
            make_case(world.taxpayer_a, world.office_a, subject="Question", age_days=number % 30)
        db.session.commit()

    make_case(world.taxpayer_a, world.office_a, subject="La grange", age_days=900)
    add(5)
    few = _queries(app, agent_a_client, url)
    add(60)
    many = _queries(app, agent_a_client, url)
    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= SEARCH_RARE_MAX, "\n".join(many)
    assert agent_a_client.get(url).get_data(as_text=True).count("La grange") == 1


def test_my_day_queries_do_not_grow_with_rows(
    app: Flask, world: World, agent_a_client: FlaskClient, manager_client: FlaskClient
) -> None:
    def add(count: int) -> None:
        for n in range(count):
            case = make_case(world.taxpayer_a, world.office_a)
            case.assignee = world.agent_a if n % 2 else None
            case.unread_by_office = bool(n % 3)
        db.session.commit()

    add(4)
    few = _queries(app, agent_a_client, "/agent/")
    few_manager = _queries(app, manager_client, "/agent/")
    add(40)
    many = _queries(app, agent_a_client, "/agent/")
    many_manager = _queries(app, manager_client, "/agent/")
    assert len(few) == len(many) <= HOME_MAX, "\n".join(many)
    assert len(few_manager) == len(many_manager) <= HOME_MANAGER_MAX, "\n".join(many_manager)
    assert not _permission_queries(many + many_manager)
    page = manager_client.get("/agent/").get_data(as_text=True)
    assert "Charge par agent" in page and world.agent_a.full_name in page


# --- the caches follow the database -------------------------------------------------------------


@pytest.fixture
def restore_roles(app: Flask) -> Iterator[None]:
    yield
    with app.app_context():
        app.appbuilder.sm.sync_roles()  # type: ignore[attr-defined]


def _agent_role_pv(app: Flask, permission: str, view: str) -> tuple[object, object]:
    sm = app.appbuilder.sm  # type: ignore[attr-defined]
    role = sm.find_role(ROLE_AGENT)
    pv = sm.find_permission_view_menu(permission, view)
    assert pv in role.permissions
    return role, pv


def test_a_permission_removed_in_the_admin_is_refused_at_once(
    app: Flask, world: World, agent_a_client: FlaskClient, restore_roles: None
) -> None:
    assert agent_a_client.get("/agent/recherche/").status_code == 200  # cached as allowed
    assert 'href="/agent/recherche/"' in agent_a_client.get("/agent/demandes/").get_data(
        as_text=True
    )
    role, pv = _agent_role_pv(app, "can_access", "AgentSearch")
    role.permissions.remove(pv)  # type: ignore[attr-defined]
    _, menu = _agent_role_pv(app, "menu_access", "Rechercher")
    role.permissions.remove(menu)  # type: ignore[attr-defined]
    db.session.commit()
    assert agent_a_client.get("/agent/recherche/").status_code != 200
    inbox = agent_a_client.get("/agent/demandes/").get_data(as_text=True)
    assert 'href="/agent/recherche/"' not in inbox


def test_another_process_change_is_seen_through_the_redis_token(
    app: Flask, world: World, agent_a_client: FlaskClient, restore_roles: None
) -> None:
    assert agent_a_client.get("/agent/recherche/").status_code == 200
    role, pv = _agent_role_pv(app, "can_access", "AgentSearch")
    # Written without this process's ORM session: as another server would, then its token.
    with db.engine.begin() as connection:
        connection.execute(
            db.text(
                "DELETE FROM ab_permission_view_role WHERE role_id = :role AND "
                "permission_view_id = :pv"
            ),
            {"role": role.id, "pv": pv.id},  # type: ignore[attr-defined]
        )
    assert agent_a_client.get("/agent/recherche/").status_code == 200  # token unchanged
    get_redis().set("econtacts:cache:permissions", "changed-by-another-server")
    assert agent_a_client.get("/agent/recherche/").status_code != 200


def test_a_new_office_appears_in_the_transfer_list(
    world: World, agent_a_client: FlaskClient
) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    assert "SIP Villeurbanne" not in agent_a_client.get(f"/agent/demandes/{case.id}").get_data(
        as_text=True
    )
    make_office(KindCode.SIP, parent=world.directorate, name="SIP Villeurbanne")
    db.session.commit()
    page = agent_a_client.get(f"/agent/demandes/{case.id}").get_data(as_text=True)
    assert "SIP Villeurbanne" in page


# --- every measured page: flat with rows, and no OFFSET (issue 17) ----------------------------

# agent (with roles and office), the node with its ancestors and children, the backlog, the
# rollups' counts, durations and series, the transfers (app/steering/figures.py): 7, whatever
# the period and the rows; the ceiling keeps one spare
STEERING_MAX = 8


@contextmanager
def _offsets_read(app: Flask) -> Iterator[list[str]]:
    """Statements of the block that skip rows: a non-zero OFFSET (SQLite writes
    ``LIMIT ? OFFSET ?`` for every LIMIT: there, the value of the statement's last one)."""
    found: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if conn.dialect.name == "postgresql":  # written only when an offset is given
            if re.search(r"\bOFFSET\b", statement):
                found.append(statement)
        elif statement.rstrip().endswith("OFFSET ?") and parameters and parameters[-1]:
            found.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_taxpayer_inbox_queries_do_not_grow_with_rows(
    app: Flask, world: World, taxpayer_client: FlaskClient
) -> None:
    def add(count: int) -> None:
        for n in range(count):
            make_case(world.taxpayer_a, world.office_b if n % 2 else world.office_a)
        db.session.commit()

    add(2)
    few = _queries(app, taxpayer_client, "/espace/")
    add(30)
    many = _queries(app, taxpayer_client, "/espace/")
    assert len(few) == len(many), "\n".join(many)


# the taxpayer, the page's rows (topic and office names are the directory's cached labels)
TAXPAYER_LIST_MAX = 2


def test_taxpayer_lists_read_their_rows_in_one_query(
    app: Flask, world: World, taxpayer_client: FlaskClient
) -> None:
    """The inbox and the history: one query of columns for the rows, whatever their topics,
    offices, channels and statuses (no topic, office or case row loaded per line)."""
    parent = make_topic("Impôt sur le revenu")
    topics = [make_topic("Prélèvement à la source", parent=parent), make_topic("Autre")]
    statuses = list(CaseStatus)
    for n in range(24):
        make_case(
            world.taxpayer_a,
            (world.office_a, world.office_b, world.office_c)[n % 3],
            topic=topics[n % 2],
            status=statuses[n % len(statuses)],
            channel=Channel.PHONE if n % 5 == 0 else Channel.ONLINE,
        )
    db.session.commit()
    for url in ("/espace/", "/espace/historique", "/espace/?page=2"):
        statements = _queries(app, taxpayer_client, url)
        assert len(statements) <= TAXPAYER_LIST_MAX, "\n".join(statements)
        assert not [s for s in statements if re.search(r"\bFROM (topic|office)\b", s)]
    page = taxpayer_client.get("/espace/").get_data(as_text=True)
    assert "Impôt sur le revenu — Prélèvement à la source" in page
    assert world.office_b.name in page
    assert page.count('href="/espace/demandes/26-TEST-') == 20  # one page of rows


def test_taxpayer_thread_queries_do_not_grow_with_the_thread(
    app: Flask, world: World, taxpayer_client: FlaskClient
) -> None:
    small = case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 3)
    big = case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 30)
    few = _queries(app, taxpayer_client, f"/espace/demandes/{small.reference}")
    many = _queries(app, taxpayer_client, f"/espace/demandes/{big.reference}")
    assert len(few) == len(many), "\n".join(many)


def test_steering_dashboard_queries_do_not_grow_with_rows_or_transfers(
    app: Flask, world: World, admin_client: FlaskClient
) -> None:
    url = f"/pilotage/{world.delegation.id}?periode=annee"

    def add(count: int) -> None:
        for n in range(count):
            case = make_case(world.taxpayer_a, world.office_a, age_days=n % 40)
            operations.transfer_case(
                agent=world.agent_a,
                case=case,
                to_office=world.office_c if n % 2 else world.office_b,
                reason="Compétence d'un autre service",
            )
        db.session.commit()

    add(2)
    few = _queries(app, admin_client, url)
    add(30)
    many = _queries(app, admin_client, url)
    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= STEERING_MAX, "\n".join(many)
    assert not [s for s in many if re.search(r"\bFROM transfer\b", s)], "transfers rolled up"


def test_steering_dashboard_queries_do_not_grow_with_the_period(
    app: Flask, world: World, admin_client: FlaskClient
) -> None:
    """A week or three years: the same statements, read from the rollups (years, months and the
    days at the edges); the requests themselves are read only for the backlog (open now)."""
    for age in (0, 3, 20, 45, 200, 400, 800, 1000):
        case = make_case(world.taxpayer_a, world.office_a if age % 2 else world.office_c)
        case.received_at -= timedelta(days=age)
    db.session.commit()
    today = utcnow().date()
    base = f"/pilotage/{world.delegation.id}"

    def period(days: int) -> str:
        return f"{base}?du={today - timedelta(days=days - 1)}&au={today}"

    counts = {}
    for days in (7, 31, 366, 3 * 365):
        statements = _queries(app, admin_client, period(days))
        counts[days] = len(statements)
        assert len(statements) <= STEERING_MAX, "\n".join(statements)
        on_cases = [s for s in statements if re.search(r'\bFROM "?case"?\b', s)]
        assert len(on_cases) == 1, "only the backlog reads the requests:\n" + "\n".join(on_cases)
    assert len(set(counts.values())) == 1, counts
    rollups.fold()
    db.session.commit()
    assert len(_queries(app, admin_client, period(3 * 365))) == counts[7]


def test_no_measured_page_reads_with_offset(
    app: Flask, world: World, request: pytest.FixtureRequest
) -> None:
    """Deep pages must not read and skip rows: every list pages by key (the inbox's cursor)."""
    for _ in range(60):
        make_case(world.taxpayer_a, world.office_a, subject="Question sur mon avis")
    db.session.commit()
    pages = [
        ("agent_a_client", "/agent/demandes/"),
        ("agent_a_client", "/agent/recherche/?q=avis"),
        ("agent_a_client", f"/agent/usagers/{world.taxpayer_a.id}/synthese?reason=Accueil"),
        ("admin_client", f"/pilotage/{world.delegation.id}"),
    ]
    agent = request.getfixturevalue("agent_a_client")
    inbox = agent.get("/agent/demandes/").get_data(as_text=True)
    cursor = re.search(r'href="(/agent/demandes/\?[^"]*apres=[^"]+)"', inbox)
    assert cursor, "the inbox has a next page by cursor"
    pages.append(("agent_a_client", cursor.group(1).replace("&amp;", "&")))
    failures = []
    for client_name, url in pages:
        with _offsets_read(app) as found:
            assert request.getfixturevalue(client_name).get(url).status_code == 200
        failures += [f"{url}: {statement}" for statement in found]
    assert not failures, "\n".join(failures)


@pytest.mark.xfail(
    strict=True,
    reason="the taxpayer's inbox and history page with ?page=N (OFFSET); keyset pagination is "
    "left to the helpers re-templating the taxpayer pages",
)
def test_taxpayer_pages_read_without_offset(
    app: Flask, world: World, taxpayer_client: FlaskClient
) -> None:
    for _ in range(30):
        make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    with _offsets_read(app) as found:
        assert taxpayer_client.get("/espace/?page=2").status_code == 200
    assert not found, "\n".join(found)
