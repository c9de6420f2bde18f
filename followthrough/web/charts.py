"""The dashboard's charts: inline SVG drawn on the server, no JavaScript, no library.

- :func:`owner_trend_svg`: open (solid line) and overdue (dashed line) items per owner per day,
  from :func:`store.owner_trend`.
- :func:`response_time_svg`: each inbound request's wait for our first answer (a bar, in hours)
  against the response target (a dashed line), from :func:`store.response_times`.

Each function returns one ``<svg>`` element as a string, ready to be inserted into a page as is
(Jinja2: ``{{ svg | safe }}``): every text from the data (owner names, actions) is escaped here. The
charts are accessible: ``role="img"`` with an ``aria-label`` that says what the chart shows in
words, a ``<title>`` and a ``<desc>`` (the numbers a person would read off it), a legend drawn in
the chart, and colours from the Okabe-Ito colour-blind-safe palette, darkened where needed so that
each has at least 3:1 contrast on white (WCAG 1.4.11), with overdue and late also told apart by
line style and pattern, not colour alone. They scale down to a phone's width (``viewBox``,
``max-width: 100%``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from html import escape
from statistics import median

from store import OwnerDay, ResponseSample

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#6A3D9A", "#8C510A")
"""Line colours, one per owner (Okabe-Ito; each at least 3:1 on white)."""
OTHERS_COLOUR = "#4D4D4D"
INK = "#1F2937"
"""Text and axes."""
GRID = "#D1D5DB"
ON_TIME = "#0072B2"
LATE = "#D55E00"
WAITING = "#6B7280"
MAX_OWNERS = len(PALETTE)
"""Owners drawn one by one; the rest are summed into one "others" line."""
OTHERS = "others"

_FONT = 'font-family="inherit" font-size="12"'
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP = 40, 12, 12


def _e(text: str) -> str:
    return escape(text, quote=True)


def _short(day: date) -> str:
    return f"{day.day} {day.strftime('%b')}"


def _nice_max(value: float) -> tuple[float, float]:
    """A round axis maximum at or above ``value`` and the step between its ticks (about 4 ticks)."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if value >= 4 and step < 1:
        step = 1.0
    return step * math.ceil(value / step), step


def _number(value: float) -> str:
    return f"{value:g}"


def _open_svg(width: int, height: int, label: str, desc: str, legend_rows: int) -> list[str]:
    total = height + 18 * legend_rows
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{_e(label)}" '
        f'width="{width}" height="{total}" viewBox="0 0 {width} {total}" '
        f'style="max-width: 100%; height: auto" {_FONT}>',
        f"<title>{_e(label)}</title>",
        f"<desc>{_e(desc)}</desc>",
        f'<rect width="{width}" height="{total}" fill="#FFFFFF"/>',
    ]


def _y_axis(
    top: float, bottom: float, left: float, right: float, ymax: float, step: float, unit: str
) -> list[str]:
    out: list[str] = []
    ticks = int(round(ymax / step))
    for i in range(ticks + 1):
        value = i * step
        y = bottom - (bottom - top) * value / ymax
        out.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{_number(value)}{unit}</text>"
        )
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="{INK}" stroke-width="1"/>')
    return out


def _empty(width: int, height: int, label: str, message: str) -> str:
    parts = _open_svg(width, height, label, message, 0)
    parts.append(
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{INK}">{_e(message)}</text></svg>'
    )
    return "".join(parts)


def _owners(points: Sequence[OwnerDay]) -> tuple[list[str], dict[str, dict[date, tuple[int, int]]]]:
    """Owners in the order drawn (most open on the last day first) and each one's (open, overdue) by
    day; past :data:`MAX_OWNERS`, the rest summed as :data:`OTHERS`."""
    by_owner: dict[str, dict[date, tuple[int, int]]] = defaultdict(dict)
    for p in points:
        by_owner[p.owner][p.day] = (p.open, p.overdue)
    last = max(p.day for p in points)
    ranked = sorted(
        by_owner,
        key=lambda o: (-by_owner[o].get(last, (0, 0))[0], -sum(v[0] for v in by_owner[o].values()), o),
    )
    if len(ranked) <= MAX_OWNERS:
        return ranked, by_owner
    kept, rest = ranked[: MAX_OWNERS - 1], ranked[MAX_OWNERS - 1 :]
    merged: dict[date, tuple[int, int]] = {}
    for owner in rest:
        for day, (n, late) in by_owner[owner].items():
            was = merged.get(day, (0, 0))
            merged[day] = (was[0] + n, was[1] + late)
    return [*kept, OTHERS], {**{o: by_owner[o] for o in kept}, OTHERS: merged}


