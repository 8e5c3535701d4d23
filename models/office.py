"""The office tree: delegation → directorate → offices, with the territory each is competent for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import LabelledEnum, db, str_enum

if TYPE_CHECKING:
    from models.agent import Agent


class OfficeKind(LabelledEnum):
    DELEGATION = "delegation", _l("Délégation interrégionale")
    DIRECTORATE = "directorate", _l("Direction locale")
    SIP = "sip", _l("Service des impôts des particuliers")
    SIE = "sie", _l("Service des impôts des entreprises")
    CDIF = "cdif", _l("Centre des impôts fonciers")
    CIS = "cis", _l("Centre impôts service")
    CPS = "cps", _l("Centre prélèvement service")
    CONTACT_CENTRE = "contact_centre", _l("Centre de contact")
    TREASURY = "treasury", _l("Trésorerie de proximité")
    LARGE_COMPANIES = "large_companies", _l("IFU de la DGE")

    @property
    def steers(self) -> bool:
        """Directorates and delegations steer; they receive no cases themselves."""
        return self in (OfficeKind.DELEGATION, OfficeKind.DIRECTORATE)


class Office(db.Model):  # type: ignore[name-defined]
    __tablename__ = "office"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[OfficeKind] = mapped_column(str_enum(OfficeKind))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("office.id", ondelete="RESTRICT"), index=True
    )
    # Materialised path of ids ("/1/4/17/"): a subtree is one indexed prefix match.
    path: Mapped[str] = mapped_column(String(255), default="/", index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

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
