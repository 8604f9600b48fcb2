"""Finding communities: one row per community with its status and verdict, filters and search.

The community explorer (the app's 小区 page, a notebook) looks at the
communities through one table, :func:`community_table`: the attributes a
planner scans (county, street, build year, households), the status as of a
date derived from the append-only status history
(:func:`gislib.planning.status_at`), and the eligibility verdict
(:func:`gislib.eligibility.check_workspace`). :class:`CommunityFilter` holds
what the user asked for (counties, streets, statuses, verdicts, a build-year
range, a text search on name and id) and :func:`filter_communities` applies
it; results keep the input index, so rows line up with the communities and
the network analysis.

The last part of the module gives the tables a page shows (the list, one
community's attributes, rule rows, nearest mains, works, timeline, audit
rows) with labelled columns and values in the user's language, so pages only
lay them out.

No geometry is touched here: the tables are plain attributes.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gislib.edits import SHARE_UNIT
from gislib.errors import SchemaError
from gislib.i18n import DEFAULT_LANG, tr
from gislib.planning import STAGE_PHASES, STATUS_LABELS, Status, status_at
from gislib.schema import COUNTIES, STAGE_NAMES_EN, Field, layer_schema

__all__ = [
    "EXPLORER_COLUMNS",
    "UNCHECKED",
    "VERDICT_SHORT",
    "CommunityFilter",
    "attribute_rows",
    "audit_rows",
    "community_table",
    "distance_rows",
    "filter_communities",
    "filter_mask",
    "history_rows",
    "listing",
    "reason_rows",
    "stage_label",
    "street_options",
    "value_text",
    "works_rows",
    "year_span",
]

logger = logging.getLogger(__name__)

#: Verdict of a community the eligibility check has no row for.
UNCHECKED = "unchecked"

#: Columns of :func:`community_table`, in order.
EXPLORER_COLUMNS: tuple[str, ...] = (
    "community_id",
    "name",
    "county_code",
    "county",
    "street",
    "build_year",
    "households",
    "status",
    "stage",
    "plan_year",
    "status_date",
    "verdict",
)

_REQUIRED = ("community_id", "name", "county_code")


def community_table(
    communities: pd.DataFrame,
    *,
    events: pd.DataFrame,
    verdicts: pd.DataFrame | None = None,
    as_of: dt.date | int | None = None,
) -> pd.DataFrame:
    """One row per community: what the explorer lists, filters and searches.

    Parameters
    ----------
    communities : DataFrame
        The ``communities`` layer (``community_id``, ``name``,
        ``county_code``; ``street``, ``build_year`` and ``households`` when
        present). Geometry, if any, is not copied.
    events : DataFrame
        The ``status_events`` table.
    verdicts : DataFrame, optional
        :attr:`gislib.eligibility.EligibilityResult.summary` (``community_id``,
        ``verdict``), matched on ``community_id``.
    as_of : date or int, optional
        Status as of this date (or 31 December of this year); default today.

    Returns
    -------
    DataFrame
        Columns :data:`EXPLORER_COLUMNS`, the index of ``communities``:
        ``county`` the county's Chinese name; ``status`` a
        :class:`gislib.planning.Status` value (:attr:`~gislib.planning.Status.NONE`
        without events by then), ``stage`` the furthest stage reached
        (``""`` if none), ``plan_year`` (Int64) and ``status_date``
        (Timestamp) of that event; ``verdict`` eligible / conditional /
        ineligible, or :data:`UNCHECKED`.

    Raises
    ------
    SchemaError
        A required column is missing, or an event has an unknown stage.

    Examples
    --------
    >>> table = community_table(ws.read("communities"), events=ws.read("status_events"),
    ...                         verdicts=check.result.summary)  # doctest: +SKIP
    >>> table["status"].value_counts()  # doctest: +SKIP
    """
    missing = [c for c in _REQUIRED if c not in communities.columns]
    if missing:
        raise SchemaError(f"communities 缺少字段 {missing} / the communities lack {missing}")
    ids = communities["community_id"].astype("string")
    codes = communities["county_code"].astype("string")
    out = pd.DataFrame(
        {
            "community_id": ids,
            "name": communities["name"].astype("string"),
            "county_code": codes,
            "county": codes.map(lambda c: COUNTIES[c][0] if c in COUNTIES else c).astype("string"),
        },
        index=communities.index,
    )
    if "street" in communities.columns:
        out["street"] = communities["street"].astype("string")
    else:
        out["street"] = pd.Series(pd.NA, index=out.index, dtype="string")
    for column in ("build_year", "households"):
        if column in communities.columns:
            numbers = pd.to_numeric(communities[column], errors="coerce").round()
            out[column] = numbers.astype("Int64")
        else:
            out[column] = pd.Series(pd.NA, index=out.index, dtype="Int64")

    status = status_at(events, as_of=as_of if as_of is not None else dt.date.today())
    status.index = status.index.astype(str)
    joined = status.reindex(ids.to_numpy())
    out["status"] = pd.Series(
        joined["status"].fillna(str(Status.NONE)).to_numpy(), index=out.index, dtype="string"
    )
    out["stage"] = pd.Series(joined["stage"].fillna("").to_numpy(), index=out.index, dtype="string")
    out["plan_year"] = pd.Series(joined["plan_year"].to_numpy(), index=out.index, dtype="Int64")
    out["status_date"] = pd.Series(
        pd.to_datetime(joined["date"]).to_numpy(), index=out.index, dtype="datetime64[ns]"
    )

    verdict = pd.Series(UNCHECKED, index=out.index, dtype="string")
    if verdicts is not None:
        if not {"community_id", "verdict"} <= set(verdicts.columns):
            raise SchemaError(
                "审查结果缺少 community_id 或 verdict / the verdicts lack community_id or verdict"
            )
        pairs = pd.DataFrame(
            {
                "community_id": verdicts["community_id"].astype(str).to_numpy(),
                "verdict": verdicts["verdict"].astype(str).to_numpy(),
            }
        )
        lookup = pairs.drop_duplicates(subset="community_id").set_index("community_id")["verdict"]
        found = lookup.reindex(ids.to_numpy()).to_numpy()
        verdict = pd.Series(found, index=out.index, dtype="string").fillna(UNCHECKED)
    out["verdict"] = verdict
    return out[list(EXPLORER_COLUMNS)]


def _normalise(text: str) -> str:
    """Text for matching: full-width forms folded (ＡＢ１ -> AB1), case-folded, trimmed."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


