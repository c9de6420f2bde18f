"""The commitment filters ``commitments list`` and ``export`` share: one definition of each option.

Each alias is an ``Annotated`` parameter type; a command declares ``owner: OwnerOpt = None`` and
:func:`commitment_filter` turns the values into the store's :class:`store.CommitmentFilter` (the same
query shape the HTTP API's ``GET /v1/commitments`` uses).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from followthrough.cli.dates import DATE_HELP, METAVAR, day
from followthrough.cli.params import not_one_of
from followthrough.cli.state import OWNER_HELP, not_blank
from followthrough.types import CommitmentStatus, ItemType, SourceKind

if TYPE_CHECKING:
    from store import CommitmentFilter

ALL = "all"
"""``--status all``: every status (the filter's ``None``)."""


def _status(value: str | CommitmentStatus) -> CommitmentStatus | None:
    """``--status``: a :class:`CommitmentStatus` value, or ``all`` (``None``); a usage error otherwise."""
    if value == ALL:
        return None
    try:
        return CommitmentStatus(value)
    except ValueError:
        raise typer.BadParameter(not_one_of(value, [*CommitmentStatus, ALL])) from None


StatusOpt = Annotated[
    CommitmentStatus | None,
    typer.Option(
        parser=_status,
        metavar="STATUS",
        help="One of " + ", ".join([*CommitmentStatus, ALL]) + ". open also holds snoozed items whose "
        "date has come; waiting: customers' promises to us; "
        "review: items to confirm (reopen) or reject (dismiss).",
    ),
]
OwnerOpt = Annotated[str | None, typer.Option(parser=not_blank, help=OWNER_HELP)]
DealOpt = Annotated[
    str | None,
    typer.Option(
        parser=not_blank, help='A deal\'s CRM id (any case) or a unique part of its name ("data platform").'
    ),
]
AccountOpt = Annotated[
    str | None,
    typer.Option(
        parser=not_blank, help="Only items on an account's deals: its name or a part of it, CRM id or domain."
    ),
]
OverdueOpt = Annotated[bool, typer.Option("--overdue", help="Only past their due date.")]
UnlinkedOpt = Annotated[bool, typer.Option("--unlinked", help="Only those linked to no deal.")]
SourceOpt = Annotated[SourceKind | None, typer.Option(help="Only items from this source.")]
TypeOpt = Annotated[ItemType | None, typer.Option("--type", help="Only commitments, or only requests.")]
DueBeforeOpt = Annotated[
    date | None,
    typer.Option("--due-before", parser=day, metavar=METAVAR, help="Only due before this day: " + DATE_HELP),
]


def commitment_filter(
    *,
    status: CommitmentStatus | None,
    owner: str | None,
    deal: str | None,
    account: str | None,
    overdue: bool,
    unlinked: bool,
    source: SourceKind | None,
    type_: ItemType | None,
    due_before: date | None,
    as_of: date,
    page: int = 500,
    due_within: int | None = None,
) -> CommitmentFilter:
    """The store's filter for these option values, ``page`` items a page."""
    from store import CommitmentFilter  # noqa: PLC0415 - the store loads only when a command runs

    return CommitmentFilter(
        status=status,
        owner=owner,
        deal=deal,
        account=account,
        overdue=overdue,
        unlinked=unlinked,
        source=source,
        type=type_,
        due_within_days=due_within,
        due_before=due_before,
        as_of=as_of,
        limit=page,
    )
