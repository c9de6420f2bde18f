"""One promise, many sources: merging the same commitment seen in two documents, and splitting it again.

The rules that say two commitments are one promise are in :mod:`store.merge_rules`;
this module applies them to the stored commitments.

- **Merge**: the merged-away commitment gets status ``merged`` and ``merged_into``
  the survivor; its evidence (quotes with their offsets, untouched) moves to the
  survivor, each piece marked ``merged_from`` so a split can give it back (the
  merged commitment's view still shows that evidence: :func:`store.queries.to_view`).
  Both get a history entry (actor ``merge``) naming the other and the similarity.
- **Survivor**: of two, the one the system already closed (``done`` by a later
  delivery, ``answered``), else the one with a due date, else the one said later
  (its thread is where the promise lives on), else, within one document, the line of
  its action-item list, else the lower id. When one of them already holds merged
  commitments, they follow it to the new survivor.
- **Candidates**: grounded commitments and requests not merged, ``open`` or ``waiting``,
  or closed by the system (``done`` and flagged ``fulfilled``, or ``answered``); at
  least one of a pair is open or waiting. A group grows only when every member of one
  side is the same promise as every member of the other. A commitment a person split
  (either side of a split, or a merged one they reopened) is never merged again by the
  pass, so a re-run on unchanged input changes nothing after a split.
- **Split** (:meth:`MergeStore.split_commitment`): gives each merged commitment its
  evidence and its status before the merge back, and remembers the pair
  (``commitment_splits``).
- **Kept in step**: re-extracting a merged commitment's document gives it its evidence
  back (the recorder updates it in place); the next pass moves that evidence to the
  survivor again. A merged commitment a person reopened (its status no longer
  ``merged``) is split; one whose survivor is gone is restored.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from followthrough.types import CommitmentStatus, ItemFlag
from store import merge_rules
from store.base import ITEM_STATUS_LOCK, NotFound, StoreCore, _retry_conflicts
from store.bulk import chunked
from store.commitments import history_entry
from store.merge_rules import Said
from store.models import (
    CommitmentHistoryRow,
    CommitmentRow,
    CommitmentSplitRow,
    ContactRow,
    DealRow,
    DocumentRow,
    EvidenceRow,
    utcnow,
)

ACTOR = "merge"
"""The history's actor for what the merge pass does."""

_LIVE = (CommitmentStatus.OPEN, CommitmentStatus.WAITING)


class MergeStore(StoreCore):
    """Merges one promise seen in several sources into one commitment; splits it on request."""

    @_retry_conflicts
    def merge_duplicates(self, *, ids: Collection[int] | None = None) -> int:
        """Merge commitments that are one promise said in different documents (:mod:`store.merge_rules`).

        ``ids``: only pairs with one of these commitments (the API's one document);
        ``None``: every candidate. Returns how many commitments were merged away.
        """
        if ids is not None and not ids:
            return 0  # nothing new to pair (a re-run on unchanged input)
        with self._tx() as s:
            self._lock(s, ITEM_STATUS_LOCK)
            _keep_in_step(s)
            rows = _candidates(s)
            said = _said(s, rows)
            groups: dict[int, list[int]] = {c.id: [c.id] for c in rows if c.merged_into is None}
            for c in rows:
                if c.merged_into is not None and c.merged_into in groups:
                    groups[c.merged_into].append(c.id)
            split = _split_ids(s)
            by_id = {c.id: c for c in rows}
            plans: list[_Plan] = []
            for x, y, score in _matches(said, groups, ids):
                rx, ry = _root(by_id, x), _root(by_id, y)
                if rx == ry or not (by_id[rx].status in _LIVE or by_id[ry].status in _LIVE):
                    continue
                both = groups[rx] + groups[ry]
                if not split.isdisjoint(both) or not _joinable(said, groups[rx], groups[ry]):
                    continue
                keep, gone = _survivor(by_id[rx], by_id[ry], said)
                plans.append(_Plan(keep.id, gone.id, [g for g in groups[gone.id] if g != gone.id], score))
                for g in groups[gone.id]:  # what _apply will write, on the rows this pass reads
                    if by_id[g].merged_into == gone.id or g == gone.id:
                        by_id[g].merged_into = keep.id
                gone.status = CommitmentStatus.MERGED
                groups[keep.id].extend(groups.pop(gone.id))
            _apply(s, plans)
            return len(plans)

    @_retry_conflicts
    def split_commitment(self, cid: int, *, actor: str = "cli") -> list[int]:
        """Undo the merges of ``cid``: a merged commitment leaves its survivor; a survivor gives every
        commitment merged into it back. Returns the ids of the commitments involved, ``cid``'s
        survivor (or ``cid``) first. :class:`NotFound` if there is no such commitment; a
        :class:`NotMerged` error when it was never merged.
        """
        with self._tx() as s:
            self._lock(s, ITEM_STATUS_LOCK)
            row = s.get(CommitmentRow, cid)
            if row is None:
                raise NotFound(f"no commitment with id {cid}")
            survivor_id = row.merged_into if row.merged_into is not None else cid
            gone = (
                [row]
                if row.merged_into is not None
                else list(s.scalars(select(CommitmentRow).where(CommitmentRow.merged_into == cid)))
            )
            if not gone:
                raise NotMerged(f"commitment {cid} was not merged with another: nothing to split")
            for g in gone:
                _unmerge(s, g, actor, remember=True)
            return [survivor_id, *(g.id for g in gone)]


