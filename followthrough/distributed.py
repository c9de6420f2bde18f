"""The main job's reading and extraction on a Ray cluster, with this process as the one writer.

``followthrough run --ray ADDRESS`` (and ``extract --ray``)::

    with connect("local") as cluster:                      # or "host:6379", "ray://host:10001", "auto"
        pipeline.ingest_paths(store, paths, report, domains, read=cluster.read)
        backend = cluster.extractor(build_extractor(settings, ...), settings, domains, directory, options)
        pipeline.extract_pending(store, backend, report, domains)

Reading: the planned inputs (:func:`followthrough.ingest.plan`) are read in Ray tasks, a few
consecutive inputs per task, each streaming its documents back in chunks; this process takes them in
plan order and stores them exactly as a plain run does, so the same input gets the same documents and
ids. Extraction: :class:`RayExtractor` wraps the configured backend under the same name, model and
cache key (the cache and the re-run's "nothing new" are those of a plain run); each batch is cut into
one slice per CPU of the cluster, a Ray task builds that backend from the settings and extracts a
slice, and the results come back in order to :class:`followthrough.pipeline.ExtractionRun`, which
records them here. Nothing but this process writes to the store; the workers never see the database URL.

The workers read the input paths themselves (on a cluster: a file system they share with this
machine) and need followthrough installed; the LLM backend on a worker takes ``OPENAI_API_KEY`` /
``OPENAI_BASE_URL`` from that worker's environment. Ray is imported only here, only when asked for
(the ``ray`` extra).
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from extractor import ExtractionFailed, ExtractionResult, Extractor
from followthrough import ingest
from followthrough.backends import LlmOptions, build_extractor
from followthrough.config import Settings
from followthrough.errors import ConfigError, FollowthroughError, InputError
from followthrough.types import ExtractedItem, SourceDocument

if TYPE_CHECKING:
    from types import ModuleType

LOCAL = "local"
"""``--ray local``: start a Ray instance on this machine for the length of the command."""

RAY_MISSING = "--ray needs Ray, which is not installed: pip install 'followthrough[ray]'"

READ_CHUNK = 256
"""Documents a reading task sends back at a time."""

READ_GROUP = 32
"""At most this many consecutive inputs (files) are read by one task: one small file is not worth a task."""

_CONNECT_TIMEOUT_S = 5.0
"""How long to wait for the cluster's port to answer before saying it cannot be reached."""

_DEFAULT_PORT = {"ray": 10001, "": 6379}
"""The port of a cluster address that names none: Ray Client's (``ray://``) or the head node's GCS."""


def ray_installed() -> bool:
    """Whether Ray can be imported (the ``ray`` extra)."""
    try:
        _ray()
    except ConfigError:
        return False
    return True


def _ray() -> ModuleType:
    """The ``ray`` module; :class:`ConfigError` (:data:`RAY_MISSING`) when it is not installed."""
    try:
        import ray
    except ImportError as e:
        raise ConfigError(RAY_MISSING) from e
    return ray


@dataclass(frozen=True)
class Recipe:
    """How a worker builds the extraction backend: :func:`followthrough.backends.build_extractor`'s
    arguments, without the database URL (workers never touch the store)."""

    settings: Settings
    domains: set[str]
    directory: Mapping[str, str]
    options: LlmOptions

    def build(self) -> Extractor:
        return build_extractor(
            self.settings, domains=self.domains, directory=self.directory, options=self.options
        )


@contextmanager
def connect(address: str) -> Iterator[Cluster]:
    """Join the Ray cluster at ``address`` (:data:`LOCAL` starts one on this machine) for the block.

    ``address``: ``host:port`` (a head node, port 6379 if none), ``ray://host:port`` (Ray Client,
    port 10001 if none), ``auto`` (the cluster ``ray start`` runs on this machine) or :data:`LOCAL`.
    When this process already joined one (``ray.init`` was called), that one is used and left running.
    Raises :class:`ConfigError` with one line when Ray is not installed or the cluster cannot be reached.
    """
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        _init(ray, address)
    try:
        yield Cluster(workers=max(1, int(ray.cluster_resources().get("CPU", 1))))
    finally:
        if started:
            ray.shutdown()


def _init(ray: ModuleType, address: str) -> None:
    if address not in (LOCAL, "auto"):
        _check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ConfigError(f"cannot join the Ray cluster at {address}: {_first_line(e)}") from e


def _check_reachable(address: str) -> None:
    """Raise :class:`ConfigError` unless something answers at ``address``'s port (Ray itself would retry
    for minutes, printing warnings)."""
    try:
        parts = urlsplit(address if "://" in address else f"//{address}")
        host, port = parts.hostname, parts.port or _DEFAULT_PORT.get(parts.scheme, _DEFAULT_PORT[""])
    except ValueError as e:
        raise ConfigError(f"--ray {address!r} is not a cluster address ({e}): use host:port") from e
    if not host:
        raise ConfigError(
            f"--ray {address!r} is not a cluster address: use host:port, ray://host:port, auto or local"
        )
    try:
        socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}") from e


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


