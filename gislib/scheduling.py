"""The annual plan 2021-2025: scheduler, plan versus actual, national survey export, snapshots.

The scheduler proposes which communities go into which plan year, under the
plan's rules (sections 三 and 四) and the policy file's ``[planning]`` table:

- the pilots (四（二）) are fixed in the first year;
- the first year holds at least ``first_year_task`` communities besides the
  pilots (四（三）, the subsidised task);
- each year stays within its capacity (households and/or estimated
  investment, 元);
- communities built in the capped years (2001-2005) are at most 15% of each
  year's task (三), checked with :func:`gislib.eligibility.check_capped_share`;
- ineligible communities are never scheduled.

What already happened is respected. "Today" (keyword ``today``, default the
date of the last status event) splits the past from the future: a community
whose 申报 (declaration) event is dated by today is in the plan year of that
event (source ``"actual"``) and stays there unless the planner moves it. The
scheduler only fills the years from ``start_year`` on (default the year after
today; the first plan year when nothing has happened yet) with the remaining
eligible and conditional communities, eligible ones first, then by priority
score (:func:`priority_scores`, weights in the policy file).

A plan is frozen (:class:`AnnualPlan`); the planner's edits (:func:`pin`,
:func:`move`, :func:`drop`, :func:`restore`) return a new plan re-checked
against every rule. A broken rule is a :class:`PlanViolation` naming the
communities and the figures in Chinese and English; nothing is silently fixed.

Plan versus actual (:func:`plan_vs_actual`) compares, per county and year,
the plan with the status history (:mod:`gislib.planning`): a community is
actually in year Y's plan when its 申报 event has plan year Y; started when
it reached 施工, completed at 竣工验收. :func:`survey_workbook` writes the four
blocks of the national statistics survey of old-community renovation
(年度计划, 改造进展, 改造效果, 项目基本情况), counties rolled up to the city.
:func:`freeze_year` stores a year's plan, verdicts and batches as they were
decided (an append-only snapshot in the workspace); :func:`load_frozen`
reads it back.

Money is in 元 (the workbook shows 万元), floor area in m²; investment
figures are estimates from unit costs (:mod:`gislib.works`), labelled 估算.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from gislib.errors import SchemaError
from gislib.policy import PRIORITY_COMPONENTS, Capacity, Policy
from gislib.schema import COUNTIES, STAGE_STATUS, STAGES

__all__ = [
    "PLANNING_COLUMNS",
    "PLAN_COLUMN_LABELS",
    "RULE_LABELS",
    "SOURCE_LABELS",
    "SURVEY_SHEETS",
    "AnnualPlan",
    "FrozenYear",
    "PlanEntry",
    "PlanRule",
    "PlanSource",
    "PlanViolation",
    "check_plan",
    "declared_years",
    "drop",
    "freeze_year",
    "load_frozen",
    "move",
    "pin",
    "plan_vs_actual",
    "planning_frame",
    "priority_scores",
    "propose_plan",
    "restore",
    "survey_workbook",
]

logger = logging.getLogger(__name__)

PlanSource = Literal["pilot", "actual", "pinned", "moved", "auto"]
PlanRule = Literal[
    "pilot_missing",
    "pilot_year",
    "first_year_task",
    "capacity_households",
    "capacity_budget",
    "capped_share",
    "ineligible",
]

#: Where an entry of the plan comes from: source -> (Chinese, English).
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "pilot": ("试点（固定在首年）", "pilot (fixed in the first year)"),
    "actual": ("已申报（按进度记录）", "declared (from the status history)"),
    "pinned": ("手动指定", "pinned by the planner"),
    "moved": ("手动调整年度", "moved by the planner"),
    "auto": ("系统建议", "proposed"),
}
#: Rules a plan is checked against: rule -> (Chinese, English, plan section).
RULE_LABELS: dict[str, tuple[str, str, str]] = {
    "pilot_missing": ("试点小区不存在", "pilot community not found", "四（二）"),
    "pilot_year": ("试点小区应列入首年计划", "pilots belong to the first year", "四（二）"),
    "first_year_task": ("首年改造任务数量", "first-year task", "四（三）"),
    "capacity_households": ("年度户数能力", "yearly household capacity", "四（四）"),
    "capacity_budget": ("年度投资能力", "yearly budget capacity", "四（四）"),
    "capped_share": ("2001-2005年建成小区比例上限", "cap on communities built 2001-2005", "三"),
    "ineligible": ("不符合改造条件", "ineligible community", "三"),
}
#: The four blocks of the national survey, in order: sheet names of :func:`survey_workbook`.
SURVEY_SHEETS: tuple[str, ...] = ("年度计划", "改造进展", "改造效果", "项目基本情况")

#: Columns of :func:`planning_frame` (indexed by community_id).
PLANNING_COLUMNS: tuple[str, ...] = (
    "name",
    "county_code",
    "street",
    "build_year",
    "buildings",
    "households",
    "floor_area_m2",
    "willingness",
    "deficiency_count",
    "waterlogging_mean_m",
    "verdict",
    "tier",
    "failed_rules",
    "fail_zh",
    "fail_en",
    "investment",
)

#: Headers of :meth:`AnnualPlan.to_frame` in an exported table (Chinese / English).
PLAN_COLUMN_LABELS: dict[str, str] = {
    "community_id": "小区编号 / id",
    "year": "计划年度 / plan year",
    "source": "来源代码 / source",
    "source_zh": "来源 / source",
    "locked": "已锁定 / locked",
    "name": "小区名称 / name",
    "county_code": "区县代码 / county code",
    "county": "区县 / county",
    "street": "街道 / street",
    "build_year": "建成年份 / year built",
    "tier": "档次 / tier",
    "verdict": "审查结论 / verdict",
    "buildings": "楼栋数 / buildings",
    "households": "户数 / households",
    "floor_area_m2": "建筑面积（m²）/ floor area (m²)",
    "investment": "投资估算（元）/ investment (yuan, estimate)",
    "score": "优先级得分 / priority score",
}

_DECLARED_STAGE = "申报"
_STARTED_STAGE = "施工"
_COMPLETED_STAGE = "竣工验收"
_ELIGIBLE, _CONDITIONAL, _INELIGIBLE = "eligible", "conditional", "ineligible"
_CAPPED = "capped"
#: Placement order inside a year (what is over a limit is named from the end).
_SOURCE_RANK: dict[str, int] = {"pilot": 0, "actual": 1, "auto": 2, "pinned": 3, "moved": 3}
_CITY = "全市"
_YUAN_PER_WAN = 10_000.0
_M2_PER_WAN = 10_000.0
#: Decimals of the non-integer figures of the survey workbook.
_SURVEY_DECIMALS = 2
_RATE_DECIMALS = 4
_SNAPSHOT_KIND = "year"
_SNAPSHOT_FORMAT = 1
#: Tolerance on the capped share (floating point only, not a rule).
_SHARE_EPS = 1e-9


# ---------------------------------------------------------------------------
# Data classes


@dataclass(frozen=True)
class PlanEntry:
    """One community in one plan year.

    Attributes
    ----------
    community_id : str
    year : int
    source : {"pilot", "actual", "pinned", "moved", "auto"}
        Why it is there (:data:`SOURCE_LABELS`).
    locked : bool
        The scheduler keeps it where it is (pilots, declared, the planner's
        pins and moves); ``False`` for the scheduler's own proposals.
    """

    community_id: str
    year: int
    source: PlanSource
    locked: bool


@dataclass(frozen=True)
class PlanViolation:
    """A rule the plan breaks, explained.

    Attributes
    ----------
    rule : str
        One of :data:`RULE_LABELS`.
    year : int or None
        The plan year concerned.
    community_ids : tuple of str
        The communities named in the explanation.
    zh, en : str
        The explanation with the figures, in Chinese and English.
    """

    rule: PlanRule
    year: int | None
    community_ids: tuple[str, ...]
    zh: str
    en: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        return {
            "rule": self.rule,
            "year": self.year,
            "community_ids": list(self.community_ids),
            "zh": self.zh,
            "en": self.en,
        }


@dataclass(frozen=True, eq=False)
class AnnualPlan:
    """A proposed (and edited) annual plan; frozen, every edit returns a re-checked copy.

    Attributes
    ----------
    items : tuple of PlanEntry
        The communities in the plan, by year.
    dropped_entries : Mapping[str, PlanEntry or None]
        Communities the planner dropped, with the entry they had (``None`` if
        they were not in the plan), so :func:`restore` can put them back.
    violations : tuple of PlanViolation
        The rules the plan breaks now (empty when it holds).
    frame : DataFrame
        :func:`planning_frame` with ``score`` and ``priority_zh``/``priority_en``,
        indexed by community_id (treat as read-only).
    policy : Policy
        The policy the plan is checked against.
    capacity : Mapping[int, Capacity]
        Capacity per plan year.
    today : datetime.date or None
        The date that separates history from proposal.
    start_year : int
        The first year the scheduler filled.
    unscheduled : tuple of str
        Eligible or conditional communities left out (no room), by priority.
    """

    items: tuple[PlanEntry, ...]
    dropped_entries: Mapping[str, PlanEntry | None]
    violations: tuple[PlanViolation, ...]
    frame: pd.DataFrame
    policy: Policy
    capacity: Mapping[int, Capacity]
    today: dt.date | None
    start_year: int
    unscheduled: tuple[str, ...] = ()

    @property
    def entries(self) -> pd.DataFrame:
        """community_id, year, source, locked: one row per community in the plan."""
        return pd.DataFrame(
            {
                "community_id": [e.community_id for e in self.items],
                "year": pd.Series([e.year for e in self.items], dtype="int64"),
                "source": [e.source for e in self.items],
                "locked": pd.Series([e.locked for e in self.items], dtype=bool),
            }
        )

    @property
    def dropped(self) -> frozenset[str]:
        """Ids of the communities the planner dropped."""
        return frozenset(self.dropped_entries)

    @property
    def pins(self) -> dict[str, int]:
        """The planner's pins and moves, to pass to :func:`propose_plan` again."""
        return {e.community_id: e.year for e in self.items if e.source in ("pinned", "moved")}

    @property
    def ok(self) -> bool:
        """Whether the plan breaks no rule."""
        return not self.violations

    def year_of(self, community_id: str) -> int | None:
        """The plan year of a community, ``None`` when it is not in the plan."""
        for entry in self.items:
            if entry.community_id == community_id:
                return entry.year
        return None

    def to_frame(self) -> pd.DataFrame:
        """The plan with each community's figures, by year, county, then priority.

        Returns
        -------
        DataFrame
            community_id, year, source, source_zh, locked, name, county_code,
            county (name), street, build_year, tier, verdict, buildings,
            households, floor_area_m2 (m²), investment (元, estimate), score.
        """
        entries = self.entries
        info = self.frame.reindex(entries["community_id"])
        out = entries.assign(
            source_zh=entries["source"].map(lambda s: SOURCE_LABELS[s][0]),
            name=info["name"].to_numpy(),
            county_code=info["county_code"].to_numpy(),
            county=[COUNTIES.get(str(c), (str(c),))[0] for c in info["county_code"]],
            street=info["street"].to_numpy(),
            build_year=info["build_year"].to_numpy(),
            tier=info["tier"].to_numpy(),
            verdict=info["verdict"].to_numpy(),
            buildings=info["buildings"].to_numpy(),
            households=info["households"].to_numpy(),
            floor_area_m2=info["floor_area_m2"].to_numpy(),
            investment=info["investment"].to_numpy(),
            score=info["score"].to_numpy(),
        )
        out = out.sort_values(
            ["year", "county_code", "score", "community_id"],
            ascending=[True, True, False, True],
            kind="stable",
        )
        return out.reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per plan year: communities, capped ones, households, investment, capacity, violations."""
        table = self.to_frame()
        rows = []
        for year in self.policy.years:
            part = table.loc[table["year"] == year]
            cap = self.capacity.get(year, Capacity())
            rows.append(
                {
                    "year": year,
                    "communities": len(part),
                    "capped": int((part["tier"] == _CAPPED).sum()),
                    "households": float(pd.to_numeric(part["households"]).fillna(0).sum()),
                    "investment": float(pd.to_numeric(part["investment"]).sum(min_count=1)),
                    "capacity_households": cap.households,
                    "capacity_budget_yuan": cap.budget_yuan,
                    "violations": sum(1 for v in self.violations if v.year == year),
                }
            )
        return pd.DataFrame(rows).set_index("year")


@dataclass(frozen=True, eq=False)
class FrozenYear:
    """A year's plan, verdicts and batches as frozen by :func:`freeze_year`.

    Attributes
    ----------
    snapshot_id : int
    year : int
    name, created_at, user : str
        Label, time (ISO, UTC) and who froze it.
    policy_id : str
    today : str or None
        The "today" of the plan (ISO date).
    entries : DataFrame
        :meth:`AnnualPlan.to_frame` as it was (every year).
    violations : tuple of PlanViolation
    dropped : tuple of str
    verdicts, batches : DataFrame or None
        As given to :func:`freeze_year` (geometries as WKT text).
    """

    snapshot_id: int
    year: int
    name: str
    created_at: str
    user: str
    policy_id: str
    today: str | None
    entries: pd.DataFrame
    violations: tuple[PlanViolation, ...]
    dropped: tuple[str, ...]
    verdicts: pd.DataFrame | None = None
    batches: pd.DataFrame | None = None

    @property
    def year_entries(self) -> pd.DataFrame:
        """The entries of the frozen year only."""
        return self.entries.loc[self.entries["year"] == self.year].reset_index(drop=True)


# ---------------------------------------------------------------------------
# Inputs: the planning frame and the priority score


def _tier(build_year: pd.Series, policy: Policy) -> np.ndarray:
    rule = policy.rules.build_year
    years = pd.to_numeric(build_year, errors="coerce").astype("float64").to_numpy()
    return np.select(
        [np.isnan(years), years <= rule.priority_until, years <= rule.capped_until],
        ["unknown", "priority", _CAPPED],
        default="out",
    )


def _rule_texts(failed: Iterable[str], policy: Policy) -> tuple[str, str]:
    rules = {r.id: r for r in policy.rules.all()}
    ids = list(failed)
    zh = "；".join(rules[r].zh if r in rules else r for r in ids)
    en = "; ".join(rules[r].en if r in rules else r for r in ids)
    return zh, en


def _from_check(check: Any) -> pd.DataFrame:
    summary = check.result.summary
    comm = check.communities
    frame = pd.DataFrame(
        {
            "community_id": summary["community_id"].astype(str),
            "name": summary["name"],
            "county_code": summary["county_code"],
            "verdict": summary["verdict"],
            "tier": summary["tier"],
            "failed_rules": summary["failed_rules"],
            "deficiency_count": summary["deficiency_count"],
        },
        index=summary.index,
    )
    for col in ("street", "build_year", "buildings", "households", "floor_area_m2", "willingness"):
        if col in comm:
            frame[col] = comm[col]
    if check.raster is not None and "waterlogging_mean_m" in check.raster:
        frame["waterlogging_mean_m"] = check.raster["waterlogging_mean_m"]
    rules = check.result.rules
    fails = rules.loc[rules["outcome"] == "fail"]
    if len(fails):
        grouped = fails.groupby("community_id", sort=False)
        zh = grouped["reason_zh"].agg("；".join)
        en = grouped["reason_en"].agg("; ".join)
        frame["fail_zh"] = frame["community_id"].map(zh).fillna("")
        frame["fail_en"] = frame["community_id"].map(en).fillna("")
    return frame


def planning_frame(
    source: Any, *, policy: Policy, investment: pd.Series | None = None
) -> pd.DataFrame:
    """One row per community with what the scheduler needs, indexed by community_id.

    Parameters
    ----------
    source : WorkspaceCheck or DataFrame
        :func:`gislib.eligibility.check_workspace`, or a table with at least
        ``community_id``, ``build_year`` and ``verdict`` (eligible /
        conditional / ineligible); the other :data:`PLANNING_COLUMNS` are
        optional (missing numbers are NaN, never invented).
    policy : Policy
        Gives the build-year tiers when ``tier`` is missing, and the rule
        wording when ``fail_zh`` is missing.
    investment : Series, optional
        Estimated investment (元) per community_id; overrides an
        ``investment`` column.

    Returns
    -------
    DataFrame
        Columns :data:`PLANNING_COLUMNS`, index ``community_id`` (str).

    Raises
    ------
    SchemaError
        Missing columns, duplicate ids or an unknown verdict.
    """
    from gislib.eligibility import WorkspaceCheck

    if isinstance(source, WorkspaceCheck):
        frame = _from_check(source)
    elif isinstance(source, pd.DataFrame):
        frame = pd.DataFrame(source).copy()
        missing = [c for c in ("community_id", "build_year", "verdict") if c not in frame]
        if missing:
            raise SchemaError(
                f"排期所需的小区表缺少列 {missing} / the communities given to the scheduler lack "
                f"columns {missing} (pass a WorkspaceCheck or add them)"
            )
    else:
        raise SchemaError(
            f"无法从 {type(source).__name__} 排期，请传入工作区、资格审查结果或小区表 / cannot "
            f"schedule from a {type(source).__name__}: pass a workspace, a WorkspaceCheck or a "
            "DataFrame"
        )
    frame["community_id"] = frame["community_id"].astype(str)
    dup = frame["community_id"][frame["community_id"].duplicated()]
    if len(dup):
        raise SchemaError(f"小区编号重复 / duplicate community ids: {sorted(set(dup))[:10]}")
    bad = sorted(set(frame["verdict"].astype(str)) - {_ELIGIBLE, _CONDITIONAL, _INELIGIBLE})
    if bad:
        raise SchemaError(
            f"未知的审查结论 {bad}，应为 eligible / conditional / ineligible / unknown verdicts "
            f"{bad}"
        )
    frame = frame.set_index("community_id")
    if "name" not in frame:
        frame["name"] = frame.index
    if "tier" not in frame:
        frame["tier"] = _tier(frame["build_year"], policy)
    if "failed_rules" not in frame:
        frame["failed_rules"] = [()] * len(frame)
    frame["failed_rules"] = [tuple(x) if isinstance(x, Iterable) and not isinstance(x, str)
                             else () for x in frame["failed_rules"]]  # fmt: skip
    if "fail_zh" not in frame or "fail_en" not in frame:
        texts = [_rule_texts(x, policy) for x in frame["failed_rules"]]
        frame["fail_zh"] = [t[0] for t in texts]
        frame["fail_en"] = [t[1] for t in texts]
    if investment is not None:
        inv = investment.copy()
        inv.index = inv.index.astype(str)
        frame["investment"] = inv.reindex(frame.index).to_numpy(dtype=float)
    for col in PLANNING_COLUMNS:
        if col not in frame:
            frame[col] = "" if col in ("street", "county_code") else np.nan
    numeric = ("build_year", "buildings", "households", "floor_area_m2", "willingness",
               "deficiency_count", "waterlogging_mean_m", "investment")  # fmt: skip
    for col in numeric:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["county_code"] = frame["county_code"].astype("string").fillna("").astype(str)
    frame["name"] = frame["name"].astype("string").fillna("").astype(str)
    frame["verdict"] = frame["verdict"].astype(str)
    frame["tier"] = frame["tier"].astype(str)
    return frame.loc[:, list(PLANNING_COLUMNS)]


def _minmax(values: np.ndarray) -> np.ndarray:
    known = ~np.isnan(values)
    out = np.zeros_like(values)
    if known.any():
        lo, hi = values[known].min(), values[known].max()
        if hi > lo:
            out[known] = (values[known] - lo) / (hi - lo)
    return out


def _by_max(values: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.nan_to_num(values, nan=0.0), 0.0, None)
    top = clipped.max() if len(clipped) else 0.0
    return clipped / top if top > 0 else np.zeros_like(clipped)


def priority_scores(source: Any, *, policy: Policy) -> pd.DataFrame:
    """Priority score 0-100 of each community, with its components and the reason.

    Components, each 0-1 (a missing value gives 0, never a guess):

    - ``age``: older is higher, min-max over the communities given (the
      oldest 1, the newest 0);
    - ``deficiency``: number of deficiencies / the largest number;
    - ``waterlogging``: mean waterlogging depth (m) / the deepest;
    - ``households``: min-max of log(1 + households), so that a few very
      large communities do not flatten the others;
    - ``willingness``: the share of households agreeing, as it is.

    The score is 100 x the weighted mean of the components, weights from the
    policy's ``[planning.priority_weights]``.

    Parameters
    ----------
    source : WorkspaceCheck or DataFrame
        A check, or a table with ``build_year`` and, when known,
        ``deficiency_count``, ``waterlogging_mean_m``, ``households``,
        ``willingness`` (and ``community_id``).
    policy : Policy
        Gives the weights.

    Returns
    -------
    DataFrame
        Indexed like a DataFrame input (by community_id for a check):
        ``score`` and one column per component of
        :data:`gislib.policy.PRIORITY_COMPONENTS`, ``reason_zh``,
        ``reason_en``.

    Examples
    --------
    >>> priority_scores(check, policy=load_policy()).nlargest(5, "score")  # doctest: +SKIP
    """
    from gislib.eligibility import WorkspaceCheck

    if isinstance(source, WorkspaceCheck):
        frame = planning_frame(source, policy=policy)
    else:
        frame = pd.DataFrame(source)

    def column(name: str) -> np.ndarray:
        if name not in frame:
            return np.full(len(frame), np.nan)
        return pd.to_numeric(frame[name], errors="coerce").astype("float64").to_numpy()

    year = column("build_year")
    deficiencies = column("deficiency_count")
    depth = column("waterlogging_mean_m")
    households = column("households")
    willingness = column("willingness")
    parts = {
        "age": 1.0 - _minmax(year) if np.isfinite(year).any() else np.zeros(len(frame)),
        "deficiency": _by_max(deficiencies),
        "waterlogging": _by_max(depth),
        "households": _minmax(np.log1p(np.clip(households, 0.0, None))),
        "willingness": np.clip(np.nan_to_num(willingness, nan=0.0), 0.0, 1.0),
    }
    parts["age"][np.isnan(year)] = 0.0
    weights = policy.planning.priority_weights
    total = sum(weights[c] for c in PRIORITY_COMPONENTS)
    score = sum(weights[c] * parts[c] for c in PRIORITY_COMPONENTS) / total * 100.0
    out = pd.DataFrame({"score": score, **parts}, index=frame.index)

    def fmt(value: float, pattern: str, missing: str) -> str:
        return missing if np.isnan(value) else pattern.format(value)

    zh, en = [], []
    for i in range(len(frame)):
        zh.append(
            f"得分 {score[i]:.1f}：建成{fmt(year[i], '{:.0f}年', '年份不详')}；"
            f"不足项{fmt(deficiencies[i], '{:.0f}项', '不详')}；"
            f"平均积水{fmt(depth[i], '{:.2f}米', '不详')}；"
            f"{fmt(households[i], '{:.0f}户', '户数不详')}；"
            f"同意率{fmt(willingness[i], '{:.0%}', '不详')}"
        )
        en.append(
            f"score {score[i]:.1f}: built {fmt(year[i], '{:.0f}', 'unknown')}; "
            f"{fmt(deficiencies[i], '{:.0f}', 'unknown')} deficiencies; "
            f"waterlogging {fmt(depth[i], '{:.2f} m', 'unknown')}; "
            f"{fmt(households[i], '{:.0f}', 'unknown')} households; "
            f"{fmt(willingness[i], '{:.0%}', 'unknown')} agree"
        )
    out["reason_zh"] = zh
    out["reason_en"] = en
    return out


# ---------------------------------------------------------------------------
# History: what was declared by today


def _default_today(events: pd.DataFrame | None) -> dt.date | None:
    if events is None or events.empty:
        return None
    return pd.Timestamp(pd.to_datetime(events["date"]).max()).date()


def _require_events(events: pd.DataFrame) -> None:
    missing = {"community_id", "stage", "date", "year"} - set(events.columns)
    if missing:
        raise SchemaError(
            f"status_events 缺少列 {sorted(missing)} / missing columns {sorted(missing)}"
        )


def declared_years(events: pd.DataFrame, *, today: dt.date | None = None) -> pd.Series:
    """The plan year each community was declared (申报) for, by ``today``.

    Parameters
    ----------
    events : DataFrame
        ``status_events``.
    today : datetime.date, optional
        Only events dated by then count; default all.

    Returns
    -------
    Series
        Plan year (int) indexed by community_id; a community declared twice
        (a correction) keeps its latest declaration.
    """
    _require_events(events)
    declared = events.loc[events["stage"].astype(str) == _DECLARED_STAGE]
    dates = pd.to_datetime(declared["date"])
    if today is not None:
        keep = dates <= pd.Timestamp(today)
        declared, dates = declared.loc[keep], dates.loc[keep]
    if declared.empty:
        return pd.Series(dtype="int64", index=pd.Index([], name="community_id"), name="year")
    ordered = declared.assign(_d=dates, _cid=declared["community_id"].astype(str))
    ordered = ordered.sort_values(["_cid", "_d"], kind="stable")
    last = ordered.groupby("_cid", sort=True).tail(1)
    return pd.Series(
        pd.to_numeric(last["year"]).astype("int64").to_numpy(),
        index=pd.Index(last["_cid"].to_numpy(), name="community_id"),
        name="year",
    )


def _furthest_rank(events: pd.DataFrame, *, as_of: dt.date | None) -> pd.Series:
    """Rank of the furthest stage each community reached by ``as_of`` (index community_id)."""
    _require_events(events)
    rank = {s: i for i, s in enumerate(STAGES)}
    ranks = events["stage"].astype(str).map(rank)
    keep = ranks.notna()
    if as_of is not None:
        keep &= pd.to_datetime(events["date"]) <= pd.Timestamp(as_of)
    if not keep.any():
        return pd.Series(dtype="float64")
    return ranks.loc[keep].groupby(events.loc[keep, "community_id"].astype(str)).max()


# ---------------------------------------------------------------------------
# Checking a plan


def _label(frame: pd.DataFrame, cid: str) -> str:
    name = str(frame.at[cid, "name"]) if cid in frame.index else ""
    return f"{name}（{cid}）" if name and name != cid else cid


def _labels(frame: pd.DataFrame, ids: Sequence[str]) -> str:
    return "、".join(_label(frame, c) for c in ids)


def _resolve_pilots(frame: pd.DataFrame, policy: Policy) -> tuple[list[str], list[str]]:
    """Pilot ids found (by id, else exact name) and pilot names not found."""
    found, missing = [], []
    names = pd.Series(frame.index, index=frame["name"].to_numpy())
    for pilot in policy.planning.pilots:
        if pilot in frame.index:
            found.append(pilot)
        elif pilot in names.index:
            match = names.loc[[pilot]]
            found.append(str(sorted(match.astype(str))[0]))
        else:
            missing.append(pilot)
    return found, missing


def _year_order(items: Sequence[PlanEntry], frame: pd.DataFrame) -> list[PlanEntry]:
    """A year's entries in placement order: pilots, declared, proposed by priority, pins."""
    score = frame["score"] if "score" in frame else pd.Series(0.0, index=frame.index)
    return sorted(
        items,
        key=lambda e: (_SOURCE_RANK[e.source], -float(score.get(e.community_id, 0.0)),
                       e.community_id),
    )  # fmt: skip


