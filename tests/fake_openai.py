"""A fake OpenAI-compatible server: a real HTTP server on 127.0.0.1, scripted replies.

Tests and the throughput benchmark point a real ``openai.OpenAI`` client at it,
so everything below the client (HTTP, JSON, headers, timeouts, retries) is
exercised without a network or a key::

    with FakeOpenAI() as server:
        server.queue(rate_limited(retry_after=0.01), server_error(), broken_json())
        client = openai.OpenAI(base_url=server.url, api_key="test", max_retries=0)

Scripted replies are used first, in order; then every request gets the default
responder, a tiny "model" (:func:`cue_model`) that finds commitments ("I'll",
"we will", "Name to ...") and requests ("can you", "please", "?") in each
``<document id="...">`` of the last user message that has documents and answers
with exact quotes in the wire shape, each item naming its document
(``message``). It also answers langextract's prompt format, so the benchmark can
compare both on one server. ``reject_json_schema=True`` behaves like servers
that only know JSON mode (older llama.cpp server, some vLLM/Ollama builds).

Run it alone for the benchmark: ``python -m tests.fake_openai --latency 0.2``
prints ``PORT <n>``; ``GET /stats`` returns counters as JSON.

Prompt caching is simulated as OpenAI documents it: a request whose leading
messages (the ``response_format`` schema, then the messages in order) repeat a
previous request's for at least :data:`CACHE_MIN_TOKENS` tokens reports that
prefix, in steps of :data:`CACHE_STEP_TOKENS`, as
``usage.prompt_tokens_details.cached_tokens`` (counted in ``stats()`` as
``cached_tokens``); a shorter common prefix is not cached.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from extractor.token_count import count_tokens

__all__ = [
    "CACHE_MIN_TOKENS",
    "CACHE_STEP_TOKENS",
    "FakeOpenAI",
    "Reply",
    "broken_json",
    "cue_items",
    "cue_model",
    "hallucinated",
    "items_reply",
    "rate_limited",
    "server_error",
    "slow",
]


@dataclass
class Reply:
    """One scripted answer. ``content`` is the assistant message for a 200."""

    status: int = 200
    content: str | None = None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    respond: Callable[[dict[str, Any]], str] | None = None
    """Compute ``content`` from the request body (used by :func:`slow`, :func:`hallucinated`)."""


def rate_limited(retry_after: float = 0.05, *, ms: bool = False) -> Reply:
    headers = {"retry-after-ms": str(int(retry_after * 1000))} if ms else {"retry-after": f"{retry_after:g}"}
    return Reply(status=429, error="Rate limit reached for requests", headers=headers)


def server_error(status: int = 500) -> Reply:
    return Reply(status=status, error="The server had an error while processing your request.")


def broken_json() -> Reply:
    return Reply(content='{"items": [{"type": "commitment", "owner": "I", "action": "Send the')


def slow(seconds: float) -> Reply:
    return Reply(delay=seconds, respond=cue_model)


def hallucinated(quote: str = "I will sign the contract and wire the payment tomorrow.") -> Reply:
    """The cue model's answer plus one item whose evidence is not in the document."""

    def respond(body: dict[str, Any]) -> str:
        data = json.loads(cue_model(body))
        data["items"].append(
            {
                "type": "commitment",
                "owner": "I",
                "counterparty": None,
                "action": "Sign the contract",
                "due": "tomorrow",
                "evidence": quote,
            }
        )
        return json.dumps(data)

    return Reply(respond=respond)


def items_reply(*items: dict[str, Any]) -> Reply:
    full = [
        {"owner": None, "counterparty": None, "due": None, **item}  # the wire shape, nulls filled in
        for item in items
    ]
    return Reply(content=json.dumps({"items": full}))


# --- the default "model" -------------------------------------------------------------

