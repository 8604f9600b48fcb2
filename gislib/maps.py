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
from gislib.crs import crs_label
from gislib.errors import CRSError, SchemaError
from gislib.schema import COUNTIES, MEASURE_CRS, STORAGE_CRS

__all__ = [
    "ASSET_BASE_URL",
    "COUNTY_COLOURS",
    "DISPLAY_DECIMALS",
    "DISPLAY_SIMPLIFY_M",
    "OTHER_COLOUR",
    "Legend",
    "OverviewMap",
    "asset_base_url",
    "base_map",
    "community_layers",
    "county_layer",
    "county_summary",
    "display_frame",
    "map_html",
    "overview_map",
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
.leaflet-control-layers {{ font-size: 13px; line-height: 20px; }}
.renov-county-label {{ font-size: 15px; font-weight: 600; color: #333; text-align: center;
  white-space: nowrap; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; }}
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


class Legend(MacroElement):
    """A legend drawn as a plain Leaflet control from escaped HTML.

    Parameters
    ----------
    title : str
        Heading of the legend.
    entries : sequence of (str, str, str)
        ``(label, colour, kind)`` with ``kind`` ``"fill"`` (a square swatch)
        or ``"dash"`` (a dashed line). Labels are escaped; colours must be
        CSS colours chosen by the code, never user input.
    position : str
        Leaflet control corner, ``"bottomright"`` by default.

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
    ) -> None:
        super().__init__()
        self._name = "Legend"
        self.position = position
        rows = [f'<div class="renov-legend-title">{html.escape(title)}</div>']
        for label, colour, kind in entries:
            if kind == "dash":
                mark = f'<span class="renov-line" style="border-top: 2px dashed {colour}"></span>'
            else:
                mark = f'<span class="renov-swatch" style="background: {colour}"></span>'
            rows.append(f"<div>{mark}{html.escape(label)}</div>")
        self.html = "".join(rows)


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
    m.fit_bounds([[miny, minx], [maxy, maxx]])
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
    folium.GeoJson(data, style_function=style, on_each_feature=_BIND_TOOLTIP, control=False).add_to(
        group
    )
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
