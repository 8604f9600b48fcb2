"""Export of layers for other bureaus and design institutes.

One entry point, :func:`export_layer`, writes a stored layer (a frame in the
storage CRS EPSG:4490 with the field names of :mod:`gislib.schema`) as one of

* ``shp``: a zip holding ``<layer>.shp .shx .dbf .prj .cpg``, the field
  dictionary ``fields.csv`` and ``README.txt`` (see
  :func:`export_shapefile_zip`; :func:`read_shapefile_zip` reads it back);
* ``gpkg``: a GeoPackage, lossless (:func:`export_geopackage`);
* ``geojson``: RFC 7946 GeoJSON in WGS84 (:func:`export_geojson`);
* ``kml``: KML for 奥维互动地图 / Google Earth, optionally GCJ-02
  (:func:`export_kml`);
* ``xlsx``: an Excel ledger (台账) with Chinese headers (:func:`export_excel`).

Every writer builds the output in a private temporary folder inside the
target's folder and moves it into place with :func:`os.replace`, so a target
is either the complete new file or untouched; the temporary folder is removed
whether the export succeeds or fails.

Output CRS (option ``crs``): ``"EPSG:4490"`` (CGCS2000, default),
``"EPSG:4546"`` (CGCS2000 / 3-degree GK CM 111E, metres), ``"EPSG:4326"``
(WGS84) or ``"gcj02"`` (the Amap / Tencent offset, labelled WGS84 as Amap
data files are). CGCS2000 and WGS84 differ by a few centimetres, so for the
formats that are WGS84 by definition (GeoJSON, KML) EPSG:4490 and EPSG:4326
give the same coordinates.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gislib import settings
from gislib.crs import CrsLike, crs_label, from_storage, parse_crs, require_crs, to_storage
from gislib.errors import CRSError, ExportError, InputFileError, LimitExceededError, SchemaError
from gislib.io.tables import (
    FORMULA_TRIGGERS,
    check_target,
    display_width,
    publish,
    set_text_cell,
    staging,
)
from gislib.schema import COUNTIES, STORAGE_CRS, FieldType, Layer, layer_schema

__all__ = [
    "EXPORT_CRS_CHOICES",
    "FIELD_DICTIONARY_COLUMNS",
    "FIELD_DICTIONARY_NAME",
    "README_NAME",
    "ExportEncoding",
    "ExportFormat",
    "export_excel",
    "export_geojson",
    "export_geopackage",
    "export_kml",
    "export_layer",
    "export_shapefile_zip",
    "read_shapefile_zip",
]

logger = logging.getLogger(__name__)

ExportFormat = Literal["shp", "gpkg", "geojson", "kml", "xlsx"]
ExportEncoding = Literal["UTF-8", "GBK"]

#: Output CRS accepted by the exports (see the module docstring).
EXPORT_CRS_CHOICES = ("EPSG:4490", "EPSG:4546", "EPSG:4326", "gcj02")
# Their labels as :func:`gislib.crs.crs_label` writes them.
_EXPORT_CRS_LABELS = frozenset({"EPSG:4490", "EPSG:4546", "EPSG:4326", "GCJ-02"})
_EPSG_TEXT_RE = re.compile(r"^(?:epsg:)?(\d+)$", re.IGNORECASE)

#: Name of the field dictionary inside a shapefile zip. ASCII on purpose: the
#: zip tools of older Windows decode member names as GBK and would garble a
#: Chinese name such as ``字段说明.csv``.
FIELD_DICTIONARY_NAME = "fields.csv"
#: Name of the plain-text notes inside a shapefile zip (UTF-8 with BOM).
README_NAME = "README.txt"
#: Header row of the field dictionary (UTF-8 with BOM, so Excel shows Chinese).
FIELD_DICTIONARY_COLUMNS = (
    "字段 short name",
    "原字段名 name",
    "中文名 Chinese name",
    "英文名 English name",
    "类型 type",
    "单位 unit",
    "说明 description",
)
#: Line of README.txt that states the CRS of the coordinates; read back by
#: :func:`read_shapefile_zip` to undo a GCJ-02 offset.
README_CRS_PREFIX = "坐标系 CRS:"

_SUFFIXES: dict[str, tuple[str, ...]] = {
    "shp": (".zip",),
    "gpkg": (".gpkg",),
    "geojson": (".geojson", ".json"),
    "kml": (".kml",),
    "xlsx": (".xlsx",),
}
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
# GDAL's ENCODING value that writes the DBF in code page 936 (GBK) and sets the
# DBF language driver id 0x4D (77) in the header, and the .cpg text that old
# ArcGIS reads for that code page.
_GBK_GDAL_ENCODING = "LDID/77"
_GBK_CPG = "936"
_UTF8_CPG = "UTF-8"
# Widest text a DBF character field holds, in bytes of the DBF encoding.
_DBF_MAX_TEXT_BYTES = 254
_DBF_MAX_NAME_CHARS = 10
_DBF_NAME_RE = re.compile(rf"^[A-Za-z][A-Za-z0-9_]{{0,{_DBF_MAX_NAME_CHARS - 1}}}$")
_EXTRA_SHORT_FORMAT = "x_{:02d}"
# How many offending records an error message lists before "and N more".
_MAX_LISTED_PROBLEMS = 5
# Text starting with one of these runs as a formula when Excel (or a CSV
# import) reads it: such text is written as literal text.
_CSV_ESCAPE = "'"
# Excel ledger layout.
_XLSX_MIN_WIDTH = 6
_XLSX_MAX_WIDTH = 60
_XLSX_WIDTH_PADDING = 2
_XLSX_INT_FORMAT = "0"
_XLSX_FLOAT_FORMAT = "#,##0.00"
_XLSX_SHARE_FORMAT = "0.0%"
_XLSX_SHARE_UNIT = "share 0-1"
_XLSX_DEGREE_FORMAT = "0.000000"
_XLSX_METRE_FORMAT = "0.00"
_XLSX_DATE_FORMAT = "yyyy-mm-dd"
_XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_XLSX_INFO_SHEET = "说明"
_YES, _NO = "是", "否"
_GCJ02_NOTE = (
    "坐标为 GCJ-02（高德/腾讯“火星坐标”），不是 WGS84/CGCS2000，文件中的 WGS84 标注与高德数据一致；"
    "请勿与 CGCS2000 或 WGS84 数据直接叠加（约偏东南 600 米）。 / Coordinates are GCJ-02 "
    "(Amap/Tencent offset), labelled WGS84 as Amap files are; do not overlay them on "
    "CGCS2000/WGS84 data (about 600 m ESE)."
)
_CRS_NAMES = {
    "EPSG:4490": "CGCS2000 经纬度 / CGCS2000 geographic",
    "EPSG:4546": "CGCS2000 / 3 度带高斯-克吕格 中央经线 111°E（米） / CGCS2000 / 3-degree GK CM 111E (m)",
    "EPSG:4326": "WGS84 经纬度 / WGS84 geographic",
    "GCJ-02": "GCJ-02（.prj 标为 WGS84） / GCJ-02 (.prj says WGS84)",
}


# --------------------------------------------------------------------------
# Column preparation
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """One exported attribute: where it comes from and how it is described."""

    name: str
    short: str
    zh: str
    en: str
    type: FieldType
    unit: str
    description: str
    extra: bool
    system: bool


@dataclass(frozen=True)
class _Prepared:
    """A frame checked and converted for export."""

    schema: Layer
    columns: tuple[_Column, ...]
    values: dict[str, list[Any]]
    geometry: gpd.GeoSeries | None
    crs_label: str
    record_labels: tuple[str, ...]

    @property
    def n_records(self) -> int:
        return len(self.record_labels)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def _infer_type(series: pd.Series) -> FieldType:
    """Field type of a column that is not in the schema, from its dtype or values."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.ArrowDtype) and str(dtype.pyarrow_dtype).startswith("date"):
        return "date"
    present = [v for v in series.tolist() if not _is_missing(v)]
    if not present:
        return "str"
    if all(isinstance(v, bool | np.bool_) for v in present):
        return "bool"
    if all(isinstance(v, dt.datetime) for v in present):
        return "datetime"
    if all(isinstance(v, dt.date) for v in present):
        return "date"
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in present):
        return "int"
    if all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
        for v in present
    ):
        return "float"
    if all(isinstance(v, dict | list) for v in present):
        return "json"
    return "str"


