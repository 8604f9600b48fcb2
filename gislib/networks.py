"""Pipeline networks around each community: nearest mains, overhead lines, works per owner.

The plan's pipeline items (五 and the attached table, items 1-5: 供水, 供电,
供气, 弱电, 排水, 三线整治 / 架空线入地) depend on what lies around a
community. For every community and every network of
:class:`gislib.schema.Network` (water, rain, sewer, combined, gas, power,
telecom), :func:`analyse_networks` measures the distance to the nearest
existing and the nearest planned main, says whether it lies within the
policy's reach (``policy.reach_m``), measures the overhead power and telecom
lines inside the community, and lists the community's pipeline deficiencies.
:func:`owner_works` turns that into the works each pipeline owner
(管线产权单位, plan 七（三）) must schedule, and :func:`export_owner_works`
writes them as an Excel workbook, one sheet per owner, for the coordinated
construction plan.

Inputs are stored layers (EPSG:4490); every distance and length is measured
in metres in EPSG:4546 (CGCS2000 / 3-degree GK CM 111E) after one
reprojection of each layer (:func:`gislib.crs.to_measure`).

How the nearest main is found (vectorised; no loop over communities): one
:class:`shapely.STRtree` per network and status; the 14 searches advance
together in rounds (about 7 at 1,000 communities, against 56 when each
search ran its own rounds): every open (community, search) pair queries its
tree with a search window around the community's envelope; each candidate's
distance is bounded from below by the distance between envelopes, so GEOS
measures only about 1.3 candidates per pair; windows grow (25 m, 50 m,
100 m...) only for the pairs not yet settled. This is 2-3 times faster here
than ``STRtree.query_nearest``, whose per-query tree walk dominates for
small polygons (7-20 µs per community and tree), and the results are
identical to a brute-force minimum of :func:`shapely.distance` over every
pipe (ties go to the first pipe of the layer): the tests check it. With
enough communities the searches are split over a few threads by community
(GEOS and numpy release the GIL); the result does not depend on the thread
count.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from gislib.crs import require_crs, require_same_crs, to_measure
from gislib.errors import SchemaError
from gislib.policy import Policy
from gislib.schema import COUNTIES, MEASURE_CRS, NETWORKS, PIPE_OWNERS, Network

__all__ = [
    "ANALYSIS_COLUMNS",
    "DEFAULT_OWNERS",
    "DEFICIENCY_CODES",
    "DEFICIENCY_LABELS",
    "OWNER_WORKS_COLUMNS",
    "OWNER_WORKS_HEADERS",
    "WORK_LABELS",
    "analyse_networks",
    "export_owner_works",
    "owner_works",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]

#: The networks in the order the results list them.
_NETWORK_ORDER: tuple[str, ...] = tuple(str(n) for n in Network)
_EXISTING = "existing"
_PLANNED = "planned"
#: Networks whose lines may hang overhead (三线整治 / 架空线入地).
_OVERHEAD_NETWORKS: tuple[str, ...] = (str(Network.POWER), str(Network.TELECOM))
#: Networks that drain a community (排水): any one of them within reach suffices.
_DRAINAGE_NETWORKS: tuple[str, ...] = (
    str(Network.RAIN),
    str(Network.SEWER),
    str(Network.COMBINED),
)
_OWNER_SEPARATOR = "、"
# More distinct owners than this in one call are joined by a slower path.
_MAX_BITMASK_OWNERS = 62
# Nearest-main search (an algorithm setting, not a rule): the first window
# reaches this far (m) beyond a community's envelope and grows by this factor
# until the nearest main is found.
_SEARCH_START_M = 25.0
_SEARCH_GROWTH = 2.0
# A network's first window is the ladder step nearest to this share of the mean
# spacing of its pipes (sparse networks start wide instead of climbing the ladder).
_SEARCH_START_SPACING = 0.25
# Float slack so that rounding never drops a pipe lying exactly at a bound.
_SLACK_REL = 1e-9
_SLACK_ABS = 1e-6
_NO_INDEX = np.iinfo(np.int64).max
_LINESTRING_TYPE_ID = 1
_MULTILINESTRING_TYPE_ID = 5
_MIN_LINE_COORDINATES = 2
_MULTIPOLYGON_TYPE_ID = 6
# Default thread count cap (2-4 cores is typical here).
_MAX_WORKERS = 4
#: Searches per community: every network, existing and planned mains (see _SearchTrees).
_SEARCHES = 2 * len(_NETWORK_ORDER)
# Fewer communities than this per thread are searched in one thread: a search
# round has a fixed cost that a second thread does not share.
_MIN_COMMUNITIES_PER_THREAD = 500

#: Columns of :func:`analyse_networks`, in order.
ANALYSIS_COLUMNS: tuple[str, ...] = (
    *(
        column
        for n in _NETWORK_ORDER
        for column in (
            f"dist_{n}_m",
            f"near_{n}",
            f"planned_dist_{n}_m",
            f"planned_near_{n}",
            f"nearest_{n}_id",
        )
    ),
    "overhead_m",
    "overhead_owners",
    "combined_sewer",
    "gas_main_needed",
    "gas_main_planned",
    "deficiencies",
)

#: Pipeline deficiency codes, in the fixed order of the ``deficiencies`` tuples.
DEFICIENCY_CODES: tuple[str, ...] = (
    "no_water_main",
    "no_drainage",
    "combined_sewer",
    "no_gas_main",
    "overhead_lines",
    "no_power_main",
    "no_telecom_main",
)

#: Deficiency code -> (Chinese, English) label shown to users.
DEFICIENCY_LABELS: dict[str, tuple[str, str]] = {
    "no_water_main": (
        "周边无供水主管（需延伸供水管网）",
        "no water main within reach (water main extension needed)",
    ),
    "no_drainage": (
        "周边无雨水、污水或合流主管（需接入市政排水管网）",
        "no storm, foul or combined sewer within reach (connection to the municipal drains needed)",
    ),
    "combined_sewer": (
        "周边为雨污合流管（需雨污分流改造）",
        "combined sewer within reach (storm / foul water separation needed)",
    ),
    "no_gas_main": (
        "周边无燃气主管（需延伸燃气管道实现管道燃气入户）",
        "no gas main within reach (gas main extension needed)",
    ),
    "overhead_lines": (
        "小区内有架空电力或通信线（需架空线入地）",
        "overhead power or telecom lines cross the community (undergrounding needed)",
    ),
    "no_power_main": (
        "周边无供电主线（需延伸供电线路）",
        "no power main within reach (power line extension needed)",
    ),
    "no_telecom_main": (
        "周边无通信主管线（需延伸通信管线）",
        "no telecom main within reach (telecom line extension needed)",
    ),
}

#: Owner assumed for a network's work when the deciding pipe has no owner or
#: the network has no main at all. Telecom goes to 电信, which holds most of the
#: shared ducts (plan 五: 弱电 共建共享); the works table marks such rows
#: ``owner_inferred``.
DEFAULT_OWNERS: dict[str, str] = {
    str(Network.WATER): "水务集团",
    str(Network.RAIN): "住建局",
    str(Network.SEWER): "水务集团",
    str(Network.COMBINED): "住建局",
    str(Network.GAS): "燃气企业",
    str(Network.POWER): "供电局",
    str(Network.TELECOM): "电信",
}


@dataclass(frozen=True)
class _Work:
    """A kind of work an owner schedules: its network, short labels and item of the attached table."""

    network: str
    label_zh: str
    label_en: str
    item: str


_WORKS: dict[str, _Work] = {
    "water_renewal": _Work(
        str(Network.WATER),
        "供水管网更新改造、一户一表",
        "water pipe renewal, one meter per household",
        "1",
    ),
    "water_main_extension": _Work(str(Network.WATER), "延伸供水主管", "water main extension", "1"),
    "power_main_extension": _Work(str(Network.POWER), "延伸供电线路", "power line extension", "2"),
    "gas_main_extension": _Work(
        str(Network.GAS),
        "管道燃气入户（延伸燃气主管）",
        "piped gas to homes (gas main extension)",
        "3",
    ),
    "telecom_main_extension": _Work(
        str(Network.TELECOM), "延伸通信管线", "telecom line extension", "4"
    ),
    "overhead_undergrounding": _Work("", "架空线入地", "overhead lines put underground", "2、4"),
    "rain_sewer_separation": _Work(
        str(Network.COMBINED), "雨污分流改造", "storm / foul water separation", "5"
    ),
    "sewer_main_extension": _Work(
        str(Network.SEWER), "接入市政污水主管网", "connection to the municipal sewer", "5"
    ),
    "rain_main_extension": _Work(
        str(Network.RAIN), "接入市政雨水主管网", "connection to the municipal storm drain", "5"
    ),
}

#: Work code -> (Chinese, English) short label (the summary sheet's 工程类别).
WORK_LABELS: dict[str, tuple[str, str]] = {
    code: (work.label_zh, work.label_en) for code, work in _WORKS.items()
}
_WORK_ORDER = {code: pos for pos, code in enumerate(_WORKS)}

#: Columns of :func:`owner_works`, in order.
OWNER_WORKS_COLUMNS: tuple[str, ...] = (
    "owner",
    "community_id",
    "community_name",
    "county_code",
    "network",
    "work",
    "work_zh",
    "work_en",
    "quantity",
    "unit",
    "measured_m",
    "threshold_m",
    "reason_zh",
    "reason_en",
    "pipe_ids",
    "owner_inferred",
    "plan_item",
)

#: Column of :func:`owner_works` -> Chinese header used by :func:`export_owner_works`.
OWNER_WORKS_HEADERS: dict[str, str] = {
    "owner": "产权单位",
    "community_id": "小区编号",
    "community_name": "小区名称",
    "county_code": "所属区县",
    "network": "管线类别",
    "work": "工程代码",
    "work_zh": "工程内容",
    "work_en": "工程内容（英文）",
    "quantity": "工程量",
    "unit": "单位",
    "measured_m": "实测值（米）",
    "threshold_m": "服务半径（米）",
    "reason_zh": "依据",
    "reason_en": "依据（英文）",
    "pipe_ids": "相关管线编号",
    "owner_inferred": "产权单位为推定",
    "plan_item": "附件项目序号",
}
_METRE = "m"
#: What a main of each network is called in work texts: (Chinese, English).
_MAIN_LABELS: dict[str, tuple[str, str]] = {
    str(Network.WATER): ("供水主管", "water main"),
    str(Network.RAIN): ("雨水主管", "storm drain main"),
    str(Network.SEWER): ("污水主管", "sewer main"),
    str(Network.COMBINED): ("雨污合流管", "combined sewer"),
    str(Network.GAS): ("燃气主管", "gas main"),
    str(Network.POWER): ("供电线路", "power line"),
    str(Network.TELECOM): ("通信管线", "telecom line"),
}
_SUMMARY_SHEET = "汇总"
_INVALID_SHEET_CHARS = "[]:*?/\\"
_MAX_SHEET_NAME = 31


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def _require_geodataframe(frame: object, *, name: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SchemaError(
            f"{name} 应为带几何的 GeoDataFrame，实为 {type(frame).__name__} / {name} must be a "
            f"GeoDataFrame with geometry, found {type(frame).__name__}"
        )
    return frame


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], *, name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{name} 缺少字段 {missing} / {name} lacks the columns {missing}; "
            f"found {list(frame.columns)}"
        )


class _Serial:
    """Stand-in for a thread pool that runs every task at once, in the caller's thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future: Future[T] = Future()
        future.set_result(fn(*args))
        return future


