"""Tests of gislib.raster: exact coverage fractions and area-weighted zonal statistics."""

from __future__ import annotations

import doctest
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import shapely.affinity
from affine import Affine
from shapely.geometry import MultiPolygon, Point, Polygon, box

import gislib.raster as raster_module
from gislib.errors import CRSError, InputFileError, SchemaError, WorkspaceError
from gislib.raster import (
    MIN_FRACTION,
    CoverageFractions,
    community_raster_stats,
    coverage_fractions,
    zonal_stats,
)
from gislib.store import RasterSpec, create_workspace, open_workspace

# A 10 x 10 grid of 10 m cells in EPSG:4546 (metres) in Jiangcheng. Test shapes
# are drawn in "local" metres east / north of the grid's south-west corner.
CELL = 10.0
ROWS, COLS = 10, 10
X0, Y_TOP = 600_000.0, 2_420_000.0
Y0 = Y_TOP - ROWS * CELL
TRANSFORM = Affine(CELL, 0.0, X0, 0.0, -CELL, Y_TOP)
NODATA = -9999.0


def local(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.affinity.translate(geom, X0, Y0)


def series(*geoms: shapely.Geometry, index: list[object] | None = None) -> gpd.GeoSeries:
    return gpd.GeoSeries([local(g) for g in geoms], index=index, crs="EPSG:4546")


def fractions_of(cf: CoverageFractions, position: int = 0) -> dict[tuple[int, int], float]:
    mine = cf.polygon == position
    return {
        (int(r), int(c)): float(f)
        for r, c, f in zip(cf.row[mine], cf.col[mine], cf.fraction[mine], strict=True)
    }


def shapely_fractions(polygon: shapely.Geometry) -> dict[tuple[int, int], float]:
    """Coverage of each grid cell by clipping with shapely (slow, for checks)."""
    g = local(polygon)
    shares = {}
    for row in range(ROWS):
        for col in range(COLS):
            cell = box(
                X0 + col * CELL, Y_TOP - (row + 1) * CELL, X0 + (col + 1) * CELL, Y_TOP - row * CELL
            )
            share = g.intersection(cell).area / (CELL * CELL)
            if share > 1e-12:
                shares[(row, col)] = share
    return shares


def grid_fractions(*geoms: shapely.Geometry) -> CoverageFractions:
    return coverage_fractions(series(*geoms), transform=TRANSFORM, shape=(ROWS, COLS))


def in_memory(array: np.ndarray, *, nodata: float | None = NODATA) -> tuple:
    return (array, TRANSFORM, "EPSG:4546", nodata)


def star_polygon(
    rng: np.random.Generator, centre: tuple[float, float], radius: float, *, hole: bool = False
) -> Polygon:
    """A valid star-shaped polygon around ``centre``, optionally with a hole around it."""
    k = int(rng.integers(4, 14))  # every angular gap < pi: star-shaped, valid
    angles = (np.arange(k) + rng.uniform(0.05, 0.95, k)) * 2.0 * np.pi / k
    radii = radius * rng.uniform(0.3, 1.0, k)
    ring = np.column_stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)])
    if not hole:
        return Polygon(ring)
    inner = centre + (ring - centre) * 0.25
    return Polygon(ring, [inner[::-1] if rng.random() < 0.5 else inner])


# ---------------------------------------------------------------------------
# Coverage fractions: hand-computed cases


def test_square_on_cell_edges_covers_four_cells_fully() -> None:
    cf = grid_fractions(box(20.0, 30.0, 40.0, 50.0))
    # local north 30-50 is rows 5-6 (row 9 is the southern row); east 20-40 is cols 2-3
    assert fractions_of(cf) == {(5, 2): 1.0, (5, 3): 1.0, (6, 2): 1.0, (6, 3): 1.0}
    assert cf.area_cells.tolist() == [4.0]


