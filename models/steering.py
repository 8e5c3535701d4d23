"""Steering rollups: the cases' figures summed per office of the tree, per day and per month.

Written only by ``app.steering.rollups`` (docs/steering.md, "Rollups"). Every office of the tree
is a *node*: its rows sum the cases of its whole subtree (a directorate's rows hold its offices'
cases), so a delegation's dashboard reads a few thousand rows instead of its million cases.

- ``SteeringCount``: per node, grain (``d`` a day, ``m`` a month starting on ``day``) and
  dimension (``all``; ``channel``, ``topic`` or ``tax_matter`` with its ``key``), the cases
  received then and how many of them are answered, closed, answered on time or late.
- ``SteeringDuration``: per node and grain, a histogram of the time to first answer and to
  closing (``bucket`` is the lower bound of a bucket, in hours), for the percentiles.
- ``SteeringTransfer``: transfers per office pair and grain.
- ``SteeringChange``: the journal of changes not yet folded in: a case's steering attributes
  before (sign -1) and after (sign +1) a change. Readers add it to the rollups, so figures are
  exact at every moment; the fold moves it into the rollups.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db

# The rows that came back to nothing, which every fold deletes: a partial index finds them
# without reading the whole rollup (a full scan of steering_duration cost about 1.5 s of
# PostgreSQL per fold at national scale, charged to whatever request ran then).
COUNT_EMPTY = (
    "received = 0 AND answered = 0 AND closed = 0 AND on_time = 0 AND late_answered = 0"
    " AND withdrawn = 0"
)
COUNT_ZERO = "count = 0"


def _empty(name: str, column: str, where: str) -> Index:
    return Index(name, column, sqlite_where=text(where), postgresql_where=text(where))


class SteeringCount(db.Model):  # type: ignore[name-defined]
    __tablename__ = "steering_count"
    __table_args__ = (_empty("ix_steering_count_empty", "node_id", COUNT_EMPTY),)

    node_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(12), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    late_answered: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)


class SteeringDuration(db.Model):  # type: ignore[name-defined]
    __tablename__ = "steering_duration"
    __table_args__ = (_empty("ix_steering_duration_empty", "node_id", COUNT_ZERO),)

    node_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    measure: Mapped[str] = mapped_column(String(12), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    # The sum of the durations in the bucket, in hours: each bucket's values are read as their
    # mean, so percentiles are exact whenever a bucket holds equal values.
    hours: Mapped[float] = mapped_column(Float, default=0.0)


class SteeringTransfer(db.Model):  # type: ignore[name-defined]
    """Transfers per office pair and grain (``d``, ``m``, ``y`` as in ``SteeringCount``), by the
    day they were made (UTC). Transfers are only ever added (or purged with their request), so
    the rows are written in the transfer's own transaction: no journal."""

    __tablename__ = "steering_transfer"
    __table_args__ = (_empty("ix_steering_transfer_empty", "day", COUNT_ZERO),)

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    from_office_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_office_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class SteeringChange(db.Model):  # type: ignore[name-defined]
    __tablename__ = "steering_change"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    sign: Mapped[int] = mapped_column(SmallInteger)
    office_id: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(32))
    topic_id: Mapped[int] = mapped_column(Integer)
    tax_matter_id: Mapped[int | None] = mapped_column(Integer)
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recording_office_id: Mapped[int | None] = mapped_column(Integer)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
