"""``GET /healthz``: the server is up and its database answers (no token needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from followthrough import __version__
from followthrough.api.problems import responses
from followthrough.api.schemas import Health
from followthrough.api.state import ApiState, api_state
from followthrough.errors import StoreError

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses=responses(503))
def healthz(state: Annotated[ApiState, Depends(api_state)]) -> Health:
    try:
        with state.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as e:
        raise StoreError(str(getattr(e, "orig", None) or e).strip().splitlines()[0]) from e
    return Health(status="ok", database="ok", version=__version__)
