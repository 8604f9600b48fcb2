"""Annual plan page (年度计划): the 2021-2025 schedule, its rule checks, planner edits, plan vs actual.

The proposal (:func:`gislib.scheduling.propose_plan`) runs once per
workspace version, policy version and "today" and is shared by every session
(``st.cache_resource``, read-only). The planner's edits (pin, move, drop,
restore) are kept in this session as a list of operations and replayed on
the shared proposal with the library's own functions, which re-check every
rule after each one: a broken rule is shown with its explanation, never
fixed behind the planner's back. Freezing a year stores the plan as edited,
with the year's verdicts, in the workspace (append-only).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from gislib import scheduling
from gislib.bundling import batches_table, year_batches
from gislib.datasets import policy_path
from gislib.eligibility import VERDICT_LABELS
from gislib.errors import GislibError
from gislib.io.tables import write_workbook
from gislib.scheduling import AnnualPlan
from gislib.schema import COUNTIES
from gislib.store import Workspace, open_workspace
from gislib.ui import common
from gislib.ui.common import t
from gislib.ui.eligibility import load_check
from gislib.works import derive_works

__all__ = ["OPS_KEY", "TODAY_KEY", "current_plan", "render"]

#: Session-state key of the planner's operations: a list of (op, community_id, year).
OPS_KEY = "plan-ops"
#: Session-state key of the "today" the plan is made on.
TODAY_KEY = "plan-today"
_XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Plan-vs-actual measures: column -> (Chinese, English, Chinese unit, English unit, divisor).
_MEASURES: dict[str, tuple[str, str, str, str, float]] = {
    "communities": ("小区数", "communities", "个", "communities", 1.0),
    "households": ("户数", "households", "户", "households", 1.0),
    "buildings": ("楼栋数", "buildings", "栋", "buildings", 1.0),
    "floor_area_m2": ("建筑面积", "floor area", "万m²", "10k m²", 1e4),
    "investment": ("投资估算", "investment (estimate)", "万元", "10k yuan", 1e4),
}
_OP_LABELS: dict[str, tuple[str, str]] = {
    "pin": ("指定年度", "pin to a year"),
    "move": ("调整年度", "move to a year"),
    "drop": ("移出计划", "drop"),
    "restore": ("恢复", "restore"),
}


@st.cache_resource(ttl=common.CACHE_TTL_S, max_entries=common.CACHE_MAX_ENTRIES, show_spinner=False)
def _proposal(path: str, mtime_ns: int, policy_mtime_ns: int, today: dt.date | None) -> AnnualPlan:
    ref = common.current_workspace()
    loaded = load_check(ref)
    events = open_workspace(path).read("status_events")
    return scheduling.propose_plan(loaded.check, policy=loaded.policy, events=events, today=today)


def _policy_mtime() -> int:
    try:
        return policy_path().stat().st_mtime_ns
    except OSError:
        return 0


def _apply(plan: AnnualPlan, ops: list[tuple[str, str, int | None]]) -> AnnualPlan:
    for op, cid, year in ops:
        if op == "pin" and year is not None:
            plan = scheduling.pin(plan, cid, year)
        elif op == "move" and year is not None:
            plan = scheduling.move(plan, cid, year)
        elif op == "drop":
            plan = scheduling.drop(plan, cid)
        elif op == "restore":
            plan = scheduling.restore(plan, cid, year)
    return plan


def current_plan(ref: common.WorkspaceRef) -> AnnualPlan:
    """The plan as this session edited it: the shared proposal with the session's operations.

    Raises
    ------
    GislibError
        The check, the proposal or an operation cannot be carried out.
    """
    today = st.session_state.get(TODAY_KEY)
    with st.spinner(t("正在编排年度计划…", "Scheduling…")):
        base = _proposal(str(ref.path), ref.mtime_ns, _policy_mtime(), today)
    return _apply(base, st.session_state.get(OPS_KEY, []))


def _summary_table(plan: AnnualPlan) -> pd.DataFrame:
    summary = plan.summary().reset_index()
    share = summary["capped"] / summary["communities"].where(summary["communities"] > 0)
    out = pd.DataFrame(
        {
            t("年度", "Year"): summary["year"].astype(str),
            t("小区数", "Communities"): summary["communities"].astype(int),
            t("其中2001-2005年建成", "Built 2001-2005"): summary["capped"].astype(int),
            t("占比", "Share"): share.map(lambda v: "—" if pd.isna(v) else f"{v:.1%}"),
            t("户数", "Households"): summary["households"],
            t("户数能力", "Household capacity"): summary["capacity_households"],
            t("投资估算（亿元）", "Investment (100 M yuan, est.)"): summary["investment"] / 1e8,
            t("投资能力（亿元）", "Budget (100 M yuan)"): summary["capacity_budget_yuan"] / 1e8,
            t("违反规则", "Violations"): summary["violations"].astype(int),
        }
    )
    return out


def _violations(plan: AnnualPlan) -> None:
    if plan.ok:
        st.success(
            t("计划满足全部规则（试点、首年任务、年度能力、15%比例、资格）",
              "The plan holds every rule (pilots, first-year task, capacity, 15% cap, eligibility)"),
            icon=":material/check_circle:",
        )  # fmt: skip
        return
    st.error(
        t(f"计划违反 {len(plan.violations)} 条规则，请调整：",
          f"The plan breaks {len(plan.violations)} rules; adjust it:"),
        icon=":material/error:",
    )  # fmt: skip
    en = common.lang() == "en"
    for v in plan.violations:
        st.markdown(f"- {common.md_escape(v.en if en else v.zh)}")


def _year_table(plan: AnnualPlan, year: int) -> pd.DataFrame:
    table = plan.to_frame()
    part = table.loc[table["year"] == year]
    return pd.DataFrame(
        {
            t("编号", "Id"): part["community_id"],
            t("名称", "Name"): part["name"],
            t("区县", "County"): part["county"],
            t("街道", "Street"): part["street"],
            t("建成年份", "Built"): pd.to_numeric(part["build_year"]).astype("Int64"),
            t("结论", "Verdict"): part["verdict"].map(
                lambda v: t(*VERDICT_LABELS[v]) if v in VERDICT_LABELS else v
            ),
            t("来源", "Source"): part["source"].map(lambda s: t(*scheduling.SOURCE_LABELS[s])),
            t("户数", "Households"): part["households"],
            t("投资估算（万元）", "Investment (10k yuan)"): part["investment"] / 1e4,
            t("优先级", "Priority"): part["score"],
        }
    )


def _edit_form(plan: AnnualPlan) -> None:
    frame = plan.frame
    options = sorted(frame.index.astype(str))
    names = frame["name"].astype(str).to_dict()
    years = list(plan.policy.years)
    with st.form("plan-edit", border=True):
        st.markdown(t("**调整计划**（每次调整后重新检查全部规则）",
                      "**Edit the plan** (every rule is re-checked after each edit)"))  # fmt: skip
        cols = st.columns([2.4, 1.2, 1, 1])
        cid = cols[0].selectbox(
            t("小区", "Community"),
            options,
            format_func=lambda c: f"{c} {names.get(c, '')}",
            index=None,
            placeholder=t("输入编号或名称搜索", "type an id or name"),
        )
        op = cols[1].selectbox(
            t("操作", "Action"),
            list(_OP_LABELS),
            format_func=lambda o: t(*_OP_LABELS[o]),
        )
        year = cols[2].selectbox(t("年度", "Year"), years, index=len(years) - 1)
        submitted = cols[3].form_submit_button(t("应用", "Apply"), type="primary")
    if submitted and cid:
        ops = [*st.session_state.get(OPS_KEY, []), (op, cid, int(year))]
        try:
            _apply(plan, ops[-1:])
        except GislibError as exc:
            common.show_error(exc)
            return
        st.session_state[OPS_KEY] = ops
        st.rerun()
    ops = st.session_state.get(OPS_KEY, [])
    if ops:
        done = "；".join(
            f"{t(*_OP_LABELS[o])} {c}" + (f" → {y}" if o in ("pin", "move") else "")
            for o, c, y in ops
        )
        st.caption(t(f"本次已调整：{done}", f"Edits so far: {done}"))
        if st.button(t("撤销全部调整", "Undo all edits"), icon=":material/undo:"):
            st.session_state[OPS_KEY] = []
            st.rerun()


def _plan_vs_actual(
    plan: AnnualPlan, events: pd.DataFrame, year: int, measure: str
) -> pd.DataFrame:
    """Planned, declared, started and completed by county for a year, in one measure."""
    table = scheduling.plan_vs_actual(plan, events)
    part = table.xs(year, level=1)
    zh_unit, en_unit = _MEASURES[measure][2], _MEASURES[measure][3]
    divisor = _MEASURES[measure][4]
    rows = {}
    for kind, zh, en in (
        ("planned", "计划", "planned"),
        ("actual", "实际申报", "declared"),
        ("started", "已开工", "started"),
        ("completed", "已完工", "completed"),
    ):
        rows[t(f"{zh}（{zh_unit}）", f"{en} ({en_unit})")] = part[(kind, measure)] / divisor
    out = pd.DataFrame(rows)
    out.index = [COUNTIES.get(str(c), (str(c),))[0] for c in out.index]
    return out


@st.cache_data(ttl=common.CACHE_TTL_S, max_entries=16, show_spinner=False)
def _workbooks(
    path: str,
    mtime_ns: int,
    policy_mtime_ns: int,
    today: dt.date | None,
    ops: tuple[tuple[str, str, int | None], ...],
    year: int,
    synthetic: bool,
) -> tuple[bytes, bytes]:
    """The plan and survey workbooks of a plan as edited (cached: both take a second)."""
    ref = common.current_workspace()
    plan = _apply(_proposal(path, mtime_ns, policy_mtime_ns, today), list(ops))
    events = common.load_layers(ref, ("status_events",))["status_events"]
    check = load_check(ref).check
    works = derive_works(
        check.communities, networks=check.networks, raster=check.raster, policy=plan.policy
    )
    notes = ["样例数据为合成数据 / synthetic sample data"] if synthetic else []
    with tempfile.TemporaryDirectory() as folder:
        plan_file = Path(folder) / "plan.xlsx"
        write_workbook(
            {"年度计划": plan.to_frame()},
            plan_file,
            column_labels=scheduling.PLAN_COLUMN_LABELS,
            notes=notes,
        )
        survey_file = Path(folder) / "survey.xlsx"
        scheduling.survey_workbook(
            plan, events, year=year, path=survey_file, works=works, notes=notes
        )
        return plan_file.read_bytes(), survey_file.read_bytes()


def _downloads(plan: AnnualPlan, ref: common.WorkspaceRef, year: int) -> None:
    cols = st.columns(3)
    ops = tuple(tuple(op) for op in st.session_state.get(OPS_KEY, []))
    plan_bytes, survey_bytes = _workbooks(
        str(ref.path),
        ref.mtime_ns,
        _policy_mtime(),
        st.session_state.get(TODAY_KEY),
        ops,
        year,
        ref.synthetic,
    )
    cols[0].download_button(
        t("下载计划表（Excel）", "Plan (Excel)"),
        plan_bytes,
        file_name="年度计划2021-2025.xlsx",
        mime=_XLSX_MIME,
        icon=":material/download:",
    )
    cols[1].download_button(
        t(f"下载{year}年统计调查表", f"{year} national survey (Excel)"),
        survey_bytes,
        file_name=f"老旧小区改造统计调查{year}.xlsx",
        mime=_XLSX_MIME,
        icon=":material/download:",
    )
    with cols[2].popover(t(f"{year}年度定稿", f"Freeze {year}"), icon=":material/lock:"):
        st.caption(
            t("把本年度计划（含调整）、审查结论和 EPC 批次（打包页的方案，未打包的区县按政策默认）存入工作区，只增不改，可随时查看当时的决定。",
              "Stores the plan as edited, the verdicts and the year's EPC batches in the "
              "workspace (append-only).")
        )  # fmt: skip
        user = common.current_user()
        if st.button(t("确认定稿", "Freeze"), disabled=not user, type="primary"):
            verdicts = load_check(ref).check.result.summary
            verdicts = verdicts.drop(columns="geometry", errors="ignore")
            workspace = open_workspace(ref.path)
            try:
                batches = _batches_to_freeze(workspace, year)
                sid = scheduling.freeze_year(
                    workspace, plan, year=year, verdicts=verdicts, batches=batches, user=user
                )
            except GislibError as exc:
                common.show_error(exc)
            else:
                st.success(t(f"已定稿（快照 {sid}）", f"Frozen (snapshot {sid})"))


def _batches_to_freeze(workspace: Workspace, year: int) -> pd.DataFrame:
    """The year's batches: the scenario shown on the 打包 page where the planner made one,
    else the policy's bundling of the year."""
    from gislib.ui.bundles import CURRENT_KEY, SCENARIOS_KEY

    made = {}
    current = st.session_state.get(CURRENT_KEY, {})
    for (county, y), scenarios in st.session_state.get(SCENARIOS_KEY, {}).items():
        name = current.get((county, y))
        if y == year and name in scenarios:
            made[county] = scenarios[name]
    table = year_batches(workspace, year=year)
    if made:
        table = table[~table["county"].isin(made)]
        table = pd.concat([table, batches_table(made, year=year)], ignore_index=True)
    return table.sort_values("batch_id", kind="stable").reset_index(drop=True)


