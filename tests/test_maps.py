"""Tests of gislib.maps: offline assets, escaping, one layer per county, display geometry."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from gislib import maps
from gislib.errors import ConfigError, CRSError, SchemaError

MALICIOUS = "<img src=x onerror=alert(1)>"


def _square(lon: float, lat: float, size: float) -> shapely.MultiPolygon:
    return shapely.MultiPolygon([box(lon, lat, lon + size, lat + size)])


@pytest.fixture
def counties() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["441702", "441781"], "name": ["江城区", "阳春市"]},
        geometry=[_square(111.9, 21.8, 0.1), _square(111.7, 22.1, 0.1)],
        crs="EPSG:4490",
    )


@pytest.fixture
def urban_areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["U1"], "name": ["江城城区"], "county_code": ["441702"]},
        geometry=[_square(111.92, 21.82, 0.05)],
        crs="EPSG:4490",
    )


@pytest.fixture
def communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "community_id": ["C1", "C2", "C3"],
            "name": ["荔枝园小区", MALICIOUS, "龙湾小区"],
            "county_code": ["441702", "441702", "441781"],
            "street": ["南恩街道", None, "春城街道"],
            "build_year": pd.array([2003, 1998, 1995], dtype="Int64"),
            "households": pd.array([1200, None, 80], dtype="Int64"),
            "willingness": [0.9, 0.8, 0.95],
        },
        geometry=[
            _square(111.93, 21.83, 0.002),
            _square(111.94, 21.84, 0.002),
            _square(111.75, 22.15, 0.002),
        ],
        crs="EPSG:4490",
    )


class _AssetLinks(HTMLParser):
    """Collects every <script src> and <link href> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src", "iframe": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value is not None:
                self.urls.append(value)


def _asset_urls(page: str) -> list[str]:
    parser = _AssetLinks()
    parser.feed(page)
    return parser.urls


def _geojson_data(group: folium.FeatureGroup) -> dict:
    (child,) = [c for c in group._children.values() if isinstance(c, folium.GeoJson)]
    return child.data


def test_overview_map_links_only_local_leaflet_assets(counties, urban_areas, communities):
    built = maps.overview_map(counties=counties, urban_areas=urban_areas, communities=communities)
    page = maps.map_html(built.map)
    urls = _asset_urls(page)
    assert sorted(urls) == ["/app/static/leaflet/leaflet.css", "/app/static/leaflet/leaflet.js"]
    assert not [u for u in urls if re.match(r"^(https?:)?//", u)]
    assert "cdn" not in page.lower()
    assert "https://" not in page.replace("https://leafletjs.com", "")


def test_asset_links_are_set_on_the_instance_not_the_folium_class(counties):
    before_js, before_css = list(folium.Map.default_js), list(folium.Map.default_css)
    m = maps.base_map(bounds=(111.3, 21.5, 112.4, 22.7), asset_base_url="/renov/app/static/leaflet")
    assert m.default_js == [("leaflet", "/renov/app/static/leaflet/leaflet.js")]
    assert folium.Map.default_js == before_js
    assert folium.Map.default_css == before_css
    assert "cdn.jsdelivr.net" in folium.Map().get_root().render()


def test_asset_base_url_prefixes_the_streamlit_base_path():
    assert maps.asset_base_url(None) == "/app/static/leaflet"
    assert maps.asset_base_url("") == "/app/static/leaflet"
    assert maps.asset_base_url("/renov/") == "/renov/app/static/leaflet"


def test_malicious_community_name_is_escaped_in_tooltip_and_page(counties, communities):
    groups = maps.community_layers(communities, counties)
    tips = [f["properties"]["tip"] for g in groups for f in _geojson_data(g)["features"]]
    (tip,) = [t for t in tips if "onerror" in t]
    assert "&lt;img src=x onerror=alert(1)&gt;" in tip
    assert "<img" not in tip
    m = maps.base_map(bounds=tuple(counties.total_bounds))
    for g in groups:
        g.add_to(m)
    page = maps.map_html(m)
    assert "<img src=x" not in page
    assert MALICIOUS not in page


def test_one_feature_group_per_county_named_in_chinese(counties, communities):
    groups = maps.community_layers(communities, counties)
    assert [g.layer_name for g in groups] == ["江城区（2 个小区）", "阳春市（1 个小区）"]
    ids = [[f["id"] for f in _geojson_data(g)["features"]] for g in groups]
    assert ids == [["C1", "C2"], ["C3"]]


def test_communities_of_an_unknown_county_get_their_own_group(counties, communities):
    stray = communities.assign(county_code=["441702", "999999", "441781"])
    groups = maps.community_layers(stray, counties)
    assert [g.layer_name for g in groups][-1] == "其他区县 / other（1 个小区）"
    assert len(groups) == 3


def test_years_and_counts_are_not_localised(counties, communities):
    groups = maps.community_layers(communities, counties)
    tips = " ".join(f["properties"]["tip"] for g in groups for f in _geojson_data(g)["features"])
    assert "<td>2003</td>" in tips
    assert "<td>1200</td>" in tips
    assert "2,003" not in tips
    assert "1,200" not in tips
    assert "<td>—</td>" in tips  # missing street and households


def test_only_the_tooltip_is_sent_as_feature_properties(counties, communities):
    groups = maps.community_layers(communities, counties)
    for g in groups:
        for feature in _geojson_data(g)["features"]:
            assert set(feature["properties"]) == {"tip"}
    page = maps.map_html(
        maps.overview_map(
            counties=counties, urban_areas=counties.iloc[:0], communities=communities
        ).map
    )
    assert "willingness" not in page
    assert "0.95" not in page


def test_display_coordinates_are_rounded_to_six_decimals(communities):
    jittered = communities.set_geometry(
        communities.geometry.translate(xoff=1.23456789e-7, yoff=-9.87654321e-8)
    )
    shown = maps.display_frame(jittered, columns=("community_id",))
    coords = shapely.get_coordinates(shown.geometry.array)
    assert (abs(coords * 1e6 - (coords * 1e6).round()) < 1e-6).all()
    assert list(shown.index) == [0, 1, 2]
    assert shown.crs.to_epsg() == 4490
    assert jittered.geometry.iloc[0].equals(
        communities.geometry.translate(xoff=1.23456789e-7, yoff=-9.87654321e-8).iloc[0]
    )


def test_display_simplification_drops_vertices_closer_than_the_tolerance(counties):
    # A 10 km edge with a vertex 0.5 m off the line: dropped at 1.5 m, kept at 0.
    lon0, lat0 = 111.9, 21.8
    bump = 0.5 / 111_000
    poly = shapely.Polygon(
        [
            (lon0, lat0),
            (lon0 + 0.05, lat0 + bump),
            (lon0 + 0.1, lat0),
            (lon0 + 0.1, lat0 + 0.1),
            (lon0, lat0 + 0.1),
        ]
    )
    frame = gpd.GeoDataFrame(geometry=[poly], crs="EPSG:4490")
    simplified = maps.display_frame(frame, simplify_m=1.5).geometry.iloc[0]
    kept = maps.display_frame(frame, simplify_m=0).geometry.iloc[0]
    assert len(simplified.exterior.coords) == 5
    assert len(kept.exterior.coords) == 6