def _convert_value(value: Any, kind: FieldType) -> Any:
    """Canonical Python value of ``value`` for a field of type ``kind``; raise ValueError."""
    if _is_missing(value):
        return None
    if kind == "str":
        return value if isinstance(value, str) else str(value)
    if kind == "int":
        if isinstance(value, bool | np.bool_):
            raise ValueError("a boolean is not an integer")
        if isinstance(value, float | np.floating):
            if not float(value).is_integer():
                raise ValueError("not a whole number")
            return int(value)
        return int(value)
    if kind == "float":
        if isinstance(value, bool | np.bool_):
            raise ValueError("a boolean is not a number")
        return float(value)
    if kind == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer) and int(value) in (0, 1):
            return bool(value)
        raise ValueError("not a boolean (True/False or 1/0)")
    if kind == "date":
        if isinstance(value, pd.Timestamp | dt.datetime):
            return pd.Timestamp(value).date()
        if isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(str(value))
    if kind == "datetime":
        return pd.Timestamp(value).to_pydatetime()
    # json
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _record_labels(frame: pd.DataFrame, schema: Layer) -> tuple[str, ...]:
    """Human label of each record: its 1-based position and its id when present."""
    id_field = schema.field(schema.id_field)
    ids = frame[id_field.name].tolist() if id_field.name in frame.columns else None
    labels = []
    for pos in range(len(frame)):
        if ids is not None and not _is_missing(ids[pos]):
            labels.append(
                f"第 {pos + 1} 条记录（{id_field.zh} {ids[pos]}） / "
                f"record {pos + 1} ({id_field.name} {ids[pos]})"
            )
        else:
            labels.append(f"第 {pos + 1} 条记录 / record {pos + 1}")
    return tuple(labels)


def _short_names(extras: Sequence[str], used: set[str]) -> list[str]:
    """Unique DBF names for extra columns: kept when already valid, else ``x_NN``."""
    taken = {u.lower() for u in used}
    out = []
    counter = 0
    for name in extras:
        if _DBF_NAME_RE.match(name) and name.lower() not in taken:
            short = name
        else:
            while True:
                counter += 1
                short = _EXTRA_SHORT_FORMAT.format(counter)
                if short.lower() not in taken:
                    break
        taken.add(short.lower())
        out.append(short)
    return out


def _columns(frame: pd.DataFrame, schema: Layer, geometry_name: str | None) -> list[_Column]:
    present = set(frame.columns)
    cols = [
        _Column(
            name=f.name,
            short=f.short,
            zh=f.zh,
            en=f.en,
            type=f.type,
            unit=f.unit,
            description=f.description,
            extra=False,
            system=f.system,
        )
        for f in schema.fields
        if f.name in present
    ]
    known = set(schema.field_names)
    extras = [c for c in frame.columns if c not in known and c != geometry_name]
    shorts = _short_names([str(c) for c in extras], {c.short for c in cols})
    for name, short in zip(extras, shorts, strict=True):
        cols.append(
            _Column(
                name=str(name),
                short=short,
                zh=str(name),
                en="",
                type=_infer_type(frame[name]),
                unit="",
                description="导入时保留的附加列 / extra column kept from import",
                extra=True,
                system=False,
            )
        )
    return cols


def _resolve_crs(crs: CrsLike) -> tuple[CrsLike, str]:
    """Check an export CRS option; return it in a form for ``from_storage`` and its label.

    EPSG codes given as text or integers are recognised without building a
    pyproj CRS (identifying a CRS object costs a fraction of a second).
    """
    if isinstance(crs, int | str):
        text = str(crs).strip()
        match = _EPSG_TEXT_RE.match(text)
        if match:
            label = f"EPSG:{int(match.group(1))}"
            if label in _EXPORT_CRS_LABELS:
                return label, label
        parsed = parse_crs(crs)
        if isinstance(parsed, str):
            label = crs_label(parsed)
            if label in _EXPORT_CRS_LABELS:
                return parsed, label
            raise ExportError(_crs_refusal(label))
    label = crs_label(crs)
    if label not in _EXPORT_CRS_LABELS:
        raise ExportError(_crs_refusal(label))
    return label, label


def _crs_refusal(label: str) -> str:
    return (
        f"不支持导出到坐标系 {label} / cannot export to CRS {label}; "
        f"use one of {', '.join(EXPORT_CRS_CHOICES)}"
    )


def _prepare(
    frame: pd.DataFrame,
    *,
    layer: str,
    crs: CrsLike,
    needs_geometry: bool,
    format_name: str,
) -> _Prepared:
    """Check the frame and the options, convert values, reproject the geometry."""
    try:
        schema = layer_schema(layer)
    except KeyError as exc:
        raise ExportError(str(exc.args[0])) from None
    target, label = _resolve_crs(crs)
    geometry: gpd.GeoSeries | None = None
    geometry_name: str | None = None
    if isinstance(frame, gpd.GeoDataFrame) and frame.active_geometry_name in frame.columns:
        require_crs(frame, name=f"the {layer} layer")
        geometry_name = frame.geometry.name
        stored = gpd.GeoDataFrame(geometry=frame.geometry, crs=frame.crs)
        geometry = from_storage(stored, target=target).geometry
    elif needs_geometry:
        raise ExportError(
            f"图层 {layer} 没有几何，不能导出为 {format_name}；请导出为 xlsx 或 gpkg / "
            f"the {layer} frame has no geometry, so it cannot be written as {format_name}; "
            "export it as xlsx or gpkg"
        )
    columns = _columns(frame, schema, geometry_name)
    labels = _record_labels(frame, schema)
    values: dict[str, list[Any]] = {}
    for col in columns:
        raw = frame[col.name].tolist()
        converted = []
        for pos, value in enumerate(raw):
            try:
                converted.append(_convert_value(value, col.type))
            except (TypeError, ValueError) as exc:
                raise SchemaError(
                    f"{labels[pos]}：字段 {col.name}（{col.zh}）的值 {value!r} 不是 {col.type} 类型 / "
                    f"field {col.name} holds {value!r}, expected {col.type} ({exc}); "
                    "correct the record before exporting"
                ) from None
        values[col.name] = converted
    return _Prepared(
        schema=schema,
        columns=tuple(columns),
        values=values,
        geometry=geometry,
        crs_label=label,
        record_labels=labels,
    )


