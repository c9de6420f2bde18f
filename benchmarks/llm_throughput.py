"""LLM backend throughput, memory and prompt economy against a local fake server.

    .venv/bin/python benchmarks/llm_throughput.py [--n 1000] [--concurrency 32] [--latency 0.25]
                                                  [--no-langextract] [--json]

Starts ``tests/fake_openai.py`` in its own process on 127.0.0.1 with a fixed
reply latency, then extracts N real emails (the BC3 dev messages of
``../shared/eval``, cycled with fresh ids) and prints:

* documents/s against the ideal ``concurrency / latency``, as a ratio
  (target >= 0.9 at concurrency 32);
* peak traced memory (tracemalloc) at N/4 and N documents: flat in N means
  the batch streams instead of holding every document or future;
* prompt tokens sent per source token (counted by the server with one
  tokenizer for everybody), without and with the pre-filter;
* prompt economy on the BC3 mailbox as it is (each message once, in order):
  one request per document (the baseline, same run) against short documents
  sharing requests, and the same with the fixed prompt padded past the 1,024
  tokens providers cache (the server simulates OpenAI's prompt cache): prompt
  tokens per source token, oracle recall (the fake model's items for each
  document asked alone, which the packed results must all contain) and the
  estimated cost per million emails on gpt-4o-mini, cached prompt tokens at
  its cached-input price (:mod:`extractor.pricing`);
* the same for google's langextract (PyPI ``langextract``) pointed at the same
  server through its OpenAI provider, with its defaults (1000-char chunks,
  its prompt format) and the same instructions and few-shot examples.

Nothing leaves the machine: the server is on loopback and the clients are
given its URL and a dummy key.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import openai  # noqa: E402

from extractor.llm_messages import REPLY_PRIMING_TOKENS, MessageBuilder  # noqa: E402
from extractor.llm_settings import OutputMode, Packing  # noqa: E402
from extractor.offline import OfflineExtractor  # noqa: E402
from extractor.openai_backend import OpenAIExtractor  # noqa: E402
from extractor.pricing import estimate_cost  # noqa: E402
from extractor.token_count import count_tokens, tokenizer_name  # noqa: E402
from followthrough.types import SourceDocument, compute_content_hash  # noqa: E402
from prompts.loader import DEFAULT_PROMPT, PROMPTS_DIR, Prompt, load_prompt  # noqa: E402
from tests.fake_openai import CACHE_MIN_TOKENS, cue_items  # noqa: E402

PRICED_MODEL = "gpt-4o-mini"
"""The model whose prices the cost per million emails is estimated with."""


def corpus() -> list[SourceDocument]:
    from benchmarks.eval_bc3 import MBOX, load_documents

    docs = [d for d in load_documents(MBOX) if d.text.strip()]
    if not docs:
        raise SystemExit(f"no documents in {MBOX}")
    return docs


def long_documents(base: list[SourceDocument], count: int, per_doc: int = 15) -> list[SourceDocument]:
    """Thread-sized documents: ``per_doc`` consecutive messages joined, like a long thread or meeting."""
    out = []
    for i in range(count):
        parts = [base[(i * per_doc + j) % len(base)].text for j in range(per_doc)]
        first = base[(i * per_doc) % len(base)]
        text = "\n\n".join(parts)
        ext_id = f"<long-{i}@bench>"
        out.append(
            first.model_copy(
                update={
                    "external_id": ext_id,
                    "text": text,
                    "segments": [],
                    "content_hash": compute_content_hash(first.source, ext_id, text),
                }
            )
        )
    return out


def stream(base: list[SourceDocument], n: int, tag: str) -> Iterator[SourceDocument]:
    """N documents made one at a time (never all in memory), each with a fresh id."""
    for i in range(n):
        doc = base[i % len(base)]
        ext_id = f"<{tag}-{i}-{doc.external_id.strip('<>')}>"
        yield doc.model_copy(
            update={"external_id": ext_id, "content_hash": compute_content_hash(doc.source, ext_id, doc.text)}
        )


class Server:
    def __init__(self, latency: float) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_openai", "--latency", str(latency)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self.proc.kill()
            raise SystemExit(f"fake server did not start: {line}")
        self.url = f"http://127.0.0.1:{line[1]}/v1"

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(self.url + "/stats", timeout=10) as r:  # noqa: S310 - loopback only
            data: dict[str, int] = json.load(r)
            return data

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    keys = ("requests", "prompt_tokens", "completion_tokens", "cached_tokens")
    return {k: after[k] - before.get(k, 0) for k in keys}


def run_raw(server: Server, n: int, concurrency: int) -> float:
    """Documents/s of a bare HTTP client (no extraction work): the harness's own ceiling."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    body = {
        "model": "raw",
        "messages": [{"role": "user", "content": "<document>\nI'll call you.\n</document>"}],
    }
    limits = httpx.Limits(max_connections=2 * concurrency, max_keepalive_connections=2 * concurrency)
    with httpx.Client(limits=limits, timeout=30) as client, ThreadPoolExecutor(concurrency) as pool:

        def one(_: int) -> int:
            return client.post(server.url + "/chat/completions", json=body).status_code

        list(pool.map(one, range(2 * concurrency)))
        started = time.perf_counter()
        list(pool.map(one, range(n)))
        return n / (time.perf_counter() - started)