def _measured(frame: gpd.GeoDataFrame) -> ObjectArray:
    """The geometries of ``frame`` in EPSG:4546 as a numpy array, one-part Multi* as parts.

    Only the geometry is reprojected (no attributes copied). A one-part
    MultiPolygon or MultiLineString becomes its single part first: GEOS
    measures distances between single parts 2-4 times faster, with the same
    result.
    """
    parts = _single_parts(np.asarray(frame.geometry.array, dtype=object))
    geometry = gpd.GeoDataFrame(geometry=parts, crs=frame.crs)
    return np.asarray(to_measure(geometry).geometry.array, dtype=object)


def _measured_targets(frame: gpd.GeoDataFrame) -> tuple[ObjectArray, ObjectArray]:
    """The communities in EPSG:4546 as :func:`gislib.crs.to_measure` gives them, and as parts.

    The first array is the reprojected geometry (kept for the eligibility
    check, which measures the same layer); the second has one-part
    MultiPolygons as their polygon (:func:`_measured`): the same coordinates,
    since every point is transformed on its own.
    """
    require_crs(frame, name="communities")
    geometry = np.asarray(frame.geometry.array, dtype=object)
    if len(geometry) and not shapely.has_z(geometry).any():
        # What GeoSeries.to_crs does for 2D geometry (transform every coordinate,
        # set them on copies), with the transformation of _measured_lines (the
        # same coordinates: a test compares them), without its per-call set-up.
        coords = shapely.get_coordinates(geometry)
        transformer = _measure_transformer(CRS.from_user_input(frame.crs).to_wkt())
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        full = np.asarray(
            shapely.set_coordinates(geometry.copy(), np.column_stack([x, y])), dtype=object
        )
    else:
        full = np.asarray(frame.geometry.to_crs(MEASURE_CRS).array, dtype=object)
    return full, _single_parts(full)


@functools.lru_cache(maxsize=8)
def _measure_transformer(crs_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(crs_wkt), MEASURE_CRS, always_xy=True)


def _measured_lines(
    frame: gpd.GeoDataFrame, executor: ThreadPoolExecutor | _Serial | None = None, parts: int = 1
) -> ObjectArray:
    """The lines of ``frame`` in EPSG:4546, one-part MultiLineStrings as LineStrings.

    The same coordinates as :func:`gislib.crs.to_measure` (the same pyproj
    transformation, ``always_xy``; a test checks that they are equal), built
    in one pass: the coordinates of every single-part line are transformed
    together and the lines made from them, instead of cloning each geometry,
    setting its coordinates and then taking its part (half the time for a
    million pipes). Other geometries go through :func:`_measured`. With an
    ``executor``, the coordinates are transformed in ``parts`` chunks at once
    (pyproj transformers are thread-safe and release the GIL).
    """
    require_crs(frame, name="pipelines")
    geometry = np.asarray(frame.geometry.array, dtype=object)
    type_id = shapely.get_type_id(geometry)
    simple = (
        (type_id == _LINESTRING_TYPE_ID)
        | ((type_id == _MULTILINESTRING_TYPE_ID) & (shapely.get_num_geometries(geometry) == 1))
    ) & (shapely.get_num_coordinates(geometry) >= _MIN_LINE_COORDINATES)
    out = np.empty(len(geometry), dtype=object)
    if simple.any():
        coords, index = shapely.get_coordinates(geometry[simple], return_index=True)
        transformer = _measure_transformer(CRS.from_user_input(frame.crs).to_wkt())
        chunks = np.array_split(np.arange(len(coords)), max(parts, 1))
        run = executor or _Serial()
        # The other chunks go to the pool; the first is done here meanwhile.
        done = [run.submit(transformer.transform, coords[c, 0], coords[c, 1]) for c in chunks[1:]]
        first = transformer.transform(coords[chunks[0], 0], coords[chunks[0], 1])
        xy = np.concatenate([np.column_stack(first)] + [np.column_stack(f.result()) for f in done])
        out[simple] = shapely.linestrings(xy, indices=index)
    if not simple.all():
        out[~simple] = _measured(frame.loc[~simple])
    return out


def _text(series: pd.Series) -> ObjectArray:
    """A text column as an object array of str, missing values as ``""``."""
    return np.asarray(series.astype("string").fillna("").to_numpy(dtype=object), dtype=object)


def _codes(series: pd.Series, choices: Sequence[str]) -> IntArray:
    """Position of each value in ``choices``, ``-1`` for a missing or unknown value."""
    codes, uniques = pd.factorize(series)
    lookup = np.array([choices.index(u) if u in choices else -1 for u in uniques] + [-1])
    return np.asarray(lookup[codes], dtype=np.int64)  # code -1 (missing) picks the last -1


def _flags(frame: pd.DataFrame, column: str) -> BoolArray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    values = frame[column]
    if values.dtype == bool:
        return values.to_numpy()
    return np.asarray(values.astype("boolean").fillna(False).to_numpy(dtype=bool), dtype=bool)


@dataclass(frozen=True)
class _Pipes:
    """The pipelines layer reduced to arrays: positions index the input rows."""

    geometry: ObjectArray  # EPSG:4546, only the usable rows are ever read
    network: IntArray  # index into _NETWORK_ORDER, -1 unknown
    status: IntArray  # 0 existing, 1 planned, -1 other
    overhead: BoolArray
    usable: BoolArray  # known network and status, non-empty geometry

    def overhead_positions(self) -> IntArray:
        nets = [_NETWORK_ORDER.index(n) for n in _OVERHEAD_NETWORKS]
        wanted = self.usable & self.overhead & (self.status == 0) & np.isin(self.network, nets)
        return np.flatnonzero(wanted)


def _pipes(
    pipelines: gpd.GeoDataFrame,
    executor: ThreadPoolExecutor | _Serial | None = None,
    parts: int = 1,
) -> _Pipes:
    _require_columns(pipelines, ("pipe_id", "network", "status"), name="pipelines")
    geometry = _measured_lines(pipelines, executor, parts)
    network = _codes(pipelines["network"], _NETWORK_ORDER)
    status = _codes(pipelines["status"], (_EXISTING, _PLANNED))
    present = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    usable = present & (network >= 0) & (status >= 0)
    skipped = int((present & ~usable).sum())
    if skipped:
        logger.warning(
            "%d pipelines with an unknown network or status are not used; networks are %s, "
            "statuses %s",
            skipped,
            _NETWORK_ORDER,
            (_EXISTING, _PLANNED),
        )
    return _Pipes(geometry, network, status, _flags(pipelines, "overhead"), usable)


