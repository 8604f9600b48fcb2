"""The eligibility page (资格审查) in the language chosen in the sidebar, with AppTest.

The page function below is what ``app.py`` runs for this page: the sidebar
language switch, then the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gislib.ui.common import BASEMAP_KEY, LANG_KEY
from gislib.ui.eligibility import COMMUNITY_KEY, COUNTY_KEY

# The first run imports geopandas, folium and streamlit-folium: allow for a slow machine.
TIMEOUT_S = 60
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _page() -> None:
    from gislib.ui import eligibility
    from gislib.ui.common import language_switch

    language_switch()
    eligibility.render()


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path) -> AppTest:
    monkeypatch.setenv("RENOV_WORKSPACE", str(tiny_workspace))
    at = AppTest.from_function(_page, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    return at


def test_switching_the_sidebar_language_to_english_shows_english_headings(page: AppTest) -> None:
    assert page.subheader[0].value == "阳江市城镇老旧小区改造 · 资格审查"
    assert [m.label for m in page.metric] == ["审查小区", "符合", "有条件", "不符合"]

    page.radio(key=LANG_KEY).set_value("en").run()
    assert not page.exception
    assert page.subheader[0].value == "Yangjiang renovation · eligibility"
    assert [m.label for m in page.metric] == ["Checked", "Eligible", "Conditional", "Ineligible"]
    assert page.metric[0].value == "3"
    assert page.selectbox(key=COUNTY_KEY).label == "County"
    assert page.selectbox(key=COUNTY_KEY).value == ""  # whole city
    assert page.selectbox(key=COMMUNITY_KEY).label == "Community"
    assert page.get("download_button")[0].label == "Download Excel"
    assert page.info[0].value.startswith("Click a community on the map")
    counts = page.table[0].value
    assert counts.columns.tolist() == ["Rule", "Section", "Fail", "Review"]
    assert not any(_CJK.search(str(rule)) for rule in counts["Rule"])
    assert "**Communities failing each rule**" in [m.value for m in page.markdown]


def test_the_detail_panel_of_a_community_is_in_english(page: AppTest) -> None:
    page.radio(key=LANG_KEY).set_value("en").run()
    page.selectbox(key=COMMUNITY_KEY).set_value("C2").run()
    assert not page.exception
    texts = [m.value for m in page.markdown]
    assert texts[0] == "#### 新华路3号大院"  # a name is data: never translated
    assert texts[1].startswith("**Verdict**: :red-badge[ineligible]")
    assert "**Age tier**: allowed within the cap" in texts[1]
    assert texts[2].startswith(":red-badge[fail] **")
    assert "**Rule by rule**" in texts
    assert "**Nearest existing main of each network**" in texts
    distances = page.table[0].value
    assert distances.columns.tolist() == ["Network", "Nearest main", "Distance (m)", "Within reach"]
    assert distances["Network"].tolist()[0] == "water supply"
    assert not any(_CJK.search(n) for n in distances["Network"])
    assert distances["Within reach"].iloc[0].replace("\\", "") == "yes (≤ 100)"
    rules = page.table[1].value
    assert rules.columns.tolist() == ["Section", "Rule", "Outcome", "Value", "Threshold", "Reason"]
    assert set(rules["Outcome"]) <= {"pass", "review", "fail"}
    assert "expropriation zone" in " ".join(rules["Reason"])


def test_switching_back_to_chinese_keeps_the_county_filter(page: AppTest) -> None:
    page.selectbox(key=COUNTY_KEY).set_value("441704").run()
    page.radio(key=LANG_KEY).set_value("en").run()
    assert page.selectbox(key=COUNTY_KEY).value == "441704"
    assert page.metric[0].value == "0"
    page.radio(key=LANG_KEY).set_value("zh").run()
    assert not page.exception
    assert page.selectbox(key=COUNTY_KEY).value == "441704"
    assert page.subheader[0].value == "阳江市城镇老旧小区改造 · 资格审查"


def test_the_eligibility_page_offers_the_basemap_selector_with_none_by_default(
    page: AppTest,
) -> None:
    selector = page.sidebar.selectbox(key=BASEMAP_KEY)
    assert selector.value == "none"
    selector.set_value("amap").run()
    assert not page.exception
    assert not page.error
    assert page.metric[0].value == "3"