def test_missing_and_empty_geometries_are_not_drawn(counties, urban_areas, communities):
    broken = communities.copy()
    broken.loc[1, "geometry"] = None
    broken.loc[2, "geometry"] = shapely.MultiPolygon()
    built = maps.overview_map(counties=counties, urban_areas=urban_areas, communities=broken)
    assert built.drawn == {"counties": 2, "urban_areas": 1, "communities": 1}
    assert built.interactive_count == 3


def test_overview_map_has_legend_and_layer_control(counties, urban_areas, communities):
    built = maps.overview_map(counties=counties, urban_areas=urban_areas, communities=communities)
    page = maps.map_html(built.map)
    assert "renov-legend" in page
    assert "L.control.layers" in page
    legend_html = json.dumps("江城区  2 个小区")[1:-1]
    assert legend_html in page or "江城区  2 个小区" in page


def test_legend_escapes_its_labels():
    legend = maps.Legend("图例", [(MALICIOUS, "#000000", "fill")])
    assert "&lt;img" in legend.html
    assert "<img" not in legend.html


def test_layer_without_crs_is_refused(communities):
    with pytest.raises(CRSError, match="EPSG:4490"):
        maps.display_frame(communities.set_crs(None, allow_override=True))


def test_missing_column_is_refused(counties, communities):
    with pytest.raises(SchemaError, match="county_code"):
        maps.community_layers(communities.drop(columns=["county_code"]), counties)


def test_bounds_that_are_not_degrees_are_refused():
    with pytest.raises(CRSError, match="EPSG:4490"):
        maps.base_map(bounds=(600_000, 2_400_000, 650_000, 2_500_000))


def test_county_summary_counts_communities_and_households_per_county(counties, communities):
    summary = maps.county_summary(communities, counties)
    assert summary["code"].tolist() == ["441702", "441781"]
    assert summary["name"].tolist() == ["江城区", "阳春市"]
    assert summary["communities"].tolist() == [2, 1]
    assert summary["households"].tolist() == [1200, 80]
    assert summary["buildings"].tolist() == [0, 0]


def test_county_summary_lists_empty_counties_and_unmatched_communities(counties, communities):
    moved = communities.assign(county_code=["441702", "441702", None])
    summary = maps.county_summary(moved, counties)
    assert summary["communities"].tolist() == [2, 0, 1]
    assert summary["name"].tolist()[-1] == "其他区县 / other"


def test_attribution_is_plain_text_leaflet_credit() -> None:
    from gislib.maps import base_map, map_html

    html = map_html(base_map(bounds=(111.3, 21.5, 112.4, 22.7)))
    assert 'attributionControl.setPrefix("Leaflet")' in html


# ---------------------------------------------------------------------------
# Eligibility map


@pytest.fixture
def verdicts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "community_id": ["C1", "C2", "C3"],
            "verdict": ["eligible", "ineligible", "conditional"],
            "tier": ["capped", "priority", "priority"],
            "failed_rules": [(), ("expropriation", "willingness"), ()],
            "review_rules": [(), (), ("management",)],
        }
    )


@pytest.fixture
def zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "zone_id": ["Z1"],
            "name": ["金山片区<b>更新</b>"],
            "plan": ["更新规划"],
            "planned_year": [2023],
        },
        geometry=[_square(111.9405, 21.8405, 0.003)],
        crs="EPSG:4490",
    )


# Pipes near C1 (SW corner 111.93, 21.83; 0.002 degrees square): a water main
# along the meridian 0.001 degrees east of its east edge, a gas main on its
# north edge, and a power line that is not the nearest of anything.
WATER_OFFSET_DEG = 0.001


@pytest.fixture
def pipelines() -> gpd.GeoDataFrame:
    east = 111.932 + WATER_OFFSET_DEG
    return gpd.GeoDataFrame(
        {
            "pipe_id": ["W1", "G1", "E9"],
            "network": ["water", "gas", "power"],
            "status": ["existing", "existing", "existing"],
        },
        geometry=[
            shapely.MultiLineString([[(east, 21.829), (east, 21.833)]]),
            shapely.MultiLineString([[(111.929, 21.832), (111.933, 21.832)]]),
            shapely.MultiLineString([[(111.8, 21.7), (111.81, 21.7)]]),
        ],
        crs="EPSG:4490",
    )


def _networks_row(water_m: float, gas_m: float) -> dict:
    row: dict = {}
    for n in ("water", "rain", "sewer", "combined", "gas", "power", "telecom"):
        row[f"dist_{n}_m"] = float("nan")
        row[f"planned_dist_{n}_m"] = float("nan")
        row[f"nearest_{n}_id"] = ""
    row.update(dist_water_m=water_m, nearest_water_id="W1", dist_gas_m=gas_m, nearest_gas_id="G1")
    return row


@pytest.fixture
def networks(communities) -> pd.DataFrame:
    # C1's water main lies 0.001 degrees (about 103 m) east, outside a 100 m reach.
    rows = [_networks_row(103.4, 0.0), _networks_row(900.0, 800.0), _networks_row(5.0, 5.0)]
    return pd.DataFrame(rows, index=communities.index)


REACH_M = {
    "water": 100.0,
    "rain": 100.0,
    "sewer": 100.0,
    "combined": 100.0,
    "gas": 300.0,
    "power": 100.0,
    "telecom": 100.0,
}


def _geojson_layers(element) -> list[folium.GeoJson]:
    found = []
    for child in element._children.values():
        if isinstance(child, folium.GeoJson):
            found.append(child)
        else:
            found.extend(_geojson_layers(child))
    return found


def _style_of(layer: folium.GeoJson, feature: dict) -> dict:
    return layer.style_function(feature)


def test_eligibility_map_colours_each_community_by_its_verdict(
    counties, communities, verdicts, zones
):
    built = maps.eligibility_map(communities, verdicts, zones=zones, counties=counties)
    colours = {}
    for layer in _geojson_layers(built.map):
        for feature in layer.data["features"]:
            if "community_id" in feature["properties"]:
                colours[feature["properties"]["community_id"]] = _style_of(layer, feature)
    assert colours["C1"]["fillColor"] == maps.VERDICT_COLOURS["eligible"] == "#16a34a"
    assert colours["C2"]["fillColor"] == maps.VERDICT_COLOURS["ineligible"] == "#dc2626"
    assert colours["C3"]["fillColor"] == maps.VERDICT_COLOURS["conditional"] == "#f59e0b"
    assert built.verdict_counts == {"eligible": 1, "conditional": 1, "ineligible": 1}
    assert built.drawn == {"counties": 2, "zones": 1, "communities": 3, "mains": 0}
    assert built.interactive_count == 4  # counties are a plain background here


