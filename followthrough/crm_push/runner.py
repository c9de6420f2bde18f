"""``crm push``: every open commitment linked to a deal, as a task on that deal in its CRM, idempotently.

For each CRM source of the config file (``[[source]]`` of a kind in
:data:`~followthrough.crm_push.registry.WRITERS`; ``--source NAME``: that one only):

- **which deals** are that CRM's: with one CRM source configured, every linked deal (pulled from
  it or imported from its CSV export alike); with several, a deal goes to the first source, in
  file order, whose writer :meth:`~followthrough.crm_push.base.TaskWriter.claims` its CRM id by
  its shape (Salesforce: an Opportunity Id), else to the first source whose writer takes any id
  (HubSpot). A commitment pushed to a source before stays with it.
- **what is pushed**: one :class:`~followthrough.crm_push.base.CrmTask` per commitment (open, or
  snoozed past its date) linked to such a deal: subject = its action, due date, owner's email,
  body = the verbatim evidence quote, where it was said (sender, subject or channel, date) and
  the dashboard link ``{public_url}/items/{id}``.
- **idempotency**: the store keeps, per commitment and source, the CRM's task id and a SHA-256
  fingerprint of what was sent. Unchanged: not sent again. Changed (action, due date, owner,
  deal, evidence): the task is updated by its id (moved to the new deal when the commitment moved).
  Closed since (done, dismissed, answered, merged), or no longer linked to any deal: the task is
  updated as completed, once (the summary says how many were unlinked). A task deleted in the CRM
  is created again (counted ``created``) on the next push that changes the commitment. Never
  created twice: a row without task id (*pending*) is committed before the CRM is asked to create
  the task, so a push interrupted between the CRM's answer and the local commit (Ctrl-C, a crash)
  finds, on the next push, the task it created (:meth:`~followthrough.crm_push.base.TaskWriter.find`:
  a task on the deal whose body links to the item) and adopts it instead of creating another
  (counted ``adopted``, one of the ``updated``).
- **whose promises**: a commitment whose owner's email is at a CRM account's domain (a customer's
  person: an item extracted before the CRM said who the customers are) is never created as a task;
  it is counted ``left out``.
- **one push per source at a time**: the push takes the source's ``push`` lease
  (:meth:`store.Store.take_source_lease`); a source another process is pushing to is skipped with
  one line (``PushReport.busy``); a lease whose holder on this host died is taken over at once
  (one line in ``PushReport.notes``).

A task the CRM refuses (:class:`~followthrough.crm_push.base.TaskRejected`) is counted failed and
the push goes on; any other :class:`~followthrough.sync.base.SourceError` (a revoked token, a
missing scope, a rate or API limit) stops the push to that source, and its remaining tasks are
counted failed; the other sources are still pushed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date

from followthrough.crm_push.base import CrmTask, TaskRejected, TaskWriter
from followthrough.crm_push.registry import WRITERS
from followthrough.errors import ConfigError
from followthrough.sync.base import SourceConfig, SourceError
from followthrough.sync.lease import busy_line, lease_holder, take_lease
from followthrough.types import CommitmentStatus, domain_of
from store import PushItem, Store

log = logging.getLogger("followthrough.crm_push")

CLOSED = frozenset(
    {CommitmentStatus.DONE, CommitmentStatus.DISMISSED, CommitmentStatus.ANSWERED, CommitmentStatus.MERGED}
)
"""Statuses whose pushed task is marked completed."""

ACTIONS = ("created", "updated", "completed", "adopted", "unchanged", "failed")
_DEFAULT_CLAIMS = TaskWriter.claims.__func__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Outcome:
    """What happened to one commitment's task in one source: ``action`` one of :data:`ACTIONS`
    (``completed``: updated as completed; ``adopted``: the task an interrupted push created, found on
    the deal and updated; ``created`` also when a task deleted in the CRM was created again);
    ``task_id`` the CRM's id (``None`` when none yet or a dry run would create it); ``error``: the one
    line why it failed; ``unlinked``: completed because the commitment is no longer linked to a deal."""

    commitment_id: int
    source: str
    action: str
    task_id: str | None = None
    error: str | None = None
    unlinked: bool = False


@dataclass
class PushReport:
    """The counts of a push (``completed`` and ``adopted`` ones are also counted in ``updated``;
    ``unlinked``: completed ones whose commitment is no longer linked to a deal), its outcomes
    (unchanged ones left out), and one line per error (each distinct line once)."""

    created: int = 0
    updated: int = 0
    completed: int = 0
    unlinked: int = 0
    adopted: int = 0
    unchanged: int = 0
    failed: int = 0
    dry_run: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    """Sources whose push an error stopped."""
    left_out: int = 0
    """Commitments not created as tasks: their owner is at a customer's (a CRM account's) domain."""
    busy: list[str] = field(default_factory=list)
    """One line per source skipped because another process was pushing to it."""
    notes: list[str] = field(default_factory=list)
    """One line per lease taken over from a dead process (``took over the lease of dead process PID``)."""

    @property
    def pushed(self) -> int:
        return self.created + self.updated

    def summary(self) -> str:
        """``created N, updated N, unchanged N, failed N`` (a dry run says what it would do)."""
        done = "would create" if self.dry_run else "created"
        upd = "would update" if self.dry_run else "updated"
        parts = [f"{self.completed} completed"] if self.completed else []
        if self.unlinked:
            parts.append(f"{self.unlinked} of them no longer linked to a deal")
        if self.adopted:
            parts.append(f"{self.adopted} found on the deal after an interrupted push")
        extra = f" ({', '.join(parts)})" if parts else ""
        left = f", left out {self.left_out} (owner at a customer's domain)" if self.left_out else ""
        return (
            f"{done} {self.created}, {upd} {self.updated}{extra}, unchanged {self.unchanged}, "
            f"failed {self.failed}{left}"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "completed": self.completed,
            "unlinked": self.unlinked,
            "adopted": self.adopted,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "dry_run": self.dry_run,
            "errors": list(self.errors),
            "stopped": list(self.stopped),
            "left_out": self.left_out,
            "busy": list(self.busy),
            "notes": list(self.notes),
            "tasks": [asdict(o) for o in self.outcomes],
        }

    def _count(self, outcome: Outcome) -> None:
        if outcome.action == "unchanged":
            self.unchanged += 1
            return
        self.outcomes.append(outcome)
        if outcome.action == "created":
            self.created += 1
        elif outcome.action in ("updated", "completed", "adopted"):
            self.updated += 1
            self.completed += outcome.action == "completed"
            self.unlinked += outcome.action == "completed" and outcome.unlinked
            self.adopted += outcome.action == "adopted"
        else:
            self.failed += 1
            if outcome.error and outcome.error not in self.errors:
                self.errors.append(outcome.error)


def crm_sources(
    sources: Sequence[SourceConfig], only: str | None = None, kinds: Mapping[str, type[TaskWriter]] = WRITERS
) -> list[SourceConfig]:
    """The configured sources a push writes to (their kind has a task writer in ``kinds``), in file order.

    ``only``: that source alone. :class:`ConfigError` when it is not configured or is not a CRM,
    or when no CRM source is configured.
    """
    crms = [s for s in sources if s.kind in kinds]
    if only is not None:
        named = [s for s in sources if s.name == only]
        if not named:
            known = ", ".join(s.name for s in crms) or "none configured"
            raise ConfigError(f"no source named {only!r} in the config file (CRM sources: {known})")
        if named[0].kind not in kinds:
            raise ConfigError(
                f"source {only!r} is of kind {named[0].kind!r}: crm push writes to "
                + ", ".join(sorted(kinds))
            )
        return named
    if not crms:
        raise ConfigError(
            "no CRM source in the config file: add a [[source]] with kind = "
            + " or ".join(repr(k) for k in sorted(kinds))
        )
    return crms


def task_body(item: PushItem, public_url: str) -> str:
    """The task's description: the evidence quote (verbatim), where it was said, and the dashboard link."""
    lines: list[str] = []
    if item.quote:
        lines.append(f"“{item.quote}”")
    where = [p for p in (item.sender, f"“{item.title}”" if item.title else None) if p]
    if item.source:
        where.insert(0, item.source)
    if item.occurred_at is not None:
        where.append(item.occurred_at.strftime("%Y-%m-%d %H:%M %Z").strip())
    if where:
        lines.append("— " + ", ".join(where))
    if item.owner:
        lines.append(f"Owner: {item.owner}")
    lines.append(f"Open in followthrough: {public_url}/items/{item.commitment_id}")
    return "\n".join(lines)


