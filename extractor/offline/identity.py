"""Who the offline backend is, without loading it: the digest of its rules and of its model file.

Together they make its ``prompt_version`` and so the cache key every offline extraction is stored
under (:attr:`extractor.base.Extractor.cache_key`). Only files are read here; no pattern is compiled
and no rule module imported, so a run with nothing to extract can tell what is pending in a few
milliseconds (:class:`extractor.offline.deferred.DeferredOffline`).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

MODEL_FILE = "model.json"
"""The detector model shipped inside the package (``make train`` writes it)."""

RULE_MODULES_OUTSIDE = ("people.py",)
"""Modules of ``extractor`` outside this package whose rules decide the offline output (who is who)."""


@lru_cache(maxsize=1)
def rules_digest() -> str:
    """A hash of the offline backend's source (rules, patterns, features, who is who): changes with the code.

    Covers every module of ``extractor.offline`` and :data:`RULE_MODULES_OUTSIDE`
    (the people resolver it shares with the LLM backend), so that a change to
    any of them re-extracts instead of answering from the cache.
    """
    h = hashlib.sha256()
    try:
        pkg = resources.files("extractor.offline")
        for name in sorted(p.name for p in pkg.iterdir() if p.name.endswith(".py")):
            h.update(name.encode())
            h.update(pkg.joinpath(name).read_bytes())
        shared = resources.files("extractor")
        for name in RULE_MODULES_OUTSIDE:
            h.update(f"../{name}".encode())
            h.update(shared.joinpath(name).read_bytes())
    except (OSError, TypeError):  # pragma: no cover - an unusual install without sources
        return "unknown"
    return h.hexdigest()


@lru_cache(maxsize=1)
def model_text() -> str:
    """The text of the shipped model file (:data:`MODEL_FILE`), read once per process."""
    return resources.files("extractor.offline").joinpath(MODEL_FILE).read_text(encoding="utf-8")


def text_digest(text: str) -> str:
    """The sha256 (hex) of a model file's text: the model part of the cache key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prompt_version(model_digest: str) -> str:
    """The offline backend's ``prompt_version`` for a model of ``model_digest``: rules and model in
    use, so that a change to either invalidates cached extractions."""
    return f"rules-{rules_digest()[:12]}+model-{model_digest[:12]}"
