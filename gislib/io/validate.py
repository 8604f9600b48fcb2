"""Check a raw layer against its workspace schema and build the import report.

Concern: from a :class:`~gislib.io.reading.RawLayer` (a file as read) to an
:class:`ImportReport`: a frame with the schema's field names and types, in
the storage CRS (CGCS2000, EPSG:4490), plus every repair made and every
refusal found, each naming the record (1-based data row and id) and the fix.
Data problems never raise: they are collected as refusals, and the caller
stores nothing while :attr:`ImportReport.ok` is false. Problems with the whole
file raise a :class:`~gislib.errors.GislibError` (no CRS, unknown layer, a
``crs`` option that names no CRS).

What is checked
---------------
* Headers are mapped to fields through the field name, Chinese label,
  shapefile short name, English label and aliases of :mod:`gislib.schema`,
  insensitive to case, spaces and full-width characters. Unmapped columns are
  kept after the schema fields and listed.
* Values are parsed ("1995年" -> 1995, "85%" -> 0.85, 是/否 -> bool, county
  names -> codes, "12,000" -> 12000) and checked (choices, ranges). A bad
  value is refused with the record, the field and the expected form.
* Ids: missing, duplicated within the file, or already in the workspace.
* Geometry: empty or missing; wrong type for the layer (points in a polygon
  layer); Polygon -> MultiPolygon and LineString -> MultiLineString; Z and M
  dropped; invalid geometry repaired with :func:`shapely.make_valid` (never
  ``buffer(0)``), keeping the part of the layer's dimension.
* CRS: the ``crs`` option overrides the file's; no CRS at all is an error;
  GCJ-02 / BD-09 are converted. A record outside
  :data:`gislib.settings.region_bounds` is refused with a diagnosis.

What the position checks can and cannot detect
----------------------------------------------
* Swapped axes (latitude in x): detected when swapping brings the record
  inside the region.
* Projected metres read as degrees (or no CRS): detected when one of the
  usual projections of Yangjiang (EPSG:4546 and its zone-prefixed twins,
  Web Mercator) brings the record inside. CGCS2000, Xian 1980 and Beijing
  1954 Gauss-Kruger grids differ by tens of metres: they cannot be told apart
  from coordinates, so the message names EPSG:4546 as an example.
* GCJ-02 (Amap) or BD-09 (Baidu) coordinates labelled WGS84 / CGCS2000: the
  offset (about 600 m / 1.25 km in Yangjiang) stays inside the region, so it
  is invisible without something to compare with. When the caller passes a
  ``reference`` layer (existing communities, buildings, pipelines: features
  small compared with 600 m) the fit of the data as labelled, as GCJ-02 and as
  BD-09 is compared (median distance from each record to the nearest
  reference feature) and a clearly better alternative is reported. Against a
  coarse reference (counties, urban areas) the three fit equally and nothing
  is reported. The same test reports data wrongly labelled ``gcj02``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from gislib import settings
from gislib.crs import (
    CrsLike,
    bd09_to_wgs84,
    gcj02_to_wgs84,
    parse_crs,
    to_storage,
)
from gislib.errors import CRSError, ImportRefusedError, SchemaError
from gislib.io.reading import RawLayer, normalize_header, read_file
from gislib.schema import COUNTIES, LAYERS, MEASURE_CRS, STORAGE_CRS, Field, Layer, county_code_for

if TYPE_CHECKING:
    import os

    from gislib.store import Workspace

__all__ = ["ImportReport", "Issue", "IssueCode", "prepare_import", "validate"]

logger = logging.getLogger(__name__)


class IssueCode(StrEnum):
    """Kinds of repairs and refusals, for grouping and for programs."""

    MISSING_COLUMN = "missing_column"
    DUPLICATE_COLUMN = "duplicate_column"
    SYSTEM_COLUMN = "system_column"
    EMPTY_REQUIRED = "empty_required"
    BAD_VALUE = "bad_value"
    BAD_CHOICE = "bad_choice"
    MISSING_ID = "missing_id"
    DUPLICATE_ID = "duplicate_id"
    EXISTING_ID = "existing_id"
    EMPTY_GEOMETRY = "empty_geometry"
    WRONG_GEOMETRY_TYPE = "wrong_geometry_type"
    INVALID_GEOMETRY = "invalid_geometry"
    GEOMETRY_PARTS_DROPPED = "geometry_parts_dropped"
    Z_M_DROPPED = "z_m_dropped"
    OUTSIDE_REGION = "outside_region"
    OFFSET_SUSPECTED = "offset_suspected"


@dataclass(frozen=True)
class Issue:
    """One repair or refusal.

    Parameters
    ----------
    row : int or None
        Record number as the user sees it: 1-based data row (the first record
        below the header is 1); ``None`` for the whole file.
    record_id : str or None
        The record's id when it has one.
    field : str or None
        Schema field concerned, ``"geometry"``, or ``None``.
    code : IssueCode
        Kind of issue.
    zh, en : str
        Full message in Chinese and in English, naming the record and the fix.
    """

    row: int | None
    record_id: str | None
    field: str | None
    code: IssueCode
    zh: str
    en: str

    @property
    def message(self) -> str:
        """``"中文 / English"``."""
        return f"{self.zh} / {self.en}"

    def __str__(self) -> str:
        return self.message


# How many issues of one kind the summary lists before "and N more".
_SUMMARY_PER_KIND = 5


@dataclass
class ImportReport:
    """Result of :func:`validate`: the frame to store and what was found.

    Parameters
    ----------
    frame : GeoDataFrame or DataFrame
        All records, index as read, columns: the schema fields (system fields
        excluded) in schema order with nullable dtypes (``string``, ``Int64``,
        ``Float64``, ``boolean``; dates as ``datetime.date`` objects), then the
        unmapped columns as read. For a layer with geometry, a GeoDataFrame
        with ``geometry`` last, in EPSG:4490 (MultiPolygon / MultiLineString);
        for a table (``status_events``) or ``attributes_only``, a plain
        DataFrame without geometry. Values and geometries refused are missing.
    layer : str
        Target layer.
    source : Path
        The file read.
    mapped_columns : dict
        Header in the file -> schema field.
    unmapped_columns : list of str
        Headers kept as extra columns.
    repairs, refusals : list of Issue
        Changes made to the data; reasons not to import it.
    source_crs : str
        Label of the CRS the coordinates were taken to be in (``"none"`` for
        tables).
    notes : list of str
        What the reader and the validation detected (encoding, header row...).
    """

    frame: pd.DataFrame
    layer: str
    source: Path
    mapped_columns: dict[str, str]
    unmapped_columns: list[str]
    repairs: list[Issue] = field(default_factory=list)
    refusals: list[Issue] = field(default_factory=list)
    source_crs: str = "none"
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was refused: the frame may be stored."""
        return not self.refusals

    def summary(self) -> str:
        """The report as text for people, Chinese with English alongside."""
        schema = LAYERS[self.layer]
        lines = [
            f"导入检查 / import check: {self.source.name} → {self.layer}（{schema.zh}）",
            f"记录 / records: {len(self.frame)}；坐标系 / CRS: "
            + (
                f"{self.source_crs} → {STORAGE_CRS}"
                if isinstance(self.frame, gpd.GeoDataFrame)
                else "无几何 / no geometry"
            ),
        ]
        if self.mapped_columns:
            pairs = ", ".join(f"{h}→{f}" for h, f in self.mapped_columns.items())
            lines.append(f"已对应的列 / mapped columns: {pairs}")
        if self.unmapped_columns:
            lines.append(
                "未识别的列（原样保留）/ unmapped columns (kept as they are): "
                + ", ".join(self.unmapped_columns)
            )
        for title, issues in (("修复 / repairs", self.repairs), ("拒绝 / refusals", self.refusals)):
            lines.append(f"{title}: {len(issues)}")
            lines.extend(_grouped_lines(issues))
        if self.notes:
            lines.append("说明 / notes:")
            lines.extend(f"  - {note}" for note in self.notes)
        if self.ok:
            lines.append("结论 / result: 可以导入 / ready to import")
        else:
            lines.append(
                "结论 / result: 不能导入，请按上面的说明修改文件后重新导入 / refused: fix the file "
                "as described above and import it again"
            )
        return "\n".join(lines)

    def raise_if_refused(self) -> None:
        """Raise :class:`~gislib.errors.ImportRefusedError` (carrying this report) if not ok."""
        if not self.ok:
            raise ImportRefusedError(self.summary(), report=self)


