"""The charts on Needs attention and My items: data from :func:`store.owner_trend` and
:func:`store.response_times`, drawn as inline SVG by :mod:`followthrough.web.charts`.

Each function returns ``{"owners": SVG, "responses": SVG}``: markup strings the charts module built
with every value escaped (the templates insert them as they are).
"""

from __future__ import annotations

from datetime import date

from followthrough.web.charts import owner_trend_svg, response_time_svg
from store import Store, owner_trend, response_times

TREND_DAYS = 30
"""Days the charts cover, up to as-of."""


def _target(store: Store) -> float:
    """The default response target in hours (tiers may have their own; each sample carries its own)."""
    return store.response_hours.default if store.response_hours is not None else 24.0


def attention_charts(store: Store, as_of: date) -> dict[str, str]:
    """Every owner's open and overdue items per day, and every request's response time."""
    return {
        "owners": owner_trend_svg(owner_trend(store, as_of=as_of, days=TREND_DAYS)),
        "responses": response_time_svg(
            response_times(store, as_of=as_of, days=TREND_DAYS), target_hours=_target(store)
        ),
    }


def owner_charts(store: Store, as_of: date, owner: str | None) -> dict[str, str]:
    """One person's open and overdue items per day and their requests' response times (``owner``: their
    email; ``None``, someone known by name only: no charts)."""
    if not owner:
        return {}
    return {
        "owners": owner_trend_svg(owner_trend(store, as_of=as_of, days=TREND_DAYS, owner=owner)),
        "responses": response_time_svg(
            response_times(store, as_of=as_of, days=TREND_DAYS, owner=owner), target_hours=_target(store)
        ),
    }