def test_eligibility_map_has_a_hand_made_legend_with_counts_and_zones(
    counties, communities, verdicts, zones
):
    built = maps.eligibility_map(communities, verdicts, zones=zones, counties=counties)
    legends = [c for c in built.map._children.values() if isinstance(c, maps.Legend)]
    assert len(legends) == 1
    text = legends[0].html
    assert "符合改造条件  1 个" in text
    assert "有条件符合（需复核）  1 个" in text
    assert "不符合改造条件  1 个" in text
    assert "规划征迁范围" in text
    assert "background: #16a34a" in text
    assert "border: 2px dashed #b91c1c" in text
    page = maps.map_html(built.map)
    assert "renov-legend" in page
    assert "colormap" not in page.lower()
    assert "d3.min.js" not in page


def test_eligibility_map_links_only_local_leaflet_assets(counties, communities, verdicts, zones):
    built = maps.eligibility_map(communities, verdicts, zones=zones, counties=counties)
    page = maps.map_html(built.map)
    urls = _asset_urls(page)
    assert sorted(urls) == ["/app/static/leaflet/leaflet.css", "/app/static/leaflet/leaflet.js"]
    assert "cdn" not in page.lower()
    assert "https://" not in page.replace("https://leafletjs.com", "")
    assert "font-awesome" not in page.lower()


def test_eligibility_map_escapes_community_and_zone_names(counties, communities, verdicts, zones):
    built = maps.eligibility_map(communities, verdicts, zones=zones, counties=counties)
    tips = [
        f["properties"]["tip"]
        for layer in _geojson_layers(built.map)
        for f in layer.data["features"]
        if "tip" in f["properties"]
    ]
    (bad,) = [t for t in tips if "onerror" in t]
    assert bad.startswith("<b>&lt;img src=x onerror=alert(1)&gt;</b>")
    (zone,) = [t for t in tips if "金山片区" in t]
    assert "金山片区&lt;b&gt;更新&lt;/b&gt;" in zone
    assert "<td>2023</td>" in zone  # a year, not "2,023"
    page = maps.map_html(built.map)
    assert MALICIOUS not in page
    assert "<img src=x" not in page


def test_community_tooltips_state_verdict_tier_and_failed_rules_in_chinese(
    counties, communities, verdicts, zones
):
    names = {
        "expropriation": "未纳入规划征迁改造范围",
        "willingness": "居民改造意愿强烈（同意户数不少于三分之二）",
    }
    built = maps.eligibility_map(
        communities, verdicts, zones=zones, counties=counties, rule_names=names
    )
    tips = {
        f["properties"]["community_id"]: f["properties"]["tip"]
        for layer in _geojson_layers(built.map)
        for f in layer.data["features"]
        if "community_id" in f["properties"]
    }
    assert "<td>不符合改造条件</td>" in tips["C2"]
    assert "<td>未纳入规划征迁改造范围、居民改造意愿强烈</td>" in tips["C2"]
    assert "<td>可纳入（计入15%上限）</td>" in tips["C1"]
    assert "<td>management</td>" in tips["C3"]  # a rule without a name shows its id
    assert "<td>江城区</td>" in tips["C1"]


def test_community_features_carry_only_the_tooltip_and_the_id(
    counties, communities, verdicts, zones
):
    built = maps.eligibility_map(communities, verdicts, zones=zones, counties=counties)
    for layer in _geojson_layers(built.map):
        for feature in layer.data["features"]:
            assert set(feature["properties"]) <= {"tip", "community_id"}
    page = maps.map_html(built.map)
    assert "0.95" not in page  # willingness
    assert "1200" not in page  # households
    assert json.dumps("南恩街道")[1:-1] not in page  # street


def test_a_community_without_a_verdict_is_drawn_grey(counties, communities, verdicts, zones):
    built = maps.eligibility_map(communities, verdicts.iloc[:2], zones=zones, counties=counties)
    assert built.verdict_counts == {
        "eligible": 1,
        "conditional": 0,
        "ineligible": 1,
        "unchecked": 1,
    }
    (grey,) = [
        layer
        for layer in _geojson_layers(built.map)
        if any(f["properties"].get("community_id") == "C3" for f in layer.data["features"])
    ]
    assert _style_of(grey, grey.data["features"][0])["fillColor"] == maps.OTHER_COLOUR


def test_the_map_opens_on_the_communities_not_the_whole_city(
    counties, communities, verdicts, zones
):
    built = maps.eligibility_map(communities.iloc[:2], verdicts, zones=zones, counties=counties)
    page = maps.map_html(built.map)
    (bounds,) = re.findall(r"fitBounds\(\s*(\[\[.*?\]\])", page, flags=re.S)
    (south, west), (north, east) = json.loads(bounds)
    assert (west, south) == pytest.approx((111.93, 21.83))
    assert (east, north) == pytest.approx((111.942, 21.842))


def test_clicking_a_community_focuses_the_map_without_scrolling_the_page(
    counties, communities, verdicts, zones
):
    page = maps.map_html(
        maps.eligibility_map(communities, verdicts, zones=zones, counties=counties).map
    )
    assert "focus({preventScroll: true})" in page


def test_highlighted_community_draws_the_nearest_main_of_each_network(
    counties, communities, verdicts, zones, pipelines, networks
):
    built = maps.eligibility_map(
        communities,
        verdicts,
        zones=zones,
        counties=counties,
        highlight="C1",
        networks=networks,
        pipelines=pipelines,
        reach_m=REACH_M,
    )
    selection = built.selection
    assert selection is not None
    assert built.drawn["mains"] == 2
    drawn = selection.mains.set_index("network")
    assert drawn.loc["water", "pipe_id"] == "W1"
    assert bool(drawn.loc["water", "drawn"])
    assert not bool(drawn.loc["water", "within_reach"])  # 103.4 m > 100 m
    assert bool(drawn.loc["gas", "within_reach"])
    assert not bool(drawn.loc["rain", "drawn"])

    layers = _geojson_layers(selection.group)
    mains = [
        layer for layer in layers if any(f["properties"].get("tip") for f in layer.data["features"])
    ]
    (main_layer,) = mains
    tips = [f["properties"]["tip"] for f in main_layer.data["features"]]
    assert len(tips) == 2
    (water_tip,) = [t for t in tips if "W1" in t]
    assert "供水" in water_tip
    assert "<td>103 m</td>" in water_tip
    assert "<td>100 m</td>" in water_tip
    assert "<td>否</td>" in water_tip
    colours = {
        f["properties"]["tip"].split("：")[0][3:]: _style_of(main_layer, f)["color"]
        for f in main_layer.data["features"]
    }
    assert colours == {"供水": maps.NETWORK_COLOURS["water"], "燃气": maps.NETWORK_COLOURS["gas"]}
    # The power line is not the nearest main of anything: it is not drawn.
    assert "E9" not in maps.map_html(built.map)


