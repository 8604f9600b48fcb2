"""Tests of gislib.policy: the shipped policy and clear errors for bad policy files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gislib.datasets import policy_path
from gislib.errors import PolicyError
from gislib.policy import PRIORITY_COMPONENTS, load_policy


def test_shipped_policy_holds_every_rule_of_the_plan_with_its_section() -> None:
    policy = load_policy()
    sections = {r.id: r.section for r in policy.rules.all()}
    assert sections == {
        "scope": "三",
        "build_year": "三",
        "not_renovated": "三（二）",
        "expropriation": "三（二）",
        "illegal_structures": "三（三）",
        "willingness": "三（一）",
        "management": "三（一）",
        "deficiency": "三（一）",
    }
    by = policy.rules.build_year
    assert (by.priority_until, by.capped_until, by.capped_max_share) == (2000, 2005, 0.15)
    assert policy.rules.willingness.min_share == pytest.approx(2 / 3, abs=1e-4)
    assert set(policy.reach_m) == {"water", "rain", "sewer", "combined", "gas", "power", "telecom"}
    assert list(policy.years) == [2021, 2022, 2023, 2024, 2025]
    assert all(r.zh and r.en for r in policy.rules.all())


def test_policy_is_frozen() -> None:
    policy = load_policy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.rules.build_year.capped_max_share = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.reach_m["gas"] = 1.0  # type: ignore[index]


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = policy_path().read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "city.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("capped_max_share = 0.15", "", ("rules.build_year.capped_max_share", "missing")),
        (
            "capped_max_share = 0.15",
            'capped_max_share = "15%"',
            ("capped_max_share", "'15%'", "share"),
        ),
        (
            "capped_max_share = 0.15",
            "capped_max_share = 15",
            ("capped_max_share", "between 0 and 1"),
        ),
        (
            "refuse_above = 0.10",
            "refuse_above = 0.10\nrefuse_abov = 0.2",
            ("refuse_abov", "unknown"),
        ),
        ("gas = 300.0", "gas = -1", ("networks.reach_m.gas", "positive")),
        ('imperfect = ["无", "业委会"]', 'imperfect = ["没有"]', ("imperfect", "没有")),
        ("priority_until = 2000", "priority_until = 2010", ("capped_until", "priority_until")),
        ("[rules.scope]", "[rules.scop]", ("scop",)),
    ],
)
def test_bad_policy_file_names_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, words
) -> None:
    path = edited(tmp_path, old, new)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert "city.toml" in message
    for word in words:
        assert word in message, message


def test_unreadable_policy_files_are_policy_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[meta\nid = 1", encoding="utf-8")
    with pytest.raises(PolicyError, match="TOML"):
        load_policy(bad)


def test_a_rule_can_be_switched_off_by_another_city(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        '[rules.management]\nsection = "三（一）"',
        '[rules.management]\nenabled = false\nsection = "三（一）"',
    )
    assert load_policy(path).rules.management.enabled is False


def test_shipped_policy_has_the_planning_and_bundling_rules() -> None:
    policy = load_policy()
    planning = policy.planning
    assert planning.pilots == (
        "江城区荔枝园公租房小区",
        "江城区神农街公租房小区",
        "阳春市春城街道龙湾小区",
    )
    assert planning.first_year_task == 10
    assert planning.capacity.households == 8000
    assert planning.capacity.budget_yuan == 600_000_000.0
    assert set(planning.priority_weights) == set(PRIORITY_COMPONENTS)
    assert sum(planning.priority_weights.values()) == pytest.approx(1.0)
    bundling = policy.bundling
    assert bundling.distance_band_m == 300.0
    assert (bundling.min_investment, bundling.max_investment) == (4_000_000.0, 110_000_000.0)
    assert bundling.public_tender_threshold == 4_000_000.0
    assert bundling.min_households is None and bundling.max_communities is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundling.distance_band_m = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        planning.priority_weights["age"] = 1.0  # type: ignore[index]


def test_optional_bundling_bounds_and_capacity_can_be_set_or_left_out(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        "public_tender_threshold = 4_000_000.0",
        "public_tender_threshold = 4_000_000.0\nmin_communities = 2\nmax_communities = 8",
    )
    bundling = load_policy(path).bundling
    assert (bundling.min_communities, bundling.max_communities) == (2, 8)
    path = edited(tmp_path, "yearly_households = 8000\n", "")
    assert load_policy(path).planning.capacity.households is None


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("max_investment = 110_000_000.0", "max_investment = 1.0", ("max_investment", "at least")),
        ("distance_band_m = 300.0", "distance_band_m = 0", ("distance_band_m", "positive")),
        ("first_year_task = 10", "first_year_task = -1", ("first_year_task",)),
        ("yearly_households = 8000", "yearly_households = 0", ("yearly_households", "positive")),
        ("age = 0.30", "age = -1", ("priority_weights.age",)),
        ("willingness = 0.15", "willingness = 0.15\nheight = 1", ("height", "unknown")),
        ("[bundling]", "[bundle]", ("bundling", "missing")),
    ],
)
def test_bad_planning_or_bundling_keys_name_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, words
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(edited(tmp_path, old, new))
    message = str(caught.value)
    assert "city.toml" in message
    for word in words:
        assert word in message, message
