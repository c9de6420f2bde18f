"""Estimated cost of LLM calls: a price table per model, overridable.

Prices are US dollars per million tokens (input, output, and cached input:
prompt tokens a provider serves from its prompt cache, billed at a discount),
from the providers' public price lists as of late 2025; they are estimates,
shown as such. A model without a cached-input price bills cached tokens as input. A model
matches its longest listed prefix ("gpt-4o-mini-2024-07-18" → "gpt-4o-mini";
a provider prefix such as "openai/" is ignored). Local models (vLLM, Ollama,
llama.cpp) are not listed: their cost is unknown (``None``), shown as "n/a".

Override or extend the table with ``FOLLOWTHROUGH_PRICES``: either inline JSON
or the path of a JSON file, mapping a model name (or ``"*"`` for any model not
listed) to ``{"input": USD_per_1M, "output": USD_per_1M}`` (optionally ``"cached_input"``). Read at call
time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from followthrough.errors import ConfigError

__all__ = ["Price", "DEFAULT_PRICES", "price_table", "price_for", "estimate_cost"]


@dataclass(frozen=True)
class Price:
    input: float
    """USD per million prompt tokens."""
    output: float
    """USD per million completion tokens."""
    cached_input: float | None = None
    """USD per million prompt tokens served from the provider's prompt cache (``None``: no discount)."""

    @property
    def cached(self) -> float:
        """USD per million cached prompt tokens: :attr:`cached_input`, else :attr:`input`."""
        return self.input if self.cached_input is None else self.cached_input


DEFAULT_PRICES: dict[str, Price] = {
    "gpt-5": Price(1.25, 10.00, 0.125),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "o3": Price(2.00, 8.00, 0.50),
    "o3-mini": Price(1.10, 4.40, 0.55),
}


def _load_override(value: str) -> dict[str, Price]:
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).expanduser().read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"FOLLOWTHROUGH_PRICES: cannot read {value}: {e.strerror or e}") from e
    try:
        data = json.loads(text)
        return {
            str(k): Price(
                float(v["input"]),
                float(v["output"]),
                None if v.get("cached_input") is None else float(v["cached_input"]),
            )
            for k, v in data.items()
        }
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise ConfigError(
            'FOLLOWTHROUGH_PRICES must map model names to {"input": USD_per_1M, "output": USD_per_1M} '
            '(optionally "cached_input": USD_per_1M)'
        ) from e


def price_table(env: Mapping[str, str] | None = None) -> dict[str, Price]:
    """The built-in table updated with ``FOLLOWTHROUGH_PRICES``."""
    env = os.environ if env is None else env
    table = dict(DEFAULT_PRICES)
    override = env.get("FOLLOWTHROUGH_PRICES")
    if override:
        table.update(_load_override(override))
    return table


def price_for(model: str, table: Mapping[str, Price] | None = None) -> Price | None:
    table = price_table() if table is None else table
    name = model.rsplit("/", 1)[-1].lower()
    if name in table:
        return table[name]
    best = max((k for k in table if k != "*" and name.startswith(k)), key=len, default=None)
    if best is not None:
        return table[best]
    return table.get("*")


def estimate_cost(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    table: Mapping[str, Price] | None = None,
    *,
    cached_prompt_tokens: int = 0,
) -> float | None:
    """Estimated USD for the tokens, or ``None`` when the model's price is unknown.

    ``cached_prompt_tokens`` of the ``prompt_tokens`` (not in addition to them) came from the provider's
    prompt cache and are billed at :attr:`Price.cached`.
    """
    price = price_for(model, table)
    if price is None:
        return None
    cached = min(max(0, cached_prompt_tokens), prompt_tokens)
    fresh = prompt_tokens - cached
    return (fresh * price.input + cached * price.cached + completion_tokens * price.output) / 1_000_000
