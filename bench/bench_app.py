"""Speed of the overview page in a real browser: first render, year change, 20k communities.

Issue 4, "Speed". Starts ``streamlit run app.py`` on 127.0.0.1 against a
copy of the sample workspace (600 communities) and against a synthetic
workspace of ``n`` communities (the sample's communities tiled and jittered,
with their status events, built with :func:`gislib.store.create_workspace` in
a temporary folder), and drives Debian's ``/usr/bin/chromium`` with
Playwright. Chromium resolves no host name but this machine's, and every
request to another host is recorded (none is expected). For each workspace:

* ``cold server``: the very first request to a fresh server (imports,
  reading the workspace, the investment estimate, every cache filled);
* ``first render``: a new page load on the warm server, from ``goto`` until
  the map has drawn every community in the colour of the year (read from
  Leaflet in the component frame), median of ``--runs``; in a new browser
  (empty profile: Streamlit's ~100 scripts downloaded and compiled) and in a
  browser that has the page in its HTTP cache;
* ``year change``: from a click on a year until every community has the
  new year's colour, with the view moved beforehand and checked unchanged
  afterwards (same map object, centre and zoom), median of ``--runs``;
* ``python``: the page's map work alone in this process: preparing the
  geometry once (:func:`gislib.maps.overview_data`), then per run building the
  maps and the script ``st_folium`` sends, and its size;
* ``map page alone``: the browser alone drawing the same map from a file,
  with SVG and with a canvas (:data:`gislib.maps.CANVAS_MIN_FEATURES`).

Usage::

    uv run python bench/bench_app.py                     # sample and 20,000
    uv run python bench/bench_app.py --sizes sample --runs 9
    uv run python bench/bench_app.py --sizes 20000 --keep /tmp/bench-app

Prints Markdown to paste into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(ROOT))

from gislib.datasets import sample_workspace_path  # noqa: E402
from gislib.schema import MEASURE_CRS, STORAGE_CRS  # noqa: E402
from gislib.store import RasterSpec, create_workspace, open_workspace  # noqa: E402
from tests.browser_support import CHROMIUM, app_server, local_only_page  # noqa: E402
from tests.test_browser_overview import (  # noqa: E402
    COMMUNITY_FILLS_JS,
    LEGEND_HAS_JS,
    PROBE_VIEW,
    SET_VIEW_JS,
    VIEW_JS,
    default_year,
    map_frame,
)

# Jitter of each tiled copy of a community (metres, EPSG:4546), so copies spread
# over a few kilometres around the original instead of stacking on it.
JITTER_M = 3_000.0
SERVER_START_TIMEOUT_S = 120
RENDER_TIMEOUT_S = 600
POLL_MS = 20
# Targets of issue 4 (seconds).
TARGET_FIRST_S = 1.5
TARGET_YEAR_S = 0.5
TARGET_LARGE_S = 5.0


# ---------------------------------------------------------------------------
# The synthetic workspace


def synthetic_workspace(path: Path, n: int, *, seed: int = 4) -> Path:
    """A workspace of ``n`` communities: the sample's, tiled and jittered, with their events.

    Copy ``k`` of community ``X`` is ``X-kNN``, moved by a random offset of up
    to :data:`JITTER_M` metres; its status events are the original's. Every
    other layer and the rasters are the sample's. Marked synthetic.
    """
    sample = open_workspace(sample_workspace_path())
    layers = {name: sample.read(name) for name in sample.layer_names()}
    base = layers["communities"]
    events = layers["status_events"]
    rng = np.random.default_rng(seed)
    copies, event_copies = [], []
    for k in range(-(-n // len(base))):
        part = base.copy()
        if k:
            measured = np.asarray(part.geometry.to_crs(MEASURE_CRS).array)
            coords, owner = shapely.get_coordinates(measured, return_index=True)
            offsets = rng.uniform(-JITTER_M, JITTER_M, size=(len(part), 2))
            moved = shapely.set_coordinates(measured.copy(), coords + offsets[owner])
            part = part.set_geometry(
                gpd.GeoSeries(moved, index=part.index, crs=MEASURE_CRS).to_crs(STORAGE_CRS)
            )
            suffix = f"-k{k:02d}"
            part["community_id"] = part["community_id"].astype(str) + suffix
            copied = events.copy()
            copied["community_id"] = copied["community_id"].astype(str) + suffix
            copied["event_id"] = copied["event_id"].astype(str) + suffix
            event_copies.append(copied)
        else:
            event_copies.append(events)
        copies.append(part)
    communities = pd.concat(copies, ignore_index=True).iloc[:n]
    kept = set(communities["community_id"].astype(str))
    all_events = pd.concat(event_copies, ignore_index=True)
    layers["communities"] = communities.drop(columns=["version"], errors="ignore")
    layers["status_events"] = all_events[all_events["community_id"].astype(str).isin(kept)]
    rasters = {}
    for name in sample.raster_names():
        with sample.open_raster(name) as src:
            rasters[name] = RasterSpec(
                array=src.read(1),
                transform=src.transform,
                crs=str(src.crs),
                nodata=float(src.nodata),
                description=src.descriptions[0] or "",
            )
    return create_workspace(
        path,
        layers=layers,
        rasters=rasters,
        meta={"title": f"性能测试：{n} 个合成小区 / benchmark: {n} synthetic", "synthetic": "true"},
    )


# ---------------------------------------------------------------------------
# The app and the browser


@dataclass
class Browser:
    """A Chromium page that cannot reach another host than this machine."""

    page: Any
    refused: list[str]


# Every host name but the local ones resolves to nothing, inside Chromium: no
# request can leave the machine, and unlike Playwright's request routing (which
# the tests use to name the offending URL) it adds no delay to the ~100 requests
# of a Streamlit page. Requests to other hosts are still recorded.
BLOCK_OTHER_HOSTS = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


@contextlib.contextmanager
def browser(profile: Path) -> Iterator[Browser]:
    """Chromium without Playwright's router (its delay would be measured); see BLOCK_OTHER_HOSTS."""
    with local_only_page(
        profile, route=False, extra_args=(BLOCK_OTHER_HOSTS,), init_script=MARK_HEADING_JS
    ) as (page, refused, _):
        yield Browser(page, refused)


