"""The data exchange page (数据) in headless Chromium, with no request leaving the machine.

One upload-validate-import cycle (a zipped GBK shapefile with Chinese headers,
one self-intersecting outline that validation repairs, and a column it does
not know), then a shapefile download of the communities. Uses the app server,
the Chromium page and the local-only request guard of :mod:`tests.test_browser`.
Set ``RENOV_UPDATE_SCREENSHOTS=1`` to write ``screenshots/data.png`` (the
validation report, before the import is confirmed).
"""

from __future__ import annotations

import logging
import re
import shutil
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from tests import badfiles as bf
from tests.browser_support import MAP_RENDER_TIMEOUT_S, save_screenshot, wait_for_map_frame

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
logger = logging.getLogger(__name__)

SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1280}
UPLOAD_NAME = "江城区新增小区.zip"
NEW_IDS = ["JC-2024-101", "JC-2024-102", "JC-2024-103", "JC-2024-104"]
USER = "江城区住建局-测试"
STEP_TIMEOUT_MS = MAP_RENDER_TIMEOUT_S * 1000


def _upload_file(folder: Path) -> Path:
    """A zipped GBK shapefile of four new communities with Chinese headers.

    The fourth outline is a bow-tie (self-intersecting), which validation
    repairs; the column 备注 is not in the schema and is kept as it is.
    """
    (x0, y0), (x1, y1), (x2, y2) = bf.COMMUNITY_CENTRES
    half = bf.HALF_SIDE_DEG
    bow_tie = Polygon(
        [(x1, y0), (x1 + 2 * half, y0 + 2 * half), (x1 + 2 * half, y0), (x1, y0 + 2 * half)]
    )
    frame = gpd.GeoDataFrame(
        {
            "小区编号": NEW_IDS,
            "小区名称": ["金山路小区", "渔港新村", "江城一中宿舍", "石湾北路小区"],
            "所属区县": ["江城区"] * 4,
            "街道": ["南恩街道", "城南街道", "城北街道", "城西街道"],
            "建成年份": [1993, 1997, 2001, 1999],
            "户数": [180, 96, 64, 120],
            "备注": ["2024年新增", "", "需核实", ""],
        },
        geometry=[
            MultiPolygon([box(x0 + 0.004, y0, x0 + 0.004 + 2 * half, y0 + 2 * half)]),
            MultiPolygon([box(x1 + 0.004, y1, x1 + 0.004 + 2 * half, y1 + 2 * half)]),
            MultiPolygon([box(x2 + 0.004, y2, x2 + 0.004 + 2 * half, y2 + 2 * half)]),
            MultiPolygon([bow_tie]),
        ],
        crs="EPSG:4490",
    )
    parts = folder / "parts"
    parts.mkdir()
    frame.to_file(parts / "communities.shp", encoding="GBK")
    target = folder / UPLOAD_NAME
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(parts.iterdir()):
            archive.write(part, part.name)
    shutil.rmtree(parts)
    return target


def _commit_user_name(page: Page) -> None:
    field = page.get_by_label("用户名（记入审计日志）")
    field.fill(USER)
    field.press("Enter")


def test_upload_validate_import_and_download_a_shapefile_offline(
    app_url: str,
    workspace_copy: Path,
    browser_page: tuple[Page, list[str], list[str]],
    tmp_path: Path,
) -> None:
    from gislib.io.export import read_shapefile_zip
    from gislib.store import open_workspace

    page, refused, requested = browser_page
    before = open_workspace(workspace_copy).ids("communities")
    assert not set(NEW_IDS) & before
    upload = _upload_file(tmp_path)

    page.goto(f"{app_url}/data", wait_until="domcontentloaded")
    page.get_by_text("确认后才写入工作区").wait_for(timeout=STEP_TIMEOUT_MS)
    _commit_user_name(page)
    started = time.monotonic()
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_text("校验通过：4 条记录可以导入").wait_for(timeout=STEP_TIMEOUT_MS)
    logger.info("validation report after %.2f s", time.monotonic() - started)
    assert page.get_by_text(UPLOAD_NAME).count() >= 1
    # The preview draws the four records (counties and urban areas are background).
    frame, count = wait_for_map_frame(page, minimum=4, timeout_s=MAP_RENDER_TIMEOUT_S)
    assert count == 4
    assert "待导入的老旧小区（4 条）" in frame.locator(".renov-legend").inner_text()
    # Nothing is written before the confirmation.
    assert open_workspace(workspace_copy).ids("communities") == before

    save_screenshot(page, tmp_path, "data.png", viewport=SCREENSHOT_VIEWPORT)

    confirm = page.get_by_role("button", name=re.compile("确认导入 4 条记录"))
    confirm.wait_for()
    assert confirm.is_enabled()
    confirm.click()
    page.get_by_text(f"已从 {UPLOAD_NAME} 导入 4 条记录").wait_for(timeout=STEP_TIMEOUT_MS)
    workspace = open_workspace(workspace_copy)
    after = workspace.ids("communities")
    assert after == before | set(NEW_IDS)
    last = workspace.audit_log().iloc[-1]
    assert (last["user"], last["note"]) == (USER, f"import {UPLOAD_NAME}")

    page.get_by_role("tab", name="导出").click()
    page.get_by_role("button", name="生成文件").click()
    download_button = page.get_by_role("button", name=re.compile("下载 communities_EPSG4490.zip"))
    download_button.wait_for(timeout=STEP_TIMEOUT_MS)
    with page.expect_download(timeout=STEP_TIMEOUT_MS) as info:
        download_button.click()
    saved = tmp_path / "download" / info.value.suggested_filename
    saved.parent.mkdir()
    info.value.save_as(saved)
    assert saved.name == "communities_EPSG4490.zip"
    exported = read_shapefile_zip(saved)
    assert len(exported) == len(after)
    assert set(NEW_IDS) <= set(exported["community_id"])
    assert exported.crs.to_epsg() == 4490

    assert refused == []
    assert any(u.endswith("/app/static/leaflet/leaflet.js") for u in requested)