def build_task(
    item: PushItem, deal_crm_id: str, public_url: str, *, completed: bool, undated_on: date | None = None
) -> CrmTask:
    """The :class:`CrmTask` for one commitment on ``deal_crm_id`` (``previous_deal_crm_id``: the deal
    its task was pushed to, when another)."""
    before = item.pushed.deal_crm_id if item.pushed is not None else None
    return CrmTask(
        commitment_id=item.commitment_id,
        deal_crm_id=deal_crm_id,
        subject=item.action,
        due=item.due,
        owner_email=item.owner_email,
        body=task_body(item, public_url),
        completed=completed,
        previous_deal_crm_id=before if before and before != deal_crm_id else None,
        undated_on=undated_on,
    )


def fingerprint(task: CrmTask) -> str:
    """SHA-256 (hex) of everything a task sends: two equal fingerprints, nothing to update. Where the
    task was before and the day an undated task is dated are not part of it."""
    data = asdict(task)
    data.pop("previous_deal_crm_id")
    data.pop("undated_on")
    data["due"] = task.due.isoformat() if task.due else None
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _router(
    all_crms: Sequence[SourceConfig], kinds: Mapping[str, type[TaskWriter]]
) -> Callable[[str], str | None]:
    """Which source name a deal's CRM id goes to (see the module docstring)."""
    if len(all_crms) <= 1:
        return lambda _crm_id: all_crms[0].name if all_crms else None

    def specific(source: SourceConfig) -> bool:
        return getattr(kinds[source.kind].claims, "__func__", None) is not _DEFAULT_CLAIMS

    ordered = [s for s in all_crms if specific(s)] + [s for s in all_crms if not specific(s)]

    def route(crm_id: str) -> str | None:
        for s in ordered:
            if kinds[s.kind].claims(crm_id):
                return s.name
        return None

    return route


