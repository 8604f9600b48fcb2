"""Open a user's file of any supported format as a raw layer, safely.

Concern: turning one file on disk into a :class:`RawLayer` (a GeoDataFrame
plus what was found while reading), refusing files that are missing, too
large, malformed or dangerous *before* any parser touches them. Nothing here
judges the data against a schema; :mod:`gislib.io.validate` does that.

Supported inputs
----------------
* zipped shapefile (``.zip``), read inside the archive through GDAL's
  ``/vsizip/`` (never extracted to disk);
* shapefile (``.shp`` beside its ``.shx``, ``.dbf`` and optional ``.prj`` /
  ``.cpg``);
* GeoPackage (``.gpkg``), GeoJSON (``.geojson`` / ``.json``), KML (``.kml``)
  and KMZ (``.kmz``, read inside the archive);
* Excel (``.xlsx``) and CSV (``.csv``) tables; a longitude / latitude column
  pair (经度/纬度, lon/lat, lng/lat, x/y, longitude/latitude...) becomes point
  geometry, and a table without one is read without geometry.

Safety checks, all made before reading: the file exists, is a file and can be
opened; its size (for a loose shapefile, the size of its parts) is at most
:data:`gislib.settings.max_input_bytes`; for archives (zip, KMZ, XLSX) the
central directory is checked for the number of members
(:data:`~gislib.settings.max_zip_members`), their total uncompressed size
(:data:`~gislib.settings.max_zip_uncompressed_bytes`), the compression ratio
of each member (:data:`~gislib.settings.max_zip_ratio`, zip-bomb guard) and
entries that would escape a folder (absolute paths, ``..``: zip slip).

Text encodings
--------------
Shapefile DBFs are read byte-exact (GDAL asked for ISO-8859-1, which maps
each byte to one character) and decoded here, so that a Chinese field name
cut in the middle of a character at 10 bytes, or a GBK file without ``.cpg``,
is read correctly instead of failing or turning into mojibake. The encoding
is, in order: the caller's ``encoding``; the ``.cpg`` file when the bytes agree
with it; else detected from the DBF's string bytes (strict UTF-8, else
GB18030, a superset of GBK; the header's language-driver byte is reported
when it says GBK). CSV files are detected the same way (UTF-8 with or without
BOM, else GB18030). GeoPackage, GeoJSON, KML and XLSX define their encoding
themselves.

Every coordinate is returned as read; CRS decisions belong to validation.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import math
import os
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS

from gislib import settings
from gislib.errors import InputFileError, LimitExceededError

__all__ = [
    "COORDINATE_HEADER_PAIRS",
    "SUPPORTED_SUFFIXES",
    "RawLayer",
    "normalize_header",
    "read_file",
]

logger = logging.getLogger(__name__)

#: File suffixes read by :func:`read_file`, with the format's name for messages.
SUPPORTED_SUFFIXES: dict[str, str] = {
    ".zip": "zipped shapefile",
    ".shp": "shapefile",
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".xlsx": "Excel",
    ".csv": "CSV",
}

#: Longitude / latitude header pairs recognised in tables, in order of preference.
#: Compared after :func:`normalize_header` and with any bracketed unit removed,
#: so "经度（°）" and "Longitude" match.
COORDINATE_HEADER_PAIRS: tuple[tuple[str, str], ...] = (
    ("经度", "纬度"),
    ("longitude", "latitude"),
    ("lon", "lat"),
    ("lng", "lat"),
    ("long", "lat"),
    ("东经", "北纬"),
    ("x坐标", "y坐标"),
    ("point_x", "point_y"),
    ("x", "y"),
)

# A zip member this large or larger has its compression ratio checked. Small
# members cannot be bombs, and a small DBF of blank padded text fields may
# legitimately compress more than 100 times.
_RATIO_CHECK_MIN_BYTES = 1024 * 1024
# Header row of a table is searched in this many first rows (titles above it).
_HEADER_SEARCH_ROWS = 10
# DBF encoding detection stops after this many non-ASCII text values.
_SNIFF_ENOUGH_VALUES = 5_000
# Bytes read from a CSV to guess its delimiter.
_CSV_SNIFF_BYTES = 64 * 1024
_CSV_DELIMITERS = ",\t;|"
# GDAL's byte-exact encoding: each byte becomes the code point of the same value.
_BYTE_EXACT = "ISO-8859-1"
# dBASE language driver ids that mean Chinese GBK / CP936.
_LDID_GBK = frozenset({0x4D, 0x7A})
# Columns LIBKML adds to every layer; dropped when they hold nothing.
_KML_STANDARD_COLUMNS = (
    "id",
    "description",
    "timestamp",
    "begin",
    "end",
    "altitudeMode",
    "tessellate",
    "extrude",
    "visibility",
    "drawOrder",
    "icon",
    "snippet",
)
_PYOGRIO_ERRORS: tuple[type[Exception], ...] = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.FieldError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
    UnicodeDecodeError,
    OSError,
)


@dataclass(frozen=True)
class RawLayer:
    """A file as read, before any schema check.

    Parameters
    ----------
    frame : GeoDataFrame
        The records, columns as named in the file (decoded), index 0..n-1 in
        file order (for tables: the data row below the header, blank rows
        skipped, so numbers still match the sheet). Coordinates as in the
        file; ``frame.crs`` is ``crs_from_file``. Tables without coordinates
        have an all-missing geometry column.
    source : Path
        The file given by the user.
    driver : str
        ``"ESRI Shapefile"``, ``"GPKG"``, ``"GeoJSON"``, ``"LIBKML"``,
        ``"XLSX"`` or ``"CSV"``.
    encoding : str or None
        Encoding used to decode text (shapefile DBF, CSV); ``None`` when the
        format defines it or the text is plain ASCII.
    crs_from_file : pyproj.CRS or None
        CRS stated by the file (``.prj``, GeoPackage, GeoJSON/KML imply
        EPSG:4326); ``None`` when the file states none (tables, shapefile
        without ``.prj``).
    notes : list of str
        What was detected or repaired while reading ("中文 / English").
    """

    frame: gpd.GeoDataFrame
    source: Path
    driver: str
    encoding: str | None
    crs_from_file: CRS | None
    notes: list[str]


def normalize_header(text: object) -> str:
    """Return a column header in the form used to compare headers.

    Unicode NFKC (full-width letters, digits and brackets become half-width,
    "㎡" becomes "m2"), case folded, whitespace, underscores and hyphens removed.

    >>> normalize_header(" 建筑面积（㎡） "), normalize_header("Build_Year")
    ('建筑面积(m2)', 'buildyear')
    """
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return "".join(folded.split()).replace("_", "").replace("-", "")


# --------------------------------------------------------------------------- checks


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputFileError(
            f"文件不存在：{path} / file not found: {path}. 请检查路径和文件名 / check the path"
        )
    if path.is_dir():
        raise InputFileError(
            f"{path} 是文件夹，不是文件 / is a folder, not a file: give one file "
            "(a shapefile's .shp, or a .zip holding all its parts)"
        )
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except PermissionError as exc:
        raise InputFileError(
            f"没有权限读取 {path} / no permission to read {path}: ask the owner to share it, "
            "or copy it to a folder you can read"
        ) from exc
    except OSError as exc:
        raise InputFileError(f"无法打开 {path} / cannot open {path}: {exc}") from exc


def _check_size(path: Path, size: int) -> None:
    limit = settings.max_input_bytes
    if size > limit:
        raise LimitExceededError(
            f"{path.name} 太大：{size / 1e6:.1f} MB，上限 {limit / 1e6:.1f} MB / "
            f"{path.name} is too large: {size} bytes, the limit is {limit} bytes "
            "(gislib.settings.max_input_bytes); split the file by county, or raise the limit"
        )
    if size == 0:
        raise InputFileError(f"{path.name} 是空文件 / {path.name} is empty (0 bytes)")


def _is_unsafe_member(name: str) -> bool:
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return ".." in re.split(r"[\\/]", name)


def _display_member(name: str, info: zipfile.ZipInfo) -> str:
    """Name of a zip member for people: Chinese Windows zips store GBK names
    without the UTF-8 flag, which Python (and GDAL) read as CP437."""
    if info.flag_bits & 0x800:
        return name
    try:
        return name.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name


def _check_zip(path: Path) -> list[zipfile.ZipInfo]:
    """Check an archive's directory against the limits; return its file members."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFileError(
            f"{path.name} 不是有效的压缩包（可能已损坏或下载不完整）/ "
            f"{path.name} is not a valid zip archive (damaged or incomplete download): {exc}"
        ) from exc
    if len(infos) > settings.max_zip_members:
        raise LimitExceededError(
            f"{path.name} 含 {len(infos)} 个文件，上限 {settings.max_zip_members} / "
            f"{path.name} holds {len(infos)} members, the limit is "
            f"{settings.max_zip_members} (gislib.settings.max_zip_members); zip only the layer"
        )
    for info in infos:
        if _is_unsafe_member(info.filename):
            raise InputFileError(
                f"{path.name} 含不安全的路径「{info.filename}」（绝对路径或 ..），拒绝读取 / "
                f"{path.name} holds the unsafe entry {info.filename!r} (absolute path or '..': "
                "zip slip); re-create the zip from the layer's files only"
            )
        if info.flag_bits & 0x1:
            raise InputFileError(
                f"{path.name} 有密码保护（{info.filename}）/ {path.name} is encrypted "
                f"({info.filename}); zip it again without a password"
            )
    total = sum(info.file_size for info in infos)
    if total > settings.max_zip_uncompressed_bytes:
        raise LimitExceededError(
            f"{path.name} 解压后共 {total / 1e6:.1f} MB，上限 "
            f"{settings.max_zip_uncompressed_bytes / 1e6:.1f} MB / {path.name} would expand "
            f"to {total} bytes, the limit is {settings.max_zip_uncompressed_bytes} "
            "(gislib.settings.max_zip_uncompressed_bytes)"
        )
    for info in infos:
        if info.file_size < _RATIO_CHECK_MIN_BYTES:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > settings.max_zip_ratio:
            raise LimitExceededError(
                f"{path.name} 中的「{info.filename}」压缩比 {ratio:.0f} 倍，超过上限 "
                f"{settings.max_zip_ratio:.0f}，疑似压缩炸弹 / member {info.filename!r} of "
                f"{path.name} expands {ratio:.0f} times, over the limit "
                f"{settings.max_zip_ratio:.0f} (gislib.settings.max_zip_ratio): possible zip "
                "bomb; refused"
            )
    return [info for info in infos if not info.is_dir()]