def test_square_shifted_half_a_cell_covers_cells_by_half() -> None:
    cf = grid_fractions(box(5.0, 0.0, 15.0, 20.0))
    assert fractions_of(cf) == pytest.approx({(9, 0): 0.5, (9, 1): 0.5, (8, 0): 0.5, (8, 1): 0.5})


def test_triangle_fractions_match_hand_integration() -> None:
    # Hypotenuse y = 10 - x / 3 over three cells of the southern row:
    # ∫0^10 (10 - x/3) dx = 83.33 m², ∫10^20 = 50 m², ∫20^30 = 16.67 m² of 100 m².
    cf = grid_fractions(Polygon([(0.0, 0.0), (30.0, 0.0), (0.0, 10.0)]))
    assert fractions_of(cf) == pytest.approx({(9, 0): 5 / 6, (9, 1): 0.5, (9, 2): 1 / 6})
    assert cf.area_cells[0] == pytest.approx(1.5)


def test_diagonal_triangle_through_cell_corner() -> None:
    cf = grid_fractions(Polygon([(0.0, 0.0), (20.0, 0.0), (0.0, 20.0)]))
    assert fractions_of(cf) == pytest.approx({(9, 0): 1.0, (9, 1): 0.5, (8, 0): 0.5})


@pytest.mark.parametrize("hole_reversed", [False, True], ids=["hole-cw", "hole-ccw"])
def test_hole_is_subtracted_whatever_the_ring_orientation(hole_reversed: bool) -> None:
    hole = [(5.0, 5.0), (5.0, 25.0), (25.0, 25.0), (25.0, 5.0)]
    polygon = Polygon([(0, 0), (30, 0), (30, 30), (0, 30)], [hole[::-1] if hole_reversed else hole])
    cf = grid_fractions(polygon)
    expected = {
        (7, 0): 0.75, (7, 2): 0.75, (9, 0): 0.75, (9, 2): 0.75,  # corners: 25 m² of hole
        (7, 1): 0.5, (8, 0): 0.5, (8, 2): 0.5, (9, 1): 0.5,  # sides: 50 m² of hole
    }  # fmt: skip
    assert fractions_of(cf) == pytest.approx(expected)  # the centre cell (8, 1) is all hole
    assert cf.area_cells[0] == pytest.approx(5.0)


def test_clockwise_exterior_gives_the_same_fractions() -> None:
    ccw = Polygon([(0.0, 0.0), (30.0, 0.0), (0.0, 10.0)])
    cw = Polygon([(0.0, 0.0), (0.0, 10.0), (30.0, 0.0)])
    assert fractions_of(grid_fractions(cw)) == pytest.approx(fractions_of(grid_fractions(ccw)))


def test_polygon_partly_outside_raster_keeps_only_inside_cells() -> None:
    cf = grid_fractions(box(-10.0, 0.0, 10.0, 10.0))
    assert fractions_of(cf) == {(9, 0): 1.0}
    assert cf.area_cells[0] == pytest.approx(2.0)  # the whole polygon, outside part too


@pytest.mark.parametrize(
    "polygon",
    [
        Polygon([(75.0, 83.0), (400.0, 96.0), (260.0, 900.0), (88.0, 140.0)]),
        Polygon([(-300.0, -500.0), (27.0, 13.0), (-4.0, 31.0), (-50.0, 8.0)]),
    ],
    ids=["top-right", "bottom-left"],
)
def test_polygon_over_a_corner_of_raster_matches_shapely_clip(polygon: Polygon) -> None:
    cf = grid_fractions(polygon)
    assert cf.area_cells[0] == pytest.approx(polygon.area / 100.0)
    assert len(cf) >= 3
    assert fractions_of(cf) == pytest.approx(shapely_fractions(polygon), abs=1e-9)


