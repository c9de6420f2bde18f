"""Deliver each owner's new or changed open items, once, on each channel, and record what was told.

For each channel: read what each owner was told before (:meth:`store.Store.deliveries`), find their
open items whose :func:`~followthrough.notify.digest.fingerprint` differs (new, changed, or a failed
send waiting for its retry), send one message per owner that has any, and record the result: a
delivered message marks its items announced; a failed one leaves them pending with its error line,
so the next digest (or ``run --notify``) tries again. Pending sends about items that are no longer
the owner's open items (done, dismissed, handed to someone else) are dropped. Delivery is at least
once: a message delivered just before the database failed to record it is sent again next time.

Concurrent digests (cron jobs started together, a digest overlapping ``run --notify``) announce each
item once: before sending, a digest claims the (item, recipient, channel) rows in the database
(:meth:`store.Store.claim_deliveries`, committed before the send) and sends only the items it
claimed; items another digest claimed are skipped (:attr:`ChannelReport.skipped`). A digest that
crashed between its claim and its record leaves the claim to lapse after :data:`CLAIM_LEASE`; the
next digest then retries the items.

A message holds what its channel can show (:meth:`~followthrough.notify.base.Channel.fit`: a Slack
message at most 50 blocks); the items left out are not announced (their claims are released,
:attr:`ChannelReport.held`) and are in the next digest, which the message says.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from followthrough.errors import ConfigError
from followthrough.notify.base import Channel, DeliveryFailed
from followthrough.notify.digest import OwnerDigest, build, fingerprint
from followthrough.notify.settings import ChannelName
from followthrough.types import CommitmentStatus
from store import CommitmentFilter, CommitmentView, Delivery, PersonView, Store, Unresolved, owner_email

_PAGE = 1000
CLAIM_LEASE = timedelta(minutes=10)
"""How long a digest's claim on the items it is sending holds: a claimant that crashed (or hangs
longer than this) lets the next digest retry its items after it. Longer than one message can take
(an SMTP timeout is at most 600 s; a Slack message waits at most 60 s for its rate limit)."""


@dataclass
class Failure:
    """A message not delivered: to ``recipient``, about ``items`` items, and why (one line)."""

    recipient: str
    items: int
    error: str


@dataclass
class ChannelReport:
    """What one channel did: ``messages`` delivered about ``items`` items (``retried`` of them failed
    before), ``failed`` messages (each pending for the next run), pending sends ``dropped`` (their
    items closed or reassigned), items ``skipped`` (another digest running at the same time claimed
    them and is sending them), items ``held`` (they did not fit in their message: kept for the next
    digest), and ``previews`` (a dry run: the messages it would have sent)."""

    channel: ChannelName
    messages: int = 0
    items: int = 0
    retried: int = 0
    failed: list[Failure] = field(default_factory=list)
    dropped: int = 0
    skipped: int = 0
    held: int = 0
    previews: list[OwnerDigest] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel.value,
            "messages": self.messages,
            "items": self.items,
            "retried": self.retried,
            "dropped": self.dropped,
            "skipped": self.skipped,
            "held": self.held,
            "failed": [{"recipient": f.recipient, "items": f.items, "error": f.error} for f in self.failed],
            "previews": [
                {"recipient": d.email, "items": [e.item.id for e in d.entries]} for d in self.previews
            ],
        }


@dataclass
class NotifyReport:
    """Every channel's :class:`ChannelReport`, and the open items no one can be told about
    (``unaddressed``: their owner has no email address)."""

    as_of: date
    channels: list[ChannelReport] = field(default_factory=list)
    unaddressed: int = 0

    @property
    def failed(self) -> int:
        return sum(len(c.failed) for c in self.channels)

    @property
    def delivered(self) -> int:
        return sum(c.messages for c in self.channels)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "channels": [c.as_dict() for c in self.channels],
            "unaddressed": self.unaddressed,
        }


def open_items(store: Store, as_of: date, owner: str | None = None) -> list[CommitmentView]:
    """Every open item on ``as_of`` (of ``owner`` only, as ``--owner`` names people), with evidence."""
    f = CommitmentFilter(status=CommitmentStatus.OPEN, owner=owner, as_of=as_of, limit=_PAGE)
    out: list[CommitmentView] = []
    while True:
        page = store.list_commitments(f)
        out += page.items
        if page.next_cursor is None:
            return out
        f = f.model_copy(update={"cursor": page.next_cursor})


def _person(store: Store, email: str, items: Sequence[CommitmentView]) -> PersonView:
    try:
        return store.find_person(email)
    except Unresolved:
        return PersonView(email=email, name=next((i.owner_name for i in items if i.owner_name), None))


def deliver(
    store: Store,
    channels: Sequence[Channel],
    *,
    as_of: date,
    public_url: str,
    owner: str | None = None,
    dry_run: bool = False,
) -> NotifyReport:
    """Tell each owner (``owner`` only, when given: an email or a name as ``--owner`` takes it) what is
    new or changed among their open items on ``as_of``, one message per owner per channel; links are
    ``{public_url}/items/{id}``. ``dry_run``: build the messages (:attr:`ChannelReport.previews`),
    send and record nothing. :class:`ConfigError` when ``owner`` has no email address;
    :class:`store.Unresolved` when it names no one. Sending problems never raise: see
    :attr:`ChannelReport.failed`."""
    recipients: list[str] | None = None
    if owner is not None:
        person = store.find_person(owner)
        if not person.email:
            raise ConfigError(f"{person.name or owner} has no email address: there is no one to send to")
        recipients = [person.email.lower()]
    items = open_items(store, as_of, owner)
    by_owner: dict[str, list[CommitmentView]] = defaultdict(list)
    report = NotifyReport(as_of=as_of)
    for item in items:
        if email := owner_email(item):
            by_owner[email.lower()].append(item)
        else:
            report.unaddressed += 1
    claimant = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
    for channel in channels:
        known = {(d.commitment_id, d.recipient): d for d in store.deliveries(channel.name, recipients)}
        result = ChannelReport(channel=channel.name)
        report.channels.append(result)
        if not dry_run:
            result.dropped = _drop_stale(store, channel.name, known, by_owner)
        with channel:
            for email in sorted(by_owner):
                _one(
                    store,
                    channel,
                    email,
                    by_owner[email],
                    known,
                    result,
                    as_of,
                    public_url,
                    dry_run,
                    claimant,
                )
    return report


def _drop_stale(
    store: Store,
    channel: ChannelName,
    known: dict[tuple[int, str], Delivery],
    by_owner: dict[str, list[CommitmentView]],
) -> int:
    """Forget pending sends about items no longer their recipient's open items; how many."""
    current = {(i.id, email) for email, its in by_owner.items() for i in its}
    stale: dict[str, list[int]] = defaultdict(list)
    for (cid, recipient), d in known.items():
        if d.pending is not None and (cid, recipient) not in current:
            stale[recipient].append(cid)
    return sum(store.drop_pending(channel, r, ids) for r, ids in sorted(stale.items()))


