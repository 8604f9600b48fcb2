"""Tests of the overview page (总览) with Streamlit's AppTest: year, stage, measure, county.

AppTest cannot see the map (``st_folium``); the map builders are tested in
tests/test_maps.py and the drawn map in tests/test_browser_overview.py. A map
click is simulated by writing what ``st_folium`` writes to the session and
calling the page's click handler, as ``st_folium``'s ``on_change`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from gislib.ui.overview import COUNTY_KEY, MAP_KEY, MEASURE_KEY, STAGE_KEY, YEAR_KEY

# The first run imports geopandas, folium and streamlit-folium and estimates
# the investment: allow for a slow machine.
TIMEOUT_S = 120
CLICK_KEY = "test-map-click"


def _overview_page() -> None:
    import streamlit as st

    from gislib.ui import overview

    clicked = st.session_state.pop("test-map-click", None)
    if clicked is not None:  # what st_folium does on a click: store the value, call on_change
        st.session_state[overview.MAP_KEY] = clicked
        overview._on_map_click()
    overview.render()


def _run(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> AppTest:
    monkeypatch.setenv("RENOV_WORKSPACE", str(workspace))
    at = AppTest.from_function(_overview_page, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    assert not at.error
    return at


@pytest.fixture(scope="module")
def expected(workspace_copy: Path) -> dict[str, Any]:
    """The sample's tables and investment estimate, computed by the library directly."""
    from gislib.planning import investment_estimate
    from gislib.store import open_workspace

    ws = open_workspace(workspace_copy)
    return {
        "communities": pd.DataFrame(ws.read("communities").drop(columns="geometry")),
        "events": ws.read("status_events"),
        "investment": investment_estimate(ws),
    }


def _kpis(expected: dict[str, Any], **kwargs: Any) -> pd.DataFrame:
    from gislib.planning import progress_kpis

    return progress_kpis(
        expected["communities"], expected["events"], investment=expected["investment"], **kwargs
    )


def _metric(at: AppTest, label: str) -> tuple[str, str]:
    (found,) = [m for m in at.metric if m.label == label]
    return found.value, found.proto.delta


def test_the_page_opens_on_the_latest_plan_year_with_six_key_figures(
    monkeypatch: pytest.MonkeyPatch, workspace_copy: Path, expected: dict[str, Any]
) -> None:
    at = _run(monkeypatch, workspace_copy)
    assert at.button_group(key=YEAR_KEY).value == 2025  # this year is past the plan
    assert at.button_group(key=STAGE_KEY).value == "completed"
    assert at.selectbox(key=MEASURE_KEY).value == "communities"
    assert at.selectbox(key=COUNTY_KEY).value == ""
    labels = [m.label for m in at.metric]
    assert labels == [
        "小区（个）",
        "户数（户）",
        "楼栋（栋）",
        "建筑面积（万m²）",
        "投资估算（亿元）",
        "计划完成率",
    ]
    kpis = _kpis(expected, year=2025)
    value, delta = _metric(at, "小区（个）")
    assert value == f"{kpis.loc['communities', 'value']:,.0f}"
    assert delta == f"{kpis.loc['communities', 'change']:+,.0f}"
    assert _metric(at, "户数（户）")[0] == f"{kpis.loc['households', 'value']:,.0f}"
    assert _metric(at, "投资估算（亿元）")[0] == f"{kpis.loc['investment', 'value'] / 1e8:,.2f}"
    assert _metric(at, "计划完成率")[0] == f"{kpis.loc['completion_rate', 'value']:.1%}"
    # The investment is labelled an estimate, and synthetic for the sample.
    notes = " ".join(c.value for c in at.caption)
    assert "估算" in notes
    assert "合成数据" in notes
    assert "合成示例数据" in at.warning[0].value