def test_self_intersecting_polygon_is_repaired_before_counting() -> None:
    bow_tie = Polygon([(0.0, 0.0), (20.0, 20.0), (20.0, 0.0), (0.0, 20.0)])
    assert not bow_tie.is_valid
    cf = grid_fractions(bow_tie)
    repaired = shapely.make_valid(bow_tie)
    assert fractions_of(cf) == pytest.approx(shapely_fractions(repaired), abs=1e-9)
    assert cf.area_cells[0] == pytest.approx(2.0)  # two triangles of 100 m²


def test_polygon_far_outside_raster_covers_nothing() -> None:
    far = grid_fractions(box(5_000.0, -3_000.0, 5_040.0, -2_980.0))
    assert len(far) == 0
    assert far.area_cells[0] == pytest.approx(8.0)


def test_multipolygon_parts_sharing_a_cell_are_summed() -> None:
    parts = MultiPolygon([box(0.0, 0.0, 4.0, 10.0), box(6.0, 0.0, 10.0, 10.0), box(30, 30, 40, 40)])
    cf = grid_fractions(parts)
    assert fractions_of(cf) == pytest.approx({(9, 0): 0.8, (6, 3): 1.0})
    assert len(cf) == 2  # one entry per cell, not one per part


def test_bottom_up_grid_gives_the_same_cells() -> None:
    flipped = Affine(CELL, 0.0, X0, 0.0, CELL, Y0)  # row 0 is the southern row
    cf = coverage_fractions(
        series(Polygon([(0.0, 0.0), (30.0, 0.0), (0.0, 10.0)])), transform=flipped, shape=(10, 10)
    )
    assert fractions_of(cf) == pytest.approx({(0, 0): 5 / 6, (0, 1): 0.5, (0, 2): 1 / 6})


def test_empty_and_missing_geometries_cover_nothing() -> None:
    polygons = gpd.GeoSeries([None, Polygon(), box(0, 0, 10, 10)], crs="EPSG:4546")
    polygons = polygons.translate(X0, Y0)
    cf = coverage_fractions(polygons, transform=TRANSFORM, shape=(ROWS, COLS))
    assert cf.polygon.tolist() == [2]
    assert cf.area_cells.tolist() == [0.0, 0.0, 1.0]


def test_coverage_frame_uses_input_index_labels() -> None:
    cf = grid_fractions(box(0, 0, 10, 10), box(20, 0, 25, 10))
    frame = coverage_fractions(
        series(box(0, 0, 10, 10), box(20, 0, 25, 10), index=["a", "b"]),
        transform=TRANSFORM,
        shape=(ROWS, COLS),
    ).to_frame()
    assert frame["polygon"].tolist() == ["a", "b"]
    assert frame["fraction"].tolist() == [1.0, 0.5]
    assert cf.covered_cells().tolist() == [1.0, 0.5]


def test_fractions_sum_to_polygon_area_over_cell_area_for_random_polygons() -> None:
    rng = np.random.default_rng(20210601)
    cell_w, cell_h = 7.3, 4.1  # non-square cells and an origin off round numbers
    transform = Affine(cell_w, 0.0, 123.456, 0.0, -cell_h, 987.654)
    shape = (400, 300)
    polygons = []
    for i in range(300):
        centre = (123.456 + rng.uniform(80, 2100), 987.654 - rng.uniform(80, 1550))
        polygons.append(star_polygon(rng, centre, rng.uniform(1.0, 70.0), hole=i % 3 == 0))
    geoms = gpd.GeoSeries(polygons)
    assert geoms.is_valid.all()
    cf = coverage_fractions(geoms, transform=transform, shape=shape)
    expected = geoms.area.to_numpy() / (cell_w * cell_h)
    np.testing.assert_allclose(cf.covered_cells().to_numpy(), expected, rtol=1e-9)
    np.testing.assert_allclose(cf.area_cells, expected, rtol=1e-9)
    assert ((cf.fraction > MIN_FRACTION) & (cf.fraction <= 1.0)).all()
    keys = pd.DataFrame({"p": cf.polygon, "r": cf.row, "c": cf.col})
    assert not keys.duplicated().any()
    assert (np.diff(cf.polygon) >= 0).all()


