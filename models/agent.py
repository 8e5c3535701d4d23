"""Agents: Flask-AppBuilder's user row, bound to one office (docs/decisions/0002)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_appbuilder.security.sqla.models import Role, User, assoc_user_role
from sqlalchemy import Boolean, ForeignKey, Integer, String, exists, literal, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime

if TYPE_CHECKING:
    from models.office import Office


def full_name_of(first_name: str, last_name: str) -> str:
    """An agent's name as every screen shows it (lists read the two columns only)."""
    return f"{first_name} {last_name}"


def joined_name_of(first_name: str | None, last_name: str | None) -> str | None:
    """``full_name_of`` the columns of an outer-joined agent (None: no agent on that row)."""
    return None if last_name is None else full_name_of(first_name or "", last_name)


class Agent(User):
    """An application user (agent, office manager, steering, administrator).

    It extends FAB's ``ab_user`` table rather than adding a second one, so FAB's login, roles and
    user screens keep working and every query of an agent is one row.
    """

    __tablename__ = "ab_user"
    __table_args__ = {"extend_existing": True}

    office_id: Mapped[int | None] = mapped_column(
        ForeignKey("office.id", ondelete="RESTRICT"), index=True
    )
    # TOTP second factor: the secret, set at enrolment (None: not enrolled yet).
    otp_secret: Mapped[str | None] = mapped_column(String(64))
    otp_last_counter: Mapped[int | None] = mapped_column(Integer)
    # Set when the failed passwords in a row reach the limit; an administrator may lift it.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by an administrator's reset: the agent chooses a new password at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    office: Mapped[Office | None] = relationship(back_populates="agents")

    @property
    def full_name(self) -> str:
        return full_name_of(self.first_name, self.last_name)

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}

    def __str__(self) -> str:
        return self.full_name


def holds_role(*names: str) -> Any:
    """SQL: the agent (``Agent.id`` of the enclosing query) holds one of these roles. FAB's role
    tables stay behind the models (decision 0002)."""
    return exists(
        select(literal(1))
        .select_from(assoc_user_role.join(Role, Role.id == assoc_user_role.c.role_id))
        .where(assoc_user_role.c.user_id == Agent.id, Role.name.in_(names))
    )
