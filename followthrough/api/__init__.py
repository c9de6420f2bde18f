"""The HTTP API (FastAPI): ``followthrough serve`` runs it under uvicorn.

Routes (see ``/openapi.json``): ``GET /v1/commitments``,
``GET|PATCH /v1/commitments/{id}``, ``GET /v1/deals``,
``GET /v1/deals/{id}/commitments``, ``POST /v1/documents`` and ``GET /healthz``.
"""

from followthrough.api.app import create_app

__all__ = ["create_app"]
