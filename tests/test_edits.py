"""Tests of gislib.edits: checking an edit against the schema, and reading the audit trail."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gislib.edits import (
    AUDIT_COLUMNS,
    YEAR_MIN,
    check_changes,
    describe_audit,
    editable_fields,
    field_range,
)
from gislib.errors import SchemaError
from gislib.i18n import pick
from gislib.schema import LAYERS
from gislib.store import open_workspace

TODAY = dt.date(2024, 6, 1)
COMMUNITY = LAYERS["communities"]


def test_editable_fields_leave_out_the_id_and_the_version() -> None:
    names = [f.name for f in editable_fields("communities")]
    assert names[0] == "name"
    assert "community_id" not in names and "version" not in names
    assert "willingness" in names and "has_lift" in names
    assert editable_fields("status_events") == ()  # append-only
    with pytest.raises(SchemaError, match="unknown layer"):
        editable_fields("roads")


def test_ranges_come_from_the_field_type_and_unit() -> None:
    assert field_range(COMMUNITY.field("willingness")) == (0.0, 1.0)
    assert field_range(COMMUNITY.field("build_year"), today=TODAY) == (YEAR_MIN, 2024)
    assert field_range(COMMUNITY.field("households")) == (0, None)
    assert field_range(COMMUNITY.field("floor_area_m2")) == (0.0, None)
    assert field_range(LAYERS["expropriation_zones"].field("planned_year"))[1] == 2100
    assert field_range(COMMUNITY.field("name")) == (None, None)


def test_good_values_are_normalised_to_plain_python() -> None:
    out = check_changes(
        "communities",
        {
            "willingness": "0.85",
            "build_year": np.int64(1995),
            "households": 120.0,
            "has_lift": np.bool_(True),
            "ownership": " 房改房 ",
            "street": "",
            "floor_area_m2": "12,000.5",
        },
        today=TODAY,
    )
    assert out == {
        "willingness": 0.85,
        "build_year": 1995,
        "households": 120,
        "has_lift": True,
        "ownership": "房改房",
        "street": None,
        "floor_area_m2": 12000.5,
    }
    assert type(out["build_year"]) is int and type(out["households"]) is int


def test_every_bad_value_is_named_with_its_fix_in_both_languages() -> None:
    bad = {
        "willingness": 1.5,
        "build_year": 2030,
        "ownership": "私宅",
        "name": "  ",
        "households": -3,
        "has_lift": "maybe",
        "storeys": 2.5,
        "buildings": "几栋",
    }
    with pytest.raises(SchemaError) as info:
        check_changes("communities", bad, record_id="C1", today=TODAY)
    message = str(info.value)
    zh, en = pick(message, "zh"), pick(message, "en")
    assert zh.startswith("小区 C1：8 处输入有误")
    assert "「居民同意率」（willingness）1.5 超出范围（0-1），请填 0 到 1 之间的比例" in zh
    assert "「建成年份」（build_year）2030 超出范围（1900-2024）" in zh
    assert "「产权性质」（ownership）「私宅」不在可选范围内，请从以下选项中选择：商品房" in zh
    assert "「小区名称」（name）为必填项" in zh
    assert "「户数」（households）-3 小于 0" in zh
    assert "「有无电梯」（has_lift）「maybe」不是 是/否" in zh
    assert "「最高层数」（storeys）2.5 不是整数" in zh
    assert "「楼栋数」（buildings）「几栋」不是数字" in zh
    assert zh.endswith("未保存任何修改")
    assert en.startswith("C1: 8 invalid value(s): resident willingness (willingness): 1.5")
    assert "Nothing was saved" in en


def test_unknown_or_protected_fields_are_refused() -> None:
    with pytest.raises(SchemaError, match="colour"):
        check_changes("communities", {"colour": "red"})
    with pytest.raises(SchemaError, match="version"):
        check_changes("communities", {"version": 3})
    with pytest.raises(SchemaError, match="community_id"):
        check_changes("communities", {"community_id": "X"})


def test_only_changed_fields_are_returned_when_the_loaded_record_is_given() -> None:
    current = {
        "willingness": 0.85,
        "name": "育才新村",
        "has_lift": None,
        "households": 120,
        "street": pd.NA,
    }
    entered = {
        "willingness": 0.85 + 1e-12,
        "name": "育才新村 ",
        "has_lift": None,
        "households": 121,
        "street": "",
    }
    assert check_changes("communities", entered, current=current) == {"households": 121}
    assert check_changes("communities", {"has_lift": False}, current=current) == {"has_lift": False}


def test_the_audit_trail_reads_as_who_changed_what(tiny_workspace: Path) -> None:
    workspace = open_workspace(tiny_workspace)
    workspace.update(
        "communities",
        "C1",
        {"willingness": 0.95, "has_lift": True},
        expected_version=1,
        user="张工",
        note="入户复核",
    )
    workspace.update("communities", "C1", {"street": None}, expected_version=2, user="李工")
    rows = describe_audit(
        workspace.audit_log(layer="communities", record_id="C1"), layer="communities"
    )
    assert list(rows.columns) == list(AUDIT_COLUMNS)
    assert rows["user"].tolist() == ["李工", "张工"]  # newest first
    assert rows["changes"].tolist() == [
        "街道：南恩街道 → （空）",
        "居民同意率：0.9 → 0.95；有无电梯：否 → 是",
    ]
    assert rows["action"].tolist() == ["修改", "修改"]
    assert rows["note"].tolist()[1] == "入户复核"
    assert rows["time"].dt.tz is None
    english = describe_audit(
        workspace.audit_log(layer="communities", record_id="C1"), layer="communities", lang="en"
    )
    assert english["changes"].tolist()[1] == "resident willingness: 0.9 → 0.95; has lift: no → yes"


def test_appends_are_described_by_their_ids() -> None:
    audit = pd.DataFrame(
        {
            "audit_id": [1],
            "ts": ["2024-01-02T03:04:05.000+00:00"],
            "user": ["王工"],
            "action": ["append"],
            "layer": ["status_events"],
            "record_id": ["E1"],
            "before": [None],
            "after": [json.dumps({"count": 1, "ids": ["E1"]})],
            "note": [None],
        }
    )
    rows = describe_audit(audit, layer="status_events")
    assert rows.loc[0, "changes"] == "E1"
    assert rows.loc[0, "action"] == "新增"
    assert rows.loc[0, "note"] == ""
