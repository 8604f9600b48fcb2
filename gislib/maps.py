"""Web maps of a workspace with folium, drawn fully offline.

The maps load Leaflet from the app's own static folder (``static/leaflet``,
served by Streamlit at ``/app/static/leaflet``; see
``scripts/vendor_leaflet.sh``), have no tile layer, and use nothing that pulls
assets from a CDN: no branca colormap, no ``folium.plugins``, no
``folium.Icon``. The legend is a hand-made Leaflet control.

Every text shown on the map is built here and HTML-escaped, so a name such as
``<img src=x onerror=...>`` shows as text. Geometries are simplified and
coordinates rounded for the screen only; the data are never changed.

CRS: layers come in CGCS2000 (EPSG:4490, longitude/latitude); simplification
is measured in metres in EPSG:4546; Leaflet draws the result as WGS84
longitude/latitude, which CGCS2000 matches to a few centimetres, so no datum
shift is applied.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from folium.utilities import JsCode

from gislib import settings
from gislib.crs import crs_label, from_storage, require_same_crs, to_measure, wgs84_to_gcj02
from gislib.errors import ConfigError, CRSError, SchemaError
from gislib.schema import COUNTIES, MEASURE_CRS, STORAGE_CRS

__all__ = [
    "AMAP_TILE_URL",
    "ASSET_BASE_URL",
    "BASEMAP_LABELS",
    "BASEMAP_NAMES",
    "BATCH_COLOURS",
    "CANVAS_MIN_FEATURES",
    "CHOROPLETH_COLOURS",
    "CHOROPLETH_ZERO_COLOUR",
    "COUNTY_COLOURS",
    "DISPLAY_DECIMALS",
    "DISPLAY_SIMPLIFY_M",
    "IMPORT_COLOUR",
    "LOCAL_TILE_SUFFIXES",
    "NEAREST_MAINS_COLUMNS",
    "NETWORK_COLOURS",
    "NO_BASEMAP",
    "OSM_TILE_URL",
    "OTHER_COLOUR",
    "PREVIEW_MAX_FEATURES",
    "SELECTED_COLOUR",
    "SELECTED_ZOOM",
    "TIANDITU_TILE_URL",
    "VERDICT_COLOURS",
    "ZONE_COLOUR",
    "Basemap",
    "Choropleth",
    "EligibilityMap",
    "Legend",
    "OverviewData",
    "OverviewMap",
    "PreviewMap",
    "Selection",
    "StatusColouring",
    "asset_base_url",
    "base_map",
    "batch_colours",
    "batch_map",
    "class_breaks",
    "clicked_feature_id",
    "community_layers",
    "community_statuses",
    "county_choropleth",
    "county_layer",
    "county_summary",
    "display_crs_for",
    "display_frame",
    "eligibility_map",
    "explorer_map",
    "format_measure",
    "import_preview_map",
    "local_basemap",
    "map_html",
    "nearest_mains",
    "overview_data",
    "overview_map",
    "overview_status_map",
    "selection_layer",
    "short_rule_name",
    "status_features",
    "status_layer",
    "tile_layers",
    "urban_area_layer",
]

logger = logging.getLogger(__name__)

#: URL path under which Streamlit serves the vendored Leaflet (``static/leaflet``).
ASSET_BASE_URL = "/app/static/leaflet"
#: Douglas-Peucker tolerance for display geometries, in metres (EPSG:4546).
DISPLAY_SIMPLIFY_M = 1.5
#: Decimal places kept in display coordinates (1e-6 degree is about 0.1 m).
DISPLAY_DECIMALS = 6

#: Fill colour of each county's communities (code -> CSS colour).
COUNTY_COLOURS: dict[str, str] = {
    "441702": "#d7301f",  # 江城区 red
    "441704": "#1f78b4",  # 阳东区 blue
    "441721": "#2f9e44",  # 阳西县 green
    "441781": "#7048a8",  # 阳春市 purple
}
#: Colour of communities whose county code matches no county.
OTHER_COLOUR = "#6b6b6b"

_LEAFLET_JS = "leaflet.js"
_LEAFLET_CSS = "leaflet.css"
_MISSING = "—"
_OTHER_GROUP = "其他区县 / other"
#: Community columns shown in the tooltip when present: column -> Chinese label.
_COMMUNITY_TOOLTIP_FIELDS: dict[str, str] = {
    "street": "街道",
    "build_year": "建成年份",
    "buildings": "楼栋数",
    "households": "户数",
}

_COUNTY_BORDER = "#4a4a4a"
_COUNTY_FILL_OPACITY = 0.06
_URBAN_BORDER = "#333333"
_COMMUNITY_FILL_OPACITY = 0.65
_MAP_BACKGROUND = "#f3f1ec"
# Fractional zoom steps, so fitting a region fills the map instead of snapping out.
_ZOOM_SNAP = 0.25
# Size of a county name label in pixels (width, height).
_LABEL_SIZE = (120, 22)

# Binds the tooltip that Python built (already escaped) to each feature.
_BIND_TOOLTIP = JsCode(
    """function(feature, layer) {
    if (feature.properties && feature.properties.tip) {
        layer.bindTooltip(feature.properties.tip, {sticky: true, className: "renov-tip"});
    }
}"""
)

_MAP_CSS = f"""<style>
.leaflet-container {{ background: {_MAP_BACKGROUND};
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei",
  "PingFang SC", sans-serif; }}
