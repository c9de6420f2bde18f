"""``/v1/accounts``: accounts with their deals, open items, last touch by us and by them; silent ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from followthrough.api.auth import Reader
from followthrough.api.problems import responses
from followthrough.api.schemas import Text
from followthrough.api.state import ApiState, api_state
from followthrough.config import silent_days
from store import AccountDetail, AccountFilter, AccountPage

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

State = Annotated[ApiState, Depends(api_state)]


@router.get("", response_model=AccountPage, responses=responses(401, 422, 503))
def list_accounts(
    principal: Reader,
    state: State,
    silent: Annotated[
        bool,
        Query(
            description="Only silent accounts: an open deal (or a tier with its own limit in "
            "FOLLOWTHROUGH_SILENT_DAYS) and no email, Slack message or meeting from our side with its "
            "people for that limit in days (default 30, tier 1: 14)."
        ),
    ] = False,
    owner: Annotated[
        Text | None,
        Query(
            min_length=1,
            max_length=320,
            description="Only accounts with deals this person owns: an email, a local part, a first or a "
            "full name (one that names no one, or several people, is a 422 listing the candidates).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Accounts per page.")] = 50,
    cursor: Annotated[
        Text | None, Query(max_length=500, description="`next_cursor` from the previous page.")
    ] = None,
) -> AccountPage:
    """Accounts in a stable order (by id), each with its tier, open deals and amount, open items, the
    last touch by us and by them, and whether it is silent.

    Follow `next_cursor` until it is null to see every match exactly once.
    """
    f = AccountFilter(silent=silent, owner=owner, as_of=state.as_of(), limit=limit, cursor=cursor or None)
    return state.store.list_accounts(f, silent_days(), state.domains)


@router.get("/{account_id}", response_model=AccountDetail, responses=responses(401, 404, 422, 503))
def get_account(
    principal: Reader,
    state: State,
    account_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="The account's id (from the listing).")],
) -> AccountDetail:
    """One account: its summary, every deal with its counts, and its open items by priority."""
    return state.store.get_account(account_id, state.as_of(), silent_days(), state.domains)
