"""The office tree: delegation → directorate → offices, with the territory each is competent for."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, str_enum
from models.taxpayer import TaxpayerKind

if TYPE_CHECKING:
    from models.agent import Agent


class KindCode(enum.StrEnum):
    """The codes of the office kinds the first migration created. Kinds are rows
    (``OfficeKind``) that administrators add and change; these names only let the demo data,
    the seed and the tests find the usual ones. No code decides anything on a code: it reads
    the kind's capabilities."""

    DELEGATION = "delegation"
    DIRECTORATE = "directorate"
    SIP = "sip"
    SIE = "sie"
    CDIF = "cdif"
    CIS = "cis"
    CPS = "cps"
    CONTACT_CENTRE = "contact_centre"
    TREASURY = "treasury"
    LARGE_COMPANIES = "large_companies"


class SteeringLevel(enum.IntEnum):
    NONE = 0  # an office that handles cases
    DIRECTORATE = 1  # steers its offices (direction locale)
    DELEGATION = 2  # steers several directorates (délégation interrégionale)


class OfficeKind(db.Model):  # type: ignore[name-defined]
    """A kind of office (SIP, SIE, trésorerie…) and what offices of that kind may do."""

    __tablename__ = "office_kind"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(160))
    # Routing may send online cases to offices of this kind.
    receives_online: Mapped[bool] = mapped_column(Boolean, default=True)
    # Agents may forward a case to offices of this kind.
    receives_transfers: Mapped[bool] = mapped_column(Boolean, default=True)
    # Agents of offices of this kind record phone, counter and letter contacts.
    records_contacts: Mapped[bool] = mapped_column(Boolean, default=True)
    # Above 0, offices of this kind steer their subtree and handle no cases themselves.
    steering_level: Mapped[int] = mapped_column(Integer, default=SteeringLevel.NONE)
    # Routing's default kind for this kind of taxpayer when no rule says otherwise.
    default_for: Mapped[TaxpayerKind | None] = mapped_column(str_enum(TaxpayerKind))
    # When no office of the competent kind exists, routing falls back on offices of this kind.
    last_resort: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def steers(self) -> bool:
        return self.steering_level > SteeringLevel.NONE

    def __str__(self) -> str:
        return self.label


class Office(db.Model):  # type: ignore[name-defined]
    __tablename__ = "office"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    kind_id: Mapped[int] = mapped_column(ForeignKey("office_kind.id", ondelete="RESTRICT"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("office.id", ondelete="RESTRICT"), index=True
    )
    # Materialised path of ids ("/1/4/17/"): a subtree is one indexed prefix match.
    path: Mapped[str] = mapped_column(String(255), default="/", index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    # Joined: every page showing an office shows its kind (a small table).
    kind: Mapped[OfficeKind] = relationship(lazy="joined", innerjoin=True)
    parent: Mapped[Office | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Office]] = relationship(back_populates="parent")
    territories: Mapped[list[OfficeTerritory]] = relationship(
        back_populates="office", cascade="all, delete-orphan"
    )
    agents: Mapped[list[Agent]] = relationship(back_populates="office")

    def __str__(self) -> str:
        return self.name

    def compute_path(self) -> str:
        prefix = self.parent.path if self.parent is not None else "/"
        return f"{prefix}{self.id}/"


class OfficeTerritory(db.Model):  # type: ignore[name-defined]
    """A département, or one commune of it, that an office is competent for."""

    __tablename__ = "office_territory"
    __table_args__ = (
        UniqueConstraint("office_id", "departement", "commune_code", name="uq_office_territory"),
        Index("ix_office_territory_lookup", "departement", "commune_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    departement: Mapped[str] = mapped_column(String(3))
    # None: the whole département. Otherwise the INSEE code of one commune.
    commune_code: Mapped[str | None] = mapped_column(String(5))

    office: Mapped[Office] = relationship(back_populates="territories")

    def __str__(self) -> str:
        return self.commune_code or self.departement
