"""Static maps of the briefing: geopandas + matplotlib, no tile server.

- :func:`city_map`: the four counties as a choropleth of completed
  communities, with every community as a dot coloured by its status.
- :func:`county_map`: one county's urban area with the communities drawn as
  polygons coloured by status, the urban boundary and the expropriation zones.

Layers come in CGCS2000 (EPSG:4490) and are drawn in CGCS2000 / 3-degree
Gauss-Kruger CM 111E (EPSG:4546, metres), so the scale bar is true. Titles stay
outside the image (see :mod:`gislib.briefing.charts`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from gislib.briefing.charts import CHART_WIDTH_IN, figure_block, new_figure
from gislib.briefing.fonts import CjkFont, font_rc
from gislib.crs import to_measure
from gislib.i18n import tr
from gislib.planning import STATUS_COLOURS, STATUS_LABELS, Status
from gislib.schema import COUNTIES

__all__ = ["city_map", "county_map"]

_CITY_HEIGHT_IN = 6.2
_COUNTY_HEIGHT_IN = 5.6
_COUNTY_EDGE = "#4a4a4a"
_URBAN_EDGE = "#555555"
_ZONE_COLOUR = "#b91c1c"
_COMMUNITY_EDGE = "#333333"
_LABEL_SIZE = 10
_LEGEND_SIZE = 8
_DOT_SIZE = 14
_DOT_SIZE_NONE = 5
#: Margin around a county's communities, in metres.
_COUNTY_MARGIN_M = 800.0
#: The scale bar is about this share of the map's width.
_SCALE_SHARE = 0.2
#: Candidate label points per axis of a county's bounding box.
_LABEL_GRID = 40
#: Distance (m) from the edge and from the dots beyond which a label spot is good enough.
_LABEL_ROOM_M = 9000.0
_NICE = (1.0, 2.0, 5.0)


def _status_label(status: str, lang: str) -> str:
    zh, en = STATUS_LABELS.get(status, (status, status))
    return tr(zh, en, lang)


def _scale_bar(ax: Any, *, lang: str) -> None:
    """A round-length scale bar in the lower left (axes in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    target = (x1 - x0) * _SCALE_SHARE
    power = 10.0 ** math.floor(math.log10(target))
    length = max(s * power for s in _NICE if s * power <= target)
    left, base = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    tick = (y1 - y0) * 0.012
    ax.plot([left, left + length], [base, base], color="black", lw=2, solid_capstyle="butt")
    for x in (left, left + length):
        ax.plot([x, x], [base - tick, base + tick], color="black", lw=1)
    text = f"{length / 1000:g} " + tr("公里", "km", lang) if length >= 1000 else f"{length:g} m"
    ax.text(left + length / 2, base + tick * 1.5, text, ha="center", va="bottom", fontsize=8)
    ax.annotate(
        tr("北", "N", lang),
        xy=(0.04, 0.97),
        xytext=(0.04, 0.88),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=9,
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2},
    )


def _label_point(geom: Any, dots: np.ndarray) -> tuple[float, float]:
    """A point inside ``geom`` away from the community dots and from the edge."""
    import shapely

    x0, y0, x1, y1 = geom.bounds
    xs, ys = np.meshgrid(np.linspace(x0, x1, _LABEL_GRID), np.linspace(y0, y1, _LABEL_GRID))
    grid = shapely.points(xs.ravel(), ys.ravel())
    inside = shapely.contains(geom, grid)
    if not inside.any():
        point = geom.representative_point()
        return float(point.x), float(point.y)
    grid = grid[inside]
    edge = shapely.distance(grid, geom.boundary)
    if len(dots):
        gx, gy = shapely.get_x(grid), shapely.get_y(grid)
        near = np.sqrt(
            (gx[:, None] - dots[None, :, 0]) ** 2 + (gy[:, None] - dots[None, :, 1]) ** 2
        ).min(axis=1)
    else:
        near = np.full(len(grid), np.inf)
    # Prefer room on every side (label half-width) and some distance from the dots.
    score = np.minimum(edge, _LABEL_ROOM_M) + np.minimum(near, _LABEL_ROOM_M)
    best = grid[int(np.argmax(score))]
    return float(shapely.get_x(best)), float(shapely.get_y(best))


def _halo() -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=3, foreground="white")]


def _class_breaks(values: np.ndarray) -> tuple[float, ...]:
    from gislib.maps import class_breaks

    return class_breaks(values)