def _is_junk_member(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.parts[0] == "__MACOSX" or pure.name.startswith("._")


# --------------------------------------------------------------------------- encodings


def _codec_name(label: str) -> str | None:
    """Python codec for an encoding label from a .cpg file or a caller, or None."""
    text = label.strip().upper().replace("ANSI", "").strip()
    if text.isdigit():
        text = {"65001": "UTF-8", "936": "GB18030", "950": "BIG5"}.get(text, f"CP{text}")
    if text.replace("-", "") in ("GBK", "GB2312", "CP936"):
        text = "GB18030"  # superset: decodes every GBK byte sequence the same way
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None


def _label(codec: str) -> str:
    return {"utf-8": "UTF-8", "gb18030": "GB18030"}.get(codec, codec.upper())


def _decodes(data: bytes, codec: str, *, allow_cut_tail: bool) -> bool:
    """Whether ``data`` is valid ``codec`` text (a cut last character allowed)."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        decoder.decode(data, final=not allow_cut_tail)
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class _DbfHeader:
    records: int
    header_length: int
    record_length: int
    ldid: int
    names: tuple[bytes, ...]
    text_fields: tuple[tuple[int, int], ...]  # (offset in record, length) of C fields


def _parse_dbf_header(handle: IO[bytes]) -> _DbfHeader | None:
    head = handle.read(32)
    if len(head) < 32:
        return None
    records = int.from_bytes(head[4:8], "little")
    header_length = int.from_bytes(head[8:10], "little")
    record_length = int.from_bytes(head[10:12], "little")
    descriptors = handle.read(max(header_length - 32, 0))
    names: list[bytes] = []
    text_fields: list[tuple[int, int]] = []
    offset = 1  # deletion flag
    for start in range(0, len(descriptors) - 31, 32):
        block = descriptors[start : start + 32]
        if block[0] == 0x0D:
            break
        names.append(block[:11].split(b"\x00", 1)[0])
        length = block[16]
        if block[11:12] == b"C":
            text_fields.append((offset, length))
        offset += length
    return _DbfHeader(
        records, header_length, record_length, head[29], tuple(names), tuple(text_fields)
    )


def _dbf_text_values(handle: IO[bytes], header: _DbfHeader) -> Iterator[bytes]:
    """Yield the non-ASCII names and text values of a DBF (handle after the header)."""
    for name in header.names:
        if not name.isascii():
            yield name
    if not header.text_fields or header.record_length <= 0:
        return
    for _ in range(header.records):
        record = handle.read(header.record_length)
        if len(record) < header.record_length:
            return
        for offset, length in header.text_fields:
            value = record[offset : offset + length].rstrip(b" \x00")
            if not value.isascii():
                yield value


def _sniff_dbf(
    open_dbf: Callable[[], AbstractContextManager[IO[bytes]]],
) -> tuple[str | None, int | None, list[bytes]]:
    """Detect a DBF's text encoding from its bytes.

    Returns
    -------
    codec, ldid, samples
        ``"utf-8"``, ``"gb18030"``, ``"ascii"`` (nothing but ASCII seen) or
        ``None`` (neither decodes); the language driver byte; the non-ASCII
        names and values looked at.
    """
    with open_dbf() as handle:
        header = _parse_dbf_header(handle)
        if header is None:
            return None, None, []
        samples: list[bytes] = []
        for value in _dbf_text_values(handle, header):
            samples.append(value)
            if len(samples) >= _SNIFF_ENOUGH_VALUES:
                break
    if not samples:
        return "ascii", header.ldid, samples
    for codec in ("utf-8", "gb18030"):
        if _all_decode(samples, codec):
            return codec, header.ldid, samples
    return None, header.ldid, samples


def _all_decode(samples: list[bytes], codec: str) -> bool:
    return all(_decodes(sample, codec, allow_cut_tail=True) for sample in samples)


def _decode_cut(value: str, codec: str) -> tuple[str, bool]:
    """Decode a byte-exact string; return the text and whether a cut character was dropped."""
    data = value.encode(_BYTE_EXACT)
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    text = decoder.decode(data, final=False)
    leftover = decoder.getstate()[0]
    return text, bool(leftover)


# --------------------------------------------------------------------------- GDAL reads


def _unreadable(display: str, kind: str, exc: Exception) -> InputFileError:
    return InputFileError(
        f"无法读取 {display}（{kind}）：文件可能已损坏或格式不对 / cannot read {display} as "
        f"{kind}: {str(exc).rstrip('.')}. 请重新导出该文件 / re-export the file from its source"
    )


def _gdal_read(
    vsi_path: str, *, display: str, kind: str, layer: str | None = None, encoding: str | None = None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pyogrio.read_dataframe(vsi_path, layer=layer, encoding=encoding)
        except _PYOGRIO_ERRORS as exc:
            raise _unreadable(display, kind, exc) from exc
    for warning in caught:
        note = f"读取提示 / reader warning: {warning.message}"
        if note not in notes:
            notes.append(note)
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=[None] * len(frame))
    return frame.reset_index(drop=True), notes


def _list_layers(vsi_path: str, *, display: str, kind: str) -> list[str]:
    try:
        layers = pyogrio.list_layers(vsi_path)
    except _PYOGRIO_ERRORS as exc:
        raise _unreadable(display, kind, exc) from exc
    return [str(row[0]) for row in layers]


def _pick_layer(names: list[str], layer: str | None, *, display: str) -> str:
    if layer is not None:
        if layer in names:
            return layer
        raise InputFileError(
            f"{display} 中没有图层「{layer}」；现有图层：{'、'.join(names)} / {display} has no "
            f"layer {layer!r}; its layers are: {', '.join(names)}"
        )
    if len(names) == 1:
        return names[0]
    if not names:
        raise InputFileError(f"{display} 中没有图层 / {display} holds no layer")
    raise InputFileError(
        f"{display} 含多个图层：{'、'.join(names)}，请用 --source-layer 指定要导入的图层 / {display} "
        f"holds several layers: {', '.join(names)}; choose one with --source-layer NAME"
    )


def _crs_of(frame: gpd.GeoDataFrame) -> CRS | None:
    return None if frame.crs is None else CRS.from_user_input(frame.crs)


def _decode_shapefile_text(
    frame: gpd.GeoDataFrame, codec: str, *, display: str
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Decode byte-exact names and text values of a shapefile read as ISO-8859-1."""
    notes: list[str] = []
    renames: dict[str, str] = {}
    for column in frame.columns:
        if column == frame.geometry.name or str(column).isascii():
            continue
        try:
            text, cut = _decode_cut(str(column), codec)
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{display} 的字段名无法按 {_label(codec)} 解码 / a field name of {display} is "
                f"not valid {_label(codec)} text: give the right encoding (--encoding gbk or utf-8)"
            ) from exc
        renames[column] = text
        if cut:
            notes.append(
                f"字段名「{text}」在第 10 字节处被截断，已去掉残缺的字 / field name {text!r} was "
                "cut at 10 bytes in the middle of a character; the broken character was dropped"
            )
    out = frame.copy()
    for column in frame.columns:
        if column == frame.geometry.name:
            continue
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        decoded: list[object] = []
        changed = False
        for position, value in enumerate(values.tolist()):
            if not isinstance(value, str) or value.isascii():
                decoded.append(value)
                continue
            try:
                text, cut = _decode_cut(value, codec)
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    f"{display} 第 {position + 1} 条记录的「{renames.get(column, column)}」无法按 "
                    f"{_label(codec)} 解码 / record {position + 1} of {display}, field "
                    f"{renames.get(column, column)!r}, is not valid {_label(codec)} text: give "
                    "the right encoding (--encoding gbk or utf-8)"
                ) from exc
            if cut:
                notes.append(
                    f"第 {position + 1} 条记录「{renames.get(column, column)}」末尾的残缺字已去掉 / "
                    f"record {position + 1}: a character cut by the field width was dropped"
                )
            decoded.append(text)
            changed = True
        if changed:
            out[column] = pd.Series(decoded, index=frame.index, dtype=object)
    return out.rename(columns=renames), notes


