"""Overview page (总览): progress by county and year, the communities by status, key figures.

A year, a measure and a progress stage choose what the page shows: the
counties coloured by that measure at that stage as of the year's end, the
communities coloured by their status then, six key figures with the change
against the year before, and a county x year table. A county is opened by
clicking it on the map (or picking it in the list); the page then shows its
figures, its streets and its communities until "whole city" is clicked.

Speed: everything heavy is cached per workspace version and shared by every
session (``st.cache_resource``, read-only). The map's geometry goes to the
browser once per county (the base map); a change of year, measure or stage
only sends small layers that recolour it (``feature_group_to_add``), so the
map keeps the user's view and nothing is drawn again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gislib import maps
from gislib.datasets import policy_path
from gislib.errors import GislibError, PolicyError
from gislib.i18n import tr
from gislib.planning import (
    KPI_NAMES,
    MEASURES,
    PROGRESS_STAGES,
    investment_estimate,
    progress_by_county,
    progress_by_street,
    progress_history,
    progress_table,
    status_at,
)
from gislib.policy import Policy, load_policy
from gislib.schema import COUNTIES
from gislib.store import open_workspace
from gislib.ui import common
from gislib.ui.briefing import briefing_panel
from gislib.works import WORKS_FILE, load_works

__all__ = [
    "COUNTY_KEY",
    "MAP_HEIGHT_PX",
    "MAP_KEY",
    "MEASURE_KEY",
    "STAGE_KEY",
    "YEAR_KEY",
    "render",
]

logger = logging.getLogger(__name__)

#: Height of the overview map in pixels (controls, key figures and map fit a 900 px window).
MAP_HEIGHT_PX = 510
#: Session-state key of the year shown.
YEAR_KEY = "overview-year"
#: Session-state key of the measure of the choropleth and the table.
MEASURE_KEY = "overview-measure"
#: Session-state key of the progress stage counted.
STAGE_KEY = "overview-stage"
#: Session-state key of the county opened ("" is the whole city); a map click sets it.
COUNTY_KEY = "overview-county"
#: ``st_folium`` key of the map.
MAP_KEY = "overview-map"

_WHOLE_CITY = ""
# Session key of the choices kept while the user is on another page.
_KEPT_KEY = "overview-kept"
# Results cached per workspace version: years x stages x measures x counties.
_RESULT_CACHE_ENTRIES = 512
_KPI_LABELS: dict[str, tuple[str, str]] = {
    "communities": ("小区", "Communities"),
    "households": ("户数", "Households"),
    "buildings": ("楼栋", "Buildings"),
    "floor_area_m2": ("建筑面积", "Floor area"),
    "investment": ("投资估算", "Investment estimate"),
    "completion_rate": ("计划完成率", "Plan completion"),
}
# Units of the table cells (the cells themselves are plain numbers).
_TABLE_UNITS: dict[str, tuple[str, str]] = {
    "communities": ("个", "communities"),
    "households": ("户", "households"),
    "buildings": ("栋", "buildings"),
    "floor_area_m2": ("m²", "m²"),
    "investment": ("万元", "10k yuan"),
}
_YUAN_PER_WAN = 1e4
# The selected year's column in the table.
_YEAR_HIGHLIGHT = "background-color: #ede9fe; font-weight: 600"


# ---------------------------------------------------------------------------
# Cached library calls (keyed on file versions; results are shared, read-only)


@dataclass(frozen=True)
class _Inputs:
    """The workspace tables the page computes from (shared by sessions, never mutated)."""

    communities: pd.DataFrame
    events: pd.DataFrame
    county_of: dict[str, str]
    years: tuple[int, ...]


def _file_version(path: Path, what: tuple[str, str]) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError as exc:
        raise PolicyError(
            f"{what[0]} {path} 无法读取 / cannot read the {what[1]} {path}: {exc}"
        ) from exc


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _policy(path: str, version: int) -> Policy:
    return load_policy(path)


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _inputs(path: str, mtime_ns: int, policy_file: str, policy_version: int) -> _Inputs:
    workspace = open_workspace(path)
    layer = workspace.read("communities")
    communities = pd.DataFrame(layer.drop(columns=layer.geometry.name))
    ids = communities["community_id"].astype(str)
    return _Inputs(
        communities=communities,
        events=workspace.read("status_events"),
        county_of=dict(zip(ids, communities["county_code"].astype(str), strict=True)),
        years=tuple(_policy(policy_file, policy_version).years),
    )


@st.cache_resource(
    ttl=common.CACHE_TTL_S,
    max_entries=common.CACHE_MAX_ENTRIES,
    show_spinner="正在估算各小区的改造投资（只需一次）… / estimating the investment (once)…",
)
def _investment(
    path: str,
    mtime_ns: int,
    policy_file: str,
    policy_version: int,
    works_file: str,
    works_version: int,
) -> pd.Series:
    return investment_estimate(
        open_workspace(path),
        policy=_policy(policy_file, policy_version),
        config=load_works(works_file),
    )


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _map_data(path: str, mtime_ns: int, county: str, basemap: maps.Basemap) -> maps.OverviewData:
    workspace = open_workspace(path)
    return maps.overview_data(
        workspace.read("counties"),
        workspace.read("urban_areas"),
        workspace.read("communities"),
        county=county or None,
        basemap=basemap,
    )


@dataclass(frozen=True)
class _Loaded:
    """What every run needs; ``key`` names the versions the cached results below depend on."""

    inputs: _Inputs
    investment: pd.Series
    key: tuple[str, int, int, int]


def _load(ref: common.WorkspaceRef) -> _Loaded:
    policy_file = policy_path()
    works_file = policy_path(WORKS_FILE)
    policy_version = _file_version(policy_file, ("政策文件", "policy file"))
    works_version = _file_version(works_file, ("工程文件", "works file"))
    path = str(ref.path)
    inputs = _inputs(path, ref.mtime_ns, str(policy_file), policy_version)
    investment = _investment(
        path, ref.mtime_ns, str(policy_file), policy_version, str(works_file), works_version
    )
    return _Loaded(inputs, investment, (path, ref.mtime_ns, policy_version, works_version))


# The functions below take the shared inputs unhashed (leading underscore) and
# are keyed on ``key`` (the file versions) plus their own arguments.


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=_RESULT_CACHE_ENTRIES, show_spinner=False)
def _statuses(_loaded: _Loaded, key: tuple[str, int, int, int], year: int) -> pd.DataFrame:
    return status_at(_loaded.inputs.events, as_of=year)


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _by_year(_loaded: _Loaded, key: tuple[str, int, int, int]) -> dict[int, pd.DataFrame]:
    """Progress by county as of every year's end (and the year before the plan), computed once."""
    inputs = _loaded.inputs
    return {
        year: progress_by_county(
            inputs.communities, inputs.events, year=year, investment=_loaded.investment
        )
        for year in [inputs.years[0] - 1, *inputs.years]
    }


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=_RESULT_CACHE_ENTRIES, show_spinner=False)
def _history(
    _loaded: _Loaded, key: tuple[str, int, int, int], stage: str, county: str
) -> pd.DataFrame:
    inputs = _loaded.inputs
    return progress_history(
        inputs.communities,
        inputs.events,
        years=[inputs.years[0] - 1, *inputs.years],
        stage=stage,
        county=county or None,
        investment=_loaded.investment,
        tables=_by_year(_loaded, key),
    )


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=_RESULT_CACHE_ENTRIES, show_spinner=False)
def _table(
    _loaded: _Loaded, key: tuple[str, int, int, int], measure: str, stage: str, county: str
) -> pd.DataFrame:
    inputs = _loaded.inputs
    if county:
        return progress_by_street(
            inputs.communities,
            inputs.events,
            county=county,
            years=inputs.years,
            measure=measure,
            stage=stage,
            investment=_loaded.investment,
        )
    return progress_table(
        inputs.communities,
        inputs.events,
        years=inputs.years,
        measure=measure,
        stage=stage,
        investment=_loaded.investment,
        tables=_by_year(_loaded, key),
    )


