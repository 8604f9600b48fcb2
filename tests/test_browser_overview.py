"""The overview page in headless Chromium: the year's map offline, a year change keeps the view.

Uses the server, browser and workspace fixtures of tests/conftest.py
(every request to another host than 127.0.0.1 is refused and recorded). The
map is read through Leaflet itself (``window.map`` in the component frame):
the communities are counted by the colour the year gave them, so the check
holds whether the map draws on SVG or on a canvas. Set
``RENOV_UPDATE_SCREENSHOTS=1`` to write ``screenshots/overview.png``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser_support import MAP_RENDER_TIMEOUT_S, VIEWPORT, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Page

pytestmark = pytest.mark.browser
logger = logging.getLogger(__name__)

#: Part of the URL of the st_folium component frame.
MAP_FRAME_URL = "streamlit_folium.st_folium"
#: In the map frame: the fill colour of every community, or null before the map exists.
COMMUNITY_FILLS_JS = """() => {
  if (!window.map) { return null; }
  const fills = [];
  window.map.eachLayer(l => {
    if (l.feature && l.feature.properties && "community_id" in l.feature.properties) {
      fills.push(l.options.fillColor);
    }
  });
  return fills;
}"""
#: In the map frame: whether a legend names the year's end ("2023年底").
LEGEND_HAS_JS = """(text) => Array.from(document.querySelectorAll(".renov-legend"))
  .some(d => d.textContent.includes(text))"""
#: In the map frame: the view (centre, zoom) and a mark left on the map object.
VIEW_JS = """() => window.map ? {lat: window.map.getCenter().lat, lng: window.map.getCenter().lng,
  zoom: window.map.getZoom(), mark: window.map._renovProbe || null} : null"""
#: In the map frame: move the view to a point and zoom, mark the map object, wait for the move.
SET_VIEW_JS = """([lat, lng, zoom]) => new Promise(resolve => {
  window.map._renovProbe = "kept";
  window.map.once("moveend", () => resolve(true));
  window.map.setView([lat, lng], zoom, {animate: false});
})"""
#: In the map frame: a point (frame pixels) where the county path itself takes the click.
COUNTY_POINT_JS = """(code) => {
  let target = null;
  window.map.eachLayer(l => {
    if (l.feature && l.feature.id === code && l.feature.properties.county_code) { target = l; }
  });
  if (!target || !target._path) { return null; }
  const box = target._path.getBoundingClientRect();
  for (let i = 1; i < 20; i++) {
    for (let j = 1; j < 20; j++) {
      const x = box.left + box.width * i / 20, y = box.top + box.height * j / 20;
      if (document.elementFromPoint(x, y) === target._path) { return [x, y]; }
    }
  }
  return null;
}"""
# A point in central Jiangcheng and a zoom the page never opens on by itself.
PROBE_VIEW = (21.86, 111.97, 13)


def map_frame(page: Page) -> Frame | None:
    """The frame of the st_folium map, if it is there."""
    for frame in page.frames:
        if MAP_FRAME_URL in frame.url:
            return frame
    return None


def wait_for_year(
    page: Page, *, year: int, count: int, timeout_s: float
) -> tuple[Frame, list[str]]:
    """Wait until the map draws ``count`` communities coloured for ``year``; return their fills."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout_s
    seen: Any = None
    while time.monotonic() < deadline:
        frame = map_frame(page)
        if frame is not None:
            try:
                if frame.evaluate(LEGEND_HAS_JS, f"{year}年底"):
                    fills = frame.evaluate(COMMUNITY_FILLS_JS)
                    seen = None if fills is None else len(fills)
                    if fills is not None and len(fills) == count:
                        return frame, fills
            except PlaywrightError:  # the frame is replaced while Streamlit re-renders
                pass
        page.wait_for_timeout(25)
    pytest.fail(
        f"the map did not draw {count} communities for {year} in {timeout_s} s (saw {seen})",
        pytrace=False,
    )


def default_year() -> int:
    """The year the page opens on: this year, within the plan's years."""
    from gislib.policy import load_policy

    years = list(load_policy().years)
    return min(max(dt.date.today().year, years[0]), years[-1])


def expected_fills(workspace: Path, year: int, *, county: str | None = None) -> Counter[str]:
    """Communities per status colour as of ``year``'s end, computed from the events."""
    from gislib.planning import STATUS_COLOURS, Status, status_at
    from gislib.store import open_workspace

    ws = open_workspace(workspace)
    communities = ws.read("communities")
    if county is not None:
        communities = communities[communities["county_code"] == county]
    statuses = status_at(ws.read("status_events"), as_of=year)["status"]
    fills: Counter[str] = Counter()
    for cid in communities["community_id"].astype(str):
        fills[STATUS_COLOURS[statuses.get(cid, Status.NONE)]] += 1
    return fills