.renov-legend {{ background: rgba(255, 255, 255, 0.92); padding: 8px 10px;
  border-radius: 6px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3);
  font-size: 13px; line-height: 20px; color: #222; }}
.renov-legend .renov-legend-title {{ font-weight: 600; margin-bottom: 4px; }}
.renov-legend .renov-swatch {{ display: inline-block; width: 14px; height: 14px;
  margin-right: 6px; vertical-align: -2px; border-radius: 2px; }}
.renov-legend .renov-line {{ display: inline-block; width: 14px; height: 0;
  margin-right: 6px; vertical-align: 4px; }}
.renov-legend .renov-outline {{ display: inline-block; width: 12px; height: 12px;
  margin-right: 6px; vertical-align: -2px; box-sizing: border-box; }}
.renov-legend .renov-legend-grid {{ display: grid; column-gap: 12px; }}
.leaflet-control-layers {{ font-size: 13px; line-height: 20px; }}
.renov-county-label {{ font-size: 15px; font-weight: 600; color: #333; text-align: center;
  white-space: nowrap; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; }}
.leaflet-pane > svg path.leaflet-interactive:focus {{ outline: none; }}
.renov-tip {{ font-size: 13px; line-height: 18px; }}
.renov-tip table {{ border-collapse: collapse; }}
.renov-tip th {{ text-align: left; font-weight: normal; color: #666; padding-right: 8px; }}
</style>"""


@dataclass(frozen=True)
class OverviewMap:
    """What :func:`overview_map` built.

    Attributes
    ----------
    map : folium.Map
        The map, ready for ``st_folium`` or :func:`map_html`.
    community_groups : list of folium.FeatureGroup
        One group per county, in the order of the counties layer.
    drawn : dict of str to int
        Features drawn per layer (``counties``, ``urban_areas``,
        ``communities``), after dropping missing or empty geometries.
    interactive_layers : tuple of str
        Layers whose features react to the mouse (each is one
        ``path.leaflet-interactive`` in the browser).
    """

    map: folium.Map
    community_groups: list[folium.FeatureGroup]
    drawn: dict[str, int]
    interactive_layers: tuple[str, ...] = field(default=("counties", "communities"))

    @property
    def interactive_count(self) -> int:
        """Number of interactive features (SVG paths) the browser draws."""
        return sum(self.drawn.get(name, 0) for name in self.interactive_layers)


class _AttributionPrefix(MacroElement):
    """Plain-text "Leaflet" credit, without the flag icon Leaflet 1.9 adds by default.

    Political symbols have no place on a government map; the credit to Leaflet stays.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
        {% endmacro %}
        """
    )


class _FocusWithoutScroll(MacroElement):
    """Focus the map on mouse-down without scrolling the page around its frame.

    Leaflet's keyboard handler focuses the map container on every mouse-down.
    Inside ``st_folium``'s iframe, a map partly below the window's edge then
    scrolls the Streamlit page by a few pixels between mouse-down and mouse-up,
    so the browser sends the click to the map instead of the community under
    the pointer and the click is lost. Focusing with ``preventScroll`` keeps
    keyboard navigation and the click.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var keyboard = map.keyboard;
            if (!keyboard || !keyboard.enabled()) { return; }
            keyboard.disable();
            keyboard._onMouseDown = function () {
                if (this._focused) { return; }
                this._map.getContainer().focus({preventScroll: true});
            };
            keyboard.enable();
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


class Legend(MacroElement):
    """A legend drawn as a plain Leaflet control from escaped HTML.

    Parameters
    ----------
    title : str
        Heading of the legend.
    entries : sequence of (str, str, str)
        ``(label, colour, kind)`` with ``kind`` ``"fill"`` (a square swatch),
        ``"dash"`` (a dashed line), ``"line"`` (a solid line) or
        ``"outline"`` (a square with a dashed border, e.g. a zone). Labels
        are escaped; colours must be CSS colours chosen by the code, never
        user input.
    position : str
        Leaflet control corner, ``"bottomright"`` by default.
    columns : int
        Number of columns the entries are laid out in (1 by default).

    Examples
    --------
    >>> legend = Legend("图例", [("江城区", "#d7301f", "fill")])
    >>> "江城区" in legend.html
    True
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "renov-legend");
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        title: str,
        entries: Sequence[tuple[str, str, str]],
        *,
        position: str = "bottomright",
        columns: int = 1,
    ) -> None:
        super().__init__()
        self._name = "Legend"
        self.position = position
        rows = []
        for label, colour, kind in entries:
            if kind == "dash":
                mark = f'<span class="renov-line" style="border-top: 2px dashed {colour}"></span>'
            elif kind == "line":
                mark = f'<span class="renov-line" style="border-top: 3px solid {colour}"></span>'
            elif kind == "outline":
                mark = (
                    f'<span class="renov-outline" style="border: 2px dashed {colour}; '
                    f'background: {colour}22"></span>'
                )
            else:
                mark = f'<span class="renov-swatch" style="background: {colour}"></span>'
            rows.append(f"<div>{mark}{html.escape(label)}</div>")
        body = "".join(rows)
        if columns > 1:
            body = (
                f'<div class="renov-legend-grid" '
                f'style="grid-template-columns: repeat({int(columns)}, auto)">{body}</div>'
            )
        self.html = f'<div class="renov-legend-title">{html.escape(title)}</div>{body}'


def asset_base_url(base_url_path: str | None = None) -> str:
    """URL path of the vendored Leaflet, under Streamlit's ``server.baseUrlPath``.

    Parameters
    ----------
    base_url_path : str, optional
        Streamlit's ``server.baseUrlPath`` (``""`` or ``None`` when the app
        is served at the root).

    Returns
    -------
    str
        For example ``"/app/static/leaflet"`` or ``"/renov/app/static/leaflet"``.

    Examples
    --------
    >>> asset_base_url("renov/")
    '/renov/app/static/leaflet'
    """
    prefix = (base_url_path or "").strip("/")
    return f"/{prefix}{ASSET_BASE_URL}" if prefix else ASSET_BASE_URL


def _check_bounds(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    if len(bounds) != 4:
        raise CRSError(f"bounds must be (min lon, min lat, max lon, max lat), got {bounds!r}")
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    finite = all(math.isfinite(v) for v in (minx, miny, maxx, maxy))
    if not finite or not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise CRSError(
            f"地图范围 {bounds!r} 不是经纬度范围 / map bounds {bounds!r} are not "
            "(min lon, min lat, max lon, max lat) in degrees (EPSG:4490)"
        )
    return minx, miny, maxx, maxy


def base_map(
    *,
    bounds: Sequence[float],
    asset_base_url: str = ASSET_BASE_URL,
    min_zoom: int = 7,
    max_zoom: int = 19,
    fit_padding_px: tuple[int, int, int, int] | None = None,
    basemap: Basemap | str = "none",
) -> folium.Map:
    """An empty map (tiles only if a basemap is asked for) that loads Leaflet locally.

    The asset links are set on this map instance only (``default_js`` /
    ``default_css``), never on the ``folium.Map`` class, so one process can
    serve many users with different settings. Only Leaflet is linked
    (no jQuery, Bootstrap or Font Awesome): the elements of this module need
    nothing else.

    Parameters
    ----------
    bounds : sequence of float
        ``(min lon, min lat, max lon, max lat)`` in degrees, EPSG:4490; the
        map opens fitted to it.
    asset_base_url : str
        URL path (or URL) of the folder holding ``leaflet.js`` and
        ``leaflet.css``; see :func:`asset_base_url` for ``server.baseUrlPath``.
    min_zoom, max_zoom : int
        Zoom limits.
    fit_padding_px : tuple of int, optional
        ``(top, right, bottom, left)`` pixels kept free around ``bounds``
        when the map opens (e.g. for a legend); none by default.
    basemap : Basemap or str
        Tiles under the data (see :class:`Basemap`); ``"none"`` by default,
        which keeps the map fully offline. For ``"amap"`` the map opens on
        ``bounds`` shifted to GCJ-02, and every layer added must be drawn in
        :func:`display_crs_for` (the builders of this module take the same
        ``basemap`` option).

    Returns
    -------
    folium.Map

    Raises
    ------
    CRSError
        ``bounds`` are not longitude/latitude degrees.
    ConfigError
        Unknown basemap, or Tianditu / local tiles without their key / URL.

    Examples
    --------
    >>> m = base_map(bounds=(111.3, 21.5, 112.4, 22.7))
    >>> m.default_js
    [('leaflet', '/app/static/leaflet/leaflet.js')]
    """
    chosen = _as_basemap(basemap)
    minx, miny, maxx, maxy = _display_bounds(_check_bounds(bounds), chosen)
    base = asset_base_url.rstrip("/")
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        zoom_start=9,
        min_zoom=min_zoom,
        max_zoom=max_zoom,
        control_scale=True,
        zoom_snap=_ZOOM_SNAP,
        zoom_delta=_ZOOM_SNAP * 2,
    )
    # Instance attributes shadow the class-level CDN lists (folium reads
    # self.default_js in JSCSSMixin.render; streamlit-folium reads it likewise).
    m.default_js = [("leaflet", f"{base}/{_LEAFLET_JS}")]
    m.default_css = [("leaflet_css", f"{base}/{_LEAFLET_CSS}")]
    cast(Figure, m.get_root()).header.add_child(Element(_MAP_CSS), name="renov_map_css")
    m.add_child(_AttributionPrefix())
    for tiles in tile_layers(chosen, max_zoom=max_zoom):
        tiles.add_to(m)
    if fit_padding_px is None:
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    else:
        top, right, bottom, left = fit_padding_px
        m.fit_bounds(
            [[miny, minx], [maxy, maxx]],
            padding_top_left=(left, top),
            padding_bottom_right=(right, bottom),
        )
    return m


def display_frame(
    frame: gpd.GeoDataFrame,
    *,
    columns: Sequence[str] = (),
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    decimals: int = DISPLAY_DECIMALS,
    basemap: Basemap | str = "none",
) -> gpd.GeoDataFrame:
    """Geometries for the screen: simplified, rounded, with only the columns asked for.

    Rows with a missing or empty geometry are dropped; the index of the rest
    is kept. The input is not changed.

    Parameters
    ----------
    frame : GeoDataFrame
        Features in any CRS (normally EPSG:4490).
    columns : sequence of str
        Attribute columns to keep.
    simplify_m : float
        Simplification tolerance in metres, applied in EPSG:4546 with
        topology preserved; ``0`` keeps every vertex.
    decimals : int
        Decimal places of the output degrees.
    basemap : Basemap or str
        The basemap the data is drawn over: for ``"amap"`` the coordinates are
        shifted to GCJ-02 (:func:`display_crs_for`) so they line up with its
        tiles.

    Returns
    -------
    GeoDataFrame
        In EPSG:4490 (longitude, latitude), ready to draw as WGS84; for Amap
        in GCJ-02, labelled EPSG:4326 as Amap data are.

    Raises
    ------
    CRSError
        The frame has no CRS.
    SchemaError
        A column asked for is missing.
    """
    if frame.crs is None:
        raise CRSError(
            "图层没有坐标系，无法显示 / the layer has no CRS; expected EPSG:4490 "
            f"(found {crs_label(frame.crs)})"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"图层缺少字段 {missing} / the layer lacks columns {missing}")
    geoms = frame.geometry
    raw = np.asarray(geoms.array)
    keep = ~(shapely.is_missing(raw) | shapely.is_empty(raw))
    out = gpd.GeoDataFrame(
        frame.loc[keep, list(columns)].copy(), geometry=geoms[keep], crs=frame.crs
    )
    if len(out) == 0:
        return out.to_crs(STORAGE_CRS)
    if simplify_m > 0:
        measured = out.geometry.to_crs(MEASURE_CRS)
        out = out.set_geometry(
            measured.simplify(simplify_m, preserve_topology=True).to_crs(STORAGE_CRS)
        )
    else:
        out = out.to_crs(STORAGE_CRS)
    target = display_crs_for(basemap)
    if target != STORAGE_CRS:
        out = from_storage(out, target=target)
    rounded = shapely.transform(np.asarray(out.geometry.array), lambda xy: np.round(xy, decimals))
    return out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=out.crs))


def _text(value: Any) -> str:
    """A value as escaped text; missing values as a dash; whole numbers without separators."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return _MISSING
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    return html.escape(str(value))


def _tooltip(title: str, rows: Sequence[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{_text(v)}</td></tr>" for label, v in rows
    )
    return f"<b>{_text(title)}</b><table>{body}</table>"


def _feature_collection(
    frame: gpd.GeoDataFrame, *, ids: Sequence[str], tips: Sequence[str] | None
) -> dict[str, Any]:
    features = []
    for i, geom in enumerate(frame.geometry.array):
        feature: dict[str, Any] = {
            "type": "Feature",
            "id": ids[i],
            "properties": {"tip": tips[i]} if tips is not None else {},
            "geometry": shapely.geometry.mapping(geom),
        }
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def _unique_ids(values: pd.Series) -> list[str]:
    """Feature ids: the record ids when present and unique, else positions."""
    ids = [str(v) for v in values]
    if values.isna().any() or len(set(ids)) != len(ids):
        return [str(i) for i in range(len(ids))]
    return ids


def _county_names(counties: pd.DataFrame) -> dict[str, str]:
    """County code -> Chinese name, from the layer, else from the schema."""
    names = {code: zh for code, (zh, _en) in COUNTIES.items()}
    for code, name in zip(counties["code"], counties["name"], strict=True):
        if pd.notna(code) and pd.notna(name):
            names[str(code)] = str(name)
    return names


def county_layer(
    counties: gpd.GeoDataFrame,
    *,
    name: str = "区县边界 / counties",
    labels: bool = True,
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    interactive: bool = True,
    basemap: Basemap | str = "none",
) -> folium.FeatureGroup:
    """Counties as a faint background with outlines, name labels and a tooltip.

    Parameters
    ----------
    counties : GeoDataFrame
        The ``counties`` layer (EPSG:4490) with ``code`` and ``name``.
    name : str
        Name shown in the layer control.
    labels : bool
        Write each county's name at a point inside it (plain text, not
        interactive).
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    interactive : bool
        Whether the counties catch the mouse and show their tooltip; ``False``
        makes them a plain background (no ``leaflet-interactive`` path).
    basemap : Basemap or str
        The basemap the layer is drawn over (Amap shifts it to GCJ-02; see
        :func:`display_crs_for`).

    Returns
    -------
    folium.FeatureGroup
        One interactive feature per county with a geometry.

    Raises
    ------
    CRSError, SchemaError
        See :func:`display_frame`.
    """
    shown = display_frame(
        counties, columns=("code", "name"), simplify_m=simplify_m, basemap=basemap
    )
    tips = [
        _tooltip(str(nm), [("行政区划代码", code)])
        for code, nm in zip(shown["code"], shown["name"], strict=True)
    ]
    ids = _unique_ids(shown["code"])
    fills = {
        fid: COUNTY_COLOURS.get(str(code), OTHER_COLOUR)
        for fid, code in zip(ids, shown["code"], strict=True)
    }
    data = _feature_collection(shown, ids=ids, tips=tips)

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        return {
            "color": _COUNTY_BORDER,
            "weight": 1.5,
            "fillColor": fills.get(str(feature.get("id")), OTHER_COLOUR),
            "fillOpacity": _COUNTY_FILL_OPACITY,
        }

    group = folium.FeatureGroup(name=name, overlay=True, control=True)
    if interactive:
        folium.GeoJson(
            data, style_function=style, on_each_feature=_BIND_TOOLTIP, control=False
        ).add_to(group)
    else:
        folium.GeoJson(
            {**data, "features": [{**f, "properties": {}} for f in data["features"]]},
            style_function=style,
            interactive=False,
            control=False,
        ).add_to(group)
    if labels:
        width, height = _LABEL_SIZE
        points = shown.geometry.representative_point()
        for point, county_name in zip(points, shown["name"], strict=True):
            folium.Marker(
                [point.y, point.x],
                icon=folium.DivIcon(
                    html=_text(county_name),
                    icon_size=_LABEL_SIZE,
                    icon_anchor=(width // 2, height // 2),
                    class_name="renov-county-label",
                ),
                interactive=False,
                keyboard=False,
            ).add_to(group)
    return group


def urban_area_layer(
    urban_areas: gpd.GeoDataFrame,
    *,
    name: str = "城区范围 / urban areas",
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
) -> folium.FeatureGroup:
    """Urban-area boundaries (the plan's scope) as dashed, non-interactive outlines.

    Parameters
    ----------
    urban_areas : GeoDataFrame
        The ``urban_areas`` layer (EPSG:4490).
    name : str
        Name shown in the layer control.
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    basemap : Basemap or str
        The basemap the layer is drawn over (Amap shifts it to GCJ-02; see
        :func:`display_crs_for`).

    Returns
    -------
    folium.FeatureGroup
        Outlines that do not catch the mouse (they draw no
        ``leaflet-interactive`` path).
    """
    shown = display_frame(urban_areas, simplify_m=simplify_m, basemap=basemap)
    data = _feature_collection(shown, ids=[str(i) for i in range(len(shown))], tips=None)
    group = folium.FeatureGroup(name=name, overlay=True, control=True)
    folium.GeoJson(
        data,
        style_function=lambda _f: {
            "color": _URBAN_BORDER,
            "weight": 1.5,
            "dashArray": "5 4",
            "fill": False,
        },
        interactive=False,
        control=False,
    ).add_to(group)
    return group


@dataclass(frozen=True)
class _CountyGroup:
    code: str
    name: str
    colour: str
    count: int
    group: folium.FeatureGroup


def _community_groups(
    communities: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    *,
    simplify_m: float,
    basemap: Basemap | str = "none",
) -> list[_CountyGroup]:
    required = ("community_id", "name", "county_code")
    optional = [c for c in _COMMUNITY_TOOLTIP_FIELDS if c in communities.columns]
    shown = display_frame(
        communities, columns=(*required, *optional), simplify_m=simplify_m, basemap=basemap
    )
    names = _county_names(counties)
    order = list(dict.fromkeys(str(c) for c in counties["code"] if pd.notna(c)))
    codes = shown["county_code"].astype("string").fillna("").to_numpy()
    plan = [(code, names.get(code, code), codes == code) for code in order]
    unmatched = ~np.isin(codes, order)
    if unmatched.any():
        plan.append(("", _OTHER_GROUP, unmatched))
    out = []
    for code, county_name, mask in plan:
        part = shown[mask]
        colour = COUNTY_COLOURS.get(code, OTHER_COLOUR)
        tips = [
            _tooltip(
                row["name"],
                [("小区编号", row["community_id"]), ("区县", county_name)]
                + [
                    (label, row[col])
                    for col, label in _COMMUNITY_TOOLTIP_FIELDS.items()
                    if col in row
                ],
            )
            for _, row in part.iterrows()
        ]
        data = _feature_collection(part, ids=_unique_ids(part["community_id"]), tips=tips)
        group = folium.FeatureGroup(name=f"{county_name}（{len(part)} 个小区）", overlay=True)
        if data["features"]:
            folium.GeoJson(
                data,
                style_function=_constant_style(
                    {
                        "color": colour,
                        "weight": 2,
                        "fillColor": colour,
                        "fillOpacity": _COMMUNITY_FILL_OPACITY,
                    }
                ),
                highlight_function=_constant_style({"weight": 4, "fillOpacity": 0.9}),
                on_each_feature=_BIND_TOOLTIP,
                control=False,
            ).add_to(group)
        out.append(_CountyGroup(code, county_name, colour, len(part), group))
    return out


def community_layers(
    communities: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    *,
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
) -> list[folium.FeatureGroup]:
    """Communities as one layer per county, coloured by county, with escaped tooltips.

    Only each feature's id (the community id) and its tooltip, built and
    HTML-escaped here, are sent to the browser. Years and counts are shown
    as plain integers ("2003", never "2,003").

    Parameters
    ----------
    communities : GeoDataFrame
        The ``communities`` layer (EPSG:4490) with ``community_id``, ``name``
        and ``county_code``; ``street``, ``build_year``, ``buildings`` and
        ``households`` are shown when present.
    counties : GeoDataFrame
        The ``counties`` layer (``code``, ``name``); gives the groups, their
        order and their names.
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    basemap : Basemap or str
        The basemap the layers are drawn over (Amap shifts them to GCJ-02).

    Returns
    -------
    list of folium.FeatureGroup
        One per county of ``counties``, named like ``"江城区（12 个小区）"``,
        plus one named ``"其他区县 / other（N 个小区）"`` only if some
        communities match no county.

    Raises
    ------
    CRSError, SchemaError
        A layer has no CRS or lacks a needed column.

    Examples
    --------
    >>> groups = community_layers(communities, counties)  # doctest: +SKIP
    >>> [g.layer_name for g in groups]  # doctest: +SKIP
    ['江城区（12 个小区）', '阳东区（8 个小区）', '阳西县（5 个小区）', '阳春市（9 个小区）']
    """
    groups = _community_groups(communities, counties, simplify_m=simplify_m, basemap=basemap)
    return [g.group for g in groups]


def county_summary(communities: pd.DataFrame, counties: pd.DataFrame) -> pd.DataFrame:
    """Communities, buildings and households per county, as the overview shows them.

    Parameters
    ----------
    communities : DataFrame
        The ``communities`` layer (``county_code``; ``buildings`` and
        ``households`` summed when present, missing values counted as 0).
    counties : DataFrame
        The ``counties`` layer (``code``, ``name``): the rows and their order.

    Returns
    -------
    DataFrame
        Columns ``code``, ``name``, ``communities``, ``buildings``,
        ``households`` (integers); one row per county, counties without
        communities included with zeros, and a row with code ``""`` named
        ``"其他区县 / other"`` only when some communities match no county.

    Examples
    --------
    >>> county_summary(communities, counties)  # doctest: +SKIP
         code  name  communities  buildings  households
    0  441702  江城区           12         40        3050
    """
    names = _county_names(counties)
    order = list(dict.fromkeys(str(c) for c in counties["code"] if pd.notna(c)))
    codes = communities["county_code"].astype("string").fillna("")
    codes = codes.where(codes.isin(order), "")
    frame = pd.DataFrame({"code": codes.to_numpy()})
    for col in ("buildings", "households"):
        values = communities[col] if col in communities.columns else pd.Series(0, index=codes.index)
        frame[col] = pd.to_numeric(values, errors="coerce").fillna(0).to_numpy()
    grouped = frame.groupby("code").agg(
        communities=("code", "size"),
        buildings=("buildings", "sum"),
        households=("households", "sum"),
    )
    rows = order + ([""] if "" in grouped.index else [])
    out = grouped.reindex(rows, fill_value=0).astype("int64").reset_index()
    out.insert(1, "name", [names.get(code, code) if code else _OTHER_GROUP for code in rows])
    return out


def _constant_style(style: Mapping[str, Any]) -> Any:
    def fn(_feature: dict[str, Any]) -> dict[str, Any]:
        return dict(style)

    return fn


def overview_map(
    *,
    counties: gpd.GeoDataFrame,
    urban_areas: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    asset_base_url: str = ASSET_BASE_URL,
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
) -> OverviewMap:
    """The overview map: counties and urban areas as background, communities per county.

    Adds a layer control and a legend (county colours with community counts,
    urban-area outline). The map opens on the counties' extent, or on
    :data:`gislib.settings.region_bounds` when there are no counties.

    Parameters
    ----------
    counties, urban_areas, communities : GeoDataFrame
        Workspace layers in EPSG:4490.
    asset_base_url : str
        Where the browser finds Leaflet; see :func:`base_map`.
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    basemap : Basemap or str
        Tiles under the data (:class:`Basemap`); every layer is drawn in
        :func:`display_crs_for` it (GCJ-02 for Amap).

    Returns
    -------
    OverviewMap
        The map and what it draws (``interactive_count`` is the number of
        ``path.leaflet-interactive`` elements a browser shows).

    Raises
    ------
    CRSError, SchemaError
        A layer has no CRS or lacks a needed column.

    Examples
    --------
    >>> built = overview_map(counties=c, urban_areas=u, communities=x)  # doctest: +SKIP
    >>> built.drawn  # doctest: +SKIP
    {'counties': 4, 'urban_areas': 4, 'communities': 120}
    """
    raw = np.asarray(counties.geometry.array)
    valid = ~(shapely.is_missing(raw) | shapely.is_empty(raw))
    if valid.any():
        bounds = tuple(counties[valid].to_crs(STORAGE_CRS).total_bounds)
    else:
        bounds = settings.region_bounds
    m = base_map(bounds=bounds, asset_base_url=asset_base_url, basemap=basemap)
    county_group = county_layer(counties, simplify_m=simplify_m, basemap=basemap)
    urban_group = urban_area_layer(urban_areas, simplify_m=simplify_m, basemap=basemap)
    built = _community_groups(communities, counties, simplify_m=simplify_m, basemap=basemap)
    county_group.add_to(m)
    urban_group.add_to(m)
    for item in built:
        item.group.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    entries = [(f"{g.name}  {g.count} 个小区", g.colour, "fill") for g in built]
    entries.append(("城区范围（改造范围）", _URBAN_BORDER, "dash"))
    Legend("图例 / Legend", entries).add_to(m)

    drawn = {
        "counties": _feature_count(county_group),
        "urban_areas": _feature_count(urban_group),
        "communities": sum(g.count for g in built),
    }
    logger.debug("overview map draws %s", drawn)
    return OverviewMap(map=m, community_groups=[g.group for g in built], drawn=drawn)


# ---------------------------------------------------------------------------
# Eligibility map: communities by verdict, expropriation zones, and the nearest
# mains of the selected community.

#: Fill colour of each verdict (keys: :class:`gislib.eligibility.Verdict` values).
VERDICT_COLOURS: dict[str, str] = {
    "eligible": "#16a34a",  # green
    "conditional": "#f59e0b",  # amber
    "ineligible": "#dc2626",  # red
}
#: Outline colour of planned expropriation zones (dashed, faint fill).
ZONE_COLOUR = "#b91c1c"
#: Outline colour of the selected community.
SELECTED_COLOUR = "#111111"
#: Line colour of each network's nearest main (keys: :class:`gislib.schema.Network` values).
NETWORK_COLOURS: dict[str, str] = {
    "water": "#2563eb",  # blue
    "rain": "#06b6d4",  # cyan
    "sewer": "#92400e",  # brown
    "combined": "#7c3aed",  # violet
    "gas": "#ea580c",  # orange
    "power": "#db2777",  # pink
    "telecom": "#475569",  # slate
}
#: Zoom level the page uses to show a selected community (a 100 m block is ~45 px).
SELECTED_ZOOM = 16

#: Columns of :func:`nearest_mains`, in order.
NEAREST_MAINS_COLUMNS: tuple[str, ...] = (
    "network",
    "network_zh",
    "network_en",
    "pipe_id",
    "distance_m",
    "reach_m",
    "within_reach",
    "planned_distance_m",
    "planned_within_reach",
)

_UNCHECKED = "unchecked"
_UNCHECKED_LABEL = "未审查 / not checked"
_ZONE_FILL_OPACITY = 0.10
_VERDICT_FILL_OPACITY = 0.7
_CONNECTOR_DASH = "3 5"
# Line widths of the nearest mains in pixels: the last network's, and the step between two.
_MAIN_WEIGHT_MIN = 3.0
_MAIN_WEIGHT_STEP = 1.5
# Space kept free around the communities when the map opens: (top, right, bottom,
# left) pixels; the bottom leaves room for the legend.
_FIT_PADDING_PX = (20, 20, 150, 20)
# County outlines are only a background here: coarser simplification (metres).
_COUNTY_SIMPLIFY_M = 15.0
# Rule names in tooltips are cut at the first of these (the rest explains the rule).
_RULE_NAME_BREAKS = ("：", "（", "(", ":")


@dataclass(frozen=True)
class EligibilityMap:
    """What :func:`eligibility_map` built.

    Attributes
    ----------
    map : folium.Map
        The map, ready for ``st_folium`` or :func:`map_html`.
    drawn : dict of str to int
        Features drawn per layer (``counties``, ``zones``, ``communities``,
        ``mains``), after dropping missing or empty geometries.
    verdict_counts : dict of str to int
        Communities drawn per verdict (``eligible``, ``conditional``,
        ``ineligible`` and, when some lack a verdict, ``unchecked``).
    selection : Selection or None
        The highlighted community's layer, when ``highlight`` was given.
    interactive_layers : tuple of str
        Layers whose features react to the mouse (each is one
        ``path.leaflet-interactive`` in the browser).
    """

    map: folium.Map
    drawn: dict[str, int]
    verdict_counts: dict[str, int]
    selection: Selection | None = None
    interactive_layers: tuple[str, ...] = field(default=("zones", "communities", "mains"))

    @property
    def interactive_count(self) -> int:
        """Number of interactive features (SVG paths) the browser draws."""
        return sum(self.drawn.get(name, 0) for name in self.interactive_layers)


@dataclass(frozen=True)
class Selection:
    """The selected community and its nearest mains, as :func:`selection_layer` drew them.

    Attributes
    ----------
    group : folium.FeatureGroup
        Outline of the community, the nearest existing main of each network
        (with the distance in its tooltip) and a dashed connector along the
        measured shortest distance. Pass it to ``st_folium`` as
        ``feature_group_to_add`` so that changing the selection keeps the view.
    community_id : str
        The selected community.
    center : tuple of float
        ``(lat, lon)`` of a point inside the community (EPSG:4490 degrees).
    mains : DataFrame
        :func:`nearest_mains` of the community, plus ``drawn`` (bool): whether
        the main was found in the pipelines layer and drawn.
    """

    group: folium.FeatureGroup
    community_id: str
    center: tuple[float, float]
    mains: pd.DataFrame


def short_rule_name(text: str) -> str:
    """A rule's wording cut before its first explanation, for tooltips and narrow tables.

    Examples
    --------
    >>> short_rule_name("建成年份：2000年底前优先；2001-2005年可纳入")
    '建成年份'
    >>> short_rule_name("居民改造意愿强烈（同意户数不少于三分之二）")
    '居民改造意愿强烈'
    """
    cut = len(text)
    for mark in _RULE_NAME_BREAKS:
        pos = text.find(mark)
        if pos > 0:
            cut = min(cut, pos)
    return text[:cut]


def _verdict_label(verdict: str) -> str:
    from gislib.eligibility import VERDICT_LABELS

    return VERDICT_LABELS[verdict][0] if verdict in VERDICT_LABELS else _UNCHECKED_LABEL


def _rule_list(ids: Any, names: Mapping[str, str]) -> str | None:
    if not isinstance(ids, tuple | list) or not ids:
        return None
    return "、".join(names.get(str(i), str(i)) for i in ids)


def _community_tips(
    shown: pd.DataFrame, *, county_names: Mapping[str, str], rule_names: Mapping[str, str]
) -> list[str]:
    from gislib.eligibility import TIER_LABELS

    tips = []
    columns = ("name", "community_id", "county_code", "verdict", "tier")
    rows = zip(*(shown[c].tolist() for c in columns), strict=True)
    for (name, cid, code, verdict, tier), failed, review in zip(
        rows, shown["failed_rules"].tolist(), shown["review_rules"].tolist(), strict=True
    ):
        tier_zh = TIER_LABELS[tier][0] if isinstance(tier, str) and tier in TIER_LABELS else None
        county = "" if not isinstance(code, str) else code
        tips.append(
            _tooltip(
                str(name),
                [
                    ("小区编号", cid),
                    ("区县", county_names.get(county, county or None)),
                    ("审查结论", _verdict_label(str(verdict))),
                    ("年限档次", tier_zh),
                    ("不通过", _rule_list(failed, rule_names)),
                    ("需复核", _rule_list(review, rule_names)),
                ],
            )
        )
    return tips


def _community_features(shown: gpd.GeoDataFrame, tips: Sequence[str]) -> dict[str, Any]:
    """Features whose properties are the tooltip and the community id (for clicks)."""
    data = _feature_collection(shown, ids=_unique_ids(shown["community_id"]), tips=tips)
    for feature, cid in zip(data["features"], shown["community_id"], strict=True):
        feature["properties"]["community_id"] = str(cid)
    return data


def _zone_layer(
    zones: gpd.GeoDataFrame, *, simplify_m: float, basemap: Basemap | str = "none"
) -> folium.FeatureGroup:
    optional = [c for c in ("name", "plan", "planned_year") if c in zones.columns]
    shown = display_frame(zones, columns=optional, simplify_m=simplify_m, basemap=basemap)

    def column(name: str) -> list[Any]:
        return shown[name].tolist() if name in shown.columns else [None] * len(shown)

    tips = [
        _tooltip(
            "规划征迁范围" if name is None or pd.isna(name) else str(name),
            [("规划", plan), ("计划年份", year)],
        )
        for name, plan, year in zip(
            column("name"), column("plan"), column("planned_year"), strict=True
        )
    ]
    data = _feature_collection(shown, ids=[f"zone-{i}" for i in range(len(shown))], tips=tips)
    group = folium.FeatureGroup(name=f"规划征迁范围（{len(shown)} 处）", overlay=True)
    if data["features"]:
        folium.GeoJson(
            data,
            style_function=_constant_style(
                {
                    "color": ZONE_COLOUR,
                    "weight": 2,
                    "dashArray": "6 4",
                    "fillColor": ZONE_COLOUR,
                    "fillOpacity": _ZONE_FILL_OPACITY,
                }
            ),
            on_each_feature=_BIND_TOOLTIP,
            control=False,
        ).add_to(group)
    return group


def nearest_mains(row: pd.Series, *, reach_m: Mapping[str, float]) -> pd.DataFrame:
    """The nearest existing (and planned) main of each network for one community.

    Parameters
    ----------
    row : Series
        One row of :func:`gislib.networks.analyse_networks` (``dist_{n}_m``,
        ``nearest_{n}_id``, ``planned_dist_{n}_m`` for each network ``n``).
    reach_m : mapping of str to float
        The policy's reach per network in metres (``policy.reach_m``).

    Returns
    -------
    DataFrame
        One row per network of :data:`gislib.schema.NETWORKS`, columns
        :data:`NEAREST_MAINS_COLUMNS`: distances in metres measured in
        EPSG:4546 (NaN when the network has no main), ``pipe_id`` ``""``
        when none, ``within_reach`` / ``planned_within_reach`` bool.

    Examples
    --------
    >>> nearest_mains(networks.iloc[0], reach_m=policy.reach_m)  # doctest: +SKIP
    """
    from gislib.schema import NETWORKS

    records = []
    for network, (zh, en) in NETWORKS.items():
        key = str(network)
        dist = _number(row.get(f"dist_{key}_m"))
        planned = _number(row.get(f"planned_dist_{key}_m"))
        reach = float(reach_m[key]) if key in reach_m else math.nan
        pipe_id = row.get(f"nearest_{key}_id")
        records.append(
            {
                "network": key,
                "network_zh": zh,
                "network_en": en,
                "pipe_id": "" if pipe_id is None or pd.isna(pipe_id) else str(pipe_id),
                "distance_m": float(dist),
                "reach_m": reach,
                "within_reach": bool(dist <= reach),
                "planned_distance_m": float(planned),
                "planned_within_reach": bool(planned <= reach),
            }
        )
    return pd.DataFrame.from_records(records, columns=list(NEAREST_MAINS_COLUMNS))


def _number(value: Any) -> float:
    """A float from a cell; NaN for a missing or non-numeric value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _metres(value: float) -> str | None:
    return None if math.isnan(value) else f"{value:.0f} m"


def _keyed_style(
    colours: Mapping[str, str],
    style: Mapping[str, Any],
    *,
    weights: Mapping[str, float] | None = None,
) -> Any:
    """A style function colouring (and optionally sizing) each feature by its id."""

    def fn(feature: dict[str, Any]) -> dict[str, Any]:
        key = str(feature.get("id"))
        out = {"color": colours.get(key, OTHER_COLOUR), **style}
        if weights is not None and key in weights:
            out["weight"] = weights[key]
        return out

    return fn


def selection_layer(
    community_id: str,
    *,
    communities: gpd.GeoDataFrame,
    networks: pd.DataFrame,
    pipelines: gpd.GeoDataFrame,
    reach_m: Mapping[str, float],
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
) -> Selection:
    """The selected community's outline and the nearest main of each network.

    Each main is drawn in its network's colour (:data:`NETWORK_COLOURS`)
    with a tooltip naming the network, the pipe id and the distance; a thin
    dashed connector follows the shortest line between the community and the
    main, measured in EPSG:4546 as the network analysis measured it. The
    outline and connectors do not catch the mouse, so a click under them
    reaches the community.

    Parameters
    ----------
    community_id : str
        The community to show.
    communities : GeoDataFrame
        The communities checked (EPSG:4490), with ``community_id`` and ``name``.
    networks : DataFrame
        :func:`gislib.networks.analyse_networks` for them (same index).
    pipelines : GeoDataFrame
        The ``pipelines`` layer (``pipe_id``, ``network``), same CRS.
    reach_m : mapping of str to float
        ``policy.reach_m`` (metres).
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    basemap : Basemap or str
        The basemap the layer is drawn over (Amap shifts it to GCJ-02; see
        :func:`display_crs_for`).

    Returns
    -------
    Selection

    Raises
    ------
    SchemaError
        The community is not among ``communities``, or a column is missing.
    CRSError
        A layer has no CRS.
    """
    if "community_id" not in communities.columns:
        raise SchemaError("communities 缺少 community_id 字段 / communities lack community_id")
    hits = communities.index[communities["community_id"].astype(str) == str(community_id)]
    if len(hits) == 0:
        raise SchemaError(
            f"找不到小区 {community_id!r}，请重新选择 / community {community_id!r} is not among "
            "the communities checked: pick another"
        )
    label = hits[0]
    if label not in networks.index:
        raise SchemaError(
            f"小区 {community_id!r} 没有管网分析结果 / the network analysis lacks {community_id!r}"
        )
    missing = [c for c in ("pipe_id", "network") if c not in pipelines.columns]
    if missing:
        raise SchemaError(f"pipelines 缺少字段 {missing} / the pipelines lack {missing}")
    require_same_crs(communities, pipelines, names=("communities", "pipelines"))
    mains = nearest_mains(networks.loc[label], reach_m=reach_m)
    community = communities.loc[[label]]
    group = folium.FeatureGroup(name="选中小区 / selected", overlay=True, control=False)

    lookup = pd.DataFrame(
        {"pipe_id": pipelines["pipe_id"].astype(str).to_numpy(), "_pos": np.arange(len(pipelines))}
    ).drop_duplicates(subset="pipe_id", keep="first")
    wanted = mains.loc[mains["pipe_id"] != "", ["network", "pipe_id"]]
    found = wanted.merge(lookup, on="pipe_id", how="inner")
    chosen = gpd.GeoDataFrame(
        found[["network", "pipe_id"]],
        geometry=np.asarray(pipelines.geometry.array)[found["_pos"].to_numpy()],
        crs=pipelines.crs,
    )
    shown_pipes = display_frame(
        chosen, columns=("network", "pipe_id"), simplify_m=simplify_m, basemap=basemap
    )
    mains = mains.assign(drawn=mains["pipe_id"].isin(set(shown_pipes["pipe_id"])))
    if len(shown_pipes):
        by_network = mains.set_index("network")
        tips = []
        for network, pipe_id in zip(shown_pipes["network"], shown_pipes["pipe_id"], strict=True):
            info = by_network.loc[network]
            tips.append(
                _tooltip(
                    f"{info['network_zh']}：最近的现状主管",
                    [
                        ("管线编号", pipe_id),
                        ("距小区", _metres(info["distance_m"])),
                        ("服务半径", _metres(info["reach_m"])),
                        ("在服务半径内", "是" if info["within_reach"] else "否"),
                    ],
                )
            )
        colours = {
            str(i): NETWORK_COLOURS.get(str(n), OTHER_COLOUR)
            for i, n in enumerate(shown_pipes["network"])
        }
        ids = list(colours)
        # Mains of several networks often share a street: drawn from the widest
        # (first network) to the narrowest, every colour stays visible.
        order = {str(n): k for k, n in enumerate(NETWORK_COLOURS)}
        last = len(order) - 1
        weights = {
            str(i): _MAIN_WEIGHT_MIN + _MAIN_WEIGHT_STEP * (last - order.get(str(n), last))
            for i, n in enumerate(shown_pipes["network"])
        }
        # The measured shortest line between the community and each main (EPSG:4546).
        target = to_measure(community).geometry.iloc[0]
        links = shapely.shortest_line(
            target, np.asarray(to_measure(chosen.loc[shown_pipes.index]).geometry.array)
        )
        connectors = gpd.GeoDataFrame(
            geometry=gpd.GeoSeries(links, crs=MEASURE_CRS).to_crs(STORAGE_CRS).to_numpy(),
            crs=STORAGE_CRS,
        )
        folium.GeoJson(
            _feature_collection(
                display_frame(connectors, simplify_m=0, basemap=basemap), ids=ids, tips=None
            ),
            style_function=_keyed_style(
                colours, {"weight": 2, "dashArray": _CONNECTOR_DASH, "opacity": 0.9}
            ),
            interactive=False,
            control=False,
        ).add_to(group)
        folium.GeoJson(
            _feature_collection(shown_pipes, ids=ids, tips=tips),
            style_function=_keyed_style(colours, {"opacity": 0.95}, weights=weights),
            highlight_function=_constant_style({"opacity": 1.0}),
            on_each_feature=_BIND_TOOLTIP,
            control=False,
        ).add_to(group)
    outline = display_frame(community, simplify_m=simplify_m, basemap=basemap)
    if len(outline):
        folium.GeoJson(
            _feature_collection(outline, ids=[str(community_id)], tips=None),
            style_function=_constant_style({"color": SELECTED_COLOUR, "weight": 4, "fill": False}),
            interactive=False,
            control=False,
        ).add_to(group)
        point = outline.geometry.iloc[0].representative_point()
        center = (round(point.y, DISPLAY_DECIMALS), round(point.x, DISPLAY_DECIMALS))
    else:
        center = (math.nan, math.nan)
    return Selection(group=group, community_id=str(community_id), center=center, mains=mains)


def eligibility_map(
    communities: gpd.GeoDataFrame,
    verdicts: pd.DataFrame,
    *,
    zones: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    rule_names: Mapping[str, str] | None = None,
    highlight: str | None = None,
    networks: pd.DataFrame | None = None,
    pipelines: gpd.GeoDataFrame | None = None,
    reach_m: Mapping[str, float] | None = None,
    asset_base_url: str = ASSET_BASE_URL,
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
) -> EligibilityMap:
    """The eligibility map: communities coloured by verdict over zones and counties.

    Communities are one layer per verdict (green eligible, amber conditional,
    red ineligible; :data:`VERDICT_COLOURS`), each feature carrying only its
    escaped tooltip and its ``community_id`` (which ``st_folium`` returns on
    a click as ``last_active_drawing.properties.community_id``). Planned
    expropriation zones are dashed red outlines with a faint fill, counties a
    faint background. A collapsed layer control and a verdict legend are
    added. The map opens on the communities' extent.

    Parameters
    ----------
    communities : GeoDataFrame
        The communities checked (EPSG:4490) with ``community_id``, ``name``
        and ``county_code``.
    verdicts : DataFrame
        :attr:`gislib.eligibility.EligibilityResult.summary`: ``community_id``,
        ``verdict``, ``tier``, ``failed_rules``, ``review_rules``. Matched on
        ``community_id``; a community without a row is drawn grey.
    zones : GeoDataFrame
        The ``expropriation_zones`` layer (``name``, ``plan`` and
        ``planned_year`` shown when present).
    counties : GeoDataFrame
        The ``counties`` layer (``code``, ``name``).
    rule_names : mapping of str to str, optional
        Rule id -> Chinese wording (``{r.id: r.zh for r in policy.rules.all()}``),
        shortened for the tooltips; default the rule ids.
    highlight : str, optional
        A community id to draw with its nearest mains (needs ``networks``,
        ``pipelines`` and ``reach_m``). The app passes the selection to
        ``st_folium`` instead (:func:`selection_layer`), which keeps the view.
    networks, pipelines, reach_m
        See :func:`selection_layer`.
    asset_base_url : str
        Where the browser finds Leaflet; see :func:`base_map`.
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    basemap : Basemap or str
        Tiles under the data (:class:`Basemap`); every layer is drawn in
        :func:`display_crs_for` it (GCJ-02 for Amap). Pass the same basemap
        to :func:`selection_layer`.

    Returns
    -------
    EligibilityMap

    Raises
    ------
    CRSError, SchemaError
        A layer has no CRS or lacks a needed column; ``highlight`` without
        ``networks``, ``pipelines`` and ``reach_m`` or not among the communities.

    Examples
    --------
    >>> check = check_workspace(ws, policy=policy)  # doctest: +SKIP
    >>> built = eligibility_map(check.communities, check.result.summary,
    ...                         zones=ws.read("expropriation_zones"),
    ...                         counties=ws.read("counties"))  # doctest: +SKIP
    >>> built.verdict_counts  # doctest: +SKIP
    {'eligible': 224, 'conditional': 160, 'ineligible': 216}
    """
    required = ("community_id", "verdict", "tier", "failed_rules", "review_rules")
    missing = [c for c in required if c not in verdicts.columns]
    if missing:
        raise SchemaError(f"审查结果缺少字段 {missing} / the verdicts lack columns {missing}")
    shown = display_frame(
        communities,
        columns=("community_id", "name", "county_code"),
        simplify_m=simplify_m,
        basemap=basemap,
    )
    table = verdicts[list(required)].copy()
    table["community_id"] = table["community_id"].astype(str)
    table = table.drop_duplicates(subset="community_id", keep="first")
    keys = shown["community_id"].astype(str)
    joined = table.set_index("community_id").reindex(keys.to_numpy())
    for col in required[1:]:
        shown[col] = joined[col].to_numpy()
    shown["verdict"] = shown["verdict"].fillna(_UNCHECKED)

    m, county_group = _page_map(
        communities, counties, asset_base_url=asset_base_url, simplify_m=simplify_m,
        basemap=basemap,
    )  # fmt: skip
    zone_group = _zone_layer(zones, simplify_m=simplify_m, basemap=basemap)
    zone_group.add_to(m)
    names = {str(k): short_rule_name(str(v)) for k, v in (rule_names or {}).items()}
    county_names = _county_names(counties)
    counts: dict[str, int] = {}
    for verdict in [*VERDICT_COLOURS, _UNCHECKED]:
        part = shown[shown["verdict"] == verdict]
        if verdict == _UNCHECKED and len(part) == 0:
            continue
        counts[verdict] = len(part)
        colour = VERDICT_COLOURS.get(verdict, OTHER_COLOUR)
        label = _verdict_label(verdict)
        group = folium.FeatureGroup(name=f"{label}（{len(part)} 个）", overlay=True)
        if len(part):
            tips = _community_tips(part, county_names=county_names, rule_names=names)
            folium.GeoJson(
                _community_features(part, tips),
                style_function=_constant_style(
                    {
                        "color": colour,
                        "weight": 1.5,
                        "fillColor": colour,
                        "fillOpacity": _VERDICT_FILL_OPACITY,
                    }
                ),
                highlight_function=_constant_style({"weight": 4, "fillOpacity": 0.9}),
                on_each_feature=_BIND_TOOLTIP,
                control=False,
            ).add_to(group)
        group.add_to(m)

    # Collapsed: the legend already names the layers; the control opens on hover.
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    entries = [
        (f"{_verdict_label(v)}  {n} 个", VERDICT_COLOURS.get(v, OTHER_COLOUR), "fill")
        for v, n in counts.items()
    ]
    entries.append(("规划征迁范围", ZONE_COLOUR, "outline"))
    entries.append(("选中的小区（最近主管按管网着色）", SELECTED_COLOUR, "line"))
    Legend("审查结论 / Verdict", entries).add_to(m)

    selection = None
    if highlight is not None:
        if networks is None or pipelines is None or reach_m is None:
            raise SchemaError(
                "highlight 需要 networks、pipelines 和 reach_m / highlight needs networks, "
                "pipelines and reach_m"
            )
        selection = selection_layer(
            highlight,
            communities=communities,
            networks=networks,
            pipelines=pipelines,
            reach_m=reach_m,
            simplify_m=simplify_m,
            basemap=basemap,
        )
        selection.group.add_to(m)
    drawn = {
        "counties": _feature_count(county_group),
        "zones": _feature_count(zone_group),
        "communities": int(sum(counts.values())),
        "mains": int(selection.mains["drawn"].sum()) if selection is not None else 0,
    }
    logger.debug("eligibility map draws %s", drawn)
    return EligibilityMap(map=m, drawn=drawn, verdict_counts=counts, selection=selection)


def _map_bounds(
    shown: gpd.GeoDataFrame, counties: gpd.GeoDataFrame
) -> tuple[float, float, float, float]:
    """The features' extent, else the counties', else the region's (EPSG:4490 degrees)."""
    for frame in (shown, counties):
        raw = np.asarray(frame.geometry.array)
        valid = ~(shapely.is_missing(raw) | shapely.is_empty(raw))
        if valid.any():
            minx, miny, maxx, maxy = (
                float(v) for v in frame[valid].to_crs(STORAGE_CRS).total_bounds
            )
            return (minx, miny, maxx, maxy)
    return settings.region_bounds


def _page_map(
    extent: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    *,
    asset_base_url: str,
    simplify_m: float,
    basemap: Basemap | str,
    county_name: str | None = None,
) -> tuple[folium.Map, folium.FeatureGroup]:
    """A page map opened on ``extent`` with the counties as a background that takes no clicks.

    The base of the eligibility, explorer, import preview and batch maps; the
    focus fix keeps the page from scrolling to the map when it is clicked.
    """
    m = base_map(
        bounds=_map_bounds(extent, counties),
        asset_base_url=asset_base_url,
        fit_padding_px=_FIT_PADDING_PX,
        basemap=basemap,
    )
    m.add_child(_FocusWithoutScroll())
    options: dict[str, Any] = {} if county_name is None else {"name": county_name}
    group = county_layer(
        counties,
        simplify_m=max(simplify_m, _COUNTY_SIMPLIFY_M),
        interactive=False,
        basemap=basemap,
        **options,
    )
    group.add_to(m)
    return m, group


def clicked_feature_id(value: Any, *, field: str = "community_id") -> str | None:
    """The id of the feature clicked on an ``st_folium`` map, if any.

    Parameters
    ----------
    value : dict or None
        What ``st_folium`` returned (or its session-state value), with
        ``last_active_drawing`` among its returned objects.
    field : str
        The feature property holding the id.

    Returns
    -------
    str or None
        ``None`` when nothing was clicked or the clicked feature has no such
        property (a county, a zone, a main).

    Examples
    --------
    >>> clicked_feature_id({"last_active_drawing": {"properties": {"community_id": "C1"}}})
    'C1'
    >>> clicked_feature_id({"last_active_drawing": None}) is None
    True
    """
    if not isinstance(value, Mapping):
        return None
    drawing = value.get("last_active_drawing")
    if not isinstance(drawing, Mapping):
        return None
    properties = drawing.get("properties")
    if not isinstance(properties, Mapping):
        return None
    found = properties.get(field)
    return None if found is None or found == "" else str(found)


def _feature_count(group: folium.FeatureGroup) -> int:
    return sum(
        len(child.data.get("features", []))
        for child in group._children.values()
        if isinstance(child, folium.GeoJson)
    )


def map_html(m: folium.Map) -> str:
    """The complete HTML page of a map, as a browser would receive it standalone.

    Parameters
    ----------
    m : folium.Map

    Returns
    -------
    str
        The rendered page (header links, map script, embedded GeoJSON).
    """
    return str(m.get_root().render())


# ---------------------------------------------------------------------------
# Basemaps: none (default, offline), OpenStreetMap, Amap (GCJ-02), Tianditu,
# and local XYZ tiles served from the app's static folder.

#: Basemap names, in the order the app offers them.
BASEMAP_NAMES: tuple[str, ...] = ("none", "osm", "amap", "tianditu", "local")
#: How each basemap is named to users: name -> (Chinese, English).
BASEMAP_LABELS: dict[str, tuple[str, str]] = {
    "none": ("无底图（区县与城区轮廓）", "None (county and urban-area outlines)"),
    "osm": ("OpenStreetMap（需联网）", "OpenStreetMap (online)"),
    "amap": ("高德地图（需联网，数据转为 GCJ-02）", "Amap (online, data shifted to GCJ-02)"),
    "tianditu": ("天地图（需联网和密钥）", "Tianditu (online, needs a key)"),
    "local": ("本地瓦片", "Local tiles"),
}
#: OpenStreetMap's standard tiles (WGS84 positions, Web Mercator tiles).
OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
#: Amap road map tiles in Chinese; positions are GCJ-02.
AMAP_TILE_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
#: Tianditu WMTS tiles in Web Mercator (``_w``); ``{layer}`` and ``{tk}`` are filled
#: in by :func:`tile_layers` (``vec`` the vector map, ``cva`` its Chinese labels).
TIANDITU_TILE_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}"
)
#: Local XYZ tiles: ``<folder>/{z}/{x}/{y}.<ext>`` under the app's ``static`` folder.
LOCAL_TILE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp")

_GCJ02 = "gcj02"
_APP_STATIC_URL = "/app/static"
_TILE_ATTRIBUTION: dict[str, str] = {
    "osm": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> 贡献者',
    "amap": "&copy; 高德地图 AutoNavi",
    "tianditu": "&copy; 天地图 国家地理信息公共服务平台",
    "local": "本地瓦片 / local tiles",
}
_TILE_SUBDOMAINS = {"amap": "1234", "tianditu": "01234567"}
# Deepest zoom each service draws; Leaflet enlarges the last level beyond it.
_TILE_MAX_NATIVE_ZOOM = {"osm": 19, "amap": 18, "tianditu": 18}
_TIANDITU_LAYERS = ("vec", "cva")
_DEFAULT_MAX_ZOOM = 19


@dataclass(frozen=True)
class Basemap:
    """A basemap choice: which tiles to draw under the data, and what they need.

    Parameters
    ----------
    name : {"none", "osm", "amap", "tianditu", "local"}
        ``"none"`` (the default) draws no tiles at all, so the map is fully
        offline. ``"osm"``, ``"amap"`` and ``"tianditu"`` load images from
        those services (the browser needs the internet); ``"local"`` loads
        them from the app's own static folder (see :func:`local_basemap`).
    tianditu_key : str, optional
        The Tianditu browser key (``tk``), required for ``"tianditu"``. It is
        sent to the browser inside the tile URLs, as Tianditu requires.
    tiles_url : str, optional
        URL template ``.../{z}/{x}/{y}.png`` of local tiles, required for
        ``"local"``.
    max_native_zoom : int, optional
        Deepest zoom level of the local tiles.

    Raises
    ------
    ConfigError
        Unknown name, Tianditu without a key, local tiles without a URL.

    Examples
    --------
    >>> Basemap("amap").display_crs
    'gcj02'
    >>> Basemap("tianditu")
    Traceback (most recent call last):
    ...
    gislib.errors.ConfigError: 天地图需要密钥 ...
    """

    name: str = "none"
    tianditu_key: str | None = field(default=None, repr=False)
    tiles_url: str | None = None
    max_native_zoom: int | None = None

    def __post_init__(self) -> None:
        if self.name not in BASEMAP_NAMES:
            raise ConfigError(
                f"未知底图 {self.name!r} / unknown basemap {self.name!r}; "
                f"use one of {', '.join(BASEMAP_NAMES)}"
            )
        if self.name == "tianditu" and not (self.tianditu_key or "").strip():
            raise ConfigError(
                "天地图需要密钥：请在 .streamlit/secrets.toml 中设置 tianditu_key，或改用其他底图 / "
                "Tianditu needs a key: set tianditu_key in .streamlit/secrets.toml, or pick "
                "another basemap"
            )
        if self.name == "local" and not self.tiles_url:
            raise ConfigError(
                "本地瓦片需要瓦片地址（见 local_basemap）/ local tiles need their URL "
                "(see local_basemap)"
            )

    @property
    def online(self) -> bool:
        """Whether the browser fetches tiles from outside the machine."""
        return self.name in ("osm", "amap", "tianditu")

    @property
    def display_crs(self) -> str:
        """The CRS the data must be drawn in to line up with the tiles; see :func:`display_crs_for`."""
        return _GCJ02 if self.name == "amap" else STORAGE_CRS


#: The default basemap: no tiles, fully offline.
NO_BASEMAP = Basemap()


def _as_basemap(basemap: Basemap | str) -> Basemap:
    return basemap if isinstance(basemap, Basemap) else Basemap(str(basemap))


def display_crs_for(basemap: Basemap | str = NO_BASEMAP) -> str:
    """The CRS in which data must be drawn over a basemap.

    Amap tiles are drawn in GCJ-02, about 600 m east-south-east of the true
    position in Yangjiang: data drawn over them must be shifted the same
    way. OpenStreetMap, Tianditu (CGCS2000) and no basemap take the stored
    coordinates as they are (CGCS2000 matches WGS84 to a few centimetres).

    Parameters
    ----------
    basemap : Basemap or str
        The basemap, or its name.

    Returns
    -------
    str
        ``"gcj02"`` for Amap, ``"EPSG:4490"`` otherwise.

    Examples
    --------
    >>> display_crs_for("amap"), display_crs_for("osm")
    ('gcj02', 'EPSG:4490')
    """
    return _as_basemap(basemap).display_crs


def tile_layers(
    basemap: Basemap | str = NO_BASEMAP, *, max_zoom: int = _DEFAULT_MAX_ZOOM
) -> list[folium.TileLayer]:
    """The tile layers of a basemap, bottom first (none for ``"none"``).

    Tiles are images: no script or stylesheet is added to the map. The
    layers are not listed in the layer control.

    Parameters
    ----------
    basemap : Basemap or str
        The basemap, or its name (``"tianditu"`` and ``"local"`` need a
        :class:`Basemap` with their key or URL).
    max_zoom : int
        The map's deepest zoom; beyond a service's own last level its tiles
        are enlarged.

    Returns
    -------
    list of folium.TileLayer

    Raises
    ------
    ConfigError
        Unknown basemap, or Tianditu / local tiles without their key / URL.
    """
    chosen = _as_basemap(basemap)
    name = chosen.name
    if name == "none":
        return []
    label = BASEMAP_LABELS[name][0]
    common: dict[str, Any] = {
        "attr": _TILE_ATTRIBUTION[name],
        "control": False,
        "max_zoom": max_zoom,
    }
    if name == "local":
        return [
            folium.TileLayer(
                tiles=chosen.tiles_url,
                name=label,
                max_native_zoom=chosen.max_native_zoom,
                **common,
            )
        ]
    common["max_native_zoom"] = _TILE_MAX_NATIVE_ZOOM[name]
    if name in _TILE_SUBDOMAINS:
        common["subdomains"] = _TILE_SUBDOMAINS[name]
    if name == "tianditu":
        key = urllib.parse.quote(str(chosen.tianditu_key).strip(), safe="")
        return [
            folium.TileLayer(
                tiles=TIANDITU_TILE_URL.replace("{layer}", layer).replace("{tk}", key),
                name=f"{label} {layer}",
                overlay=layer != _TIANDITU_LAYERS[0],
                **common,
            )
            for layer in _TIANDITU_LAYERS
        ]
    url = OSM_TILE_URL if name == "osm" else AMAP_TILE_URL
    return [folium.TileLayer(tiles=url, name=label, **common)]


def local_basemap(
    folder: str | os.PathLike[str],
    *,
    static_dir: str | os.PathLike[str],
    base_url_path: str | None = None,
) -> Basemap:
    """A basemap of local XYZ tiles that Streamlit serves from the app's static folder.

    Streamlit serves ``<app folder>/static`` at ``/app/static`` when
    ``server.enableStaticServing`` is true; the tiles must lie inside it
    (Streamlit refuses links that lead out of it), in the usual XYZ layout
    ``<folder>/{z}/{x}/{y}.png`` (``.jpg`` and ``.webp`` work too), cut in
    Web Mercator from a WGS84 / CGCS2000 source (not from Amap).

    Parameters
    ----------
    folder : path-like
        The tile folder; a relative path is taken from the app folder (the
        parent of ``static_dir``), e.g. ``static/tiles/yangjiang``.
    static_dir : path-like
        The app's static folder.
    base_url_path : str, optional
        Streamlit's ``server.baseUrlPath``.

    Returns
    -------
    Basemap
        ``name="local"`` with the URL template and the deepest zoom found.

    Raises
    ------
    ConfigError
        The folder does not exist, lies outside ``static_dir``, or holds no
        ``{z}/{x}/{y}`` tile.

    Examples
    --------
    >>> local_basemap("static/tiles/yangjiang", static_dir="app/static")  # doctest: +SKIP
    Basemap(name='local', tiles_url='/app/static/tiles/yangjiang/{z}/{x}/{y}.png', ...)
    """
    static_root = Path(os.path.realpath(static_dir))
    given = Path(folder).expanduser()
    if not given.is_absolute():
        given = Path(static_dir).parent / given
    tiles = Path(os.path.realpath(given))
    if not tiles.is_dir():
        raise ConfigError(f"瓦片文件夹 {given} 不存在 / tile folder {given} does not exist")
    if not tiles.is_relative_to(static_root) or tiles == static_root:
        raise ConfigError(
            f"瓦片文件夹 {given} 不在 {static_root} 之内，Streamlit 无法提供；请把瓦片复制到 "
            f"{static_root / 'tiles'} 下 / tile folder {given} is not inside {static_root}, "
            f"which Streamlit serves: copy the tiles under {static_root / 'tiles'}"
        )
    zooms = sorted(int(p.name) for p in tiles.iterdir() if p.is_dir() and p.name.isdigit())
    suffix = None
    for zoom in zooms:
        for tile in (tiles / str(zoom)).glob("*/*"):
            if tile.suffix.lower() in LOCAL_TILE_SUFFIXES and tile.stem.isdigit():
                suffix = tile.suffix
                break
        if suffix is not None:
            break
    if suffix is None:
        raise ConfigError(
            f"{given} 中没有 {{z}}/{{x}}/{{y}} 瓦片（{'、'.join(LOCAL_TILE_SUFFIXES)}）/ "
            f"{given} holds no {{z}}/{{x}}/{{y}} tile ({', '.join(LOCAL_TILE_SUFFIXES)})"
        )
    relative = tiles.relative_to(static_root).as_posix()
    prefix = (base_url_path or "").strip("/")
    base = f"/{prefix}{_APP_STATIC_URL}" if prefix else _APP_STATIC_URL
    return Basemap(
        "local",
        tiles_url=f"{base}/{urllib.parse.quote(relative)}/{{z}}/{{x}}/{{y}}{suffix}",
        max_native_zoom=zooms[-1],
    )


def _display_bounds(
    bounds: tuple[float, float, float, float], basemap: Basemap
) -> tuple[float, float, float, float]:
    """Bounds (EPSG:4490 degrees) in the display CRS of ``basemap``."""
    if basemap.display_crs != _GCJ02:
        return bounds
    minx, miny, maxx, maxy = bounds
    lon, lat = wgs84_to_gcj02(np.array([minx, maxx]), np.array([miny, maxy]))
    return (float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1]))