class NotMerged(NotFound):
    """``split`` of a commitment that holds no merged commitment and was not merged itself."""


@dataclass(slots=True)
class _Row:
    """A candidate as the pass reads it: the columns the rules need, not an ORM object (the pass
    holds every live item of the store at once; the rows it merges are loaded when it does)."""

    id: int
    type: str
    status: CommitmentStatus
    owner: str | None
    owner_email: str | None
    counterparty: str | None
    counterparty_email: str | None
    action: str
    due: date | None
    deal_id: int | None
    merged_into: int | None
    document_id: int
    occurred_at: datetime
    thread: str
    evidence: list[tuple[int | None, int, int | None]] = field(default_factory=list)
    """Each piece of its evidence: (merged_from, document id, char_start)."""


def _candidates(s: Session) -> list[_Row]:
    """Grounded commitments the pass may merge, and those already merged into one of them."""
    c, d = CommitmentRow, DocumentRow
    closed = or_(c.status == CommitmentStatus.ANSWERED, c.status == CommitmentStatus.DONE)
    wanted = or_(c.status.in_(_LIVE), closed, c.merged_into.is_not(None))
    query = (
        select(
            c.id,
            c.type,
            c.status,
            c.flags,
            c.owner,
            c.owner_email,
            c.counterparty,
            c.counterparty_email,
            c.action,
            c.due,
            c.deal_id,
            c.merged_into,
            c.document_id,
            d.occurred_at,
            d.source,
            d.thread_id,
        )
        .join(d, d.id == c.document_id)
        .where(wanted)
        .order_by(c.id)
    )
    keep: dict[int, _Row] = {}
    shared: dict[str, str] = {}  # one object per distinct name, email and thread: the pass holds every row

    def one(text: str | None) -> str | None:
        return None if text is None else shared.setdefault(text, text)

    rows = s.connection().execute  # Core rows, streamed: the ORM's execute buffers every row first
    for r in rows(query):
        flags = r.flags or []
        if ItemFlag.UNGROUNDED in flags or (
            r.status == CommitmentStatus.DONE and ItemFlag.FULFILLED not in flags
        ):
            continue
        thread = (
            f"{r.source}:{r.thread_id}" if r.thread_id else f"doc:{r.document_id}"
        )  # recording.thread_scope
        keep[r.id] = _Row(
            r.id,
            shared.setdefault(r.type, r.type),
            r.status,
            one(r.owner),
            one(r.owner_email),
            one(r.counterparty),
            one(r.counterparty_email),
            r.action,
            r.due,
            r.deal_id,
            r.merged_into,
            r.document_id,
            r.occurred_at,
            shared.setdefault(thread, thread),
        )
    e = EvidenceRow
    held = select(e.commitment_id, e.merged_from, e.document_id, e.char_start).join(
        c, c.id == e.commitment_id
    )
    for cid, merged_from, doc_id, start in rows(held.where(wanted)):
        row = keep.get(cid)
        if row is not None:
            row.evidence.append((merged_from, doc_id, start))
    return [r for r in keep.values() if r.merged_into is None or r.merged_into in keep]


