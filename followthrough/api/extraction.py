"""Extract one submitted document: store it, run the extractor, record, link.

The batch pipeline (:func:`followthrough.pipeline.extract_pending`) extracts
every pending document; the API extracts the one it was given, in the same
steps and with the same cache: an unchanged document already extracted with
this extractor costs no model call.
"""

from __future__ import annotations

from dataclasses import dataclass

from extractor.base import Extractor
from followthrough.errors import ExtractionError
from followthrough.pipeline import classify_participants
from followthrough.types import SourceDocument
from store import Store


@dataclass
class Extracted:
    document_id: int
    changed: bool
    new: bool
    cached: bool
    commitment_ids: list[int]
    ungrounded: int


def extract_one(store: Store, extractor: Extractor, doc: SourceDocument, domains: set[str]) -> Extracted:
    """Store ``doc``, extract it (or reuse a cached extraction), record the items and link them.

    A failed extraction is recorded as failed (the document stays pending for
    the next ``followthrough extract``) and re-raised as :class:`ExtractionError`.
    """
    classify_participants(doc, domains)
    known = store.document_id(doc.source, doc.external_id) is not None
    doc_id, changed = store.add_document(doc)
    key = extractor.cache_key
    run_id = store.start_run(
        extractor=extractor.name, model=extractor.model, prompt_version=extractor.prompt_version
    )
    cached_items = store.cached_items(doc.content_hash, key)
    prompt_tokens = completion_tokens = 0
    ungrounded = 0
    if cached_items is not None:
        items = cached_items
    else:
        try:
            result = extractor.run(doc)
        except ExtractionError as e:
            store.record_extraction(run_id, doc_id, key, [], status="failed", error=str(e))
            store.finish_run(run_id, {"status": "failed", "origin": "api"})
            raise
        items = result.items
        prompt_tokens, completion_tokens = result.prompt_tokens, result.completion_tokens
        ungrounded = result.ungrounded
    ids = store.record_extraction(
        run_id, doc_id, key, items, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
    )
    ungrounded += sum(1 for i in items if not i.grounded)
    store.finish_run(run_id, {"cached": int(cached_items is not None), "origin": "api"})
    store.link_commitments(domains, ids=ids)
    return Extracted(
        document_id=doc_id,
        changed=changed,
        new=not known,
        cached=cached_items is not None,
        commitment_ids=ids,
        ungrounded=ungrounded,
    )
