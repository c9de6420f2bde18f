"""Strict query strings: a parameter a route does not declare is an error, not silently ignored.

``?ownr=marco`` would otherwise answer the unfiltered list as if it were the
filtered one, and ``?owner=a&owner=b`` the list of one of them. A route's parameters
are checked as declared: one typed as a list (``list[str]``) may repeat, any other
may not. :func:`known_query_only` is an app-wide dependency: it compares
the request's query keys with the parameters the matched route declares (its
own and its dependencies') and raises the usual validation error (422,
``application/problem+json``) naming each unknown one.
"""

from __future__ import annotations

from collections import Counter, abc
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

_SEQUENCES = (list, tuple, set, frozenset, abc.Sequence, abc.Set)


def _takes_several(annotation: Any) -> bool:
    """Whether a parameter of this type takes the parameter repeated (``list[str]``, ``list[int] | None``)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _takes_several(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return any(_takes_several(a) for a in get_args(annotation))
    return origin in _SEQUENCES or annotation in _SEQUENCES


def _declared(dependant: Dependant) -> dict[str, bool]:
    """The query parameter names a route takes (its own, its dependencies', and the fields of a query
    model, ``Annotated[Model, Query()]``), each with whether it takes several values (a list)."""
    names: dict[str, bool] = {}
    for p in dependant.query_params:
        annotation = p.field_info.annotation
        names[p.alias] = _takes_several(annotation)
        fields = getattr(annotation, "model_fields", None)
        if isinstance(fields, dict):
            names |= {f.alias or name: _takes_several(f.annotation) for name, f in fields.items()}
    for sub in dependant.dependencies:
        names |= _declared(sub)
    return names


def _route_dependant(request: Request) -> Dependant | None:
    """The matched route's dependant: the scope's ``route``, else the API route serving the scope's
    ``endpoint`` (found in the app's routes, included routers too)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if isinstance(dependant, Dependant):
        return dependant
    endpoint = request.scope.get("endpoint")
    for route in request.app.router.routes:
        if isinstance(route, APIRoute) and route.endpoint is endpoint:
            return route.dependant
    return None


async def known_query_only(request: Request) -> None:
    """Raise 422 for query parameters the route does not declare (``?ownr=``, ``?=``), and for a
    single-valued one given more than once (``?owner=a&owner=b``, ``?status=open&status=done``: which
    one was meant cannot be told; a list parameter may repeat).

    It fails closed: when the route cannot be told (a router that does not record it), every query
    parameter is unknown, never every one accepted."""
    if not request.query_params:
        return
    dependant = _route_dependant(request)
    declared = _declared(dependant) if dependant is not None else {}
    given = Counter(name for name, _ in request.query_params.multi_items())
    errors: list[dict[str, Any]] = [
        {"loc": ("query", name), "msg": f"unknown parameter {name!r}", "type": "extra_forbidden"}
        for name in sorted(set(given) - set(declared))
    ]
    errors += [
        {
            "loc": ("query", name),
            "msg": f"given {count} times: give {name!r} once",
            "type": "repeated_parameter",
        }
        for name, count in sorted(given.items())
        if count > 1 and name in declared and not declared[name]
    ]
    if errors:
        raise RequestValidationError(errors)