# --------------------------------------------------------------------------
# Atomic writing
# --------------------------------------------------------------------------


def _check_target(path: Path | str, *, format_name: str, overwrite: bool) -> Path:
    return check_target(path, suffixes=_SUFFIXES[format_name], overwrite=overwrite)


def _parse_encoding(encoding: str, *, format_name: str) -> ExportEncoding:
    if encoding not in get_args(ExportEncoding):
        raise ExportError(
            f"不支持的编码 {encoding!r} / unknown encoding {encoding!r}; use 'UTF-8' or 'GBK'"
        )
    if format_name != "shp" and encoding != "UTF-8":
        raise ExportError(
            f"编码选项只用于 shapefile；{format_name} 总是 UTF-8 / the encoding option applies to "
            f"shapefiles only; {format_name} files are always UTF-8"
        )
    return encoding  # type: ignore[return-value]


# --------------------------------------------------------------------------
# Shapefile zip
# --------------------------------------------------------------------------


def _dbf_type_note(kind: FieldType) -> str:
    notes: dict[str, str] = {
        "bool": "DBF 中 1=是，0=否 / 1 = yes, 0 = no",
        "date": "文本 YYYY-MM-DD / text YYYY-MM-DD",
        "datetime": "文本 ISO 8601 / ISO 8601 text",
        "json": "JSON 文本 / JSON text",
    }
    return notes.get(kind, "")


def _csv_escape(text: str) -> str:
    """Keep a CSV cell from running as a formula in Excel; reversible."""
    if text.startswith((*FORMULA_TRIGGERS, _CSV_ESCAPE)):
        return _CSV_ESCAPE + text
    return text


def _csv_unescape(text: str) -> str:
    return text[1:] if text.startswith(_CSV_ESCAPE) else text


def _dictionary_rows(columns: Sequence[_Column]) -> list[list[str]]:
    rows = []
    for col in columns:
        description = "；".join(p for p in (col.description, _dbf_type_note(col.type)) if p)
        rows.append(
            [col.short, col.name, col.zh, col.en, col.type, col.unit, description],
        )
    return rows


def _write_dictionary(path: Path, columns: Sequence[_Column]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(FIELD_DICTIONARY_COLUMNS)
        for row in _dictionary_rows(columns):
            writer.writerow([_csv_escape(cell) for cell in row])


def _readme_text(prep: _Prepared, *, encoding: ExportEncoding, members: Sequence[str]) -> str:
    schema = prep.schema
    lines = [
        "阳江市城镇老旧小区改造 GIS 导出 / Yangjiang old-community renovation GIS export",
        "",
        f"图层 Layer: {schema.name}（{schema.zh}）",
        f"要素数 Features: {prep.n_records}",
        f"{README_CRS_PREFIX} {prep.crs_label}",
        f"坐标系说明 CRS name: {_CRS_NAMES.get(prep.crs_label, prep.crs_label)}",
        f"DBF 编码 Encoding: {'UTF-8' if encoding == 'UTF-8' else 'GBK（代码页 936 / code page 936）'}",
        f"导出时间 Exported: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"文件 Files: {', '.join(members)}",
        "",
        "说明 Notes:",
        f"- DBF 字段名为不超过 10 个字符的英文短名，中文名、英文名、类型和单位见 {FIELD_DICTIONARY_NAME}。"
        f" / DBF field names are short ASCII names; see {FIELD_DICTIONARY_NAME} for the Chinese "
        "and English names, types and units.",
        "- 空文本与缺失值在 DBF 中无法区分，读回时都是缺失值；文本末尾的空格不保留。"
        " / DBF cannot tell empty text from a missing value: both read back as missing; "
        "trailing spaces are not kept.",
        "- 是/否字段写为 1（是）/ 0（否），空白为缺失；日期写为文本 YYYY-MM-DD。"
        " / Yes/no fields are 1 (yes) / 0 (no), blank when missing; dates are text YYYY-MM-DD.",
        "- 小数保留 15 位小数（约 15 位有效数字）。 / Decimals keep 15 decimal places "
        "(about 15 significant digits).",
    ]
    if encoding == "GBK":
        lines.append(
            "- DBF 为 GBK（代码页 936），.cpg 为 936，适用于旧版 ArcGIS。"
            " / The DBF is GBK (code page 936, .cpg 936) for old ArcGIS."
        )
    if prep.crs_label == "GCJ-02":
        lines.append(f"- {_GCJ02_NOTE}")
    return "\r\n".join(lines) + "\r\n"


def _check_dbf_text(prep: _Prepared, *, encoding: ExportEncoding) -> None:
    """Refuse text that the DBF would alter: characters outside GBK, more than 254 bytes."""
    codec = "utf-8" if encoding == "UTF-8" else "gbk"
    problems: list[str] = []
    for col in prep.columns:
        if col.type not in ("str", "json"):
            continue
        for pos, text in enumerate(prep.values[col.name]):
            if text is None:
                continue
            try:
                size = len(text.encode(codec))
            except UnicodeEncodeError:
                bad = "".join(dict.fromkeys(ch for ch in text if not _encodes(ch, codec)))
                codes = ", ".join(f"U+{ord(ch):04X}" for ch in bad)
                problems.append(
                    f"{prep.record_labels[pos]}，字段 {col.name}（{col.zh}）的值 {text!r} 含 GBK 无法"
                    f"表示的字符 {bad!r}（{codes}） / field {col.name}: {text!r} has characters "
                    f"GBK cannot encode ({codes})"
                )
                continue
            if size > _DBF_MAX_TEXT_BYTES:
                problems.append(
                    f"{prep.record_labels[pos]}，字段 {col.name}（{col.zh}）长 {size} 字节，超过 DBF 的 "
                    f"{_DBF_MAX_TEXT_BYTES} 字节 / field {col.name} is {size} bytes in {encoding}, "
                    f"more than the DBF limit of {_DBF_MAX_TEXT_BYTES}"
                )
    if not problems:
        return
    listed = "\n".join(problems[:_MAX_LISTED_PROBLEMS])
    more = len(problems) - _MAX_LISTED_PROBLEMS
    tail = f"\n…另有 {more} 处 / and {more} more" if more > 0 else ""
    raise ExportError(
        f"shapefile 无法原样保存以下文本，未写出任何文件 / the shapefile cannot hold this text "
        f"unchanged, nothing was written:\n{listed}{tail}\n"
        "请改用 UTF-8 编码（命令行 --encoding UTF-8）（新版 ArcGIS、ArcGIS Pro、QGIS 可读）或导出 gpkg，"
        "或修改这些值 / export in UTF-8 (--encoding UTF-8) (read by current ArcGIS, ArcGIS Pro and "
        "QGIS) or as gpkg, or correct these values"
    )


def _encodes(ch: str, codec: str) -> bool:
    try:
        ch.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _dbf_frame(prep: _Prepared) -> gpd.GeoDataFrame:
    """Attribute columns under their short names, in the types the DBF holds."""
    data: dict[str, Any] = {}
    for col in prep.columns:
        vals = prep.values[col.name]
        if col.type in ("int", "bool"):
            data[col.short] = pd.array([None if v is None else int(v) for v in vals], dtype="Int64")
        elif col.type == "float":
            data[col.short] = np.array([np.nan if v is None else v for v in vals], dtype="float64")
        elif col.type in ("date", "datetime"):
            data[col.short] = pd.Series(
                [None if v is None else v.isoformat() for v in vals], dtype=object
            )
        else:
            data[col.short] = pd.Series(vals, dtype=object)
    assert prep.geometry is not None
    geometry = prep.geometry.reset_index(drop=True)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=geometry.crs)