def _capacity_violation(
    year: int,
    ordered: list[PlanEntry],
    values: pd.Series,
    limit: float,
    frame: pd.DataFrame,
    *,
    rule: PlanRule,
) -> PlanViolation | None:
    amounts = values.reindex([e.community_id for e in ordered]).fillna(0.0).to_numpy()
    total = float(amounts.sum())
    if total <= limit:
        return None
    over = np.flatnonzero(np.cumsum(amounts) > limit)
    ids = tuple(ordered[i].community_id for i in over)
    names = _labels(frame, ids)
    if rule == "capacity_households":
        zh = (
            f"{year} 年计划 {total:,.0f} 户，超过年度能力 {limit:,.0f} 户（超出 "
            f"{total - limit:,.0f} 户）；超出能力的小区：{names}"
        )
        en = (
            f"{year}: {total:,.0f} households planned, over the yearly capacity of "
            f"{limit:,.0f} (by {total - limit:,.0f}); beyond capacity: {names}"
        )
    else:
        zh = (
            f"{year} 年计划投资估算 {total / _YUAN_PER_WAN:,.0f} 万元，超过年度能力 "
            f"{limit / _YUAN_PER_WAN:,.0f} 万元（超出 {(total - limit) / _YUAN_PER_WAN:,.0f} "
            f"万元）；超出能力的小区：{names}"
        )
        en = (
            f"{year}: estimated investment {total / _YUAN_PER_WAN:,.0f} 万元 (10k yuan) is over "
            f"the yearly capacity of {limit / _YUAN_PER_WAN:,.0f} (by "
            f"{(total - limit) / _YUAN_PER_WAN:,.0f}); beyond capacity: {names}"
        )
    return PlanViolation(rule=rule, year=year, community_ids=ids, zh=zh, en=en)


