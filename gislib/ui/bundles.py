"""EPC bundling page (打包): one county's plan year into contract batches, edited and compared.

The communities are those of the annual plan as this session edited it
(:func:`gislib.ui.plan.current_plan`), with their estimated investment. The
planner sets the bounds (defaults from the policy file), bundles, and keeps
each run as a named scenario in this session; manual edits (move, merge,
split, lock) go through :mod:`gislib.bundling`, which re-checks totals,
contiguity and bounds after every edit and reports a violation rather than
fixing it. A batch is exported as a shapefile zip (for the design institute)
and the batches as an Excel tender list.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gislib import bundling, maps
from gislib.bundling import Bounds, BundleResult
from gislib.errors import GislibError
from gislib.io.export import export_layer
from gislib.scheduling import AnnualPlan
from gislib.schema import COUNTIES
from gislib.ui import common
from gislib.ui.common import t
from gislib.ui.plan import current_plan

__all__ = ["COMMUNITY_KEY", "COUNTY_KEY", "MAP_KEY", "SCENARIOS_KEY", "YEAR_KEY", "render"]

#: Session-state key of the scenarios: {(county, year): {name: BundleResult}}.
SCENARIOS_KEY = "bundle-scenarios"
#: Session-state key of the scenario shown, per (county, year).
CURRENT_KEY = "bundle-current"
COUNTY_KEY = "bundle-county"
YEAR_KEY = "bundle-year"
#: Session-state key of the community picked on the map (for a move).
COMMUNITY_KEY = "bundle-community"
MAP_KEY = "bundle-map"
MAP_HEIGHT_PX = 520
_YUAN_PER_WAN = 1e4
_XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PREFER_LABELS: dict[str, tuple[str, str]] = {
    "middle": ("批次规模居中（推荐）", "balanced (recommended)"),
    "fewest": ("批次尽量少", "fewest batches"),
    "most": ("批次尽量多", "most batches"),
}
_NO_BATCH = ""


def _scenarios(key: tuple[str, int]) -> dict[str, BundleResult]:
    store = st.session_state.setdefault(SCENARIOS_KEY, {})
    return store.setdefault(key, {})


def _year_communities(
    ref: common.WorkspaceRef, plan: AnnualPlan, county: str, year: int
) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """The plan's communities of the county and year (EPSG:4490) and their investment (元)."""
    table = plan.to_frame()
    part = table[(table["year"] == year) & (table["county_code"].astype(str) == county)]
    layer = common.load_layers(ref, ("communities",))["communities"]
    chosen = layer[layer["community_id"].astype(str).isin(set(part["community_id"]))]
    investment = pd.Series(
        pd.to_numeric(part["investment"]).to_numpy(), index=part["community_id"].astype(str)
    )
    return chosen, investment


