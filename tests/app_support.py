"""Running one page of the app with Streamlit's AppTest (tests/test_app_*.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

#: The first run imports geopandas, folium and streamlit-folium: allow for a slow machine.
APP_TIMEOUT_S = 120


def _app_page(module: str) -> None:
    """What ``app.py`` runs for one page: the sidebar language switch, then the page."""
    import importlib

    from gislib.ui.common import language_switch

    language_switch()
    importlib.import_module(f"gislib.ui.{module}").render()


def start_page(module: str, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Run the page ``gislib.ui.<module>`` once on ``workspace``; it must not fail."""
    monkeypatch.setenv("RENOV_WORKSPACE", str(workspace))
    at = AppTest.from_function(_app_page, default_timeout=APP_TIMEOUT_S, args=(module,))
    at.run()
    assert not at.exception
    return at
