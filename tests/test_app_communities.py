"""The communities page (小区) with Streamlit's AppTest: filters, detail, edits, stale saves, events.

AppTest cannot click a table row or the map (st_folium is a component): both
write the selected community into ``COMMUNITY_KEY``, which the tests set
directly; the row-to-community mapping of the table callback is tested on its
own. The map builders are tested in tests/test_maps.py.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

from gislib.store import open_workspace
from gislib.ui.common import USER_NAME_KEY
from gislib.ui.communities import COMMUNITY_KEY, SEARCH_KEY
from gislib.ui.community_forms import edit_widget_key, event_widget_key

# The first run imports geopandas, folium and streamlit-folium: allow for a slow machine.
TIMEOUT_S = 90
# A sample community under construction (施工) with 15 events, in 江城区.
BUILDING = "441702-0038"
USER = "江城区住建局-张工"


def _page() -> None:
    from gislib.ui import communities

    communities.render()


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A private copy of the sample workspace (the committed file is never written)."""
    from gislib.datasets import sample_workspace_path

    target = tmp_path / "sample.gpkg"
    shutil.copyfile(sample_workspace_path(), target)
    return target


def _run(
    monkeypatch: pytest.MonkeyPatch,
    workspace: Path,
    *,
    selected: str | None = None,
    user: str | None = USER,
) -> AppTest:
    monkeypatch.setenv("RENOV_WORKSPACE", str(workspace))
    at = AppTest.from_function(_page, default_timeout=TIMEOUT_S)
    if user is not None:
        at.session_state[USER_NAME_KEY] = user
    if selected is not None:
        at.session_state[COMMUNITY_KEY] = selected
    at.run()
    assert not at.exception, at.exception
    return at