@dataclass(frozen=True)
class CommunityFilter:
    """What the user asked to see; an empty criterion keeps every community.

    Parameters
    ----------
    counties : tuple of str
        County codes.
    streets : tuple of str
        Street names (as in the ``street`` column).
    statuses : tuple of str
        :class:`gislib.planning.Status` values.
    verdicts : tuple of str
        Verdicts (``eligible``, ``conditional``, ``ineligible``, ``unchecked``).
    build_years : tuple of int, optional
        ``(first, last)`` inclusive; communities without a build year are
        left out when a range is given.
    text : str
        Words that must all appear in the name or the id (case and
        full-width insensitive).

    Examples
    --------
    >>> CommunityFilter(counties=("441702",), text="公租房").active
    True
    """

    counties: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()
    build_years: tuple[int, int] | None = None
    text: str = ""

    @property
    def active(self) -> bool:
        """Whether any criterion is set."""
        return bool(
            self.counties
            or self.streets
            or self.statuses
            or self.verdicts
            or self.build_years is not None
            or self.text.strip()
        )


def _in(column: pd.Series, wanted: Iterable[str]) -> np.ndarray:
    return column.astype("string").isin([str(w) for w in wanted]).fillna(False).to_numpy(dtype=bool)


def filter_mask(table: pd.DataFrame, flt: CommunityFilter) -> pd.Series:
    """Which rows of a :func:`community_table` the filter keeps.

    Parameters
    ----------
    table : DataFrame
        From :func:`community_table`.
    flt : CommunityFilter

    Returns
    -------
    Series of bool
        Same index as ``table``.

    Raises
    ------
    SchemaError
        ``table`` lacks a column the filter needs, or the year range is
        reversed.
    """
    missing = [c for c in EXPLORER_COLUMNS if c not in table.columns]
    if missing:
        raise SchemaError(f"社区表缺少字段 {missing} / the table lacks columns {missing}")
    keep = np.ones(len(table), dtype=bool)
    if flt.counties:
        keep &= _in(table["county_code"], flt.counties)
    if flt.streets:
        keep &= _in(table["street"], flt.streets)
    if flt.statuses:
        keep &= _in(table["status"], flt.statuses)
    if flt.verdicts:
        keep &= _in(table["verdict"], flt.verdicts)
    if flt.build_years is not None:
        first, last = (int(y) for y in flt.build_years)
        if first > last:
            raise SchemaError(
                f"建成年份范围 {first}-{last} 颠倒了，请先填较早的年份 / the build-year range "
                f"{first}-{last} is reversed"
            )
        years = table["build_year"].astype("Float64")
        keep &= ((years >= first) & (years <= last)).fillna(False).to_numpy(dtype=bool)
    words = _normalise(flt.text).split()
    if words:
        haystack = (
            table["name"].astype("string").fillna("")
            + "\n"
            + table["community_id"].astype("string").fillna("")
        ).map(_normalise)
        for word in words:
            keep &= haystack.str.contains(word, regex=False).fillna(False).to_numpy(dtype=bool)
    return pd.Series(keep, index=table.index)