def _said(s: Session, rows: list[_Row]) -> dict[int, Said]:
    """Each row as the merge rules see it; the account from its deal, else its counterparty's contact;
    ``listed`` when its first evidence in its own document (held by a survivor once it is merged) lies
    in the action-item list (read only where another row shares its document: the rules compare
    ``listed`` within one document only, so no other document's text is loaded)."""
    by_id = {r.id: r for r in rows}
    deal_ids = {r.deal_id for r in rows if r.deal_id is not None}
    deal_account: dict[int, int] = {}
    if deal_ids:
        for deal_id, account_id in s.execute(
            select(DealRow.id, DealRow.account_id).where(DealRow.id.in_(deal_ids))
        ):
            deal_account[deal_id] = account_id
    emails = {r.counterparty_email for r in rows if r.counterparty_email}
    contact_account: dict[str, int] = {}
    if emails:
        query = select(ContactRow.email, ContactRow.account_id).where(
            ContactRow.email.in_(emails), ContactRow.account_id.is_not(None)
        )
        for email, contact_account_id in s.execute(query):
            if contact_account_id is not None:
                contact_account[email] = contact_account_id
    starts: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        for merged_from, doc_id, start in r.evidence:
            said_by = by_id.get(merged_from or r.id)
            if said_by is not None and doc_id == said_by.document_id and start is not None:
                starts[said_by.id].append(start)
    listed = _listed(s, rows, starts)
    out: dict[int, Said] = {}
    for r in rows:
        account = deal_account.get(r.deal_id) if r.deal_id is not None else None
        if account is None and r.counterparty_email:
            account = contact_account.get(r.counterparty_email.lower())
        out[r.id] = Said(
            id=r.id,
            type=r.type,
            owner=r.owner,
            owner_email=r.owner_email,
            counterparty=r.counterparty,
            counterparty_email=r.counterparty_email,
            account=str(account) if account is not None else None,
            action=r.action,
            due=r.due,
            said_on=r.occurred_at.date(),
            document=r.document_id,
            thread=r.thread,
            listed=r.id in listed,
        )
    return out


def _listed(s: Session, rows: list[_Row], starts: dict[int, list[int]]) -> set[int]:
    """The rows said in their document's action-item list (:func:`merge_rules.action_item_line`),
    among those whose document holds another row; each such document's text read once, in chunks."""
    by_document: dict[int, list[_Row]] = defaultdict(list)
    for r in rows:
        if starts[r.id]:
            by_document[r.document_id].append(r)
    shared = sorted(d for d, rs in by_document.items() if len(rs) > 1)
    out: set[int] = set()
    for i in range(0, len(shared), 100):
        query = select(DocumentRow.id, DocumentRow.text).where(DocumentRow.id.in_(shared[i : i + 100]))
        for doc_id, text in s.execute(query):
            out.update(
                r.id for r in by_document[doc_id] if merge_rules.action_item_line(text, min(starts[r.id]))
            )
    return out


def _owner_key(x: Said) -> tuple[str, str]:
    """Items that can have the same owner share this key: their kind and the owner's first name word."""
    words = merge_rules.name_words(x.owner, None) or merge_rules.name_words(None, x.owner_email)
    return x.type, words[0] if words else ""


def _matches(
    said: dict[int, Said], groups: dict[int, list[int]], ids: Collection[int] | None
) -> list[tuple[int, int, float]]:
    """Pairs of group heads judged one promise, best first; with ``ids``, pairs touching one of them."""
    buckets: dict[tuple[str, str], list[Said]] = defaultdict(list)
    for head in groups:
        key = _owner_key(said[head])
        if key[1]:
            buckets[key].append(said[head])
    wanted = set(ids) if ids is not None else None
    found: list[tuple[int, int, float]] = []
    for items in buckets.values():
        items.sort(key=lambda x: (x.said_on, x.id))
        for a, b in _pairs(items):
            if wanted is not None and a.id not in wanted and b.id not in wanted:
                continue
            v = merge_rules.judge(a, b)
            if v.same:
                found.append((a.id, b.id, v.score))
    found.sort(key=lambda m: (-m[2], m[0], m[1]))
    return found


def _stems(x: Said) -> frozenset[str]:
    """The first three letters of each content word of ``x``'s action: two words the merge rules
    count as one (equal, one a prefix of the other, a near spelling) nearly always share them."""
    return frozenset(w[:3] for w in merge_rules.content_words(x.action))


