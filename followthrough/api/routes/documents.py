"""``POST /v1/documents``: submit an email, Slack message or meeting note; get back what it holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from followthrough.api.auth import Writer
from followthrough.api.extraction import extract_one
from followthrough.api.problems import responses
from followthrough.api.schemas import DocumentIn, DocumentResult
from followthrough.api.state import ApiState, api_state

router = APIRouter(prefix="/v1/documents", tags=["documents"])

State = Annotated[ApiState, Depends(api_state)]


@router.post(
    "",
    status_code=201,
    response_model=DocumentResult,
    responses=responses(400, 401, 403, 413, 422, 502, 503),
)
def submit_document(
    principal: Writer,
    state: State,
    body: Annotated[DocumentIn, Body()],
) -> DocumentResult:
    """Store the document, extract its commitments and requests, link them to deals, and return them.

    Idempotent by (`source`, `external_id`): submitting the same document again
    stores nothing new and returns the same items.
    """
    doc = body.to_document()
    with state.extraction_lock:
        done = extract_one(state.store, state.extractor, doc, state.domains)
    as_of = state.as_of()
    items = [state.store.get_commitment(cid, as_of=as_of) for cid in done.commitment_ids]
    return DocumentResult(
        document_id=done.document_id,
        source=doc.source,
        external_id=doc.external_id,
        stored="new" if done.new else ("updated" if done.changed else "unchanged"),
        cached=done.cached,
        ungrounded=done.ungrounded,
        items=items,
    )