def _rows(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def _button(at: AppTest, label: str) -> Button:
    (found,) = [b for b in at.button if b.label == label]
    return found


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# ---------------------------------------------------------------------------
# Loading and filtering


def test_the_page_loads_on_the_sample_and_lists_every_community(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    at = _run(monkeypatch, sample_copy)
    assert not at.error
    assert "合成示例数据" in at.warning[0].value
    table = _rows(at)
    assert len(table) == 600
    assert table.columns.tolist()[:4] == ["编号", "名称", "区县", "街道"]
    assert any("显示 600 / 共 600 个小区" in c.value for c in at.caption)
    assert at.info[0].value.startswith("点击表格中的一行或地图上的小区")


def test_filters_change_the_rows_listed(monkeypatch: pytest.MonkeyPatch, sample_copy: Path) -> None:
    communities = open_workspace(sample_copy).read("communities")
    at = _run(monkeypatch, sample_copy)

    at.multiselect(key="communities-counties").set_value(["441721"]).run()
    in_yangxi = int((communities["county_code"] == "441721").sum())
    assert len(_rows(at)) == in_yangxi < 600
    assert set(_rows(at)["区县"]) == {"阳西县"}
    streets = at.multiselect(key="communities-streets").options
    assert streets and all(s in set(communities["street"].dropna()) for s in streets)

    at.multiselect(key="communities-statuses").set_value(["移交"]).run()
    handed_over = _rows(at)
    assert 0 < len(handed_over) < in_yangxi
    assert set(handed_over["状态"]) == {"移交"}

    at.multiselect(key="communities-counties").set_value([]).run()
    at.multiselect(key="communities-statuses").set_value([]).run()
    at.text_input(key=SEARCH_KEY).set_value("公租房").run()
    found = _rows(at)
    expected = int(communities["name"].str.contains("公租房").sum())
    assert len(found) == expected > 0
    assert all("公租房" in n for n in found["名称"])

    at.text_input(key=SEARCH_KEY).set_value(BUILDING).run()
    assert _rows(at)["编号"].tolist() == [BUILDING]


def test_verdict_and_build_year_filters(monkeypatch: pytest.MonkeyPatch, sample_copy: Path) -> None:
    at = _run(monkeypatch, sample_copy)
    at.multiselect(key="communities-verdicts").set_value(["ineligible"]).run()
    assert set(_rows(at)["审查结论"]) == {"不符合"}
    ineligible = len(_rows(at))
    at.multiselect(key="communities-verdicts").set_value([]).run()
    at.slider(key="communities-years").set_value((1990, 1995)).run()
    years = _rows(at)["建成年份"]
    assert len(years) < 600 and years.between(1990, 1995).all()
    assert 0 < ineligible < 600


def test_a_selection_filtered_out_is_dropped(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    at = _run(monkeypatch, sample_copy, selected=BUILDING)
    assert at.markdown[0].value == "#### 市粮油公司宿舍"
    at.multiselect(key="communities-counties").set_value(["441781"]).run()
    assert at.session_state[COMMUNITY_KEY] is None
    assert not [m for m in at.markdown if m.value.startswith("####")]


def test_a_table_row_maps_to_the_community_shown_in_it() -> None:
    from gislib.ui.communities import _row_to_id

    assert _row_to_id([1], ["A", "B", "C"]) == "B"
    assert _row_to_id([], ["A"]) is None
    assert _row_to_id([5], ["A"]) is None  # a row of an older table


# ---------------------------------------------------------------------------
# Detail


def test_selecting_a_community_shows_reasons_distances_works_and_history(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    from gislib.planning import status_history

    at = _run(monkeypatch, sample_copy, selected=BUILDING)
    assert not at.error
    texts = [m.value for m in at.markdown]
    assert texts[0] == "#### 市粮油公司宿舍"
    assert "**资格审查**" in texts
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    attributes = frames[("字段", "值")]
    values = dict(zip(attributes["字段"], attributes["值"], strict=True))
    assert values["建成年份"] == "1989"
    assert values["居民同意率"] == "95%"
    assert values["所属区县"] == "江城区（441702）"
    reasons = frames[("规则", "结果", "理由")]
    assert len(reasons) == 8
    assert any("城区范围" in r for r in reasons["理由"])
    distances = frames[("管网", "最近主管", "距离 (m)", "服务半径内")]
    assert distances["管网"].tolist()[0] == "供水"
    works = frames[("改造内容", "类别", "数量", "估算 (元)", "依据")]
    assert len(works) > 5
    assert any(m.label == "投资估算合计" and m.value.endswith("万元") for m in at.metric)
    assert any(c.value.startswith("基础类 ") for c in at.caption)
    assert any("估算" in c.value and "参考" in c.value for c in at.caption)

    timeline = frames[("阶段", "日期", "计划年度", "填报人", "备注", "当前")]
    expected = status_history(open_workspace(sample_copy).read("status_events"), BUILDING)
    assert len(timeline) == len(expected) == 15
    assert timeline["阶段"].tolist()[0] == "项目前期 · 摸查"
    assert timeline["阶段"].tolist()[-1] == "项目实施 · 施工"
    assert timeline["当前"].tolist()[-1] == "◀"
    assert set(timeline["计划年度"]) == {2025}
    assert "施工" in at.get("progress")[0].proto.text


def test_a_malicious_name_is_shown_as_text(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run(monkeypatch, tiny_workspace, selected="C3")
    assert at.markdown[0].value == r"#### \<img src=x onerror=alert\(1\)\>"


def test_english_labels_when_the_user_switches_language(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    monkeypatch.setenv("RENOV_WORKSPACE", str(tiny_workspace))
    at = AppTest.from_function(_page, default_timeout=TIMEOUT_S)
    at.session_state["lang"] = "en"
    at.session_state[COMMUNITY_KEY] = "C1"
    at.run()
    assert not at.exception
    assert _rows(at).columns.tolist()[:3] == ["Id", "Name", "County"]
    assert _rows(at)["County"].tolist()[0] == "Jiangcheng District"
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    assert ("Field", "Value") in frames
    assert "year built" in frames[("Field", "Value")]["Field"].tolist()


# ---------------------------------------------------------------------------
# Editing attributes


def test_editing_a_field_saves_it_with_an_audit_row(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    at = _run(monkeypatch, sample_copy, selected=BUILDING)
    at.number_input(key=edit_widget_key(BUILDING, 1, "willingness")).set_value(0.8)
    at.number_input(key=edit_widget_key(BUILDING, 1, "households")).set_value(70)
    at.text_input(key=edit_widget_key(BUILDING, 1, "_note")).set_value("入户复核")
    _button(at, "保存修改").click().run()
    assert not at.exception
    assert not _errors(at)
    assert any("已保存 2 项修改（版本 1 → 2）" in s.value for s in at.success)

    workspace = open_workspace(sample_copy)
    saved = workspace.read("communities").set_index("community_id").loc[BUILDING]
    assert saved["willingness"] == pytest.approx(0.8)
    assert saved["households"] == 70
    assert saved["version"] == 2
    audit = workspace.audit_log(layer="communities", record_id=BUILDING)
    assert len(audit) == 1
    assert audit["user"].iloc[0] == USER
    assert audit["note"].iloc[0] == "入户复核"
    # The page reloaded the workspace: the form now edits version 2, the audit shows the edit.
    assert at.number_input(key=edit_widget_key(BUILDING, 2, "households")).value == 70
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    shown = frames[("时间", "填报人", "操作", "内容", "说明")]
    assert shown["内容"].iloc[0] == "户数：65 → 70；居民同意率：0.95 → 0.8"
    assert shown["填报人"].iloc[0] == USER


def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_saved(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    at = _run(monkeypatch, sample_copy, selected=BUILDING)
    at.number_input(key=edit_widget_key(BUILDING, 1, "willingness")).set_value(1.5)
    at.number_input(key=edit_widget_key(BUILDING, 1, "build_year")).set_value(1850)
    _button(at, "保存修改").click().run()
    assert not at.exception
    (message,) = _errors(at)
    assert "居民同意率" in message and "0-1" in message
    assert "建成年份" in message and "1900" in message
    assert " / " not in message  # one language, picked
    assert open_workspace(sample_copy).audit_log().empty
    # The input is kept for the user to fix.
    assert at.number_input(key=edit_widget_key(BUILDING, 1, "willingness")).value == 1.5


def test_saving_without_a_user_name_is_refused(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    at = _run(monkeypatch, sample_copy, selected=BUILDING, user=None)
    at.number_input(key=edit_widget_key(BUILDING, 1, "households")).set_value(70)
    _button(at, "保存修改").click().run()
    assert any("姓名" in e for e in _errors(at))
    assert open_workspace(sample_copy).audit_log().empty


def test_a_stale_save_is_refused_shown_and_kept_then_applied_on_the_latest_version(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    at = _run(monkeypatch, sample_copy, selected=BUILDING)
    at.number_input(key=edit_widget_key(BUILDING, 1, "households")).set_value(70)
    # Someone else saves the record after the page loaded it.
    open_workspace(sample_copy).update(
        "communities", BUILDING, {"willingness": 0.5}, expected_version=1, user="阳江市住建局-李工"
    )
    _button(at, "保存修改").click().run()
    assert not at.exception
    (message,) = _errors(at)
    assert "李工" in message and "您的修改未保存" in message
    workspace = open_workspace(sample_copy)
    stored = workspace.read("communities").set_index("community_id").loc[BUILDING]
    assert stored["households"] == 65  # not overwritten
    assert stored["willingness"] == pytest.approx(0.5)
    assert stored["version"] == 2
    # The user's input is still in the form, and both values are shown side by side.
    assert at.number_input(key=edit_widget_key(BUILDING, 1, "households")).value == 70
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    compare = frames[("字段", "您的修改", "当前保存的值")]
    assert compare.values.tolist() == [["户数", "70", "65"]]

    _button(at, "以最新版本为准，保存我的修改").click().run()
    assert not at.exception
    assert not _errors(at)
    stored = open_workspace(sample_copy).read("communities").set_index("community_id").loc[BUILDING]
    assert stored["households"] == 70
    assert stored["willingness"] == pytest.approx(0.5)  # the other edit is kept
    assert stored["version"] == 3


def test_a_stale_edit_can_be_discarded_for_the_latest_data(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    at = _run(monkeypatch, sample_copy, selected=BUILDING)
    at.number_input(key=edit_widget_key(BUILDING, 1, "households")).set_value(70)
    open_workspace(sample_copy).update(
        "communities", BUILDING, {"households": 66}, expected_version=1, user="李工"
    )
    _button(at, "保存修改").click().run()
    _button(at, "放弃我的修改，载入最新数据").click().run()
    assert not at.exception
    assert not _errors(at)
    assert at.number_input(key=edit_widget_key(BUILDING, 2, "households")).value == 66
    assert (
        open_workspace(sample_copy)
        .read("communities")
        .set_index("community_id")
        .loc[BUILDING, "households"]
        == 66
    )


# ---------------------------------------------------------------------------
# Status events


def test_adding_a_status_event_appends_it_with_an_audit_row(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    before = open_workspace(sample_copy).read("status_events")
    at = _run(monkeypatch, sample_copy, selected=BUILDING)
    # The form proposes the next stage of the plan.
    assert at.selectbox(key=event_widget_key(BUILDING, 0, "stage")).value == "竣工验收"
    at.date_input(key=event_widget_key(BUILDING, 0, "date")).set_value(dt.date(2025, 11, 20))
    at.text_input(key=event_widget_key(BUILDING, 0, "note")).set_value("通过竣工验收")
    _button(at, "添加进度记录").click().run()
    assert not at.exception
    assert not _errors(at)
    assert any("已添加进度：竣工验收" in s.value for s in at.success)

    workspace = open_workspace(sample_copy)
    after = workspace.read("status_events")
    assert len(after) == len(before) + 1
    added = after.loc[~after["event_id"].isin(before["event_id"])].iloc[0]
    assert (added["community_id"], added["stage"], added["year"]) == (BUILDING, "竣工验收", 2025)
    assert added["date"] == pd.Timestamp("2025-11-20")
    assert added["user"] == USER
    assert len(workspace.audit_log(layer="status_events", record_id=added["event_id"])) == 1
    # The timeline and the status follow at once.
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    timeline = frames[("阶段", "日期", "计划年度", "填报人", "备注", "当前")]
    assert timeline["阶段"].tolist()[-1] == "项目实施 · 竣工验收"
    assert timeline["当前"].tolist()[-1] == "◀"
    assert _rows(at).set_index("编号").loc[BUILDING, "状态"] == "完工"
    # A fresh form for the next event.
    assert at.selectbox(key=event_widget_key(BUILDING, 1, "stage")).value == "移交"


def test_a_step_backwards_needs_a_note_and_is_then_appended(
    monkeypatch: pytest.MonkeyPatch, sample_copy: Path
) -> None:
    count = len(open_workspace(sample_copy).read("status_events"))
    at = _run(monkeypatch, sample_copy, selected=BUILDING)
    at.selectbox(key=event_widget_key(BUILDING, 0, "stage")).set_value("设计")
    _button(at, "添加进度记录").click().run()
    (message,) = _errors(at)
    assert "施工" in message and "备注" in message
    assert len(open_workspace(sample_copy).read("status_events")) == count

    at.text_input(key=event_widget_key(BUILDING, 0, "note")).set_value("更正：设计变更")
    _button(at, "添加进度记录").click().run()
    assert not _errors(at)
    assert any("更正记录" in s.value for s in at.success)
    assert len(open_workspace(sample_copy).read("status_events")) == count + 1