def _anchor(i: int, n: int) -> str:
    """Day labels: the first starts at its point, the last ends at it (neither is cut off), others centred."""
    if n > 1 and i == 0:
        return "start"
    return "end" if i == n - 1 else "middle"


def owner_trend_svg(points: Sequence[OwnerDay], *, width: int = 640, height: int = 220) -> str:
    """Open (solid) and overdue (dashed) items per owner per day, as one ``<svg>`` string.

    ``points``: :func:`store.owner_trend`'s days (an owner missing on a day had nothing open; the
    days drawn run from the first to the last day in ``points``). ``width``/``height``: pixels of the
    plot, the legend (one row per owner, 18 px each) added below. No points: a chart that says
    there was nothing open.
    """
    label = "Open and overdue items per owner over time"
    if not points:
        return _empty(width, height, label, "Nothing was open in this period.")
    owners, series = _owners(points)
    first, last = min(p.day for p in points), max(p.day for p in points)
    days = [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
    on_last = "; ".join(
        f"{o}: {series[o].get(last, (0, 0))[0]} open, {series[o].get(last, (0, 0))[1]} overdue"
        for o in owners
    )
    desc = (
        f"From {_short(first)} to {_short(last)} {last.year}, solid lines open, dashed lines overdue. "
        f"On {_short(last)}: {on_last}."
    )
    parts = _open_svg(width, height, f"{label}, {_short(first)} to {_short(last)}", desc, len(owners) + 1)
    left, right, top, bottom = _MARGIN_LEFT, width - _MARGIN_RIGHT, _MARGIN_TOP, height - 28
    ymax, step = _nice_max(max(p.open for p in points))
    parts += _y_axis(top, bottom, left, right, ymax, step, "")

    def x(i: int) -> float:
        return left + (right - left) * (i / (len(days) - 1) if len(days) > 1 else 0.5)

    def y(v: int) -> float:
        return bottom - (bottom - top) * v / ymax

    for i in sorted({0, len(days) - 1, *range(0, len(days), max(1, len(days) // 5))}):
        if i == len(days) - 1 or len(days) - 1 - i >= max(1, len(days) // 10):
            parts.append(
                f'<text x="{x(i):.1f}" y="{bottom + 16}" text-anchor="{_anchor(i, len(days))}" fill="{INK}">'
                f"{_short(days[i])}</text>"
            )
    for n, owner in enumerate(owners):
        colour = OTHERS_COLOUR if owner == OTHERS else PALETTE[n % len(PALETTE)]
        values = [series[owner].get(d, (0, 0)) for d in days]
        for k, dash in ((0, ""), (1, ' stroke-dasharray="5 4"')):
            coords = " ".join(f"{x(i):.1f},{y(v[k]):.1f}" for i, v in enumerate(values))
            what = "open" if k == 0 else "overdue"
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash}>'
                f"<title>{_e(owner)}: {what}</title></polyline>"
            )
        end = values[-1]
        parts.append(
            f'<circle cx="{x(len(days) - 1):.1f}" cy="{y(end[0]):.1f}" r="3" fill="{colour}">'
            f"<title>{_e(owner)}: {end[0]} open, {end[1]} overdue on {_short(last)}</title></circle>"
        )
    legend_top = height + 4
    parts.append(f'<g class="legend" transform="translate({left},{legend_top})">')
    parts.append(
        f'<line x1="0" x2="24" y1="6" y2="6" stroke="{INK}" stroke-width="2"/>'
        f'<text x="30" y="10" fill="{INK}">open</text>'
        f'<line x1="80" x2="104" y1="6" y2="6" stroke="{INK}" stroke-width="2" stroke-dasharray="5 4"/>'
        f'<text x="110" y="10" fill="{INK}">overdue</text>'
    )
    for n, owner in enumerate(owners):
        colour = OTHERS_COLOUR if owner == OTHERS else PALETTE[n % len(PALETTE)]
        row = 18 * (n + 1)
        end = series[owner].get(last, (0, 0))
        parts.append(
            f'<rect x="0" y="{row}" width="24" height="10" fill="{colour}"/>'
            f'<text x="30" y="{row + 9}" fill="{INK}">{_e(owner)} ({end[0]} open, {end[1]} overdue)</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)


def _hours(h: float) -> str:
    return f"{h:.0f}h" if h < 72 else f"{h / 24:.1f}d"


def response_time_svg(
    samples: Sequence[ResponseSample], *, target_hours: float, width: int = 640, height: int = 220
) -> str:
    """Each request's wait for our first answer (a bar, hours) against ``target_hours`` (a dashed line).

    ``samples``: :func:`store.response_times`, drawn in that order (oldest request first). A bar is
    blue when answered within the request's own target, vermillion and hatched when answered late,
    and grey and outlined while still waiting (its height: the wait so far). ``target_hours``: the
    line drawn (the default target; a request's own, by its account's tier, decides its colour).
    No samples: a chart that says there were no requests.
    """
    label = "Response times to customer requests against the target"
    if not samples:
        return _empty(width, height, label, "No customer requests in this period.")
    answered = [s for s in samples if s.answered]
    late = sum(1 for s in answered if s.late)
    waiting = [s for s in samples if not s.answered]
    waiting_late = sum(1 for s in waiting if s.late)
    summary = [
        f"{len(samples)} requests, target {_hours(target_hours)}",
        f"{len(answered) - late} answered within target, {late} answered late",
        f"{len(waiting)} still waiting ({waiting_late} past target)",
    ]
    if answered:
        summary.append(f"median first answer {_hours(median(s.hours for s in answered))}")
    desc = "; ".join(summary) + "."
    parts = _open_svg(width, height, label, desc, 1)
    left, right, top, bottom = _MARGIN_LEFT + 8, width - _MARGIN_RIGHT, _MARGIN_TOP, height - 28
    ymax, step = _nice_max(max(max(s.hours for s in samples), target_hours) * 1.1)
    parts += _y_axis(top, bottom, left, right, ymax, step, "h")
    slot = (right - left) / len(samples)
    bar = max(1.0, min(28.0, slot * 0.7))

    def y(v: float) -> float:
        return bottom - (bottom - top) * v / ymax

    for i, s in enumerate(samples):
        x0 = left + slot * i + (slot - bar) / 2
        top_y = min(y(s.hours), bottom - 2)  # an answer within the hour still shows
        target = f" (target {_hours(s.target_hours)})" if s.target_hours is not None else ""
        if s.answered:
            state = f"answered in {_hours(s.hours)}{target}"
            fill = LATE if s.late else ON_TIME
            style = f'fill="{fill}"' + (' stroke="#7A2E00" stroke-width="1"' if s.late else "")
        else:
            state = f"waiting {_hours(s.hours)} so far{target}"
            style = f'fill="#FFFFFF" stroke="{WAITING}" stroke-width="1.5" stroke-dasharray="3 2"'
        tip = f"{s.owner}: {s.action}, asked {_short(s.asked_at.date())}, {state}"
        parts.append(
            f'<rect x="{x0:.1f}" y="{top_y:.1f}" width="{bar:.1f}" height="{bottom - top_y:.1f}" {style}>'
            f"<title>{_e(tip)}</title></rect>"
        )
        if s.answered and s.late:  # late is told by a pattern too, not colour alone
            parts.append(
                f'<line x1="{x0:.1f}" y1="{top_y:.1f}" x2="{x0 + bar:.1f}" y2="{top_y:.1f}" '
                'stroke="#FFFFFF" stroke-width="2" stroke-dasharray="2 2"/>'
            )
    ty = y(target_hours)
    parts.append(
        f'<line x1="{left}" x2="{right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{INK}" stroke-width="1.5" '
        f'stroke-dasharray="6 4"/><text x="{right}" y="{ty - 4:.1f}" text-anchor="end" fill="{INK}">'
        f"target {_hours(target_hours)}</text>"
    )
    first, last = samples[0].asked_at.date(), samples[-1].asked_at.date()
    parts.append(f'<text x="{left}" y="{bottom + 16}" fill="{INK}">{_short(first)}</text>')
    parts.append(f'<text x="{right}" y="{bottom + 16}" text-anchor="end" fill="{INK}">{_short(last)}</text>')
    legend = [
        (f'fill="{ON_TIME}"', "answered within target"),
        (f'fill="{LATE}"', "answered late"),
        (f'fill="#FFFFFF" stroke="{WAITING}" stroke-width="1.5" stroke-dasharray="3 2"', "still waiting"),
    ]
    parts.append(f'<g class="legend" transform="translate({left},{height + 4})">')
    for n, (style, text) in enumerate(legend):
        parts.append(
            f'<rect x="{n * 180}" y="0" width="14" height="10" {style}/>'
            f'<text x="{n * 180 + 20}" y="9" fill="{INK}">{_e(text)}</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)
