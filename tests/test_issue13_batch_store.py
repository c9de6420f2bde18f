"""Issue 13: the store keeps Batch API batches, so a later run collects them (SQLite and PostgreSQL).

A batch is open until closed; it holds a document only with the content it was submitted with (a
document changed since is pending again, free to be submitted); batches are kept per cache key; and
the answers of a batch are read as the online path reads a completion.
"""

from __future__ import annotations

import pytest

from extractor.batch.answers import read_answer
from extractor.batch.settings import BatchSettings
from followthrough.errors import ConfigError
from store import NotFound, Store
from tests.store_fixtures import make_doc, store, store_url  # noqa: F401

KEY = "openai:gpt-4o-mini:v1"


def test_an_open_batch_holds_its_documents_until_closed(store: Store) -> None:  # noqa: F811
    first, _ = store.add_document(make_doc("<a@acme.com>"))
    second, _ = store.add_document(make_doc("<b@acme.com>", text="Could you send the contract?"))
    hashes = {d: store.get_document(d).content_hash for d in (first, second)}
    store.add_batch(
        "batch_1",
        endpoint="http://127.0.0.1:1/v1",
        cache_key=KEY,
        input_file_id="file-1",
        status="validating",
        documents=[(first, hashes[first], 1), (second, hashes[second], 2)],
    )
    assert store.batched_documents(KEY) == {first, second}
    assert store.batched_documents("openai:other:v1") == set()
    [batch] = store.open_batches(KEY)
    assert (batch.batch_id, batch.endpoint, batch.input_file_id, batch.status) == (
        "batch_1",
        "http://127.0.0.1:1/v1",
        "file-1",
        "validating",
    )
    assert [tuple(d) for d in batch.documents] == [(first, hashes[first], 1), (second, hashes[second], 2)]

    store.add_document(make_doc("<b@acme.com>", text="Could you send the signed contract?"))
    assert store.batched_documents(KEY) == {first}  # changed since it was submitted: pending again

    store.batch_polled("batch_1", "in_progress")
    assert store.open_batches(KEY)[0].status == "in_progress"
    store.batch_polled("batch_1", "completed", closed=True)
    assert store.open_batches(KEY) == [] and store.batched_documents(KEY) == set()
    with pytest.raises(NotFound):
        store.batch_polled("batch_2", "completed")


def test_answers_are_read_as_the_online_path_reads_a_completion() -> None:
    ok = read_answer(
        {
            "custom_id": "doc-1-part-0",
            "response": {
                "status_code": 200,
                "body": {
                    "choices": [{"message": {"role": "assistant", "content": '{"items": []}'}}],
                    "usage": {"prompt_tokens": 120, "completion_tokens": 7},
                },
            },
        }
    )
    assert ok is not None and ok.completion is not None and ok.error is None
    assert (ok.completion.content, ok.completion.prompt_tokens, ok.completion.completion_tokens) == (
        '{"items": []}',
        120,
        7,
    )
    page = read_answer({"custom_id": "doc-2-part-0", "response": {"status_code": 200, "body": "<html>"}})
    assert page is not None and page.completion is None
    assert page.error is not None and "was not a chat completion" in page.error
    refused = read_answer(
        {
            "custom_id": "doc-3-part-0",
            "response": {"status_code": 429, "body": {"error": {"message": "Rate limit reached"}}},
        }
    )
    assert refused is not None and refused.error == "the LLM server answered 429: Rate limit reached"
    assert not refused.not_run
    expired = read_answer(
        {"custom_id": "doc-4-part-0", "response": None, "error": {"code": "batch_expired", "message": "x"}}
    )
    assert expired is not None and expired.not_run
    assert read_answer({"response": None}) is None


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"poll_s": 0}, "--poll-seconds"),
        ({"max_wait_s": -1}, "--max-wait-seconds"),
        ({"max_requests": 0}, "1"),
    ],
)
def test_batch_settings_refuse_values_out_of_range(settings: dict[str, float], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        BatchSettings(**settings)  # type: ignore[arg-type]