def test_fraction_of_each_cell_matches_shapely_intersection() -> None:
    rng = np.random.default_rng(7)
    polygon = star_polygon(rng, (52.0, 47.0), 40.0, hole=True)
    cf = grid_fractions(polygon)
    assert fractions_of(cf) == pytest.approx(shapely_fractions(polygon), abs=1e-9)
    assert len(cf) > 30


# ---------------------------------------------------------------------------
# Zonal statistics


def test_nodata_cells_are_left_out_of_mean_and_count() -> None:
    values = np.zeros((ROWS, COLS), dtype="float32")
    values[9, 0], values[9, 1], values[9, 2] = 1.0, NODATA, 4.0
    polygon = box(0.0, 0.0, 25.0, 10.0)  # cells 0, 1 fully, cell 2 half
    table = zonal_stats(
        series(polygon),
        in_memory(values),
        stats=["mean", "min", "max", "sum", "count", "coverage"],
    )
    row = table.iloc[0]
    assert row["mean"] == pytest.approx((1.0 * 1.0 + 4.0 * 0.5) / 1.5)
    assert (row["min"], row["max"]) == (1.0, 4.0)
    assert row["sum"] == pytest.approx(3.0)
    assert row["count"] == pytest.approx(1.5)
    assert row["coverage"] == pytest.approx(1.5 / 2.5)


def test_nan_cells_count_as_nodata() -> None:
    values = np.array([[2.0, np.nan]])
    grid = (values, TRANSFORM, "EPSG:4546", None)
    polygon = gpd.GeoSeries([box(X0, Y_TOP - 10, X0 + 20, Y_TOP)], crs="EPSG:4546")
    table = zonal_stats(polygon, grid, stats=["mean", "count"])
    assert table.iloc[0].tolist() == [2.0, 1.0]


def test_multipolygon_statistics_combine_all_parts() -> None:
    values = np.zeros((ROWS, COLS))
    values[9, 0], values[0, 9] = 2.0, 8.0
    parts = MultiPolygon([box(0, 0, 10, 10), box(90, 95, 100, 100)])  # full cell, half cell
    row = zonal_stats(series(parts), in_memory(values), stats=["mean", "count"]).iloc[0]
    assert row["count"] == pytest.approx(1.5)
    assert row["mean"] == pytest.approx((2.0 + 8.0 * 0.5) / 1.5)


def test_polygon_outside_raster_or_on_nodata_gives_nan_and_zero_coverage() -> None:
    values = np.ones((ROWS, COLS))
    values[0, 0] = NODATA
    polygons = series(box(500, 500, 600, 600), box(0, 90, 10, 100), box(0, 0, 10, 10))
    stats = ["mean", "min", "max", "max_covered", "sum", "total", "count", "coverage"]
    table = zonal_stats(polygons, in_memory(values), stats=stats)
    for position in (0, 1):
        row = table.iloc[position]
        value_stats = ["mean", "min", "max", "max_covered", "sum", "total"]
        assert row[value_stats].isna().all()
        assert (row["count"], row["coverage"]) == (0.0, 0.0)
    assert table.iloc[2]["mean"] == 1.0
    assert table.iloc[2]["coverage"] == 1.0


def test_total_turns_density_per_km2_into_persons_exactly() -> None:
    density = np.full((ROWS, COLS), 10_000.0)  # persons per km²
    # 0.0025 km² (50 m x 50 m), not aligned with the cells: 25 persons
    polygon = box(13.0, 21.0, 63.0, 71.0)
    table = zonal_stats(series(polygon), in_memory(density), stats=["total", "sum"])
    assert table.iloc[0]["total"] == pytest.approx(25.0)
    assert table.iloc[0]["sum"] == pytest.approx(10_000.0 * 25.0)  # value x cells


