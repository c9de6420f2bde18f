"""A cap on request bodies: a larger one is refused with 413, never held in memory.

:class:`BodyLimit`, an ASGI middleware, answers 413 at once when the declared
``Content-Length`` is over the limit (the body is not read), and counts the
bytes of a body sent without one (chunked), refusing it as soon as it passes
the limit. The limit is ``max_body_bytes`` of :func:`followthrough.api.create_app`,
else ``FOLLOWTHROUGH_MAX_BODY_BYTES``, else :data:`DEFAULT_MAX_BODY_BYTES`:
the largest valid document (200,000 characters of text, 500 participants) is
well under it even with every character JSON-escaped.
"""

from __future__ import annotations

import os

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from followthrough.api.problems import problem_response
from followthrough.errors import ConfigError

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
ENV = "FOLLOWTHROUGH_MAX_BODY_BYTES"


def max_body_bytes(explicit: int | None = None) -> int:
    """The body limit in bytes: ``explicit``, else the environment, else the default."""
    if explicit is not None:
        value: int | str = explicit
    else:
        value = os.environ.get(ENV, "").strip() or DEFAULT_MAX_BODY_BYTES
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ConfigError(
            f"{ENV}={value!r} is not a positive number of bytes: use e.g. {DEFAULT_MAX_BODY_BYTES}"
        )
    return limit


class BodyTooLarge(HTTPException):
    """Raised while the body is read (FastAPI passes HTTP exceptions on); answered as a 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    return (
        f"the request body is larger than this server's limit of {limit:,} bytes "
        f"(set by {ENV}): send a smaller document"
    )


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with a 413 problem."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await problem_response(413, too_large(self.limit))(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:  # read outside a route (FastAPI turns it into a 413 problem itself)
            if started:
                raise
            await problem_response(413, too_large(self.limit))(scope, receive, send)
