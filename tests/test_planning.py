"""Tests of gislib.planning: status as of any date from the append-only events, progress."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from gislib.errors import SchemaError
from gislib.planning import Status, progress_by_county, progress_table, stage_rank, status_at


def events(*rows: tuple[str, int, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"community_id": c, "year": y, "stage": s, "date": pd.Timestamp(d)} for c, y, s, d in rows]
    )


HISTORY = events(
    ("A", 2021, "摸查", "2020-09-01"),
    ("A", 2021, "申报", "2021-01-10"),
    ("A", 2021, "施工", "2021-05-01"),
    ("A", 2021, "竣工验收", "2021-11-30"),
    ("A", 2021, "移交", "2022-02-01"),
    ("B", 2022, "摸查", "2021-10-01"),
    ("B", 2022, "申报", "2022-01-20"),
    ("B", 2022, "施工", "2022-06-01"),
    ("C", 2023, "摸查", "2022-12-01"),
)
COMMUNITIES = pd.DataFrame(
    {
        "community_id": ["A", "B", "C", "D"],
        "county_code": ["441702", "441702", "441781", "441704"],
        "households": [100, 40, 60, 10],
        "buildings": [4, 2, 3, 1],
        "floor_area_m2": [8500.0, 3400.0, 5100.0, 900.0],
    }
)


def test_status_is_the_furthest_stage_reached_by_the_date() -> None:
    end_2021 = status_at(HISTORY, as_of=2021)
    assert end_2021["status"].to_dict() == {"A": Status.COMPLETED, "B": Status.RESERVE}
    end_2022 = status_at(HISTORY, as_of=2022)
    assert end_2022["status"].to_dict() == {
        "A": Status.HANDED_OVER, "B": Status.BUILDING, "C": Status.RESERVE,
    }  # fmt: skip
    assert end_2022.loc["B", "stage"] == "施工" and end_2022.loc["B", "plan_year"] == 2022
    assert status_at(HISTORY, as_of=dt.date(2021, 5, 31)).loc["A", "stage"] == "施工"
    assert status_at(HISTORY, as_of=2019).empty


def test_an_event_recorded_out_of_order_does_not_move_status_back() -> None:
    late = pd.concat([HISTORY, events(("A", 2021, "设计", "2021-12-15"))], ignore_index=True)
    assert status_at(late, as_of=2021).loc["A", "stage"] == "竣工验收"


def test_unknown_stage_is_refused_naming_it() -> None:
    with pytest.raises(SchemaError, match="开工典礼"):
        status_at(events(("A", 2021, "开工典礼", "2021-03-01")), as_of=2021)
    with pytest.raises(SchemaError):
        stage_rank("开工典礼")
    assert stage_rank("摸查") == 0 and stage_rank("移交") == 16


def test_progress_counts_planned_started_completed_by_county_with_the_city_total() -> None:
    table = progress_by_county(COMMUNITIES, HISTORY, year=2022)
    assert table.loc["441702", ("planned", "communities")] == 2
    assert table.loc["441702", ("started", "households")] == 140
    assert table.loc["441702", ("completed", "floor_area_m2")] == 8500.0
    assert table.loc["441781", ("planned", "communities")] == 0  # C is only surveyed
    assert table.loc["全市", ("started", "buildings")] == 6
    assert list(table.index) == ["441702", "441704", "441721", "441781", "全市"]


def test_progress_table_is_cumulative_by_year_end_with_county_names() -> None:
    table = progress_table(
        COMMUNITIES, HISTORY, years=[2021, 2022], measure="communities", stage="started"
    )
    assert table.loc["江城区"].tolist() == [1, 2]
    assert table.loc["全市"].tolist() == [1, 2]
    with pytest.raises(SchemaError):
        progress_table(COMMUNITIES, HISTORY, years=[2021], measure="colour")


def test_investment_is_summed_when_given() -> None:
    invest = pd.Series({"A": 1_000_000.0, "B": 500_000.0})
    table = progress_by_county(COMMUNITIES, HISTORY, year=2022, investment=invest)
    assert table.loc["441702", ("started", "investment")] == 1_500_000.0