def _breaks(loaded: _Loaded, measure: str, stage: str) -> tuple[float, ...]:
    """Class bounds over every county and year: the legend stays put while the year changes."""
    table = _table(loaded, loaded.key, measure, stage, _WHOLE_CITY)
    return maps.class_breaks(table.drop(index="全市").to_numpy())


# ---------------------------------------------------------------------------
# Widgets and their state


def _county_label(code: str) -> str:
    if code == _WHOLE_CITY:
        return common.t("全市", "Whole city")
    zh, en = COUNTIES[code]
    return common.t(zh, en)


def _stage_label(stage: str) -> str:
    return common.t(*PROGRESS_STAGES[stage])


def _measure_label(measure: str) -> str:
    zh, en, _unit = MEASURES[measure]
    return common.t(zh, en)


def _init_state(years: tuple[int, ...]) -> None:
    """The choices of the last visit (Streamlit forgets widgets on other pages), else defaults.

    Values that no longer fit (another policy's years) are reset.
    """
    today = dt.date.today().year
    kept = st.session_state.get(_KEPT_KEY, {})
    defaults = {
        YEAR_KEY: (years, min(max(today, years[0]), years[-1])),
        MEASURE_KEY: (tuple(MEASURES), "communities"),
        STAGE_KEY: (tuple(PROGRESS_STAGES), "completed"),
        COUNTY_KEY: ((_WHOLE_CITY, *COUNTIES), _WHOLE_CITY),
    }
    for key, (allowed, default) in defaults.items():
        if st.session_state.get(key) not in allowed:
            st.session_state[key] = kept.get(key) if kept.get(key) in allowed else default


