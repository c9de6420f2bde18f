"""``/v1/deals``: deals with their commitment counts, and one deal's commitments with its health."""

from __future__ import annotations

from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, Path

from followthrough.api.auth import Reader
from followthrough.api.problems import responses
from followthrough.api.schemas import CrmId, DealCommitments, DealHealth, DealList
from followthrough.api.state import ApiState, api_state
from store import NotFound

router = APIRouter(prefix="/v1/deals", tags=["deals"])

State = Annotated[ApiState, Depends(api_state)]
HealthStatus = Literal["at risk", "attention", "on track", "clear"]


@router.get("", response_model=DealList, responses=responses(401, 503))
def list_deals(principal: Reader, state: State) -> DealList:
    """Every deal with its open, overdue and due-soon counts and health, worst first."""
    return DealList(items=state.store.list_deals(state.as_of()))


@router.get("/{deal_id}/commitments", response_model=DealCommitments, responses=responses(401, 404, 422, 503))
def deal_commitments(
    principal: Reader,
    state: State,
    deal_id: Annotated[CrmId, Path(description="The deal's CRM id.")],
) -> DealCommitments:
    """The deal, a health summary, and every commitment linked to it (open ones first, by priority)."""
    as_of = state.as_of()
    items = state.store.deal_commitments(deal_id, as_of)
    deal = next((d for d in state.store.list_deals(as_of) if d.crm_id == deal_id), None)
    if deal is None:
        raise NotFound(f"no deal with CRM id {deal_id!r}")
    health = DealHealth(
        status=cast(HealthStatus, deal.health),
        open=deal.open_count,
        overdue=deal.overdue_count,
        due_soon=deal.due_soon_count,
        done=deal.done_count,
        total=deal.total_count,
    )
    return DealCommitments(deal=deal, health=health, items=items)