def run_ours(
    server: Server,
    base: list[SourceDocument],
    n: int,
    concurrency: int,
    *,
    prefilter: bool = False,
    trace: bool = False,
) -> dict[str, Any]:
    client = openai.OpenAI(base_url=server.url, api_key="bench", max_retries=0)
    ext = OpenAIExtractor(
        client,
        model="gpt-4o-mini",
        concurrency=concurrency,
        prefilter=OfflineExtractor() if prefilter else None,
    )
    source_tokens = failed = items = saved = skipped = 0
    before = server.stats()
    gc.collect()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    for doc, outcome in ext.run_many(stream(base, n, f"ours{n}{prefilter}")):
        source_tokens += count_tokens(doc.text)
        if isinstance(outcome, Exception):
            failed += 1
            continue
        items += len(outcome.items)
        saved += outcome.tokens_saved
        skipped += int(outcome.prefiltered)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    client.close()
    sent = delta(server.stats(), before)
    return {
        "documents": n,
        "seconds": elapsed,
        "docs_per_s": n / elapsed,
        "failed": failed,
        "items": items,
        "requests": sent["requests"],
        "prompt_tokens": sent["prompt_tokens"],
        "source_tokens": source_tokens,
        "prompt_per_source": sent["prompt_tokens"] / max(1, source_tokens),
        "prefiltered_docs": skipped,
        "tokens_saved": saved,
        "peak_bytes": peak,
    }


