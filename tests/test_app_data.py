"""Tests of the data exchange page (数据) with Streamlit's AppTest (no browser).

Upload, validation report, confirmation and import; refusals that disable the
import; the temporary folder that never outlives a run; export on request;
and the sidebar helpers the page shares (user name, basemap).
"""

from __future__ import annotations

import hashlib
import tempfile
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from gislib import settings
from gislib.store import open_workspace
from gislib.ui.common import BASEMAP_KEY, LANG_KEY, USER_KEY
from gislib.ui.data import (
    CONFIRM_KEY,
    EXPORT_CRS_KEY,
    EXPORT_ENCODING_KEY,
    EXPORT_FORMAT_KEY,
    EXPORT_LAYER_KEY,
    IMPORT_CRS_KEY,
    PREPARE_KEY,
    UPLOAD_TYPES,
)
from tests import badfiles as bf

ROOT = Path(__file__).resolve().parents[1]
# The first run imports geopandas, folium and streamlit-folium: allow for a slow machine.
TIMEOUT_S = 60
ZIP_MIME = "application/zip"


def _data_page() -> None:
    from gislib.ui import data
    from gislib.ui.common import language_switch

    language_switch()
    data.render()


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder every temporary file of the page goes to (checked empty after runs)."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path, scratch: Path) -> AppTest:
    monkeypatch.setenv("RENOV_WORKSPACE", str(tiny_workspace))
    at = AppTest.from_function(_data_page, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    return at


def _upload(at: AppTest, path: Path, mime: str = ZIP_MIME) -> AppTest:
    at.file_uploader[0].set_value((path.name, path.read_bytes(), mime))
    return at.run()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """A table as the user reads it (st.table cells are Markdown-escaped)."""
    return table.map(lambda cell: str(cell).replace("\\", ""))


def _metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_page_loads_and_explains_that_nothing_is_written_before_confirmation(
    page: AppTest,
) -> None:
    assert not page.error
    assert "合成示例数据" in page.warning[0].value
    assert "确认后才写入工作区" in page.info[0].value
    uploader = page.file_uploader[0]
    assert sorted(uploader.allowed_type) == sorted(f".{s}" for s in UPLOAD_TYPES)
    assert set(UPLOAD_TYPES) == {"zip", "gpkg", "geojson", "json", "kml", "kmz", "xlsx", "csv"}
    assert uploader.proto.max_upload_size_mb == settings.max_input_bytes // (1024 * 1024)


def test_the_upload_limit_in_config_matches_the_library_limit() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == settings.max_input_bytes


def test_a_good_file_shows_the_report_and_imports_only_after_confirmation(
    page: AppTest, tiny_workspace: Path, tmp_path: Path, scratch: Path
) -> None:
    before = _digest(tiny_workspace)
    at = _upload(page, bf.good_communities(tmp_path))
    assert not at.exception
    assert not at.error
    metrics = _metric_values(at)
    assert metrics["记录"] == "3"
    assert metrics["拒绝"] == "0"
    assert metrics["原坐标系"] == "EPSG:4490"
    assert "3 条记录可以导入" in at.success[0].value
    columns = at.dataframe[0].value
    mapping = dict(zip(columns["文件中的列"], columns["对应字段"], strict=True))
    assert mapping["build_yr"] == "建成年份（build_year）"
    # Nothing written yet, and the upload's temporary folder is gone.
    assert _digest(tiny_workspace) == before
    assert list(scratch.iterdir()) == []
    confirm = at.button(key=CONFIRM_KEY)
    assert confirm.disabled  # no user name yet
    assert any("填写用户名" in c.value for c in at.caption)

    at.sidebar.text_input(key=USER_KEY).set_value("江城区住建局-张工").run()
    assert not at.button(key=CONFIRM_KEY).disabled
    at.button(key=CONFIRM_KEY).click().run()
    assert not at.exception
    assert not at.error
    assert "导入 3 条记录" in at.success[0].value
    workspace = open_workspace(tiny_workspace)
    assert {r["community_id"] for r in bf.COMMUNITY_RECORDS} <= workspace.ids("communities")
    last = workspace.audit_log().iloc[-1]
    assert (last["user"], last["action"], last["layer"]) == (
        "江城区住建局-张工",
        "append",
        "communities",
    )
    assert last["note"] == "import good_communities.zip"
    # The uploader is empty again, so the same file cannot be imported twice by accident.
    assert at.file_uploader[0].value is None
    assert list(scratch.iterdir()) == []


def test_a_refused_file_disables_the_import_and_says_why(
    page: AppTest, tiny_workspace: Path, tmp_path: Path
) -> None:
    before = _digest(tiny_workspace)
    page.sidebar.text_input(key=USER_KEY).set_value("张工")
    page.selectbox(key=IMPORT_CRS_KEY).set_value("EPSG:4490").run()
    at = _upload(page, bf.bad_values_csv(tmp_path), "text/csv")
    assert not at.exception
    assert "未通过校验" in at.error[0].value
    assert "未写入任何数据" in at.error[0].value
    assert at.button(key=CONFIRM_KEY).disabled
    assert any("不能导入" in c.value for c in at.caption)
    refusals = _plain(at.table[0].value)
    assert refusals.columns.tolist() == ["记录", "编号", "字段", "说明"]
    first = [m for r, m in zip(refusals["记录"], refusals["说明"], strict=True) if r == "1"]
    assert any("199x" in m and "JC-BAD-001" in m for m in first)
    assert "JC-BAD-004" in refusals["编号"].tolist()
    assert "所属区县（county_code）" in refusals["字段"].tolist()
    assert _digest(tiny_workspace) == before


def test_the_report_follows_the_language_switch(page: AppTest, tmp_path: Path) -> None:
    page.radio(key=LANG_KEY).set_value("en").run()
    page.selectbox(key=IMPORT_CRS_KEY).set_value("EPSG:4490").run()
    at = _upload(page, bf.bad_values_csv(tmp_path), "text/csv")
    assert not at.exception
    assert at.subheader[0].value == "Yangjiang renovation · data exchange"
    assert "Refused" in at.error[0].value
    refusals = _plain(at.table[0].value)
    assert refusals.columns.tolist() == ["Record", "Id", "Field", "Message"]
    assert "not understood" in " ".join(refusals["Message"])
    assert not any("第 1 条" in m for m in refusals["Message"])


def test_the_source_crs_option_is_passed_to_the_validation(page: AppTest, tmp_path: Path) -> None:
    at = _upload(page, bf.projected_without_crs(tmp_path))
    assert not at.exception
    assert "EPSG:4546" in at.error[0].value  # no CRS in the file: the message suggests one
    assert not at.metric
    at.selectbox(key=IMPORT_CRS_KEY).set_value("EPSG:4546").run()
    assert not at.exception
    assert not at.error
    assert _metric_values(at)["原坐标系"] == "EPSG:4546"
    assert "3 条记录可以导入" in at.success[0].value


def test_a_file_that_cannot_be_read_shows_a_message_and_leaves_no_temporary_file(
    page: AppTest, tmp_path: Path, scratch: Path
) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"this is not a zip archive")
    at = _upload(page, broken)
    assert not at.exception
    assert "broken.zip" in at.error[0].value
    assert list(scratch.iterdir()) == []


