"""Overview page (总览): the workspace, communities per county, and the map."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from gislib import maps
from gislib.errors import GislibError
from gislib.ui import common

__all__ = ["MAP_HEIGHT_PX", "render"]

#: Height of the overview map in pixels (fits a 900 px high window with the header).
MAP_HEIGHT_PX = 580

_LAYERS = ("counties", "urban_areas", "communities")
_TABLE_COLUMNS = {
    "name": "区县",
    "communities": "小区数",
    "buildings": "楼栋数",
    "households": "户数",
}


def render() -> None:
    """Draw the overview page."""
    st.subheader("阳江市城镇老旧小区改造 · 总览")
    try:
        ref = common.current_workspace()
        layers = common.load_layers(ref, _LAYERS)
        summary = maps.county_summary(layers["communities"], layers["counties"])
        built = maps.overview_map(
            counties=layers["counties"],
            urban_areas=layers["urban_areas"],
            communities=layers["communities"],
            asset_base_url=maps.asset_base_url(st.get_option("server.baseUrlPath")),
        )
    except GislibError as exc:
        common.show_error(exc)
        return

    common.status_bar(ref)
    left, right = st.columns([1.2, 3], gap="medium")
    with left:
        st.markdown("**各区县老旧小区 / by county**")
        table = summary[list(_TABLE_COLUMNS)].rename(columns=_TABLE_COLUMNS)
        st.dataframe(table, hide_index=True, width="stretch")
        total = summary[["communities", "buildings", "households"]].sum()
        st.metric("老旧小区合计 / communities", f"{int(total['communities']):,} 个")
        st.metric("涉及户数 / households", f"{int(total['households']):,} 户")
        if built.drawn["communities"] < len(layers["communities"]):
            missing = len(layers["communities"]) - built.drawn["communities"]
            st.info(f"{missing} 个小区没有图形，未在地图上显示 / {missing} without geometry")
    with right:
        st_folium(
            built.map,
            key="overview-map",
            returned_objects=[],
            height=MAP_HEIGHT_PX,
            use_container_width=True,
        )
