"""The communities page (小区) in headless Chromium: click a community on the map, see its detail.

Uses the server, browser and request guard of tests/conftest.py and
tests/browser_support.py (every request to a host other than 127.0.0.1 /
localhost is refused and fails the test). Set ``RENOV_UPDATE_SCREENSHOTS=1`` to also write
``screenshots/communities.png``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser_support import (
    MAP_RENDER_TIMEOUT_S,
    click_a_community,
    save_screenshot,
    wait_for_map_frame,
    wait_for_more_paths,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
logger = logging.getLogger(__name__)

SCREENSHOT_VIEWPORT = {"width": 1440, "height": 2000}


@pytest.fixture(scope="module")
def expected_community_paths(workspace_copy: Path) -> int:
    """How many communities the explorer map draws with no filter (one path each)."""
    from gislib import maps
    from gislib.explore import community_table
    from gislib.store import open_workspace

    workspace = open_workspace(workspace_copy)
    communities = workspace.read("communities")
    table = community_table(communities, events=workspace.read("status_events"))
    drawn = len(maps.status_features(communities, table)["features"])
    assert drawn == len(communities) > 0
    return drawn


def test_click_a_community_on_the_map_shows_its_detail_offline(
    app_url: str,
    expected_community_paths: int,
    browser_page: tuple[Page, list[str], list[str]],
    tmp_path: Path,
) -> None:
    page, refused, requested = browser_page
    started = time.monotonic()
    page.goto(f"{app_url}/communities", wait_until="domcontentloaded")
    frame, count = wait_for_map_frame(
        page, minimum=expected_community_paths, timeout_s=MAP_RENDER_TIMEOUT_S
    )
    logger.info("communities map: %d paths after %.2f s", count, time.monotonic() - started)
    # Counties and urban areas are background: only the communities catch the mouse.
    assert count == expected_community_paths
    assert "改造状态" in frame.locator(".renov-legend").inner_text()
    assert page.get_by_text(f"显示 {expected_community_paths} / 共").count() == 1

    clicked = time.monotonic()
    name = click_a_community(page, frame)
    logger.info("detail of %s after %.2f s", name, time.monotonic() - clicked)
    for heading in ("基本信息", "资格审查", "改造内容与投资估算", "改造进度", "登记进度"):
        assert page.get_by_text(heading, exact=True).count() >= 1, heading
    assert page.get_by_text("编辑小区属性").count() == 1
    # The selection (outline and nearest mains) is drawn on the same map: the view is kept.
    wait_for_more_paths(page, frame, than=expected_community_paths, what="the selection")

    assert refused == []
    assert any(u.endswith("/app/static/leaflet/leaflet.js") for u in requested)
    save_screenshot(page, tmp_path, "communities.png", viewport=SCREENSHOT_VIEWPORT)