def test_selection_connects_the_community_to_each_main_along_the_measured_distance(
    communities, pipelines, networks
):
    selection = maps.selection_layer(
        "C1", communities=communities, networks=networks, pipelines=pipelines, reach_m=REACH_M
    )
    connectors = [
        layer
        for layer in _geojson_layers(selection.group)
        if layer.options.get("interactive") is False
    ]
    lines = [
        shapely.geometry.shape(f["geometry"])
        for layer in connectors
        for f in layer.data["features"]
        if f["geometry"]["type"] == "LineString"
    ]
    lengths = sorted(
        gpd.GeoSeries(lines, crs="EPSG:4490").to_crs("EPSG:4546").length.round(1).tolist()
    )
    assert lengths[0] == pytest.approx(0.0, abs=0.5)  # the gas main touches the community
    assert lengths[1] == pytest.approx(103.3, abs=1.0)  # 0.001 degrees of longitude at 21.83 N
    lat, lon = selection.center
    assert 21.83 < lat < 21.832 and 111.93 < lon < 111.932


def test_selection_of_an_unknown_community_is_refused(communities, pipelines, networks):
    with pytest.raises(SchemaError, match="C404"):
        maps.selection_layer(
            "C404", communities=communities, networks=networks, pipelines=pipelines, reach_m=REACH_M
        )


def test_highlight_without_the_network_analysis_is_refused(counties, communities, verdicts, zones):
    with pytest.raises(SchemaError, match="highlight"):
        maps.eligibility_map(communities, verdicts, zones=zones, counties=counties, highlight="C1")


def test_nearest_mains_lists_every_network_with_distance_and_reach(networks):
    table = maps.nearest_mains(networks.iloc[0], reach_m=REACH_M)
    assert table.columns.tolist() == list(maps.NEAREST_MAINS_COLUMNS)
    assert table["network"].tolist() == [
        "water",
        "rain",
        "sewer",
        "combined",
        "gas",
        "power",
        "telecom",
    ]
    assert table["network_zh"].tolist()[:2] == ["供水", "雨水"]
    water = table.iloc[0]
    assert (water["pipe_id"], water["distance_m"], water["reach_m"]) == ("W1", 103.4, 100.0)
    assert not water["within_reach"]
    rain = table.iloc[1]
    assert rain["pipe_id"] == "" and np.isnan(rain["distance_m"]) and not rain["within_reach"]
    assert table.set_index("network").loc["gas", "within_reach"]


def test_clicked_feature_id_reads_the_community_of_the_last_click():
    clicked = {"last_active_drawing": {"properties": {"community_id": "C7", "tip": "<b>x</b>"}}}
    assert maps.clicked_feature_id(clicked) == "C7"
    assert maps.clicked_feature_id({"last_active_drawing": {"properties": {"tip": "zone"}}}) is None
    assert maps.clicked_feature_id({"last_active_drawing": None}) is None
    assert maps.clicked_feature_id(None) is None
    assert maps.clicked_feature_id({}) is None


def test_short_rule_names_drop_the_explanation():
    assert maps.short_rule_name("建成年份：2000年底前优先") == "建成年份"
    assert maps.short_rule_name("居民改造意愿强烈（同意户数不少于三分之二）") == "居民改造意愿强烈"
    assert maps.short_rule_name("未实施过综合改造") == "未实施过综合改造"


def test_legend_lays_out_columns_and_draws_outline_and_line_marks():
    legend = maps.Legend(
        "图例", [("供水", "#2563eb", "line"), ("征迁", "#b91c1c", "outline")], columns=2
    )
    assert "grid-template-columns: repeat(2, auto)" in legend.html
    assert "border-top: 3px solid #2563eb" in legend.html
    assert "border: 2px dashed #b91c1c" in legend.html
    single = maps.Legend("图例", [("江城区", "#d7301f", "fill")])
    assert "renov-legend-grid" not in single.html


def test_county_background_without_interaction_sends_no_tooltips(counties):
    group = maps.county_layer(counties, interactive=False)
    (layer,) = _geojson_layers(group)
    assert layer.options.get("interactive") is False
    assert all(f["properties"] == {} for f in layer.data["features"])


# ---------------------------------------------------------------------------
# Basemaps (none, OpenStreetMap, Amap in GCJ-02, Tianditu, local tiles)


def _shift_m(before: shapely.Geometry, after: shapely.Geometry) -> tuple[float, float]:
    """Distance (m) and bearing (degrees from north) from ``before`` to ``after`` (EPSG:4546)."""
    from pyproj import Transformer

    to_metres = Transformer.from_crs("EPSG:4490", "EPSG:4546", always_xy=True)
    x0, y0 = to_metres.transform(before.centroid.x, before.centroid.y)
    x1, y1 = to_metres.transform(after.centroid.x, after.centroid.y)
    dx, dy = x1 - x0, y1 - y0
    return float(np.hypot(dx, dy)), float(np.degrees(np.arctan2(dx, dy)) % 360)


def test_display_crs_is_gcj02_for_amap_only():
    assert maps.display_crs_for("amap") == "gcj02"
    assert maps.display_crs_for(maps.Basemap("amap")) == "gcj02"
    for name in ("none", "osm"):
        assert maps.display_crs_for(name) == "EPSG:4490"
    assert maps.display_crs_for(maps.Basemap("tianditu", tianditu_key="k")) == "EPSG:4490"
    assert maps.display_crs_for() == "EPSG:4490"


def test_amap_shifts_display_geometries_about_600_m_east_south_east(communities):
    plain = maps.display_frame(communities, columns=("community_id",))
    shifted = maps.display_frame(communities, columns=("community_id",), basemap="amap")
    assert list(shifted.index) == list(plain.index)
    for before, after in zip(plain.geometry, shifted.geometry, strict=True):
        distance, bearing = _shift_m(before, after)
        assert 550 <= distance <= 650
        assert 101.25 <= bearing <= 123.75  # east-south-east
    # The input is never changed, and the other basemaps keep the stored positions.
    assert communities.geometry.iloc[0].equals(_square(111.93, 21.83, 0.002))
    osm = maps.display_frame(communities, columns=("community_id",), basemap="osm")
    assert osm.geometry.iloc[0].equals_exact(plain.geometry.iloc[0], 1e-9)


def _coordinates(layer: folium.GeoJson) -> np.ndarray:
    geoms = [shapely.geometry.shape(f["geometry"]) for f in layer.data["features"]]
    return shapely.get_coordinates(geoms)