def _pairs(items: list[Said]) -> Iterator[tuple[Said, Said]]:
    """The pairs of ``items`` (sorted by day) worth judging: at most
    :data:`merge_rules.WINDOW_DAYS` apart, sharing a word stem (:func:`_stems`; an action with
    no content word is like no other and is paired with none), and not of two different known
    accounts. The pairs the rules can find by judging every pair in the window, without judging
    those they would refuse at once.

    Each item is paired with the earlier ones still in the window (a sliding inverted index from
    stem to items), in the order the full scan met them.
    """
    window: deque[tuple[Said, frozenset[str]]] = deque()
    postings: dict[tuple[str | None, str], deque[int]] = defaultdict(deque)  # (account, stem) → ids
    anywhere: dict[str, deque[int]] = defaultdict(deque)  # stem → ids, whatever the account
    inside: dict[int, tuple[int, Said]] = {}  # id → (position, item) of the items in the window
    for n, b in enumerate(items):
        while window and (b.said_on - window[0][0].said_on).days > merge_rules.WINDOW_DAYS:
            old, old_stems = window.popleft()
            del inside[old.id]
            for stem in old_stems:  # items leave in the order they came: the oldest is first
                postings[old.account, stem].popleft()
                anywhere[stem].popleft()
        stems = _stems(b)  # none: no content word, so no action can be like it (never merged)
        if b.account:  # two different known accounts are never one promise (merge_rules.same_party)
            lists = [postings[acct, stem] for stem in stems for acct in (b.account, None)]
        else:
            lists = [anywhere[stem] for stem in stems]
        candidates = {aid for ids in lists for aid in ids}
        for _, a in sorted(inside[aid] for aid in candidates):
            yield a, b
        window.append((b, stems))
        inside[b.id] = (n, b)
        for stem in stems:
            postings[b.account, stem].append(b.id)
            anywhere[stem].append(b.id)


def _root(by_id: dict[int, _Row], cid: int) -> int:
    while by_id[cid].merged_into is not None:
        cid = by_id[cid].merged_into or cid
    return cid


def _split_ids(s: Session) -> set[int]:
    """Every commitment on either side of a split a person made: the pass never merges it again."""
    return {
        cid
        for pair in s.execute(select(CommitmentSplitRow.commitment_id, CommitmentSplitRow.other_id))
        for cid in pair
    }


def _joinable(said: dict[int, Said], xs: Iterable[int], ys: list[int]) -> bool:
    """Every member of one group is the same promise as every member of the other."""
    return all(merge_rules.judge(said[x], said[y]).same for x in xs for y in ys)


def _survivor(a: _Row, b: _Row, said: dict[int, Said]) -> tuple[_Row, _Row]:
    """(kept, merged away): see the module docstring."""

    same_document = said[a.id].document == said[b.id].document

    def rank(c: _Row) -> tuple[bool, bool, object, bool, int]:
        listed = same_document and said[c.id].listed
        return (c.status not in _LIVE, c.due is not None, said[c.id].said_on, listed, -c.id)

    return (a, b) if rank(a) >= rank(b) else (b, a)


@dataclass(frozen=True)
class _Plan:
    """One merge the pass decided: ``gone`` (and ``members``, merged into it before) into ``keep``."""

    keep: int
    gone: int
    members: list[int]
    score: float


def _apply(s: Session, plans: list[_Plan]) -> None:
    """Carry out the pass's merges, in the order it decided them, with one read of the rows, evidence
    and documents they touch and one flush (not several statements and a flush per merge)."""
    if not plans:
        return
    involved = sorted({i for p in plans for i in (p.keep, p.gone, *p.members)})
    rows: dict[int, CommitmentRow] = {}
    for chunk in chunked(involved):
        rows.update((c.id, c) for c in s.scalars(select(CommitmentRow).where(CommitmentRow.id.in_(chunk))))
    gone_ids = sorted({p.gone for p in plans})
    evidence: dict[int, list[EvidenceRow]] = defaultdict(list)
    for chunk in chunked(gone_ids):
        query = select(EvidenceRow).where(EvidenceRow.commitment_id.in_(chunk)).order_by(EvidenceRow.id)
        for e in s.scalars(query):
            evidence[e.commitment_id].append(e)
    where: dict[int, tuple[str, str]] = {}
    for chunk in chunked(sorted({rows[g].document_id for g in gone_ids})):
        placed = select(DocumentRow.id, DocumentRow.source, DocumentRow.external_id).where(
            DocumentRow.id.in_(chunk)
        )
        where.update((doc_id, (source, external_id)) for doc_id, source, external_id in s.execute(placed))
    for p in plans:
        _merge(s, rows, evidence, where, p)
    s.flush()


