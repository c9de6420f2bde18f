"""Deliveries: which item was announced to whom, on which channel, and in which state.

One row per (commitment, recipient, channel) in ``deliveries`` (migration 0010). ``announced`` is
the fingerprint of the item as it was last delivered (its status, due date, owner and urgency, made
by the application, never here): an item whose fingerprint is the one announced is not announced
again; a changed one is. A send that failed leaves ``announced`` as it was and records the
fingerprint it tried as ``pending``, with the error line and the number of attempts: the next digest
finds the item unannounced and tries again, so nothing is lost. ``recipient`` is the owner's email
address (lower case); ``channel`` is ``email`` or ``slack``. The store sends nothing.

Concurrent digests (two cron jobs, a digest overlapping ``run --notify``) do not announce an item
twice: before sending, a digest claims its rows (:meth:`NotificationStore.claim_deliveries`: one
conditional UPDATE per item, committed before the send, that takes only rows not claimed by
another digest within the lease and not already announced in that state); the other digest skips
them. Recording the outcome (:meth:`~NotificationStore.record_deliveries`) or
:meth:`~NotificationStore.release_claims` ends the claim; a claimant that crashed leaves its claim to
expire after the lease (migration 0015), and the next digest retries the items.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from store.base import StoreCore, _retry_conflicts
from store.bulk import dialect_insert
from store.models import CommitmentRow, DeliveryRow, utcnow

ERROR_MAX = 1000
"""Characters of an error line kept (the line is the application's, already free of secrets)."""


@dataclass(frozen=True)
class Delivery:
    """What one recipient was told about one item on one channel.

    ``announced``: the fingerprint last delivered (``None``: never delivered), at ``announced_at``
    (UTC). ``pending``: the fingerprint of a send that failed and waits for the next digest, with
    its ``error`` line; ``attempts``: failed sends since the last delivery. ``claimed_by``: the
    digest sending a message about it right now (since ``claimed_at``), ``None`` when none is.
    """

    commitment_id: int
    recipient: str
    channel: str
    announced: str | None
    announced_at: datetime | None
    pending: str | None
    error: str | None
    attempts: int
    claimed_by: str | None = None
    claimed_at: datetime | None = None


def _delivery(r: DeliveryRow) -> Delivery:
    return Delivery(
        commitment_id=r.commitment_id,
        recipient=r.recipient,
        channel=r.channel,
        announced=r.announced,
        announced_at=r.announced_at,
        pending=r.pending,
        error=r.error,
        attempts=r.attempts,
        claimed_by=r.claimed_by,
        claimed_at=r.claimed_at,
    )


class NotificationStore(StoreCore):
    """The ``deliveries`` table: read what was announced, record what was sent or failed."""

    def deliveries(self, channel: str, recipients: Collection[str] | None = None) -> list[Delivery]:
        """Every delivery on ``channel`` (to ``recipients`` only, when given: emails, any case), in
        (recipient, commitment id) order."""
        stmt = select(DeliveryRow).where(DeliveryRow.channel == channel)
        if recipients is not None:
            if not recipients:
                return []
            stmt = stmt.where(DeliveryRow.recipient.in_(sorted({r.lower() for r in recipients})))
        with self._tx() as s:
            rows = s.scalars(stmt.order_by(DeliveryRow.recipient, DeliveryRow.commitment_id)).all()
            return [_delivery(r) for r in rows]

    @_retry_conflicts
    def record_deliveries(
        self,
        channel: str,
        recipient: str,
        fingerprints: Mapping[int, str],
        *,
        error: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Record one message to ``recipient`` on ``channel`` about the items ``fingerprints`` maps
        (commitment id → fingerprint): delivered (``error`` ``None``: each becomes ``announced``,
        nothing pending) or failed (each becomes ``pending`` with ``error``, one more attempt;
        ``announced`` stays). Ids of items deleted meanwhile are left out."""
        if not fingerprints:
            return
        now = at or utcnow()
        who = recipient.lower()
        line = None if error is None else error[:ERROR_MAX]
        with self._tx() as s:
            self._lock(s, f"deliveries:{channel}:{who}")
            rows = {
                r.commitment_id: r
                for r in s.scalars(
                    select(DeliveryRow).where(
                        DeliveryRow.channel == channel,
                        DeliveryRow.recipient == who,
                        DeliveryRow.commitment_id.in_(list(fingerprints)),
                    )
                )
            }
            for cid, fingerprint in fingerprints.items():
                row = rows.get(cid)
                if row is None:
                    row = DeliveryRow(commitment_id=cid, recipient=who, channel=channel, attempts=0)
                    s.add(row)
                if line is None:
                    row.announced, row.announced_at = fingerprint, now
                    row.pending, row.error, row.attempts = None, None, 0
                else:
                    row.pending, row.error, row.attempts = fingerprint, line, row.attempts + 1
                row.updated_at = now
                row.claimed_by, row.claimed_at = None, None

    @_retry_conflicts
    def claim_deliveries(
        self,
        channel: str,
        recipient: str,
        fingerprints: Mapping[int, str],
        claimant: str,
        *,
        lease: timedelta,
        at: datetime | None = None,
    ) -> set[int]:
        """Claim, for ``claimant`` (a digest run's id, at most 120 characters), the right to announce
        the items ``fingerprints`` maps (commitment id → fingerprint) to ``recipient`` on ``channel``;
        the ids claimed. An item is claimed when no other digest claimed it less than ``lease`` ago
        (before ``at``, default now) and its fingerprint is not the one already announced; each
        item is one conditional ``UPDATE`` (rows are made first where there are none), committed
        before this returns, so that of digests racing for an item exactly one gets it. Ids of items
        deleted meanwhile are left out. The claim ends with :meth:`record_deliveries` or
        :meth:`release_claims`, or when the lease runs out."""
        if not fingerprints:
            return set()
        now = at or utcnow()
        who = recipient.lower()
        expired = now - lease
        with self._tx() as s:
            self._lock(s, f"deliveries:{channel}:{who}")
            ids = sorted(fingerprints)
            live = s.scalars(select(CommitmentRow.id).where(CommitmentRow.id.in_(ids))).all()
            if live:
                s.execute(
                    dialect_insert(self.engine.dialect.name, DeliveryRow)
                    .values(
                        [
                            {
                                "commitment_id": cid,
                                "recipient": who,
                                "channel": channel,
                                "attempts": 0,
                                "updated_at": now,
                            }
                            for cid in sorted(live)
                        ]
                    )
                    .on_conflict_do_nothing(index_elements=["commitment_id", "recipient", "channel"])
                )
            won: set[int] = set()
            for cid in sorted(live):
                row = DeliveryRow
                done = s.execute(
                    update(row)
                    .where(
                        row.channel == channel,
                        row.recipient == who,
                        row.commitment_id == cid,
                        or_(row.claimed_by.is_(None), row.claimed_by == claimant, row.claimed_at < expired),
                        or_(row.announced.is_(None), row.announced != fingerprints[cid]),
                    )
                    .values(claimed_by=claimant, claimed_at=now)
                    .execution_options(synchronize_session=False)
                )
                if getattr(done, "rowcount", 0) == 1:
                    won.add(cid)
            return won

    @_retry_conflicts
    def release_claims(
        self, channel: str, recipient: str, claimant: str, commitment_ids: Collection[int]
    ) -> int:
        """End ``claimant``'s claims on the items ``commitment_ids`` to ``recipient`` on ``channel``
        without recording a send (they were not in the message): the next digest may announce them.
        How many claims ended."""
        if not commitment_ids:
            return 0
        with self._tx() as s:
            row = DeliveryRow
            done = s.execute(
                update(row)
                .where(
                    and_(
                        row.channel == channel,
                        row.recipient == recipient.lower(),
                        row.claimed_by == claimant,
                        row.commitment_id.in_(sorted(commitment_ids)),
                    )
                )
                .values(claimed_by=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(done, "rowcount", 0))

    @_retry_conflicts
    def drop_pending(self, channel: str, recipient: str, commitment_ids: Collection[int]) -> int:
        """Forget the failed sends to ``recipient`` on ``channel`` about ``commitment_ids`` (items no
        longer theirs to do: closed, or given to someone else); how many were pending."""
        if not commitment_ids:
            return 0
        with self._tx() as s:
            rows = s.scalars(
                select(DeliveryRow).where(
                    DeliveryRow.channel == channel,
                    DeliveryRow.recipient == recipient.lower(),
                    DeliveryRow.commitment_id.in_(list(commitment_ids)),
                    DeliveryRow.pending.is_not(None),
                )
            ).all()
            for row in rows:
                row.pending, row.error, row.attempts, row.updated_at = None, None, 0, utcnow()
            return len(rows)


__all__ = ["Delivery", "NotificationStore"]