_DOC = re.compile(r"<document(?: id=\"([^\"<>]*)\")?[^<>\n]*>\n?(.*?)\n?</document>", re.DOTALL)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_COMMIT = re.compile(
    r"\b(?:I'll|I will|we'll|we will|I’ll|we’ll|let me)\b|^\s*-?\s*\[?\s*\]?\s*(\w+) to \w+", re.I
)
_REQUEST = re.compile(r"\b(?:can you|could you|would you|please)\b|\?\s*$", re.I)
_DUE = re.compile(
    r"\b(?:by|before|on|until)\s+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|tomorrow"
    r"|end of (?:day|week|month)|next week|the \d{1,2}(?:st|nd|rd|th))\b|\b(?:tomorrow|next week|today)\b",
    re.I,
)


def _find(text: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for m in _SENTENCE.finditer(text):
        sentence = m.group(0).strip()
        if len(sentence) < 8:
            continue
        due = _DUE.search(sentence)
        commit = _COMMIT.search(sentence)
        kind = "commitment" if commit else "request" if _REQUEST.search(sentence) else None
        if kind is None:
            continue
        owner = commit.group(1) if commit and commit.group(1) else ("I" if kind == "commitment" else None)
        items.append(
            {
                "type": kind,
                "owner": owner,
                "counterparty": None,
                "action": " ".join(sentence.split()[:6]),
                "due": due.group(0) if due else None,
                "evidence": sentence,
            }
        )
    return items


def cue_items(text: str) -> list[dict[str, Any]]:
    """What the cue model finds in one document's text, asked alone: the oracle packed requests must match."""
    return _find(text)


def cue_model(body: dict[str, Any]) -> str:
    """Answer like a decent model: exact quotes of cue sentences, in the caller's format."""
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    texts = []
    for m in users:
        content = m.get("content") or ""
        if isinstance(content, list):  # content parts
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        texts.append(str(content))
    for content in reversed(texts):  # the documents asked about (a re-ask comes after them)
        docs = list(_DOC.finditer(content))
        if docs:
            items = [
                {"message": doc.group(1), **item} if doc.group(1) is not None else item
                for doc in docs
                for item in _find(doc.group(2))
            ]
            return json.dumps({"items": items})
    content = texts[-1] if texts else ""
    # langextract: "... Q: <chunk>\nA: " -> {"extractions": [{"commitment": "...", ...}]}
    q = content.rfind("Q:")  # the last question is the chunk asked about (examples come first)
    text = content[q + 2 :].rsplit("A:", 1)[0] if q != -1 else content
    extractions = [
        {
            item["type"]: item["evidence"],
            f"{item['type']}_attributes": {"owner": item["owner"] or "", "due": item["due"] or ""},
        }
        for item in _find(text)
    ]
    return json.dumps({"extractions": extractions})


# --- the server ----------------------------------------------------------------------


CACHE_MIN_TOKENS = 1024
"""The shortest prompt prefix a provider caches (OpenAI: 1,024 tokens)."""
CACHE_STEP_TOKENS = 128
"""A cached prefix is counted in steps of this many tokens past the minimum (OpenAI: 128)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # listen() backlog: many clients connect at once


class FakeOpenAI:
    """A scripted OpenAI-compatible server on an ephemeral loopback port."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        reject_json_schema: bool = False,
        json_object_only: bool = False,
        responder: Callable[[dict[str, Any]], str] = cue_model,
        port: int = 0,
        keep_bodies: bool = True,
    ) -> None:
        self.latency = latency
        self.reject_json_schema = reject_json_schema or json_object_only
        self.responder = responder
        self.keep_bodies = keep_bodies
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.count = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cached_tokens = 0
        self._prefixes: set[bytes] = set()
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._thread: threading.Thread | None = None

    # -- control --------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.count,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cached_tokens": self.cached_tokens,
                "peak_in_flight": self.peak_in_flight,
            }

    def reset_stats(self) -> None:
        with self._lock:
            self.count = self.prompt_tokens = self.completion_tokens = self.peak_in_flight = 0
            self.cached_tokens = 0
            self._prefixes.clear()
            self.requests.clear()
            self.headers.clear()

    # -- handling -------------------------------------------------------------------
    def _prompt_tokens(self, body: dict[str, Any]) -> int:
        """Prompt tokens as OpenAI bills them: messages (+4 framing each) and the schema."""
        return 3 + sum(tokens for _, tokens in _blocks(body))

    def _cached_tokens(self, body: dict[str, Any]) -> int:
        """The prompt tokens a provider's cache would serve: the longest prefix of whole blocks seen before
        (at least :data:`CACHE_MIN_TOKENS`, in :data:`CACHE_STEP_TOKENS` steps); remembers this prompt's."""
        digest = hashlib.sha256()
        total = cached = 0
        prefixes = []
        for text, tokens in _blocks(body):
            digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
            total += tokens
            key = digest.digest()
            prefixes.append(key)
            with self._lock:
                if key in self._prefixes:
                    cached = total
        with self._lock:
            self._prefixes.update(prefixes)
        if cached < CACHE_MIN_TOKENS:
            return 0
        return CACHE_MIN_TOKENS + (cached - CACHE_MIN_TOKENS) // CACHE_STEP_TOKENS * CACHE_STEP_TOKENS

    def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str], float]:
        with self._lock:
            scripted = self.script.popleft() if self.script else None
        fmt = (body.get("response_format") or {}).get("type")
        if self.reject_json_schema and fmt == "json_schema":
            return (
                400,
                _error("response_format type 'json_schema' is not supported; use 'json_object'"),
                {},
                0.0,
            )
        reply = scripted or Reply(respond=self.responder)
        if reply.status != 200:
            return reply.status, _error(reply.error or "error", reply.status), reply.headers, reply.delay
        content = reply.content if reply.respond is None else reply.respond(body)
        prompt = self._prompt_tokens(body)
        cached = self._cached_tokens(body)
        completion = count_tokens(content or "")
        with self._lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.cached_tokens += cached
        payload = {
            "id": f"chatcmpl-fake-{self.count}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }
        return 200, payload, reply.headers, reply.delay

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stalls

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
                pass

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/stats"):
                    self._send(200, server.stats())
                elif self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._send(404, _error("not found", 404))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, _error(f"no route {self.path}", 404))
                    return
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(400, _error("request body is not JSON"))
                    return
                with server._lock:
                    server.count += 1
                    server.in_flight += 1
                    server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
                    if server.keep_bodies:
                        server.requests.append(body)
                        server.headers.append({k.lower(): v for k, v in self.headers.items()})
                try:
                    status, payload, headers, delay = server._answer(body)
                    if server.latency or delay:
                        time.sleep(server.latency + delay)
                    self._send(status, payload, headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server._lock:
                        server.in_flight -= 1

        return Handler


def _blocks(body: dict[str, Any]) -> list[tuple[str, int]]:
    """A prompt in the order a provider reads it, as (text, tokens): the schema, then each message
    (its role, content and 4 tokens of framing)."""
    blocks = []
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = json.dumps(fmt.get("json_schema", {}).get("schema", {}), separators=(",", ":"))
        blocks.append((schema, _count(schema)))
    for m in body.get("messages") or []:
        content = m.get("content") or ""
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        blocks.append((f"{m.get('role')}:{content}", _count(str(content)) + 4))
    return blocks


@lru_cache(maxsize=4096)
def _count(text: str) -> int:
    """Token count, cached: system prompts and examples repeat in every request."""
    return count_tokens(text)


def _error(message: str, status: int = 400) -> dict[str, Any]:
    kind = {429: "rate_limit_exceeded", 500: "server_error"}.get(status, "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = FakeOpenAI(latency=args.latency, port=args.port, keep_bodies=False)
    print(f"PORT {server.port}", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