def _keep_state() -> None:
    """Remember the choices in a plain session key, which outlives a visit to another page."""
    st.session_state[_KEPT_KEY] = {
        key: st.session_state[key] for key in (YEAR_KEY, MEASURE_KEY, STAGE_KEY, COUNTY_KEY)
    }


def _on_map_click() -> None:
    """Open the county clicked on the map (in the city view a community opens its county)."""
    value = st.session_state.get(MAP_KEY)
    code = maps.clicked_feature_id(value, field="county_code")
    if code is None and st.session_state.get(COUNTY_KEY) == _WHOLE_CITY:
        community = maps.clicked_feature_id(value, field="community_id")
        if community is not None:
            try:
                code = _load(common.current_workspace()).inputs.county_of.get(community)
            except GislibError:  # the run that follows shows the error
                return
    if code in COUNTIES:
        st.session_state[COUNTY_KEY] = code


def _back_to_city() -> None:
    st.session_state[COUNTY_KEY] = _WHOLE_CITY


def _controls(years: tuple[int, ...]) -> None:
    year_col, stage_col, measure_col = st.columns([1.45, 1.15, 0.75], vertical_alignment="bottom")
    with year_col:
        st.segmented_control(
            common.t("年份（截至年底）", "Year (as of 31 December)"),
            list(years),
            format_func=str,
            required=True,
            key=YEAR_KEY,
        )
    with stage_col:
        st.segmented_control(
            common.t("进度", "Progress"),
            list(PROGRESS_STAGES),
            format_func=_stage_label,
            required=True,
            key=STAGE_KEY,
            help=common.t(
                "已列入计划：已申报；已开工：已施工；已完工：已竣工验收（均截至当年年底）。",
                "Planned: reached 申报 (application); started: 施工 (construction); "
                "completed: 竣工验收 (acceptance); each as of 31 December.",
            ),
        )
    with measure_col:
        st.selectbox(
            common.t("地图与表格的指标", "Measure (map and table)"),
            list(MEASURES),
            format_func=_measure_label,
            key=MEASURE_KEY,
        )


def _county_picker() -> None:
    pick_col, back_col = st.columns([1.4, 1], vertical_alignment="bottom")
    with pick_col:
        st.selectbox(
            common.t("区县（或点击地图）", "County (or click the map)"),
            [_WHOLE_CITY, *COUNTIES],
            format_func=_county_label,
            key=COUNTY_KEY,
        )
    with back_col:
        st.button(
            common.t("返回全市", "Whole city"),
            icon=":material/zoom_out_map:",
            on_click=_back_to_city,
            disabled=st.session_state[COUNTY_KEY] == _WHOLE_CITY,
            width="stretch",
        )


# ---------------------------------------------------------------------------
# The page


@dataclass(frozen=True)
class _View:
    """Everything one run shows, computed (or taken from the caches) before drawing."""

    year: int
    measure: str
    stage: str
    county: str
    lang: str
    data: maps.OverviewData
    base: folium.Map
    groups: list[folium.FeatureGroup]
    history: pd.DataFrame
    table: pd.DataFrame


