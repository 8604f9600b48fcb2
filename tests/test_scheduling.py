"""Tests of gislib.scheduling: the annual plan, its rules, plan vs actual, survey, snapshots."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gislib.errors import SchemaError
from gislib.policy import Capacity, Policy, load_policy
from gislib.scheduling import (
    RULE_LABELS,
    SOURCE_LABELS,
    SURVEY_SHEETS,
    AnnualPlan,
    check_plan,
    declared_years,
    drop,
    freeze_year,
    load_frozen,
    move,
    pin,
    plan_vs_actual,
    priority_scores,
    propose_plan,
    restore,
    survey_workbook,
)
from gislib.store import open_workspace

# ---------------------------------------------------------------------------
# Hand-built cases


def policy(
    *,
    pilots: Sequence[str] = (),
    task: int = 0,
    capacity: Capacity | None = None,
    weights: dict[str, float] | None = None,
) -> Policy:
    base = load_policy()
    planning = dataclasses.replace(
        base.planning,
        pilots=tuple(pilots),
        first_year_task=task,
        capacity=capacity or Capacity(),
        priority_weights=weights or dict(base.planning.priority_weights),
    )
    return dataclasses.replace(base, planning=planning)


def communities(n: int, **columns: Sequence[Any]) -> pd.DataFrame:
    """n communities C01.. in Jiangcheng, eligible, built 1990, 100 households each."""
    ids = [f"C{i:02d}" for i in range(1, n + 1)]
    frame = pd.DataFrame(
        {
            "community_id": ids,
            "name": [f"小区{i}" for i in range(1, n + 1)],
            "county_code": ["441702"] * n,
            "build_year": [1990] * n,
            "buildings": [2] * n,
            "households": [100] * n,
            "floor_area_m2": [5000.0] * n,
            "willingness": [0.9] * n,
            "deficiency_count": [1] * n,
            "verdict": ["eligible"] * n,
            "investment": [1_000_000.0] * n,
        }
    )
    for key, values in columns.items():
        frame[key] = list(values)
    return frame


def events(rows: Sequence[tuple[str, int, str, str]]) -> pd.DataFrame:
    """Status events from (community_id, plan year, stage, ISO date)."""
    return pd.DataFrame(
        {
            "event_id": [f"E{i}" for i in range(len(rows))],
            "community_id": [r[0] for r in rows],
            "year": [r[1] for r in rows],
            "stage": [r[2] for r in rows],
            "date": pd.to_datetime([r[3] for r in rows]),
            "user": ["测试"] * len(rows),
            "note": [""] * len(rows),
        }
    )


def rules(plan: AnnualPlan) -> list[str]:
    return [v.rule for v in plan.violations]


def test_labels_cover_every_source_and_rule() -> None:
    from typing import get_args

    from gislib.scheduling import PlanRule, PlanSource

    assert set(get_args(PlanSource)) == set(SOURCE_LABELS)
    assert set(get_args(PlanRule)) == set(RULE_LABELS)


def test_pilots_are_fixed_in_the_first_year_by_name_or_id() -> None:
    frame = communities(6, name=["荔枝园", "神农街", "小区3", "小区4", "小区5", "小区6"])
    plan = propose_plan(frame, policy=policy(pilots=["荔枝园", "C02"], task=1))
    entries = plan.entries.set_index("community_id")
    assert entries.loc["C01", ["year", "source"]].tolist() == [2021, "pilot"]
    assert entries.loc["C02", ["year", "source"]].tolist() == [2021, "pilot"]
    assert bool(entries.loc["C01", "locked"])
    assert plan.ok, plan.violations


def test_a_pilot_declared_for_a_later_year_stays_there_and_is_explained() -> None:
    frame = communities(3, name=["荔枝园", "小区2", "小区3"])
    history = events([("C01", 2022, "申报", "2021-11-01")])
    plan = propose_plan(frame, policy=policy(pilots=["荔枝园"]), events=history)
    assert plan.year_of("C01") == 2022
    (violation,) = [v for v in plan.violations if v.rule == "pilot_year"]
    assert violation.community_ids == ("C01",)
    assert "荔枝园（C01）" in violation.zh and "2021" in violation.zh and "2022" in violation.zh


def test_a_pilot_missing_from_the_layer_is_a_violation() -> None:
    plan = propose_plan(communities(2), policy=policy(pilots=["不存在的小区"]))
    (violation,) = plan.violations
    assert violation.rule == "pilot_missing"
    assert "不存在的小区" in violation.zh and "不存在的小区" in violation.en


def test_first_year_takes_the_task_besides_the_pilots_then_later_years_fill() -> None:
    frame = communities(12)
    plan = propose_plan(frame, policy=policy(pilots=["C01", "C02"], task=3))
    first = plan.entries.loc[plan.entries["year"] == 2021]
    assert len(first) == 5
    assert (first["source"] == "auto").sum() == 3
    assert plan.ok
    assert len(plan.entries) == 12  # no capacity: the rest spread over 2022-2025
    assert plan.entries.loc[plan.entries["year"] > 2021].groupby("year").size().tolist() == [
        2,
        2,
        2,
        1,
    ]


def test_first_year_short_of_its_task_is_explained_with_the_figures() -> None:
    frame = communities(3, verdict=["eligible", "ineligible", "ineligible"])
    plan = propose_plan(frame, policy=policy(task=3))
    (violation,) = plan.violations
    assert violation.rule == "first_year_task"
    assert violation.year == 2021
    assert "1 个" in violation.zh and "3 个" in violation.zh and "2 个" in violation.zh


def test_proposal_respects_yearly_household_capacity() -> None:
    frame = communities(12)
    plan = propose_plan(frame, policy=policy(capacity=Capacity(households=300)))
    sizes = plan.entries.groupby("year").size()
    assert sizes.tolist() == [3, 3, 3, 3]  # 2021-2024 full, 2025 not needed
    assert plan.ok
    assert plan.unscheduled == ()


def test_a_pin_beyond_capacity_is_a_violation_naming_it_and_the_figures() -> None:
    frame = communities(13)
    plan = propose_plan(frame, policy=policy(capacity=Capacity(households=300)))
    later = plan.entries.loc[plan.entries["year"] == 2025, "community_id"].iloc[0]
    pinned = pin(plan, later, 2022)
    (violation,) = pinned.violations
    assert violation.rule == "capacity_households"
    assert violation.year == 2022
    assert violation.community_ids == (later,)
    assert "400 户" in violation.zh and "300 户" in violation.zh and f"（{later}）" in violation.zh
    assert "400" in violation.en and "300" in violation.en


def test_proposal_respects_a_budget_capacity_and_a_pin_over_it_is_named() -> None:
    frame = communities(6, investment=[3e6, 3e6, 3e6, 3e6, 3e6, 3e6])
    plan = propose_plan(frame, policy=policy(capacity=Capacity(budget_yuan=6e6)))
    # 2021 takes only its task (none here); 2022-2024 two each.
    assert plan.entries.groupby("year").size().to_dict() == {2022: 2, 2023: 2, 2024: 2}
    assert plan.ok
    over = pin(plan, plan.entries["community_id"].iloc[-1], 2022)
    (violation,) = over.violations
    assert violation.rule == "capacity_budget"
    assert "900 万元" in violation.zh and "600 万元" in violation.zh


def test_budget_capacity_without_investment_estimates_is_refused() -> None:
    frame = communities(2).drop(columns="investment")
    with pytest.raises(SchemaError, match="investment"):
        propose_plan(frame, policy=policy(capacity=Capacity(budget_yuan=1e6)))


@pytest.mark.parametrize(("size", "ok"), [(5, False), (7, True)])
def test_capped_share_one_of_five_breaks_the_cap_one_of_seven_holds(size: int, ok: bool) -> None:
    years = [2003] + [1990] * (size - 1)
    frame = communities(size, build_year=years)
    pins = dict.fromkeys(frame["community_id"], 2022)
    plan = propose_plan(frame, policy=policy(), pins=pins)
    assert plan.ok is ok
    if not ok:
        (violation,) = plan.violations
        assert violation.rule == "capped_share"
        assert violation.community_ids == ("C01",)
        assert "20.0%" in violation.zh and "15%" in violation.zh and "小区1（C01）" in violation.zh


def test_proposal_keeps_capped_communities_within_the_cap_each_year() -> None:
    # The two capped ones rank first (most deficient) but one year can hold only one.
    frame = communities(
        14,
        build_year=[2003, 2004] + [1990] * 12,
        deficiency_count=[9, 9] + [1] * 12,
    )
    by_need = policy(
        capacity=Capacity(households=700),
        weights={"age": 0, "deficiency": 1, "waterlogging": 0, "households": 0, "willingness": 0},
    )
    plan = propose_plan(frame, policy=by_need)
    assert plan.ok, plan.violations
    per_year = plan.to_frame().groupby("year")["tier"].agg(lambda t: (t == "capped").sum())
    sizes = plan.entries.groupby("year").size()
    assert (per_year <= (0.15 * sizes).astype(int)).all()
    assert set(plan.entries["community_id"]) == set(frame["community_id"])
    assert {plan.year_of("C01"), plan.year_of("C02")} == {2022, 2023}


def test_priority_weights_change_the_order() -> None:
    frame = communities(2, build_year=[1980, 1999], households=[40, 800])
    by_age = policy(
        weights={"age": 1, "deficiency": 0, "waterlogging": 0, "households": 0, "willingness": 0}
    )
    by_size = policy(
        weights={"age": 0, "deficiency": 0, "waterlogging": 0, "households": 1, "willingness": 0}
    )
    scores = priority_scores(frame, policy=by_age)
    assert scores["score"].tolist() == [100.0, 0.0]
    assert "1980" in scores["reason_zh"].iloc[0]
    assert priority_scores(frame, policy=by_size)["score"].tolist() == [0.0, 100.0]
    one_a_year = Capacity(households=700)
    same_size = frame.assign(households=[500, 500])
    first = propose_plan(same_size, policy=by_age, capacity=one_a_year)
    assert first.year_of("C01") == 2022 and first.year_of("C02") == 2023  # 2021: task 0
    frame = frame.assign(households=[400, 600])
    second = propose_plan(frame, policy=by_size, capacity=one_a_year)
    assert second.year_of("C02") == 2022 and second.year_of("C01") == 2023


def test_eligible_communities_come_before_conditional_ones() -> None:
    frame = communities(2, verdict=["conditional", "eligible"], deficiency_count=[5, 0])
    plan = propose_plan(frame, policy=policy(task=1), capacity=Capacity(households=100))
    assert plan.year_of("C02") == 2021 and plan.year_of("C01") == 2022


def test_pin_move_drop_and_restore_are_rechecked() -> None:
    frame = communities(6, name=["荔枝园", "b", "c", "d", "e", "f"])
    plan = propose_plan(
        frame, policy=policy(pilots=["荔枝园"], task=1, capacity=Capacity(households=200))
    )
    assert plan.ok
    moved = move(plan, "C04", 2021)
    assert rules(moved) == ["capacity_households"]
    assert moved.entries.set_index("community_id").loc["C04", "source"] == "moved"
    assert move(moved, "C04", plan.year_of("C04") or 0).ok
    dropped = drop(plan, "C01")
    assert "C01" in dropped.dropped and dropped.year_of("C01") is None
    (violation,) = dropped.violations
    assert violation.rule == "pilot_year" and "移出" in violation.zh
    restored = restore(dropped, "C01")
    assert restored.ok and restored.year_of("C01") == 2021
    assert restored.entries.equals(plan.entries)
    assert plan.year_of("C04") != 2021  # the original plan is untouched
    with pytest.raises(SchemaError, match="pin"):
        move(dropped, "C01", 2022)
    with pytest.raises(SchemaError, match="2030"):
        pin(plan, "C02", 2030)
    with pytest.raises(SchemaError, match="C99"):
        pin(plan, "C99", 2022)
    with pytest.raises(SchemaError, match="not dropped"):
        restore(plan, "C02")


def test_an_ineligible_pin_is_a_violation_naming_its_failing_rules() -> None:
    frame = communities(
        3,
        verdict=["eligible", "eligible", "ineligible"],
        failed_rules=[(), (), ("illegal_structures", "expropriation")],
    )
    plan = propose_plan(frame, policy=policy())
    assert plan.year_of("C03") is None  # never proposed
    pinned = pin(plan, "C03", 2023)
    (violation,) = pinned.violations
    assert violation.rule == "ineligible" and violation.community_ids == ("C03",)
    assert "违章建筑拆除情况较好" in violation.zh and "规划征迁" in violation.zh
    assert "illegal structures" in violation.en
    assert check_plan(pinned) == pinned.violations


def test_proposal_is_deterministic_and_ignores_row_order() -> None:
    frame = communities(
        20,
        build_year=[1975 + (i * 7) % 30 for i in range(20)],
        households=[50 + (i * 37) % 300 for i in range(20)],
    )
    pol = policy(capacity=Capacity(households=900))
    one = propose_plan(frame, policy=pol)
    two = propose_plan(frame.iloc[::-1].reset_index(drop=True), policy=pol)
    assert one.entries.equals(two.entries)
    assert one.unscheduled == two.unscheduled


def test_declared_communities_stay_in_their_year_and_only_the_future_is_filled() -> None:
    frame = communities(6)
    history = events(
        [
            ("C05", 2021, "申报", "2020-12-01"),
            ("C06", 2022, "申报", "2021-11-20"),
            ("C04", 2023, "申报", "2023-06-01"),  # after today: not yet declared
        ]
    )
    plan = propose_plan(frame, policy=policy(), events=history, today=dt.date(2022, 6, 30))
    entries = plan.entries.set_index("community_id")
    assert entries.loc["C05", ["year", "source"]].tolist() == [2021, "actual"]
    assert entries.loc["C06", ["year", "source"]].tolist() == [2022, "actual"]
    assert plan.start_year == 2023
    auto = entries.loc[entries["source"] == "auto", "year"]
    assert len(auto) == 4 and auto.min() >= 2023
    assert declared_years(history).to_dict() == {"C04": 2023, "C05": 2021, "C06": 2022}


def test_plan_vs_actual_counts_a_tiny_case_by_county_and_year() -> None:
    frame = communities(
        3,
        county_code=["441702", "441702", "441781"],
        households=[100, 50, 80],
        investment=[1e6, 2e6, 4e6],
    )
    history = events(
        [
            ("C01", 2021, "申报", "2020-12-01"),
            ("C01", 2021, "施工", "2021-05-01"),
            ("C01", 2021, "竣工验收", "2021-11-01"),
            ("C03", 2021, "申报", "2021-01-10"),
            ("C03", 2021, "施工", "2021-08-01"),
        ]
    )
    plan = propose_plan(
        frame, policy=policy(), events=history, pins={"C02": 2021}, drops=["C03"],
        today=dt.date(2021, 12, 31),
    )  # fmt: skip
    table = plan_vs_actual(plan, history)
    jc, yc, city = ("441702", 2021), ("441781", 2021), ("全市", 2021)
    assert table.loc[jc, ("planned", "communities")] == 2
    assert table.loc[jc, ("planned", "households")] == 150
    assert table.loc[jc, ("planned", "investment")] == 3e6
    assert table.loc[jc, ("actual", "communities")] == 1
    assert table.loc[jc, ("completed", "households")] == 100
    assert table.loc[yc, ("planned", "communities")] == 0
    assert table.loc[yc, ("actual", "households")] == 80
    assert table.loc[yc, ("started", "communities")] == 1
    assert table.loc[yc, ("completed", "communities")] == 0
    assert table.loc[city, ("actual", "communities")] == 2
    assert table.loc[city, ("started", "investment")] == 5e6
    assert table.loc[("全市", 2022)].sum() == 0
    assert len(table) == 5 * 5


def test_survey_workbook_has_four_blocks_rolled_up_to_the_city(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    frame = communities(
        4,
        county_code=["441702", "441702", "441704", "441781"],
        households=[100, 50, 80, 20],
        build_year=[1990, 1995, 2003, 1985],
    )
    history = events(
        [
            ("C01", 2021, "申报", "2020-12-01"),
            ("C01", 2021, "施工", "2021-05-01"),
            ("C01", 2021, "竣工验收", "2021-11-01"),
            ("C03", 2021, "申报", "2021-01-10"),
            ("C03", 2021, "施工", "2021-08-01"),
        ]
    )
    plan = propose_plan(
        frame, policy=policy(), events=history, pins={"C02": 2021, "C04": 2022},
        today=dt.date(2021, 12, 31),
    )  # fmt: skip
    works = pd.DataFrame(
        {"community_id": ["C01", "C01", "C03"], "work": ["lift", "water_renewal", "lift"],
         "quantity": [2.0, 100.0, 1.0]}
    )  # fmt: skip
    out = survey_workbook(plan, history, year=2021, path=tmp_path / "survey.xlsx", works=works)
    book = load_workbook(out)
    assert book.sheetnames == [*SURVEY_SHEETS, "说明"]
    for name in SURVEY_SHEETS:
        for row in book[name].iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    sheets = {name: pd.read_excel(out, sheet_name=name) for name in SURVEY_SHEETS}
    annual = sheets["年度计划"].set_index("区县")
    assert list(annual.index) == ["江城区", "阳东区", "阳西县", "阳春市", "全市"]
    assert annual.loc["江城区", "小区数（个）"] == 2
    assert annual.loc["阳东区", "户数（户）"] == 80
    assert annual.loc["阳东区", "其中2001-2005年建成（个）"] == 1
    numbers = annual.drop(columns="区划代码").select_dtypes("number")
    assert (numbers.loc["全市"] == numbers.drop(index="全市").sum()).all()
    progress = sheets["改造进展"].set_index("区县")
    assert progress.loc["江城区", "已开工小区数（个）"] == 1
    assert progress.loc["全市", "已开工小区数（个）"] == 2
    assert progress.loc["全市", "开工率"] == pytest.approx(2 / 3, abs=5e-5)  # rates to 4 decimals
    effect = sheets["改造效果"].set_index("区县")
    assert effect.loc["全市", "完工小区数（个）"] == 1
    assert effect.loc["江城区", "加装电梯（部，估算）"] == 2
    projects = sheets["项目基本情况"]
    assert sorted(projects["项目（小区）编号"]) == ["C01", "C02", "C03"]
    notes = " ".join(str(c.value) for c in book["说明"]["A"])
    assert "估算" in notes
    with pytest.raises(Exception, match="exists"):
        survey_workbook(plan, history, year=2021, path=out)
    # A year with nothing completed and no works given still has every block.
    empty = survey_workbook(plan, history, year=2022, path=tmp_path / "2022.xlsx")
    effect = pd.read_excel(empty, sheet_name="改造效果").set_index("区县")
    assert effect.loc["全市", "完工小区数（个）"] == 0
    annual = pd.read_excel(empty, sheet_name="年度计划").set_index("区县")
    assert annual.loc["阳春市", "户数（户）"] == 20 and annual.loc["全市", "小区数（个）"] == 1


# ---------------------------------------------------------------------------
# Snapshots of a year


def test_freeze_and_load_a_year_round_trip(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    frame = communities(3, name=["荔枝园", "b", "c"])
    plan = propose_plan(frame, policy=policy(pilots=["荔枝园"], task=5))
    assert load_frozen(ws, 2021) is None
    verdicts = pd.DataFrame({"community_id": ["C01"], "verdict": ["eligible"], "rules": [("a",)]})
    first = freeze_year(ws, plan, year=2021, verdicts=verdicts, user="张工")
    later = freeze_year(ws, drop(plan, "C02"), year=2021, user="李工")
    frozen = load_frozen(ws, 2021)
    assert frozen is not None and frozen.snapshot_id == later and frozen.user == "李工"
    assert frozen.dropped == ("C02",)
    old = load_frozen(ws, 2021, snapshot_id=first)
    assert old is not None and old.user == "张工"
    assert (
        old.year_entries["community_id"].tolist()
        == plan.to_frame().loc[lambda t: t["year"] == 2021, "community_id"].tolist()
    )
    assert old.violations == plan.violations and old.violations[0].rule == "first_year_task"
    assert old.verdicts is not None and old.verdicts["rules"].iloc[0] == ["a"]
    assert old.batches is None
    listed = ws.snapshots(kind="year", year=2021)
    assert listed["snapshot_id"].tolist() == [first, later]
    with pytest.raises(SchemaError, match="2022"):
        load_frozen(ws, 2022, snapshot_id=first)


# ---------------------------------------------------------------------------
# The sample workspace


@pytest.fixture(scope="module")
def sample() -> Any:
    from gislib.datasets import sample_workspace_path

    return open_workspace(sample_workspace_path())


@pytest.mark.slow
def test_sample_plan_2021_2025_has_no_violation_and_the_pilots_in_2021(sample: Any) -> None:
    pol = load_policy()
    plan = propose_plan(sample, policy=pol)
    assert plan.ok, [v.zh for v in plan.violations]
    assert sorted(plan.entries["year"].unique()) == [2021, 2022, 2023, 2024, 2025]
    named = plan.to_frame().set_index("name")
    for pilot in pol.planning.pilots:
        assert named.loc[pilot, "year"] == 2021 and named.loc[pilot, "source"] == "pilot"
    # Looking back from the end of 2022, the scheduler fills 2023-2025 within the rules.
    past = propose_plan(sample, policy=pol, today=dt.date(2022, 12, 31))
    assert past.ok, [v.zh for v in past.violations]
    assert past.start_year == 2023
    auto = past.entries.loc[past.entries["source"] == "auto", "year"]
    assert len(auto) > 0 and auto.min() >= 2023
    assert set(past.to_frame()["verdict"]) <= {"eligible", "conditional"}


def test_opening_the_sample_does_not_write_it(sample: Any) -> None:
    before = Path(sample.location).stat().st_mtime_ns
    listed = sample.snapshots()
    assert listed.columns[0] == "snapshot_id"
    assert Path(sample.location).stat().st_mtime_ns == before


def test_snapshot_table_is_append_only_in_the_file(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    plan = propose_plan(communities(1), policy=policy())
    freeze_year(ws, plan, year=2022, user="张工")
    with sqlite3.connect(tiny_workspace) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE snapshots SET name = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM snapshots")
    assert len(ws.snapshots()) == 1