# ---------------------------------------------------------------------------
# Import preview: the records of a validated file, before anything is stored.

#: Colour of the records waiting to be imported.
IMPORT_COLOUR = "#2563eb"
#: Records drawn at most on an import preview (the rest are counted, not drawn).
PREVIEW_MAX_FEATURES = 5_000

_PREVIEW_POINT_RADIUS_PX = 5


@dataclass(frozen=True)
class PreviewMap:
    """What :func:`import_preview_map` built.

    Attributes
    ----------
    map : folium.Map
        The map, ready for ``st_folium`` or :func:`map_html`.
    drawn : int
        Records drawn (those with a geometry, at most ``max_features``).
    without_geometry : int
        Records with no geometry (refused or missing), not drawn.
    omitted : int
        Records with a geometry left out beyond ``max_features``.
    """

    map: folium.Map
    drawn: int
    without_geometry: int
    omitted: int


def import_preview_map(
    records: gpd.GeoDataFrame,
    *,
    layer: str,
    counties: gpd.GeoDataFrame,
    urban_areas: gpd.GeoDataFrame | None = None,
    asset_base_url: str = ASSET_BASE_URL,
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
    max_features: int = PREVIEW_MAX_FEATURES,
) -> PreviewMap:
    """The records of an import report on a map, over counties and urban areas.

    Each record carries only its escaped tooltip (its id, name and county
    when the layer has them); records without a geometry are counted, not
    drawn. The map opens on the records' extent.

    Parameters
    ----------
    records : GeoDataFrame
        :attr:`gislib.io.validate.ImportReport.frame` (EPSG:4490, schema
        field names).
    layer : str
        The target layer (names the id field and the legend).
    counties : GeoDataFrame
        The ``counties`` layer (``code``, ``name``), drawn as background.
    urban_areas : GeoDataFrame, optional
        The ``urban_areas`` layer, drawn as dashed outlines.
    asset_base_url : str
        Where the browser finds Leaflet; see :func:`base_map`.
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    basemap : Basemap or str
        Tiles under the data; every layer is drawn in :func:`display_crs_for` it.
    max_features : int
        Records drawn at most (the first ones in file order).

    Returns
    -------
    PreviewMap

    Raises
    ------
    CRSError, SchemaError
        A layer has no CRS, or ``layer`` is not a workspace layer.

    Examples
    --------
    >>> report = prepare_import("小区.zip", ws, layer="communities")  # doctest: +SKIP
    >>> import_preview_map(report.frame, layer="communities",
    ...                    counties=ws.read("counties")).drawn  # doctest: +SKIP
    3
    """
    from gislib.schema import LAYERS

    if layer not in LAYERS:
        raise SchemaError(f"没有图层「{layer}」/ unknown layer {layer!r}")
    schema = LAYERS[layer]
    id_field = schema.id_field
    wanted = [c for c in (id_field, "name", "county_code") if c in records.columns]
    raw = np.asarray(records.geometry.array)
    has_geometry = ~(shapely.is_missing(raw) | shapely.is_empty(raw))
    positions = np.flatnonzero(has_geometry)
    kept = records.iloc[positions[:max_features]]
    shown = display_frame(kept, columns=wanted, simplify_m=simplify_m, basemap=basemap)
    county_names = _county_names(counties)

    def cell(row: pd.Series, column: str) -> Any:
        return row[column] if column in row.index else None

    tips = []
    for _, row in shown.iterrows():
        record_id = cell(row, id_field)
        name = cell(row, "name")
        code = cell(row, "county_code")
        county = county_names.get(str(code), code) if code is not None and pd.notna(code) else None
        title = name if name is not None and pd.notna(name) else record_id
        tips.append(
            _tooltip(
                str(title) if title is not None and pd.notna(title) else _MISSING,
                [(schema.field(id_field).zh, record_id), ("区县", county)],
            )
        )

    m, _ = _page_map(
        kept, counties, asset_base_url=asset_base_url, simplify_m=simplify_m, basemap=basemap
    )
    if urban_areas is not None:
        urban_area_layer(urban_areas, simplify_m=simplify_m, basemap=basemap).add_to(m)
    label = f"待导入的{schema.zh}（{len(shown)} 条）"
    group = folium.FeatureGroup(name=label, overlay=True)
    if len(shown):
        folium.GeoJson(
            _feature_collection(shown, ids=[str(i) for i in range(len(shown))], tips=tips),
            style_function=_constant_style(
                {
                    "color": IMPORT_COLOUR,
                    "weight": 2.5,
                    "fillColor": IMPORT_COLOUR,
                    "fillOpacity": 0.45,
                }
            ),
            highlight_function=_constant_style({"weight": 4, "fillOpacity": 0.8}),
            marker=folium.CircleMarker(radius=_PREVIEW_POINT_RADIUS_PX),
            on_each_feature=_BIND_TOOLTIP,
            control=False,
        ).add_to(group)
    group.add_to(m)
    kind = "line" if schema.geometry_type and "Line" in schema.geometry_type else "fill"
    entries = [(label, IMPORT_COLOUR, kind)]
    if urban_areas is not None:
        entries.append(("城区范围（改造范围）", _URBAN_BORDER, "dash"))
    Legend("导入预览 / Import preview", entries).add_to(m)
    return PreviewMap(
        map=m,
        drawn=len(shown),
        without_geometry=int((~has_geometry).sum()),
        omitted=max(len(positions) - max_features, 0),
    )