def _grouped_lines(issues: list[Issue]) -> list[str]:
    lines: list[str] = []
    by_code: dict[IssueCode, list[Issue]] = {}
    for issue in issues:
        by_code.setdefault(issue.code, []).append(issue)
    for group in by_code.values():
        lines.extend(f"  - {issue.message}" for issue in group[:_SUMMARY_PER_KIND])
        if len(group) > _SUMMARY_PER_KIND:
            more = len(group) - _SUMMARY_PER_KIND
            lines.append(f"  … 同类问题另有 {more} 条 / and {more} more of this kind")
    return lines


# --------------------------------------------------------------------------- headers

# Lower rank wins when two headers name the same field.
_RANK_NAME, _RANK_ZH, _RANK_SHORT, _RANK_EN, _RANK_ALIAS = range(5)


def _header_keys(schema_field: Field) -> list[tuple[str, int]]:
    keys = [
        (schema_field.name, _RANK_NAME),
        (schema_field.zh, _RANK_ZH),
        (schema_field.short, _RANK_SHORT),
        (schema_field.en, _RANK_EN),
    ]
    keys += [(alias, _RANK_ALIAS + i) for i, alias in enumerate(schema_field.aliases)]
    return [(normalize_header(text), rank) for text, rank in keys]


@lru_cache(maxsize=16)
def _lookup(layer: str) -> dict[str, tuple[str, int]]:
    """Normalised header -> (field name, rank) for a layer; first field wins a clash."""
    table: dict[str, tuple[str, int]] = {}
    for schema_field in LAYERS[layer].fields:
        for key, rank in _header_keys(schema_field):
            if key not in table or (table[key][0] == schema_field.name and rank < table[key][1]):
                table[key] = (schema_field.name, rank)
    return table


def _accepted_headers(schema_field: Field) -> str:
    names = dict.fromkeys(
        [schema_field.zh, *schema_field.aliases, schema_field.short, schema_field.name]
    )
    return "、".join(names)


# --------------------------------------------------------------------------- values

_NUMBER = r"[+-]?\d+(?:\.\d+)?"
# Units allowed after a whole number, and after a float of the given schema unit.
_INT_UNITS = ("年", "栋", "幢", "座", "户", "层", "个")
_FLOAT_UNITS = {"m2": ("m2", "平方米", "平米"), "mm": ("mm", "毫米")}
_SHARE_UNIT = "share 0-1"
# Plausible years; a building's build year cannot be later than today.
_YEAR_RANGE = (1900, 2100)
_BUILD_YEAR_FIELD = "build_year"
_TRUE = frozenset({"是", "有", "已", "true", "yes", "y", "t", "1", "√", "✓", "对"})
_FALSE = frozenset({"否", "无", "没有", "未", "false", "no", "n", "f", "0", "×", "✗", "x", "不是"})
# Text in front of a county name that names the city or the province.
_COUNTY_PREFIXES = ("广东省", "阳江市")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+.*)?")
_YEAR_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*\d{1,2}\s*月?")


class _BadValueError(ValueError):
    def __init__(self, zh: str, en: str, *, code: IssueCode = IssueCode.BAD_VALUE) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en
        self.code = code


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _is_year_field(schema_field: Field) -> bool:
    return schema_field.name == "year" or schema_field.name.endswith("_year")