def _view(ref: common.WorkspaceRef, loaded: _Loaded, basemap: maps.Basemap) -> _View:
    year = int(st.session_state[YEAR_KEY])
    measure = str(st.session_state[MEASURE_KEY])
    stage = str(st.session_state[STAGE_KEY])
    county = str(st.session_state[COUNTY_KEY])
    lang = common.lang()
    data = _map_data(str(ref.path), ref.mtime_ns, county, basemap)
    by_county = _by_year(loaded, loaded.key)[year]
    title = common.t(
        f"{PROGRESS_STAGES[stage][0]}{MEASURES[measure][0]}（截至{year}年底）",
        f"{MEASURES[measure][1].capitalize()} {PROGRESS_STAGES[stage][1]}, end of {year}",
    )
    choropleth = maps.county_choropleth(
        data,
        by_county[(stage, measure)],
        measure=measure,
        title=title,
        breaks=_breaks(loaded, measure, stage),
        lang=lang,
    )
    coloured = maps.community_statuses(
        data, _statuses(loaded, loaded.key, year), year=year, lang=lang
    )
    return _View(
        year=year,
        measure=measure,
        stage=stage,
        county=county,
        lang=lang,
        data=data,
        base=maps.overview_status_map(
            data,
            asset_base_url=maps.asset_base_url(st.get_option("server.baseUrlPath")),
            lang=lang,
        ),
        groups=[choropleth.group, coloured.group],
        history=_history(loaded, loaded.key, stage, county),
        table=_table(loaded, loaded.key, measure, stage, county),
    )


def render() -> None:
    """Draw the overview page (the time each run takes goes to the debug log)."""
    started = time.perf_counter()
    try:
        _render()
    finally:
        logger.debug("overview page run in %.3f s", time.perf_counter() - started)


def _render() -> None:
    ref = common.open_page("总览", "Overview")
    if ref is None:
        return
    basemap = common.basemap_choice()
    try:
        loaded = _load(ref)
        _init_state(loaded.inputs.years)
        _controls(loaded.inputs.years)
        view = _view(ref, loaded, basemap)
        _keep_state()
    except GislibError as exc:
        common.show_error(exc)
        return

    left, right = st.columns([1.6, 1], gap="medium")
    with right:
        _county_picker()
        figures = st.container()
    # The map before the figures: the browser starts loading it while the rest is drawn.
    with left:
        st_folium(
            view.base,
            key=MAP_KEY,
            returned_objects=["last_active_drawing"],
            height=MAP_HEIGHT_PX,
            use_container_width=True,
            feature_group_to_add=view.groups,
            on_change=_on_map_click,
        )
    with figures:
        _key_figures(view)
    with right:
        _progress_table(view)
        briefing_panel(ref, year=view.year, county=view.county)
        _notes(ref, view, loaded)


# Key figures are laid out in a grid of this many rows and columns.
_KPI_ROWS, _KPI_COLUMNS = 3, 2
# Key figures: (divisor, Chinese unit, English unit, decimals) of the value shown.
_KPI_UNITS: dict[str, tuple[float, str, str, int]] = {
    "communities": (1.0, "个", "", 0),
    "households": (1.0, "户", "", 0),
    "buildings": (1.0, "栋", "", 0),
    "floor_area_m2": (1e4, "万m²", "10k m²", 1),
    "investment": (1e8, "亿元", "100M yuan", 2),
}


def _kpi_text(value: float, name: str, *, signed: bool = False) -> str:
    if pd.isna(value):
        return "—"
    if name == "completion_rate":
        if signed:
            return f"{value * 100:+.1f}" + common.t(" 个百分点", " pp")
        return f"{value:.1%}"
    divisor, _zh, _en, decimals = _KPI_UNITS[name]
    return f"{value / divisor:{'+' if signed else ''},.{decimals}f}"


def _kpi_label(name: str) -> str:
    label = common.t(*_KPI_LABELS[name])
    if name in _KPI_UNITS:
        _divisor, zh, en, _decimals = _KPI_UNITS[name]
        label += common.t(f"（{zh}）", f" ({en})" if en else "")
    return label