# ---------------------------------------------------------------------------
# Community explorer (小区 page): a fixed base map, and the filtered communities
# coloured by status as a layer that the page swaps in with feature_group_to_add.

_STATUS_FILL_OPACITY = 0.7
_STATUS_TIP_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("community_id", "小区编号", "id"),
    ("county", "区县", "county"),
    ("street", "街道", "street"),
    ("build_year", "建成年份", "year built"),
    ("stage", "当前阶段", "stage"),
    ("plan_year", "计划年度", "plan year"),
)


def _status_label(status: str, lang: str) -> str:
    from gislib.i18n import tr
    from gislib.planning import STATUS_LABELS

    zh, en = STATUS_LABELS.get(status, (status, status))
    return tr(zh, en, lang)


def explorer_map(
    *,
    counties: gpd.GeoDataFrame,
    urban_areas: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    asset_base_url: str = ASSET_BASE_URL,
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
    lang: str = "zh",
) -> folium.Map:
    """The community explorer's base map: counties, urban areas and a status legend.

    The communities themselves are not on it: the page adds the filtered ones
    with :func:`status_layer` as ``st_folium(..., feature_group_to_add=...)``,
    so the base stays the same while filters and the selection change and the
    user's view is kept. The map opens on the extent of ``communities`` (all
    of them, not the filtered ones, for the same reason).

    Parameters
    ----------
    counties, urban_areas : GeoDataFrame
        Workspace layers (EPSG:4490); counties are a plain background.
    communities : GeoDataFrame
        The ``communities`` layer; only its extent is used.
    asset_base_url : str
        Where the browser finds Leaflet; see :func:`base_map`.
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    basemap : Basemap or str
        Tiles under the data (:class:`Basemap`); pass the same to
        :func:`status_features` and :func:`selection_layer`.
    lang : {"zh", "en"}
        Language of the legend.

    Returns
    -------
    folium.Map

    Raises
    ------
    CRSError, SchemaError
        A layer has no CRS or lacks a needed column.

    Examples
    --------
    >>> m = explorer_map(counties=c, urban_areas=u, communities=x)  # doctest: +SKIP
    """
    from gislib.i18n import tr
    from gislib.planning import STATUS_COLOURS

    m, _ = _page_map(
        communities, counties, asset_base_url=asset_base_url, simplify_m=simplify_m,
        basemap=basemap, county_name=tr("区县边界", "counties", lang),
    )  # fmt: skip
    urban_area_layer(
        urban_areas,
        name=tr("城区范围", "urban areas", lang),
        simplify_m=simplify_m,
        basemap=basemap,
    ).add_to(m)
    entries = [(_status_label(s, lang), c, "fill") for s, c in STATUS_COLOURS.items()]
    entries.append((tr("城区范围（改造范围）", "urban area (scope)", lang), _URBAN_BORDER, "dash"))
    entries.append((tr("选中的小区", "selected community", lang), SELECTED_COLOUR, "line"))
    Legend(tr("改造状态", "Status", lang), entries).add_to(m)
    return m