def test_amap_map_draws_every_layer_in_gcj02_and_opens_on_shifted_bounds(
    counties, communities, verdicts, zones, pipelines, networks
):
    plain = maps.eligibility_map(communities, verdicts, zones=zones, counties=counties)
    amap = maps.eligibility_map(
        communities, verdicts, zones=zones, counties=counties, basemap="amap"
    )
    plain_layers, amap_layers = _geojson_layers(plain.map), _geojson_layers(amap.map)
    assert len(plain_layers) == len(amap_layers) >= 4  # counties, zones, verdict layers
    for before, after in zip(plain_layers, amap_layers, strict=True):
        delta = _coordinates(after) - _coordinates(before)
        assert (delta[:, 0] > 0.004).all() and (delta[:, 1] < -0.002).all()
    (bounds_plain,) = re.findall(r"fitBounds\(\s*(\[\[.*?\]\])", maps.map_html(plain.map), re.S)
    (bounds_amap,) = re.findall(r"fitBounds\(\s*(\[\[.*?\]\])", maps.map_html(amap.map), re.S)
    (lat0, lon0), _ = json.loads(bounds_plain)
    (lat1, lon1), _ = json.loads(bounds_amap)
    assert lon1 - lon0 > 0.004 and lat1 - lat0 < -0.002
    selection = maps.selection_layer(
        "C1",
        communities=communities,
        networks=networks,
        pipelines=pipelines,
        reach_m=REACH_M,
        basemap="amap",
    )
    plain_selection = maps.selection_layer(
        "C1", communities=communities, networks=networks, pipelines=pipelines, reach_m=REACH_M
    )
    assert selection.center[1] - plain_selection.center[1] > 0.004
    for before, after in zip(
        _geojson_layers(plain_selection.group), _geojson_layers(selection.group), strict=True
    ):
        assert (_coordinates(after)[:, 0] - _coordinates(before)[:, 0] > 0.004).all()


def test_basemap_tile_urls_and_attribution():
    (osm,) = maps.tile_layers("osm")
    assert osm.tiles == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert (osm.options["max_native_zoom"], osm.options["max_zoom"]) == (19, 19)
    assert "OpenStreetMap" in osm.options["attribution"]
    (amap,) = maps.tile_layers("amap")
    assert amap.tiles.startswith("https://webrd0{s}.is.autonavi.com/appmaptile?")
    assert "style=8" in amap.tiles and "x={x}&y={y}&z={z}" in amap.tiles
    assert amap.options["subdomains"] == "1234"
    assert "高德" in amap.options["attribution"]
    vec, labels = maps.tile_layers(maps.Basemap("tianditu", tianditu_key="ab&c/d"))
    for layer, code in ((vec, "vec"), (labels, "cva")):
        assert layer.tiles.startswith(f"https://t{{s}}.tianditu.gov.cn/{code}_w/wmts?")
        assert f"LAYER={code}&" in layer.tiles and "TILEMATRIXSET=w" in layer.tiles
        assert "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in layer.tiles
        assert layer.tiles.endswith("&tk=ab%26c%2Fd")  # the key is URL-escaped
        assert layer.options["subdomains"] == "01234567"
    assert labels.overlay and not vec.overlay
    assert maps.tile_layers("none") == []
    assert "ab&c" not in repr(maps.Basemap("tianditu", tianditu_key="ab&c"))


@pytest.mark.parametrize("name", ["none", "osm", "amap", "tianditu", "local"])
def test_no_basemap_adds_a_script_or_stylesheet(name, counties, urban_areas, communities):
    basemap = maps.Basemap(
        name,
        tianditu_key="k" if name == "tianditu" else None,
        tiles_url="/app/static/tiles/yj/{z}/{x}/{y}.png" if name == "local" else None,
    )
    built = maps.overview_map(
        counties=counties, urban_areas=urban_areas, communities=communities, basemap=basemap
    )
    page = maps.map_html(built.map)
    urls = _asset_urls(page)
    assert sorted(urls) == ["/app/static/leaflet/leaflet.css", "/app/static/leaflet/leaflet.js"]
    assert page.count("L.tileLayer(") == len(maps.tile_layers(basemap))
    assert ("L.tileLayer(" in page) == (name != "none")


def test_default_map_has_no_tiles_and_no_outside_url(counties, urban_areas, communities):
    built = maps.overview_map(counties=counties, urban_areas=urban_areas, communities=communities)
    page = maps.map_html(built.map)
    assert "L.tileLayer(" not in page
    assert "openstreetmap" not in page and "autonavi" not in page and "tianditu" not in page


def test_tianditu_without_a_key_is_refused_clearly(counties):
    for make in (
        lambda: maps.Basemap("tianditu"),
        lambda: maps.Basemap("tianditu", tianditu_key="  "),
        lambda: maps.tile_layers("tianditu"),
        lambda: maps.base_map(bounds=(111.3, 21.5, 112.4, 22.7), basemap="tianditu"),
    ):
        with pytest.raises(ConfigError, match="tianditu_key") as caught:
            make()
        assert "天地图需要密钥" in str(caught.value)
    with pytest.raises(ConfigError, match="unknown basemap 'google'"):
        maps.Basemap("google")
    with pytest.raises(ConfigError, match="local tiles"):
        maps.Basemap("local")


def test_local_basemap_serves_tiles_from_the_static_folder(tmp_path):
    static = tmp_path / "app" / "static"
    tiles = static / "tiles" / "阳江"
    for z, x, y in ((10, 823, 450), (14, 13171, 7204)):
        (tiles / str(z) / str(x)).mkdir(parents=True)
        (tiles / str(z) / str(x) / f"{y}.png").write_bytes(b"\x89PNG")
    chosen = maps.local_basemap("static/tiles/阳江", static_dir=static)
    assert chosen.name == "local" and not chosen.online
    assert chosen.tiles_url == "/app/static/tiles/%E9%98%B3%E6%B1%9F/{z}/{x}/{y}.png"
    assert chosen.max_native_zoom == 14
    (layer,) = maps.tile_layers(chosen)
    assert layer.tiles == chosen.tiles_url
    prefixed = maps.local_basemap(tiles, static_dir=static, base_url_path="/renov/")
    assert prefixed.tiles_url.startswith("/renov/app/static/tiles/")
    assert maps.display_crs_for(chosen) == "EPSG:4490"


def test_local_basemap_refuses_a_folder_outside_static_or_without_tiles(tmp_path):
    static = tmp_path / "app" / "static"
    (static / "tiles" / "empty").mkdir(parents=True)
    outside = tmp_path / "tiles" / "10" / "823"
    outside.mkdir(parents=True)
    (outside / "450.png").write_bytes(b"\x89PNG")
    with pytest.raises(ConfigError, match="not inside"):
        maps.local_basemap(tmp_path / "tiles", static_dir=static)
    (static / "linked").symlink_to(tmp_path / "tiles")  # Streamlit does not follow it out
    with pytest.raises(ConfigError, match="not inside"):
        maps.local_basemap("static/linked", static_dir=static)
    with pytest.raises(ConfigError, match="holds no"):
        maps.local_basemap("static/tiles/empty", static_dir=static)
    with pytest.raises(ConfigError, match="does not exist"):
        maps.local_basemap("static/tiles/missing", static_dir=static)


