"""The steering tables: one definition feeds the page, its charts and the CSV export.

Each table is built from the aggregates of ``app.steering.figures`` only when it is asked (the page
asks for all of them, an export for one). Cells are display strings, so the CSV holds exactly the
figures of the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from flask_babel import gettext as _

from app.steering import access as steering_access
from app.steering import figures as steering
from app.steering.figures import AGE_BUCKETS, Backlog, Handling, Node, Period
from models import CaseStatus, Channel


@dataclass
class Row:
    cells: list[str]
    link: int | None = None  # an office id to drill down to (first cell)
    total: bool = False


@dataclass
class Table:
    key: str
    caption: str
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    # Only part of the rows is shown on the page (the CSV has them all).
    truncated: bool = False

    def csv_rows(self) -> Iterator[list[str]]:
        yield self.headers
        for row in self.rows:
            yield row.cells


class Figures:
    """The aggregates of one page, each computed once, when first needed."""

    def __init__(self, user: Any, node: Node, period: Period, now: datetime) -> None:
        self.user = user
        self.node = node
        self.period = period
        self.now = now

    @cached_property
    def handling(self) -> tuple[dict[int, Handling], Handling]:
        per_backlog, _total = self.backlog
        overdue = {group_id: b.overdue_in_period for group_id, b in per_backlog.items()}
        return steering.handling(self.user, self.node, self.period, self.now, overdue)

    @cached_property
    def backlog(self) -> tuple[dict[int, Backlog], Backlog]:
        return steering.backlog(self.user, self.node, self.now, self.period)

    @cached_property
    def transfers(self) -> tuple[list[steering.TransferPair], dict[int, tuple[int, int]]]:
        return steering.transfers(self.user, self.node, self.period)

    @cached_property
    def series(self) -> list[tuple[Any, int]]:
        return steering.received_series(self.user, self.node, self.period)

    def groups(self) -> list[steering.Group]:
        """The rows of the group tables: the node's own row only when it holds cases."""
        per_handling, _t = self.handling
        per_backlog, _b = self.backlog
        _pairs, per_transfer = self.transfers
        shown = []
        for group in self.node.groups:
            own = self.node.office is not None and group.id == self.node.office.id
            busy = group.id in per_handling or group.id in per_backlog or group.id in per_transfer
            if own and not self.node.leaf and not busy:
                continue
            shown.append(group)
        return shown


def _days(value: float | None) -> str:
    return steering.format_number(value, 1)


def _group_label(node: Node, group: steering.Group) -> str:
    if node.office is not None and group.id == node.office.id and not node.leaf:
        return _("%(name)s (demandes traitées directement)", name=group.name)
    return group.name


def _group_rows(figures: Figures, cells: Callable[[int | None], list[str]]) -> list[Row]:
    rows = [
        Row([_group_label(figures.node, g), *cells(g.id)], g.id if g.drillable else None)
        for g in figures.groups()
    ]
    if len(rows) > 1:
        rows.append(Row([_("Total"), *cells(None)], total=True))
    return rows


def summary(figures: Figures) -> Table:
    per_handling, total_handling = figures.handling
    per_backlog, total_backlog = figures.backlog
    _pairs, per_transfer = figures.transfers

    def cells(group_id: int | None) -> list[str]:
        if group_id is None:
            h, b = total_handling, total_backlog
            sent = sum(s for s, _r in per_transfer.values())
            received = sum(r for _s, r in per_transfer.values())
        else:
            h = per_handling.get(group_id, Handling())
            b = per_backlog.get(group_id, Backlog())
            sent, received = per_transfer.get(group_id, (0, 0))
        return [
            str(h.received),
            str(h.answered),
            str(h.closed),
            str(h.withdrawn),
            str(b.open),
            str(b.awaiting_taxpayer),
            str(sent),
            str(received),
        ]

    return Table(
        "synthese",
        _("Volumes par service"),
        [
            _("Service"),
            _("Demandes reçues"),
            _("Répondues"),
            _("Clôturées par le service"),
            _("Retirées par l'usager"),
            _("En stock"),
            _("En attente de l'usager"),
            _("Transmissions envoyées"),
            _("Transmissions reçues"),
        ],
        _group_rows(figures, cells),
    )


def handling_times(figures: Figures) -> Table:
    per_group, total = figures.handling

    def cells(group_id: int | None) -> list[str]:
        h = total if group_id is None else per_group.get(group_id, Handling())
        return [
            _days(h.first_answer_median),
            _days(h.first_answer_p90),
            _days(h.closing_median),
            _days(h.closing_p90),
            str(h.on_time),
            str(h.settled),
            steering.format_number(h.on_time_share, 1),
        ]

    return Table(
        "delais",
        _("Délais de traitement des demandes reçues sur la période (en jours)"),
        [
            _("Service"),
            _("Première réponse : médiane"),
            _("Première réponse : 90e centile"),
            _("Clôture : médiane"),
            _("Clôture : 90e centile"),
            _("Traitées dans le délai"),
            _("Traitées ou échues"),
            _("Part dans le délai (%)"),
        ],
        _group_rows(figures, cells),
    )


def backlog_by_age(figures: Figures) -> Table:
    per_group, total = figures.backlog

    def cells(group_id: int | None) -> list[str]:
        b = total if group_id is None else per_group.get(group_id, Backlog())
        age = steering.age_in_days(b.oldest, figures.now)
        return [
            *(str(b.buckets[key]) for key, *_rest in AGE_BUCKETS),
            str(b.open),
            steering.format_local(b.oldest),
            "" if age is None else str(age),
        ]

    return Table(
        "stock",
        _("Stock de demandes ouvertes par ancienneté (aujourd'hui)"),
        [
            _("Service"),
            *(str(label) for _k, label, *_r in AGE_BUCKETS),
            _("Total"),
            _("Plus ancienne reçue le"),
            _("Son âge (jours)"),
        ],
        _group_rows(figures, cells),
    )


