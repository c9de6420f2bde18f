"""``/v1/commitments``: list with filters and a cursor (lean items; ``expand=evidence`` adds the
quotes), read one in full, change its status, fields or deal, split a merged one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from followthrough.api.auth import Reader, Writer
from followthrough.api.problems import ApiError, responses
from followthrough.api.schemas import CommitmentPatch, CrmId, Expand, IsoDate, SplitResult, Text
from followthrough.api.state import ApiState, api_state
from followthrough.types import CommitmentStatus, ItemFlag, ItemType, SourceKind, status_refusal
from store import CommitmentFilter, CommitmentView, NotFound, SummaryPage

router = APIRouter(prefix="/v1/commitments", tags=["commitments"])

State = Annotated[ApiState, Depends(api_state)]
CommitmentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The commitment's id.")]


@router.get("", response_model=SummaryPage, responses=responses(401, 422, 503))
def list_commitments(
    principal: Reader,
    state: State,
    status: Annotated[
        CommitmentStatus | Literal["all"],
        Query(
            description="open includes snoozed items whose date has come; waiting: customers' promises "
            "to us; review: items a person has to confirm (PATCH open) or reject (PATCH dismissed)."
        ),
    ] = CommitmentStatus.OPEN,
    owner: Annotated[
        Text | None,
        Query(
            min_length=1,
            max_length=320,
            description="The owner: an email, a local part, a first or a full name. One that names no "
            "one, or several people, is a 422 listing the candidates.",
        ),
    ] = None,
    deal: Annotated[
        CrmId | None,
        Query(
            description="A deal's CRM id (any case) or a unique part of its name; else a 422 listing deals."
        ),
    ] = None,
    account: Annotated[
        CrmId | None,
        Query(
            description="Only items on an account's deals: its name or a part of it, its CRM id or a "
            "domain; else a 422 listing accounts."
        ),
    ] = None,
    overdue: Annotated[
        bool,
        Query(
            description="Only items past their due date: open ones, or with status=waiting the "
            "customers' promises to us that are late (a nudge for the deal owner)."
        ),
    ] = False,
    due_before: Annotated[IsoDate | None, Query(description="Only items due before this date.")] = None,
    unlinked: Annotated[bool, Query(description="Only items linked to no deal.")] = False,
    source: Annotated[SourceKind | None, Query()] = None,
    type: Annotated[ItemType | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (default 50, at most 500).")] = 50,
    cursor: Annotated[
        Text | None, Query(max_length=500, description="`next_cursor` from the previous page.")
    ] = None,
    expand: Expand = None,
) -> SummaryPage:
    """Commitments and requests in a stable order (by due date, undated last, then id), 50 a page.

    Each item is a summary: what a list shows (status, owner, action, due, deal and account, priority,
    flags), without the evidence (`expand=evidence` adds it) or the history; `GET /v1/commitments/{id}`
    gives the full item. Follow `next_cursor` until it is null to see every match exactly once.
    """
    f = CommitmentFilter(
        status=None if status == "all" else status,
        owner=owner,
        deal=deal,
        account=account,
        overdue=overdue,
        due_before=due_before,
        unlinked=unlinked,
        source=source,
        type=type,
        as_of=state.as_of(),
        limit=limit,
        cursor=cursor or None,
    )
    return state.store.list_summaries(f, evidence=expand == "evidence")


@router.get("/{commitment_id}", response_model=CommitmentView, responses=responses(401, 404, 422, 503))
def get_commitment(principal: Reader, state: State, commitment_id: CommitmentId) -> CommitmentView:
    """One commitment with its evidence (quotes and their place in the source), source and deal link."""
    return state.store.get_commitment(commitment_id, as_of=state.as_of())


@router.patch(
    "/{commitment_id}", response_model=CommitmentView, responses=responses(400, 401, 403, 404, 413, 422, 503)
)
def update_commitment(
    principal: Writer, state: State, commitment_id: CommitmentId, patch: CommitmentPatch
) -> CommitmentView:
    """Mark done, dismiss, reopen or snooze (with `until`); correct the owner, due date (`null`
    removes it), action or type; and/or link to a deal (`null` unlinks).

    An item in `review` is confirmed with `status: open` and rejected with `status: dismissed`.
    A corrected field is never overwritten by a later extraction. An unknown deal, an
    owner that names no one or several people, or a status the item cannot take (`answered` is for
    requests; `merged` comes from merging) is a 422 and changes nothing. A new owner decides whose
    promise a commitment is: one of ours makes one waiting on the customer `open`, a customer makes an
    open one `waiting`.

    Every change is recorded in the commitment's `history` (old and new value) with the token's name.
    """
    as_of = state.as_of()
    store = state.store
    view = store.get_commitment(commitment_id, as_of=as_of)
    if patch.status == CommitmentStatus.SNOOZED and patch.until is not None and patch.until <= as_of:
        raise ApiError(422, f"until {patch.until} is not after today ({as_of}): pick a later date")
    theirs = None if patch.owner is not None else ItemFlag.CUSTOMER_PROMISE in view.flags
    if patch.status is not None and (
        refusal := status_refusal(patch.status, patch.type or view.type, customer_promise=theirs)
    ):
        raise ApiError(422, refusal)  # before any change: a PATCH applies whole or not at all
    actor = f"api:{principal.name}"
    if patch.corrects:  # an owner or deal that names none or several: Unresolved, a 422
        view = store.correct(
            commitment_id,
            actor=actor,
            owner=patch.owner,
            due=patch.due,
            clear_due=patch.changes_due and patch.due is None,
            action=patch.action,
            type=patch.type,
            deal=patch.deal,
            unlink=patch.changes_deal and patch.deal is None,
            domains=state.domains,
            as_of=as_of,
        )
    if patch.status is not None:
        view = store.set_status(
            commitment_id, patch.status, until=patch.until, actor=actor, note=patch.note, as_of=as_of
        )
    return view


@router.post(
    "/{commitment_id}/split",
    response_model=SplitResult,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
def split_commitment(principal: Writer, state: State, commitment_id: CommitmentId) -> SplitResult:
    """Undo a merge: the same promise seen in several sources had become one commitment (`sources` > 1,
    or `merged_into` set on the one merged away). Each commitment gets its own evidence and its status
    before the merge back, and the two are never merged again. 409 when nothing was merged.
    """
    as_of = state.as_of()
    store = state.store
    store.get_commitment(commitment_id, as_of=as_of)  # 404 when there is no such commitment
    try:
        ids = store.split_commitment(commitment_id, actor=f"api:{principal.name}")
    except NotFound as e:
        raise ApiError(409, str(e)) from e  # it exists: it was not merged
    return SplitResult(items=[store.get_commitment(i, as_of=as_of) for i in ids])
