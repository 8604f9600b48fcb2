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
import shapely
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
    comm = layer([(0, 0, 100, 100)], **good_attributes(1, build_year=[year]))
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


# ---------------------------------------------------------------------------
# The whole check (networks, zones, urban areas, every rule and its reasons)
# against a brute-force computation: one community, zone and pipe at a time.


def pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.1 or x == 0 else f"{x:.1%}"


def random_city(seed: int, n: int = 50) -> dict[str, gpd.GeoDataFrame]:
    """Random communities (with missing values), pipes, overlapping zones and an urban area."""
    from tests.test_networks import communities_4490, pipes_4490, random_layers

    rng = np.random.default_rng(seed)
    polygons, rows = random_layers(seed, n_comm=n, n_pipes=120)
    comm = communities_4490(*polygons)  # type: ignore[arg-type]

    def maybe(values: np.ndarray, share: float = 0.15) -> list:
        return [None if rng.random() < share else v.item() for v in values]

    comm["county_code"] = "441702"
    comm["build_year"] = maybe(rng.integers(1975, 2012, n))
    comm["storeys"] = rng.integers(2, 9, n)
    comm["has_lift"] = pd.array(maybe(rng.random(n) < 0.3), dtype="boolean")
    comm["renovated_before"] = pd.array(maybe(rng.random(n) < 0.1), dtype="boolean")
    comm["illegal_structures_cleared"] = pd.array(maybe(rng.random(n) < 0.8), dtype="boolean")
    comm["willingness"] = maybe(np.round(rng.uniform(0.3, 1.0, n), 2))
    comm["management"] = maybe(rng.choice(["无", "业委会", "物业", "单位自管"], n))
    # Zones: random rectangles that overlap each other and some communities; one
    # holds a whole community, one lies far away.
    x, y = rng.uniform(0, 3000, (2, 12))
    w, h = rng.uniform(50, 600, (2, 12))
    centres = shapely.centroid(to_measure_geometry(comm).to_numpy())
    cx, cy = shapely.get_x(centres) - X0, shapely.get_y(centres) - Y0
    boxes = [(a, b, a + c, b + d) for a, b, c, d in zip(x, y, w, h, strict=True)]
    boxes.append((cx[0] - 400, cy[0] - 400, cx[0] + 400, cy[0] + 400))  # holds community 0
    boxes.append((cx[1] - 400, cy[1] - 400, cx[1] + 5, cy[1] + 400))  # two zones meet in 1
    boxes.append((cx[1] - 5, cy[1] - 400, cx[1] + 400, cy[1] + 400))
    boxes.append((90_000, 90_000, 90_100, 90_100))
    zones = layer(boxes, zone_id=[f"Z{i}" for i in range(len(boxes))])
    zones["name"] = [f"片区{i}" for i in range(len(boxes))]
    urban = layer([(-500, -500, 1800, 2600), (1500, 2000, 4000, 4000)], area_id=["U1", "U2"])
    return {
        "communities": comm,
        "pipelines": pipes_4490(rows),
        "expropriation_zones": zones,
        "urban_areas": urban,
    }