# ---------------------------------------------------------------------------
# Import preview


def test_import_preview_draws_the_records_escaped_and_counts_those_without_geometry(
    counties, urban_areas, communities
):
    records = communities.copy()
    records.loc[records.index[2], "geometry"] = None  # a refused geometry
    built = maps.import_preview_map(
        records, layer="communities", counties=counties, urban_areas=urban_areas
    )
    assert (built.drawn, built.without_geometry, built.omitted) == (2, 1, 0)
    page = maps.map_html(built.map)
    assert MALICIOUS not in page
    assert sorted(_asset_urls(page)) == [
        "/app/static/leaflet/leaflet.css",
        "/app/static/leaflet/leaflet.js",
    ]
    (legend,) = [c for c in built.map._children.values() if isinstance(c, maps.Legend)]
    assert "待导入的老旧小区（2 条）" in legend.html
    assert "城区范围" in legend.html
    layers = _geojson_layers(built.map)
    tips = [f["properties"]["tip"] for f in layers[-1].data["features"]]
    assert "小区编号" in tips[0] and "C1" in tips[0] and "江城区" in tips[0]
    assert "<b>&lt;img src=x onerror=alert(1)&gt;</b>" in tips[1]
    assert all(set(f["properties"]) == {"tip"} for f in layers[-1].data["features"])


def test_import_preview_caps_the_features_drawn_and_follows_the_basemap(counties, communities):
    built = maps.import_preview_map(
        communities, layer="communities", counties=counties, max_features=1, basemap="amap"
    )
    assert (built.drawn, built.without_geometry, built.omitted) == (1, 0, 2)
    drawn = _coordinates(_geojson_layers(built.map)[-1])
    assert drawn[:, 0].min() > 111.93 + 0.004  # shifted to GCJ-02
    with pytest.raises(SchemaError, match="roads"):
        maps.import_preview_map(communities, layer="roads", counties=counties)


# ---------------------------------------------------------------------------
# Community explorer: fixed base map, communities coloured by status


@pytest.fixture
def explorer_table(communities) -> pd.DataFrame:
    from gislib.explore import community_table

    events = pd.DataFrame(
        {
            "community_id": ["C1", "C3"],
            "year": [2021, 2022],
            "stage": ["施工", "摸查"],
            "date": pd.to_datetime(["2021-05-01", "2021-10-01"]),
        }
    )
    verdicts = pd.DataFrame({"community_id": ["C1", "C2"], "verdict": ["eligible", "ineligible"]})
    return community_table(communities, events=events, verdicts=verdicts, as_of=2021)


def test_explorer_base_map_is_offline_with_a_status_legend_and_no_communities(
    counties, urban_areas, communities
):
    from gislib.planning import STATUS_COLOURS

    m = maps.explorer_map(counties=counties, urban_areas=urban_areas, communities=communities)
    page = maps.map_html(m)
    assert sorted(_asset_urls(page)) == [
        "/app/static/leaflet/leaflet.css",
        "/app/static/leaflet/leaflet.js",
    ]
    assert "cdn" not in page.lower()
    (legend,) = [c for c in m._children.values() if isinstance(c, maps.Legend)]
    assert "改造状态" in legend.html and "在建" in legend.html and "已移交管养" in legend.html
    assert all(colour in legend.html for colour in STATUS_COLOURS.values())
    # Only background: counties and urban areas, neither of which catches the mouse.
    layers = _geojson_layers(m)
    assert len(layers) == 2
    assert all(not layer.options.get("interactive", True) for layer in layers)
    english = maps.explorer_map(
        counties=counties, urban_areas=urban_areas, communities=communities, lang="en"
    )
    (legend,) = [c for c in english._children.values() if isinstance(c, maps.Legend)]
    assert "Status" in legend.html and "under construction" in legend.html


def test_status_features_carry_id_status_and_an_escaped_tooltip(communities, explorer_table):
    data = maps.status_features(communities, explorer_table)
    features = data["features"]
    assert [f["id"] for f in features] == ["C1", "C2", "C3"]
    assert [f["properties"]["community_id"] for f in features] == ["C1", "C2", "C3"]
    assert [f["properties"]["status"] for f in features] == ["在建", "未纳入", "储备"]
    assert all(set(f["properties"]) == {"tip", "community_id", "status"} for f in features)
    first, second, third = (f["properties"]["tip"] for f in features)
    assert "<b>荔枝园小区</b>" in first and "在建" in first and "符合改造条件" in first
    assert "2003" in first and "2,003" not in first
    assert "<b>&lt;img src=x onerror=alert(1)&gt;</b>" in second
    assert MALICIOUS not in json.dumps(data, ensure_ascii=False)
    assert "<td>—</td>" in second  # no street, no stage
    assert "阳春市" in third and "计划年度</th><td>2022" in third
    english = maps.status_features(communities, explorer_table, lang="en")
    tip = english["features"][0]["properties"]["tip"]
    assert "year built" in tip and "under construction" in tip and "eligible" in tip


def test_status_features_need_a_table_row_per_community(communities, explorer_table):
    with pytest.raises(SchemaError, match="rows"):
        maps.status_features(communities, explorer_table.iloc[:2])
    with pytest.raises(SchemaError, match="verdict"):
        maps.status_features(communities, explorer_table.drop(columns="verdict"))


def test_status_layer_draws_the_communities_asked_coloured_by_status(communities, explorer_table):
    from gislib.planning import STATUS_COLOURS

    data = maps.status_features(communities, explorer_table)
    before = json.dumps(data, sort_keys=True)
    group = maps.status_layer(data, community_ids=["C3", "C1"])
    (layer,) = _geojson_layers(group)
    drawn = layer.data["features"]
    assert [f["id"] for f in drawn] == ["C1", "C3"]
    assert _style_of(layer, drawn[0])["fillColor"] == STATUS_COLOURS["在建"]
    assert _style_of(layer, drawn[1])["fillColor"] == STATUS_COLOURS["储备"]
    assert json.dumps(data, sort_keys=True) == before  # the cached features are not changed
    assert len(_geojson_layers(maps.status_layer(data, limit=2))[0].data["features"]) == 2
    assert _geojson_layers(maps.status_layer(data, community_ids=[])) == []
    assert len(_geojson_layers(maps.status_layer(data))[0].data["features"]) == 3