def test_the_uploaded_file_name_cannot_leave_the_temporary_folder() -> None:
    from gislib.ui.data import _safe_file_name

    assert _safe_file_name("../../etc/小区.zip") == "小区.zip"
    assert _safe_file_name("..\\..\\x.CSV") == "x.CSV"
    assert _safe_file_name("a\x00b.gpkg") == "ab.gpkg"
    assert _safe_file_name(".zip") == "upload.zip"
    assert _safe_file_name("notes.exe") == "upload"


def test_export_builds_the_file_only_when_asked(page: AppTest, scratch: Path) -> None:
    assert not page.get("download_button")
    page.selectbox(key=EXPORT_LAYER_KEY).set_value("communities")
    page.selectbox(key=EXPORT_FORMAT_KEY).set_value("shp")
    page.selectbox(key=EXPORT_CRS_KEY).set_value("EPSG:4546")
    page.selectbox(key=EXPORT_ENCODING_KEY).set_value("GBK")
    at = page.run()
    assert not at.get("download_button")
    at.button(key=PREPARE_KEY).click().run()
    assert not at.exception
    assert not at.error
    (download,) = at.get("download_button")
    assert download.label == "下载 communities_EPSG4546.zip"
    assert list(scratch.iterdir()) == []
    # Another choice drops the prepared file until it is prepared again.
    at.selectbox(key=EXPORT_FORMAT_KEY).set_value("gpkg").run()
    assert not at.get("download_button")


def test_export_bytes_are_the_layer_in_the_chosen_crs_and_encoding(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path, tmp_path: Path
) -> None:
    from gislib.io.export import read_shapefile_zip
    from gislib.ui import common, data

    monkeypatch.setattr(
        common,
        "load_layers",
        lambda ref, layers: {name: open_workspace(tiny_workspace).read(name) for name in layers},
    )
    ref = common.WorkspaceRef(path=tiny_workspace, mtime_ns=0, meta={})
    payload = data._export_bytes(ref, "communities", "shp", "EPSG:4546", "GBK")
    target = tmp_path / "out.zip"
    target.write_bytes(payload)
    back = read_shapefile_zip(target)
    assert sorted(back["community_id"]) == ["C1", "C2", "C3"]
    assert "新华路3号大院" in back["name"].tolist()


def test_an_export_the_format_cannot_hold_shows_the_library_message(page: AppTest) -> None:
    page.selectbox(key=EXPORT_LAYER_KEY).set_value("communities")
    page.selectbox(key=EXPORT_FORMAT_KEY).set_value("geojson")
    page.selectbox(key=EXPORT_CRS_KEY).set_value("EPSG:4546")
    at = page.run()
    at.button(key=PREPARE_KEY).click().run()
    assert not at.exception
    assert "GeoJSON" in at.error[0].value
    assert "WGS84" in at.error[0].value
    assert not at.get("download_button")