@dataclass(frozen=True)
class Cluster:
    """The Ray cluster this process joined (:func:`connect`); ``workers``: its CPUs."""

    workers: int

    def read(
        self, inputs: Sequence[ingest.Input], errors: list[InputError], undated: date | None
    ) -> Iterator[SourceDocument]:
        """The documents of ``inputs``, in their order, read by Ray tasks; problems go to ``errors``.

        The shape of :func:`followthrough.ingest.documents` over every input (``undated`` as there).
        At most ``2 × workers`` tasks are in flight; each sends its documents back in chunks of
        :data:`READ_CHUNK` as it reads them.
        """
        ray = _ray()
        read_group = ray.remote(_read_group)
        size = max(1, min(READ_GROUP, -(-len(inputs) // (4 * self.workers))))
        groups = (list(inputs[i : i + size]) for i in range(0, len(inputs), size))
        submitted = (read_group.remote(group, undated) for group in groups)
        in_flight = deque(islice(submitted, 2 * self.workers))
        while in_flight:
            stream = in_flight.popleft()
            in_flight.extend(islice(submitted, 1))
            for ref in stream:
                docs, problems = _get(ray, ref)
                errors.extend(InputError(path, problem) for path, problem in problems)
                yield from docs

    def extractor(
        self,
        inner: Extractor,
        settings: Settings,
        domains: set[str],
        directory: Mapping[str, str],
        options: LlmOptions,
    ) -> RayExtractor:
        """``inner`` (built here from the same arguments) run by Ray actors; the LLM limits
        (``options``) are shared out among them, so the cluster as a whole keeps to them."""
        n = self.workers
        share = dataclasses.replace(
            options,
            concurrency=max(1, options.concurrency // n),
            rpm=None if options.rpm is None else max(1, options.rpm // n),
            tpm=None if options.tpm is None else max(1, options.tpm // n),
        )
        recipe = Recipe(dataclasses.replace(settings, database_url=""), set(domains), dict(directory), share)
        return RayExtractor(inner, recipe, workers=n)


def _get(ray: ModuleType, ref: Any) -> Any:
    """``ray.get(ref)``; an error of ours raised in a task is raised here as itself (one line)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        if isinstance(e.cause, FollowthroughError):
            raise e.cause from None
        raise


def _read_group(
    group: list[ingest.Input], undated: date | None
) -> Iterator[tuple[list[SourceDocument], list[tuple[str, str]]]]:
    """A Ray task: the documents of ``group`` in chunks, each with the problems met while reading it
    (``(path, problem)``: an :class:`InputError` does not survive pickling)."""
    errors: list[InputError] = []
    chunk: list[SourceDocument] = []
    for item in group:
        for doc in ingest.documents(item, errors, undated):
            chunk.append(doc)
            if len(chunk) == READ_CHUNK:
                yield chunk, [(e.path, e.problem) for e in errors]
                chunk, errors = [], []
    yield chunk, [(e.path, e.problem) for e in errors]


@dataclass(frozen=True)
class _Failed:
    """An :class:`ExtractionFailed` on its way back from a worker (pickling it would lose ``spent``)."""

    message: str
    spent: ExtractionResult
    budget_s: float | None = None

    def error(self) -> ExtractionFailed:
        failed = ExtractionFailed(self.message, self.spent)
        failed.budget_s = self.budget_s
        return failed


def _extract_slice(
    recipe: Recipe, docs: list[SourceDocument]
) -> list[tuple[int, ExtractionResult | _Failed]]:
    """A Ray task: ``recipe``'s backend over ``docs``; ``(index in docs, result or failure)`` per document,
    in the order the backend finished them (a worker process keeps what the backend loads once)."""
    backend = recipe.build()
    try:
        at = {(doc.external_id, doc.source): i for i, doc in enumerate(docs)}
        return [
            (
                at[doc.external_id, doc.source],
                _Failed(str(out), out.spent, out.budget_s) if isinstance(out, ExtractionFailed) else out,
            )
            for doc, out in backend.run_many(docs)
        ]
    finally:
        backend.close()


class RayExtractor(Extractor):
    """``inner``'s extraction in Ray tasks; to the store it is ``inner`` (same name, model, cache key).

    :meth:`run_many` cuts the batch into one contiguous slice per worker, each extracted by a task that
    builds the backend from ``recipe``, and yields the slices' results in turn (a plain run's order for
    a backend that keeps order). A failed document is a failure as on one machine; a slice whose worker
    died for good (Ray retries a task whose process died) fails its documents, which stay pending; an
    error of ours that stops a backend (a refused key) stops the run here as itself.
    """

    def __init__(self, inner: Extractor, recipe: Recipe, *, workers: int) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]  # the wrapped backend's, for the run's record
        self.recipe = recipe
        self.workers = workers
        self.budget_s = inner.budget_s

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def prompt_version(self) -> str:
        return self.inner.prompt_version

    @property
    def cache_key(self) -> str:
        return self.inner.cache_key

    def estimate_cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        return self.inner.estimate_cost(prompt_tokens, completion_tokens)

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        """One document, in this process (:meth:`run_many` is what goes to the cluster)."""
        return self.inner.extract(doc)

    def run_many(
        self, docs: Iterable[SourceDocument]
    ) -> Iterator[tuple[SourceDocument, ExtractionResult | ExtractionFailed]]:
        batch = list(docs)
        if not batch:
            return
        ray = _ray()
        task = ray.remote(_extract_slice)
        recipe = ray.put(self.recipe)
        size = -(-len(batch) // self.workers)
        slices = [batch[i : i + size] for i in range(0, len(batch), size)]
        refs = [task.remote(recipe, part) for part in slices]
        for part, ref in zip(slices, refs, strict=True):
            try:
                done = _get(ray, ref)
            except ray.exceptions.RayError as e:
                failure = _Failed(
                    f"the Ray worker extracting it failed: {_first_line(e)}", ExtractionResult()
                )
                done = [(i, failure) for i in range(len(part))]
            for i, out in done:
                yield part[i], out.error() if isinstance(out, _Failed) else out

    def close(self) -> None:
        self.inner.close()