def _violations(
    items: Sequence[PlanEntry],
    dropped: Mapping[str, PlanEntry | None],
    frame: pd.DataFrame,
    policy: Policy,
    capacity: Mapping[int, Capacity],
) -> tuple[PlanViolation, ...]:
    from gislib.eligibility import check_capped_share

    out: list[PlanViolation] = []
    first = policy.first_year
    by_id = {e.community_id: e for e in items}
    pilots, missing = _resolve_pilots(frame, policy)
    for name in missing:
        out.append(
            PlanViolation(
                "pilot_missing",
                first,
                (),
                f"试点小区「{name}」在小区图层中找不到（按编号或名称），请核对小区名称或政策文件的 "
                "[planning].pilots",
                f"pilot community {name!r} is not in the communities layer (by id or name): "
                "check its name or [planning].pilots in the policy file",
            )
        )
    for cid in pilots:
        entry = by_id.get(cid)
        if entry is not None and entry.year == first:
            continue
        if entry is not None:
            where_zh, where_en = f"现列入 {entry.year} 年", f"it is planned in {entry.year}"
        elif cid in dropped:
            where_zh, where_en = "现已移出计划", "it was dropped from the plan"
        else:
            where_zh, where_en = "现未列入计划", "it is not in the plan"
        out.append(
            PlanViolation(
                "pilot_year",
                first,
                (cid,),
                f"试点小区 {_label(frame, cid)} 应列入 {first} 年计划（方案四（二）），{where_zh}",
                f"pilot {_label(frame, cid)} belongs to the {first} plan (section 四（二）); "
                f"{where_en}",
            )
        )
    years = sorted({e.year for e in items} | {first})
    for year in years:
        ordered = _year_order([e for e in items if e.year == year], frame)
        ids = [e.community_id for e in ordered]
        if year == first:
            others = [c for c in ids if c not in pilots]
            task = policy.planning.first_year_task
            if len(others) < task:
                out.append(
                    PlanViolation(
                        "first_year_task",
                        year,
                        tuple(others),
                        f"{year} 年计划除试点外有 {len(others)} 个小区，少于方案四（三）要求的 "
                        f"{task} 个（还差 {task - len(others)} 个）",
                        f"{year}: {len(others)} communities besides the pilots, fewer than the "
                        f"task of {task} (section 四（三）); {task - len(others)} short",
                    )
                )
        if not ids:
            continue
        cap = capacity.get(year, Capacity())
        if cap.households is not None:
            found = _capacity_violation(
                year, ordered, frame["households"], float(cap.households), frame,
                rule="capacity_households",
            )  # fmt: skip
            if found is not None:
                out.append(found)
        if cap.budget_yuan is not None:
            found = _capacity_violation(
                year, ordered, frame["investment"], float(cap.budget_yuan), frame,
                rule="capacity_budget",
            )  # fmt: skip
            if found is not None:
                out.append(found)
        subset = pd.DataFrame(
            {"community_id": ids, "build_year": frame["build_year"].reindex(ids).to_numpy()}
        )
        capped = check_capped_share(subset, policy=policy)
        if not capped.ok:
            rule = policy.rules.build_year
            span = f"{rule.priority_until + 1}-{rule.capped_until}"
            names = _labels(frame, capped.excess)
            out.append(
                PlanViolation(
                    "capped_share",
                    year,
                    tuple(capped.excess),
                    f"{year} 年计划 {capped.total} 个小区中 {span} 年建成的有 {len(capped.capped)} "
                    f"个，占 {capped.share:.1%}，超过 {capped.limit:.0%}（最多 {capped.allowed} "
                    f"个，方案三）；超出上限的小区：{names}",
                    f"{year}: {len(capped.capped)} of {capped.total} communities were built "
                    f"{span}, {capped.share:.1%}, over the {capped.limit:.0%} cap (at most "
                    f"{capped.allowed}, section 三); over the cap: {names}",
                )
            )
        verdicts = frame["verdict"].reindex(ids)
        for cid in [c for c, v in zip(ids, verdicts, strict=True) if v == _INELIGIBLE]:
            out.append(
                PlanViolation(
                    "ineligible",
                    year,
                    (cid,),
                    f"{_label(frame, cid)} 不符合改造条件，不能列入 {year} 年计划："
                    f"{str(frame.at[cid, 'fail_zh']) or '审查结论为不符合'}",
                    f"{_label(frame, cid)} is ineligible and cannot be in the {year} plan: "
                    f"{str(frame.at[cid, 'fail_en']) or 'the check found it ineligible'}",
                )
            )
    return tuple(out)