def export_shapefile_zip(
    frame: gpd.GeoDataFrame | pd.DataFrame,
    path: Path | str,
    *,
    layer: str,
    crs: CrsLike = STORAGE_CRS,
    encoding: ExportEncoding = "UTF-8",
    overwrite: bool = False,
) -> Path:
    """Write a layer as a zipped shapefile with a field dictionary.

    The zip holds exactly ``<layer>.shp``, ``.shx``, ``.dbf``, ``.prj``,
    ``.cpg``, ``fields.csv`` and ``README.txt``.

    * DBF field names are the schema's ASCII ``short`` names (at most 10
      characters), because GDAL cuts Chinese names at 10 bytes and leaves a
      DBF that cannot be read. Columns that are not in the schema keep their
      name when it is already a valid DBF name, else get ``x_01``, ``x_02``...
    * ``fields.csv`` (UTF-8 with BOM, so Excel shows the Chinese) has the
      columns of :data:`FIELD_DICTIONARY_COLUMNS`: short name, original
      (workspace) name, Chinese name, English name, type, unit, description;
      one row per DBF field. A cell that Excel would run as a formula is
      prefixed with ``'`` (a leading ``'`` is doubled), which
      :func:`read_shapefile_zip` removes.
    * ``README.txt`` (UTF-8 with BOM) states the layer, CRS, encoding and the
      conventions below, and warns when the coordinates are GCJ-02.

    Values: text as DBF text (at most 254 bytes, longer text is refused
    rather than cut); empty text and missing values are the same in a DBF
    and both read back as missing; integers as DBF numbers; decimals with 15
    decimal places (about 15 significant digits); booleans as 1 / 0 (blank
    when missing); dates as ISO text ``YYYY-MM-DD`` and date-times as ISO
    8601 text, so that a round trip gives back the same values.

    Encoding: ``"UTF-8"`` (default; .cpg ``UTF-8``), read by QGIS, ArcGIS
    Pro and current ArcGIS. ``"GBK"`` is for old ArcGIS (ArcMap), which
    reads the DBF through the code page named in the .cpg or in the DBF
    header: the DBF is written in code page 936 with language driver id 0x4D
    in its header and a .cpg of ``936``, the two markers old ArcGIS
    understands. GB18030 is not used: old ArcGIS decodes it as 936 and would
    show the characters outside GBK as garbage without any warning, so a
    value with a character outside GBK (such as 𠮷, U+20BB7) is refused
    instead, naming the record and the field; such data can go out as UTF-8
    or GeoPackage.

    Parameters
    ----------
    frame : GeoDataFrame
        Layer in the storage CRS EPSG:4490 with the schema's field names;
        extra columns and the system field ``version`` are kept.
    path : Path or str
        Target file ending in ``.zip``; its folder must exist.
    layer : str
        Schema of the frame (``"communities"``...); also the name of the
        shapefile inside the zip.
    crs : CRS option
        ``"EPSG:4490"`` (default), ``"EPSG:4546"``, ``"EPSG:4326"`` or
        ``"gcj02"``; the .prj is written for the EPSG code, and says WGS84 for
        GCJ-02 (as Amap data files do) while README.txt says GCJ-02.
    encoding : {"UTF-8", "GBK"}
        Encoding of the DBF text.
    overwrite : bool
        Replace an existing target.

    Returns
    -------
    Path
        The zip written.

    Raises
    ------
    ExportError
        Bad option, existing target without ``overwrite``, text a DBF cannot
        hold, a frame without geometry.
    CRSError
        The frame has no CRS or is not in EPSG:4490.
    SchemaError
        A value does not match its field type.

    Examples
    --------
    >>> export_shapefile_zip(gdf, "communities.zip", layer="communities")  # doctest: +SKIP
    PosixPath('communities.zip')
    """
    encoding = _parse_encoding(encoding, format_name="shp")
    target = _check_target(path, format_name="shp", overwrite=overwrite)
    prep = _prepare(frame, layer=layer, crs=crs, needs_geometry=True, format_name="shp")
    _check_dbf_text(prep, encoding=encoding)
    base = prep.schema.name
    members = [f"{base}{ext}" for ext in _SHAPEFILE_PARTS] + [FIELD_DICTIONARY_NAME, README_NAME]
    import pyogrio

    with staging(target) as folder:
        parts = folder / "parts"
        parts.mkdir()
        pyogrio.write_dataframe(
            _dbf_frame(prep),
            parts / f"{base}.shp",
            layer=base,
            driver="ESRI Shapefile",
            encoding="UTF-8" if encoding == "UTF-8" else _GBK_GDAL_ENCODING,
        )
        (parts / f"{base}.cpg").write_text(
            _UTF8_CPG if encoding == "UTF-8" else _GBK_CPG, encoding="ascii"
        )
        _write_dictionary(parts / FIELD_DICTIONARY_NAME, prep.columns)
        (parts / README_NAME).write_text(
            _readme_text(prep, encoding=encoding, members=members), encoding="utf-8-sig"
        )
        built = folder / target.name
        with zipfile.ZipFile(built, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member in members:
                archive.write(parts / member, arcname=member)
        publish(built, target, overwrite=overwrite)
    logger.info(
        "exported %d %s records to %s (shapefile zip, %s, %s)",
        prep.n_records,
        layer,
        target,
        prep.crs_label,
        encoding,
    )
    return target


def _check_zip_limits(path: Path, archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    if len(infos) > settings.max_zip_members:
        raise LimitExceededError(
            f"{path} 含 {len(infos)} 个文件，超过上限 {settings.max_zip_members} / {path} has "
            f"{len(infos)} members, more than {settings.max_zip_members}"
        )
    total = sum(i.file_size for i in infos)
    if total > settings.max_zip_uncompressed_bytes:
        raise LimitExceededError(
            f"{path} 解压后 {total} 字节，超过上限 / {path} unpacks to {total} bytes, more than "
            f"{settings.max_zip_uncompressed_bytes}"
        )
    for info in infos:
        if info.file_size / max(info.compress_size, 1) > settings.max_zip_ratio:
            raise LimitExceededError(
                f"{path} 中 {info.filename} 压缩比异常 / {path}: member {info.filename} unpacks "
                f"more than {settings.max_zip_ratio} times its size (zip bomb guard)"
            )


def _read_dictionary(path: Path, archive: zipfile.ZipFile) -> dict[str, tuple[str, FieldType]]:
    """Map DBF short name -> (original name, type) from the zip's fields.csv."""
    text = archive.read(FIELD_DICTIONARY_NAME).decode("utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(rows[0]) != FIELD_DICTIONARY_COLUMNS:
        raise InputFileError(
            f"{path} 中的 {FIELD_DICTIONARY_NAME} 表头不符 / {path}: {FIELD_DICTIONARY_NAME} does "
            f"not start with the header {', '.join(FIELD_DICTIONARY_COLUMNS)}"
        )
    known_types = set(get_args(FieldType))
    out: dict[str, tuple[str, FieldType]] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        cells = [_csv_unescape(c) for c in row]
        if len(cells) != len(FIELD_DICTIONARY_COLUMNS) or cells[4] not in known_types:
            raise InputFileError(
                f"{path} 中 {FIELD_DICTIONARY_NAME} 第 {line_no} 行无效 / {path}: line {line_no} of "
                f"{FIELD_DICTIONARY_NAME} is not short,name,zh,en,type,unit,description"
            )
        out[cells[0]] = (cells[1], cells[4])  # type: ignore[assignment]
    return out


def _readme_crs(archive: zipfile.ZipFile) -> str | None:
    if README_NAME not in archive.namelist():
        return None
    for line in archive.read(README_NAME).decode("utf-8-sig").splitlines():
        if line.startswith(README_CRS_PREFIX):
            return line[len(README_CRS_PREFIX) :].strip()
    return None


def _restore_column(series: pd.Series, kind: FieldType, *, path: Path, name: str) -> pd.Series:
    values = series.tolist()

    def parse(func: Callable[[Any], Any]) -> list[Any]:
        out: list[Any] = []
        for pos, v in enumerate(values):
            if _is_missing(v):
                out.append(None)
                continue
            try:
                out.append(func(v))
            except (TypeError, ValueError) as exc:
                raise InputFileError(
                    f"{path}：第 {pos + 1} 条记录字段 {name} 的值 {v!r} 不是 {kind} / {path}: "
                    f"record {pos + 1}, field {name}: {v!r} is not a {kind} ({exc})"
                ) from None
        return out

    if kind == "int":
        return pd.Series(parse(int), index=series.index, dtype=object).astype("Int64")
    if kind == "float":
        return pd.Series(parse(float), index=series.index, dtype=object).astype("Float64")
    if kind == "bool":
        flags = parse(lambda v: int(v) == 1)
        return pd.Series(flags, index=series.index, dtype=object).astype("boolean")
    if kind == "date":
        days = parse(lambda v: pd.Timestamp(dt.date.fromisoformat(str(v))))
        return pd.Series(
            pd.to_datetime(pd.Series(days, dtype=object)).to_numpy(), index=series.index
        )
    if kind == "datetime":
        stamps = parse(lambda v: pd.Timestamp(dt.datetime.fromisoformat(str(v))))
        return pd.Series(
            pd.to_datetime(pd.Series(stamps, dtype=object)).to_numpy(), index=series.index
        )
    # str and json: text, as the workspace store keeps them
    return series.astype("string")


def _to_multi(geometry: gpd.GeoSeries, geometry_type: str | None) -> gpd.GeoSeries:
    """Promote single parts to the schema's multi type (shapefiles do not keep it)."""
    wrap: dict[str, Callable[[Any], Any]] = {
        "MultiPolygon": lambda g: shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g,
        "MultiLineString": lambda g: (
            shapely.MultiLineString([g]) if g.geom_type == "LineString" else g
        ),
    }
    if geometry_type not in wrap:
        return geometry
    func = wrap[geometry_type]
    return geometry.apply(lambda g: g if g is None or g.is_empty else func(g))


def read_shapefile_zip(path: Path | str) -> gpd.GeoDataFrame:
    """Read a zip written by :func:`export_shapefile_zip` back into a stored layer.

    The DBF's short names are mapped back to the original names and types
    through ``fields.csv``; the coordinates are brought back to the storage
    CRS EPSG:4490 (undoing the GCJ-02 offset when README.txt says GCJ-02,
    with the iterative inverse, under 1 mm); single polygons / lines are
    promoted to the schema's multi type.

    What comes back, in the dtypes of :meth:`gislib.store` reads: text (and
    JSON text) as ``string``, with empty text *and* missing values both
    ``<NA>`` (a DBF cannot tell them apart); integers as ``Int64``; decimals
    as ``Float64`` (written with 15 decimal places, so equal to the original
    to about 15 significant digits); booleans as ``boolean``; dates and
    date-times as ``datetime64`` (dates at midnight). The index is a fresh
    ``RangeIndex``.

    Parameters
    ----------
    path : Path or str
        A ``.zip`` holding one shapefile and ``fields.csv``.

    Returns
    -------
    GeoDataFrame
        In EPSG:4490, columns in the order of the dictionary, then
        ``geometry``.

    Raises
    ------
    InputFileError
        Missing file, not a zip, no single .shp, no or bad ``fields.csv``.
    LimitExceededError
        The zip breaks a limit of :mod:`gislib.settings`.

    Examples
    --------
    >>> gdf = read_shapefile_zip("communities.zip")  # doctest: +SKIP
    """
    import pyogrio

    source = Path(path)
    if not source.is_file():
        raise InputFileError(f"找不到文件 {source} / {source} does not exist")
    if source.stat().st_size > settings.max_input_bytes:
        raise LimitExceededError(
            f"{source} 超过 {settings.max_input_bytes} 字节 / {source} is larger than "
            f"{settings.max_input_bytes} bytes"
        )
    if not zipfile.is_zipfile(source):
        raise InputFileError(f"{source} 不是 zip 文件 / {source} is not a zip archive")
    with zipfile.ZipFile(source) as archive:
        _check_zip_limits(source, archive)
        names = archive.namelist()
        shps = [n for n in names if n.lower().endswith(".shp")]
        if len(shps) != 1:
            raise InputFileError(
                f"{source} 应含一个 .shp，实际 {len(shps)} 个 / {source} should hold exactly one "
                f".shp, found {len(shps)}"
            )
        if FIELD_DICTIONARY_NAME not in names:
            raise InputFileError(
                f"{source} 中没有 {FIELD_DICTIONARY_NAME}，不是本系统导出的文件；请用通用导入 / "
                f"{source} has no {FIELD_DICTIONARY_NAME}, so it is not a gislib export; "
                "use gislib.io.reading for other shapefiles"
            )
        dictionary = _read_dictionary(source, archive)
        crs_text = _readme_crs(archive)
    shp = shps[0]
    try:
        raw = pyogrio.read_dataframe(f"/vsizip/{source.resolve()}/{shp}")
    except Exception as exc:
        raise InputFileError(
            f"无法读取 {source} 中的 {shp} / cannot read {shp} in {source}: {exc}"
        ) from exc
    layer_name = Path(shp).stem
    columns: dict[str, pd.Series] = {}
    for short in raw.columns:
        if short == raw.geometry.name:
            continue
        if short not in dictionary:
            logger.warning(
                "%s: DBF field %s is not in %s; kept as read", source, short, FIELD_DICTIONARY_NAME
            )
            columns[short] = raw[short]
            continue
        name, kind = dictionary[short]
        columns[name] = _restore_column(raw[short], kind, path=source, name=name)
    geometry_type: str | None = None
    try:
        geometry_type = layer_schema(layer_name).geometry_type
    except KeyError:
        logger.warning(
            "%s: %s is not a known layer; geometry types kept as read", source, layer_name
        )
    geometry = _to_multi(raw.geometry, geometry_type)
    out = gpd.GeoDataFrame(columns, geometry=geometry.rename("geometry"), crs=raw.crs)
    if out.crs is None:
        raise CRSError(f"{source} 中的 {shp} 没有 .prj / {shp} in {source} has no .prj")
    if crs_text == "GCJ-02":
        return to_storage(out, source="gcj02")
    return to_storage(out)


# --------------------------------------------------------------------------
# GeoPackage, GeoJSON, KML
# --------------------------------------------------------------------------


def _typed_frame(prep: _Prepared, *, dates_as_text: bool) -> pd.DataFrame:
    """Attribute columns under their schema names in pandas dtypes that keep their type."""
    data: dict[str, Any] = {}
    for col in prep.columns:
        vals = prep.values[col.name]
        if col.type == "int":
            data[col.name] = pd.array(vals, dtype="Int64")
        elif col.type == "float":
            data[col.name] = np.array([np.nan if v is None else v for v in vals], dtype="float64")
        elif col.type == "bool":
            data[col.name] = pd.array(vals, dtype="boolean")
        elif col.type in ("date", "datetime") and dates_as_text:
            data[col.name] = pd.Series(
                [None if v is None else v.isoformat() for v in vals], dtype=object
            )
        elif col.type == "date":
            import pyarrow as pa

            data[col.name] = pd.Series(vals, dtype=pd.ArrowDtype(pa.date32()))
        elif col.type == "datetime":
            data[col.name] = pd.to_datetime(pd.Series(vals, dtype=object))
        else:
            data[col.name] = pd.Series(vals, dtype=object)
    return pd.DataFrame(data)


def export_geopackage(
    frame: gpd.GeoDataFrame | pd.DataFrame,
    path: Path | str,
    *,
    layer: str,
    crs: CrsLike = STORAGE_CRS,
    overwrite: bool = False,
) -> Path:
    """Write a layer as a GeoPackage, without loss.

    The GeoPackage layer is named ``layer`` and keeps the field names, the
    field types (text, Integer64, Real, Boolean, Date, DateTime), every value
    (empty text stays empty, missing stays NULL) and the geometries exactly
    (same WKB; single and multi parts are not promoted). A frame without
    geometry (``status_events``) becomes an attribute table. In ``crs`` other
    than EPSG:4490 the coordinates are reprojected (so no longer bit-exact);
    with ``"gcj02"`` the layer says EPSG:4326 and its description says GCJ-02.

    Parameters
    ----------
    frame : GeoDataFrame or DataFrame
        Layer in EPSG:4490 with the schema's field names.
    path : Path or str
        Target ending in ``.gpkg``.
    layer : str
        Schema and GeoPackage layer name.
    crs : CRS option
        One of :data:`EXPORT_CRS_CHOICES`.
    overwrite : bool
        Replace an existing target (the whole file).

    Returns
    -------
    Path

    Raises
    ------
    ExportError, CRSError, SchemaError
        As for :func:`export_layer`.
    """
    import pyogrio

    target = _check_target(path, format_name="gpkg", overwrite=overwrite)
    prep = _prepare(frame, layer=layer, crs=crs, needs_geometry=False, format_name="gpkg")
    data: pd.DataFrame = _typed_frame(prep, dates_as_text=False)
    layer_options = {"DESCRIPTION": f"{prep.schema.zh} / {prep.schema.en}"}
    if prep.geometry is not None:
        geometry = prep.geometry.reset_index(drop=True)
        data = gpd.GeoDataFrame(data, geometry=geometry, crs=geometry.crs)
    if prep.crs_label == "GCJ-02":
        layer_options["DESCRIPTION"] += f"；{_GCJ02_NOTE}"
    with staging(target) as folder:
        built = folder / target.name
        pyogrio.write_dataframe(
            data,
            built,
            layer=prep.schema.name,
            driver="GPKG",
            use_arrow=True,
            promote_to_multi=False,
            layer_options=layer_options,
        )
        publish(built, target, overwrite=overwrite)
    logger.info("exported %d %s records to %s (GeoPackage)", prep.n_records, layer, target)
    return target


def _wgs84_only(crs: CrsLike, *, format_name: str, allow_gcj02: bool) -> CrsLike:
    """Map the CRS option of a WGS84-by-definition format; refuse the others."""
    _, label = _resolve_crs(crs)
    if label in ("EPSG:4490", "EPSG:4326"):
        return "EPSG:4326"
    if label == "GCJ-02" and allow_gcj02:
        return "gcj02"
    raise ExportError(
        f"{format_name} 只能用 WGS84 经纬度（EPSG:4490 视同 WGS84）"
        + ("或 GCJ-02" if allow_gcj02 else "")
        + f"，不能用 {label}；投影坐标请导出 shp 或 gpkg / {format_name} holds WGS84 longitude/latitude "
        + ("(or GCJ-02 on request) " if allow_gcj02 else "")
        + f"only, not {label}; use shp or gpkg for projected coordinates"
    )


def export_geojson(
    frame: gpd.GeoDataFrame | pd.DataFrame,
    path: Path | str,
    *,
    layer: str,
    crs: CrsLike = STORAGE_CRS,
    overwrite: bool = False,
) -> Path:
    """Write a layer as RFC 7946 GeoJSON (WGS84 longitude/latitude).

    RFC 7946 allows only WGS84 coordinates and readers assume them, so
    ``crs`` must be ``"EPSG:4326"`` or ``"EPSG:4490"`` (CGCS2000, written as
    WGS84: the two differ by centimetres); ``"EPSG:4546"`` and ``"gcj02"``
    are refused rather than written with a note no reader would see. The
    writer uses GDAL's RFC 7946 mode: 7 decimal places (about 1 cm),
    counter-clockwise outer rings, no ``crs`` member. Properties keep the
    schema's field names; booleans are JSON booleans, dates ISO text.

    Parameters
    ----------
    frame : GeoDataFrame
        Layer in EPSG:4490.
    path : Path or str
        Target ending in ``.geojson`` or ``.json``.
    layer : str
        Schema; also the FeatureCollection's ``name``.
    crs : CRS option
        ``"EPSG:4490"`` or ``"EPSG:4326"``.
    overwrite : bool
        Replace an existing target.

    Returns
    -------
    Path

    Raises
    ------
    ExportError, CRSError, SchemaError
        As for :func:`export_layer`.
    """
    import pyogrio

    target = _check_target(path, format_name="geojson", overwrite=overwrite)
    out_crs = _wgs84_only(crs, format_name="GeoJSON", allow_gcj02=False)
    prep = _prepare(frame, layer=layer, crs=out_crs, needs_geometry=True, format_name="geojson")
    assert prep.geometry is not None
    geometry = prep.geometry.reset_index(drop=True)
    data = gpd.GeoDataFrame(
        _typed_frame(prep, dates_as_text=True), geometry=geometry, crs=geometry.crs
    )
    with staging(target) as folder:
        built = folder / target.name
        pyogrio.write_dataframe(
            data, built, layer=prep.schema.name, driver="GeoJSON", layer_options={"RFC7946": "YES"}
        )
        publish(built, target, overwrite=overwrite)
    logger.info("exported %d %s records to %s (GeoJSON)", prep.n_records, layer, target)
    return target


def _display_text(col: _Column, value: Any) -> str:
    """Value as a person reads it (KML descriptions)."""
    if value is None:
        return ""
    if col.type == "bool":
        return _YES if value else _NO
    if col.type in ("date", "datetime"):
        return str(value.isoformat())
    if col.type == "float":
        return f"{value:.10g}"
    if col.name == "county_code" and value in COUNTIES:
        return COUNTIES[value][0]
    return str(value)


def _placemark_name_field(schema: Layer, columns: Sequence[_Column]) -> str | None:
    names = {c.name for c in columns}
    for candidate in ("name", schema.id_field):
        if candidate in names:
            return candidate
    return None


def export_kml(
    frame: gpd.GeoDataFrame | pd.DataFrame,
    path: Path | str,
    *,
    layer: str,
    crs: CrsLike = STORAGE_CRS,
    overwrite: bool = False,
) -> Path:
    """Write a layer as KML for 奥维互动地图 (Ovi Map) and Google Earth.

    Each record becomes a Placemark named after its ``name`` field (the
    community name; the id when the name is missing) with a plain-text
    description of ``中文标签：值`` lines (booleans 是/否, county names rather
    than codes; missing values and the system field ``version`` left out). Plain text rather than
    HTML so that 奥维 shows it as is.

    KML is WGS84 by specification: ``"EPSG:4326"`` and ``"EPSG:4490"``
    (CGCS2000, centimetres from WGS84) write true coordinates, for Google
    Earth and 奥维's satellite imagery. ``"gcj02"`` writes the GCJ-02 offset
    coordinates (about 600 m ESE in Yangjiang) for 奥维 users who work on its
    Chinese street basemaps (Amap/Tencent-style, themselves GCJ-02); the file
    is still labelled WGS84, a warning is logged and every description ends
    with a line saying the coordinates are GCJ-02. ``"EPSG:4546"`` is refused.

    Parameters
    ----------
    frame : GeoDataFrame
        Layer in EPSG:4490.
    path : Path or str
        Target ending in ``.kml``.
    layer : str
        Schema; also the KML folder name.
    crs : CRS option
        ``"EPSG:4490"``, ``"EPSG:4326"`` or ``"gcj02"``.
    overwrite : bool
        Replace an existing target.

    Returns
    -------
    Path

    Raises
    ------
    ExportError, CRSError, SchemaError
        As for :func:`export_layer`.
    """
    import pyogrio

    target = _check_target(path, format_name="kml", overwrite=overwrite)
    out_crs = _wgs84_only(crs, format_name="KML", allow_gcj02=True)
    prep = _prepare(frame, layer=layer, crs=out_crs, needs_geometry=True, format_name="kml")
    assert prep.geometry is not None
    if prep.crs_label == "GCJ-02":
        logger.warning(
            "KML %s is written in GCJ-02 (offset) coordinates labelled WGS84, for Chinese basemaps",
            target,
        )
    shown = [c for c in prep.columns if not c.system]
    name_field = _placemark_name_field(prep.schema, shown)
    id_values = prep.values.get(prep.schema.id_field, [None] * prep.n_records)
    names: list[str | None] = []
    descriptions: list[str] = []
    for pos in range(prep.n_records):
        label = prep.values[name_field][pos] if name_field else None
        names.append(str(label) if label is not None else id_values[pos])
        lines = [
            f"{c.zh}：{_display_text(c, prep.values[c.name][pos])}"
            for c in shown
            if prep.values[c.name][pos] is not None
        ]
        if prep.crs_label == "GCJ-02":
            lines.append("坐标系：GCJ-02（火星坐标） / coordinates: GCJ-02")
        descriptions.append("\n".join(lines))
    geometry = prep.geometry.reset_index(drop=True)
    data = gpd.GeoDataFrame(
        {
            "Name": pd.Series(names, dtype=object),
            "Description": pd.Series(descriptions, dtype=object),
        },
        geometry=geometry,
        crs="EPSG:4326",
    )
    with staging(target) as folder:
        built = folder / target.name
        pyogrio.write_dataframe(data, built, layer=prep.schema.name, driver="KML")
        publish(built, target, overwrite=overwrite)
    logger.info(
        "exported %d %s records to %s (KML, %s)", prep.n_records, layer, target, prep.crs_label
    )
    return target


# --------------------------------------------------------------------------
# Excel ledger
# --------------------------------------------------------------------------


def _centroids(prep: _Prepared) -> tuple[list[float | None], list[float | None]]:
    """Centroid x/y of each geometry in the export CRS, computed in EPSG:4546."""
    assert prep.geometry is not None
    xs: list[float | None] = []
    ys: list[float | None] = []
    geometry = prep.geometry
    if prep.crs_label == "GCJ-02":
        # The GCJ-02 geometry is offset; take centroids of the true geometry and offset them.
        from gislib.crs import gcj02_to_wgs84, wgs84_to_gcj02

        def unoffset(coords: np.ndarray) -> np.ndarray:
            lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        true = gpd.GeoSeries(shapely.transform(geometry.values, unoffset), crs="EPSG:4326")
        cents = true.to_crs("EPSG:4546").centroid.to_crs("EPSG:4326")
        valid = ~(cents.is_empty | cents.isna())
        lon, lat = wgs84_to_gcj02(cents.x.where(valid), cents.y.where(valid))
        for ok, x, y in zip(valid.tolist(), lon.tolist(), lat.tolist(), strict=True):
            xs.append(float(x) if ok else None)
            ys.append(float(y) if ok else None)
        return xs, ys
    cents = geometry.to_crs("EPSG:4546").centroid.to_crs(geometry.crs)
    for point in cents.tolist():
        if point is None or point.is_empty:
            xs.append(None)
            ys.append(None)
        else:
            xs.append(float(point.x))
            ys.append(float(point.y))
    return xs, ys


def export_excel(
    frame: gpd.GeoDataFrame | pd.DataFrame,
    path: Path | str,
    *,
    layer: str,
    crs: CrsLike = STORAGE_CRS,
    overwrite: bool = False,
) -> Path:
    """Write a layer as an Excel ledger (台账), one row per record.

    Sheet one (named after the layer, e.g. 老旧小区): Chinese headers from the
    schema labels (extra columns under their own names; the system field
    ``version`` left out); integers (years, counts) as plain numbers with
    format ``0`` (never "2,023"); decimals ``#,##0.00``, shares 0-1 as
    percentages; booleans as 是/否; county codes as county names; dates as
    Excel dates. Geometry becomes the centroid of each record (computed in
    EPSG:4546) in the chosen CRS: columns 经度/纬度 (degrees) for EPSG:4490,
    EPSG:4326 and GCJ-02, or X坐标/Y坐标 (metres) for EPSG:4546. The header
    row is frozen, an autofilter covers the table, column widths follow the
    content (CJK characters count double). Every text cell is stored as a
    string; text that starts with = + - @, a tab or CR also gets Excel's
    quote prefix, so no cell can ever run as a formula. Sheet two (说明)
    lists the fields, the CRS and the export time.

    Parameters
    ----------
    frame : GeoDataFrame or DataFrame
        Layer in EPSG:4490 (or a table without geometry).
    path : Path or str
        Target ending in ``.xlsx``.
    layer : str
        Schema of the frame.
    crs : CRS option
        One of :data:`EXPORT_CRS_CHOICES`; used for the centroid columns.
    overwrite : bool
        Replace an existing target.

    Returns
    -------
    Path

    Raises
    ------
    ExportError, CRSError, SchemaError
        As for :func:`export_layer`.
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    target = _check_target(path, format_name="xlsx", overwrite=overwrite)
    prep = _prepare(frame, layer=layer, crs=crs, needs_geometry=False, format_name="xlsx")
    shown = [c for c in prep.columns if not c.system]
    coordinate_headers: tuple[str, str] | None = None
    xs: list[float | None] = []
    ys: list[float | None] = []
    if prep.geometry is not None:
        xs, ys = _centroids(prep)
        projected = prep.crs_label == "EPSG:4546"
        coordinate_headers = ("X坐标（米）", "Y坐标（米）") if projected else ("经度", "纬度")
        coordinate_format = _XLSX_METRE_FORMAT if projected else _XLSX_DEGREE_FORMAT

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = prep.schema.zh
    headers = [c.zh for c in shown] + list(coordinate_headers or ())
    widths = [display_width(h) for h in headers]
    for col_no, header in enumerate(headers, start=1):
        set_text_cell(sheet.cell(row=1, column=col_no), header)
    for pos in range(prep.n_records):
        row_no = pos + 2
        for col_no, col in enumerate(shown, start=1):
            value = prep.values[col.name][pos]
            cell = sheet.cell(row=row_no, column=col_no)
            if value is None:
                continue
            shown_text = _display_text(col, value)
            if col.type == "int":
                cell.value = value
                cell.number_format = _XLSX_INT_FORMAT
            elif col.type == "float":
                cell.value = value
                if col.unit == _XLSX_SHARE_UNIT:
                    cell.number_format = _XLSX_SHARE_FORMAT
                elif not col.extra:
                    cell.number_format = _XLSX_FLOAT_FORMAT
            elif col.type == "date":
                cell.value = value
                cell.number_format = _XLSX_DATE_FORMAT
            elif col.type == "datetime":
                cell.value = value.replace(tzinfo=None)
                cell.number_format = _XLSX_DATETIME_FORMAT
            else:
                set_text_cell(cell, shown_text)
            widths[col_no - 1] = max(widths[col_no - 1], display_width(shown_text))
        if coordinate_headers is not None:
            for offset, coord in enumerate((xs[pos], ys[pos])):
                col_no = len(shown) + 1 + offset
                if coord is None:
                    continue
                cell = sheet.cell(row=row_no, column=col_no)
                cell.value = coord
                cell.number_format = coordinate_format
                widths[col_no - 1] = max(widths[col_no - 1], len(f"{coord:.6f}"))
    for col_no, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col_no)].width = min(
            max(width + _XLSX_WIDTH_PADDING, _XLSX_MIN_WIDTH), _XLSX_MAX_WIDTH
        )
    sheet.freeze_panes = "A2"
    if headers:
        last = get_column_letter(len(headers))
        sheet.auto_filter.ref = f"A1:{last}{prep.n_records + 1}"

    info = workbook.create_sheet(_XLSX_INFO_SHEET)
    meta = [
        ("图层 Layer", f"{prep.schema.name}（{prep.schema.zh}）"),
        ("记录数 Records", str(prep.n_records)),
        ("坐标系 CRS", f"{prep.crs_label}：{_CRS_NAMES.get(prep.crs_label, prep.crs_label)}"),
        ("导出时间 Exported", dt.datetime.now().astimezone().isoformat(timespec="seconds")),
    ]
    if prep.crs_label == "GCJ-02":
        meta.append(("注意 Note", _GCJ02_NOTE))
    for row_no, (key, value) in enumerate(meta, start=1):
        set_text_cell(info.cell(row=row_no, column=1), key)
        set_text_cell(info.cell(row=row_no, column=2), value)
    table_top = len(meta) + 2
    for col_no, header in enumerate(("列名 Column", *FIELD_DICTIONARY_COLUMNS[1:]), start=1):
        set_text_cell(info.cell(row=table_top, column=col_no), header)
    for row_no, row in enumerate(_dictionary_rows(shown), start=table_top + 1):
        cells = [shown[row_no - table_top - 1].zh, *row[1:]]
        for col_no, text in enumerate(cells, start=1):
            if text:
                set_text_cell(info.cell(row=row_no, column=col_no), text)
    for col_no in range(1, len(FIELD_DICTIONARY_COLUMNS) + 1):
        info.column_dimensions[get_column_letter(col_no)].width = 24

    with staging(target) as folder:
        built = folder / target.name
        workbook.save(built)
        publish(built, target, overwrite=overwrite)
    logger.info("exported %d %s records to %s (Excel ledger)", prep.n_records, layer, target)
    return target


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def export_layer(
    frame: gpd.GeoDataFrame | pd.DataFrame,
    path: Path | str,
    *,
    layer: str,
    format: ExportFormat,
    crs: CrsLike = STORAGE_CRS,
    encoding: ExportEncoding = "UTF-8",
    overwrite: bool = False,
) -> Path:
    """Export a stored layer to a file for another bureau or a design institute.

    Dispatches to :func:`export_shapefile_zip` (``"shp"``),
    :func:`export_geopackage` (``"gpkg"``), :func:`export_geojson`
    (``"geojson"``), :func:`export_kml` (``"kml"``) or :func:`export_excel`
    (``"xlsx"``); see them for what each file holds. The file is written to
    a temporary folder beside ``path`` and moved into place, so ``path`` is
    never left half-written; nothing is left behind on failure.

    Parameters
    ----------
    frame : GeoDataFrame or DataFrame
        Layer in the storage CRS EPSG:4490 (x = longitude, y = latitude) with
        the field names of :mod:`gislib.schema`; extra columns and the system
        field ``version`` may be present. A DataFrame without geometry can go
        to ``gpkg`` and ``xlsx`` only.
    path : Path or str
        Target file: ``.zip`` for shp, ``.gpkg``, ``.geojson``/``.json``,
        ``.kml``, ``.xlsx``. Its folder must exist.
    layer : str
        Name of the layer schema (``"communities"``, ``"pipelines"``...).
    format : {"shp", "gpkg", "geojson", "kml", "xlsx"}
        Output format.
    crs : CRS option
        ``"EPSG:4490"`` (default), ``"EPSG:4546"``, ``"EPSG:4326"`` or
        ``"gcj02"``; GeoJSON takes WGS84 only, KML WGS84 or GCJ-02.
    encoding : {"UTF-8", "GBK"}
        DBF encoding, for ``"shp"`` only.
    overwrite : bool
        Replace an existing file; without it an existing ``path`` is an error.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        Unknown format, layer or CRS choice, wrong suffix, missing folder,
        existing file without ``overwrite``, data the format cannot hold.
    CRSError
        The frame has no CRS or is not in EPSG:4490.
    SchemaError
        A value does not match the type of its field.

    Examples
    --------
    >>> export_layer(gdf, "out/communities.zip", layer="communities",
    ...              format="shp", encoding="GBK")  # doctest: +SKIP
    PosixPath('out/communities.zip')
    """
    if format not in _SUFFIXES:
        raise ExportError(
            f"不支持的导出格式 {format!r} / unknown export format {format!r}; "
            f"use one of {', '.join(_SUFFIXES)}"
        )
    _parse_encoding(encoding, format_name=format)
    if format == "shp":
        return export_shapefile_zip(
            frame, path, layer=layer, crs=crs, encoding=encoding, overwrite=overwrite
        )
    writers: dict[str, Callable[..., Path]] = {
        "gpkg": export_geopackage,
        "geojson": export_geojson,
        "kml": export_kml,
        "xlsx": export_excel,
    }
    return writers[format](frame, path, layer=layer, crs=crs, overwrite=overwrite)
