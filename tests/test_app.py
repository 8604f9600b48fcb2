"""Tests of app.py and the overview page with Streamlit's AppTest (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gislib.store import create_workspace

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


def test_overview_shows_communities_and_households_per_county(
    monkeypatch: pytest.MonkeyPatch, tiny_workspace: Path
) -> None:
    at = _run_app(monkeypatch, tiny_workspace)
    table = at.dataframe[0].value
    assert table["区县"].tolist() == ["江城区"]
    assert table["小区数"].tolist() == [3]
    assert table["户数"].tolist() == [180]
    assert at.metric[0].value == "3 个"


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
