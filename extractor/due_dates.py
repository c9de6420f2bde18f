"""Due dates for the LLM backend: resolve a deadline a model wrote against the document's date.

:func:`normalize_due` resolves the deadline phrase against the document's
``occurred_at`` with the offline backend's date rules ("by Friday" in a
Tuesday email is that Friday), in the document's own time zone. Who a name
is: :mod:`extractor.people`.
"""

from __future__ import annotations

from datetime import date

from extractor.offline.dates import find_due

__all__ = ["normalize_due"]


def normalize_due(phrase: str | None, today: date, *, evidence: str = "") -> tuple[date | None, str | None]:
    """(date, phrase as written) for a deadline, relative to the document's local date.

    The model's phrase is resolved first; when the model gave none, a deadline
    written in the evidence itself ("... by Friday") is used. Vague phrases
    ("before the renewal", "asap") keep their text and no date.
    """
    if phrase:
        found = find_due(phrase, today)
        return (found.due if found is not None else None), phrase
    found = find_due(evidence, today) if evidence else None
    if found is not None:
        return found.due, found.text
    return None, None
