"""Communities page (小区): find a community, see everything about it, edit it.

Filters (county, street, status, verdict, build year, text) narrow one table
(:func:`gislib.explore.community_table`); the table and the map show the same
communities, and a click on either selects the same community through one
session-state key. The map's base never changes, so the filtered communities
and the selection go to ``st_folium`` as ``feature_group_to_add`` and the
user's view is kept.

The detail shows the attributes, the eligibility verdict with its reasons,
the nearest mains, the works and their estimated cost, and the status history
as a timeline (tables built by :mod:`gislib.explore`). The two forms that
write (attributes, status events; :mod:`gislib.ui.community_forms`) save
through :mod:`gislib.store`, which audits every save; the audit rows are
shown. Cached data is keyed on the workspace file's modification time, so a
save is seen at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gislib import maps
from gislib.datasets import policy_path
from gislib.edits import describe_audit
from gislib.eligibility import (
    OUTCOME_LABELS,
    TIER_LABELS,
    VERDICT_LABELS,
    Outcome,
    WorkspaceCheck,
    check_workspace,
)
from gislib.errors import GislibError, PolicyError
from gislib.explore import (
    UNCHECKED,
    VERDICT_SHORT,
    CommunityFilter,
    attribute_rows,
    audit_rows,
    community_table,
    distance_rows,
    filter_communities,
    history_rows,
    listing,
    reason_rows,
    stage_label,
    street_options,
    works_rows,
    year_span,
)
from gislib.planning import STATUS_LABELS, Status, stage_rank, status_history
from gislib.policy import Policy, load_policy
from gislib.schema import COUNTIES, STAGES
from gislib.store import open_workspace
from gislib.ui import common
from gislib.ui.community_forms import FormContext, edit_form, event_form, plain, show_flash
from gislib.works import (
    CATEGORIES,
    WORKS_FILE,
    WorksConfig,
    derive_works,
    estimate_costs,
    load_works,
)

__all__ = [
    "COMMUNITY_KEY",
    "MAP_HEIGHT_PX",
    "MAP_KEY",
    "MAP_MAX_COMMUNITIES",
    "SEARCH_KEY",
    "render",
]

#: Height of the table and the map in pixels.
MAP_HEIGHT_PX = 460
#: Most communities drawn on the map at once (the table lists them all): each costs
#: about 1.4 KB of map script, sent again on every rerun (2,000 is about 3 MB).
MAP_MAX_COMMUNITIES = 2_000
#: Session-state key of the selected community id (table and map both set it).
COMMUNITY_KEY = "communities-selected"
#: ``st_folium`` key of the map.
MAP_KEY = "communities-map"
#: Key of the text search.
SEARCH_KEY = "communities-search"

_LAYER = "communities"
_COUNTY_KEY = "communities-counties"
_STREET_KEY = "communities-streets"
_STATUS_KEY = "communities-statuses"
_VERDICT_KEY = "communities-verdicts"
_YEARS_KEY = "communities-years"
# The dataframe's key changes when its rows change, or when the selection came
# from the map (so the highlighted row follows it).
_TABLE_GEN_KEY = "communities-table-gen"
_TABLE_CURRENT_KEY = "communities-table-current"
_SHOWN_IDS_KEY = "communities-shown-ids"
_DETAIL_CACHE_ENTRIES = 64
_DIGEST_CHARS = 12
_ISSUE_BADGE = {Outcome.FAIL: "red", Outcome.REVIEW: "orange"}
_VERDICTS = ("eligible", "conditional", "ineligible", UNCHECKED)
_VERDICT_BADGE = {"eligible": "green", "conditional": "orange", "ineligible": "red"}
_YUAN_PER_WAN = 10_000
_WORKS_TABLE_HEIGHT_PX = 260


# ---------------------------------------------------------------------------
# Cached library calls (keyed on file versions; results are shared, read-only)


def _mtime(path: Any) -> int:
    try:
        return int(path.stat().st_mtime_ns)
    except OSError as exc:
        raise PolicyError(f"文件 {path} 无法读取 / cannot read {path}: {exc}") from exc


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _policy(path: str, mtime_ns: int) -> Policy:
    return load_policy(path)


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _works_config(path: str, mtime_ns: int) -> WorksConfig:
    return load_works(path)


@st.cache_resource(
    ttl=common.CACHE_TTL_S,
    max_entries=common.CACHE_MAX_ENTRIES,
    show_spinner="正在进行资格审查… / checking eligibility…",
)
def _check(path: str, mtime_ns: int, policy_file: str, policy_mtime_ns: int) -> WorkspaceCheck:
    return check_workspace(open_workspace(path), policy=_policy(policy_file, policy_mtime_ns))


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _layers(path: str, mtime_ns: int) -> dict[str, pd.DataFrame]:
    workspace = open_workspace(path)
    return {n: workspace.read(n) for n in ("counties", "urban_areas", "pipelines", "status_events")}


class _Loaded:
    """Everything the page reads, for one workspace version (shared: never mutated)."""

    def __init__(self, ref: common.WorkspaceRef, today: dt.date) -> None:
        policy_file = policy_path()
        works_file = policy_path(WORKS_FILE)
        policy_mtime, works_mtime = _mtime(policy_file), _mtime(works_file)
        path = str(ref.path)
        self.ref = ref
        self.today = today
        #: Everything the cached results depend on besides the community and the language.
        self.version = (path, ref.mtime_ns, policy_mtime, works_mtime, today.isoformat())
        self.policy = _policy(str(policy_file), policy_mtime)
        self.works_config = _works_config(str(works_file), works_mtime)
        self.check = _check(path, ref.mtime_ns, str(policy_file), policy_mtime)
        self.layers = _layers(path, ref.mtime_ns)
        self.table = _table(self.version, self.check, self.layers)

    @property
    def events(self) -> pd.DataFrame:
        return self.layers["status_events"]


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _table(
    version: tuple[Any, ...],
    _check_result: WorkspaceCheck,
    _layers_read: dict[str, pd.DataFrame],
) -> pd.DataFrame:
    return community_table(
        _check_result.communities,
        events=_layers_read["status_events"],
        verdicts=_check_result.result.summary,
        as_of=dt.date.fromisoformat(version[-1]),
    )


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _features(
    version: tuple[Any, ...], lang: str, display_crs: str, _loaded: _Loaded, _basemap: maps.Basemap
) -> dict[str, Any]:
    return maps.status_features(
        _loaded.check.communities, _loaded.table, lang=lang, basemap=_basemap
    )


@st.cache_data(ttl=common.CACHE_TTL_S, max_entries=_DETAIL_CACHE_ENTRIES, show_spinner=False)
def _works(
    version: tuple[Any, ...], community_id: str, _loaded: _Loaded
) -> tuple[pd.DataFrame, pd.DataFrame]:
    check = _loaded.check
    rows = check.communities.index[check.communities["community_id"] == community_id]
    works = derive_works(
        check.communities.loc[rows],
        networks=check.networks.loc[rows],
        raster=None if check.raster is None else check.raster.loc[rows],
        config=_loaded.works_config,
        policy=_loaded.policy,
    )
    return works, estimate_costs(works)


@st.cache_data(ttl=common.CACHE_TTL_S, max_entries=_DETAIL_CACHE_ENTRIES, show_spinner=False)
def _audit(
    path: str, mtime_ns: int, community_id: str, event_ids: tuple[str, ...], lang: str
) -> pd.DataFrame:
    workspace = open_workspace(path)
    edits = describe_audit(
        workspace.audit_log(layer=_LAYER, record_id=community_id), layer=_LAYER, lang=lang
    )
    events = workspace.audit_log(layer="status_events")
    events = events.loc[events["record_id"].isin(event_ids)]
    added = describe_audit(events, layer="status_events", lang=lang)
    parts = [frame for frame in (edits, added) if len(frame)]
    both = pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts or [edits])[0]
    return both.sort_values("time", ascending=False, kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Session state: the user, the selection, flash messages


def _on_map_click() -> None:
    """Select the community clicked on the map; the table follows (new key)."""
    clicked = maps.clicked_feature_id(st.session_state.get(MAP_KEY))
    if clicked is not None and clicked != st.session_state.get(COMMUNITY_KEY):
        st.session_state[COMMUNITY_KEY] = clicked
        st.session_state[_TABLE_GEN_KEY] = st.session_state.get(_TABLE_GEN_KEY, 0) + 1


def _row_to_id(rows: list[int], shown_ids: list[str]) -> str | None:
    """The community of the selected table row (``None`` for no selection)."""
    if not rows or not 0 <= rows[0] < len(shown_ids):
        return None
    return shown_ids[rows[0]]


def _on_row_select() -> None:
    """Select the community of the clicked row (or none when the row is unselected)."""
    state = st.session_state.get(st.session_state.get(_TABLE_CURRENT_KEY, ""))
    rows = list(state["selection"]["rows"]) if state else []
    st.session_state[COMMUNITY_KEY] = _row_to_id(rows, st.session_state.get(_SHOWN_IDS_KEY, []))


def _tr(pair: tuple[str, str]) -> str:
    return common.t(str(pair[0]), str(pair[1]))


def _county_label(code: str) -> str:
    return _tr(COUNTIES[code]) if code in COUNTIES else code


def _status_label(status: str) -> str:
    return _tr(STATUS_LABELS.get(status, (status, status)))


# ---------------------------------------------------------------------------
# The page


def render() -> None:
    """Draw the communities page."""
    ref = common.open_page("小区", "Communities")
    if ref is None:
        return
    user = common.current_user()
    basemap = common.basemap_choice()
    try:
        loaded = _Loaded(ref, dt.date.today())
        shown = filter_communities(loaded.table, _filters(loaded.table))
    except GislibError as exc:
        common.show_error(exc)
        return

    shown_ids = shown["community_id"].astype(str).tolist()
    selected = st.session_state.get(COMMUNITY_KEY)
    if selected not in set(shown_ids):
        selected = st.session_state[COMMUNITY_KEY] = None
    st.caption(
        common.t(
            f"显示 {len(shown):,} / 共 {len(loaded.table):,} 个小区；点击表格的行或地图上的小区查看详情",
            f"{len(shown):,} of {len(loaded.table):,} communities; click a row or a community "
            "on the map for its detail",
        )
    )
    left, right = st.columns([1.3, 1], gap="medium")
    with left:
        _table_view(shown, shown_ids, selected)
    with right:
        try:
            selection = _map_view(loaded, shown_ids, selected, basemap)
        except GislibError as exc:
            common.show_error(exc)
            selection = None
    show_flash()
    if selected is None:
        st.info(
            common.t(
                "点击表格中的一行或地图上的小区，查看属性、审查理由、改造内容、进度并编辑。",
                "Click a row or a community on the map to see and edit it.",
            ),
            icon=":material/touch_app:",
        )
        return
    try:
        _detail(loaded, str(selected), selection, user)
    except GislibError as exc:
        common.show_error(exc)


def _filters(table: pd.DataFrame) -> CommunityFilter:
    cols = st.columns([1.1, 1.1, 1.1, 1.1, 1.3, 1.3], vertical_alignment="bottom")
    counties = cols[0].multiselect(
        common.t("区县", "County"),
        list(COUNTIES),
        format_func=_county_label,
        key=_COUNTY_KEY,
        placeholder=common.t("全市", "whole city"),
    )
    streets = street_options(table, counties=counties)
    if _STREET_KEY in st.session_state:  # drop streets of counties no longer chosen
        st.session_state[_STREET_KEY] = [
            s for s in st.session_state[_STREET_KEY] if s in set(streets)
        ]
    chosen_streets = cols[1].multiselect(
        common.t("街道", "Street"),
        streets,
        key=_STREET_KEY,
        placeholder=common.t("全部", "all"),
    )
    statuses = cols[2].multiselect(
        common.t("当前状态", "Status today"),
        [str(s) for s in Status],
        format_func=_status_label,
        key=_STATUS_KEY,
        placeholder=common.t("全部", "all"),
    )
    verdicts = cols[3].multiselect(
        common.t("审查结论", "Verdict"),
        [v for v in _VERDICTS if v != UNCHECKED or (table["verdict"] == UNCHECKED).any()],
        format_func=lambda v: _tr(VERDICT_SHORT.get(v, (v, v))),
        key=_VERDICT_KEY,
        placeholder=common.t("全部", "all"),
    )
    span = year_span(table)
    years = None
    if span is not None and span[0] < span[1]:
        picked = cols[4].slider(
            common.t("建成年份", "Year built"),
            min_value=span[0],
            max_value=span[1],
            value=span,
            key=_YEARS_KEY,
        )
        years = None if tuple(picked) == span else (int(picked[0]), int(picked[1]))
    text = cols[5].text_input(
        common.t("搜索名称或编号", "Search name or id"),
        key=SEARCH_KEY,
        placeholder=common.t("例如：公租房 或 441702-0005", "e.g. 公租房 or 441702-0005"),
    )
    return CommunityFilter(
        counties=tuple(counties),
        streets=tuple(chosen_streets),
        statuses=tuple(statuses),
        verdicts=tuple(verdicts),
        build_years=years,
        text=text,
    )


def _table_view(shown: pd.DataFrame, shown_ids: list[str], selected: str | None) -> None:
    display = listing(shown, lang=common.lang())
    digest = hashlib.sha1("\n".join(shown_ids).encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
    key = f"communities-table-{st.session_state.get(_TABLE_GEN_KEY, 0)}-{digest}"
    st.session_state[_TABLE_CURRENT_KEY] = key
    st.session_state[_SHOWN_IDS_KEY] = shown_ids
    position = shown_ids.index(selected) if selected in shown_ids else None
    year_format = st.column_config.NumberColumn(format="%d")
    st.dataframe(
        display,
        key=key,
        on_select=_on_row_select,
        selection_mode="single-row",
        selection_default=(
            {"selection": {"rows": [position], "columns": []}} if position is not None else None
        ),
        hide_index=True,
        height=MAP_HEIGHT_PX,
        width="stretch",
        column_config={
            common.t("建成年份", "Built"): year_format,
            common.t("计划年度", "Plan year"): year_format,
            common.t("户数", "Households"): year_format,
        },
    )


def _map_view(
    loaded: _Loaded, shown_ids: list[str], selected: str | None, basemap: maps.Basemap
) -> maps.Selection | None:
    lang = common.lang()
    base = maps.explorer_map(
        counties=loaded.layers["counties"],
        urban_areas=loaded.layers["urban_areas"],
        communities=loaded.check.communities,
        asset_base_url=maps.asset_base_url(st.get_option("server.baseUrlPath")),
        basemap=basemap,
        lang=lang,
    )
    features = _features(loaded.version, lang, basemap.display_crs, loaded, basemap)
    groups = [maps.status_layer(features, community_ids=shown_ids, limit=MAP_MAX_COMMUNITIES)]
    selection = None
    if selected is not None:
        selection = maps.selection_layer(
            selected,
            communities=loaded.check.communities,
            networks=loaded.check.networks,
            pipelines=loaded.layers["pipelines"],
            reach_m=loaded.policy.reach_m,
            basemap=basemap,
        )
        groups.append(selection.group)
    center = selection.center if selection is not None else None
    if center is not None and any(math.isnan(v) for v in center):
        center = None
    st_folium(
        base,
        key=MAP_KEY,
        returned_objects=["last_active_drawing"],
        height=MAP_HEIGHT_PX,
        use_container_width=True,
        feature_group_to_add=groups,
        center=center,
        zoom=maps.SELECTED_ZOOM if center is not None else None,
        on_change=_on_map_click,
    )
    if len(shown_ids) > MAP_MAX_COMMUNITIES:
        st.caption(
            common.t(
                f"地图只画出前 {MAP_MAX_COMMUNITIES:,} 个小区，请缩小筛选范围",
                f"The map draws the first {MAP_MAX_COMMUNITIES:,}; narrow the filters",
            )
        )
    return selection


# ---------------------------------------------------------------------------
# Detail of one community


def _detail(
    loaded: _Loaded, community_id: str, selection: maps.Selection | None, user: str
) -> None:
    esc = common.md_escape
    lang = common.lang()
    communities = loaded.check.communities
    label = communities.index[communities["community_id"] == community_id][0]
    record = communities.loc[label]
    history = status_history(loaded.events, community_id, as_of=loaded.today)

    st.markdown(f"#### {esc(str(record['name']))}")
    facts = [
        f"{common.t('编号', 'id')} {community_id}",
        _county_label(str(record["county_code"])),
        str(plain(record.get("street")) or ""),
        f"{common.t('数据版本', 'version')} {int(record['version'])}",
    ]
    st.caption(" · ".join(esc(f) for f in facts if f))

    top = st.columns([1, 1.2, 1.3], gap="medium")
    with top[0]:
        st.markdown(f"**{common.t('基本信息', 'Attributes')}**")
        st.dataframe(attribute_rows(record, lang=lang), hide_index=True, width="stretch")
    with top[1]:
        _eligibility(loaded, community_id, label, selection)
    with top[2]:
        _works_and_cost(loaded, community_id)
    context = FormContext(
        workspace=loaded.ref.path,
        community_id=community_id,
        record=record,
        events=loaded.events,
        history=history,
        plan_years=tuple(loaded.policy.years),
        today=loaded.today,
        user=user,
    )
    bottom = st.columns([1.4, 1], gap="medium")
    with bottom[0]:
        _timeline(history, str(loaded.table.loc[label, "status"]))
    with bottom[1]:
        event_form(context)
    edit_form(context)
    with st.expander(common.t("修改记录（审计）", "Audit log"), icon=":material/history:"):
        event_ids = tuple(history["event_id"].astype(str))
        audit = _audit(str(loaded.ref.path), loaded.ref.mtime_ns, community_id, event_ids, lang)
        if audit.empty:
            st.caption(common.t("暂无修改记录", "No changes recorded yet"))
        else:
            st.dataframe(audit_rows(audit, lang=lang), hide_index=True, width="stretch")


def _eligibility(
    loaded: _Loaded, community_id: str, label: Any, selection: maps.Selection | None
) -> None:
    esc = common.md_escape
    lang = common.lang()
    summary = loaded.check.result.summary.loc[label]
    verdict, tier = str(summary["verdict"]), str(summary["tier"])
    st.markdown(f"**{common.t('资格审查', 'Eligibility')}**")
    st.markdown(
        f":{_VERDICT_BADGE.get(verdict, 'gray')}-badge"
        f"[{esc(_tr(VERDICT_LABELS.get(verdict, (verdict, verdict))))}] · "
        f"{esc(_tr(TIER_LABELS.get(tier, (tier, tier))))}"
    )
    reasons = loaded.check.result.reasons(community_id)
    suffix = "en" if lang == "en" else "zh"
    issues = [
        f":{_ISSUE_BADGE[o]}-badge[{esc(_tr(OUTCOME_LABELS[o]))}] "
        f"**{esc(maps.short_rule_name(str(rule)))}**：{esc(str(reason))}"
        for o, rule, reason in zip(
            reasons["outcome"], reasons[f"rule_{suffix}"], reasons[f"reason_{suffix}"], strict=True
        )
        if o in _ISSUE_BADGE
    ]
    if issues:
        st.markdown("  \n".join(issues))
    else:
        st.markdown(
            f":green-badge[{common.t('通过', 'pass')}] "
            + common.t("各项规则均通过", "every rule passes")
        )
    with st.expander(common.t("逐条审查理由", "Reasons, rule by rule")):
        st.dataframe(reason_rows(reasons, lang=lang), hide_index=True, width="stretch")
    if selection is not None:
        st.markdown(f"**{common.t('到各管网最近现状主管的距离', 'Nearest existing mains')}**")
        table = distance_rows(selection.mains, lang=lang)
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={table.columns[2]: st.column_config.NumberColumn(format="%d")},
        )


def _works_and_cost(loaded: _Loaded, community_id: str) -> None:
    st.markdown(f"**{common.t('改造内容与投资估算', 'Works and estimated cost')}**")
    works, costs = _works(loaded.version, community_id, loaded)
    if works.empty:
        st.caption(common.t("未推导出改造内容", "No works derived"))
        return
    total = costs.iloc[0]
    st.metric(
        common.t("投资估算合计", "Estimated cost"),
        f"{total['total'] / _YUAN_PER_WAN:,.1f} " + common.t("万元", "×10k yuan"),
    )
    st.caption(
        " · ".join(
            f"{_tr(CATEGORIES[c])} {total[str(c)] / _YUAN_PER_WAN:,.1f} " + common.t("万元", "×10k")
            for c in CATEGORIES
        )
    )
    table = works_rows(works, lang=common.lang())
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=_WORKS_TABLE_HEIGHT_PX,
        column_config={table.columns[3]: st.column_config.NumberColumn(format="localized")},
    )
    note = common.t(
        "以上金额为按单价估算的参考值，不是预算或合同价。",
        "Estimates from unit costs, for reference only: not a budget or a contract price.",
    )
    if int(total["unpriced"]):
        note += common.t(
            f" 另有 {int(total['unpriced'])} 项缺少数据无法估算。",
            f" {int(total['unpriced'])} works lack data and are not priced.",
        )
    st.caption(note)


def _timeline(history: pd.DataFrame, status: str) -> None:
    st.markdown(f"**{common.t('改造进度', 'Status history')}**")
    if history.empty:
        st.caption(
            common.t("尚无进度记录（未纳入改造）", "No status events yet (not in the programme)")
        )
        return
    current = history.loc[history["current"]]
    if len(current):
        stage = str(current["stage"].iloc[0])
        st.progress(
            (stage_rank(stage) + 1) / len(STAGES),
            text=common.t(
                f"已到达：{stage_label(stage)}（{status}）",
                f"Reached: {stage_label(stage, 'en')} ({_status_label(status)})",
            ),
        )
    table = history_rows(history, lang=common.lang())
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            table.columns[1]: st.column_config.DateColumn(format="YYYY-MM-DD"),
            table.columns[2]: st.column_config.NumberColumn(format="%d"),
        },
    )
