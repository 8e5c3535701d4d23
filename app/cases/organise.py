"""Organising an office's cases: tags, links between two cases, merging a duplicate.

Operations as in ``app.operations``: they check (through ``app.access``), change rows, append
the events and flush; they never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam, or_, select, update
from sqlalchemy.orm import aliased

from app.cases.operations import NotAllowed, OperationError, _changed, _lock, _record, _require
from app.directory import access as directory_access
from app.platform.cache import VersionedCache
from models import (
    Agent,
    Case,
    CaseLink,
    CaseLinkKind,
    CaseStatus,
    CaseTag,
    EventKind,
    Message,
    Tag,
    db,
    utcnow,
)

TAG_NAME_MAX = 60


# --- tags ------------------------------------------------------------------------------------


def create_tag(*, agent: Agent, name: str) -> Tag:
    if not directory_access.is_office_manager(agent):
        raise NotAllowed(_("Seul le chef de service gère les étiquettes du service."))
    name = " ".join((name or "").split())
    if not name:
        raise OperationError(_("Renseignez le nom de l'étiquette."), field="name")
    if len(name) > TAG_NAME_MAX:
        raise OperationError(
            _("Le nom d'une étiquette ne peut dépasser %(n)s caractères.", n=TAG_NAME_MAX),
            field="name",
        )
    existing = db.session.scalar(
        select(Tag).where(Tag.office_id == agent.office_id, Tag.name == name)
    )
    if existing is not None:
        if existing.active:
            raise OperationError(_("Cette étiquette existe déjà."), field="name")
        existing.active = True
        return existing
    tag = Tag(office_id=agent.office_id, name=name, active=True, created_at=utcnow())
    db.session.add(tag)
    db.session.flush()
    return tag


def retire_tag(*, agent: Agent, tag: Tag) -> None:
    """A retired tag stays on the cases that carry it; it is no longer offered."""
    if not directory_access.is_office_manager(agent) or tag.office_id != agent.office_id:
        raise NotAllowed(_("Seul le chef de service gère les étiquettes du service."))
    tag.active = False


def tag_case(*, agent: Agent, case: Case, tag: Tag) -> bool:
    """Put a tag of the office on a case; False if it was already there."""
    _require(agent, "tag", case)
    if tag.office_id != case.office_id or not tag.active:
        raise OperationError(_("Choisissez une étiquette du service."), field="tag_id")
    if db.session.get(CaseTag, (case.id, tag.id)) is not None:
        return False
    now = utcnow()
    db.session.add(CaseTag(case_id=case.id, tag_id=tag.id, agent_id=agent.id, created_at=now))
    _record(EventKind.TAGGED, case, agent=agent, at=now, tag=tag.name)
    db.session.flush()
    return True


def untag_case(*, agent: Agent, case: Case, tag_id: int) -> None:
    _require(agent, "tag", case)
    row = db.session.get(CaseTag, (case.id, tag_id))
    if row is not None:
        tag = db.session.get(Tag, tag_id)
        db.session.delete(row)
        _record(EventKind.UNTAGGED, case, agent=agent, tag=tag.name if tag else "")
        db.session.flush()


@dataclass(frozen=True)
class TagChoice:
    id: int
    name: str


# Every office's active tags, one copy per process, reloaded when a tag changes (app.cache).
OFFICE_TAGS: VersionedCache[dict[int, tuple[TagChoice, ...]]] = VersionedCache("office-tags", Tag)


def _load_office_tags() -> dict[int, tuple[TagChoice, ...]]:
    found: dict[int, list[TagChoice]] = {}
    for tag_id, office_id, name in db.session.execute(
        select(Tag.id, Tag.office_id, Tag.name).where(Tag.active.is_(True)).order_by(Tag.name)
    ):
        found.setdefault(office_id, []).append(TagChoice(tag_id, name))
    return {office_id: tuple(tags) for office_id, tags in found.items()}


def usable_tags(agent: Agent) -> tuple[TagChoice, ...]:
    """The tags an agent may put and filter by (``access.tags_usable_by``, from the cache)."""
    if not directory_access.handles_cases(agent):
        return ()
    return OFFICE_TAGS.get(_load_office_tags).get(agent.office_id or 0, ())


def tags_of(case_ids: list[int]) -> dict[int, list[Tag]]:
    """The tags of several cases in one query."""
    found: dict[int, list[Tag]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return found
    for case_id, tag in db.session.execute(
        select(CaseTag.case_id, Tag)
        .join(Tag, Tag.id == CaseTag.tag_id)
        .where(CaseTag.case_id.in_(case_ids))
        .order_by(Tag.name)
    ):
        found[case_id].append(tag)
    return found


_TAGS_OF_ONE = (
    select(Tag.id, Tag.name)
    .join(CaseTag, CaseTag.tag_id == Tag.id)
    .where(CaseTag.case_id == bindparam("case_id", type_=Integer))
    .order_by(Tag.name)
)


def tag_choices_of(case_id: int) -> list[TagChoice]:
    """The tags of one case (retired ones too) as plain rows, with a statement built once."""
    return [
        TagChoice(tag_id, name)
        for tag_id, name in db.session.connection().execute(_TAGS_OF_ONE, {"case_id": case_id})
    ]


# --- links and merges -------------------------------------------------------------------------


def _existing_link(one: Case, other: Case) -> CaseLink | None:
    return db.session.scalar(
        select(CaseLink).where(
            or_(
                (CaseLink.case_id == one.id) & (CaseLink.other_case_id == other.id),
                (CaseLink.case_id == other.id) & (CaseLink.other_case_id == one.id),
            )
        )
    )


def _lock_both(one: Case, other: Case) -> None:
    for case in sorted((one, other), key=lambda c: c.id):  # always the same order: no deadlock
        _lock(case)


def link_cases(*, agent: Agent, case: Case, other: Case | None) -> CaseLink:
    """Two cases about the same thing, each shown on the other's page and on the summary
    sheet. Both must be cases the agent handles."""
    if other is None or other.id == case.id:
        raise OperationError(
            _("Indiquez la référence d'une autre demande de votre service."), field="reference"
        )
    _lock_both(case, other)
    _require(agent, "link", case)
    _require(agent, "link", other)
    if _existing_link(case, other) is not None:
        raise OperationError(_("Ces deux demandes sont déjà liées."), field="reference")
    now = utcnow()
    first, second = sorted((case, other), key=lambda c: c.id)
    link = CaseLink(
        case_id=first.id,
        other_case_id=second.id,
        kind=CaseLinkKind.RELATED,
        agent_id=agent.id,
        created_at=now,
    )
    db.session.add(link)
    _record(EventKind.LINKED, case, agent=agent, at=now, other=other.reference)
    _record(EventKind.LINKED, other, agent=agent, at=now, other=case.reference)
    db.session.flush()
    return link


def merge_case(*, agent: Agent, duplicate: Case, into: Case | None) -> CaseLink:
    """Merge a duplicate into another case of the same taxpayer: its messages join the other
    thread (so the taxpayer sees one), it is closed and hidden from the taxpayer, and both keep
    an event. Nothing is deleted."""
    if into is None or into.id == duplicate.id:
        raise OperationError(
            _("Indiquez la référence de la demande qui reste ouverte."), field="reference"
        )
    _lock_both(duplicate, into)
    _require(agent, "merge", duplicate)
    _require(agent, "link", into)
    if into.taxpayer_id != duplicate.taxpayer_id or into.taxpayer_id is None:
        raise OperationError(
            _("Seules deux demandes du même usager peuvent être fusionnées."), field="reference"
        )
    merged_away = db.session.scalar(
        select(CaseLink.id).where(CaseLink.case_id == into.id, CaseLink.kind == CaseLinkKind.MERGED)
    )
    if merged_away is not None:
        raise OperationError(
            _("Cette demande a elle-même été fusionnée : choisissez celle qui reste ouverte."),
            field="reference",
        )
    now = utcnow()
    moved = list(
        db.session.scalars(
            select(Message.id).where(Message.case_id == duplicate.id).order_by(Message.id)
        )
    )
    db.session.execute(
        update(Message)
        .where(Message.case_id == duplicate.id)
        .values(case_id=into.id, office_id=into.office_id)  # the search's office (decision 0016)
        .execution_options(synchronize_session=False)
    )
    link = _existing_link(duplicate, into)
    if link is not None:
        db.session.delete(link)
        db.session.flush()
    link = CaseLink(
        case_id=duplicate.id,
        other_case_id=into.id,
        kind=CaseLinkKind.MERGED,
        agent_id=agent.id,
        created_at=now,
    )
    db.session.add(link)
    outcome = _("Doublon fusionné dans la demande %(reference)s", reference=into.reference)
    duplicate.status = CaseStatus.CLOSED
    duplicate.closed_at = now
    duplicate.outcome = outcome[:255]
    duplicate.awaiting_acknowledgement = False
    duplicate.visible_to_taxpayer = False
    _record(
        EventKind.MERGED,
        duplicate,
        agent=agent,
        at=now,
        role="duplicate",
        into=into.reference,
        message_ids=moved,
    )
    _record(EventKind.CLOSED, duplicate, agent=agent, at=now, outcome=duplicate.outcome)
    _record(
        EventKind.MERGED,
        into,
        agent=agent,
        at=now,
        role="kept",
        duplicate=duplicate.reference,
        message_ids=moved,
    )
    if into.unread_by_office is False and duplicate.unread_by_office:
        into.unread_by_office = True
    _changed(duplicate, now)
    _changed(into, now)
    db.session.flush()
    db.session.expire(into, ["messages"])
    db.session.expire(duplicate, ["messages"])
    return link


@dataclass(frozen=True)
class LinkedCase:
    """The other side of a link of a case: related, or one side of a merge."""

    id: int
    reference: str
    # "related"; "merged_into" (this case is the duplicate); "merged_from" (the duplicate)
    role: str
    office_id: int


def linked_cases(case_ids: list[int]) -> dict[int, list[LinkedCase]]:
    """Every link of these cases with the other side's reference, in one query (columns)."""
    found: dict[int, list[LinkedCase]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return found
    other = aliased(Case)
    rows = db.session.execute(
        select(
            CaseLink.kind,
            CaseLink.case_id,
            CaseLink.other_case_id,
            other.id,
            other.reference,
            other.office_id,
        )
        .join(
            other,
            or_(
                (other.id == CaseLink.other_case_id) & CaseLink.case_id.in_(case_ids),
                (other.id == CaseLink.case_id) & CaseLink.other_case_id.in_(case_ids),
            ),
        )
        .order_by(CaseLink.created_at, CaseLink.id)
    )
    _fold_links(rows, found)
    return found


_OTHER = aliased(Case)
_ONE_CASE = bindparam("case_id", type_=Integer)
# ``linked_cases`` for one case (a case's page), built once: the case's id is its parameter.
_LINKS_OF_ONE = (
    select(
        CaseLink.kind,
        CaseLink.case_id,
        CaseLink.other_case_id,
        _OTHER.id,
        _OTHER.reference,
        _OTHER.office_id,
    )
    .join(
        _OTHER,
        or_(
            (_OTHER.id == CaseLink.other_case_id) & (CaseLink.case_id == _ONE_CASE),
            (_OTHER.id == CaseLink.case_id) & (CaseLink.other_case_id == _ONE_CASE),
        ),
    )
    .order_by(CaseLink.created_at, CaseLink.id)
)


def links_of(case_id: int) -> list[LinkedCase]:
    """``linked_cases([case_id])[case_id]`` with a statement built once."""
    found: dict[int, list[LinkedCase]] = {case_id: []}
    _fold_links(db.session.connection().execute(_LINKS_OF_ONE, {"case_id": case_id}), found)
    return found[case_id]


def _fold_links(rows: Iterable[Any], found: dict[int, list[LinkedCase]]) -> None:
    """Each link row (kind, its two cases, the other side's id, reference and office) on the
    case of ``found`` it belongs to, with its role seen from that case."""
    for kind, source_id, target_id, linked_id, reference, office_id in rows:
        this_id = target_id if linked_id == source_id else source_id
        if this_id not in found:
            continue
        if kind is CaseLinkKind.MERGED:
            role = "merged_into" if source_id == this_id else "merged_from"
        else:
            role = "related"
        found[this_id].append(LinkedCase(linked_id, reference, role, office_id))