def customer_owned(item: PushItem, customer_domains: Collection[str]) -> bool:
    """Whether ``item``'s owner is a customer's person: their email's domain is a CRM account's."""
    domain = domain_of(item.owner_email) if item.owner_email else None
    return bool(domain) and domain in customer_domains


def _plan(
    item: PushItem,
    source: str,
    route: Callable[[str], str | None],
    public_url: str,
    undated_on: date | None = None,
) -> CrmTask | None:
    """The task to send for ``item`` (``None``: nothing to do with it in ``source``)."""
    if item.pushed is None:
        if (
            item.status != CommitmentStatus.OPEN
            or item.deal_crm_id is None
            or route(item.deal_crm_id) != source
        ):
            return None
        return build_task(item, item.deal_crm_id, public_url, completed=False, undated_on=undated_on)
    if item.status == CommitmentStatus.OPEN and item.deal_crm_id is not None:
        return build_task(item, item.deal_crm_id, public_url, completed=False, undated_on=undated_on)
    if item.status in CLOSED:
        deal = item.deal_crm_id or item.pushed.deal_crm_id
        return build_task(item, deal, public_url, completed=True, undated_on=undated_on)
    if item.deal_crm_id is None:  # no longer linked: its task on the old deal is done with, as if closed
        return build_task(item, item.pushed.deal_crm_id, public_url, completed=True, undated_on=undated_on)
    return None  # snoozed, under review or waiting: the task stays as it is


