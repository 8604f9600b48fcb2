"""The annual plan (年度计划) and EPC bundling (打包) pages in headless Chromium, offline.

Uses the server, browser and request guard of tests/conftest.py and
tests/browser_support.py (every request to a host other than 127.0.0.1 /
localhost is refused and fails the test). Set ``RENOV_UPDATE_SCREENSHOTS=1``
to also write ``screenshots/plan.png`` and ``screenshots/bundles.png``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser_support import MAP_RENDER_TIMEOUT_S, save_screenshot, wait_for_map_frame

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
logger = logging.getLogger(__name__)

SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1500}
STEP_TIMEOUT_MS = MAP_RENDER_TIMEOUT_S * 1000


@pytest.fixture(scope="module")
def planned_jiangcheng(workspace_copy: Path) -> int:
    """How many communities the plan puts in 江城区 in its last year (what the page bundles)."""
    from gislib.eligibility import check_workspace
    from gislib.policy import load_policy
    from gislib.scheduling import propose_plan
    from gislib.store import open_workspace

    workspace = open_workspace(workspace_copy)
    policy = load_policy()
    check = check_workspace(workspace, policy=policy)
    plan = propose_plan(check, policy=policy, events=workspace.read("status_events"))
    table = plan.to_frame()
    last = policy.years[-1]
    count = int(((table["year"] == last) & (table["county_code"] == "441702")).sum())
    assert count > 0
    return count


def test_the_annual_plan_page_shows_every_year_and_its_checks_offline(
    app_url: str, browser_page: tuple[Page, list[str], list[str]], tmp_path: Path
) -> None:
    page, refused, _ = browser_page
    started = time.monotonic()
    page.goto(f"{app_url}/plan", wait_until="domcontentloaded")
    page.get_by_text("计划满足全部规则").first.wait_for(timeout=STEP_TIMEOUT_MS)
    logger.info("plan page after %.2f s", time.monotonic() - started)
    assert page.get_by_text("调整计划").count() >= 1
    assert page.get_by_text("合成示例数据").count() >= 1
    assert refused == []
    save_screenshot(page, tmp_path, "plan.png", viewport=SCREENSHOT_VIEWPORT)


def test_bundling_draws_the_batches_on_an_offline_map(
    app_url: str,
    planned_jiangcheng: int,
    browser_page: tuple[Page, list[str], list[str]],
    tmp_path: Path,
) -> None:
    page, refused, requested = browser_page
    page.goto(f"{app_url}/bundles", wait_until="domcontentloaded")
    page.get_by_role("button", name="打包").wait_for(timeout=STEP_TIMEOUT_MS)
    started = time.monotonic()
    page.get_by_role("button", name="打包").click()
    page.get_by_text("全部批次连片且满足规模约束").wait_for(timeout=STEP_TIMEOUT_MS)
    frame, count = wait_for_map_frame(
        page, minimum=planned_jiangcheng, timeout_s=MAP_RENDER_TIMEOUT_S
    )
    logger.info("batch map: %d paths after %.2f s", count, time.monotonic() - started)
    assert count == planned_jiangcheng  # counties are background: one path per community
    assert "EPC 打包批次" in frame.locator(".renov-legend").inner_text()
    assert refused == []
    assert any(u.endswith("/app/static/leaflet/leaflet.js") for u in requested)
    save_screenshot(page, tmp_path, "bundles.png", viewport=SCREENSHOT_VIEWPORT)
