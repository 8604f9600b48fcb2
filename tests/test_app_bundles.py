"""The EPC bundling page (打包) with AppTest, on a copy of the sample workspace.

``start_page`` (tests/app_support.py) runs what ``app.py`` runs for this page:
the sidebar language switch, then the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gislib.ui.bundles import COUNTY_KEY, SCENARIOS_KEY, YEAR_KEY
from gislib.ui.common import LANG_KEY
from tests.app_support import start_page


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, workspace_copy: Path) -> AppTest:
    return start_page("bundles", workspace_copy, monkeypatch)


def _bundle(page: AppTest) -> AppTest:
    submit = next(b for b in page.button if b.label == "打包")
    submit.click().run()
    assert not page.exception
    return page


def _metrics(page: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in page.metric}


def test_the_page_asks_for_parameters_with_the_policy_defaults(page: AppTest) -> None:
    assert page.subheader[0].value == "阳江市城镇老旧小区改造 · EPC 打包"
    assert page.selectbox(key=COUNTY_KEY).value == "441702"
    assert page.number_input[0].value == 400.0  # 4,000,000 元 from the policy file
    assert page.number_input[1].value == 11_000.0  # 110,000,000 元
    assert page.info[-1].value == "设置参数后点击“打包”。"


def test_bundling_shows_batches_within_bounds_and_offers_the_exports(page: AppTest) -> None:
    _bundle(page)
    metrics = _metrics(page)
    assert int(metrics["批次数"]) >= 1 and metrics["违反约束"] == "0"
    assert page.success[0].value == "全部批次连片且满足规模约束。"
    table = page.dataframe[0].value
    assert table["满足约束"].all() and table["连片"].all()
    assert table["投资估算（万元）"].between(400, 11_000).all()
    labels = [b.label for b in page.get("download_button")]
    assert labels == ["该批次小区（Shapefile）", "招标清单（Excel）"]


def test_moving_a_community_out_is_reported_and_scenarios_are_compared(page: AppTest) -> None:
    _bundle(page)
    ((key, scenarios),) = page.session_state[SCENARIOS_KEY].items()
    first = next(iter(scenarios.values()))
    cid = str(first.assignments.index[0])
    page.selectbox(key="bundle-move-id").set_value(cid).run()
    page.selectbox(key="bundle-move-to").set_value("").run()  # out of every batch
    page.button(key="bundle-move").click().run()
    assert not page.exception
    assert _metrics(page)["未分入批次"] == "1"
    assert not page.success  # the edit is reported, not silently fixed
    # A second run with other bounds is kept beside the first and compared.
    page.number_input[1].set_value(2_000.0)
    _bundle(page)
    assert len(page.session_state[SCENARIOS_KEY][key]) == 2
    compared = page.dataframe[-1].value
    assert len(compared) == 2 and "diameter_max_m" in compared.columns


def test_contradictory_bounds_are_refused_with_the_fix(page: AppTest) -> None:
    page.number_input[0].set_value(9_000.0)
    page.number_input[1].set_value(1_000.0)
    _bundle(page)
    assert "下限" in page.error[0].value and "上限" in page.error[0].value


def test_the_page_switches_to_english_and_a_year_without_plan_says_so(page: AppTest) -> None:
    page.radio(key=LANG_KEY).set_value("en").run()
    assert not page.exception
    assert page.subheader[0].value == "Yangjiang renovation · EPC batches"
    page.selectbox(key=COUNTY_KEY).select_index(1)  # 阳东区
    page.segmented_control(key=YEAR_KEY).set_value(2021).run()
    assert not page.exception
    assert any("planned communities" in c.value for c in page.caption)
