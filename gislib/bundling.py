"""EPC contract bundling: communities of one county and plan year into contract batches.

The plan (section 九(四)) asks that projects in contiguous areas be bundled
and tendered together (成片捆绑、打包, 工程总承包 EPC). This module groups the
communities of one county and plan year into batches that are

* contiguous in a sense that tolerates roads: two communities are neighbours
  when their polygons lie within a distance band (default 300 m), and a
  community with no neighbour in the band is bridged to its nearest one, as is
  a group of communities too small to form a batch on its own (every bridge is
  reported);
* within a lower and an upper bound on investment (元), households and/or the
  number of communities (:class:`Bounds`);
* compact (small diameter) and balanced in size.

The algorithm follows the spopt shape (:class:`EPCBundler`: parameters in the
constructor, :meth:`EPCBundler.solve`, ``labels_``). It is not spopt: spopt's
max-p supports only a lower bound. Per connected component of the
(bridged) distance-band graph it chooses a batch count that the bounds allow,
seeds batches by weighted k-means on the community centroids, grows them
together over the graph (the lightest batch takes its nearest free neighbour,
never beyond the upper bound), then repairs bound violations by moving
boundary communities (a move is taken only if it lowers the total violation
and keeps the source batch connected; merges and splits when moves cannot
help) and finally moves boundary communities to the batch whose centre is
nearer, without breaking bounds or contiguity.

What cannot be placed is explained, never silently violated: a community
whose own value is above an upper bound, and a group that stays below a lower
bound after bridging, are left unassigned with the reason (``infeasible=
"leave"``, the default), or forced into a batch flagged with the violation
(``infeasible="force"``). Every result carries its metrics, batch table,
violations and messages (Chinese with English).

Manual edits (:func:`move`, :func:`merge`, :func:`split`, :func:`lock`,
:func:`unlock`) return a new :class:`BundleResult`, re-checked: totals,
contiguity and bounds are recomputed and a violation is reported, never fixed
behind the planner's back. :func:`compare` sets scenarios side by side;
:func:`tender_list` lists one batch for the tender documents.

Distances are measured in EPSG:4546 (metres); input geometries are in any CRS
(EPSG:4490 as stored) and must have one.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Self

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError, cKDTree
from scipy.spatial.distance import pdist

from gislib.crs import require_crs, to_measure
from gislib.errors import BundlingError, PolicyError, SchemaError
from gislib.schema import COUNTIES, county_code_for

__all__ = [
    "BATCH_COLUMN_LABELS",
    "DEFAULT_DISTANCE_BAND_M",
    "MEASURES",
    "PUBLIC_TENDER_THRESHOLD_YUAN",
    "TENDER_COLUMNS",
    "Bounds",
    "BundleResult",
    "EPCBundler",
    "Violation",
    "batches_table",
    "bundle",
    "bundle_year",
    "compare",
    "lock",
    "merge",
    "move",
    "split",
    "tender_list",
    "unlock",
    "write_tender_workbook",
    "year_batches",
]

logger = logging.getLogger(__name__)

#: Default distance band (m, EPSG:4546): polygons this close are neighbours
#: (a city road with its verges is 20-60 m wide; a block is 100-250 m).
DEFAULT_DISTANCE_BAND_M = 300.0

#: A construction contract with an estimated price of 4 million 元 or more must
#: be publicly tendered (《必须招标的工程项目规定》, NDRC order No. 16 of 2018,
#: art. 5). The default of the ``public_tender_yuan`` option; put the value
#: in the policy file to change it.
PUBLIC_TENDER_THRESHOLD_YUAN = 4_000_000.0

#: Quantities a batch can be bounded on, in this order: investment (元),
#: households (户), communities (个).
MEASURES: tuple[str, ...] = ("investment", "households", "communities")
_MEASURE_LABELS: dict[str, tuple[str, str, str]] = {
    "investment": ("投资估算", "investment", "元"),
    "households": ("户数", "households", "户"),
    "communities": ("小区数", "communities", "个"),
}

# Algorithm constants (not planning rules).
_KMEANS_ITERATIONS = 8
_MAX_K_ATTEMPTS = 4  # batch counts tried per component before keeping the best
_COMPACT_PASSES = 6
_COMPACT_MARGIN = 0.02  # a move must bring a community 2% nearer to a centre
_SPLIT_DEPTH = 2
_MAX_EJECTIONS = 12  # tentative push-and-repair moves per component to narrow wide batches
_EJECT_REPAIR_ROUNDS = 6
_EJECT_SHARE = 0.8  # ... tried only on batches at least this share of the widest one
_EPS = 1e-9
_HULL_MIN_POINTS = 60
_PLANNED_STAGE = "申报"  # the stage that puts a community into a year's plan (计划)  # above this, a batch's diameter is taken over its convex hull

BatchCountPreference = Literal["fewest", "middle", "most"]
InfeasiblePolicy = Literal["leave", "force"]


# --------------------------------------------------------------------------- bounds


@dataclass(frozen=True)
class Bounds:
    """Per-batch lower and upper bounds; ``None`` means no bound.

    Parameters
    ----------
    min_investment, max_investment : float, optional
        Total estimated investment of a batch, in 元.
    min_households, max_households : int, optional
        Total households of a batch.
    min_communities, max_communities : int, optional
        Number of communities in a batch.

    Raises
    ------
    PolicyError
        A negative bound, or a lower bound above its upper bound.

    Examples
    --------
    >>> Bounds(min_investment=90e6, max_investment=110e6).upper()[0]
    np.float64(110000000.0)
    """

    min_investment: float | None = None
    max_investment: float | None = None
    min_households: int | None = None
    max_households: int | None = None
    min_communities: int | None = None
    max_communities: int | None = None

    def __post_init__(self) -> None:
        for measure in MEASURES:
            low = getattr(self, f"min_{measure}")
            high = getattr(self, f"max_{measure}")
            zh = _MEASURE_LABELS[measure][0]
            for name, value in ((f"min_{measure}", low), (f"max_{measure}", high)):
                if value is not None and (not math.isfinite(float(value)) or float(value) < 0):
                    raise PolicyError(
                        f"批次界限 {name} = {value} 无效，应为非负数 / bundling bound {name} = "
                        f"{value} is invalid; give a non-negative number or leave it out"
                    )
            if low is not None and high is not None and float(low) > float(high):
                raise PolicyError(
                    f"批次{zh}下限 {low} 大于上限 {high}，无法打包 / bundling bounds contradict: "
                    f"min_{measure} = {low} is above max_{measure} = {high}; lower the minimum "
                    "or raise the maximum"
                )

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> Bounds:
        """Build bounds from a policy section (keys ``min_investment`` ... ``max_communities``).

        Other keys of the section (``distance_band_m``...) are ignored.

        Raises
        ------
        PolicyError
            A bound that is not a number, or contradictory bounds.
        """
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in section:
                value = section[f.name]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise PolicyError(
                        f"[bundling] {f.name} = {value!r} 不是数字 / [bundling] {f.name} = "
                        f"{value!r} is not a number; write a number or remove the key"
                    )
                values[f.name] = value
        return cls(**values)

    @classmethod
    def from_policy(cls, settings: Any) -> Bounds:
        """The bounds of a policy's ``bundling`` section (:class:`gislib.policy.BundlingPolicy`).

        Examples
        --------
        >>> from gislib.policy import load_policy
        >>> Bounds.from_policy(load_policy().bundling).max_investment
        110000000.0
        """
        return cls(**{f.name: getattr(settings, f.name, None) for f in fields(cls)})

    def lower(self) -> np.ndarray:
        """Lower bounds in :data:`MEASURES` order (``-inf`` where unbounded)."""
        return np.array(
            [_or(getattr(self, f"min_{m}"), -np.inf) for m in MEASURES], dtype=np.float64
        )

    def upper(self) -> np.ndarray:
        """Upper bounds in :data:`MEASURES` order (``inf`` where unbounded)."""
        return np.array(
            [_or(getattr(self, f"max_{m}"), np.inf) for m in MEASURES], dtype=np.float64
        )


def _or(value: float | None, default: float) -> float:
    return default if value is None else float(value)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Violation:
    """One broken rule of one batch.

    Attributes
    ----------
    batch_id : str
    rule : str
        ``min_investment`` ... ``max_communities`` (see :class:`Bounds`) or
        ``contiguity``.
    zh, en : str
        The explanation, in Chinese and English.
    """

    batch_id: str
    rule: str
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True, eq=False)
class _Problem:
    """Everything the checks need, in row order of the input (distances in EPSG:4546)."""

    ids: np.ndarray  # community ids (str objects)
    index: pd.Index  # the input index
    xy: np.ndarray  # (n, 2) centroids, metres
    values: np.ndarray  # (n, 3) investment, households, 1; NaN where unknown
    lower: np.ndarray  # (3,)
    upper: np.ndarray  # (3,)
    indptr: np.ndarray  # CSR adjacency: distance band plus bridges
    indices: np.ndarray
    bridges: tuple[tuple[str, str, float], ...]
    position: Mapping[str, int]
    public_tender_yuan: float
    distance_band_m: float

    def neighbours(self, i: int) -> np.ndarray:
        return self.indices[self.indptr[i] : self.indptr[i + 1]]


_BATCH_COLUMNS = (
    "batch_id",
    "communities",
    "households",
    "investment",
    "diameter_m",
    "contiguous",
    "bounds_ok",
    "violations",
    "public_tender",
    "locked",
    "members",
)
_UNASSIGNED_COLUMNS = ("community_id", "reason_zh", "reason_en")


@dataclass(frozen=True, eq=False)
class BundleResult:
    """A bundling (solved or edited), re-checked.

    Attributes
    ----------
    assignments : Series
        Batch id (``"B01"``...) per community id (index ``community_id``, in
        the input's row order); ``None`` for an unassigned community.
    batches : DataFrame
        One row per batch, ordered by batch id: ``batch_id``, ``communities``
        (count), ``households``, ``investment`` (元), ``diameter_m`` (largest
        distance between two community centroids, EPSG:4546 metres),
        ``contiguous`` (connected in the distance-band graph with its bridges),
        ``bounds_ok``, ``violations`` (text, Chinese / English),
        ``public_tender`` (investment >= the public tender threshold), ``locked``,
        ``members`` (tuple of community ids).
    metrics : dict
        ``batches``, ``assigned``, ``unassigned``, ``diameter_max_m``,
        ``diameter_mean_m``, ``{measure}_min`` / ``_max`` / ``_spread`` (spread =
        (max - min) / mean) for investment, households and communities,
        ``violations``, ``batches_with_violations``, ``bridges``,
        ``public_tender_batches``.
    messages : tuple of str
        Notes in Chinese / English: bridges made, what could not be placed and
        why, edits made.
    violations : tuple of Violation
    unassigned : DataFrame
        ``community_id``, ``reason_zh``, ``reason_en`` of every unassigned community.
    locked : frozenset of str
        Ids of locked batches (edits to them are refused).
    """

    assignments: pd.Series
    batches: pd.DataFrame
    metrics: dict[str, float]
    messages: tuple[str, ...]
    violations: tuple[Violation, ...]
    unassigned: pd.DataFrame
    locked: frozenset[str]
    _problem: _Problem = field(repr=False)

    @property
    def ok(self) -> bool:
        """True when no batch breaks a rule and every community is placed."""
        return not self.violations and self.unassigned.empty

    def locked_batches(self) -> dict[str, list[str]]:
        """Members of the locked batches, for ``EPCBundler(..., locked=...)`` to re-solve around them."""
        rows = self.batches[self.batches["locked"]]
        return {str(b): list(m) for b, m in zip(rows["batch_id"], rows["members"], strict=True)}


# --------------------------------------------------------------------------- input


def _prepare(
    communities: gpd.GeoDataFrame,
    *,
    bounds: Bounds,
    investment: pd.Series | str,
    households: str,
    id_column: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate the input; return ids, measuring geometries, centroids and values."""
    require_crs(communities, name="communities (小区图层)")
    if id_column not in communities.columns:
        raise SchemaError(
            f"小区图层缺少编号字段 {id_column} / communities have no column {id_column!r}; "
            "give id_column= the name of the community id column"
        )
    ids = communities[id_column].astype("string")
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise SchemaError(
            f"小区图层第 {row + 1} 行没有编号 / communities row {row + 1} has no {id_column}; "
            "fill in the id"
        )
    duplicated = ids[ids.duplicated()].unique()
    if len(duplicated):
        raise SchemaError(
            f"小区编号重复：{', '.join(map(str, duplicated[:5]))} / duplicate community ids "
            f"{', '.join(map(str, duplicated[:5]))}; each community needs its own id"
        )
    geometry = communities.geometry
    empty = geometry.isna() | geometry.is_empty
    if empty.any():
        bad = ids[empty.to_numpy()].iloc[:5].tolist()
        raise SchemaError(
            f"小区 {', '.join(bad)} 没有几何图形 / communities {', '.join(bad)} have no geometry; "
            "draw or import their outlines first"
        )
    id_array = ids.to_numpy(dtype=object)
    lower, upper = bounds.lower(), bounds.upper()

    def needed(i: int) -> bool:
        return bool(np.isfinite(lower[i]) or np.isfinite(upper[i]))

    if isinstance(investment, str):
        if investment in communities.columns:
            inv = pd.to_numeric(communities[investment], errors="coerce").to_numpy(dtype=float)
        elif needed(0):
            raise SchemaError(
                f"小区图层缺少投资字段 {investment} / communities have no column {investment!r}, "
                "but the bounds limit investment; pass investment= a column or a Series of 元 "
                "by community id (gislib.planning.investment_estimate)"
            )
        else:
            inv = np.full(len(communities), np.nan)
    else:
        series = investment.copy()
        series.index = series.index.astype(str)
        missing = [i for i in id_array if i not in series.index]
        if missing and needed(0):
            raise SchemaError(
                f"投资估算缺少小区 {', '.join(missing[:5])} / the investment series has no value "
                f"for communities {', '.join(missing[:5])}; estimate them first"
            )
        inv = pd.to_numeric(series.reindex(id_array), errors="coerce").to_numpy(dtype=float)
    if households in communities.columns:
        hh = pd.to_numeric(communities[households], errors="coerce").to_numpy(dtype=float)
    elif needed(1):
        raise SchemaError(
            f"小区图层缺少户数字段 {households} / communities have no column {households!r}, "
            "but the bounds limit households; pass households= the column name"
        )
    else:
        hh = np.full(len(communities), np.nan)
    values = np.column_stack([inv, hh, np.ones(len(communities))])
    for j, measure in enumerate(MEASURES[:2]):
        if needed(j):
            bad_mask = ~np.isfinite(values[:, j]) | (values[:, j] < 0)
            if bad_mask.any():
                bad = id_array[bad_mask][:5].tolist()
                raise SchemaError(
                    f"小区 {', '.join(bad)} 的{_MEASURE_LABELS[measure][0]}缺失或为负 / "
                    f"communities {', '.join(bad)} have a missing or negative {measure}, "
                    "which the bounds need; fill it in"
                )
    measured = to_measure(communities[[communities.geometry.name]]).geometry.to_numpy()
    xy = shapely.get_coordinates(shapely.centroid(measured))
    return id_array, measured, xy, values


def _band_edges(geoms: np.ndarray, band_m: float) -> tuple[np.ndarray, np.ndarray]:
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=band_m)
    keep = i < j
    return i[keep].astype(np.int64), j[keep].astype(np.int64)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        parent = self.parent
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _bridge(
    nodes: np.ndarray,
    edges: tuple[np.ndarray, np.ndarray],
    *,
    geoms: np.ndarray,
    xy: np.ndarray,
    values: np.ndarray,
    lower: np.ndarray,
    max_bridge_m: float | None,
    groups: bool,
) -> list[tuple[int, int, float]]:
    """Bridges (global i, j, gap m) joining isolated nodes, then (if ``groups``) undersized groups."""
    n_sub = len(nodes)
    if n_sub < 2:
        return []
    local = {int(g): k for k, g in enumerate(nodes)}
    ei, ej = edges
    in_sub = np.isin(ei, nodes) & np.isin(ej, nodes)
    li = np.array([local[int(a)] for a in ei[in_sub]], dtype=np.int64)
    lj = np.array([local[int(b)] for b in ej[in_sub]], dtype=np.int64)
    uf = _UnionFind(n_sub)
    degree = np.zeros(n_sub, dtype=np.int64)
    np.add.at(degree, li, 1)
    np.add.at(degree, lj, 1)
    for a, b in zip(li.tolist(), lj.tolist(), strict=True):
        uf.union(a, b)
    sub_xy = xy[nodes]
    tree = cKDTree(sub_xy)
    limit = math.inf if max_bridge_m is None else float(max_bridge_m)
    bridges: list[tuple[int, int, float]] = []
    # 1. Every community without a neighbour in the band: to its nearest community.
    k_near = min(8, n_sub)
    for a in np.flatnonzero(degree == 0).tolist():
        _, cand = tree.query(sub_xy[a], k=k_near)
        cand = [int(c) for c in np.atleast_1d(cand) if int(c) != a and int(c) < n_sub]
        gaps = shapely.distance(geoms[nodes[a]], geoms[nodes[cand]])
        best = int(np.argmin(gaps))
        if gaps[best] <= limit:
            bridges.append((int(nodes[a]), int(nodes[cand[best]]), float(gaps[best])))
            uf.union(a, cand[best])
    if not groups or not np.isfinite(lower).any():
        return bridges
    # 2. Groups below a lower bound: to the nearest other group, until none is left.
    sub_values = np.nan_to_num(values[nodes])
    refused: set[int] = set()
    while True:
        roots = np.array([uf.find(a) for a in range(n_sub)])
        uniq, inverse = np.unique(roots, return_inverse=True)
        if len(uniq) < 2:
            break
        totals = np.zeros((len(uniq), sub_values.shape[1]))
        np.add.at(totals, inverse, sub_values)
        small = [
            g
            for g in range(len(uniq))
            if (totals[g] < lower - _EPS).any() and int(uniq[g]) not in refused
        ]
        if not small:
            break
        group = small[0]
        members = np.flatnonzero(inverse == group)
        k = min(len(members) + 1, n_sub)
        dist, cand = tree.query(sub_xy[members], k=k)
        dist, cand = np.atleast_2d(dist), np.atleast_2d(cand)
        outside = inverse[np.minimum(cand, n_sub - 1)] != group
        dist = np.where(outside, dist, np.inf)
        flat = int(np.argmin(dist))
        a = int(members[flat // dist.shape[1]])
        b = int(cand.flat[flat])
        gap = float(shapely.distance(geoms[nodes[a]], geoms[nodes[b]]))
        if gap > limit:
            refused.add(int(uniq[group]))
            continue
        bridges.append((int(nodes[a]), int(nodes[b]), gap))
        uf.union(a, b)
    return bridges


def _csr(n: int, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate([i, j])
    cols = np.concatenate([j, i])
    matrix = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64)


# --------------------------------------------------------------------------- partition


class _Partition:
    """Contiguous partition of one connected component into batches (local indices)."""

    def __init__(
        self,
        nbrs: list[list[int]],
        xy: np.ndarray,
        weights: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        self.nbrs = nbrs
        self.xy_arr = xy
        self.xy = [(float(a), float(b)) for a, b in xy]
        self.w = [tuple(float(x) for x in row) for row in weights]
        self.w_arr = weights
        self.lo = [float(x) for x in lower]
        self.hi = [float(x) for x in upper]
        self.rng = rng
        self.n = len(nbrs)
        self.journal: list[tuple[int, int, int]] | None = None

    # -- helpers
    def viol(self, s: Sequence[float]) -> float:
        total = 0.0
        for a, lo, hi, q in zip(s, self.lo, self.hi, self.inv_scale, strict=True):
            if a < lo - _EPS:
                total += (lo - a) * q
            elif a > hi + _EPS:
                total += (a - hi) * q
        return total

    def connected_without(self, members: set[int], v: int) -> bool:
        inside = [u for u in self.nbrs[v] if u in members]
        if len(inside) <= 1:
            return len(inside) == 1 or len(members) == 1
        wanted = set(inside)
        start = inside[0]
        wanted.discard(start)
        seen = {v, start}
        stack = [start]
        nbrs = self.nbrs
        while stack:
            x = stack.pop()
            for y in nbrs[x]:
                if y in members and y not in seen:
                    seen.add(y)
                    wanted.discard(y)
                    if not wanted:
                        return True
                    stack.append(y)
        return not wanted

    # -- main
    def run(self, k: int, depth: int = 0) -> list[int]:
        n = self.n
        k = max(1, min(k, n))
        totals = self.w_arr.sum(axis=0)
        scale = np.where(totals > 0, totals / k, 1.0)
        self.inv_scale = [1.0 / float(x) for x in scale]
        if k == 1:
            return [0] * n
        load = (self.w_arr / scale).max(axis=1) if self.w_arr.shape[1] else np.ones(n)
        load = np.where(load > 0, load, 1.0 / n)
        centres = self._kmeans(k, load)
        label = self._grow(centres, k)
        self.label = label
        self._rebuild(k)
        self._repair(depth)
        self._compact()
        self._shrink_diameters()
        return self._relabel()

    def _kmeans(self, k: int, load: np.ndarray) -> np.ndarray:
        xy = self.xy_arr
        first = int(self.rng.choice(self.n, p=load / load.sum()))
        centres = [xy[first]]
        d2 = ((xy - xy[first]) ** 2).sum(axis=1)
        for _ in range(1, k):
            p = d2 * load
            if p.sum() <= 0:
                p = np.ones(self.n)
            nxt = int(self.rng.choice(self.n, p=p / p.sum()))
            centres.append(xy[nxt])
            d2 = np.minimum(d2, ((xy - xy[nxt]) ** 2).sum(axis=1))
        c = np.array(centres)
        for _ in range(_KMEANS_ITERATIONS):
            _, nearest = cKDTree(c).query(xy)
            wsum = np.bincount(nearest, weights=load, minlength=k)
            cx = np.bincount(nearest, weights=load * xy[:, 0], minlength=k)
            cy = np.bincount(nearest, weights=load * xy[:, 1], minlength=k)
            filled = wsum > 0
            c[filled, 0] = cx[filled] / wsum[filled]
            c[filled, 1] = cy[filled] / wsum[filled]
        return c

    def _grow(self, centres: np.ndarray, k: int) -> list[int]:
        n, xy, w, hi, nbrs = self.n, self.xy, self.w, self.hi, self.nbrs
        label = [-1] * n
        sums = [[0.0] * len(hi) for _ in range(k)]
        heaps: list[list[tuple[float, int]]] = [[] for _ in range(k)]
        tree = cKDTree(self.xy_arr)
        cx = [(float(a), float(b)) for a, b in centres]

        def assign(v: int, r: int) -> None:
            label[v] = r
            s = sums[r]
            for m, x in enumerate(w[v]):
                s[m] += x
            ox, oy = cx[r]
            for u in nbrs[v]:
                if label[u] < 0:
                    ux, uy = xy[u]
                    heapq.heappush(heaps[r], ((ux - ox) ** 2 + (uy - oy) ** 2, u))

        for r in range(k):
            _, cand = tree.query(centres[r], k=min(n, k + 1))
            for v in np.atleast_1d(cand).tolist():
                if label[v] < 0:
                    assign(v, r)
                    break
        inv = self.inv_scale

        def load(r: int) -> float:
            return max((a * q for a, q in zip(sums[r], inv, strict=True)), default=0.0)

        order = [(load(r), r) for r in range(k)]
        heapq.heapify(order)
        while order:
            _, r = heapq.heappop(order)
            heap = heaps[r]
            s = sums[r]
            while heap:
                _, u = heapq.heappop(heap)
                if label[u] >= 0:
                    continue
                if all(a + x <= h + _EPS for a, x, h in zip(s, w[u], hi, strict=True)):
                    assign(u, r)
                    heapq.heappush(order, (load(r), r))
                    break
        # Leftovers (refused by every neighbour's upper bound): to the lightest neighbour.
        pending = [v for v in range(n) if label[v] < 0]
        while pending:
            rest = []
            for v in pending:
                options = {label[u] for u in nbrs[v] if label[u] >= 0}
                if options:
                    r = min(options, key=lambda x: (load(x), x))
                    label[v] = r
                    for m, x in enumerate(w[v]):
                        sums[r][m] += x
                else:
                    rest.append(v)
            if len(rest) == len(pending):  # cannot happen in a connected component
                for v in rest:
                    label[v] = 0
                break
            pending = rest
        return label

    def _rebuild(self, k: int) -> None:
        m = len(self.hi)
        self.k = k
        self.members: list[set[int]] = [set() for _ in range(k)]
        self.sums = [[0.0] * m for _ in range(k)]
        self.sx = [0.0] * k
        self.sy = [0.0] * k
        for v, r in enumerate(self.label):
            self._add(v, r)

    def _add(self, v: int, r: int) -> None:
        self.label[v] = r
        self.members[r].add(v)
        s = self.sums[r]
        for m, x in enumerate(self.w[v]):
            s[m] += x
        self.sx[r] += self.xy[v][0]
        self.sy[r] += self.xy[v][1]

    def _remove(self, v: int, r: int) -> None:
        self.members[r].discard(v)
        s = self.sums[r]
        for m, x in enumerate(self.w[v]):
            s[m] -= x
        self.sx[r] -= self.xy[v][0]
        self.sy[r] -= self.xy[v][1]

    def _move(self, v: int, r: int, s: int) -> None:
        if self.journal is not None:
            self.journal.append((v, r, s))
        self._remove(v, r)
        self._add(v, s)

    def _shifted(self, r: int, v: int, sign: float) -> list[float]:
        return [a + sign * x for a, x in zip(self.sums[r], self.w[v], strict=True)]

    def _centre_d2(self, v: int, r: int) -> float:
        cnt = len(self.members[r])
        x, y = self.xy[v]
        return (x - self.sx[r] / cnt) ** 2 + (y - self.sy[r] / cnt) ** 2

    def _repair(self, depth: int) -> None:
        for _ in range(3):
            self._repair_moves()
            if not any(self.viol(s) > _EPS for s in self.sums if s is not None):
                return
            changed = self._merge_under()
            changed = self._split_over(depth) or changed
            if not changed:
                self._repair_moves()
                return

    def _delta(self, a: int, src: int, dst: int) -> float:
        """Change of the total violation if community ``a`` moves from ``src`` to ``dst``."""
        s1, s2, w = self.sums[src], self.sums[dst], self.w[a]
        total = 0.0
        for m, (lo, hi, q) in enumerate(zip(self.lo, self.hi, self.inv_scale, strict=True)):
            x = w[m]
            for before, after in ((s1[m], s1[m] - x), (s2[m], s2[m] + x)):
                if before < lo - _EPS:
                    total -= (lo - before) * q
                elif before > hi + _EPS:
                    total -= (before - hi) * q
                if after < lo - _EPS:
                    total += (lo - after) * q
                elif after > hi + _EPS:
                    total += (after - hi) * q
        return total

    def _repair_moves(self, rounds: int | None = None) -> None:
        """Greedy boundary moves that lower the total violation (cascades included)."""
        label, nbrs, members, lo, hi = self.label, self.nbrs, self.members, self.lo, self.hi
        for _ in range(4 * self.n + 20 if rounds is None else rounds):
            candidates: list[tuple[float, float, int, int, int]] = []
            seen: set[tuple[int, int]] = set()
            for r in range(self.k):
                sums = self.sums[r]
                if not members[r] or self.viol(sums) <= _EPS:
                    continue
                under = any(a < b - _EPS for a, b in zip(sums, lo, strict=True))
                over = any(a > b + _EPS for a, b in zip(sums, hi, strict=True))
                for v in members[r]:
                    for u in nbrs[v]:
                        s = label[u]
                        if s == r:
                            continue
                        moves = []
                        if over and len(members[r]) > 1:
                            moves.append((v, r, s))
                        if under and len(members[s]) > 1:
                            moves.append((u, s, r))
                        for a, src, dst in moves:
                            if (a, dst) in seen:
                                continue
                            seen.add((a, dst))
                            gain = self._delta(a, src, dst)
                            if gain < -_EPS:
                                candidates.append((gain, self._centre_d2(a, dst), a, src, dst))
            if not candidates:
                return
            candidates.sort()
            moved = 0
            for _, _, a, src, dst in candidates:
                # Earlier moves of this round may have changed the picture: re-check.
                if label[a] != src or len(members[src]) <= 1:
                    continue
                if not any(label[u] == dst for u in nbrs[a]):
                    continue
                if self._delta(a, src, dst) >= -_EPS:
                    continue
                if self.connected_without(members[src], a):
                    self._move(a, src, dst)
                    moved += 1
            if not moved:
                return

    def _merge_under(self) -> bool:
        changed = False
        for r in range(self.k):
            if not self.members[r] or self.viol(self.sums[r]) <= _EPS:
                continue
            if all(a >= lo - _EPS for a, lo in zip(self.sums[r], self.lo, strict=True)):
                continue  # over an upper bound only: merging cannot help
            adjacent = {self.label[u] for v in self.members[r] for u in self.nbrs[v]} - {r}
            best: tuple[float, int] | None = None
            for s in sorted(adjacent):
                merged = [a + b for a, b in zip(self.sums[r], self.sums[s], strict=True)]
                gain = self.viol(merged) - self.viol(self.sums[r]) - self.viol(self.sums[s])
                if gain < -_EPS and (best is None or gain < best[0]):
                    best = (gain, s)
            if best is not None:
                s = best[1]
                for v in list(self.members[r]):
                    self._move(v, r, s)
                changed = True
        return changed

    def _split_over(self, depth: int) -> bool:
        if depth >= _SPLIT_DEPTH:
            return False
        changed = False
        for r in range(self.k):
            members = self.members[r]
            if len(members) < 2 or all(
                a <= hi + _EPS for a, hi in zip(self.sums[r], self.hi, strict=True)
            ):
                continue
            nodes = sorted(members)
            pos = {v: i for i, v in enumerate(nodes)}
            sub_nbrs = [[pos[u] for u in self.nbrs[v] if u in pos] for v in nodes]
            sub = _Partition(
                sub_nbrs,
                self.xy_arr[nodes],
                self.w_arr[nodes],
                np.array(self.lo),
                np.array(self.hi),
                self.rng,
            )
            sub_label = sub.run(2, depth + 1)
            if max(sub_label) < 1:
                continue
            halves = [[nodes[i] for i, lab in enumerate(sub_label) if lab == h] for h in (0, 1)]
            before = self.viol(self.sums[r])
            after = sum(
                self.viol([sum(self.w[v][m] for v in half) for m in range(len(self.hi))])
                for half in halves
            )
            if after < before - _EPS:
                new = self.k
                self.k += 1
                self.members.append(set())
                self.sums.append([0.0] * len(self.hi))
                self.sx.append(0.0)
                self.sy.append(0.0)
                for v in halves[1]:
                    self._move(v, r, new)
                changed = True
        return changed

    def _compact(self) -> None:
        label, nbrs, members = self.label, self.nbrs, self.members
        keep = 1.0 - _COMPACT_MARGIN
        for _ in range(_COMPACT_PASSES):
            moved = 0
            for v in range(self.n):
                r = label[v]
                if len(members[r]) <= 1:
                    continue
                here = self._centre_d2(v, r) * keep
                best_d, best_s = here, -1
                for u in nbrs[v]:
                    s = label[u]
                    if s != r:
                        d = self._centre_d2(v, s)
                        if d < best_d:
                            best_d, best_s = d, s
                if best_s < 0:
                    continue
                s = best_s
                before = self.viol(self.sums[r]) + self.viol(self.sums[s])
                after = self.viol(self._shifted(r, v, -1.0)) + self.viol(self._shifted(s, v, 1.0))
                if after > before + _EPS or not self.connected_without(members[r], v):
                    continue
                self._move(v, r, s)
                moved += 1
            if not moved:
                break

    def _diameter_of(self, r: int) -> tuple[float, int, int]:
        nodes = list(self.members[r])
        if len(nodes) < 2:
            return 0.0, nodes[0] if nodes else -1, -1
        pts = self.xy_arr[nodes]
        d = _farthest_pair(pts)
        return d[0], nodes[d[1]], nodes[d[2]]

    def _shrink_diameters(self) -> None:
        """Move the far ends of the widest batches to a neighbour batch when that narrows them."""
        label, nbrs, members = self.label, self.nbrs, self.members
        info = {r: self._diameter_of(r) for r in range(self.k) if members[r]}
        heap = [(-d, r) for r, (d, _, _) in info.items()]
        heapq.heapify(heap)
        budget = self.n
        ejections = _MAX_EJECTIONS
        widest = max((d for d, _, _ in info.values()), default=0.0)
        while heap and budget > 0:
            neg, r = heapq.heappop(heap)
            if r not in info or -neg != info[r][0] or info[r][0] <= 0:
                continue  # stale entry
            diam, p, q = info[r]
            best: tuple[float, int, int] | None = None
            for end in (p, q):
                if len(members[r]) <= 1:
                    break
                px, py = self.xy[end]
                for s in sorted({label[u] for u in nbrs[end]} - {r}):
                    if self._delta(end, r, s) > _EPS:
                        continue
                    pts = self.xy_arr[list(members[s])]
                    reach = float(np.sqrt(((pts - (px, py)) ** 2).sum(axis=1)).max())
                    new_s = max(info[s][0], reach)
                    if (
                        new_s < diam - 1.0
                        and (best is None or new_s < best[0])
                        and self.connected_without(members[r], end)
                    ):
                        best = (new_s, end, s)
            if best is not None:
                _, end, s = best
                self._move(end, r, s)
                changed = [r, s]
            elif ejections > 0 and diam >= _EJECT_SHARE * widest:
                ejections -= 1
                changed = self._eject(r, (p, q), diam, info)
                if not changed:
                    continue  # this batch cannot be narrowed; keep it
            else:
                continue
            budget -= 1
            for x in changed:
                info[x] = self._diameter_of(x)
                heapq.heappush(heap, (-info[x][0], x))

    def _eject(
        self, r: int, ends: tuple[int, int], diam: float, info: dict[int, tuple[float, int, int]]
    ) -> list[int]:
        """Push an end of batch ``r`` into a full neighbour and let the repair cascade.

        Kept only if no bound is broken afterwards and every batch changed is
        narrower than ``diam``; otherwise everything is put back.
        """
        members = self.members
        for end in ends:
            if len(members[r]) <= 1 or not self.connected_without(members[r], end):
                continue
            for s in sorted({self.label[u] for u in self.nbrs[end]} - {r}):
                before = sum(self.viol(self.sums[x]) for x in range(self.k))
                journal: list[tuple[int, int, int]] = []
                self.journal = journal
                self._move(end, r, s)
                self._repair_moves(_EJECT_REPAIR_ROUNDS)
                self.journal = None
                after = sum(self.viol(self.sums[x]) for x in range(self.k))
                touched = sorted({a for _, a, _ in journal} | {b for _, _, b in journal})
                widths = [self._diameter_of(x)[0] for x in touched if members[x]]
                if after <= before + _EPS and max(widths, default=0.0) < diam - 1.0:
                    return touched
                for v, a, b in reversed(journal):
                    self._move(v, b, a)
        return []

    def _relabel(self) -> list[int]:
        order = sorted(
            (r for r in range(self.k) if self.members[r]), key=lambda r: min(self.members[r])
        )
        new = {r: i for i, r in enumerate(order)}
        return [new[r] for r in self.label]


def _farthest_pair(points: np.ndarray) -> tuple[float, int, int]:
    """Largest pairwise distance among ``points`` and the positions of the pair."""
    diff = points[:, None, :] - points[None, :, :]
    d2 = (diff**2).sum(axis=2)
    flat = int(np.argmax(d2))
    i, j = divmod(flat, len(points))
    return float(np.sqrt(d2[i, j])), i, j


def _batch_counts(
    totals: np.ndarray, lower: np.ndarray, upper: np.ndarray, n: int, prefer: BatchCountPreference
) -> tuple[list[int], bool]:
    """Batch counts to try for one component (best first) and whether the bounds allow any."""
    k_lo, k_hi = 1, n
    for t, lo, hi in zip(totals, lower, upper, strict=True):
        if np.isfinite(hi) and hi > 0:
            k_lo = max(k_lo, math.ceil(t / hi - _EPS))
        if np.isfinite(lo) and lo > 0:
            k_hi = min(k_hi, math.floor(t / lo + _EPS))
    feasible = k_lo <= k_hi
    if not feasible:
        return [max(1, min(k_lo, n))], False
    span = list(range(k_lo, k_hi + 1))
    if prefer == "fewest":
        order = span
    elif prefer == "most":
        order = span[::-1]
    else:
        middles = [
            t / ((lo + hi) / 2)
            for t, lo, hi in zip(totals, lower, upper, strict=True)
            if np.isfinite(lo) and np.isfinite(hi) and hi > 0
        ]
        # With upper bounds only there is no midpoint: as few batches as they allow.
        mid = float(np.mean(middles)) if middles else float(k_lo)
        order = sorted(span, key=lambda k: (abs(k - mid), k))
    return order[:_MAX_K_ATTEMPTS], True


def _solve_component(
    nodes: np.ndarray,
    problem: _Problem,
    measures: np.ndarray,
    prefer: BatchCountPreference,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], str | None]:
    """Batches (arrays of global indices) of one connected component, and a note if infeasible."""
    pos = {int(g): i for i, g in enumerate(nodes)}
    nbrs = [[pos[int(u)] for u in problem.neighbours(int(g)) if int(u) in pos] for g in nodes]
    weights = np.nan_to_num(problem.values[np.ix_(nodes, measures)])
    lower, upper = problem.lower[measures], problem.upper[measures]
    totals = weights.sum(axis=0)
    counts, feasible = _batch_counts(totals, lower, upper, len(nodes), prefer)
    best: tuple[float, list[int]] | None = None
    for k in counts:
        part = _Partition(nbrs, problem.xy[nodes], weights, lower, upper, rng)
        labels = part.run(k)
        sums = np.zeros((max(labels) + 1, len(measures)))
        np.add.at(sums, np.array(labels), weights)
        scale = np.where(totals > 0, totals / max(1, k), 1.0)
        violation = float(
            ((np.maximum(lower - sums, 0) + np.maximum(sums - upper, 0)) / scale).sum()
        )
        if best is None or violation < best[0] - _EPS:
            best = (violation, labels)
        if violation <= _EPS:
            break
    assert best is not None
    labels_arr = np.array(best[1])
    batches = [nodes[labels_arr == b] for b in range(int(labels_arr.max()) + 1)]
    note = None
    if not feasible:
        parts = []
        for t, lo, hi, m in zip(totals, lower, upper, measures, strict=True):
            zh, en, unit = _MEASURE_LABELS[MEASURES[int(m)]]
            parts.append((zh, en, unit, t, lo, hi))
        zh_txt = "，".join(
            f"{zh}合计 {_fmt(t)}{unit}（界限 {_fmt(lo)}-{_fmt(hi)}）"
            for zh, _, unit, t, lo, hi in parts
        )
        en_txt = "; ".join(
            f"{en} total {_fmt(t)} (bounds {_fmt(lo)}-{_fmt(hi)})" for _, en, _, t, lo, hi in parts
        )
        ids = problem.ids[nodes]
        note = (
            f"片区（{len(nodes)} 个小区，含 {ids[0]}）无法划分为均在上下限之间的批次：{zh_txt} / "
            f"the area of {len(nodes)} communities (with {ids[0]}) cannot be divided into "
            f"batches that all lie within the bounds: {en_txt}"
        )
    return batches, note


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "∞" if x > 0 else "-"
    return f"{x:,.0f}"


# --------------------------------------------------------------------------- checks


def _batch_ids(count: int, taken: set[str]) -> list[str]:
    width = max(2, len(str(count + len(taken))))
    out: list[str] = []
    i = 1
    while len(out) < count:
        candidate = f"B{i:0{width}d}"
        if candidate not in taken:
            out.append(candidate)
        i += 1
    return out


def _next_batch_id(existing: Sequence[str]) -> str:
    return _batch_ids(1, set(existing))[0]


def _diameter(points: np.ndarray) -> float:
    if len(points) < 2:
        return 0.0
    if len(points) > _HULL_MIN_POINTS:
        try:
            points = points[ConvexHull(points).vertices]
        except QhullError:  # degenerate (collinear) points: use all of them
            logger.debug("convex hull failed; diameter over all points")
    return float(pdist(points).max())


def _contiguous(problem: _Problem, members: np.ndarray) -> bool:
    if len(members) <= 1:
        return True
    inside = set(members.tolist())
    start = int(members[0])
    seen = {start}
    stack = [start]
    while stack:
        x = stack.pop()
        for y in problem.neighbours(x).tolist():
            if y in inside and y not in seen:
                seen.add(y)
                stack.append(y)
    return len(seen) == len(inside)


def _evaluate(
    problem: _Problem,
    batch_of: np.ndarray,
    *,
    locked: frozenset[str],
    messages: Sequence[str],
    unassigned: pd.DataFrame,
) -> BundleResult:
    """Re-check a batch assignment: totals, diameters, contiguity, bounds, metrics."""
    groups: dict[str, list[int]] = {}
    for i, b in enumerate(batch_of.tolist()):
        if b is not None:
            groups.setdefault(b, []).append(i)
    rows = []
    violations: list[Violation] = []
    for bid in sorted(groups):
        members = np.array(groups[bid], dtype=np.int64)
        sums = np.nansum(problem.values[members], axis=0)
        known = ~np.isnan(problem.values[members]).all(axis=0)
        batch_violations: list[Violation] = []
        for m, measure in enumerate(MEASURES):
            zh, en, unit = _MEASURE_LABELS[measure]
            lo, hi = problem.lower[m], problem.upper[m]
            if sums[m] < lo - _EPS:
                batch_violations.append(
                    Violation(
                        bid,
                        f"min_{measure}",
                        f"批次 {bid} {zh} {_fmt(sums[m])}{unit}，低于下限 {_fmt(lo)}{unit}",
                        f"batch {bid} {en} {_fmt(sums[m])} is below the lower bound {_fmt(lo)}",
                    )
                )
            elif sums[m] > hi + _EPS:
                batch_violations.append(
                    Violation(
                        bid,
                        f"max_{measure}",
                        f"批次 {bid} {zh} {_fmt(sums[m])}{unit}，超过上限 {_fmt(hi)}{unit}",
                        f"batch {bid} {en} {_fmt(sums[m])} is above the upper bound {_fmt(hi)}",
                    )
                )
        contiguous = _contiguous(problem, members)
        if not contiguous:
            batch_violations.append(
                Violation(
                    bid,
                    "contiguity",
                    f"批次 {bid} 不连片（部分小区之间超过 {problem.distance_band_m:g} 米且无连接）",
                    f"batch {bid} is not contiguous (some of its communities are more than "
                    f"{problem.distance_band_m:g} m from the rest, with no bridge)",
                )
            )
        violations.extend(batch_violations)
        investment = float(sums[0]) if known[0] else np.nan
        rows.append(
            {
                "batch_id": bid,
                "communities": len(members),
                "households": float(sums[1]) if known[1] else np.nan,
                "investment": investment,
                "diameter_m": _diameter(problem.xy[members]),
                "contiguous": contiguous,
                "bounds_ok": not any(v.rule != "contiguity" for v in batch_violations),
                "violations": "；".join(str(v) for v in batch_violations),
                "public_tender": bool(investment >= problem.public_tender_yuan)
                if known[0]
                else False,
                "locked": bid in locked,
                "members": tuple(problem.ids[members].tolist()),
            }
        )
    batches = pd.DataFrame(rows, columns=list(_BATCH_COLUMNS))
    batches = batches.astype({"communities": "int64", "contiguous": bool, "bounds_ok": bool})
    assignments = pd.Series(
        batch_of, index=pd.Index(problem.ids, name="community_id"), name="batch_id", dtype=object
    )
    metrics: dict[str, float] = {
        "batches": len(batches),
        "assigned": int(sum(b is not None for b in batch_of.tolist())),
        "unassigned": len(unassigned),
        "diameter_max_m": float(batches["diameter_m"].max()) if len(batches) else 0.0,
        "diameter_mean_m": float(batches["diameter_m"].mean()) if len(batches) else 0.0,
    }
    for measure in MEASURES:
        col = batches[measure].astype(float) if len(batches) else pd.Series(dtype=float)
        lo_v, hi_v, mean = (
            (float(col.min()), float(col.max()), float(col.mean())) if len(col) else (np.nan,) * 3
        )
        metrics[f"{measure}_min"] = lo_v
        metrics[f"{measure}_max"] = hi_v
        metrics[f"{measure}_spread"] = (
            (hi_v - lo_v) / mean if mean and np.isfinite(mean) else np.nan
        )
    metrics["violations"] = len(violations)
    metrics["batches_with_violations"] = len({v.batch_id for v in violations})
    metrics["bridges"] = len(problem.bridges)
    metrics["public_tender_batches"] = int(batches["public_tender"].sum()) if len(batches) else 0
    return BundleResult(
        assignments=assignments,
        batches=batches,
        metrics=metrics,
        messages=tuple(messages),
        violations=tuple(violations),
        unassigned=unassigned.reset_index(drop=True),
        locked=frozenset(b for b in locked if b in groups),
        _problem=problem,
    )


# --------------------------------------------------------------------------- solver


class EPCBundler:
    """Bundle communities into contiguous EPC contract batches within bounds (spopt shape).

    Distances are measured in EPSG:4546 (metres); geometries may come in any
    CRS (EPSG:4490 as stored) but must have one.

    Parameters
    ----------
    communities : GeoDataFrame
        The communities of one county and plan year (polygons).
    bounds : Bounds
        Per-batch lower and upper bounds.
    distance_band_m : float, default 300
        Communities whose polygons are at most this far apart are neighbours.
    investment : Series or str, default "investment"
        Investment in 元: a column of ``communities`` or a Series indexed by
        community id (:func:`gislib.planning.investment_estimate`).
    households : str, default "households"
        Column of household counts.
    id_column : str, default "community_id"
    seed : int, default 0
        Seed of every random step (k-means seeding): same seed, same result.
    locked : mapping of str to sequence of str, optional
        Batches fixed in advance (batch id -> community ids); solved around.
    max_bridge_m : float, optional
        Longest bridge (gap between polygons, m) made to join an isolated
        community or a group below the lower bound; default no limit.
    infeasible : {"leave", "force"}, default "leave"
        What to do with communities that cannot be placed: ``"leave"`` them
        unassigned with the reason, or ``"force"`` them into a batch flagged
        with the violation (a community above an upper bound becomes its own
        batch; a group below a lower bound joins the nearest batch).
    prefer : {"middle", "fewest", "most"}, default "middle"
        Batch count per connected area, among those the bounds allow: the
        count nearest to the bounds' midpoint (balanced batches with room to
        move communities between them: the most compact in the benchmark;
        with upper bounds only, the fewest), as
        few as the upper bounds allow (fewer, larger contracts, tight against
        the upper bound), or as many as the lower bounds allow.
    public_tender_yuan : float, default :data:`PUBLIC_TENDER_THRESHOLD_YUAN`
        Batches at or above this investment are flagged ``public_tender``.

    Attributes
    ----------
    labels_ : ndarray of int
        Row of ``result_.batches`` per community (input row order); -1 unassigned.
    result_ : BundleResult

    Raises
    ------
    CRSError
        ``communities`` has no CRS.
    SchemaError
        Missing id / households / investment column, duplicate ids, a bounded
        value missing or negative, an unknown id in ``locked``.
    PolicyError
        Contradictory bounds (raised by :class:`Bounds`).

    Examples
    --------
    >>> bounds = Bounds(min_investment=4e6, max_investment=110e6)
    >>> b = EPCBundler(gdf, bounds=bounds).solve()  # doctest: +SKIP
    >>> b.result_.batches[["batch_id", "investment"]]  # doctest: +SKIP
    """

    def __init__(
        self,
        communities: gpd.GeoDataFrame,
        *,
        bounds: Bounds,
        distance_band_m: float = DEFAULT_DISTANCE_BAND_M,
        investment: pd.Series | str = "investment",
        households: str = "households",
        id_column: str = "community_id",
        seed: int = 0,
        locked: Mapping[str, Sequence[str]] | None = None,
        max_bridge_m: float | None = None,
        infeasible: InfeasiblePolicy = "leave",
        prefer: BatchCountPreference = "middle",
        public_tender_yuan: float = PUBLIC_TENDER_THRESHOLD_YUAN,
    ) -> None:
        if not isinstance(bounds, Bounds):
            raise PolicyError("bounds 应为 Bounds / bounds must be a gislib.bundling.Bounds")
        if not distance_band_m >= 0:
            raise PolicyError(
                f"距离带 {distance_band_m} 无效 / distance_band_m = {distance_band_m} must be >= 0"
            )
        if infeasible not in ("leave", "force"):
            raise PolicyError(f"infeasible must be 'leave' or 'force', not {infeasible!r}")
        if prefer not in ("fewest", "middle", "most"):
            raise PolicyError(f"prefer must be 'fewest', 'middle' or 'most', not {prefer!r}")
        self.bounds = bounds
        self.distance_band_m = float(distance_band_m)
        self.seed = seed
        self.max_bridge_m = max_bridge_m
        self.infeasible: InfeasiblePolicy = infeasible
        self.prefer: BatchCountPreference = prefer
        self.public_tender_yuan = float(public_tender_yuan)
        self.ids, self.geoms, self.xy, self.values = _prepare(
            communities,
            bounds=bounds,
            investment=investment,
            households=households,
            id_column=id_column,
        )
        self.index = communities.index
        position = {str(c): i for i, c in enumerate(self.ids)}
        self.locked: dict[str, list[int]] = {}
        owner: dict[int, str] = {}
        for bid, members in (locked or {}).items():
            rows = []
            for cid in members:
                if str(cid) not in position:
                    raise SchemaError(
                        f"锁定批次 {bid} 含未知小区 {cid} / locked batch {bid} lists unknown "
                        f"community {cid}; remove it from the lock"
                    )
                row = position[str(cid)]
                if row in owner:
                    raise SchemaError(
                        f"小区 {cid} 同时在锁定批次 {owner[row]} 和 {bid} 中 / community {cid} is "
                        f"in two locked batches ({owner[row]}, {bid}); keep it in one"
                    )
                owner[row] = str(bid)
                rows.append(row)
            self.locked[str(bid)] = rows
        self.position = position

    def solve(self) -> Self:
        """Bundle the communities; set ``labels_`` and ``result_``.

        Returns
        -------
        EPCBundler
            ``self``.
        """
        n = len(self.ids)
        lower, upper = self.bounds.lower(), self.bounds.upper()
        rng = np.random.default_rng(self.seed)
        messages: list[str] = []
        unassigned_rows: list[tuple[str, str, str]] = []
        band_i, band_j = _band_edges(self.geoms, self.distance_band_m) if n else ([], [])
        band = (np.asarray(band_i, dtype=np.int64), np.asarray(band_j, dtype=np.int64))
        values = np.nan_to_num(self.values)
        batch_of = np.full(n, None, dtype=object)
        locked_rows = {r for rows in self.locked.values() for r in rows}
        for bid, rows in self.locked.items():
            batch_of[rows] = bid
        # Communities above an upper bound on their own.
        oversize: list[int] = []
        for i in range(n):
            if i in locked_rows:
                continue
            over = [m for m in range(len(MEASURES)) if values[i, m] > upper[m] + _EPS]
            if over:
                oversize.append(i)
                m = over[0]
                zh, en, unit = _MEASURE_LABELS[MEASURES[m]]
                reason_zh = (
                    f"单个小区{zh} {_fmt(values[i, m])}{unit} 已超过批次上限 {_fmt(upper[m])}{unit}"
                )
                reason_en = f"its own {en} {_fmt(values[i, m])} is above the batch upper bound {_fmt(upper[m])}"
                if self.infeasible == "leave":
                    unassigned_rows.append((str(self.ids[i]), reason_zh, reason_en))
                    messages.append(
                        f"小区 {self.ids[i]} 未分批：{reason_zh} / community {self.ids[i]} "
                        f"left unassigned: {reason_en}"
                    )
        excluded = locked_rows | set(oversize)
        pool = np.array(
            [i for i in range(n) if i not in excluded],
            dtype=np.int64,
        )
        # Bridges: isolated communities over the whole set, then inside the pool.
        bridge_list = _bridge(
            np.arange(n), band, geoms=self.geoms, xy=self.xy, values=values, lower=lower,
            max_bridge_m=self.max_bridge_m, groups=False,
        )  # fmt: skip
        ei = np.concatenate([band[0], [a for a, _, _ in bridge_list]]).astype(np.int64)
        ej = np.concatenate([band[1], [b for _, b, _ in bridge_list]]).astype(np.int64)
        pool_bridges = _bridge(
            pool, (ei, ej), geoms=self.geoms, xy=self.xy, values=values, lower=lower,
            max_bridge_m=self.max_bridge_m, groups=True,
        )  # fmt: skip
        band_set = set(zip(band[0].tolist(), band[1].tolist(), strict=True))
        all_bridges = []
        for a, b, gap in bridge_list + pool_bridges:
            key = (min(a, b), max(a, b))
            if key in band_set:
                continue
            band_set.add(key)
            all_bridges.append((a, b, gap))
        for a, b, gap in all_bridges:
            messages.append(
                f"小区 {self.ids[a]} 与 {self.ids[b]} 相距 {gap:.0f} 米（超过 "
                f"{self.distance_band_m:g} 米距离带），为连片已将二者连接 / bridged community "
                f"{self.ids[a]} to {self.ids[b]}, {gap:.0f} m apart (beyond the "
                f"{self.distance_band_m:g} m band), so that they can share a batch"
            )
        ei = np.concatenate([band[0], [a for a, _, _ in all_bridges]]).astype(np.int64)
        ej = np.concatenate([band[1], [b for _, b, _ in all_bridges]]).astype(np.int64)
        indptr, indices = _csr(n, ei, ej)
        problem = _Problem(
            ids=self.ids,
            index=self.index,
            xy=self.xy,
            values=self.values,
            lower=lower,
            upper=upper,
            indptr=indptr,
            indices=indices,
            bridges=tuple((str(self.ids[a]), str(self.ids[b]), g) for a, b, g in all_bridges),
            position=self.position,
            public_tender_yuan=self.public_tender_yuan,
            distance_band_m=self.distance_band_m,
        )
        # Connected components of the pool.
        batches: list[np.ndarray] = []
        undersized: list[np.ndarray] = []
        measures = np.flatnonzero(np.isfinite(lower) | np.isfinite(upper))
        if len(pool):
            in_pool = np.zeros(n, dtype=bool)
            in_pool[pool] = True
            keep = in_pool[ei] & in_pool[ej]
            local = np.full(n, -1, dtype=np.int64)
            local[pool] = np.arange(len(pool))
            graph = coo_matrix(
                (np.ones(int(keep.sum())), (local[ei[keep]], local[ej[keep]])),
                shape=(len(pool), len(pool)),
            )
            count, comp = connected_components(graph, directed=False)
            for c in range(count):
                nodes = pool[comp == c]
                totals = values[nodes].sum(axis=0)
                if (totals < lower - _EPS).any():
                    undersized.append(nodes)
                    continue
                found, note = _solve_component(nodes, problem, measures, self.prefer, rng)
                batches.extend(found)
                if note:
                    messages.append(note)
        # Forced oversize communities: their own batch each.
        if self.infeasible == "force":
            batches.extend(np.array([i]) for i in oversize)
        batches.sort(key=lambda b: int(b.min()))
        new_ids = _batch_ids(len(batches), set(self.locked))
        for bid, members in zip(new_ids, batches, strict=True):
            batch_of[members] = bid
        # Groups below a lower bound even after bridging.
        assigned = np.array([b is not None for b in batch_of])
        for nodes in undersized:
            ids = self.ids[nodes]
            shown = ", ".join(map(str, ids[:8])) + (" ..." if len(ids) > 8 else "")
            totals = values[nodes].sum(axis=0)
            short = [m for m in range(len(MEASURES)) if totals[m] < lower[m] - _EPS]
            zh, en, unit = _MEASURE_LABELS[MEASURES[short[0]]]
            reason_zh = (
                f"所在片区（{len(nodes)} 个小区）{zh}合计 {_fmt(totals[short[0]])}{unit}，"
                f"低于批次下限 {_fmt(lower[short[0]])}{unit}，且无法在限定距离内连接其他小区"
            )
            reason_en = (
                f"its area ({len(nodes)} communities) totals {_fmt(totals[short[0]])} {en}, "
                f"below the batch lower bound {_fmt(lower[short[0]])}, and cannot be joined "
                "to other communities within the bridge limit"
            )
            if self.infeasible == "force" and assigned.any():
                tree = cKDTree(self.xy[assigned])
                _, nearest = tree.query(self.xy[nodes])
                targets = np.flatnonzero(assigned)[np.atleast_1d(nearest)]
                target = batch_of[targets[0]]
                batch_of[nodes] = target
                messages.append(
                    f"小区 {shown} 已并入最近的批次 {target}（违反规则，见违规列表）：{reason_zh} / "
                    f"communities {shown} were forced into the nearest batch {target} "
                    f"(flagged as a violation): {reason_en}"
                )
            elif self.infeasible == "force":
                bid = _next_batch_id([b for b in batch_of if b is not None])
                batch_of[nodes] = bid
                messages.append(
                    f"小区 {shown} 组成批次 {bid}（低于下限，见违规列表） / communities {shown} "
                    f"form batch {bid} (below the lower bound, flagged)"
                )
            else:
                for cid in ids:
                    unassigned_rows.append((str(cid), reason_zh, reason_en))
                messages.append(
                    f"小区 {shown} 未分批：{reason_zh} / communities {shown} left unassigned: "
                    f"{reason_en}"
                )
        unassigned = pd.DataFrame(unassigned_rows, columns=list(_UNASSIGNED_COLUMNS))
        result = _evaluate(
            problem,
            batch_of,
            locked=frozenset(self.locked),
            messages=messages,
            unassigned=unassigned,
        )
        row_of = {b: i for i, b in enumerate(result.batches["batch_id"])}
        self.labels_ = np.array([row_of.get(b, -1) for b in batch_of], dtype=np.int64)
        self.result_ = result
        logger.info(
            "bundled %d communities into %d batches (%d violations, %d unassigned)",
            n,
            len(result.batches),
            len(result.violations),
            len(result.unassigned),
        )
        return self


def bundle(communities: gpd.GeoDataFrame, *, bounds: Bounds, **kwargs: Any) -> BundleResult:
    """Bundle communities into batches: ``EPCBundler(communities, bounds=..., **kw).solve().result_``.

    See :class:`EPCBundler` for the parameters (distances in EPSG:4546 metres).

    Examples
    --------
    >>> result = bundle(gdf, bounds=Bounds(min_households=1500, max_households=2500))  # doctest: +SKIP
    >>> result.metrics["diameter_max_m"]  # doctest: +SKIP
    """
    return EPCBundler(communities, bounds=bounds, **kwargs).solve().result_


# --------------------------------------------------------------------------- editing


def _batch_array(result: BundleResult) -> np.ndarray:
    return result.assignments.to_numpy(dtype=object).copy()


def _require_batch(result: BundleResult, batch_id: str, *, editable: bool = True) -> None:
    if batch_id not in set(result.batches["batch_id"]):
        raise BundlingError(
            f"没有批次 {batch_id} / there is no batch {batch_id!r}; existing batches: "
            f"{', '.join(result.batches['batch_id'])}"
        )
    if editable and batch_id in result.locked:
        raise BundlingError(
            f"批次 {batch_id} 已锁定，不能修改；请先解锁 / batch {batch_id} is locked and cannot "
            "be edited; unlock it first"
        )


def _with(
    result: BundleResult,
    batch_of: np.ndarray,
    message: str,
    *,
    locked: frozenset[str] | None = None,
    unassigned: pd.DataFrame | None = None,
) -> BundleResult:
    return _evaluate(
        result._problem,
        batch_of,
        locked=result.locked if locked is None else locked,
        messages=(*result.messages, message),
        unassigned=result.unassigned if unassigned is None else unassigned,
    )


def move(result: BundleResult, community_id: str, to_batch: str | None) -> BundleResult:
    """Move one community to another batch (or out of every batch with ``None``); re-check.

    Totals, diameters (EPSG:4546 m), contiguity and bounds are recomputed; a
    broken rule is reported in ``violations``, never fixed.

    Raises
    ------
    BundlingError
        Unknown community or batch, or a locked source or target batch.

    Examples
    --------
    >>> edited = move(result, "441702-0001", "B02")  # doctest: +SKIP
    >>> edited.violations  # doctest: +SKIP
    """
    position = result._problem.position
    if str(community_id) not in position:
        raise BundlingError(
            f"没有小区 {community_id} / community {community_id!r} is not in this bundling"
        )
    row = position[str(community_id)]
    batch_of = _batch_array(result)
    source = batch_of[row]
    if source is not None:
        _require_batch(result, source)
    if to_batch is not None:
        _require_batch(result, to_batch)
    if source == to_batch:
        return result
    batch_of[row] = to_batch
    unassigned = result.unassigned[result.unassigned["community_id"] != str(community_id)]
    if to_batch is None:
        extra = pd.DataFrame(
            [(str(community_id), "人工移出批次", "removed from its batch by hand")],
            columns=list(_UNASSIGNED_COLUMNS),
        )
        unassigned = pd.concat([unassigned, extra], ignore_index=True)
    src = source or "未分批"
    dst = to_batch or "未分批"
    message = (
        f"已将小区 {community_id} 由 {src} 移至 {dst} / moved community {community_id} from "
        f"{source or 'unassigned'} to {to_batch or 'unassigned'}"
    )
    return _with(result, batch_of, message, unassigned=unassigned)


def merge(result: BundleResult, a: str, b: str) -> BundleResult:
    """Merge batch ``b`` into batch ``a`` (``a`` keeps its id); re-check.

    Raises
    ------
    BundlingError
        Unknown or locked batch, or ``a == b``.
    """
    _require_batch(result, a)
    _require_batch(result, b)
    if a == b:
        raise BundlingError(f"不能将批次 {a} 与自身合并 / cannot merge batch {a} with itself")
    batch_of = _batch_array(result)
    batch_of[batch_of == b] = a
    return _with(result, batch_of, f"已将批次 {b} 并入 {a} / merged batch {b} into {a}")


def split(result: BundleResult, batch_id: str, *, seed: int = 0) -> BundleResult:
    """Split a batch in two contiguous, compact halves (the second gets a new id); re-check.

    The halves are grown as in :class:`EPCBundler`, balanced on the bounded
    quantities; bounds broken by the split are reported, not fixed.

    Raises
    ------
    BundlingError
        Unknown or locked batch, or a batch of a single community.
    """
    _require_batch(result, batch_id)
    problem = result._problem
    batch_of = _batch_array(result)
    nodes = np.flatnonzero(batch_of == batch_id)
    if len(nodes) < 2:
        raise BundlingError(
            f"批次 {batch_id} 只有一个小区，无法拆分 / batch {batch_id} has one community and "
            "cannot be split"
        )
    measures = np.flatnonzero(np.isfinite(problem.lower) | np.isfinite(problem.upper))
    if len(measures) == 0:
        measures = np.array([MEASURES.index("communities")])
    pos = {int(g): i for i, g in enumerate(nodes)}
    nbrs = [[pos[int(u)] for u in problem.neighbours(int(g)) if int(u) in pos] for g in nodes]
    weights = np.nan_to_num(problem.values[np.ix_(nodes, measures)])
    part = _Partition(
        nbrs,
        problem.xy[nodes],
        weights,
        np.full(len(measures), -np.inf),  # balance halves; bounds are checked afterwards
        np.full(len(measures), np.inf),
        np.random.default_rng(seed),
    )
    labels = np.array(part.run(2, _SPLIT_DEPTH))
    new_id = _next_batch_id(list(result.batches["batch_id"]))
    batch_of[nodes[labels == 1]] = new_id
    return _with(
        result,
        batch_of,
        f"已将批次 {batch_id} 拆分为 {batch_id} 和 {new_id} / split batch {batch_id} into "
        f"{batch_id} and {new_id}",
    )


def lock(result: BundleResult, batch_id: str) -> BundleResult:
    """Lock a batch: later edits to it are refused and a re-solve keeps it (``locked_batches``).

    Raises
    ------
    BundlingError
        Unknown batch.
    """
    return _set_locked(result, batch_id, locked=True)


def unlock(result: BundleResult, batch_id: str) -> BundleResult:
    """Unlock a batch.

    Raises
    ------
    BundlingError
        Unknown batch.
    """
    return _set_locked(result, batch_id, locked=False)


def _set_locked(result: BundleResult, batch_id: str, *, locked: bool) -> BundleResult:
    """The result with ``batch_id`` locked or unlocked (assignments unchanged), re-checked."""
    _require_batch(result, batch_id, editable=False)
    if locked:
        message = f"已锁定批次 {batch_id} / locked batch {batch_id}"
        keep = result.locked | {batch_id}
    else:
        message = f"已解锁批次 {batch_id} / unlocked batch {batch_id}"
        keep = result.locked - {batch_id}
    return _with(result, _batch_array(result), message, locked=keep)


# --------------------------------------------------------------------------- reports


def compare(scenarios: Mapping[str, BundleResult]) -> pd.DataFrame:
    """Metrics of several bundlings side by side: one row per scenario.

    Parameters
    ----------
    scenarios : mapping of str to BundleResult
        Scenario name -> result (for example different bounds or bands).

    Returns
    -------
    DataFrame
        Index ``scenario``; columns the keys of :attr:`BundleResult.metrics`
        (diameters in EPSG:4546 metres, investment in 元).

    Examples
    --------
    >>> compare({"300 m": a, "500 m": b})["diameter_max_m"]  # doctest: +SKIP
    """
    rows = {str(name): dict(result.metrics) for name, result in scenarios.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "scenario"
    return frame


TENDER_COLUMNS: tuple[str, ...] = (
    "批次",
    "小区编号",
    "小区名称",
    "县区",
    "街道",
    "户数",
    "投资估算(元)",
    "改造内容",
)


def tender_list(
    result: BundleResult,
    communities: pd.DataFrame,
    *,
    batch_id: str,
    works: pd.DataFrame | None = None,
    id_column: str = "community_id",
) -> pd.DataFrame:
    """The communities of one batch for the tender documents, with Chinese headers.

    Parameters
    ----------
    result : BundleResult
    communities : DataFrame
        The communities layer (``name``, ``county_code``, ``street``,
        ``households``; geometry not needed).
    batch_id : str
    works : DataFrame, optional
        :func:`gislib.works.derive_works` rows (``community_id``, ``work_zh``):
        fills 改造内容 with the works joined by "、".
    id_column : str, default "community_id"

    Returns
    -------
    DataFrame
        Columns 批次, 小区编号, 小区名称, 县区, 街道, 户数, 投资估算(元), 改造内容,
        one row per community of the batch in id order.

    Raises
    ------
    BundlingError
        Unknown batch.
    """
    _require_batch(result, batch_id, editable=False)
    problem = result._problem
    members = sorted(result.assignments.index[result.assignments == batch_id])
    table = communities.drop_duplicates(id_column).set_index(
        communities[id_column].drop_duplicates().astype(str)
    )

    def column(name: str) -> list[Any]:
        if name not in table.columns:
            return [None] * len(members)
        return [table[name].get(m) for m in members]

    counties = [
        COUNTIES.get(str(c), (c, c))[0] if c is not None else None for c in column("county_code")
    ]
    content: list[str | None] = [None] * len(members)
    if works is not None and "community_id" in works.columns:
        label = "work_zh" if "work_zh" in works.columns else "item_zh"
        joined = (
            works.assign(community_id=works["community_id"].astype(str))
            .groupby("community_id", sort=False)[label]
            .agg(lambda s: "、".join(dict.fromkeys(map(str, s.dropna()))))
        )
        content = [joined.get(m) for m in members]
    rows = [problem.position[m] for m in members]
    return pd.DataFrame(
        {
            "批次": [batch_id] * len(members),
            "小区编号": members,
            "小区名称": column("name"),
            "县区": counties,
            "街道": column("street"),
            "户数": problem.values[rows, 1].round().astype(np.int64),
            "投资估算(元)": problem.values[rows, 0],
            "改造内容": content,
        },
        columns=list(TENDER_COLUMNS),
    )


def bundle_year(
    workspace: Any,
    *,
    year: int,
    policy: Any = None,
    county: str | None = None,
    investment: pd.Series | None = None,
    bounds: Bounds | None = None,
    distance_band_m: float | None = None,
    seed: int = 0,
    prefer: BatchCountPreference = "middle",
) -> dict[str, BundleResult]:
    """Bundle each county's communities planned (stage 申报) for ``year``.

    Bounds, distance band (EPSG:4546 m) and public tender threshold come from
    the policy's ``bundling`` section (:class:`gislib.policy.BundlingPolicy`)
    unless given.

    Parameters
    ----------
    workspace : Workspace
        An open workspace (layers ``communities`` and ``status_events``).
    year : int
        Plan year (the ``year`` of the 申报 status events).
    policy : Policy, optional
        Default :func:`gislib.policy.load_policy`.
    county : str, optional
        County code or name; default every county.
    investment : Series, optional
        元 per community id; default :func:`gislib.planning.investment_estimate`.
    bounds : Bounds, optional
        Default the policy's.
    distance_band_m : float, optional
        Default the policy's.
    seed : int, default 0
    prefer : {"middle", "fewest", "most"}
        As for :class:`EPCBundler`.

    Returns
    -------
    dict of str to BundleResult
        County code -> its bundling, in code order; counties without a
        planned community are left out.

    Raises
    ------
    SchemaError
        Unknown county.
    """
    from gislib.planning import investment_estimate
    from gislib.policy import load_policy

    policy = policy if policy is not None else load_policy()
    settings = policy.bundling
    if bounds is None:
        bounds = Bounds.from_policy(settings)
    band = settings.distance_band_m if distance_band_m is None else distance_band_m
    communities = workspace.read("communities")
    events = workspace.read("status_events")
    planned = events.loc[
        (events["stage"] == _PLANNED_STAGE)
        & (pd.to_numeric(events["year"], errors="coerce") == int(year)),
        "community_id",
    ].astype(str)
    chosen = communities[communities["community_id"].astype(str).isin(set(planned))]
    if county is not None:
        code = county_code_for(county)
        if code is None:
            raise SchemaError(
                f"未知的区县 {county!r}，可选：{'、'.join(n for n, _ in COUNTIES.values())} / "
                f"unknown county {county!r}"
            )
        chosen = chosen[chosen["county_code"].astype(str) == code]
    if chosen.empty:
        return {}
    values = investment if investment is not None else investment_estimate(workspace, policy=policy)
    return {
        str(code): bundle(
            group,
            bounds=bounds,
            investment=values,
            distance_band_m=band,
            public_tender_yuan=settings.public_tender_threshold,
            seed=seed,
            prefer=prefer,
        )
        for code, group in chosen.groupby(chosen["county_code"].astype(str), sort=True)
    }


def batches_table(results: Mapping[str, BundleResult], *, year: int) -> pd.DataFrame:
    """The batches of several counties in one table, ids prefixed with the county code.

    Parameters
    ----------
    results : mapping of str to BundleResult
        County code -> bundling (:func:`bundle_year`).
    year : int
        The plan year, written in a column.

    Returns
    -------
    DataFrame
        ``county`` (code), ``year`` and the columns of :attr:`BundleResult.batches`;
        batch ids become ``441702-B01`` so that they are unique across counties.
    """
    columns = ["county", "year", *_BATCH_COLUMNS]
    frames = []
    for code, result in results.items():
        table = result.batches.copy()
        table["batch_id"] = [f"{code}-{b}" for b in table["batch_id"]]
        table.insert(0, "year", int(year))
        table.insert(0, "county", code)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def year_batches(
    workspace: Any,
    *,
    year: int,
    policy: Any = None,
    county: str | None = None,
    investment: pd.Series | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`bundle_year` with the policy's settings, as one :func:`batches_table`.

    Examples
    --------
    >>> year_batches(open_workspace(path), year=2023)  # doctest: +SKIP
    """
    results = bundle_year(
        workspace, year=year, policy=policy, county=county, investment=investment, seed=seed
    )
    return batches_table(results, year=year)


#: Headers of the batch table in an exported workbook.
BATCH_COLUMN_LABELS: dict[str, str] = {
    "county": "区县代码",
    "year": "计划年度",
    "batch_id": "批次",
    "communities": "小区数",
    "households": "户数",
    "investment": "投资估算(元)",
    "diameter_m": "批次跨度(米)",
    "contiguous": "连片",
    "bounds_ok": "满足规模约束",
    "violations": "违反的约束",
    "public_tender": "须公开招标(≥400万元)",
    "locked": "已锁定",
}


def write_tender_workbook(
    results: Mapping[str, BundleResult],
    communities: pd.DataFrame,
    path: Any,
    *,
    year: int,
    works: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
    overwrite: bool = False,
) -> Any:
    """Write the batches and, per batch, its tender list to an Excel workbook.

    Sheets: 批次汇总 (:func:`batches_table`), 招标清单 (:func:`tender_list` of
    every batch, one after the other), 未分入批次 (the unassigned communities
    with the reason) and 说明 (``notes``). Values only, no formulas; written
    atomically (:func:`gislib.io.tables.write_workbook`).

    Parameters
    ----------
    results : mapping of str to BundleResult
        County code -> bundling.
    communities : DataFrame
        The communities layer (names, streets, households).
    path : path-like
        Target ``.xlsx``.
    year : int
        The plan year.
    works : DataFrame, optional
        :func:`gislib.works.derive_works` rows for the 改造内容 column.
    notes : sequence of str
        Lines of the 说明 sheet (source, date, synthetic data warning).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path
        The file written.
    """
    from gislib.io.tables import write_workbook

    lists = []
    unplaced = []
    for code, result in results.items():
        for batch in result.batches["batch_id"]:
            table = tender_list(result, communities, batch_id=str(batch), works=works)
            table["批次"] = f"{code}-{batch}"
            lists.append(table)
        if not result.unassigned.empty:
            unplaced.append(result.unassigned.assign(county=code))
    tender = pd.concat(lists, ignore_index=True) if lists else pd.DataFrame(columns=TENDER_COLUMNS)
    left = (
        pd.concat(unplaced, ignore_index=True)
        if unplaced
        else pd.DataFrame(columns=["community_id", "reason_zh", "reason_en", "county"])
    )
    summary = batches_table(results, year=year).drop(columns="members")
    return write_workbook(
        {"批次汇总": summary, "招标清单": tender, "未分入批次": left},
        path,
        column_labels={
            **BATCH_COLUMN_LABELS,
            "community_id": "小区编号",
            "reason_zh": "原因",
            "reason_en": "reason",
        },
        notes=notes,
        overwrite=overwrite,
    )
