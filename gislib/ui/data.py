"""Data exchange page (数据): upload, check and import a file; download any layer.

Import is two steps, as in ``renov import``: the uploaded bytes are written to
a private :class:`tempfile.TemporaryDirectory` (removed as soon as the file is
read, whatever happens) and checked by
:func:`gislib.io.validate.prepare_import`; the report (columns, repairs,
refusals, a map of the records) is shown, and only the confirm button writes,
through :meth:`gislib.store.Workspace.append` (one transaction with its audit
row, under the user name typed in the sidebar). A refused report disables the
button. The report is kept in this user's session, keyed on the file, the
options and the workspace version, so it is computed once per change and never
shared between users.

Export builds the file only when the user asks for it (the "prepare" button),
in a temporary folder removed right after, through
:func:`gislib.io.export.export_layer`; the bytes are then offered by
``st.download_button``.
"""

from __future__ import annotations

import tempfile
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile
from streamlit_folium import st_folium

from gislib import maps, settings
from gislib.errors import GislibError
from gislib.i18n import pick
from gislib.io.export import EXPORT_CRS_CHOICES, export_layer
from gislib.io.reading import SUPPORTED_SUFFIXES
from gislib.io.validate import ImportReport, Issue, prepare_import
from gislib.schema import LAYERS, STORAGE_CRS
from gislib.store import open_workspace
from gislib.ui import common
from gislib.ui.common import t

__all__ = [
    "CONFIRM_KEY",
    "EXPORT_CRS_KEY",
    "EXPORT_ENCODING_KEY",
    "EXPORT_FORMAT_KEY",
    "EXPORT_LAYER_KEY",
    "IMPORT_CRS_KEY",
    "IMPORT_ENCODING_KEY",
    "IMPORT_LAYER_KEY",
    "PREPARE_KEY",
    "PREVIEW_MAP_KEY",
    "SOURCE_LAYER_KEY",
    "UPLOAD_TYPES",
    "render",
    "upload_key",
]

#: File types accepted by the uploader (a loose ``.shp`` cannot come alone: zip it).
UPLOAD_TYPES: tuple[str, ...] = tuple(
    suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES if suffix != ".shp"
)
#: Widget keys (tests and the browser drive them).
IMPORT_LAYER_KEY = "data-import-layer"
IMPORT_CRS_KEY = "data-import-crs"
IMPORT_ENCODING_KEY = "data-import-encoding"
SOURCE_LAYER_KEY = "data-import-source-layer"
CONFIRM_KEY = "data-import-confirm"
PREVIEW_MAP_KEY = "data-import-preview"
EXPORT_LAYER_KEY = "data-export-layer"
EXPORT_FORMAT_KEY = "data-export-format"
EXPORT_CRS_KEY = "data-export-crs"
EXPORT_ENCODING_KEY = "data-export-encoding"
PREPARE_KEY = "data-export-prepare"

# Session keys of this page's state (this user only).
_NONCE_KEY = "data-upload-nonce"
_REPORT_KEY = "data-import-report"
_DONE_KEY = "data-import-done"
_EXPORT_KEY = "data-export-file"