def _frozen(ref: common.WorkspaceRef, year: int) -> None:
    frozen = scheduling.load_frozen(open_workspace(ref.path), year)
    if frozen is None:
        st.caption(t(f"{year} 年度尚未定稿。", f"{year} has not been frozen."))
        return
    entries = frozen.entries
    part = entries.loc[entries["year"] == year]
    title = t(
        f"{year} 年度定稿（{frozen.created_at}，{frozen.user}：{frozen.name}）",
        f"{year} as frozen ({frozen.created_at}, {frozen.user}: {frozen.name})",
    )
    with st.expander(title, icon=":material/lock:"):
        st.caption(
            t(f"定稿时该年度计划 {len(part)} 个小区；定稿时的规则检查："
              f"{'全部满足' if not frozen.violations else f'{len(frozen.violations)} 处违反'}。"
              "快照只增不改，以下为当时的决定。",
              f"{len(part)} communities in the year when frozen; "
              f"{len(frozen.violations)} rule violations then. Snapshots are append-only.")
        )  # fmt: skip
        shown = [c for c in ("community_id", "name", "county", "source_zh", "households",
                             "investment") if c in part.columns]  # fmt: skip
        st.dataframe(part[shown], hide_index=True)
        batches = frozen.batches
        if batches is not None and len(batches):
            st.caption(t(f"定稿时的 EPC 批次：{len(batches)} 批。",
                         f"EPC batches when frozen: {len(batches)}."))  # fmt: skip
            cols = [c for c in ("batch_id", "communities", "households", "investment",
                                "bounds_ok") if c in batches.columns]  # fmt: skip
            st.dataframe(batches[cols], hide_index=True)