def status_features(
    communities: gpd.GeoDataFrame,
    table: pd.DataFrame,
    *,
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
    lang: str = "zh",
) -> dict[str, Any]:
    """The communities as GeoJSON features for :func:`status_layer`, tooltips built and escaped.

    Plain data (no folium object), so the app can cache it per workspace
    version and draw any subset of it.

    Parameters
    ----------
    communities : GeoDataFrame
        The ``communities`` layer (EPSG:4490).
    table : DataFrame
        :func:`gislib.explore.community_table` of the same communities (same
        index): ``community_id``, ``name``, ``status``, ``verdict`` and the
        tooltip fields (county, street, build year, stage, plan year).
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    basemap : Basemap or str
        The basemap the features are drawn over (Amap shifts them to GCJ-02).
    lang : {"zh", "en"}
        Language of the tooltips.

    Returns
    -------
    dict
        A GeoJSON FeatureCollection; each feature's ``id`` and
        ``properties.community_id`` are the community id (``st_folium``
        returns the latter on a click), ``properties.status`` its status and
        ``properties.tip`` the escaped tooltip HTML. Communities without a
        geometry are left out.

    Raises
    ------
    CRSError, SchemaError
        No CRS, or ``table`` lacks a column or a row of ``communities``.
    """
    from gislib.eligibility import VERDICT_LABELS
    from gislib.i18n import tr

    needed = ("community_id", "name", "status", "verdict", *(f for f, _z, _e in _STATUS_TIP_FIELDS))
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise SchemaError(f"小区表缺少字段 {missing} / the table lacks columns {missing}")
    shown = display_frame(communities, simplify_m=simplify_m, basemap=basemap)
    absent = shown.index.difference(table.index)
    if len(absent):
        raise SchemaError(
            f"小区表缺少 {len(absent)} 个小区的行 / the table lacks rows for {len(absent)} "
            "communities"
        )
    rows = table.loc[shown.index]
    tips = []
    for rec in rows.itertuples(index=False):
        status = _status_label(str(rec.status), lang)
        verdict = str(rec.verdict)
        verdict_text = tr(*VERDICT_LABELS[verdict], lang) if verdict in VERDICT_LABELS else None
        values = [(tr(zh, en, lang), getattr(rec, column)) for column, zh, en in _STATUS_TIP_FIELDS]
        values.insert(4, (tr("状态", "status", lang), status))
        values.append((tr("审查结论", "verdict", lang), verdict_text))
        cells = [(k, None if isinstance(v, str) and not v else v) for k, v in values]
        tips.append(_tooltip(str(rec.name), cells))
    data = _community_features(shown.assign(community_id=rows["community_id"].to_numpy()), tips)
    for feature, status in zip(data["features"], rows["status"].astype(str), strict=True):
        feature["properties"]["status"] = status
    return data