def to_measure_geometry(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    return frame.geometry.to_crs("EPSG:4546")


def brute_force_check(layers: dict[str, gpd.GeoDataFrame], policy) -> tuple[list, list]:
    """Summary rows and rule rows of the whole check, one community at a time."""
    from gislib.eligibility import DEFICIENCY_BUILDING_LABELS
    from gislib.networks import DEFICIENCY_CODES, DEFICIENCY_LABELS
    from tests.test_networks import brute_force

    comm = layers["communities"]
    nets = brute_force(comm, layers["pipelines"], policy)
    polygons = to_measure_geometry(comm).to_numpy()
    zones = to_measure_geometry(layers["expropriation_zones"]).to_numpy()
    zone_names = layers["expropriation_zones"]["name"].tolist()
    urban = to_measure_geometry(layers["urban_areas"]).to_numpy()
    labels = {**DEFICIENCY_BUILDING_LABELS, **DEFICIENCY_LABELS}
    r = policy.rules
    summary, rules = [], []
    for i, (polygon, row) in enumerate(zip(polygons, comm.to_dict("records"), strict=True)):
        own = polygon.area
        inside = min(sum(polygon.intersection(u).area for u in urban) / own, 1.0)
        hits = sorted(
            ((polygon.intersection(z).area, k) for k, z in enumerate(zones)), key=lambda t: -t[0]
        )
        hits = [(area, k) for area, k in hits if area > 0]
        share = polygon.intersection(shapely.union_all(zones[[k for _, k in hits]])).area / own
        names = [zone_names[k] for _, k in hits]
        net = nets.iloc[i]
        near = {k: bool(net[f"near_{k}"]) for k in ("water", "rain", "sewer", "combined", "gas")}
        near |= {k: bool(net[f"near_{k}"]) for k in ("power", "telecom")}
        flags = [
            not near["water"],
            not (near["rain"] or near["sewer"] or near["combined"]),
            near["combined"],
            not near["gas"],
            net["overhead_m"] > 0,
            not near["power"],
            not near["telecom"],
        ]
        found = [c for c, f in zip(DEFICIENCY_CODES, flags, strict=True) if f]
        if row["storeys"] >= policy.deficiencies.lift_min_storeys and row["has_lift"] is not True:
            found.append("no_lift")
        year, w, m = row["build_year"], row["willingness"], row["management"]
        year = None if pd.isna(year) else int(year)
        w = None if pd.isna(w) else float(w)
        m = None if pd.isna(m) else str(m)
        by = r.build_year
        if year is None:
            tier, year_out = Tier.UNKNOWN, ("review", "建成年份不详，请补充")
        elif year <= by.priority_until:
            tier = Tier.PRIORITY
            year_out = ("pass", f"{year} 年建成，属 {by.priority_until} 年底前建成的重点改造小区")
        elif year <= by.capped_until:
            tier = Tier.CAPPED
            year_out = (
                "pass",
                f"{year} 年建成（{by.priority_until + 1}-{by.capped_until} 年），可纳入，但计入 "
                f"{by.capped_max_share:.0%} 上限",
            )
        else:
            tier = Tier.OUT
            year_out = ("fail", f"{year} 年建成，晚于 {by.capped_until} 年，不在改造范围")
        lo, hi = r.expropriation.ignore_up_to, r.expropriation.refuse_above
        zone_zh = "、".join(f"「{n}」" for n in names)
        if share == 0:
            zone_out = ("pass", "未与规划征迁范围重叠")
        elif share <= lo:
            zone_out = (
                "pass",
                f"与规划征迁范围{zone_zh}仅边缘接触 {pct(share)}（不超过 {pct(lo)}，视为数字化误差）",
            )
        elif share <= hi:
            zone_out = (
                "review",
                f"与规划征迁范围{zone_zh}重叠 {pct(share)}（{pct(lo)}-{pct(hi)}），需复核边界",
            )
        else:
            zone_out = ("fail", f"与规划征迁范围{zone_zh}重叠 {pct(share)}，超过 {pct(hi)}")
        wr = r.willingness
        if w is None:
            will_out = ("review", "居民同意率不详，请组织征求意见后补充")
        elif w < wr.review_below:
            will_out = ("fail", f"居民同意率 {pct(w)}，低于 {pct(wr.review_below)}，改造意愿不足")
        elif w < wr.min_share:
            will_out = (
                "review",
                f"居民同意率 {pct(w)}，未达 {pct(wr.min_share)}，需继续动员后复核",
            )
        else:
            will_out = ("pass", f"居民同意率 {pct(w)}，达到 {pct(wr.min_share)}")
        renovated, cleared = row["renovated_before"], row["illegal_structures_cleared"]
        outcomes = {
            "scope": (
                "fail" if inside < r.scope.min_share_inside else "pass",
                f"位于城区范围内的面积占 {pct(inside)}，"
                f"{'低于' if inside < r.scope.min_share_inside else '不低于'}要求的 "
                f"{pct(r.scope.min_share_inside)}",
            ),
            "build_year": year_out,
            "not_renovated": {
                True: ("fail", "已实施过综合改造，不再纳入"),
                False: ("pass", "未实施过综合改造"),
            }.get(renovated, ("review", "是否已改造不详，请核实")),
            "expropriation": zone_out,
            "illegal_structures": {
                True: ("pass", "违章建筑拆除情况较好"),
                False: ("fail", "违章建筑尚未拆除，需先拆违"),
            }.get(cleared, ("review", "违建拆除情况不详，请核实")),
            "willingness": will_out,
            "management": ("review", "物业管理方式不详，请补充")
            if m is None
            else (("pass", f"物业管理为「{m}」，管理不完善"))
            if m in r.management.imperfect
            else ("review", f"已有「{m}」管理，需核实是否失管"),
            "deficiency": (
                "pass" if len(found) >= r.deficiency.min_count else "review",
                "存在不足：" + "；".join(labels[c][0] for c in found)
                if found
                else "未发现明显的基础设施不足",
            ),
        }
        failed = tuple(k for k, (o, _) in outcomes.items() if o == "fail")
        review = tuple(k for k, (o, _) in outcomes.items() if o == "review")
        verdict = "ineligible" if failed else "conditional" if review else "eligible"
        summary.append(
            (
                row["community_id"],
                verdict,
                str(tier),
                failed,
                review,
                inside,
                share,
                "、".join(names),
                tuple(found),
            )
        )
        rules.extend((row["community_id"], k, o, text) for k, (o, text) in outcomes.items())
    return summary, rules


@pytest.mark.parametrize("seed", [3, 4])
def test_whole_check_equals_a_brute_force_computation(policy, seed) -> None:
    from gislib.eligibility import check_workspace

    layers = random_city(seed)

    class Workspace:
        def read(self, name: str) -> gpd.GeoDataFrame:
            return layers[name]

        def raster_names(self) -> list[str]:
            return []

    checked = check_workspace(Workspace(), policy=policy)
    summary, rules = brute_force_check(layers, policy)
    got = checked.result.summary
    columns = ["community_id", "verdict", "tier", "failed_rules", "review_rules"]
    assert [tuple(row) for row in got[columns].itertuples(index=False)] == [s[:5] for s in summary]
    np.testing.assert_allclose(got["inside_share"], [s[5] for s in summary], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        got["expropriation_share"], [s[6] for s in summary], rtol=1e-12, atol=1e-12
    )
    assert got["expropriation_zones"].tolist() == [s[7] for s in summary]
    assert got["deficiencies"].tolist() == [s[8] for s in summary]
    table = checked.result.rules[["community_id", "rule_id", "outcome", "reason_zh"]]
    assert [tuple(row) for row in table.itertuples(index=False)] == rules
    # the data reach every verdict, a shared zone, a partly urban community and a contained one
    assert set(got["verdict"]) == {"eligible", "conditional", "ineligible"}
    assert got["expropriation_zones"].str.contains("、").any()
    assert ((got["inside_share"] > 0) & (got["inside_share"] < 1)).any()
    assert (got["expropriation_share"] == 1).any()


def test_workspace_check_equals_the_network_analysis_and_the_check_run_apart(policy) -> None:
    from gislib.eligibility import check_workspace
    from gislib.networks import analyse_networks

    layers = random_city(5, n=80)

    class Workspace:
        def read(self, name: str) -> gpd.GeoDataFrame:
            return layers[name]

        def raster_names(self) -> list[str]:
            return []

    whole = check_workspace(Workspace(), policy=policy)
    networks = analyse_networks(layers["communities"], layers["pipelines"], policy=policy)
    apart = check_eligibility(
        layers["communities"],
        zones=layers["expropriation_zones"],
        urban_areas=layers["urban_areas"],
        policy=policy,
        networks=networks,
    )
    pd.testing.assert_frame_equal(whole.networks, networks, check_exact=True)
    pd.testing.assert_frame_equal(whole.result.summary, apart.summary, check_exact=True)
    pd.testing.assert_frame_equal(whole.result.rules, apart.rules, check_exact=True)


# ---------------------------------------------------------------------------
# The fast paths of the rule evaluation give what pandas gives.


@pytest.mark.parametrize(
    "table",
    [["甲", "b", "甲"], ("pass", "review"), np.array(["x", "y"], dtype=object), ["a", np.nan]],
)
def test_text_columns_equal_what_pandas_infers(table) -> None:
    from gislib.eligibility import _text_column

    positions = np.array([1, 0, 1, 1], dtype=np.int64)
    expected = pd.Series(np.array(list(table), dtype=object)).array.take(positions)
    got = _text_column(table, positions)
    assert got.dtype == expected.dtype
    pd.testing.assert_extension_array_equal(got, expected)


@pytest.mark.parametrize(
    "values",
    [
        [True, False, True],
        pd.array([True, None, False], dtype="boolean"),
        np.array([1, 0, None], dtype=object),
        [1.0, 0.0, np.nan],
    ],
)
def test_flag_values_equal_pandas_boolean_dtype(values) -> None:
    from gislib.eligibility import _bool_values

    frame = pd.DataFrame({"flag": values})
    value, missing = _bool_values(frame, "flag")
    flags = frame["flag"].astype("boolean")
    assert missing.tolist() == flags.isna().tolist()
    assert value.tolist() == flags.fillna(False).tolist()
    value, missing = _bool_values(frame, "other")
    assert missing.all() and not value.any()


@pytest.mark.parametrize(
    "values",
    [[1990, 2003, 2010], np.array([1.5, np.nan, 3.0], dtype=np.float32), ["1990", "x", None]],
)
def test_number_values_equal_pandas_to_numeric(values) -> None:
    from gislib.eligibility import _num_values

    frame = pd.DataFrame({"year": values})
    expected = pd.to_numeric(frame["year"], errors="coerce").astype("float64").to_numpy()
    np.testing.assert_array_equal(_num_values(frame, "year"), expected)
    assert np.isnan(_num_values(frame, "other")).all()


def test_a_rule_the_policy_switches_off_is_left_out_and_the_rest_unchanged(policy) -> None:
    import dataclasses

    comm = layer(
        [(0, 0, 100, 100), (200, 0, 300, 100), (400, 0, 500, 100)],
        **good_attributes(3, willingness=[0.9, 0.4, None], build_year=[1990, 2003, 2010]),
    )
    rules = dataclasses.replace(
        policy.rules, willingness=dataclasses.replace(policy.rules.willingness, enabled=False)
    )
    without = check(comm, dataclasses.replace(policy, rules=rules))
    full = check(comm, policy)
    assert "willingness" not in set(without.rules["rule_id"])
    kept = full.rules[full.rules["rule_id"] != "willingness"].reset_index(drop=True)
    pd.testing.assert_frame_equal(without.rules, kept, check_exact=True)
    assert list(without.summary.columns) == list(full.summary.columns)
    # 2003 is in the capped tier (allowed), 2010 out; willingness 0.4 fails only when checked
    assert without.summary["verdict"].tolist() == ["eligible", "eligible", "ineligible"]
    assert full.summary["verdict"].tolist() == ["eligible", "ineligible", "ineligible"]
    assert full.summary["failed_rules"].iloc[1] == ("willingness",)