def _today_control(plan: AnnualPlan) -> None:
    """The date the plan is made on, and what it means for the schedule."""
    last = plan.policy.years[-1]
    cols = st.columns([1, 3], vertical_alignment="bottom")
    chosen = cols[0].date_input(
        t("编排基准日（“今天”）", "Plan as of"),
        value=plan.today,
        min_value=dt.date(plan.policy.years[0] - 1, 1, 1),
        max_value=dt.date(last, 12, 31),
        help=t("此日前已申报的小区按实际年度列入并锁定；其后的年度由系统按优先级编排。",
               "Communities declared before this date keep their year; later years are "
               "scheduled by priority."),
    )  # fmt: skip
    if chosen != plan.today:
        st.session_state[TODAY_KEY] = chosen
        st.session_state[OPS_KEY] = []
        st.rerun()
    if plan.start_year > last:
        text = t(f"截至 {plan.today}，{plan.policy.years[0]}-{last} 各年度均已按进度记录申报，"
                 "计划即实际；把基准日设得更早，可重新编排其后的年度。",
                 f"By {plan.today} every year to {last} is declared: the plan is the record. "
                 "Set an earlier date to schedule the later years again.")  # fmt: skip
    else:
        text = t(f"以 {plan.today} 为基准：此前已申报的小区按实际年度列入（锁定），其余符合条件的小区"
                 f"按优先级排入 {plan.start_year}-{last} 年。",
                 f"As of {plan.today}: declared communities keep their year (locked); the "
                 f"other eligible ones are scheduled by priority into {plan.start_year}-{last}.")  # fmt: skip
    cols[1].caption(text)