def filter_communities(table: pd.DataFrame, flt: CommunityFilter) -> pd.DataFrame:
    """The rows of a :func:`community_table` the filter keeps (index kept, order kept).

    Examples
    --------
    >>> shown = filter_communities(table, CommunityFilter(statuses=("在建",)))  # doctest: +SKIP
    """
    return table.loc[filter_mask(table, flt)]


def street_options(table: pd.DataFrame, *, counties: Sequence[str] = ()) -> list[str]:
    """The streets present, sorted, optionally only those of some counties.

    Parameters
    ----------
    table : DataFrame
        From :func:`community_table` (``street``, ``county_code``).
    counties : sequence of str
        County codes; empty for all.

    Returns
    -------
    list of str
        Distinct non-empty street names in Chinese collation order of their
        code points (stable across runs).
    """
    rows = table if not counties else table.loc[_in(table["county_code"], counties)]
    streets = rows["street"].astype("string").dropna().str.strip()
    return sorted({s for s in streets if s})


def year_span(table: pd.DataFrame) -> tuple[int, int] | None:
    """The earliest and latest build year in the table, or ``None`` when there is none."""
    years = pd.to_numeric(table["build_year"], errors="coerce").dropna()
    if years.empty:
        return None
    return (int(years.min()), int(years.max()))


# ---------------------------------------------------------------------------
# The tables as a page shows them: labelled columns and values in the user's language

_MISSING = "—"
_YES_NO: tuple[tuple[str, str], tuple[str, str]] = (("是", "yes"), ("否", "no"))
#: Short verdict labels for tables and filters: verdict -> (Chinese, English).
VERDICT_SHORT: dict[str, tuple[str, str]] = {
    "eligible": ("符合", "eligible"),
    "conditional": ("有条件", "conditional"),
    "ineligible": ("不符合", "ineligible"),
    UNCHECKED: ("未审查", "not checked"),
}


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def stage_label(stage: str, lang: str = DEFAULT_LANG) -> str:
    """A stage with its phase, as the plan writes it: ``"项目实施 · 施工"``.

    Examples
    --------
    >>> stage_label("施工")
    '项目实施 · 施工'
    >>> stage_label("施工", "en")
    'implementation · construction'
    """
    phase = STAGE_PHASES.get(stage)
    if lang != "zh":
        name = STAGE_NAMES_EN.get(stage, stage)
        return f"{STAGE_NAMES_EN.get(phase, phase)} · {name}" if phase else name
    return f"{phase} · {stage}" if phase else stage