def test_total_refuses_a_geographic_raster() -> None:
    grid = (np.ones((2, 2)), Affine(0.001, 0, 111.9, 0, -0.001, 21.9), "EPSG:4490", None)
    polygons = gpd.GeoSeries([box(111.9, 21.899, 111.901, 21.9)], crs="EPSG:4490")
    with pytest.raises(CRSError, match="geographic"):
        zonal_stats(polygons, grid, stats=["total"])


def test_max_covered_ignores_a_sliver_of_a_deep_cell() -> None:
    depth = np.zeros((ROWS, COLS))
    depth[9, 0], depth[9, 1] = 0.1, 0.9
    community = box(0.0, 0.0, 11.0, 10.0)  # all of cell 0, a tenth of cell 1
    tiny = box(16.0, 2.0, 19.0, 6.0)  # inside cell 1 only, 12% of it
    row = zonal_stats(series(community, tiny), in_memory(depth), stats=["max", "max_covered"])
    assert row.loc[0].tolist() == [0.9, 0.1]
    assert row.loc[1].tolist() == [0.9, 0.9]  # no half-covered cell: the most covered one


def test_max_covered_falls_back_to_the_most_covered_cell() -> None:
    depth = np.zeros((ROWS, COLS))
    depth[9, 0], depth[9, 1] = 0.2, 0.7
    sliver = box(6.0, 0.0, 11.0, 10.0)  # 40% of cell 0, 10% of cell 1
    row = zonal_stats(series(sliver), in_memory(depth), stats=["max", "max_covered"]).iloc[0]
    assert row.tolist() == [0.7, 0.2]


def test_results_keep_the_input_index_and_order() -> None:
    values = np.arange(ROWS * COLS, dtype=float).reshape(ROWS, COLS)
    frame = gpd.GeoDataFrame(
        {"name": ["z", "a"]},
        geometry=series(box(0, 0, 10, 10), box(90, 90, 100, 100)).to_numpy(),
        index=pd.Index(["C9", "C1"], name="community_id"),
        crs="EPSG:4546",
    )
    table = zonal_stats(frame, in_memory(values), stats=["mean"], prefix="v_")
    assert table.index.equals(frame.index)
    assert table.columns.tolist() == ["v_mean"]
    assert table["v_mean"].tolist() == [90.0, 9.0]


def test_empty_input_gives_empty_frame() -> None:
    empty = gpd.GeoSeries([], crs="EPSG:4546")
    table = zonal_stats(empty, in_memory(np.ones((ROWS, COLS))), stats=["mean", "coverage"])
    assert table.empty
    assert table.columns.tolist() == ["mean", "coverage"]


def test_polygons_in_another_crs_are_reprojected() -> None:
    rng = np.random.default_rng(3)
    values = rng.random((ROWS, COLS))
    metric = series(box(13, 21, 63, 71), Polygon([(5, 5), (80, 12), (40, 90)]))
    geographic = metric.to_crs("EPSG:4490")
    expected = zonal_stats(metric, in_memory(values), stats=["mean", "count"])
    got = zonal_stats(geographic, in_memory(values), stats=["mean", "count"])
    assert not np.allclose(geographic.total_bounds, metric.total_bounds)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=1e-6)
    cf = coverage_fractions(geographic, transform=TRANSFORM, shape=(ROWS, COLS), crs="EPSG:4546")
    np.testing.assert_allclose(cf.area_cells, [25.0, metric.area.iloc[1] / 100.0], rtol=1e-6)


def test_polygons_without_crs_are_refused() -> None:
    polygons = gpd.GeoSeries([local(box(0, 0, 10, 10))])
    with pytest.raises(CRSError, match="no coordinate reference system"):
        zonal_stats(polygons, in_memory(np.ones((ROWS, COLS))))


def test_raster_without_crs_is_refused() -> None:
    with pytest.raises(CRSError, match="raster has no coordinate"):
        zonal_stats(series(box(0, 0, 10, 10)), (np.ones((ROWS, COLS)), TRANSFORM, None, None))