def push(
    store: Store,
    sources: Sequence[SourceConfig],
    *,
    only: str | None = None,
    public_url: str,
    as_of: date | None = None,
    dry_run: bool = False,
    writers: Mapping[str, type[TaskWriter]] | None = None,
) -> PushReport:
    """Push open linked commitments to the CRM sources among ``sources`` (``only``: that one).

    ``writers``: the writer per kind (default :data:`WRITERS`). ``dry_run``: count what would be
    created or updated, without calling the CRM or writing the store. :class:`ConfigError` for a
    config without a CRM source or an unknown ``only``; every CRM failure is in the report.
    """
    kinds = dict(writers or WRITERS)
    targets = crm_sources(sources, only, kinds)
    route = _router([s for s in sources if s.kind in kinds], kinds)
    report = PushReport(dry_run=dry_run)
    customers = store.crm_customer_domains()
    holder = lease_holder()
    for config in targets:
        if not dry_run:
            taken = take_lease(store, config.name, config.kind, "push", holder)
            if taken.note is not None:
                report.notes.append(taken.note)
            if taken.held is not None:
                report.busy.append(busy_line(config.name, "pushed to", taken.held))
                continue
        try:
            _push_source(
                store, config, kinds[config.kind], route, public_url, as_of, report, customers, holder
            )
        finally:
            if not dry_run:
                store.release_source_lease(config.name, "push", holder)
    return report


def _push_source(
    store: Store,
    config: SourceConfig,
    writer_class: type[TaskWriter],
    route: Callable[[str], str | None],
    public_url: str,
    as_of: date | None,
    report: PushReport,
    customers: Collection[str],
    holder: str,
) -> None:
    writer: TaskWriter | None = None
    stopped: str | None = None
    try:
        for item in store.crm_push_items(config.name, as_of=as_of):
            task = _plan(item, config.name, route, public_url, as_of)
            if task is None:
                if item.pushed is not None:
                    report._count(Outcome(item.commitment_id, config.name, "unchanged", item.pushed.task_id))
                continue
            pending = item.pushed is not None and item.pushed.task_id is None
            if (item.pushed is None or pending) and not task.completed and customer_owned(item, customers):
                report.left_out += 1
                continue
            print_ = fingerprint(task)
            existing = item.pushed.task_id if item.pushed else None
            if item.pushed is not None and item.pushed.fingerprint == print_:
                report._count(Outcome(item.commitment_id, config.name, "unchanged", existing))
                continue
            action = "created" if existing is None else ("completed" if task.completed else "updated")
            unlinked = task.completed and item.status not in CLOSED
            if stopped is not None:
                report._count(Outcome(item.commitment_id, config.name, "failed", existing, stopped))
                continue
            if report.dry_run:
                report._count(Outcome(item.commitment_id, config.name, action, existing, unlinked=unlinked))
                continue
            try:
                writer = writer or writer_class(config)
                if pending:  # a create that may have reached the CRM unrecorded: adopt that task
                    existing = writer.find(task)
                    if existing is None and task.completed:
                        store.forget_pending_crm_task(item.commitment_id, config.name)
                        continue  # never created, and closed since: nothing to do
                    if existing is not None:
                        action = "adopted"
                elif existing is None:
                    store.record_pending_crm_task(
                        item.commitment_id, config.name, kind=config.kind, deal_crm_id=task.deal_crm_id
                    )
                task_id = writer.upsert(task, existing)
            except TaskRejected as e:
                line = f"{e} (item {item.commitment_id})"
                report._count(Outcome(item.commitment_id, config.name, "failed", existing, line))
                continue
            except SourceError as e:
                stopped = str(e)
                report.stopped.append(config.name)
                report._count(Outcome(item.commitment_id, config.name, "failed", existing, stopped))
                continue
            store.record_crm_task(
                item.commitment_id,
                config.name,
                kind=config.kind,
                deal_crm_id=task.deal_crm_id,
                task_id=task_id,
                fingerprint=print_,
                completed=task.completed,
            )
            if existing is not None and task_id != existing:
                action = "created"  # the task was deleted in the CRM: the writer created it again
            report._count(Outcome(item.commitment_id, config.name, action, task_id, unlinked=unlinked))
            store.renew_source_lease(config.name, "push", holder)
    finally:
        if writer is not None:
            writer.close()


__all__ = [
    "CLOSED",
    "customer_owned",
    "Outcome",
    "PushReport",
    "build_task",
    "crm_sources",
    "fingerprint",
    "push",
    "task_body",
]