def status_layer(
    features: Mapping[str, Any],
    *,
    community_ids: Sequence[str] | None = None,
    limit: int | None = None,
    name: str = "小区 / communities",
) -> folium.FeatureGroup:
    """Communities coloured by status (:data:`gislib.planning.STATUS_COLOURS`), clickable.

    Parameters
    ----------
    features : mapping
        :func:`status_features`; not changed.
    community_ids : sequence of str, optional
        The communities to draw (e.g. those a filter kept), in any order;
        default all.
    limit : int, optional
        Draw at most this many (the first in ``features`` order), to keep a
        huge selection usable; default no limit.
    name : str
        Name of the group.

    Returns
    -------
    folium.FeatureGroup
        One interactive feature per community drawn, hover highlight and
        tooltip; pass it to ``st_folium`` as ``feature_group_to_add``.
    """
    from gislib.planning import STATUS_COLOURS

    wanted = None if community_ids is None else {str(i) for i in community_ids}
    chosen = []
    for feature in features.get("features", []):
        if wanted is not None and str(feature["properties"].get("community_id")) not in wanted:
            continue
        chosen.append({**feature, "properties": dict(feature["properties"])})
        if limit is not None and len(chosen) >= limit:
            break
    group = folium.FeatureGroup(name=name, overlay=True, control=False)
    if not chosen:
        return group

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        colour = STATUS_COLOURS.get(str(feature["properties"].get("status")), OTHER_COLOUR)
        return {
            "color": colour,
            "weight": 1.5,
            "fillColor": colour,
            "fillOpacity": _STATUS_FILL_OPACITY,
        }

    folium.GeoJson(
        {"type": "FeatureCollection", "features": chosen},
        style_function=style,
        highlight_function=_constant_style({"weight": 4, "fillOpacity": 0.9}),
        on_each_feature=_BIND_TOOLTIP,
        control=False,
    ).add_to(group)
    return group


# ---------------------------------------------------------------------------
# Overview map: progress by county (a choropleth) and the communities by their
# status, for any year. The geometry goes to the browser once per county
# selection (:func:`overview_status_map`); a change of year, measure or stage
# only sends small restyling layers (:func:`county_choropleth`,
# :func:`community_statuses`) that recolour the features already drawn, through
# ``st_folium(..., feature_group_to_add=...)``: the view is kept and nothing is
# drawn again but colours.

