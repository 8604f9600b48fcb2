"""Tests of gislib.io.validate: headers, values, ids, geometry, CRS and the report."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from gislib.errors import CRSError, ImportRefusedError, SchemaError
from gislib.io.reading import RawLayer, read_file
from gislib.io.validate import ImportReport, IssueCode, validate
from gislib.schema import LAYERS
from tests import badfiles as bf

SAMPLE_IDS = [r["community_id"] for r in bf.COMMUNITY_RECORDS]
SQUARE_AREA = (2 * bf.HALF_SIDE_DEG) ** 2


def _raw_table(columns: dict[str, list[object]], name: str = "table.csv") -> RawLayer:
    """A raw table as the CSV reader returns it (no geometry, no CRS)."""
    n = len(next(iter(columns.values())))
    frame = gpd.GeoDataFrame(columns, geometry=[None] * n)
    return RawLayer(frame, Path(name), "CSV", None, None, [])


def _codes(issues: list) -> list[tuple[int | None, IssueCode]]:
    return [(i.row, i.code) for i in issues]


# --------------------------------------------------------------------------- good files


def test_good_zipped_shapefile_gives_the_schema_frame_in_4490(tmp_path: Path) -> None:
    report = validate(read_file(bf.good_communities(tmp_path)), layer="communities")
    assert report.ok, report.summary()
    frame = report.frame
    assert frame.crs.to_epsg() == 4490
    schema_fields = [f.name for f in LAYERS["communities"].fields if not f.system]
    assert list(frame.columns) == [*schema_fields, "geometry"]
    assert frame["community_id"].tolist() == SAMPLE_IDS
    assert frame["county_code"].tolist() == ["441702"] * 3
    assert frame["build_year"].tolist() == [1995, 1998, 2003]
    assert str(frame["build_year"].dtype) == "Int64"
    assert frame["floor_area_m2"].tolist() == [18500.5, 12000.0, 26000.0]
    assert frame["willingness"].tolist() == [0.92, 0.88, 0.75]
    assert frame["renovated_before"].tolist() == [False] * 3
    assert frame["management"].tolist() == ["物业", "无", "业委会"]
    assert frame["storeys"].isna().all()
    assert set(frame.geom_type) == {"MultiPolygon"}
    for stored, square in zip(frame.geometry, bf.community_squares(), strict=True):
        assert stored.normalize().equals_exact(shapely.MultiPolygon([square]).normalize(), 1e-12)
    assert report.mapped_columns["build_yr"] == "build_year"
    assert report.unmapped_columns == []
    assert report.repairs == [] and report.refusals == []
    assert report.source_crs == "EPSG:4490"


def test_validation_keeps_the_index_and_does_not_mutate_the_input(tmp_path: Path) -> None:
    raw = read_file(bf.good_communities_gpkg(tmp_path))
    raw.frame.index = [10, 11, 12]
    before = raw.frame.copy()
    report = validate(raw, layer="communities")
    assert list(report.frame.index) == [10, 11, 12]
    assert raw.frame.equals(before)


def test_kml_name_and_z_are_handled(tmp_path: Path) -> None:
    report = validate(read_file(bf.good_kml(tmp_path)), layer="communities")
    assert report.ok, report.summary()
    assert report.mapped_columns["Name"] == "name"
    assert report.frame["name"].tolist() == [r["name"] for r in bf.COMMUNITY_RECORDS]
    assert _codes(report.repairs) == [(None, IssueCode.Z_M_DROPPED)]
    assert not shapely.has_z(report.frame.geometry.to_numpy()).any()


def test_excel_with_chinese_headers_is_parsed_for_attributes(tmp_path: Path) -> None:
    report = validate(read_file(bf.good_excel(tmp_path)), layer="communities", attributes_only=True)
    assert report.ok, report.summary()
    frame = report.frame
    assert frame["community_id"].tolist() == ["JC-2021-001", "JC-2021-002"]
    assert frame["county_code"].tolist() == ["441702", "441702"]  # 江城区 and 441702
    assert frame["build_year"].tolist() == [1995, 1998]  # "1995年" and 1998
    assert frame["buildings"].tolist() == [6, 4]  # 6 and "4栋"
    assert frame["households"].tolist() == [240, 160]  # 240 and "160户"
    assert frame["floor_area_m2"].tolist() == [18500.5, 12000.0]  # "12,000"
    assert frame["willingness"].tolist() == [0.92, 0.88]  # "92%" and 0.88
    assert frame["renovated_before"].tolist() == [False, False]
    assert report.mapped_columns["建筑面积（㎡）"] == "floor_area_m2"
    assert report.mapped_columns["建成年代"] == "build_year"
    assert report.unmapped_columns == ["序号", "备注"]
    assert list(frame.columns[-2:]) == ["序号", "备注"]
    assert frame["备注"].tolist() == ["省级试点", None]
    assert not isinstance(frame, gpd.GeoDataFrame) and "geometry" not in frame.columns


def test_excel_points_are_refused_for_the_polygon_layer(tmp_path: Path) -> None:
    report = validate(read_file(bf.good_excel(tmp_path)), layer="communities", crs="EPSG:4490")
    assert _codes(report.refusals) == [
        (1, IssueCode.WRONG_GEOMETRY_TYPE),
        (2, IssueCode.WRONG_GEOMETRY_TYPE),
    ]
    message = report.refusals[0].message
    assert "JC-2021-001" in message and "Point" in message and "面图层" in message
    assert "attributes only" in message


def test_gbk_csv_values_round_trip(tmp_path: Path) -> None:
    report = validate(
        read_file(bf.good_csv_gbk(tmp_path)), layer="communities", attributes_only=True
    )
    assert report.ok, report.summary()
    assert report.frame["name"].tolist() == ["荔枝园公租房小区", "神农街公租房小区"]
    assert report.frame["build_year"].tolist() == [1995, 1998]
    assert report.mapped_columns["区县"] == "county_code"


def test_gbk_dbf_without_cpg_maps_chinese_headers_and_keeps_text_exact(tmp_path: Path) -> None:
    report = validate(read_file(bf.gbk_dbf_without_cpg(tmp_path)), layer="communities")
    assert report.ok, report.summary()
    assert report.frame["name"].tolist() == [v[1] for v in bf.GBK_VALUES]
    assert report.frame["street"].tolist() == [v[3] for v in bf.GBK_VALUES]
    assert report.frame["build_year"].tolist() == [1995, 1998, 2003]
    assert report.mapped_columns == {
        "小区编号": "community_id",
        "小区名称": "name",
        "所属区县": "county_code",
        "街道": "street",
        "建成年代": "build_year",
    }
    assert any("GB18030" in note for note in report.notes)


def test_status_events_table_parses_dates(tmp_path: Path) -> None:
    report = validate(read_file(bf.good_status_events_csv(tmp_path)), layer="status_events")
    assert report.ok, report.summary()
    assert report.frame["date"].tolist() == [dt.date(2021, 3, 5), dt.date(2021, 9, 1)]
    assert report.frame["stage"].tolist() == ["摸查", "施工"]
    assert report.frame["year"].tolist() == [2021, 2021]
    assert report.frame["note"].tolist()[1] == "进场"
    assert not isinstance(report.frame, gpd.GeoDataFrame)  # a table: no geometry column
    assert "无几何 / no geometry" in report.summary()


# --------------------------------------------------------------------------- headers


def test_headers_match_whatever_the_case_spaces_and_full_width() -> None:
    raw = _raw_table(
        {
            "ＣＯＭＭ_ＩＤ": ["A-1"],
            " Name ": ["x"],
            "县(市、区)": ["阳春市"],
            "Build_Yr": ["1990"],
            "建筑面积(㎡)": ["100"],
        }
    )
    report = validate(raw, layer="communities", attributes_only=True)
    assert report.ok, report.summary()
    assert set(report.mapped_columns.values()) == {
        "community_id",
        "name",
        "county_code",
        "build_year",
        "floor_area_m2",
    }
    assert report.frame["county_code"].tolist() == ["441781"]


@pytest.mark.parametrize("layer", [name for name, s in LAYERS.items()])
def test_every_label_and_alias_maps_to_its_own_field(layer: str) -> None:
    schema = LAYERS[layer]
    for field in schema.fields:
        if field.system:
            continue
        for header in (field.zh, field.short, field.name, *field.aliases):
            raw = _raw_table({header: ["v"]})
            report = validate(raw, layer=layer, attributes_only=True)
            assert report.mapped_columns == {header: field.name}, (layer, header)


def test_two_headers_for_one_field_keep_the_best_and_the_other_as_extra() -> None:
    raw = _raw_table({"编号": ["1"], "小区编号": ["JC-1"], "小区名称": ["a"]})
    report = validate(raw, layer="communities", attributes_only=True)
    assert report.mapped_columns["小区编号"] == "community_id"
    assert "编号" in report.unmapped_columns
    assert report.frame["编号"].tolist() == ["1"]
    assert any("编号" in note and "community_id" in note for note in report.notes)


def test_system_column_is_ignored_with_a_note() -> None:
    raw = _raw_table({"小区编号": ["JC-1"], "version": [7]})
    report = validate(raw, layer="communities", attributes_only=True)
    assert "version" not in report.frame.columns
    assert [i.code for i in report.repairs] == [IssueCode.SYSTEM_COLUMN]


def test_missing_required_column_is_one_refusal_naming_accepted_headers(tmp_path: Path) -> None:
    report = validate(
        read_file(bf.missing_required_column_csv(tmp_path)),
        layer="communities",
        attributes_only=True,
    )
    assert _codes(report.refusals) == [(None, IssueCode.MISSING_COLUMN)]
    message = report.refusals[0].message
    assert "no_build_year.csv" in message and "建成年份" in message and "建成年代" in message
    assert "build_year" in message


# --------------------------------------------------------------------------- values


def test_each_bad_value_is_refused_naming_row_field_and_expected_form(tmp_path: Path) -> None:
    report = validate(
        read_file(bf.bad_values_csv(tmp_path)), layer="communities", attributes_only=True
    )
    by_row = {i.row: i for i in report.refusals}
    assert sorted(by_row) == [1, 2, 3, 4, 5, 6]
    expected = {
        1: ("build_year", "四位年份", "199x"),
        2: ("households", "整数", "很多"),
        3: ("willingness", "100%", "150%"),
        4: ("county_code", "江城区（441702）", "阳江新区"),
        5: ("ownership", "商品房", "私房"),
        6: ("renovated_before", "是/否", "也许"),
    }
    for row, (field, form, value) in expected.items():
        issue = by_row[row]
        assert issue.field == field
        assert issue.record_id == f"JC-BAD-{row:03d}"
        assert f"第 {row} 条记录" in issue.zh and f"record {row}" in issue.en
        assert form in issue.zh and value in issue.zh
    assert by_row[4].code == IssueCode.BAD_CHOICE and by_row[1].code == IssueCode.BAD_VALUE
    assert report.frame["build_year"].isna().tolist() == [True, False, False, False, False, False]


@pytest.mark.parametrize(
    ("field", "header", "value", "parsed"),
    [
        ("willingness", "居民同意率", "0.85", 0.85),
        ("willingness", "居民同意率", "85 %", 0.85),
        ("has_lift", "有无电梯", "有", True),
        ("has_lift", "有无电梯", "无", False),
        ("has_lift", "有无电梯", "Y", True),
        ("build_year", "建成时间", "1998年6月", 1998),
        ("build_year", "建成时间", 1998.0, 1998),
        ("build_year", "建成时间", dt.datetime(1996, 5, 1), 1996),
        ("floor_area_m2", "建筑面积", "1,234.5平方米", 1234.5),
        ("county_code", "所属区县", "阳江市阳东区", "441704"),
        ("county_code", "所属区县", "Yangxi County", "441721"),
        ("storeys", "层数", "7层", 7),
    ],
)
def test_values_in_planners_forms_are_parsed(
    field: str, header: str, value: object, parsed: object
) -> None:
    raw = _raw_table({"小区编号": ["JC-1"], header: [value]})
    report = validate(raw, layer="communities", attributes_only=True)
    assert report.frame[field].tolist() == [parsed]
    assert all(i.field != field for i in report.refusals), report.summary()


@pytest.mark.parametrize(
    ("header", "value", "words"),
    [
        ("居民同意率", "85", "85%"),
        ("建成年份", "2999", "1900"),
        ("户数", "-3", "负"),
        ("户数", "12.5", "整数"),
        ("建筑面积", "85%", "数字"),
    ],
)
def test_implausible_values_are_refused_with_the_fix(header: str, value: str, words: str) -> None:
    raw = _raw_table({"小区编号": ["JC-1"], header: [value]})
    report = validate(raw, layer="communities", attributes_only=True)
    bad = [i for i in report.refusals if i.code in (IssueCode.BAD_VALUE, IssueCode.BAD_CHOICE)]
    assert len(bad) == 1 and words in bad[0].zh, report.summary()


def test_empty_required_value_and_missing_id_are_refused_with_the_fix() -> None:
    raw = _raw_table(
        {
            "小区编号": ["JC-1", "  ", "JC-3"],
            "小区名称": ["a", "b", None],
            "所属区县": ["江城区"] * 3,
            "建成年份": [1990] * 3,
        }
    )
    report = validate(raw, layer="communities", attributes_only=True)
    assert _codes(report.refusals) == [(2, IssueCode.MISSING_ID), (3, IssueCode.EMPTY_REQUIRED)]
    missing_id, empty_name = report.refusals
    assert "唯一编号" in missing_id.zh and "not generated" in missing_id.en
    assert empty_name.record_id == "JC-3" and "小区名称" in empty_name.zh


# --------------------------------------------------------------------------- ids


def test_duplicate_and_existing_ids_are_refused_naming_both_records(tmp_path: Path) -> None:
    report = validate(
        read_file(bf.duplicate_ids(tmp_path)),
        layer="communities",
        existing_ids={"JC-2021-002"},
    )
    assert _codes(report.refusals) == [
        (1, IssueCode.DUPLICATE_ID),
        (2, IssueCode.EXISTING_ID),
        (3, IssueCode.DUPLICATE_ID),
    ]
    first, existing, third = report.refusals
    assert "第 1、3 条" in first.zh and "record(s) 3" in first.en
    assert "record(s) 1" in third.en and third.record_id == "JC-2021-001"
    assert "JC-2021-002" in existing.zh and "already in the workspace" in existing.en


# --------------------------------------------------------------------------- geometry


def test_bow_tie_is_repaired_with_make_valid_not_buffer_zero(tmp_path: Path) -> None:
    report = validate(read_file(bf.invalid_geometry(tmp_path)), layer="communities")
    assert report.ok, report.summary()
    assert _codes(report.repairs) == [(2, IssueCode.INVALID_GEOMETRY)]
    repair = report.repairs[0]
    assert repair.record_id == "JC-2021-002" and "make_valid" in repair.en
    assert "Self-intersection" in repair.en
    repaired = report.frame.geometry.iloc[1]
    assert repaired.geom_type == "MultiPolygon" and repaired.is_valid
    assert len(repaired.geoms) == 2
    # make_valid keeps both triangles (half the square); buffer(0) would keep one (a quarter).
    assert repaired.area == pytest.approx(SQUARE_AREA / 2, rel=1e-9)


def test_null_and_empty_geometries_are_refused_per_record(tmp_path: Path) -> None:
    report = validate(read_file(bf.empty_geometry(tmp_path)), layer="communities")
    assert _codes(report.refusals) == [
        (2, IssueCode.EMPTY_GEOMETRY),
        (3, IssueCode.EMPTY_GEOMETRY),
    ]
    assert report.refusals[0].record_id == "JC-2021-002"
    assert "delete the record" in report.refusals[0].en
    assert report.frame.geometry.iloc[0].geom_type == "MultiPolygon"


def test_mixed_types_are_promoted_or_refused_for_polygons(tmp_path: Path) -> None:
    report = validate(read_file(bf.mixed_geometry(tmp_path)), layer="communities")
    assert _codes(report.refusals) == [
        (3, IssueCode.WRONG_GEOMETRY_TYPE),
        (4, IssueCode.WRONG_GEOMETRY_TYPE),
    ]
    assert report.frame.geom_type.tolist()[:2] == ["MultiPolygon", "MultiPolygon"]
    assert "LineString" in report.refusals[1].en
    assert any("mixed geometry types" in note for note in report.notes)


def test_mixed_types_are_promoted_or_refused_for_lines(tmp_path: Path) -> None:
    report = validate(read_file(bf.mixed_geometry(tmp_path)), layer="pipelines")
    assert [r for r, _ in _codes(report.refusals)] == [1, 2, 3]
    assert report.frame.geometry.iloc[3].geom_type == "MultiLineString"
    assert "线图层" in report.refusals[0].zh


def test_geometry_collection_keeps_its_polygons_and_says_so() -> None:
    collection = shapely.GeometryCollection(
        [box(111.95, 21.84, 111.951, 21.841), shapely.Point(111.95, 21.84)]
    )
    frame = gpd.GeoDataFrame({"小区编号": ["JC-1"]}, geometry=[collection], crs="EPSG:4490")
    raw = RawLayer(frame, Path("gc.geojson"), "GeoJSON", None, frame.crs, [])
    report = validate(raw, layer="communities")
    assert report.frame.geometry.iloc[0].geom_type == "MultiPolygon"
    assert [i.code for i in report.repairs] == [IssueCode.GEOMETRY_PARTS_DROPPED]
    assert "Point" in report.repairs[0].en


def test_z_and_m_are_dropped_with_a_repair(tmp_path: Path) -> None:
    report = validate(read_file(bf.z_m_coordinates(tmp_path)), layer="communities")
    assert report.ok, report.summary()
    assert _codes(report.repairs) == [(None, IssueCode.Z_M_DROPPED)]
    assert "records 1, 2, 3" in report.repairs[0].en
    assert not shapely.has_z(report.frame.geometry.to_numpy()).any()
    assert any("Measured" in note for note in report.notes)


# --------------------------------------------------------------------------- CRS


def test_missing_prj_without_crs_raises_with_the_fix(tmp_path: Path) -> None:
    raw = read_file(bf.missing_prj(tmp_path))
    with pytest.raises(CRSError) as caught:
        validate(raw, layer="communities")
    message = str(caught.value)
    assert "missing_prj.zip" in message and ".prj" in message
    assert "--crs" in message and "EPSG:4490" in message and "gcj02" in message
    report = validate(raw, layer="communities", crs="EPSG:4490")
    assert report.ok and report.source_crs == "EPSG:4490"


def test_table_with_coordinates_and_no_crs_raises(tmp_path: Path) -> None:
    with pytest.raises(CRSError, match="gcj02"):
        validate(read_file(bf.good_csv_gbk(tmp_path)), layer="communities")


def test_projected_coordinates_without_crs_name_the_likely_crs(tmp_path: Path) -> None:
    raw = read_file(bf.projected_without_crs(tmp_path))
    with pytest.raises(CRSError, match="EPSG:4546") as caught:
        validate(raw, layer="communities")
    assert "550-650 km" in str(caught.value) and "metres" in str(caught.value)
    report = validate(raw, layer="communities", crs="EPSG:4546")
    assert report.ok, report.summary()
    for stored, square in zip(report.frame.geometry, bf.community_squares(), strict=True):
        assert shapely.hausdorff_distance(stored, square) < 1e-7  # about 1 cm


def test_projected_coordinates_labelled_as_degrees_are_refused_with_diagnosis(
    tmp_path: Path,
) -> None:
    raw = read_file(bf.projected_without_crs(tmp_path))
    report = validate(raw, layer="communities", crs="EPSG:4490")
    assert [c for _, c in _codes(report.refusals)] == [IssueCode.OUTSIDE_REGION] * 3
    assert all("EPSG:4546" in i.en and "metres" in i.en for i in report.refusals)
    assert report.frame.geometry.isna().all()


def test_degrees_labelled_as_projected_are_refused_with_diagnosis(tmp_path: Path) -> None:
    raw = read_file(bf.good_communities(tmp_path))
    report = validate(raw, layer="communities", crs="EPSG:4546")
    assert len(report.refusals) == 3
    assert all("degrees" in i.en and "EPSG:4490" in i.en for i in report.refusals)


def test_swapped_coordinates_are_diagnosed(tmp_path: Path) -> None:
    report = validate(read_file(bf.swapped_coordinates(tmp_path)), layer="communities")
    assert _codes(report.refusals) == [(r, IssueCode.OUTSIDE_REGION) for r in (1, 2, 3)]
    assert all("颠倒" in i.zh and "swapped" in i.en for i in report.refusals)
    assert report.refusals[0].record_id == "JC-2021-001"


def test_far_away_coordinates_are_refused_naming_the_region() -> None:
    frame = gpd.GeoDataFrame(
        {"小区编号": ["BJ-1"]}, geometry=[box(116.40, 39.90, 116.41, 39.91)], crs="EPSG:4490"
    )
    raw = RawLayer(frame, Path("beijing.gpkg"), "GPKG", None, frame.crs, [])
    report = validate(raw, layer="communities")
    assert [i.code for i in report.refusals if i.field == "geometry"] == [IssueCode.OUTSIDE_REGION]
    outside = next(i for i in report.refusals if i.code == IssueCode.OUTSIDE_REGION)
    assert "阳江市范围" in outside.zh and "check the CRS" in outside.en


def _shift_m(report: ImportReport) -> float:
    issue = next(i for i in report.refusals if i.code == IssueCode.OFFSET_SUSPECTED)
    match = re.search(r"偏移约 (\d+) m", issue.zh)
    assert match is not None, issue.zh
    return float(match.group(1))


def test_gcj02_data_labelled_cgcs2000_is_detected_against_a_reference(tmp_path: Path) -> None:
    raw = read_file(bf.gcj02_shifted(tmp_path))
    report = validate(raw, layer="communities", reference=bf.sample_communities())
    assert [i.code for i in report.refusals] == [IssueCode.OFFSET_SUSPECTED]
    issue = report.refusals[0]
    assert "坐标疑似为高德/GCJ-02" in issue.zh and "请使用 --crs gcj02" in issue.zh
    assert "gcj02_shifted.zip" in issue.zh
    assert 550 <= _shift_m(report) <= 650  # about 600 m east-south-east in Yangjiang


def test_gcj02_shift_is_invisible_without_a_fine_reference(tmp_path: Path) -> None:
    raw = read_file(bf.gcj02_shifted(tmp_path))
    assert validate(raw, layer="communities").ok
    county_like = gpd.GeoDataFrame(geometry=[box(111.8, 21.7, 112.1, 22.0)], crs="EPSG:4490")
    assert validate(raw, layer="communities", reference=county_like).ok


def test_gcj02_option_converts_to_true_positions(tmp_path: Path) -> None:
    raw = read_file(bf.gcj02_shifted(tmp_path))
    report = validate(raw, layer="communities", crs="gcj02", reference=bf.sample_communities())
    assert report.ok, report.summary()
    assert report.source_crs == "GCJ-02"
    for stored, square in zip(report.frame.geometry, bf.community_squares(), strict=True):
        assert shapely.hausdorff_distance(stored, square) < 1e-6  # about 0.1 m


def test_gcj02_option_on_true_positions_is_reported(tmp_path: Path) -> None:
    raw = read_file(bf.good_communities(tmp_path))
    report = validate(raw, layer="communities", crs="gcj02", reference=bf.sample_communities())
    assert [i.code for i in report.refusals] == [IssueCode.OFFSET_SUSPECTED]
    assert "EPSG:4490" in report.refusals[0].en and "already" in report.refusals[0].en


def test_reference_in_another_crs_is_compared_in_metres(tmp_path: Path) -> None:
    raw = read_file(bf.gcj02_shifted(tmp_path))
    reference = bf.sample_communities().to_crs("EPSG:4546")
    report = validate(raw, layer="communities", reference=reference)
    assert 550 <= _shift_m(report) <= 650


def test_bad_crs_option_and_unknown_layer_raise(tmp_path: Path) -> None:
    raw = read_file(bf.good_communities(tmp_path))
    with pytest.raises(CRSError, match="not understood"):
        validate(raw, layer="communities", crs="EPSG:nonsense")
    with pytest.raises(SchemaError, match="parks"):
        validate(raw, layer="parks")


# --------------------------------------------------------------------------- report


def test_summary_is_bilingual_and_groups_many_issues(tmp_path: Path) -> None:
    raw = _raw_table(
        {
            "小区编号": [f"JC-{i}" for i in range(8)],
            "小区名称": ["a"] * 8,
            "所属区县": ["江城区"] * 8,
            "建成年份": ["不详"] * 8,
        },
        name="many.csv",
    )
    report = validate(raw, layer="communities", attributes_only=True)
    text = report.summary()
    assert "many.csv" in text and "communities（老旧小区）" in text
    assert "拒绝 / refusals: 8" in text
    assert "同类问题另有 3 条 / and 3 more of this kind" in text
    assert "不能导入" in text and "refused" in text
    assert not report.ok


def test_raise_if_refused_carries_the_report(tmp_path: Path) -> None:
    report = validate(read_file(bf.empty_geometry(tmp_path)), layer="communities")
    with pytest.raises(ImportRefusedError, match=r"empty_geometry\.geojson") as caught:
        report.raise_if_refused()
    assert caught.value.report is report
    good = validate(read_file(bf.good_communities(tmp_path)), layer="communities")
    good.raise_if_refused()  # nothing to raise
    assert "可以导入 / ready to import" in good.summary()


def test_issue_message_is_chinese_then_english(tmp_path: Path) -> None:
    report = validate(read_file(bf.swapped_coordinates(tmp_path)), layer="communities")
    issue = report.refusals[0]
    assert str(issue) == issue.message == f"{issue.zh} / {issue.en}"
    assert np.all([i.row is not None for i in report.refusals])


# --------------------------------------------------------------------------- prepare_import


def _workspace_with_true_outlines(tmp_path: Path, tiny_layers: dict, ids: list[str]) -> Path:
    """A workspace whose communities include the badfiles' true outlines under ``ids``."""
    import pandas as pd
    from shapely.geometry import MultiPolygon

    from gislib.store import create_workspace

    to_field = {f.short: f.name for f in LAYERS["communities"].fields}
    ref = bf.sample_communities().rename(columns=to_field)
    ref["community_id"] = ids
    ref["county_code"] = "441702"
    ref["renovated_before"] = False
    ref = ref.set_geometry(ref.geometry.map(lambda g: MultiPolygon([g])))
    layers = dict(tiny_layers)
    layers["communities"] = pd.concat([tiny_layers["communities"], ref], ignore_index=True)
    return create_workspace(tmp_path / "ws" / "ws.gpkg", layers=layers)


