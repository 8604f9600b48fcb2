"""Benchmark of EPC bundling (gislib.bundling) against spopt MaxP and GeoDa's MaxP.

Builds synthetic counties of ``n`` communities clustered like real towns (a
few towns of very different sizes; in each, communities of 0.2-2.5 ha on a
block grid with 20-130 m roads between them; households log-normal around 90;
investment about 60,000 元 per household with noise), in EPSG:4490 and in
memory. On the SAME data and the SAME neighbour graph (the 300 m distance
band with gislib's bridges, handed to spopt as a libpysal ``W`` and to GeoDa
as a GAL file), times:

* ``gislib``: :func:`gislib.bundling.bundle` end to end (reprojection to
  EPSG:4546, graph, bridges, partition, checks), with a lower AND an upper
  bound on investment;
* ``spopt MaxP``: ``spopt.region.MaxPHeuristic`` with the same lower bound
  (it has no upper bound), attribute households;
* ``GeoDa MaxP``: ``pygeoda.maxp_greedy`` with the same lower bound.

For each: seconds, batches, largest and mean batch diameter (centroid to
centroid, metres in EPSG:4546), batches below the lower / above the upper
bound, unassigned communities. gislib's time is the median of ``--repeats``
runs; spopt and GeoDa run once per size (spopt at 5,000 takes minutes).

Usage::

    uv run python bench/bench_bundling.py                    # 200, 1000, 5000
    uv run python bench/bench_bundling.py --sizes 1000 --repeats 5 --no-spopt

Prints a Markdown table to paste into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial.distance import pdist

from gislib.bundling import Bounds, BundleResult, bundle
from gislib.schema import MEASURE_CRS, STORAGE_CRS

CENTRE_X, CENTRE_Y = 600_000.0, 2_420_000.0  # metres, EPSG:4546 (central Jiangcheng)
COUNTY_HALF_SIDE_M = 25_000.0
COMMUNITIES_PER_TOWN = 150  # mean; town sizes are log-normal around it
BLOCK_PITCH_M = 180.0
SIDE_M = (50.0, 160.0)  # community rectangle sides: 0.25-2.5 ha; roads 20-130 m
OCCUPANCY = 0.75  # share of blocks of a town's core holding an old community
HOUSEHOLDS_MEDIAN, HOUSEHOLDS_SIGMA = 90.0, 0.6
YUAN_PER_HOUSEHOLD = 60_000.0
LOWER_YUAN, UPPER_YUAN = 40e6, 80e6  # the bounds given to every method (upper: gislib only)
BAND_M = 300.0


def synthetic_county(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` communities in towns, EPSG:4490, columns community_id, households, investment."""
    rng = np.random.default_rng(seed)
    towns = max(2, round(n / COMMUNITIES_PER_TOWN))
    shares = rng.lognormal(0.0, 0.8, towns)
    sizes = np.maximum(1, np.floor(shares / shares.sum() * n)).astype(int)
    sizes[np.argmax(sizes)] += n - sizes.sum()
    centres = rng.uniform(-COUNTY_HALF_SIDE_M, COUNTY_HALF_SIDE_M, (towns, 2))
    boxes = []
    for (cx, cy), m in zip(centres, sizes, strict=True):
        radius = int(np.ceil(np.sqrt(m / OCCUPANCY / np.pi))) + 2
        gx, gy = np.meshgrid(np.arange(-radius, radius + 1), np.arange(-radius, radius + 1))
        cells = np.column_stack([gx.ravel(), gy.ravel()]).astype(float)
        ranks = np.hypot(*cells.T) + rng.uniform(0, 2.5, len(cells))
        chosen = cells[np.argsort(ranks)[:m]]
        w = rng.uniform(*SIDE_M, m)
        h = rng.uniform(*SIDE_M, m)
        x = cx + CENTRE_X + chosen[:, 0] * BLOCK_PITCH_M
        y = cy + CENTRE_Y + chosen[:, 1] * BLOCK_PITCH_M
        boxes.append(shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    geoms = np.concatenate(boxes)
    households = np.clip(rng.lognormal(np.log(HOUSEHOLDS_MEDIAN), HOUSEHOLDS_SIGMA, n), 18, 1200)
    households = households.round().astype(int)
    investment = households * YUAN_PER_HOUSEHOLD * rng.uniform(0.6, 1.4, n)
    gdf = gpd.GeoDataFrame(
        {
            "community_id": [f"C{i:05d}" for i in range(n)],
            "households": households,
            "investment": investment.round(2),
        },
        geometry=geoms,
        crs=MEASURE_CRS,
    )
    return gdf.to_crs(STORAGE_CRS)


def _diameters(xy: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = []
    for lab in np.unique(labels[labels >= 0]):
        pts = xy[labels == lab]
        out.append(float(pdist(pts).max()) if len(pts) > 1 else 0.0)
    return np.array(out)


def _summary(name: str, seconds: float, xy: np.ndarray, labels: np.ndarray, inv: np.ndarray,
             *, upper: float | None) -> dict[str, Any]:  # fmt: skip
    assigned = labels >= 0
    sums = pd.Series(inv[assigned]).groupby(labels[assigned]).sum()
    diam = _diameters(xy, labels)
    return {
        "method": name,
        "seconds": seconds,
        "batches": len(sums),
        "diameter_max_m": float(diam.max()) if len(diam) else 0.0,
        "diameter_mean_m": float(diam.mean()) if len(diam) else 0.0,
        "below_lower": int((sums < LOWER_YUAN - 1e-6).sum()),
        "above_upper": int((sums > UPPER_YUAN + 1e-6).sum()) if upper else None,
        "unassigned": int((~assigned).sum()),
    }


def _neighbours(result: BundleResult) -> dict[int, list[int]]:
    problem = result._problem
    return {i: problem.neighbours(i).tolist() for i in range(len(problem.ids))}


def run_gislib(
    gdf: gpd.GeoDataFrame, repeats: int, *, prefer: str = "middle"
) -> tuple[dict[str, Any], BundleResult]:
    bounds = Bounds(min_investment=LOWER_YUAN, max_investment=UPPER_YUAN)
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = bundle(gdf, bounds=bounds, distance_band_m=BAND_M, seed=0, prefer=prefer)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
    assert result is not None
    xy = result._problem.xy
    row = {b: i for i, b in enumerate(result.batches["batch_id"])}
    labels = np.array([row.get(b, -1) for b in result.assignments.to_numpy()])
    summary = _summary(
        f"gislib bundle prefer={prefer} (lower + upper)", statistics.median(times), xy, labels,
        gdf["investment"].to_numpy(), upper=UPPER_YUAN,
    )  # fmt: skip
    summary["violations"] = len(result.violations)
    return summary, result


def run_spopt(gdf: gpd.GeoDataFrame, result: BundleResult) -> dict[str, Any]:
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    neighbours = _neighbours(result)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal warns about islands/components
        w = W(neighbours, silence_warnings=True)
        t0 = time.perf_counter()
        model = MaxPHeuristic(gdf, w, ["households"], "investment", LOWER_YUAN, top_n=2)
        np.random.seed(0)  # spopt draws from numpy's global generator
        model.solve()
        seconds = time.perf_counter() - t0
    labels = np.asarray(model.labels_, dtype=int)
    labels = np.where(labels > 0, labels, -1)  # spopt marks unassigned areas with 0
    return _summary("spopt MaxPHeuristic (lower only)", seconds, result._problem.xy, labels,
                    gdf["investment"].to_numpy(), upper=None)  # fmt: skip


def run_geoda(gdf: gpd.GeoDataFrame, result: BundleResult) -> dict[str, Any]:
    import pygeoda

    neighbours = _neighbours(result)
    with tempfile.TemporaryDirectory() as tmp:
        gal = Path(tmp) / "band.gal"
        lines = [f"0 {len(neighbours)} bench band"]
        for i in range(len(neighbours)):
            lines.append(f"{i + 1} {len(neighbours[i])}")
            lines.append(" ".join(str(j + 1) for j in neighbours[i]))
        gal.write_text("\n".join(lines) + "\n", encoding="ascii")
        frame = gdf.to_crs(MEASURE_CRS)
        t0 = time.perf_counter()
        w = pygeoda.read_gal(str(gal), [str(i) for i in range(1, len(neighbours) + 1)])
        out = pygeoda.maxp_greedy(
            w, frame[["households"]], bound_variable=frame["investment"], min_bound=LOWER_YUAN,
            random_seed=1, cpu_threads=1,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
    labels = np.asarray(out["Clusters"], dtype=int)
    labels = np.where(labels > 0, labels, -1)
    return _summary("GeoDa maxp_greedy (lower only)", seconds, result._problem.xy, labels,
                    gdf["investment"].to_numpy(), upper=None)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-spopt", action="store_true")
    parser.add_argument("--no-geoda", action="store_true")
    args = parser.parse_args()
    print(f"# {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()}")  # fmt: skip
    print(f"# bounds {LOWER_YUAN:,.0f}-{UPPER_YUAN:,.0f} 元, band {BAND_M:g} m")
    rows = []
    for n in args.sizes:
        gdf = synthetic_county(n, seed=n)
        summary, result = run_gislib(gdf, args.repeats)
        rows.append({"n": n, **summary})
        rows.append({"n": n, **run_gislib(gdf, args.repeats, prefer="fewest")[0]})
        if not args.no_geoda:
            rows.append({"n": n, **run_geoda(gdf, result)})
        if not args.no_spopt:
            rows.append({"n": n, **run_spopt(gdf, result)})
        print(f"# n={n} done, load {os.getloadavg()}", flush=True)
    print(_markdown(pd.DataFrame(rows)))


def _markdown(table: pd.DataFrame) -> str:
    def cell(x: Any) -> str:
        if isinstance(x, float):
            return f"{x:,.2f}" if x < 100 else f"{x:,.0f}"
        return "" if x is None else str(x)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
    lines += [
        "| " + " | ".join(cell(x) for x in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
