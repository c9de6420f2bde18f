"""Per-tier settings: the response target for inbound requests and the silence limit for accounts."""

from __future__ import annotations

import pytest

from followthrough.config import (
    DEFAULT_RESPONSE_HOURS,
    DEFAULT_SILENT_DAYS,
    parse_tiered,
    response_hours,
    silent_days,
)
from followthrough.errors import ConfigError
from followthrough.types import TieredValue, tier_key, tier_rank


@pytest.mark.parametrize(
    ("tier", "key"),
    [("Tier 1", "1"), ("tier1", "1"), (" 1 ", "1"), ("Mid-Market", "mid-market"), (None, ""), ("", "")],
)
def test_tier_keys_compare_the_way_people_write_tiers(tier: str | None, key: str) -> None:
    assert tier_key(tier) == key


def test_defaults_are_24_hours_and_30_days_with_14_for_tier_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOLLOWTHROUGH_RESPONSE_HOURS", raising=False)
    monkeypatch.delenv("FOLLOWTHROUGH_SILENT_DAYS", raising=False)
    assert response_hours() == DEFAULT_RESPONSE_HOURS and response_hours().for_tier("Tier 1") == 24
    assert silent_days().for_tier("Tier 1") == 14 and silent_days().for_tier("Mid-Market") == 30
    assert silent_days().for_tier(None) == DEFAULT_SILENT_DAYS.default == 30


def test_the_environment_sets_the_default_and_single_tiers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_SILENT_DAYS", "45, Enterprise=21")
    days = silent_days()
    assert (days.for_tier("enterprise"), days.for_tier("tier 1"), days.for_tier("SMB")) == (21, 14, 45)
    monkeypatch.setenv("FOLLOWTHROUGH_RESPONSE_HOURS", "8, tier 1 = 2")
    assert response_hours().for_tier("Tier1") == 2 and response_hours().for_tier(None) == 8
    assert response_hours("12").for_tier("1") == 12  # an explicit value wins over the environment


@pytest.mark.parametrize("value", ["abc", "0", "-3", "nan", "inf", "=5", "tier 1=", "30, x=y"])
def test_anything_else_is_one_config_error_naming_the_setting(value: str) -> None:
    with pytest.raises(ConfigError, match="FOLLOWTHROUGH_SILENT_DAYS"):
        parse_tiered("FOLLOWTHROUGH_SILENT_DAYS", value, DEFAULT_SILENT_DAYS, example="30")


def test_an_unset_or_empty_value_is_the_default() -> None:
    default = TieredValue(7.0, (("gold", 3.0),))
    assert parse_tiered("X", None, default, example="7") is default
    assert parse_tiered("X", "  ", default, example="7") is default


@pytest.mark.parametrize(
    ("tier", "rank"),
    [("1", 1), ("Tier 2", 2), ("T1", 1), ("Enterprise", 1), ("Mid-Market", 2), ("SMB", 3), ("Other", None)],
)
def test_one_reading_of_tiers_ranks_named_and_numbered_tiers(tier: str, rank: int | None) -> None:
    assert tier_rank(tier) == rank


def test_a_rank_override_covers_the_named_tiers_of_that_rank() -> None:
    days = DEFAULT_SILENT_DAYS  # 30, tier 1=14
    assert days.for_tier("Enterprise") == 14 and days.for_tier("Strategic") == 14
    assert days.for_tier("Mid-Market") == 30
    named = parse_tiered(
        "FOLLOWTHROUGH_SILENT_DAYS", "30, tier 1=14, enterprise=21", DEFAULT_SILENT_DAYS, example="30"
    )
    assert named.for_tier("Enterprise") == 21 and named.for_tier("Platinum") == 14  # a name beats its rank
