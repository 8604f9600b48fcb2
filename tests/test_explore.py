"""Tests of gislib.explore: the explorer's table of communities, its filters and search."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gislib.errors import SchemaError
from gislib.explore import (
    EXPLORER_COLUMNS,
    UNCHECKED,
    CommunityFilter,
    community_table,
    filter_communities,
    filter_mask,
    street_options,
    year_span,
)
from gislib.planning import Status
from gislib.schema import STAGE_NAMES_EN

COMMUNITIES = pd.DataFrame(
    {
        "community_id": ["441702-0001", "441702-0002", "441781-0001", "441721-0001"],
        "name": ["荔枝园公租房小区", "新华路3号大院", "春城龙湾小区", "ＡＢ公租房"],
        "county_code": ["441702", "441702", "441781", "441721"],
        "street": ["南恩街道", "城南街道", "春城街道", None],
        "build_year": [1992, 2003, 1988, None],
        "households": [120, 60, 80, 30],
    },
    index=[10, 11, 12, 13],
)
EVENTS = pd.DataFrame(
    {
        "community_id": ["441702-0001", "441702-0001", "441781-0001"],
        "year": [2021, 2021, 2022],
        "stage": ["申报", "施工", "摸查"],
        "date": pd.to_datetime(["2021-01-10", "2021-05-01", "2021-10-01"]),
    }
)
VERDICTS = pd.DataFrame(
    {
        "community_id": ["441702-0001", "441702-0002", "441781-0001"],
        "verdict": ["eligible", "ineligible", "conditional"],
    }
)


@pytest.fixture
def table() -> pd.DataFrame:
    return community_table(
        COMMUNITIES, events=EVENTS, verdicts=VERDICTS, as_of=dt.date(2021, 12, 31)
    )


def test_the_table_has_one_row_per_community_with_status_and_verdict(table: pd.DataFrame) -> None:
    assert list(table.columns) == list(EXPLORER_COLUMNS)
    assert table.index.tolist() == [10, 11, 12, 13]  # the input index is kept
    assert table["county"].tolist() == ["江城区", "江城区", "阳春市", "阳西县"]
    assert table["status"].tolist() == ["在建", Status.NONE, "储备", Status.NONE]
    assert table["stage"].tolist() == ["施工", "", "摸查", ""]
    assert table["plan_year"].tolist()[0] == 2021
    assert pd.isna(table["plan_year"].iloc[1])
    assert table["verdict"].tolist() == ["eligible", "ineligible", "conditional", UNCHECKED]
    assert table["build_year"].dtype == "Int64"


def test_status_is_as_of_the_date_asked(table: pd.DataFrame) -> None:
    early = community_table(COMMUNITIES, events=EVENTS, as_of=2020)
    assert set(early["status"]) == {Status.NONE}
    assert set(early["verdict"]) == {UNCHECKED}
    mid = community_table(COMMUNITIES, events=EVENTS, as_of=dt.date(2021, 3, 1))
    assert mid.loc[10, "stage"] == "申报"


def test_each_filter_narrows_and_an_empty_filter_keeps_all(table: pd.DataFrame) -> None:
    assert len(filter_communities(table, CommunityFilter())) == 4
    assert not CommunityFilter().active
    assert filter_communities(table, CommunityFilter(counties=("441702",))).index.tolist() == [
        10,
        11,
    ]
    assert filter_communities(table, CommunityFilter(streets=("春城街道",))).index.tolist() == [12]
    assert filter_communities(
        table, CommunityFilter(statuses=(str(Status.NONE),))
    ).index.tolist() == [11, 13]
    assert filter_communities(
        table, CommunityFilter(verdicts=("eligible", UNCHECKED))
    ).index.tolist() == [10, 13]
    # A year range leaves out communities without a build year.
    assert filter_communities(table, CommunityFilter(build_years=(1985, 1995))).index.tolist() == [
        10,
        12,
    ]
    both = CommunityFilter(counties=("441702",), verdicts=("ineligible",))
    assert both.active
    assert filter_communities(table, both).index.tolist() == [11]


def test_text_search_matches_name_or_id_ignoring_case_width_and_word_order(
    table: pd.DataFrame,
) -> None:
    def ids(text: str) -> list[int]:
        return filter_mask(table, CommunityFilter(text=text)).loc[lambda s: s].index.tolist()

    assert ids("公租房") == [10, 13]
    assert ids("ab") == [13]  # full-width ＡＢ
    assert ids("441781") == [12]
    assert ids("  小区   荔枝园 ") == [10]
    assert ids("不存在") == []
    assert ids("(") == []  # not a regular expression


def test_a_reversed_year_range_or_a_foreign_table_is_refused(table: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="颠倒"):
        filter_mask(table, CommunityFilter(build_years=(2000, 1990)))
    with pytest.raises(SchemaError, match="verdict"):
        filter_mask(table.drop(columns="verdict"), CommunityFilter())
    with pytest.raises(SchemaError, match="county_code"):
        community_table(COMMUNITIES.drop(columns="county_code"), events=EVENTS)


def test_street_options_and_year_span(table: pd.DataFrame) -> None:
    assert street_options(table) == sorted(["南恩街道", "城南街道", "春城街道"])
    assert street_options(table, counties=["441781"]) == ["春城街道"]
    assert street_options(table, counties=["441721"]) == []
    assert year_span(table) == (1988, 2003)
    assert year_span(table.iloc[[3]]) is None


def test_a_community_table_without_optional_columns_still_works() -> None:
    bare = COMMUNITIES[["community_id", "name", "county_code"]]
    table = community_table(bare, events=EVENTS.iloc[:0], as_of=2021)
    assert table["street"].isna().all() and table["build_year"].isna().all()
    assert year_span(table) is None
    assert len(filter_communities(table, CommunityFilter(text="公租房"))) == 2


# ---------------------------------------------------------------------------
# The tables as a page shows them


def test_values_read_as_a_planner_writes_them() -> None:
    from gislib.explore import value_text
    from gislib.schema import LAYERS

    field = LAYERS["communities"].field
    assert value_text(field("build_year"), 1993) == "1993"  # never "1,993"
    assert value_text(field("households"), pd.NA) == "—"
    assert value_text(field("willingness"), 0.853) == "85%"
    assert value_text(field("floor_area_m2"), 10200.5) == "10,200.5 m²"
    assert value_text(field("has_lift"), False) == "否"
    assert value_text(field("has_lift"), True, lang="en") == "yes"
    assert value_text(field("county_code"), "441781") == "阳春市（441781）"
    assert value_text(field("county_code"), "441781", lang="en") == "Yangchun City (441781)"
    assert value_text(field("name"), "<b>x</b>") == "<b>x</b>"  # escaping is the page's job


def test_the_listing_labels_columns_and_values_in_the_users_language(table: pd.DataFrame) -> None:
    from gislib.explore import listing

    zh = listing(table)
    assert zh.columns.tolist() == [
        "编号", "名称", "区县", "街道", "建成年份", "户数", "状态", "阶段", "计划年度", "审查结论",
    ]  # fmt: skip
    assert zh.index.tolist() == table.index.tolist()
    assert zh["状态"].tolist()[0] == "在建"
    assert zh["审查结论"].tolist() == ["符合", "不符合", "有条件", "未审查"]
    en = listing(table, lang="en")
    assert en["County"].tolist()[2] == "Yangchun City"
    assert en["Status"].tolist()[0] == "under construction"
    assert en["Verdict"].tolist()[3] == "not checked"
    assert en["Stage"].tolist()[0] == "construction"  # status under construction
    assert set(en["Stage"].dropna()) <= {*STAGE_NAMES_EN.values(), ""}


def test_detail_tables_of_one_community() -> None:
    from gislib.explore import attribute_rows, history_rows, stage_label
    from gislib.planning import status_history

    attributes = attribute_rows(COMMUNITIES.iloc[0].to_dict())
    values = dict(zip(attributes["字段"], attributes["值"], strict=True))
    assert values["小区名称"] == "荔枝园公租房小区"
    assert values["建成年份"] == "1992"
    assert values["有无电梯"] == "—"  # not in the record
    assert "版本" not in values  # a system field
    assert stage_label("移交") == "后期管养 · 移交"

    rows = history_rows(status_history(EVENTS, "441702-0001", as_of=2021))
    assert rows.columns.tolist() == ["阶段", "日期", "计划年度", "填报人", "备注", "当前"]
    assert rows["阶段"].tolist() == ["项目前期 · 申报", "项目实施 · 施工"]
    assert rows["当前"].tolist() == ["", "◀"]
    english = history_rows(status_history(EVENTS, "441702-0001", as_of=2021), lang="en")
    assert english["Stage"].tolist() == [
        "preparation · declared",
        "implementation · construction",
    ]


def test_works_distances_and_reasons_as_listed() -> None:
    from gislib.explore import distance_rows, reason_rows, works_rows

    works = pd.DataFrame(
        {
            "work_zh": ["加装电梯", "延伸燃气主管"],
            "work_en": ["lift", "gas main"],
            "category": ["improvement", "basic"],
            "quantity": [2.0, np.nan],
            "unit": ["lift", "m"],
            "cost": [560000.4, np.nan],
            "reason_zh": ["无电梯", "无燃气主管"],
            "reason_en": ["no lift", "no gas main"],
        }
    )
    listed = works_rows(works)
    assert listed["数量"].tolist() == ["2 部", "—"]
    assert listed["类别"].tolist() == ["完善类", "基础类"]
    assert listed["估算 (元)"].tolist()[0] == 560000.0
    assert works_rows(works, lang="en")["Quantity"].tolist()[0] == "2 lift"

    mains = pd.DataFrame(
        {
            "network_zh": ["供水", "燃气"],
            "network_en": ["water supply", "gas"],
            "pipe_id": ["P1", ""],
            "distance_m": [12.4, np.nan],
            "within_reach": [True, False],
        }
    )
    distances = distance_rows(mains)
    assert distances["最近主管"].tolist() == ["P1", "—"]
    assert distances["服务半径内"].tolist() == ["是", "否"]
    assert distances["距离 (m)"].tolist()[0] == 12.0

    reasons = pd.DataFrame(
        {
            "rule_zh": ["建成年份"],
            "rule_en": ["year built"],
            "outcome": ["fail"],
            "reason_zh": ["建成于 2008 年"],
            "reason_en": ["built in 2008"],
        }
    )
    assert reason_rows(reasons).values.tolist() == [["建成年份", "不通过", "建成于 2008 年"]]
    assert reason_rows(reasons, lang="en").columns.tolist() == ["Rule", "Outcome", "Reason"]
