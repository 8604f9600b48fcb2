"""Streamlit pages of the renovation GIS: one module per page, thin over the library.

The only package besides ``app.py`` that imports Streamlit; ``import gislib``
never imports it. :func:`pages` gives ``app.py`` the navigation.
"""

from __future__ import annotations

import streamlit as st

__all__ = ["APP_TITLE", "pages"]

#: Title of the app in the browser tab and the sidebar.
APP_TITLE = "阳江市城镇老旧小区改造 GIS"


def pages() -> list[st.Page]:
    """The pages of the app, in navigation order (the first is the default)."""
    from gislib.ui import bundles, communities, data, eligibility, overview, plan

    return [
        st.Page(
            overview.render,
            title="总览 / Overview",
            icon=":material/map:",
            url_path="overview",
            default=True,
        ),
        st.Page(
            communities.render,
            title="小区 / Communities",
            icon=":material/apartment:",
            url_path="communities",
        ),
        st.Page(
            eligibility.render,
            title="资格审查 / Eligibility",
            icon=":material/fact_check:",
            url_path="eligibility",
        ),
        st.Page(
            plan.render,
            title="年度计划 / Annual plan",
            icon=":material/calendar_month:",
            url_path="plan",
        ),
        st.Page(
            bundles.render,
            title="打包 / EPC batches",
            icon=":material/package_2:",
            url_path="bundles",
        ),
        st.Page(
            data.render,
            title="数据 / Data",
            icon=":material/swap_vert:",
            url_path="data",
        ),
    ]
