"""Tests of gislib.maps: offline assets, escaping, one layer per county, display geometry."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import folium
import geopandas as gpd
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