_MIB = 1024 * 1024
# Repairs or refusals shown as a wrapping table up to this many; more scroll in a frame.
_WRAPPED_ISSUES_MAX = 50
_PREVIEW_HEIGHT_PX = 420
_AUTO = ""
# The CRS a user may say the coordinates are in ("" = as the file states).
_SOURCE_CRS: dict[str, tuple[str, str]] = {
    _AUTO: ("按文件中的坐标系", "As stated in the file"),
    "EPSG:4490": ("EPSG:4490 CGCS2000 经纬度", "EPSG:4490 CGCS2000 lon/lat"),
    "EPSG:4326": ("EPSG:4326 WGS84 经纬度", "EPSG:4326 WGS84 lon/lat"),
    "EPSG:4546": (
        "EPSG:4546 CGCS2000 高斯-克吕格 111°E（米）",
        "EPSG:4546 CGCS2000 Gauss-Kruger 111E (m)",
    ),
    "gcj02": ("GCJ-02 高德/腾讯坐标", "GCJ-02 (Amap / Tencent)"),
    "bd09": ("BD-09 百度坐标", "BD-09 (Baidu)"),
}
_ENCODINGS: dict[str, tuple[str, str]] = {
    _AUTO: ("自动识别", "Detect"),
    "UTF-8": ("UTF-8", "UTF-8"),
    "GBK": ("GBK", "GBK"),
    "GB18030": ("GB18030", "GB18030"),
}
_EXPORT_CRS_NAMES: dict[str, tuple[str, str]] = {
    "EPSG:4490": ("EPSG:4490 CGCS2000 经纬度（入库坐标）", "EPSG:4490 CGCS2000 lon/lat (stored)"),
    "EPSG:4546": (
        "EPSG:4546 CGCS2000 高斯-克吕格 111°E（米）",
        "EPSG:4546 CGCS2000 Gauss-Kruger 111E (m)",
    ),
    "EPSG:4326": ("EPSG:4326 WGS84 经纬度", "EPSG:4326 WGS84 lon/lat"),
    "gcj02": ("GCJ-02 高德/腾讯坐标", "GCJ-02 (Amap / Tencent)"),
}
# format -> (Chinese name, English name, file suffix, MIME type)
_FORMATS: dict[str, tuple[str, str, str, str]] = {
    "shp": ("Shapefile（zip 压缩包）", "Shapefile (zip)", ".zip", "application/zip"),
    "gpkg": ("GeoPackage", "GeoPackage", ".gpkg", "application/geopackage+sqlite3"),
    "geojson": ("GeoJSON", "GeoJSON", ".geojson", "application/geo+json"),
    "kml": (
        "KML（奥维、Google Earth）",
        "KML (Ovi, Google Earth)",
        ".kml",
        "application/vnd.google-earth.kml+xml",
    ),
    "xlsx": (
        "Excel 台账",
        "Excel ledger",
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
}
_DBF_ENCODINGS = ("UTF-8", "GBK")
# A file name from the browser keeps letters, digits, CJK and a few marks.
_NAME_FALLBACK = "upload"


# ---------------------------------------------------------------------------
# Import: validate in a temporary folder, keep the report in this session


@dataclass(frozen=True)
class _Checked:
    """A validation report and what it was computed from."""

    signature: tuple[object, ...]
    file_name: str
    report: ImportReport


@dataclass(frozen=True)
class _ExportFile:
    signature: tuple[object, ...]
    file_name: str
    mime: str
    data: bytes


def upload_key() -> str:
    """Widget key of the file uploader (a new key empties it after an import)."""
    return f"data-upload-{int(st.session_state.get(_NONCE_KEY, 0))}"


def _safe_file_name(name: str) -> str:
    """The uploaded file's own name without folders or control characters."""
    base = Path(name.replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    suffix = (cleaned if cleaned.startswith(".") else Path(cleaned).suffix).lower()
    if not cleaned or cleaned.startswith(".") or suffix not in SUPPORTED_SUFFIXES:
        return _NAME_FALLBACK + (suffix if suffix in SUPPORTED_SUFFIXES else "")
    return cleaned


def _validate_upload(
    file_name: str,
    data: bytes,
    ref: common.WorkspaceRef,
    *,
    layer: str,
    crs: str | None,
    encoding: str | None,
    source_layer: str | None,
) -> ImportReport:
    """Write the bytes to a private temporary folder, check them, remove the folder."""
    with tempfile.TemporaryDirectory(prefix="renov-upload-") as folder:
        path = Path(folder) / _safe_file_name(file_name)
        path.write_bytes(data)
        return prepare_import(
            path,
            open_workspace(ref.path),
            layer=layer,
            crs=crs,
            encoding=encoding,
            source_layer=source_layer,
        )


def _layer_label(name: str) -> str:
    schema = LAYERS[name]
    return t(f"{schema.zh}（{name}）", f"{schema.en} ({name})")


def _labels(pairs: Mapping[str, tuple[str, str]]) -> Callable[[str], str]:
    """A selectbox ``format_func`` fixed to this run's language (a plain lookup)."""
    return {key: t(zh, en) for key, (zh, en) in pairs.items()}.__getitem__


def _layer_labels() -> Callable[[str], str]:
    return {name: _layer_label(name) for name in LAYERS}.__getitem__


def _field_label(layer: str, name: str | None) -> str:
    if name is None:
        return "—"
    if name == "geometry":
        return t("几何", "geometry")
    try:
        schema_field = LAYERS[layer].field(name)
    except KeyError:
        return name
    return t(f"{schema_field.zh}（{name}）", f"{schema_field.en} ({name})")


def _issue_table(layer: str, issues: list[Issue], *, escape: bool) -> pd.DataFrame:
    """Repairs or refusals, one row each, the message in the user's language."""
    en = common.lang() == "en"
    cell = common.md_escape if escape else str
    return pd.DataFrame(
        {
            t("记录", "Record"): ["—" if i.row is None else str(i.row) for i in issues],
            t("编号", "Id"): [cell(i.record_id or "—") for i in issues],
            t("字段", "Field"): [cell(_field_label(layer, i.field)) for i in issues],
            t("说明", "Message"): [cell(i.en if en else i.zh) for i in issues],
        }
    )


def _show_issues(layer: str, issues: list[Issue], *, empty: str) -> None:
    """A short list as a table whose messages wrap; a long one as a scrolling frame."""
    if not issues:
        st.caption(empty)
    elif len(issues) <= _WRAPPED_ISSUES_MAX:
        st.table(_issue_table(layer, issues, escape=True), hide_index=True)
    else:
        st.dataframe(_issue_table(layer, issues, escape=False), hide_index=True)
        st.caption(
            t(
                f"共 {len(issues)} 条；把鼠标停在单元格上可看到完整说明。",
                f"{len(issues)} in all; hover a cell to read the whole message.",
            )
        )


def _column_table(report: ImportReport) -> pd.DataFrame:
    headers = [*report.mapped_columns, *report.unmapped_columns]
    return pd.DataFrame(
        {
            t("文件中的列", "Column in the file"): headers,
            t("对应字段", "Field"): [
                _field_label(report.layer, report.mapped_columns[h])
                if h in report.mapped_columns
                else t("未识别（原样保留）", "not recognised (kept as is)")
                for h in headers
            ],
        }
    )


def _import_options() -> tuple[str, str | None, str | None, str | None]:
    cols = st.columns([1.2, 1.4, 0.8, 1])
    layer = cols[0].selectbox(
        t("导入到图层", "Import into layer"),
        list(LAYERS),
        index=list(LAYERS).index("communities"),
        format_func=_layer_labels(),
        key=IMPORT_LAYER_KEY,
    )
    crs = cols[1].selectbox(
        t("数据坐标系", "Coordinates are in"),
        list(_SOURCE_CRS),
        format_func=_labels(_SOURCE_CRS),
        key=IMPORT_CRS_KEY,
        help=t(
            "文件没有写明坐标系，或坐标来自高德（GCJ-02）、百度（BD-09）时选择；会转换为 CGCS2000。",
            "Pick one when the file states no CRS, or the coordinates come from Amap "
            "(GCJ-02) or Baidu (BD-09); they are converted to CGCS2000.",
        ),
    )
    encoding = cols[2].selectbox(
        t("文字编码", "Encoding"),
        list(_ENCODINGS),
        format_func=_labels(_ENCODINGS),
        key=IMPORT_ENCODING_KEY,
        help=t("仅用于 Shapefile 和 CSV。", "For shapefiles and CSV only."),
    )
    source_layer = cols[3].text_input(
        t("文件中的图层或工作表", "Layer or sheet in the file"),
        key=SOURCE_LAYER_KEY,
        placeholder=t("可选：文件有多个时填写", "optional: when the file holds several"),
    )
    return layer, crs or None, encoding or None, source_layer.strip() or None


def _checked_report(
    uploaded: UploadedFile,
    ref: common.WorkspaceRef,
    options: tuple[str, str | None, str | None, str | None],
) -> _Checked:
    """The report of this upload with these options, computed once and kept in the session."""
    signature = (uploaded.file_id, str(ref.path), ref.mtime_ns, *options)
    kept = st.session_state.get(_REPORT_KEY)
    if isinstance(kept, _Checked) and kept.signature == signature:
        return kept
    st.session_state.pop(_REPORT_KEY, None)
    layer, crs, encoding, source_layer = options
    with st.spinner(t("正在读取并校验…", "Reading and validating…")):
        report = _validate_upload(
            uploaded.name,
            uploaded.getvalue(),
            ref,
            layer=layer,
            crs=crs,
            encoding=encoding,
            source_layer=source_layer,
        )
    checked = _Checked(signature=signature, file_name=uploaded.name, report=report)
    st.session_state[_REPORT_KEY] = checked
    return checked


def _show_report(checked: _Checked, ref: common.WorkspaceRef, basemap: maps.Basemap) -> None:
    report = checked.report
    esc = common.md_escape
    st.markdown(
        f"#### {t('校验报告', 'Validation report')}：{esc(checked.file_name)} → "
        f"{esc(_layer_label(report.layer))}"
    )
    has_geometry = "geometry" in report.frame.columns
    metrics = st.columns(5)
    metrics[0].metric(t("记录", "Records"), f"{len(report.frame):,}")
    metrics[1].metric(t("已对应的列", "Mapped columns"), len(report.mapped_columns))
    metrics[2].metric(t("修复", "Repairs"), len(report.repairs))
    metrics[3].metric(t("拒绝", "Refusals"), len(report.refusals))
    metrics[4].metric(
        t("原坐标系", "Source CRS"),
        report.source_crs if has_geometry else t("无几何", "no geometry"),
        help=t(f"入库时转换为 {STORAGE_CRS}（CGCS2000）", f"Stored in {STORAGE_CRS} (CGCS2000)"),
    )
    if report.ok:
        st.success(
            t(
                f"校验通过：{len(report.frame)} 条记录可以导入。请检查下面的内容后确认。",
                f"Passed: {len(report.frame)} records can be imported. Check them below, "
                "then confirm.",
            ),
            icon=":material/check_circle:",
        )
    else:
        st.error(
            t(
                f"未通过校验：{len(report.refusals)} 处问题，不能导入，未写入任何数据。"
                "请按「拒绝」表修改文件后重新上传。",
                f"Refused: {len(report.refusals)} problems; nothing can be imported and "
                "nothing was written. Fix the file as the refusals say and upload it again.",
            ),
            icon=":material/block:",
        )

    left, right = st.columns([1, 1.25], gap="medium")
    with left:
        st.markdown(f"**{t('拒绝', 'Refusals')}（{len(report.refusals)}）**")
        _show_issues(
            report.layer, report.refusals, empty=t("没有被拒绝的记录。", "Nothing refused.")
        )
        st.markdown(f"**{t('修复', 'Repairs')}（{len(report.repairs)}）**")
        _show_issues(
            report.layer, report.repairs, empty=t("没有需要修复的内容。", "Nothing repaired.")
        )
        st.markdown(f"**{t('列的对应', 'Columns')}**")
        st.dataframe(_column_table(report), hide_index=True)
        if report.notes:
            st.markdown(f"**{t('说明', 'Notes')}**")
            st.markdown("\n".join(f"- {esc(pick(n, common.lang()))}" for n in report.notes))
    with right:
        if has_geometry:
            _show_preview(report, ref, basemap)
        else:
            st.info(
                t("该图层没有几何，不显示地图。", "This layer has no geometry: no map."),
                icon=":material/table:",
            )


def _show_preview(report: ImportReport, ref: common.WorkspaceRef, basemap: maps.Basemap) -> None:
    try:
        background = common.load_layers(ref, ("counties", "urban_areas"))
        built = maps.import_preview_map(
            report.frame,
            layer=report.layer,
            counties=background["counties"],
            urban_areas=background["urban_areas"],
            asset_base_url=maps.asset_base_url(st.get_option("server.baseUrlPath")),
            basemap=basemap,
        )
    except GislibError as exc:
        common.show_error(exc)
        return
    st.markdown(f"**{t('待导入记录的位置', 'Where the records go')}**")
    st_folium(
        built.map,
        key=PREVIEW_MAP_KEY,
        returned_objects=[],
        height=_PREVIEW_HEIGHT_PX,
        use_container_width=True,
    )
    parts = [t(f"地图显示 {built.drawn} 条记录", f"The map shows {built.drawn} records")]
    if built.without_geometry:
        parts.append(
            t(
                f"{built.without_geometry} 条没有可用的几何",
                f"{built.without_geometry} have no usable geometry",
            )
        )
    if built.omitted:
        parts.append(t(f"另有 {built.omitted} 条未画出", f"{built.omitted} more not drawn"))
    st.caption("；".join(parts) if common.lang() == "zh" else "; ".join(parts))


def _confirm(checked: _Checked, ref: common.WorkspaceRef, user: str) -> None:
    report = checked.report
    label = t(
        f"确认导入 {len(report.frame)} 条记录到「{LAYERS[report.layer].zh}」",
        f"Import {len(report.frame)} records into {LAYERS[report.layer].en}",
    )
    if not report.ok:
        reason = t(
            "有被拒绝的内容，不能导入：请修改文件后重新上传。",
            "Something was refused, so nothing can be imported: fix the file and upload it again.",
        )
    elif not user:
        reason = t(
            "请先在左侧栏填写用户名（记入审计日志），再确认导入。",
            "Type your user name in the sidebar (for the audit log) before importing.",
        )
    else:
        reason = ""
    clicked = st.button(
        label,
        key=CONFIRM_KEY,
        type="primary",
        disabled=bool(reason),
        icon=":material/upload:",
        help=reason or None,
    )
    if reason:
        st.caption(reason)
    if not clicked or reason:
        return
    try:
        result = open_workspace(ref.path).append(
            report.layer, report.frame, user=user, note=f"import {checked.file_name}"
        )
    except GislibError as exc:
        common.show_error(exc)
        return
    st.session_state.pop(_REPORT_KEY, None)
    st.session_state[_NONCE_KEY] = int(st.session_state.get(_NONCE_KEY, 0)) + 1
    st.session_state[_DONE_KEY] = (result.count, report.layer, checked.file_name, result.audit_id)
    st.rerun()


def _import_section(ref: common.WorkspaceRef, basemap: maps.Basemap, user: str) -> None:
    done = st.session_state.pop(_DONE_KEY, None)
    if done is not None:
        count, layer, file_name, audit_id = done
        st.success(
            t(
                f"已从 {file_name} 导入 {count} 条记录到「{LAYERS[layer].zh}」（审计记录 #{audit_id}）。",
                f"Imported {count} records from {file_name} into {LAYERS[layer].en} "
                f"(audit row #{audit_id}).",
            ),
            icon=":material/task_alt:",
        )
    max_mb = max(settings.max_input_bytes // _MIB, 1)
    uploaded = st.file_uploader(
        t("上传要导入的文件", "Upload a file to import"),
        type=list(UPLOAD_TYPES),
        max_upload_size=max_mb,
        key=upload_key(),
        help=t(
            f"压缩的 Shapefile（.zip）、GeoPackage、GeoJSON、KML/KMZ、Excel（.xlsx）或 CSV，"
            f"不超过 {max_mb} MB。",
            f"A zipped shapefile (.zip), GeoPackage, GeoJSON, KML/KMZ, Excel (.xlsx) or CSV, "
            f"up to {max_mb} MB.",
        ),
    )
    options = _import_options()
    if uploaded is None:
        st.session_state.pop(_REPORT_KEY, None)
        st.info(
            t(
                "上传文件后会先显示校验报告（修复了什么、拒绝了什么及原因），确认后才写入工作区。",
                "After the upload you see the validation report (what was repaired, what is "
                "refused and why); nothing is written until you confirm.",
            ),
            icon=":material/fact_check:",
        )
        return
    try:
        checked = _checked_report(uploaded, ref, options)
    except GislibError as exc:
        st.error(pick(str(exc), common.lang()), icon=":material/error:")
        return
    _show_report(checked, ref, basemap)
    _confirm(checked, ref, user)


# ---------------------------------------------------------------------------
# Export: built when asked, in a temporary folder


def _export_bytes(ref: common.WorkspaceRef, layer: str, fmt: str, crs: str, encoding: str) -> bytes:
    frame = common.load_layers(ref, (layer,))[layer]
    suffix = _FORMATS[fmt][2]
    with tempfile.TemporaryDirectory(prefix="renov-export-") as folder:
        written = export_layer(
            frame,
            Path(folder) / f"{layer}{suffix}",
            layer=layer,
            format=fmt,  # type: ignore[arg-type]
            crs=crs,
            encoding=encoding,  # type: ignore[arg-type]
        )
        return written.read_bytes()


def _export_section(ref: common.WorkspaceRef) -> None:
    cols = st.columns([1.2, 1.1, 1.4, 0.7])
    layer = cols[0].selectbox(
        t("图层", "Layer"),
        list(LAYERS),
        index=list(LAYERS).index("communities"),
        format_func=_layer_labels(),
        key=EXPORT_LAYER_KEY,
    )
    fmt = cols[1].selectbox(
        t("格式", "Format"),
        list(_FORMATS),
        format_func=_labels({f: (zh, en) for f, (zh, en, _, _) in _FORMATS.items()}),
        key=EXPORT_FORMAT_KEY,
    )
    crs = cols[2].selectbox(
        t("坐标系", "CRS"),
        list(EXPORT_CRS_CHOICES),
        format_func=_labels({c: _EXPORT_CRS_NAMES.get(c, (c, c)) for c in EXPORT_CRS_CHOICES}),
        key=EXPORT_CRS_KEY,
        help=t(
            "GeoJSON 只能是 WGS84 经纬度，KML 可以是 WGS84 或 GCJ-02；投影坐标请用 Shapefile 或 GeoPackage。",
            "GeoJSON holds WGS84 lon/lat only, KML WGS84 or GCJ-02; use a shapefile or "
            "GeoPackage for projected coordinates.",
        ),
    )
    encoding = cols[3].selectbox(
        t("属性表编码", "DBF encoding"),
        list(_DBF_ENCODINGS),
        key=EXPORT_ENCODING_KEY,
        disabled=fmt != "shp",
        help=t(
            "仅用于 Shapefile：GBK 适合旧版 ArcGIS，UTF-8 保留所有字符。",
            "Shapefile only: GBK for older ArcGIS, UTF-8 keeps every character.",
        ),
    )
    encoding = encoding if fmt == "shp" else _DBF_ENCODINGS[0]
    signature = (str(ref.path), ref.mtime_ns, layer, fmt, crs, encoding)
    kept = st.session_state.get(_EXPORT_KEY)
    if not (isinstance(kept, _ExportFile) and kept.signature == signature):
        kept = None
        st.session_state.pop(_EXPORT_KEY, None)
    buttons = st.columns([1, 1, 2])
    if buttons[0].button(
        t("生成文件", "Prepare the file"), key=PREPARE_KEY, icon=":material/build:"
    ):
        try:
            with st.spinner(t("正在生成…", "Preparing…")):
                data = _export_bytes(ref, layer, fmt, crs, encoding)
        except GislibError as exc:
            st.error(pick(str(exc), common.lang()), icon=":material/error:")
            return
        tag = crs.replace(":", "").upper()
        kept = _ExportFile(
            signature=signature,
            file_name=f"{layer}_{tag}{_FORMATS[fmt][2]}",
            mime=_FORMATS[fmt][3],
            data=data,
        )
        st.session_state[_EXPORT_KEY] = kept
    if kept is None:
        st.caption(
            t(
                "选择图层、格式和坐标系后点「生成文件」，再下载。",
                "Pick the layer, format and CRS, press “Prepare the file”, then download.",
            )
        )
        return
    buttons[1].download_button(
        t("下载", "Download") + f" {kept.file_name}",
        data=kept.data,
        file_name=kept.file_name,
        mime=kept.mime,
        on_click="ignore",
        type="primary",
        icon=":material/download:",
    )
    buttons[2].caption(f"{len(kept.data) / 1024:,.0f} KB")


# ---------------------------------------------------------------------------
# The page


def render() -> None:
    """Draw the data exchange page."""
    ref = common.open_page("数据交换", "data exchange")
    if ref is None:
        return
    basemap = common.basemap_choice()
    user = common.current_user()
    imports, exports = st.tabs([t("导入", "Import"), t("导出", "Export")])
    with imports:
        _import_section(ref, basemap, user)
    with exports:
        _export_section(ref)
