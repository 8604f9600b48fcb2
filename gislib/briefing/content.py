"""The content of the leadership briefing: one model that the PDF and the PPTX both render.

:func:`build_briefing` computes everything once from a workspace (progress from
the status history, the eligibility check, derived works, costs and funding,
the maps and charts as PNG) and returns a :class:`Briefing`: sections of
blocks (:class:`Paragraph`, :class:`KpiGrid`, :class:`Table`,
:class:`Figure`) whose text is final, numbers formatted. The writers
(:mod:`gislib.briefing.pdf`, :mod:`gislib.briefing.slides`) only lay the
blocks out, so the two formats cannot disagree.

Progress follows :mod:`gislib.planning`: as of 31 December of the year, a
community is planned once it reached 申报, started at 施工, completed at
竣工验收. Investment, works outputs and funding are estimates from unit
costs (:mod:`gislib.works`) and say so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gislib.errors import SchemaError
from gislib.i18n import tr
from gislib.schema import COUNTIES, county_code_for

__all__ = [
    "BATCH_COLUMNS",
    "MAX_LIST_ROWS",
    "SECTION_KEYS",
    "STALLED_MONTHS",
    "Block",
    "Briefing",
    "Figure",
    "Kpi",
    "KpiGrid",
    "Paragraph",
    "Section",
    "Table",
    "build_briefing",
    "stalled_communities",
]

logger = logging.getLogger(__name__)

#: A community with no new event for more than this many months (and not yet
#: handed over) is reported as stalled.
STALLED_MONTHS = 12
#: Longest list of communities or batches shown in one risk table; the rest are counted.
MAX_LIST_ROWS = 8
#: Columns expected in the ``batches`` table (one row per EPC batch).
BATCH_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "county",
    "year",
    "communities",
    "households",
    "investment",
    "bounds_ok",
    "violations",
)
#: Keys of the sections of a briefing, in order.
SECTION_KEYS: tuple[str, ...] = ("summary", "map", "progress", "funding", "batches", "risks")

# The thresholds of gislib.planning (planned at 申报, started at 施工, completed at 竣工验收).
_THRESHOLDS: dict[str, str] = {"planned": "申报", "started": "施工", "completed": "竣工验收"}
_LAST_STAGE = "移交"
# Works whose quantities the briefing reports as outputs (codes of the works file).
_WORK_LIFT = "lift"
_WORK_PARKING = "parking"
_WORK_CHARGING = "ev_charging"
_WORK_SERVICES = "community_services"
_METRES_PER_KM = 1000.0
_YUAN_PER_WAN = 10_000.0
_DASH = "—"


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of running text."""

    text: str


@dataclass(frozen=True)
class Kpi:
    """One key figure: a label, the formatted value, its change and a note (e.g. 估算)."""

    label: str
    value: str
    change: str = ""
    note: str = ""


@dataclass(frozen=True)
class KpiGrid:
    """A row (or rows) of key-figure cards under a title."""

    title: str
    items: tuple[Kpi, ...]


@dataclass(frozen=True)
class Table:
    """A table of formatted text; ``numeric`` marks right-aligned columns."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()
    note: str = ""

    def aligned_right(self, column: int) -> bool:
        """Whether a column holds numbers (right-aligned)."""
        return bool(self.numeric[column]) if column < len(self.numeric) else False


@dataclass(frozen=True)
class Figure:
    """A chart or map as PNG bytes, with its size in pixels and its dpi."""

    title: str
    png: bytes
    width_px: int
    height_px: int
    dpi: int
    caption: str = ""

    @property
    def aspect(self) -> float:
        """Height / width."""
        return self.height_px / self.width_px


Block = Paragraph | KpiGrid | Table | Figure


@dataclass(frozen=True)
class Section:
    """A titled section of blocks; ``key`` is one of :data:`SECTION_KEYS`."""

    key: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Briefing:
    """The briefing of one year (and optionally one county), ready to render.

    Attributes
    ----------
    title, subtitle : str
        Cover texts.
    year : int
        Figures are as of 31 December of this year.
    county : str or None
        County code, or None for the whole city.
    lang : {"zh", "en"}
        Language of every text.
    generated : datetime.date
        When it was built.
    synthetic : bool
        Whether the workspace is the synthetic sample.
    footer : str
        Data source, date and the synthetic-data warning, for every page.
    sections : tuple of Section
        In the order of :data:`SECTION_KEYS`.
    """

    title: str
    subtitle: str
    year: int
    county: str | None
    lang: str
    generated: dt.date
    synthetic: bool
    footer: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def section(self, key: str) -> Section:
        """The section with this key.

        Raises
        ------
        KeyError
            No such section.
        """
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def figures(self) -> list[Figure]:
        """Every figure, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]

    def texts(self) -> Iterator[str]:
        """Every text of the briefing (titles, paragraphs, cards, cells), in order."""
        yield from (self.title, self.subtitle, self.footer)
        for section in self.sections:
            yield section.title
            for block in section.blocks:
                if isinstance(block, Paragraph):
                    yield block.text
                elif isinstance(block, KpiGrid):
                    yield block.title
                    for kpi in block.items:
                        yield from (kpi.label, kpi.value, kpi.change, kpi.note)
                elif isinstance(block, Table):
                    yield from (block.title, *block.columns, block.note)
                    for row in block.rows:
                        yield from row
                else:
                    yield from (block.title, block.caption)


# --------------------------------------------------------------------------- inputs, once