def _one(
    store: Store,
    channel: Channel,
    email: str,
    items: list[CommitmentView],
    known: dict[tuple[int, str], Delivery],
    result: ChannelReport,
    as_of: date,
    public_url: str,
    dry_run: bool,
    claimant: str,
) -> None:
    """Send ``email`` their new or changed ``items`` (if any) on ``channel`` and record the outcome:
    claim them first (``claimant``: this digest), send those claimed that fit in one message, record
    them, and release the claims of those that did not fit."""
    prints = {i.id: fingerprint(i, as_of) for i in items}
    before = {i.id: known.get((i.id, email)) for i in items}
    fresh = [i for i in items if (d := before[i.id]) is None or d.announced != prints[i.id]]
    if not fresh:
        return
    if not dry_run:
        mine = store.claim_deliveries(
            channel.name, email, {i.id: prints[i.id] for i in fresh}, claimant, lease=CLAIM_LEASE
        )
        result.skipped += len(fresh) - len(mine)
        fresh = [i for i in fresh if i.id in mine]
        if not fresh:
            return
    told = {i.id for i in fresh if (d := before[i.id]) is not None and d.announced is not None}
    digest = channel.fit(build(_person(store, email, fresh), fresh, told, as_of=as_of, public_url=public_url))
    if dry_run:
        result.previews.append(digest)
        return
    shown = {e.item.id for e in digest.entries}
    left = [i.id for i in fresh if i.id not in shown]
    if left:
        store.release_claims(channel.name, email, claimant, left)
        result.held += len(left)
    sent = {cid: prints[cid] for cid in sorted(shown)}
    try:
        channel.send(digest)
    except DeliveryFailed as e:
        store.record_deliveries(channel.name, email, sent, error=str(e))
        result.failed.append(Failure(recipient=email, items=len(sent), error=str(e)))
        return
    store.record_deliveries(channel.name, email, sent)
    result.messages += 1
    result.items += len(sent)
    result.retried += sum(1 for cid in shown if (d := before[cid]) is not None and d.pending is not None)
