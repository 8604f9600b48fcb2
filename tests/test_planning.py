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


# ---------------------------------------------------------------------------
# One community's timeline, and checking a new event


def test_history_lists_one_community_in_stage_order_then_date_with_the_current_event() -> None:
    from gislib.planning import HISTORY_COLUMNS, status_history

    shuffled = HISTORY.iloc[::-1].assign(event_id=[f"E{i}" for i in range(len(HISTORY))])
    history = status_history(shuffled, "A", as_of=dt.date(2021, 12, 31))
    assert list(history.columns) == list(HISTORY_COLUMNS)
    assert history["stage"].tolist() == ["摸查", "申报", "施工", "竣工验收", "移交"]
    assert history["phase"].tolist() == ["项目前期", "项目前期", "项目实施", "项目实施", "后期管养"]
    assert history["status"].tolist()[-2:] == ["完工", "移交"]
    # As of the end of 2021 the hand-over (2022) has not happened: 竣工验收 is current.
    assert history["current"].tolist() == [False, False, False, True, False]
    assert history["year"].tolist() == [2021] * 5
    assert status_history(HISTORY, "A")["current"].tolist()[-1]  # as of today
    assert status_history(HISTORY, "D").empty


def test_history_sorts_a_late_correction_by_its_stage_and_keeps_the_furthest_current() -> None:
    from gislib.planning import status_history

    late = pd.concat([HISTORY, events(("A", 2021, "设计", "2021-12-15"))], ignore_index=True)
    history = status_history(late, "A", as_of=2021)
    assert history["stage"].tolist()[:4] == ["摸查", "申报", "设计", "施工"]
    assert history.loc[history["current"], "stage"].tolist() == ["竣工验收"]


def test_a_step_forward_passes_and_is_not_a_correction() -> None:
    from gislib.planning import check_status_event

    today = dt.date(2023, 1, 1)
    ok = check_status_event(
        HISTORY, "B", stage="竣工验收", date=dt.date(2022, 11, 1), year=2022, today=today
    )
    assert ok is False
    assert not check_status_event(HISTORY, "D", stage="摸查", date=today, year=2023, today=today)


def test_a_step_backwards_needs_a_note_naming_the_stage_reached() -> None:
    from gislib.planning import check_status_event

    today = dt.date(2023, 1, 1)
    with pytest.raises(SchemaError, match=r"施工.*2022-06-01.*备注") as info:
        check_status_event(HISTORY, "B", stage="设计", date=today, year=2022, today=today)
    assert "append-only" in str(info.value)
    with pytest.raises(SchemaError, match="重复"):
        check_status_event(HISTORY, "B", stage="施工", date=today, year=2022, today=today)
    assert check_status_event(
        HISTORY, "B", stage="设计", date=today, year=2022, note="更正：施工误录", today=today
    )


def test_an_event_dated_before_the_latest_needs_a_note() -> None:
    from gislib.planning import check_status_event

    today = dt.date(2023, 1, 1)
    with pytest.raises(SchemaError, match="2022-06-01"):
        check_status_event(
            HISTORY, "B", stage="竣工验收", date=dt.date(2022, 3, 1), year=2022, today=today
        )
    assert check_status_event(
        HISTORY, "B", stage="竣工验收", date=dt.date(2022, 3, 1), year=2022,
        note="补录", today=today,
    )  # fmt: skip


def test_future_dates_years_outside_the_plan_and_unknown_stages_are_refused() -> None:
    from gislib.planning import check_status_event

    today = dt.date(2023, 1, 1)
    with pytest.raises(SchemaError, match="晚于今天"):
        check_status_event(HISTORY, "C", stage="评估", date=dt.date(2023, 2, 1), year=2023,
                           today=today)  # fmt: skip
    with pytest.raises(SchemaError, match="2021-2025"):
        check_status_event(HISTORY, "C", stage="评估", date=today, year=2030,
                           plan_years=range(2021, 2026), today=today)  # fmt: skip
    with pytest.raises(SchemaError, match="开工典礼"):
        check_status_event(HISTORY, "C", stage="开工典礼", date=today, year=2023, today=today)


# ---------------------------------------------------------------------------
# Key figures of the overview, and the investment table