def check_plan(
    plan: AnnualPlan, communities: pd.DataFrame | None = None, *, policy: Policy | None = None
) -> tuple[PlanViolation, ...]:
    """Check a plan against every rule and explain each broken one.

    Parameters
    ----------
    plan : AnnualPlan
        The plan.
    communities : DataFrame, optional
        A :func:`planning_frame` to check against instead of the plan's own
        (e.g. after the communities were edited).
    policy : Policy, optional
        Default the plan's policy.

    Returns
    -------
    tuple of PlanViolation
        Pilots missing or outside the first year, the first-year task short,
        a year over its household or budget capacity (naming the communities
        beyond it, the planner's pins last), a year over the capped-years
        share (naming the excess, the most recently built), an ineligible
        community (with its failing rules). Empty when the plan holds.
    """
    frame = plan.frame if communities is None else communities
    if "score" not in frame:
        frame = frame.assign(score=0.0)
    return _violations(
        plan.items, plan.dropped_entries, frame, policy or plan.policy, plan.capacity
    )


# ---------------------------------------------------------------------------
# Proposing a plan


def _capacities(
    capacity: Capacity | Mapping[int, Capacity] | None, policy: Policy
) -> Mapping[int, Capacity]:
    default = policy.planning.capacity
    if capacity is None:
        table = dict.fromkeys(policy.years, default)
    elif isinstance(capacity, Capacity):
        table = dict.fromkeys(policy.years, capacity)
    else:
        table = {y: capacity.get(y, default) for y in policy.years}
    return MappingProxyType(table)


