"""Bearer-token authentication for every ``/v1`` route.

``Authorization: Bearer <token>``: a missing, malformed, unknown or revoked
token is 401 (with ``WWW-Authenticate: Bearer``); a read-only token on a
write is 403. The token itself is never logged nor echoed in an error.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from followthrough.api.problems import ApiError
from followthrough.api.state import ApiState, api_state
from store.tokens import Principal

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="opaque",
    description="A token from `followthrough tokens create --name NAME [--read-only]`.",
)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="followthrough"'}


def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    state: Annotated[ApiState, Depends(api_state)],
) -> Principal:
    """The token's owner; 401 when there is no valid token."""
    if credentials is None:
        given = "Authorization" in request.headers
        raise ApiError(
            401,
            ("the Authorization header is not a bearer token" if given else "missing bearer token")
            + ": send `Authorization: Bearer <token>` "
            "(create one with `followthrough tokens create --name NAME`)",
            headers=_CHALLENGE,
        )
    principal = state.tokens.verify(credentials.credentials)
    if principal is None:
        raise ApiError(
            401,
            "invalid or revoked token: check it, or create a new one with `followthrough tokens create`",
            headers={"WWW-Authenticate": 'Bearer realm="followthrough", error="invalid_token"'},
        )
    request.state.principal = principal
    return principal


def writer(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    """The token's owner, who must be allowed to write; 403 for a read-only token."""
    if principal.read_only:
        raise ApiError(
            403,
            f"token {principal.name!r} is read-only: use a token created without --read-only to change data",
        )
    return principal


Reader = Annotated[Principal, Depends(authenticated)]
Writer = Annotated[Principal, Depends(writer)]
