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
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from gislib.errors import SchemaError
from gislib.schema import COUNTIES, STAGE_STATUS, STAGES

__all__ = [
    "HISTORY_COLUMNS",
    "KPI_NAMES",
    "MEASURES",
    "NO_STREET",
    "PROGRESS_STAGES",
    "STAGE_PHASES",
    "STATUS_COLOURS",
    "STATUS_LABELS",
    "Status",
    "check_status_event",
    "investment_estimate",
    "investment_from_works",
    "progress_by_county",
    "progress_by_street",
    "progress_history",
    "progress_kpis",
    "progress_table",
    "stage_rank",
    "status_at",
    "status_history",
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


def _stage_ranks(events: pd.DataFrame) -> np.ndarray:
    """Each event's stage rank (-1 for an unknown stage), computed once per table."""
    return np.asarray(pd.Categorical(events["stage"], categories=list(STAGES)).codes)


def _reached(
    events: pd.DataFrame, stage: str, as_of: pd.Timestamp, *, ranks: np.ndarray | None = None
) -> pd.Index:
    """Communities with an event at ``stage`` or later dated by ``as_of``."""
    ranks = _stage_ranks(events) if ranks is None else ranks
    dates = pd.to_datetime(events["date"]).to_numpy()
    hit = (ranks >= _RANK[stage]) & (dates <= as_of.to_datetime64())
    return pd.Index(pd.unique(events["community_id"].astype(str).to_numpy()[hit]))


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
    ranks = _stage_ranks(events)
    parts = {}
    for label, stage in (
        ("planned", _PLANNED_STAGE),
        ("started", _STARTED_STAGE),
        ("completed", _COMPLETED_STAGE),
    ):
        ids = _reached(events, stage, as_of, ranks=ranks).intersection(base.index)
        sums = values.loc[ids].groupby(county.loc[ids]).sum(min_count=1)
        parts[label] = sums.reindex(list(COUNTIES)).fillna(0.0)
        if investment is None:
            parts[label]["investment"] = np.nan
    table = pd.concat(parts, axis=1)
    # One concat, not .loc enlargement (which re-infers every column's type: 10x slower).
    total = table.sum(min_count=1).to_frame("全市").T
    out = pd.concat([table, total])
    out.index.name = table.index.name
    return out


def progress_table(
    communities: pd.DataFrame,
    events: pd.DataFrame,
    *,
    years: Sequence[int],
    measure: str = "communities",
    stage: str = "completed",
    investment: pd.Series | None = None,
    tables: Mapping[int, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """County x year table of one measure at one progress stage (cumulative, as of each year's end).

    Parameters
    ----------
    communities, events : DataFrame
        As for :func:`progress_by_county`.
    years : sequence of int
        Columns of the table.
    measure : str
        A key of :data:`MEASURES`; ``"investment"`` needs ``investment``.
    stage : {"planned", "started", "completed"}
        Which threshold to count.
    investment : Series, optional
        Estimated investment (元) per community, indexed by community_id.
    tables : mapping of int to DataFrame, optional
        :func:`progress_by_county` of each year, already computed (with the
        same ``investment``); the others are computed.

    Returns
    -------
    DataFrame
        Rows: the four county names and 全市; columns: the years.

    Raises
    ------
    SchemaError
        Unknown measure or stage.
    """
    if measure not in MEASURES or (measure == "investment" and investment is None):
        usable = list(MEASURES) if investment is not None else list(MEASURES)[:-1]
        raise SchemaError(f"unknown measure {measure!r}; use one of {usable}")
    if stage not in ("planned", "started", "completed"):
        raise SchemaError(f"unknown stage {stage!r}; use planned, started or completed")
    columns = {}
    for year in years:
        table = (tables or {}).get(year)
        if table is None:
            table = progress_by_county(communities, events, year=year, investment=investment)
        columns[year] = table[(stage, measure)]
    out = pd.DataFrame(columns)
    out.index = [COUNTIES[c][0] if c in COUNTIES else c for c in out.index]
    return out


# ---------------------------------------------------------------------------
# One community's history: the timeline, and checking a new event before it is added

# The first stage of each of the plan's three phases (section 六).
_PHASE_STARTS: dict[str, str] = {"摸查": "项目前期", "立项": "项目实施", "移交": "后期管养"}


def _stage_phases() -> dict[str, str]:
    phases, phase = {}, ""
    for stage in STAGES:
        phase = _PHASE_STARTS.get(stage, phase)
        phases[stage] = phase
    return phases


#: Stage -> the plan's phase it belongs to (项目前期, 项目实施, 后期管养), in stage order.
STAGE_PHASES: dict[str, str] = _stage_phases()

#: Columns of :func:`status_history`, in order.
HISTORY_COLUMNS: tuple[str, ...] = (
    "event_id",
    "stage",
    "phase",
    "status",
    "date",
    "year",
    "user",
    "note",
    "current",
)


def _community_events(events: pd.DataFrame, community_id: str) -> pd.DataFrame:
    missing = {"community_id", "stage", "date", "year"} - set(events.columns)
    if missing:
        raise SchemaError(
            f"status_events 缺少列 {sorted(missing)} / missing columns {sorted(missing)}"
        )
    return events.loc[events["community_id"].astype(str) == str(community_id)]


def status_history(
    events: pd.DataFrame, community_id: str, *, as_of: dt.date | int | None = None
) -> pd.DataFrame:
    """One community's status events as a timeline: in the plan's stage order, then by date.

    Parameters
    ----------
    events : DataFrame
        The ``status_events`` table (event_id, community_id, year, stage,
        date, user, note).
    community_id : str
        The community.
    as_of : date or int, optional
        The date (or a year meaning its 31 December) that decides which
        event gives the current status; default today.

    Returns
    -------
    DataFrame
        Columns :data:`HISTORY_COLUMNS`, one row per event of the community
        (none when it has no event), index 0..n-1: ``phase`` from
        :data:`STAGE_PHASES`, ``status`` the map status the stage folds into,
        ``date`` a Timestamp, ``year`` the plan year (Int64), ``current``
        True on the one event :func:`status_at` takes as the status as of
        ``as_of`` (the furthest stage reached by then).

    Raises
    ------
    SchemaError
        Missing columns or an unknown stage.

    Examples
    --------
    >>> status_history(workspace.read("status_events"), "441702-0001")  # doctest: +SKIP
    """
    rows = _community_events(events, community_id)
    ranks = rows["stage"].map(_RANK)
    if ranks.isna().any():
        bad = sorted(set(rows.loc[ranks.isna(), "stage"].astype(str)))
        raise SchemaError(f"未知的阶段 {bad}；阶段为：{'、'.join(STAGES)} / unknown stages {bad}")

    def column(name: str) -> pd.Series:
        if name in rows.columns:
            return rows[name].astype("string").fillna("")
        return pd.Series("", index=rows.index, dtype="string")

    out = pd.DataFrame(
        {
            "event_id": column("event_id"),
            "stage": rows["stage"].astype(str),
            "phase": rows["stage"].map(STAGE_PHASES).astype(str),
            "status": rows["stage"].map(STAGE_STATUS).astype(str),
            "date": pd.to_datetime(rows["date"]),
            "year": pd.to_numeric(rows["year"]).astype("Int64"),
            "user": column("user"),
            "note": column("note"),
            "_rank": ranks,
        }
    )
    out = out.sort_values(["_rank", "date", "event_id"], kind="stable")
    when = _as_date(as_of if as_of is not None else dt.date.today())
    upto = out.loc[out["date"] <= when]
    out["current"] = False
    if len(upto):
        # status_at's choice: the furthest stage by then, the latest of its events.
        out.loc[upto.index[-1], "current"] = True
    return out.drop(columns="_rank").reset_index(drop=True)[list(HISTORY_COLUMNS)]


def check_status_event(
    events: pd.DataFrame,
    community_id: str,
    *,
    stage: str,
    date: dt.date,
    year: int,
    note: str = "",
    plan_years: Sequence[int] | None = None,
    today: dt.date | None = None,
) -> bool:
    """Check a status event before it is appended; say whether it is a correction.

    The history is append-only: nothing is rewritten, a mistake is corrected
    by a new event. An event that does not move the community forward (a
    stage at or before the furthest stage already recorded, or a later stage
    dated before the latest event) is such a correction and must say why in
    its note.

    Parameters
    ----------
    events : DataFrame
        The ``status_events`` table as stored now.
    community_id : str
        The community the event is for.
    stage : str
        One of :data:`gislib.schema.STAGES`.
    date : datetime.date
        When the stage was reached; not after ``today``.
    year : int
        The plan year the work belongs to.
    note : str
        Free text; required for a correction.
    plan_years : sequence of int, optional
        The plan's years (``policy.years``); ``year`` must be one of them.
    today : datetime.date, optional
        Default: the current date.

    Returns
    -------
    bool
        True when the event is a correction (it goes backwards or out of
        order, and has a note), False for a step forward.

    Raises
    ------
    SchemaError
        Unknown stage, a date in the future, a year outside the plan, or a
        correction without a note; the message names the stage already
        reached and the fix.

    Examples
    --------
    >>> check_status_event(events, "C1", stage="施工", date=dt.date(2021, 5, 1),
    ...                    year=2021)  # doctest: +SKIP
    False
    """
    rank = stage_rank(stage)
    today = today if today is not None else dt.date.today()
    day = pd.Timestamp(date).date()
    if day > today:
        raise SchemaError(
            f"日期 {day:%Y-%m-%d} 晚于今天（{today:%Y-%m-%d}），只能登记已经发生的进度 / the date "
            f"{day:%Y-%m-%d} is after today ({today:%Y-%m-%d}): record a stage once it is reached"
        )
    if plan_years is not None and int(year) not in {int(y) for y in plan_years}:
        years = sorted(int(y) for y in plan_years)
        span = f"{years[0]}-{years[-1]}" if years else "—"
        raise SchemaError(
            f"计划年度 {year} 不在本规划的年度 {span} 内，请选择其中之一 / plan year {year} is "
            f"not one of the plan's years {span}"
        )
    rows = _community_events(events, community_id)
    if rows.empty:
        return False
    ranks = rows["stage"].map(_RANK).astype(float).to_numpy()
    dates = pd.to_datetime(rows["date"])
    latest = dates.max()
    has_note = bool(note and note.strip())
    known = ~np.isnan(ranks)
    top = int(np.nanargmax(np.where(known, ranks, -1.0)))
    if known.any() and rank <= ranks[top]:
        if has_note:
            return True
        reached = str(rows["stage"].iloc[top])
        when = pd.Timestamp(dates.iloc[top])
        word_zh, word_en = (
            ("重复", "repeats") if rank == _RANK[reached] else ("早于", "comes before")
        )
        raise SchemaError(
            f"「{stage}」{word_zh}该小区已登记的最远阶段「{reached}」（{when:%Y-%m-%d}）。进度记录只能"
            f"追加、不能改写；如确需更正，请在备注中写明原因后再保存 / {stage} {word_en} the "
            f"furthest stage already recorded ({reached}, {when:%Y-%m-%d}); the history is "
            "append-only: to record a correction, explain it in the note"
        )
    if pd.Timestamp(day) < latest:
        if has_note:
            return True
        raise SchemaError(
            f"日期 {day:%Y-%m-%d} 早于该小区最近一条进度记录（{latest:%Y-%m-%d}）。请核对日期；如确为"
            f"补录，请在备注中说明 / the date {day:%Y-%m-%d} is before the latest event "
            f"({latest:%Y-%m-%d}): check it, or explain the late entry in the note"
        )
    return False


# ---------------------------------------------------------------------------
# Key figures of the overview: one year against the previous one

#: Progress thresholds, in order: key -> (Chinese, English). A community counts as
#: planned once it reached 申报, started at 施工, completed at 竣工验收.
PROGRESS_STAGES: dict[str, tuple[str, str]] = {
    "planned": ("已列入计划", "planned"),
    "started": ("已开工", "started"),
    "completed": ("已完工", "completed"),
}
#: Rows of :func:`progress_kpis`: the measures, then the plan completion rate.
KPI_NAMES: tuple[str, ...] = (*MEASURES, "completion_rate")


def progress_kpis(
    communities: pd.DataFrame,
    events: pd.DataFrame,
    *,
    year: int,
    stage: str = "completed",
    county: str | None = None,
    investment: pd.Series | None = None,
) -> pd.DataFrame:
    """Key figures as of a year's end, with the change against the end of the previous year.

    Parameters
    ----------
    communities, events : DataFrame
        As for :func:`progress_by_county`.
    year : int
        Figures are as of 31 December of this year; ``previous`` as of 31
        December of the year before.
    stage : {"planned", "started", "completed"}
        Which threshold the measures count (:data:`PROGRESS_STAGES`).
    county : str, optional
        A county code; default the whole city.
    investment : Series, optional
        Estimated investment (元) per community, indexed by community_id;
        without it the ``investment`` row is NaN.

    Returns
    -------
    DataFrame
        Index :data:`KPI_NAMES`; columns ``value``, ``previous`` and
        ``change`` (value - previous). The measures are sums over the
        communities that reached ``stage``; ``completion_rate`` is completed
        / planned communities (0-1, whatever ``stage``), NaN when none is
        planned.

    Raises
    ------
    SchemaError
        Unknown stage or county, or as :func:`progress_by_county`.

    Examples
    --------
    >>> kpis = progress_kpis(communities, events, year=2023)  # doctest: +SKIP
    >>> kpis.loc["communities", ["value", "change"]].tolist()  # doctest: +SKIP
    [81.0, 44.0]
    """
    if stage not in PROGRESS_STAGES:
        raise SchemaError(f"unknown stage {stage!r}; use planned, started or completed")
    if county is not None and county not in COUNTIES:
        raise SchemaError(
            f"未知的区县代码 {county!r}，可用：{'、'.join(COUNTIES)} / unknown county code {county!r}"
        )
    history = progress_history(
        communities, events, years=[year - 1, year], stage=stage, county=county,
        investment=investment,
    )  # fmt: skip
    now, before = history.loc[year], history.loc[year - 1]
    return pd.DataFrame({"value": now, "previous": before, "change": now - before})


def progress_history(
    communities: pd.DataFrame,
    events: pd.DataFrame,
    *,
    years: Sequence[int],
    stage: str = "completed",
    county: str | None = None,
    investment: pd.Series | None = None,
    tables: Mapping[int, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The key figures of :func:`progress_kpis` as of the end of each of several years.

    Parameters
    ----------
    communities, events, stage, county, investment
        As for :func:`progress_kpis`.
    years : sequence of int
        The years (rows), each counted as of its 31 December.
    tables : mapping of int to DataFrame, optional
        :func:`progress_by_county` of each year, already computed (with the
        same ``investment``); the others are computed.

    Returns
    -------
    DataFrame
        Index ``years`` (named ``year``), columns :data:`KPI_NAMES` (floats).

    Raises
    ------
    SchemaError
        Unknown stage or county.

    Examples
    --------
    >>> progress_history(communities, events, years=range(2021, 2026))  # doctest: +SKIP
    """
    if stage not in PROGRESS_STAGES:
        raise SchemaError(f"unknown stage {stage!r}; use planned, started or completed")
    if county is not None and county not in COUNTIES:
        raise SchemaError(
            f"未知的区县代码 {county!r}，可用：{'、'.join(COUNTIES)} / unknown county code {county!r}"
        )
    row = "全市" if county is None else county
    records = []
    for year in years:
        table = (tables or {}).get(int(year))
        if table is None:
            table = progress_by_county(communities, events, year=int(year), investment=investment)
        numbers = table.to_numpy(dtype=float)[list(table.index).index(row)].tolist()
        cells: dict[Any, float] = dict(zip(table.columns, numbers, strict=True))
        values = {m: cells[(stage, m)] for m in MEASURES}
        planned = cells[("planned", "communities")]
        completed = cells[("completed", "communities")]
        values["completion_rate"] = completed / planned if planned else np.nan
        records.append(values)
    return pd.DataFrame.from_records(
        records, index=pd.Index([int(y) for y in years], name="year"), columns=list(KPI_NAMES)
    ).astype(float)


#: Row of :func:`progress_by_street` for communities without a street.
NO_STREET = "（未填街道）"


def progress_by_street(
    communities: pd.DataFrame,
    events: pd.DataFrame,
    *,
    county: str,
    years: Sequence[int],
    measure: str = "communities",
    stage: str = "completed",
    investment: pd.Series | None = None,
) -> pd.DataFrame:
    """Street x year table of one county: :func:`progress_table` one level down.

    Parameters
    ----------
    communities, events, years, measure, stage, investment
        As for :func:`progress_table`; ``communities`` needs ``street``.
    county : str
        The county code.

    Returns
    -------
    DataFrame
        Rows: the county's streets (in name order; :data:`NO_STREET` for
        communities without one), then the county's name for its total;
        columns: the years. Every street of the county is listed, zeros
        included.

    Raises
    ------
    SchemaError
        Unknown county, measure or stage, or no ``street`` column.
    """
    if county not in COUNTIES:
        raise SchemaError(
            f"未知的区县代码 {county!r}，可用：{'、'.join(COUNTIES)} / unknown county code {county!r}"
        )
    if measure not in MEASURES or (measure == "investment" and investment is None):
        raise SchemaError(f"unknown measure {measure!r}; use one of {list(MEASURES)}")
    if stage not in PROGRESS_STAGES:
        raise SchemaError(f"unknown stage {stage!r}; use planned, started or completed")
    if "street" not in communities.columns:
        raise SchemaError("communities 缺少 street 列 / communities lack the street column")
    mine = communities.loc[communities["county_code"].astype(str) == county]
    ids = mine["community_id"].astype(str)
    streets = mine["street"].astype("string").fillna(NO_STREET).replace("", NO_STREET)
    streets.index = pd.Index(ids.to_numpy())
    if measure == "communities":
        values = pd.Series(1.0, index=streets.index)
    elif measure == "investment" and investment is not None:
        values = investment.reindex(streets.index).fillna(0.0).astype(float)
    else:
        values = pd.Series(
            pd.to_numeric(mine[measure], errors="coerce").fillna(0.0).to_numpy(dtype=float),
            index=streets.index,
        )
    order = sorted(set(streets))
    threshold = {"planned": _PLANNED_STAGE, "started": _STARTED_STAGE}.get(stage, _COMPLETED_STAGE)
    columns = {}
    ranks = _stage_ranks(events)
    for year in years:
        as_of = _as_date(int(year))
        reached = _reached(events, threshold, as_of, ranks=ranks).intersection(streets.index)
        sums = values.loc[reached].groupby(streets.loc[reached]).sum()
        columns[int(year)] = sums.reindex(order).fillna(0.0)
    out = pd.DataFrame(columns, index=pd.Index(order), columns=[int(y) for y in years])
    out.loc[COUNTIES[county][0]] = out.sum()
    return out


def investment_estimate(workspace: Any, *, policy: Any = None, config: Any = None) -> pd.Series:
    """Estimated cost (元) of every community's works: what investment figures are built on.

    Runs the eligibility check's network and raster analysis
    (:func:`gislib.eligibility.check_workspace`), derives each community's
    works (:func:`gislib.works.derive_works`) and prices them
    (:func:`gislib.works.estimate_costs`). An estimate from unit costs, not
    a budget: label it so wherever it is shown.

    Parameters
    ----------
    workspace : Workspace
        An open workspace.
    policy : Policy, optional
        Default :func:`gislib.policy.load_policy`.
    config : WorksConfig, optional
        Default :func:`gislib.works.load_works`.

    Returns
    -------
    Series
        Indexed by community_id (every community of the workspace; 0 for
        one without works), named ``investment``, in 元.

    Examples
    --------
    >>> investment_estimate(open_workspace(path)).sum()  # doctest: +SKIP
    """
    from gislib.eligibility import check_workspace
    from gislib.policy import load_policy
    from gislib.works import derive_works

    policy = policy if policy is not None else load_policy()
    check = check_workspace(workspace, policy=policy)
    works = derive_works(
        check.communities, networks=check.networks, raster=check.raster, config=config,
        policy=policy,
    )  # fmt: skip
    return investment_from_works(works, check.communities["community_id"])


def investment_from_works(works: pd.DataFrame, community_ids: Any) -> pd.Series:
    """Estimated cost (元) per community from its derived works, for callers that have them.

    Parameters
    ----------
    works : DataFrame
        :func:`gislib.works.derive_works` rows.
    community_ids : sequence of str
        Every community to report, in order (0 for one without works).

    Returns
    -------
    Series
        Indexed by community_id, named ``investment``, in 元.
    """
    from gislib.works import estimate_costs

    costs = estimate_costs(works)
    ids = pd.Index([str(c) for c in community_ids])
    total = pd.Series(costs["total"].to_numpy(dtype=float), index=costs["community_id"].astype(str))
    total = total.groupby(level=0).sum().reindex(ids).fillna(0.0)
    return total.rename("investment").rename_axis("community_id")
