"""What customers owe us: their promises (status ``waiting``), and the nudges overdue ones call for.

A customer's promise ("I'll get the PO number to you by Friday", "Raj: send the PO number" in meeting
notes) is stored owned by the customer, with status ``waiting``: it is never in our open lists. Once
its due date has passed, it is a nudge for the owner of the deal it belongs to (the CRM's deal owner),
shown in the report and in that person's digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.console import Console

from store import CommitmentView

_MAX_ROWS = 50


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


def waiting_on_customers(items: list[CommitmentView], deal_owners: dict[str, str | None]) -> list[Waiting]:
    """``items`` (the customers' promises, status ``waiting``), overdue first (most days late), then by
    due date, undated last. ``deal_owners``: deal CRM id -> its owner's email."""
    out = [Waiting(c, deal_owners.get(c.deal.crm_id) if c.deal else None) for c in items]
    return sorted(out, key=lambda w: (-(w.item.overdue_days or 0), w.item.due or date.max, w.item.id))


def render_waiting(out: Console, title: str, items: list[Waiting]) -> None:
    """Each promise as a short block: who owes what, when, on which deal, and whom to nudge."""
    out.print(f"\n[bold]{title}[/bold]" + ("" if items else ": none"))
    for w in items[:_MAX_ROWS]:
        c = w.item
        who = c.owner_email or c.owner or "the customer"
        due = f" · due {c.due.isoformat()}" if c.due else ""
        late = f" ({c.overdue_days}d late)" if c.overdue_days else ""
        deal = c.deal.name if c.deal else "unlinked"
        out.print(f"  #{c.id} {who}{due}{late} · {deal}", highlight=False, markup=False)
        out.print(f"      {c.action}", highlight=False, markup=False, overflow="fold")
        if w.nudge:
            nudge = f"nudge: {w.deal_owner} to chase" if w.deal_owner else "nudge: chase"
            out.print(f"      {nudge} (promised {c.due_text or c.due})", style="yellow", markup=False)
    if len(items) > _MAX_ROWS:
        out.print(f"  … {len(items) - _MAX_ROWS} more: followthrough commitments list --status waiting")
