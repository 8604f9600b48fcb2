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
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
from gislib.crs import crs_label, require_same_crs, to_measure
from gislib.errors import CRSError, SchemaError
from gislib.schema import COUNTIES, MEASURE_CRS, STORAGE_CRS

__all__ = [
    "ASSET_BASE_URL",
    "COUNTY_COLOURS",
    "DISPLAY_DECIMALS",
    "DISPLAY_SIMPLIFY_M",
    "NEAREST_MAINS_COLUMNS",
    "NETWORK_COLOURS",
    "OTHER_COLOUR",
    "SELECTED_COLOUR",
    "SELECTED_ZOOM",
    "VERDICT_COLOURS",
    "ZONE_COLOUR",
    "EligibilityMap",
    "Legend",
    "OverviewMap",
    "Selection",
    "asset_base_url",
    "base_map",
    "clicked_feature_id",
    "community_layers",
    "county_layer",
    "county_summary",
    "display_frame",
    "eligibility_map",
    "map_html",
    "nearest_mains",
    "overview_map",
    "selection_layer",
    "short_rule_name",
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
) -> folium.Map:
    """An empty map without tiles that loads Leaflet from the app's static folder.

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

    Returns
    -------
    folium.Map

    Raises
    ------
    CRSError
        ``bounds`` are not longitude/latitude degrees.

    Examples
    --------
    >>> m = base_map(bounds=(111.3, 21.5, 112.4, 22.7))
    >>> m.default_js
    [('leaflet', '/app/static/leaflet/leaflet.js')]
    """
    minx, miny, maxx, maxy = _check_bounds(bounds)
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

    Returns
    -------
    GeoDataFrame
        In EPSG:4490 (longitude, latitude), ready to draw as WGS84.

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
    rounded = shapely.transform(np.asarray(out.geometry.array), lambda xy: np.round(xy, decimals))
    return out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=STORAGE_CRS))


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

    Returns
    -------
    folium.FeatureGroup
        One interactive feature per county with a geometry.

    Raises
    ------
    CRSError, SchemaError
        See :func:`display_frame`.
    """
    shown = display_frame(counties, columns=("code", "name"), simplify_m=simplify_m)
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

    Returns
    -------
    folium.FeatureGroup
        Outlines that do not catch the mouse (they draw no
        ``leaflet-interactive`` path).
    """
    shown = display_frame(urban_areas, simplify_m=simplify_m)
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
    communities: gpd.GeoDataFrame, counties: gpd.GeoDataFrame, *, simplify_m: float
) -> list[_CountyGroup]:
    required = ("community_id", "name", "county_code")
    optional = [c for c in _COMMUNITY_TOOLTIP_FIELDS if c in communities.columns]
    shown = display_frame(communities, columns=(*required, *optional), simplify_m=simplify_m)
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
    return [g.group for g in _community_groups(communities, counties, simplify_m=simplify_m)]


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
    m = base_map(bounds=bounds, asset_base_url=asset_base_url)
    county_group = county_layer(counties, simplify_m=simplify_m)
    urban_group = urban_area_layer(urban_areas, simplify_m=simplify_m)
    built = _community_groups(communities, counties, simplify_m=simplify_m)
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


def _zone_layer(zones: gpd.GeoDataFrame, *, simplify_m: float) -> folium.FeatureGroup:
    optional = [c for c in ("name", "plan", "planned_year") if c in zones.columns]
    shown = display_frame(zones, columns=optional, simplify_m=simplify_m)

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
    shown_pipes = display_frame(chosen, columns=("network", "pipe_id"), simplify_m=simplify_m)
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
            _feature_collection(display_frame(connectors, simplify_m=0), ids=ids, tips=None),
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
    outline = display_frame(community, simplify_m=simplify_m)
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
        communities, columns=("community_id", "name", "county_code"), simplify_m=simplify_m
    )
    table = verdicts[list(required)].copy()
    table["community_id"] = table["community_id"].astype(str)
    table = table.drop_duplicates(subset="community_id", keep="first")
    keys = shown["community_id"].astype(str)
    joined = table.set_index("community_id").reindex(keys.to_numpy())
    for col in required[1:]:
        shown[col] = joined[col].to_numpy()
    shown["verdict"] = shown["verdict"].fillna(_UNCHECKED)

    m = base_map(
        bounds=_map_bounds(shown, counties),
        asset_base_url=asset_base_url,
        fit_padding_px=_FIT_PADDING_PX,
    )
    m.add_child(_FocusWithoutScroll())
    county_group = county_layer(
        counties, simplify_m=max(simplify_m, _COUNTY_SIMPLIFY_M), interactive=False
    )
    county_group.add_to(m)
    zone_group = _zone_layer(zones, simplify_m=simplify_m)
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
    """The communities' extent, else the counties', else the region's (EPSG:4490 degrees)."""
    if len(shown):
        minx, miny, maxx, maxy = (float(v) for v in shown.total_bounds)
        return (minx, miny, maxx, maxy)
    raw = np.asarray(counties.geometry.array)
    valid = ~(shapely.is_missing(raw) | shapely.is_empty(raw))
    if valid.any():
        minx, miny, maxx, maxy = (
            float(v) for v in counties[valid].to_crs(STORAGE_CRS).total_bounds
        )
        return (minx, miny, maxx, maxy)
    return settings.region_bounds


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
