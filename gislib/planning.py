"""Renovation status and progress from the append-only status history.

The plan's steps (section 六) are the stages of :data:`gislib.schema.STAGES`:
项目前期 (摸查 ... 申报), 项目实施 (立项 ... 竣工验收), 后期管养 (移交). A map
shows them folded into five statuses, in order: 储备 (pipeline), 计划
(planned), 在建 (under construction), 完工 (completed), 移交 (handed over).
The status of a community at any date is derived from its events, never
stored, so the history can be replayed as of the end of any year.

Progress counts, for a year, the communities (and their households,
buildings, floor area) that by the end of that year were planned (reached
申报 or later), started (施工 or later) and completed (竣工验收 or later).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import pandas as pd

from gislib.errors import SchemaError
from gislib.schema import COUNTIES, STAGE_STATUS, STAGES

__all__ = [
    "MEASURES",
    "STATUS_COLOURS",
    "STATUS_LABELS",
    "Status",
    "progress_by_county",
    "progress_table",
    "stage_rank",
    "status_at",
    "year_end",
]


class Status(StrEnum):
    """Map statuses, in order; ``NONE`` for a community with no event yet."""

    NONE = "未纳入"
    RESERVE = "储备"
    PLANNED = "计划"
    BUILDING = "在建"
    COMPLETED = "完工"
    HANDED_OVER = "移交"


STATUS_ORDER: tuple[Status, ...] = tuple(Status)
STATUS_LABELS: dict[str, tuple[str, str]] = {
    Status.NONE: ("未纳入改造", "not in the programme"),
    Status.RESERVE: ("储备（前期）", "pipeline (preparation)"),
    Status.PLANNED: ("计划（已申报/立项）", "planned"),
    Status.BUILDING: ("在建", "under construction"),
    Status.COMPLETED: ("完工", "completed"),
    Status.HANDED_OVER: ("已移交管养", "handed over"),
}
#: Map colours per status (colour-blind-safe ramp from grey to dark green).
STATUS_COLOURS: dict[str, str] = {
    Status.NONE: "#bdbdbd",
    Status.RESERVE: "#9ecae1",
    Status.PLANNED: "#fdae6b",
    Status.BUILDING: "#e6550d",
    Status.COMPLETED: "#74c476",
    Status.HANDED_OVER: "#238b45",
}

#: Stages that mark the three progress thresholds.
_PLANNED_STAGE = "申报"
_STARTED_STAGE = "施工"
_COMPLETED_STAGE = "竣工验收"

#: Quantities progress can be measured in: column -> (Chinese, English, unit).
MEASURES: dict[str, tuple[str, str, str]] = {
    "communities": ("小区数", "communities", "个"),
    "households": ("户数", "households", "户"),
    "buildings": ("楼栋数", "buildings", "栋"),
    "floor_area_m2": ("建筑面积", "floor area", "m²"),
    "investment": ("投资估算", "investment (estimate)", "元"),
}

_RANK = {stage: i for i, stage in enumerate(STAGES)}


def stage_rank(stage: str) -> int:
    """Position of a stage in the plan's steps (摸查 = 0 ... 移交 = 16).

    Raises
    ------
    SchemaError
        Unknown stage; the message lists the stages.
    """
    try:
        return _RANK[stage]
    except KeyError:
        raise SchemaError(
            f"未知的阶段 {stage!r}；阶段为：{'、'.join(STAGES)} / unknown stage"
        ) from None


def year_end(year: int) -> dt.date:
    """31 December of ``year``: the date 'as of that year's end' refers to."""
    return dt.date(year, 12, 31)


def _as_date(value: dt.date | int) -> pd.Timestamp:
    if isinstance(value, int):
        return pd.Timestamp(year_end(value))
    return pd.Timestamp(value)


