"""Eligibility page (资格审查): the check, its counts, the map, and the reasons for one community.

The check (:func:`gislib.eligibility.check_workspace`) runs once per
workspace version, county and policy version and is shared by every
session (``st.cache_resource``): pages only read it, never change it. A
community is picked by clicking it on the map or by searching the list; both
write the same session-state key, so they always agree. The map's base
(counties, zones, communities by verdict) stays the same while the
selection changes: the selected community and its nearest mains go to
``st_folium`` as ``feature_group_to_add``, which keeps the user's view.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gislib import maps
from gislib.datasets import policy_path
from gislib.eligibility import (
    OUTCOME_LABELS,
    TIER_LABELS,
    VERDICT_LABELS,
    Outcome,
    Verdict,
    WorkspaceCheck,
    check_workspace,
    export_check,
)
from gislib.errors import GislibError, PolicyError
from gislib.policy import Policy, load_policy
from gislib.schema import COUNTIES
from gislib.store import open_workspace
from gislib.ui import common
from gislib.ui.common import t

__all__ = [
    "COMMUNITY_KEY",
    "COUNTY_KEY",
    "MAP_HEIGHT_PX",
    "MAP_KEY",
    "CheckedWorkspace",
    "load_check",
    "render",
]

#: Height of the map in pixels (fits a 900 px high window below the controls).
MAP_HEIGHT_PX = 500
#: Session-state key of the county filter ("" is the whole city).
COUNTY_KEY = "eligibility-county"
#: Session-state key of the selected community id (the list and the map both set it).
COMMUNITY_KEY = "eligibility-community"
#: ``st_folium`` key of the map.
MAP_KEY = "eligibility-map"

# Checks kept: a few workspaces x (city + 4 counties) x policies.
_CHECK_CACHE_ENTRIES = 24
_WHOLE_CITY = ""
_XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHORT_VERDICTS: dict[str, tuple[str, str]] = {
    Verdict.ELIGIBLE: ("符合", "Eligible"),
    Verdict.CONDITIONAL: ("有条件", "Conditional"),
    Verdict.INELIGIBLE: ("不符合", "Ineligible"),
}
_VERDICT_BADGE: dict[str, str] = {
    Verdict.ELIGIBLE: "green",
    Verdict.CONDITIONAL: "orange",
    Verdict.INELIGIBLE: "red",
}
# Background of the outcome cell in the rule table (light tints of the map colours).
_OUTCOME_STYLE: dict[str, str] = {
    Outcome.PASS: "background-color: #dcfce7; color: #14532d",
    Outcome.REVIEW: "background-color: #fef3c7; color: #78350f",
    Outcome.FAIL: "background-color: #fee2e2; color: #7f1d1d",
}
# The same, keyed by the label shown in either language.
_OUTCOME_BACKGROUND: dict[str, str] = {
    label: style for outcome, style in _OUTCOME_STYLE.items() for label in OUTCOME_LABELS[outcome]
}
# Outcomes listed as issues at the top of the detail panel, with their badge colour.
_ISSUE_BADGE: dict[str, str] = {Outcome.FAIL: "red", Outcome.REVIEW: "orange"}


# ---------------------------------------------------------------------------
# Cached library calls (keyed on file versions; results are shared, read-only)


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _policy(path: str, mtime_ns: int) -> Policy:
    return load_policy(path)


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=_CHECK_CACHE_ENTRIES, show_spinner=False)
def _check(
    path: str, mtime_ns: int, county: str, policy_file: str, policy_mtime_ns: int
) -> WorkspaceCheck:
    return check_workspace(
        open_workspace(path),
        policy=_policy(policy_file, policy_mtime_ns),
        counties=[county] if county else None,
    )


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _map_layers(path: str, mtime_ns: int) -> dict[str, gpd.GeoDataFrame]:
    workspace = open_workspace(path)
    return {name: workspace.read(name) for name in ("counties", "expropriation_zones", "pipelines")}


@dataclass(frozen=True)
class CheckedWorkspace:
    """A cached check with the policy it ran under and the map layers."""

    check: WorkspaceCheck
    policy: Policy
    layers: dict[str, gpd.GeoDataFrame]


def load_check(ref: common.WorkspaceRef, county: str = "") -> CheckedWorkspace:
    """The eligibility check of the workspace (one county or, with \"\", the city), cached.

    Shared with the planning and bundling pages, so the check runs once.
    """
    file = policy_path()
    try:
        policy_mtime = file.stat().st_mtime_ns
    except OSError as exc:
        raise PolicyError(f"政策文件 {file} 不存在 / policy file {file} not found: {exc}") from exc
    path = str(ref.path)
    with st.spinner(t("正在进行资格审查…", "Checking eligibility…")):
        check = _check(path, ref.mtime_ns, county, str(file), policy_mtime)
    return CheckedWorkspace(
        check=check,
        policy=_policy(str(file), policy_mtime),
        layers=_map_layers(path, ref.mtime_ns),
    )


# ---------------------------------------------------------------------------
# Tables shown on the page (pure pandas, built before any column is opened)


def _en() -> bool:
    return common.lang() == "en"


def _label(pair: tuple[str, str]) -> str:
    """The half of a (Chinese, English) label in the user's language."""
    return pair[1] if _en() else pair[0]


def _rule_counts(loaded: CheckedWorkspace) -> pd.DataFrame:
    table = loaded.check.result.counts_by_failing_rule()
    rules = {r.id: r for r in loaded.policy.rules.all()}
    return pd.DataFrame(
        {
            t("规则", "Rule"): _cells(
                maps.short_rule_name(_label((rules[i].zh, rules[i].en))) for i in table.index
            ),
            t("章节", "Section"): _cells(rules[i].section for i in table.index),
            t("不通过", "Fail"): table[str(Outcome.FAIL)].astype(int).to_numpy(),
            t("需复核", "Review"): table[str(Outcome.REVIEW)].astype(int).to_numpy(),
        }
    )


def _yes_no(value: bool) -> str:
    return t("是", "yes") if value else t("否", "no")


def _value_text(value: object) -> str:
    """A rule's measured value: shares as percentages, flags as yes/no, years plain."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, float):
        return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"
    return str(value)


def _threshold_text(text: str) -> str:
    """A policy threshold as written in the rule rows, with ≥ / ≤ and yes / no."""
    words = {"true": _yes_no(True), "false": _yes_no(False)}
    return words.get(text, text.replace(">=", "≥").replace("<=", "≤"))


def _cells(values: Iterable[object]) -> list[str]:
    """Table cells as literal text (st.table renders Markdown; names come from data)."""
    return [common.md_escape(str(v)) for v in values]


def _rule_rows(reasons: pd.DataFrame) -> pd.io.formats.style.Styler:
    """One row per rule in the user's language, the outcome cell tinted by outcome."""
    lang = 1 if _en() else 0
    outcome_column = t("结果", "Outcome")
    table = pd.DataFrame(
        {
            t("章节", "Section"): _cells(reasons["section"]),
            t("规则", "Rule"): _cells(reasons["rule_en" if lang else "rule_zh"]),
            outcome_column: [OUTCOME_LABELS.get(o, (o, o))[lang] for o in reasons["outcome"]],
            t("实测值", "Value"): _cells(_value_text(v) for v in reasons["value"]),
            t("阈值", "Threshold"): _cells(_threshold_text(str(x)) for x in reasons["threshold"]),
            t("理由", "Reason"): _cells(reasons["reason_en" if lang else "reason_zh"]),
        }
    )
    return table.style.map(lambda v: _OUTCOME_BACKGROUND.get(v, ""), subset=[outcome_column])


def _distance_rows(mains: pd.DataFrame) -> pd.io.formats.style.Styler:
    """One row per network; the network name in the colour its main has on the map."""

    def metres(values: pd.Series) -> list[str]:
        return ["—" if pd.isna(v) else f"{v:,.0f}" for v in values]

    reach = [
        f"{_yes_no(bool(w))}（{'≤' if w else '>'} {r}）"
        if not _en()
        else f"{_yes_no(bool(w))} ({'≤' if w else '>'} {r})"
        for w, r in zip(mains["within_reach"], metres(mains["reach_m"]), strict=True)
    ]
    network_column = t("管网", "Network")
    reach_column = t("服务半径内", "Within reach")
    table = pd.DataFrame(
        {
            network_column: mains["network_en" if _en() else "network_zh"].to_numpy(),
            t("最近主管", "Nearest main"): _cells(p or "—" for p in mains["pipe_id"]),
            t("距离 (m)", "Distance (m)"): metres(mains["distance_m"]),
            reach_column: _cells(reach),
        }
    )
    colours = [maps.NETWORK_COLOURS.get(n, maps.OTHER_COLOUR) for n in mains["network"]]

    def network_colour(column: pd.Series) -> list[str]:
        return [f"color: {c}; font-weight: 600; border-left: 6px solid {c}" for c in colours]

    def reach_colour(column: pd.Series) -> list[str]:
        return [
            "" if within else "color: #b91c1c; font-weight: 600" for within in mains["within_reach"]
        ]

    return table.style.apply(network_colour, subset=[network_column]).apply(
        reach_colour, subset=[reach_column]
    )


def _excel_writer(check: WorkspaceCheck, county_label: str) -> Callable[[], bytes]:
    """Bytes of the results workbook, built only when the user clicks download."""

    def build() -> bytes:
        with tempfile.TemporaryDirectory(prefix="renov-eligibility-") as folder:
            written = export_check(
                check,
                Path(folder) / "eligibility.xlsx",
                notes=[
                    f"范围 / scope: {county_label}",
                    f"导出 / exported: {dt.datetime.now():%Y-%m-%d %H:%M}",
                ],
            )
            return Path(written).read_bytes()

    return build


def _county_label(code: str) -> str:
    """A county (or the whole city) in the user's language."""
    return t("全市", "Whole city") if code == _WHOLE_CITY else _label(COUNTIES[code])


def _county_label_both(code: str) -> str:
    """A county in both languages, for the notes of the Excel file."""
    if code == _WHOLE_CITY:
        return "全市 / whole city"
    return f"{COUNTIES[code][0]} / {COUNTIES[code][1]}"


def _on_map_click() -> None:
    """Select the community clicked on the map (the list shows it too)."""
    clicked = maps.clicked_feature_id(st.session_state.get(MAP_KEY))
    if clicked is not None:
        st.session_state[COMMUNITY_KEY] = clicked


# ---------------------------------------------------------------------------
# The page


def render() -> None:
    """Draw the eligibility page."""
    ref = common.open_page("资格审查", "eligibility")
    if ref is None:
        return
    basemap = common.basemap_choice()

    top = st.columns([1.3, 0.75, 0.75, 0.75, 0.75, 1.1], vertical_alignment="bottom")
    with top[0]:
        county = st.selectbox(
            t("区县", "County"),
            [_WHOLE_CITY, *COUNTIES],
            format_func={c: _county_label(c) for c in [_WHOLE_CITY, *COUNTIES]}.__getitem__,
            key=COUNTY_KEY,
        )
    try:
        loaded = load_check(ref, county)
        summary = loaded.check.result.summary
        names = dict(zip(summary["community_id"], summary["name"], strict=True))
        if st.session_state.get(COMMUNITY_KEY) not in names:
            st.session_state[COMMUNITY_KEY] = None
        built = maps.eligibility_map(
            loaded.check.communities,
            summary,
            zones=loaded.layers["expropriation_zones"],
            counties=loaded.layers["counties"],
            rule_names={r.id: r.zh for r in loaded.policy.rules.all()},
            asset_base_url=maps.asset_base_url(st.get_option("server.baseUrlPath")),
            basemap=basemap,
        )
        selected = st.session_state.get(COMMUNITY_KEY)
        selection = (
            maps.selection_layer(
                selected,
                communities=loaded.check.communities,
                networks=loaded.check.networks,
                pipelines=loaded.layers["pipelines"],
                reach_m=loaded.policy.reach_m,
                basemap=basemap,
            )
            if selected
            else None
        )
    except GislibError as exc:
        common.show_error(exc)
        return
    counts = loaded.check.result.counts_by_verdict()
    total = int(counts.sum())
    rule_counts = _rule_counts(loaded)
    detail = _detail(loaded, selection) if selection is not None else None

    top[1].metric(
        t("审查小区", "Checked"),
        f"{total:,}",
        delta=t(f"{len(rule_counts)} 条规则", f"{len(rule_counts)} rules"),
        delta_color="off",
        delta_arrow="off",
    )
    for column, verdict in zip(top[2:5], Verdict, strict=True):
        n = int(counts[str(verdict)])
        column.metric(
            _label(_SHORT_VERDICTS[verdict]),
            f"{n:,}",
            delta=f"{n / total:.0%}" if total else None,
            delta_color="off",
            delta_arrow="off",
        )
    with top[5]:
        st.download_button(
            t("下载 Excel", "Download Excel"),
            data=_excel_writer(loaded.check, _county_label_both(county)),
            file_name=t(
                f"资格审查结果-{_county_label(county)}.xlsx",
                f"eligibility-{_county_label(county)}.xlsx",
            ),
            mime=_XLSX_MIME,
            on_click="ignore",
            icon=":material/download:",
            help=t(
                "下载审查结果（每个小区的结论与逐条依据）",
                "Download the results: each community's verdict and the reasons, rule by rule",
            ),
            width="stretch",
        )

    if total == 0:
        st.info(
            t(
                f"{_county_label(county)}：工作区中没有小区。",
                f"{_county_label(county)}: no communities in the workspace.",
            ),
            icon=":material/info:",
        )
    left, right = st.columns([1.65, 1], gap="medium")
    with left:
        st_folium(
            built.map,
            key=MAP_KEY,
            returned_objects=["last_active_drawing"],
            height=MAP_HEIGHT_PX,
            use_container_width=True,
            feature_group_to_add=selection.group if selection else None,
            center=selection.center if selection else None,
            zoom=maps.SELECTED_ZOOM if selection else None,
            on_change=_on_map_click,
        )
    with right:
        st.selectbox(
            t("小区", "Community"),
            list(names),
            index=None,
            format_func={
                cid: t(f"{name}（{cid}）", f"{name} ({cid})") for cid, name in names.items()
            }.__getitem__,
            placeholder=t("输入名称或编号搜索", "Search a name or id"),
            key=COMMUNITY_KEY,
        )
        if detail is None:
            st.info(
                t(
                    "点击地图上的小区或在上方搜索，查看逐条审查理由。",
                    "Click a community on the map or search above to see the reasons.",
                ),
                icon=":material/touch_app:",
            )
            _rule_count_table(rule_counts)
        else:
            _show_detail(detail)
    if detail is not None:
        _show_reasons(detail)
        _rule_count_table(rule_counts)
    st.caption(f"{t('依据', 'Policy')}：{common.md_escape(loaded.policy.title)}")


def _rule_count_table(table: pd.DataFrame) -> None:
    st.markdown(f"**{t('按规则统计不通过和需复核的小区', 'Communities failing each rule')}**")
    st.table(table, hide_index=True)


@dataclass(frozen=True)
class _Detail:
    """What the detail panel shows for one community, as Markdown-safe text and tables."""

    title: str
    facts: str
    verdict: str
    overlap: str
    issues: list[str]
    distances: pd.io.formats.style.Styler
    rules: pd.io.formats.style.Styler


def _detail(loaded: CheckedWorkspace, selection: maps.Selection) -> _Detail:
    esc = common.md_escape
    lang = 1 if _en() else 0
    summary = loaded.check.result.summary
    row = summary.loc[summary["community_id"] == selection.community_id].iloc[0]
    community = loaded.check.communities.loc[row.name]
    facts = [t(f"编号 {selection.community_id}", f"id {selection.community_id}")]
    code = str(row["county_code"])
    if code in COUNTIES:
        facts.append(COUNTIES[code][lang])
    street = community.get("street")
    if street is not None and not pd.isna(street):
        facts.append(str(street))
    year = community.get("build_year")
    if year is not None and not pd.isna(year):
        facts.append(t(f"建成 {int(year)}", f"built {int(year)}"))
    households = community.get("households")
    if households is not None and not pd.isna(households):
        facts.append(t(f"{int(households)} 户", f"{int(households)} households"))
    verdict, tier = str(row["verdict"]), str(row["tier"])
    verdict_text = VERDICT_LABELS.get(verdict, (verdict, verdict))[lang]
    badge = _VERDICT_BADGE.get(verdict, "gray")
    tier_text = TIER_LABELS.get(tier, (tier, tier))[lang]
    share = float(row["expropriation_share"])
    zones = str(row["expropriation_zones"])
    overlap = _value_text(share) + (t(f"（{esc(zones)}）", f" ({esc(zones)})") if zones else "")

    reasons = loaded.check.result.reasons(selection.community_id)
    issues = []
    for outcome, rule, reason in zip(
        reasons["outcome"],
        reasons["rule_en" if lang else "rule_zh"],
        reasons["reason_en" if lang else "reason_zh"],
        strict=True,
    ):
        if outcome in _ISSUE_BADGE:
            label = OUTCOME_LABELS[outcome][lang]
            issues.append(
                f":{_ISSUE_BADGE[outcome]}-badge[{label}] "
                f"**{esc(maps.short_rule_name(str(rule)))}**{t('：', ': ')}{esc(str(reason))}"
            )
    return _Detail(
        title=f"#### {esc(str(row['name']))}",
        facts=" · ".join(esc(str(f)) for f in facts),
        verdict=t(
            f"**审查结论**：:{badge}-badge[{esc(verdict_text)}]  \n**年限档次**：{esc(tier_text)}",
            f"**Verdict**: :{badge}-badge[{esc(verdict_text)}]  \n**Age tier**: {esc(tier_text)}",
        ),
        overlap=t(
            f"**与规划征迁范围重叠**：{overlap}",
            f"**Overlap with planned expropriation**: {overlap}",
        ),
        issues=issues,
        distances=_distance_rows(selection.mains),
        rules=_rule_rows(reasons),
    )


def _show_detail(detail: _Detail) -> None:
    st.markdown(detail.title)
    st.caption(detail.facts)
    st.markdown(detail.verdict)
    if detail.issues:
        st.markdown("  \n".join(detail.issues))
    else:
        st.markdown(t(":green-badge[通过] 各项规则均通过", ":green-badge[pass] every rule passes"))
    st.markdown(detail.overlap)
    st.markdown(f"**{t('到各管网最近现状主管的距离', 'Nearest existing main of each network')}**")
    st.table(detail.distances, hide_index=True)


def _show_reasons(detail: _Detail) -> None:
    st.markdown(f"**{t('逐条审查依据', 'Rule by rule')}**")
    st.table(detail.rules, hide_index=True)