def test_prepare_import_refuses_ids_already_in_the_workspace_and_writes_nothing(
    tmp_path: Path, tiny_layers: dict
) -> None:
    import hashlib

    from gislib.io.validate import prepare_import
    from gislib.store import open_workspace

    path = _workspace_with_true_outlines(tmp_path, tiny_layers, [SAMPLE_IDS[1], "R2", "R3"])
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    report = prepare_import(
        bf.good_communities(tmp_path), open_workspace(path), layer="communities"
    )
    assert [(i.row, i.record_id, i.code) for i in report.refusals] == [
        (2, SAMPLE_IDS[1], IssueCode.EXISTING_ID)
    ]
    assert report.source.name == "good_communities.zip"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_prepare_import_compares_with_the_stored_layer_to_reveal_gcj02(
    tmp_path: Path, tiny_layers: dict
) -> None:
    from gislib.io.validate import prepare_import
    from gislib.store import open_workspace

    workspace = open_workspace(
        _workspace_with_true_outlines(tmp_path, tiny_layers, ["R1", "R2", "R3"])
    )
    shifted = bf.gcj02_shifted(tmp_path)
    labelled = prepare_import(shifted, workspace, layer="communities")
    assert [i.code for i in labelled.refusals] == [IssueCode.OFFSET_SUSPECTED]
    assert 550 <= _shift_m(labelled) <= 650
    corrected = prepare_import(shifted, workspace, layer="communities", crs="gcj02")
    assert corrected.ok, corrected.summary()
    assert corrected.source_crs == "GCJ-02"


def test_prepare_import_passes_the_source_layer_and_rejects_an_unknown_target(
    tmp_path: Path, tiny_workspace: Path
) -> None:
    from gislib.errors import InputFileError
    from gislib.io.validate import prepare_import
    from gislib.store import open_workspace

    workspace = open_workspace(tiny_workspace)
    source = bf.several_layers_gpkg(tmp_path)
    with pytest.raises(InputFileError):
        prepare_import(source, workspace, layer="communities")
    report = prepare_import(source, workspace, layer="communities", source_layer="communities")
    assert report.ok, report.summary()
    assert len(report.frame) == 3
    with pytest.raises(SchemaError, match="roads"):
        prepare_import(source, workspace, layer="roads")
