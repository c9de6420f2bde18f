"""Issue 14, notifications under concurrency: digests started at the same time (three cron jobs, a
digest overlapping ``run --notify``) announce each item once, because each claims its (item,
recipient, channel) rows in the database, committed before it sends; a claimant that crashed
leaves a claim that lapses after the lease, and the items are retried then.

Real SMTP server on loopback (aiosmtpd, answering slowly so that the digests overlap), real SQLite
and PostgreSQL; three threads, each with its own store, and three ``followthrough`` processes.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from followthrough.notify import NotifyReport, deliver
from followthrough.notify.deliver import CLAIM_LEASE, open_items
from followthrough.notify.digest import fingerprint
from followthrough.notify.mail import EmailChannel
from followthrough.notify.settings import parse_smtp_url
from store import Store
from store.models import utcnow
from tests.api_support import BACKENDS, database
from tests.clirunner import followthrough_process
from tests.notify_support import AS_OF, LOGS, PRICING, PUBLIC, SOC2, SSO, Inbox, seed, smtp_server

MARCO, PRIYA = "marco@northwind.io", "priya@northwind.io"
SENDER = "followthrough@northwind.io"


class SlowInbox(Inbox):
    """An inbox that takes ``delay`` seconds to accept each message (each connection on its own)."""

    delay: float = 0.4

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd)
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("backend", BACKENDS)
def test_three_digests_at_once_deliver_one_message_per_owner(backend: str, tmp_path: Path) -> None:
    with database(backend, "notify_claims", tmp_path) as url:
        seed(url)
        inbox = SlowInbox()
        reports: list[NotifyReport] = []
        errors: list[BaseException] = []
        with smtp_server(inbox) as port:
            settings = parse_smtp_url(f"smtp://127.0.0.1:{port}", SENDER)
            start = threading.Barrier(3)

            def digest() -> None:
                try:
                    with Store(url) as store:
                        start.wait(timeout=30)
                        reports.append(
                            deliver(store, [EmailChannel(settings)], as_of=AS_OF, public_url=PUBLIC)
                        )
                except BaseException as e:  # noqa: BLE001 - reported by the test below
                    errors.append(e)

            threads = [threading.Thread(target=digest) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
        assert not errors, errors
        assert sorted(r for m in inbox.messages for r in m.rcpt_tos) == [MARCO, PRIYA]
        channels = [c for r in reports for c in r.channels]
        assert sum(c.items for c in channels) == 4 and sum(c.messages for c in channels) == 2
        assert sum(c.skipped for c in channels) == 2 * 4  # the other two digests skipped every item
        with Store(url) as store:
            rows = store.deliveries("email")
        assert len(rows) == 4 and all(d.announced and d.claimed_by is None for d in rows)


@pytest.mark.parametrize("backend", BACKENDS)
def test_three_digest_processes_at_once_deliver_one_message_per_owner(backend: str, tmp_path: Path) -> None:
    with database(backend, "notify_claims_cli", tmp_path) as url:
        seed(url)
        inbox = SlowInbox()
        with smtp_server(inbox) as port:
            env = {
                "FOLLOWTHROUGH_SMTP_URL": f"smtp://127.0.0.1:{port}",
                "FOLLOWTHROUGH_MAIL_FROM": SENDER,
                "FOLLOWTHROUGH_PUBLIC_URL": PUBLIC,
            }
            args = ("--as-of", AS_OF.isoformat(), "digest", "--send", "email")
            codes: list[int] = []

            def digest() -> None:
                codes.append(followthrough_process(*args, db=url, env=env, timeout=240).returncode)

            threads = [threading.Thread(target=digest) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=300)
        assert codes == [0, 0, 0]
        assert sorted(r for m in inbox.messages for r in m.rcpt_tos) == [MARCO, PRIYA]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_claim_holds_for_its_lease_then_lapses(backend: str, tmp_path: Path) -> None:
    with database(backend, "notify_lease", tmp_path) as url:
        ids = seed(url)
        with Store(url) as store:
            mine = {ids[PRICING], ids[SSO], ids[LOGS]}
            items = {i.id: i for i in open_items(store, AS_OF) if i.id in mine}
            prints = {cid: fingerprint(item, AS_OF) for cid, item in items.items()}
            t0 = utcnow()
            lease = CLAIM_LEASE

            # a digest claims Marco's items, then crashes: nobody records them
            assert store.claim_deliveries("email", MARCO, prints, "crashed", lease=lease, at=t0) == set(
                prints
            )
            assert all(d.claimed_by == "crashed" for d in store.deliveries("email", [MARCO]))
            # within the lease another digest gets none of them; the same claimant gets them again
            half = t0 + lease / 2
            assert store.claim_deliveries("email", MARCO, prints, "other", lease=lease, at=half) == set()
            assert store.claim_deliveries("email", MARCO, prints, "crashed", lease=lease, at=half) == set(
                prints
            )
            # past the lease the next digest retries them
            late = half + lease + timedelta(seconds=1)
            assert store.claim_deliveries("email", MARCO, prints, "next", lease=lease, at=late) == set(prints)
            # recording ends the claim; an item announced in that state is not claimed again
            store.record_deliveries("email", MARCO, prints)
            assert all(d.claimed_by is None and d.announced for d in store.deliveries("email", [MARCO]))
            assert store.claim_deliveries("email", MARCO, prints, "again", lease=lease) == set()
            # a channel's claims are its own; released claims can be taken at once
            soc2 = {ids[SOC2]: "f" * 32}
            assert store.claim_deliveries("slack", PRIYA, soc2, "a", lease=lease) == set(soc2)
            assert store.claim_deliveries("email", PRIYA, soc2, "b", lease=lease) == set(soc2)
            assert store.release_claims("slack", PRIYA, "a", soc2) == 1
            assert store.claim_deliveries("slack", PRIYA, soc2, "c", lease=lease) == set(soc2)
            # an item deleted meanwhile is left out
            assert store.claim_deliveries("email", PRIYA, {10**9: "x" * 32}, "d", lease=lease) == set()


def test_the_lease_outlasts_one_message() -> None:
    from followthrough.notify.slack import RATE_LIMIT_WAIT_S

    assert CLAIM_LEASE >= timedelta(minutes=10) > timedelta(seconds=RATE_LIMIT_WAIT_S)