def test_status_features_follow_the_amap_basemap(communities, explorer_table):
    plain = maps.status_features(communities, explorer_table)
    shifted = maps.status_features(communities, explorer_table, basemap="amap")
    x0 = shapely.geometry.shape(plain["features"][0]["geometry"]).bounds[0]
    x1 = shapely.geometry.shape(shifted["features"][0]["geometry"]).bounds[0]
    assert 0.004 < x1 - x0 < 0.008  # about 600 m east in GCJ-02


# ---------------------------------------------------------------------------
# Overview map: county choropleth and communities by status, swapped per year


def _decode_compact(text: str) -> list[list[list[list[float]]]]:
    """The communities' rings as (lon, lat) lists, decoded like L.renovPolygons does."""
    data = json.loads(text)
    scale = 10.0 ** -data["d"]
    shapes = []
    for parts in data["g"]:
        decoded = []
        for rings in parts:
            out = []
            for flat in rings:
                x, y = data["o"]
                ring = []
                for dx, dy in zip(flat[::2], flat[1::2], strict=True):
                    x, y = x + dx, y + dy
                    ring.append([x * scale, y * scale])
                out.append(ring)
            decoded.append(out)
        shapes.append(decoded)
    return shapes


@pytest.fixture
def overview(counties, urban_areas, communities) -> maps.OverviewData:
    return maps.overview_data(counties, urban_areas, communities)


@pytest.fixture
def statuses() -> pd.DataFrame:
    """status_at output for the fixture communities: C1 under construction, C2 handed over."""
    return pd.DataFrame(
        {
            "stage": ["施工", "移交"],
            "status": ["在建", "移交"],
            "plan_year": pd.array([2023, 2022], dtype="Int64"),
            "date": pd.to_datetime(["2023-05-01", "2023-02-01"]),
        },
        index=pd.Index(["C1", "C2"], name="community_id"),
    )


def test_format_measure_reads_like_a_report():
    assert maps.format_measure(8436, "households") == "8,436 户"
    assert maps.format_measure(8436, "households", lang="en") == "8,436 households"
    assert maps.format_measure(284_723_600, "investment") == "2.85 亿元"
    assert maps.format_measure(9_500_000, "investment") == "950 万元"
    assert maps.format_measure(284_723_600, "investment", lang="en") == "¥284.7 M"
    assert maps.format_measure(0.4682, "completion_rate") == "46.8%"
    assert maps.format_measure(0.051, "completion_rate", signed=True) == "+5.1 个百分点"
    assert maps.format_measure(-12, "communities", signed=True) == "-12 个"
    assert maps.format_measure(float("nan"), "communities") == "—"
    assert maps.format_measure(None, "communities") == "—"


def test_class_breaks_are_round_and_only_as_many_as_needed():
    assert maps.class_breaks([3, 74, 12]) == (20.0, 40.0, 60.0, 80.0)
    assert maps.class_breaks([10_529, 0]) == (2500.0, 5000.0, 7500.0, 10000.0, 12500.0)
    assert maps.class_breaks([0.4, 0.1]) == (0.1, 0.2, 0.3, 0.4)
    assert maps.class_breaks([2]) == (1.0, 2.0)  # counts: never 0.4 of a community
    assert maps.class_breaks([1]) == (1.0,)
    assert maps.class_breaks([0, np.nan]) == ()
    assert maps.class_breaks([]) == ()
    assert len(maps.class_breaks(np.arange(1000.0), classes=3)) <= 3


def test_overview_data_sends_compact_geometry_that_decodes_to_the_display_frame(
    overview, communities
):
    assert overview.drawn == {"counties": 2, "communities": 3}
    assert overview.community_ids == ("C1", "C2", "C3")
    assert overview.county_codes == ("441702", "441781")
    shown = maps.display_frame(communities, decimals=5)
    decoded_all = _decode_compact(overview.communities_data)
    for decoded, geom in zip(decoded_all, shown.geometry, strict=True):
        ring = np.asarray(decoded[0][0])
        (polygon,) = shapely.get_parts(geom)
        expected = np.asarray(polygon.exterior.coords)[:-1]  # no closing point sent
        np.testing.assert_allclose(ring, expected, atol=1e-9)
    payload = json.loads(overview.communities_data)
    assert payload["i"] == ["C1", "C2", "C3"]
    assert payload["n"][1] == "&lt;img src=x onerror=alert(1)&gt;"
    assert "<" not in overview.communities_data  # nothing can close the <script>
    assert len(overview.communities_data) < len(shapely.to_geojson(shown.geometry.iloc[0])) * 3


def test_compact_encoding_keeps_holes_and_multipolygons(counties, urban_areas, communities):
    ring = [(111.93, 21.83), (111.935, 21.83), (111.935, 21.835), (111.93, 21.835)]
    hole = [(111.931, 21.831), (111.932, 21.831), (111.932, 21.832), (111.931, 21.832)]
    other = [(111.94, 21.84), (111.941, 21.84), (111.941, 21.841)]
    odd = communities.iloc[:1].set_geometry(
        [shapely.MultiPolygon([shapely.Polygon(ring, [hole]), shapely.Polygon(other)])],
        crs="EPSG:4490",
    )
    data = maps.overview_data(counties, urban_areas, odd, simplify_m=0)
    (shape,) = _decode_compact(data.communities_data)
    assert [len(rings) for rings in shape] == [2, 1]
    np.testing.assert_allclose(shape[0][1], hole, atol=1e-9)
    np.testing.assert_allclose(shape[1][0], other, atol=1e-9)


def test_overview_data_of_a_county_draws_only_its_communities_and_opens_on_them(
    counties, urban_areas, communities
):
    data = maps.overview_data(counties, urban_areas, communities, county="441781")
    assert data.community_ids == ("C3",)
    assert data.county_codes == ("441702", "441781")  # the others stay as outlines
    assert data.bounds == pytest.approx((111.75, 22.15, 111.752, 22.152))
    assert json.loads(data.urban_areas_json)["features"] == []  # U1 is Jiangcheng's
    whole = maps.overview_data(counties, urban_areas, communities)
    assert whole.bounds == pytest.approx((111.7, 21.8, 112.0, 22.2))


def test_overview_map_is_offline_and_survives_st_folium(overview, statuses):
    import streamlit_folium

    m = maps.overview_status_map(overview)
    choropleth = maps.county_choropleth(
        overview, {"441702": 12, "441781": 0}, measure="communities", title="已完工小区数"
    )
    coloured = maps.community_statuses(overview, statuses, year=2023)
    choropleth.group.add_to(m)
    coloured.group.add_to(m)
    page = maps.map_html(m)
    urls = _asset_urls(page)
    assert sorted(urls) == ["/app/static/leaflet/leaflet.css", "/app/static/leaflet/leaflet.js"]
    assert "https://" not in page.replace("https://leafletjs.com", "")
    assert "<img src=x" not in page
    assert page.count("L.RenovRestyle = ") == 1
    assert page.count("new L.RenovRestyle(") == 2

    # What st_folium sends: the base script (hashed to keep the map) and the groups.
    fresh = maps.overview_status_map(overview)
    fresh.get_root().render()
    script = streamlit_folium._get_map_string(fresh)
    assert "L.renovPolygons(" in script
    assert '_renovLayers["communities"]' in script
    group = streamlit_folium._get_feature_group_string(
        maps.community_statuses(overview, statuses, year=2024).group, map=fresh
    )
    assert "new L.RenovRestyle(" in group
    assert "2024年底" in group
    assert "L.renovPolygons" not in group  # no geometry in what changes with the year