def _check_inputs(
    communities: object, pipelines: object
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    comm = _require_geodataframe(communities, name="communities")
    pipes = _require_geodataframe(pipelines, name="pipelines")
    require_same_crs(comm, pipes, names=("communities", "pipelines"))
    return comm, pipes


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


def _single_parts(geometry: ObjectArray) -> ObjectArray:
    """Replace one-part MultiPolygons and MultiLineStrings by their part."""
    single = shapely.get_num_geometries(geometry) == 1
    multi = single & np.isin(
        shapely.get_type_id(geometry), (_MULTILINESTRING_TYPE_ID, _MULTIPOLYGON_TYPE_ID)
    )
    if not multi.any():
        return geometry
    out = geometry.copy()
    out[multi] = shapely.get_geometry(geometry[multi], 0)
    return out


def _ladder_level(distance: float, *, start: float, growth: float) -> int:
    """The lowest level of the ladder ``start * growth**level`` (m) reaching ``distance`` (m)."""
    ratio = max(distance, start) / start
    level = max(math.ceil(math.log(ratio) / math.log(growth)), 0)
    return level + 1 if start * growth**level < distance else level


class _Windows:
    """Search windows around the communities on a ladder of radii, each made once.

    Level ``k`` is the community's envelope grown by ``start * growth**k``
    metres (plus a hair, so that float rounding never drops a pipe lying
    exactly at that distance). A window is a two-point line from the lower
    left to the upper right corner: an STRtree query without a predicate
    reads only its envelope, and such lines are cheaper to build than boxes.
    The searches of every network and status share them.
    """

    def __init__(self, targets: ObjectArray, *, start: float, growth: float) -> None:
        self.targets = targets
        self.bounds = np.asarray(shapely.bounds(targets), dtype=np.float64)
        self.start = start
        self.growth = growth
        self._made: dict[int, tuple[BoolArray, ObjectArray]] = {}

    def radius(self, level: int) -> float:
        return float(self.start * self.growth**level)

    def make(self, which: IntArray, radius: FloatArray) -> ObjectArray:
        """Windows of their own ``radius`` (m) for the communities at ``which`` (not kept)."""
        pad = (radius * (1 + _SLACK_REL) + _SLACK_ABS)[:, None]
        bounds = self.bounds[which]
        return np.asarray(
            shapely.linestrings(np.stack([bounds[:, :2] - pad, bounds[:, 2:] + pad], axis=1)),
            dtype=object,
        )

    def get(self, level: int, which: IntArray) -> ObjectArray:
        """The level-``level`` windows of the communities at ``which`` (repeats allowed)."""
        if level not in self._made:
            n = len(self.targets)
            self._made[level] = (np.zeros(n, dtype=bool), np.empty(n, dtype=object))
        made, windows = self._made[level]
        need = which[~made[which]]
        if need.size:
            need = np.unique(need)
            pad = self.radius(level) * (1 + _SLACK_REL) + _SLACK_ABS
            bounds = self.bounds[need]
            corners = np.stack([bounds[:, :2] - pad, bounds[:, 2:] + pad], axis=1)
            windows[need] = shapely.linestrings(corners)
            made[need] = True
        return np.asarray(windows[which], dtype=object)


def _group_starts(group: IntArray) -> IntArray:
    """Start of each run of equal values in a sorted, non-empty array."""
    first = np.empty(group.size, dtype=bool)
    first[0] = True
    np.not_equal(group[1:], group[:-1], out=first[1:])
    return np.flatnonzero(first)


@dataclass(frozen=True)
class _SearchTrees:
    """One STRtree per search (a network and a status) over its usable pipes, built once.

    Search ``g`` is network ``g // 2`` of :data:`_NETWORK_ORDER` with status
    ``g % 2`` (0 existing, 1 planned); a search without pipes has no tree.
    The trees are only read once built, so several threads may query them.
    """

    trees: tuple[shapely.STRtree | None, ...]
    positions: tuple[IntArray, ...]  # pipe position of each tree item, ascending
    bounds: tuple[FloatArray, ...]  # envelope of each tree item (compact: read per candidate)
    start: tuple[int, ...]  # first ladder level of each search


def _search_trees(
    pipes: _Pipes, pipe_bounds: FloatArray, target_bounds: FloatArray
) -> _SearchTrees:
    """Build the trees, and pick each search's first window near a share of its pipe spacing.

    The spacing is taken over the extent of the pipes and the communities,
    so a sparse network starts wide instead of climbing the whole ladder.
    """
    search = pipes.network * 2 + pipes.status
    usable = np.flatnonzero(pipes.usable)
    order = usable[np.argsort(search[usable], kind="stable")]  # by search, then position
    cuts = np.searchsorted(search[order], np.arange(_SEARCHES + 1))
    comm_low = np.nanmin(target_bounds[:, :2], axis=0, initial=np.inf)
    comm_high = np.nanmax(target_bounds[:, 2:], axis=0, initial=-np.inf)
    trees: list[shapely.STRtree | None] = []
    positions: list[IntArray] = []
    envelopes: list[FloatArray] = []
    start: list[int] = []
    for g in range(_SEARCHES):
        mine = order[cuts[g] : cuts[g + 1]]
        bounds = pipe_bounds[mine]
        positions.append(mine)
        envelopes.append(bounds)
        if mine.size == 0:
            trees.append(None)
            start.append(0)
            continue
        trees.append(shapely.STRtree(pipes.geometry[mine]))
        low = np.minimum(comm_low, bounds[:, :2].min(axis=0))
        high = np.maximum(comm_high, bounds[:, 2:].max(axis=0))
        spacing = math.sqrt(max(float(np.prod(high - low)), 1.0) / mine.size)
        start.append(
            _ladder_level(
                _SEARCH_START_SPACING * spacing, start=_SEARCH_START_M, growth=_SEARCH_GROWTH
            )
        )
    return _SearchTrees(tuple(trees), tuple(positions), tuple(envelopes), tuple(start))


def _closest(
    source: IntArray,
    hit: IntArray,
    hit_bounds: FloatArray,
    community: IntArray,
    targets: ObjectArray,
    target_bounds: FloatArray,
    pipe_geometry: ObjectArray,
) -> tuple[FloatArray, IntArray]:
    """One search round: for each row (a community and a search), the closest of its candidates.

    ``source`` (sorted) and ``hit`` pair each row with the positions of the
    pipes whose envelope meets its window (``hit_bounds`` their envelopes);
    ``community`` is each row's community. Returns per row the distance (inf without a candidate) and the
    position of the closest pipe (the lowest among equidistant ones, -1 if none).
    """
    best_d = np.full(community.size, np.inf)
    best_hit = np.full(community.size, -1, dtype=np.int64)
    if source.size == 0:
        return best_d, best_hit
    starts = _group_starts(source)
    counts = np.diff(np.append(starts, source.size))
    owner = source[starts]
    source_community = np.repeat(community[owner], counts)
    # Lower bound of each candidate's distance: the distance between the envelopes.
    hb = hit_bounds
    tb = np.repeat(target_bounds[community[owner]], counts, axis=0)
    dx = np.maximum(np.maximum(hb[:, 0] - tb[:, 2], tb[:, 0] - hb[:, 2]), 0.0)
    dy = np.maximum(np.maximum(hb[:, 1] - tb[:, 3], tb[:, 1] - hb[:, 3]), 0.0)
    bound = np.hypot(dx, dy)
    lowest = np.repeat(np.minimum.reduceat(bound, starts), counts)
    row = np.arange(source.size)
    pick = np.minimum.reduceat(np.where(bound == lowest, row, _NO_INDEX), starts)
    first = shapely.distance(targets[source_community[pick]], pipe_geometry[hit[pick]])
    # Only candidates whose bound does not exceed that distance can be closer (or tie).
    measured = bound <= np.repeat(first * (1 + _SLACK_REL) + _SLACK_ABS, counts)
    measured[pick] = False
    if not measured.any():
        best_d[owner] = first
        best_hit[owner] = hit[pick]
        return best_d, best_hit
    more = np.flatnonzero(measured)
    found = np.empty(source.size)
    found[pick] = first
    found[more] = shapely.distance(targets[source_community[more]], pipe_geometry[hit[more]])
    measured[pick] = True
    rows = np.flatnonzero(measured)
    found, group = found[rows], source[rows]
    starts = _group_starts(group)
    counts = np.diff(np.append(starts, group.size))
    shortest = np.minimum.reduceat(found, starts)
    tie = found == np.repeat(shortest, counts)
    best_d[owner] = shortest
    best_hit[owner] = np.minimum.reduceat(np.where(tie, hit[rows], _NO_INDEX), starts)
    return best_d, best_hit


def _query(
    trees: _SearchTrees, keys: IntArray, boxes: ObjectArray, n: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Query each search's tree with the windows of its rows; ``keys`` (sorted) are ``g * n + i``.

    Returns the row of each candidate (sorted), the candidate's pipe position
    and its envelope.
    """
    cuts = np.searchsorted(keys, np.arange(_SEARCHES + 1) * n).tolist()
    sources: list[IntArray] = []
    hits: list[IntArray] = []
    envelopes: list[FloatArray] = []
    for g, tree in enumerate(trees.trees):
        lo, hi = cuts[g], cuts[g + 1]
        if tree is None or lo == hi:
            continue
        source, hit = tree.query(boxes[lo:hi])
        sources.append(source + lo)
        hits.append(trees.positions[g][hit])
        envelopes.append(trees.bounds[g][hit])
    if not sources:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, 4))
    source, hit = np.concatenate(sources), np.concatenate(hits)
    bounds = np.concatenate(envelopes)
    if np.any(source[1:] < source[:-1]):  # shapely 2.0-2.2 return them in order already
        order = np.argsort(source, kind="stable")
        source, hit, bounds = source[order], hit[order], bounds[order]
    return source, hit, bounds


def _nearest(
    windows: _Windows, trees: _SearchTrees, pipe_geometry: ObjectArray
) -> tuple[FloatArray, IntArray]:
    """Distance (m) from each community to the nearest pipe of every search, and its position.

    Returns two ``(searches, communities)`` arrays (see :class:`_SearchTrees`).
    Exact: equal to ``min(shapely.distance(community, pipe))`` over the
    search's pipes, and among equidistant pipes the lowest position, as a
    brute-force ``argmin`` picks. Communities without a pipe get NaN and -1.

    All the searches advance together, in rounds; each open (community,
    search) pair queries the pipes whose envelope meets its window and
    measures the closest (:func:`_closest`). A distance within the window's
    radius is final: every pipe that close meets the window. A pair whose
    closest pipe lies beyond the radius is searched once more with a window
    of exactly that radius (which then settles it); one without any pipe in
    its window moves up the ladder.
    """
    targets, target_bounds = windows.targets, windows.bounds
    n = len(targets)
    distance = np.full(_SEARCHES * n, np.nan)
    nearest = np.full(_SEARCHES * n, -1, dtype=np.int64)
    valid = np.flatnonzero(~np.isnan(target_bounds[:, 0]))  # empty geometries have NaN bounds
    searched = [g for g, tree in enumerate(trees.trees) if tree is not None]
    if valid.size and searched:
        # Open pairs, as keys g * n + i in ascending order: on the ladder at their level,
        # or to retry with a window of their own radius.
        todo = np.concatenate([g * n + valid for g in searched])
        level = np.concatenate([np.full(valid.size, trees.start[g]) for g in searched])
        retry = np.zeros(0, dtype=np.int64)
        retry_radius = np.zeros(0)
        while todo.size or retry.size:
            keys = np.concatenate([retry, todo])
            community = keys % n
            radius = np.concatenate([retry_radius, np.empty(todo.size)])
            boxes = np.empty(keys.size, dtype=object)
            boxes[: retry.size] = windows.make(community[: retry.size], retry_radius)
            for k in np.unique(level).tolist():
                at = np.flatnonzero(level == k) + retry.size
                radius[at] = windows.radius(k)
                boxes[at] = windows.get(k, community[at])
            up = np.concatenate([np.full(retry.size, -1, dtype=np.int64), level + 1])
            if retry.size and todo.size:
                order = np.argsort(keys, kind="stable")  # two sorted runs: one merge
                keys, community, radius = keys[order], community[order], radius[order]
                boxes, up = boxes[order], up[order]
            source, hit, hit_bounds = _query(trees, keys, boxes, n)
            best_d, best_hit = _closest(
                source, hit, hit_bounds, community, targets, target_bounds, pipe_geometry
            )
            final = best_d <= radius
            distance[keys[final]] = best_d[final]
            nearest[keys[final]] = best_hit[final]
            seen = ~final & np.isfinite(best_d)
            retry, retry_radius = keys[seen], best_d[seen]
            unseen = ~final & ~seen  # only on the ladder: a retry always meets its pipe again
            todo, level = keys[unseen], up[unseen]
    return distance.reshape(_SEARCHES, n), nearest.reshape(_SEARCHES, n)


def _nearest_in_chunks(
    targets: ObjectArray,
    trees: _SearchTrees,
    pipe_geometry: ObjectArray,
    executor: ThreadPoolExecutor | _Serial,
    chunks: int,
) -> tuple[FloatArray, IntArray]:
    """:func:`_nearest` over ``chunks`` interleaved shares of the communities, at once.

    The shares take every ``chunks``-th community, so each gets its share of
    dense and sparse districts; the result does not depend on ``chunks``.
    """
    if chunks <= 1:
        return _nearest(_windows(targets), trees, pipe_geometry)
    n = len(targets)
    shares = [np.arange(c, n, chunks) for c in range(chunks)]
    # The other shares go to the pool (beside the overhead lines); the first is
    # searched in this thread meanwhile.
    done = [
        executor.submit(_nearest, _windows(targets[share]), trees, pipe_geometry)
        for share in shares[1:]
    ]
    distance = np.empty((_SEARCHES, n))
    nearest = np.empty((_SEARCHES, n), dtype=np.int64)
    first = _nearest(_windows(targets[shares[0]]), trees, pipe_geometry)
    distance[:, shares[0]], nearest[:, shares[0]] = first
    for share, future in zip(shares[1:], done, strict=True):
        distance[:, share], nearest[:, share] = future.result()
    return distance, nearest


def _windows(targets: ObjectArray) -> _Windows:
    return _Windows(targets, start=_SEARCH_START_M, growth=_SEARCH_GROWTH)


@dataclass(frozen=True)
class _OverheadPieces:
    """Overhead lines inside communities: one entry per (community, line) with length > 0."""

    community: IntArray  # position in the communities
    pipe: IntArray  # position in the pipelines
    length: FloatArray  # metres inside the community, EPSG:4546


def _overhead_pieces(targets: ObjectArray, pipes: _Pipes) -> _OverheadPieces:
    positions = pipes.overhead_positions()
    empty = _OverheadPieces(
        np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    )
    if positions.size == 0 or len(targets) == 0:
        return empty
    tree = shapely.STRtree(pipes.geometry[positions])
    source, hit = tree.query(targets, predicate="intersects")
    if source.size == 0:
        return empty
    polygons = targets[source]
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():
        polygons = polygons.copy()
        polygons[invalid] = shapely.make_valid(polygons[invalid])
    lines = pipes.geometry[positions[hit]]
    length = np.asarray(shapely.length(shapely.intersection(lines, polygons)), dtype=np.float64)
    inside = length > 0
    return _OverheadPieces(source[inside], positions[hit][inside], length[inside])


def _take_text(frame: pd.DataFrame, column: str, positions: IntArray) -> ObjectArray:
    """Text of ``column`` at ``positions`` (-1 and missing values give ``""``).

    Converts only the rows asked for: a million pipe ids cost more to turn
    into Python strings than the search that picked a few of them.
    """
    out = np.full(positions.size, "", dtype=object)
    if column not in frame.columns or positions.size == 0:
        return out
    found = positions >= 0
    wanted, inverse = np.unique(positions[found], return_inverse=True)
    series = frame[column]
    if series.dtype == pd.StringDtype(na_value=np.nan):  # what _text gives, without pandas
        taken = series.array.take(wanted).fillna("")
        values = np.asarray(taken.to_numpy(dtype=object), dtype=object)
    else:
        values = _text(series.iloc[wanted])
    out[found] = values[inverse]
    return out


def _take_text_columns(
    frame: pd.DataFrame, column: str, positions: IntArray, parts: int
) -> list[Any]:
    """:func:`_take_text` cut into ``parts`` equal columns, as pandas would store each.

    When ``column`` has pandas' default ``str`` dtype (what pandas infers for
    the object arrays of str that :func:`_take_text` gives), the values are
    taken from its array directly (missing and -1 become ``""``), without
    making a Python string of each.
    """
    size = positions.size // parts if parts else 0
    values = frame[column] if column in frame.columns else None
    if size and values is not None and values.dtype == pd.StringDtype(na_value=np.nan):
        taken = values.array.take(positions, allow_fill=True).fillna("")
        return [taken[k * size : (k + 1) * size] for k in range(parts)]
    return list(_take_text(frame, column, positions).reshape(parts, size))


def _owners_at(
    frame: pd.DataFrame, pipes: _Pipes, positions: IntArray
) -> tuple[ObjectArray, BoolArray]:
    """Owner of the pipes at ``positions`` and whether it was inferred from the network.

    A pipe without an owner gets the network's :data:`DEFAULT_OWNERS` entry.
    """
    owners = _take_text(frame, "owner", positions)
    inferred = owners == ""
    if inferred.any():
        defaults = np.array([DEFAULT_OWNERS[n] for n in _NETWORK_ORDER] + [""], dtype=object)
        network = np.where(positions >= 0, pipes.network[np.maximum(positions, 0)], -1)
        owners[inferred] = defaults[network[inferred]]
    return owners, np.asarray(inferred, dtype=bool)


def _join_sets(group: IntArray, labels: ObjectArray, n: int) -> ObjectArray:
    """For each of ``n`` groups, its members' distinct ``labels``, sorted and joined by "、".

    Built with one bit per label, so the Python work is per distinct
    combination of labels, not per row; groups without members get ``""``.
    """
    out = np.full(n, "", dtype=object)
    if group.size == 0:
        return out
    codes, vocabulary = pd.factorize(pd.Series(labels, dtype=object), sort=True)
    if len(vocabulary) > _MAX_BITMASK_OWNERS:
        sets: dict[int, set[str]] = {}
        for key, label in zip(group.tolist(), labels.tolist(), strict=True):
            sets.setdefault(key, set()).add(str(label))
        for key, members in sets.items():
            out[key] = _OWNER_SEPARATOR.join(sorted(members))
        return out
    masks = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(masks, group, np.left_shift(1, codes.astype(np.int64)))
    distinct, inverse = np.unique(masks, return_inverse=True)
    texts = np.array(
        [
            _OWNER_SEPARATOR.join(str(vocabulary[j]) for j in range(len(vocabulary)) if m >> j & 1)
            for m in distinct.tolist()
        ],
        dtype=object,
    )
    return np.asarray(texts[inverse], dtype=object)


def _deficiency_tuples(flags: BoolArray) -> ObjectArray:
    """Rows of an (n, k) flag matrix as tuples of :data:`DEFICIENCY_CODES`."""
    weights = np.left_shift(1, np.arange(flags.shape[1], dtype=np.int64))
    masks = flags.astype(np.int64) @ weights
    distinct, inverse = np.unique(masks, return_inverse=True)
    values = np.empty(distinct.size, dtype=object)
    for pos, mask in enumerate(distinct.tolist()):
        values[pos] = tuple(c for j, c in enumerate(DEFICIENCY_CODES) if mask >> j & 1)
    out = np.empty(flags.shape[0], dtype=object)
    out[:] = values[inverse] if flags.shape[0] else []
    return out


def _workers(workers: int | None) -> int:
    if workers is None:
        return max(1, min(os.cpu_count() or 1, _MAX_WORKERS))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    return workers


@dataclass(frozen=True)
class _Measured:
    """Everything :func:`analyse_networks` measures, as arrays by community position."""

    distance: dict[tuple[str, str], FloatArray]
    nearest: dict[str, IntArray]
    overhead: _OverheadPieces
    communities: ObjectArray  # EPSG:4546, as to_measure gives them


def _measure_all(
    comm: gpd.GeoDataFrame, pipe_frame: gpd.GeoDataFrame, *, workers: int
) -> tuple[_Measured, _Pipes]:
    """Reproject both layers once, then search all networks and statuses and the overhead lines.

    With ``workers > 1`` the reprojections share a thread pool, the overhead
    lines are cut beside the searches, and with at least
    :data:`_MIN_COMMUNITIES_PER_THREAD` communities per thread the searches
    are split over the threads (GEOS and numpy release the GIL); the results
    do not depend on it.
    """
    pool: ThreadPoolExecutor | None = None
    executor: ThreadPoolExecutor | _Serial = _Serial()
    if workers > 1:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gislib-networks")
        executor = pool
    try:
        targets_future = executor.submit(_measured_targets, comm)
        pipes = _pipes(pipe_frame, executor, workers)
        pipe_bounds = np.asarray(shapely.bounds(pipes.geometry), dtype=np.float64)
        full, targets = targets_future.result()
        overhead = executor.submit(_overhead_pieces, targets, pipes)
        trees = _search_trees(pipes, pipe_bounds, np.asarray(shapely.bounds(targets)))
        chunks = max(1, min(workers, len(targets) // _MIN_COMMUNITIES_PER_THREAD))
        distance, nearest = _nearest_in_chunks(targets, trees, pipes.geometry, executor, chunks)
        measured = _Measured(
            distance={
                (network, status): distance[2 * k + s]
                for k, network in enumerate(_NETWORK_ORDER)
                for s, status in enumerate((_EXISTING, _PLANNED))
            },
            nearest={network: nearest[2 * k] for k, network in enumerate(_NETWORK_ORDER)},
            overhead=overhead.result(),
            communities=full,
        )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return measured, pipes


def analyse_networks(
    communities: gpd.GeoDataFrame,
    pipelines: gpd.GeoDataFrame,
    *,
    policy: Policy,
    workers: int | None = None,
) -> pd.DataFrame:
    """Measure every community against the pipeline networks.

    Both layers are reprojected once to EPSG:4546; distances and lengths are
    metres. A distance is measured from the community polygon (boundary or
    interior) to the nearest main: 0 when the main touches or crosses it.
    Only rows of ``pipelines`` with a known ``network`` and ``status``
    (``existing`` / ``planned``) and a non-empty geometry are used. Each
    network and status is searched with one STRtree for all communities at
    once; the results equal a brute-force minimum of ``shapely.distance``
    over every pipe, ties going to the first pipe of ``pipelines``.

    Parameters
    ----------
    communities : GeoDataFrame
        Community polygons (stored layers are EPSG:4490). Only the geometry is
        read; the index is kept.
    pipelines : GeoDataFrame
        Pipelines in the same CRS, with columns ``pipe_id``, ``network``
        (:class:`gislib.schema.Network`), ``status`` and optionally
        ``overhead`` (missing = False) and ``owner``.
    policy : Policy
        ``policy.reach_m[network]`` (metres) says how far a main may lie to
        serve a community.
    workers : int, optional
        Threads for the searches; default: the number of CPUs, at most 4.
        The result does not depend on it.

    Returns
    -------
    DataFrame
        Indexed like ``communities``, columns :data:`ANALYSIS_COLUMNS`:

        * for each network ``n``: ``dist_{n}_m`` (float, m to the nearest
          existing main, NaN when the network has no existing main at all),
          ``near_{n}`` (bool, ``dist <= reach``), ``planned_dist_{n}_m`` and
          ``planned_near_{n}`` (the same for planned mains) and
          ``nearest_{n}_id`` (``pipe_id`` of the nearest existing main, ``""``
          if none);
        * ``overhead_m`` (float, m of existing overhead power and telecom
          lines inside the polygon) and ``overhead_owners`` (their owners,
          sorted, joined by "、", ``""`` if none);
        * ``combined_sewer`` (a combined main is near), ``gas_main_needed``
          (no gas main near), ``gas_main_planned`` (needed, and a planned gas
          main is near);
        * ``deficiencies``: tuple of :data:`DEFICIENCY_CODES`, in that order.

    Raises
    ------
    SchemaError
        An input is not a GeoDataFrame, or ``pipelines`` lacks ``pipe_id``,
        ``network`` or ``status``.
    CRSError
        A layer has no CRS, or the two layers differ in CRS.

    Examples
    --------
    >>> from gislib.datasets import sample_workspace_path
    >>> from gislib.policy import load_policy
    >>> from gislib.store import open_workspace
    >>> ws = open_workspace(sample_workspace_path())
    >>> result = analyse_networks(
    ...     ws.read("communities"), ws.read("pipelines"), policy=load_policy()
    ... )
    >>> len(result), bool(result["gas_main_needed"].any())
    (600, True)
    """
    return _analyse_networks(communities, pipelines, policy=policy, workers=workers)[0]


def _analyse_networks(
    communities: gpd.GeoDataFrame,
    pipelines: gpd.GeoDataFrame,
    *,
    policy: Policy,
    workers: int | None = None,
) -> tuple[pd.DataFrame, ObjectArray]:
    """:func:`analyse_networks`, and the communities' geometry in EPSG:4546 it measured.

    The eligibility check of a workspace reuses that geometry instead of
    reprojecting the communities a second time.
    """
    comm, pipe_frame = _check_inputs(communities, pipelines)
    measured, pipes = _measure_all(comm, pipe_frame, workers=_workers(workers))
    n = len(comm)
    columns: dict[str, Any] = {}
    near: dict[str, BoolArray] = {}
    planned_near: dict[str, BoolArray] = {}
    # The pipe ids of all networks' nearest mains in one pass over the pipe ids.
    nearest_ids = _take_text_columns(
        pipe_frame,
        "pipe_id",
        np.concatenate([measured.nearest[network] for network in _NETWORK_ORDER]),
        len(_NETWORK_ORDER),
    )
    for k, network in enumerate(_NETWORK_ORDER):
        reach = float(policy.reach_m[network])
        dist = measured.distance[network, _EXISTING]
        planned = measured.distance[network, _PLANNED]
        near[network] = dist <= reach  # NaN compares False
        planned_near[network] = planned <= reach
        columns[f"dist_{network}_m"] = dist
        columns[f"near_{network}"] = near[network]
        columns[f"planned_dist_{network}_m"] = planned
        columns[f"planned_near_{network}"] = planned_near[network]
        columns[f"nearest_{network}_id"] = nearest_ids[k]

    pieces = measured.overhead
    overhead_m = np.bincount(pieces.community, weights=pieces.length, minlength=n)
    owners, _ = _owners_at(pipe_frame, pipes, pieces.pipe)
    columns["overhead_m"] = np.asarray(overhead_m, dtype=np.float64)
    columns["overhead_owners"] = _join_sets(pieces.community, owners, n)

    gas = str(Network.GAS)
    combined = near[str(Network.COMBINED)]
    gas_needed = ~near[gas]
    columns["combined_sewer"] = combined
    columns["gas_main_needed"] = gas_needed
    columns["gas_main_planned"] = gas_needed & planned_near[gas]
    drained = np.logical_or.reduce([near[d] for d in _DRAINAGE_NETWORKS])
    flags = np.column_stack(
        [
            ~near[str(Network.WATER)],
            ~drained,
            combined,
            gas_needed,
            overhead_m > 0,
            ~near[str(Network.POWER)],
            ~near[str(Network.TELECOM)],
        ]
    ).reshape(n, len(DEFICIENCY_CODES))
    columns["deficiencies"] = _deficiency_tuples(flags)
    result = pd.DataFrame(columns, index=comm.index)  # built in the order of ANALYSIS_COLUMNS
    logger.info(
        "analysed %d communities against %d pipelines: %d without a gas main in reach, "
        "%d with overhead lines, %d near a combined sewer",
        n,
        int(pipes.usable.sum()),
        int(gas_needed.sum()),
        int((overhead_m > 0).sum()),
        int(combined.sum()),
    )
    return result, measured.communities


# --------------------------------------------------------------------------
# Works per pipeline owner
# --------------------------------------------------------------------------


def _fmt_m(value: float) -> str:
    return f"{value:.0f} m"


@dataclass
class _WorkRows:
    """Rows of one kind of work, as parallel lists (turned into a frame at the end)."""

    position: list[int]
    owner: list[str]
    network: list[str]
    work_zh: list[str]
    work_en: list[str]
    quantity: list[float]
    measured: list[float]
    threshold: list[float]
    reason_zh: list[str]
    reason_en: list[str]
    pipe_ids: list[str]
    inferred: list[bool]
    code: str

    @classmethod
    def empty(cls, code: str) -> _WorkRows:
        return cls([], [], [], [], [], [], [], [], [], [], [], [], code)

    def add(
        self,
        position: int,
        *,
        owner: str,
        network: str,
        work: tuple[str, str],
        quantity: float,
        measured: float,
        threshold: float,
        reason: tuple[str, str],
        pipe_ids: str,
        inferred: bool,
    ) -> None:
        self.position.append(position)
        self.owner.append(owner)
        self.network.append(network)
        self.work_zh.append(work[0])
        self.work_en.append(work[1])
        self.quantity.append(quantity)
        self.measured.append(measured)
        self.threshold.append(threshold)
        self.reason_zh.append(reason[0])
        self.reason_en.append(reason[1])
        self.pipe_ids.append(pipe_ids)
        self.inferred.append(inferred)


def _main_owners(
    analysis: pd.DataFrame, pipelines: gpd.GeoDataFrame
) -> dict[str, tuple[ObjectArray, BoolArray]]:
    """Per network: owner of each community's nearest existing main, and whether it is inferred."""
    wanted: set[str] = set()
    for network in _NETWORK_ORDER:
        wanted.update(analysis[f"nearest_{network}_id"].astype(str).tolist())
    wanted.discard("")
    known: dict[str, str] = {}
    if "owner" in pipelines.columns and wanted:
        rows = pipelines.loc[
            pipelines["pipe_id"].astype("string").isin(sorted(wanted)).fillna(False).to_numpy()
        ]
        pairs = zip(_text(rows["pipe_id"]).tolist(), _text(rows["owner"]).tolist(), strict=True)
        for pipe_id, owner in reversed(list(pairs)):  # the first row of an id wins
            known[pipe_id] = owner
    out = {}
    for network in _NETWORK_ORDER:
        nearest = analysis[f"nearest_{network}_id"].astype(str).tolist()
        owner = np.array([known.get(pipe_id, "") for pipe_id in nearest], dtype=object)
        inferred = owner == ""
        owner[inferred] = DEFAULT_OWNERS[network]
        out[network] = (owner, np.asarray(inferred, dtype=bool))
    return out


def _overhead_by_owner(comm: gpd.GeoDataFrame, pipelines: gpd.GeoDataFrame) -> pd.DataFrame:
    """Length (m) of overhead lines inside each community per owner and network."""
    columns = ["position", "owner", "network", "length", "pipe_ids", "inferred"]
    if "overhead" not in pipelines.columns:
        return pd.DataFrame(columns=columns)
    overhead = _flags(pipelines, "overhead")
    candidate = overhead & pipelines["network"].isin(_OVERHEAD_NETWORKS).fillna(False).to_numpy(
        dtype=bool
    )
    subset = pipelines.loc[candidate]
    if subset.empty or comm.empty:
        return pd.DataFrame(columns=columns)
    pipes = _pipes(subset)
    pieces = _overhead_pieces(_measured(comm), pipes)
    owners, inferred = _owners_at(subset, pipes, pieces.pipe)
    frame = pd.DataFrame(
        {
            "position": pieces.community,
            "owner": owners,
            "network": np.array(_NETWORK_ORDER, dtype=object)[pipes.network[pieces.pipe]],
            "length": pieces.length,
            "pipe_ids": _take_text(subset, "pipe_id", pieces.pipe),
            "inferred": inferred,
        }
    )
    return (
        frame.groupby(["position", "owner", "network"], sort=True)
        .agg(
            length=("length", "sum"),
            pipe_ids=("pipe_ids", lambda v: _OWNER_SEPARATOR.join(sorted(set(v)))),
            inferred=("inferred", "any"),
        )
        .reset_index()[columns]
    )


def _extension_rows(
    code: str,
    network: str,
    selected: BoolArray,
    analysis: pd.DataFrame,
    owners: tuple[ObjectArray, BoolArray],
    reach: float,
    *,
    context: tuple[str, str] = ("", ""),
) -> _WorkRows:
    """Rows of a main extension for the ``selected`` communities (no main of ``network`` near)."""
    rows = _WorkRows.empty(code)
    main_zh, main_en = _MAIN_LABELS[network]
    dist = analysis[f"dist_{network}_m"].to_numpy(dtype=np.float64)
    pid = analysis[f"nearest_{network}_id"].astype(str).to_numpy(dtype=object)
    for pos in np.flatnonzero(selected).tolist():
        d = float(dist[pos])
        if math.isnan(d):
            work = (
                f"延伸{main_zh}接入小区（数据中无现状{main_zh}，长度待勘测）",
                f"extend the {main_en} to the community (no existing {main_en} in the data; "
                "length to be surveyed)",
            )
            reason = (
                f"{context[0]}数据中无现状{main_zh}（服务半径 {_fmt_m(reach)}）",
                f"{context[1]}no existing {main_en} in the data (reach {_fmt_m(reach)})",
            )
        else:
            work = (
                f"延伸{main_zh}接入小区（约 {_fmt_m(d)}）",
                f"extend the {main_en} to the community (about {_fmt_m(d)})",
            )
            reason = (
                f"{context[0]}最近现状{main_zh} {pid[pos]} 距小区 {_fmt_m(d)}，"
                f"超过服务半径 {_fmt_m(reach)}",
                f"{context[1]}nearest existing {main_en} {pid[pos]} is {_fmt_m(d)} away, "
                f"beyond the {_fmt_m(reach)} reach",
            )
        rows.add(
            pos,
            owner=str(owners[0][pos]),
            network=network,
            work=work,
            quantity=d,
            measured=d,
            threshold=reach,
            reason=reason,
            pipe_ids=str(pid[pos]),
            inferred=bool(owners[1][pos]),
        )
    return rows


def _gas_rows(
    analysis: pd.DataFrame, owners: tuple[ObjectArray, BoolArray], reach: float
) -> _WorkRows:
    gas = str(Network.GAS)
    needed = analysis["gas_main_needed"].to_numpy(dtype=bool)
    planned = analysis["gas_main_planned"].to_numpy(dtype=bool)
    rows = _extension_rows("gas_main_extension", gas, needed & ~planned, analysis, owners, reach)
    for i, d in enumerate(rows.quantity):
        if math.isnan(d):
            rows.work_zh[i] = "管道燃气入户（数据中无现状燃气主管，需新建燃气主管，长度待勘测）"
            rows.work_en[i] = (
                "piped gas to homes (no existing gas main in the data; a new main is needed, "
                "length to be surveyed)"
            )
        else:
            rows.work_zh[i] = f"管道燃气入户（延伸燃气主管约 {_fmt_m(d)}）"
            rows.work_en[i] = f"piped gas to homes (extend the gas main about {_fmt_m(d)})"
    dist = analysis[f"dist_{gas}_m"].to_numpy(dtype=np.float64)
    planned_dist = analysis[f"planned_dist_{gas}_m"].to_numpy(dtype=np.float64)
    pid = analysis[f"nearest_{gas}_id"].astype(str).to_numpy(dtype=object)
    for pos in np.flatnonzero(needed & planned).tolist():
        d, p = float(dist[pos]), float(planned_dist[pos])
        existing_zh = "数据中无现状燃气主管" if math.isnan(d) else f"现状燃气主管距 {_fmt_m(d)}"
        existing_en = (
            "no existing gas main in the data"
            if math.isnan(d)
            else f"the nearest existing gas main is {_fmt_m(d)} away"
        )
        rows.add(
            pos,
            owner=str(owners[0][pos]),
            network=gas,
            work=(
                f"管道燃气入户（规划燃气主管建成后接入，约 {_fmt_m(p)}）",
                f"piped gas to homes (connect to the planned gas main once built, about {_fmt_m(p)})",
            ),
            quantity=p,
            measured=d,
            threshold=reach,
            reason=(
                f"{existing_zh}，超过服务半径 {_fmt_m(reach)}；规划燃气主管距 {_fmt_m(p)}，在服务半径内",
                f"{existing_en}, beyond the {_fmt_m(reach)} reach; a planned gas main lies "
                f"{_fmt_m(p)} away, within reach",
            ),
            pipe_ids=str(pid[pos]),
            inferred=bool(owners[1][pos]),
        )
    return rows


def _renewal_rows(
    analysis: pd.DataFrame, owners: tuple[ObjectArray, BoolArray], reach: float
) -> _WorkRows:
    water = str(Network.WATER)
    rows = _WorkRows.empty("water_renewal")
    dist = analysis[f"dist_{water}_m"].to_numpy(dtype=np.float64)
    pid = analysis[f"nearest_{water}_id"].astype(str).to_numpy(dtype=object)
    for pos in np.flatnonzero(analysis[f"near_{water}"].to_numpy(dtype=bool)).tolist():
        d = float(dist[pos])
        rows.add(
            pos,
            owner=str(owners[0][pos]),
            network=water,
            work=(
                f"供水管网更新改造、一户一表（接入现状供水主管 {pid[pos]}，约 {_fmt_m(d)}）",
                f"renew the water pipes, one meter per household (connect to main {pid[pos]}, "
                f"about {_fmt_m(d)})",
            ),
            quantity=d,
            measured=d,
            threshold=reach,
            reason=(
                f"现状供水主管 {pid[pos]} 距小区 {_fmt_m(d)}，在服务半径 {_fmt_m(reach)} 内；"
                "附件第1项：更新老旧供水管道，一户一表、抄表到户",
                f"existing water main {pid[pos]} is {_fmt_m(d)} away, within the "
                f"{_fmt_m(reach)} reach; item 1 of the attached table: renew old pipes, "
                "one meter per household",
            ),
            pipe_ids=str(pid[pos]),
            inferred=bool(owners[1][pos]),
        )
    return rows


def _separation_rows(
    analysis: pd.DataFrame, owners: tuple[ObjectArray, BoolArray], policy: Policy
) -> _WorkRows:
    combined, sewer = str(Network.COMBINED), str(Network.SEWER)
    reach = float(policy.reach_m[combined])
    rows = _WorkRows.empty("rain_sewer_separation")
    dist = analysis[f"dist_{combined}_m"].to_numpy(dtype=np.float64)
    pid = analysis[f"nearest_{combined}_id"].astype(str).to_numpy(dtype=object)
    sewer_dist = analysis[f"dist_{sewer}_m"].to_numpy(dtype=np.float64)
    for pos in np.flatnonzero(analysis["combined_sewer"].to_numpy(dtype=bool)).tolist():
        d, q = float(dist[pos]), float(sewer_dist[pos])
        if math.isnan(q):
            work = (
                "雨污分流改造（数据中无现状污水主管，接驳长度待勘测）",
                "separate storm and foul water (no existing sewer main in the data; connection "
                "length to be surveyed)",
            )
        else:
            work = (
                f"雨污分流改造（新建污水管接入市政污水主管约 {_fmt_m(q)}）",
                f"separate storm and foul water (new sewer connection to the municipal sewer "
                f"main, about {_fmt_m(q)})",
            )
        rows.add(
            pos,
            owner=str(owners[0][pos]),
            network=combined,
            work=work,
            quantity=q,
            measured=d,
            threshold=reach,
            reason=(
                f"现状雨污合流管 {pid[pos]} 距小区 {_fmt_m(d)}，在服务半径 {_fmt_m(reach)} 内；"
                "附件第5项：雨污合流管道改造，实现雨污分流",
                f"existing combined sewer {pid[pos]} is {_fmt_m(d)} away, within the "
                f"{_fmt_m(reach)} reach; item 5 of the attached table: separate storm and "
                "foul water",
            ),
            pipe_ids=str(pid[pos]),
            inferred=bool(owners[1][pos]),
        )
    return rows


def _undergrounding_rows(overhead: pd.DataFrame) -> _WorkRows:
    rows = _WorkRows.empty("overhead_undergrounding")
    for position, owner, network, length, pipe_ids, inferred in zip(
        overhead["position"].tolist(),
        overhead["owner"].tolist(),
        overhead["network"].tolist(),
        overhead["length"].tolist(),
        overhead["pipe_ids"].tolist(),
        overhead["inferred"].tolist(),
        strict=True,
    ):
        net_zh, net_en = NETWORKS[network]
        rows.add(
            int(position),
            owner=str(owner),
            network=str(network),
            work=(
                f"架空线入地（{net_zh}，约 {_fmt_m(length)}）",
                f"put overhead {net_en} lines underground (about {_fmt_m(length)})",
            ),
            quantity=length,
            measured=length,
            threshold=0.0,
            reason=(
                f"{owner}的架空{net_zh}线在小区内长 {_fmt_m(length)}；"
                "附件第2、4项：线缆规整，原则上全部入地",
                f"{_fmt_m(length)} of overhead {net_en} lines of {owner} inside the "
                "community; items 2 and 4 of the attached table: lines go underground",
            ),
            pipe_ids=str(pipe_ids),
            inferred=bool(inferred),
        )
    return rows


def owner_works(
    communities: gpd.GeoDataFrame,
    analysis: pd.DataFrame,
    pipelines: gpd.GeoDataFrame,
    *,
    policy: Policy,
    include_renewal: bool = True,
) -> pd.DataFrame:
    """List, per pipeline owner (管线产权单位), the works it must schedule in each community.

    The input to the coordinated construction plan that the pipeline owners
    make (plan 七（三）: 管线迁改费用由各管线产权单位分摊; attached table items
    1-5). The owner of a work is the owner of the main that decides it (the
    nearest existing main of the network) or of the overhead lines inside
    the community; where the layer names no owner, the network's
    :data:`DEFAULT_OWNERS` entry is used and ``owner_inferred`` is set.

    Works (``work`` codes, see :data:`WORK_LABELS`):

    * ``water_renewal`` (with ``include_renewal``): a water main is near:
      renew the pipes, one meter per household (item 1); quantity: the
      connection length (m);
    * ``water_main_extension``, ``power_main_extension``,
      ``telecom_main_extension``: no main of the network within reach;
      quantity: the distance to the nearest existing main (m), NaN if the
      network has none;
    * ``gas_main_extension``: no gas main within reach: 管道燃气入户, extending
      the gas main (quantity: distance to the nearest existing gas main) or,
      when a planned main will be near, connecting to it once built
      (quantity: distance to the planned main);
    * ``rain_sewer_separation``: a combined sewer is near (雨污分流); quantity:
      the new sewer connection to the nearest existing sewer main (m);
    * ``rain_main_extension`` and ``sewer_main_extension``: no storm, foul or
      combined main within reach (接入市政主管网);
    * ``overhead_undergrounding``: one row per owner and network of the
      overhead lines inside the community (架空线入地); quantity: their length
      inside (m).

    Quantities are straight-line estimates in metres (EPSG:4546), to be
    surveyed on site.

    Parameters
    ----------
    communities : GeoDataFrame
        The communities (EPSG:4490), with ``community_id``, ``name`` and
        ``county_code`` when available (else the index names them).
    analysis : DataFrame
        :func:`analyse_networks` of (at least) these communities.
    pipelines : GeoDataFrame
        The pipelines used for ``analysis`` (same CRS as ``communities``).
    policy : Policy
        Gives the reach of each network (the threshold in the reasons).
    include_renewal : bool
        Add the water renewal / one-meter-per-household row for every
        community served by a water main.

    Returns
    -------
    DataFrame
        Columns :data:`OWNER_WORKS_COLUMNS`, one row per work, sorted by
        owner (in the order of :data:`gislib.schema.PIPE_OWNERS`), community
        and work; ``quantity`` and ``measured_m`` in metres, ``threshold_m``
        the reach (0 for overhead lines), reasons in Chinese and English.

    Raises
    ------
    SchemaError
        ``analysis`` lacks columns or rows of these communities, or the
        communities' index has duplicates.
    CRSError
        A layer has no CRS, or the layers differ in CRS.

    Examples
    --------
    >>> from gislib.datasets import sample_workspace_path
    >>> from gislib.policy import load_policy
    >>> from gislib.store import open_workspace
    >>> ws = open_workspace(sample_workspace_path())
    >>> comm, pipes, policy = ws.read("communities"), ws.read("pipelines"), load_policy()
    >>> works = owner_works(comm, analyse_networks(comm, pipes, policy=policy), pipes, policy=policy)
    >>> "燃气企业" in set(works["owner"])
    True
    """
    comm, pipe_frame = _check_inputs(communities, pipelines)
    _require_columns(pipe_frame, ("pipe_id", "network", "status"), name="pipelines")
    _require_columns(analysis, ANALYSIS_COLUMNS, name="analysis")
    if not comm.index.is_unique:
        raise SchemaError(
            "communities 的索引有重复，无法与管网分析对应 / the communities' index has "
            "duplicates; reset it first"
        )
    missing = comm.index.difference(analysis.index)
    if len(missing):
        raise SchemaError(
            f"管网分析缺少 {len(missing)} 个小区（如 {list(missing[:5])}），请先对这些小区运行 "
            f"analyse_networks / the analysis lacks {len(missing)} communities (e.g. "
            f"{list(missing[:5])}); run analyse_networks on them"
        )
    nets = analysis.loc[comm.index]
    owners = _main_owners(nets, pipe_frame)
    reach = {network: float(policy.reach_m[network]) for network in _NETWORK_ORDER}
    water, rain, sewer = str(Network.WATER), str(Network.RAIN), str(Network.SEWER)
    power, telecom = str(Network.POWER), str(Network.TELECOM)
    codes = nets["deficiencies"]
    has = {
        code: np.array([code in tuple(v) for v in codes], dtype=bool) for code in DEFICIENCY_CODES
    }
    drain_zh = "周边服务半径内无雨水、污水或合流主管；"
    drain_en = "no storm, foul or combined main within reach; "
    parts = [
        _renewal_rows(nets, owners[water], reach[water])
        if include_renewal
        else _WorkRows.empty("water_renewal"),
        _extension_rows(
            "water_main_extension", water, has["no_water_main"], nets, owners[water], reach[water]
        ),
        _extension_rows(
            "power_main_extension", power, has["no_power_main"], nets, owners[power], reach[power]
        ),
        _gas_rows(nets, owners[str(Network.GAS)], reach[str(Network.GAS)]),
        _extension_rows(
            "telecom_main_extension",
            telecom,
            has["no_telecom_main"],
            nets,
            owners[telecom],
            reach[telecom],
        ),
        _undergrounding_rows(_overhead_by_owner(comm, pipe_frame)),
        _separation_rows(nets, owners[str(Network.COMBINED)], policy),
        _extension_rows(
            "sewer_main_extension",
            sewer,
            has["no_drainage"],
            nets,
            owners[sewer],
            reach[sewer],
            context=(drain_zh, drain_en),
        ),
        _extension_rows(
            "rain_main_extension",
            rain,
            has["no_drainage"],
            nets,
            owners[rain],
            reach[rain],
            context=(drain_zh, drain_en),
        ),
    ]
    ids = (
        _text(comm["community_id"])
        if "community_id" in comm.columns
        else np.array([str(i) for i in comm.index], dtype=object)
    )
    names = _text(comm["name"]) if "name" in comm.columns else ids
    counties = (
        _text(comm["county_code"])
        if "county_code" in comm.columns
        else np.full(len(comm), "", dtype=object)
    )
    frames = []
    for part in parts:
        position = np.asarray(part.position, dtype=np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "owner": pd.Series(part.owner, dtype=object),
                    "community_id": ids[position],
                    "community_name": names[position],
                    "county_code": counties[position],
                    "network": pd.Series(part.network, dtype=object),
                    "work": part.code,
                    "work_zh": pd.Series(part.work_zh, dtype=object),
                    "work_en": pd.Series(part.work_en, dtype=object),
                    "quantity": np.asarray(part.quantity, dtype=np.float64),
                    "unit": _METRE,
                    "measured_m": np.asarray(part.measured, dtype=np.float64),
                    "threshold_m": np.asarray(part.threshold, dtype=np.float64),
                    "reason_zh": pd.Series(part.reason_zh, dtype=object),
                    "reason_en": pd.Series(part.reason_en, dtype=object),
                    "pipe_ids": pd.Series(part.pipe_ids, dtype=object),
                    "owner_inferred": np.asarray(part.inferred, dtype=bool),
                    "plan_item": _WORKS[part.code].item,
                    "_position": position,
                }
            )
        )
    works = pd.concat(frames, ignore_index=True)
    known = {owner: rank for rank, owner in enumerate(PIPE_OWNERS)}
    works["_owner_rank"] = works["owner"].map(lambda o: known.get(o, len(known)))
    works["_work_rank"] = works["work"].map(_WORK_ORDER)
    works = works.sort_values(
        ["_owner_rank", "owner", "_position", "_work_rank", "network"], kind="stable"
    )
    works = works.reset_index(drop=True)[list(OWNER_WORKS_COLUMNS)]
    logger.info(
        "%d works for %d owners in %d communities",
        len(works),
        works["owner"].nunique(),
        works["community_id"].nunique(),
    )
    return works