def padded_prompt(folder: Path) -> Prompt:
    """The default prompt with its system message padded (a sentence repeated) until the fixed prefix just
    passes the provider's cache minimum: the cheapest cacheable prefix, for the cost comparison only."""
    data = json.loads((PROMPTS_DIR / f"{DEFAULT_PROMPT}.json").read_text())
    data["name"] = f"{DEFAULT_PROMPT}_padded"
    system, path, repeats = data["system"], folder / f"{DEFAULT_PROMPT}_padded.json", 0
    while True:
        data["system"] = system + "\n" + " ".join(["Follow these rules."] * repeats)
        path.write_text(json.dumps(data))
        prompt = load_prompt(path)
        fixed = MessageBuilder(prompt).fixed_prompt_tokens(OutputMode.JSON_SCHEMA)
        if fixed - REPLY_PRIMING_TOKENS >= CACHE_MIN_TOKENS:  # the server's cache counts whole messages
            return prompt
        repeats += max(1, (CACHE_MIN_TOKENS + REPLY_PRIMING_TOKENS - fixed) // 8)


def run_economy(
    latency: float,
    docs: list[SourceDocument],
    concurrency: int,
    packing: Packing,
    prompt: Prompt | None = None,
) -> dict[str, Any]:
    """The mailbox through the backend once, on a fresh server (an empty prompt cache): tokens, oracle
    recall and the cost per million emails, with and without the cached prompt tokens the server reports."""
    server = Server(latency)
    try:
        return _economy(server, docs, concurrency, packing, prompt)
    finally:
        server.close()


def _economy(
    server: Server, docs: list[SourceDocument], concurrency: int, packing: Packing, prompt: Prompt | None
) -> dict[str, Any]:
    client = openai.OpenAI(base_url=server.url, api_key="bench", max_retries=0)
    ext = OpenAIExtractor(client, model=PRICED_MODEL, concurrency=concurrency, packing=packing, prompt=prompt)
    oracle = {(d.external_id, i["type"], i["evidence"]) for d in docs for i in cue_items(d.text)}
    found: set[tuple[str, str, str]] = set()
    failed = 0
    before = server.stats()
    for doc, outcome in ext.run_many(docs):
        if isinstance(outcome, Exception):
            failed += 1
            continue
        found |= {(doc.external_id, i.type, i.evidence.quote) for i in outcome.items}
    client.close()
    sent = delta(server.stats(), before)
    source = sum(count_tokens(d.text) for d in docs)
    tokens = (PRICED_MODEL, sent["prompt_tokens"], sent["completion_tokens"])
    cost = estimate_cost(*tokens, cached_prompt_tokens=sent["cached_tokens"])
    uncached = estimate_cost(*tokens)
    return {
        "documents": len(docs),
        "failed": failed,
        "requests": sent["requests"],
        "fixed_prompt_tokens": ext.messages.fixed_prompt_tokens(ext.mode),
        "prompt_tokens": sent["prompt_tokens"],
        "cached_tokens": sent["cached_tokens"],
        "completion_tokens": sent["completion_tokens"],
        "source_tokens": source,
        "prompt_per_source": sent["prompt_tokens"] / max(1, source),
        "oracle_items": len(oracle),
        "oracle_recall": len(oracle & found) / max(1, len(oracle)),
        "usd_per_million_emails": None if cost is None else cost / len(docs) * 1_000_000,
        "usd_per_million_emails_uncached": None if uncached is None else uncached / len(docs) * 1_000_000,
    }


def prompt_economy(latency: float, docs: list[SourceDocument], concurrency: int) -> dict[str, Any]:
    """One request per document (the baseline), shared requests, and shared with a cacheable prefix.

    ``cache_break_even``: the share of the padded prefix's best-case caching (every request after the
    first served from the cache) it needs to cost no more than the short prefix, which is never cached.
    """
    with tempfile.TemporaryDirectory() as folder:
        padded = padded_prompt(Path(folder))
        runs: dict[str, Any] = {
            "one_per_request": run_economy(latency, docs, concurrency, Packing(max_documents=1)),
            "shared": run_economy(latency, docs, concurrency, Packing()),
            "shared_cacheable_prefix": run_economy(latency, docs, concurrency, Packing(), padded),
        }
    short, cacheable = runs["shared"], runs["shared_cacheable_prefix"]
    best, worst = cacheable["usd_per_million_emails"], cacheable["usd_per_million_emails_uncached"]
    if best is not None and worst is not None and worst > best:
        runs["cache_break_even"] = (worst - short["usd_per_million_emails"]) / (worst - best)
    return runs


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def run_langextract(server: Server, base: list[SourceDocument], n: int, concurrency: int) -> dict[str, Any]:
    try:
        import langextract as lx
    except ImportError as e:
        return {"error": f"langextract is not installed ({e}); pip install langextract"}
    prompt = load_prompt()
    examples = [
        lx.data.ExampleData(
            text=doc.text,
            extractions=[
                lx.data.Extraction(
                    extraction_class=item.type,
                    extraction_text=item.evidence,
                    attributes={
                        "owner": item.owner or "",
                        "counterparty": item.counterparty or "",
                        "action": item.action,
                        "due": item.due or "",
                    },
                )
                for item in ex.items
                if item.message == doc.id
            ],
        )
        for ex in prompt.examples
        for doc in ex.documents  # one example per document: langextract reads one text at a time
        if any(item.message == doc.id for item in ex.items)  # its validator refuses an example with none
    ]
    description = prompt.system_message()
    docs = list(stream(base, n, f"lx{n}"))  # langextract takes an iterable but returns a list
    source_tokens = sum(count_tokens(d.text) for d in docs)
    lx_docs = [lx.data.Document(text=d.text, document_id=d.external_id) for d in docs]
    before = server.stats()
    started = time.perf_counter()
    try:
        results = lx.extract(
            lx_docs,
            prompt_description=description,
            examples=examples,
            model_id="gpt-4o-mini",
            api_key="bench",
            model_url=server.url,
            max_workers=concurrency,
            batch_length=concurrency,
            show_progress=False,
        )
    except Exception as e:  # noqa: BLE001 - report why the comparison could not run
        return {"error": f"langextract failed against the fake server: {type(e).__name__}: {e}"}
    elapsed = time.perf_counter() - started
    results = results if isinstance(results, list) else [results]
    sent = delta(server.stats(), before)
    items = sum(len(r.extractions or []) for r in results)
    return {
        "documents": n,
        "seconds": elapsed,
        "docs_per_s": n / elapsed,
        "items": items,
        "requests": sent["requests"],
        "prompt_tokens": sent["prompt_tokens"],
        "source_tokens": source_tokens,
        "prompt_per_source": sent["prompt_tokens"] / max(1, source_tokens),
        "version": _version("langextract"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="LLM backend throughput against a local fake server")
    parser.add_argument("--n", type=int, default=1000, help="documents per run (default 1000)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.25, help="fake server reply latency, seconds")
    parser.add_argument("--no-langextract", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    base = corpus()
    server = Server(args.latency)
    try:
        raw = run_raw(server, args.n, args.concurrency)
        run_ours(server, base, min(args.n, 2 * args.concurrency), args.concurrency)  # warm-up
        ours = run_ours(server, base, args.n, args.concurrency)
        pre = run_ours(server, base, args.n, args.concurrency, prefilter=True)
        small = run_ours(server, base, max(1, args.n // 4), args.concurrency, trace=True)
        large = run_ours(server, base, args.n, args.concurrency, trace=True)
        lx = None if args.no_langextract else run_langextract(server, base, args.n, args.concurrency)
        longs = long_documents(base, 32)
        long_ours = run_ours(server, longs, len(longs), args.concurrency)
        economy = prompt_economy(args.latency, base, args.concurrency)
        long_lx = (
            None if args.no_langextract else run_langextract(server, longs, len(longs), args.concurrency)
        )
    finally:
        server.close()

    ideal = args.concurrency / args.latency
    report = {
        "setup": {
            "documents": args.n,
            "concurrency": args.concurrency,
            "latency_s": args.latency,
            "ideal_docs_per_s": ideal,
            "corpus": f"{len(base)} BC3 dev emails, cycled",
            "tokenizer": tokenizer_name(),
            "bare_http_client_docs_per_s": raw,
            "bare_http_client_ratio": raw / ideal,
        },
        "followthrough": {**ours, "ratio_to_ideal": ours["docs_per_s"] / ideal},
        "followthrough_prefilter": pre,
        "memory": {
            "peak_bytes_quarter_n": small["peak_bytes"],
            "peak_bytes_n": large["peak_bytes"],
            "growth": large["peak_bytes"] / max(1, small["peak_bytes"]),
        },
        "langextract": lx,
        "long_documents": {"followthrough": long_ours, "langextract": long_lx},
        "prompt_economy": economy,
    }
    if lx and "docs_per_s" in lx:
        lx["ratio_to_ideal"] = lx["docs_per_s"] / ideal
    if args.json:
        print(json.dumps(report, indent=2))
        return 0

    mem = report["memory"]
    print(
        f"LLM throughput: {args.n} documents, concurrency {args.concurrency}, server latency {args.latency}s "
        f"(ideal {ideal:.0f} docs/s); {report['setup']['corpus']}; tokens by {report['setup']['tokenizer']}"
    )
    print(
        f"  harness ceiling: a bare HTTP client with no extraction work reaches {raw:.1f} docs/s "
        f"({raw / ideal:.2f} of ideal) against this server"
    )
    rows = [("", "followthrough", "langextract")]

    def col(key: str, fmt: str, src: dict[str, Any] | None) -> str:
        if not src or key not in src or src[key] is None:
            return "n/a"
        return format(src[key], fmt)

    fo = report["followthrough"]
    for label, key, fmt in (
        ("documents/s", "docs_per_s", ".1f"),
        ("ratio to ideal", "ratio_to_ideal", ".2f"),
        ("requests", "requests", "d"),
        ("prompt tokens / source token", "prompt_per_source", ".2f"),
        ("items found", "items", "d"),
    ):
        rows.append((label, col(key, fmt, fo), col(key, fmt, lx)))
    width = max(len(r[0]) for r in rows) + 2
    for r in rows:
        print(f"  {r[0]:<{width}}{r[1]:>14}{r[2]:>14}")
    print(
        f"  peak memory (tracemalloc): {mem['peak_bytes_quarter_n'] / 1e6:.1f} MB at N/4, "
        f"{mem['peak_bytes_n'] / 1e6:.1f} MB at N (x{mem['growth']:.2f})"
    )
    print(
        f"  with --prefilter: {pre['prompt_per_source']:.2f} prompt tokens / source token, "
        f"{pre['requests']} requests, {pre['prefiltered_docs']} documents skipped, "
        f"~{pre['tokens_saved']} prompt tokens saved, {pre['docs_per_s']:.1f} documents/s"
    )
    long_tokens = long_ours["source_tokens"] / len(longs)
    print(
        f"  long documents (32 threads of 15 messages, ~{long_tokens:.0f} tokens each): "
        f"prompt tokens / source token {long_ours['prompt_per_source']:.2f} "
        f"in {long_ours['requests']} requests (followthrough) vs "
        + (
            f"{long_lx['prompt_per_source']:.2f} in {long_lx['requests']} requests (langextract)"
            if long_lx and "prompt_per_source" in long_lx
            else "n/a (langextract)"
        )
    )
    print_economy(economy)
    if lx and "error" in lx:
        print(f"  langextract: {lx['error']}")
    elif lx:
        print(
            f"  langextract {lx.get('version')}: defaults (1000-char chunks), same instructions and examples"
        )
    return 0


def print_economy(economy: dict[str, Any]) -> None:
    base, shared = economy["one_per_request"], economy["shared"]
    print(
        f"  prompt economy on the BC3 mailbox ({shared['documents']} messages once, "
        f"{shared['source_tokens']} source tokens; cost: {PRICED_MODEL}, cached prompt tokens at its "
        "cached-input price):"
    )
    for label, key in (
        ("one document per request (baseline)", "one_per_request"),
        ("short documents share requests", "shared"),
        ("shared, prefix padded to be cached", "shared_cacheable_prefix"),
    ):
        run = economy[key]
        cost = run["usd_per_million_emails"]
        print(
            f"    {label:<37} {run['prompt_per_source']:5.2f} prompt tokens / source token, "
            f"{run['requests']:4d} requests, fixed prompt {run['fixed_prompt_tokens']} tokens, "
            f"{run['cached_tokens']} cached, oracle recall {run['oracle_recall']:.3f} "
            f"of {run['oracle_items']}, "
            + ("cost n/a" if cost is None else f"${cost:,.2f} per million emails")
        )
    if base["usd_per_million_emails"] and shared["usd_per_million_emails"]:
        tokens = shared["prompt_tokens"] / max(1, base["prompt_tokens"])
        cost = shared["usd_per_million_emails"] / base["usd_per_million_emails"]
        print(f"    shared / baseline: prompt tokens x{tokens:.2f}, cost x{cost:.2f}")
    if "cache_break_even" in economy:
        padded = economy["shared_cacheable_prefix"]
        best, worst = padded["usd_per_million_emails"], padded["usd_per_million_emails_uncached"]
        print(
            f"    padded prefix: ${best:,.2f} per million emails when every request after the first hits the "
            f"provider's cache, ${worst:,.2f} when none does; it beats the short prefix only above "
            f"{economy['cache_break_even']:.0%} of that best case"
        )


if __name__ == "__main__":
    sys.exit(main())