# ---------------------------------------------------------------------------
# Sidebar helpers shared with the other pages (gislib.ui.common)


def _sidebar_page() -> None:
    import streamlit as st

    from gislib.ui.common import basemap_choice, current_user

    if st.session_state.get("show-sidebar", True):
        chosen = basemap_choice()
        st.text(f"{chosen.name}|{current_user()}")


def test_the_basemap_is_none_by_default_and_tianditu_needs_a_key() -> None:
    at = AppTest.from_function(_sidebar_page, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    selector = at.sidebar.selectbox(key=BASEMAP_KEY)
    assert selector.value == "none"
    assert selector.options[:3] == [
        "无底图（区县与城区轮廓）",
        "OpenStreetMap（需联网）",
        "高德地图（需联网，数据转为 GCJ-02）",
    ]
    assert len(selector.options) == 3
    assert any("天地图不可用" in c.value for c in at.sidebar.caption)
    assert at.text[0].value == "none|"

    keyed = AppTest.from_function(_sidebar_page, default_timeout=TIMEOUT_S)
    keyed.secrets["tianditu_key"] = "test-key"
    keyed.run()
    assert keyed.sidebar.selectbox(key=BASEMAP_KEY).options[-1] == "天地图（需联网和密钥）"
    keyed.sidebar.selectbox(key=BASEMAP_KEY).set_value("tianditu").run()
    assert keyed.text[0].value == "tianditu|"


def test_basemap_and_user_survive_a_page_without_the_sidebar_widgets() -> None:
    at = AppTest.from_function(_sidebar_page, default_timeout=TIMEOUT_S)
    at.run()
    at.sidebar.selectbox(key=BASEMAP_KEY).set_value("amap")
    at.sidebar.text_input(key=USER_KEY).set_value(" 李工 ")
    at.run()
    assert at.text[0].value == "amap|李工"
    at.session_state["show-sidebar"] = False  # another page, without the widgets
    at.run()
    at.run()
    at.session_state["show-sidebar"] = True
    at.run()
    assert not at.exception
    assert at.text[0].value == "amap|李工"


def test_local_tiles_are_offered_when_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gislib.ui import common

    static = tmp_path / "static"
    tile = static / "tiles" / "yj" / "12" / "3300"
    tile.mkdir(parents=True)
    (tile / "1800.png").write_bytes(b"\x89PNG")
    monkeypatch.setattr(common, "_STATIC_DIR", static)
    monkeypatch.setenv(common.TILES_ENV_VAR, "static/tiles/yj")
    at = AppTest.from_function(_sidebar_page, default_timeout=TIMEOUT_S)
    at.run()
    selector = at.sidebar.selectbox(key=BASEMAP_KEY)
    assert selector.options[-1] == "本地瓦片"
    selector.set_value("local").run()
    assert at.text[0].value == "local|"

    monkeypatch.setenv(common.TILES_ENV_VAR, "static/tiles/missing")
    broken = AppTest.from_function(_sidebar_page, default_timeout=TIMEOUT_S)
    broken.run()
    assert "本地瓦片" not in broken.sidebar.selectbox(key=BASEMAP_KEY).options
    assert any("本地瓦片不可用" in c.value for c in broken.sidebar.caption)


def test_a_long_list_of_refusals_scrolls_in_a_frame(page: AppTest, tmp_path: Path) -> None:
    rows = [f"JC-LONG-{i:03d},小区{i},江城区,1995" for i in range(1, 61)]
    csv = tmp_path / "long.csv"
    csv.write_text(
        "小区编号,小区名称,所属区县,建成年份\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    page.selectbox(key=IMPORT_CRS_KEY).set_value("EPSG:4490").run()
    at = _upload(page, csv, "text/csv")
    assert not at.exception
    assert _metric_values(at)["拒绝"] == "60"  # no geometry in any record
    refusals = at.dataframe[0].value
    assert len(refusals) == 60
    assert refusals["编号"].tolist()[-1] == "JC-LONG-060"
    assert any("共 60 条" in c.value for c in at.caption)
    assert at.button(key=CONFIRM_KEY).disabled


def test_the_user_name_kept_by_another_page_is_reused() -> None:
    from gislib.ui.common import USER_NAME_KEY

    at = AppTest.from_function(_sidebar_page, default_timeout=TIMEOUT_S)
    at.session_state[USER_NAME_KEY] = "王工"  # what the communities page keeps
    at.run()
    assert at.sidebar.text_input(key=USER_KEY).value == "王工"
    assert at.text[0].value == "none|王工"
    at.sidebar.text_input(key=USER_KEY).set_value("赵工").run()
    assert at.session_state[USER_NAME_KEY] == "赵工"
