"""What needs attention, ranked: the sections the CLI report, the digest and the dashboard all show.

One home for the ranking of each section (the priority score and its reasons come from
:mod:`store.priority`; this module only orders and groups the store's items):

- overdue, due soon (within :data:`DUE_SOON_DAYS`), unlinked: most at stake first (``-priority``),
  then the earliest due date, then the id;
- unanswered inbound requests: those past their response target first, then most at stake, then
  the oldest;
- waiting on customer: the customers' promises to us (status ``waiting``), overdue ones first;
- silent accounts: from :meth:`store.Store.silent_accounts` (most at stake first; the first
  :data:`MAX_ROWS`, and how many in ``totals``).

Pure functions over a :class:`store.Store`; nothing here renders (the CLI renders with rich in
:mod:`followthrough.cli.report`, the dashboard with Jinja2 in :mod:`followthrough.web`).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from followthrough.config import silent_days
from followthrough.types import CommitmentStatus
from store import AccountView, CommitmentFilter, CommitmentView, Page, Ranked, Store

DUE_SOON_DAYS = 7
MAX_ROWS = 50
"""Rows each section keeps (its ``totals`` entry says how many it has in all)."""
RANK_PAGE = 1_000
"""Items read per transaction while a report ranks the customers' promises (memory: one page)."""


@dataclass(frozen=True)
class Waiting:
    """One customer's promise to us.

    ``item``: the stored commitment (owner: the customer; ``overdue_days``: whole days past its due
    date on the day asked, ``None`` when undated or not yet due). ``deal_owner``: the email of the CRM
    owner of the deal it is linked to (``None`` when unlinked or the deal has no owner).
    """

    item: CommitmentView
    deal_owner: str | None

    @property
    def nudge(self) -> bool:
        """Past its due date: the deal owner should chase the customer."""
        return self.item.overdue_days is not None

    def as_dict(self) -> dict[str, object]:
        """The item as the API shows it, with ``deal_owner`` and ``nudge``."""
        return {**self.item.model_dump(mode="json"), "deal_owner": self.deal_owner, "nudge": self.nudge}


def _waiting_key(c: CommitmentView | Ranked) -> tuple[int, date, int]:
    """Overdue first (most days late), then by due date, undated last, then the id."""
    return (-(c.overdue_days or 0), c.due or date.max, c.id)


def waiting_on_customers(items: list[CommitmentView], deal_owners: dict[str, str | None]) -> list[Waiting]:
    """``items`` (the customers' promises, status ``waiting``), overdue first (most days late), then by
    due date, undated last. ``deal_owners``: deal CRM id -> its owner's email."""
    out = [Waiting(c, deal_owners.get(c.deal.crm_id) if c.deal else None) for c in items]
    return sorted(out, key=lambda w: _waiting_key(w.item))


@dataclass
class Attention:
    """The report's sections: each holds its first :data:`MAX_ROWS` items, ranked; ``totals`` says how
    many each has in all (``open`` for every open item)."""

    overdue: list[CommitmentView] = field(default_factory=list)
    due_soon: list[CommitmentView] = field(default_factory=list)
    unlinked: list[CommitmentView] = field(default_factory=list)
    requests: list[CommitmentView] = field(default_factory=list)
    by_owner: dict[str, dict[str, int]] = field(default_factory=dict)
    open_total: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    """Items in each section (``overdue``, ``due_soon``, ``unlinked``, ``unanswered_requests``,
    ``waiting_on_customer`` and, of those, ``waiting_on_customer_overdue``)."""
    waiting: list[Waiting] = field(default_factory=list)  # what customers owe us: never in our open lists
    silent: list[AccountView] = field(default_factory=list)  # no word from us too long, most at stake first

    def as_dict(self) -> dict[str, object]:
        def rows(items: list[CommitmentView]) -> list[dict[str, object]]:
            return [i.model_dump(mode="json") for i in items]

        return {
            "open_total": self.open_total,
            "overdue": rows(self.overdue),
            "due_soon": rows(self.due_soon),
            "unlinked": rows(self.unlinked),
            "unanswered_requests": rows(self.requests),
            "totals": dict(self.totals),
            "by_owner": self.by_owner,
            "waiting_on_customer": [w.as_dict() for w in self.waiting],
            "silent_accounts": [a.model_dump(mode="json") for a in self.silent],
        }


def all_items(store: Store, f: CommitmentFilter) -> list[CommitmentView]:
    """Every item ``f`` lists, in full (evidence, history)."""
    out: list[CommitmentView] = []
    while True:
        page: Page = store.list_commitments(f)
        out.extend(page.items)
        if not page.next_cursor:
            return out
        f = f.model_copy(update={"cursor": page.next_cursor})


def _rank_key(c: CommitmentView | Ranked) -> tuple[float, date, int]:
    return (-c.priority, c.due or date.max, c.id)


def ranked(items: list[CommitmentView]) -> list[CommitmentView]:
    """``items`` most at stake first (priority), then the earliest due date, then the id."""
    return sorted(items, key=_rank_key)


def _request_key(c: Ranked) -> tuple[bool, float, float, int]:
    """Past the response target first, then most at stake, then the oldest (by its message's time)."""
    return (not c.overdue_response, -c.priority, c.occurred_at.timestamp(), c.id)