def value_text(field: Field, value: Any, *, lang: str = DEFAULT_LANG) -> str:
    """One attribute as a planner reads it.

    Flags as 是/否, shares as percentages, areas with their unit and thousands
    separators, county codes with the county's name, years and counts as
    plain integers (never "1,993"), missing values as a dash.

    Examples
    --------
    >>> from gislib.schema import LAYERS
    >>> value_text(LAYERS["communities"].field("willingness"), 0.853)
    '85%'
    >>> value_text(LAYERS["communities"].field("county_code"), "441702", lang="en")
    'Jiangcheng District (441702)'
    """
    if _missing(value):
        return _MISSING
    if field.type == "bool":
        return _pick(_YES_NO[0] if value else _YES_NO[1], lang)
    if field.name == "county_code":
        code = str(value)
        if code not in COUNTIES:
            return code
        name = _pick(COUNTIES[code], lang)
        return tr(f"{name}（{code}）", f"{name} ({code})", lang)
    if field.unit == SHARE_UNIT:
        return f"{float(value):.0%}"
    if field.type == "float":
        unit = " m²" if field.unit == "m2" else f" {field.unit}" if field.unit else ""
        return f"{float(value):,.1f}{unit}"
    if field.type == "int":
        return str(int(value))
    return str(value)


def _label(zh: str, en: str, lang: str) -> str:
    return tr(zh, en, lang)


def _pick(pair: tuple[str, str], lang: str) -> str:
    return tr(str(pair[0]), str(pair[1]), lang)


