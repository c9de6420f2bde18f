"""The dashboard's list pages: Needs attention (``/``), My items, Deals (and one deal), Accounts, Review.

Every page reads the store through the same code as the CLI and the API: the attention sections and
their ranking from :mod:`followthrough.attention`, deals from :meth:`store.Store.deal_page`, accounts
from :meth:`store.Store.list_accounts`, the review queue from :meth:`store.Store.review_ids`. Routes
are plain ``def``: FastAPI runs them in its thread pool, off the event loop, as the store's calls block.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from followthrough.attention import all_items, collect, owner_items
from followthrough.config import silent_days
from followthrough.types import CommitmentStatus
from followthrough.web.context import Backing, PageError, Viewer, backing, render, viewer
from followthrough.web.errors import PageRoute
from followthrough.web.trend import attention_charts, owner_charts
from store import AccountFilter, CommitmentFilter, InvalidCursor, NotFound, Unresolved

router = APIRouter(include_in_schema=False, route_class=PageRoute)
Who = Annotated[Viewer, Depends(viewer)]
PAGE_SIZE = 50
MAX_MINE = 500
"""The most open items My items lists for one person (the rest: ``followthrough commitments list``)."""


def _cursor(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:500] or None


@router.get("/", response_class=HTMLResponse)
def attention_page(request: Request, who: Who) -> HTMLResponse:
    """Needs attention: overdue, due soon, unanswered requests (age against the response target),
    unlinked, silent accounts and what customers owe us, each ranked with its "why"."""
    back = backing(request)
    as_of = back.as_of()
    att = collect(back.store, as_of, domains=back.domains)
    charts = attention_charts(back.store, as_of)
    return render(
        request,
        "attention.html",
        {"att": att, "as_of": as_of, "charts": charts, "next": "/"},
        viewer=who,
    )


@router.get("/mine", response_class=HTMLResponse)
def mine_page(request: Request, who: Who, owner: Annotated[str | None, Query()] = None) -> HTMLResponse:
    """One person's open items (overdue, due soon, the rest), picked with ``?owner=`` or, by default,
    the person the signed-in token speaks for."""
    back = backing(request)
    as_of = back.as_of()
    wanted = (owner or "").strip()[:320] or who.principal.person_email
    context: dict[str, Any] = {"as_of": as_of, "owner": wanted, "groups": None, "person": None, "error": None}
    status = 200
    if wanted:
        try:
            context |= mine_context(back, wanted)
        except Unresolved as e:
            if _no_one(e) and not owner:  # the signed-in person, in no item yet: nothing is theirs
                context["error"] = f"Nothing is owned by {wanted} yet."
            else:
                context["error"] = str(e)
                if _no_one(e):
                    status = 404
                    context["title"] = "No such owner"
        else:
            context["charts"] = owner_charts(back.store, as_of, context["person"].email)
    next_path = "/mine" + (f"?owner={quote(wanted)}" if owner and wanted else "")
    return render(request, "mine.html", context | {"next": next_path}, status=status, viewer=who)


def _no_one(e: Unresolved) -> bool:
    """The lookup named no one at all (a 404), rather than several people (pick one of them)."""
    return str(e).startswith("no one matches")


def mine_context(back: Backing, owner: str) -> dict[str, Any]:
    """My items' lists for ``owner`` (an email or a name): ``person`` (a :class:`store.PersonView`),
    ``groups`` (overdue, due soon, other), ``total`` open. :class:`store.Unresolved` when ``owner``
    names no one or several."""
    as_of = back.as_of()
    person = back.store.find_person(owner)
    items = all_items(
        back.store,
        CommitmentFilter(status=CommitmentStatus.OPEN, owner=owner, as_of=as_of, limit=MAX_MINE),
    )
    return {"person": person, "groups": owner_items(items[:MAX_MINE], as_of), "total": len(items)}


@router.get("/deals", response_class=HTMLResponse)
def deals_page(
    request: Request,
    who: Who,
    cursor: Annotated[str | None, Query()] = None,
    page: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Every deal's health (open, overdue, due soon, items in all, last touch), :data:`PAGE_SIZE` a page:
    the page after ``cursor`` (the pager's links), or page number ``page`` (1 is the first; one past
    the last is an empty page with a link back to the first, never an error)."""
    back = backing(request)
    as_of = back.as_of()
    number = _page_number(page)
    try:
        found = back.store.deal_page(as_of, limit=PAGE_SIZE, cursor=_cursor(cursor))
        for _ in range(number - 1):  # page N: N-1 pages on (a deal list is short; each is indexed)
            if found.next_cursor is None:
                found = found.model_copy(update={"items": [], "next_cursor": None})
                break
            found = back.store.deal_page(as_of, limit=PAGE_SIZE, cursor=found.next_cursor)
    except InvalidCursor as e:
        raise PageError(400, "Bad page link", f"{e}.") from e
    touches = back.store.deal_last_touches([d.crm_id for d in found.items])
    return render(
        request,
        "deals.html",
        {"page": found, "touches": touches, "as_of": as_of, "first": not cursor and number == 1},
        viewer=who,
    )