#: Fill colours of the county choropleth classes, light to dark (purples: apart
#: from the status colours of the communities drawn over them).
CHOROPLETH_COLOURS: tuple[str, ...] = ("#efedf5", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
#: Fill of a county where nothing is counted (0).
CHOROPLETH_ZERO_COLOUR = "#ffffff"
#: From this many communities on, the overview draws on one canvas instead of
#: one SVG element per feature (measured: bench/RESULTS.md, "App speed").
CANVAS_MIN_FEATURES = 3_000

# County outlines of the overview are a background at city scale (metres).
_OVERVIEW_COUNTY_SIMPLIFY_M = 30.0
# Five decimals (about 1 m) are finer than a screen pixel up to zoom 17.
_OVERVIEW_DECIMALS = 5
_CHOROPLETH_OPACITY = 0.75
# Space kept free when the map opens (top, right, bottom, left pixels): the
# legends stand on the right.
_OVERVIEW_FIT_PADDING_PX = (10, 200, 10, 10)
# Lighter once drilled into a county: its communities sit on top.
_CHOROPLETH_OPACITY_COUNTY = 0.35
_COMMUNITY_WEIGHT = 1.0
_COUNTY_WEIGHT = 1.2
_SELECTED_COUNTY_WEIGHT = 3.0
_HOVER_EXTRA_WEIGHT = 2.0
# Steps of "nice" class widths within a power of ten.
_NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
_YUAN_PER_YI = 1e8
_YUAN_PER_WAN = 1e4
_YUAN_PER_MILLION = 1e6
# Floor areas from this many m² on are shown in 万m² in a legend.
_LEGEND_WAN_FROM = 1e5
# Outline of the "nothing counted" swatch in the choropleth legend.
_ZERO_LEGEND_COLOUR = "#9e9e9e"
# Units of each quantity shown (Chinese after a space, English appended).
_MEASURE_UNITS: dict[str, tuple[str, str]] = {
    "communities": ("个", " communities"),
    "households": ("户", " households"),
    "buildings": ("栋", " buildings"),
    "floor_area_m2": ("m²", " m²"),
}
# Leaflet layer keys the restyling layers look up on the map (map._renovLayers).
_COUNTY_TARGET = "counties"
_COMMUNITY_TARGET = "communities"


def _script_json(value: Any) -> str:
    """JSON safe to embed in a ``<script>`` (no ``<``, ``>``, ``&`` or ``'`` left raw)."""
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


def format_measure(
    value: float | None, measure: str, *, lang: str = "zh", signed: bool = False
) -> str:
    """A progress figure as people read it: thousands separated, with its unit.

    Parameters
    ----------
    value : float or None
        The figure; ``None`` or NaN shows as a dash.
    measure : str
        A key of :data:`gislib.planning.MEASURES` or ``"completion_rate"``
        (a share 0-1, shown as a percentage; a signed change of it in
        percentage points).
    lang : {"zh", "en"}
        Language of the unit.
    signed : bool
        Show the sign (for a change against the previous year).

    Returns
    -------
    str
        For example ``"8,436 户"``, ``"2.85 亿元"``, ``"45.1%"``, ``"+5.2 个百分点"``.

    Examples
    --------
    >>> format_measure(8436, "households")
    '8,436 户'
    >>> format_measure(284_723_600, "investment")
    '2.85 亿元'
    >>> format_measure(0.051, "completion_rate", signed=True, lang="en")
    '+5.1 pp'
    """
    from gislib.i18n import tr

    number = _number(value)
    if not math.isfinite(number):
        return _MISSING
    sign = "+" if signed and number > 0 else ""
    if measure == "completion_rate":
        if signed:
            return f"{sign}{number * 100:.1f}" + tr(" 个百分点", " pp", lang)
        return f"{number:.1%}"
    if measure == "investment":
        size = abs(number)
        if lang == "en":
            if size >= _YUAN_PER_MILLION:
                return f"{sign}¥{number / _YUAN_PER_MILLION:,.1f} M"
            return f"{sign}¥{number:,.0f}"
        if size >= _YUAN_PER_YI:
            return f"{sign}{number / _YUAN_PER_YI:,.2f} 亿元"
        if size >= _YUAN_PER_WAN:
            return f"{sign}{number / _YUAN_PER_WAN:,.0f} 万元"
        return f"{sign}{number:,.0f} 元"
    zh, en = _MEASURE_UNITS.get(measure, ("", ""))
    text = f"{sign}{number:,.0f}"
    return tr(f"{text} {zh}".rstrip(), f"{text}{en}", lang)


def _legend_unit(measure: str, top: float, *, lang: str) -> tuple[float, str]:
    """Divisor and unit of a legend's numbers, so that its bounds read short ("2 – 4 亿元")."""
    from gislib.i18n import tr

    if measure == "investment":
        if lang == "en":
            return _YUAN_PER_MILLION, "M yuan"
        return (_YUAN_PER_YI, "亿元") if top >= _YUAN_PER_YI else (_YUAN_PER_WAN, "万元")
    if measure == "floor_area_m2" and top >= _LEGEND_WAN_FROM:
        return _YUAN_PER_WAN, tr("万m²", "10k m²", lang)
    zh, en = _MEASURE_UNITS.get(measure, ("", ""))
    return 1.0, tr(zh, en.strip(), lang)


def _short_number(value: float) -> str:
    """Thousands separated; decimals only when needed (2.5, never 2.50)."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def class_breaks(values: Any, *, classes: int = len(CHOROPLETH_COLOURS)) -> tuple[float, ...]:
    """Upper bounds of equal, round classes from 0 to the largest value.

    The width is a round number (1, 2, 2.5 or 5 times a power of ten) and
    only as many classes are made as needed to reach the largest value, so
    the legend reads "≤ 20, 20-40, 40-60, 60-80" rather than odd bounds.
    Computed from every year at once, the classes stay the same while the
    year changes, so colours compare across years.

    Parameters
    ----------
    values : array-like of float
        Values to classify (NaN ignored; 0 and negatives go to no class).
        When all are whole numbers (counts), no class is narrower than 1.
    classes : int
        Most classes wanted (at least 1).

    Returns
    -------
    tuple of float
        Increasing upper bounds; empty when no value is above 0.

    Examples
    --------
    >>> class_breaks([3, 74, 12])
    (20.0, 40.0, 60.0, 80.0)
    >>> class_breaks([0, 0])
    ()
    """
    numbers = np.asarray(values, dtype=float).ravel()
    numbers = numbers[np.isfinite(numbers)]
    top = float(numbers.max()) if numbers.size else 0.0
    if top <= 0:
        return ()
    classes = max(int(classes), 1)
    raw = top / classes
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(s * power for s in _NICE_STEPS if s * power >= raw * (1 - 1e-12))
    if np.all(numbers == np.round(numbers)):  # counts: no class narrower than 1
        step = max(step, 1.0)
    needed = max(1, math.ceil(top / step - 1e-9))
    return tuple(round(step * (i + 1), 12) for i in range(min(needed, classes)))


def _class_colours(count: int) -> list[str]:
    """``count`` colours of the palette, spread from the lightest to the darkest."""
    last = len(CHOROPLETH_COLOURS) - 1
    if count <= 1:
        return [CHOROPLETH_COLOURS[last // 2 + 1]]
    return [CHOROPLETH_COLOURS[round(i * last / (count - 1))] for i in range(count)]


def _class_of(value: float, breaks: Sequence[float]) -> int:
    """0 for nothing counted, else 1 + the first class whose bound holds the value."""
    if not math.isfinite(value) or value <= 0:
        return 0
    for i, bound in enumerate(breaks):
        if value <= bound:
            return i + 1
    return len(breaks)


@dataclass(frozen=True)
class OverviewData:
    """Display geometry of the overview map, prepared once per workspace version and county.

    Immutable (text and tuples only), so one instance can be cached and shared
    by every session; :func:`overview_status_map` turns it into a map in
    milliseconds.

    Attributes
    ----------
    county : str or None
        The county drilled into (its code), or ``None`` for the whole city.
    bounds : tuple of float
        What the map opens on: ``(min lon, min lat, max lon, max lat)``.
    counties_json, urban_areas_json : str
        GeoJSON FeatureCollections as text, safe to embed in a script.
        Counties carry ``county_code`` and ``name`` (HTML-escaped), with the
        county code as feature id.
    communities_data : str
        The communities in a compact encoding (integer coordinates, each point
        relative to the one before), about a third of their GeoJSON's size, with
        ``community_id`` and ``name`` (escaped); their position is their
        feature id in the browser.
    community_ids : tuple of str
        The communities drawn, in feature order.
    county_codes : tuple of str
        The counties drawn, in feature order.
    labels : tuple of (float, float, str, str)
        ``(lat, lon, Chinese name, English name)`` of each county's label.
    basemap : Basemap
        The basemap the coordinates were prepared for (``"amap"`` shifts them
        to GCJ-02).
    """

    county: str | None
    bounds: tuple[float, float, float, float]
    counties_json: str
    urban_areas_json: str
    communities_data: str
    community_ids: tuple[str, ...]
    county_codes: tuple[str, ...]
    labels: tuple[tuple[float, float, str, str], ...]
    basemap: Basemap = NO_BASEMAP

    @property
    def drawn(self) -> dict[str, int]:
        """Features drawn per layer (``counties``, ``communities``)."""
        return {"counties": len(self.county_codes), "communities": len(self.community_ids)}


def _collection_text(geometries: np.ndarray, ids: Sequence[Any], properties: Sequence[str]) -> str:
    """A FeatureCollection as text from GeoJSON geometry strings and property JSON texts."""
    texts = shapely.to_geojson(geometries)
    parts = [
        f'{{"type":"Feature","id":{_script_json(fid)},"properties":{props},"geometry":{geom}}}'
        for fid, props, geom in zip(ids, properties, texts, strict=True)
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def overview_data(
    counties: gpd.GeoDataFrame,
    urban_areas: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    county: str | None = None,
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
) -> OverviewData:
    """Prepare the overview map's geometry: simplified, rounded, only the properties it needs.

    Parameters
    ----------
    counties, urban_areas, communities : GeoDataFrame
        Workspace layers in EPSG:4490 (``code`` and ``name`` of the counties;
        ``community_id``, ``name`` and ``county_code`` of the communities).
    county : str, optional
        A county code to drill into: only its communities and urban areas are
        drawn, the other counties stay as outlines, and the map opens on its
        communities (else on the county). Default the whole city.
    simplify_m : float
        Display simplification of the communities in metres (EPSG:4546);
        county outlines are simplified more (they are a background).
    basemap : Basemap or str
        The basemap the map will be drawn over (coordinates in
        :func:`display_crs_for` it).

    Returns
    -------
    OverviewData

    Raises
    ------
    CRSError, SchemaError
        A layer has no CRS or lacks a needed column.

    Examples
    --------
    >>> data = overview_data(counties, urban_areas, communities)  # doctest: +SKIP
    >>> data.drawn  # doctest: +SKIP
    {'counties': 4, 'communities': 600}
    """
    missing = [c for c in ("community_id", "name", "county_code") if c not in communities.columns]
    if missing:
        raise SchemaError(f"communities 缺少字段 {missing} / communities lack columns {missing}")
    chosen = _as_basemap(basemap)
    if county is not None:
        communities = communities[communities["county_code"].astype(str) == county]
        if "county_code" in urban_areas.columns:
            urban_areas = urban_areas[urban_areas["county_code"].astype(str) == county]
    shown_counties = display_frame(
        counties,
        columns=("code", "name"),
        simplify_m=max(simplify_m, _OVERVIEW_COUNTY_SIMPLIFY_M),
        decimals=_OVERVIEW_DECIMALS,
        basemap=chosen,
    )
    shown_urban = display_frame(
        urban_areas, simplify_m=simplify_m, decimals=_OVERVIEW_DECIMALS, basemap=chosen
    )
    shown = display_frame(
        communities,
        columns=("community_id", "name"),
        simplify_m=simplify_m,
        decimals=_OVERVIEW_DECIMALS,
        basemap=chosen,
    )
    codes = [str(c) for c in shown_counties["code"]]
    county_props = [
        _script_json({"county_code": code, "name": _text(name)})
        for code, name in zip(codes, shown_counties["name"], strict=True)
    ]
    ids = [str(c) for c in shown["community_id"]]
    names = _county_names(counties)
    points = shown_counties.geometry.representative_point()
    labels = tuple(
        (
            round(float(p.y), _OVERVIEW_DECIMALS),
            round(float(p.x), _OVERVIEW_DECIMALS),
            names.get(code, code),
            COUNTIES[code][1] if code in COUNTIES else names.get(code, code),
        )
        for p, code in zip(points, codes, strict=True)
    )
    if county is None:
        bounds = _map_bounds(communities.iloc[:0], counties)
    else:
        bounds = _map_bounds(communities, counties[counties["code"].astype(str) == county])
    return OverviewData(
        county=county,
        bounds=bounds,
        counties_json=_collection_text(
            np.asarray(shown_counties.geometry.array), codes, county_props
        ),
        urban_areas_json=_collection_text(
            np.asarray(shown_urban.geometry.array),
            list(range(len(shown_urban))),
            ["{}"] * len(shown_urban),
        ),
        communities_data=_compact_polygons(
            shown,
            ids=ids,
            names=[_text(n) for n in shown["name"]],
            decimals=_OVERVIEW_DECIMALS,
        ),
        community_ids=tuple(ids),
        county_codes=tuple(codes),
        labels=labels,
        basemap=chosen,
    )


# The overview's script, defined once per page (inline header scripts do not run
# inside st_folium). Tooltip texts are built and escaped in Python; the script
# only joins them.
# - L.renovPolygons: polygons from the compact encoding of _compact_polygons,
#   each with a GeoJSON-like ``feature`` (id = position, properties) so that a
#   click returns its properties and a restyling finds it.
# - L.renovBind: one tooltip and one hover handler for a whole group (not one
#   per feature: 20k communities would mean 60k listeners).
# - L.RenovRestyle: a layer that, added to the map, recolours the features of
#   a base layer (registered in map._renovLayers) and shows its legend;
#   removed, it takes its legend away.
_OVERVIEW_JS = """
if (!L.RenovRestyle) {
    L.renovPolygons = function (data, style) {
        var scale = Math.pow(10, -data.d), x0 = data.o[0], y0 = data.o[1], layers = [];
        for (var i = 0; i < data.g.length; i++) {
            var parts = data.g[i].map(function (rings) {
                return rings.map(function (flat) {
                    var ring = [], x = x0, y = y0;
                    for (var j = 0; j < flat.length; j += 2) {
                        x += flat[j];
                        y += flat[j + 1];
                        ring.push([y * scale, x * scale]);
                    }
                    return ring;
                });
            });
            var polygon = L.polygon(parts.length === 1 ? parts[0] : parts, style);
            polygon.feature = {type: "Feature", id: i,
                properties: {community_id: data.i[i], name: data.n[i]}};
            layers.push(polygon);
        }
        return L.featureGroup(layers);
    };
    L.renovBind = function (group, extra) {
        group.bindTooltip(function (item) {
            var p = item.feature.properties;
            return "<b>" + p.name + "</b><table>" + (item._renovTip || "") + "</table>";
        }, {sticky: true, className: "renov-tip"});
        group.on("mouseover", function (e) {
            var item = e.layer;
            if (item._renovWeight === undefined) { item._renovWeight = item.options.weight; }
            item.setStyle({weight: item._renovWeight + extra});
        });
        group.on("mouseout", function (e) {
            var item = e.layer;
            if (item._renovWeight !== undefined) { item.setStyle({weight: item._renovWeight}); }
        });
    };
    L.RenovRestyle = L.Layer.extend({
        initialize: function (target, codes, entries, legend, position) {
            this._target = target;
            this._codes = codes;
            this._entries = entries;
            this._legendHtml = legend;
            this._position = position;
        },
        onAdd: function (map) {
            var layer = map._renovLayers && map._renovLayers[this._target];
            var codes = this._codes, entries = this._entries;
            if (layer) {
                layer.eachLayer(function (item) {
                    var entry = entries[codes[item.feature.id]];
                    if (!entry) { return; }
                    item.setStyle(entry.s);
                    item._renovTip = entry.t;
                });
                if (layer.isTooltipOpen()) { layer.getTooltip().update(); }
            }
            if (this._legendHtml) {
                var html = this._legendHtml;
                this._legend = L.control({position: this._position});
                this._legend.onAdd = function () {
                    var div = L.DomUtil.create("div", "renov-legend");
                    div.innerHTML = html;
                    L.DomEvent.disableClickPropagation(div);
                    return div;
                };
                this._legend.addTo(map);
            }
        },
        onRemove: function (map) {
            if (this._legend) { map.removeControl(this._legend); this._legend = null; }
        }
    });
}
"""


def _compact_polygons(
    frame: gpd.GeoDataFrame, *, ids: Sequence[str], names: Sequence[str], decimals: int
) -> str:
    """Polygons as compact JSON text for ``L.renovPolygons``: a third of the GeoJSON's size.

    Coordinates become integers (degrees x 10**decimals), each ring's first
    point relative to the origin ``o`` and every next point relative to the one
    before, without the closing point: ``{"d": decimals, "o": [x0, y0],
    "g": [[[ring, hole...], part...], ...], "i": ids, "n": names}``.
    """
    geoms = np.asarray(frame.geometry.array)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    scaled = np.rint(coords * 10.0**decimals).astype(np.int64)
    origin = scaled.min(axis=0) if len(scaled) else np.zeros(2, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(coord_of)) + 1] if len(coord_of) else np.array([])
    ends = np.r_[starts[1:], len(coord_of)].astype(int) if len(coord_of) else np.array([])
    deltas = scaled.copy()
    deltas[1:] -= scaled[:-1]
    if len(starts):
        deltas[starts] = scaled[starts] - origin
    ring_texts = [
        "[" + ",".join(map(str, deltas[a : b - 1].ravel().tolist())) + "]"
        for a, b in zip(starts.astype(int), ends, strict=True)
    ]
    part_rings: list[list[str]] = [[] for _ in range(len(parts))]
    for ring, part in zip(ring_texts, ring_of.tolist(), strict=True):
        part_rings[part].append(ring)
    geom_parts: list[list[str]] = [[] for _ in range(len(geoms))]
    for rings_text, geom in zip(part_rings, part_of.tolist(), strict=True):
        geom_parts[geom].append("[" + ",".join(rings_text) + "]")
    shapes = ",".join("[" + ",".join(p) + "]" for p in geom_parts)
    return (
        f'{{"d":{int(decimals)},"o":[{int(origin[0])},{int(origin[1])}],"g":[{shapes}],'
        f'"i":{_script_json(list(ids))},"n":{_script_json(list(names))}}}'
    )


class _RawScript(Element):
    """Script text added to a figure as it is (a plain ``Element`` compiles its text as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _DataElement(MacroElement):
    """A macro element carrying large data in its script.

    ``MacroElement.render`` wraps the rendered script in an ``Element``, which
    compiles it as a Jinja template: for megabytes of GeoJSON that costs
    about half a second on every render (``st_folium`` renders on every run).
    The script is rendered once here and added as it is. Elements of this
    kind have no header, html or children.
    """

    def render(self, **kwargs: Any) -> str:
        script = self._template.module.__dict__["script"]
        figure = cast(Figure, self.get_root())
        figure.script.add_child(_RawScript(script(self, kwargs)), name=self.get_name())
        return ""


class _OverviewScript(MacroElement):
    """Defines the overview's functions (:data:`_OVERVIEW_JS`) in the map's script."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        """
        + _OVERVIEW_JS
        + """
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "RenovOverviewScript"


class _BaseLayer(_DataElement):
    """A layer of the overview's base map, from prepared text, added straight to the map.

    ``kind`` is ``"geojson"`` (GeoJSON text) or ``"compact"``
    (:func:`_compact_polygons`). An interactive layer gets the group tooltip
    and hover of ``L.renovBind``; with a ``target`` it is registered in
    ``map._renovLayers`` for :class:`_Restyle`. Nothing is parsed, styled or
    measured in Python at render time: the text goes to the browser as it is.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {%- set map = this._parent.get_name() %}
        {%- if this.kind == "compact" %}
        var {{ this.get_name() }} = L.renovPolygons({{ this.data }}, {{ this.style|tojson }});
        {%- else %}
        var {{ this.get_name() }} = L.geoJson({{ this.data }}, {
            style: {{ this.style|tojson }}, interactive: {{ this.interactive|tojson }}
        });
        {%- endif %}
        {{ this.get_name() }}.addTo({{ map }});
        {%- if this.interactive %}
        L.renovBind({{ this.get_name() }}, {{ this.hover_weight|tojson }});
        {%- endif %}
        {%- if this.target %}
        {{ map }}._renovLayers = {{ map }}._renovLayers || {};
        {{ map }}._renovLayers[{{ this.target|tojson }}] = {{ this.get_name() }};
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: str,
        *,
        style: Mapping[str, Any],
        kind: str = "geojson",
        interactive: bool = False,
        target: str | None = None,
    ) -> None:
        super().__init__()
        self._name = "RenovBaseLayer"
        self.data = data
        self.kind = kind
        self.style = {**style, "interactive": interactive}
        self.interactive = interactive
        self.target = target
        self.hover_weight = _HOVER_EXTRA_WEIGHT


class _Restyle(_DataElement):
    """One restyling of a base layer (``L.RenovRestyle``), added to a feature group."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = new L.RenovRestyle(
            {{ this.target|tojson }}, {{ this.codes }}, {{ this.entries }},
            {{ this.legend }}, {{ this.position|tojson }}
        ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        target: str,
        *,
        codes: Sequence[int] | Mapping[str, int],
        entries: Sequence[tuple[Mapping[str, Any], str]],
        legend: str | None,
        position: str,
    ) -> None:
        super().__init__()
        self._name = "Restyle"
        self.target = target
        self.codes = _script_json(list(codes) if not isinstance(codes, Mapping) else dict(codes))
        self.entries = _script_json([{"s": dict(style), "t": tip} for style, tip in entries])
        self.legend = _script_json(legend)
        self.position = position


def overview_status_map(
    data: OverviewData,
    *,
    asset_base_url: str = ASSET_BASE_URL,
    lang: str = "zh",
    canvas: bool | None = None,
) -> folium.Map:
    """The overview's base map: counties, urban areas and communities, not yet coloured.

    Counties are drawn white with grey outlines (the county drilled into with
    a thick one) and labelled; urban areas as dashed outlines; communities in
    the "not in the programme" grey. Add :func:`county_choropleth` and
    :func:`community_statuses` (to the map, or as ``st_folium``'s
    ``feature_group_to_add``) to colour them for a year. A click on a county
    returns its ``county_code``, on a community its ``community_id``, in
    ``last_active_drawing.properties``.

    Parameters
    ----------
    data : OverviewData
        From :func:`overview_data`.
    asset_base_url : str
        Where the browser finds Leaflet; see :func:`base_map`.
    lang : {"zh", "en"}
        Language of the county labels.
    canvas : bool, optional
        Draw on a canvas rather than SVG; default from
        :data:`CANVAS_MIN_FEATURES` communities on.

    Returns
    -------
    folium.Map
        A new map each call (``st_folium`` changes the map it is given), built
        in milliseconds from the prepared text.

    Examples
    --------
    >>> m = overview_status_map(overview_data(counties, urban, communities))  # doctest: +SKIP
    """
    from gislib.i18n import tr

    m = base_map(
        bounds=data.bounds,
        asset_base_url=asset_base_url,
        fit_padding_px=_OVERVIEW_FIT_PADDING_PX,
        basemap=data.basemap,
    )
    if canvas if canvas is not None else len(data.community_ids) >= CANVAS_MIN_FEATURES:
        m.options["prefer_canvas"] = True
    m.add_child(_FocusWithoutScroll())
    m.add_child(_OverviewScript())
    county_weight = _COUNTY_WEIGHT if data.county is None else _SELECTED_COUNTY_WEIGHT / 3
    _BaseLayer(
        data.counties_json,
        style={
            "color": _COUNTY_BORDER,
            "weight": county_weight,
            "fillColor": CHOROPLETH_ZERO_COLOUR,
            "fillOpacity": 0,
        },
        interactive=True,
        target=_COUNTY_TARGET,
    ).add_to(m)
    _BaseLayer(
        data.urban_areas_json,
        style={"color": _URBAN_BORDER, "weight": 1.2, "dashArray": "5 4", "fill": False},
    ).add_to(m)
    if data.county is not None:
        outline = _county_outline(data.counties_json, data.county)
        if outline is not None:
            _BaseLayer(
                outline,
                style={"color": SELECTED_COLOUR, "weight": _SELECTED_COUNTY_WEIGHT, "fill": False},
            ).add_to(m)
    from gislib.planning import STATUS_COLOURS, Status

    none_colour = STATUS_COLOURS[Status.NONE]
    _BaseLayer(
        data.communities_data,
        kind="compact",
        style={
            "color": none_colour,
            "weight": _COMMUNITY_WEIGHT,
            "fillColor": none_colour,
            "fillOpacity": _COMMUNITY_FILL_OPACITY,
        },
        interactive=True,
        target=_COMMUNITY_TARGET,
    ).add_to(m)
    width, height = _LABEL_SIZE
    for lat, lon, zh, en in data.labels:
        folium.Marker(
            [lat, lon],
            icon=folium.DivIcon(
                html=html.escape(tr(zh, en, lang)),
                icon_size=_LABEL_SIZE,
                icon_anchor=(width // 2, height // 2),
                class_name="renov-county-label",
            ),
            interactive=False,
            keyboard=False,
        ).add_to(m)
    return m


def _county_outline(counties_json: str, code: str) -> str | None:
    """The FeatureCollection text of one county, from the prepared counties."""
    collection = json.loads(counties_json)
    features = [f for f in collection["features"] if f.get("id") == code]
    if not features:
        return None
    return _script_json({"type": "FeatureCollection", "features": features})


@dataclass(frozen=True)
class Choropleth:
    """What :func:`county_choropleth` built.

    Attributes
    ----------
    group : folium.FeatureGroup
        The restyling layer and its legend: add it to the base map, or pass
        it to ``st_folium`` as ``feature_group_to_add``.
    classes : dict of str to int
        County code -> class (0 nothing counted, 1 the lightest ...).
    breaks : tuple of float
        The upper bounds of the classes.
    """

    group: folium.FeatureGroup
    classes: dict[str, int]
    breaks: tuple[float, ...]


def county_choropleth(
    data: OverviewData,
    values: Mapping[str, float] | pd.Series,
    *,
    measure: str,
    title: str,
    breaks: Sequence[float] | None = None,
    lang: str = "zh",
) -> Choropleth:
    """Colour the counties of an overview map by a value, with a class legend.

    Parameters
    ----------
    data : OverviewData
        The prepared map the counties belong to.
    values : mapping or Series
        County code -> value (e.g. a column of
        :func:`gislib.planning.progress_by_county`); a county without a value
        counts 0.
    measure : str
        A key of :data:`gislib.planning.MEASURES` (formats the numbers).
    title : str
        Legend title and tooltip label, e.g. ``"已完工户数（截至2023年底）"``;
        escaped here.
    breaks : sequence of float, optional
        Class upper bounds (:func:`class_breaks`); default from ``values``.
        Pass bounds computed over every year to keep the legend fixed while
        the year changes.
    lang : {"zh", "en"}
        Language of the numbers' units and the click hint.

    Returns
    -------
    Choropleth

    Examples
    --------
    >>> table = progress_by_county(communities, events, year=2023)  # doctest: +SKIP
    >>> county_choropleth(data, table[("completed", "households")],
    ...                   measure="households", title="已完工户数")  # doctest: +SKIP
    """
    from gislib.i18n import tr

    lookup = {str(k): float(v) for k, v in dict(values).items()}
    bounds = (
        tuple(float(b) for b in breaks)
        if breaks is not None
        else class_breaks(list(lookup.values()))
    )
    colours = [CHOROPLETH_ZERO_COLOUR, *_class_colours(len(bounds))]
    opacity = _CHOROPLETH_OPACITY if data.county is None else _CHOROPLETH_OPACITY_COUNTY
    hint = tr("点击查看该区县", "click to open this county", lang)
    label = html.escape(title)
    entries: list[tuple[Mapping[str, Any], str]] = []
    codes: dict[str, int] = {}
    classes: dict[str, int] = {}
    for code in data.county_codes:
        value = lookup.get(code, 0.0)
        klass = min(_class_of(value, bounds), len(colours) - 1)
        classes[code] = klass
        codes[code] = len(entries)
        shown = html.escape(format_measure(value, measure, lang=lang))
        entries.append(
            (
                {"fillColor": colours[klass], "fillOpacity": opacity},
                f"<tr><th>{label}</th><td>{shown}</td></tr>"
                f'<tr><td colspan="2" style="color:#666">{html.escape(hint)}</td></tr>',
            )
        )
    divisor, unit = _legend_unit(measure, bounds[-1] if bounds else 0.0, lang=lang)
    legend_rows = [(f"0 {unit}", _ZERO_LEGEND_COLOUR, "outline")]
    lower = 0.0
    for i, bound in enumerate(bounds):
        upper = _short_number(bound / divisor)
        text = f"≤ {upper}" if i == 0 else f"{_short_number(lower / divisor)} – {upper}"
        legend_rows.append((f"{text} {unit}", colours[i + 1], "fill"))
        lower = bound
    legend = Legend(title, legend_rows)
    group = folium.FeatureGroup(name=title, overlay=True, control=False)
    group.add_child(
        _Restyle(
            _COUNTY_TARGET, codes=codes, entries=entries, legend=legend.html, position="topright"
        )
    )
    return Choropleth(group=group, classes=classes, breaks=bounds)


@dataclass(frozen=True)
class StatusColouring:
    """What :func:`community_statuses` built.

    Attributes
    ----------
    group : folium.FeatureGroup
        The restyling layer and its legend (see :class:`Choropleth`).
    counts : dict of str to int
        Communities drawn per status (:class:`gislib.planning.Status` values,
        every status present, zeros included), in status order.
    """

    group: folium.FeatureGroup
    counts: dict[str, int]


def community_statuses(
    data: OverviewData,
    statuses: pd.DataFrame,
    *,
    year: int,
    lang: str = "zh",
) -> StatusColouring:
    """Colour the communities of an overview map by their status as of a year's end.

    Parameters
    ----------
    data : OverviewData
        The prepared map the communities belong to.
    statuses : DataFrame
        :func:`gislib.planning.status_at` for that year (index community_id;
        ``status``, ``stage``, ``plan_year``). Communities absent from it
        were never in the programme by then: grey.
    year : int
        The year (shown as "2023年底", never "2,023").
    lang : {"zh", "en"}
        Language of the tooltip rows and the legend.

    Returns
    -------
    StatusColouring

    Raises
    ------
    SchemaError
        ``statuses`` lacks ``status``, ``stage`` or ``plan_year``.

    Examples
    --------
    >>> coloured = community_statuses(data, status_at(events, as_of=2023), year=2023)  # doctest: +SKIP
    >>> coloured.counts["在建"]  # doctest: +SKIP
    26
    """
    from gislib.i18n import tr
    from gislib.planning import STATUS_COLOURS, STATUS_LABELS, Status

    missing = [c for c in ("status", "stage", "plan_year") if c not in statuses.columns]
    if missing:
        raise SchemaError(f"状态表缺少字段 {missing} / the statuses lack columns {missing}")
    table = statuses.loc[~statuses.index.duplicated(keep="last")]
    table = table.set_axis(table.index.astype(str))
    aligned = table.reindex(list(data.community_ids))
    status = aligned["status"].astype(object).where(aligned["status"].notna(), str(Status.NONE))
    stage = aligned["stage"].astype(object).where(aligned["stage"].notna(), None)
    plan_year = pd.to_numeric(aligned["plan_year"], errors="coerce").astype(float)
    heading = html.escape(tr(f"{int(year)}年底状态", f"status, end of {int(year)}", lang))
    plan_label = html.escape(tr("计划年度", "plan year", lang))
    keys: dict[tuple[str, str | None, int | None], int] = {}
    entries: list[tuple[Mapping[str, Any], str]] = []
    codes: list[int] = []
    for s, g, y in zip(status.tolist(), stage.tolist(), plan_year.tolist(), strict=True):
        plan = None if y is None or not math.isfinite(y) else int(y)
        key = (str(s), None if g is None else str(g), plan)
        code = keys.get(key)
        if code is None:
            code = keys[key] = len(entries)
            colour = STATUS_COLOURS.get(key[0], OTHER_COLOUR)
            zh, en = STATUS_LABELS.get(key[0], (key[0], key[0]))
            text = tr(zh, en, lang) + (f" · {key[1]}" if key[1] else "")
            tip = f"<tr><th>{heading}</th><td>{html.escape(text)}</td></tr>"
            if plan is not None:
                tip += f"<tr><th>{plan_label}</th><td>{plan}</td></tr>"
            entries.append(({"color": colour, "fillColor": colour}, tip))
        codes.append(code)
    counts = {str(s): 0 for s in Status}
    for value, n in status.value_counts().items():
        counts[str(value)] = counts.get(str(value), 0) + int(n)
    rows = [
        (
            f"{tr(*STATUS_LABELS.get(s, (s, s)), lang)}  {n}",
            STATUS_COLOURS.get(s, OTHER_COLOUR),
            "fill",
        )
        for s, n in counts.items()
    ]
    rows.append((tr("城区范围（改造范围）", "urban area (scope)", lang), _URBAN_BORDER, "dash"))
    title = tr(f"小区状态（{int(year)}年底）", f"Community status (end of {int(year)})", lang)
    legend = Legend(title, rows)
    group = folium.FeatureGroup(name=title, overlay=True, control=False)
    group.add_child(
        _Restyle(
            _COMMUNITY_TARGET,
            codes=codes,
            entries=entries,
            legend=legend.html,
            position="bottomright",
        )
    )
    return StatusColouring(group=group, counts=counts)


# ---------------------------------------------------------------------------
# EPC batch map: the communities of one county and year coloured by contract
# batch (gislib.bundling), so a planner sees each batch's extent and can click
# a community to move it.

#: Batch colours, cycled (qualitative, distinguishable side by side; Tableau 10
#: order). Unassigned communities are drawn in :data:`OTHER_COLOUR`.
BATCH_COLOURS: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#17becf",
)  # fmt: skip
_BATCH_TIP_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("community_id", "编号", "id"),
    ("street", "街道", "street"),
    ("households", "户数", "households"),
    ("investment", "投资估算（元）", "investment (yuan, estimate)"),
)
_UNASSIGNED_LABEL = ("未分入批次", "not in a batch")


def batch_colours(batch_ids: Sequence[str]) -> dict[str, str]:
    """A colour per batch id, in the order given (cycling :data:`BATCH_COLOURS`).

    Examples
    --------
    >>> batch_colours(["B01", "B02"])["B02"]
    '#f28e2b'
    """
    unique = list(dict.fromkeys(str(b) for b in batch_ids))
    return {b: BATCH_COLOURS[i % len(BATCH_COLOURS)] for i, b in enumerate(unique)}


def batch_map(
    communities: gpd.GeoDataFrame,
    *,
    counties: gpd.GeoDataFrame,
    batch_column: str = "batch_id",
    selected: str | None = None,
    asset_base_url: str = ASSET_BASE_URL,
    simplify_m: float = DISPLAY_SIMPLIFY_M,
    basemap: Basemap | str = "none",
    lang: str = "zh",
) -> folium.Map:
    """Communities coloured by EPC batch, with a legend of batches and their sizes.

    Parameters
    ----------
    communities : GeoDataFrame
        The communities to draw (EPSG:4490) with ``community_id``, ``name``
        and ``batch_column`` (a batch id, or missing / empty for a community
        not in a batch); ``street``, ``households`` and ``investment`` (元)
        are shown in the tooltip when present.
    counties : GeoDataFrame
        The ``counties`` layer (EPSG:4490), a plain background.
    batch_column : str
        The column holding the batch id.
    selected : str, optional
        A community id drawn with a heavy outline (the one being moved).
    asset_base_url : str
        Where the browser finds Leaflet; see :func:`base_map`.
    simplify_m : float
        Display simplification in metres (EPSG:4546).
    basemap : Basemap or str
        Tiles under the data (:class:`Basemap`).
    lang : {"zh", "en"}
        Language of the legend and tooltips.

    Returns
    -------
    folium.Map
        A click on a community returns its ``community_id``
        (:func:`clicked_feature_id`).

    Raises
    ------
    CRSError, SchemaError
        A layer has no CRS or lacks ``community_id``, ``name`` or the batch column.
    """
    from gislib.i18n import tr

    missing = [c for c in ("community_id", "name", batch_column) if c not in communities.columns]
    if missing:
        raise SchemaError(f"小区图层缺少字段 {missing} / the communities lack columns {missing}")
    batches = communities[batch_column].astype("string").fillna("").str.strip()
    colours = batch_colours(sorted(b for b in batches.unique() if b))
    keep = ["community_id", "name", batch_column]
    keep += [c for c, _zh, _en in _BATCH_TIP_FIELDS if c in communities.columns and c not in keep]
    shown = display_frame(
        communities.assign(**{batch_column: batches}),
        columns=keep,
        simplify_m=simplify_m,
        basemap=basemap,
    )
    tips = []
    for _, rec in shown.iterrows():
        batch = rec[batch_column] or tr(*_UNASSIGNED_LABEL, lang)
        rows: list[tuple[str, Any]] = [(tr("批次", "batch", lang), batch)]
        rows += [
            (tr(zh, en, lang), _number_text(rec[col]) if col == "investment" else rec[col])
            for col, zh, en in _BATCH_TIP_FIELDS
            if col in shown.columns
        ]
        tips.append(_tooltip(str(rec["name"]), rows))
    data = _community_features(shown, tips)
    for feature, batch in zip(data["features"], shown[batch_column], strict=True):
        feature["properties"]["batch_id"] = batch

    m, _ = _page_map(
        shown, counties, asset_base_url=asset_base_url, simplify_m=simplify_m,
        basemap=basemap, county_name=tr("区县边界", "counties", lang),
    )  # fmt: skip

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        props = feature["properties"]
        colour = colours.get(str(props.get("batch_id")), OTHER_COLOUR)
        chosen = selected is not None and str(props.get("community_id")) == str(selected)
        return {
            "color": SELECTED_COLOUR if chosen else colour,
            "weight": 4 if chosen else 1.5,
            "fillColor": colour,
            "fillOpacity": _STATUS_FILL_OPACITY,
        }

    folium.GeoJson(
        data,
        name=tr("小区（按批次）", "communities by batch", lang),
        style_function=style,
        highlight_function=_constant_style({"weight": 4, "fillOpacity": 0.9}),
        on_each_feature=_BIND_TOOLTIP,
        control=False,
    ).add_to(m)
    counts = batches[batches != ""].value_counts()
    entries = [
        (f"{batch}  {int(counts.get(batch, 0))} {tr('个', '', lang)}".rstrip(), colour, "fill")
        for batch, colour in colours.items()
    ]
    unassigned = int((batches == "").sum())
    if unassigned:
        label = tr(*_UNASSIGNED_LABEL, lang)
        entries.append((f"{label}  {unassigned}", OTHER_COLOUR, "fill"))
    Legend(
        tr("EPC 打包批次", "EPC batches", lang), entries, columns=2 if len(entries) > 8 else 1
    ).add_to(m)
    return m


def _number_text(value: Any) -> str | None:
    """A money figure with thousands separators (the tooltip shows it as text)."""
    if value is None or pd.isna(value):
        return None
    return f"{float(value):,.0f}"
