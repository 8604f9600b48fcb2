"""Coordinate reference systems: storage, measurement and the Chinese web offsets.

The workspace stores geometries in CGCS2000 (EPSG:4490) and measures areas and
distances in CGCS2000 / 3-degree Gauss-Kruger CM 111E (EPSG:4546), which
covers all of Yangjiang (111.28-112.37 E). Coordinates are always x =
longitude, y = latitude (EPSG:4490 is latitude-first in its definition, so
every transformer here is built with ``always_xy=True``).

Web maps in China use two offset systems that are not EPSG CRSs:

* GCJ-02 (Amap, Tencent): a published obfuscation of WGS84. The forward
  formula is closed-form; the inverse here is iterative (error under 1 mm,
  against 1-2 m for the usual one-step inverse).
* BD-09 (Baidu): a further offset of GCJ-02.

CGCS2000 and WGS84 agree to a few centimetres for the purpose of these
conversions, so GCJ-02 and BD-09 are computed from either directly.

A CRS option in this library is an EPSG string ("EPSG:4546"), a pyproj
CRS, or one of the names ``"gcj02"`` / ``"bd09"``; see :func:`parse_crs`.
"""

from __future__ import annotations

import math
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from gislib.errors import CRSError
from gislib.schema import MEASURE_CRS, STORAGE_CRS