@dataclass(frozen=True)
class _Inputs:
    """Everything computed from the workspace, once per briefing."""

    communities: pd.DataFrame  # the checked communities (GeoDataFrame, EPSG:4490)
    ids: pd.Series  # community_id (str), same index
    events: pd.DataFrame
    counties: pd.DataFrame
    urban_areas: pd.DataFrame
    zones: pd.DataFrame
    check: Any  # gislib.eligibility.WorkspaceCheck
    works: pd.DataFrame
    investment: pd.Series  # 元 per community_id
    funding: pd.DataFrame  # split_funding, community level, indexed by community_id
    tables: Mapping[int, pd.DataFrame]  # progress_by_county per year
    status: pd.DataFrame  # status_at(year), indexed by community_id
    status_before: pd.DataFrame  # status_at(year - 1)
    policy: Any
    meta: dict[str, str]
    location: str
    synthetic: bool


def _read_inputs(workspace: Any, *, year: int, policy: Any) -> _Inputs:
    from gislib.eligibility import check_workspace
    from gislib.planning import investment_from_works, progress_by_county, status_at
    from gislib.works import derive_works, split_funding

    check = check_workspace(workspace, policy=policy)
    communities = check.communities
    ids = communities["community_id"].astype(str)
    events = workspace.read("status_events")
    works = derive_works(communities, networks=check.networks, raster=check.raster, policy=policy)
    investment = investment_from_works(works, ids)
    funding = split_funding(works, communities)
    funding.index = pd.Index(funding["community_id"].astype(str).to_numpy(), name="community_id")
    years = range(min(policy.first_year, year) - 1, year + 1)
    tables = {
        y: progress_by_county(communities, events, year=y, investment=investment) for y in years
    }
    info_meta = dict(workspace.meta)
    return _Inputs(
        communities=communities,
        ids=ids,
        events=events,
        counties=workspace.read("counties"),
        urban_areas=workspace.read("urban_areas"),
        zones=workspace.read("expropriation_zones"),
        check=check,
        works=works,
        investment=investment,
        funding=funding,
        tables=tables,
        status=status_at(events, as_of=year),
        status_before=status_at(events, as_of=year - 1),
        policy=policy,
        meta=info_meta,
        location=str(getattr(workspace, "location", "")),
        synthetic=bool(getattr(workspace, "is_synthetic", False)),
    )


def _reached(status: pd.DataFrame, key: str) -> pd.Index:
    """Community ids whose furthest stage is at or after the threshold ``key``."""
    from gislib.planning import stage_rank

    if status.empty:
        return pd.Index([], dtype=object)
    ranks = status["stage"].map(stage_rank)
    return pd.Index(status.index[ranks >= stage_rank(_THRESHOLDS[key])].astype(str))


# --------------------------------------------------------------------------- formatting


def _fmt(value: float | None, measure: str, *, lang: str, signed: bool = False) -> str:
    from gislib.maps import format_measure

    return format_measure(value, measure, lang=lang, signed=signed)