def render() -> None:
    """Draw the annual plan page."""
    ref = common.open_page("年度计划", "annual plan")
    if ref is None:
        return
    try:
        plan = current_plan(ref)
        events = common.load_layers(ref, ("status_events",))["status_events"]
    except GislibError as exc:
        common.show_error(exc)
        return
    _today_control(plan)
    st.dataframe(
        _summary_table(plan),
        hide_index=True,
        column_config={
            t("户数", "Households"): st.column_config.NumberColumn(format="localized"),
            t("户数能力", "Household capacity"): st.column_config.NumberColumn(format="localized"),
            t("投资估算（亿元）", "Investment (100 M yuan, est.)"): st.column_config.NumberColumn(
                format="%.2f"
            ),
            t("投资能力（亿元）", "Budget (100 M yuan)"): st.column_config.NumberColumn(
                format="%.2f"
            ),
        },
    )
    _violations(plan)
    _edit_form(plan)

    years = list(plan.policy.years)
    year = (
        st.segmented_control(t("查看年度", "Year"), years, default=years[-1], key="plan-year")
        or years[-1]
    )
    tab_plan, tab_actual = st.tabs(
        [t(f"{year}年计划小区", f"{year} plan"), t("计划与实际", "Plan vs actual")]
    )
    with tab_plan:
        st.dataframe(
            _year_table(plan, int(year)),
            hide_index=True,
            column_config={
                t("投资估算（万元）", "Investment (10k yuan)"): st.column_config.NumberColumn(
                    format="%.1f"
                ),
                t("优先级", "Priority"): st.column_config.ProgressColumn(
                    min_value=0, max_value=100, format="%.0f"
                ),
            },
        )
    with tab_actual:
        measure = st.radio(
            t("指标", "Measure"), list(_MEASURES), horizontal=True, key="plan-measure",
            format_func=lambda m: " / ".join(_MEASURES[m][:2]),
        )  # fmt: skip
        compared = _plan_vs_actual(plan, events, int(year), str(measure))
        st.dataframe(
            compared,
            column_config={
                c: st.column_config.NumberColumn(format="localized") for c in compared.columns
            },
        )
        st.caption(
            t("计划：本计划中的小区；实际申报：进度记录中申报该年度的小区；开工、完工按实际申报小区统计。",
              "Planned: this plan; declared: communities declared for the year in the status "
              "history; started and completed count the declared ones.")
        )  # fmt: skip
    _downloads(plan, ref, int(year))
    _frozen(ref, int(year))
    st.caption(
        t("投资为按单位造价的估算，不是预算。", "Investment is an estimate from unit costs.")
    )