def _check_year(year: int, policy: Policy) -> int:
    if int(year) not in policy.years:
        raise SchemaError(
            f"年度 {year} 不在规划期 {policy.first_year}-{policy.last_year} 内 / year {year} is "
            f"outside the plan period {policy.first_year}-{policy.last_year}"
        )
    return int(year)


def _check_known(cid: str, frame: pd.DataFrame) -> str:
    if str(cid) not in frame.index:
        raise SchemaError(
            f"小区编号 {cid!r} 不存在，无法调整计划 / no community {cid!r}: check the id"
        )
    return str(cid)


def _investment_from_check(check: Any, policy: Policy) -> pd.Series:
    from gislib.planning import investment_from_works
    from gislib.works import derive_works

    works = derive_works(
        check.communities, networks=check.networks, raster=check.raster, policy=policy
    )
    return investment_from_works(works, check.communities["community_id"])


@dataclass
class _Year:
    """Running totals of one year while the scheduler fills it."""

    count: int = 0
    capped: int = 0
    households: float = 0.0
    budget: float = 0.0
    others: int = 0  # besides the pilots (first year)
    members: list[str] = field(default_factory=list)


def _fits(state: _Year, row: pd.Series, cap: Capacity, share: float) -> bool:
    if cap.households is not None and state.households + row["households"] > cap.households:
        return False
    if cap.budget_yuan is not None and state.budget + row["investment"] > cap.budget_yuan:
        return False
    if row["tier"] == _CAPPED:
        return state.capped + 1 <= math.floor(share * (state.count + 1) + _SHARE_EPS)
    return True


def _add(state: _Year, cid: str, row: pd.Series, *, pilot: bool) -> None:
    state.count += 1
    state.capped += int(row["tier"] == _CAPPED)
    state.households += 0.0 if np.isnan(row["households"]) else float(row["households"])
    state.budget += 0.0 if np.isnan(row["investment"]) else float(row["investment"])
    state.others += 0 if pilot else 1
    state.members.append(cid)


def propose_plan(
    source: Any,
    *,
    policy: Policy,
    events: pd.DataFrame | None = None,
    investment: pd.Series | None = None,
    pins: Mapping[str, int] | None = None,
    drops: Iterable[str] = (),
    capacity: Capacity | Mapping[int, Capacity] | None = None,
    start_year: int | None = None,
    today: dt.date | None = None,
) -> AnnualPlan:
    """Propose which communities go into which plan year, and check the result.

    Order of placement: declared communities stay in their declared year
    (``"actual"``); the pilots go to the first year (``"pilot"``; a declared
    pilot keeps its declared year and the check says so if it is not the
    first); the planner's ``pins`` override both (``"pinned"``); ``drops``
    are left out. Then each year from ``start_year`` to the last is filled
    with the remaining eligible communities, then the conditional ones, each
    group by descending priority score (ties by id: deterministic): a
    community joins a year when the year's households and budget stay within
    capacity and, for one built in the capped years, the year's capped share
    stays within the cap; one that does not fit waits for the next year. The
    first year takes only ``first_year_task`` communities besides the
    pilots. Without any capacity, the remaining communities are spread
    evenly (by number) over the open years. Ineligible communities are never
    proposed. A community without a household count takes no household
    capacity (the check cannot see it either: fill in the data).

    Parameters
    ----------
    source : Workspace, WorkspaceCheck or DataFrame
        A workspace (checked with :func:`gislib.eligibility.check_workspace`,
        its events read, investment estimated with :mod:`gislib.works`), a
        check, or a table for :func:`planning_frame`.
    policy : Policy
        Rules, pilots, task, default capacity and priority weights.
    events : DataFrame, optional
        ``status_events``; default the workspace's (none for other sources).
    investment : Series, optional
        Estimated investment (元) per community_id; default estimated from
        the works for a workspace or a check, else the table's ``investment``.
    pins : mapping of str to int, optional
        Community id -> year the planner fixes.
    drops : iterable of str
        Communities the planner leaves out.
    capacity : Capacity or mapping of int to Capacity, optional
        Yearly capacity (one for all years, or per year); default the
        policy's ``[planning]`` capacity.
    start_year : int, optional
        First year the scheduler fills; default the year after ``today``
        (the first plan year when there is no history).
    today : datetime.date, optional
        Events dated after it are ignored; default the date of the last event.

    Returns
    -------
    AnnualPlan
        With its :attr:`~AnnualPlan.violations` (a pin can break a rule; it
        is explained, not undone).

    Raises
    ------
    SchemaError
        An unknown community or a year outside the plan in ``pins`` or
        ``drops``; a budget capacity without investment estimates.

    Examples
    --------
    >>> plan = propose_plan(open_workspace(path), policy=load_policy())  # doctest: +SKIP
    >>> plan.summary()  # doctest: +SKIP
    """
    from gislib.eligibility import WorkspaceCheck, check_workspace
    from gislib.store import Workspace

    if isinstance(source, Workspace):
        if events is None:
            events = source.read("status_events")
        source = check_workspace(source, policy=policy)
    if isinstance(source, WorkspaceCheck) and investment is None:
        investment = _investment_from_check(source, policy)
    frame = planning_frame(source, policy=policy, investment=investment)
    scores = priority_scores(frame, policy=policy)
    frame = frame.assign(
        score=scores["score"], priority_zh=scores["reason_zh"], priority_en=scores["reason_en"]
    )
    capacities = _capacities(capacity, policy)
    if any(c.budget_yuan is not None for c in capacities.values()):
        unknown = frame.index[frame["investment"].isna() & (frame["verdict"] != _INELIGIBLE)]
        if len(unknown):
            raise SchemaError(
                f"按投资能力排期需要每个小区的投资估算，缺少：{list(unknown[:10])} / a budget "
                f"capacity needs an investment estimate for every community; missing for "
                f"{list(unknown[:10])}: pass investment= or a capacity without a budget"
            )
    if today is None:
        today = _default_today(events)
    if start_year is None:
        start_year = policy.first_year if today is None else max(policy.first_year, today.year + 1)

    placed: dict[str, PlanEntry] = {}
    if events is not None and len(events):
        for cid, year in declared_years(events, today=today).items():
            if cid in frame.index and int(year) in policy.years:
                placed[str(cid)] = PlanEntry(str(cid), int(year), "actual", True)
    pilots, _ = _resolve_pilots(frame, policy)
    for cid in pilots:
        year = placed[cid].year if cid in placed else policy.first_year
        placed[cid] = PlanEntry(cid, year, "pilot", True)
    for cid, year in (pins or {}).items():
        cid = _check_known(cid, frame)
        placed[cid] = PlanEntry(cid, _check_year(year, policy), "pinned", True)
    dropped: dict[str, PlanEntry | None] = {}
    for cid in drops:
        cid = _check_known(cid, frame)
        dropped[cid] = placed.pop(cid, None)

    taken = set(placed) | set(dropped)
    pool = frame.loc[
        ~frame.index.isin(list(taken)) & frame["verdict"].isin([_ELIGIBLE, _CONDITIONAL])
    ]
    pool = pool.assign(_group=(pool["verdict"] != _ELIGIBLE).astype(int), _id=pool.index)
    waiting = list(
        pool.sort_values(["_group", "score", "_id"], ascending=[True, False, True]).index
    )
    share = policy.rules.build_year.capped_max_share
    open_years = [y for y in policy.years if y >= start_year]
    for k, year in enumerate(open_years):
        state = _Year()
        for entry in placed.values():
            if entry.year == year:
                row = cast(pd.Series, frame.loc[entry.community_id])
                _add(state, entry.community_id, row, pilot=entry.community_id in pilots)
        cap = capacities[year]
        if year == policy.first_year:
            quota = max(policy.planning.first_year_task - state.others, 0)
        elif cap.is_set:
            quota = len(waiting)
        else:
            quota = math.ceil(len(waiting) / (len(open_years) - k)) if waiting else 0
        chosen: list[str] = []
        # Capped communities skipped while the year was too small for the cap: they are
        # tried again, before the lower-ranked ones, each time the year grows.
        deferred: list[str] = []

        for cid in waiting:
            if len(chosen) >= quota:
                break
            row = frame.loc[cid]
            if not _fits(state, row, cap, share):
                if row["tier"] == _CAPPED:
                    deferred.append(cid)
                continue
            for take in [cid, *deferred]:
                row = frame.loc[take]
                if len(chosen) >= quota or (take != cid and not _fits(state, row, cap, share)):
                    continue
                _add(state, take, row, pilot=False)
                chosen.append(take)
                placed[take] = PlanEntry(take, year, "auto", False)
                if take != cid:
                    deferred.remove(take)
        picked = set(chosen)
        waiting = [c for c in waiting if c not in picked]
        logger.info("scheduled %d communities into %d", len(chosen), year)

    items = tuple(
        sorted(placed.values(), key=lambda e: (e.year, _SOURCE_RANK[e.source], e.community_id))
    )
    violations = _violations(items, dropped, frame, policy, capacities)
    return AnnualPlan(
        items=items,
        dropped_entries=MappingProxyType(dropped),
        violations=violations,
        frame=frame,
        policy=policy,
        capacity=capacities,
        today=today,
        start_year=start_year,
        unscheduled=tuple(waiting),
    )


