"""Benchmark of the eligibility check: networks + zones, at 1k, 10k and 100k communities.

Issue 3, section 7. Builds a synthetic grid city of ``n`` communities (one per
block of a street grid; about 11 pipe segments per community, the ratio of the
issue's reference data; old districts without gas and with combined sewers;
overhead lines across a quarter of the communities), in EPSG:4490 and in
memory, then times, end to end in this process (reprojection to EPSG:4546
included), medians after one warm-up call:

* ``networks``: :func:`gislib.networks.analyse_networks` (nearest existing and
  planned main of all 7 networks, overhead lines, deficiencies), with one
  thread (wall and CPU seconds) and with the default threads;
* ``rules alone``: :func:`gislib.eligibility.check_eligibility` fed that
  analysis (zones, urban areas, every rule and its reasons);
* ``whole check``: both, as the CLI and the app run them:
  :func:`gislib.eligibility.check_workspace` on an in-memory workspace holding
  the synthetic layers (no rasters), which reprojects the communities once for
  the networks and the rules; when ``gislib.eligibility`` is missing, the
  network analysis plus a zone-overlap share computed the same vectorised way
  (said in the output);
* ``geopandas baseline``: the reference approach on the same data: ``to_crs``,
  ``overlay`` with the zones, one ``sjoin_nearest`` per network (existing
  mains of the 7 networks only); the nearest distances are compared with
  ours (printed as the largest difference).

Usage::

    uv run python bench/bench_eligibility.py                # 1k, 10k, 100k
    uv run python bench/bench_eligibility.py --sizes 1000 --repeats 9
    uv run python bench/bench_eligibility.py --baseline-max 10000

Prints a Markdown table of medians (seconds), and the best whole check, to paste
into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.util
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gislib.crs import to_measure
from gislib.networks import analyse_networks
from gislib.policy import Policy, load_policy
from gislib.schema import COUNTIES, MANAGEMENT_CHOICES, OWNERSHIP_CHOICES, STORAGE_CRS

# Synthetic city, metres in EPSG:4546, centred near central Jiangcheng.
CENTRE_X, CENTRE_Y = 600_000.0, 2_420_000.0
BLOCK_PITCH_M = 180.0  # street centre to street centre
STREET_HALF_WIDTH_M = 10.0  # communities stay this far from the street centre line
COMMUNITY_SIDE_M = (45.0, 140.0)  # 0.2-2 ha rectangles
MAX_ROTATION_DEG = 12.0
# Old districts (老城区) are squares of DISTRICT_BLOCKS x DISTRICT_BLOCKS blocks; this
# share of them lacks gas and separate sewers and keeps combined sewers.
DISTRICT_BLOCKS = 12
OLD_DISTRICT_SHARE = 0.35
# network -> (share of street segments with an existing main in new districts, in old
# districts, offset from the street centre line in m, share of the other segments
# with a planned main, owners)
NETWORK_LAYOUT: dict[str, tuple[float, float, float, float, tuple[str, ...]]] = {
    "water": (0.95, 0.60, -6.0, 0.10, ("水务集团",)),
    "rain": (0.75, 0.15, -3.0, 0.10, ("住建局",)),
    "sewer": (0.75, 0.15, 0.0, 0.10, ("水务集团",)),
    "combined": (0.01, 0.15, 2.0, 0.01, ("住建局",)),
    "gas": (0.70, 0.00, 4.0, 0.02, ("燃气企业",)),
    "power": (0.90, 0.70, 7.0, 0.05, ("供电局",)),
    "telecom": (0.85, 0.50, -8.0, 0.05, ("电信", "移动", "联通")),
}
SPLIT_SHARE = 0.4  # mains cut in two at a manhole (about 11 segments per community)
STREET_OVERHEAD_SHARE = 0.3  # existing power / telecom street segments hung overhead
CROSSING_OVERHEAD_SHARE = 0.25  # communities crossed by an overhead service line
ZONE_EVERY = 150  # one expropriation zone per this many communities
ZONE_SIDE_M = (200.0, 900.0)
URBAN_MARGIN_SHARE = 0.04  # the urban area leaves this share of the grid out on each side


@dataclass(frozen=True)
class City:
    """A synthetic city in EPSG:4490."""

    communities: gpd.GeoDataFrame
    pipelines: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    urban_areas: gpd.GeoDataFrame


def _to_storage(geometry: np.ndarray, frame: dict[str, Any]) -> gpd.GeoDataFrame:
    measured = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4546")
    return measured.to_crs(STORAGE_CRS)


def synthetic_city(n: int, *, seed: int = 0) -> City:
    """Build a grid city of ``n`` communities with streets, mains, overhead lines and zones.

    Every block of a square street grid holds one community, a rectangle of
    45-140 m turned by up to 12 degrees. Each street carries the mains of a
    network with that network's probability (whole streets, so gaps span
    blocks), a few planned mains, overhead power and telecom lines on some
    streets and overhead service lines across a quarter of the communities.
    """
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n))
    x0 = CENTRE_X - side * BLOCK_PITCH_M / 2
    y0 = CENTRE_Y - side * BLOCK_PITCH_M / 2

    # Communities: rotated rectangles inside their blocks.
    bx, by = np.arange(n) % side, np.arange(n) // side
    w = rng.uniform(*COMMUNITY_SIDE_M, n)
    h = rng.uniform(*COMMUNITY_SIDE_M, n)
    angle = np.radians(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, n))
    cos, sin = np.cos(angle), np.sin(angle)
    half_x = (w * np.abs(cos) + h * np.abs(sin)) / 2
    half_y = (w * np.abs(sin) + h * np.abs(cos)) / 2
    inner = BLOCK_PITCH_M - 2 * STREET_HALF_WIDTH_M
    cx = x0 + bx * BLOCK_PITCH_M + STREET_HALF_WIDTH_M + half_x
    cx += rng.uniform(0, 1, n) * np.maximum(inner - 2 * half_x, 0)
    cy = y0 + by * BLOCK_PITCH_M + STREET_HALF_WIDTH_M + half_y
    cy += rng.uniform(0, 1, n) * np.maximum(inner - 2 * half_y, 0)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
    lx = corners[None, :, 0] * (w / 2)[:, None]
    ly = corners[None, :, 1] * (h / 2)[:, None]
    px = cx[:, None] + lx * cos[:, None] - ly * sin[:, None]
    py = cy[:, None] + lx * sin[:, None] + ly * cos[:, None]
    rings = shapely.linearrings(np.stack([px, py], axis=-1))
    polygons = shapely.multipolygons(shapely.polygons(rings), indices=np.arange(n))
    counties = np.array(list(COUNTIES))
    communities = _to_storage(
        polygons,
        {
            "community_id": [f"SYN-{i:06d}" for i in range(n)],
            "name": [f"合成小区{i}" for i in range(n)],
            "county_code": counties[rng.integers(0, len(counties), n)],
            "street": ["合成街道"] * n,
            "build_year": rng.integers(1975, 2013, n),
            "buildings": rng.integers(1, 20, n),
            "households": rng.integers(20, 600, n),
            "floor_area_m2": np.round(w * h * rng.uniform(1.0, 3.0, n), 1),
            "storeys": rng.integers(2, 9, n),
            "has_lift": rng.random(n) < 0.15,
            "ownership": np.array(OWNERSHIP_CHOICES)[rng.integers(0, len(OWNERSHIP_CHOICES), n)],
            "management": np.array(MANAGEMENT_CHOICES)[rng.integers(0, len(MANAGEMENT_CHOICES), n)],
            "willingness": np.round(rng.uniform(0.3, 1.0, n), 2),
            "renovated_before": rng.random(n) < 0.1,
            "illegal_structures_cleared": rng.random(n) < 0.85,
        },
    )

    # Streets: lines x = x0 + i * pitch (vertical) and y = y0 + j * pitch, cut at crossings.
    lines_per_direction = side + 1
    starts, ends, offset_dir = [], [], []
    for direction in (0, 1):  # 0: horizontal streets, 1: vertical streets
        line_no, seg_no = np.meshgrid(
            np.arange(lines_per_direction), np.arange(side), indexing="ij"
        )
        line_no, seg_no = line_no.ravel(), seg_no.ravel()
        along0 = seg_no * BLOCK_PITCH_M
        across = line_no * BLOCK_PITCH_M
        if direction == 0:
            s = np.column_stack([x0 + along0, y0 + across])
            e = np.column_stack([x0 + along0 + BLOCK_PITCH_M, y0 + across])
        else:
            s = np.column_stack([x0 + across, y0 + along0])
            e = np.column_stack([x0 + across, y0 + along0 + BLOCK_PITCH_M])
        starts.append(s)
        ends.append(e)
        offset_dir.append(np.full(line_no.size, direction))
    seg_start = np.concatenate(starts)
    seg_end = np.concatenate(ends)
    seg_dir = np.concatenate(offset_dir)
    # Which segments lie in an old district (by the district of their midpoint).
    n_districts = side // DISTRICT_BLOCKS + 1
    old = rng.random((n_districts, n_districts)) < OLD_DISTRICT_SHARE
    mid_block = ((seg_start + seg_end) / 2 - [x0, y0]) // BLOCK_PITCH_M
    seg_block = np.clip(mid_block.astype(np.int64), 0, side - 1) // DISTRICT_BLOCKS
    seg_old = old[seg_block[:, 0], seg_block[:, 1]]

    pieces: list[dict[str, Any]] = []
    for network, (new_share, old_share, offset, planned_share, owners) in NETWORK_LAYOUT.items():
        existing = rng.random(seg_start.shape[0]) < np.where(seg_old, old_share, new_share)
        planned = ~existing & (rng.random(seg_start.shape[0]) < planned_share)
        for status, keep in (("existing", existing), ("planned", planned)):
            s, e, d = seg_start[keep], seg_end[keep], seg_dir[keep]
            # Some mains are cut in two at a manhole: (start, middle) and (middle, end).
            cut = rng.random(s.shape[0]) < SPLIT_SHARE
            mid_cut = (s[cut] + e[cut]) / 2
            s = np.concatenate([s, mid_cut])
            e = np.concatenate([np.where(cut[:, None], (s[: cut.size] + e) / 2, e), e[cut]])
            d = np.concatenate([d, d[cut]])
            m = s.shape[0]
            normal = np.where(d[:, None] == 0, [[0.0, 1.0]], [[1.0, 0.0]]) * offset
            mid = (s + e) / 2 + normal + rng.normal(0, 0.5, (m, 2))
            coords = np.stack([s + normal, mid, e + normal], axis=1)
            overhead = np.zeros(m, dtype=bool)
            if network in ("power", "telecom") and status == "existing":
                overhead = rng.random(m) < STREET_OVERHEAD_SHARE
            pieces.append(
                {
                    "coords": coords,
                    "network": network,
                    "status": status,
                    "overhead": overhead,
                    "owner": np.array(owners)[rng.integers(0, len(owners), m)],
                }
            )
    # Overhead service lines across a quarter of the communities, street to street.
    crossed = np.flatnonzero(rng.random(n) < CROSSING_OVERHEAD_SHARE)
    kind = rng.random(crossed.size) < 0.5
    for network, chosen in (("power", crossed[kind]), ("telecom", crossed[~kind])):
        xs = cx[chosen] + rng.uniform(-0.3, 0.3, chosen.size) * w[chosen]
        bottom = y0 + by[chosen] * BLOCK_PITCH_M
        coords = np.stack(
            [
                np.column_stack([xs, bottom]),
                np.column_stack([xs + rng.normal(0, 3, chosen.size), cy[chosen]]),
                np.column_stack([xs, bottom + BLOCK_PITCH_M]),
            ],
            axis=1,
        )
        owners = NETWORK_LAYOUT[network][4]
        pieces.append(
            {
                "coords": coords,
                "network": network,
                "status": "existing",
                "overhead": np.ones(chosen.size, dtype=bool),
                "owner": np.array(owners)[rng.integers(0, len(owners), chosen.size)],
            }
        )
    coords = np.concatenate([p["coords"] for p in pieces])
    m = coords.shape[0]
    lines = shapely.multilinestrings(shapely.linestrings(coords), indices=np.arange(m))
    order = rng.permutation(m)  # no spatial order in the table, as in real data
    pipelines = _to_storage(
        lines[order],
        {
            "pipe_id": [f"P{i:07d}" for i in range(m)],
            "network": np.concatenate([np.full(len(p["coords"]), p["network"]) for p in pieces])[
                order
            ],
            "status": np.concatenate([np.full(len(p["coords"]), p["status"]) for p in pieces])[
                order
            ],
            "overhead": np.concatenate([p["overhead"] for p in pieces])[order],
            "owner": np.concatenate([p["owner"] for p in pieces])[order],
            "diameter_mm": np.full(m, 200.0),
        },
    )

    # Expropriation zones: rectangles anywhere in the grid.
    n_zones = max(3, n // ZONE_EVERY)
    extent = side * BLOCK_PITCH_M
    zx = x0 + rng.uniform(0, extent, n_zones)
    zy = y0 + rng.uniform(0, extent, n_zones)
    zw = rng.uniform(*ZONE_SIDE_M, n_zones)
    zh = rng.uniform(*ZONE_SIDE_M, n_zones)
    zone_polys = shapely.multipolygons(
        shapely.box(zx, zy, zx + zw, zy + zh), indices=np.arange(n_zones)
    )
    zones = _to_storage(
        zone_polys,
        {
            "zone_id": [f"Z{i:05d}" for i in range(n_zones)],
            "name": [f"合成征迁片区{i}" for i in range(n_zones)],
            "plan": ["合成规划"] * n_zones,
            "planned_year": rng.integers(2021, 2026, n_zones),
        },
    )
    margin = extent * URBAN_MARGIN_SHARE
    urban = _to_storage(
        np.array(
            [
                shapely.multipolygons(
                    [
                        shapely.box(
                            x0 + margin, y0 + margin, x0 + extent - margin, y0 + extent - margin
                        )
                    ]
                )
            ]
        ),
        {"area_id": ["U1"], "name": ["合成城区"], "county_code": ["441702"], "kind": ["市区"]},
    )
    return City(communities, pipelines, zones, urban)


# --------------------------------------------------------------------------
# What is timed
# --------------------------------------------------------------------------

HAS_ELIGIBILITY = importlib.util.find_spec("gislib.eligibility") is not None


def run_networks(city: City, policy: Policy, *, workers: int | None) -> pd.DataFrame:
    """The network analysis alone: 7 networks x (existing, planned), overhead, deficiencies."""
    return analyse_networks(city.communities, city.pipelines, policy=policy, workers=workers)


def _zone_share(city: City) -> np.ndarray:
    """Fallback zone check: share of each community inside the zones, vectorised."""
    communities = to_measure(city.communities).geometry.to_numpy()
    zones = to_measure(city.zones).geometry.to_numpy()
    left, right = shapely.STRtree(zones).query(communities, predicate="intersects")
    share = np.zeros(len(communities))
    if left.size:
        areas = shapely.area(shapely.intersection(communities[left], zones[right]))
        np.add.at(share, left, areas)
    return share / shapely.area(communities)


def run_rules(city: City, policy: Policy, networks: pd.DataFrame) -> Any:
    """The eligibility rules alone (zones, urban areas, every rule), networks given."""
    if HAS_ELIGIBILITY:
        from gislib.eligibility import check_eligibility

        return check_eligibility(
            city.communities,
            zones=city.zones,
            urban_areas=city.urban_areas,
            policy=policy,
            networks=networks,
        )
    return _zone_share(city)


@dataclass(frozen=True)
class CityWorkspace:
    """The synthetic city as a workspace for :func:`gislib.eligibility.check_workspace`."""

    city: City

    def read(self, name: str) -> gpd.GeoDataFrame:
        layers = {
            "communities": self.city.communities,
            "pipelines": self.city.pipelines,
            "expropriation_zones": self.city.zones,
            "urban_areas": self.city.urban_areas,
        }
        return layers[name]

    def raster_names(self) -> list[str]:
        return []


def run_check(city: City, policy: Policy) -> Any:
    """The whole check as the CLI and app run it: networks (default threads), then every rule."""
    if HAS_ELIGIBILITY:
        from gislib.eligibility import check_workspace

        return check_workspace(CityWorkspace(city), policy=policy)
    return run_networks(city, policy, workers=None), _zone_share(city)


def run_geopandas(city: City) -> pd.DataFrame:
    """Reference approach: to_crs, overlay with the zones, one sjoin_nearest per network."""
    communities = city.communities[["community_id", "geometry"]].to_crs("EPSG:4546")
    zones = city.zones[["zone_id", "geometry"]].to_crs("EPSG:4546")
    pipes = city.pipelines[["pipe_id", "network", "status", "geometry"]].to_crs("EPSG:4546")
    pieces = gpd.overlay(communities, zones, how="intersection", keep_geom_type=True)
    inside = pieces.area.groupby(pieces["community_id"].to_numpy()).sum()
    out = pd.DataFrame(index=communities.index)
    out["zone_share"] = (
        communities["community_id"].map(inside).fillna(0.0).to_numpy() / communities.area
    )
    for network in NETWORK_LAYOUT:
        mains = pipes.loc[
            (pipes["network"] == network) & (pipes["status"] == "existing"), ["pipe_id", "geometry"]
        ]
        joined = gpd.sjoin_nearest(communities, mains, distance_col="distance")
        joined = joined[~joined.index.duplicated(keep="first")]
        out[f"dist_{network}_m"] = joined["distance"].reindex(communities.index)
    return out


def timed(
    func: Callable[[], object], repeats: int, *, cpu: list[float] | None = None
) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls (one untimed warm-up call first).

    With ``cpu``, the process CPU seconds of each call are appended to it (less
    sensitive than wall time to other programs sharing the machine).
    """
    func()
    times = []
    for _ in range(repeats):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        times.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
    return times


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """One line on the machine and the versions that matter."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{platform.machine()}, {_cpu_model()}, {os.cpu_count()} CPUs (load average {load}); "
        f"Python {platform.python_version()}, shapely {shapely.__version__} "
        f"(GEOS {shapely.geos_version_string}), geopandas {gpd.__version__}, "
        f"pandas {pd.__version__}, numpy {np.__version__}; {dt.date.today().isoformat()}"
    )


def _fmt(times: list[float]) -> str:
    if not times:
        return "-"
    median = statistics.median(times)
    return f"{median:.3f}" if median < 1 else f"{median:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=0, help="runs per size (0: 9/5/3)")
    parser.add_argument("--baseline-max", type=int, default=100_000)
    parser.add_argument("--baseline-repeats", type=int, default=0, help="0: 3, 1 at 100k")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    policy = load_policy()
    print(machine())
    print(
        "whole check = "
        + (
            "gislib.eligibility.check_workspace (analyse_networks + check_eligibility)"
            if HAS_ELIGIBILITY
            else "analyse_networks + vectorised zone share (gislib.eligibility not found)"
        )
    )
    header = (
        "| communities | pipe segments | zones | networks, 1 thread (CPU s) | networks "
        "| rules alone | whole check | whole check, best | geopandas baseline "
        "| baseline / networks |"
    )
    rows = [header, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n in args.sizes:
        city = synthetic_city(n, seed=args.seed)
        repeats = args.repeats or (9 if n <= 1_000 else 5 if n <= 10_000 else 3)
        serial_cpu: list[float] = []
        serial = timed(lambda c=city: run_networks(c, policy, workers=1), repeats, cpu=serial_cpu)
        threaded = timed(lambda c=city: run_networks(c, policy, workers=None), repeats)
        given = run_networks(city, policy, workers=None)
        rules = timed(lambda c=city, g=given: run_rules(c, policy, g), repeats)
        check = timed(lambda c=city: run_check(c, policy), repeats)
        baseline: list[float] = []
        if n <= args.baseline_max:
            base_repeats = args.baseline_repeats or (1 if n >= 100_000 else 3)
            baseline = timed(lambda c=city: run_geopandas(c), base_repeats)
            ours = run_networks(city, policy, workers=None)
            theirs = run_geopandas(city)
            worst = max(
                float(np.nanmax(np.abs(ours[f"dist_{k}_m"] - theirs[f"dist_{k}_m"])))
                for k in NETWORK_LAYOUT
            )
            print(f"{n}: largest distance difference to sjoin_nearest {worst:.2e} m")
        ratio = (
            f"{statistics.median(baseline) / statistics.median(threaded):.1f}x" if baseline else "-"
        )
        rows.append(
            f"| {n:,} | {len(city.pipelines):,} | {len(city.zones):,} "
            f"| {_fmt(serial)} ({_fmt(serial_cpu)}) "
            f"| {_fmt(threaded)} | {_fmt(rules)} | {_fmt(check)} | {_fmt([min(check)])} "
            f"| {_fmt(baseline)} | {ratio} |"
        )
        print(
            f"{n}: networks 1 thread {[round(t, 3) for t in serial]}, networks "
            f"{[round(t, 3) for t in threaded]}, rules {[round(t, 3) for t in rules]}, "
            f"check {[round(t, 3) for t in check]}, baseline {[round(t, 2) for t in baseline]} "
            f"(load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
