"""A local Slack Web API for tests: the methods a sync calls, in the shapes Slack documents.

Follows https://docs.slack.dev/reference/methods/ for ``auth.test``, ``users.conversations``,
``users.list``, ``conversations.history`` and ``conversations.replies``:

* the token comes as ``Authorization: Bearer xoxb-…`` (or a ``token`` form field); every answer is
  HTTP 200 JSON with ``"ok"``, errors as ``{"ok": false, "error": "invalid_auth"}``, a missing
  scope as ``{"ok": false, "error": "missing_scope", "needed": "...", "provided": "..."}``;
* lists page with ``cursor`` / ``limit`` and ``response_metadata.next_cursor`` ("" on the last
  page); the server hands out at most :attr:`FakeSlack.page_cap` items a page whatever ``limit``
  says (Slack may return fewer than asked), so tests cross pages with little data;
* ``conversations.history`` returns top-level messages and thread broadcasts, newest first,
  ``oldest`` exclusive; a parent carries ``thread_ts``, ``reply_count``, ``reply_users`` and
  ``latest_reply``; ``conversations.replies`` the parent, then the replies, oldest first;
* a rate-limited call is HTTP 429 with ``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``.

Run it with :meth:`FakeSlack.start` (a thread, a free loopback port); :attr:`FakeSlack.url` is the
``base_url`` to give the client. :attr:`FakeSlack.calls` records ``(method, params, time)``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ALL_SCOPES = frozenset(
    {"channels:read", "groups:read", "channels:history", "groups:history", "users:read", "users:read.email"}
)
NEEDS: dict[str, str] = {
    "users.conversations": "channels:read",
    "users.list": "users:read",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
}


@dataclass
class FakeChannel:
    id: str
    name: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    member: bool = True
    deleted: bool = False


@dataclass
class FakeSlack:
    """The workspace: channels with messages, users, the valid token and its scopes."""

    token: str = "xoxb-test-token"
    scopes: set[str] = field(default_factory=lambda: set(ALL_SCOPES))
    revoked: bool = False
    page_cap: int = 2
    team_url: str = "https://acme.slack.com/"
    channels: dict[str, FakeChannel] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    rate_limit_once: set[str] = field(default_factory=set)
    """Methods whose next call is answered 429 (then removed from the set)."""
    retry_after: int = 1
    calls: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    # -- building the workspace ---------------------------------------------------------
    def add_channel(self, cid: str, name: str, *, member: bool = True) -> FakeChannel:
        self.channels[cid] = FakeChannel(cid, name, member=member)
        return self.channels[cid]

    def post(
        self, cid: str, ts: float, user: str, text: str, *, thread_ts: str | None = None, **extra: Any
    ) -> str:
        """Add a message at ``ts`` (seconds); a reply when ``thread_ts`` is given. Returns its ts."""
        sts = f"{ts:.6f}"
        msg: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": sts, **extra}
        if thread_ts:
            msg["thread_ts"] = thread_ts
            msg["parent_user_id"] = self._message(cid, thread_ts)["user"]
        self.channels[cid].messages.append(msg)
        return sts

    def _message(self, cid: str, ts: str) -> dict[str, Any]:
        return next(m for m in self.channels[cid].messages if m["ts"] == ts)

    # -- answers --------------------------------------------------------------------
    def answer(self, method: str, params: dict[str, str], auth: str | None) -> tuple[int, dict[str, Any]]:
        self.calls.append((method, params, time.monotonic()))
        if method in self.rate_limit_once:
            self.rate_limit_once.discard(method)
            return 429, {"ok": False, "error": "ratelimited"}
        token = (auth or "").removeprefix("Bearer ").strip() or params.get("token", "")
        if not token:
            return 200, {"ok": False, "error": "not_authed"}
        if token != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}
        if self.revoked:
            return 200, {"ok": False, "error": "token_revoked"}
        needed = NEEDS.get(method)
        if needed and needed not in self.scopes:
            provided = ",".join(sorted(self.scopes))
            return 200, {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}
        result: tuple[int, dict[str, Any]] = handler(params)
        return result

    def _auth_test(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return 200, {
            "ok": True,
            "url": self.team_url,
            "team": "Acme",
            "user": "followthrough",
            "bot_id": "B1",
        }

    def _users_conversations(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        chans = [
            {"id": c.id, "name": c.name, "is_channel": True, "is_private": False, "is_archived": False}
            for c in self.channels.values()
            if c.member and not c.deleted
        ]
        return self._page(params, "channels", chans)

    def _users_list(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self._page(params, "members", self.users)

    def _conversations_history(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        chan = self.channels.get(params.get("channel", ""))
        if chan is None or chan.deleted:
            return 200, {"ok": False, "error": "channel_not_found"}
        if not chan.member:
            return 200, {"ok": False, "error": "not_in_channel"}
        oldest = float(params.get("oldest") or 0)
        top = []
        for m in chan.messages:
            is_reply = m.get("thread_ts", m["ts"]) != m["ts"]
            if (is_reply and m.get("subtype") != "thread_broadcast") or float(m["ts"]) <= oldest:
                continue
            out = dict(m)
            replies = [r for r in chan.messages if r.get("thread_ts") == m["ts"] and r["ts"] != m["ts"]]
            if replies and not is_reply:
                out["thread_ts"] = m["ts"]
                out["reply_count"] = len(replies)
                out["reply_users"] = sorted({r["user"] for r in replies})
                out["latest_reply"] = max((r["ts"] for r in replies), key=float)
            top.append(out)
        top.sort(key=lambda m: float(m["ts"]), reverse=True)
        return self._page(params, "messages", top, has_more=True)

    def _conversations_replies(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        chan = self.channels.get(params.get("channel", ""))
        if chan is None or chan.deleted:
            return 200, {"ok": False, "error": "channel_not_found"}
        ts = params.get("ts", "")
        thread = [m for m in chan.messages if m["ts"] == ts or m.get("thread_ts") == ts]
        if not any(m["ts"] == ts for m in thread):
            return 200, {"ok": False, "error": "thread_not_found"}
        thread.sort(key=lambda m: float(m["ts"]))
        out = [dict(m, thread_ts=ts) for m in thread]
        return self._page(params, "messages", out, has_more=True)

    def _page(
        self, params: dict[str, str], key: str, items: list[dict[str, Any]], *, has_more: bool = False
    ) -> tuple[int, dict[str, Any]]:
        start = int(base64.b64decode(params["cursor"]).decode().split(":")[1]) if params.get("cursor") else 0
        size = min(int(params.get("limit") or 100), self.page_cap)
        chunk = items[start : start + size]
        more = start + size < len(items)
        body: dict[str, Any] = {"ok": True, key: chunk}
        if has_more:
            body["has_more"] = more
        nxt = base64.b64encode(f"offset:{start + size}".encode()).decode() if more else ""
        body["response_metadata"] = {"next_cursor": nxt}
        return 200, body

    # -- serving --------------------------------------------------------------------
    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    body = self.rfile.read(length).decode()
                    if "json" in (self.headers.get("Content-Type") or ""):
                        params.update({k: str(v) for k, v in json.loads(body).items()})
                    else:
                        params.update(parse_qsl(body))
                method = parts.path.rsplit("/", 1)[-1]
                status, answer = fake.answer(method, params, self.headers.get("Authorization"))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", str(fake.retry_after))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def methods_called(self) -> list[str]:
        return [c[0] for c in self.calls]


def slack_user(uid: str, name: str, email: str | None, tz: str = "America/New_York") -> dict[str, Any]:
    """A ``users.list`` member as Slack documents it."""
    profile: dict[str, Any] = {"real_name": name, "display_name": name.split()[0]}
    if email:
        profile["email"] = email
    return {
        "id": uid,
        "name": name.split()[0].lower(),
        "real_name": name,
        "tz": tz,
        "tz_offset": -18000,
        "deleted": False,
        "is_bot": False,
        "profile": profile,
    }