def wait_coloured(page: Any, *, year: int, count: int) -> tuple[Any, float]:
    """Poll until the map draws ``count`` communities coloured for ``year``; (frame, time)."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + RENDER_TIMEOUT_S
    while time.monotonic() < deadline:
        frame = map_frame(page)
        if frame is not None:
            with contextlib.suppress(PlaywrightError):
                if frame.evaluate(LEGEND_HAS_JS, f"{year}年底"):
                    fills = frame.evaluate(COMMUNITY_FILLS_JS)
                    if fills is not None and len(fills) == count:
                        return frame, time.monotonic()
        page.wait_for_timeout(POLL_MS)
    raise TimeoutError(f"the map did not colour {count} communities for {year}")


# Records, in the page, when Streamlit draws the page's title (ms after navigation).
MARK_HEADING_JS = """
if (window.top === window) {
  new MutationObserver((_, observer) => {
    if (document.querySelector('[data-testid="stHeading"]')) {
      window.__renovHeadingMs = performance.now();
      observer.disconnect();
    }
  }).observe(document, {childList: true, subtree: true});
}
"""


def first_render(
    page: Any, url: str, *, year: int, count: int, shell: list[float] | None = None
) -> float:
    """Seconds from the request until the map is coloured; ``shell`` gets the title's time."""
    started = time.monotonic()
    page.goto(url, wait_until="commit")
    _, done = wait_coloured(page, year=year, count=count)
    if shell is not None:
        shell.append(page.evaluate("() => window.__renovHeadingMs") / 1000)
    return done - started


def year_changes(page: Any, url: str, *, first: int, count: int, runs: int) -> list[float]:
    """Seconds from a click on a year until the map is recoloured; the view must not move."""
    first_render(page, url, year=first, count=count)
    frame = map_frame(page)
    frame.evaluate(SET_VIEW_JS, list(PROBE_VIEW))
    before = frame.evaluate(VIEW_JS)
    years = [y for y in range(2021, 2026) if y != first]
    times = []
    for i in range(runs):
        year = years[i % len(years)]
        page.wait_for_timeout(300)  # idle between changes
        clicked = time.monotonic()
        page.locator('[data-testid="stButtonGroup"] button', has_text=str(year)).first.click()
        frame, done = wait_coloured(page, year=year, count=count)
        times.append(done - clicked)
        after = frame.evaluate(VIEW_JS)
        if after != before:
            raise AssertionError(f"the view moved on a year change: {before} -> {after}")
    return times


# ---------------------------------------------------------------------------
# The Python side alone