def listing(table: pd.DataFrame, *, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """The explorer's list: a :func:`community_table` with labelled columns.

    Parameters
    ----------
    table : DataFrame
        From :func:`community_table` (or filtered from it).
    lang : {"zh", "en"}
        Language of the headers and labels (ids, names and streets stay as
        stored).

    Returns
    -------
    DataFrame
        Columns 编号, 名称, 区县, 街道, 建成年份, 户数, 状态, 阶段, 计划年度,
        审查结论 (or their English); same index and order as ``table``.
    """
    statuses = table["status"].astype(str)
    return pd.DataFrame(
        {
            _label("编号", "Id", lang): table["community_id"],
            _label("名称", "Name", lang): table["name"],
            _label("区县", "County", lang): table["county_code"].map(
                lambda c: _pick(COUNTIES[c], lang) if c in COUNTIES else c
            ),
            _label("街道", "Street", lang): table["street"],
            _label("建成年份", "Built", lang): table["build_year"],
            _label("户数", "Households", lang): table["households"],
            _label("状态", "Status", lang): statuses
            if lang == "zh"
            else statuses.map(lambda s: STATUS_LABELS.get(s, (s, s))[1]),
            _label("阶段", "Stage", lang): table["stage"]
            if lang == "zh"
            else table["stage"].map(lambda s: STAGE_NAMES_EN.get(s, s)),
            _label("计划年度", "Plan year", lang): table["plan_year"],
            _label("审查结论", "Verdict", lang): table["verdict"].map(
                lambda v: _pick(VERDICT_SHORT.get(v, (v, v)), lang)
            ),
        },
        index=table.index,
    )


def attribute_rows(
    record: Mapping[str, Any], *, layer: str = "communities", lang: str = DEFAULT_LANG
) -> pd.DataFrame:
    """One record's attributes, one row per schema field (system fields left out).

    Returns
    -------
    DataFrame
        Columns 字段 / 值 (Field / Value): the field's label and
        :func:`value_text` of its value.
    """
    fields = [f for f in layer_schema(layer).fields if not f.system]
    return pd.DataFrame(
        {
            _label("字段", "Field", lang): [tr(f.zh, f.en, lang) for f in fields],
            _label("值", "Value", lang): [
                value_text(f, record.get(f.name), lang=lang) for f in fields
            ],
        }
    )


def reason_rows(reasons: pd.DataFrame, *, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """The eligibility rule rows of one community (:meth:`EligibilityResult.reasons`).

    Returns
    -------
    DataFrame
        Columns 规则, 结果, 理由 (Rule, Outcome, Reason).
    """
    from gislib.eligibility import OUTCOME_LABELS

    suffix = "en" if lang == "en" else "zh"
    return pd.DataFrame(
        {
            _label("规则", "Rule", lang): reasons[f"rule_{suffix}"].to_numpy(),
            _label("结果", "Outcome", lang): [
                _pick(OUTCOME_LABELS.get(o, (o, o)), lang) for o in reasons["outcome"]
            ],
            _label("理由", "Reason", lang): reasons[f"reason_{suffix}"].to_numpy(),
        }
    )


def distance_rows(mains: pd.DataFrame, *, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """The nearest existing main of each network (:func:`gislib.maps.nearest_mains`).

    Returns
    -------
    DataFrame
        Columns 管网, 最近主管, 距离 (m), 服务半径内: distances in metres
        (EPSG:4546) rounded to the metre, NaN when the network has no main.
    """
    suffix = "en" if lang == "en" else "zh"
    return pd.DataFrame(
        {
            _label("管网", "Network", lang): mains[f"network_{suffix}"].to_numpy(),
            _label("最近主管", "Main", lang): mains["pipe_id"].replace("", _MISSING).to_numpy(),
            _label("距离 (m)", "Distance (m)", lang): mains["distance_m"].round(0).to_numpy(),
            _label("服务半径内", "Within reach", lang): [
                _pick(_YES_NO[0] if w else _YES_NO[1], lang) for w in mains["within_reach"]
            ],
        }
    )


def works_rows(works: pd.DataFrame, *, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """The works of a community (:func:`gislib.works.derive_works`) as listed on a page.

    Returns
    -------
    DataFrame
        Columns 改造内容, 类别, 数量 (with its unit), 估算 (元), 依据: the cost
        is an estimate from unit costs, rounded to the yuan (NaN when unpriced).
    """
    from gislib.works import CATEGORIES, UNITS

    suffix = "en" if lang == "en" else "zh"
    quantity = [
        _MISSING
        if _missing(q)
        else f"{float(q):,.2f}".rstrip("0").rstrip(".") + " " + _pick(UNITS.get(u, (u, u)), lang)
        for q, u in zip(works["quantity"], works["unit"], strict=True)
    ]
    return pd.DataFrame(
        {
            _label("改造内容", "Work", lang): works[f"work_{suffix}"].to_numpy(),
            _label("类别", "Category", lang): [
                _pick(CATEGORIES.get(c, (c, c)), lang) for c in works["category"]
            ],
            _label("数量", "Quantity", lang): quantity,
            _label("估算 (元)", "Estimate (yuan)", lang): works["cost"].round(0).to_numpy(),
            _label("依据", "Reason", lang): works[f"reason_{suffix}"].to_numpy(),
        }
    )


def history_rows(history: pd.DataFrame, *, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """A community's timeline (:func:`gislib.planning.status_history`) as listed on a page.

    Returns
    -------
    DataFrame
        Columns 阶段 (phase · stage), 日期, 计划年度, 填报人, 备注, 当前 (``"◀"``
        on the event that gives the current status).
    """
    return pd.DataFrame(
        {
            _label("阶段", "Stage", lang): [stage_label(s, lang) for s in history["stage"]],
            _label("日期", "Date", lang): history["date"].to_numpy(),
            _label("计划年度", "Plan year", lang): history["year"].to_numpy(),
            _label("填报人", "User", lang): history["user"].to_numpy(),
            _label("备注", "Note", lang): history["note"].to_numpy(),
            _label("当前", "Current", lang): ["◀" if c else "" for c in history["current"]],
        }
    )


def audit_rows(audit: pd.DataFrame, *, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """:func:`gislib.edits.describe_audit` rows with labelled columns (the id left out)."""
    return audit.drop(columns="audit_id").rename(
        columns={
            "time": _label("时间", "Time", lang),
            "user": _label("填报人", "User", lang),
            "action": _label("操作", "Action", lang),
            "changes": _label("内容", "Changes", lang),
            "note": _label("说明", "Note", lang),
        }
    )