def _read_shapefile(
    vsi_shp: str,
    *,
    display: str,
    parts: dict[str, bool],
    open_part: Callable[[str], AbstractContextManager[IO[bytes]]],
    encoding: str | None,
) -> tuple[gpd.GeoDataFrame, str | None, list[str]]:
    """Read a shapefile whose parts are reachable through ``open_part(ext)``.

    Returns the frame with decoded text, the encoding label used and notes.
    """
    missing = [ext for ext in (".shx", ".dbf") if not parts.get(ext)]
    if missing:
        names = "、".join(missing)
        raise InputFileError(
            f"{display} 缺少 {names} 文件：shapefile 需要 .shp、.shx、.dbf 同名文件放在一起 / "
            f"{display} is missing its {', '.join(missing)} part: a shapefile needs the .shp, "
            ".shx and .dbf files with the same name together (zip all parts, with .prj and .cpg)"
        )
    # GDAL first: a damaged file fails here with GDAL's diagnosis.
    frame, notes = _gdal_read(vsi_shp, display=display, kind="shapefile", encoding=_BYTE_EXACT)
    codec: str | None = None
    sniffed, ldid, samples = _sniff_dbf(lambda: open_part(".dbf"))
    if encoding is not None:
        codec = _codec_name(encoding)
        if codec is None:
            raise InputFileError(
                f"不认识的编码「{encoding}」/ unknown encoding {encoding!r}: use gbk, gb18030 or utf-8"
            )
        notes.append(
            f"按指定编码 {_label(codec)} 解码 DBF / DBF decoded as {_label(codec)} as asked"
        )
    elif parts.get(".cpg"):
        with open_part(".cpg") as handle:
            cpg_text = handle.read(64).decode("ascii", errors="replace").strip()
        cpg_codec = _codec_name(cpg_text)
        if cpg_codec is not None and _all_decode(samples, cpg_codec):
            codec = cpg_codec
        elif sniffed not in (None, "ascii"):
            codec = sniffed
            notes.append(
                f".cpg 写的是「{cpg_text}」，但内容不是该编码，按内容判断为 {_label(sniffed)} / "
                f"the .cpg says {cpg_text!r} but the DBF text is not in it; decoded as "
                f"{_label(sniffed)}, detected from the bytes"
            )
        else:
            codec = cpg_codec
    if codec is None and encoding is None:
        if sniffed is None:
            raise InputFileError(
                f"{display} 的 DBF 文本既不是 UTF-8 也不是 GBK/GB18030，无法判断编码 / the DBF "
                f"text of {display} is neither UTF-8 nor GBK/GB18030: give its encoding "
                "(--encoding big5, for example)"
            )
        if sniffed != "ascii":
            codec = sniffed
            gbk_ldid = ldid in _LDID_GBK
            zh = f"没有 .cpg 文件，根据内容判断 DBF 编码为 {_label(sniffed)}"
            en = f"no .cpg file: DBF text detected as {_label(sniffed)} from its bytes"
            if sniffed == "gb18030":
                zh += "（兼容 GBK）"
                en += " (a superset of GBK)"
            if gbk_ldid:
                zh += "，DBF 头的语言标识也表明是 GBK"
                en += "; the DBF header's language driver byte says GBK too"
            notes.append(f"{zh} / {en}")
    used: str | None = None
    if codec is not None and codec != "ascii":
        frame, decode_notes = _decode_shapefile_text(frame, codec, display=display)
        notes.extend(decode_notes)
        used = _label(codec)
    if not parts.get(".prj"):
        notes.append(
            f"{display} 没有 .prj 文件，坐标系未知 / {display} has no .prj file: its CRS is unknown"
        )
    return frame, used, notes


