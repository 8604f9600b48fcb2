"""Safe writing of output files and of tabular reports (Excel workbooks).

Shared by every module that writes a file for users: a target is checked
(extension, folder, no overwrite unless asked), the file is built in a
private temporary folder beside it and moved into place in one step, so a
failure never leaves half a file. Excel cells are written so that no cell can
run as a formula (text starting with ``= + - @``, tab or CR is literal text),
with Chinese headers, frozen header row, filters and sensible widths.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gislib.errors import ExportError

__all__ = [
    "FORMULA_TRIGGERS",
    "check_target",
    "display_width",
    "publish",
    "set_text_cell",
    "staging",
    "write_workbook",
]

logger = logging.getLogger(__name__)

#: First characters that make Excel (or LibreOffice) treat text as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_MIN_WIDTH = 6
_MAX_WIDTH = 60
_WIDTH_PADDING = 2
_INT_FORMAT = "0"
_FLOAT_FORMAT = "#,##0.00"
_SHARE_FORMAT = "0.0%"
#: Columns whose name ends like this hold shares 0-1 and are shown as percentages.
_SHARE_SUFFIXES = ("_share", "share")
_YES_NO = ("是", "否")


def check_target(path: Path | str, *, suffixes: Sequence[str], overwrite: bool) -> Path:
    """Check an output path before anything is written.

    Parameters
    ----------
    path : path-like
        The file to write.
    suffixes : sequence of str
        Accepted extensions, lower case with the dot (``(".xlsx",)``).
    overwrite : bool
        Whether an existing file may be replaced.

    Returns
    -------
    Path

    Raises
    ------
    ExportError
        Wrong extension, missing folder, a folder as target, or an existing
        file without ``overwrite``.
    """
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise ExportError(
            f"输出文件 {target} 的扩展名应为 {' 或 '.join(suffixes)} / {target} must end in "
            f"{' or '.join(suffixes)}"
        )
    if not target.parent.is_dir():
        raise ExportError(
            f"目标文件夹 {target.parent} 不存在 / the folder {target.parent} does not exist; "
            "create it first"
        )
    if target.is_dir():
        raise ExportError(f"{target} 是文件夹 / {target} is a folder; choose a file name")
    if target.exists() and not overwrite:
        raise ExportError(
            f"文件 {target} 已存在；如要替换请加 --overwrite / {target} already exists; "
            "pass overwrite=True (--overwrite) to replace it"
        )
    return target


@contextmanager
def staging(target: Path) -> Iterator[Path]:
    """Yield a private temporary folder beside ``target``; always remove it afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def publish(built: Path, target: Path, *, overwrite: bool) -> Path:
    """Move the finished file ``built`` onto ``target`` in one step (same folder)."""
    if target.exists() and not overwrite:
        raise ExportError(
            f"文件 {target} 在写出期间被创建 / {target} appeared while writing; "
            "pass overwrite=True to replace it"
        )
    built.replace(target)
    return target


def display_width(text: str) -> int:
    """Width of ``text`` in terminal or spreadsheet columns (CJK characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def set_text_cell(cell: Any, text: str) -> None:
    """Write ``text`` into an openpyxl cell as a literal string that never runs as a formula."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    clean = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    if clean != text:
        logger.warning("control characters replaced by U+FFFD in cell %s", cell.coordinate)
    cell.value = clean
    cell.data_type = "s"
    if clean.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple, dict, str, bytes)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _write_value(cell: Any, value: Any, *, share: bool) -> str:
    """Write one value with a number format; return the text used to size the column."""
    if _is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        text = _YES_NO[0] if value else _YES_NO[1]
        set_text_cell(cell, text)
        return text
    if isinstance(value, (int, np.integer)):
        cell.value = int(value)
        cell.number_format = _INT_FORMAT
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        cell.value = float(value)
        cell.number_format = _SHARE_FORMAT if share else _FLOAT_FORMAT
        return f"{float(value):,.2f}"
    if isinstance(value, (pd.Timestamp,)):
        cell.value = value.to_pydatetime()
        cell.number_format = "yyyy-mm-dd"
        return "yyyy-mm-dd"
    text = "、".join(map(str, value)) if isinstance(value, (list, tuple, set)) else str(value)
    set_text_cell(cell, text)
    return text


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    path: Path | str,
    *,
    column_labels: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    overwrite: bool = False,
) -> Path:
    """Write tables to an ``.xlsx`` workbook, one sheet each, safely.

    Parameters
    ----------
    sheets : mapping of str to DataFrame
        Sheet name (at most 31 characters) -> table. The index is not written;
        reset it first if it carries data.
    path : path-like
        Target ``.xlsx``.
    column_labels : mapping, optional
        Column name -> header shown (e.g. Chinese); unlisted columns keep their name.
    notes : sequence of str
        Lines for a final sheet 说明 (source, date, synthetic data warning...).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path

    Raises
    ------
    ExportError
        Bad target (see :func:`check_target`) or a sheet name Excel refuses.

    Notes
    -----
    Integers use the format ``0`` (a year shows as 2023, never 2,023),
    columns named ``*_share`` show as percentages, booleans as 是/否, tuples
    are joined with 、, and text is always literal (never a formula).
    """
    from openpyxl import Workbook

    target = check_target(path, suffixes=(".xlsx",), overwrite=overwrite)
    labels = dict(column_labels or {})
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, frame in sheets.items():
        if not name or len(name) > 31 or any(ch in name for ch in "[]:*?/\\"):
            raise ExportError(f"工作表名 {name!r} 不合法 / invalid sheet name {name!r}")
        sheet = workbook.create_sheet(name)
        columns = [str(c) for c in frame.columns]
        widths = []
        for j, col in enumerate(columns, start=1):
            header = labels.get(col, col)
            set_text_cell(sheet.cell(row=1, column=j), header)
            widths.append(display_width(header))
        shares = [col.endswith(_SHARE_SUFFIXES) for col in columns]
        for i, record in enumerate(frame.itertuples(index=False, name=None), start=2):
            for j, value in enumerate(record, start=1):
                text = _write_value(sheet.cell(row=i, column=j), value, share=shares[j - 1])
                widths[j - 1] = max(widths[j - 1], display_width(text))
        sheet.freeze_panes = "A2"
        if columns:
            sheet.auto_filter.ref = sheet.dimensions
        for j, width in enumerate(widths, start=1):
            letter = sheet.cell(row=1, column=j).column_letter
            sheet.column_dimensions[letter].width = min(
                max(width + _WIDTH_PADDING, _MIN_WIDTH), _MAX_WIDTH
            )
    if notes:
        info = workbook.create_sheet("说明")
        for i, line in enumerate(notes, start=1):
            set_text_cell(info.cell(row=i, column=1), line)
        info.column_dimensions["A"].width = _MAX_WIDTH * 2
    with staging(target) as folder:
        built = folder / target.name
        workbook.save(built)
        return publish(built, target, overwrite=overwrite)