# ---------------------------------------------------------------------------
# The planner's edits


def _rechecked(
    plan: AnnualPlan, items: Iterable[PlanEntry], dropped: Mapping[str, PlanEntry | None]
) -> AnnualPlan:
    ordered = tuple(sorted(items, key=lambda e: (e.year, _SOURCE_RANK[e.source], e.community_id)))
    in_plan = {e.community_id for e in ordered} | set(dropped)
    return replace(
        plan,
        items=ordered,
        dropped_entries=MappingProxyType(dict(dropped)),
        violations=_violations(ordered, dropped, plan.frame, plan.policy, plan.capacity),
        unscheduled=tuple(c for c in plan.unscheduled if c not in in_plan),
    )


def pin(plan: AnnualPlan, community_id: str, year: int) -> AnnualPlan:
    """Fix a community (in the plan or not, even dropped) in a year; re-check.

    Raises
    ------
    SchemaError
        Unknown community, or a year outside the plan period.

    Examples
    --------
    >>> plan = pin(plan, "441702-0012", 2024)  # doctest: +SKIP
    >>> [v.zh for v in plan.violations]  # doctest: +SKIP
    """
    cid = _check_known(community_id, plan.frame)
    year = _check_year(year, plan.policy)
    items = [e for e in plan.items if e.community_id != cid]
    items.append(PlanEntry(cid, year, "pinned", True))
    dropped = {k: v for k, v in plan.dropped_entries.items() if k != cid}
    return _rechecked(plan, items, dropped)


def move(plan: AnnualPlan, community_id: str, year: int) -> AnnualPlan:
    """Move a community of the plan to another year (it becomes locked there); re-check.

    Raises
    ------
    SchemaError
        The community is not in the plan (use :func:`pin`), or the year is
        outside the plan period.
    """
    cid = str(community_id)
    year = _check_year(year, plan.policy)
    if plan.year_of(cid) is None:
        raise SchemaError(
            f"{_label(plan.frame, cid) if cid in plan.frame.index else cid} 不在计划中，请用"
            f"「指定年度」加入 / {cid} is not in the plan: pin it to add it"
        )
    items = [e if e.community_id != cid else PlanEntry(cid, year, "moved", True)
             for e in plan.items]  # fmt: skip
    return _rechecked(plan, items, plan.dropped_entries)


def drop(plan: AnnualPlan, community_id: str) -> AnnualPlan:
    """Leave a community out of the plan (remembering its entry for :func:`restore`); re-check.

    Raises
    ------
    SchemaError
        Unknown community.
    """
    cid = _check_known(community_id, plan.frame)
    entry = next((e for e in plan.items if e.community_id == cid), None)
    dropped = dict(plan.dropped_entries)
    dropped[cid] = entry if entry is not None else dropped.get(cid)
    items = [e for e in plan.items if e.community_id != cid]
    return _rechecked(plan, items, dropped)


def restore(plan: AnnualPlan, community_id: str, year: int | None = None) -> AnnualPlan:
    """Undo a drop: put the community back where it was (or in ``year``, pinned); re-check.

    Raises
    ------
    SchemaError
        The community was not dropped, or it had no year and none is given.
    """
    cid = str(community_id)
    if cid not in plan.dropped_entries:
        raise SchemaError(f"{cid} 未被移出计划，无需恢复 / {cid} was not dropped")
    before = plan.dropped_entries[cid]
    if year is not None:
        entry = PlanEntry(cid, _check_year(year, plan.policy), "pinned", True)
    elif before is not None:
        entry = before
    else:
        raise SchemaError(
            f"{cid} 移出前不在计划中，请指定年度 / {cid} had no year before it was dropped: "
            "give the year"
        )
    dropped = {k: v for k, v in plan.dropped_entries.items() if k != cid}
    return _rechecked(plan, [*plan.items, entry], dropped)


# ---------------------------------------------------------------------------
# Plan versus actual

_PVA_KINDS: dict[str, tuple[str, str]] = {
    "planned": ("计划", "planned"),
    "actual": ("实际列入（已申报）", "actually planned (declared)"),
    "started": ("已开工", "started"),
    "completed": ("已完工", "completed"),
}
_PVA_MEASURES: tuple[str, ...] = (
    "communities",
    "households",
    "buildings",
    "floor_area_m2",
    "investment",
)


def _sum_or_nan(values: pd.Series) -> float:
    """Sum, NaN when every value is unknown (investment without estimates)."""
    return float(values.sum(min_count=1))


