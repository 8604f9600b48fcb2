"""Tests of app.py, the overview and the eligibility pages with Streamlit's AppTest (no browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gislib.store import create_workspace
from gislib.ui.eligibility import COMMUNITY_KEY, COUNTY_KEY

APP = Path(__file__).resolve().parents[1] / "app.py"
# The first run imports geopandas, folium and streamlit-folium: allow for a slow machine.
TIMEOUT_S = 60


def _run_app(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> AppTest:
    monkeypatch.setenv("RENOV_WORKSPACE", str(workspace))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.run()
    return at


def test_overview_runs_without_exception_and_flags_the_synthetic_sample(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run_app(monkeypatch, tiny_workspace)
    assert not at.exception
    assert not at.error
    assert len(at.warning) == 1
    assert "合成示例数据" in at.warning[0].value
    assert "synthetic sample" in at.warning[0].value
    assert any("ws\\.gpkg" in c.value for c in at.caption)


def test_overview_shows_key_figures_and_the_county_table(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run_app(monkeypatch, tiny_workspace)
    table = at.table[0].value
    assert table.index.tolist() == ["江城区", "阳东区", "阳西县", "阳春市", "全市"]
    assert at.metric[0].label == "小区（个）"
    assert at.metric[0].value == "0"  # none completed (more in tests/test_app_overview.py)


def test_real_data_shows_no_synthetic_banner(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_layers: dict
) -> None:
    workspace = create_workspace(
        tmp_path / "real.gpkg", layers=tiny_layers, meta={"title": "阳江市住建局"}
    )
    at = _run_app(monkeypatch, workspace)
    assert not at.exception
    assert not at.warning
    assert any("阳江市住建局" in c.value for c in at.caption)


def test_a_broken_workspace_shows_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.gpkg"
    broken.write_text("not a geopackage", encoding="utf-8")
    at = _run_app(monkeypatch, broken)
    assert not at.exception
    assert len(at.error) == 1
    assert "broken.gpkg" in at.error[0].value
    assert "不是" in at.error[0].value


# ---------------------------------------------------------------------------
# Eligibility page (资格审查)


def _eligibility_page() -> None:
    from gislib.ui import eligibility

    eligibility.render()


def _run_eligibility(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> AppTest:
    monkeypatch.setenv("RENOV_WORKSPACE", str(workspace))
    at = AppTest.from_function(_eligibility_page, default_timeout=TIMEOUT_S)
    at.run()
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    """The four metrics of the eligibility page, in their order on the page."""
    keys = ("checked", "eligible", "conditional", "ineligible")
    return dict(zip(keys, (m.value for m in at.metric), strict=True))


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A private copy of the sample workspace (the committed file is never opened)."""
    from gislib.datasets import sample_workspace_path

    target = tmp_path / "sample.gpkg"
    shutil.copyfile(sample_workspace_path(), target)
    return target


def _list_pages() -> None:
    import streamlit as st

    from gislib.ui import pages

    for page in pages():  # st.Page needs a script run to know its URL
        st.text(f"{page.title}|{page.url_path}")


def test_every_page_is_in_the_navigation_in_the_planner_s_order() -> None:
    at = AppTest.from_function(_list_pages, default_timeout=TIMEOUT_S)
    at.run()
    assert [t.value for t in at.text] == [
        "总览 / Overview|",
        "小区 / Communities|communities",
        "资格审查 / Eligibility|eligibility",
        "年度计划 / Annual plan|plan",
        "打包 / EPC batches|bundles",
        "数据 / Data|data",
    ]