def python_side(workspace: Path, *, year: int, runs: int) -> dict[str, float]:
    """Seconds to prepare the geometry once, and per run to build what st_folium sends."""
    import streamlit_folium

    from gislib import maps
    from gislib.planning import progress_by_county, progress_table, status_at

    ws = open_workspace(workspace)
    counties, urban, communities = (ws.read(n) for n in ("counties", "urban_areas", "communities"))
    events = ws.read("status_events")
    started = time.perf_counter()
    data = maps.overview_data(counties, urban, communities)
    prepare = time.perf_counter() - started
    statuses = status_at(events, as_of=year)
    values = progress_by_county(communities, events, year=year)[("completed", "communities")]
    table = progress_table(communities, events, years=range(2021, 2026))
    breaks = maps.class_breaks(table.drop(index="全市").to_numpy())
    timings: dict[str, list[float]] = {"base": [], "groups": [], "script": []}
    sizes: dict[str, float] = {}
    for _ in range(runs):
        t0 = time.perf_counter()
        base = maps.overview_status_map(data)
        t1 = time.perf_counter()
        groups = [
            maps.county_choropleth(
                data, values, measure="communities", title="已完工小区数", breaks=breaks
            ).group,
            maps.community_statuses(data, statuses, year=year).group,
        ]
        t2 = time.perf_counter()
        # What st_folium does with them on every run (render, script, hash, groups).
        base.get_root().render()
        script = streamlit_folium._get_map_string(base)
        streamlit_folium.generate_js_hash(script, "overview-map", False)
        group_text = "".join(
            streamlit_folium._get_feature_group_string(g, map=base, idx=i)
            for i, g in enumerate(groups)
        )
        t3 = time.perf_counter()
        timings["base"].append(t1 - t0)
        timings["groups"].append(t2 - t1)
        timings["script"].append(t3 - t2)
        sizes = {"script_mb": len(script) / 1e6, "groups_kb": len(group_text) / 1e3}
    return {
        "prepare_s": prepare,
        **{f"{k}_s": statistics.median(v) for k, v in timings.items()},
        **sizes,
    }


def renderers(workspace: Path, *, year: int, runs: int, folder: Path) -> dict[str, float]:
    """Seconds for the browser alone to draw the map page, SVG against canvas.

    The map of :func:`gislib.maps.overview_status_map` with its year layers, as
    a standalone HTML file loading the vendored Leaflet from disk: from opening
    the file until every community has its colour. No Streamlit, no Python.
    """
    from gislib import maps
    from gislib.planning import status_at

    ws = open_workspace(workspace)
    data = maps.overview_data(ws.read("counties"), ws.read("urban_areas"), ws.read("communities"))
    statuses = status_at(ws.read("status_events"), as_of=year)
    leaflet = (ROOT / "static" / "leaflet").as_uri()
    out = {}
    for name, canvas in (("svg", False), ("canvas", True)):
        m = maps.overview_status_map(data, asset_base_url=leaflet, canvas=canvas)
        maps.community_statuses(data, statuses, year=year).group.add_to(m)
        page_file = folder / f"map-{name}.html"
        page_file.write_text(maps.map_html(m), encoding="utf-8")
        times = []
        with browser(folder / f"profile-{name}") as br:
            for _ in range(runs):
                started = time.monotonic()
                br.page.goto(page_file.as_uri(), wait_until="commit")
                br.page.wait_for_function(
                    """(n) => { const k = Object.keys(window).find(k => k.startsWith("map_"));
                    if (!k || !document.querySelector(".renov-legend")) { return false; }
                    let c = 0; window[k].eachLayer(l => { if (l._renovTip) { c++; } });
                    return c >= n; }""",
                    arg=len(data.community_ids),
                    polling=POLL_MS,
                    timeout=RENDER_TIMEOUT_S * 1000,
                )
                times.append(time.monotonic() - started)
        out[name] = statistics.median(times)
    return out


# ---------------------------------------------------------------------------
# One workspace, end to end


