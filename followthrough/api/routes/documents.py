"""``POST /v1/documents``: submit an email, Slack message or meeting note; get back what it holds.

The body is a JSON document (:data:`DocumentIn`) or, with ``Content-Type: message/rfc822``, a raw
RFC 5322 email read by the same code as ``.eml`` files (:func:`connectors.email.documents_from_bytes`):
quotes and signature split off, and messages forwarded as attachments read as documents of their own.

The work (reading the email, splitting the reply, extracting, storing, building the answer) runs on
the extraction queue (:class:`~followthrough.api.extraction.ExtractionQueue`), never on the event
loop nor in the thread pool the other routes share: a long extraction holds up no other request.
Past the time budget the answer is 503 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from connectors.email import documents_from_bytes
from followthrough.api.auth import Writer, authenticated, writer
from followthrough.api.extraction import ExtractionTimeout, extract_one
from followthrough.api.problems import ApiError, responses
from followthrough.api.schemas import DocumentIn, DocumentResult
from followthrough.api.state import ApiState, api_state
from followthrough.errors import InputError
from followthrough.types import SourceDocument

MAIL_TYPES = frozenset({"message/rfc822"})


def _is_mail(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() in MAIL_TYPES


class _DocumentRoute(APIRoute):
    """The JSON route as FastAPI builds it; a ``message/rfc822`` body goes to :func:`submit_mail`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        json_handler = super().get_route_handler()

        async def handler(request: Request) -> Response:
            if _is_mail(request.headers.get("content-type")):
                return await submit_mail(request)
            return await json_handler(request)

        return handler


router = APIRouter(prefix="/v1/documents", tags=["documents"], route_class=_DocumentRoute)

State = Annotated[ApiState, Depends(api_state)]


async def _extract(state: ApiState, work: Callable[[], Response]) -> Response:
    """``work()`` on the extraction queue; 503 with ``Retry-After`` past the time budget."""
    try:
        return await state.extractions.run(work)
    except ExtractionTimeout as e:
        raise ApiError(503, e.detail, headers={"Retry-After": str(e.retry_after)}) from e


def _created(result: DocumentResult) -> Response:
    """The answer, rendered here (on the queue's thread: a long list of items is not cheap): 201 when the
    document was stored for the first time, 200 when it was known already (``stored``: updated, unchanged)."""
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if result.stored == "new" else 200)


def _result(state: ApiState, docs: list[SourceDocument]) -> DocumentResult:
    """Store and extract ``docs``; the result of the first, with every document's items."""
    results = []
    with state.extraction_lock:
        for doc in docs:
            results.append(extract_one(state.store, state.extractor, doc, state.domains))
    as_of = state.as_of()
    first, done = docs[0], results[0]
    ids = [cid for r in results for cid in r.commitment_ids]
    items = [state.store.get_commitment(cid, as_of=as_of) for cid in ids]
    return DocumentResult(
        document_id=done.document_id,
        source=first.source,
        external_id=first.external_id,
        stored="new" if done.new else ("updated" if done.changed else "unchanged"),
        cached=all(r.cached for r in results),
        ungrounded=sum(r.ungrounded for r in results),
        items=items,
    )


@router.post(
    "",
    status_code=201,
    response_model=DocumentResult,
    responses={
        200: {
            "model": DocumentResult,
            "description": "The document was known already (`stored`: `updated` or `unchanged`).",
        },
        **responses(400, 401, 403, 413, 422, 502, 503),
    },
)
async def submit_document(
    principal: Writer,
    state: State,
    body: Annotated[DocumentIn, Body()],
) -> Response:
    """Store the document, extract its commitments and requests, link them to deals, and return them.

    Idempotent by (`source`, `external_id`): submitting the same document again
    stores nothing new and returns the same items, with 200 instead of 201.

    A raw email can be sent instead, with `Content-Type: message/rfc822`: it is read
    as an `.eml` file is (quoted replies and the signature split off). Messages
    forwarded in it as attachments are stored as documents of their own; their
    items are returned with the forwarding message's.

    Extraction has a time budget (`FOLLOWTHROUGH_EXTRACT_TIMEOUT`, 120 s unless configured):
    past it the answer is 503 with `Retry-After`, and the extraction goes on and is stored;
    the same request sent again then returns its items.
    """
    return await _extract(state, lambda: _created(_result(state, [body.to_document()])))


def _mail_documents(data: bytes) -> list[SourceDocument]:
    try:
        return documents_from_bytes(data, path=Path("message.eml"), origin="request body", number=1)
    except InputError as e:
        raise ApiError(422, f"the body is not a readable email message: {e.problem}") from e


async def submit_mail(request: Request) -> Response:
    """``POST /v1/documents`` with a raw RFC 5322 email as the body."""
    writer(authenticated(request, None))
    state = api_state(request)
    data = await request.body()
    return await _extract(state, lambda: _created(_result(state, _mail_documents(data))))
