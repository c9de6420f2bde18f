"""Property-based check of /openapi.json against the running server (schemathesis).

For every operation schemathesis generates requests from the schema (valid and
invalid ones, a bounded number of examples each) and checks that the server
never answers 5xx, that each status code, content type, header and body is
the one the schema declares, that invalid input is refused, and that auth is
not ignored. Runs on SQLite and PostgreSQL over a small seeded database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from followthrough.api import create_app
from followthrough.config import Settings
from store import Store
from store.api_tokens import ApiTokens
from tests.api_support import AS_OF, BACKENDS, CRM, FakeExtractor, LiveServer, database, email

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    with database(request.param, "test_schemathesis", tmp) as url:
        with Store(url) as store:
            store.upsert_crm(CRM)
            _, token = ApiTokens(store.engine).create("schemathesis")
        settings_ = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.io"})
        app = create_app(url, as_of=AS_OF, settings=settings_, extractor=FakeExtractor())
        with LiveServer(app) as server:
            headers = {"Authorization": f"Bearer {token}"}
            for n in range(1, 4):
                body = email(f"I'll send the deliverable {n} by 2026-03-{10 + n}. Can you confirm item {n}?")
                assert httpx.post(server.url + "/v1/documents", json=body, headers=headers).status_code == 201
            yield server.url, token


# The schema the app serves, built without a server (no database is opened);
# test_the_served_document_is_the_one_tested checks the live server serves the same.
SPEC = create_app("sqlite://", settings=Settings(database_url="sqlite://", as_of=AS_OF)).openapi()
schema = schemathesis.openapi.from_dict(SPEC)


def test_the_served_document_is_the_one_tested(served: tuple[str, str]) -> None:
    url, _ = served
    assert httpx.get(f"{url}/openapi.json").json() == SPEC


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases on every run: CI is reproducible, a failure can be replayed
    suppress_health_check=list(HealthCheck),
)
def test_the_server_keeps_to_its_openapi_document(case: Any, served: tuple[str, str]) -> None:
    url, token = served
    # The schema declares the Authorization header; a negative case may leave it out. Putting the
    # real token back then would send a valid request and fail negative_data_rejection falsely, so
    # the token replaces a generated header and never adds one that the case removed.
    generated = {k.lower() for k in (case.headers or {})}
    headers = {"Authorization": f"Bearer {token}"} if "authorization" in generated else None
    case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=30)
