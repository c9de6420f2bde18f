"""The LLM backend's requests sent through a provider's Batch API (the OpenAI shape): cheaper, slower.

One module per job, each imported by name:

- :mod:`extractor.batch.settings`: how long to wait and how often to poll, the batch price factor
  (imports no HTTP client: :mod:`followthrough.backends` carries it for ``--batch``);
- :mod:`extractor.batch.api`: the provider's ``/v1/files`` and ``/v1/batches`` endpoints (upload the
  JSONL of requests, create, poll, download the output and error files);
- :mod:`extractor.batch.answers`: one line of an output or error file read as an answer or an error;
- :mod:`extractor.batch.backend`: :class:`~extractor.batch.backend.BatchExtractor`, the requests of
  one document (built as the online backend builds them) and its result from the answers (parsed and
  grounded as the online backend does).

Keeping batches across runs is the store's (``store.batches``); the run that submits, polls and
records them is :mod:`followthrough.batch_run`.
"""
