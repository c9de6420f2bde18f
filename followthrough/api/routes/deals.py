"""``/v1/deals``: deals with their commitment counts, a page at a time, and one deal's commitments
with its health."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from followthrough.api.auth import Reader
from followthrough.api.problems import responses
from followthrough.api.schemas import CrmId, DealCommitments, DealHealthSummary, Expand, Text
from followthrough.api.state import ApiState, api_state
from followthrough.types import CommitmentStatus
from store import CommitmentSummary, DealPage, DealRef, health

router = APIRouter(prefix="/v1/deals", tags=["deals"])

State = Annotated[ApiState, Depends(api_state)]


@router.get("", response_model=DealPage, responses=responses(401, 422, 503))
def list_deals(
    principal: Reader,
    state: State,
    limit: Annotated[int, Query(ge=1, le=500, description="Deals per page (default 50, at most 500).")] = 50,
    cursor: Annotated[
        Text | None, Query(max_length=500, description="`next_cursor` from the previous page.")
    ] = None,
) -> DealPage:
    """Deals in a stable order (as the CRM import gave them), each with its open, overdue and due-soon
    counts and health, 50 a page.

    Follow `next_cursor` until it is null to see every deal exactly once (`followthrough deals` ranks
    them all worst first).
    """
    return state.store.deal_page(state.as_of(), limit=limit, cursor=cursor or None)


@router.get("/{deal_id}/commitments", response_model=DealCommitments, responses=responses(401, 404, 422, 503))
def deal_commitments(
    principal: Reader,
    state: State,
    deal_id: Annotated[CrmId, Path(description="The deal's CRM id.")],
    expand: Expand = None,
) -> DealCommitments:
    """The deal, a health summary, and every commitment linked to it (open ones first, by priority),
    each a summary as `GET /v1/commitments` lists it (`expand=evidence` adds the quotes)."""
    as_of = state.as_of()
    # NotFound for an unknown deal
    items = state.store.deal_summaries(deal_id, as_of, evidence=expand == "evidence")
    if items and items[0].deal is not None:
        deal = items[0].deal
    else:  # no commitments: the deal's details come from the deal listing
        view = state.store.get_deal(deal_id)
        deal = DealRef(
            crm_id=view.crm_id,
            name=view.name,
            account=view.account,
            stage=view.stage,
            amount=view.amount,
            close_date=view.close_date,
            tier=view.tier,
        )
    return DealCommitments(deal=deal, health=summarize(items, as_of), items=items)


def summarize(items: list[CommitmentSummary], as_of: date) -> DealHealthSummary:
    """Counts as ``GET /v1/deals`` gives them: overdue = open and past due; due soon = within 3 days."""
    open_ = [i for i in items if i.status is CommitmentStatus.OPEN]
    overdue = sum(1 for i in open_ if i.due is not None and i.due < as_of)
    soon = sum(1 for i in open_ if i.due is not None and 0 <= (i.due - as_of).days <= 3)
    return DealHealthSummary(
        status=health(len(open_), overdue, soon),
        open=len(open_),
        overdue=overdue,
        due_soon=soon,
        done=sum(1 for i in items if i.status.closed),
        total=len(items),
    )
