"""Streamlit entry point of the Yangjiang renovation GIS: page setup and navigation only.

Run with ``uv run streamlit run app.py``; the workspace is ``$RENOV_WORKSPACE``
or a per-user copy of the sample (see :func:`gislib.store.resolve_workspace`).
"""

from __future__ import annotations

import logging

import streamlit as st

from gislib.ui import APP_TITLE, pages
from gislib.ui.common import language_switch

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title=APP_TITLE, page_icon="🏘️", layout="wide")
navigation = st.navigation(pages())
language_switch()
navigation.run()