def _bounds_form(
    policy_bounds: Bounds, band: float, *, expanded: bool
) -> tuple[Bounds, float, str, int, str] | None:
    """The bundling parameters; returns them when the planner asks for a run."""
    title = t("打包参数（默认取自政策文件）", "Parameters (defaults from the policy)")
    with st.expander(title, expanded=expanded, icon=":material/tune:"), st.form("bundle-params"):
        c = st.columns(4)

        def wan(value: float | None) -> float | None:
            return None if value is None else value / _YUAN_PER_WAN

        min_inv = c[0].number_input(
            t("每批投资下限（万元）", "Min investment (10k yuan)"),
            min_value=0.0, value=wan(policy_bounds.min_investment), step=100.0,
        )  # fmt: skip
        max_inv = c[1].number_input(
            t("每批投资上限（万元）", "Max investment (10k yuan)"),
            min_value=0.0, value=wan(policy_bounds.max_investment), step=100.0,
        )  # fmt: skip
        min_hh = c[2].number_input(
            t("每批户数下限", "Min households"), min_value=0, value=policy_bounds.min_households
        )
        max_hh = c[3].number_input(
            t("每批户数上限", "Max households"), min_value=0, value=policy_bounds.max_households
        )
        c = st.columns(4)
        min_n = c[0].number_input(
            t("每批小区数下限", "Min communities"), min_value=0, value=policy_bounds.min_communities
        )
        max_n = c[1].number_input(
            t("每批小区数上限", "Max communities"), min_value=0, value=policy_bounds.max_communities
        )
        band_m = c[2].number_input(
            t("连片距离带（米）", "Distance band (m)"), min_value=0.0, value=float(band), step=50.0,
            help=t("两个小区边界相距不超过该距离即视为相邻（可隔路）。",
                   "Communities this close are neighbours (across a road)."),
        )  # fmt: skip
        prefer = c[3].selectbox(
            t("批次数", "Batch count"), list(_PREFER_LABELS),
            # Both languages in one label: a label that changes with the language
            # would orphan the widget's stored choice.
            format_func=lambda p: " / ".join(_PREFER_LABELS[p]),
        )  # fmt: skip
        c = st.columns([1, 2, 1], vertical_alignment="bottom")
        seed = int(c[0].number_input(t("随机种子", "Seed"), min_value=0, value=0))
        name = c[1].text_input(t("方案名称", "Scenario name"), placeholder=t("如：方案A", "e.g. A"))
        run = c[2].form_submit_button(t("打包", "Bundle"), type="primary", icon=":material/hub:")
    if not run:
        return None

    def yuan(value: float | None) -> float | None:
        return None if value is None else float(value) * _YUAN_PER_WAN

    def count(value: float | None) -> int | None:
        return None if value is None else int(value)

    try:
        bounds = Bounds(
            min_investment=yuan(min_inv), max_investment=yuan(max_inv),
            min_households=count(min_hh), max_households=count(max_hh),
            min_communities=count(min_n), max_communities=count(max_n),
        )  # fmt: skip
    except GislibError as exc:
        common.show_error(exc)
        return None
    return bounds, float(band_m), str(prefer), seed, name.strip()


def _metrics(result: BundleResult) -> None:
    m = result.metrics
    cols = st.columns(5)
    cols[0].metric(t("批次数", "Batches"), f"{int(m['batches'])}")
    cols[1].metric(t("最大跨度", "Largest diameter"), f"{m['diameter_max_m']:,.0f} m")
    cols[2].metric(t("平均跨度", "Mean diameter"), f"{m['diameter_mean_m']:,.0f} m")
    cols[3].metric(t("违反约束", "Violations"), f"{int(m['violations'])}")
    cols[4].metric(t("未分入批次", "Unassigned"), f"{int(m['unassigned'])}")


def _batch_table(result: BundleResult) -> pd.DataFrame:
    b = result.batches
    return pd.DataFrame(
        {
            t("批次", "Batch"): b["batch_id"],
            t("小区数", "Communities"): b["communities"].astype(int),
            t("户数", "Households"): b["households"],
            t("投资估算（万元）", "Investment (10k yuan)"): b["investment"] / _YUAN_PER_WAN,
            t("跨度（米）", "Diameter (m)"): b["diameter_m"],
            t("连片", "Contiguous"): b["contiguous"],
            t("满足约束", "Within bounds"): b["bounds_ok"],
            t("须公开招标", "Public tender"): b["public_tender"],
            t("锁定", "Locked"): b["locked"],
            t("问题", "Issues"): b["violations"],
        }
    )


def _apply(
    key: tuple[str, int], name: str, edit: Callable[..., BundleResult], *args: object
) -> None:
    """Run an edit of :mod:`gislib.bundling`; store the re-checked result and redraw,
    or show why the edit was refused."""
    try:
        result = edit(*args)
    except GislibError as exc:
        common.show_error(exc)
        return
    _scenarios(key)[name] = result
    st.rerun()