def test_base_map_is_the_same_text_whatever_the_year(overview):
    texts = []
    for _year in (2022, 2023):
        m = maps.overview_status_map(overview)
        texts.append(re.sub(r"_[0-9a-f]{32}", "", maps.map_html(m)))
    assert texts[0] == texts[1]


def test_canvas_is_used_from_many_communities_on(overview):
    assert '"preferCanvas": false' in maps.map_html(maps.overview_status_map(overview))
    assert '"preferCanvas": true' in maps.map_html(maps.overview_status_map(overview, canvas=True))


def test_county_choropleth_classes_and_legend(overview):
    built = maps.county_choropleth(
        overview,
        pd.Series({"441702": 5_400.0, "441781": 0.0}),
        measure="households",
        title="已完工户数（截至2023年底）<b>",
        breaks=(2000.0, 4000.0, 6000.0),
    )
    assert built.classes == {"441702": 3, "441781": 0}
    assert built.breaks == (2000.0, 4000.0, 6000.0)
    (restyle,) = built.group._children.values()
    entries = json.loads(restyle.entries)
    codes = json.loads(restyle.codes)
    jiangcheng = entries[codes["441702"]]
    assert jiangcheng["s"]["fillColor"] == maps.CHOROPLETH_COLOURS[-1]
    assert entries[codes["441781"]]["s"]["fillColor"] == maps.CHOROPLETH_ZERO_COLOUR
    assert "5,400 户" in jiangcheng["t"]
    assert "&lt;b&gt;" in jiangcheng["t"]  # the title is escaped
    legend = json.loads(restyle.legend)
    assert "0 户" in legend
    assert "≤ 2,000 户" in legend
    assert "4,000 – 6,000 户" in legend
    assert "（截至2023年底）&lt;b&gt;" in legend


def test_choropleth_of_investment_reads_in_yi_yuan(overview):
    built = maps.county_choropleth(
        overview, {"441702": 2.8e8, "441781": 0.9e8}, measure="investment", title="投资"
    )
    assert built.breaks == (1e8, 2e8, 3e8)
    (restyle,) = built.group._children.values()
    legend = json.loads(restyle.legend)
    assert "1 – 2 亿元" in legend
    assert "2.80 亿元" in restyle.entries


def test_community_statuses_colour_by_status_and_grey_the_rest(overview, statuses):
    from gislib.planning import STATUS_COLOURS, Status

    built = maps.community_statuses(overview, statuses, year=2023)
    assert built.counts == {
        "未纳入": 1, "储备": 0, "计划": 0, "在建": 1, "完工": 0, "移交": 1,
    }  # fmt: skip
    (restyle,) = built.group._children.values()
    codes = json.loads(restyle.codes)
    entries = json.loads(restyle.entries)
    fills = [entries[c]["s"]["fillColor"] for c in codes]
    assert fills == [
        STATUS_COLOURS[Status.BUILDING],
        STATUS_COLOURS[Status.HANDED_OVER],
        STATUS_COLOURS[Status.NONE],
    ]
    tip = entries[codes[0]]["t"]
    assert "2023年底状态" in tip
    assert "在建 · 施工" in tip
    assert "<td>2023</td>" in tip
    assert "2,023" not in restyle.entries
    legend = json.loads(restyle.legend)
    assert "小区状态（2023年底）" in legend
    assert "未纳入改造  1" in legend
    english = maps.community_statuses(overview, statuses, year=2023, lang="en")
    (restyle_en,) = english.group._children.values()
    assert "under construction · 施工" in restyle_en.entries
    assert "status, end of 2023" in restyle_en.entries


def test_community_statuses_need_the_status_columns(overview, statuses):
    with pytest.raises(SchemaError, match="plan_year"):
        maps.community_statuses(overview, statuses.drop(columns="plan_year"), year=2023)


# ---------------------------------------------------------------------------
# EPC batch map


def test_batch_colours_follow_the_order_given_and_cycle():
    ids = [f"B{i:02d}" for i in range(1, len(maps.BATCH_COLOURS) + 2)]
    colours = maps.batch_colours(ids)
    assert colours["B01"] == maps.BATCH_COLOURS[0]
    assert colours["B02"] == maps.BATCH_COLOURS[1]
    assert colours[ids[-1]] == maps.BATCH_COLOURS[0]  # the eleventh batch cycles back
    assert maps.batch_colours(["B02", "B01", "B02"]) == {
        "B02": maps.BATCH_COLOURS[0],
        "B01": maps.BATCH_COLOURS[1],
    }


def test_batch_map_colours_each_community_by_its_batch_offline(counties, communities):
    frame = communities.assign(
        batch_id=["B01", "B01", None], investment=[5_200_000.0, 3_100_000.0, np.nan]
    )
    m = maps.batch_map(frame, counties=counties, selected="C2")
    page = maps.map_html(m)
    assert sorted(_asset_urls(page)) == [
        "/app/static/leaflet/leaflet.css",
        "/app/static/leaflet/leaflet.js",
    ]
    assert MALICIOUS not in page
    (legend,) = [c for c in m._children.values() if isinstance(c, maps.Legend)]
    assert "EPC 打包批次" in legend.html
    assert "B01  2 个" in legend.html and "未分入批次  1" in legend.html
    layer = _geojson_layers(m)[-1]
    features = layer.data["features"]
    assert [f["properties"]["batch_id"] for f in features] == ["B01", "B01", ""]
    assert "5,200,000" in features[0]["properties"]["tip"]
    styles = [layer.style_function(f) for f in features]
    assert styles[0]["fillColor"] == styles[1]["fillColor"] == maps.BATCH_COLOURS[0]
    assert styles[2]["fillColor"] == maps.OTHER_COLOUR
    assert styles[1]["weight"] > styles[0]["weight"]  # the selected community stands out
    english = maps.batch_map(frame, counties=counties, lang="en")
    (legend,) = [c for c in english._children.values() if isinstance(c, maps.Legend)]
    assert "EPC batches" in legend.html and "not in a batch  1" in legend.html


def test_batch_map_needs_the_batch_column(counties, communities):
    with pytest.raises(SchemaError, match="batch_id"):
        maps.batch_map(communities, counties=counties)