def plan_vs_actual(
    plan: AnnualPlan, events: pd.DataFrame, *, as_of: dt.date | None = None
) -> pd.DataFrame:
    """Plan against what happened, per county and plan year.

    ``planned``: the plan's communities of the year. ``actual``: the
    communities declared (申报) for that plan year by ``as_of``. ``started``
    / ``completed``: those of the actual ones that reached 施工 / 竣工验收
    by ``as_of``.

    Parameters
    ----------
    plan : AnnualPlan
        The plan; its frame gives each community's county and figures.
    events : DataFrame
        ``status_events``.
    as_of : datetime.date, optional
        Default the plan's ``today`` (else the last event).

    Returns
    -------
    DataFrame
        Index (county_code, year): the four counties and ``"全市"`` (their
        sum), every plan year. Columns (kind, measure): kind in planned,
        actual, started, completed; measure in communities, households,
        buildings, floor_area_m2 (m²), investment (元, estimate; NaN when
        unknown).

    Examples
    --------
    >>> table = plan_vs_actual(plan, ws.read("status_events"))  # doctest: +SKIP
    >>> table.loc[("全市", 2023), ("completed", "communities")]  # doctest: +SKIP
    """
    frame = plan.frame
    as_of = as_of if as_of is not None else (plan.today or _default_today(events))
    declared = declared_years(events, today=as_of)
    declared = declared.loc[declared.index.isin(frame.index)]
    furthest = _furthest_rank(events, as_of=as_of)
    started_rank = STAGES.index(_STARTED_STAGE)
    completed_rank = STAGES.index(_COMPLETED_STAGE)
    reached = furthest.reindex(declared.index)
    cohorts = {
        "planned": pd.Series({e.community_id: e.year for e in plan.items}, dtype="int64"),
        "actual": declared,
        "started": declared.loc[(reached >= started_rank).to_numpy()],
        "completed": declared.loc[(reached >= completed_rank).to_numpy()],
    }
    values = pd.DataFrame(
        {
            "communities": 1.0,
            "households": frame["households"],
            "buildings": frame["buildings"],
            "floor_area_m2": frame["floor_area_m2"],
            "investment": frame["investment"],
        },
        index=frame.index,
    )
    counties = list(COUNTIES)
    years = list(plan.policy.years)
    grid = pd.MultiIndex.from_product([counties, years], names=["county_code", "year"])
    parts = {}
    for kind, members in cohorts.items():
        ids = members.index.astype(str)
        part = values.loc[ids].assign(
            county_code=frame.loc[ids, "county_code"].to_numpy(), year=members.to_numpy()
        )
        how: dict[str, Any] = dict.fromkeys(_PVA_MEASURES, "sum")
        how["investment"] = _sum_or_nan
        sums = part.groupby(["county_code", "year"]).agg(how)
        table = sums.reindex(grid)
        table[["communities", "households", "buildings", "floor_area_m2"]] = table[
            ["communities", "households", "buildings", "floor_area_m2"]
        ].fillna(0.0)
        if values["investment"].notna().any():
            table["investment"] = table["investment"].fillna(0.0)
        parts[kind] = table[list(_PVA_MEASURES)]
    out = pd.concat(parts, axis=1)
    city = out.groupby(level="year").sum(min_count=1)
    city.index = pd.MultiIndex.from_product([[_CITY], years], names=["county_code", "year"])
    return pd.concat([out, city])


# ---------------------------------------------------------------------------
# The national survey workbook

#: Works counted in 改造效果: (header, work codes, how) — "quantity" sums the
#: works' quantities (unit in the header), "communities" counts communities with it.
_EFFECTS: tuple[tuple[str, tuple[str, ...], Literal["quantity", "communities"]], ...] = (
    ("供水管道更新（户，估算）", ("water_renewal",), "quantity"),
    ("供电线缆更新增容（户，估算）", ("power_renewal",), "quantity"),
    ("管道燃气入户（户，估算）", ("gas_household",), "quantity"),
    ("雨污分流改造小区（个）", ("rain_sewer_separation",), "communities"),
    ("架空线入地（米，估算）", ("power_underground", "telecom_underground"), "quantity"),
    ("加装电梯（部，估算）", ("lift",), "quantity"),
    ("停车设施整治小区（个）", ("parking",), "communities"),
    ("充电设施小区（个）", ("ev_charging",), "communities"),
    ("无障碍设施小区（个）", ("barrier_free",), "communities"),
    ("社区综合服务设施（个）", ("community_services",), "communities"),
    ("物业用房、值班室（个）", ("property_room",), "communities"),
)


def _county_rows(per_county: pd.DataFrame, *, rates: Mapping[str, tuple[str, str]]) -> pd.DataFrame:
    """Four county rows then 全市 (sums; rates recomputed from the sums), first column 区县."""
    table = per_county.reindex(list(COUNTIES)).fillna(0.0)
    city = table.sum().to_frame(_CITY).T
    table = pd.concat([table, city])
    for column, (num, den) in rates.items():
        table[column] = np.where(
            table[den] > 0, table[num] / table[den].where(table[den] > 0), np.nan
        )
    names = [COUNTIES[c][0] if c in COUNTIES else c for c in table.index]
    table.insert(0, "区县", names)
    table.insert(0, "区划代码", [c if c in COUNTIES else "" for c in table.index])
    return table.reset_index(drop=True)


def survey_workbook(
    plan: AnnualPlan,
    events: pd.DataFrame,
    *,
    year: int,
    path: Path | str,
    works: pd.DataFrame | None = None,
    as_of: dt.date | None = None,
    notes: Sequence[str] = (),
    overwrite: bool = False,
) -> Path:
    """Write the national survey's four blocks for a plan year to an Excel workbook.

    Sheets (:data:`SURVEY_SHEETS`), each with the four counties and a 全市 row
    (their sum; rates are recomputed from the sums):

    - 年度计划: the year's plan — communities, buildings, households, floor
      area (万m²), investment (万元, 估算), how many built by 2000 / in the
      capped years;
    - 改造进展: of the year's plan, declared, started, completed, handed
      over (communities and households) by ``as_of``, start and completion
      rates, investment of the completed (估算);
    - 改造效果: for the completed communities, households benefiting and the
      works delivered (from :func:`gislib.works.derive_works`; quantities
      are estimates, 估算) — left with households only without ``works``;
    - 项目基本情况: one row per community of the year's plan.

    Every figure is computed from the workspace; none is an official figure.
    Cells hold values, never formulas; the file is written atomically.

    Parameters
    ----------
    plan : AnnualPlan
        The plan.
    events : DataFrame
        ``status_events``.
    year : int
        The plan year reported.
    path : path-like
        Target ``.xlsx``.
    works : DataFrame, optional
        :func:`gislib.works.derive_works` for the communities.
    as_of : datetime.date, optional
        Progress as of this date; default the plan's ``today``.
    notes : sequence of str
        Extra lines for the 说明 sheet (e.g. a synthetic-data warning).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path

    Raises
    ------
    SchemaError
        A year outside the plan period.
    ExportError
        Bad target (see :func:`gislib.io.tables.write_workbook`).
    """
    from gislib.io.tables import write_workbook

    year = _check_year(year, plan.policy)
    as_of = as_of if as_of is not None else (plan.today or _default_today(events))
    table = plan.to_frame()
    mine = table.loc[table["year"] == year].set_index("community_id")
    county = mine["county_code"]
    ids = list(mine.index)

    rule = plan.policy.rules.build_year
    annual = pd.DataFrame(
        {
            "小区数（个）": 1.0,
            "楼栋数（栋）": mine["buildings"].fillna(0.0),
            "户数（户）": mine["households"].fillna(0.0),
            "建筑面积（万平方米）": mine["floor_area_m2"].fillna(0.0) / _M2_PER_WAN,
            "计划投资（万元，估算）": mine["investment"].fillna(0.0) / _YUAN_PER_WAN,
            f"其中{rule.priority_until}年底前建成（个）": (mine["tier"] == "priority").astype(
                float
            ),
            f"其中{rule.priority_until + 1}-{rule.capped_until}年建成（个）": (
                mine["tier"] == _CAPPED
            ).astype(float),
        },
        index=mine.index,
    )
    sheet_plan = _county_rows(annual.groupby(county).sum(), rates={})

    furthest = _furthest_rank(events, as_of=as_of).reindex(ids)
    declared = declared_years(events, today=as_of)
    flags = {
        "已申报": pd.Series(declared.reindex(ids).eq(year).to_numpy(), index=ids),
        "已开工": furthest >= STAGES.index(_STARTED_STAGE),
        "已完工": furthest >= STAGES.index(_COMPLETED_STAGE),
        "已移交": furthest >= STAGES.index("移交"),
    }
    households = mine["households"].fillna(0.0)
    progress = pd.DataFrame(
        {"计划小区数（个）": 1.0, "计划户数（户）": households}, index=mine.index
    )
    for label, flag in flags.items():
        hit = flag.fillna(False).astype(bool)
        progress[f"{label}小区数（个）"] = hit.astype(float)
        progress[f"{label}户数（户）"] = households.where(hit, 0.0)
    done = flags["已完工"].fillna(False).astype(bool)
    progress["已完工小区投资（万元，估算）"] = (
        mine["investment"].fillna(0.0).where(done, 0.0) / _YUAN_PER_WAN
    )
    sheet_progress = _county_rows(
        progress.groupby(county).sum(),
        rates={
            "开工率": ("已开工小区数（个）", "计划小区数（个）"),
            "完工率": ("已完工小区数（个）", "计划小区数（个）"),
        },
    )

    completed = [c for c in ids if bool(done.get(c, False))]
    effect = pd.DataFrame(
        {"完工小区数（个）": 1.0, "受益户数（户）": households.reindex(completed)},
        index=pd.Index(completed),
    )
    if works is not None and len(completed):
        mine_works = works.loc[works["community_id"].astype(str).isin(completed)]
        for header, codes, how in _EFFECTS:
            rows = mine_works.loc[mine_works["work"].isin(codes)]
            by = rows["community_id"].astype(str)
            if how == "quantity":
                values = (
                    pd.to_numeric(rows["quantity"], errors="coerce").groupby(by.to_numpy()).sum()
                )
            else:
                values = pd.Series(1.0, index=pd.Index(sorted(set(by))))
            effect[header] = values.reindex(effect.index).fillna(0.0)
    sheet_effect = _county_rows(
        effect.groupby(county.reindex(completed).to_numpy()).sum() if completed else
        pd.DataFrame(columns=effect.columns),
        rates={},
    )  # fmt: skip

    status = pd.Series(
        [STAGE_STATUS[STAGES[int(r)]] if not np.isnan(r) else "未纳入" for r in furthest],
        index=ids,
    )
    dates = _stage_dates(events, ids, as_of=as_of)
    sheet_projects = pd.DataFrame(
        {
            "项目（小区）编号": ids,
            "小区名称": mine["name"].to_numpy(),
            "区县": mine["county"].to_numpy(),
            "街道": mine["street"].to_numpy(),
            "建成年份": mine["build_year"].astype("Int64").to_numpy(),
            "楼栋数（栋）": mine["buildings"].astype("Int64").to_numpy(),
            "户数（户）": mine["households"].astype("Int64").to_numpy(),
            "建筑面积（平方米）": mine["floor_area_m2"].to_numpy(),
            "投资估算（万元）": (mine["investment"] / _YUAN_PER_WAN).to_numpy(),
            "列入计划方式": mine["source_zh"].to_numpy(),
            "当前状态": status.to_numpy(),
            "申报日期": dates[_DECLARED_STAGE].to_numpy(),
            "开工日期": dates[_STARTED_STAGE].to_numpy(),
            "竣工验收日期": dates[_COMPLETED_STAGE].to_numpy(),
        }
    )
    as_text = as_of.isoformat() if as_of is not None else "—"
    lines = [
        f"城镇老旧小区改造统计调查 {year} 年度（按工作区数据计算）/ old-community renovation "
        f"survey, plan year {year}, computed from the workspace",
        f"进度截至 {as_text}；政策：{plan.policy.title}",
        "投资为按单价估算的工程费用（估算），非统计或财政口径的实际完成投资；改造效果的数量为按"
        "改造内容推算的估算值 / investment and works quantities are estimates from unit costs, "
        "not official figures",
        "全市 = 各县（市、区）之和；开工率、完工率按合计重新计算",
        *notes,
    ]
    sheets = (sheet_plan, sheet_progress, sheet_effect, sheet_projects)
    return write_workbook(
        dict(zip(SURVEY_SHEETS, (_rounded(t) for t in sheets), strict=True)),
        path,
        notes=lines,
        overwrite=overwrite,
    )  # fmt: skip


