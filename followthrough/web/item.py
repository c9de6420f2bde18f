"""One item: ``GET /items/{id}`` (evidence in place, the thread around it, history, deal) and
``POST /items/{id}/actions`` (done, dismiss, snooze, reopen, confirm, edit, link).

An action answers ``303 See Other`` back to the form's ``next`` field (a path on this site; default
``/items/{id}``), so that a page works with no JavaScript. With ``HX-Request`` (htmx) it answers the
updated item as an HTML fragment instead: in a list (``context=list``), an item that has left the
list (done, dismissed, snoozed), or any item acted on in the Review queue, becomes a one-line notice
with an Undo button; when it left a list of Needs attention or My items, the page's counts ("Overdue
(1)", "N open") come with it as out-of-band fragments (``hx-swap-oob``, swapped in by their ids).
``static/app.js`` then moves the keyboard focus on to the next item (see there).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from followthrough.attention import collect
from followthrough.types import CommitmentStatus, SourceDocument
from followthrough.web.actions import ActionForm, ActionRefused, apply
from followthrough.web.context import (
    Backing,
    PageError,
    Viewer,
    backing,
    environment,
    render,
    safe_next,
    viewer,
)
from followthrough.web.errors import PageRoute
from followthrough.web.evidence import Passage, passages
from followthrough.web.pages import mine_context
from followthrough.web.session import csrf_ok, same_origin
from store import EvidenceView, NotFound, Unresolved

router = APIRouter(include_in_schema=False, route_class=PageRoute)
Who = Annotated[Viewer, Depends(viewer)]
IN_PLAY = (CommitmentStatus.OPEN, CommitmentStatus.WAITING, CommitmentStatus.REVIEW)
"""Statuses an item keeps its place in a list with."""


def counts_fragment(back: Backing, page: str, who: Viewer, as_of: date) -> str:
    """The counts of the list page ``page`` (its path and query: ``/`` or ``/mine?owner=...``) as
    out-of-band fragments, after an item left it; ``""`` for a page without counts or an owner that
    names no one."""
    parts = urlsplit(page)
    env = environment()
    if parts.path == "/":
        att = collect(back.store, as_of, domains=back.domains)
        return env.get_template("_attention_counts.html").render(att=att, as_of=as_of, oob=True)
    if parts.path == "/mine":
        owner = (parse_qs(parts.query).get("owner") or [""])[0].strip()[:320] or who.principal.person_email
        if not owner:
            return ""
        try:
            mine = mine_context(back, owner)
        except Unresolved:
            return ""
        return env.get_template("_mine_counts.html").render(**mine, oob=True)
    return ""


def item_id(raw: str) -> int:
    """The path's id; a 404 page for anything but a positive number that fits the database."""
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise PageError(404, "No such item", f"There is no item {raw!r}: item ids are numbers.")
    return int(raw)


def _not_found(cid: int) -> PageError:
    return PageError(404, "No such item", f"There is no item #{cid}. It may have been merged or removed.")


@router.get("/items/{raw_id}", response_class=HTMLResponse)
def item_page(request: Request, who: Who, raw_id: str) -> HTMLResponse:
    """The item with each evidence quote highlighted in its message or transcript turn, the thread
    around it, its history and its deal."""
    back = backing(request)
    cid = item_id(raw_id)
    as_of = back.as_of()
    try:
        view = back.store.get_commitment(cid, as_of=as_of)
    except NotFound as e:
        raise _not_found(cid) from e
    documents = back.store.get_documents(sorted({e.document_id for e in view.quotes}))
    shown: list[tuple[EvidenceView, SourceDocument | None, list[Passage]]] = []
    for ev in view.quotes:
        doc = documents.get(ev.document_id)
        readable = doc if isinstance(doc, SourceDocument) else None
        shown.append((ev, readable, passages(readable, ev) if readable is not None else []))
    thread = back.store.thread_documents(view.document_id)
    return render(
        request,
        "item.html",
        {"item": view, "evidence": shown, "thread": thread, "as_of": as_of, "next": f"/items/{cid}"},
        viewer=who,
    )


@router.post("/items/{raw_id}/actions", response_class=HTMLResponse)
async def item_action(request: Request, who: Who, raw_id: str) -> Response:
    """Do one action to the item (see :mod:`followthrough.web.actions`), CSRF-checked; a read-only
    token gets a 403 page and nothing changes."""
    cid = item_id(raw_id)
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    if not same_origin(request) or not csrf_ok(who.session, form.get("csrf_token")):
        raise PageError(403, "Form expired", "This form is no longer valid: reload the page and try again.")
    if not who.can_act:
        raise PageError(
            403,
            "Read-only token",
            f"Token {who.principal.name!r} is read-only: sign in with a token created without "
            "--read-only to change items.",
        )
    back = backing(request)
    as_of = back.as_of()
    try:
        view = await run_in_threadpool(
            apply,
            back.store,
            cid,
            ActionForm.of(form),
            actor=f"web:{who.principal.name}",
            domains=back.domains,
            as_of=as_of,
        )
    except NotFound as e:
        raise _not_found(cid) from e
    except ActionRefused as e:
        raise PageError(422, "Not changed", str(e)) from e
    if request.headers.get("hx-request"):
        context = form.get("context") or ""
        gone = (context == "list" and view.status not in IN_PLAY) or context == "queue"
        template = "_notice.html" if gone else "_item.html"
        html = (
            environment()
            .get_template(template)
            .render(
                item=view,
                viewer=who,
                as_of=as_of,
                next=safe_next(form.get("next"), f"/items/{cid}"),
                context=context,
                slot=(form.get("slot") or context)[:40],
                action=form.get("action") or "",
                now=datetime.now(UTC),
            )
        )
        if gone and context == "list":
            html += await run_in_threadpool(
                counts_fragment, back, safe_next(form.get("next"), "/"), who, as_of
            )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})
    return RedirectResponse(safe_next(form.get("next"), f"/items/{cid}"), status_code=303)
