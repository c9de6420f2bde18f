"""What the dashboard's buttons do to an item, through the same store methods as ``PATCH /v1/commitments``.

Each action is one call of :meth:`store.Store.set_status` or :meth:`store.Store.correct` (the ones the
API's PATCH route calls), so it is checked by the same rules (:func:`followthrough.types.status_refusal`)
and lands in the item's history with the acting token's name (actor ``web:NAME``).

=========  ======================================  ==============================================
action     form fields                             store call
=========  ======================================  ==============================================
done       (none)                                  ``set_status(done)``
dismiss    (none)                                  ``set_status(dismissed)``
snooze     ``until`` (YYYY-MM-DD, after today)     ``set_status(snoozed, until=...)``
reopen     (none)                                  ``set_status(open)`` (``waiting`` for a
                                                   customer's promise)
confirm    (none)                                  ``set_status(open or waiting, note="confirmed")``
edit       ``owner``, ``due``, ``text`` (each      ``correct(owner=, due= / clear_due, action=)``
           optional; a blank ``due`` removes it)
link       ``deal`` (CRM id or name; blank         ``correct(deal=)`` / ``correct(unlink=True)``
           unlinks)
=========  ======================================  ==============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from followthrough.types import CommitmentStatus, ItemFlag, status_refusal
from store import CommitmentView, InvalidStatus, Store, Unresolved

ACTIONS = ("done", "dismiss", "snooze", "reopen", "confirm", "edit", "link")
MAX_FIELD = 2000


class ActionRefused(Exception):
    """The action cannot be done as asked (a bad date, an owner or deal that names none or several,
    a status the item cannot take); the message is the one sentence to show. Nothing was changed."""


@dataclass(frozen=True)
class ActionForm:
    """One submitted action form: ``action`` and the fields it needs (``None``: not in the form)."""

    action: str
    until: str | None = None
    owner: str | None = None
    due: str | None = None
    text: str | None = None
    deal: str | None = None

    @classmethod
    def of(cls, form: dict[str, str]) -> ActionForm:
        """From the form's fields (each cut to :data:`MAX_FIELD` characters)."""

        def get(name: str) -> str | None:
            value = form.get(name)
            return None if value is None else value[:MAX_FIELD]

        return cls(
            action=(form.get("action") or "").strip().lower(),
            until=get("until"),
            owner=get("owner"),
            due=get("due"),
            text=get("text"),
            deal=get("deal"),
        )


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ActionRefused(f"{field} must be a date like 2026-03-20, not {value.strip()!r}") from None


def _ours_again(view: CommitmentView) -> CommitmentStatus:
    """The status that puts an item back in play: ``waiting`` for a customer's promise, else ``open``."""
    return CommitmentStatus.WAITING if ItemFlag.CUSTOMER_PROMISE in view.flags else CommitmentStatus.OPEN


def apply(
    store: Store, item_id: int, form: ActionForm, *, actor: str, domains: set[str], as_of: date
) -> CommitmentView:
    """Do ``form.action`` to item ``item_id`` as ``actor``; the item as it is afterwards.

    :class:`ActionRefused` (nothing changed) for an unknown action or a value that does not fit;
    :class:`store.NotFound` for an unknown item.
    """
    view = store.get_commitment(item_id, as_of=as_of)
    try:
        return _apply(store, view, form, actor=actor, domains=domains, as_of=as_of)
    except (Unresolved, InvalidStatus) as e:
        raise ActionRefused(str(e)) from e
    except ValueError as e:  # a blank action text, from the store's own check
        raise ActionRefused(str(e)) from e


def _status(
    store: Store,
    view: CommitmentView,
    status: CommitmentStatus,
    *,
    actor: str,
    as_of: date,
    until: date | None = None,
    note: str | None = None,
) -> CommitmentView:
    theirs = ItemFlag.CUSTOMER_PROMISE in view.flags
    if refusal := status_refusal(status, view.type, customer_promise=theirs):
        raise ActionRefused(refusal)
    return store.set_status(view.id, status, until=until, actor=actor, note=note, as_of=as_of)


def _apply(
    store: Store, view: CommitmentView, form: ActionForm, *, actor: str, domains: set[str], as_of: date
) -> CommitmentView:
    match form.action:
        case "done":
            return _status(store, view, CommitmentStatus.DONE, actor=actor, as_of=as_of)
        case "dismiss":
            return _status(store, view, CommitmentStatus.DISMISSED, actor=actor, as_of=as_of)
        case "reopen":
            return _status(store, view, _ours_again(view), actor=actor, as_of=as_of)
        case "confirm":
            return _status(
                store, view, _ours_again(view), actor=actor, as_of=as_of, note=store.CONFIRMED_NOTE
            )
        case "snooze":
            if not (form.until or "").strip():
                raise ActionRefused("pick the date the item should come back (until)")
            until = _date(form.until or "", "until")
            if until <= as_of:
                raise ActionRefused(f"until {until} is not after today ({as_of}): pick a later date")
            return _status(store, view, CommitmentStatus.SNOOZED, actor=actor, as_of=as_of, until=until)
        case "edit":
            # The form comes filled in with the current values: only what the person changed is a change.
            owner = (form.owner or "").strip() or None
            if owner is not None and owner.lower() in {
                (v or "").lower() for v in (view.owner, view.owner_name)
            }:
                owner = None
            due = _date(form.due, "due") if form.due and form.due.strip() else None
            if due is not None and due == view.due:
                due = None
            clear_due = form.due is not None and not form.due.strip() and view.due is not None
            text = form.text.strip() if form.text is not None else None
            if text is not None and not text:
                raise ActionRefused("the action must not be blank: say what is to be done")
            if text is not None and text == view.action:
                text = None
            if owner is None and due is None and not clear_due and text is None:
                raise ActionRefused("nothing to change: give an owner, a due date or the action")
            return store.correct(
                view.id,
                actor=actor,
                owner=owner,
                due=due,
                clear_due=clear_due,
                action=text,
                domains=domains,
                as_of=as_of,
            )
        case "link":
            deal = (form.deal or "").strip()
            if not deal and view.deal is None:
                raise ActionRefused("name the deal to link it to (its CRM id or a part of its name)")
            return store.correct(
                view.id,
                actor=actor,
                deal=deal or None,
                unlink=not deal,
                domains=domains,
                as_of=as_of,
            )
        case _:
            raise ActionRefused(f"unknown action {form.action!r}: use one of {', '.join(ACTIONS)}")