def test_kpis_count_the_chosen_stage_with_the_change_against_the_year_before() -> None:
    from gislib.planning import KPI_NAMES, progress_kpis

    kpis = progress_kpis(COMMUNITIES, HISTORY, year=2022, stage="started")
    assert list(kpis.index) == list(KPI_NAMES)
    # End of 2022: A and B started (140 households); end of 2021: only A (100).
    assert kpis.loc["communities"].tolist() == [2.0, 1.0, 1.0]
    assert kpis.loc["households"].tolist() == [140.0, 100.0, 40.0]
    assert kpis.loc["floor_area_m2", "change"] == 3400.0
    assert kpis.loc["investment"].isna().all()
    # Completion rate = completed / planned communities: 1/2 in 2022, 1/1 in 2021.
    assert kpis.loc["completion_rate"].tolist() == [0.5, 1.0, -0.5]


def test_kpis_of_one_county_and_with_investment() -> None:
    from gislib.planning import progress_kpis

    invest = pd.Series({"A": 1_000_000.0, "B": 500_000.0, "C": 9.0})
    kpis = progress_kpis(COMMUNITIES, HISTORY, year=2022, county="441702", investment=invest)
    assert kpis.loc["investment", "value"] == 1_000_000.0  # completed: A only
    assert kpis.loc["communities", "value"] == 1.0
    none_planned = progress_kpis(COMMUNITIES, HISTORY, year=2022, county="441781")
    assert none_planned.loc["communities", "value"] == 0.0
    assert pd.isna(none_planned.loc["completion_rate", "value"])
    with pytest.raises(SchemaError, match="999999"):
        progress_kpis(COMMUNITIES, HISTORY, year=2022, county="999999")
    with pytest.raises(SchemaError, match="halfway"):
        progress_kpis(COMMUNITIES, HISTORY, year=2022, stage="halfway")


def test_progress_table_sums_investment_only_when_it_is_given() -> None:
    invest = pd.Series({"A": 1_000_000.0, "B": 500_000.0})
    table = progress_table(
        COMMUNITIES, HISTORY, years=[2021, 2022], measure="investment", stage="planned",
        investment=invest,
    )  # fmt: skip
    assert table.loc["江城区"].tolist() == [1_000_000.0, 1_500_000.0]
    with pytest.raises(SchemaError, match="investment"):
        progress_table(COMMUNITIES, HISTORY, years=[2021], measure="investment")


def test_history_has_one_row_per_year_and_reuses_tables_given() -> None:
    from gislib.planning import KPI_NAMES, progress_history

    history = progress_history(COMMUNITIES, HISTORY, years=[2020, 2021, 2022], stage="planned")
    assert list(history.columns) == list(KPI_NAMES)
    assert history["communities"].tolist() == [0.0, 1.0, 2.0]
    assert history.loc[2022, "households"] == 140.0
    assert pd.isna(history.loc[2020, "completion_rate"])  # nothing planned yet
    tables = {y: progress_by_county(COMMUNITIES, HISTORY, year=y) for y in (2020, 2021, 2022)}
    fake = {**tables, 2022: tables[2021]}  # a table given is used as it is
    reused = progress_history(
        COMMUNITIES, HISTORY, years=[2020, 2021, 2022], stage="planned", tables=fake
    )
    assert reused["communities"].tolist() == [0.0, 1.0, 1.0]


def test_progress_by_street_lists_every_street_of_the_county_with_its_total() -> None:
    from gislib.planning import NO_STREET, progress_by_street

    communities = COMMUNITIES.assign(street=["南恩街道", None, "春城街道", "东城镇"])
    table = progress_by_street(
        communities, HISTORY, county="441702", years=[2021, 2022], measure="households",
        stage="planned",
    )  # fmt: skip
    assert table.index.tolist() == ["南恩街道", NO_STREET, "江城区"]
    assert table.loc["南恩街道"].tolist() == [100.0, 100.0]
    assert table.loc[NO_STREET].tolist() == [0.0, 40.0]
    assert table.loc["江城区"].tolist() == [100.0, 140.0]
    with pytest.raises(SchemaError, match="999999"):
        progress_by_street(communities, HISTORY, county="999999", years=[2021])
    with pytest.raises(SchemaError, match="street"):
        progress_by_street(COMMUNITIES, HISTORY, county="441702", years=[2021])


def test_investment_estimate_prices_every_community_of_the_workspace(tiny_workspace) -> None:
    from gislib.planning import investment_estimate
    from gislib.store import open_workspace

    estimate = investment_estimate(open_workspace(tiny_workspace))
    assert estimate.name == "investment"
    assert estimate.index.tolist() == ["C1", "C2", "C3"]
    assert (estimate > 0).all()
