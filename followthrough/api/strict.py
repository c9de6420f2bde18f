"""Strict query strings: a parameter a route does not declare is an error, not silently ignored.

``?ownr=marco`` would otherwise answer the unfiltered list as if it were the
filtered one. :func:`known_query_only` is an app-wide dependency: it compares
the request's query keys with the parameters the matched route declares (its
own and its dependencies') and raises the usual validation error (422,
``application/problem+json``) naming each unknown one.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError


def _declared(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared(sub)
    return names


async def known_query_only(request: Request) -> None:
    """Raise 422 for query parameters the route does not declare (``?ownr=``, ``?=``)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant) or not request.query_params:
        return
    unknown = sorted(set(request.query_params.keys()) - _declared(dependant))
    if unknown:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": f"unknown parameter {name!r}", "type": "extra_forbidden"}
                for name in unknown
            ]
        )