def test_the_year_changes_the_key_figures(
    monkeypatch: pytest.MonkeyPatch, workspace_copy: Path, expected: dict[str, Any]
) -> None:
    at = _run(monkeypatch, workspace_copy)
    at.button_group(key=YEAR_KEY).set_value(2022).run()
    assert not at.exception
    kpis = _kpis(expected, year=2022)
    assert _metric(at, "小区（个）") == (
        f"{kpis.loc['communities', 'value']:,.0f}",
        f"{kpis.loc['communities', 'change']:+,.0f}",
    )
    assert _metric(at, "楼栋（栋）")[0] == f"{kpis.loc['buildings', 'value']:,.0f}"
    assert (
        _kpis(expected, year=2025).loc["communities", "value"] != kpis.loc["communities", "value"]
    )
    assert any("截至2022年底" in c.value for c in at.caption)


def test_stage_and_measure_change_the_county_table(
    monkeypatch: pytest.MonkeyPatch, workspace_copy: Path, expected: dict[str, Any]
) -> None:
    from gislib.planning import progress_table

    at = _run(monkeypatch, workspace_copy)
    at.button_group(key=STAGE_KEY).set_value("started").run()
    at.selectbox(key=MEASURE_KEY).set_value("households").run()
    assert not at.exception
    table = at.table[0].value
    assert table.index.tolist() == ["江城区", "阳东区", "阳西县", "阳春市", "全市"]
    assert table.columns.tolist() == ["2021", "2022", "2023", "2024", "2025"]
    want = progress_table(
        expected["communities"],
        expected["events"],
        years=range(2021, 2026),
        measure="households",
        stage="started",
    )
    assert table.to_numpy().tolist() == want.to_numpy().tolist()
    assert any("户数 · 已开工（户）" in m.value for m in at.markdown)
    kpis = _kpis(expected, year=2025, stage="started")
    assert _metric(at, "户数（户）")[0] == f"{kpis.loc['households', 'value']:,.0f}"


def test_the_investment_table_is_in_ten_thousand_yuan(
    monkeypatch: pytest.MonkeyPatch, workspace_copy: Path, expected: dict[str, Any]
) -> None:
    at = _run(monkeypatch, workspace_copy)
    at.selectbox(key=MEASURE_KEY).set_value("investment").run()
    table = at.table[0].value
    completed = _kpis(expected, year=2025).loc["investment", "value"]
    assert table.loc["全市", "2025"] == pytest.approx(completed / 1e4)
    assert any("（万元）" in m.value for m in at.markdown)


def test_choosing_a_county_shows_its_streets_and_figures(
    monkeypatch: pytest.MonkeyPatch, workspace_copy: Path, expected: dict[str, Any]
) -> None:
    at = _run(monkeypatch, workspace_copy)
    assert at.button[0].disabled  # "whole city" while the whole city is shown
    at.selectbox(key=COUNTY_KEY).set_value("441781").run()
    assert not at.exception
    table = at.table[0].value
    streets = sorted(
        set(
            expected["communities"].loc[
                expected["communities"]["county_code"] == "441781", "street"
            ]
        )
    )
    assert table.index.tolist() == [*streets, "阳春市"]
    kpis = _kpis(expected, year=2025, county="441781")
    assert _metric(at, "小区（个）")[0] == f"{kpis.loc['communities', 'value']:,.0f}"
    assert any("按街道与年份" in m.value for m in at.markdown)

    at.button[0].click().run()  # 返回全市
    assert at.selectbox(key=COUNTY_KEY).value == ""
    assert at.table[0].value.index.tolist()[-1] == "全市"