def _stage_dates(
    events: pd.DataFrame, ids: Sequence[str], *, as_of: dt.date | None
) -> pd.DataFrame:
    """First date each community reached 申报, 施工 and 竣工验收 (NaT when not yet)."""
    rows = events.loc[events["community_id"].astype(str).isin(list(ids))]
    dates = pd.to_datetime(rows["date"])
    if as_of is not None:
        rows, dates = (
            rows.loc[dates <= pd.Timestamp(as_of)],
            dates.loc[dates <= pd.Timestamp(as_of)],
        )
    out = pd.DataFrame(index=pd.Index(list(ids)))
    for stage in (_DECLARED_STAGE, _STARTED_STAGE, _COMPLETED_STAGE):
        hit = rows["stage"].astype(str) == stage
        first = dates.loc[hit].groupby(rows.loc[hit, "community_id"].astype(str)).min()
        out[stage] = first.reindex(out.index)
    return out


# ---------------------------------------------------------------------------
# Year snapshots


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    plain = pd.DataFrame(frame).reset_index(drop=True)
    return cast(list[dict[str, Any]], plain.to_dict(orient="records"))


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Amounts to 2 decimals (万元, 万平方米, 平方米, 米) as a statistics form shows them;
    rates (0-1, columns named 率) to 4, i.e. 0.01 of a percentage point."""
    floats = table.select_dtypes(include="float").columns
    return table.assign(
        **{c: table[c].round(_RATE_DECIMALS if "率" in c else _SURVEY_DECIMALS) for c in floats}
    )


def freeze_year(
    workspace: Any,
    plan: AnnualPlan,
    *,
    year: int,
    verdicts: pd.DataFrame | None = None,
    batches: pd.DataFrame | None = None,
    user: str,
    name: str | None = None,
) -> int:
    """Freeze a year's plan, verdicts and batches in the workspace, as decided now.

    The snapshot (kind ``"year"``) holds the whole plan (every year, so the
    decision is seen in its context), its violations and drops, the plan's
    today and policy, and the verdicts and batches given. It is append-only:
    freezing again adds a newer snapshot, the old one stays.

    Parameters
    ----------
    workspace : Workspace
        Where to store it (:meth:`gislib.store.Workspace.save_snapshot`).
    plan : AnnualPlan
        The plan as decided.
    year : int
        The plan year being frozen.
    verdicts : DataFrame, optional
        E.g. :meth:`gislib.eligibility.WorkspaceCheck.to_frame` (geometries
        are stored as WKT).
    batches : DataFrame, optional
        The year's EPC batches.
    user : str
        Who freezes it (audited).
    name : str, optional
        Label; default "{year}年度计划定稿".

    Returns
    -------
    int
        The snapshot id.

    Raises
    ------
    SchemaError
        A year outside the plan period, or no user.
    """
    year = _check_year(year, plan.policy)
    payload = {
        "format": _SNAPSHOT_FORMAT,
        "year": year,
        "policy_id": plan.policy.id,
        "today": plan.today.isoformat() if plan.today is not None else None,
        "start_year": plan.start_year,
        "entries": _records(plan.to_frame()),
        "violations": [v.to_dict() for v in plan.violations],
        "dropped": sorted(plan.dropped),
        "verdicts": _records(verdicts),
        "batches": _records(batches),
    }
    label = name or f"{year}年度计划定稿 / {year} plan frozen"
    return int(
        workspace.save_snapshot(
            kind=_SNAPSHOT_KIND, year=year, name=label, payload=payload, user=user
        )
    )


def load_frozen(workspace: Any, year: int, *, snapshot_id: int | None = None) -> FrozenYear | None:
    """Read back a frozen year: the latest snapshot of ``year`` (or ``snapshot_id``).

    Returns
    -------
    FrozenYear or None
        ``None`` when the year was never frozen.

    Raises
    ------
    SchemaError
        ``snapshot_id`` does not exist or is not a frozen year of ``year``.
    """
    if snapshot_id is None:
        listed = workspace.snapshots(kind=_SNAPSHOT_KIND, year=int(year))
        if listed.empty:
            return None
        snapshot_id = int(listed["snapshot_id"].iloc[-1])
    record = workspace.load_snapshot(int(snapshot_id))
    if record["kind"] != _SNAPSHOT_KIND or record["year"] != int(year):
        raise SchemaError(
            f"快照 {snapshot_id} 不是 {year} 年的年度定稿 / snapshot {snapshot_id} is not the "
            f"frozen plan of {year}"
        )
    body = record["payload"]

    def table(key: str) -> pd.DataFrame | None:
        rows = body.get(key)
        return None if rows is None else pd.DataFrame.from_records(rows)

    entries = table("entries")
    return FrozenYear(
        snapshot_id=int(record["snapshot_id"]),
        year=int(record["year"]),
        name=str(record["name"]),
        created_at=str(record["created_at"]),
        user=str(record["user"]),
        policy_id=str(body.get("policy_id", "")),
        today=body.get("today"),
        entries=entries if entries is not None else pd.DataFrame(),
        violations=tuple(
            PlanViolation(
                rule=cast(PlanRule, v["rule"]),
                year=v["year"],
                community_ids=tuple(v["community_ids"]),
                zh=v["zh"],
                en=v["en"],
            )
            for v in body.get("violations", [])
        ),
        dropped=tuple(body.get("dropped", [])),
        verdicts=table("verdicts"),
        batches=table("batches"),
    )