def _class_colour(value: float, breaks: tuple[float, ...]) -> str:
    from gislib.maps import CHOROPLETH_COLOURS, CHOROPLETH_ZERO_COLOUR

    if not np.isfinite(value) or value <= 0 or not breaks:
        return CHOROPLETH_ZERO_COLOUR
    last = len(CHOROPLETH_COLOURS) - 1
    index = next((i for i, b in enumerate(breaks) if value <= b), len(breaks) - 1)
    if len(breaks) == 1:
        return CHOROPLETH_COLOURS[last // 2 + 1]
    return CHOROPLETH_COLOURS[round(index * last / (len(breaks) - 1))]


def _status_of(communities: Any, status: pd.Series) -> np.ndarray:
    ids = communities["community_id"].astype(str)
    return status.reindex(ids.to_numpy()).fillna(str(Status.NONE)).astype(str).to_numpy()


def _side_legend(ax: Any, handles: list[Any], title: str, *, top: bool) -> Any:
    """A frameless legend right of the map, its top (``top``) or bottom at the map's edge."""
    return ax.legend(
        handles=handles,
        title=title,
        fontsize=_LEGEND_SIZE,
        title_fontsize=_LEGEND_SIZE,
        loc="upper left" if top else "lower left",
        bbox_to_anchor=(1.0, 1.0) if top else (1.0, 0.0),
        frameon=False,
    )


def _status_handles(present: set[str], lang: str, *, marker: bool) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = []
    for status in Status:
        if str(status) not in present:
            continue
        colour, label = STATUS_COLOURS[status], _status_label(str(status), lang)
        if marker:
            handles.append(
                Line2D([], [], marker="o", ls="", color=colour, markersize=6, label=label)
            )
        else:
            handles.append(Patch(facecolor=colour, edgecolor=_COMMUNITY_EDGE, label=label))
    return handles


def city_map(
    counties: Any,
    communities: Any,
    status: pd.Series,
    completed: pd.Series,
    *,
    year: int,
    lang: str,
    font: CjkFont,
) -> Any:
    """The city: counties shaded by completed communities, communities as status dots.

    Parameters
    ----------
    counties : GeoDataFrame
        The ``counties`` layer (``code``, ``name``; EPSG:4490).
    communities : GeoDataFrame
        The ``communities`` layer (EPSG:4490).
    status : Series
        Status (:class:`gislib.planning.Status` value) per community_id; absent = 未纳入.
    completed : Series
        Completed communities per county code (as of the year's end).
    year : int
        For the title.
    lang : {"zh", "en"}
        Language.
    font : CjkFont
        The briefing font.

    Returns
    -------
    Figure
        The PNG block.
    """
    from matplotlib.patches import Patch

    shapes = to_measure(counties)
    points = to_measure(communities)
    points = points.assign(
        _status=_status_of(points, status), geometry=points.geometry.representative_point()
    )
    codes = shapes["code"].astype(str)
    values = completed.reindex(codes.to_numpy()).fillna(0.0).to_numpy(dtype=float)
    breaks = _class_breaks(values)
    with font_rc(font):
        fig = new_figure(CHART_WIDTH_IN, _CITY_HEIGHT_IN)
        ax = fig.add_subplot()
        shapes.plot(
            ax=ax,
            color=[_class_colour(v, breaks) for v in values],
            edgecolor=_COUNTY_EDGE,
            linewidth=0.8,
        )
        order = list(Status)
        for state in order:
            mine = points.loc[points["_status"] == str(state)]
            if len(mine):
                mine.plot(
                    ax=ax,
                    color=STATUS_COLOURS[state],
                    markersize=_DOT_SIZE_NONE if state == Status.NONE else _DOT_SIZE,
                    edgecolor="white" if state != Status.NONE else "none",
                    linewidth=0.3,
                    zorder=3 + order.index(state),
                )
        dots = np.column_stack([points.geometry.x.to_numpy(), points.geometry.y.to_numpy()])
        for code, geom, value in zip(codes, shapes.geometry, values, strict=True):
            lx, ly = _label_point(geom, dots)
            name = COUNTIES.get(code, (code, code))
            ax.text(
                lx,
                ly,
                f"{tr(name[0], name[1], lang)}\n"
                + tr(f"完工 {value:,.0f} 个", f"{value:,.0f} completed", lang),
                ha="center",
                va="center",
                fontsize=_LABEL_SIZE,
                path_effects=_halo(),
                zorder=20,
            )
        ax.set_axis_off()
        ax.set_aspect("equal")
        _scale_bar(ax, lang=lang)
        status_legend = _side_legend(
            ax,
            _status_handles(set(points["_status"]), lang, marker=True),
            tr(f"小区状态（{year} 年底）", f"Status (end of {year})", lang),
            top=True,
        )
        ax.add_artist(status_legend)
        lower = 0.0
        class_handles = []
        for bound in breaks:
            class_handles.append(
                Patch(
                    facecolor=_class_colour(bound, breaks),
                    edgecolor=_COUNTY_EDGE,
                    label=f"{lower:,.0f} – {bound:,.0f}",
                )
            )
            lower = bound
        _side_legend(
            ax, class_handles, tr("区县累计完工小区（个）", "Completed per county", lang), top=False
        )
        return figure_block(
            fig,
            title=tr(
                f"全市改造进度图：区县按累计完工小区数着色，小区按 {year} 年底状态着色",
                f"City map: counties by completed communities, communities by status at the "
                f"end of {year}",
                lang,
            ),
        )


def county_map(
    counties: Any,
    urban_areas: Any,
    zones: Any,
    communities: Any,
    status: pd.Series,
    *,
    county: str,
    year: int,
    lang: str,
    font: CjkFont,
) -> Any:
    """One county's communities as polygons coloured by status, around its urban area.

    Parameters
    ----------
    counties, urban_areas, zones, communities : GeoDataFrame
        Workspace layers (EPSG:4490); ``zones`` are the expropriation zones.
    status : Series
        Status per community_id, as for :func:`city_map`.
    county : str
        County code.
    year : int
        For the title.
    lang, font
        As for :func:`city_map`.

    Returns
    -------
    Figure
        The PNG block.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    mine = communities.loc[communities["county_code"].astype(str) == county]
    shapes = to_measure(mine).assign(_status=_status_of(mine, status))
    outline = to_measure(counties.loc[counties["code"].astype(str) == county])
    urban = to_measure(urban_areas.loc[urban_areas["county_code"].astype(str) == county])
    zone_shapes = to_measure(zones) if len(zones) else zones
    name = COUNTIES.get(county, (county, county))
    where = tr(name[0], name[1], lang)
    if len(shapes):
        x0, y0, x1, y1 = shapes.total_bounds
    elif len(urban):
        x0, y0, x1, y1 = urban.total_bounds
    else:
        x0, y0, x1, y1 = outline.total_bounds
    x0, y0, x1, y1 = (
        x0 - _COUNTY_MARGIN_M,
        y0 - _COUNTY_MARGIN_M,
        x1 + _COUNTY_MARGIN_M,
        y1 + _COUNTY_MARGIN_M,
    )
    with font_rc(font):
        fig = new_figure(CHART_WIDTH_IN, _COUNTY_HEIGHT_IN)
        ax = fig.add_subplot()
        ax.set_facecolor("#f6f5f1")
        if len(outline):
            outline.boundary.plot(ax=ax, color=_COUNTY_EDGE, linewidth=1.0)
        if len(urban):
            urban.plot(
                ax=ax, facecolor="white", edgecolor=_URBAN_EDGE, linewidth=0.8, linestyle="--"
            )
        if len(zone_shapes):
            zone_shapes.plot(
                ax=ax,
                facecolor="none",
                edgecolor=_ZONE_COLOUR,
                hatch="////",
                linewidth=0.6,
                alpha=0.6,
            )
        for state in Status:
            part = shapes.loc[shapes["_status"] == str(state)]
            if len(part):
                part.plot(
                    ax=ax,
                    color=STATUS_COLOURS[state],
                    edgecolor=_COMMUNITY_EDGE,
                    linewidth=0.3,
                )
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        _scale_bar(ax, lang=lang)
        handles = _status_handles(set(shapes["_status"]), lang, marker=False)
        handles += [
            Line2D(
                [], [], color=_URBAN_EDGE, ls="--", lw=0.8, label=tr("城区范围", "urban area", lang)
            ),
            Patch(
                facecolor="none",
                edgecolor=_ZONE_COLOUR,
                hatch="////",
                label=tr("规划征迁范围", "expropriation zone", lang),
            ),
        ]
        _side_legend(ax, handles, tr(f"{year} 年底状态", f"Status, end of {year}", lang), top=True)
        counts = pd.Series(shapes["_status"]).value_counts()
        done = int(counts.get(str(Status.COMPLETED), 0) + counts.get(str(Status.HANDED_OVER), 0))
        return figure_block(
            fig,
            title=tr(
                f"{where}城区小区改造状态（截至 {year} 年底）",
                f"{where}: communities by status (end of {year})",
                lang,
            ),
            caption=tr(
                f"{where}共 {len(shapes):,} 个小区，其中完工或已移交 {done:,} 个。",
                f"{where}: {len(shapes):,} communities, {done:,} completed or handed over.",
                lang,
            ),
        )
