"""The annual plan page (年度计划) with AppTest, on a copy of the sample workspace.

``start_page`` (tests/app_support.py) runs what ``app.py`` runs for this page:
the sidebar language switch, then the page.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gislib.ui.common import LANG_KEY
from gislib.ui.plan import OPS_KEY
from tests.app_support import start_page


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, workspace_copy: Path) -> AppTest:
    return start_page("plan", workspace_copy, monkeypatch)


def _ineligible_id(workspace: Path) -> str:
    from gislib.eligibility import check_workspace
    from gislib.policy import load_policy
    from gislib.store import open_workspace

    summary = check_workspace(open_workspace(workspace), policy=load_policy()).result.summary
    return str(summary.loc[summary["verdict"] == "ineligible", "community_id"].iloc[0])


def test_the_recorded_plan_holds_every_rule_and_each_year_is_listed(page: AppTest) -> None:
    assert page.subheader[0].value == "阳江市城镇老旧小区改造 · 年度计划"
    summary = page.dataframe[0].value
    assert summary["年度"].tolist() == ["2021", "2022", "2023", "2024", "2025"]
    assert summary["违反规则"].sum() == 0
    assert page.success[0].value.startswith("计划满足全部规则")
    assert any("各年度均已按进度记录申报" in c.value for c in page.caption)
    labels = [b.label for b in page.get("download_button")]
    assert "下载计划表（Excel）" in labels and "下载2025年统计调查表" in labels


def test_an_earlier_date_schedules_the_later_years_within_the_rules(page: AppTest) -> None:
    page.date_input[0].set_value(dt.date(2022, 12, 31)).run()
    assert not page.exception
    assert any("排入 2023-2025 年" in c.value for c in page.caption)
    summary = page.dataframe[0].value
    assert summary["违反规则"].sum() == 0
    assert (summary["户数"] <= summary["户数能力"]).all()
    year_table = page.dataframe[1].value  # the default year shown: 2025
    assert (year_table["来源"] == "系统建议").any()


def test_pinning_an_ineligible_community_is_explained_and_can_be_undone(
    page: AppTest, workspace_copy: Path
) -> None:
    cid = _ineligible_id(workspace_copy)
    page.selectbox[0].set_value(cid)
    page.selectbox[1].set_value("pin")
    page.selectbox[2].set_value(2025)
    page.button[0].click().run()  # the form's submit button
    assert not page.exception
    assert page.session_state[OPS_KEY] == [("pin", cid, 2025)]
    assert page.error, "a violation must be shown"
    assert any(cid.replace("-", "\\-") in m.value and "不符合" in m.value for m in page.markdown)
    assert page.dataframe[0].value["违反规则"].sum() >= 1
    undo = next(b for b in page.button if b.label == "撤销全部调整")
    undo.click().run()
    assert page.session_state[OPS_KEY] == []
    assert page.success[0].value.startswith("计划满足全部规则")


def test_the_page_switches_to_english(page: AppTest) -> None:
    page.radio(key=LANG_KEY).set_value("en").run()
    assert not page.exception
    assert page.subheader[0].value == "Yangjiang renovation · annual plan"
    assert page.dataframe[0].value.columns[0] == "Year"
    assert page.success[0].value.startswith("The plan holds every rule")


def test_plan_versus_actual_is_shown_in_the_measure_chosen(
    page: AppTest, workspace_copy: Path
) -> None:
    from gislib.eligibility import check_workspace
    from gislib.policy import load_policy
    from gislib.scheduling import plan_vs_actual, propose_plan
    from gislib.store import open_workspace

    compared = page.dataframe[2].value
    assert list(compared.index) == ["江城区", "阳东区", "阳西县", "阳春市", "全市"]
    communities = compared["计划（个）"]
    assert communities["全市"] == communities.drop("全市").sum()
    page.radio(key="plan-measure").set_value("investment").run()
    assert not page.exception
    money = page.dataframe[2].value
    assert money.columns[0] == "计划（万元）"
    # The same figure as the library's, for the year shown (the last), in 10k yuan.
    ws = open_workspace(workspace_copy)
    policy = load_policy()
    events = ws.read("status_events")
    plan = propose_plan(check_workspace(ws, policy=policy), policy=policy, events=events)
    table = plan_vs_actual(plan, events)
    expected = table.loc[("全市", policy.years[-1]), ("planned", "investment")] / 1e4
    assert money.loc["全市", "计划（万元）"] == pytest.approx(expected)


def test_a_frozen_year_is_shown_as_it_was_decided(page: AppTest, workspace_copy: Path) -> None:
    from gislib.scheduling import load_frozen
    from gislib.store import open_workspace
    from gislib.ui.common import USER_KEY

    page.text_input(key=USER_KEY).set_value("市住建局-测试").run()
    freeze = next(b for b in page.button if b.label == "确认定稿")
    freeze.click().run()
    assert not page.exception
    assert any(s.value.startswith("已定稿（快照") for s in page.success)
    frozen = load_frozen(open_workspace(workspace_copy), 2025)
    assert frozen is not None and frozen.user == "市住建局-测试"
    page.run()
    expander = next(e for e in page.expander if e.label.startswith("2025 年度定稿"))
    table = expander.dataframe[0].value
    assert len(table) == int((frozen.entries["year"] == 2025).sum()) > 0
    assert frozen.batches is not None and len(frozen.batches) > 0
    assert len(expander.dataframe[1].value) == len(frozen.batches)
