"""The running app in headless Chromium: the overview map draws offline, nothing leaves the machine.

Starts ``streamlit run app.py`` on a free local port against a temporary copy
of the sample workspace, drives Debian's ``/usr/bin/chromium`` with
Playwright (never ``playwright install``), refuses every request to a host
other than 127.0.0.1 / localhost, and checks that the map inside the
component frame draws one interactive path per county and per community.

A missing Chromium or Streamlit fails the test (CI installs Chromium); set
``RENOV_SKIP_BROWSER=1`` to skip on purpose. Set
``RENOV_UPDATE_SCREENSHOTS=1`` to also write the screenshots of the README
(``screenshots/overview.png`` is written by tests/test_browser_overview.py).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser_support import (
    MAP_RENDER_TIMEOUT_S,
    ROOT,
    VIEWPORT,
    click_a_community,
    save_screenshot,
    wait_for_map_frame,
    wait_for_more_paths,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
logger = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def expected_paths(workspace_copy: Path) -> int:
    """How many interactive paths the map builder reports for the workspace."""
    from gislib import maps
    from gislib.store import open_workspace

    workspace = open_workspace(workspace_copy)
    built = maps.overview_map(
        counties=workspace.read("counties"),
        urban_areas=workspace.read("urban_areas"),
        communities=workspace.read("communities"),
    )
    assert built.drawn["communities"] > 0
    return built.interactive_count


def test_overview_map_draws_every_feature_offline(
    app_url: str,
    expected_paths: int,
    browser_page: tuple[Page, list[str], list[str]],
    tmp_path: Path,
) -> None:
    page, refused, requested = browser_page
    started = time.monotonic()
    page.goto(app_url, wait_until="domcontentloaded")
    frame, _ = wait_for_map_frame(page, minimum=1, timeout_s=MAP_RENDER_TIMEOUT_S)
    first_render_s = time.monotonic() - started
    frame, count = wait_for_map_frame(page, minimum=expected_paths, timeout_s=MAP_RENDER_TIMEOUT_S)
    complete_s = time.monotonic() - started
    logger.info(
        "map: first path after %.2f s, all %d paths after %.2f s",
        first_render_s,
        expected_paths,
        complete_s,
    )

    page.wait_for_timeout(1_000)  # let late requests show up
    count = frame.locator("path.leaflet-interactive").count()
    assert count == expected_paths
    assert refused == []
    assert any(u.endswith("/app/static/leaflet/leaflet.js") for u in requested)
    labels = frame.locator(".renov-county-label").all_inner_texts()
    assert "江城区" in labels
    assert "阳春市" in labels
    banner = page.get_by_text("合成示例数据")
    assert banner.count() >= 1

    # The map fits in the window: its bottom edge is visible without scrolling.
    iframe = page.locator("iframe").first
    box = iframe.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= VIEWPORT["height"]

    shot = tmp_path / "overview.png"  # screenshots/overview.png: tests/test_browser_overview.py
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


def test_tooltip_shows_a_malicious_community_name_as_text(
    browser_page: tuple[Page, list[str], list[str]], tmp_path: Path
) -> None:
    import geopandas as gpd
    from shapely.geometry import MultiPolygon, box

    from gislib import maps

    lon, lat = 111.97, 21.86
    name = "<img src=x onerror=alert(1)>"
    counties = gpd.GeoDataFrame(
        {"code": ["441702"], "name": ["江城区"]},
        geometry=[MultiPolygon([box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)])],
        crs="EPSG:4490",
    )
    communities = gpd.GeoDataFrame(
        {"community_id": ["C1"], "name": [name], "county_code": ["441702"], "build_year": [2003]},
        geometry=[MultiPolygon([box(lon - 0.002, lat - 0.002, lon + 0.002, lat + 0.002)])],
        crs="EPSG:4490",
    )
    built = maps.overview_map(
        counties=counties,
        urban_areas=counties.iloc[:0],
        communities=communities,
        asset_base_url=(ROOT / "static" / "leaflet").as_uri(),
    )
    page_file = tmp_path / "map.html"
    page_file.write_text(maps.map_html(built.map), encoding="utf-8")

    page, refused, _ = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(page_file.as_uri())
    page.wait_for_selector("path.leaflet-interactive")
    paths = page.locator("path.leaflet-interactive")
    assert paths.count() == built.interactive_count == 2
    box_ = paths.nth(1).bounding_box()  # the community, drawn above the county
    page.mouse.move(box_["x"] + box_["width"] / 2, box_["y"] + box_["height"] / 2)
    tip = page.locator(".renov-tip")
    tip.wait_for()
    text = tip.inner_text()
    assert name in text
    assert "2003" in text
    assert "2,003" not in text
    assert tip.locator("img").count() == 0
    assert dialogs == []
    assert refused == []


# ---------------------------------------------------------------------------
# Eligibility page: click a community on the map, read its reasons

# A reason every community has (the scope rule), in Chinese.
_SCOPE_REASON = "位于城区范围内的面积占"
SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1640}


@pytest.fixture(scope="module")
def expected_eligibility_paths(workspace_copy: Path) -> int:
    """How many interactive paths the eligibility map draws before a selection."""
    from gislib import maps
    from gislib.eligibility import check_workspace
    from gislib.policy import load_policy
    from gislib.store import open_workspace

    workspace = open_workspace(workspace_copy)
    check = check_workspace(workspace, policy=load_policy())
    built = maps.eligibility_map(
        check.communities,
        check.result.summary,
        zones=workspace.read("expropriation_zones"),
        counties=workspace.read("counties"),
    )
    assert built.drawn["communities"] == len(check.communities) > 0
    return built.interactive_count


def test_eligibility_click_on_a_community_shows_its_reasons_offline(
    app_url: str,
    expected_eligibility_paths: int,
    browser_page: tuple[Page, list[str], list[str]],
    tmp_path: Path,
) -> None:
    from gislib import maps

    page, refused, requested = browser_page
    started = time.monotonic()
    page.goto(f"{app_url}/eligibility", wait_until="domcontentloaded")
    frame, count = wait_for_map_frame(
        page, minimum=expected_eligibility_paths, timeout_s=MAP_RENDER_TIMEOUT_S
    )
    logger.info("eligibility map: %d paths after %.2f s", count, time.monotonic() - started)
    assert count == expected_eligibility_paths
    assert "不符合改造条件" in frame.locator(".renov-legend").inner_text()

    fills = [maps.VERDICT_COLOURS[v] for v in ("ineligible", "conditional", "eligible")]
    clicked = time.monotonic()
    name = click_a_community(page, frame, fills=fills)
    page.get_by_text(_SCOPE_REASON).first.wait_for()
    logger.info("detail of %s after %.2f s", name, time.monotonic() - clicked)
    assert page.get_by_text("逐条审查依据").count() == 1
    # The nearest mains of the community are drawn on the same map (view kept).
    wait_for_more_paths(page, frame, than=expected_eligibility_paths, what="the nearest mains")

    assert refused == []
    assert any(u.endswith("/app/static/leaflet/leaflet.js") for u in requested)
    save_screenshot(page, tmp_path, "eligibility.png", viewport=SCREENSHOT_VIEWPORT)
