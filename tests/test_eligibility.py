"""Tests of gislib.eligibility: every rule of the plan with a hand-built case.

Geometries are built as exact squares in EPSG:4546 (metres) and stored in
EPSG:4490, so overlap shares are known by hand (a square half inside a zone
is 50%).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, box

from gislib.eligibility import (
    Outcome,
    Tier,
    Verdict,
    check_capped_share,
    check_eligibility,
    urban_share,
    zone_overlap,
)
from gislib.errors import CRSError, SchemaError
from gislib.policy import load_policy

X0, Y0 = 600_000.0, 2_420_000.0  # metres in EPSG:4546, central Jiangcheng


def layer(boxes: list[tuple[float, float, float, float]], **columns) -> gpd.GeoDataFrame:
    """Squares given in metres (EPSG:4546) as a layer in EPSG:4490."""
    geoms = [MultiPolygon([box(X0 + a, Y0 + b, X0 + c, Y0 + d)]) for a, b, c, d in boxes]
    return gpd.GeoDataFrame(columns, geometry=geoms, crs="EPSG:4546").to_crs("EPSG:4490")


def good_attributes(n: int, **overrides) -> dict[str, list]:
    base = {
        "community_id": [f"C{i}" for i in range(n)],
        "name": [f"测试小区{i}" for i in range(n)],
        "county_code": ["441702"] * n,
        "build_year": [1990] * n,
        "storeys": [6] * n,
        "has_lift": [False] * n,
        "renovated_before": [False] * n,
        "illegal_structures_cleared": [True] * n,
        "willingness": [0.9] * n,
        "management": ["无"] * n,
    }
    for key, value in overrides.items():
        base[key] = value if isinstance(value, list) else [value] * n
    return base


URBAN = layer([(-5_000, -5_000, 5_000, 5_000)], area_id=["U1"], name=["江城区中心城区"])
NO_ZONES = layer([(90_000, 90_000, 90_100, 90_100)], zone_id=["Z0"], name=["远处片区"])


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def check(communities, policy, zones=NO_ZONES, urban=URBAN, **kwargs):
    return check_eligibility(communities, zones=zones, urban_areas=urban, policy=policy, **kwargs)


def outcome(result, cid: str, rule: str) -> str:
    rows = result.reasons(cid)
    return rows.loc[rows["rule_id"] == rule, "outcome"].item()


def reason(result, cid: str, rule: str) -> str:
    rows = result.reasons(cid)
    return rows.loc[rows["rule_id"] == rule, "reason_zh"].item()


def test_a_square_half_inside_a_zone_overlaps_50_percent() -> None:
    comm = layer([(0, 0, 100, 100)], community_id=["C0"])
    zones = layer([(50, -100, 300, 300)], zone_id=["Z1"], name=["金山片区"])
    result = zone_overlap(comm, zones)
    assert result["share"].iloc[0] == pytest.approx(0.5, abs=1e-9)
    assert result["zones"].iloc[0] == ("金山片区",)


def test_overlapping_zones_are_counted_once() -> None:
    comm = layer([(0, 0, 100, 100)], community_id=["C0"])
    zones = layer([(0, 0, 60, 100), (40, 0, 80, 100)], zone_id=["Z1", "Z2"], name=["甲", "乙"])
    result = zone_overlap(comm, zones)
    assert result["share"].iloc[0] == pytest.approx(0.8, abs=1e-9)
    assert result["zone_shares"].iloc[0] == pytest.approx((0.6, 0.4))


def test_expropriation_bands_pass_review_and_fail_with_zone_names(policy) -> None:
    # overlaps: 0%, 1% (sliver), 5% (review), 62% (fail)
    comm = layer(
        [(0, 0, 100, 100), (200, 0, 300, 100), (400, 0, 500, 100), (600, 0, 700, 100)],
        **good_attributes(4),
    )
    zones = layer(
        [(299, 0, 310, 100), (495, 0, 520, 100), (638, 0, 800, 100)],
        zone_id=["Z1", "Z2", "Z3"],
        name=["北片区", "中片区", "金山片区城市更新单元"],
    )
    result = check(comm, policy, zones=zones)
    assert [outcome(result, f"C{i}", "expropriation") for i in range(4)] == [
        "pass", "pass", "review", "fail",
    ]  # fmt: skip
    assert (
        reason(result, "C3", "expropriation")
        == "与规划征迁范围「金山片区城市更新单元」重叠 62%，超过 10%"
    )
    assert "仅边缘接触 1.0%" in reason(result, "C1", "expropriation")
    assert result.summary.loc[3, "expropriation_zones"] == "金山片区城市更新单元"
    assert result.summary["verdict"].tolist() == [
        "eligible",
        "eligible",
        "conditional",
        "ineligible",
    ]


def test_scope_needs_half_of_the_area_inside_the_urban_area(policy) -> None:
    comm = layer([(4_960, 0, 5_060, 100), (4_940, 0, 5_040, 100)], **good_attributes(2))
    assert urban_share(comm, URBAN).tolist() == pytest.approx([0.4, 0.6])
    result = check(comm, policy)
    assert outcome(result, "C0", "scope") == "fail"
    assert outcome(result, "C1", "scope") == "pass"


@pytest.mark.parametrize(
    ("year", "tier", "result"),
    [
        (1975, Tier.PRIORITY, Outcome.PASS),
        (2000, Tier.PRIORITY, Outcome.PASS),
        (2001, Tier.CAPPED, Outcome.PASS),
        (2005, Tier.CAPPED, Outcome.PASS),
        (2006, Tier.OUT, Outcome.FAIL),
        (None, Tier.UNKNOWN, Outcome.REVIEW),
    ],
)
def test_build_year_tiers_follow_the_plan(policy, year, tier, result) -> None:
    comm = layer(
        [(0, 0, 100, 100)], **good_attributes(1, build_year=[year])
    )
    checked = check(comm, policy)
    assert checked.summary["tier"].item() == tier
    assert outcome(checked, "C0", "build_year") == result


@pytest.mark.parametrize(
    ("field", "value", "rule", "expected"),
    [
        ("renovated_before", True, "not_renovated", "fail"),
        ("renovated_before", None, "not_renovated", "review"),
        ("illegal_structures_cleared", False, "illegal_structures", "fail"),
        ("illegal_structures_cleared", None, "illegal_structures", "review"),
        ("willingness", 0.70, "willingness", "pass"),
        ("willingness", 0.60, "willingness", "review"),
        ("willingness", 0.40, "willingness", "fail"),
        ("willingness", None, "willingness", "review"),
        ("management", "业委会", "management", "pass"),
        ("management", "物业", "management", "review"),
    ],
)
def test_each_attribute_rule_with_a_hand_built_case(policy, field, value, rule, expected) -> None:
    comm = layer([(0, 0, 100, 100)], **good_attributes(1, **{field: [value]}))
    assert outcome(check(comm, policy), "C0", rule) == expected


def test_willingness_reason_states_share_and_threshold(policy) -> None:
    comm = layer([(0, 0, 100, 100)], **good_attributes(1, willingness=[0.6]))
    assert (
        reason(check(comm, policy), "C0", "willingness")
        == "居民同意率 60%，未达 67%，需继续动员后复核"
    )


def test_deficiency_counts_network_building_and_waterlogging_findings(policy) -> None:
    comm = layer(
        [(0, 0, 100, 100), (200, 0, 300, 100), (400, 0, 500, 100)],
        **good_attributes(3, storeys=[3, 3, 7], has_lift=[False, False, False]),
    )
    networks = pd.DataFrame({"deficiencies": [(), ("no_gas_main",), ()]}, index=comm.index)
    raster = pd.DataFrame({"waterlogging_mean_m": [0.0, 0.0, 0.3]}, index=comm.index)
    result = check(comm, policy, networks=networks, raster=raster)
    assert result.summary["deficiencies"].tolist() == [
        (),
        ("no_gas_main",),
        ("no_lift", "waterlogging"),
    ]
    assert [outcome(result, f"C{i}", "deficiency") for i in range(3)] == ["review", "pass", "pass"]
    assert "燃气" in reason(result, "C1", "deficiency")


def test_every_community_gets_one_row_per_rule_and_keeps_its_index(policy) -> None:
    comm = layer([(0, 0, 100, 100), (200, 0, 300, 100)], **good_attributes(2))
    comm.index = pd.Index([17, 42])
    result = check(comm, policy)
    assert result.summary.index.tolist() == [17, 42]
    assert len(result.rules) == 2 * len(policy.rules.all())
    assert set(result.rules.columns) >= {
        "rule_id",
        "section",
        "outcome",
        "value",
        "threshold",
        "reason_zh",
        "reason_en",
    }
    assert result.reasons("C0")["section"].tolist()[0] == "三"


def test_verdict_is_the_worst_outcome(policy) -> None:
    comm = layer(
        [(0, 0, 100, 100), (200, 0, 300, 100), (400, 0, 500, 100)],
        **good_attributes(3, willingness=[0.9, 0.6, 0.6], renovated_before=[False, False, True]),
    )
    networks = pd.DataFrame({"deficiencies": [("no_gas_main",)] * 3}, index=comm.index)
    result = check(comm, policy, networks=networks)
    assert result.summary["verdict"].tolist() == [
        Verdict.ELIGIBLE,
        Verdict.CONDITIONAL,
        Verdict.INELIGIBLE,
    ]
    assert result.summary["failed_rules"].tolist()[2] == ("not_renovated",)
    assert result.summary["review_rules"].tolist()[1] == ("willingness",)
    counts = result.counts_by_verdict()
    assert counts.to_dict() == {"eligible": 1, "conditional": 1, "ineligible": 1}


def test_capped_share_reports_share_and_the_communities_over_the_cap(policy) -> None:
    frame = pd.DataFrame(
        {
            "community_id": [f"C{i}" for i in range(20)],
            "build_year": [1990] * 16 + [2004, 2001, 2005, 2003],
        }
    )
    cap = check_capped_share(frame, policy=policy)
    assert cap.share == pytest.approx(0.2) and cap.allowed == 3 and not cap.ok
    assert cap.capped == ["C17", "C19", "C16", "C18"]
    assert cap.excess == ["C18"]  # the most recently built goes over the cap
    assert "C18" in cap.message()[0]
    assert check_capped_share(frame.iloc[:19], policy=policy).allowed == 2  # floor(0.15 x 19)


def test_capped_share_at_exactly_fifteen_percent_holds(policy) -> None:
    frame = pd.DataFrame(
        {"community_id": [f"C{i}" for i in range(20)], "build_year": [1990] * 17 + [2002] * 3}
    )
    cap = check_capped_share(frame, policy=policy)
    assert cap.ok and cap.share == pytest.approx(0.15)


def test_layers_in_different_crs_are_refused(policy) -> None:
    comm = layer([(0, 0, 100, 100)], **good_attributes(1))
    with pytest.raises(CRSError, match="expropriation_zones"):
        check(comm, policy, zones=NO_ZONES.to_crs("EPSG:4546"))
    with pytest.raises(SchemaError):
        check(comm.drop(columns=["community_id"]), policy)


def test_sample_workspace_verdicts_are_all_explained(policy) -> None:
    from gislib.datasets import sample_workspace_path
    from gislib.store import open_workspace

    ws = open_workspace(sample_workspace_path())
    comm = ws.read("communities")
    result = check_eligibility(
        comm,
        zones=ws.read("expropriation_zones"),
        urban_areas=ws.read("urban_areas"),
        policy=policy,
    )
    counts = result.counts_by_verdict()
    assert counts.sum() == len(comm) and (counts > 0).all()
    failing = result.rules[result.rules["outcome"] == "fail"]
    assert not failing.empty and failing["reason_zh"].str.len().min() > 4
    assert np.all(
        result.summary.loc[result.summary["verdict"] == "ineligible", "failed_rules"].map(len) > 0
    )
