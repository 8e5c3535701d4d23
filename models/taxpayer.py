"""Taxpayers: individuals (13-digit tax number) and businesses (SIREN), with their own login."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow


class TaxpayerKind(LabelledEnum):
    INDIVIDUAL = "individual", _l("Particulier")
    BUSINESS = "business", _l("Professionnel")


def identifier_of(kind: TaxpayerKind, tax_number: str | None, siren: str | None) -> str:
    """The tax number of an individual, the SIREN of a business (lists read the columns only)."""
    return (tax_number if kind is TaxpayerKind.INDIVIDUAL else siren) or ""


def display_name_of(
    kind: TaxpayerKind, first_name: str | None, last_name: str, company_name: str | None
) -> str:
    if kind is TaxpayerKind.BUSINESS:
        return company_name or last_name
    return f"{first_name or ''} {last_name}".strip()


class Taxpayer(db.Model):  # type: ignore[name-defined]
    __tablename__ = "taxpayer"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'individual' AND tax_number IS NOT NULL)"
            " OR (kind = 'business' AND siren IS NOT NULL)",
            name="identifier_matches_kind",
        ),
        Index("ix_taxpayer_name_commune", "last_name", "commune_code"),
        # Mailbox intake matches a sender to a taxpayer by address (app.mailbox.intake).
        Index("ix_taxpayer_email_lower", func.lower(text("email"))),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[TaxpayerKind] = mapped_column(str_enum(TaxpayerKind))
    tax_number: Mapped[str | None] = mapped_column(String(13), unique=True)
    siren: Mapped[str | None] = mapped_column(String(9), unique=True)
    # Individuals: first and last name. Businesses: company_name, copied into last_name
    # so that one index serves the search by name.
    first_name: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(160))
    company_name: Mapped[str | None] = mapped_column(String(160))
    email: Mapped[str | None] = mapped_column(String(320))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_hash: Mapped[str | None] = mapped_column(String(256))
    address_line: Mapped[str | None] = mapped_column(String(255))
    postcode: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str | None] = mapped_column(String(120))
    # INSEE code of the commune of the address: it drives routing to the competent office.
    commune_code: Mapped[str | None] = mapped_column(String(5))
    phone: Mapped[str | None] = mapped_column(String(32))
    notify_by_email: Mapped[bool] = mapped_column(Boolean, default=True)
    # Activation of the online space (docs/decisions/0014): the online access number printed on
    # the last tax notice (individuals) or on the activation letter sent to the registered office
    # (businesses), kept as a SHA-256 of "identifier:number"; and, for individuals, the reference
    # tax income (revenu fiscal de référence) of that notice, in euros.
    access_number_digest: Mapped[str | None] = mapped_column(String(64))
    reference_income: Mapped[int | None] = mapped_column(BigInteger)
    # Set when the mail server refused the address for good (5xx, a bounce, or days of 4xx):
    # the taxpayer is told at sign-in, agents on the summary sheet. Cleared by a new address.
    email_undeliverable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_undeliverable_reason: Mapped[str | None] = mapped_column(Text)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Legal hold on all of this taxpayer's cases: retention skips them (app.retention.holds).
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def identifier(self) -> str:
        return identifier_of(self.kind, self.tax_number, self.siren)

    @property
    def display_name(self) -> str:
        return display_name_of(self.kind, self.first_name, self.last_name, self.company_name)

    @property
    def departement(self) -> str | None:
        if not self.commune_code:
            return None
        code = self.commune_code
        return code[:3] if code.startswith("97") else code[:2]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.identifier})"
