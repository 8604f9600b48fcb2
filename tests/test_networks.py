"""Tests of gislib.networks: nearest mains, overhead lines, deficiencies and works per owner."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import load_workbook
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon, box

from gislib import networks
from gislib.crs import to_measure
from gislib.errors import CRSError, ExportError, SchemaError
from gislib.networks import (
    ANALYSIS_COLUMNS,
    DEFICIENCY_CODES,
    DEFICIENCY_LABELS,
    OWNER_WORKS_COLUMNS,
    OWNER_WORKS_HEADERS,
    analyse_networks,
    export_owner_works,
    owner_works,
)
from gislib.policy import Policy, load_policy
from gislib.schema import PIPE_OWNERS, Network

NETWORKS = [str(n) for n in Network]
# Central Jiangcheng, CGCS2000; the fixtures are built in metres around it (EPSG:4546).
LON, LAT = 111.97, 21.86
X0, Y0 = Transformer.from_crs(4490, 4546, always_xy=True).transform(LON, LAT)
SIDE = 100.0  # the hand-built community is a 100 m square with its SW corner at (X0, Y0)
TOLERANCE_M = 0.5


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def square(x: float = X0, y: float = Y0, side: float = SIDE) -> Polygon:
    return box(x, y, x + side, y + side)


def north_south(x: float, *, y_from: float = Y0 - 300, y_to: float = Y0 + 400) -> LineString:
    """A straight main running north-south at easting ``x`` (EPSG:4546 metres)."""
    return LineString([(x, y_from), (x, y_to)])


def communities_4490(*polygons: Polygon, index: list[object] | None = None) -> gpd.GeoDataFrame:
    """Communities from EPSG:4546 polygons, stored in EPSG:4490 as the workspace keeps them."""
    n = len(polygons)
    frame = gpd.GeoDataFrame(
        {
            "community_id": [f"C{i + 1}" for i in range(n)],
            "name": [f"测试小区{i + 1}" for i in range(n)],
            "county_code": ["441702"] * n,
        },
        geometry=[MultiPolygon([p]) if isinstance(p, Polygon) else p for p in polygons],
        crs="EPSG:4546",
        index=index,
    )
    return frame.to_crs("EPSG:4490")


def pipes_4490(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    """Pipelines from rows with an EPSG:4546 ``geometry`` (a LineString), stored in EPSG:4490."""
    records = []
    for row in rows:
        line = row["geometry"]
        records.append(
            {
                "pipe_id": row["pipe_id"],
                "network": row["network"],
                "status": row.get("status", "existing"),
                "overhead": row.get("overhead", False),
                "owner": row.get("owner"),
                "diameter_mm": 200.0,
                "geometry": MultiLineString([line]) if isinstance(line, LineString) else line,
            }
        )
    frame = gpd.GeoDataFrame(
        records or None,
        columns=["pipe_id", "network", "status", "overhead", "owner", "diameter_mm", "geometry"],
        geometry="geometry",
        crs="EPSG:4546",
    )
    return frame.to_crs("EPSG:4490")


def pipe(pipe_id: str, network: str, line: LineString, **extra: object) -> dict[str, object]:
    return {"pipe_id": pipe_id, "network": network, "geometry": line, **extra}


# --------------------------------------------------------------------------
# Hand-built cases
# --------------------------------------------------------------------------


def test_water_main_50_m_away_is_50_m_and_within_a_100_m_reach(policy: Policy) -> None:
    assert policy.reach_m["water"] == 100.0
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("W1", "water", north_south(X0 + SIDE + 50))])
    result = analyse_networks(comm, pipes, policy=policy)
    assert result.loc[0, "dist_water_m"] == pytest.approx(50.0, abs=TOLERANCE_M)
    assert bool(result.loc[0, "near_water"]) is True
    assert result.loc[0, "nearest_water_id"] == "W1"
    assert "no_water_main" not in result.loc[0, "deficiencies"]


def test_water_main_150_m_away_is_not_near(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("W1", "water", north_south(X0 - 150))])
    result = analyse_networks(comm, pipes, policy=policy)
    assert result.loc[0, "dist_water_m"] == pytest.approx(150.0, abs=TOLERANCE_M)
    assert bool(result.loc[0, "near_water"]) is False
    assert result.loc[0, "deficiencies"][0] == "no_water_main"


def test_gas_main_250_m_away_is_within_the_300_m_gas_reach(policy: Policy) -> None:
    assert policy.reach_m["gas"] == 300.0
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("G1", "gas", north_south(X0 + SIDE + 250))])
    result = analyse_networks(comm, pipes, policy=policy)
    row = result.loc[0]
    assert row["dist_gas_m"] == pytest.approx(250.0, abs=TOLERANCE_M)
    assert bool(row["near_gas"]) and not bool(row["gas_main_needed"])
    assert not bool(row["gas_main_planned"])
    assert "no_gas_main" not in row["deficiencies"]


def test_planned_gas_main_only_means_a_main_is_needed_and_planned(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("G9", "gas", north_south(X0 - 40), status="planned")])
    row = analyse_networks(comm, pipes, policy=policy).loc[0]
    assert math.isnan(row["dist_gas_m"]) and row["nearest_gas_id"] == ""
    assert row["planned_dist_gas_m"] == pytest.approx(40.0, abs=TOLERANCE_M)
    assert bool(row["planned_near_gas"])
    assert bool(row["gas_main_needed"]) and bool(row["gas_main_planned"])
    assert "no_gas_main" in row["deficiencies"]


def test_planned_gas_main_beyond_reach_is_not_planned(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("G9", "gas", north_south(X0 - 400), status="planned")])
    row = analyse_networks(comm, pipes, policy=policy).loc[0]
    assert bool(row["gas_main_needed"]) and not bool(row["gas_main_planned"])


def test_overhead_power_line_across_a_100_m_square_counts_100_m(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490(
        [
            pipe("P1", "power", north_south(X0 + 30), overhead=True, owner="供电局"),
            # underground power line across: not overhead
            pipe("P2", "power", north_south(X0 + 60), owner="供电局"),
            # overhead telecom line outside the square: not inside
            pipe("T1", "telecom", north_south(X0 - 20), overhead=True, owner="移动"),
        ]
    )
    row = analyse_networks(comm, pipes, policy=policy).loc[0]
    assert row["overhead_m"] == pytest.approx(100.0, abs=TOLERANCE_M)
    assert row["overhead_owners"] == "供电局"
    assert "overhead_lines" in row["deficiencies"]
    assert row["dist_power_m"] == 0.0  # a crossing main is at distance 0


def test_overhead_owners_are_sorted_and_joined(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490(
        [
            pipe("T1", "telecom", north_south(X0 + 20), overhead=True, owner="移动"),
            pipe("P1", "power", north_south(X0 + 50), overhead=True, owner="供电局"),
            pipe("T2", "telecom", north_south(X0 + 70), overhead=True, owner="电信"),
        ]
    )
    row = analyse_networks(comm, pipes, policy=policy).loc[0]
    assert row["overhead_m"] == pytest.approx(300.0, abs=3 * TOLERANCE_M)
    assert row["overhead_owners"] == "、".join(sorted(["移动", "供电局", "电信"]))


def test_combined_sewer_near_sets_the_flag_and_the_deficiency(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("H1", "combined", north_south(X0 + SIDE + 30))])
    row = analyse_networks(comm, pipes, policy=policy).loc[0]
    assert bool(row["combined_sewer"]) and bool(row["near_combined"])
    assert "combined_sewer" in row["deficiencies"]
    assert "no_drainage" not in row["deficiencies"]  # the combined main drains it


def test_network_without_any_main_is_nan_and_not_near(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("W1", "water", north_south(X0 + SIDE + 10))])
    row = analyse_networks(comm, pipes, policy=policy).loc[0]
    for network in ("rain", "sewer", "combined", "gas", "power", "telecom"):
        assert math.isnan(row[f"dist_{network}_m"])
        assert math.isnan(row[f"planned_dist_{network}_m"])
        assert bool(row[f"near_{network}"]) is False
        assert row[f"nearest_{network}_id"] == ""
    assert row["deficiencies"] == (
        "no_drainage",
        "no_gas_main",
        "no_power_main",
        "no_telecom_main",
    )


def test_input_index_is_kept(policy: Policy) -> None:
    comm = communities_4490(
        square(), square(X0 + 500), square(X0 + 1000), index=["b-7", "a-1", "z-3"]
    )
    pipes = pipes_4490([pipe("W1", "water", north_south(X0 + 1000 + SIDE + 5))])
    result = analyse_networks(comm, pipes, policy=policy)
    assert list(result.index) == ["b-7", "a-1", "z-3"]
    assert result.loc["z-3", "dist_water_m"] == pytest.approx(5.0, abs=TOLERANCE_M)
    assert result.loc["b-7", "dist_water_m"] > result.loc["a-1", "dist_water_m"]


def test_result_has_exactly_the_agreed_columns_and_types(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("W1", "water", north_south(X0 + 150))])
    result = analyse_networks(comm, pipes, policy=policy)
    assert tuple(result.columns) == ANALYSIS_COLUMNS
    for network in NETWORKS:
        assert result[f"dist_{network}_m"].dtype == np.float64
        assert result[f"planned_dist_{network}_m"].dtype == np.float64
        assert result[f"near_{network}"].dtype == bool
        assert result[f"planned_near_{network}"].dtype == bool
    for column in ("combined_sewer", "gas_main_needed", "gas_main_planned"):
        assert result[column].dtype == bool
    assert result["overhead_m"].dtype == np.float64
    assert isinstance(result["deficiencies"].iloc[0], tuple)
    assert isinstance(result["overhead_owners"].iloc[0], str)


def test_deficiency_labels_cover_every_code_in_chinese_and_english() -> None:
    assert tuple(DEFICIENCY_LABELS) == DEFICIENCY_CODES
    assert DEFICIENCY_LABELS["no_gas_main"][0].startswith("周边无燃气主管")
    for zh, en in DEFICIENCY_LABELS.values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii()


def test_empty_inputs_give_nan_rows(policy: Policy) -> None:
    comm = communities_4490(square())
    result = analyse_networks(comm, pipes_4490([]), policy=policy)
    assert result["dist_water_m"].isna().all()
    assert result.loc[0, "deficiencies"] == (
        "no_water_main",
        "no_drainage",
        "no_gas_main",
        "no_power_main",
        "no_telecom_main",
    )
    empty = analyse_networks(comm.iloc[0:0], pipes_4490([]), policy=policy)
    assert empty.empty and tuple(empty.columns) == ANALYSIS_COLUMNS


def test_crs_mismatch_between_layers_is_refused(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("W1", "water", north_south(X0 + 150))]).to_crs("EPSG:4326")
    with pytest.raises(CRSError, match="communities is in EPSG:4490 but pipelines is in EPSG:4326"):
        analyse_networks(comm, pipes, policy=policy)


def test_layer_without_crs_is_refused(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("W1", "water", north_south(X0 + 150))]).set_crs(
        None, allow_override=True
    )
    with pytest.raises(CRSError, match="no coordinate reference system"):
        analyse_networks(comm, pipes, policy=policy)


def test_pipelines_without_network_column_are_refused(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("W1", "water", north_south(X0 + 150))]).drop(columns="network")
    with pytest.raises(SchemaError, match="network"):
        analyse_networks(comm, pipes, policy=policy)


# --------------------------------------------------------------------------
# Brute force: every result equals a plain minimum over every pipe
# --------------------------------------------------------------------------


def random_layers(seed: int, *, n_comm: int, n_pipes: int) -> tuple[list[object], list[dict]]:
    """Random rectangles (some turned, some two-part) and lines (some duplicated, two-part)."""
    rng = np.random.default_rng(seed)
    polygons: list[object] = []
    for i in range(n_comm):
        x, y = X0 + rng.uniform(0, 3000), Y0 + rng.uniform(0, 3000)
        w, h = rng.uniform(20, 150, 2)
        poly = shapely.affinity.rotate(box(x, y, x + w, y + h), rng.uniform(-30, 30))
        if i % 25 == 0:
            poly = MultiPolygon([poly, box(x + 200, y, x + 240, y + 40)])
        polygons.append(poly)
    weights = np.array([3, 2, 2, 1, 1, 3, 2], dtype=float)  # combined and gas are rare
    rows: list[dict] = []
    for i in range(n_pipes):
        start = np.array([X0, Y0]) + rng.uniform(-200, 3200, 2)
        steps = rng.normal(0, 150, (int(rng.integers(1, 4)), 2))
        line = LineString(np.vstack([start, start + np.cumsum(steps, axis=0)]))
        if i % 40 == 0:
            line = MultiLineString([line, shapely.affinity.translate(line, 300, 50)])
        network = NETWORKS[int(rng.choice(7, p=weights / weights.sum()))]
        rows.append(
            pipe(
                f"R{i:04d}",
                network,
                line,
                status="planned" if rng.random() < 0.2 else "existing",
                overhead=bool(network in ("power", "telecom") and rng.random() < 0.4),
                owner=None if rng.random() < 0.1 else str(rng.choice(PIPE_OWNERS)),
            )
        )
    for i in range(0, n_pipes, 17):  # exact ties: the same line again under a later id
        rows.append({**rows[i], "pipe_id": f"D{i:04d}"})
    return polygons, rows


def brute_force(comm: gpd.GeoDataFrame, pipes: gpd.GeoDataFrame, policy: Policy) -> pd.DataFrame:
    """For each community, the minimum over all pipes of each network, one pair at a time."""
    polygons = to_measure(comm).geometry.to_numpy()
    lines = to_measure(pipes).geometry.to_numpy()
    ids = pipes["pipe_id"].to_numpy()
    out: dict[str, list[object]] = {}
    for network in NETWORKS:
        for status, prefix in (("existing", ""), ("planned", "planned_")):
            mask = ((pipes["network"] == network) & (pipes["status"] == status)).to_numpy()
            dists, nearest = [], []
            for polygon in polygons:
                if not mask.any():
                    dists.append(math.nan)
                    nearest.append("")
                    continue
                d = np.array([shapely.distance(polygon, line) for line in lines[mask]])
                dists.append(float(d.min()))
                nearest.append(str(ids[mask][int(np.argmin(d))]))  # first of the nearest
            out[f"{prefix}dist_{network}_m"] = dists
            out[f"{prefix}near_{network}"] = [d <= policy.reach_m[network] for d in dists]
            if status == "existing":
                out[f"nearest_{network}_id"] = nearest
    overhead = (
        pipes["overhead"].fillna(False).astype(bool)
        & pipes["network"].isin(["power", "telecom"])
        & (pipes["status"] == "existing")
    ).to_numpy()
    lengths = []
    for polygon in polygons:
        total = 0.0
        for line in lines[overhead]:
            total += float(shapely.length(shapely.intersection(polygon, line)))
        lengths.append(total)
    out["overhead_m"] = lengths
    return pd.DataFrame(out, index=comm.index)


@pytest.mark.parametrize("seed", [1, 2])
def test_results_equal_a_brute_force_minimum_on_random_data(seed: int, policy: Policy) -> None:
    polygons, rows = random_layers(seed, n_comm=250, n_pipes=300)
    comm = communities_4490(*polygons)  # type: ignore[arg-type]
    pipes = pipes_4490(rows)
    result = analyse_networks(comm, pipes, policy=policy)
    expected = brute_force(comm, pipes, policy)
    for column in expected.columns:
        if column == "overhead_m":
            np.testing.assert_allclose(result[column], expected[column], rtol=1e-9, atol=1e-6)
        elif "dist_" in column:  # identical, bit for bit
            assert np.array_equal(result[column], expected[column], equal_nan=True), column
        else:  # the same flags, and the same nearest pipe on ties
            assert result[column].tolist() == expected[column].tolist(), column
    assert (result["dist_water_m"] == 0).any()  # crossings are in the data
    assert (result["overhead_m"] > 0).any()


def test_exact_distances_at_the_search_radii_match_brute_force(policy: Policy) -> None:
    # In EPSG:4546 itself, whole metres: mains exactly 25, 50, 100, 200 and 400 m from
    # squares, i.e. on the edges of the search windows, with equal-distance ties.
    x0, y0 = float(round(X0)), float(round(Y0))
    gaps = (25.0, 50.0, 100.0, 200.0, 400.0)
    polygons = [MultiPolygon([square(x0 + 2000 * k, y0)]) for k in range(len(gaps))]
    comm = gpd.GeoDataFrame(
        {"community_id": [f"C{k}" for k in range(len(gaps))]},
        geometry=polygons,
        crs="EPSG:4546",
    )
    rows = []
    for k, gap in enumerate(gaps):
        west, east = x0 + 2000 * k - gap, x0 + 2000 * k + SIDE + gap
        for pipe_id, network, x in ((f"E{k}", "water", east), (f"W{k}", "water", west)):
            rows.append(pipe(pipe_id, network, north_south(x, y_from=y0 - 900, y_to=y0 + 900)))
        rows.append(pipe(f"G{k}", "gas", north_south(east + 0.001)))
    pipes = gpd.GeoDataFrame(
        [{**r, "status": "existing", "overhead": False} for r in rows],
        geometry="geometry",
        crs="EPSG:4546",
    )
    result = analyse_networks(comm, pipes, policy=policy)
    expected = brute_force(comm, pipes, policy)
    assert result["dist_water_m"].tolist() == list(gaps)
    assert result["nearest_water_id"].tolist() == [f"E{k}" for k in range(len(gaps))]
    assert result["nearest_water_id"].tolist() == expected["nearest_water_id"].tolist()
    assert result["dist_gas_m"].tolist() == expected["dist_gas_m"].tolist()


def test_thread_count_does_not_change_the_result(
    policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    polygons, rows = random_layers(3, n_comm=120, n_pipes=150)
    comm = communities_4490(*polygons)  # type: ignore[arg-type]
    pipes = pipes_4490(rows)
    one = analyse_networks(comm, pipes, policy=policy, workers=1)
    three = analyse_networks(comm, pipes, policy=policy, workers=3)
    pd.testing.assert_frame_equal(one, three)
    # Small shares per thread: the communities are searched in three interleaved chunks.
    monkeypatch.setattr(networks, "_MIN_COMMUNITIES_PER_THREAD", 10)
    chunked = analyse_networks(comm, pipes, policy=policy, workers=3)
    pd.testing.assert_frame_equal(one, chunked)
    with pytest.raises(ValueError, match="workers"):
        analyse_networks(comm, pipes, policy=policy, workers=0)


# --------------------------------------------------------------------------
# Works per owner and their Excel export
# --------------------------------------------------------------------------


@pytest.fixture
def works_case(policy: Policy) -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    """One community: water 20 m away, gas 500 m, combined sewer and sewer near,
    overhead power (供电局) and telecom (移动) lines across, telecom owner missing."""
    comm = communities_4490(square())
    comm.loc[0, "name"] = "=HYPERLINK(1)"  # formula-like text must stay text in Excel
    pipes = pipes_4490(
        [
            pipe("W1", "water", north_south(X0 + SIDE + 20), owner="水务集团"),
            pipe("G1", "gas", north_south(X0 + SIDE + 500), owner="燃气企业"),
            pipe("H1", "combined", north_south(X0 - 30), owner="住建局"),
            pipe("S1", "sewer", north_south(X0 - 60), owner="水务集团"),
            pipe("R1", "rain", north_south(X0 - 70), owner="住建局"),
            pipe("P1", "power", north_south(X0 + 40), overhead=True, owner="供电局"),
            pipe("T1", "telecom", north_south(X0 + 70), overhead=True, owner="移动"),
            pipe("T2", "telecom", north_south(X0 + SIDE + 10), owner=None),
        ]
    )
    return comm, analyse_networks(comm, pipes, policy=policy), pipes


def test_owner_works_lists_each_owners_works_with_quantities_and_reasons(
    works_case: tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame], policy: Policy
) -> None:
    comm, analysis, pipes = works_case
    works = owner_works(comm, analysis, pipes, policy=policy)
    assert tuple(works.columns) == OWNER_WORKS_COLUMNS
    by = {(r.owner, r.work): r for r in works.itertuples(index=False)}
    assert set(by) == {
        ("水务集团", "water_renewal"),
        ("供电局", "overhead_undergrounding"),
        ("燃气企业", "gas_main_extension"),
        ("移动", "overhead_undergrounding"),
        ("住建局", "rain_sewer_separation"),
    }
    gas = by["燃气企业", "gas_main_extension"]
    assert gas.quantity == pytest.approx(500.0, abs=TOLERANCE_M)
    assert gas.work_zh == "管道燃气入户（延伸燃气主管约 500 m）"
    assert gas.threshold_m == 300.0 and "超过服务半径 300 m" in gas.reason_zh
    assert gas.pipe_ids == "G1" and gas.unit == "m"
    power = by["供电局", "overhead_undergrounding"]
    assert power.quantity == pytest.approx(100.0, abs=TOLERANCE_M)
    assert power.work_zh == "架空线入地（电力，约 100 m）" and power.network == "power"
    mobile = by["移动", "overhead_undergrounding"]
    assert mobile.network == "telecom" and mobile.pipe_ids == "T1"
    separation = by["住建局", "rain_sewer_separation"]
    assert separation.quantity == pytest.approx(60.0, abs=TOLERANCE_M)  # to the sewer main
    assert separation.measured_m == pytest.approx(30.0, abs=TOLERANCE_M)  # the combined main
    water = by["水务集团", "water_renewal"]
    assert "一户一表" in water.work_zh and water.quantity == pytest.approx(20.0, abs=TOLERANCE_M)
    assert list(works["owner"]) == sorted(works["owner"], key=PIPE_OWNERS.index)
    assert not works["owner_inferred"].any()


def test_owner_of_a_main_without_owner_is_inferred_from_the_network(policy: Policy) -> None:
    comm = communities_4490(square())
    pipes = pipes_4490([pipe("T9", "telecom", north_south(X0 - 250), owner=None)])
    analysis = analyse_networks(comm, pipes, policy=policy)
    works = owner_works(comm, analysis, pipes, policy=policy, include_renewal=False)
    telecom = works[works["work"] == "telecom_main_extension"].iloc[0]
    assert telecom["owner"] == "电信" and bool(telecom["owner_inferred"])
    assert telecom["quantity"] == pytest.approx(250.0, abs=TOLERANCE_M)
    water = works[works["work"] == "water_main_extension"].iloc[0]
    assert math.isnan(water["quantity"]) and "长度待勘测" in water["work_zh"]
    assert set(works["work"]) >= {"sewer_main_extension", "rain_main_extension"}


def test_owner_works_refuses_an_analysis_of_other_communities(
    works_case: tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame], policy: Policy
) -> None:
    comm, analysis, pipes = works_case
    with pytest.raises(SchemaError, match="lacks 1 communities"):
        owner_works(comm, analysis.iloc[0:0], pipes, policy=policy)


def test_export_writes_a_summary_and_one_sheet_per_owner_with_chinese_headers(
    works_case: tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame],
    policy: Policy,
    tmp_path: Path,
) -> None:
    comm, analysis, pipes = works_case
    works = owner_works(comm, analysis, pipes, policy=policy)
    target = export_owner_works(works, tmp_path / "管线单位工程清单.xlsx")
    workbook = load_workbook(target)
    assert workbook.sheetnames == ["汇总", *PIPE_OWNERS, "说明"]
    sheet = workbook["燃气企业"]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["小区编号", "小区名称", "所属区县"]
    assert set(headers) <= set(OWNER_WORKS_HEADERS.values())
    row = dict(zip(headers, list(sheet[2]), strict=True))
    assert row["小区名称"].value == "=HYPERLINK(1)" and row["小区名称"].data_type == "s"
    assert row["小区名称"].quotePrefix
    assert row["所属区县"].value == "江城区"
    assert row["工程量"].value == pytest.approx(500.0, abs=TOLERANCE_M)
    for ws in workbook.worksheets:  # no cell anywhere is a formula
        assert all(cell.data_type != "f" for r in ws.iter_rows() for cell in r)
    summary = {r[0]: r for r in workbook["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["电信"][2] == "无 / none"
    assert [p.name for p in tmp_path.iterdir()] == ["管线单位工程清单.xlsx"]


def test_export_refuses_to_overwrite_unless_asked(
    works_case: tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame],
    policy: Policy,
    tmp_path: Path,
) -> None:
    comm, analysis, pipes = works_case
    works = owner_works(comm, analysis, pipes, policy=policy)
    target = tmp_path / "works.xlsx"
    target.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="overwrite=True"):
        export_owner_works(works, target)
    assert target.read_bytes() == b"keep me"
    export_owner_works(works, target, overwrite=True)
    assert load_workbook(target).sheetnames[0] == "汇总"
    with pytest.raises(ExportError):
        export_owner_works(works, tmp_path / "works.csv")


# --------------------------------------------------------------------------
# The sample workspace (read only)
# --------------------------------------------------------------------------


def test_sample_workspace_distribution_is_sane(policy: Policy) -> None:
    from gislib.datasets import sample_workspace_path
    from gislib.store import open_workspace

    workspace = open_workspace(sample_workspace_path())
    comm, pipes = workspace.read("communities"), workspace.read("pipelines")
    result = analyse_networks(comm, pipes, policy=policy)
    n = len(comm)
    assert n == 600 and list(result.index) == list(comm.index)
    assert 0 < result["gas_main_needed"].sum() < n / 2
    assert 0 < result["gas_main_planned"].sum() <= result["gas_main_needed"].sum()
    assert 0 < (result["overhead_m"] > 0).sum() < n / 2
    assert 0 < result["combined_sewer"].sum() < n
    assert result["dist_water_m"].notna().all()
    assert (result["dist_water_m"] < 1000).mean() > 0.9
    assert set(result["overhead_owners"].str.split("、").explode()) - {""} <= set(PIPE_OWNERS)
    works = owner_works(comm, result, pipes, policy=policy)
    assert {"燃气企业", "供电局", "水务集团", "住建局"} <= set(works["owner"])


def test_pipes_are_measured_with_the_same_coordinates_as_to_measure() -> None:
    from gislib.networks import _measured_lines

    _, rows = random_layers(4, n_comm=1, n_pipes=60)  # one-part and two-part lines
    pipes = pipes_4490(rows)
    pipes.loc[3, "geometry"] = LineString(pipes.loc[3, "geometry"].geoms[0].coords)
    fast = _measured_lines(pipes)
    reference = to_measure(pipes).geometry.to_numpy()
    assert shapely.get_type_id(fast[3]) == 1 and shapely.get_type_id(fast[1]) == 1
    assert shapely.get_type_id(fast[0]) == 5  # two parts: kept as they are
    assert np.array_equal(shapely.get_coordinates(fast), shapely.get_coordinates(reference))
    assert (shapely.get_num_geometries(fast) == shapely.get_num_geometries(reference)).all()


def test_communities_are_measured_with_the_same_coordinates_as_to_measure() -> None:
    from gislib.networks import _measured_targets

    polygons, _ = random_layers(6, n_comm=60, n_pipes=1)  # some turned, some two-part
    comm = communities_4490(*polygons)  # type: ignore[arg-type]
    full, parts = _measured_targets(comm)
    reference = to_measure(comm).geometry.to_numpy()
    assert np.array_equal(shapely.get_coordinates(full), shapely.get_coordinates(reference))
    assert (shapely.get_type_id(full) == shapely.get_type_id(reference)).all()
    assert shapely.get_type_id(parts[1]) == 3 and shapely.get_type_id(parts[0]) == 6
    assert np.array_equal(shapely.get_coordinates(parts), shapely.get_coordinates(reference))


def test_nearest_ids_are_the_same_for_text_and_object_pipe_ids(policy: Policy) -> None:
    polygons, rows = random_layers(7, n_comm=30, n_pipes=80)
    comm = communities_4490(*polygons)  # type: ignore[arg-type]
    pipes = pipes_4490(rows)
    pipes = pipes[pipes["network"] != "gas"]  # a network without mains: "" ids
    pipes.loc[pipes.index[:10], "pipe_id"] = None  # missing ids: ""
    assert pipes["pipe_id"].dtype == pd.StringDtype(na_value=np.nan)
    as_objects = pipes.assign(pipe_id=pipes["pipe_id"].astype(object))
    text = analyse_networks(comm, pipes, policy=policy)
    objects = analyse_networks(comm, as_objects, policy=policy)
    pd.testing.assert_frame_equal(text, objects, check_exact=True)
    assert (text["nearest_gas_id"] == "").all()
    ids = text[[f"nearest_{n}_id" for n in NETWORKS]].to_numpy().ravel()
    assert "" in set(ids) and len(set(ids)) > 10
    assert {str(i) for i in ids} - {""} <= set(pipes["pipe_id"].dropna())


def test_docstring_examples_run() -> None:
    import doctest

    import gislib.networks as networks_module

    result = doctest.testmod(networks_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