def test_eligibility_page_runs_on_the_tiny_workspace(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run_eligibility(monkeypatch, tiny_workspace)
    assert not at.exception
    assert not at.error
    assert "合成示例数据" in at.warning[0].value
    # C1 eligible; C2 (built 2003) has an overlap of 50% with the zone; C3 was renovated before.
    assert _metrics(at) == {"checked": "3", "eligible": "1", "conditional": "0", "ineligible": "2"}
    assert at.selectbox(key=COMMUNITY_KEY).value is None
    counts = at.table[0].value
    assert counts.columns.tolist() == ["规则", "章节", "不通过", "需复核"]
    fails = dict(zip(counts["规则"], counts["不通过"], strict=True))
    assert fails["未实施过综合改造"] == 1
    assert fails["未纳入规划征迁改造范围"] == 1
    assert at.get("download_button")[0].label == "下载 Excel"


def test_eligibility_page_counts_match_the_check_on_the_sample(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    from gislib.eligibility import check_workspace
    from gislib.policy import load_policy
    from gislib.store import open_workspace

    expected = check_workspace(open_workspace(sample_copy), policy=load_policy())
    counts = expected.result.counts_by_verdict()
    at = _run_eligibility(monkeypatch, sample_copy)
    assert not at.exception
    assert not at.error
    assert _metrics(at) == {
        "checked": str(len(expected.communities)),
        "eligible": str(counts["eligible"]),
        "conditional": str(counts["conditional"]),
        "ineligible": str(counts["ineligible"]),
    }
    assert len(expected.communities) == 600
    assert len(at.selectbox(key=COMMUNITY_KEY).options) == 600


def test_the_county_filter_changes_the_counts(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    from gislib.store import open_workspace

    communities = open_workspace(sample_copy).read("communities")
    in_yangxi = int((communities["county_code"] == "441721").sum())
    at = _run_eligibility(monkeypatch, sample_copy)
    whole_city = _metrics(at)
    at.selectbox(key=COUNTY_KEY).set_value("441721").run()
    assert not at.exception
    yangxi = _metrics(at)
    assert yangxi["checked"] == str(in_yangxi) != whole_city["checked"]
    assert 0 < in_yangxi < len(communities)
    assert sum(int(yangxi[k]) for k in ("eligible", "conditional", "ineligible")) == in_yangxi
    options = at.selectbox(key=COMMUNITY_KEY).options
    assert len(options) == in_yangxi
    assert all("441721" in o for o in options)


def test_a_county_without_communities_shows_zero_and_a_note(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run_eligibility(monkeypatch, tiny_workspace)
    at.selectbox(key=COUNTY_KEY).set_value("441781").run()
    assert not at.exception
    assert not at.error
    assert _metrics(at)["checked"] == "0"
    assert any("没有小区" in i.value for i in at.info)


def test_selecting_a_community_shows_its_rule_rows_and_distances(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run_eligibility(monkeypatch, tiny_workspace)
    at.selectbox(key=COMMUNITY_KEY).set_value("C2").run()
    assert not at.exception
    assert not at.error
    texts = [m.value for m in at.markdown]
    assert texts[0] == "#### 新华路3号大院"
    assert "不符合改造条件" in texts[1]
    assert "可纳入（计入15%上限）" in texts[1]
    # The failing rule is named at the top of the panel with its reason.
    assert texts[2].startswith(
        ":red-badge[不通过] **未纳入规划征迁改造范围**：与规划征迁范围「金山片区城市更新单元」重叠 50%"
    )
    (overlap,) = [t for t in texts if t.startswith("**与规划征迁范围重叠**")]
    assert overlap == "**与规划征迁范围重叠**：50%（金山片区城市更新单元）"
    distances = at.table[0].value
    networks = ["供水", "雨水", "污水", "雨污合流", "燃气", "电力", "通信"]
    assert distances["管网"].tolist() == networks
    assert distances["最近主管"].tolist()[0] == "P1"
    within = [cell.replace("\\", "") for cell in distances["服务半径内"]]
    assert within[0] == "是（≤ 100）"  # the water main P1 crosses C2
    assert within[4] == "否（> 300）"  # no existing gas main at all
    rules = at.table[1].value
    assert len(rules) == 8
    assert rules["章节"].tolist()[0] == "三"
    outcome = dict(zip(rules["规则"], rules["结果"], strict=True))
    assert outcome["未纳入规划征迁改造范围"] == "不通过"
    assert outcome["未实施过综合改造"] == "通过"
    reasons = " ".join(rules["理由"])
    assert "金山片区城市更新单元" in reasons
    assert "重叠 50%" in reasons
    at.session_state["lang"] = "en"  # what the sidebar language switch sets
    at.run()
    english = " ".join(at.table[1].value["Reason"])
    assert "expropriation zone" in english


def test_the_selection_follows_the_session_state_the_map_click_writes(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run_eligibility(monkeypatch, tiny_workspace)
    at.session_state[COMMUNITY_KEY] = "C1"  # what a click on C1 on the map sets
    at.run()
    assert at.selectbox(key=COMMUNITY_KEY).value == "C1"
    assert at.markdown[0].value == "#### 江城区荔枝园公租房小区"


def test_a_malicious_community_name_is_shown_as_text(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run_eligibility(monkeypatch, tiny_workspace)
    at.selectbox(key=COMMUNITY_KEY).set_value("C3").run()
    assert not at.exception
    assert at.markdown[0].value == r"#### \<img src=x onerror=alert\(1\)\>"


def test_changing_the_county_drops_a_selection_from_another_county(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run_eligibility(monkeypatch, tiny_workspace)
    at.selectbox(key=COMMUNITY_KEY).set_value("C1").run()
    at.selectbox(key=COUNTY_KEY).set_value("441704").run()
    assert not at.exception
    assert at.selectbox(key=COMMUNITY_KEY).value is None


def test_the_excel_download_is_built_in_a_temporary_folder_that_is_removed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_workspace: Path
) -> None:
    import tempfile

    from gislib.eligibility import check_workspace
    from gislib.policy import load_policy
    from gislib.store import open_workspace
    from gislib.ui import eligibility

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    check = check_workspace(open_workspace(tiny_workspace), policy=load_policy())
    data = eligibility._excel_writer(check, "全市 / whole city")()
    assert data[:2] == b"PK"  # a zip container: xlsx
    assert list(scratch.iterdir()) == []

    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(data), read_only=True)
    assert "资格审查结果" in book.sheetnames
    assert "审查依据" in book.sheetnames
