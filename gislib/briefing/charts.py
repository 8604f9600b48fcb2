"""Charts of the briefing, drawn with matplotlib (Agg) into PNG blocks.

Every chart is a :class:`matplotlib.figure.Figure` built without pyplot and
without touching global settings (the font comes in through
:func:`gislib.briefing.fonts.font_rc`, a ``rc_context``), rendered to PNG
bytes at :data:`FIGURE_DPI` and wrapped in a :class:`~gislib.briefing.content.Figure`
block. Titles stay outside the image (the writers set them as text, so they
can be searched); the image carries axis labels and legends only.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from gislib.briefing.fonts import CjkFont, font_rc
from gislib.i18n import tr
from gislib.planning import STATUS_COLOURS, Status

__all__ = [
    "CHART_WIDTH_IN",
    "FIGURE_DPI",
    "STAGE_COLOURS",
    "annual_chart",
    "county_chart",
    "figure_block",
    "funding_chart",
    "new_figure",
]

#: Resolution of every chart and map, in dots per inch.
FIGURE_DPI = 200
#: Width of a chart, in inches (fits an A4 page or a 16:9 slide).
CHART_WIDTH_IN = 7.5
_CHART_HEIGHT_IN = 3.0
#: Bar colours of the three progress thresholds (the map's status colours).
STAGE_COLOURS: dict[str, str] = {
    "planned": STATUS_COLOURS[Status.PLANNED],
    "started": STATUS_COLOURS[Status.BUILDING],
    "completed": STATUS_COLOURS[Status.HANDED_OVER],
}
#: Colours of the five funding sources, in the order of gislib.works.FUNDING_SOURCES.
_FUNDING_COLOURS = ("#6baed6", "#fd8d3c", "#9e9ac8", "#31a354", "#bdbdbd")
_BAR_LABEL_SIZE = 7
_TICK_SIZE = 8.5
_LEGEND_SIZE = 8.5
_GRID_COLOUR = "#e5e5e5"


def _stage_labels(lang: str) -> dict[str, str]:
    return {
        "planned": tr("列入计划", "planned", lang),
        "started": tr("开工", "started", lang),
        "completed": tr("完工", "completed", lang),
    }


def figure_block(fig: Any, *, title: str, caption: str = "") -> Any:
    """Render a matplotlib figure to PNG and wrap it as a briefing :class:`Figure` block."""
    from gislib.briefing.content import Figure

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI, facecolor="white")
    width, height = fig.get_size_inches()
    return Figure(
        title=title,
        png=buffer.getvalue(),
        width_px=round(width * FIGURE_DPI),
        height_px=round(height * FIGURE_DPI),
        dpi=FIGURE_DPI,
        caption=caption,
    )


def new_figure(width: float, height: float) -> Any:
    """A matplotlib figure of ``width`` x ``height`` inches with constrained layout (no pyplot)."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width, height), layout="constrained")
    return fig


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=_TICK_SIZE)
    ax.set_axisbelow(True)


def _grouped_bars(ax: Any, frame: pd.DataFrame, lang: str) -> None:
    labels = _stage_labels(lang)
    x = np.arange(len(frame))
    width = 0.8 / max(len(frame.columns), 1)
    for i, stage in enumerate(frame.columns):
        bars = ax.bar(
            x + (i - (len(frame.columns) - 1) / 2) * width,
            frame[stage].to_numpy(dtype=float),
            width,
            label=labels.get(stage, str(stage)),
            color=STAGE_COLOURS.get(stage, "#888888"),
        )
        ax.bar_label(bars, fmt="{:,.0f}", fontsize=_BAR_LABEL_SIZE, padding=1)
    ax.set_xticks(x, [str(i) for i in frame.index])
    ax.yaxis.grid(True, color=_GRID_COLOUR)
    top = float(np.nanmax(frame.to_numpy(dtype=float))) if frame.size else 0.0
    ax.set_ylim(0, max(top * 1.15, 1.0))
    ax.legend(fontsize=_LEGEND_SIZE, frameon=False, ncols=len(frame.columns), loc="upper left")