def _edits(key: tuple[str, int], name: str, result: BundleResult, names: dict[str, str]) -> None:
    batches = [str(b) for b in result.batches["batch_id"]]
    ids = sorted(result.assignments.index.astype(str))
    picked = st.session_state.get(COMMUNITY_KEY)
    move_tab, merge_tab, split_tab, lock_tab = st.tabs(
        [t("移动小区", "Move"), t("合并", "Merge"), t("拆分", "Split"), t("锁定", "Lock")]
    )
    with move_tab:
        c = st.columns([2, 1, 1], vertical_alignment="bottom")
        cid = c[0].selectbox(
            t("小区（可在地图上点选）", "Community (or click it on the map)"), ids,
            index=ids.index(picked) if picked in ids else None,
            format_func=lambda i: f"{i} {names.get(i, '')}", key="bundle-move-id",
            placeholder=t("选择或在地图上点选", "choose, or click the map"),
        )  # fmt: skip
        target = c[1].selectbox(
            t("移入批次", "To batch"), [*batches, _NO_BATCH],
            format_func=lambda b: b or t("不分入批次", "no batch"), key="bundle-move-to",
        )  # fmt: skip
        if c[2].button(t("移动", "Move"), disabled=cid is None, key="bundle-move"):
            _apply(key, name, bundling.move, result, str(cid), target or None)
    with merge_tab:
        c = st.columns([1, 1, 1], vertical_alignment="bottom")
        a = c[0].selectbox(t("保留批次", "Keep"), batches, key="bundle-merge-a")
        b = c[1].selectbox(t("并入的批次", "Merge in"), batches, key="bundle-merge-b")
        if c[2].button(t("合并", "Merge"), key="bundle-merge"):
            _apply(key, name, bundling.merge, result, str(a), str(b))
    with split_tab:
        c = st.columns([2, 1], vertical_alignment="bottom")
        s = c[0].selectbox(t("拆分批次", "Batch"), batches, key="bundle-split-id")
        if c[1].button(t("一分为二", "Split in two"), key="bundle-split"):
            _apply(key, name, bundling.split, result, str(s))
    with lock_tab:
        c = st.columns([2, 1, 1], vertical_alignment="bottom")
        lk = c[0].selectbox(t("批次", "Batch"), batches, key="bundle-lock-id")
        if c[1].button(t("锁定", "Lock"), key="bundle-lock"):
            _apply(key, name, bundling.lock, result, str(lk))
        if c[2].button(t("解锁", "Unlock"), key="bundle-unlock"):
            _apply(key, name, bundling.unlock, result, str(lk))


def _exports(
    result: BundleResult, county: str, year: int, communities: gpd.GeoDataFrame, synthetic: bool
) -> None:
    batches = [str(b) for b in result.batches["batch_id"]]
    if not batches:
        return
    notes = ["样例数据为合成数据 / synthetic sample data"] if synthetic else []
    c = st.columns([1, 1, 1], vertical_alignment="bottom")
    batch = c[0].selectbox(t("导出批次", "Batch to export"), batches, key="bundle-export-id")
    members = set(result.assignments.index[result.assignments == batch].astype(str))
    chosen = communities[communities["community_id"].astype(str).isin(members)]
    with tempfile.TemporaryDirectory() as folder:
        zipped = Path(folder) / "batch.zip"
        try:
            export_layer(chosen, zipped, layer="communities", format="shp")
        except GislibError as exc:
            common.show_error(exc)
        else:
            c[1].download_button(
                t("该批次小区（Shapefile）", "Batch (shapefile zip)"), zipped.read_bytes(),
                file_name=f"{county}-{year}-{batch}.zip", mime="application/zip",
                icon=":material/download:",
            )  # fmt: skip
        book = Path(folder) / "tender.xlsx"
        bundling.write_tender_workbook({county: result}, communities, book, year=year, notes=notes)
        c[2].download_button(
            t("招标清单（Excel）", "Tender list (Excel)"), book.read_bytes(),
            file_name=f"EPC打包-{COUNTIES[county][0]}-{year}.xlsx", mime=_XLSX_MIME,
            icon=":material/download:",
        )  # fmt: skip


def _on_map_click() -> None:
    clicked = maps.clicked_feature_id(st.session_state.get(MAP_KEY))
    if clicked is not None:
        st.session_state[COMMUNITY_KEY] = clicked