def test_overview_map_colours_every_community_for_the_year_offline(
    app_url: str,
    workspace_copy: Path,
    browser_page: tuple[Page, list[str], list[str]],
    tmp_path: Path,
) -> None:
    page, refused, requested = browser_page
    year = default_year()
    expected = expected_fills(workspace_copy, year)
    started = time.monotonic()
    page.goto(app_url, wait_until="domcontentloaded")
    frame, fills = wait_for_year(
        page, year=year, count=sum(expected.values()), timeout_s=MAP_RENDER_TIMEOUT_S
    )
    logger.info(
        "overview: %d communities coloured after %.2f s", len(fills), time.monotonic() - started
    )
    assert Counter(fills) == expected
    assert len(expected) >= 4  # several statuses, not one colour for all

    page.wait_for_timeout(1_000)  # late requests show up
    assert refused == []
    assert any(u.endswith("/app/static/leaflet/leaflet.js") for u in requested)
    labels = frame.locator(".renov-county-label").all_inner_texts()
    assert sorted(labels) == sorted(["江城区", "阳东区", "阳西县", "阳春市"])
    legends = " ".join(frame.locator(".renov-legend").all_inner_texts())
    assert f"小区状态（{year}年底）" in legends
    assert "已完工小区数" in legends
    assert page.get_by_text("合成示例数据").count() >= 1
    assert page.get_by_text("计划完成率").count() >= 1
    # The map fits in the window: its bottom edge is visible without scrolling.
    box = page.locator("iframe").first.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= VIEWPORT["height"]

    save_screenshot(page, tmp_path, "overview.png", viewport=VIEWPORT)


def click_year(page: Page, year: int) -> None:
    page.locator('[data-testid="stButtonGroup"] button', has_text=str(year)).first.click()


def test_a_year_change_recolours_the_map_and_keeps_the_view(
    app_url: str,
    workspace_copy: Path,
    browser_page: tuple[Page, list[str], list[str]],
) -> None:
    page, refused, _ = browser_page
    first = default_year()
    page.goto(app_url, wait_until="domcontentloaded")
    total = sum(expected_fills(workspace_copy, first).values())
    frame, _ = wait_for_year(page, year=first, count=total, timeout_s=MAP_RENDER_TIMEOUT_S)
    frame.evaluate(SET_VIEW_JS, list(PROBE_VIEW))
    before = frame.evaluate(VIEW_JS)
    assert before["zoom"] == PROBE_VIEW[2]

    for year in (2022, 2023):
        clicked = time.monotonic()
        click_year(page, year)
        frame, fills = wait_for_year(page, year=year, count=total, timeout_s=MAP_RENDER_TIMEOUT_S)
        logger.info("year %d drawn %.2f s after the click", year, time.monotonic() - clicked)
        assert Counter(fills) == expected_fills(workspace_copy, year)
        after = frame.evaluate(VIEW_JS)
        assert after == before  # same map object (mark kept), same centre and zoom
    assert expected_fills(workspace_copy, 2022) != expected_fills(workspace_copy, 2023)
    assert refused == []


def test_clicking_a_county_opens_it_and_whole_city_goes_back(
    app_url: str,
    workspace_copy: Path,
    browser_page: tuple[Page, list[str], list[str]],
) -> None:
    page, refused, _ = browser_page
    year = default_year()
    page.goto(app_url, wait_until="domcontentloaded")
    total = sum(expected_fills(workspace_copy, year).values())
    frame, _ = wait_for_year(page, year=year, count=total, timeout_s=MAP_RENDER_TIMEOUT_S)
    page.wait_for_timeout(500)  # the frame settles to its final size
    point = frame.evaluate(COUNTY_POINT_JS, "441781")
    assert point is not None, "no point of 阳春市 takes the click"
    frame.locator("body").click(position={"x": point[0], "y": point[1]})

    yangchun = expected_fills(workspace_copy, year, county="441781")
    frame, fills = wait_for_year(
        page, year=year, count=sum(yangchun.values()), timeout_s=MAP_RENDER_TIMEOUT_S
    )
    assert Counter(fills) == yangchun
    page.get_by_text("按街道与年份").first.wait_for()
    assert page.get_by_text("春城街道").count() >= 1

    page.get_by_role("button", name="返回全市").click()
    wait_for_year(page, year=year, count=total, timeout_s=MAP_RENDER_TIMEOUT_S)
    page.get_by_text("按区县与年份").first.wait_for()
    assert refused == []