def status_at(events: pd.DataFrame, *, as_of: dt.date | int) -> pd.DataFrame:
    """The status of every community with events, as of a date (or a year's end).

    Parameters
    ----------
    events : DataFrame
        The ``status_events`` table (community_id, year, stage, date).
    as_of : date or int
        A date, or a year meaning 31 December of that year.

    Returns
    -------
    DataFrame
        Indexed by community_id: ``stage`` (the furthest stage reached by
        then), ``status`` (:class:`Status` value), ``plan_year`` (the plan year of
        that event), ``date`` (when it was reached). Communities whose first
        event comes later are absent (status :attr:`Status.NONE`).

    Raises
    ------
    SchemaError
        Missing columns or an unknown stage.
    """
    missing = {"community_id", "stage", "date", "year"} - set(events.columns)
    if missing:
        raise SchemaError(
            f"status_events 缺少列 {sorted(missing)} / missing columns {sorted(missing)}"
        )
    dates = pd.to_datetime(events["date"])
    upto = events.loc[dates <= _as_date(as_of)]
    if upto.empty:
        return pd.DataFrame(
            {"stage": pd.Series(dtype="object"), "status": pd.Series(dtype="object"),
             "plan_year": pd.Series(dtype="Int64"), "date": pd.Series(dtype="datetime64[ns]")},
            index=pd.Index([], name="community_id"),
        )  # fmt: skip
    ranks = upto["stage"].map(_RANK)
    if ranks.isna().any():
        bad = sorted(set(upto.loc[ranks.isna(), "stage"].astype(str)))
        raise SchemaError(f"未知的阶段 {bad}；阶段为：{'、'.join(STAGES)} / unknown stages {bad}")
    ordered = upto.assign(_rank=ranks, _date=pd.to_datetime(upto["date"])).sort_values(
        ["community_id", "_rank", "_date"], kind="stable"
    )
    last = ordered.groupby("community_id", sort=True).tail(1).set_index("community_id")
    return pd.DataFrame(
        {
            "stage": last["stage"].astype(str),
            "status": last["stage"].map(STAGE_STATUS).astype(str),
            "plan_year": pd.to_numeric(last["year"]).astype("Int64"),
            "date": last["_date"],
        }
    )


def _reached(events: pd.DataFrame, stage: str, as_of: pd.Timestamp) -> pd.Index:
    rank = _RANK[stage]
    dates = pd.to_datetime(events["date"])
    hit = events.loc[(events["stage"].map(_RANK) >= rank) & (dates <= as_of), "community_id"]
    return pd.Index(hit.astype(str).unique())


def progress_by_county(
    communities: pd.DataFrame,
    events: pd.DataFrame,
    *,
    year: int,
    investment: pd.Series | None = None,
) -> pd.DataFrame:
    """Planned, started and completed communities (and their sizes) per county by a year's end.

    Parameters
    ----------
    communities : DataFrame
        With ``community_id``, ``county_code`` and, when present, ``households``,
        ``buildings``, ``floor_area_m2``.
    events : DataFrame
        ``status_events``.
    year : int
        Counts are as of 31 December of this year.
    investment : Series, optional
        Estimated investment (元) per community, indexed by community_id.

    Returns
    -------
    DataFrame
        Index: county codes (all four, zero rows included), plus a row ``"全市"``
        for the city. Columns ``(stage, measure)`` as a MultiIndex with stage in
        ``planned``, ``started``, ``completed`` and measure in :data:`MEASURES`.
    """
    as_of = _as_date(year)
    base = communities.set_index(communities["community_id"].astype(str))
    values = pd.DataFrame(index=base.index)
    values["communities"] = 1.0
    for col in ("households", "buildings", "floor_area_m2"):
        values[col] = pd.to_numeric(base[col], errors="coerce").fillna(0.0) if col in base else 0.0
    values["investment"] = (
        investment.reindex(base.index).fillna(0.0).astype(float)
        if investment is not None
        else np.nan
    )
    county = base["county_code"].astype(str)
    parts = {}
    for label, stage in (
        ("planned", _PLANNED_STAGE),
        ("started", _STARTED_STAGE),
        ("completed", _COMPLETED_STAGE),
    ):
        ids = _reached(events, stage, as_of).intersection(base.index)
        sums = values.loc[ids].groupby(county.loc[ids]).sum(min_count=1)
        parts[label] = sums.reindex(list(COUNTIES)).fillna(0.0)
        if investment is None:
            parts[label]["investment"] = np.nan
    table = pd.concat(parts, axis=1)
    table.loc["全市"] = table.sum(min_count=1)
    return table


def progress_table(
    communities: pd.DataFrame,
    events: pd.DataFrame,
    *,
    years: Sequence[int],
    measure: str = "communities",
    stage: str = "completed",
) -> pd.DataFrame:
    """County x year table of one measure at one progress stage (cumulative, as of each year's end).

    Parameters
    ----------
    communities, events : DataFrame
        As for :func:`progress_by_county`.
    years : sequence of int
        Columns of the table.
    measure : str
        A key of :data:`MEASURES` other than investment.
    stage : {"planned", "started", "completed"}
        Which threshold to count.

    Returns
    -------
    DataFrame
        Rows: the four county names and 全市; columns: the years.

    Raises
    ------
    SchemaError
        Unknown measure or stage.
    """
    if measure not in MEASURES or measure == "investment":
        raise SchemaError(f"unknown measure {measure!r}; use one of {list(MEASURES)[:-1]}")
    if stage not in ("planned", "started", "completed"):
        raise SchemaError(f"unknown stage {stage!r}; use planned, started or completed")
    columns = {}
    for year in years:
        table = progress_by_county(communities, events, year=year)
        columns[year] = table[(stage, measure)]
    out = pd.DataFrame(columns)
    out.index = [COUNTIES[c][0] if c in COUNTIES else c for c in out.index]
    return out
