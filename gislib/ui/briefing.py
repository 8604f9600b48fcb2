"""The one-click leadership briefing (领导简报) offered on the overview page: PDF or PPTX.

Thin over :mod:`gislib.briefing`: the same content model as ``renov brief``,
with the EPC batches of the year from :func:`gislib.bundling.year_batches`.
A briefing takes several seconds to build, so it is built when asked (a
button), cached per workspace version and choice, and then offered as a
download.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from gislib.briefing import build_briefing, write_pdf, write_pptx
from gislib.bundling import year_batches
from gislib.errors import GislibError
from gislib.schema import COUNTIES
from gislib.store import open_workspace
from gislib.ui import common
from gislib.ui.common import t

__all__ = ["MIME", "briefing_bytes", "briefing_panel"]

MIME: dict[str, str] = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_READY_KEY = "briefing-ready"


@st.cache_data(ttl=common.CACHE_TTL_S, max_entries=8, show_spinner=False)
def briefing_bytes(
    path: str, mtime_ns: int, year: int, county: str, fmt: str, landscape: bool, county_maps: bool
) -> bytes:
    """The briefing file's bytes for a workspace version and the choices made.

    Raises
    ------
    GislibError
        As :func:`gislib.briefing.build_briefing` and the writers.
    """
    workspace = open_workspace(path)
    batches = year_batches(workspace, year=year, county=county or None)
    brief = build_briefing(
        workspace, year=year, county=county or None, batches=batches,
        per_county_maps=county_maps,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"brief.{fmt}"
        if fmt == "pdf":
            write_pdf(brief, target, orientation="landscape" if landscape else "portrait")
        else:
            write_pptx(brief, target)
        return target.read_bytes()


def briefing_panel(ref: common.WorkspaceRef, *, year: int, county: str) -> None:
    """A popover that builds the year's briefing (the county shown, or the city) and offers it."""
    place = COUNTIES[county][0] if county else "全市"
    place_en = COUNTIES[county][1] if county else "whole city"
    with st.popover(
        t("领导简报（PDF / PPTX）", "Briefing (PDF / PPTX)"), icon=":material/slideshow:"
    ):
        st.caption(
            t(f"{year} 年 · {place}：核心指标、进度地图、分区县进度、资金来源、EPC 批次、风险与待决事项。",
              f"{year} · {place_en}: key figures, map, progress by county, funding, EPC batches, "
              "risks.")
        )  # fmt: skip
        fmt = st.radio(t("格式", "Format"), ["pdf", "pptx"], horizontal=True, key="briefing-fmt")
        landscape = st.checkbox(t("PDF 横版", "Landscape PDF"), key="briefing-landscape")
        county_maps = st.checkbox(
            t("每个区县另附地图", "A map per county"), key="briefing-county-maps",
            disabled=bool(county),
        )  # fmt: skip
        choice = (str(ref.path), ref.mtime_ns, year, county, fmt, landscape, county_maps)
        if st.button(t("生成简报", "Build the briefing"), type="primary", key="briefing-build"):
            try:
                with st.spinner(t("正在生成简报（约 10-20 秒）…", "Building (10-20 s)…")):
                    briefing_bytes(*choice)
            except GislibError as exc:
                common.show_error(exc)
            else:
                st.session_state[_READY_KEY] = choice
        if st.session_state.get(_READY_KEY) == choice:
            name = f"阳江市老旧小区改造简报-{year}-{place}.{fmt}"
            st.download_button(
                t(f"下载 {fmt.upper()}", f"Download {fmt.upper()}"),
                briefing_bytes(*choice),
                file_name=name,
                mime=MIME[fmt],
                icon=":material/download:",
                on_click="ignore",
                key="briefing-download",
            )