def evolution(figures: Figures) -> Table:
    weekly = figures.period.granularity == "week"
    return Table(
        "evolution",
        _("Demandes reçues par semaine") if weekly else _("Demandes reçues par jour"),
        [_("Semaine du") if weekly else _("Jour"), _("Demandes reçues")],
        [Row([day.strftime("%d/%m/%Y"), str(count)]) for day, count in figures.series],
    )


def _share_table(key: str, caption: str, first: str, shares: list[steering.Share]) -> Table:
    total = sum(s.count for s in shares)
    rows = [
        Row([s.label, str(s.count), steering.format_number(s.count / total * 100, 1)])
        for s in shares
    ]
    if rows:
        rows.append(Row([_("Total"), str(total), "100,0"], total=True))
    return Table(key, caption, [first, _("Demandes reçues"), _("Part (%)")], rows)


def channels(figures: Figures) -> Table:
    shares = steering.by_channel(figures.user, figures.node, figures.period)
    return _share_table("canaux", _("Demandes reçues par canal"), _("Canal"), shares)


def topics(figures: Figures) -> Table:
    shares = steering.by_topic(figures.user, figures.node, figures.period)
    return _share_table("motifs", _("Demandes reçues par motif"), _("Motif"), shares)


def tax_matters(figures: Figures) -> Table:
    shares = steering.by_tax_matter(figures.user, figures.node, figures.period)
    return _share_table("impots", _("Demandes reçues par impôt concerné"), _("Impôt"), shares)


def transfer_pairs(figures: Figures) -> Table:
    pairs, _per_group = figures.transfers
    return Table(
        "transmissions",
        _("Transmissions entre services sur la période"),
        [_("Service d'origine"), _("Service destinataire"), _("Transmissions")],
        [Row([p.from_office, p.to_office, str(p.count)]) for p in pairs],
    )


def transfer_reasons(figures: Figures, limit: int | None = None) -> Table:
    query = steering.transfer_reasons(figures.user, figures.node, figures.period)
    if limit is not None:
        query = query.limit(limit + 1)
    rows = [
        Row([steering.format_local(at), source, target, reason])
        for at, source, target, reason in steering.stream(query)
    ]
    truncated = limit is not None and len(rows) > limit
    return Table(
        "motifs-transmission",
        _("Motifs des transmissions du service"),
        [_("Date"), _("Service d'origine"), _("Service destinataire"), _("Motif")],
        rows[:limit] if limit is not None else rows,
        truncated,
    )


def agents(figures: Figures) -> Table:
    rows = steering.workload(figures.user, figures.node, figures.period)
    return Table(
        "agents",
        _("Charge par agent"),
        [
            _("Agent"),
            _("Demandes ouvertes attribuées"),
            _("Réponses envoyées sur la période"),
            _("Demandes clôturées sur la période"),
        ],
        [Row([w.name, str(w.open_assigned), str(w.answered), str(w.closed)]) for w in rows],
    )


def detailed_headers() -> list[str]:
    return [
        _("Référence"),
        _("Code du service"),
        _("Service"),
        _("Canal"),
        _("Motif"),
        _("Sous-motif"),
        _("Impôt concerné"),
        _("Statut"),
        _("Reçue le"),
        _("Première réponse le"),
        _("Clôturée le"),
        _("Échéance"),
        _("Traitée dans le délai"),
    ]


def detailed_rows(figures: Figures) -> Iterator[list[str]]:
    """The million-row export: streamed from a server-side cursor, one case per row."""
    query = steering.detailed_cases(figures.user, figures.node, figures.period)
    # Labels translated once, not once per row (they were 60 % of the export's time).
    channels = {channel: str(channel.label) for channel in Channel}
    statuses = {status: str(status.label) for status in CaseStatus}
    withdrawn_label = _("Retirée par l'usager")
    words = steering.on_time_words()
    when = steering.LocalFormat()
    for row in steering.stream(query):
        (reference, code, office, channel, topic, subtopic, matter, status) = row[:8]
        received, first_answer, closed, due, withdrawn = row[8:]
        # A case withdrawn before any answer was not handled by the office (as in the rollups).
        answered = first_answer or (None if withdrawn else closed)
        yield [
            reference,
            code,
            office,
            channels[channel],
            topic,
            subtopic or "",
            matter or "",
            withdrawn_label if withdrawn else statuses[status],
            when(received),
            when(first_answer),
            when(closed),
            when(due),
            "" if withdrawn else steering.on_time_label(answered, due, figures.now, words),
        ]


# Every table of the page, in page order. Which ones a user gets: ``available``.
BUILDERS: dict[str, Callable[[Figures], Table]] = {
    "synthese": summary,
    "evolution": evolution,
    "stock": backlog_by_age,
    "delais": handling_times,
    "canaux": channels,
    "motifs": topics,
    "impots": tax_matters,
    "transmissions": transfer_pairs,
    "motifs-transmission": transfer_reasons,
    "agents": agents,
}
DETAILED = "demandes"


def available(figures: Figures) -> list[str]:
    keys = [k for k in BUILDERS if k not in ("motifs-transmission", "agents")]
    if steering_access.may_read_transfer_reasons(figures.user, figures.node):
        keys.append("motifs-transmission")
    if steering_access.may_see_workload(figures.user, figures.node):
        keys.append("agents")
    return keys
