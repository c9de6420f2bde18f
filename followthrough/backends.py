"""Build the configured extraction backend (the one place that chooses it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import assert_never

from extractor import Extractor
from extractor.batch.settings import BatchSettings
from extractor.llm_settings import DEFAULT_CONCURRENCY, RateLimits
from followthrough.config import ExtractorName, Settings
from followthrough.errors import ConfigError


@dataclass
class LlmOptions:
    """Knobs for the OpenAI-compatible backend (ignored by the offline one)."""

    concurrency: int = DEFAULT_CONCURRENCY
    rpm: int | None = None
    tpm: int | None = None
    prefilter: bool = True
    batch: BatchSettings | None = None
    """Send the documents through the provider's Batch API (``--batch``); ``None``: one request at a time."""


def build_extractor(
    settings: Settings,
    *,
    domains: set[str],
    directory: Mapping[str, str],
    options: LlmOptions | None = None,
) -> Extractor:
    """The offline detector, or the LLM backend when one is configured."""
    match settings.extractor:
        case ExtractorName.OFFLINE:  # loaded on the first document: a run with none pending compiles nothing
            from extractor.offline.deferred import DeferredOffline

            return DeferredOffline(company_domains=domains, directory=directory)
        case ExtractorName.OPENAI:
            return _openai(settings, domains=domains, directory=directory, options=options or LlmOptions())
        case _:
            assert_never(settings.extractor)


def _openai(
    settings: Settings, *, domains: set[str], directory: Mapping[str, str], options: LlmOptions
) -> Extractor:
    try:
        from extractor.openai_backend import OpenAIExtractor
    except ImportError as e:  # pragma: no cover - the backend ships with the package
        raise ConfigError(f"the OpenAI backend is unavailable: {e}") from e
    from extractor.offline import OfflineExtractor

    prefilter = OfflineExtractor(company_domains=domains, directory=directory) if options.prefilter else None
    return OpenAIExtractor(
        model=settings.model,
        concurrency=options.concurrency,
        rate_limits=RateLimits(rpm=options.rpm, tpm=options.tpm),
        prefilter=prefilter,
        directory=directory,
    )