def render() -> None:
    """Draw the EPC bundling page."""
    ref = common.open_page("EPC 打包", "EPC batches")
    if ref is None:
        return
    basemap = common.basemap_choice()
    try:
        plan = current_plan(ref)
    except GislibError as exc:
        common.show_error(exc)
        return
    policy = plan.policy
    c = st.columns([1, 2], vertical_alignment="bottom")
    county = c[0].selectbox(
        t("区县", "County"), list(COUNTIES), format_func=lambda k: t(*COUNTIES[k]), key=COUNTY_KEY
    )
    years = list(policy.years)
    year = int(
        c[1].segmented_control(t("计划年度", "Plan year"), years, default=years[-1], key=YEAR_KEY)
        or years[-1]
    )
    try:
        communities, investment = _year_communities(ref, plan, str(county), year)
    except GislibError as exc:
        common.show_error(exc)
        return
    st.caption(
        t(f"{COUNTIES[county][0]} {year} 年计划小区 {len(communities)} 个，投资估算合计 "
          f"{investment.sum() / 1e8:.2f} 亿元（按年度计划页的计划，含本次调整）。",
          f"{COUNTIES[county][1]} {year}: {len(communities)} planned communities, "
          f"{investment.sum() / 1e8:.2f} hundred million yuan (estimate), from the annual plan.")
    )  # fmt: skip
    if communities.empty:
        st.info(t("该区县该年度没有计划小区。", "No planned community for this county and year."))
        return
    settings = policy.bundling
    policy_bounds = Bounds.from_policy(settings)
    key = (str(county), year)
    scenarios = _scenarios(key)
    asked = _bounds_form(policy_bounds, settings.distance_band_m, expanded=not scenarios)
    if asked is not None:
        bounds, band, prefer, seed, name = asked
        try:
            result = bundling.bundle(
                communities, bounds=bounds, investment=investment, distance_band_m=band,
                seed=seed, prefer=prefer,  # type: ignore[arg-type]
                public_tender_yuan=settings.public_tender_threshold,
            )  # fmt: skip
        except GislibError as exc:
            common.show_error(exc)
        else:
            name = name or t(f"方案{len(scenarios) + 1}", f"Scenario {len(scenarios) + 1}")
            scenarios[name] = result
            st.session_state.setdefault(CURRENT_KEY, {})[key] = name
    if not scenarios:
        st.info(t("设置参数后点击“打包”。", "Set the parameters and press Bundle."))
        return
    current = st.session_state.setdefault(CURRENT_KEY, {}).get(key)
    names = list(scenarios)
    name = st.radio(
        t("方案", "Scenario"), names, index=names.index(current) if current in names else 0,
        horizontal=True, key=f"bundle-scenario-{county}-{year}",
    )  # fmt: skip
    st.session_state[CURRENT_KEY][key] = name
    result = scenarios[name]

    _metrics(result)
    if result.ok:
        st.success(
            t("全部批次连片且满足规模约束。", "Every batch is contiguous and within bounds.")
        )
    for v in result.violations:
        st.error(t(v.zh, v.en), icon=":material/error:")
    for rec in result.unassigned.itertuples(index=False):
        st.warning(f"{rec.community_id}：{t(rec.reason_zh, rec.reason_en)}")
    if result.messages:
        with st.expander(
            t(f"说明（{len(result.messages)} 条）", f"Notes ({len(result.messages)})")
        ):
            for message in result.messages:
                st.markdown(f"- {common.md_escape(message)}")

    shown = communities.assign(
        batch_id=result.assignments.reindex(communities["community_id"].astype(str)).to_numpy(),
        investment=investment.reindex(communities["community_id"].astype(str)).to_numpy(),
    )
    left, right = st.columns([1.5, 1], gap="medium")
    with left:
        counties = common.load_layers(ref, ("counties",))["counties"]
        built = maps.batch_map(
            shown, counties=counties, selected=st.session_state.get(COMMUNITY_KEY),
            basemap=basemap, lang=common.lang(),
        )  # fmt: skip
        st_folium(
            built, key=MAP_KEY, returned_objects=["last_active_drawing"],
            height=MAP_HEIGHT_PX, use_container_width=True, on_change=_on_map_click,
        )  # fmt: skip
    with right:
        st.dataframe(
            _batch_table(result),
            hide_index=True,
            column_config={
                t("投资估算（万元）", "Investment (10k yuan)"): st.column_config.NumberColumn(
                    format="%.1f"
                ),
                t("跨度（米）", "Diameter (m)"): st.column_config.NumberColumn(format="%.0f"),
            },
        )
        labels = communities.set_index(communities["community_id"].astype(str))["name"]
        _edits(key, name, result, labels.astype(str).to_dict())
    if len(scenarios) > 1:
        st.markdown(t("**方案比较**", "**Scenarios compared**"))
        st.dataframe(bundling.compare(scenarios))
    _exports(result, str(county), year, communities, ref.synthetic)
    st.caption(t("投资为按单位造价的估算；跨度为批次内小区中心的最大距离（EPSG:4546）。",
                 "Investment is an estimate; diameter is the largest centroid distance."))  # fmt: skip