def _community_bars(frame: pd.DataFrame, *, title: str, lang: str, font: CjkFont) -> Any:
    """Grouped bars of community counts per stage (columns) for each row of ``frame``."""
    with font_rc(font):
        fig = new_figure(CHART_WIDTH_IN, _CHART_HEIGHT_IN)
        ax = fig.add_subplot()
        _style(ax)
        _grouped_bars(ax, frame, lang)
        ax.set_ylabel(tr("小区数（个）", "communities", lang), fontsize=_TICK_SIZE)
        return figure_block(fig, title=title)


def annual_chart(annual: pd.DataFrame, *, lang: str, font: CjkFont, where: str) -> Any:
    """Communities newly planned, started and completed each year (plan versus actual).

    Parameters
    ----------
    annual : DataFrame
        Index years; columns ``planned``, ``started``, ``completed`` (counts).
    lang : {"zh", "en"}
        Language.
    font : CjkFont
        The briefing font.
    where : str
        The city or county name, for the title.

    Returns
    -------
    Figure
        The PNG block.
    """
    title = tr(
        f"{where}逐年计划与实际：当年新列入计划、新开工、新完工的小区数",
        f"{where}, plan versus actual: communities newly planned, started and completed each year",
        lang,
    )
    return _community_bars(annual, title=title, lang=lang, font=font)


def county_chart(frame: pd.DataFrame, *, year: int, lang: str, font: CjkFont) -> Any:
    """Planned, started and completed communities per county at a year's end (cumulative).

    Parameters
    ----------
    frame : DataFrame
        Index county names; columns ``planned``, ``started``, ``completed``.
    year : int
        The year, for the title.
    lang, font
        As for :func:`annual_chart`.
    """
    title = tr(
        f"{year} 年底各区县累计列入计划、开工、完工小区数",
        f"Communities planned, started and completed by county, end of {year}",
        lang,
    )
    return _community_bars(frame, title=title, lang=lang, font=font)


def funding_chart(frame: pd.DataFrame, *, lang: str, font: CjkFont) -> Any:
    """Estimated investment per county split by funding source, as stacked bars (万元).

    Parameters
    ----------
    frame : DataFrame
        Index county names; one column per funding source (labels), values in 万元.
    lang, font
        As for :func:`annual_chart`.
    """
    with font_rc(font):
        height = max(_CHART_HEIGHT_IN * 0.6, 0.45 * len(frame) + 1.2)
        fig = new_figure(CHART_WIDTH_IN, height)
        ax = fig.add_subplot()
        _style(ax)
        left = np.zeros(len(frame))
        y = np.arange(len(frame))
        for colour, column in zip(_FUNDING_COLOURS, frame.columns, strict=False):
            values = frame[column].to_numpy(dtype=float)
            ax.barh(y, values, left=left, color=colour, label=str(column), height=0.6)
            left += values
        for yi, total in zip(y, left, strict=True):
            ax.text(total, yi, f" {total:,.0f}", va="center", fontsize=_BAR_LABEL_SIZE)
        ax.set_yticks(y, [str(i) for i in frame.index])
        ax.invert_yaxis()
        ax.xaxis.grid(True, color=_GRID_COLOUR)
        ax.xaxis.set_major_formatter("{x:,.0f}")
        ax.set_xlim(0, max(float(left.max()) if len(left) else 0.0, 1.0) * 1.15)
        ax.set_xlabel(tr("万元（估算）", "10k yuan (estimate)", lang), fontsize=_TICK_SIZE)
        fig.legend(fontsize=_LEGEND_SIZE, frameon=False, ncols=3, loc="outside lower center")
        return figure_block(
            fig,
            title=tr(
                "各区县改造资金来源构成（估算，万元）",
                "Funding by county and source (estimate, 10k yuan)",
                lang,
            ),
        )
