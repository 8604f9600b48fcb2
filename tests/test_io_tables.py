"""Tests of gislib.io.tables: safe targets and Excel workbooks with no formula cells."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from gislib.errors import ExportError
from gislib.io.tables import check_target, display_width, write_workbook


def test_workbook_cells_are_typed_and_never_formulas(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "name": ["=1+1", "@SUM(A1)", "-2", "普通文本"],
            "year": [2023, 2024, 2025, 2021],
            "cost": [1234567.891, 0.5, None, 2.0],
            "overlap_share": [0.62, 0.0, 0.1, 1.0],
            "ok": [True, False, True, False],
            "zones": [("甲", "乙"), (), ("丙",), ()],
        }
    )
    out = write_workbook(
        {"结果": frame},
        tmp_path / "r.xlsx",
        column_labels={"name": "名称", "year": "年份"},
        notes=["合成数据 / synthetic"],
    )
    sheet = openpyxl.load_workbook(out)["结果"]
    assert [c.value for c in sheet[1]] == ["名称", "年份", "cost", "overlap_share", "ok", "zones"]
    texts = [sheet.cell(row=r, column=1) for r in range(2, 6)]
    assert [c.value for c in texts] == ["=1+1", "@SUM(A1)", "-2", "普通文本"]
    assert all(c.data_type == "s" for c in texts)
    assert sheet["B2"].value == 2023 and sheet["B2"].number_format == "0"
    assert sheet["D2"].number_format == "0.0%"
    assert sheet["E2"].value == "是" and sheet["E3"].value == "否"
    assert sheet["F2"].value == "甲、乙"
    assert sheet["C4"].value is None
    assert sheet.freeze_panes == "A2"
    assert openpyxl.load_workbook(out)["说明"]["A1"].value == "合成数据 / synthetic"


def test_existing_target_is_refused_and_nothing_is_left_behind(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    write_workbook({"a": pd.DataFrame({"x": [1]})}, out)
    with pytest.raises(ExportError, match="overwrite"):
        write_workbook({"a": pd.DataFrame({"x": [2]})}, out)
    with pytest.raises(ExportError, match="sheet"):
        write_workbook({"a/b": pd.DataFrame({"x": [2]})}, out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]
    assert openpyxl.load_workbook(out)["a"]["A2"].value == 1


def test_check_target_wants_the_right_extension_and_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"\.xlsx"):
        check_target(tmp_path / "r.csv", suffixes=(".xlsx",), overwrite=False)
    with pytest.raises(ExportError, match="does not exist"):
        check_target(tmp_path / "no" / "r.xlsx", suffixes=(".xlsx",), overwrite=False)


def test_display_width_counts_chinese_as_two() -> None:
    assert display_width("江城区ab") == 8