def test_a_click_on_a_county_or_a_community_opens_its_county(
    monkeypatch: pytest.MonkeyPatch, workspace_copy: Path, expected: dict[str, Any]
) -> None:
    at = _run(monkeypatch, workspace_copy)
    at.session_state[CLICK_KEY] = {"last_active_drawing": {"properties": {"county_code": "441704"}}}
    at.run()
    assert at.selectbox(key=COUNTY_KEY).value == "441704"
    assert at.session_state[MAP_KEY]["last_active_drawing"]["properties"]["county_code"] == "441704"

    at.button[0].click().run()
    communities = expected["communities"]
    row = communities.loc[communities["county_code"] == "441721"].iloc[0]
    at.session_state[CLICK_KEY] = {
        "last_active_drawing": {"properties": {"community_id": row["community_id"], "name": "x"}}
    }
    at.run()
    assert at.selectbox(key=COUNTY_KEY).value == "441721"
    # Inside a county, a click on a community keeps the county.
    other = communities.loc[communities["county_code"] == "441702", "community_id"].iloc[0]
    at.session_state[CLICK_KEY] = {"last_active_drawing": {"properties": {"community_id": other}}}
    at.run()
    assert at.selectbox(key=COUNTY_KEY).value == "441721"


def test_the_page_switches_to_english(
    monkeypatch: pytest.MonkeyPatch, workspace_copy: Path
) -> None:
    at = _run(monkeypatch, workspace_copy)
    at.session_state["lang"] = "en"  # what the sidebar language switch sets
    at.run()
    assert not at.exception
    assert at.subheader[0].value == "Yangjiang renovation · Overview"
    assert [m.label for m in at.metric][:2] == ["Communities", "Households"]
    assert "Investment estimate (100M yuan)" in [m.label for m in at.metric]
    assert at.table[0].value.index.tolist()[-1] == "Whole city"
    assert "Jiangcheng District" in at.table[0].value.index.tolist()


def test_a_workspace_with_one_planned_community_counts_it(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run(monkeypatch, tiny_workspace)
    assert _metric(at, "小区（个）") == ("0", "持平")
    at.button_group(key=STAGE_KEY).set_value("planned").run()
    assert _metric(at, "小区（个）")[0] == "1"  # C1 applied (申报) in January 2021
    assert _metric(at, "户数（户）")[0] == "120"
    table = at.table[0].value
    assert table.loc["江城区"].tolist() == [1.0] * 5
    assert table.loc["阳春市"].tolist() == [0.0] * 5
    at.button_group(key=YEAR_KEY).set_value(2021).run()
    assert _metric(at, "小区（个）") == ("1", "+1")  # none by the end of 2020


def _overview_or_another_page() -> None:
    import streamlit as st

    from gislib.ui import overview

    if st.session_state.get("test-other-page"):
        st.write("another page")  # the overview's widgets are not drawn: Streamlit drops them
    else:
        overview.render()


def test_the_choices_survive_a_visit_to_another_page(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    monkeypatch.setenv("RENOV_WORKSPACE", str(tiny_workspace))
    at = AppTest.from_function(_overview_or_another_page, default_timeout=TIMEOUT_S)
    at.run()
    at.button_group(key=YEAR_KEY).set_value(2022).run()
    at.selectbox(key=MEASURE_KEY).set_value("households").run()
    at.session_state["test-other-page"] = True
    at.run()
    at.run()
    assert YEAR_KEY not in at.session_state
    at.session_state["test-other-page"] = False
    at.run()
    assert not at.exception
    assert at.button_group(key=YEAR_KEY).value == 2022
    assert at.selectbox(key=MEASURE_KEY).value == "households"
    assert at.button_group(key=STAGE_KEY).value == "completed"


def test_the_briefing_is_built_on_request_and_offered_as_a_pdf(
    monkeypatch: pytest.MonkeyPatch, workspace_copy: Path
) -> None:
    import io

    from pypdf import PdfReader

    from gislib.ui.briefing import briefing_bytes

    at = _run(monkeypatch, workspace_copy)
    assert not [b for b in at.get("download_button") if b.label == "下载 PDF"]
    build = next(b for b in at.button if b.label == "生成简报")
    build.click().run()
    assert not at.exception and not at.error
    (download,) = [b for b in at.get("download_button") if b.label == "下载 PDF"]
    choice = at.session_state["briefing-ready"]
    year = int(choice[2])
    assert download.proto.url  # the file is served
    data = briefing_bytes(*choice)
    assert data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert f"阳江市城镇老旧小区改造工作进展简报（{year} 年）" in text