def _read_zip(path: Path, *, layer: str | None, encoding: str | None) -> RawLayer:
    members = [info for info in _check_zip(path) if not _is_junk_member(info.filename)]
    by_lower = {info.filename.lower(): info for info in members}
    shapefiles = [info for info in members if info.filename.lower().endswith(".shp")]
    if not shapefiles:
        listing = ", ".join(_display_member(i.filename, i) for i in members[:20]) or "(empty)"
        raise InputFileError(
            f"{path.name} 里没有 shapefile（.shp）/ {path.name} holds no shapefile (.shp); it "
            f"holds: {listing}. 请把 .shp、.shx、.dbf、.prj 一起压缩 / zip the .shp, .shx, .dbf "
            "and .prj together"
        )
    if len(shapefiles) > 1:
        names = [_display_member(i.filename, i) for i in shapefiles]
        if layer is None:
            raise InputFileError(
                f"{path.name} 含多个 shapefile：{'、'.join(names)}，请用 --source-layer 指定一个 / "
                f"{path.name} holds several shapefiles: {', '.join(names)}; choose one with "
                "--source-layer NAME"
            )
        wanted = layer.lower().removesuffix(".shp")
        chosen = [
            info
            for info, name in zip(shapefiles, names, strict=True)
            if wanted in (info.filename.lower()[:-4], name.lower()[:-4])
            or wanted
            in (PurePosixPath(info.filename).stem.lower(), PurePosixPath(name).stem.lower())
        ]
        if len(chosen) != 1:
            raise InputFileError(
                f"{path.name} 中没有名为「{layer}」的 shapefile；现有：{'、'.join(names)} / "
                f"{path.name} has no shapefile named {layer!r}; it holds: {', '.join(names)}"
            )
        shp = chosen[0]
    else:
        shp = shapefiles[0]
    stem = shp.filename[:-4]
    parts = {ext: (stem + ext).lower() in by_lower for ext in (".shx", ".dbf", ".prj", ".cpg")}
    display = f"{path.name}/{_display_member(shp.filename, shp)}"

    @contextmanager
    def open_part(ext: str) -> Iterator[IO[bytes]]:
        info = by_lower[(stem + ext).lower()]
        with zipfile.ZipFile(path) as archive, archive.open(info) as member:
            yield member

    vsi = f"/vsizip/{path.resolve()}/{shp.filename}"
    frame, used, notes = _read_shapefile(
        vsi, display=display, parts=parts, open_part=open_part, encoding=encoding
    )
    notes.insert(0, f"在压缩包内直接读取 {display} / read {display} inside the zip")
    return RawLayer(frame, path, "ESRI Shapefile", used, _crs_of(frame), notes)