def bench(workspace: Path, label: str, *, runs: int, folder: Path) -> dict[str, Any]:
    from gislib.planning import status_at  # noqa: F401  (imported before timing)

    ws = open_workspace(workspace)
    count = int(ws.read("communities").geometry.notna().sum())
    year = default_year()
    result: dict[str, Any] = {"label": label, "communities": count}
    result["python"] = python_side(workspace, year=year, runs=runs)
    result["renderers"] = renderers(workspace, year=year, runs=runs, folder=folder)
    log = folder / f"streamlit-{label}.log"
    with app_server(workspace, log, timeout_s=SERVER_START_TIMEOUT_S) as url:
        with browser(folder / f"profile-{label}-cold") as first:
            result["cold_s"] = first_render(first.page, url, year=year, count=count)
            refused = list(first.refused)
        cold_browser, cold_shell, warm_shell = [], [], []
        for i in range(runs):
            with browser(folder / f"profile-{label}-{i}") as fresh:
                cold_browser.append(
                    first_render(fresh.page, url, year=year, count=count, shell=cold_shell)
                )
                refused += fresh.refused
        with browser(folder / f"profile-{label}-warm") as warm:
            first_render(warm.page, url, year=year, count=count)  # fills the HTTP cache
            warm_browser = [
                first_render(warm.page, url, year=year, count=count, shell=warm_shell)
                for _ in range(runs)
            ]
            changes = year_changes(warm.page, url, first=year, count=count, runs=runs)
            refused += warm.refused
    result.update(
        first_cold_browser=cold_browser,
        first_warm_browser=warm_browser,
        shell_cold_browser=cold_shell,
        shell_warm_browser=warm_shell,
        year_change=changes,
        refused=refused,
    )
    return result


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}"


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def _machine() -> str:
    """Cores, CPU model, memory and the versions that matter here."""
    from importlib.metadata import version

    cpu, memory = platform.processor() or platform.machine(), ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    chromium = subprocess.run(
        [str(CHROMIUM), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    packages = ", ".join(
        f"{name} {version(name)}" for name in ("streamlit", "streamlit-folium", "folium")
    )
    return (
        f"{os.cpu_count()} cores ({cpu}){memory}, {platform.machine()}; "
        f"{chromium}; Python {platform.python_version()}, {packages}"
    )


def report(results: list[dict[str, Any]], *, runs: int) -> str:
    load = os.getloadavg()
    lines = [
        f"- Machine: {_machine()}.",
        f"- Load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "(the machine is shared: figures move with it).",
        f"- Date: {dt.date.today():%Y-%m-%d}. Median of {runs} runs (range in brackets).",
        "",
        "| workspace | communities | cold server s | first render s (new browser) | "
        "first render s (browser cache) | year change s | view kept | requests refused |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['communities']:,} | {r['cold_s']:.2f} | "
            f"{_median(r['first_cold_browser'])} ({_range(r['first_cold_browser'])}) | "
            f"{_median(r['first_warm_browser'])} ({_range(r['first_warm_browser'])}) | "
            f"{_median(r['year_change'])} ({_range(r['year_change'])}) | yes | "
            f"{len(r['refused'])} |"
        )
    lines += [
        "",
        "Of the first render, Streamlit's own start (from the request until it draws the "
        "page's title, before any map work):",
        "",
        "| workspace | title drawn s (new browser) | title drawn s (browser cache) |",
        "| --- | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {_median(r['shell_cold_browser'])} | "
            f"{_median(r['shell_warm_browser'])} |"
        )
    lines += [
        "",
        "| workspace | prepare geometry s (once per county) | base map s | year layers s | "
        "st_folium script s | script MB | year layers kB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        p = r["python"]
        lines.append(
            f"| {r['label']} | {p['prepare_s']:.2f} | {p['base_s']:.3f} | {p['groups_s']:.3f} | "
            f"{p['script_s']:.3f} | {p['script_mb']:.2f} | {p['groups_kb']:.0f} |"
        )
    lines += [
        "",
        "| workspace | map page alone, SVG s | map page alone, canvas s |",
        "| --- | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['renderers']['svg']:.2f} | {r['renderers']['canvas']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["sample", "20000"], help="'sample' and/or sizes"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the workspaces and logs in this folder")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: apt-get install -y chromium")
    folder = Path(tempfile.mkdtemp(prefix="renov-bench-app-")) if args.keep is None else args.keep
    folder.mkdir(parents=True, exist_ok=True)
    try:
        results = []
        for size in args.sizes:
            if size == "sample":
                workspace = folder / "sample.gpkg"
                shutil.copyfile(sample_workspace_path(), workspace)
                label = "sample"
            else:
                n = int(size)
                workspace = folder / f"synthetic-{n}.gpkg"
                if not workspace.exists():
                    started = time.perf_counter()
                    synthetic_workspace(workspace, n)
                    print(f"built {workspace} in {time.perf_counter() - started:.1f} s")
                label = f"synthetic {n:,}"
            results.append(bench(workspace, label, runs=args.runs, folder=folder))
            print(results[-1], flush=True)
        print()
        print(report(results, runs=args.runs))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
