"""Tests of gislib.works: the attached table, the derivation rules, costs and funding."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from gislib.datasets import policy_path, sample_workspace_path
from gislib.errors import PolicyError, SchemaError
from gislib.networks import analyse_networks
from gislib.policy import load_policy
from gislib.raster import community_raster_stats
from gislib.store import open_workspace
from gislib.works import (
    CATEGORIES,
    WORKS_COLUMNS,
    WORKS_FILE,
    Category,
    FundingSource,
    Unit,
    derive_works,
    estimate_costs,
    load_works,
    split_funding,
)

NETWORKS = ("water", "rain", "sewer", "combined", "gas", "power", "telecom")
SOURCES = [str(s) for s in FundingSource]
# Origin of the hand-built communities in EPSG:4546 (metres), inside Yangjiang.
X0, Y0 = 600_000.0, 2_420_000.0
SIDE_M = 100.0  # a 100 m x 100 m square: 10,000 m2 of site

# The attached table 老旧小区改造内容、改造标准表: number -> name, and the groups.
TABLE = {
    1: "供水",
    2: "供电",
    3: "供气",
    4: "弱电",
    5: "排水",
    6: "通行设施",
    7: "停车设施",
    8: "消防设施",
    9: "安防系统",
    10: "环卫设施",
    11: "照明设施",
    12: "文体活动设施",
    13: "绿化美化",
    14: "屋面防水",
    15: "楼道修缮",
    16: "楼道照明",
    17: "单元门禁",
    18: "加装电梯",
    19: "立面整治",
    20: "楼内给水、排水管道",
    21: "服务设施",
    22: "功能用房",
    23: "互联网社区",
    24: "自治管理",
    25: "协商机制",
}
GROUPS = {
    1: ("小区环境及配套设施", range(1, 14)),
    2: ("建筑物本体", range(14, 21)),
    3: ("公共服务设施", range(21, 24)),
    4: ("社区治理体系", range(24, 26)),
}


@pytest.fixture(scope="module")
def config():
    return load_works()


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def communities(n: int = 1, index: list | None = None, **values) -> gpd.GeoDataFrame:
    """``n`` square communities (100 m side, EPSG:4546) with quiet defaults.

    Defaults trigger only the ``always`` rule: built 2003 (after the aged
    threshold), 3 storeys, professional management, 40 households.
    """
    data = {
        "community_id": [f"C{i + 1}" for i in range(n)],
        "name": [f"小区{i + 1}" for i in range(n)],
        "build_year": [2003] * n,
        "buildings": [2] * n,
        "households": [40] * n,
        "floor_area_m2": [4000.0] * n,
        "storeys": [3] * n,
        "has_lift": [False] * n,
        "management": ["物业"] * n,
        "ownership": ["商品房"] * n,
    }
    for key, value in values.items():
        data[key] = value if isinstance(value, list) else [value] * n
    geometry = [box(X0 + 200 * i, Y0, X0 + 200 * i + SIDE_M, Y0 + SIDE_M) for i in range(n)]
    return gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4546", index=index)


def network_frame(comm: pd.DataFrame, **values) -> pd.DataFrame:
    """A network analysis in which every main is near and nothing is needed."""
    n = len(comm)
    data: dict[str, object] = {}
    for net in NETWORKS:
        data[f"dist_{net}_m"] = 10.0
        data[f"near_{net}"] = True
        data[f"planned_dist_{net}_m"] = np.nan
        data[f"planned_near_{net}"] = False
    data.update(
        overhead_m=0.0,
        overhead_owners="",
        combined_sewer=False,
        gas_main_needed=False,
        gas_main_planned=False,
    )
    data.update(values)
    frame = pd.DataFrame(index=comm.index)
    for key, value in data.items():
        frame[key] = value if isinstance(value, list) else [value] * n
    return frame


def rows(works: pd.DataFrame, work: str) -> pd.DataFrame:
    return works[works["work"] == work]


# --------------------------------------------------------------------------- the table


def test_catalog_has_the_25_items_of_the_attached_table_in_4_groups(config) -> None:
    catalog = config.catalog()
    assert len(catalog) == 25
    assert dict(zip(catalog["number"], catalog["zh"], strict=True)) == TABLE
    for number, (name, numbers) in GROUPS.items():
        in_group = catalog[catalog["group_number"] == number]
        assert list(in_group["number"]) == list(numbers)
        assert set(in_group["group_zh"]) == {name}
    assert catalog.index.map(lambda code: code.isascii() and code.isidentifier()).all()


def test_every_item_has_one_of_the_three_categories_of_section_five(config) -> None:
    catalog = config.catalog()
    assert set(catalog["category"]) == {str(c) for c in Category}
    assert set(catalog["category_zh"]) == {"基础类", "完善类", "提升类"}
    by_name = dict(zip(catalog["zh"], catalog["category"], strict=True))
    for name in ("供水", "排水", "供电", "供气", "弱电", "通行设施", "消防设施", "安防系统"):
        assert by_name[name] == "basic", name
    for name in ("加装电梯", "停车设施", "绿化美化", "照明设施", "文体活动设施"):
        assert by_name[name] == "improvement", name
    for name in ("服务设施", "互联网社区"):
        assert by_name[name] == "upgrade", name


def test_every_work_has_a_unit_cost_with_its_source_and_estimates_say_so(config) -> None:
    table = config.cost_table()
    assert (table["unit_cost"] > 0).all()
    assert table["source"].str.len().gt(0).all()
    assert table["note"].str.len().gt(0).all()
    # No published cost table was found: every figure must be labelled an estimate.
    assert set(table["source"]) == {"estimate"}
    assert table["note"].str.startswith("estimate").all()
    assert set(table["unit"]) <= {str(u) for u in Unit}
    # Every item of the table has at least one priced work.
    assert set(table["item"]) == set(config.items)


def test_barrier_free_work_overrides_its_basic_item_category(config) -> None:
    assert config.items["access_ways"].category is Category.BASIC
    assert config.category_of("barrier_free") is Category.IMPROVEMENT
    assert config.category_of("permeable_paving") is Category.BASIC


# --------------------------------------------------------------------------- rules


def test_every_community_gets_basic_building_items_scaled_by_floor_area(config, policy) -> None:
    works = derive_works(communities(), config=config, policy=policy)
    assert set(works["rule"]) == {"always"}
    roof = rows(works, "roof_waterproofing").iloc[0]
    assert roof["quantity"] == pytest.approx(4000.0 / 3, abs=0.01)
    assert roof["unit"] == "m2_roof"
    assert roof["basis_zh"] == "建筑面积 4000 m² ÷ 3 层"
    assert rows(works, "stairwell_repair")["quantity"].item() == 4000.0
    assert rows(works, "facade_renovation")["quantity"].item() == 4000.0
    # A site-area work measures the 100 m square in EPSG:4546.
    road = rows(works, "road_resurfacing").iloc[0]
    assert road["quantity"] == pytest.approx(SIDE_M * SIDE_M * 0.25, abs=0.01)


@pytest.mark.parametrize(
    ("storeys", "has_lift", "lifts"),
    [
        (6, False, 4),  # ceil(48 / (6 x 2)) = 4 stair units
        (3, False, 0),  # below the policy's 4 storeys
        (4, False, 6),  # exactly the threshold: ceil(48 / 8) = 6
        (6, True, 0),  # already has a lift
        (6, None, 0),  # unknown: no figure invented
    ],
)
def test_lift_retrofit_needs_no_lift_and_enough_storeys(
    config, policy, storeys, has_lift, lifts
) -> None:
    assert policy.deficiencies.lift_min_storeys == 4
    comm = communities(storeys=storeys, has_lift=has_lift, households=48)
    lift = rows(derive_works(comm, config=config, policy=policy), "lift")
    if not lifts:
        assert lift.empty
        return
    row = lift.iloc[0]
    assert row["quantity"] == lifts
    assert row["cost"] == lifts * config.works["lift"].unit_cost
    assert row["category"] == "improvement"
    assert row["item_number"] == 18
    assert row["reason_zh"] == f"{storeys} 层无电梯（4 层及以上）→ 加装电梯"
    assert row["reason_en"] == f"{storeys} storeys without a lift (4+ storeys) → lift retrofit"


def test_lift_threshold_comes_from_the_policy(config, policy) -> None:
    strict = dataclasses.replace(
        policy, deficiencies=dataclasses.replace(policy.deficiencies, lift_min_storeys=7)
    )
    comm = communities(storeys=6)
    assert rows(derive_works(comm, config=config, policy=strict), "lift").empty
    assert not rows(derive_works(comm, config=config, policy=policy), "lift").empty


def test_lift_count_is_at_least_one_per_building(config, policy) -> None:
    comm = communities(storeys=6, households=12, buildings=5)
    assert rows(derive_works(comm, config=config, policy=policy), "lift")["quantity"].item() == 5


def test_no_gas_main_within_reach_adds_piped_gas_and_the_main_extension(config, policy) -> None:
    comm = communities()
    nets = network_frame(comm, gas_main_needed=True, dist_gas_m=420.0, near_gas=False)
    works = derive_works(comm, networks=nets, config=config, policy=policy)
    reach = policy.reach_m["gas"]
    assert reach == 300.0
    main = rows(works, "gas_main_extension").iloc[0]
    assert main["quantity"] == 420.0
    assert main["unit"] == "m"
    assert main["cost"] == 420.0 * config.works["gas_main_extension"].unit_cost
    assert main["reason_zh"] == "周边 300 m 内无燃气主管（最近 420 m）→ 燃气主管延伸"
    assert main["reason_en"] == "no gas main within 300 m (nearest 420 m) → gas main extension"
    assert main["category"] == "basic" and main["item_zh"] == "供气"
    household = rows(works, "gas_household").iloc[0]
    assert household["quantity"] == 40
    assert household["reason_zh"].endswith("→ 管道燃气入户")


def test_planned_gas_main_shortens_the_extension_only_when_configured(config, policy) -> None:
    comm = communities()
    nets = network_frame(
        comm,
        gas_main_needed=True,
        gas_main_planned=True,
        dist_gas_m=420.0,
        planned_dist_gas_m=120.0,
        near_gas=False,
    )
    default = rows(
        derive_works(comm, networks=nets, config=config, policy=policy), "gas_main_extension"
    )
    assert default["quantity"].item() == 420.0
    assert "规划燃气主管 120 m" in default["reason_zh"].item()
    rules = dataclasses.replace(
        config.rules, gas=dataclasses.replace(config.rules.gas, extend_to_planned_main=True)
    )
    shorter = dataclasses.replace(config, rules=rules)
    planned = rows(
        derive_works(comm, networks=nets, config=shorter, policy=policy), "gas_main_extension"
    )
    assert planned["quantity"].item() == 120.0
    assert planned["basis_en"].item() == "extend to the planned main, 120 m"


def test_gas_needed_without_any_main_is_listed_unpriced(config, policy) -> None:
    comm = communities()
    nets = network_frame(comm, gas_main_needed=True, dist_gas_m=np.nan, near_gas=False)
    works = derive_works(comm, networks=nets, config=config, policy=policy)
    main = rows(works, "gas_main_extension").iloc[0]
    assert np.isnan(main["quantity"]) and np.isnan(main["cost"])
    assert "无现状主管" in main["reason_zh"]
    assert estimate_costs(works)["unpriced"].item() == 1


@pytest.mark.parametrize("offset", [0.01, 0.0, -0.05])
def test_waterlogging_above_the_threshold_adds_drainage_and_sponge_works(
    config, policy, offset
) -> None:
    threshold = policy.deficiencies.waterlogging_depth_m
    comm = communities()
    raster = pd.DataFrame(
        {"waterlogging_mean_m": [threshold + offset], "waterlogging_max_m": [0.6]},
        index=comm.index,
    )
    works = derive_works(comm, raster=raster, config=config, policy=policy)
    added = set(works.loc[works["rule"] == "waterlogging", "work"])
    if offset <= 0:
        assert added == set()
        return
    assert added == {"drainage_renewal", "permeable_paving", "rain_garden"}
    assert set(works.loc[works["rule"] == "waterlogging", "item_zh"]) == {
        "排水",
        "通行设施",
        "绿化美化",
    }
    paving = rows(works, "permeable_paving").iloc[0]
    assert paving["quantity"] == pytest.approx(SIDE_M * SIDE_M * 0.15, abs=0.01)
    assert paving["reason_zh"] == (
        f"平均积水深度 {threshold + offset:.2f} m，超过 {threshold:.2f} m（最大 0.60 m）"
        "→ 透水铺装（海绵城市）"
    )


def test_combined_sewer_adds_storm_and_foul_separation(config, policy) -> None:
    comm = communities(2)
    nets = network_frame(comm, combined_sewer=[True, False], dist_combined_m=[14.0, 10.0])
    works = derive_works(comm, networks=nets, config=config, policy=policy)
    sep = rows(works, "rain_sewer_separation")
    assert list(sep["community_id"]) == ["C1"]
    assert sep["item_zh"].item() == "排水"
    assert sep["reason_zh"].item() == "周边 100 m 内有雨污合流管（最近 14 m）→ 雨污分流改造"
    assert sep["quantity"].item() == 4000.0


def test_mains_connection_unless_a_combined_sewer_serves(config, policy) -> None:
    comm = communities(2)
    nets = network_frame(comm, near_sewer=False, dist_sewer_m=250.0, near_combined=[True, False])
    works = derive_works(comm, networks=nets, config=config, policy=policy)
    conn = rows(works, "sewer_main_extension")
    assert list(conn["community_id"]) == ["C2"]
    assert conn["quantity"].item() == 250.0
    assert conn["reason_en"].item() == (
        "no sewer main within 100 m (nearest 250 m) → connection to the municipal sewer"
    )


@pytest.mark.parametrize(
    ("owners", "expected"),
    [
        ("供电局", {"power_underground"}),
        ("电信、移动", {"telecom_underground"}),
        (("供电局", "联通"), {"power_underground", "telecom_underground"}),
        ("", {"power_underground", "telecom_underground"}),  # unknown: every network
    ],
)
def test_overhead_lines_go_underground_by_owner(config, policy, owners, expected) -> None:
    comm = communities()
    nets = network_frame(comm, overhead_m=120.0)
    nets["overhead_owners"] = pd.Series([owners], index=comm.index, dtype=object)
    works = derive_works(comm, networks=nets, config=config, policy=policy)
    under = works[works["rule"] == "overhead"]
    assert set(under["work"]) == expected
    assert (under["quantity"] == 120.0).all()


def test_overhead_owners_are_read_per_community(config, policy) -> None:
    comm = communities(2)
    nets = network_frame(comm, overhead_m=[50.0, 70.0])
    nets["overhead_owners"] = pd.Series(
        [("供电局", "电信"), ("移动", "联通")], index=comm.index, dtype=object
    )
    works = derive_works(comm, networks=nets, config=config, policy=policy)
    under = works[works["rule"] == "overhead"]
    assert sorted(zip(under["community_id"], under["work"], under["quantity"], strict=True)) == [
        ("C1", "power_underground", 50.0),
        ("C1", "telecom_underground", 50.0),
        ("C2", "telecom_underground", 70.0),
    ]


def test_overhead_length_per_network_is_used_when_given(config, policy) -> None:
    comm = communities()
    nets = network_frame(comm, overhead_m=120.0, overhead_power_m=80.0, overhead_telecom_m=0.0)
    works = derive_works(comm, networks=nets, config=config, policy=policy)
    under = works[works["rule"] == "overhead"]
    assert list(under["work"]) == ["power_underground"]
    assert under["quantity"].item() == 80.0


def test_no_property_management_adds_self_governance_and_rooms(config, policy) -> None:
    comm = communities(2, management=["无", "物业"])
    works = derive_works(comm, config=config, policy=policy)
    managed = works[works["rule"] == "management"]
    assert set(managed["community_id"]) == {"C1"}
    assert {"self_governance", "property_room"} <= set(managed["work"])
    assert set(managed.loc[managed["work"] == "property_room", "item_zh"]) == {"功能用房"}
    assert managed["reason_zh"].iloc[0].startswith("物业管理：无 →")


def test_old_communities_renew_supply_pipes(config, policy) -> None:
    until = config.rules.aged_services.built_until
    comm = communities(2, build_year=[until, until + 1])
    works = derive_works(comm, config=config, policy=policy)
    aged = works[works["rule"] == "aged_services"]
    assert set(aged["community_id"]) == {"C1"}
    assert set(aged["work"]) == {"water_renewal", "power_renewal", "building_pipes"}


def test_population_from_the_raster_or_estimated_drives_service_facilities(config, policy) -> None:
    rule = config.rules.services
    comm = communities(2, households=[400, 100])
    raster = pd.DataFrame(
        {"waterlogging_mean_m": [0.0, 0.0], "population": [np.nan, rule.min_population]},
        index=comm.index,
    )
    works = derive_works(comm, raster=raster, config=config, policy=policy)
    services = rows(works, "community_services")
    assert list(services["community_id"]) == ["C1", "C2"]
    assert (
        services["reason_zh"]
        .iloc[0]
        .startswith(f"居住人口约 {400 * rule.persons_per_household:.0f} 人（按 400 户")
    )
    assert "估算" not in services["reason_zh"].iloc[1]
    assert services["category"].eq("upgrade").all()


def test_disabled_rule_adds_nothing(config, policy) -> None:
    rules = dataclasses.replace(
        config.rules, always=dataclasses.replace(config.rules.always, enabled=False)
    )
    works = derive_works(
        communities(), config=dataclasses.replace(config, rules=rules), policy=policy
    )
    assert works.empty
    assert list(works.columns) == list(WORKS_COLUMNS)


def test_networks_without_a_row_for_a_community_are_refused(config, policy) -> None:
    comm = communities(2)
    nets = network_frame(comm).iloc[:1]
    with pytest.raises(SchemaError, match="C2"):
        derive_works(comm, networks=nets, config=config, policy=policy)


def test_networks_can_be_matched_by_community_id(config, policy) -> None:
    comm = communities(2)
    nets = network_frame(comm, combined_sewer=[False, True]).reset_index(drop=True)
    nets.index = [10, 11]
    nets["community_id"] = ["C1", "C2"]
    works = derive_works(comm, networks=nets, config=config, policy=policy)
    assert list(rows(works, "rain_sewer_separation")["community_id"]) == ["C2"]


def test_non_numeric_attribute_is_refused_naming_the_column(config, policy) -> None:
    comm = communities(storeys="六层")
    with pytest.raises(SchemaError, match="storeys"):
        derive_works(comm, config=config, policy=policy)


def test_missing_network_column_is_named(config, policy) -> None:
    comm = communities()
    nets = network_frame(comm).drop(columns="gas_main_needed")
    with pytest.raises(SchemaError, match="gas_main_needed"):
        derive_works(comm, networks=nets, config=config, policy=policy)


# --------------------------------------------------------------------------- index, costs


def random_inputs(seed: int, n: int = 40) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    comm = communities(
        n,
        index=[f"k{seed}-{i}" for i in range(n)],
        build_year=list(rng.integers(1975, 2006, n)),
        buildings=list(rng.integers(1, 12, n)),
        households=list(rng.integers(10, 900, n)),
        floor_area_m2=list(rng.uniform(800, 60_000, n).round(1)),
        storeys=list(rng.integers(2, 12, n)),
        has_lift=list(rng.random(n) < 0.2),
        management=list(rng.choice(["物业", "业委会", "无"], n)),
        ownership=list(rng.choice(["商品房", "房改房", "公租房"], n)),
    )
    dist = rng.exponential(200, (len(NETWORKS), n))
    values: dict[str, object] = {}
    for k, net in enumerate(NETWORKS):
        values[f"dist_{net}_m"] = list(dist[k])
        values[f"near_{net}"] = list(dist[k] < 100)
    values.update(
        overhead_m=list(np.where(rng.random(n) < 0.4, rng.uniform(5, 400, n), 0.0)),
        combined_sewer=list(rng.random(n) < 0.3),
        gas_main_needed=list(dist[NETWORKS.index("gas")] > 300),
    )
    nets = network_frame(comm, **values)
    raster = pd.DataFrame(
        {
            "waterlogging_mean_m": rng.uniform(0, 0.5, n),
            "waterlogging_max_m": rng.uniform(0.5, 1.2, n),
            "population": rng.uniform(50, 3000, n),
        },
        index=comm.index,
    )
    return comm, nets, raster


def test_index_is_kept_with_the_community_id(config, policy) -> None:
    comm, nets, raster = random_inputs(1)
    works = derive_works(comm, networks=nets, raster=raster, config=config, policy=policy)
    assert set(works.index) == set(comm.index)
    assert (works["community_id"] == comm.loc[works.index, "community_id"]).all()
    # Rows come in the communities' order, then by item number.
    positions = comm.index.get_indexer(works.index)
    assert (np.diff(positions) >= 0).all()
    for _, group in works.groupby(level=0):
        assert group["item_number"].is_monotonic_increasing
    totals = estimate_costs(works)
    assert list(totals.index) == list(comm.index)
    funding = split_funding(works, comm, config=config)
    assert list(funding.index) == list(comm.index)
    assert list(funding["community_id"]) == list(comm["community_id"])


def test_costs_are_quantity_times_unit_cost_and_totals_add_up(config, policy) -> None:
    comm, nets, raster = random_inputs(2)
    works = derive_works(comm, networks=nets, raster=raster, config=config, policy=policy)
    priced = works.dropna(subset=["cost"])
    assert len(priced) == len(works)
    expected = (priced["quantity"] * priced["unit_cost"]).round(2)
    assert np.allclose(priced["cost"], expected, rtol=0, atol=0.005)
    unit_costs = works["work"].map({code: w.unit_cost for code, w in config.works.items()})
    assert (works["unit_cost"] == unit_costs).all()
    totals = estimate_costs(works)
    by_category = works.groupby([works.index, "category"])["cost"].sum().unstack(fill_value=0)
    for category in CATEGORIES:
        assert np.allclose(totals[category], by_category[category].reindex(totals.index))
    assert np.allclose(totals["total"], totals[list(CATEGORIES)].sum(axis=1))


# --------------------------------------------------------------------------- funding


def fen(values: pd.Series | pd.DataFrame) -> np.ndarray:
    return np.rint(np.asarray(values, dtype=float) * 100).astype(np.int64)


def random_funding(config, rng):
    works = list(config.works)

    def pick(keys, k):
        chosen = rng.choice(keys, size=k, replace=False)
        return MappingProxyType({str(key): float(rng.random()) for key in chosen})

    funding = dataclasses.replace(
        config.funding,
        pipeline_owner_share_by_work=pick(works, 8),
        resident_share_by_group=pick(list(config.groups), 2),
        resident_share_by_work=pick(works, 6),
        resident_max_per_household=float(rng.choice([0.0, 500.0, 5000.0])),
        original_owner_share=float(rng.random()),
        social_share_by_category=pick([str(c) for c in Category], 2),
        social_share_by_work=pick(works, 5),
    )
    return dataclasses.replace(config, funding=funding)


@pytest.mark.parametrize("seed", range(6))
def test_funding_adds_up_to_the_cost_to_the_fen_for_random_inputs(config, policy, seed) -> None:
    rng = np.random.default_rng(100 + seed)
    comm, nets, raster = random_inputs(seed)
    cfg = random_funding(config, rng)
    works = derive_works(comm, networks=nets, raster=raster, config=cfg, policy=policy)
    by_work = split_funding(works, comm, config=cfg, level="work")
    parts = fen(by_work[SOURCES])
    assert (parts >= 0).all()
    assert (parts.sum(axis=1) == fen(works["cost"])).all()
    by_community = split_funding(works, comm, config=cfg)
    parts = fen(by_community[SOURCES])
    assert (parts >= 0).all()
    assert (parts.sum(axis=1) == fen(by_community["cost"])).all()
    assert fen(by_community["cost"]).sum() == fen(works["cost"]).sum()
    cap = cfg.funding.resident_max_per_household
    if cap > 0:
        assert (fen(by_community["residents"]) <= fen(comm["households"] * cap)).all()


def test_pipeline_owners_pay_only_their_items(config, policy) -> None:
    comm, nets, raster = random_inputs(3)
    works = derive_works(comm, networks=nets, raster=raster, config=config, policy=policy)
    by_work = split_funding(works, comm, config=config, level="work")
    owners = config.funding.pipeline_owner_share_by_work
    paying = by_work["pipeline_owners"] > 0
    assert paying.any()
    assert set(by_work.loc[paying, "work"]) <= set(owners)
    underground = by_work[by_work["work"] == "power_underground"]
    assert not underground.empty
    assert (underground["pipeline_owners"] == underground["cost"]).all()
    assert (underground[["residents", "original_owners", "fiscal"]] == 0).all().all()


def test_original_owners_contribute_only_for_reformed_housing(config, policy) -> None:
    comm = communities(2, ownership=["房改房", "商品房"])
    works = derive_works(comm, config=config, policy=policy)
    funding = split_funding(works, comm, config=config)
    share = config.funding.original_owner_share
    assert funding.loc[0, "original_owners"] > 0
    assert funding.loc[1, "original_owners"] == 0
    # Building items: residents take 10% first, then the original owners their share.
    roof = split_funding(rows(works, "roof_waterproofing"), comm, config=config, level="work")
    cost = roof["cost"].iloc[0]
    assert roof["residents"].iloc[0] == pytest.approx(round(cost * 0.1, 2))
    assert roof["original_owners"].iloc[0] == pytest.approx(round(cost * share, 2))


def test_resident_cap_per_household_moves_the_excess_to_the_fiscal_budget(config, policy) -> None:
    comm = communities(storeys=6, households=48)
    works = derive_works(comm, config=config, policy=policy)
    uncapped = split_funding(works, comm, config=config)
    capped_config = dataclasses.replace(
        config, funding=dataclasses.replace(config.funding, resident_max_per_household=1000.0)
    )
    capped = split_funding(works, comm, config=capped_config)
    assert uncapped.loc[0, "residents"] > 48 * 1000.0
    assert capped.loc[0, "residents"] == 48 * 1000.0
    moved = uncapped.loc[0, "residents"] - capped.loc[0, "residents"]
    assert capped.loc[0, "fiscal"] == pytest.approx(uncapped.loc[0, "fiscal"] + moved, abs=0.005)


def test_social_capital_funds_upgrade_items(config, policy) -> None:
    comm = communities(households=600)
    works = derive_works(comm, config=config, policy=policy)
    by_work = split_funding(works, comm, config=config, level="work").set_index("work")
    services = by_work.loc["community_services"]
    assert services["social_capital"] == pytest.approx(services["cost"] * 0.3)
    assert by_work.loc["consultation", "social_capital"] == 0
    assert by_work.loc["roof_waterproofing", "social_capital"] == 0


def test_community_without_works_gets_a_zero_row(config, policy) -> None:
    comm = communities(2)
    works = derive_works(comm.iloc[:1], config=config, policy=policy)
    funding = split_funding(works, comm, config=config)
    assert funding.loc[1, ["cost", *SOURCES]].eq(0).all()


def test_works_of_unknown_communities_are_refused(config, policy) -> None:
    comm = communities(2)
    works = derive_works(comm, config=config, policy=policy)
    with pytest.raises(SchemaError, match="C2"):
        split_funding(works, comm.iloc[:1], config=config)


# --------------------------------------------------------------------------- bad files


def shipped_text() -> str:
    return policy_path(WORKS_FILE).read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad-works.toml"
    path.write_text(text, encoding="utf-8")
    return path


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        # missing key
        ("unit_cost = 650000.0\n", "", "works.lift.unit_cost"),
        (
            'category = "improvement"\n\n# 五（一）基础类: "消防"',
            '\n# 五（一）基础类: "消防"',
            "items.parking.category",
        ),
        # wrong type
        ("unit_cost = 650000.0", 'unit_cost = "65万"', "works.lift.unit_cost"),
        (
            "households_per_landing = 2",
            "households_per_landing = 2.5",
            "rules.lift.households_per_landing",
        ),
        ("number = 18", 'number = "18"', "items.lift.number"),
        # unknown key
        ("[works.lift]\n", "[works.lift]\nunit_costs = 1.0\n", "works.lift"),
        ("[funding.fiscal]\n", "[funding.fiscal]\nshare = 1.0\n", "funding.fiscal"),
        # bad value or reference
        ('category = "upgrade"', 'category = "luxury"', "items.service_facilities.category"),
        ('item = "lift"', 'item = "elevator"', "works.lift.item"),
        ("power_underground = 1.0", "power_underground = 1.5", "share_by_work.power_underground"),
        ('ownership = ["房改房"]', 'ownership = ["房改"]', "funding.original_owners.ownership"),
        ('works = ["lift"]', 'works = ["lifts"]', "rules.lift.works"),
    ],
)
def test_bad_works_file_names_the_file_and_the_key(tmp_path, old, new, key) -> None:
    path = write(tmp_path, replace_once(shipped_text(), old, new))
    with pytest.raises(PolicyError) as info:
        load_works(path)
    message = str(info.value)
    assert "bad-works.toml" in message
    assert key in message


def test_work_listed_in_two_rules_is_refused(tmp_path) -> None:
    text = replace_once(shipped_text(), 'works = ["lift"]', 'works = ["lift", "consultation"]')
    with pytest.raises(PolicyError, match=r"consultation.*rules\.always.*rules\.lift"):
        load_works(write(tmp_path, text))


def test_metre_work_outside_a_network_rule_is_refused(tmp_path) -> None:
    text = replace_once(
        shipped_text(),
        '    "consultation",\n]',
        '    "consultation",\n    "gas_main_extension",\n]',
    )
    text = replace_once(
        text, 'works = ["gas_household", "gas_main_extension"]', 'works = ["gas_household"]'
    )
    with pytest.raises(PolicyError, match=re.escape("rules.always.works")):
        load_works(write(tmp_path, text))


def test_missing_works_file_and_bad_toml_are_policy_errors(tmp_path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_works(tmp_path / "none.toml")
    with pytest.raises(PolicyError, match=re.escape("bad-works.toml")):
        load_works(write(tmp_path, "[meta\nid = 1"))


# --------------------------------------------------------------------------- sample workspace


def test_sample_workspace_end_to_end(config, policy) -> None:
    ws = open_workspace(sample_workspace_path())
    comm = ws.read("communities")
    nets = analyse_networks(comm, ws.read("pipelines"), policy=policy)
    raster = community_raster_stats(comm, ws)
    works = derive_works(comm, networks=nets, raster=raster, config=config, policy=policy)
    assert set(works.index) == set(comm.index)
    gas = works[works["work"] == "gas_main_extension"]
    assert set(gas.index) == set(comm.index[nets["gas_main_needed"].to_numpy(dtype=bool)])
    assert works["reason_zh"].str.contains("→").all()
    assert works["reason_en"].str.contains("→").all()
    funding = split_funding(works, comm, config=config)
    assert (fen(funding[SOURCES]).sum(axis=1) == fen(funding["cost"])).all()
    assert fen(funding["cost"]).sum() == fen(works["cost"]).sum()