def _expected(schema_field: Field) -> tuple[str, str]:
    if schema_field.name == "county_code":
        choices = "、".join(f"{zh}（{code}）" for code, (zh, _en) in COUNTIES.items())
        return f"区县名称或代码：{choices}", "a county name or code: " + ", ".join(
            f"{en} ({code})" for code, (_zh, en) in COUNTIES.items()
        )
    if schema_field.choices:
        return "以下之一：" + "、".join(schema_field.choices), "one of: " + ", ".join(
            schema_field.choices
        )
    if schema_field.type == "int" and _is_year_field(schema_field):
        return "四位年份，例如 1995 或「1995年」", "a four-digit year such as 1995 or 1995年"
    if schema_field.type == "int":
        return "整数，例如 12（可带单位，如「12栋」）", "a whole number such as 12 (12栋 is fine)"
    if schema_field.type == "float" and schema_field.unit == _SHARE_UNIT:
        return (
            "0-1 之间的比例或百分数，例如 0.85 或「85%」",
            "a share 0-1 or a percent, e.g. 0.85 or 85%",
        )
    if schema_field.type == "float":
        return "数字，例如 18500.5", "a number such as 18500.5"
    if schema_field.type == "bool":
        return "是/否（也可写 有/无、Y/N、1/0）", "yes or no: 是/否, 有/无, Y/N, 1/0"
    if schema_field.type in ("date", "datetime"):
        return "日期，例如 2021-03-05 或「2021年3月5日」", "a date such as 2021-03-05"
    if schema_field.type == "json":
        return "JSON 文本", "JSON text"
    return "文本", "text"