def _sibling(path: Path, ext: str) -> Path | None:
    """The file beside ``path`` with extension ``ext`` in any letter case."""
    for candidate in (path.with_suffix(ext), path.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    target = (path.stem + ext).lower()
    for entry in path.parent.iterdir():
        if entry.name.lower() == target:
            return entry
    return None


def _read_loose_shapefile(path: Path, *, encoding: str | None) -> RawLayer:
    siblings = {ext: _sibling(path, ext) for ext in (".shx", ".dbf", ".prj", ".cpg")}
    _check_size(path, sum(p.stat().st_size for p in [path, *siblings.values()] if p is not None))
    parts = {ext: sibling is not None for ext, sibling in siblings.items()}

    @contextmanager
    def open_part(ext: str) -> Iterator[IO[bytes]]:
        sibling = siblings[ext]
        assert sibling is not None
        with sibling.open("rb") as handle:
            yield handle

    frame, used, notes = _read_shapefile(
        str(path), display=path.name, parts=parts, open_part=open_part, encoding=encoding
    )
    return RawLayer(frame, path, "ESRI Shapefile", used, _crs_of(frame), notes)


def _drop_empty_kml_columns(
    frame: gpd.GeoDataFrame, layer: str
) -> tuple[gpd.GeoDataFrame, list[str]]:
    dropped: list[str] = []
    for column in _KML_STANDARD_COLUMNS:
        if column not in frame.columns:
            continue
        values = frame[column]
        blank = values.isna() | values.astype(str).str.strip().isin(["", "0", "-1"])
        generated = values.astype(str).str.fullmatch(rf"{re.escape(layer)}\.\d+")
        if column == "id":
            blank = blank | generated
        if bool(blank.all()):
            dropped.append(column)
    notes = []
    if dropped:
        notes.append(
            f"KML 的空白标准列已去掉：{', '.join(dropped)} / empty standard KML columns dropped"
        )
    return frame.drop(columns=dropped), notes


def _read_kml(path: Path, vsi: str, *, display: str, layer: str | None) -> RawLayer:
    names = _list_layers(vsi, display=display, kind="KML")
    chosen = _pick_layer(names, layer, display=display)
    frame, notes = _gdal_read(vsi, display=display, kind="KML", layer=chosen)
    frame, drop_notes = _drop_empty_kml_columns(frame, chosen)
    return RawLayer(frame, path, "LIBKML", None, _crs_of(frame), notes + drop_notes)


def _read_kmz(path: Path, *, layer: str | None) -> RawLayer:
    members = [i for i in _check_zip(path) if not _is_junk_member(i.filename)]
    kmls = [i for i in members if i.filename.lower().endswith(".kml")]
    if not kmls:
        raise InputFileError(
            f"{path.name} 中没有 .kml 文件 / {path.name} holds no .kml document; export the KMZ again"
        )
    root_docs = [i for i in kmls if i.filename.lower() == "doc.kml"]
    doc = root_docs[0] if root_docs else kmls[0]
    vsi = f"/vsizip/{path.resolve()}/{doc.filename}"
    raw = _read_kml(path, vsi, display=f"{path.name}/{doc.filename}", layer=layer)
    return RawLayer(raw.frame, path, raw.driver, None, raw.crs_from_file, raw.notes)


# --------------------------------------------------------------------------- tables


def _strip_unit(header: str) -> str:
    return re.sub(r"\(.*?\)|\[.*?\]", "", header)


def _find_coordinate_columns(headers: list[object]) -> tuple[int, int] | None:
    keys = [_strip_unit(normalize_header(h)) for h in headers]
    for lon_header, lat_header in COORDINATE_HEADER_PAIRS:
        lon_key, lat_key = normalize_header(lon_header), normalize_header(lat_header)
        if lon_key in keys and lat_key in keys:
            return keys.index(lon_key), keys.index(lat_key)
    return None


_DMS = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分])?\s*"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|秒))?\s*[EeNn东北]?\s*$"
)