MAX_PAGE = 10_000
"""The highest page number a ``?page=`` link may name; a larger one (or not a number) is page 1's
last-page-plus-one: an empty page with a link back."""


def _page_number(value: str | None) -> int:
    """``?page=``: a number 1..:data:`MAX_PAGE`; missing, zero, negative or not a number is 1, a
    number past :data:`MAX_PAGE` is past the end."""
    value = (value or "").strip()
    if not value.isdigit() or int(value) < 1:
        return 1
    return min(int(value), MAX_PAGE)


@router.get("/deals/{crm_id}", response_class=HTMLResponse)
def deal_page(request: Request, who: Who, crm_id: str) -> HTMLResponse:
    """One deal: its health and every item linked to it, open ones first by priority."""
    back = backing(request)
    as_of = back.as_of()
    try:
        items = back.store.deal_commitments(crm_id, as_of)
        deal = back.store.get_deal(crm_id)
    except NotFound as e:
        raise PageError(404, "No such deal", f"There is no deal with CRM id {crm_id!r}.") from e
    touches = back.store.deal_last_touches([crm_id])
    counts = {
        "open": sum(1 for c in items if c.status == CommitmentStatus.OPEN),
        "overdue": sum(1 for c in items if c.overdue_days is not None),
    }
    return render(
        request,
        "deal.html",
        {
            "deal": deal,
            "items": items,
            "counts": counts,
            "touch": touches.get(crm_id),
            "as_of": as_of,
            "next": f"/deals/{quote(crm_id, safe='')}",
        },
        viewer=who,
    )


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(
    request: Request,
    who: Who,
    cursor: Annotated[str | None, Query()] = None,
    silent: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Every account's health (open deals and amount, open and overdue items, last touch each way,
    silent or not), :data:`PAGE_SIZE` a page; ``?silent=1`` only the silent ones, most at stake first."""
    back = backing(request)
    as_of = back.as_of()
    only_silent = silent in {"1", "true", "yes", "on"}
    f = AccountFilter(silent=only_silent, as_of=as_of, limit=PAGE_SIZE, cursor=_cursor(cursor))
    try:
        page = back.store.list_accounts(f, silent_days(), back.domains)
    except InvalidCursor as e:
        raise PageError(400, "Bad page link", f"{e}.") from e
    return render(
        request,
        "accounts.html",
        {"page": page, "as_of": as_of, "silent": only_silent, "first": not cursor},
        viewer=who,
    )


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, who: Who, page: Annotated[str | None, Query()] = None) -> HTMLResponse:
    """The items the extractor was least sure of, newest first, to confirm or fix in one click."""
    back = backing(request)
    as_of = back.as_of()
    number = int(page) if page and page.isdigit() and 0 < int(page) < 10**6 else 1
    ids, total = back.store.review_ids(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    views = {v.id: v for v in back.store.get_commitments(ids, as_of=as_of)}
    items = [views[i] for i in ids if i in views]
    return render(
        request,
        "review.html",
        {
            "items": items,
            "total": total,
            "page_number": number,
            "more": number * PAGE_SIZE < total,
            "as_of": as_of,
            "next": "/review" + (f"?page={number}" if number > 1 else ""),
        },
        viewer=who,
    )
