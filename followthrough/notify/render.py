"""An :class:`~followthrough.notify.digest.OwnerDigest` as words: the subject, the plain-text body and the
HTML body of its email (Jinja2 templates; HTML autoescaped, inline styles only, no remote content).

Each item shows its action, what changed ("new" or "changed"), its due date with the words it was
written as (:meth:`store.CommitmentView.due_phrase`: not once a person corrected the date),
the counterparty, the deal, the evidence quote verbatim with where it was said, and its link in the
dashboard.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, StrictUndefined, Template

from followthrough.notify.digest import Entry, OwnerDigest

_TEXT = """\
Hi {{ d.name }},

{{ d.summary() }} (as of {{ d.as_of.isoformat() }}).

{% for title, entries in d.sections %}
{{ title }}
{{ "-" * title|length }}
{% for e in entries %}
- {{ e.item.action }} [{{ "changed" if e.changed else "new" }}]
{% for line in details(e) %}
  {{ line }}
{% endfor %}
{% for q in e.item.quotes[:2] %}
  > "{{ q.quote }}"
    ({{ q.source }}, {{ q.occurred_at.date().isoformat() }})
{% endfor %}
  {{ e.url }}

{% endfor %}
{% endfor %}
{% if d.more %}
…and {{ d.more }} more in your next digest.
{% endif %}
All your open items: {{ d.mine_url }}
"""

_HTML = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1a1a1a;\
max-width:640px;margin:0 auto;padding:16px;line-height:1.45">
<p>Hi {{ d.name }},</p>
<p><strong>{{ d.summary() }}</strong> (as of {{ d.as_of.isoformat() }}).</p>
{% for title, entries in d.sections %}
<h2 style="font-size:17px;margin:24px 0 8px;border-bottom:1px solid #ddd">\
{{ title }} ({{ entries|length }})</h2>
{% for e in entries %}
<div class="item" data-item-id="{{ e.item.id }}" style="margin:0 0 16px">
<p style="margin:0"><a href="{{ e.url }}" style="color:#0b57d0;font-weight:600">{{ e.item.action }}</a>
<span style="font-size:12px;color:#555">{% if e.changed %}changed{% else %}new{% endif %}</span></p>
{% for line in details(e) %}<p style="margin:2px 0;font-size:14px;color:#333">{{ line }}</p>{% endfor %}
{% for q in e.item.quotes[:2] %}
<blockquote class="evidence" style="margin:6px 0;padding:4px 10px;border-left:3px solid #999;color:#333">\
&ldquo;{{ q.quote }}&rdquo;<br><span style="font-size:12px;color:#555">{{ q.source }}, \
{{ q.occurred_at.date().isoformat() }}</span></blockquote>
{% endfor %}
</div>
{% endfor %}{% endfor %}
{% if d.more %}<p>…and {{ d.more }} more in your next digest.</p>{% endif %}
<p><a href="{{ d.mine_url }}" style="color:#0b57d0">All your open items</a></p>
</body></html>
"""


@cache
def _templates() -> tuple[Template, Template]:
    text = Environment(
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    return text.from_string(_TEXT), html.from_string(_HTML)


def details(entry: Entry) -> list[str]:
    """The facts under an item's action, one line each: its due date (as written, and how late), the
    counterparty, the deal, a request's age against its response target."""
    item = entry.item
    lines = []
    if item.due is not None:
        phrase = item.due_phrase()
        written = f' ("{phrase}")' if phrase else ""
        late = f", {item.overdue_days} day(s) overdue" if item.overdue_days else ""
        lines.append(f"Due {item.due.isoformat()}{written}{late}")
    if item.type == "request" and item.age_hours is not None:
        target = f" (target {item.response_hours:g} h)" if item.response_hours else ""
        lines.append(f"Asked {item.age_hours:.0f} h ago{target}")
    if item.counterparty:
        lines.append(f"{'Asked by' if item.type == 'request' else 'For'} {item.counterparty}")
    if item.deal is not None:
        lines.append(f"Deal: {item.deal.name} ({item.deal.crm_id}, {item.deal.account})")
    return lines


def subject(digest: OwnerDigest) -> str:
    """The email's subject: ``followthrough: 4 items: 1 overdue, 3 new``."""
    return f"followthrough: {digest.summary()}"


def text_body(digest: OwnerDigest) -> str:
    """The plain-text body (also what ``digest --send … --dry-run`` prints)."""
    return _templates()[0].render(d=digest, details=details)


def html_body(digest: OwnerDigest) -> str:
    """The HTML body: the same content, every value escaped."""
    return _templates()[1].render(d=digest, details=details, subject=subject(digest))
