"""The demo data: what someone trying the application would check first."""

from __future__ import annotations

import re
from collections import Counter
from time import perf_counter

import pytest
from sqlalchemy import func, select

from models import (
    Agent,
    AuthorKind,
    Case,
    CaseStatus,
    Channel,
    Event,
    KindCode,
    Message,
    Office,
    OfficeKind,
    OfficeTerritory,
    ReplyTemplate,
    RoutingRule,
    TaxMatter,
    Taxpayer,
    TaxpayerKind,
    Topic,
    Transfer,
    db,
)

REFERENCE = re.compile(r"^\d{2}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    from flask_migrate import upgrade

    from app import create_app
    from app.dev.demo import load_demo_data

    tmp_path = tmp_path_factory.mktemp("demo")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db",
            "DATA_DIR": str(tmp_path),
            "ATTACHMENT_DIR": str(tmp_path / "att"),
        }
    )
    lines: list[str] = []
    with app.app_context():
        upgrade()
        app.appbuilder.sm.sync_roles()
        started = perf_counter()
        load_demo_data(progress=lines.append)
        db.session.commit()
        app.config["DEMO_LOAD_SECONDS"] = perf_counter() - started
        app.config["DEMO_PROGRESS"] = lines
        db.session.remove()
    return app


@pytest.fixture
def ctx(demo_app):
    with demo_app.app_context():
        yield demo_app
        db.session.remove()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_loads_quickly_and_reports_progress(ctx):
    assert ctx.config["DEMO_LOAD_SECONDS"] < 5
    progress = " | ".join(ctx.config["DEMO_PROGRESS"])
    for word in ("Offices", "Agents", "Taxpayers", "Cases"):
        assert word in progress


def test_counts_are_in_the_expected_ranges(ctx):
    assert 12 <= count(Office) <= 20
    assert 30 <= count(Agent) <= 50
    assert 25 <= count(Taxpayer) <= 35
    assert 70 <= count(Case) <= 90
    assert count(Message) >= 150
    assert count(Transfer) >= 3
    assert count(Topic) >= 15
    assert count(TaxMatter) >= 8
    assert count(RoutingRule) >= 4
    assert count(ReplyTemplate) >= 6
    assert count(OfficeTerritory) >= 12
    kinds = Counter(db.session.scalars(select(Taxpayer.kind)))
    assert 18 <= kinds[TaxpayerKind.INDIVIDUAL] <= 25
    assert 6 <= kinds[TaxpayerKind.BUSINESS] <= 10


def test_office_tree(ctx):
    offices = db.session.scalars(select(Office)).all()
    assert {office.kind.code for office in offices} == set(KindCode)
    for office in offices:
        assert office.path == office.compute_path()
        if office.kind.code != KindCode.DELEGATION:
            assert office.parent is not None
        if not office.kind.steers:
            assert office.territories, office.name
    delegation = db.session.scalar(
        select(Office).join(Office.kind).where(OfficeKind.code == KindCode.DELEGATION)
    )
    subtree = db.session.scalar(select(func.count()).where(Office.path.startswith(delegation.path)))
    assert subtree == len(offices)


def test_every_status_and_channel_is_present(ctx):
    cases = db.session.scalars(select(Case)).all()
    assert {case.status for case in cases} == set(CaseStatus)
    assert {case.channel for case in cases} == set(Channel)


def test_cases_are_consistent(ctx):
    cases = db.session.scalars(select(Case)).all()
    references = [case.reference for case in cases]
    assert len(set(references)) == len(references)
    assert all(REFERENCE.match(reference) for reference in references)
    events_per_case = Counter(db.session.scalars(select(Event.case_id)))
    for case in cases:
        assert events_per_case[case.id] >= 1, case.reference
        assert case.topic.parent is not None
        assert case.received_at.tzinfo is not None
        assert case.received_at <= case.last_activity_at
        assert case.due_at > case.received_at
        if case.status is CaseStatus.CLOSED:
            assert case.closed_at is not None and case.outcome
            assert case.first_answer_at is not None
        else:
            assert case.closed_at is None
        if case.status in (CaseStatus.IN_PROGRESS, CaseStatus.AWAITING_TAXPAYER):
            assert case.assignee is not None
        if case.status is CaseStatus.AWAITING_TAXPAYER:
            assert any(m.requests_information for m in case.messages)
        # Recorded by an agent: not an online request nor an e-mail to a mailbox (issue 19).
        if case.channel not in (Channel.ONLINE, Channel.EMAIL):
            assert case.created_by is not None
        if case.awaiting_acknowledgement:
            assert case.transfers and case.transfers[-1].acknowledged_at is None
        if case.transfers:
            assert case.transfers[-1].to_office_id == case.office_id
        assert not case.office.kind.steers


def test_internal_notes_are_never_from_taxpayers(ctx):
    notes = db.session.scalars(select(Message).where(Message.internal.is_(True))).all()
    assert notes
    assert all(note.author_kind is AuthorKind.AGENT and note.author_agent for note in notes)
    for message in db.session.scalars(select(Message)):
        if message.author_kind is AuthorKind.AGENT:
            assert message.author_agent is not None and message.author_office is not None


def test_every_agent_has_an_office_and_a_role(ctx):
    for agent in db.session.scalars(select(Agent)):
        assert agent.office is not None, agent.username
        assert agent.role_names, agent.username
    admin = db.session.scalar(select(Agent).where(Agent.username == "admin"))
    assert "admin" in admin.role_names
    manager = db.session.scalar(select(Agent).where(Agent.username == "chef.sip.lyon3"))
    assert manager.role_names == {"agent", "office_manager"}


def test_demo_taxpayer_has_a_rich_history(ctx):
    taxpayer = db.session.scalar(select(Taxpayer).where(Taxpayer.tax_number == "1234567890123"))
    cases = db.session.scalars(select(Case).where(Case.taxpayer_id == taxpayer.id)).all()
    assert len(cases) >= 8
    assert len({case.office_id for case in cases}) >= 3
    assert {Channel.ONLINE, Channel.PHONE, Channel.COUNTER} <= {case.channel for case in cases}
    assert any(case.unread_by_taxpayer for case in cases)
    assert any(case.status is CaseStatus.AWAITING_TAXPAYER for case in cases)


def test_demo_accounts_can_sign_in(ctx):
    from werkzeug.security import check_password_hash

    from app.dev.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
    from app.taxpayers.accounts import authenticate

    taxpayer = authenticate("1234567890123", DEMO_PASSWORD)
    assert taxpayer is not None and taxpayer.tax_number == "1234567890123"
    business = authenticate("123456789", DEMO_PASSWORD)
    assert business is not None and business.kind is TaxpayerKind.BUSINESS
    assert authenticate("1234567890123", "wrong") is None
    for identifier, description in DEMO_ACCOUNTS:
        assert description
        if identifier.isdigit():
            continue
        agent = db.session.scalar(select(Agent).where(Agent.username == identifier))
        assert agent is not None and check_password_hash(agent.password, DEMO_PASSWORD)


def test_missing_roles_give_a_clear_error(tmp_path):
    from flask_migrate import upgrade

    from app import create_app
    from app.dev.demo import load_demo_data

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db",
            "DATA_DIR": str(tmp_path),
            "ATTACHMENT_DIR": str(tmp_path / "att"),
        }
    )
    with app.app_context():
        upgrade()
        with pytest.raises(RuntimeError, match="sync-roles"):
            load_demo_data(progress=lambda line: None)
        db.session.rollback()
        db.session.remove()