def _key_figures(view: _View) -> None:
    """Six figures as of the year's end, each with its change since the year before."""
    place = common.t("全市", "Whole city") if not view.county else _county_label(view.county)
    st.caption(
        common.md_escape(
            common.t(
                f"{place} · {_stage_label(view.stage)} · 截至{view.year}年底（箭头为较上年底的变化）",
                f"{place} · {_stage_label(view.stage)} · end of {view.year} "
                "(arrows: change since a year before)",
            )
        )
    )
    shown = view.history
    cells = [column for _row in range(_KPI_ROWS) for column in st.columns(_KPI_COLUMNS)]
    for column, name in zip(cells, KPI_NAMES, strict=True):
        value = float(shown.loc[view.year, name])
        before = view.year - 1
        change = value - float(shown.loc[before, name]) if before in shown.index else 0.0
        unchanged = pd.isna(change) or abs(change) < 1e-9
        column.metric(
            _kpi_label(name),
            _kpi_text(value, name),
            delta=common.t("持平", "no change")
            if unchanged
            else _kpi_text(change, name, signed=True),
            delta_color="off" if unchanged else "normal",
            delta_arrow="off" if unchanged else "auto",
            border=True,
            help=_kpi_help(name, view.stage),
        )


def _kpi_help(name: str, stage: str) -> str:
    if name == "investment":
        return common.t(
            "估算：按各小区需要的改造内容和单价估算的费用（gislib.works），不是实际投资或预算。",
            "Estimate: from each community's works and unit costs (gislib.works), not the "
            "actual spending or budget.",
        )
    if name == "completion_rate":
        return common.t(
            "截至当年年底已完工（竣工验收）的小区数 ÷ 已列入计划（已申报）的小区数。",
            "Communities completed (竣工验收) ÷ communities planned (申报), as of 31 December.",
        )
    return common.t(
        f"{_stage_label(stage)}的小区合计（截至当年年底）。",
        f"Sum over the communities {PROGRESS_STAGES[stage][1]} by 31 December.",
    )


def _progress_table(view: _View) -> None:
    unit = common.t(*_TABLE_UNITS[view.measure])
    rows = common.t("街道", "Street") if view.county else common.t("区县", "County")
    heading = common.t(
        f"{_measure_label(view.measure)} · {_stage_label(view.stage)}（{unit}），按{rows}与年份",
        f"{_measure_label(view.measure)} · {_stage_label(view.stage)} ({unit}), "
        f"by {rows.lower()} and year",
    )
    st.markdown(f"**{common.md_escape(heading)}**")
    table = view.table / _YUAN_PER_WAN if view.measure == "investment" else view.table
    if view.county:
        names = {COUNTIES[view.county][0]: _county_label(view.county)}
    else:
        names = {zh: tr(zh, en, view.lang) for zh, en in COUNTIES.values()}
        names["全市"] = _county_label(_WHOLE_CITY)
    shown = pd.DataFrame(
        table.to_numpy(),
        index=pd.Index(
            [common.md_escape(names.get(str(r), str(r))) for r in table.index], name=rows
        ),
        columns=[str(c) for c in table.columns],
    )
    styled = shown.style.format("{:,.0f}").map(lambda _v: _YEAR_HIGHLIGHT, subset=[str(view.year)])
    st.table(styled)


def _notes(ref: common.WorkspaceRef, view: _View, loaded: _Loaded) -> None:
    notes = [
        common.t(
            "地图：区县按所选指标着色，小区按截至当年年底的状态着色；点击区县查看其街道和小区。",
            "Map: counties by the measure chosen, communities by their status at the year's "
            "end; click a county to open its streets and communities.",
        )
        if not view.county
        else common.t(
            "地图只显示本区县的小区；点击“返回全市”回到全市。",
            "The map shows this county's communities; “Whole city” goes back.",
        ),
        common.t(
            "投资为按改造内容和单价的估算，不是实际投资。",
            "Investment is an estimate from the works and unit costs, not actual spending.",
        ),
    ]
    if ref.synthetic:
        notes.append(
            common.t(
                "示例工作区的小区、进度和投资均为合成数据。",
                "The sample's communities, progress and investment are synthetic.",
            )
        )
    county_of = loaded.inputs.county_of
    expected = (
        sum(1 for c in county_of.values() if c == view.county) if view.county else len(county_of)
    )
    missing = expected - view.data.drawn["communities"]
    if missing > 0:
        notes.append(
            common.t(
                f"{missing} 个小区没有图形，未在地图上显示。",
                f"{missing} communities have no geometry and are not drawn.",
            )
        )
    st.caption("  \n".join(common.md_escape(n) for n in notes))