def _sheet_name(owner: str, used: set[str]) -> str:
    clean = "".join("_" if ch in _INVALID_SHEET_CHARS else ch for ch in owner).strip() or "_"
    name = clean[:_MAX_SHEET_NAME]
    counter = 2
    while name in used:
        suffix = f"({counter})"
        name = clean[: _MAX_SHEET_NAME - len(suffix)] + suffix
        counter += 1
    used.add(name)
    return name


def _owner_summary(works: pd.DataFrame, owners: Sequence[str]) -> pd.DataFrame:
    rows = []
    for owner in owners:
        mine = works[works["owner"] == owner]
        if mine.empty:
            rows.append(
                {
                    "owner": owner,
                    "work": "",
                    "work_label": "无 / none",
                    "communities": 0,
                    "works": 0,
                    "total_quantity": 0.0,
                    "unit": _METRE,
                }
            )
            continue
        for code, group in mine.groupby("work", sort=False):
            rows.append(
                {
                    "owner": owner,
                    "work": str(code),
                    "work_label": WORK_LABELS[str(code)][0],
                    "communities": int(group["community_id"].nunique()),
                    "works": len(group),
                    "total_quantity": float(group["quantity"].sum()),
                    "unit": _METRE,
                }
            )
    return pd.DataFrame(rows)