@dataclass
class _Section:
    """One section while the open items stream by: its count and its first rows so far."""

    key: Callable[[Ranked], tuple[object, ...]]
    total: int = 0
    top: list[tuple[tuple[object, ...], int]] = field(default_factory=list)

    def add(self, c: Ranked) -> None:
        self.total += 1
        entry = (self.key(c), c.id)
        if len(self.top) < MAX_ROWS:
            self.top.append(entry)
            if len(self.top) == MAX_ROWS:
                self.top.sort()
        elif entry < self.top[-1]:
            bisect.insort(self.top, entry)
            self.top.pop()

    def ids(self) -> list[int]:
        return [cid for _, cid in sorted(self.top)]


def collect(store: Store, as_of: date, *, domains: set[str]) -> Attention:
    """Gather the report's sections from the store, each ranked by priority.

    The open items stream by as lean :class:`store.Ranked` tuples from one query: each section
    keeps its count and its first :data:`MAX_ROWS` rows, the owners their counts; only the rows
    shown are read in full. Memory stays flat however many items are open.

    Silent accounts: see :mod:`store.accounts` (limits from ``FOLLOWTHROUGH_SILENT_DAYS``; ``domains``
    are our own, for participants not marked ours or theirs).

    Unanswered requests are the open ones (a request one of ours answered is
    closed ``answered`` by the run): those past their response target first.
    """
    sections = {
        "overdue": _Section(_rank_key),
        "due_soon": _Section(_rank_key),
        "unlinked": _Section(_rank_key),
        "unanswered_requests": _Section(_request_key),
    }
    owners: dict[str, Counter[str]] = {}
    open_total = 0
    for c in store.open_ranked(as_of):
        open_total += 1
        commitment = c.type == "commitment"
        overdue = commitment and c.due is not None and c.due < as_of
        soon = commitment and c.due is not None and as_of <= c.due and (c.due - as_of).days <= DUE_SOON_DAYS
        counts = owners.setdefault(c.owner or "(no owner)", Counter())
        counts["open"] += 1
        for name, inside in (
            ("overdue", overdue),
            ("due_soon", soon),
            ("unlinked", c.deal is None),
            ("unanswered_requests", c.type == "request"),
        ):
            if inside:
                sections[name].add(c)
                if name != "unanswered_requests":
                    counts[name] += 1
    shown = {cid for section in sections.values() for cid in section.ids()}
    views = {v.id: v for v in store.get_commitments(sorted(shown), as_of=as_of)}

    def rows(name: str) -> list[CommitmentView]:
        return [views[cid] for cid in sections[name].ids() if cid in views]

    att = Attention(open_total=open_total)
    att.overdue, att.due_soon, att.unlinked = rows("overdue"), rows("due_soon"), rows("unlinked")
    att.requests = rows("unanswered_requests")
    att.totals = {name: section.total for name, section in sections.items()}
    att.by_owner = {k: dict(v) for k, v in sorted(owners.items(), key=lambda kv: -kv[1]["open"])}
    att.waiting = collect_waiting(store, as_of, limit=MAX_ROWS, totals=att.totals)
    att.silent, att.totals["silent_accounts"] = store.top_silent_accounts(
        as_of, silent_days(), domains, limit=MAX_ROWS
    )
    return att


def collect_waiting(
    store: Store,
    as_of: date,
    *,
    deal_owner: str | None = None,
    limit: int | None = None,
    totals: dict[str, int] | None = None,
) -> list[Waiting]:
    """The customers' promises to us (status ``waiting``), overdue ones first; the first ``limit``
    (all when ``None``) read in full.

    ``deal_owner``: only those on deals this email owns in the CRM (case-insensitive): the promises
    that person is the one to chase. ``totals``, when given, gets ``waiting_on_customer`` (how many
    there are in all) and ``waiting_on_customer_overdue`` (how many of those are past due).
    """
    f = CommitmentFilter(status=CommitmentStatus.WAITING, as_of=as_of, limit=RANK_PAGE)
    theirs = list(store.ranked_items(f))
    owners = store.deal_owners({c.deal for c in theirs if c.deal is not None})
    if deal_owner is not None:
        wanted = deal_owner.strip().lower()
        theirs = [c for c in theirs if c.deal is not None and owners.get(c.deal) == wanted]
    theirs.sort(key=_waiting_key)
    if totals is not None:
        totals["waiting_on_customer"] = len(theirs)
        totals["waiting_on_customer_overdue"] = sum(1 for c in theirs if c.overdue_days is not None)
    shown = theirs if limit is None else theirs[:limit]
    views = {v.id: v for v in store.get_commitments([c.id for c in shown], as_of=as_of)}
    return waiting_on_customers([views[c.id] for c in shown if c.id in views], owners)


@dataclass
class OwnerItems:
    """One person's open items in the digest's groups, each ranked (:func:`ranked`): ``overdue``,
    ``due_soon`` (due within :data:`DUE_SOON_DAYS` days, today included) and ``other``."""

    overdue: list[CommitmentView]
    due_soon: list[CommitmentView]
    other: list[CommitmentView]


def owner_items(items: list[CommitmentView], as_of: date) -> OwnerItems:
    """``items`` (one person's open items) split as ``followthrough digest`` shows them."""
    overdue = ranked([c for c in items if c.due and c.due < as_of])
    soon = ranked([c for c in items if c.due and 0 <= (c.due - as_of).days <= DUE_SOON_DAYS])
    taken = {c.id for c in overdue} | {c.id for c in soon}
    return OwnerItems(overdue, soon, ranked([c for c in items if c.id not in taken]))
