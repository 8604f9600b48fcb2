"""Tests of gislib.crs against published point pairs and the offsets seen in Yangjiang."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import CRS, Geod
from shapely.geometry import MultiPolygon, Point, box

from gislib.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    crs_label,
    from_storage,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    parse_crs,
    require_crs,
    require_same_crs,
    to_measure,
    to_storage,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gislib.errors import CRSError

GEOD = Geod(ellps="WGS84")

# Published pairs for the point (116.404, 39.915), from the test of the widely used
# coordtransform library (github.com/wandergis/coordtransform, test/app.js).
PUBLISHED = {
    "wgs84_to_gcj02": (116.41024449916938, 39.91640428150164),
    "gcj02_to_bd09": (116.41036949371029, 39.92133699351021),
    # the one-step inverses that library publishes; ours iterate, so they agree to ~0.1 m
    "gcj02_to_wgs84": (116.39775550083061, 39.91359571849836),
    "bd09_to_gcj02": (116.39762729119315, 39.90865673957631),
}
YANGJIANG = (111.98, 21.86)  # central Jiangcheng


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[0]) % 360


def test_forward_conversions_match_the_published_pairs_exactly() -> None:
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx(PUBLISHED["wgs84_to_gcj02"], abs=1e-12)
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx(PUBLISHED["gcj02_to_bd09"], abs=1e-12)


@pytest.mark.parametrize(
    ("func", "key"), [(gcj02_to_wgs84, "gcj02_to_wgs84"), (bd09_to_gcj02, "bd09_to_gcj02")]
)
def test_iterative_inverses_agree_with_published_one_step_values_within_their_error(
    func, key
) -> None:
    lon, lat = func(116.404, 39.915)
    gap = metres((float(lon), float(lat)), PUBLISHED[key])
    assert 0.0 < gap < 0.5  # the one-step formula's own error is of this order


def test_gcj02_offset_in_yangjiang_is_about_600_m_east_south_east() -> None:
    lon, lat = wgs84_to_gcj02(*YANGJIANG)
    shifted = (float(lon), float(lat))
    assert 550 < metres(YANGJIANG, shifted) < 650
    assert 100 < bearing(YANGJIANG, shifted) < 130


def test_bd09_offset_in_yangjiang_is_about_1250_m() -> None:
    lon, lat = wgs84_to_bd09(*YANGJIANG)
    assert 1150 < metres(YANGJIANG, (float(lon), float(lat))) < 1350


def test_round_trips_over_yangjiang_are_below_a_millimetre() -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(111.28, 112.37, 2000)
    lat = rng.uniform(21.48, 22.69, 2000)
    for forward, inverse in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        back_lon, back_lat = inverse(*forward(lon, lat))
        error_m = np.hypot(
            (back_lon - lon) * 111_320 * np.cos(np.radians(lat)), (back_lat - lat) * 110_574
        )
        assert error_m.max() < 1e-3


def test_the_one_step_inverse_would_be_metres_off_which_is_why_we_iterate() -> None:
    glon, glat = wgs84_to_gcj02(*YANGJIANG)
    dlon, dlat = np.subtract(wgs84_to_gcj02(glon, glat), (glon, glat))
    one_step = (float(glon - dlon), float(glat - dlat))
    assert metres(one_step, YANGJIANG) > 0.5
    iterated = tuple(float(v) for v in gcj02_to_wgs84(glon, glat))
    assert metres(iterated, YANGJIANG) < 0.001


def test_conversions_are_vectorised_and_keep_shape() -> None:
    lon = np.full((3, 4), 111.9)
    lat = np.full((3, 4), 21.8)
    out_lon, out_lat = wgs84_to_gcj02(lon, lat)
    assert out_lon.shape == (3, 4) and out_lat.shape == (3, 4)
    with pytest.raises(ValueError, match="shape"):
        wgs84_to_gcj02([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("gcj02", "gcj02"), ("GCJ-02", "gcj02"), ("bd09", "bd09"), ("BD-09", "bd09")],
)
def test_offset_names_are_parsed_loosely(value: str, expected: str) -> None:
    assert parse_crs(value) == expected


def test_epsg_options_parse_and_bad_ones_say_what_is_accepted() -> None:
    assert parse_crs("EPSG:4546") == CRS.from_epsg(4546)
    assert parse_crs(4490) == CRS.from_epsg(4490)
    with pytest.raises(CRSError, match="gcj02"):
        parse_crs("EPSG:999999")
    assert crs_label("EPSG:4490") == "EPSG:4490"
    assert crs_label("gcj02") == "GCJ-02"
    assert crs_label(None) == "none"


def community() -> gpd.GeoDataFrame:
    lon, lat = YANGJIANG
    return gpd.GeoDataFrame(
        {"name": ["测试小区"]},
        geometry=[MultiPolygon([box(lon, lat, lon + 0.001, lat + 0.001)])],
        index=[42],
        crs="EPSG:4490",
    )


def test_storage_round_trip_through_gcj02_returns_the_same_geometry_and_index() -> None:
    stored = community()
    amap = from_storage(stored, target="gcj02")
    assert amap.crs.to_epsg() == 4326  # Amap files are labelled WGS84
    assert amap.index.tolist() == [42]
    first_corner = tuple(amap.geometry.iloc[0].geoms[0].exterior.coords[0])
    assert metres(tuple(stored.geometry.iloc[0].geoms[0].exterior.coords[0]), first_corner) > 500
    back = to_storage(amap, source="gcj02")
    assert back.crs.to_epsg() == 4490
    assert back.geometry.iloc[0].equals_exact(stored.geometry.iloc[0], 1e-9)
    assert stored.geometry.iloc[0].bounds[0] == YANGJIANG[0]  # input not mutated


def test_measuring_crs_gives_metres() -> None:
    measured = to_measure(community())
    assert measured.crs.to_epsg() == 4546
    area = measured.geometry.iloc[0].area
    assert 10_000 < area < 12_500  # 0.001 degree square is about 103 m x 111 m here
    x = measured.geometry.iloc[0].bounds[0]
    assert 550_000 < x < 650_000


def test_epsg_4490_is_handled_x_longitude_first() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(YANGJIANG)], crs="EPSG:4490")
    x = to_measure(gdf).geometry.iloc[0].x
    assert 598_000 < x < 604_000  # 111.98 E is about 101 km east of CM 111E


def test_missing_or_different_crs_is_an_error_naming_the_layers() -> None:
    no_crs = gpd.GeoDataFrame(geometry=[Point(YANGJIANG)])
    with pytest.raises(CRSError, match=r"communities"):
        require_crs(no_crs, name="communities")
    with pytest.raises(CRSError, match=r"EPSG:4490.*EPSG:4546"):
        require_same_crs(community(), to_measure(community()), names=("communities", "zones"))
    with pytest.raises(CRSError):
        from_storage(to_measure(community()), target="EPSG:4326")