def test_rotated_raster_is_refused() -> None:
    rotated = TRANSFORM @ Affine.rotation(10.0)
    with pytest.raises(InputFileError, match="rotated"):
        zonal_stats(series(box(0, 0, 10, 10)), (np.ones((ROWS, COLS)), rotated, "EPSG:4546", None))
    with pytest.raises(InputFileError, match="rotated"):
        coverage_fractions(series(box(0, 0, 10, 10)), transform=rotated, shape=(ROWS, COLS))


def test_unknown_statistic_and_non_polygons_are_refused() -> None:
    grid = in_memory(np.ones((ROWS, COLS)))
    with pytest.raises(SchemaError, match="median"):
        zonal_stats(series(box(0, 0, 10, 10)), grid, stats=["median"])  # type: ignore[list-item]
    with pytest.raises(SchemaError, match=r"record 2 .* is a Point"):
        zonal_stats(series(box(0, 0, 10, 10), Point(5, 5)), grid)


def test_band_out_of_range_is_refused(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "one.tif", np.ones((ROWS, COLS), dtype="float32"))
    with rasterio.open(path) as ds, pytest.raises(InputFileError, match="no band 2"):
        zonal_stats(series(box(0, 0, 10, 10)), ds, band=2)


def write_geotiff(path: Path, array: np.ndarray) -> Path:
    profile = {
        "driver": "GTiff",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": "EPSG:4546",
        "transform": TRANSFORM,
        "nodata": NODATA,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


def random_case(seed: int, count: int) -> tuple[np.ndarray, gpd.GeoSeries]:
    rng = np.random.default_rng(seed)
    values = rng.random((ROWS, COLS)).astype("float32") * 3.0
    values[rng.random((ROWS, COLS)) < 0.1] = NODATA
    polygons = [
        star_polygon(rng, tuple(rng.uniform(-10, 110, 2)), rng.uniform(2, 30), hole=i % 4 == 0)
        for i in range(count)
    ]
    return values, series(*polygons)


def test_dataset_read_by_strips_matches_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values, polygons = random_case(11, 40)
    path = write_geotiff(tmp_path / "values.tif", values)
    stats = ["mean", "min", "max", "sum", "count", "coverage", "max_covered"]
    expected = zonal_stats(polygons, in_memory(values), stats=stats)
    with rasterio.open(path) as ds:
        whole = zonal_stats(polygons, ds, stats=stats)
        monkeypatch.setattr(raster_module, "_MAX_WINDOW_CELLS", 15)  # strips of one or two rows
        strips = zonal_stats(polygons, ds, stats=stats)
    pd.testing.assert_frame_equal(whole, expected)
    pd.testing.assert_frame_equal(strips, expected)
    assert expected["count"].gt(0).sum() > 30


def test_agrees_with_exactextract_on_random_polygons(tmp_path: Path) -> None:
    exactextract = pytest.importorskip(
        "exactextract", reason="exactextract (dev dependency, the reference) is not installed"
    )
    rng = np.random.default_rng(42)
    rows, cols = 120, 150
    transform = Affine(10.0, 0.0, X0, 0.0, -10.0, Y_TOP)
    values = rng.random((rows, cols)).astype("float32") * 1.2
    values[rng.random((rows, cols)) < 0.05] = NODATA
    polygons = [
        star_polygon(
            rng,
            (X0 + rng.uniform(-30, cols * 10 + 30), Y_TOP - rng.uniform(-30, rows * 10 + 30)),
            rng.uniform(3.0, 60.0),
            hole=i % 5 == 0,
        )
        for i in range(300)
    ]
    frame = gpd.GeoDataFrame({"i": range(300)}, geometry=polygons, crs="EPSG:4546")
    path = tmp_path / "random.tif"
    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": 1, "dtype": "float32"}
    with rasterio.open(
        path, "w", **profile, crs="EPSG:4546", transform=transform, nodata=NODATA
    ) as dst:
        dst.write(values, 1)
    stats = ["mean", "min", "max", "sum", "count"]
    with rasterio.open(path) as ds:
        ours = zonal_stats(frame, ds, stats=stats)
        ref = exactextract.exact_extract(ds, frame, stats, output="pandas")
    with_data = ours["count"].to_numpy() > 0
    assert with_data.sum() > 250
    # exactextract stores coverage fractions as float32: 1e-6 is its precision, not ours
    for stat in stats:
        a, b = ours[stat].to_numpy(), ref[stat].to_numpy()
        np.testing.assert_allclose(a[with_data], b[with_data], rtol=1e-6, atol=1e-6, err_msg=stat)
    assert ref["count"].to_numpy()[~with_data] == pytest.approx(0.0)
    assert np.isnan(ours["mean"].to_numpy()[~with_data]).all()


# ---------------------------------------------------------------------------
# Workspace convenience


def test_community_raster_stats_on_a_workspace(tmp_path: Path, tiny_layers: dict) -> None:
    depth = np.zeros((ROWS, COLS), dtype="float32")
    depth[9, 0], depth[9, 1] = 0.2, 1.0
    density = np.full((ROWS, COLS), 20_000.0, dtype="float32")
    rasters = {
        "waterlogging_depth": RasterSpec(depth, TRANSFORM, "EPSG:4546", NODATA, "depth (m)"),
        "population_density": RasterSpec(density, TRANSFORM, "EPSG:4546", NODATA, "per km²"),
    }
    path = create_workspace(tmp_path / "ws.gpkg", layers=tiny_layers, rasters=rasters)
    communities = gpd.GeoDataFrame(
        {"community_id": ["A", "B"]},
        geometry=[local(box(0.0, 0.0, 15.0, 10.0)), local(box(-500.0, 0.0, -400.0, 10.0))],
        index=[7, 3],
        crs="EPSG:4546",
    ).to_crs("EPSG:4490")
    table = community_raster_stats(communities, path)
    assert table.index.tolist() == [7, 3]
    assert table.columns.tolist() == [
        "waterlogging_mean_m",
        "waterlogging_max_m",
        "waterlogging_coverage",
        "population",
        "population_coverage",
    ]
    first = table.loc[7]
    assert first["waterlogging_mean_m"] == pytest.approx((0.2 + 0.5) / 1.5, abs=1e-6)
    assert first["waterlogging_max_m"] == pytest.approx(1.0)
    assert first["population"] == pytest.approx(20_000.0 * 150e-6, rel=1e-6)  # 3 persons
    assert first["population_coverage"] == pytest.approx(1.0)
    assert table.loc[3, ["waterlogging_mean_m", "population"]].isna().all()
    assert table.loc[3, "waterlogging_coverage"] == 0.0
    with pytest.raises(WorkspaceError, match="dem"):
        community_raster_stats(communities, open_workspace(path), rasters=["dem"])


def test_community_raster_stats_on_the_sample_agrees_with_exactextract() -> None:
    from gislib.datasets import sample_workspace_path

    ws = open_workspace(sample_workspace_path())
    communities = ws.read("communities")
    table = community_raster_stats(communities, ws)
    assert len(table) == len(communities) > 100
    assert table["waterlogging_coverage"].min() > 0.99
    assert (table["population"] > 0).all()
    exactextract = pytest.importorskip(
        "exactextract", reason="exactextract (dev dependency, the reference) is not installed"
    )
    with ws.open_raster("waterlogging_depth") as ds:
        ref = exactextract.exact_extract(
            ds, communities.to_crs(ds.crs.to_wkt()), ["mean", "max"], output="pandas"
        )
    np.testing.assert_allclose(table["waterlogging_mean_m"], ref["mean"], atol=1e-6)
    np.testing.assert_allclose(table["waterlogging_max_m"], ref["max"], atol=1e-6)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(raster_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3
    assert result.failed == 0
