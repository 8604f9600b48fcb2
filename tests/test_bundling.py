"""Tests of gislib.bundling: EPC batches, bounds, bridges, edits, scenarios, tender lists."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gislib.bundling import (
    TENDER_COLUMNS,
    Bounds,
    EPCBundler,
    bundle,
    compare,
    lock,
    merge,
    move,
    split,
    tender_list,
    unlock,
)
from gislib.errors import BundlingError, CRSError, PolicyError, SchemaError

X0, Y0 = 600_000.0, 2_420_000.0  # EPSG:4546, central Jiangcheng
MILLION = 1_000_000.0


def squares(
    cells: list[tuple[float, float]],
    *,
    side: float = 100.0,
    investment: float | list[float] = 10 * MILLION,
    households: int | list[int] = 100,
) -> gpd.GeoDataFrame:
    """Squares of ``side`` m centred at (x, y) metres from (X0, Y0), built in EPSG:4546, returned in 4490."""
    n = len(cells)
    geoms = [
        shapely.box(X0 + x - side / 2, Y0 + y - side / 2, X0 + x + side / 2, Y0 + y + side / 2)
        for x, y in cells
    ]
    inv = investment if isinstance(investment, list) else [investment] * n
    hh = households if isinstance(households, list) else [households] * n
    gdf = gpd.GeoDataFrame(
        {
            "community_id": [f"C{i:02d}" for i in range(n)],
            "name": [f"小区{i}" for i in range(n)],
            "county_code": ["441702"] * n,
            "street": ["南恩街道"] * n,
            "households": hh,
            "investment": inv,
        },
        geometry=geoms,
        crs="EPSG:4546",
    )
    return gdf.to_crs("EPSG:4490")


def grid(rows: int, cols: int, *, pitch: float = 150.0, **kw: object) -> gpd.GeoDataFrame:
    cells = [(c * pitch, r * pitch) for r in range(rows) for c in range(cols)]
    return squares(cells, **kw)  # type: ignore[arg-type]


def batch_sets(result: object) -> set[frozenset[str]]:
    return {frozenset(m) for m in result.batches["members"]}  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- contiguity


def test_distance_band_joins_across_a_50_m_road_without_a_bridge() -> None:
    near = squares([(0, 0), (150, 0)])  # 100 m squares: a 50 m road between them
    result = bundle(near, bounds=Bounds(min_communities=2))
    assert batch_sets(result) == {frozenset({"C00", "C01"})}
    assert result.metrics["bridges"] == 0
    assert bool(result.batches["contiguous"].iloc[0])


def test_distance_band_does_not_join_across_1_km() -> None:
    far = squares([(0, 0), (1100, 0)])  # 1,000 m gap
    result = bundle(far, bounds=Bounds(min_communities=2), max_bridge_m=500)
    assert result.batches.empty
    assert sorted(result.unassigned["community_id"]) == ["C00", "C01"]
    assert "C00" in result.unassigned["community_id"].tolist()
    assert all("下限" in z for z in result.unassigned["reason_zh"])


def test_isolated_community_is_bridged_to_its_nearest_neighbour_with_a_message() -> None:
    cells = [(c * 150.0, r * 150.0) for r in range(3) for c in range(3)]
    cells.append((300.0 + 900.0, 0.0))  # 800 m east of the nearest square's edge (C02)
    gdf = squares(cells)
    result = bundle(gdf, bounds=Bounds(max_investment=200 * MILLION))
    assert result.metrics["bridges"] == 1
    bridge = [m for m in result.messages if "C09" in m]
    assert len(bridge) == 1
    assert "C02" in bridge[0] and "800" in bridge[0] and "bridged" in bridge[0]
    assert len(result.batches) == 1 and bool(result.batches["contiguous"].iloc[0])
    assert result.ok


# --------------------------------------------------------------------------- bounds


def test_lower_and_upper_investment_bounds_give_the_only_possible_batch_count() -> None:
    gdf = grid(4, 6)  # 24 communities of 10 million: 240 million
    bounds = Bounds(min_investment=50 * MILLION, max_investment=70 * MILLION)
    result = bundle(gdf, bounds=bounds)
    assert len(result.batches) == 4  # 240/70 -> at least 4; 240/50 -> at most 4
    assert result.violations == ()
    assert result.unassigned.empty
    assert result.batches["investment"].between(50 * MILLION, 70 * MILLION).all()
    assert result.batches["contiguous"].all()
    assert result.batches["public_tender"].all()  # every batch >= 4 million 元
    assert result.batches["communities"].sum() == 24


def test_household_and_community_count_bounds_are_respected() -> None:
    gdf = grid(5, 6, households=[50 + 10 * (i % 7) for i in range(30)])
    bounds = Bounds(min_households=400, max_households=700, max_communities=9)
    result = bundle(gdf, bounds=bounds, prefer="middle")
    assert result.violations == ()
    assert result.batches["households"].between(400, 700).all()
    assert (result.batches["communities"] <= 9).all()
    assert result.assignments.notna().all()


def test_community_above_the_upper_bound_is_reported_by_id_not_placed() -> None:
    gdf = grid(2, 3, investment=[10 * MILLION] * 5 + [150 * MILLION])
    result = bundle(gdf, bounds=Bounds(max_investment=100 * MILLION))
    assert result.unassigned["community_id"].tolist() == ["C05"]
    assert "150,000,000" in result.unassigned["reason_zh"].iloc[0]
    assert any("C05" in m for m in result.messages)
    assert result.assignments["C05"] is None
    assert result.violations == ()  # nothing silently violated


def test_force_puts_an_oversize_community_in_its_own_flagged_batch() -> None:
    gdf = grid(2, 3, investment=[10 * MILLION] * 5 + [150 * MILLION])
    result = bundle(gdf, bounds=Bounds(max_investment=100 * MILLION), infeasible="force")
    own = result.batches[result.batches["members"].map(lambda m: "C05" in m)]
    assert own["communities"].tolist() == [1]
    assert [v.rule for v in result.violations] == ["max_investment"]
    assert result.violations[0].batch_id == own["batch_id"].iloc[0]


def test_two_far_apart_clusters_are_bundled_separately_without_an_islands_error() -> None:
    west = [(c * 150.0, r * 150.0) for r in range(3) for c in range(3)]
    east = [(20_000 + c * 150.0, r * 150.0) for r in range(3) for c in range(3)]
    result = bundle(squares(west + east), bounds=Bounds(min_investment=30 * MILLION))
    assert result.metrics["bridges"] == 0
    assert result.unassigned.empty and result.violations == ()
    for members in result.batches["members"]:
        sides = {int(m[1:]) < 9 for m in members}
        assert len(sides) == 1  # no batch spans both clusters


def test_contradictory_bounds_raise_policy_error() -> None:
    with pytest.raises(PolicyError, match="min_investment"):
        Bounds(min_investment=110 * MILLION, max_investment=90 * MILLION)
    with pytest.raises(PolicyError):
        Bounds(max_households=-1)


def test_bounds_from_a_policy_section() -> None:
    bounds = Bounds.from_mapping({"min_investment": 4e6, "max_investment": 110e6, "band": 300})
    assert bounds == Bounds(min_investment=4e6, max_investment=110e6)
    with pytest.raises(PolicyError, match="max_households"):
        Bounds.from_mapping({"max_households": "many"})


def test_missing_crs_raises_crs_error() -> None:
    gdf = grid(2, 2).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="coordinate reference system"):
        EPCBundler(gdf, bounds=Bounds())


def test_missing_investment_for_an_investment_bound_is_a_schema_error() -> None:
    gdf = grid(2, 2).drop(columns="investment")
    with pytest.raises(SchemaError, match="investment"):
        EPCBundler(gdf, bounds=Bounds(max_investment=1e8))


def test_investment_series_by_community_id_is_accepted() -> None:
    gdf = grid(2, 2).drop(columns="investment")
    series = pd.Series([5e6, 5e6, 5e6, 5e6], index=["C00", "C01", "C02", "C03"])
    result = bundle(gdf, bounds=Bounds(max_investment=10e6), investment=series)
    assert len(result.batches) == 2
    assert result.batches["investment"].tolist() == [10e6, 10e6]


# --------------------------------------------------------------------------- solver shape


def test_solver_follows_the_spopt_shape_and_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(3)
    gdf = grid(6, 6, investment=list(rng.uniform(5, 15, 36) * MILLION))
    bounds = Bounds(min_investment=40 * MILLION, max_investment=80 * MILLION)
    a = EPCBundler(gdf, bounds=bounds, seed=7).solve()
    b = EPCBundler(gdf, bounds=bounds, seed=7).solve()
    assert np.array_equal(a.labels_, b.labels_)
    assert a.result_.assignments.equals(b.result_.assignments)
    assert a.labels_.shape == (36,) and a.labels_.min() >= 0
    # labels_ index the rows of the batch table
    first = a.result_.batches.iloc[a.labels_[0]]
    assert "C00" in first["members"]


@pytest.mark.parametrize("seed", range(12))
def test_every_batch_is_within_bounds_or_its_violation_is_listed(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 60))
    cells = [(float(x), float(y)) for x, y in rng.uniform(0, 2500, (n, 2))]
    inv = list(rng.lognormal(np.log(6e6), 0.8, n))
    low = float(rng.uniform(5e6, 40e6))
    bounds = Bounds(min_investment=low, max_investment=low * float(rng.uniform(1.0, 3.0)))
    result = bundle(
        squares(cells, side=60.0, investment=inv),
        bounds=bounds,
        seed=seed,
        max_bridge_m=float(rng.choice([200.0, 1000.0, np.inf])),
        infeasible=str(rng.choice(["leave", "force"])),  # type: ignore[arg-type]
    )
    listed = {(v.batch_id, v.rule) for v in result.violations}
    for row in result.batches.itertuples():
        if row.investment < low - 1e-6:
            assert (row.batch_id, "min_investment") in listed
        if row.investment > bounds.max_investment + 1e-6:  # type: ignore[operator]
            assert (row.batch_id, "max_investment") in listed
        if not row.contiguous:
            assert (row.batch_id, "contiguity") in listed
        assert row.bounds_ok == (
            not any(b == row.batch_id and r != "contiguity" for b, r in listed)
        )
    placed = set(result.assignments.dropna().index)
    assert placed.isdisjoint(result.unassigned["community_id"])
    assert placed | set(result.unassigned["community_id"]) == {f"C{i:02d}" for i in range(n)}


# --------------------------------------------------------------------------- editing


@pytest.fixture
def row_result() -> object:
    """Six squares in a row, 250 m apart (each joined only to the next); batches of 3."""
    gdf = squares([(i * 350.0, 0.0) for i in range(6)])
    result = bundle(gdf, bounds=Bounds(min_communities=3, max_communities=3))
    assert batch_sets(result) == {
        frozenset({"C00", "C01", "C02"}),
        frozenset({"C03", "C04", "C05"}),
    }
    return result


def test_move_that_breaks_contiguity_and_bounds_is_reported_not_fixed(row_result: object) -> None:
    edited = move(row_result, "C01", "B02")  # type: ignore[arg-type]
    rules = {(v.batch_id, v.rule) for v in edited.violations}
    assert ("B01", "contiguity") in rules  # C00 and C02 are 700 m apart
    assert ("B01", "min_communities") in rules
    assert ("B02", "max_communities") in rules
    assert ("B02", "contiguity") in rules  # C01 is 600 m from C03
    assert edited.assignments["C01"] == "B02"
    b01 = edited.batches.set_index("batch_id").loc["B01"]
    assert b01["communities"] == 2 and not b01["contiguous"]
    assert b01["investment"] == 20 * MILLION  # live totals
    assert any("C01" in m and "B02" in m for m in edited.messages)
    assert row_result.violations == ()  # type: ignore[attr-defined]  # input untouched


def test_move_at_the_edge_keeps_contiguity(row_result: object) -> None:
    edited = move(row_result, "C03", "B01")  # type: ignore[arg-type]
    rules = {(v.batch_id, v.rule) for v in edited.violations}
    assert rules == {("B01", "max_communities"), ("B02", "min_communities")}


def test_merge_reports_the_upper_bound(row_result: object) -> None:
    merged = merge(row_result, "B01", "B02")  # type: ignore[arg-type]
    assert merged.batches["batch_id"].tolist() == ["B01"]
    assert [v.rule for v in merged.violations] == ["max_communities"]
    assert merged.metrics["batches"] == 1


def test_split_makes_two_contiguous_halves() -> None:
    result = bundle(grid(2, 4), bounds=Bounds(max_communities=8))
    assert len(result.batches) == 1
    halves = split(result, "B01", seed=1)
    assert halves.batches["batch_id"].tolist() == ["B01", "B02"]
    assert halves.batches["communities"].tolist() == [4, 4]
    assert halves.batches["contiguous"].all()
    with pytest.raises(BundlingError, match="B09"):
        split(result, "B09")


def test_locked_batch_refuses_edits_until_unlocked(row_result: object) -> None:
    locked = lock(row_result, "B01")  # type: ignore[arg-type]
    assert locked.batches.set_index("batch_id").loc["B01", "locked"]
    with pytest.raises(BundlingError, match="locked"):
        move(locked, "C01", "B02")
    with pytest.raises(BundlingError, match="locked"):
        move(locked, "C03", "B01")
    with pytest.raises(BundlingError, match="locked"):
        merge(locked, "B02", "B01")
    free = unlock(locked, "B01")
    assert move(free, "C02", "B02").assignments["C02"] == "B02"


def test_a_locked_batch_is_kept_when_solving_again() -> None:
    gdf = grid(3, 4)
    first = bundle(gdf, bounds=Bounds(min_communities=3, max_communities=4))
    keep = lock(first, "B02").locked_batches()
    again = bundle(gdf, bounds=Bounds(min_communities=3, max_communities=4), locked=keep, seed=5)
    row = again.batches.set_index("batch_id").loc["B02"]
    assert set(row["members"]) == set(keep["B02"]) and row["locked"]
    assert again.violations == ()


# --------------------------------------------------------------------------- reports


def test_compare_sets_scenarios_side_by_side() -> None:
    gdf = grid(4, 6)
    tight = bundle(gdf, bounds=Bounds(min_investment=50e6, max_investment=70e6))
    loose = bundle(gdf, bounds=Bounds(max_investment=130e6))
    table = compare({"50-70M": tight, "<=130M": loose})
    assert table.index.tolist() == ["50-70M", "<=130M"]
    assert table.loc["50-70M", "batches"] == 4
    assert table.loc["<=130M", "batches"] == 2
    assert table.loc["50-70M", "diameter_max_m"] == tight.metrics["diameter_max_m"]
    assert {"violations", "unassigned", "investment_spread"} <= set(table.columns)


def test_tender_list_has_the_chinese_columns_and_the_works() -> None:
    gdf = grid(1, 3, households=[80, 90, 100])
    result = bundle(gdf, bounds=Bounds())
    works = pd.DataFrame(
        {
            "community_id": ["C00", "C00", "C01"],
            "work_zh": ["供水管道更新", "小区道路改造", "加装电梯"],
        }
    )
    table = tender_list(result, gdf, batch_id="B01", works=works)
    assert tuple(table.columns) == TENDER_COLUMNS
    assert table["小区编号"].tolist() == ["C00", "C01", "C02"]
    assert table["县区"].unique().tolist() == ["江城区"]
    assert table["户数"].tolist() == [80, 90, 100]
    assert table["投资估算(元)"].sum() == 30 * MILLION
    assert table["改造内容"].tolist()[:2] == ["供水管道更新、小区道路改造", "加装电梯"]


def test_year_batches_bundles_the_planned_communities_of_each_county() -> None:
    from gislib.bundling import year_batches
    from gislib.datasets import sample_workspace_path
    from gislib.store import open_workspace

    ws = open_workspace(sample_workspace_path())
    events = ws.read("status_events")
    planned = set(
        events.loc[(events["stage"] == "申报") & (events["year"] == 2023), "community_id"]
    )
    communities = ws.read("communities")
    jiangcheng = planned & set(
        communities.loc[communities["county_code"] == "441702", "community_id"]
    )
    table = year_batches(ws, year=2023, county="441702")
    assert set(table["county"]) == {"441702"} and set(table["year"]) == {2023}
    assert table["batch_id"].str.startswith("441702-B").all()
    assert {m for ms in table["members"] for m in ms} == jiangcheng
    assert table["bounds_ok"].all()


@pytest.mark.slow
def test_every_county_and_plan_year_of_the_sample_bundles_without_a_violation() -> None:
    from gislib.bundling import bundle_year
    from gislib.datasets import sample_workspace_path
    from gislib.planning import investment_estimate
    from gislib.policy import load_policy
    from gislib.store import open_workspace

    ws = open_workspace(sample_workspace_path())
    policy = load_policy()
    investment = investment_estimate(ws, policy=policy)
    low, high = policy.bundling.min_investment, policy.bundling.max_investment
    seen = set()
    for year in policy.years:
        for county, result in bundle_year(
            ws, year=year, policy=policy, investment=investment
        ).items():
            seen.add((county, year))
            assert result.ok, (county, year, result.violations, result.unassigned)
            assert result.batches["investment"].between(low, high).all()
            assert result.batches["contiguous"].all()
    assert len(seen) == 4 * len(policy.years)  # every county has planned communities each year
