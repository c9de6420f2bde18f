"""What customers owe us: their promises (status ``waiting``), and the nudges overdue ones call for.

A customer's promise ("I'll get the PO number to you by Friday", "Raj: send the PO number" in meeting
notes) is stored owned by the customer, with status ``waiting``: it is never in our open lists. Once
its due date has passed, it is a nudge for the owner of the deal it belongs to (the CRM's deal owner),
shown in the report and in that person's digest.
"""

from __future__ import annotations

from rich.console import Console

from followthrough.attention import Waiting, waiting_on_customers

_MAX_ROWS = 50


def render_waiting(
    out: Console,
    title: str,
    items: list[Waiting],
    *,
    total: int | None = None,
    again: str = "followthrough",
) -> None:
    """Each promise as a short block: who owes what, when, on which deal, and whom to nudge.

    ``total``: how many there are in all when ``items`` holds only the first of them."""
    out.print(f"\n[bold]{title}[/bold]" + ("" if items else ": none"))
    for w in items[:_MAX_ROWS]:
        c = w.item
        who = c.owner or "the customer"
        due = f" · due {c.due.isoformat()}" if c.due else ""
        late = f" ({c.overdue_days}d late)" if c.overdue_days else ""
        deal = c.deal.name if c.deal else "unlinked"
        out.print(f"  #{c.id} {who}{due}{late} · {deal}", highlight=False, markup=False)
        out.print(f"      {c.action}", highlight=False, markup=False, overflow="fold")
        if w.nudge:
            nudge = f"nudge: {w.deal_owner} to chase" if w.deal_owner else "nudge: chase"
            out.print(f"      {nudge} (promised {c.due_text or c.due})", style="yellow", markup=False)
    more = (len(items) if total is None else total) - min(len(items), _MAX_ROWS)
    if more > 0:
        out.print(
            f"  … {more} more: {again} commitments list --status waiting", highlight=False, markup=False
        )


__all__ = ["Waiting", "render_waiting", "waiting_on_customers"]
