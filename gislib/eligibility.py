"""Eligibility of communities under the plan, with the reason for every verdict.

For every community the check gives a verdict (eligible / conditional /
ineligible), a tier (priority: built to 2000; capped: 2001-2005, within the
15% cap) and one row per rule of the policy: the rule, the plan section, the
outcome (pass / review / fail), the measured value, the threshold and the
reason in Chinese and English, e.g. "与规划征迁范围「金山片区」重叠 62%，超过 10%".
Areas are measured in EPSG:4546 (CGCS2000 / 3-degree GK CM 111E); inputs are
in EPSG:4490 as stored.

The 15% cap on communities built 2001-2005 applies to a set (a year's task),
not to one community: :func:`check_capped_share`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gislib.crs import require_same_crs
from gislib.errors import SchemaError
from gislib.policy import Policy, Rule
from gislib.schema import MEASURE_CRS

__all__ = [
    "DEFICIENCY_BUILDING_LABELS",
    "OUTCOME_LABELS",
    "RESULT_LABELS",
    "TIER_LABELS",
    "VERDICT_LABELS",
    "CapCheck",
    "EligibilityResult",
    "Outcome",
    "Tier",
    "Verdict",
    "WorkspaceCheck",
    "check_capped_share",
    "check_eligibility",
    "check_workspace",
    "export_check",
    "urban_share",
    "zone_overlap",
]

logger = logging.getLogger(__name__)


class Verdict(StrEnum):
    """Overall verdict for a community."""

    ELIGIBLE = "eligible"
    CONDITIONAL = "conditional"
    INELIGIBLE = "ineligible"


class Outcome(StrEnum):
    """Outcome of one rule for one community."""

    PASS = "pass"
    REVIEW = "review"
    FAIL = "fail"


class Tier(StrEnum):
    """Build-year tier (plan section 三)."""

    PRIORITY = "priority"
    CAPPED = "capped"
    OUT = "out"
    UNKNOWN = "unknown"


VERDICT_LABELS: dict[str, tuple[str, str]] = {
    Verdict.ELIGIBLE: ("符合改造条件", "eligible"),
    Verdict.CONDITIONAL: ("有条件符合（需复核）", "conditional (needs review)"),
    Verdict.INELIGIBLE: ("不符合改造条件", "ineligible"),
}
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    Outcome.PASS: ("通过", "pass"),
    Outcome.REVIEW: ("需复核", "review"),
    Outcome.FAIL: ("不通过", "fail"),
}
TIER_LABELS: dict[str, tuple[str, str]] = {
    Tier.PRIORITY: ("重点改造（2000年底前建成）", "priority (built to 2000)"),
    Tier.CAPPED: ("可纳入（计入15%上限）", "allowed within the cap"),
    Tier.OUT: ("不在改造年限内", "outside the build-year scope"),
    Tier.UNKNOWN: ("建成年份不详", "year built unknown"),
}
#: Deficiencies found from the building data and rasters (network ones come from
#: :data:`gislib.networks.DEFICIENCY_LABELS`).
DEFICIENCY_BUILDING_LABELS: dict[str, tuple[str, str]] = {
    "no_lift": ("多层住宅无电梯", "no lift in a multi-storey building"),
    "waterlogging": ("内涝积水明显", "noticeable waterlogging"),
}

_SUMMARY_COLUMNS = [
    "community_id",
    "name",
    "county_code",
    "verdict",
    "tier",
    "failed_rules",
    "review_rules",
    "inside_share",
    "expropriation_share",
    "expropriation_zones",
    "deficiency_count",
    "deficiencies",
]


@dataclass(frozen=True)
class EligibilityResult:
    """What :func:`check_eligibility` returns.

    Attributes
    ----------
    summary : DataFrame
        One row per community, indexed like the input: ``community_id``,
        ``name``, ``county_code``, ``verdict``, ``tier``, ``failed_rules`` and
        ``review_rules`` (tuples of rule ids), ``inside_share`` (share of the area
        inside the urban areas), ``expropriation_share`` and
        ``expropriation_zones`` (names, "、"-joined), ``deficiency_count`` and
        ``deficiencies`` (tuple of codes).
    rules : DataFrame
        One row per community and rule: ``community_id``, ``rule_id``,
        ``section``, ``rule_zh``, ``rule_en``, ``outcome``, ``value``,
        ``threshold``, ``reason_zh``, ``reason_en``.
    policy : Policy
        The policy applied.
    """

    summary: pd.DataFrame
    rules: pd.DataFrame
    policy: Policy

    def reasons(self, community_id: str) -> pd.DataFrame:
        """The rule rows of one community, in rule order."""
        return self.rules[self.rules["community_id"] == community_id].reset_index(drop=True)

    def counts_by_verdict(self) -> pd.Series:
        """Number of communities per verdict (all three verdicts, zero included)."""
        counts = self.summary["verdict"].value_counts()
        return counts.reindex([str(v) for v in Verdict], fill_value=0)

    def counts_by_failing_rule(self) -> pd.DataFrame:
        """Per rule: how many communities fail it and how many need review on it."""
        table = pd.crosstab(self.rules["rule_id"], self.rules["outcome"])
        table = table.reindex(columns=[str(o) for o in Outcome], fill_value=0)
        order = [r.id for r in self.policy.rules.all() if r.id in table.index]
        return table.loc[order]


@dataclass(frozen=True)
class CapCheck:
    """The 15% cap on communities built 2001-2005 within a set (a year's task).

    Attributes
    ----------
    total : int
        Communities in the set.
    capped : list of str
        Ids of the communities in the capped tier, oldest first.
    share : float
        ``len(capped) / total`` (0 for an empty set).
    limit : float
        The policy's maximum share.
    allowed : int
        How many capped communities the set may hold.
    excess : list of str
        The capped communities beyond ``allowed`` (the most recent ones), which
        would break the cap; empty when it holds.
    """

    total: int
    capped: list[str]
    share: float
    limit: float
    allowed: int
    excess: list[str]

    @property
    def ok(self) -> bool:
        """Whether the set respects the cap."""
        return not self.excess

    def message(self) -> tuple[str, str]:
        """The finding in Chinese and English."""
        pct, lim = f"{self.share:.1%}", f"{self.limit:.0%}"
        if self.ok:
            return (
                f"2001-2005年建成的小区 {len(self.capped)} 个，占 {pct}，未超过 {lim}",
                f"{len(self.capped)} communities built 2001-2005, {pct}, within {lim}",
            )
        ids = "、".join(self.excess)
        return (
            f"2001-2005年建成的小区 {len(self.capped)} 个，占 {pct}，超过 {lim}（最多 "
            f"{self.allowed} 个）；超出的小区：{ids}",
            f"{len(self.capped)} communities built 2001-2005 are {pct}, over {lim} (at most "
            f"{self.allowed}); over the cap: {', '.join(self.excess)}",
        )


def _measured(frame: gpd.GeoDataFrame) -> np.ndarray:
    """The geometries of ``frame`` in EPSG:4546, as :func:`gislib.crs.to_measure` gives them.

    Only the geometry is reprojected (the same transformation as
    ``to_measure``, which reprojects the geometry column the same way), not a
    copy of every attribute. The caller has checked the CRS
    (:func:`gislib.crs.require_same_crs`).
    """
    return np.asarray(frame.geometry.to_crs(MEASURE_CRS).to_numpy(), dtype=object)


def _measure_pair(
    communities: gpd.GeoDataFrame, other: gpd.GeoDataFrame, *, names: tuple[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    require_same_crs(communities, other, names=names)
    return _measured(communities), _measured(other)


def _pair_areas(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i, j) of intersecting geometries and the area of each intersection (m²)."""
    tree = shapely.STRtree(b)
    # Envelope query, then the predicate with ``b`` prepared: the same pairs in the
    # same order as ``query(a, predicate="intersects")``, which would test each
    # community against the (large) zone or urban area unprepared.
    left, right = tree.query(a)
    shapely.prepare(b)
    meet = shapely.intersects(b[right], a[left])
    left, right = left[meet], right[meet]
    if len(left) == 0:
        return left, right, np.zeros(0)
    inside = shapely.contains_properly(b[right], a[left])
    areas = np.empty(len(left))
    areas[inside] = shapely.area(a[left[inside]])
    rest = ~inside
    areas[rest] = shapely.area(shapely.intersection(a[left[rest]], b[right[rest]]))
    return left, right, areas


def _zone_names(zones: gpd.GeoDataFrame, name_field: str) -> np.ndarray | None:
    return zones[name_field].astype(str).to_numpy() if name_field in zones else None


@dataclass(frozen=True)
class _Overlap:
    """:func:`zone_overlap` as arrays by community position (see there)."""

    share: np.ndarray  # float64, 0-1
    zones: np.ndarray  # object: tuple of zone names, largest overlap first
    zone_shares: np.ndarray  # object: tuple of shares, same order

    def frame(self, index: pd.Index) -> pd.DataFrame:
        return pd.DataFrame(
            {"share": self.share, "zones": self.zones, "zone_shares": self.zone_shares},
            index=index,
        )


def _zone_overlap(a: np.ndarray, b: np.ndarray, zone_names: np.ndarray | None) -> _Overlap:
    """:func:`zone_overlap` on measured geometries (EPSG:4546)."""
    n = len(a)
    share = np.zeros(n)
    names_out = np.empty(n, dtype=object)
    names_out.fill(())
    shares_out = names_out.copy()
    if n == 0 or len(b) == 0:
        return _Overlap(share, names_out, shares_out)
    left, right, areas = _pair_areas(a, b)
    own = shapely.area(a)
    keep = areas > 0
    left, right, areas = left[keep], right[keep], areas[keep]
    np.add.at(share, left, areas / own[left])
    counts = np.bincount(left, minlength=n)
    order = np.lexsort((-areas, left))
    left, right, areas = left[order], right[order], areas[order]
    starts = np.searchsorted(left, np.arange(n))
    labels = zone_names[right] if zone_names is not None else right.astype(str)
    label_list = [str(x) for x in labels.tolist()]
    fraction = (areas / own[left]).tolist()
    for i in np.flatnonzero(counts).tolist():
        lo, hi = int(starts[i]), int(starts[i] + counts[i])
        names_out[i] = tuple(label_list[lo:hi])
        shares_out[i] = tuple(fraction[lo:hi])
        if hi - lo > 1:  # zones may overlap each other: count their union once
            union = shapely.union_all(b[right[lo:hi]])
            share[i] = shapely.area(shapely.intersection(a[i], union)) / own[i]
    np.clip(share, 0.0, 1.0, out=share)
    return _Overlap(share, names_out, shares_out)


def zone_overlap(
    communities: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, name_field: str = "name"
) -> pd.DataFrame:
    """Share of each community's area inside planned expropriation zones.

    Measured in EPSG:4546. Where zones overlap each other, the community's
    share counts the union once.

    Parameters
    ----------
    communities, zones : GeoDataFrame
        In one CRS (stored: EPSG:4490).
    name_field : str
        Zone field used to name the zones.

    Returns
    -------
    DataFrame
        Indexed like ``communities``: ``share`` (0-1), ``zones`` (tuple of zone
        names, largest overlap first), ``zone_shares`` (tuple of shares, same
        order).

    Raises
    ------
    CRSError
        Missing or different CRS.

    Examples
    --------
    A square half inside a zone has a share of 0.5:

    >>> from shapely.geometry import box
    >>> c = gpd.GeoDataFrame(geometry=[box(111.97, 21.86, 111.972, 21.862)], crs=4490)
    >>> z = gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(111.971, 21.85, 111.98, 21.87)], crs=4490)
    >>> round(float(zone_overlap(c, z)["share"].iloc[0]), 3)
    0.5
    """
    a, b = _measure_pair(communities, zones, names=("communities", "expropriation_zones"))
    return _zone_overlap(a, b, _zone_names(zones, name_field)).frame(communities.index)


def _urban_share(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`urban_share` on measured geometries (EPSG:4546), as an array."""
    share = np.zeros(len(a))
    if len(a) and len(b):
        left, _, areas = _pair_areas(a, b)
        np.add.at(share, left, areas)
        share = np.clip(share / np.maximum(shapely.area(a), 1e-12), 0.0, 1.0)
    return share


def urban_share(communities: gpd.GeoDataFrame, urban_areas: gpd.GeoDataFrame) -> pd.Series:
    """Share (0-1) of each community's area inside the urban areas, measured in EPSG:4546.

    Raises
    ------
    CRSError
        Missing or different CRS.
    """
    a, b = _measure_pair(communities, urban_areas, names=("communities", "urban_areas"))
    return pd.Series(_urban_share(a, b), index=communities.index, name="inside_share")


# ---------------------------------------------------------------------------
# Rule evaluation: every rule gives, per community, an outcome, the measured
# value, the threshold text and the reasons. Vectorised over communities: the
# reasons are formatted once per distinct case (value and what else the text
# names), and every community points at its case.

#: Outcome codes used inside the evaluation: position in this tuple.
_OUTCOME_ORDER: tuple[str, ...] = (Outcome.PASS.value, Outcome.REVIEW.value, Outcome.FAIL.value)
_PASS, _REVIEW, _FAIL = 0, 1, 2
#: Up to this many rules, a community's set of failed (or reviewed) rules is one int64.
_MAX_MASK_BITS = 63


@dataclass
class _RuleRows:
    rule: Rule
    outcome: np.ndarray  # int8 position in _OUTCOME_ORDER, one per community
    value: np.ndarray  # object, one per community
    threshold: str
    reason: np.ndarray  # int64 position in zh / en, one per community
    zh: list[str]
    en: list[str]


def _bool_values(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A yes/no column as two bool arrays: the values (False where missing) and missing.

    A column of numpy bools is read as it is; any other goes through pandas'
    ``boolean`` dtype (which refuses values that are not yes/no). A missing
    column is missing everywhere.
    """
    n = len(frame)
    if name not in frame:
        return np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    column = frame[name]
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "b":
        return column.to_numpy(), np.zeros(n, dtype=bool)
    flags = column.astype("boolean")
    return flags.to_numpy(dtype=bool, na_value=False), flags.isna().to_numpy(dtype=bool)


def _num_column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[name], errors="coerce").astype("float64")


def _num_values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """:func:`_num_column` as a float64 array (numpy numbers are cast without pandas)."""
    if name in frame:
        column = frame[name]
        if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf":
            return column.to_numpy(dtype=np.float64)
    return _num_column(frame, name).to_numpy()


def _outcomes(fail: np.ndarray, review: np.ndarray) -> np.ndarray:
    out = np.full(len(fail), _PASS, dtype=np.int8)
    out[review] = _REVIEW
    out[fail] = _FAIL
    return out


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.1 or x == 0 else f"{x:.1%}"


def _factorize(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of equal values (numbered in order of first appearance) and each code's first row.

    Hashing, not sorting; floats are compared bit for bit (so -0.0, 0.0 and
    every NaN keep their own text).
    """
    if key.dtype.kind == "f":
        key = np.ascontiguousarray(key, dtype=np.float64).view(np.int64)
    codes, _ = pd.factorize(key, use_na_sentinel=False)
    codes = np.asarray(codes, dtype=np.int64)
    # codes are numbered as they first appear: the running maximum grows at first rows
    grows = np.empty(len(codes), dtype=bool)
    if len(codes):
        grows[0] = True
        np.greater(codes[1:], np.maximum.accumulate(codes)[:-1], out=grows[1:])
    return codes, np.flatnonzero(grows)


def _cases(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group rows whose keys are all equal: the case of each row and each case's first row.

    Floats are compared bit for bit; the other keys are integer codes.
    """
    case, first = _factorize(keys[0])
    for key in keys[1:]:
        code, _ = _factorize(key)
        case, first = _factorize(case * (int(code.max(initial=0)) + 1) + code)
    return case, first


def _take_objects(items: Sequence[Any], case: np.ndarray) -> np.ndarray:
    """``items[case]`` as an object array (items may be tuples: each is one element)."""
    table = np.empty(len(items), dtype=object)
    for pos, item in enumerate(items):
        table[pos] = item
    return table[case] if len(case) else np.empty(0, dtype=object)


def _texts(pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _rule_scope(policy: Policy, inside: np.ndarray) -> _RuleRows:
    rule = policy.rules.scope
    lim = rule.min_share_inside
    fail = inside < lim
    case, first = _cases(inside)

    def text(v: float) -> tuple[str, str]:
        f = v < lim
        return (
            f"位于城区范围内的面积占 {_pct(v)}，{'低于' if f else '不低于'}要求的 {_pct(lim)}",
            f"{_pct(v)} of the area lies inside the urban area "
            f"({'below' if f else 'at least'} {_pct(lim)})",
        )

    values = list(inside[first])  # numpy floats, as the rows have always held
    zh, en = _texts([text(v) for v in values])
    return _RuleRows(
        rule,
        _outcomes(fail, np.zeros_like(fail)),
        _take_objects(values, case),
        f">= {lim}",
        case,
        zh,
        en,
    )


#: Tier codes used inside the evaluation: position in this tuple.
_TIER_ORDER: tuple[str, ...] = (
    Tier.PRIORITY.value,
    Tier.CAPPED.value,
    Tier.OUT.value,
    Tier.UNKNOWN.value,
)


def _tier_codes(policy: Policy, years: np.ndarray) -> np.ndarray:
    """Each build year's tier as its position in :data:`_TIER_ORDER` (NaN: unknown)."""
    rule = policy.rules.build_year
    y = np.asarray(years, dtype=np.float64)
    code = np.full(len(y), _TIER_ORDER.index(Tier.UNKNOWN.value), dtype=np.int64)
    known = ~np.isnan(y)
    code[known & (y <= rule.priority_until)] = _TIER_ORDER.index(Tier.PRIORITY.value)
    capped = known & (y > rule.priority_until) & (y <= rule.capped_until)
    code[capped] = _TIER_ORDER.index(Tier.CAPPED.value)
    code[known & (y > rule.capped_until)] = _TIER_ORDER.index(Tier.OUT.value)
    return code


def _tiers(policy: Policy, years: np.ndarray) -> np.ndarray:
    """Each build year's tier value (object array of str)."""
    return np.array(_TIER_ORDER, dtype=object)[_tier_codes(policy, years)]


def _rule_build_year(policy: Policy, y: np.ndarray, tier: np.ndarray) -> _RuleRows:
    rule = policy.rules.build_year
    p, c = rule.priority_until, rule.capped_until
    case, first = _cases(y)
    pairs, values = [], []
    for yv, t in zip(y[first].tolist(), tier[first].tolist(), strict=True):
        values.append(None if pd.isna(yv) else int(yv))
        if t == Tier.PRIORITY:
            pairs.append(
                (
                    f"{int(yv)} 年建成，属 {p} 年底前建成的重点改造小区",
                    f"built {int(yv)}, up to {p}: priority",
                )
            )
        elif t == Tier.CAPPED:
            pairs.append(
                (
                    f"{int(yv)} 年建成（{p + 1}-{c} 年），可纳入，但计入 "
                    f"{rule.capped_max_share:.0%} 上限",
                    f"built {int(yv)} ({p + 1}-{c}): allowed within the "
                    f"{rule.capped_max_share:.0%} cap",
                )
            )
        elif t == Tier.OUT:
            pairs.append(
                (
                    f"{int(yv)} 年建成，晚于 {c} 年，不在改造范围",
                    f"built {int(yv)}, after {c}: out of scope",
                )
            )
        else:
            pairs.append(("建成年份不详，请补充", "year built unknown: add it"))
    zh, en = _texts(pairs)
    fail = tier == Tier.OUT
    review = tier == Tier.UNKNOWN
    return _RuleRows(
        rule,
        _outcomes(fail, review),
        _take_objects(values, case),
        f"<= {p} (<= {c} capped)",
        case,
        zh,
        en,
    )


#: Cases of a yes/no rule, in the order of its reason table.
_FLAG_CASES: tuple[str, ...] = ("pass", "fail", "na")


def _rule_flag(
    rule: Rule,
    flags: tuple[np.ndarray, np.ndarray],
    *,
    good_when: bool,
    texts: dict[str, tuple[str, str]],
) -> _RuleRows:
    """A yes/no rule: ``good_when`` is the passing value; NA needs review.

    ``flags`` is :func:`_bool_values`: the values (False where missing) and missing.
    """
    value, na = flags
    good = ~na & (value == good_when)
    fail = ~good & ~na
    case = np.where(na, 2, np.where(good, 0, 1)).astype(np.int64)
    zh, en = _texts([texts[k] for k in _FLAG_CASES])
    values = _take_objects([False, True, None], np.where(na, 2, value.astype(np.int64)))
    return _RuleRows(rule, _outcomes(fail, na), values, str(good_when).lower(), case, zh, en)


def _rule_expropriation(policy: Policy, overlap: _Overlap) -> _RuleRows:
    rule = policy.rules.expropriation
    lo, hi = rule.ignore_up_to, rule.refuse_above
    share = overlap.share
    fail = share > hi
    review = (share > lo) & ~fail
    zones = overlap.zones
    zone_code, _ = pd.factorize(zones, use_na_sentinel=False)
    case, first = _cases(share, np.asarray(zone_code, dtype=np.int64))

    def text(s: float, names: tuple[str, ...]) -> tuple[str, str]:
        zone_zh = "、".join(f"「{n}」" for n in names)
        zone_en = ", ".join(f"'{n}'" for n in names)
        if s == 0:
            return "未与规划征迁范围重叠", "no overlap with planned expropriation zones"
        if s <= lo:
            return (
                f"与规划征迁范围{zone_zh}仅边缘接触 {_pct(s)}（不超过 {_pct(lo)}，视为数字化误差）",
                f"touches expropriation zone {zone_en} by {_pct(s)} only "
                f"(up to {_pct(lo)} is digitising noise)",
            )
        if s <= hi:
            return (
                f"与规划征迁范围{zone_zh}重叠 {_pct(s)}（{_pct(lo)}-{_pct(hi)}），需复核边界",
                f"overlaps expropriation zone {zone_en} by {_pct(s)} "
                f"({_pct(lo)}-{_pct(hi)}): review the boundary",
            )
        return (
            f"与规划征迁范围{zone_zh}重叠 {_pct(s)}，超过 {_pct(hi)}",
            f"overlaps expropriation zone {zone_en} by {_pct(s)}, over {_pct(hi)}",
        )

    values = list(share[first])  # numpy floats, as the rows have always held
    zh, en = _texts([text(s, zones[i]) for s, i in zip(values, first.tolist(), strict=True)])
    return _RuleRows(
        rule,
        _outcomes(fail, review),
        _take_objects(values, case),
        f"<= {lo} ignore, > {hi} fail",
        case,
        zh,
        en,
    )


def _rule_willingness(policy: Policy, w: np.ndarray) -> _RuleRows:
    rule = policy.rules.willingness
    na = np.isnan(w)
    fail = ~na & (w < rule.review_below)
    review = na | (~fail & (w < rule.min_share))
    lim, low = _pct(rule.min_share), _pct(rule.review_below)
    case, first = _cases(w)
    pairs, values = [], []
    for v in w[first].tolist():
        values.append(None if np.isnan(v) else float(v))
        if np.isnan(v):
            pairs.append(
                (
                    "居民同意率不详，请组织征求意见后补充",
                    "share of households agreeing unknown: consult residents and add it",
                )
            )
        elif v < rule.review_below:
            pairs.append(
                (
                    f"居民同意率 {_pct(v)}，低于 {low}，改造意愿不足",
                    f"{_pct(v)} of households agree, below {low}: not willing enough",
                )
            )
        elif v < rule.min_share:
            pairs.append(
                (
                    f"居民同意率 {_pct(v)}，未达 {lim}，需继续动员后复核",
                    f"{_pct(v)} of households agree, short of {lim}: mobilise and recount",
                )
            )
        else:
            pairs.append(
                (
                    f"居民同意率 {_pct(v)}，达到 {lim}",
                    f"{_pct(v)} of households agree, at least {lim}",
                )
            )
    zh, en = _texts(pairs)
    return _RuleRows(
        rule,
        _outcomes(fail, review),
        _take_objects(values, case),
        f">= {rule.min_share:.4f}",
        case,
        zh,
        en,
    )


def _management_values(management: pd.Series) -> tuple[np.ndarray, list[str | None]]:
    """Each row's management as text (None when missing): its case and the cases' values."""
    missing = management.isna().to_numpy(dtype=bool)
    if missing.all():
        return np.zeros(len(management), dtype=np.int64), [None]
    if isinstance(management.dtype, pd.StringDtype):
        texts = management
    else:  # other dtypes: equal values may differ in text (1 and 1.0), so compare texts
        texts = pd.Series(
            [None if pd.isna(v) else str(v) for v in management.tolist()], dtype=object
        )
    codes, uniques = pd.factorize(texts)  # missing values get -1
    values: list[str | None] = [str(v) for v in uniques]
    values = [str(v) for v in uniques]
    values.append(None)
    return np.where(codes < 0, len(values) - 1, codes).astype(np.int64), values


def _rule_management(policy: Policy, management: pd.Series) -> _RuleRows:
    rule = policy.rules.management
    case, values = _management_values(management)
    review_case = np.array([v is None or v not in rule.imperfect for v in values], dtype=bool)

    def text(v: str | None) -> tuple[str, str]:
        if v is None:
            return "物业管理方式不详，请补充", "property management unknown: add it"
        if v in rule.imperfect:
            return f"物业管理为「{v}」，管理不完善", f"management is '{v}': imperfect"
        return f"已有「{v}」管理，需核实是否失管", f"has '{v}': check whether it is neglected"

    zh, en = _texts([text(v) for v in values])
    review = review_case[case]
    return _RuleRows(
        rule,
        _outcomes(np.zeros_like(review), review),
        _take_objects(values, case),
        "in " + "/".join(rule.imperfect),
        case,
        zh,
        en,
    )


def _network_deficiencies(values: pd.Series) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """The deficiency codes of a network analysis: each row's case and the cases' tuples.

    A row that is not a sequence of codes (missing, a string) has none.
    """
    objects = values.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(objects)  # missing values get -1
    except TypeError:  # unhashable rows (lists): make them tuples first
        as_tuples = np.empty(len(objects), dtype=object)
        as_tuples[:] = [
            tuple(v) if isinstance(v, Iterable) and not isinstance(v, str) else None
            for v in objects.tolist()
        ]
        codes, uniques = pd.factorize(as_tuples)
    cases: list[tuple[Any, ...]] = [
        tuple(u) if isinstance(u, Iterable) and not isinstance(u, str) else () for u in uniques
    ]
    cases.append(())
    return np.where(codes < 0, len(cases) - 1, codes).astype(np.int64), cases


def _deficiencies(
    policy: Policy,
    communities: pd.DataFrame,
    networks: pd.DataFrame | None,
    raster: pd.DataFrame | None,
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Each community's deficiencies: its case and the cases' tuples of codes.

    Network codes first (in the analysis' order), then ``no_lift``, then
    ``waterlogging``.
    """
    n = len(communities)
    net_case = np.zeros(n, dtype=np.int64)
    net_cases: list[tuple[Any, ...]] = [()]
    if networks is not None:
        if "deficiencies" not in networks:
            raise SchemaError("the network analysis has no 'deficiencies' column")
        found = networks["deficiencies"]
        if not found.index.equals(communities.index):
            found = found.reindex(communities.index)
        net_case, net_cases = _network_deficiencies(found)
    storeys = _num_values(communities, "storeys")
    lift, _ = _bool_values(communities, "has_lift")  # missing counts as no lift
    no_lift = (storeys >= policy.deficiencies.lift_min_storeys) & ~lift
    waterlogged = np.zeros(n, dtype=bool)
    if raster is not None and "waterlogging_mean_m" in raster:
        depth = raster.reindex(communities.index)["waterlogging_mean_m"].to_numpy(dtype="float64")
        waterlogged = depth > policy.deficiencies.waterlogging_depth_m
    case, first = _cases(net_case, no_lift.astype(np.int64), waterlogged.astype(np.int64))
    tuples = [
        tuple(net_cases[net_case[i]])
        + (("no_lift",) if no_lift[i] else ())
        + (("waterlogging",) if waterlogged[i] else ())
        for i in first.tolist()
    ]
    return case, tuples


def _deficiency_labels() -> dict[str, tuple[str, str]]:
    labels = dict(DEFICIENCY_BUILDING_LABELS)
    try:
        from gislib.networks import DEFICIENCY_LABELS

        labels.update(DEFICIENCY_LABELS)
    except ImportError:  # pragma: no cover - networks is part of the package
        pass
    return labels


def _rule_deficiency(
    policy: Policy,
    case: np.ndarray,
    found: Sequence[tuple[str, ...]],
    *,
    networks_checked: bool,
) -> _RuleRows:
    rule = policy.rules.deficiency
    labels = _deficiency_labels()
    counts = np.array([len(x) for x in found], dtype=np.int64)
    pairs = []
    for codes in found:
        if codes:
            pairs.append(
                (
                    "存在不足：" + "；".join(labels.get(c, (c, c))[0] for c in codes),
                    "deficient: " + "; ".join(labels.get(c, (c, c))[1] for c in codes),
                )
            )
        else:
            pairs.append(
                (
                    "未发现明显的基础设施不足" + ("" if networks_checked else "（未做管网分析）"),
                    "no clear deficiency found"
                    + ("" if networks_checked else " (networks not analysed)"),
                )
            )
    zh, en = _texts(pairs)
    review = counts[case] < rule.min_count if len(case) else np.zeros(0, dtype=bool)
    return _RuleRows(
        rule,
        _outcomes(np.zeros_like(review), review),
        _take_objects(counts.tolist(), case),
        f">= {rule.min_count}",
        case,
        zh,
        en,
    )


def _rule_sets(hit: np.ndarray, rule_ids: list[str]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Per community, the ids of the rules flagged in its row of ``hit`` (n x k booleans)."""
    n, k = hit.shape
    if n == 0 or k == 0:
        return np.zeros(n, dtype=np.int64), [()]
    if k < _MAX_MASK_BITS:  # one bit per rule
        mask = hit.astype(np.int64) @ np.left_shift(1, np.arange(k))
        case, first = _factorize(mask)
        sets = [tuple(rule_ids[j] for j in range(k) if m >> j & 1) for m in mask[first].tolist()]
        return case, sets
    rows, case = np.unique(hit, axis=0, return_inverse=True)
    sets = [tuple(rule_ids[j] for j in np.flatnonzero(row).tolist()) for row in rows]
    return case.reshape(-1), sets


def _text_column(table: Sequence[Any] | np.ndarray, positions: np.ndarray) -> Any:
    """``table[positions]`` as a text column of the dtype pandas gives such values.

    ``positions`` are non-negative. A table of str (the usual case) is taken
    with one pyarrow ``take`` into the ``str`` array pandas would infer
    (:func:`_str_array`); anything else goes through pandas' inference.
    """
    if isinstance(table, pd.api.extensions.ExtensionArray):
        return table.take(positions)
    array = _str_array(table)
    if array is not None:
        return array.take(positions)
    values = np.empty(len(table), dtype=object)
    values[:] = list(table)
    return pd.Series(values, dtype=None if len(values) else object).array.take(positions)


def _str_array(table: Sequence[Any] | np.ndarray) -> Any:
    """``table`` (all str, not empty) as the array pandas infers for it; None otherwise.

    Pandas infers its default ``str`` dtype for a non-empty object array of
    str; when that dtype is the pyarrow one, the array is built with pyarrow
    directly (skipping pandas' per-value inference).
    """
    dtype = pd.StringDtype(na_value=np.nan)
    if not len(table) or dtype.storage != "pyarrow":
        return None
    items = list(table)
    if not all(type(x) is str for x in items):
        return None
    import pyarrow as pa

    array = pa.array(items, type=pa.large_string())
    return pd.arrays.ArrowStringArray(array, dtype=dtype)  # type: ignore[call-arg]  # stubs lack dtype


def _str_values(column: pd.Series) -> Any:
    """``column.astype(str)`` as the values of a text column (what pandas builds from them).

    A column already of pandas' default ``str`` dtype is returned as its
    array (``astype(str)`` leaves it as it is), else an object array.
    """
    if len(column) and column.dtype == pd.StringDtype(na_value=np.nan):
        return column.array
    return column.astype(str).to_numpy()


def check_eligibility(
    communities: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame,
    urban_areas: gpd.GeoDataFrame,
    policy: Policy,
    networks: pd.DataFrame | None = None,
    raster: pd.DataFrame | None = None,
) -> EligibilityResult:
    """Check every community against the policy's rules.

    Parameters
    ----------
    communities : GeoDataFrame
        The ``communities`` layer (EPSG:4490) with the schema's fields.
    zones : GeoDataFrame
        ``expropriation_zones``, same CRS.
    urban_areas : GeoDataFrame
        ``urban_areas``, same CRS (the plan's scope).
    policy : Policy
        Rules and thresholds (:func:`gislib.policy.load_policy`).
    networks : DataFrame, optional
        :func:`gislib.networks.analyse_networks` for the same communities;
        its ``deficiencies`` feed the deficiency rule.
    raster : DataFrame, optional
        Per-community raster statistics with ``waterlogging_mean_m`` (m).

    Returns
    -------
    EligibilityResult
        The verdict per community and one row per community and rule.

    Raises
    ------
    CRSError
        A layer without a CRS, or layers in different CRSs.
    SchemaError
        ``communities`` lacks ``community_id``.

    Examples
    --------
    >>> from gislib.policy import load_policy  # doctest: +SKIP
    >>> result = check_eligibility(comm, zones=z, urban_areas=u, policy=load_policy())  # doctest: +SKIP
    >>> result.summary["verdict"].value_counts()  # doctest: +SKIP
    """
    return _check_eligibility(
        communities,
        zones=zones,
        urban_areas=urban_areas,
        policy=policy,
        networks=networks,
        raster=raster,
    )


def _check_eligibility(
    communities: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame,
    urban_areas: gpd.GeoDataFrame,
    policy: Policy,
    networks: pd.DataFrame | None = None,
    raster: pd.DataFrame | None = None,
    measured: np.ndarray | None = None,
) -> EligibilityResult:
    """:func:`check_eligibility`, optionally given the communities already in EPSG:4546.

    ``measured`` must be ``communities.geometry.to_crs("EPSG:4546")`` (as the
    network analysis keeps it); by default it is computed here.
    """
    prepared = _prepare_check(
        communities, zones=zones, urban_areas=urban_areas, policy=policy, measured=measured
    )
    return _finish_check(prepared, communities, policy=policy, networks=networks, raster=raster)


@dataclass(frozen=True)
class _Prepared:
    """The part of the check that needs neither the network analysis nor the rasters."""

    inside: np.ndarray  # share inside the urban areas
    overlap: _Overlap
    tier_code: np.ndarray  # position in _TIER_ORDER
    tier: np.ndarray  # object, the tier values
    evaluated: list[_RuleRows]  # the enabled rules before the deficiency rule, in order


def _prepare_check(
    communities: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame,
    urban_areas: gpd.GeoDataFrame,
    policy: Policy,
    measured: np.ndarray | None = None,
) -> _Prepared:
    """Urban share, zone overlap, tiers and every rule but the deficiency rule (see above)."""
    if "community_id" not in communities:
        raise SchemaError("communities 缺少 community_id 字段 / communities lack community_id")
    # Same checks and order as urban_share then zone_overlap; the communities are
    # reprojected once for both.
    require_same_crs(communities, urban_areas, names=("communities", "urban_areas"))
    require_same_crs(communities, zones, names=("communities", "expropriation_zones"))
    if measured is None:
        measured = _measured(communities)
    inside = _urban_share(measured, _measured(urban_areas))
    overlap = _zone_overlap(measured, _measured(zones), _zone_names(zones, "name"))
    years = _num_values(communities, "build_year")
    tier_code = _tier_codes(policy, years)
    tier = np.array(_TIER_ORDER, dtype=object)[tier_code]
    r = policy.rules
    # Each rule is evaluated only when the policy keeps it.
    builders: list[tuple[Rule, Callable[[], _RuleRows]]] = [
        (r.scope, lambda: _rule_scope(policy, inside)),
        (r.build_year, lambda: _rule_build_year(policy, years, tier)),
        (
            r.not_renovated,
            lambda: _rule_flag(
                r.not_renovated,
                _bool_values(communities, "renovated_before"),
                good_when=False,
                texts={
                    "pass": ("未实施过综合改造", "not renovated before"),
                    "fail": ("已实施过综合改造，不再纳入", "already comprehensively renovated"),
                    "na": ("是否已改造不详，请核实", "unknown whether renovated before: check"),
                },
            ),
        ),
        (r.expropriation, lambda: _rule_expropriation(policy, overlap)),
        (
            r.illegal_structures,
            lambda: _rule_flag(
                r.illegal_structures,
                _bool_values(communities, "illegal_structures_cleared"),
                good_when=True,
                texts={
                    "pass": ("违章建筑拆除情况较好", "illegal structures largely removed"),
                    "fail": (
                        "违章建筑尚未拆除，需先拆违",
                        "illegal structures remain: remove them first",
                    ),
                    "na": ("违建拆除情况不详，请核实", "illegal structures unknown: check"),
                },
            ),
        ),
        (r.willingness, lambda: _rule_willingness(policy, _num_values(communities, "willingness"))),
        (
            r.management,
            lambda: _rule_management(
                policy,
                communities["management"]
                if "management" in communities
                else pd.Series(pd.NA, index=communities.index),
            ),
        ),
    ]
    evaluated = [build() for rule, build in builders if rule.enabled]
    return _Prepared(inside, overlap, tier_code, tier, evaluated)


def _finish_check(
    prepared: _Prepared,
    communities: gpd.GeoDataFrame,
    *,
    policy: Policy,
    networks: pd.DataFrame | None,
    raster: pd.DataFrame | None,
) -> EligibilityResult:
    """The deficiencies and their rule, the verdicts and the result tables."""
    inside, overlap, tier_code, tier = (
        prepared.inside,
        prepared.overlap,
        prepared.tier_code,
        prepared.tier,
    )
    found_case, found = _deficiencies(policy, communities, networks, raster)
    evaluated = list(prepared.evaluated)
    if policy.rules.deficiency.enabled:
        evaluated.append(
            _rule_deficiency(policy, found_case, found, networks_checked=networks is not None)
        )
    ids = _str_values(communities["community_id"])
    n, k = len(ids), len(evaluated)
    # outcome codes, one row per community and one column per rule
    outcomes = (
        np.column_stack([e.outcome for e in evaluated]) if k else np.zeros((n, 0), dtype=np.int8)
    )
    rule_ids = [e.rule.id for e in evaluated]
    failed_case, failed_sets = _rule_sets(outcomes == _FAIL, rule_ids)
    review_case, review_sets = _rule_sets(outcomes == _REVIEW, rule_ids)
    verdict_case = np.where(
        (outcomes == _FAIL).any(axis=1), 2, np.where((outcomes == _REVIEW).any(axis=1), 1, 0)
    )
    verdicts = [Verdict.ELIGIBLE.value, Verdict.CONDITIONAL.value, Verdict.INELIGIBLE.value]
    zone_case, zone_sets = pd.factorize(overlap.zones)
    deficiency_count = np.array([len(x) for x in found], dtype=np.int64)
    if n:  # str columns built from their few distinct values
        verdict: Any = _text_column(verdicts, verdict_case.astype(np.int64))
        tier_column: Any = _text_column(_TIER_ORDER, tier_code)
        zone_column: Any = _text_column(
            ["、".join(z) for z in zone_sets], np.asarray(zone_case, dtype=np.int64)
        )
    else:  # no rows: the dtypes pandas gives these empty inputs, as always
        verdict, tier_column = np.array(verdicts)[verdict_case], tier
        zone_column = _column(
            _take_objects(["、".join(z) for z in zone_sets], np.asarray(zone_case, dtype=np.int64))
        )
    summary = pd.DataFrame(
        {  # in the order of _SUMMARY_COLUMNS
            "community_id": ids,
            "name": _str_values(communities["name"]) if "name" in communities else ids,
            "county_code": _str_values(communities["county_code"])
            if "county_code" in communities
            else "",
            "verdict": verdict,
            "tier": tier_column,
            "failed_rules": _column(_take_objects(failed_sets, failed_case)),
            "review_rules": _column(_take_objects(review_sets, review_case)),
            "inside_share": inside,
            "expropriation_share": overlap.share,
            "expropriation_zones": zone_column,
            "deficiency_count": _column(deficiency_count[found_case]),
            "deficiencies": _column(_take_objects(found, found_case)),
        },
        index=communities.index,
    )
    rules = _rules_frame(ids, evaluated, outcomes)
    logger.info("checked %d communities against %d rules", n, k)
    return EligibilityResult(summary=summary, rules=rules, policy=policy)


def _column(values: np.ndarray) -> np.ndarray | list[Any]:
    """``values``, or an empty list when there are none (the dtype pandas has always given)."""
    return values if len(values) else []


def _rules_frame(ids: np.ndarray, evaluated: list[_RuleRows], outcomes: np.ndarray) -> pd.DataFrame:
    """One row per community and rule (community by community, rules in order)."""
    n, k = len(ids), len(evaluated)
    if n == 0 or k == 0:  # no rows: the dtypes pandas gives these empty inputs, as always
        return pd.DataFrame(
            {
                "community_id": np.repeat(ids, k),
                "rule_id": np.tile(np.array([e.rule.id for e in evaluated], dtype=object), n),
                "section": np.tile([e.rule.section for e in evaluated], n),
                "rule_zh": np.tile([e.rule.zh for e in evaluated], n),
                "rule_en": np.tile([e.rule.en for e in evaluated], n),
                "outcome": np.empty(0, dtype=object),
                "value": [],
                "threshold": np.tile([e.threshold for e in evaluated], n),
                "reason_zh": [],
                "reason_en": [],
            }
        )
    community = np.repeat(np.arange(n, dtype=np.int64), k)
    rule = np.tile(np.arange(k, dtype=np.int64), n)
    values = np.empty((n, k), dtype=object)
    reason = np.empty((n, k), dtype=np.int64)
    zh: list[str] = []
    en: list[str] = []
    for j, e in enumerate(evaluated):
        values[:, j] = e.value
        reason[:, j] = e.reason + len(zh)
        zh.extend(e.zh)
        en.extend(e.en)
    return pd.DataFrame(
        {
            "community_id": _text_column(ids, community),
            "rule_id": _text_column([e.rule.id for e in evaluated], rule),
            "section": _text_column([e.rule.section for e in evaluated], rule),
            "rule_zh": _text_column([e.rule.zh for e in evaluated], rule),
            "rule_en": _text_column([e.rule.en for e in evaluated], rule),
            "outcome": _text_column(_OUTCOME_ORDER, outcomes.reshape(-1).astype(np.int64)),
            # a list, so that pandas infers the dtype as it always has (float64 when
            # every value is a number or None)
            "value": values.reshape(-1).tolist(),
            "threshold": _text_column([e.threshold for e in evaluated], rule),
            "reason_zh": _text_column(zh, reason.reshape(-1)),
            "reason_en": _text_column(en, reason.reshape(-1)),
        }
    )


def check_capped_share(
    communities: pd.DataFrame, *, policy: Policy, id_field: str = "community_id"
) -> CapCheck:
    """Check the cap on communities built in the capped years within a set.

    The plan (三) allows communities built 2001-2005 up to 15% of the
    renovation task. The share is by number of communities. When the cap is
    broken, the most recently built capped communities are the excess.

    Parameters
    ----------
    communities : DataFrame
        The set (e.g. one year's task) with ``build_year`` and ``id_field``.
    policy : Policy
        Gives the years and the maximum share.

    Returns
    -------
    CapCheck

    Examples
    --------
    >>> import pandas as pd  # doctest: +SKIP
    >>> check_capped_share(pd.DataFrame({"community_id": list("abcd"), "build_year": [1990, 1995, 2003, 1980]}), policy=p).ok  # doctest: +SKIP
    False
    """
    rule = policy.rules.build_year
    years = _num_column(communities, "build_year")
    tier = _tiers(policy, years.to_numpy())
    mask = tier == Tier.CAPPED
    capped = communities.loc[mask, [id_field]].assign(_y=years[mask].to_numpy())
    capped = capped.sort_values(["_y", id_field], kind="stable")
    ids = capped[id_field].astype(str).tolist()
    total = len(communities)
    allowed = int(np.floor(rule.capped_max_share * total + 1e-9))
    excess = ids[allowed:] if len(ids) > allowed else []
    share = len(ids) / total if total else 0.0
    return CapCheck(
        total=total,
        capped=ids,
        share=share,
        limit=rule.capped_max_share,
        allowed=allowed,
        excess=excess,
    )


# ---------------------------------------------------------------------------
# The whole check on a workspace, as the CLI and the app run it


#: Chinese headers of the flat result table (:meth:`WorkspaceCheck.to_frame`).
RESULT_LABELS: dict[str, str] = {
    "community_id": "小区编号",
    "name": "小区名称",
    "county_code": "所属区县",
    "street": "街道",
    "build_year": "建成年份",
    "households": "户数",
    "verdict": "审查结论",
    "verdict_zh": "审查结论（中文）",
    "tier": "年限档次",
    "failed_rules": "不通过的规则",
    "review_rules": "需复核的规则",
    "inside_share": "城区范围内面积占比",
    "expropriation_share": "与征迁范围重叠占比",
    "expropriation_zones": "涉及征迁范围",
    "deficiency_count": "不足项数",
    "deficiencies": "不足项",
    "waterlogging_mean_m": "平均积水深度(m)",
    "population": "人口估算",
    "rule_id": "规则",
    "section": "方案章节",
    "rule_zh": "规则内容",
    "outcome": "结果",
    "value": "实测值",
    "threshold": "阈值",
    "reason_zh": "理由",
    "reason_en": "reason",
}


@dataclass(frozen=True)
class WorkspaceCheck:
    """The eligibility check of a workspace with its inputs, as :func:`check_workspace` ran it.

    Attributes
    ----------
    communities : GeoDataFrame
        The communities checked (EPSG:4490).
    networks : DataFrame
        :func:`gislib.networks.analyse_networks` for them.
    raster : DataFrame or None
        :func:`gislib.raster.community_raster_stats` for them, when rasters exist.
    result : EligibilityResult
        Verdicts and rule rows.
    """

    communities: gpd.GeoDataFrame
    networks: pd.DataFrame
    raster: pd.DataFrame | None
    result: EligibilityResult

    def to_frame(self) -> gpd.GeoDataFrame:
        """One row per community: attributes, verdict, shares, distances; geometry in EPSG:4490."""
        keep = [c for c in ("street", "build_year", "households") if c in self.communities]
        frame = self.result.summary.copy()
        frame.insert(4, "verdict_zh", frame["verdict"].map(lambda v: VERDICT_LABELS[v][0]))
        for col in keep:
            frame[col] = self.communities[col]
        if self.raster is not None:
            for col in ("waterlogging_mean_m", "population"):
                if col in self.raster:
                    frame[col] = self.raster[col]
        nets = self.networks.drop(columns=["deficiencies"], errors="ignore")
        frame = frame.join(nets.drop(columns=[c for c in nets.columns if c in frame.columns]))
        return gpd.GeoDataFrame(frame, geometry=self.communities.geometry, crs=self.communities.crs)

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready records: one per community with its rule rows and network distances."""
        from gislib.schema import Network

        rules = self.result.rules
        by_id = dict(list(rules.groupby("community_id", sort=False)))
        records = []
        for idx, row in self.result.summary.iterrows():
            net = self.networks.loc[idx]  # type: ignore[call-overload]
            rows = by_id.get(row["community_id"], rules.iloc[0:0])
            records.append(
                {
                    "community_id": row["community_id"],
                    "name": row["name"],
                    "county_code": row["county_code"],
                    "verdict": row["verdict"],
                    "tier": row["tier"],
                    "expropriation_share": round(float(row["expropriation_share"]), 4),
                    "expropriation_zones": list(
                        row["expropriation_zones"].split("、") if row["expropriation_zones"] else []
                    ),
                    "deficiencies": list(row["deficiencies"]),
                    "nearest_main_m": {
                        str(n): _json_number(net.get(f"dist_{n}_m")) for n in Network
                    },
                    "rules": [
                        {
                            "rule_id": r.rule_id,
                            "section": r.section,
                            "outcome": r.outcome,
                            "value": _json_number(r.value),
                            "threshold": r.threshold,
                            "reason_zh": r.reason_zh,
                            "reason_en": r.reason_en,
                        }
                        for r in rows.itertuples(index=False)
                    ],
                }
            )
        return records


def _json_number(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    if np.isnan(number):
        return None
    return round(number, 4)


def check_workspace(
    workspace: Any,
    *,
    policy: Policy,
    counties: Sequence[str] | None = None,
    rasters: bool = True,
) -> WorkspaceCheck:
    """Run the whole check on a workspace: networks, rasters, zones, rules.

    Parameters
    ----------
    workspace : Workspace
        An open workspace (:func:`gislib.store.open_workspace`).
    policy : Policy
        Rules and thresholds.
    counties : sequence of str, optional
        County codes (or names) to check; default all.
    rasters : bool
        Use the waterlogging and population rasters when the workspace has them.

    Returns
    -------
    WorkspaceCheck

    Raises
    ------
    SchemaError
        An unknown county.
    """
    from gislib.networks import _analyse_networks
    from gislib.schema import county_code_for

    communities = workspace.read("communities")
    if counties:
        codes = []
        for value in counties:
            code = county_code_for(value)
            if code is None:
                raise SchemaError(
                    f"未知的区县 {value!r}，可用：江城区、阳东区、阳西县、阳春市或其代码 / unknown "
                    f"county {value!r}"
                )
            codes.append(code)
        communities = communities[communities["county_code"].isin(codes)]
    # The analysis keeps the communities in EPSG:4546 for the rules below.
    networks, measured = _analyse_networks(communities, workspace.read("pipelines"), policy=policy)
    raster = None
    if rasters:
        from gislib.raster import community_raster_stats

        present = set(workspace.raster_names())
        wanted = [r for r in ("waterlogging_depth", "population_density") if r in present]
        if wanted:
            raster = community_raster_stats(communities, workspace, rasters=wanted)
    result = _check_eligibility(
        communities,
        zones=workspace.read("expropriation_zones"),
        urban_areas=workspace.read("urban_areas"),
        policy=policy,
        networks=networks,
        raster=raster,
        measured=measured,
    )
    return WorkspaceCheck(communities=communities, networks=networks, raster=raster, result=result)


def export_check(
    check: WorkspaceCheck, path: Any, *, overwrite: bool = False, notes: Sequence[str] = ()
) -> Any:
    """Write a check to ``.gpkg`` (layers ``eligibility`` and ``eligibility_rules``) or ``.xlsx``.

    Raises
    ------
    ExportError
        Unsupported extension, or an existing file without ``overwrite``.
    """
    from pathlib import Path

    import pyogrio

    from gislib.io.tables import check_target, publish, staging, write_workbook

    target = Path(path)
    if target.suffix.lower() == ".xlsx":
        frame = pd.DataFrame(check.to_frame().drop(columns="geometry"))
        return write_workbook(
            {"资格审查结果": frame, "审查依据": check.result.rules},
            target,
            column_labels=RESULT_LABELS,
            notes=[f"政策 / policy: {check.result.policy.title}", *notes],
            overwrite=overwrite,
        )
    target = check_target(target, suffixes=(".gpkg", ".xlsx"), overwrite=overwrite)
    frame = check.to_frame()
    for col in ("failed_rules", "review_rules", "deficiencies"):
        frame[col] = frame[col].map("、".join)
    rules = check.result.rules.assign(value=check.result.rules["value"].map(_json_text))
    with staging(target) as folder:
        built = folder / target.name
        pyogrio.write_dataframe(frame, built, layer="eligibility", driver="GPKG")
        pyogrio.write_dataframe(rules, built, layer="eligibility_rules", driver="GPKG", append=True)
        return publish(built, target, overwrite=overwrite)


def _json_text(value: Any) -> str:
    number = _json_number(value)
    return "" if number is None else str(number)
