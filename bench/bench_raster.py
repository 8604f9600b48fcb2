"""Benchmark of exact area-weighted zonal statistics (gislib.raster), run by hand.

Synthetic data: N community-like polygons (0.2-5 ha, mostly small, 6-16
vertices, star-shaped so always valid) scattered over a 10,000 x 10,000
Float32 raster of 10 m cells in EPSG:4546, written as a tiled GeoTIFF in a
temporary folder (5% nodata in blobs). Times, medians of a few runs:

- gislib.raster.zonal_stats (mean, min, max, sum, count), raster read included;
- its parts: coverage fractions alone, reprojection from EPSG:4490;
- exactextract with the same statistics (the reference, exact weights);
- a rasterize-and-count baseline (cell centres only: fast but wrong for small
  polygons), raster read included;
- reading the raster window the polygons cover.

It checks the largest difference to exactextract and how far the
cell-centre baseline is from the exact mean. Usage::

    uv run python bench/bench_raster.py [--polygons 10000] [--size 10000] [--runs 3]

Prints a Markdown table to paste into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import rasterio.windows
import shapely
from affine import Affine

from gislib.raster import coverage_fractions, zonal_stats

CELL_M = 10.0
ORIGIN = (560_000.0, 2_500_000.0)  # upper-left corner in EPSG:4546 (Yangjiang area)
STATS = ["mean", "min", "max", "sum", "count"]
HECTARE_M2 = 10_000.0


def make_polygons(n: int, size: int, seed: int) -> gpd.GeoDataFrame:
    """N star-shaped polygons of 0.2-5 ha (log-normal, median about 0.6 ha) in EPSG:4546."""
    rng = np.random.default_rng(seed)
    area_m2 = np.clip(rng.lognormal(np.log(0.6), 0.7, n), 0.2, 5.0) * HECTARE_M2
    extent = size * CELL_M
    cx = ORIGIN[0] + rng.uniform(300.0, extent - 300.0, n)
    cy = ORIGIN[1] - rng.uniform(300.0, extent - 300.0, n)
    geoms = []
    for i in range(n):
        k = int(rng.integers(6, 17))
        angles = (np.arange(k) + rng.uniform(0.1, 0.9, k)) * 2.0 * np.pi / k
        radius = rng.uniform(0.75, 1.0, k)
        stretch = rng.uniform(1.0, 2.0)
        turn = rng.uniform(0.0, np.pi)
        x = radius * np.cos(angles) * stretch
        y = radius * np.sin(angles) / stretch
        xr = x * np.cos(turn) - y * np.sin(turn)
        yr = x * np.sin(turn) + y * np.cos(turn)
        ring = shapely.Polygon(np.column_stack([xr, yr]))
        scale = np.sqrt(area_m2[i] / ring.area)
        geoms.append(shapely.Polygon(np.column_stack([cx[i] + xr * scale, cy[i] + yr * scale])))
    return gpd.GeoDataFrame({"id": np.arange(n)}, geometry=geoms, crs="EPSG:4546")


def write_raster(path: Path, size: int, seed: int) -> None:
    """A smooth field plus noise, 5% nodata in blobs, tiled uncompressed GeoTIFF."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((size // 100 + 2, size // 100 + 2)).astype(np.float32)
    field = np.kron(coarse, np.ones((100, 100), dtype=np.float32))[:size, :size]
    field += rng.random((size, size), dtype=np.float32) * 0.1
    holes = np.kron(rng.random(coarse.shape) < 0.05, np.ones((100, 100), dtype=bool))[:size, :size]
    field[holes] = -9999.0
    transform = Affine(CELL_M, 0.0, ORIGIN[0], 0.0, -CELL_M, ORIGIN[1])
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4546",
        "transform": transform,
        "nodata": -9999.0,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(field, 1)


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def rasterize_count(gdf: gpd.GeoDataFrame, ds: rasterio.io.DatasetReader) -> np.ndarray:
    """Cell-centre baseline: label raster of polygon ids, then bincount (mean only)."""
    values = ds.read(1)
    labels = rasterio.features.rasterize(
        zip(gdf.geometry, np.arange(1, len(gdf) + 1), strict=True),
        out_shape=values.shape,
        transform=ds.transform,
        fill=0,
        dtype="int32",
    )
    valid = (labels > 0) & (values != ds.nodata)
    lab = labels[valid]
    sums = np.bincount(lab, values[valid], minlength=len(gdf) + 1)[1:]
    counts = np.bincount(lab, minlength=len(gdf) + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def machine() -> str:
    import os

    model = "unknown"
    with Path("/proc/cpuinfo").open() as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with Path("/proc/meminfo").open() as f:
        mem_kb = int(f.readline().split()[1])
    return (
        f"{os.cpu_count()} cores (nproc), {platform.machine()}, {model}, "
        f"{mem_kb / 1024 / 1024:.0f} GiB RAM"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=10_000, help="raster rows = cols")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20210601)
    parser.add_argument("--skip-exactextract", action="store_true")
    args = parser.parse_args(argv)

    gdf = make_polygons(args.polygons, args.size, args.seed)
    gdf_4490 = gdf.to_crs("EPSG:4490")
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.tif"
        write_raster(path, args.size, args.seed)
        with rasterio.open(path) as ds:
            grid = {"transform": ds.transform, "shape": (ds.height, ds.width)}
            t_cov, cf = timed(lambda: coverage_fractions(gdf, **grid), args.runs)
            rows.append(
                ("gislib coverage_fractions only", t_cov, f"{len(cf):,} (polygon, cell) pairs")
            )

            t_ours, ours = timed(lambda: zonal_stats(gdf, ds, stats=STATS), args.runs)
            rows.append(("**gislib zonal_stats** (5 stats, read included)", t_ours, "exact"))
            t_4490, ours_4490 = timed(lambda: zonal_stats(gdf_4490, ds, stats=STATS), args.runs)
            rows.append(
                ("gislib zonal_stats, polygons in EPSG:4490", t_4490, "reprojection included")
            )

            def read_window() -> np.ndarray:
                r0, r1 = int(cf.row.min()), int(cf.row.max()) + 1
                c0, c1 = int(cf.col.min()), int(cf.col.max()) + 1
                return ds.read(1, window=rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0))

            t_read, _ = timed(read_window, args.runs)
            rows.append(("reading the window (part of the above)", t_read, ""))

            t_base, base_mean = timed(lambda: rasterize_count(gdf, ds), args.runs)
            base_err = np.nanmax(np.abs(base_mean - ours["mean"].to_numpy()))
            rows.append(
                ("rasterize + bincount (cell centres)", t_base, f"mean off by up to {base_err:.3f}")
            )

            diff_text = ""
            if not args.skip_exactextract:
                from exactextract import exact_extract

                t_ref, ref = timed(
                    lambda: exact_extract(ds, gdf, STATS, output="pandas"), args.runs
                )
                diffs = []
                for stat in STATS:
                    a = ours[stat].to_numpy()
                    b = ref[stat].to_numpy()
                    both = ~np.isnan(a) & ~np.isnan(b)
                    diffs.append(f"{stat} {np.max(np.abs(a[both] - b[both])):.1e}")
                diff_text = "max abs diff to exactextract: " + ", ".join(diffs)
                rows.append(("exactextract 0.3 (same stats)", t_ref, "reference"))
    reproject_diff = np.nanmax(np.abs(ours_4490["mean"].to_numpy() - ours["mean"].to_numpy()))

    print(f"machine: {machine()}")
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, shapely {shapely.__version__}, "
        f"rasterio {rasterio.__version__}, GDAL {rasterio.__gdal_version__}"
    )
    areas = gdf.area / HECTARE_M2
    print(
        f"{args.polygons:,} polygons (area ha: min {areas.min():.2f}, median {areas.median():.2f}, "
        f"max {areas.max():.2f}), raster {args.size:,} x {args.size:,} float32, "
        f"{CELL_M:.0f} m cells; median of {args.runs} runs"
    )
    print()
    print("| method | median s | note |")
    print("| --- | ---: | --- |")
    for name, seconds, note in rows:
        print(f"| {name} | {seconds:.2f} | {note} |")
    print()
    if diff_text:
        print(diff_text)
    print(f"mean after reprojection 4546 -> 4490 -> 4546: max abs change {reproject_diff:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