__all__ = [
    "OFFSET_CRS_NAMES",
    "CrsLike",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "crs_label",
    "from_storage",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "parse_crs",
    "require_crs",
    "require_same_crs",
    "to_measure",
    "to_storage",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Names of the non-EPSG offset systems accepted wherever a CRS is asked for.
OFFSET_CRS_NAMES = ("gcj02", "bd09")

OffsetName = Literal["gcj02", "bd09"]
CrsLike = str | int | CRS
ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 formula.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0
# Iterative inverses stop when the step is below this, in degrees (about 1 mm).
_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_ITERATIONS = 30


def _as_float_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"lon and lat differ in shape: {x.shape} and {y.shape}")
    return x, y


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Offset (dlon, dlat) in degrees that GCJ-02 adds to a WGS84 point."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 / CGCS2000 longitudes and latitudes to GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        Degrees, same shape.

    Returns
    -------
    tuple of ndarray
        GCJ-02 longitude and latitude in degrees.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.410244, 39.916404)
    """
    x, y = _as_float_arrays(lon, lat)
    dlon, dlat = _gcj_delta(x, y)
    return x + dlon, y + dlat


def _iterate_inverse(
    forward: object, tx: FloatArray, ty: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Solve forward(x, y) = (tx, ty) by fixed-point iteration from (tx, ty)."""
    fwd = forward  # a callable (x, y) -> (x', y'); typed loosely to keep mypy simple
    x, y = tx.copy(), ty.copy()
    for _ in range(_INVERSE_MAX_ITERATIONS):
        fx, fy = fwd(x, y)  # type: ignore[operator]
        dx, dy = fx - tx, fy - ty
        x = x - dx
        y = y - dy
        if np.all(np.abs(dx) < _INVERSE_TOLERANCE_DEG) and np.all(
            np.abs(dy) < _INVERSE_TOLERANCE_DEG
        ):
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitudes and latitudes to WGS84 / CGCS2000, iteratively.

    The usual one-step inverse (subtract the offset computed at the GCJ-02
    point) is off by 1-2.4 m in Yangjiang; iterating until the step is below
    1e-9 degrees brings the round-trip error under 1 mm.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees, same shape.

    Returns
    -------
    tuple of ndarray
        WGS84 longitude and latitude in degrees.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(*wgs84_to_gcj02(111.98, 21.86))
    >>> round(float(lon), 9), round(float(lat), 9)
    (111.98, 21.86)
    """
    tx, ty = _as_float_arrays(lon, lat)
    return _iterate_inverse(wgs84_to_gcj02, tx, ty)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitudes and latitudes to BD-09 (Baidu), in degrees.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.41037, 39.921337)
    """
    x, y = _as_float_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 longitudes and latitudes to GCJ-02, iteratively, in degrees."""
    tx, ty = _as_float_arrays(lon, lat)
    return _iterate_inverse(gcj02_to_bd09, tx, ty)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 / CGCS2000 longitudes and latitudes to BD-09, in degrees."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 longitudes and latitudes to WGS84 / CGCS2000, in degrees."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def parse_crs(value: CrsLike) -> CRS | OffsetName:
    """Read a CRS option: an EPSG code or string, a pyproj CRS, ``gcj02`` or ``bd09``.

    Parameters
    ----------
    value : str, int or pyproj.CRS
        For example ``"EPSG:4546"``, ``4490``, ``"GCJ-02"``, ``"bd09"``.

    Returns
    -------
    pyproj.CRS or {"gcj02", "bd09"}

    Raises
    ------
    CRSError
        If the value names no CRS; the message lists what is accepted.
    """
    if isinstance(value, CRS):
        return value
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "").replace("_", "")
        if key in OFFSET_CRS_NAMES:
            return key  # type: ignore[return-value]
    try:
        return CRS.from_user_input(value)
    except Exception as exc:
        raise CRSError(
            f"CRS {value!r} is not understood; use an EPSG code such as EPSG:4490 "
            "(CGCS2000), EPSG:4546 (CGCS2000 / GK CM 111E), EPSG:4326 (WGS84), "
            "or gcj02 (Amap/Tencent) or bd09 (Baidu)"
        ) from exc


def crs_label(value: CrsLike | None) -> str:
    """Short human label of a CRS option, e.g. ``"EPSG:4490"`` or ``"GCJ-02"``."""
    if value is None:
        return "none"
    parsed = parse_crs(value)
    if isinstance(parsed, str):
        return {"gcj02": "GCJ-02", "bd09": "BD-09"}[parsed]
    epsg = parsed.to_epsg()
    return f"EPSG:{epsg}" if epsg else parsed.name


def _transform_offset(gdf: gpd.GeoDataFrame, func: object) -> gpd.GeoDataFrame:
    def xy(coords: FloatArray) -> FloatArray:
        lon, lat = func(coords[:, 0], coords[:, 1])  # type: ignore[operator]
        return np.column_stack([lon, lat])

    out = gdf.copy()
    out[gdf.geometry.name] = shapely.transform(gdf.geometry.to_numpy(), xy)
    return out


def require_crs(gdf: gpd.GeoDataFrame, *, name: str) -> CRS:
    """Return the CRS of ``gdf``; raise :class:`CRSError` naming ``name`` if it has none."""
    if gdf.crs is None:
        raise CRSError(
            f"{name} has no coordinate reference system; give one (for example "
            "EPSG:4490 for CGCS2000, or gcj02 for data copied from Amap)"
        )
    return CRS.from_user_input(gdf.crs)


def require_same_crs(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, *, names: tuple[str, str]) -> None:
    """Raise :class:`CRSError` unless ``a`` and ``b`` share one CRS (naming both)."""
    crs_a = require_crs(a, name=names[0])
    crs_b = require_crs(b, name=names[1])
    if not crs_a.equals(crs_b):
        raise CRSError(
            f"{names[0]} is in {crs_label(crs_a)} but {names[1]} is in {crs_label(crs_b)}; "
            "bring both to one CRS first"
        )


def to_storage(gdf: gpd.GeoDataFrame, *, source: CrsLike | None = None) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` in the storage CRS, CGCS2000 (EPSG:4490).

    Parameters
    ----------
    gdf : GeoDataFrame
        Input layer; its index is kept.
    source : CRS option, optional
        The CRS the coordinates are really in. Required for GCJ-02 / BD-09 data
        (which files label as EPSG:4326) and when ``gdf`` has no CRS; when
        given, it overrides ``gdf.crs``.

    Returns
    -------
    GeoDataFrame
        In EPSG:4490, x = longitude, y = latitude.

    Raises
    ------
    CRSError
        If neither ``gdf.crs`` nor ``source`` says the CRS.
    """
    if source is None:
        require_crs(gdf, name="the layer")
        return gdf.to_crs(STORAGE_CRS)
    parsed = parse_crs(source)
    if isinstance(parsed, str):
        wgs = _transform_offset(gdf, _TO_WGS84[parsed])
        return wgs.set_crs(STORAGE_CRS, allow_override=True)
    return gdf.set_crs(parsed, allow_override=True).to_crs(STORAGE_CRS)


def from_storage(gdf: gpd.GeoDataFrame, *, target: CrsLike) -> gpd.GeoDataFrame:
    """Return a copy of a stored layer (EPSG:4490) in ``target``.

    For ``gcj02`` / ``bd09`` the result is labelled EPSG:4326, as Amap and
    Baidu files are, with offset coordinates.

    Raises
    ------
    CRSError
        If ``gdf`` is not in EPSG:4490.
    """
    crs = require_crs(gdf, name="the layer")
    if not crs.equals(CRS.from_user_input(STORAGE_CRS)):
        raise CRSError(f"the layer is in {crs_label(crs)}, expected the storage CRS EPSG:4490")
    parsed = parse_crs(target)
    if isinstance(parsed, str):
        out = _transform_offset(gdf, _FROM_WGS84[parsed])
        return out.set_crs("EPSG:4326", allow_override=True)
    return gdf.to_crs(parsed)


def to_measure(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` in the measuring CRS EPSG:4546 (metres).

    Raises
    ------
    CRSError
        If ``gdf`` has no CRS.
    """
    require_crs(gdf, name="the layer")
    return gdf.to_crs(MEASURE_CRS)
