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
from gislib.errors import CRSError, SchemaError

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
