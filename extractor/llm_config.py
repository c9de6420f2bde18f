"""Where the LLM backend's endpoint, key and model come from: one place, at call time.

Order, first wins: an explicit argument (a CLI flag), then the environment
(``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``FOLLOWTHROUGH_MODEL``), then the
default (OpenAI's API, :data:`DEFAULT_MODEL`). Nothing is read at import time.
This module is the one home of the default model (:func:`model_name`) and of
"is an LLM configured" (:func:`llm_configured`); :mod:`followthrough.config`
asks it rather than reading ``OPENAI_*`` itself. It imports no HTTP client, so
resolving settings stays cheap.

OpenAI's hosted API and Azure OpenAI (``https://RESOURCE.openai.azure.com/openai/v1``)
need a key; a missing one raises :class:`ConfigError` saying how to fix it.
Local servers (vLLM, Ollama, llama.cpp server, LM Studio, any other base URL)
need none: a placeholder is sent, since the ``openai`` client requires a
non-empty key.

The key and a password in the base URL (``https://user:pw@host/v1``) are secrets:
they are registered with :func:`followthrough.redaction.remember`, and no message
or ``repr`` shows them (a URL is shown without its userinfo).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from extractor.llm_url import safe_url
from followthrough.errors import ConfigError
from followthrough.redaction import remember

__all__ = [
    "DEFAULT_MODEL",
    "OPENAI_BASE_URL",
    "LLMConfig",
    "llm_configured",
    "model_name",
    "resolve_llm_config",
]

DEFAULT_MODEL = "gpt-4o-mini"
OPENAI_BASE_URL = "https://api.openai.com/v1"
_NO_KEY = "not-needed"


@dataclass(frozen=True)
class LLMConfig:
    api_key: str
    base_url: str
    model: str

    @property
    def hosted_openai(self) -> bool:
        """OpenAI's API or Azure OpenAI (its v1 endpoint takes the standard client): a key is needed."""
        host = urlparse(self.base_url).hostname or ""
        return host == "openai.com" or host.endswith((".openai.com", ".openai.azure.com"))

    def __repr__(self) -> str:  # never print the key
        return f"LLMConfig(base_url={safe_url(self.base_url)!r}, model={self.model!r}, api_key=***)"


def llm_configured(env: Mapping[str, str] | None = None) -> bool:
    """True when the environment points at an LLM (a key or a base URL is set)."""
    env = os.environ if env is None else env
    return bool(env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"))


def model_name(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The model to ask: ``explicit``, else ``FOLLOWTHROUGH_MODEL``, else :data:`DEFAULT_MODEL`; stripped."""
    env = os.environ if env is None else env
    return (explicit or env.get("FOLLOWTHROUGH_MODEL") or DEFAULT_MODEL).strip()


def resolve_llm_config(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    env: Mapping[str, str] | None = None,
) -> LLMConfig:
    """Resolve the endpoint, key and model (see the module docstring for the order)."""
    env = os.environ if env is None else env
    url = (base_url or env.get("OPENAI_BASE_URL") or OPENAI_BASE_URL).strip().rstrip("/")
    try:
        parsed = urlparse(url)
        hostname = parsed.hostname
        remember(parsed.password)
        remember(parsed.username)
    except ValueError:  # a malformed netloc (an unbalanced "[", a bad port)
        parsed, hostname = urlparse(""), None
    if parsed.scheme not in ("http", "https") or not hostname:
        raise ConfigError(  # the URL is shown through safe_url: redacted, no userinfo
            f"OPENAI_BASE_URL {safe_url(url)!r} is not an http(s) URL: use e.g. http://localhost:8000/v1 "
            "(vLLM), http://localhost:11434/v1 (Ollama) or http://localhost:8080/v1 (llama.cpp)"
        )
    key = api_key or env.get("OPENAI_API_KEY") or ""
    remember(key)
    config = LLMConfig(api_key=key or _NO_KEY, base_url=url, model=model_name(model, env))
    if not key and config.hosted_openai:
        raise ConfigError(
            f"no API key for {safe_url(url)}: set OPENAI_API_KEY, or set OPENAI_BASE_URL "
            "to a local OpenAI-compatible server, or use --extractor offline"
        )
    return config