_SUMMARY_HEADERS = {
    "owner": "产权单位",
    "work": "工程代码",
    "work_label": "工程类别",
    "communities": "涉及小区数",
    "works": "工程项数",
    "total_quantity": "工程量合计",
    "unit": "单位",
}


def export_owner_works(
    works: pd.DataFrame,
    path: Path | str,
    *,
    overwrite: bool = False,
    notes: Sequence[str] = (),
) -> Path:
    """Write :func:`owner_works` as an Excel workbook: a summary, then one sheet per owner.

    Sheet 汇总 lists, per owner and kind of work, the number of communities,
    of works and the total quantity (m); then one sheet per owner (every
    owner of :data:`gislib.schema.PIPE_OWNERS`, with headers only when it
    has no work, then any other owner found), Chinese headers
    (:data:`OWNER_WORKS_HEADERS`), county names instead of codes; a last
    sheet 说明 says what the figures mean. Written with
    :func:`gislib.io.tables.write_workbook`: every text cell is literal
    text (never a formula), the file is built beside the target and moved
    into place with ``os.replace``.

    Parameters
    ----------
    works : DataFrame
        From :func:`owner_works`.
    path : path-like
        Target ``.xlsx``.
    overwrite : bool
        Replace an existing file; without it an existing target is refused.
    notes : sequence of str
        Extra lines for the 说明 sheet (e.g. the workspace and the date of the data).

    Returns
    -------
    Path

    Raises
    ------
    ExportError
        Wrong extension, missing folder, or an existing target without ``overwrite``.
    SchemaError
        ``works`` lacks columns of :data:`OWNER_WORKS_COLUMNS`.

    Examples
    --------
    >>> export_owner_works(works, "管线单位工程清单.xlsx")  # doctest: +SKIP
    PosixPath('管线单位工程清单.xlsx')
    """
    from gislib.io.tables import write_workbook

    _require_columns(works, OWNER_WORKS_COLUMNS, name="works")
    present = [str(o) for o in pd.unique(works["owner"])]
    owners = list(PIPE_OWNERS) + sorted(o for o in present if o not in PIPE_OWNERS)
    shown = works[list(OWNER_WORKS_COLUMNS)].copy()
    shown["county_code"] = shown["county_code"].map(
        lambda code: COUNTIES.get(str(code), (str(code), ""))[0]
    )
    shown["network"] = shown["network"].map(lambda n: NETWORKS.get(str(n), (str(n), ""))[0])
    used = {_SUMMARY_SHEET, "说明"}
    sheets: dict[str, pd.DataFrame] = {_SUMMARY_SHEET: _owner_summary(works, owners)}
    for owner in owners:
        sheets[_sheet_name(owner, used)] = (
            shown[shown["owner"] == owner].drop(columns="owner").reset_index(drop=True)
        )
    lines = [
        "管线产权单位改造工程清单（阳江市城镇老旧小区改造实施方案 七（三）、附件第1-5项） / works "
        "per pipeline owner (plan 7(3), attached table items 1-5)",
        "距离、长度在 CGCS2000 / 3度带高斯-克吕格 CM 111E（EPSG:4546）中量算，单位米；工程量为直线"
        "距离估算，需现场勘测 / distances and lengths in metres, EPSG:4546; quantities are "
        "straight-line estimates to be surveyed",
        "“产权单位为推定”为“是”的行：图层中该管线无产权单位，按管线类别推定 / rows whose owner "
        "is inferred: the layer names no owner, the network's usual owner is shown",
        *notes,
    ]
    labels = {**OWNER_WORKS_HEADERS, **_SUMMARY_HEADERS}
    target = write_workbook(sheets, path, column_labels=labels, notes=lines, overwrite=overwrite)
    logger.info("wrote %d works of %d owners to %s", len(works), len(present), target)
    return target
