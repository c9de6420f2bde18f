"""Bearer-token authentication for every ``/v1`` route.

``Authorization: Bearer <token>``: a missing, malformed, unknown or revoked
token is 401 (with ``WWW-Authenticate: Bearer``); a read-only token on a
write (any method but GET, HEAD and OPTIONS) is 403. The token itself is
never logged nor echoed in an error.

:class:`BearerAuth`, an ASGI middleware, decides before the route runs, so
before FastAPI reads the body or the query: a request without a valid token
is 401 even when its body is not JSON or its parameters are invalid. It
leaves the token's :class:`Principal` in ``request.state.principal``. The
dependencies :data:`Reader` and :data:`Writer` hand that principal to a route
and declare the bearer scheme, and the 401/403 answers, in the OpenAPI
document; a route outside ``/v1`` that uses them checks the token itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from followthrough.api.problems import ApiError, database_problem, problem_response
from followthrough.api.state import ApiState, api_state
from followthrough.errors import StoreError
from store import ApiTokens, Principal

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="opaque",
    description="A token from `followthrough tokens create --name NAME [--read-only]`.",
)

PROTECTED_PREFIX = "/v1"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="followthrough"'}
_INVALID = {"WWW-Authenticate": 'Bearer realm="followthrough", error="invalid_token"'}


def bearer_token(authorization: str | None) -> str | None:
    """The token in an ``Authorization: Bearer <token>`` header value, or ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def verify(api_tokens: ApiTokens, authorization: str | None, *, write: bool) -> Principal:
    """The owner of the token in ``authorization``; :class:`ApiError` 401 or 403 otherwise."""
    token = bearer_token(authorization)
    if token is None:
        raise ApiError(
            401,
            ("the Authorization header is not a bearer token" if authorization else "missing bearer token")
            + ": send `Authorization: Bearer <token>` "
            "(create one with `followthrough tokens create --name NAME`)",
            headers=_CHALLENGE,
        )
    principal = api_tokens.verify(token)
    if principal is None:
        raise ApiError(
            401,
            "invalid or revoked token: check it, or create a new one with `followthrough tokens create`",
            headers=_INVALID,
        )
    if write and principal.read_only:
        raise _read_only(principal)
    return principal


def _read_only(principal: Principal) -> ApiError:
    return ApiError(
        403,
        f"token {principal.name!r} is read-only: use a token created without --read-only to change data",
    )


def protected(path: str) -> bool:
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


class BearerAuth:
    """ASGI middleware: authenticate every ``/v1`` request before the app sees it.

    The store is reached through the app's :class:`ApiState` (set when the app
    starts); the token is checked in a worker thread (it is a database query).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not protected(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        write = request.method not in READ_METHODS
        try:
            api_tokens = api_state(request).api_tokens
            principal = await run_in_threadpool(
                verify, api_tokens, request.headers.get("authorization"), write=write
            )
        except ApiError as e:
            response = problem_response(e.status, e.detail, headers=e.headers)
        except StoreError as e:  # the reason is logged (redacted), never answered
            response = database_problem(scope, e)
        else:
            scope.setdefault("state", {})["principal"] = principal
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The token's owner, as :class:`BearerAuth` found it (401 when there is no valid token)."""
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal):
        return principal
    state: ApiState = api_state(request)  # not behind BearerAuth: check here
    principal = verify(state.api_tokens, request.headers.get("authorization"), write=False)
    request.state.principal = principal
    return principal


def writer(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    """The token's owner, who must be allowed to write; 403 for a read-only token."""
    if principal.read_only:
        raise _read_only(principal)
    return principal


Reader = Annotated[Principal, Depends(authenticated)]
Writer = Annotated[Principal, Depends(writer)]