def _merge(
    s: Session,
    rows: dict[int, CommitmentRow],
    evidence: dict[int, list[EvidenceRow]],
    where: dict[int, tuple[str, str]],
    plan: _Plan,
) -> None:
    """Fold ``plan.gone`` (and what was merged into it: among ``plan.members``, its group) into
    ``plan.keep``; ``evidence``: each gone commitment's evidence rows, kept in step as they move."""
    now = utcnow()
    keep, gone = rows[plan.keep], rows[plan.gone]
    moved = evidence.pop(gone.id, [])
    for e in moved:
        e.commitment_id = keep.id
        e.merged_from = e.merged_from or gone.id
    evidence[keep.id].extend(moved)
    for other in (rows[m] for m in plan.members):
        if other.merged_into == gone.id:
            s.add(
                history_entry(
                    other.id, "merged_into", gone.id, keep.id, ACTOR, f"#{gone.id} merged into #{keep.id}"
                )
            )
            other.merged_into = keep.id
            other.updated_at = now
    source, external_id = where[gone.document_id]
    note = f"the same promise, seen again in {source} {external_id} (similarity {plan.score:.2f})"
    s.add(history_entry(keep.id, "merged", None, gone.id, ACTOR, note))
    s.add(
        history_entry(
            gone.id, "status", gone.status, CommitmentStatus.MERGED, ACTOR, f"merged into #{keep.id}"
        )
    )
    s.add(history_entry(gone.id, "merged_into", None, keep.id, ACTOR, None))
    gone.status = CommitmentStatus.MERGED
    gone.snoozed_until = None
    gone.merged_into = keep.id
    gone.updated_at = keep.updated_at = now


def _status_before_merge(s: Session, cid: int) -> CommitmentStatus:
    """The status the last merge replaced (``open`` when the history does not say)."""
    h = CommitmentHistoryRow
    old = s.scalar(
        select(h.old)
        .where(h.commitment_id == cid, h.field == "status", h.new == CommitmentStatus.MERGED.value)
        .order_by(h.id.desc())
        .limit(1)
    )
    try:
        return CommitmentStatus(old) if old and old != CommitmentStatus.MERGED else CommitmentStatus.OPEN
    except ValueError:
        return CommitmentStatus.OPEN


def _unmerge(s: Session, gone: CommitmentRow, actor: str, *, remember: bool) -> None:
    """Give ``gone`` its evidence and status back; with ``remember``, the pass never merges either again."""
    survivor = gone.merged_into
    now = utcnow()
    if survivor is not None:
        for e in list(
            s.scalars(
                select(EvidenceRow).where(
                    EvidenceRow.commitment_id == survivor, EvidenceRow.merged_from == gone.id
                )
            )
        ):
            e.commitment_id = gone.id
            e.merged_from = None
        if remember and s.get(CommitmentRow, survivor) is not None:
            pair = (min(gone.id, survivor), max(gone.id, survivor))
            exists = s.scalar(
                select(CommitmentSplitRow.id).where(
                    CommitmentSplitRow.commitment_id == pair[0], CommitmentSplitRow.other_id == pair[1]
                )
            )
            if exists is None:
                s.add(CommitmentSplitRow(commitment_id=pair[0], other_id=pair[1], split_at=now, actor=actor))
            s.add(history_entry(survivor, "split", gone.id, None, actor, f"#{gone.id} split off"))
    if gone.status == CommitmentStatus.MERGED:
        status = _status_before_merge(s, gone.id)
        s.add(history_entry(gone.id, "status", gone.status, status, actor, f"split from #{survivor}"))
        gone.status = status
    s.add(history_entry(gone.id, "merged_into", survivor, None, actor, None))
    gone.merged_into = None
    gone.updated_at = now
    s.flush()


def _keep_in_step(s: Session) -> None:
    """Repair merged commitments after re-extraction, a person's status change or a deleted survivor."""
    c = CommitmentRow
    merged = s.scalars(select(c).where(c.merged_into.is_not(None)).options(selectinload(c.evidence))).all()
    for row in merged:
        survivor = s.get(CommitmentRow, row.merged_into) if row.merged_into is not None else None
        if survivor is None:
            _unmerge(s, row, ACTOR, remember=False)
        elif row.status != CommitmentStatus.MERGED:
            _unmerge(s, row, ACTOR, remember=True)  # a person reopened it: that is a split
        elif row.evidence:
            docs = {e.document_id for e in row.evidence}
            for e in list(
                s.scalars(
                    select(EvidenceRow).where(
                        EvidenceRow.commitment_id == survivor.id,
                        EvidenceRow.merged_from == row.id,
                        EvidenceRow.document_id.in_(docs),
                    )
                )
            ):
                s.delete(e)
            for e in list(row.evidence):
                e.commitment_id = survivor.id
                e.merged_from = row.id
            s.flush()
            s.expire(row, ["evidence"])
