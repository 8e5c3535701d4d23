"""Office kinds are directory data (``OfficeKind`` rows): what offices of each kind may do is read
from the kind's capabilities, never from its code. These are the questions the other domains and
the views ask of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select

from models import Office, OfficeKind, TaxpayerKind, db


def kind_by_code(code: str) -> OfficeKind | None:
    return db.session.scalar(select(OfficeKind).where(OfficeKind.code == code.strip().lower()))


def offices_where(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """Offices whose kind meets ``conditions`` (an ``Office.kind_id IN (...)`` clause)."""
    return Office.kind_id.in_(select(OfficeKind.id).where(*conditions))


def receiving_transfers() -> ColumnElement[bool]:
    return offices_where(OfficeKind.receives_transfers.is_(True))


def receiving_online() -> ColumnElement[bool]:
    return offices_where(OfficeKind.receives_online.is_(True))


def steering_office_ids() -> list[int]:
    """Offices that may be a parent in the tree (their kind steers)."""
    return list(
        db.session.scalars(select(Office.id).where(offices_where(OfficeKind.steering_level > 0)))
    )


def online_office_ids() -> list[int]:
    """Offices a routing rule may point to (their kind receives online cases)."""
    return list(db.session.scalars(select(Office.id).where(receiving_online())))


def default_kind_for(taxpayer_kind: TaxpayerKind) -> OfficeKind | None:
    """Routing's default kind for this kind of taxpayer (SIP, SIE in the first directory)."""
    return db.session.scalar(
        select(OfficeKind)
        .where(
            OfficeKind.default_for == taxpayer_kind,
            OfficeKind.receives_online.is_(True),
        )
        .order_by(OfficeKind.id)
        .limit(1)
    )


def records_contacts(agent: Any) -> bool:
    office = getattr(agent, "office", None)
    return office is not None and bool(office.kind.records_contacts)
