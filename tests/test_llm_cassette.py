"""The OpenAI client path replayed from recorded HTTP (vcrpy / pytest-recording).

The cassettes were recorded from tests/fake_openai.py listening on a fixed
port; replaying needs no server, no network and no key. To re-record::

    .venv/bin/python -m tests.fake_openai --port 18642 &
    .venv/bin/python -m pytest tests/test_llm_cassette.py --record-mode=rewrite
    kill %1

The ``Authorization`` header is filtered out before a cassette is written.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openai
import pytest
import yaml

from extractor.openai_backend import OpenAIExtractor
from followthrough.types import Participant, SourceDocument

CASSETTES = Path(__file__).parent / "cassettes" / "test_llm_cassette"
BASE_URL = "http://127.0.0.1:18642/v1"
SECRET = "sk-recorded-secret-never-stored"


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, object]:
    return {"filter_headers": ["authorization"], "decode_compressed_response": True}


def _doc() -> SourceDocument:
    return SourceDocument(
        source="email",
        external_id="<cassette-1@acme.com>",
        occurred_at=datetime(2026, 3, 10, 16, 0, tzinfo=timezone(timedelta(hours=1))),
        title="Re: SSO rollout",
        participants=[
            Participant(name="Marco Rossi", email="marco@northwind.io", role="sender"),
            Participant(name="Dana Lee", email="dana@acme.com", role="recipient"),
        ],
        text="Dana,\nI'll send the SSO runbook by Friday.\nCan you share the IdP metadata?\nMarco",
    )


@pytest.mark.vcr
def test_structured_extraction_replayed() -> None:
    client = openai.OpenAI(base_url=BASE_URL, api_key=SECRET, max_retries=0)
    try:
        result = OpenAIExtractor(client, model="gpt-4o-mini").run(_doc())
    finally:
        client.close()
    by_type = {i.type: i for i in result.items}
    assert by_type["commitment"].owner_email == "marco@northwind.io"
    assert by_type["commitment"].due == date(2026, 3, 13)
    assert by_type["request"].evidence.quote == "Can you share the IdP metadata?"
    assert result.llm_calls == 1 and result.prompt_tokens > 0

    cassette = CASSETTES / "test_structured_extraction_replayed.yaml"
    raw = cassette.read_text()
    assert SECRET not in raw and "authorization" not in raw.lower()
    [interaction] = yaml.safe_load(raw)["interactions"]
    sent = interaction["request"]
    assert sent["uri"].endswith("/v1/chat/completions")
    assert '"type": "json_schema"' in sent["body"] or '"type":"json_schema"' in sent["body"]
    assert '"strict": true' in sent["body"] or '"strict":true' in sent["body"]