def _count(value: float, unit_zh: str, unit_en: str, *, lang: str, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return _DASH
    sign = "+" if signed and value > 0 else ""
    text = f"{sign}{value:,.0f}"
    return tr(f"{text} {unit_zh}", f"{text} {unit_en}", lang)


def _km(metres: float, *, lang: str, signed: bool = False) -> str:
    km = metres / _METRES_PER_KM
    sign = "+" if signed and km > 0 else ""
    return tr(f"{sign}{km:,.1f} 公里", f"{sign}{km:,.1f} km", lang)


def _wan(yuan: float) -> str:
    return f"{yuan / _YUAN_PER_WAN:,.0f}"


def _num(value: Any) -> float:
    return float(value)


def _pct(share: float) -> str:
    return _DASH if share is None or not np.isfinite(share) else f"{share:.1%}"


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _county_name(code: str, lang: str) -> str:
    if code in COUNTIES:
        zh, en = COUNTIES[code]
        return tr(zh, en, lang)
    return tr("全市", "City", lang) if code == "全市" else str(code)


def _versus(change: str, lang: str) -> str:
    return tr(f"比上年 {change}", f"vs last year {change}", lang)


# --------------------------------------------------------------------------- sections


def _scope_ids(data: _Inputs, county: str | None) -> pd.Index:
    if county is None:
        return pd.Index(data.ids.to_numpy())
    mine = data.communities["county_code"].astype(str) == county
    return pd.Index(data.ids[mine].to_numpy())


def _outputs(data: _Inputs) -> pd.DataFrame:
    """Per community_id: physical outputs of its derived works (estimates)."""
    from gislib.works import Unit

    works = data.works
    cid = works["community_id"].astype(str)
    qty = works["quantity"].astype(float).fillna(0.0)
    code = works["work"].astype(str)
    frame = pd.DataFrame(
        {
            "pipeline_m": qty.where(works["unit"].astype(str) == str(Unit.METRE), 0.0),
            "lifts": qty.where(code == _WORK_LIFT, 0.0),
            "parking_communities": (code == _WORK_PARKING).astype(float),
            "parking_households": qty.where(code == _WORK_PARKING, 0.0),
            "chargers": qty.where(code == _WORK_CHARGING, 0.0),
            "services": qty.where(code == _WORK_SERVICES, 0.0),
        }
    )
    sums = frame.groupby(cid.to_numpy()).sum()
    sums["parking_communities"] = sums["parking_communities"].clip(upper=1.0)
    return sums.reindex(data.ids.to_numpy()).fillna(0.0)


def _summary_section(
    data: _Inputs, *, year: int, county: str | None, lang: str
) -> tuple[Section, dict[str, pd.DataFrame]]:
    from gislib.planning import MEASURES, PROGRESS_STAGES, progress_history

    history = {
        stage: progress_history(
            data.communities,
            data.events,
            years=[year - 1, year],
            stage=stage,
            county=county,
            investment=data.investment,
            tables=data.tables,
        )
        for stage in PROGRESS_STAGES
    }
    now = {s: {k: float(v) for k, v in h.loc[year].to_dict().items()} for s, h in history.items()}
    before = {
        s: {k: float(v) for k, v in h.loc[year - 1].to_dict().items()} for s, h in history.items()
    }
    planned = now["planned"]["communities"]
    start_rate = _ratio(now["started"]["communities"], planned)
    start_rate_before = _ratio(before["started"]["communities"], before["planned"]["communities"])
    done_rate = now["completed"]["completion_rate"]

    def card(stage: str, measure: str, label: str, note: str = "") -> Kpi:
        change = now[stage][measure] - before[stage][measure]
        return Kpi(
            label=label,
            value=_fmt(now[stage][measure], measure, lang=lang),
            change=_versus(_fmt(change, measure, lang=lang, signed=True), lang),
            note=note,
        )

    cards = (
        card("planned", "communities", tr("已列入计划小区", "Communities planned", lang)),
        card(
            "started",
            "communities",
            tr("已开工小区", "Communities started", lang),
            tr(f"开工率 {_pct(start_rate)}", f"start rate {_pct(start_rate)}", lang),
        ),
        card(
            "completed",
            "communities",
            tr("已完工小区", "Communities completed", lang),
            tr(f"完工率 {_pct(done_rate)}", f"completion rate {_pct(done_rate)}", lang),
        ),
        card("completed", "households", tr("已完工惠及户数", "Households (completed)", lang)),
        card(
            "planned",
            "investment",
            tr("计划投资（估算）", "Planned investment (estimate)", lang),
            tr("按单位造价估算", "estimate from unit costs", lang),
        ),
    )
    rate_change = start_rate - start_rate_before
    rates = (
        Kpi(
            label=tr("开工率", "Start rate", lang),
            value=_pct(start_rate),
            change=_versus(_fmt(rate_change, "completion_rate", lang=lang, signed=True), lang),
            note=tr("已开工 / 已列入计划", "started / planned", lang),
        ),
        Kpi(
            label=tr("完工率", "Completion rate", lang),
            value=_pct(done_rate),
            change=_versus(
                _fmt(
                    done_rate - before["completed"]["completion_rate"],
                    "completion_rate",
                    lang=lang,
                    signed=True,
                ),
                lang,
            ),
            note=tr("已完工 / 已列入计划", "completed / planned", lang),
        ),
    )
    # The measures at each threshold, with the change of the completed ones.
    columns = (
        tr("指标", "Measure", lang),
        *(tr(zh, en, lang) for zh, en in PROGRESS_STAGES.values()),
        tr("已完工比上年", "Completed vs last year", lang),
    )
    rows = []
    for measure, (zh, en, _unit) in MEASURES.items():
        label = tr(zh, en, lang) + (tr("（估算）", "", lang) if measure == "investment" else "")
        rows.append(
            (
                label,
                *(_fmt(now[s][measure], measure, lang=lang) for s in PROGRESS_STAGES),
                _fmt(
                    now["completed"][measure] - before["completed"][measure],
                    measure,
                    lang=lang,
                    signed=True,
                ),
            )
        )
    table = Table(
        title=tr(f"截至 {year} 年底累计进度", f"Cumulative progress as of the end of {year}", lang),
        columns=columns,
        rows=tuple(rows),
        numeric=(False, True, True, True, True),
        note=tr(
            "列入计划：已申报；开工：已施工；完工：已竣工验收。投资为按单位造价的估算。",
            "Planned: reached 申报; started: 施工; completed: 竣工验收. Investment is an "
            "estimate from unit costs.",
            lang,
        ),
    )
    # Outputs of the completed communities' derived works (estimates).
    outputs = _outputs(data)
    scope = _scope_ids(data, county)
    done_now = _reached(data.status, "completed").intersection(scope)
    done_before = _reached(data.status_before, "completed").intersection(scope)
    out_now = outputs.loc[outputs.index.intersection(done_now)].sum()
    out_before = outputs.loc[outputs.index.intersection(done_before)].sum()
    delta = out_now - out_before
    estimate = tr("估算", "estimate", lang)

    def out_card(label: str, column: str, fmt: Any) -> Kpi:
        return Kpi(
            label=label,
            value=fmt(out_now[column], signed=False),
            change=_versus(fmt(delta[column], signed=True), lang),
            note=estimate,
        )

    works_cards = (
        out_card(
            tr("管线改造（新建/入地）", "Pipelines laid or buried", lang),
            "pipeline_m",
            lambda v, signed: _km(v, lang=lang, signed=signed),
        ),
        out_card(
            tr("加装电梯", "Lifts added", lang),
            "lifts",
            lambda v, signed: _count(v, "部", "lifts", lang=lang, signed=signed),
        ),
        out_card(
            tr("停车设施整治", "Parking reorganised", lang),
            "parking_households",
            lambda v, signed: _count(v, "户受益", "households", lang=lang, signed=signed),
        ),
        out_card(
            tr("充电设施", "Charging points", lang),
            "chargers",
            lambda v, signed: _count(v, "处", "sites", lang=lang, signed=signed),
        ),
        out_card(
            tr("养老托育等服务设施", "Elderly and child care", lang),
            "services",
            lambda v, signed: _count(v, "处", "centres", lang=lang, signed=signed),
        ),
    )
    where = _county_name(county, lang) if county else tr("全市", "the city", lang)
    n = now
    text = tr(
        f"截至 {year} 年底，{where}累计列入改造计划小区 "
        f"{_fmt(n['planned']['communities'], 'communities', lang=lang)}，已开工 "
        f"{_fmt(n['started']['communities'], 'communities', lang=lang)}（开工率 {_pct(start_rate)}），"
        f"已完工 {_fmt(n['completed']['communities'], 'communities', lang=lang)}（完工率 "
        f"{_pct(done_rate)}），惠及 {_fmt(n['completed']['households'], 'households', lang=lang)}；"
        f"列入计划小区的改造投资估算 {_fmt(n['planned']['investment'], 'investment', lang=lang)}。"
        f"本年新增完工 {_fmt(n['completed']['communities'] - before['completed']['communities'], 'communities', lang=lang)}。",
        f"By the end of {year}, {where} had "
        f"{_fmt(n['planned']['communities'], 'communities', lang=lang)} planned, "
        f"{_fmt(n['started']['communities'], 'communities', lang=lang)} started (start rate "
        f"{_pct(start_rate)}) and {_fmt(n['completed']['communities'], 'communities', lang=lang)} "
        f"completed (completion rate {_pct(done_rate)}), for "
        f"{_fmt(n['completed']['households'], 'households', lang=lang)}; the estimated "
        f"investment of the planned communities is "
        f"{_fmt(n['planned']['investment'], 'investment', lang=lang)}.",
        lang,
    )
    section = Section(
        key="summary",
        title=tr("一、核心指标", "1. Key figures", lang),
        blocks=(
            Paragraph(text),
            KpiGrid(tr("改造进度", "Progress", lang), cards),
            KpiGrid(tr("开工与完工", "Start and completion", lang), rates),
            table,
            KpiGrid(
                tr(
                    "已完工小区改造成效（按改造内容估算）",
                    "Outputs of the completed communities (estimates from their works)",
                    lang,
                ),
                works_cards,
            ),
        ),
    )
    return section, history


def _map_section(
    data: _Inputs, *, year: int, county: str | None, per_county_maps: bool, lang: str, font: Any
) -> Section:
    from gislib.briefing import maps

    status = data.status["status"]
    blocks: list[Block] = []
    if county is None:
        done = data.tables[year][("completed", "communities")]
        blocks.append(
            maps.city_map(
                data.counties, data.communities, status, done, year=year, lang=lang, font=font
            )
        )
    wanted = [county] if county else (list(COUNTIES) if per_county_maps else [])
    for code in wanted:
        blocks.append(
            maps.county_map(
                data.counties,
                data.urban_areas,
                data.zones,
                data.communities,
                status,
                county=code,
                year=year,
                lang=lang,
                font=font,
            )
        )
    blocks.append(
        Paragraph(
            tr(
                "图中小区按截至年底的状态着色；底图为区县边界，不使用在线瓦片。",
                "Communities are coloured by their status at the year's end; the base is the "
                "county boundaries, no online tiles.",
                lang,
            )
        )
    )
    return Section(
        key="map", title=tr("二、进度地图", "2. Progress map", lang), blocks=tuple(blocks)
    )


def _progress_section(
    data: _Inputs, *, year: int, county: str | None, lang: str, font: Any
) -> Section:
    from gislib.briefing import charts

    years = list(range(data.policy.first_year, year + 1))
    rows_codes = [county] if county else [*COUNTIES, "全市"]
    table_now = data.tables[year]
    table_before = data.tables[year - 1]

    def cell(table: pd.DataFrame, code: str, stage: str, measure: str = "communities") -> float:
        return _num(table.loc[code, (stage, measure)])

    rows = []
    for code in rows_codes:
        planned = cell(table_now, code, "planned")
        started = cell(table_now, code, "started")
        done = cell(table_now, code, "completed")
        new_done = done - cell(table_before, code, "completed")
        rows.append(
            (
                _county_name(code, lang),
                _fmt(planned, "communities", lang=lang),
                _fmt(started, "communities", lang=lang),
                _pct(_ratio(started, planned)),
                _fmt(done, "communities", lang=lang),
                _pct(_ratio(done, planned)),
                _fmt(new_done, "communities", lang=lang, signed=True),
                _fmt(cell(table_now, code, "planned", "investment"), "investment", lang=lang),
            )
        )
    plan_table = Table(
        title=tr(
            f"{year} 年底各区县计划与完成情况（累计）",
            f"Plan and completion by county, end of {year} (cumulative)",
            lang,
        ),
        columns=(
            tr("区县", "County", lang),
            tr("列入计划", "Planned", lang),
            tr("已开工", "Started", lang),
            tr("开工率", "Start rate", lang),
            tr("已完工", "Completed", lang),
            tr("完工率", "Completion", lang),
            tr("本年新增完工", "Completed this year", lang),
            tr("计划投资（估算）", "Investment (est.)", lang),
        ),
        rows=tuple(rows),
        numeric=(False, *([True] * 7)),
    )
    by_year_rows = []
    for code in rows_codes:
        by_year_rows.append(
            (
                _county_name(code, lang),
                *(
                    _fmt(cell(data.tables[y], code, "completed"), "communities", lang=lang)
                    for y in years
                ),
            )
        )
    year_table = Table(
        title=tr(
            "各区县逐年累计完工小区", "Completed communities by county and year (cumulative)", lang
        ),
        columns=(tr("区县", "County", lang), *(str(y) for y in years)),
        rows=tuple(by_year_rows),
        numeric=(False, *([True] * len(years))),
    )
    # Plan versus actual each year: communities newly planned, started and completed.
    row = county or "全市"
    annual = pd.DataFrame(
        {
            stage: [
                cell(data.tables[y], row, stage) - cell(data.tables[y - 1], row, stage)
                for y in years
            ]
            for stage in _THRESHOLDS
        },
        index=years,
    )
    blocks: list[Block] = [
        plan_table,
        charts.annual_chart(annual, lang=lang, font=font, where=_county_name(row, lang)),
        year_table,
    ]
    if county is None:
        frame = pd.DataFrame(
            {stage: [cell(table_now, c, stage) for c in COUNTIES] for stage in _THRESHOLDS},
            index=[_county_name(c, lang) for c in COUNTIES],
        )
        blocks.append(charts.county_chart(frame, year=year, lang=lang, font=font))
    return Section(
        key="progress",
        title=tr("三、分区县、分年度进度", "3. Progress by county and year", lang),
        blocks=tuple(blocks),
    )


def _funding_section(
    data: _Inputs, *, year: int, county: str | None, lang: str, font: Any
) -> Section:
    from gislib.briefing import charts
    from gislib.works import FUNDING_SOURCES

    planned = _reached(data.status, "planned").intersection(_scope_ids(data, county))
    funding = data.funding.loc[data.funding.index.intersection(planned)]
    county_of = pd.Series(
        data.communities["county_code"].astype(str).to_numpy(), index=data.ids.to_numpy()
    )
    sources = [str(s) for s in FUNDING_SOURCES]
    by_county = (
        funding[sources].groupby(county_of.reindex(funding.index).to_numpy()).sum()
        if len(funding)
        else pd.DataFrame(columns=sources, dtype=float)
    )
    codes = [county] if county else list(COUNTIES)
    by_county = by_county.reindex(codes).fillna(0.0)
    rows = []
    for code in codes:
        values = {k: float(v) for k, v in by_county.loc[code].to_dict().items()}
        rows.append(
            (
                _county_name(code, lang),
                *(_wan(values[s]) for s in sources),
                _wan(sum(values.values())),
            )
        )
    if county is None:
        city_total = by_county.sum()
        rows.append(
            (
                tr("全市", "City", lang),
                *(_wan(city_total[s]) for s in sources),
                _wan(city_total.sum()),
            )
        )
    table = Table(
        title=tr(
            f"列入计划小区改造资金来源（估算，万元，截至 {year} 年底）",
            f"Funding of the planned communities by source (estimate, 10k yuan, end of {year})",
            lang,
        ),
        columns=(
            tr("区县", "County", lang),
            *(tr(zh, en, lang) for zh, en in FUNDING_SOURCES.values()),
            tr("合计", "Total", lang),
        ),
        rows=tuple(rows),
        numeric=(False, *([True] * (len(sources) + 1))),
        note=tr(
            "按方案第七部分的出资规则，将按单位造价估算的改造费用分摊到五类资金来源；为估算，"
            "不是预算。",
            "The unit-cost estimate split over the plan's five funding sources (section 七); an "
            "estimate, not a budget.",
            lang,
        ),
    )
    total = float(by_county.to_numpy().sum())
    fiscal = float(by_county["fiscal"].sum()) if "fiscal" in by_county else 0.0
    text = tr(
        f"列入计划的 {len(planned):,} 个小区改造投资估算 {_fmt(total, 'investment', lang=lang)}，"
        f"其中财政预算安排 {_fmt(fiscal, 'investment', lang=lang)}（{_pct(_ratio(fiscal, total))}）。",
        f"The {len(planned):,} planned communities need an estimated "
        f"{_fmt(total, 'investment', lang=lang)}, of which the fiscal budget "
        f"{_fmt(fiscal, 'investment', lang=lang)} ({_pct(_ratio(fiscal, total))}).",
        lang,
    )
    labels = [tr(zh, en, lang) for zh, en in FUNDING_SOURCES.values()]
    chart_frame = by_county[sources] / _YUAN_PER_WAN
    chart_frame.columns = labels
    chart_frame.index = [_county_name(c, lang) for c in codes]
    return Section(
        key="funding",
        title=tr("四、资金筹措", "4. Funding", lang),
        blocks=(
            Paragraph(text),
            table,
            charts.funding_chart(chart_frame, lang=lang, font=font),
        ),
    )


def _check_batches(batches: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in BATCH_COLUMNS if c not in batches.columns]
    if missing:
        raise SchemaError(
            f"EPC 批次表缺少列 {missing}，需要：{list(BATCH_COLUMNS)} / the batches table lacks "
            f"columns {missing}; expected {list(BATCH_COLUMNS)}"
        )
    out = batches.copy()
    out["county"] = [county_code_for(str(v)) or str(v) for v in out["county"]]
    out["year"] = pd.to_numeric(out["year"], errors="coerce")
    return out


def _violations(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return "；".join(str(v) for v in value)
    return str(value)


def _batch_section(
    batches: pd.DataFrame | None, *, year: int, county: str | None, lang: str
) -> tuple[Section, pd.DataFrame | None]:
    title = tr("五、EPC 工程总承包打包批次", "5. EPC contract batches", lang)
    if batches is None:
        text = tr(
            "未提供 EPC 打包批次数据，本节从略。",
            "No EPC batches were given; this section is left out.",
            lang,
        )
        return Section(key="batches", title=title, blocks=(Paragraph(text),)), None
    frame = _check_batches(batches)
    mine = frame.loc[frame["year"] == year]
    if county:
        mine = mine.loc[mine["county"] == county]
    mine = mine.sort_values(["county", "batch_id"], kind="stable")
    value = float(pd.to_numeric(mine["investment"], errors="coerce").fillna(0.0).sum())
    members = float(pd.to_numeric(mine["communities"], errors="coerce").fillna(0.0).sum())
    homes = float(pd.to_numeric(mine["households"], errors="coerce").fillna(0.0).sum())
    broken = int((~mine["bounds_ok"].astype(bool)).sum())
    cards = (
        Kpi(tr("批次数", "Batches", lang), _count(len(mine), "批", "batches", lang=lang)),
        Kpi(
            tr("批次合同估算额", "Batch value", lang),
            _fmt(value, "investment", lang=lang),
            note=tr("估算", "estimate", lang),
        ),
        Kpi(tr("涉及小区", "Communities", lang), _fmt(members, "communities", lang=lang)),
        Kpi(tr("涉及户数", "Households", lang), _fmt(homes, "households", lang=lang)),
        Kpi(
            tr("超出约束的批次", "Batches breaking a bound", lang),
            _count(broken, "批", "batches", lang=lang),
        ),
    )
    yes, no = tr("是", "yes", lang), tr("否", "no", lang)
    rows = tuple(
        (
            str(r.batch_id),
            _county_name(str(r.county), lang),
            _fmt(_num(r.communities), "communities", lang=lang),
            _fmt(_num(r.households), "households", lang=lang),
            _fmt(_num(r.investment), "investment", lang=lang),
            yes if bool(r.bounds_ok) else no,
        )
        for r in mine.itertuples(index=False)
    )
    blocks: list[Block] = [KpiGrid(tr(f"{year} 年批次概况", f"Batches of {year}", lang), cards)]
    if rows:
        blocks.append(
            Table(
                title=tr(f"{year} 年 EPC 批次清单", f"EPC batches of {year}", lang),
                columns=(
                    tr("批次", "Batch", lang),
                    tr("区县", "County", lang),
                    tr("小区", "Communities", lang),
                    tr("户数", "Households", lang),
                    tr("估算额", "Value", lang),
                    tr("满足约束", "Within bounds", lang),
                ),
                rows=rows,
                numeric=(False, False, True, True, True, False),
            )
        )
    else:
        blocks.append(Paragraph(tr(f"{year} 年没有 EPC 批次。", f"No EPC batch in {year}.", lang)))
    return Section(key="batches", title=title, blocks=tuple(blocks)), mine


def stalled_communities(
    events: pd.DataFrame, *, as_of: dt.date, months: int = STALLED_MONTHS
) -> pd.DataFrame:
    """Communities in the programme with no new event for more than ``months`` by ``as_of``.

    A community that reached the last stage (移交, handed over) is finished,
    never stalled.

    Parameters
    ----------
    events : DataFrame
        The ``status_events`` table.
    as_of : datetime.date
        The date the stall is measured at; later events are ignored.
    months : int
        Longest quiet time, in months.

    Returns
    -------
    DataFrame
        Indexed by community_id: ``stage`` (furthest reached), ``date`` (its
        latest event) and ``months`` (whole months since), longest first.

    Examples
    --------
    >>> stalled_communities(events, as_of=dt.date(2024, 12, 31))  # doctest: +SKIP
    """
    from gislib.planning import status_at

    status = status_at(events, as_of=as_of)
    if status.empty:
        return pd.DataFrame({"stage": [], "date": [], "months": []})
    dates = pd.to_datetime(events["date"])
    upto = events.loc[dates <= pd.Timestamp(as_of)]
    latest = pd.to_datetime(upto["date"]).groupby(upto["community_id"].astype(str)).max()
    status = status.assign(date=latest.reindex(status.index.astype(str)).to_numpy())
    cutoff = pd.Timestamp(as_of) - pd.DateOffset(months=months)
    quiet = status.loc[(status["stage"] != _LAST_STAGE) & (status["date"] < cutoff)]
    end = pd.Timestamp(as_of)
    spans = [
        (end.year - d.year) * 12 + end.month - d.month - (1 if end.day < d.day else 0)
        for d in quiet["date"]
    ]
    out = quiet[["stage", "date"]].assign(months=spans)
    return out.sort_values(["months", "date"], ascending=[False, True], kind="stable")


def _more(total: int, shown: int, lang: str) -> str:
    return (
        tr(f"另有 {total - shown} 个未列出。", f"{total - shown} more not listed.", lang)
        if (total > shown)
        else ""
    )


def _risk_list(
    head: str,
    columns: tuple[str, ...],
    rows: list[tuple[str, ...]],
    *,
    numeric: tuple[bool, ...],
    total: int,
    lang: str,
) -> Block:
    """The listed rows (at most :data:`MAX_LIST_ROWS` of ``total``) under ``head``.

    Without rows, ``head`` alone as a sentence; otherwise a table noting how
    many of the ``total`` are not listed.
    """
    if not rows:
        return Paragraph(head + tr("。", ".", lang))
    return Table(
        title=head,
        columns=columns,
        rows=tuple(rows),
        numeric=numeric,
        note=_more(total, len(rows), lang),
    )


def _risk_section(
    data: _Inputs,
    batches: pd.DataFrame | None,
    *,
    year: int,
    county: str | None,
    stalled_months: int,
    as_of: dt.date,
    lang: str,
) -> Section:
    from gislib.planning import STATUS_LABELS, Status

    scope = _scope_ids(data, county)
    summary = data.check.result.summary
    sid = summary["community_id"].astype(str)
    summary = summary.loc[sid.isin(scope).to_numpy()]
    names = pd.Series(data.communities["name"].astype(str).to_numpy(), index=data.ids.to_numpy())
    county_of = pd.Series(
        data.communities["county_code"].astype(str).to_numpy(), index=data.ids.to_numpy()
    )
    status = data.status["status"].reindex(scope).fillna(str(Status.NONE))

    def status_text(cid: str) -> str:
        zh, en = STATUS_LABELS.get(str(status.get(cid, Status.NONE)), ("", ""))
        return tr(zh, en, lang)

    # The first two columns of every list of communities: its name and county.
    who_columns = (tr("小区", "Community", lang), tr("区县", "County", lang))

    def who(cid: str) -> tuple[str, str]:
        return str(names.get(cid, cid)), _county_name(str(county_of.get(cid, "")), lang)

    blocks: list[Block] = []
    # 1. Refused: counts by failing rule.
    rules = data.check.result.rules
    rules = rules.loc[rules["community_id"].astype(str).isin(scope)]
    counts = pd.crosstab(rules["rule_id"], rules["outcome"]).reindex(
        columns=["fail", "review"], fill_value=0
    )
    refused = int((summary["verdict"] == "ineligible").sum())
    rule_rows = []
    for rule in data.policy.rules.all():
        if rule.id in counts.index:
            fail, review = (int(counts.loc[rule.id, c]) for c in ("fail", "review"))
            if fail or review:
                rule_rows.append(
                    (f"{tr(rule.zh, rule.en, lang)}（{rule.section}）", f"{fail:,}", f"{review:,}")
                )
    blocks.append(
        Table(
            title=tr(
                f"资格审查：不符合条件的小区 {refused:,} 个，按未通过的规则统计",
                f"Eligibility: {refused:,} communities refused, by failing rule",
                lang,
            ),
            columns=(
                tr("规则（方案章节）", "Rule (plan section)", lang),
                tr("不通过", "Fail", lang),
                tr("需复核", "Review", lang),
            ),
            rows=tuple(rule_rows),
            numeric=(False, True, True),
            note=tr(
                "一个小区可能同时未通过多条规则。",
                "A community may fail several rules.",
                lang,
            ),
        )
    )
    # 2. Expropriation conflicts: communities in the programme that overlap a zone.
    in_programme = data.status.index.astype(str).intersection(scope)
    overlap = summary.loc[summary["expropriation_share"].astype(float) > 0]
    conflict = overlap.loc[overlap["community_id"].astype(str).isin(in_programme)]
    conflict = conflict.sort_values("expropriation_share", ascending=False, kind="stable")
    exp_fail = len(overlap.loc[overlap["failed_rules"].map(lambda r: "expropriation" in r)])
    head = tr(
        f"征迁冲突：{len(conflict):,} 个已纳入改造的小区与规划征迁范围重叠；另有 {exp_fail:,} 个小区因"
        "征迁未通过审查",
        f"Expropriation: {len(conflict):,} communities in the programme overlap a planned "
        f"expropriation zone; {exp_fail:,} communities were refused for it",
        lang,
    )
    blocks.append(
        _risk_list(
            head,
            (
                *who_columns,
                tr("状态", "Status", lang),
                tr("征迁范围", "Zone", lang),
                tr("重叠", "Overlap", lang),
            ),
            [
                (
                    *who(str(r.community_id)),
                    status_text(str(r.community_id)),
                    str(r.expropriation_zones),
                    _pct(float(r.expropriation_share)),
                )
                for r in conflict.head(MAX_LIST_ROWS).itertuples(index=False)
            ],
            numeric=(False, False, False, False, True),
            total=len(conflict),
            lang=lang,
        )
    )
    # 3. Waterlogging hot spots.
    raster = data.check.raster
    threshold = float(data.policy.deficiencies.waterlogging_depth_m)
    if raster is not None and "waterlogging_mean_m" in raster:
        wet = pd.DataFrame(
            {
                "mean": raster["waterlogging_mean_m"].astype(float).to_numpy(),
                "max": raster.get("waterlogging_max_m", raster["waterlogging_mean_m"])
                .astype(float)
                .to_numpy(),
            },
            index=data.ids.to_numpy(),
        )
        wet = wet.loc[wet.index.isin(scope) & (wet["mean"] > threshold)]
        wet = wet.sort_values(["mean", "max"], ascending=False, kind="stable")
        head = tr(
            f"内涝积水点：{len(wet):,} 个小区平均积水深度超过 {threshold:.2f} m",
            f"Waterlogging: {len(wet):,} communities with a mean depth over {threshold:.2f} m",
            lang,
        )
        shown_w = wet.head(MAX_LIST_ROWS)
        blocks.append(
            _risk_list(
                head,
                (
                    *who_columns,
                    tr("状态", "Status", lang),
                    tr("平均积水(m)", "Mean (m)", lang),
                    tr("最大积水(m)", "Max (m)", lang),
                ),
                [
                    (
                        *who(cid),
                        status_text(cid),
                        f"{row['mean']:.2f}",
                        f"{row['max']:.2f}",
                    )
                    for cid, row in zip(
                        shown_w.index.astype(str), shown_w.to_dict("records"), strict=True
                    )
                ],
                numeric=(False, False, False, True, True),
                total=len(wet),
                lang=lang,
            )
        )
    else:
        blocks.append(
            Paragraph(
                tr(
                    "工作区没有内涝积水栅格，未评估积水点。",
                    "The workspace has no waterlogging raster: hot spots not assessed.",
                    lang,
                )
            )
        )
    # 4. Batches that break a bound.
    if batches is None:
        blocks.append(
            Paragraph(
                tr(
                    "EPC 批次：未提供批次数据，未检查约束。",
                    "EPC batches: none given, bounds not checked.",
                    lang,
                )
            )
        )
    else:
        bad = batches.loc[~batches["bounds_ok"].astype(bool)]
        head = tr(
            f"EPC 批次：{len(bad):,} 个批次超出约束",
            f"EPC batches: {len(bad):,} break a bound",
            lang,
        )
        blocks.append(
            _risk_list(
                head,
                (
                    tr("批次", "Batch", lang),
                    tr("区县", "County", lang),
                    tr("问题", "Violations", lang),
                ),
                [
                    (
                        str(r.batch_id),
                        _county_name(str(r.county), lang),
                        _violations(r.violations) or _DASH,
                    )
                    for r in bad.head(MAX_LIST_ROWS).itertuples(index=False)
                ],
                numeric=(False, False, False),
                total=len(bad),
                lang=lang,
            )
        )
    # 5. Stalled communities.
    stalled = stalled_communities(data.events, as_of=as_of, months=stalled_months)
    stalled = stalled.loc[stalled.index.astype(str).isin(scope)]
    head = tr(
        f"进度停滞：{len(stalled):,} 个小区超过 {stalled_months} 个月没有新的进度记录",
        f"Stalled: {len(stalled):,} communities without a new event for over "
        f"{stalled_months} months",
        lang,
    )
    blocks.append(
        _risk_list(
            head,
            (
                *who_columns,
                tr("所处阶段", "Stage", lang),
                tr("最近记录", "Last event", lang),
                tr("停滞月数", "Months", lang),
            ),
            [
                (
                    *who(str(cid)),
                    str(r["stage"]),
                    f"{pd.Timestamp(r['date']):%Y-%m-%d}",
                    f"{int(r['months']):,}",
                )
                for cid, r in stalled.head(MAX_LIST_ROWS).iterrows()
            ],
            numeric=(False, False, False, False, True),
            total=len(stalled),
            lang=lang,
        )
    )
    return Section(
        key="risks",
        title=tr("六、风险与待决事项", "6. Risks and decisions needed", lang),
        blocks=tuple(blocks),
    )


def _footer(data: _Inputs, *, generated: dt.date, lang: str) -> str:
    title = data.meta.get("title") or Path(data.location).name or _DASH
    source = tr(
        f"数据来源：{title}（{Path(data.location).name}）",
        f"Data: {title} ({Path(data.location).name})",
        lang,
    )
    when = tr(f"生成日期：{generated:%Y-%m-%d}", f"Generated {generated:%Y-%m-%d}", lang)
    if data.synthetic:
        kind = tr(
            "样例数据：除区县边界外均为虚构的合成数据，不得作为阳江市真实数据引用",
            "SAMPLE DATA: synthetic except the county boundaries; not real Yangjiang data",
            lang,
        )
    else:
        kind = tr("工作区数据", "workspace data", lang)
    return "；".join((source, when, kind)) if lang == "zh" else "; ".join((source, when, kind))


def _resolve_county(county: str | None) -> str | None:
    if county is None:
        return None
    code = county_code_for(county)
    if code is None:
        raise SchemaError(
            f"未知的区县 {county!r}，可用：{'、'.join(z for z, _ in COUNTIES.values())} 或其代码 / "
            f"unknown county {county!r}; use one of {list(COUNTIES)}"
        )
    return code


def build_briefing(
    workspace: Any,
    *,
    year: int,
    county: str | None = None,
    batches: pd.DataFrame | None = None,
    per_county_maps: bool = False,
    lang: str = "zh",
    stalled_months: int = STALLED_MONTHS,
    policy: Any = None,
    today: dt.date | None = None,
) -> Briefing:
    """Build the leadership briefing of a year (and optionally one county).

    Parameters
    ----------
    workspace : Workspace
        An open workspace (:func:`gislib.store.open_workspace`); layers in
        EPSG:4490, maps drawn in EPSG:4546 (metres).
    year : int
        A plan year; figures are as of its 31 December, changes against the
        year before.
    county : str, optional
        A county code or name; default the whole city.
    batches : DataFrame, optional
        EPC batches, one row per batch with :data:`BATCH_COLUMNS`
        (``investment`` in 元, ``bounds_ok`` bool, ``violations`` text or a
        list); without it the batch section says none were given.
    per_county_maps : bool
        Add one map per county after the city map.
    lang : {"zh", "en"}
        Language of the texts.
    stalled_months : int
        A community without a new event for longer is reported as stalled.
    policy : Policy, optional
        Default :func:`gislib.policy.load_policy`.
    today : datetime.date, optional
        The generation date (default today); stalls are measured at the
        year's end, or today when that is earlier.

    Returns
    -------
    Briefing

    Raises
    ------
    ConfigError
        No Chinese font (:func:`gislib.briefing.fonts.cjk_font`).
    SchemaError
        A year outside the plan, an unknown county, or a batches table
        without the expected columns.

    Examples
    --------
    >>> briefing = build_briefing(open_workspace(path), year=2023)  # doctest: +SKIP
    >>> write_pdf(briefing, "brief-2023.pdf")  # doctest: +SKIP
    """
    from gislib.briefing.fonts import cjk_font
    from gislib.planning import year_end
    from gislib.policy import load_policy

    tr("", "", lang)  # validates lang
    font = cjk_font()
    policy = policy if policy is not None else load_policy()
    if int(year) not in policy.years:
        raise SchemaError(
            f"年度 {year} 不在规划年度 {policy.first_year}-{policy.last_year} 内 / year {year} "
            f"is outside the plan years {policy.first_year}-{policy.last_year}"
        )
    year = int(year)
    code = _resolve_county(county)
    if batches is not None:
        batches = _check_batches(batches)
    generated = today if today is not None else dt.date.today()
    data = _read_inputs(workspace, year=year, policy=policy)
    as_of = min(year_end(year), generated)
    summary, _history = _summary_section(data, year=year, county=code, lang=lang)
    batch_section, year_batches = _batch_section(batches, year=year, county=code, lang=lang)
    sections = (
        summary,
        _map_section(
            data, year=year, county=code, per_county_maps=per_county_maps, lang=lang, font=font
        ),
        _progress_section(data, year=year, county=code, lang=lang, font=font),
        _funding_section(data, year=year, county=code, lang=lang, font=font),
        batch_section,
        _risk_section(
            data,
            year_batches,
            year=year,
            county=code,
            stalled_months=stalled_months,
            as_of=as_of,
            lang=lang,
        ),
    )
    where = _county_name(code, lang) if code else tr("全市", "City-wide", lang)
    city = tr("阳江市", "Yangjiang", lang)
    logger.info("built the %d briefing for %s", year, where)
    return Briefing(
        title=tr(
            f"{city}城镇老旧小区改造工作进展简报（{year} 年）",
            f"{city} old-community renovation: progress briefing {year}",
            lang,
        ),
        subtitle=tr(
            f"{where} · 截至 {year} 年 12 月 31 日 · 报送：领导小组",
            f"{where} · as of 31 December {year} · for the leading group",
            lang,
        ),
        year=year,
        county=code,
        lang=lang,
        generated=generated,
        synthetic=data.synthetic,
        footer=_footer(data, generated=generated, lang=lang),
        sections=sections,
    )