def _text(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return unicodedata.normalize("NFKC", str(value)).strip()


def _parse_int(value: object, schema_field: Field) -> int:
    if isinstance(value, bool | np.bool_):
        raise ValueError(value)
    if isinstance(value, int | np.integer):
        number = int(value)
    elif isinstance(value, float | np.floating):
        if not float(value).is_integer():
            raise ValueError(value)
        number = int(value)
    elif isinstance(value, dt.date) and _is_year_field(schema_field):
        number = value.year
    else:
        text = _text(value).replace(",", "")
        units = "|".join(_INT_UNITS)
        match = re.fullmatch(rf"([+-]?\d+)(?:\.0+)?\s*(?:{units})?", text)
        if match is None and _is_year_field(schema_field):
            match = _YEAR_MONTH.fullmatch(text) or _DATE.fullmatch(text)
        if match is None:
            raise ValueError(value)
        number = int(match.group(1))
    if _is_year_field(schema_field):
        low, high = _YEAR_RANGE
        if schema_field.name == _BUILD_YEAR_FIELD:
            high = dt.date.today().year
        if not low <= number <= high:
            raise _BadValueError(
                f"年份 {number} 不合理，应在 {low}-{high} 之间",
                f"year {number} is out of range {low}-{high}",
            )
    elif number < 0:
        raise _BadValueError(f"不能为负数（{number}）", f"must not be negative ({number})")
    return number


def _parse_float(value: object, schema_field: Field) -> float:
    share = schema_field.unit == _SHARE_UNIT
    if isinstance(value, bool | np.bool_):
        raise ValueError(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        percent = False
    else:
        text = _text(value).replace(",", "").replace(" ", "")
        percent = text.endswith("%")
        if percent:
            text = text[:-1]
            if not share:
                raise ValueError(value)
        for unit in _FLOAT_UNITS.get(schema_field.unit, ()):
            text = text.removesuffix(unit)
        if re.fullmatch(_NUMBER, text) is None:
            raise ValueError(value)
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(value)
    if percent:
        number /= 100.0
    if number < 0:
        raise _BadValueError(f"不能为负数（{value}）", f"must not be negative ({value})")
    if share and number > 1:
        if percent:
            raise _BadValueError("超过 100%", "is above 100%")
        raise _BadValueError(
            "超出 0-1；如果是百分数请写成「85%」这样的形式",
            "is above 1; write a percent with the sign, e.g. 85%",
        )
    return number


def _parse_bool(value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer | float | np.floating) and float(value) in (0.0, 1.0):
        return bool(value)
    text = _text(value).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


def _parse_date(value: object) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = _DATE.fullmatch(_text(value))
    if match is None:
        raise ValueError(value)
    year, month, day = (int(g) for g in match.groups())
    return dt.date(year, month, day)  # ValueError for 2021-02-30


def _parse_str(value: object, schema_field: Field) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        text = str(int(value))
    else:
        text = str(value).strip()
    if schema_field.name == "county_code":
        key = text
        for prefix in _COUNTY_PREFIXES:
            key = key.removeprefix(prefix)
        code = county_code_for(key)
        if code is None:
            zh, en = _expected(schema_field)
            raise _BadValueError(
                f"不是阳江的区县，应为{zh}",
                f"is not a Yangjiang county; expected {en}",
                code=IssueCode.BAD_CHOICE,
            )
        return code
    if schema_field.choices is not None and text not in schema_field.choices:
        zh, en = _expected(schema_field)
        raise _BadValueError(
            f"不在可选范围内，应为{zh}", f"is not allowed; expected {en}", code=IssueCode.BAD_CHOICE
        )
    return text


def _parse(value: object, schema_field: Field) -> object:
    """Parse one non-missing cell; raise ``ValueError`` / ``_BadValueError`` when it does not fit."""
    if schema_field.type == "str":
        return _parse_str(value, schema_field)
    if schema_field.type == "int":
        return _parse_int(value, schema_field)
    if schema_field.type == "float":
        return _parse_float(value, schema_field)
    if schema_field.type == "bool":
        return _parse_bool(value)
    if schema_field.type == "date":
        return _parse_date(value)
    if schema_field.type == "datetime":
        if isinstance(value, dt.datetime):
            return value
        return pd.Timestamp(_text(value)).to_pydatetime()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    json.loads(str(value))
    return str(value)


_DTYPES = {"str": "string", "int": "Int64", "float": "Float64", "bool": "boolean", "json": "string"}


def _column(values: list[object], schema_field: Field, index: pd.Index) -> pd.Series:
    dtype = _DTYPES.get(schema_field.type, "object")
    if dtype == "object":
        return pd.Series(values, index=index, dtype=object, name=schema_field.name)
    return pd.Series(values, index=index, dtype=dtype, name=schema_field.name)


# --------------------------------------------------------------------------- messages


def _where(row: int | None, record_id: str | None, schema: Layer) -> tuple[str, str]:
    if row is None:
        return "", ""
    id_label = schema.field(schema.id_field).zh
    if record_id:
        return f"第 {row} 条记录（{id_label} {record_id}）", f"record {row} (id {record_id})"
    return f"第 {row} 条记录", f"record {row}"


def _field_label(schema_field: Field) -> tuple[str, str]:
    return f"「{schema_field.zh}」", schema_field.name


# --------------------------------------------------------------------------- geometry

_OffsetGuess = Literal["wgs", "gcj02", "bd09"]
_TARGET_PARTS = {"MultiPolygon": ("Polygon",), "MultiLineString": ("LineString", "LinearRing")}
_LAYER_KIND = {"MultiPolygon": ("面", "polygon"), "MultiLineString": ("线", "line")}
#: Projections tried on coordinates that look like metres, most likely first.
_PROJECTED_GUESSES = ("EPSG:4546", "EPSG:4525", "EPSG:4497", "EPSG:3857")
_PROJECTED_HINT = {
    "EPSG:4546": (
        "CGCS2000 3度带 中央经线 111°，x 约 550-650 km",
        "CGCS2000 3-degree GK CM 111E, x about 550-650 km",
    ),
    "EPSG:4525": (
        "CGCS2000 3度带第 37 带，x 带 37 开头",
        "CGCS2000 3-degree GK zone 37, x prefixed with 37",
    ),
    "EPSG:4497": (
        "CGCS2000 6度带第 19 带，x 带 19 开头",
        "CGCS2000 6-degree GK zone 19, x prefixed with 19",
    ),
    "EPSG:3857": ("Web 墨卡托", "Web Mercator"),
}
# Offset check: an alternative reading of the coordinates is reported when its
# median distance to the reference is at most this share of the labelled
# reading's and at least this many metres shorter.
_OFFSET_FIT_RATIO = 0.5
_OFFSET_MIN_GAIN_M = 100.0


@lru_cache(maxsize=8)
def _to_storage_transformer(source: str) -> Transformer:
    return Transformer.from_crs(source, STORAGE_CRS, always_xy=True)


@lru_cache(maxsize=2)
def _to_measure_transformer() -> Transformer:
    return Transformer.from_crs(STORAGE_CRS, MEASURE_CRS, always_xy=True)


def _crs_text(source: CRS | str | None) -> str:
    """Short label of a parsed CRS option ("EPSG:4490", "GCJ-02").

    Not :func:`gislib.crs.crs_label`: comparing a pyproj CRS with a string makes
    pyproj try to parse the string, about 0.3 s per comparison.
    """
    if source is None:
        return "none"
    if isinstance(source, str):
        return {"gcj02": "GCJ-02", "bd09": "BD-09"}.get(source, source)
    epsg = source.to_epsg()
    return f"EPSG:{epsg}" if epsg else source.name


def _inside(lon: float, lat: float) -> bool:
    west, south, east, north = settings.region_bounds
    return west <= lon <= east and south <= lat <= north


def _region_text() -> tuple[str, str]:
    west, south, east, north = settings.region_bounds
    return (
        f"阳江市范围（东经 {west}-{east}°，北纬 {south}-{north}°）",
        f"the Yangjiang region ({west}-{east} E, {south}-{north} N)",
    )


def _diagnose(x: float, y: float, source: CRS | str | None) -> tuple[str, str]:
    """Explain why coordinates (in the file's units) are not inside the region."""
    label = _crs_text(source)
    degrees = abs(x) <= 180 and abs(y) <= 90
    projected_source = isinstance(source, CRS) and source.is_projected
    if degrees or (abs(y) <= 180 and abs(x) <= 90):
        if projected_source and _inside(x, y):
            return (
                f"坐标是经纬度（度），但坐标系设为投影坐标 {label}；请用 --crs EPSG:4490",
                f"the coordinates are degrees but the CRS is the projected {label}; "
                "use --crs EPSG:4490",
            )
        if _inside(y, x):
            return (
                "经纬度顺序颠倒（x 是纬度、y 是经度），交换后位于阳江；请交换经度和纬度后重新导出",
                "longitude and latitude look swapped (x holds the latitude): swapping them "
                "puts the record in Yangjiang; swap the columns / axes and export again",
            )
    else:
        for guess in _PROJECTED_GUESSES:
            if isinstance(source, CRS) and CRS.from_user_input(guess).equals(source):
                continue
            lon, lat = _to_storage_transformer(guess).transform(x, y)
            if math.isfinite(lon) and math.isfinite(lat) and _inside(lon, lat):
                zh_hint, en_hint = _PROJECTED_HINT[guess]
                return (
                    f"坐标像是以米为单位的投影坐标，可能是 {guess}（{zh_hint}）；请用 --crs {guess}",
                    f"the coordinates look projected, in metres: probably {guess} ({en_hint}); "
                    f"use --crs {guess}",
                )
    region_zh, region_en = _region_text()
    return (
        f"坐标（{x:.6g}, {y:.6g}）不在{region_zh}内（坐标系 {label}）；请检查坐标系",
        f"coordinates ({x:.6g}, {y:.6g}) are outside {region_en} (CRS {label}); check the CRS",
    )


def _flat_parts(geometry: shapely.Geometry) -> list[shapely.Geometry]:
    parts: list[shapely.Geometry] = []
    for part in shapely.get_parts(geometry):
        if part.geom_type == "GeometryCollection" or part.geom_type.startswith("Multi"):
            parts.extend(_flat_parts(part))
        elif not part.is_empty:
            parts.append(part)
    return parts


def _promote(parts: list[shapely.Geometry], target: str) -> shapely.Geometry:
    if target == "MultiPolygon":
        return shapely.MultiPolygon(parts)
    return shapely.MultiLineString([shapely.LineString(p.coords) for p in parts])


@dataclass
class _GeometryResult:
    geometries: list[shapely.Geometry | None]
    raw: list[shapely.Geometry | None]  # cleaned, 2D, in the source CRS
    repairs: list[Issue]
    refusals: list[Issue]
    notes: list[str]
    source: CRS | str


def _source_crs(
    raw: RawLayer, crs: CrsLike | None, geometries: list[shapely.Geometry | None]
) -> tuple[CRS | str, list[str]]:
    notes: list[str] = []
    display = raw.source.name
    if crs is not None:
        parsed = parse_crs(crs)
        if raw.crs_from_file is not None and (
            not isinstance(parsed, CRS) or not parsed.equals(raw.crs_from_file)
        ):
            notes.append(
                f"按指定的 {_crs_text(parsed)} 读取坐标，文件标注的是 {_crs_text(raw.crs_from_file)} "
                f"/ coordinates taken as {_crs_text(parsed)} as asked; the file says "
                f"{_crs_text(raw.crs_from_file)}"
            )
        return parsed, notes
    if raw.crs_from_file is not None:
        return raw.crs_from_file, notes
    present = [g for g in geometries if g is not None and not g.is_empty]
    points = shapely.get_coordinates(shapely.point_on_surface(present))
    hint_zh = hint_en = ""
    if len(points):
        x, y = (float(v) for v in np.median(points, axis=0))
        if abs(x) <= 180 and abs(y) <= 90 and _inside(x, y):
            hint_zh = (
                "坐标是阳江范围内的经纬度：CGCS2000/WGS84 用 EPSG:4490，高德/腾讯坐标用 gcj02。"
            )
            hint_en = " The coordinates are degrees inside Yangjiang: EPSG:4490 for CGCS2000/WGS84, gcj02 for Amap/Tencent."
        else:
            zh, en = _diagnose(x, y, None)
            hint_zh, hint_en = f"{zh}。", f" {en[0].upper()}{en[1:]}."
    what = "没有 .prj 文件" if raw.driver == "ESRI Shapefile" else "文件没有坐标系信息"
    what_en = "no .prj file" if raw.driver == "ESRI Shapefile" else "the file states no CRS"
    raise CRSError(
        f"{display} 没有坐标系（{what}），请用 --crs 指定，例如 --crs EPSG:4490（CGCS2000），"
        f"高德地图的坐标用 --crs gcj02，百度用 --crs bd09。{hint_zh} / {display} has no "
        f"coordinate reference system ({what_en}): give --crs, e.g. --crs EPSG:4490 (CGCS2000), "
        f"or --crs gcj02 for coordinates from Amap, bd09 for Baidu.{hint_en}"
    )


def _check_geometry(
    raw: RawLayer,
    schema: Layer,
    *,
    crs: CrsLike | None,
    rows: list[int],
    ids: list[str | None],
) -> _GeometryResult:
    target = schema.geometry_type
    assert target is not None
    kind_zh, kind_en = _LAYER_KIND[target]
    wanted = _TARGET_PARTS[target]
    geometries: list[shapely.Geometry | None] = list(raw.frame.geometry.to_numpy())
    repairs: list[Issue] = []
    refusals: list[Issue] = []
    notes: list[str] = []

    def issue(i: int, code: IssueCode, zh: str, en: str) -> Issue:
        where_zh, where_en = _where(rows[i], ids[i], schema)
        return Issue(rows[i], ids[i], "geometry", code, f"{where_zh}{zh}", f"{where_en}: {en}")

    cleaned: list[shapely.Geometry | None] = [None] * len(geometries)
    with_z_m: list[int] = []
    types: dict[str, int] = {}
    for i, geometry in enumerate(geometries):
        if geometry is None or geometry.is_empty:
            refusals.append(
                issue(
                    i,
                    IssueCode.EMPTY_GEOMETRY,
                    "没有几何（空或缺失）；请补画范围或删除该记录",
                    "no geometry (empty or missing): draw it or delete the record",
                )
            )
            continue
        types[geometry.geom_type] = types.get(geometry.geom_type, 0) + 1
        if shapely.has_z(geometry) or shapely.has_m(geometry):
            with_z_m.append(rows[i])
            geometry = shapely.force_2d(geometry)
        parts = _flat_parts(geometry)
        kept = [p for p in parts if p.geom_type in wanted]
        if not kept:
            found = geometry.geom_type
            refusals.append(
                issue(
                    i,
                    IssueCode.WRONG_GEOMETRY_TYPE,
                    f"是 {found}，但 {schema.name}（{schema.zh}）是{kind_zh}图层，只接受{kind_zh}"
                    f"（{target}）；请提供{kind_zh}数据，或只导入属性",
                    f"is a {found}, but {schema.name} is a {kind_en} layer ({target}): give "
                    f"{kind_en}s, or import the attributes only",
                )
            )
            continue
        if len(kept) < len(parts):
            dropped = ", ".join(sorted({p.geom_type for p in parts if p.geom_type not in wanted}))
            repairs.append(
                issue(
                    i,
                    IssueCode.GEOMETRY_PARTS_DROPPED,
                    f"几何集合中非{kind_zh}的部分（{dropped}）已去掉",
                    f"parts that are not {kind_en}s ({dropped}) were dropped",
                )
            )
        candidate = _promote(kept, target)
        if not shapely.is_valid(candidate):
            reason = shapely.is_valid_reason(candidate)
            fixed = shapely.make_valid(candidate)
            fixed_parts = [p for p in _flat_parts(fixed) if p.geom_type in wanted]
            if not fixed_parts:
                refusals.append(
                    issue(
                        i,
                        IssueCode.INVALID_GEOMETRY,
                        f"几何无效（{reason}），修复后不剩{kind_zh}；请重画",
                        f"invalid geometry ({reason}) with nothing {kind_en} left after "
                        "repair: draw it again",
                    )
                )
                continue
            candidate = _promote(fixed_parts, target)
            repairs.append(
                issue(
                    i,
                    IssueCode.INVALID_GEOMETRY,
                    f"几何无效（{reason}），已用 make_valid 修复为 {len(fixed_parts)} 个{kind_zh}，"
                    "请核对形状",
                    f"invalid geometry ({reason}) repaired with make_valid into "
                    f"{len(fixed_parts)} {kind_en}(s); check the shape",
                )
            )
        cleaned[i] = candidate
    if with_z_m:
        listed = "、".join(map(str, with_z_m[:_SUMMARY_PER_KIND]))
        more = "等" if len(with_z_m) > _SUMMARY_PER_KIND else ""
        repairs.append(
            Issue(
                None,
                None,
                "geometry",
                IssueCode.Z_M_DROPPED,
                f"{len(with_z_m)} 条记录（第 {listed}{more} 条）含 Z/M 坐标（高程或测量值），"
                "已去掉，只保留平面坐标",
                f"{len(with_z_m)} records (records {', '.join(map(str, with_z_m[:5]))}"
                f"{'...' if more else ''}) had Z/M values (elevation or measure); they were "
                "dropped, keeping x and y",
            )
        )
    if len(types) > 1:
        counts = [f"{t} {n}" for t, n in sorted(types.items())]
        notes.append(
            f"几何类型混合：{'、'.join(counts)}；{kind_zh}已统一为 {target} / mixed geometry "
            f"types ({', '.join(counts)}); {kind_en}s made {target}"
        )

    source, crs_notes = _source_crs(raw, crs, cleaned)
    notes.extend(crs_notes)
    series = gpd.GeoSeries(cleaned, index=raw.frame.index)
    stored = _to_storage_geometries(series, source)
    stored_list: list[shapely.Geometry | None] = list(stored)
    for i, geometry in enumerate(stored_list):
        if geometry is None:
            continue
        west, south, east, north = geometry.bounds
        if all(math.isfinite(v) for v in (west, south, east, north)) and (
            _inside(west, south) and _inside(east, north)
        ):
            continue
        original = cleaned[i]
        assert original is not None
        x0, y0, x1, y1 = original.bounds
        zh, en = _diagnose((x0 + x1) / 2, (y0 + y1) / 2, source)
        refusals.append(issue(i, IssueCode.OUTSIDE_REGION, zh, en))
        stored_list[i] = None
    return _GeometryResult(stored_list, cleaned, repairs, refusals, notes, source)


def _to_storage_geometries(series: gpd.GeoSeries, source: CRS | str) -> gpd.GeoSeries:
    """Geometries in EPSG:4490 from ``source`` (a CRS, or ``gcj02`` / ``bd09``)."""
    frame = gpd.GeoDataFrame(geometry=series)
    source_option: CrsLike = source
    return to_storage(frame, source=source_option).geometry


def _guess_of(source: CRS | str) -> _OffsetGuess | None:
    if isinstance(source, str):
        return "gcj02" if source == "gcj02" else "bd09"
    if isinstance(source, CRS) and source.is_geographic:
        return "wgs"
    return None


def _offset_check(
    result: _GeometryResult,
    source: CRS | str,
    reference: gpd.GeoDataFrame,
    *,
    display: str,
) -> Issue | None:
    """Compare the fit of the coordinates read as labelled, as GCJ-02 and as BD-09."""
    used = _guess_of(source)
    if used is None:
        return None
    keep = [
        g
        for g, stored in zip(result.raw, result.geometries, strict=True)
        if g is not None and stored is not None
    ]
    if not keep or reference.crs is None:
        return None
    ref = reference.to_crs(MEASURE_CRS).geometry
    ref = ref[~(ref.isna() | ref.is_empty)]
    if ref.empty:
        return None
    tree = shapely.STRtree(ref.to_numpy())
    xy = shapely.get_coordinates(shapely.point_on_surface(keep))
    readings = {
        "wgs": (xy[:, 0], xy[:, 1]),
        "gcj02": gcj02_to_wgs84(xy[:, 0], xy[:, 1]),
        "bd09": bd09_to_wgs84(xy[:, 0], xy[:, 1]),
    }
    measured: dict[str, np.ndarray] = {}
    fits: dict[str, float] = {}
    for name, (lon, lat) in readings.items():
        mx, my = _to_measure_transformer().transform(lon, lat)
        points = shapely.points(np.asarray(mx), np.asarray(my))
        measured[name] = np.column_stack([mx, my])
        _, distances = tree.query_nearest(points, return_distance=True, all_matches=False)
        fits[name] = float(np.median(distances))
    best = min(fits, key=lambda name: fits[name])
    if best == used:
        return None
    if not (
        fits[best] <= _OFFSET_FIT_RATIO * fits[used]
        and fits[used] - fits[best] >= _OFFSET_MIN_GAIN_M
    ):
        return None
    shift = float(np.median(np.hypot(*(measured[best] - measured[used]).T)))
    logger.info("offset check on %s: median distances %s", display, fits)
    gap_zh = f"与参照图层的距离中位数由 {fits[used]:.0f} m 降到 {fits[best]:.0f} m"
    gap_en = f"median distance to the reference falls from {fits[used]:.0f} m to {fits[best]:.0f} m"
    if best == "gcj02":
        zh = f"坐标疑似为高德/GCJ-02，偏移约 {shift:.0f} m，请使用 --crs gcj02（{gap_zh}）"
        en = f"coordinates look like Amap GCJ-02, offset about {shift:.0f} m: use --crs gcj02 ({gap_en})"
    elif best == "bd09":
        zh = f"坐标疑似为百度/BD-09，偏移约 {shift:.0f} m，请使用 --crs bd09（{gap_zh}）"
        en = f"coordinates look like Baidu BD-09, offset about {shift:.0f} m: use --crs bd09 ({gap_en})"
    else:
        zh = (
            f"坐标似乎已经是 CGCS2000/WGS84，按 {_crs_text(source)} 纠偏反而偏移约 {shift:.0f} m；"
            f"请改用 --crs EPSG:4490（{gap_zh}）"
        )
        en = (
            f"the coordinates look like CGCS2000/WGS84 already; correcting them as "
            f"{_crs_text(source)} moves them about {shift:.0f} m: use --crs EPSG:4490 ({gap_en})"
        )
    return Issue(
        None, None, "geometry", IssueCode.OFFSET_SUSPECTED, f"{display}：{zh}", f"{display}: {en}"
    )


# --------------------------------------------------------------------------- entry point


def _row_numbers(index: pd.Index) -> list[int]:
    if pd.api.types.is_integer_dtype(index.dtype) and len(index) and int(index.min()) >= 0:
        return [int(label) + 1 for label in index]
    return list(range(1, len(index) + 1))


def _map_columns(
    columns: Iterable[str], schema: Layer
) -> tuple[dict[str, str], list[str], list[str], list[str]]:
    """Return mapped (header -> field), unmapped headers, system headers, shadow notes."""
    lookup = _lookup(schema.name)
    best: dict[str, tuple[int, str]] = {}
    unmapped: list[str] = []
    system: list[str] = []
    shadowed: list[str] = []
    for header in columns:
        hit = lookup.get(normalize_header(header))
        if hit is None:
            unmapped.append(header)
            continue
        name, rank = hit
        if schema.field(name).system:
            system.append(header)
            continue
        if name in best:
            other_rank, other = best[name]
            loser = header if rank >= other_rank else other
            if rank < other_rank:
                best[name] = (rank, header)
            unmapped.append(loser)
            shadowed.append(
                f"「{other if loser == header else header}」和「{loser}」都对应字段 {name}，采用前者，"
                f"后者按未识别列保留 / {other if loser == header else header!r} and {loser!r} both "
                f"mean {name}; the first is used, the second kept as an extra column"
            )
            continue
        best[name] = (rank, header)
    mapped = {header: name for name, (_rank, header) in best.items()}
    ordered = {h: mapped[h] for h in columns if h in mapped}
    return ordered, [h for h in columns if h in unmapped], system, shadowed


def validate(
    raw: RawLayer,
    *,
    layer: str,
    crs: CrsLike | None = None,
    existing_ids: Collection[str] = (),
    reference: gpd.GeoDataFrame | None = None,
    attributes_only: bool = False,
) -> ImportReport:
    """Check a raw layer against the schema of ``layer`` and convert it for storage.

    Parameters
    ----------
    raw : RawLayer
        A file as read by :func:`gislib.io.reading.read_file`.
    layer : str
        Target layer (``"communities"``, ``"pipelines"``...).
    crs : CRS option, optional
        The CRS the coordinates are really in (``"EPSG:4546"``, ``"gcj02"``,
        ``"bd09"``...); overrides the file's. Required when the file states
        none.
    existing_ids : collection of str
        Ids already in the workspace layer; records reusing one are refused.
    reference : GeoDataFrame, optional
        Features already known to be in the right place (any CRS), used to
        detect GCJ-02 / BD-09 coordinates labelled as WGS84 / CGCS2000.
    attributes_only : bool
        Check the attributes only (for updating records of an existing layer
        from a table); geometry is ignored and left missing.

    Returns
    -------
    ImportReport
        Frame with schema field names (a GeoDataFrame in EPSG:4490 for layers
        with geometry); repairs and refusals.

    Raises
    ------
    SchemaError
        If ``layer`` is not a workspace layer.
    CRSError
        If the file states no CRS and ``crs`` is not given (the message says
        what the coordinates look like), or ``crs`` names no CRS.

    Examples
    --------
    >>> from gislib.io.reading import read_file
    >>> report = validate(read_file("communities.zip"), layer="communities")  # doctest: +SKIP
    >>> report.ok, report.frame.crs.to_epsg()  # doctest: +SKIP
    (True, 4490)
    """
    if layer not in LAYERS:
        raise SchemaError(
            f"没有图层「{layer}」/ unknown layer {layer!r}; layers are: {', '.join(LAYERS)}"
        )
    schema = LAYERS[layer]
    frame = raw.frame
    geometry_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    headers = [str(c) for c in frame.columns if c != geometry_name]
    by_header = {str(c): c for c in frame.columns if c != geometry_name}
    mapped, unmapped, system, shadowed = _map_columns(headers, schema)
    notes = list(raw.notes) + shadowed
    repairs: list[Issue] = []
    refusals: list[Issue] = []
    rows = _row_numbers(frame.index)
    n = len(frame)

    for header in system:
        repairs.append(
            Issue(
                None,
                None,
                None,
                IssueCode.SYSTEM_COLUMN,
                f"列「{header}」由工作空间自动维护，已忽略",
                f"column {header!r} is managed by the workspace and was ignored",
            )
        )
    field_to_header = {name: header for header, name in mapped.items()}
    for schema_field in schema.fields:
        if (
            schema_field.required
            and not schema_field.system
            and schema_field.name not in field_to_header
        ):
            refusals.append(
                Issue(
                    None,
                    None,
                    schema_field.name,
                    IssueCode.MISSING_COLUMN,
                    f"{raw.source.name} 缺少必填列「{schema_field.zh}」；可用的列名："
                    f"{_accepted_headers(schema_field)}",
                    f"{raw.source.name} has no column for the required field "
                    f"{schema_field.name} ({schema_field.en}); accepted headers: "
                    f"{', '.join(dict.fromkeys([schema_field.zh, *schema_field.aliases, schema_field.short, schema_field.name]))}",
                )
            )

    # The id first, so that every later message can name the record.
    ids: list[str | None] = [None] * n
    id_field = schema.field(schema.id_field)
    id_header = field_to_header.get(id_field.name)
    if id_header is not None:
        for i, value in enumerate(frame[by_header[id_header]].tolist()):
            if not _is_missing(value):
                ids[i] = _parse_str(value, id_field)

    parsed: dict[str, list[object]] = {}
    for schema_field in schema.fields:
        if schema_field.system:
            continue
        column_header = field_to_header.get(schema_field.name)
        if column_header is None:
            parsed[schema_field.name] = [None] * n
            continue
        values: list[object] = []
        label_zh, label_en = _field_label(schema_field)
        for i, value in enumerate(frame[by_header[column_header]].tolist()):
            where_zh, where_en = _where(rows[i], ids[i], schema)
            if _is_missing(value):
                values.append(None)
                if schema_field.name == schema.id_field:
                    refusals.append(
                        Issue(
                            rows[i],
                            None,
                            schema_field.name,
                            IssueCode.MISSING_ID,
                            f"{where_zh}缺少{label_zh}；请在「{column_header}」列为每条记录填写唯一编号"
                            "（例如 JC-2021-001），不会自动生成",
                            f"{where_en}: the id ({schema_field.name}) is empty; fill column "
                            f"{column_header!r} with a unique id per record (e.g. JC-2021-001); "
                            "ids are not generated",
                        )
                    )
                elif schema_field.required:
                    refusals.append(
                        Issue(
                            rows[i],
                            ids[i],
                            schema_field.name,
                            IssueCode.EMPTY_REQUIRED,
                            f"{where_zh}{label_zh}为空，这是必填项；请在「{column_header}」列补上",
                            f"{where_en}: {label_en} is empty but required; fill column {column_header!r}",
                        )
                    )
                continue
            try:
                values.append(_parse(value, schema_field))
            except _BadValueError as exc:
                values.append(None)
                refusals.append(
                    Issue(
                        rows[i],
                        ids[i],
                        schema_field.name,
                        exc.code,
                        f"{where_zh}{label_zh}的值「{value}」{exc.zh}",
                        f"{where_en}: {label_en} {value!r} {exc.en}",
                    )
                )
            except (ValueError, TypeError, OverflowError):
                values.append(None)
                expected_zh, expected_en = _expected(schema_field)
                refusals.append(
                    Issue(
                        rows[i],
                        ids[i],
                        schema_field.name,
                        IssueCode.BAD_VALUE,
                        f"{where_zh}{label_zh}的值「{value}」无法识别，应为{expected_zh}",
                        f"{where_en}: {label_en} {value!r} is not understood; expected "
                        f"{expected_en}",
                    )
                )
        parsed[schema_field.name] = values

    refusals.extend(_id_refusals(ids, rows, schema, existing_ids))

    geometries: list[shapely.Geometry | None] | None = None
    if schema.geometry_type is None or attributes_only:
        source_label = "none"
        if attributes_only and schema.geometry_type is not None:
            notes.append("只检查属性，未导入几何 / attributes only: geometry not imported")
    else:
        result = _check_geometry(raw, schema, crs=crs, rows=rows, ids=ids)
        repairs.extend(result.repairs)
        refusals.extend(result.refusals)
        notes.extend(result.notes)
        geometries = result.geometries
        source_label = _crs_text(result.source)
        if reference is not None:
            offset = _offset_check(result, result.source, reference, display=raw.source.name)
            if offset is not None:
                refusals.append(offset)

    columns = {
        f.name: _column(parsed[f.name], f, frame.index) for f in schema.fields if not f.system
    }
    extras = {header: frame[by_header[header]] for header in unmapped if header not in columns}
    out: pd.DataFrame = pd.DataFrame({**columns, **extras}, index=frame.index)
    if geometries is not None:
        out = gpd.GeoDataFrame(
            out, geometry=gpd.GeoSeries(geometries, index=frame.index), crs=STORAGE_CRS
        )

    def order(issue: Issue) -> tuple[bool, int]:
        return issue.row is not None, issue.row or 0

    report = ImportReport(
        frame=out,
        layer=layer,
        source=raw.source,
        mapped_columns=mapped,
        unmapped_columns=unmapped,
        repairs=sorted(repairs, key=order),
        refusals=sorted(refusals, key=order),
        source_crs=source_label,
        notes=notes,
    )
    logger.info(
        "validated %s for %s: %d records, %d repairs, %d refusals",
        raw.source.name,
        layer,
        n,
        len(repairs),
        len(refusals),
    )
    return report


def _id_refusals(
    ids: list[str | None], rows: list[int], schema: Layer, existing_ids: Collection[str]
) -> list[Issue]:
    refusals: list[Issue] = []
    id_zh = schema.field(schema.id_field).zh
    seen: dict[str, list[int]] = {}
    for i, record_id in enumerate(ids):
        if record_id is not None:
            seen.setdefault(record_id, []).append(i)
    existing = {str(e) for e in existing_ids}
    for i, record_id in enumerate(ids):
        if record_id is None:
            continue
        where_zh, where_en = _where(rows[i], record_id, schema)
        group = seen[record_id]
        if len(group) > 1:
            others = [rows[j] for j in group if j != i]
            all_rows = "、".join(str(rows[j]) for j in group)
            refusals.append(
                Issue(
                    rows[i],
                    record_id,
                    schema.id_field,
                    IssueCode.DUPLICATE_ID,
                    f"{where_zh}：{id_zh}「{record_id}」重复，第 {all_rows} 条记录用了同一编号；"
                    "每条记录需要唯一编号",
                    f"{where_en}: id {record_id!r} is also used by record(s) "
                    f"{', '.join(map(str, others))}; every record needs its own id",
                )
            )
        if record_id in existing:
            refusals.append(
                Issue(
                    rows[i],
                    record_id,
                    schema.id_field,
                    IssueCode.EXISTING_ID,
                    f"{where_zh}：{id_zh}「{record_id}」已存在于工作空间；如需修改请编辑该记录，"
                    "或改用新编号",
                    f"{where_en}: id {record_id!r} is already in the workspace; edit that "
                    "record instead, or give a new id",
                )
            )
    return refusals


def prepare_import(
    path: str | os.PathLike[str],
    workspace: Workspace,
    *,
    layer: str,
    crs: CrsLike | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
) -> ImportReport:
    """Read a file and check it against a workspace layer, writing nothing.

    The one place where an import is prepared: ``renov import`` and the
    app's data page both call it, then store :attr:`ImportReport.frame`
    with :meth:`gislib.store.Workspace.append` only when the report is ok.
    Ids already in the workspace layer are refused, and the stored features
    of the layer serve as the ``reference`` that reveals GCJ-02 / BD-09
    coordinates labelled as WGS84 / CGCS2000 (see :func:`validate`).

    Parameters
    ----------
    path : str or path-like
        The file to import (any format of :func:`gislib.io.reading.read_file`).
    workspace : Workspace
        The workspace the records are meant for; only read.
    layer : str
        Target layer (``"communities"``, ``"pipelines"``...).
    crs : CRS option, optional
        The CRS the coordinates are really in (``"EPSG:4546"``, ``"gcj02"``,
        ``"bd09"``...); overrides the file's.
    encoding : str, optional
        Text encoding of a shapefile DBF or a CSV; detected when not given.
    source_layer : str, optional
        Layer, sheet or shapefile inside the file, when it holds several.

    Returns
    -------
    ImportReport
        The frame to store (EPSG:4490) and every repair and refusal.

    Raises
    ------
    InputFileError, LimitExceededError
        The file cannot be read safely (see :func:`~gislib.io.reading.read_file`).
    SchemaError, CRSError
        Unknown layer, no CRS anywhere, or a ``crs`` that names no CRS.
    WorkspaceError
        The workspace cannot be read.

    Examples
    --------
    >>> report = prepare_import("小区.zip", open_workspace("ws.gpkg"),
    ...                         layer="communities")  # doctest: +SKIP
    >>> if report.ok:  # doctest: +SKIP
    ...     ws.append("communities", report.frame, user="张工", note="import 小区.zip")
    """
    if layer not in LAYERS:
        raise SchemaError(
            f"没有图层「{layer}」/ unknown layer {layer!r}; layers are: {', '.join(LAYERS)}"
        )
    raw = read_file(path, encoding=encoding, layer=source_layer)
    existing = workspace.ids(layer)
    reference = None
    if LAYERS[layer].geometry_type is not None and existing:
        stored = workspace.read(layer)
        if isinstance(stored, gpd.GeoDataFrame):
            reference = stored
    return validate(raw, layer=layer, crs=crs, existing_ids=existing, reference=reference)