def _parse_coordinate(value: object) -> float | None:
    """A coordinate from a cell: a number, "111.95", or degrees-minutes-seconds."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        match = _DMS.match(text)
        if match is None:
            return None
        deg, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
        return deg + minutes / 60.0 + seconds / 3600.0
    return number if math.isfinite(number) else None


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def _table_to_layer(
    cells: pd.DataFrame, *, path: Path, driver: str, encoding: str | None, notes: list[str]
) -> RawLayer:
    """Build a raw layer from a header-less cell grid (Excel sheet, CSV)."""
    grid = cells.astype(object).where(~cells.isna(), None)
    rows = grid.to_numpy(dtype=object).tolist()
    header_at = None
    for number, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if _find_coordinate_columns(row) is not None:
            header_at = number
            break
    if header_at is None:
        header_at = next((n for n, row in enumerate(rows) if not all(map(_is_blank, row))), None)
    if header_at is None:
        raise InputFileError(f"{path.name} 没有数据 / {path.name} holds no data")
    if header_at > 0:
        notes.append(
            f"表头在第 {header_at + 1} 行，上方的标题行已跳过 / header found on row "
            f"{header_at + 1}; the title rows above it were skipped"
        )
    header = rows[header_at]
    body = rows[header_at + 1 :]
    keep = [
        i
        for i, h in enumerate(header)
        if not _is_blank(h) or any(not _is_blank(r[i]) for r in body)
    ]
    names: list[str] = []
    for i in keep:
        name = str(header[i]).strip() if not _is_blank(header[i]) else f"column_{i + 1}"
        base, suffix = name, 2
        while name in names:
            name, suffix = f"{base}_{suffix}", suffix + 1
        names.append(name)
    data_rows = {n: [row[i] for i in keep] for n, row in enumerate(body)}
    blank_rows = [n for n, values in data_rows.items() if all(map(_is_blank, values))]
    for n in blank_rows:
        del data_rows[n]
    trailing = len(body) - (max(data_rows) + 1 if data_rows else 0)
    inner_blank = len(blank_rows) - trailing
    if inner_blank > 0:
        notes.append(f"跳过 {inner_blank} 个空行 / {inner_blank} blank rows skipped")
    frame = pd.DataFrame(
        list(data_rows.values()), index=list(data_rows), columns=names, dtype=object
    )
    coordinate_columns = _find_coordinate_columns(list(frame.columns))
    geometry: list[shapely.Geometry | None]
    if coordinate_columns is None:
        geometry = [None] * len(frame)
        notes.append(
            "没有经纬度列，按无几何的表格读取 / no longitude/latitude columns: read as a table "
            f"without geometry (accepted pairs: {', '.join('/'.join(p) for p in COORDINATE_HEADER_PAIRS)})"
        )
    else:
        lon_name, lat_name = (frame.columns[i] for i in coordinate_columns)
        geometry = []
        bad: list[str] = []
        for label, lon_value, lat_value in zip(
            frame.index, frame[lon_name], frame[lat_name], strict=True
        ):
            lon, lat = _parse_coordinate(lon_value), _parse_coordinate(lat_value)
            if lon is None or lat is None:
                geometry.append(None)
                bad.append(f"{label + 1} ({lon_value!s}, {lat_value!s})")
            else:
                geometry.append(shapely.Point(lon, lat))
        notes.append(
            f"「{lon_name}」「{lat_name}」两列已转为点几何 / columns {lon_name!r} and "
            f"{lat_name!r} became point geometry"
        )
        if bad:
            notes.append(
                f"以下记录的经纬度缺失或不是数字，没有几何：{'; '.join(bad[:10])} / these records "
                "have a missing or non-numeric longitude/latitude and no geometry"
            )
        frame = frame.drop(columns=[lon_name, lat_name])
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, index=frame.index), crs=None)
    return RawLayer(gdf, path, driver, encoding, None, notes)


def _sheet_has_data(rows: Iterable[tuple[Any, ...]]) -> bool:
    return any(any(not _is_blank(v) for v in row) for row in rows)


def _read_excel(path: Path, *, layer: str | None) -> RawLayer:
    import openpyxl

    _check_zip(path)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise InputFileError(
                f"无法读取 Excel 文件 {path.name} / cannot read {path.name} as an Excel .xlsx "
                f"workbook: {exc}. 请用 Excel 另存为 .xlsx / save it again as .xlsx"
            ) from exc
        try:
            sheets = [
                ws.title
                for ws in book.worksheets
                if _sheet_has_data(ws.iter_rows(values_only=True))
            ]
            if layer is None and not sheets:
                raise InputFileError(f"{path.name} 没有数据 / {path.name} holds no data")
            chosen = _pick_layer(
                sheets if layer is None else [ws.title for ws in book.worksheets],
                layer,
                display=path.name,
            )
            rows = list(book[chosen].iter_rows(values_only=True))
        finally:
            book.close()
    notes.extend(f"读取提示 / reader warning: {w.message}" for w in caught)
    notes.insert(0, f"读取工作表「{chosen}」/ read sheet {chosen!r}")
    width = max((len(r) for r in rows), default=0)
    cells = pd.DataFrame([list(r) + [None] * (width - len(r)) for r in rows], dtype=object)
    return _table_to_layer(cells, path=path, driver="XLSX", encoding=None, notes=notes)


def _detect_text_encoding(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for codec in ("utf-8", "gb18030"):
        if _decodes(data, codec, allow_cut_tail=False):
            return codec
    return None


def _read_csv(path: Path, *, encoding: str | None) -> RawLayer:
    data = path.read_bytes()
    notes: list[str] = []
    if encoding is not None:
        codec = _codec_name(encoding)
        if codec is None:
            raise InputFileError(
                f"不认识的编码「{encoding}」/ unknown encoding {encoding!r}: use gbk, gb18030 or utf-8"
            )
    else:
        detected = _detect_text_encoding(data)
        if detected is None:
            raise InputFileError(
                f"{path.name} 既不是 UTF-8 也不是 GBK/GB18030 编码 / {path.name} is neither "
                "UTF-8 nor GBK/GB18030 text: give its encoding (--encoding big5, for example)"
            )
        codec = detected
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"{path.name} 第 {line} 行不是 {_label(codec)} 编码 / line {line} of {path.name} is "
            f"not valid {_label(codec)} text: give the right encoding (--encoding gbk or utf-8)"
        ) from exc
    label = {"utf-8-sig": "UTF-8 (BOM)"}.get(codec, _label(codec))
    if encoding is None and not data.isascii():
        notes.append(f"CSV 编码识别为 {label} / CSV text detected as {label}")
    try:
        delimiter = csv.Sniffer().sniff(text[:_CSV_SNIFF_BYTES], _CSV_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    try:
        cells = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(
            f"无法解析 CSV 文件 {path.name} / cannot parse {path.name} as CSV: {exc}"
        ) from exc
    cells = cells.astype(object).where(cells != "", None)
    used = None if data.isascii() else label
    return _table_to_layer(cells, path=path, driver="CSV", encoding=used, notes=notes)


# --------------------------------------------------------------------------- entry point


def read_file(
    path: str | os.PathLike[str], *, encoding: str | None = None, layer: str | None = None
) -> RawLayer:
    """Read a user's GIS file or table into a :class:`RawLayer`, after safety checks.

    Parameters
    ----------
    path : str or path-like
        ``.zip`` (zipped shapefile), ``.shp``, ``.gpkg``, ``.geojson`` /
        ``.json``, ``.kml``, ``.kmz``, ``.xlsx`` or ``.csv``.
    encoding : str, optional
        Text encoding of a shapefile's DBF or of a CSV (``"gbk"``,
        ``"utf-8"``...); detected when not given. Ignored for formats that
        define their encoding.
    layer : str, optional
        Which layer to read: a GeoPackage or KML layer, an Excel sheet, or a
        shapefile's name inside a zip holding several. Required when there
        is more than one.

    Returns
    -------
    RawLayer
        Coordinates exactly as in the file, in the file's CRS
        (``crs_from_file``, ``None`` when the file states none).

    Raises
    ------
    InputFileError
        Missing, unreadable or malformed file, missing shapefile part,
        several layers without ``layer``, unsafe zip entry, unknown format.
    LimitExceededError
        The file or an archive's content exceeds a limit of
        :mod:`gislib.settings`.

    Examples
    --------
    >>> raw = read_file("communities.zip")  # doctest: +SKIP
    >>> raw.driver, raw.crs_from_file.to_epsg()  # doctest: +SKIP
    ('ESRI Shapefile', 4490)
    """
    source = Path(path)
    _check_readable(source)
    suffix = source.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        formats = ", ".join(sorted(SUPPORTED_SUFFIXES))
        hint = "请另存为 .xlsx / save it as .xlsx" if suffix == ".xls" else ""
        raise InputFileError(
            f"不支持的文件类型「{source.suffix}」：{source.name} / unsupported file type "
            f"{source.suffix!r} of {source.name}; supported: {formats}. {hint}".rstrip()
        )
    if suffix != ".shp":
        _check_size(source, source.stat().st_size)
    if encoding is not None and suffix not in (".zip", ".shp", ".csv"):
        logger.info("encoding %r ignored for %s", encoding, source.name)
    if suffix == ".zip":
        raw = _read_zip(source, layer=layer, encoding=encoding)
    elif suffix == ".shp":
        raw = _read_loose_shapefile(source, encoding=encoding)
    elif suffix == ".gpkg":
        names = _list_layers(str(source), display=source.name, kind="GeoPackage")
        chosen = _pick_layer(names, layer, display=source.name)
        frame, notes = _gdal_read(str(source), display=source.name, kind="GeoPackage", layer=chosen)
        notes.insert(0, f"读取图层「{chosen}」/ read layer {chosen!r}")
        raw = RawLayer(frame, source, "GPKG", None, _crs_of(frame), notes)
    elif suffix in (".geojson", ".json"):
        frame, notes = _gdal_read(str(source), display=source.name, kind="GeoJSON")
        raw = RawLayer(frame, source, "GeoJSON", None, _crs_of(frame), notes)
    elif suffix == ".kml":
        raw = _read_kml(source, str(source), display=source.name, layer=layer)
    elif suffix == ".kmz":
        raw = _read_kmz(source, layer=layer)
    elif suffix == ".xlsx":
        raw = _read_excel(source, layer=layer)
    else:
        raw = _read_csv(source, encoding=encoding)
    logger.info("read %s: %d records, driver %s", source.name, len(raw.frame), raw.driver)
    return raw
