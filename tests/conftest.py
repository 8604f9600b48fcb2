"""Fixtures shared by the tests: tiny synthetic layers in Jiangcheng, and the app in Chromium."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import LineString, MultiLineString, MultiPolygon, box

from gislib.store import RasterSpec, create_workspace
from tests import browser_support as bs

if TYPE_CHECKING:
    from playwright.sync_api import Page

# A point in central Jiangcheng (CGCS2000 lon, lat) around which fixtures sit.
ORIGIN = (111.97, 21.86)


def square(lon: float, lat: float, size_deg: float = 0.001) -> MultiPolygon:
    """A square community of about 100 m x 110 m with its SW corner at (lon, lat)."""
    return MultiPolygon([box(lon, lat, lon + size_deg, lat + size_deg)])


@pytest.fixture
def tiny_layers() -> dict[str, pd.DataFrame]:
    """Every layer of the schema with a few records, in EPSG:4490."""
    lon, lat = ORIGIN
    counties = gpd.GeoDataFrame(
        {"code": ["441702"], "name": ["江城区"], "name_en": ["Jiangcheng District"]},
        geometry=[MultiPolygon([box(lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1)])],
        crs="EPSG:4490",
    )
    urban = gpd.GeoDataFrame(
        {
            "area_id": ["U1"],
            "name": ["江城区中心城区"],
            "county_code": ["441702"],
            "kind": ["市区"],
        },
        geometry=[MultiPolygon([box(lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05)])],
        crs="EPSG:4490",
    )
    communities = gpd.GeoDataFrame(
        {
            "community_id": ["C1", "C2", "C3"],
            "name": ["江城区荔枝园公租房小区", "新华路3号大院", "<img src=x onerror=alert(1)>"],
            "county_code": ["441702"] * 3,
            "street": ["南恩街道", "城南街道", None],
            "build_year": [1992, 2003, 1988],
            "buildings": [4, 2, 1],
            "households": [120, 60, None],
            "floor_area_m2": [10200.5, 5100.0, None],
            "storeys": [6, 7, 5],
            "has_lift": [False, False, None],
            "ownership": ["公租房", "房改房", "商品房"],
            "management": ["无", "业委会", "物业"],
            "willingness": [0.9, 0.7, 0.5],
            "renovated_before": [False, False, True],
            "illegal_structures_cleared": [True, True, False],
        },
        geometry=[square(lon, lat), square(lon + 0.002, lat), square(lon, lat + 0.002)],
        crs="EPSG:4490",
    )
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ["Z1"],
            "name": ["金山片区城市更新单元"],
            "plan": ["江城区更新规划"],
            "planned_year": [2023],
        },
        geometry=[MultiPolygon([box(lon + 0.0025, lat, lon + 0.004, lat + 0.001)])],
        crs="EPSG:4490",
    )
    pipes = gpd.GeoDataFrame(
        {
            "pipe_id": ["P1", "P2"],
            "network": ["water", "gas"],
            "status": ["existing", "planned"],
            "overhead": [False, False],
            "owner": ["水务集团", "燃气企业"],
            "diameter_mm": [200.0, 110.0],
        },
        geometry=[
            MultiLineString([LineString([(lon - 0.001, lat), (lon + 0.004, lat)])]),
            MultiLineString([LineString([(lon, lat - 0.001), (lon, lat + 0.004)])]),
        ],
        crs="EPSG:4490",
    )
    events = pd.DataFrame(
        {
            "event_id": ["E1", "E2"],
            "community_id": ["C1", "C1"],
            "year": [2021, 2021],
            "stage": ["摸查", "申报"],
            "date": [dt.date(2020, 9, 1), dt.date(2021, 1, 15)],
            "user": ["江城区住建局-测试", "江城区住建局-测试"],
            "note": ["", "试点"],
        }
    )
    return {
        "counties": counties,
        "urban_areas": urban,
        "communities": communities,
        "expropriation_zones": zones,
        "pipelines": pipes,
        "status_events": events,
    }


@pytest.fixture
def tiny_raster() -> RasterSpec:
    """A 20 x 30 waterlogging grid of 10 m cells in EPSG:4546 with a nodata corner."""
    array = np.linspace(0, 1.2, 600, dtype="float32").reshape(20, 30)
    array[0, 0] = -9999.0
    return RasterSpec(
        array=array,
        transform=Affine(10, 0, 600_000, 0, -10, 2_420_000),
        crs="EPSG:4546",
        nodata=-9999.0,
        description="积水深度（米）/ waterlogging depth (m)",
    )


@pytest.fixture
def tiny_workspace(
    tmp_path: Path, tiny_layers: dict[str, pd.DataFrame], tiny_raster: RasterSpec
) -> Path:
    """A complete small workspace file in tmp_path."""
    return create_workspace(
        tmp_path / "ws.gpkg",
        layers=tiny_layers,
        rasters={"waterlogging_depth": tiny_raster},
        meta={"title": "测试工作区", "synthetic": "true"},
    )


# ---------------------------------------------------------------------------
# A private copy of the sample (page tests), and the running app in headless Chromium
# (tests/test_browser*.py)


def _browser_unavailable(message: str) -> None:
    """Fail (the default, CI) or skip when RENOV_SKIP_BROWSER=1 is set explicitly."""
    if os.environ.get("RENOV_SKIP_BROWSER") == "1":
        pytest.skip(f"RENOV_SKIP_BROWSER=1: {message}")
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module")
def workspace_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the sample workspace (the committed file is never opened)."""
    from gislib.datasets import sample_workspace_path
    from gislib.errors import WorkspaceError

    try:
        sample = sample_workspace_path()
    except WorkspaceError as exc:
        pytest.fail(f"the sample workspace is missing: {exc}", pytrace=False)
    target = tmp_path_factory.mktemp("browser-ws") / "workspace.gpkg"
    shutil.copyfile(sample, target)
    return target


@pytest.fixture(scope="module")
def app_url(workspace_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free local port against the copy; yield its URL."""
    log = tmp_path_factory.mktemp("browser-log") / "streamlit.log"
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(bs.app_server(workspace_copy, log))
        except bs.BrowserSetupError as exc:
            _browser_unavailable(str(exc))
        yield url


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A Chromium page whose requests may only go to this machine.

    Yields the page, the URLs refused (other hosts) and every URL requested.
    """
    with contextlib.ExitStack() as stack:
        try:
            page = stack.enter_context(bs.local_only_page(tmp_path / "chromium-profile"))
        except bs.BrowserSetupError as exc:
            _browser_unavailable(str(exc))
        yield page
