"""Tests of gislib.io.export: shapefile zip, GeoPackage, GeoJSON, KML and Excel exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from openpyxl import load_workbook
from pyproj import CRS, Geod
from shapely.geometry import MultiPolygon, Polygon, box

import gislib.io.export as export_module
from gislib.crs import wgs84_to_gcj02
from gislib.errors import CRSError, ExportError, InputFileError
from gislib.io.export import (
    FIELD_DICTIONARY_COLUMNS,
    FIELD_DICTIONARY_NAME,
    README_NAME,
    ExportFormat,
    export_layer,
    read_shapefile_zip,
)

LON, LAT = 111.97, 21.86
# 堃 (U+5803) is in GBK but not in GB2312; 𠮷 (U+20BB7) is outside GBK, inside GB18030.
IN_GBK_NAME = "堃园小区"
OUTSIDE_GBK_NAME = "𠮷祥花园"
FORMULA_LIKE = ("=1+1", "@SUM(A1)", "-2", "+86 138")
MEMBERS = {
    "communities.shp",
    "communities.shx",
    "communities.dbf",
    "communities.prj",
    "communities.cpg",
    FIELD_DICTIONARY_NAME,
    README_NAME,
}


def holed_multipolygon(lon: float, lat: float) -> MultiPolygon:
    """Three parts, the first with a hole, about 100 m across each."""
    outer = box(lon, lat, lon + 0.001, lat + 0.001)
    hole = box(lon + 0.0003, lat + 0.0003, lon + 0.0006, lat + 0.0006)
    return MultiPolygon(
        [
            Polygon(outer.exterior.coords, [hole.exterior.coords]),
            box(lon + 0.002, lat, lon + 0.0025, lat + 0.0005),
            box(lon, lat + 0.002, lon + 0.0004, lat + 0.0031234567),
        ]
    )


@pytest.fixture
def communities() -> gpd.GeoDataFrame:
    """Four communities with Chinese text, formula-like text, gaps and two extra columns."""
    return gpd.GeoDataFrame(
        {
            "community_id": ["C-001", "C-002", "C-003", "C-004"],
            "name": [IN_GBK_NAME, OUTSIDE_GBK_NAME, "=1+1", "@SUM(A1)"],
            "county_code": ["441702", "441704", "441721", None],
            "street": ["", None, "-2", "南恩街道"],
            "build_year": [1995, 2003, 1988, 2000],
            "buildings": pd.array([12, None, 3, 7], dtype="Int64"),
            "floor_area_m2": [12345.67, None, 800.5, 0.25],
            "has_lift": [True, None, False, False],
            "willingness": [0.85, 0.9, None, 1.0],
            "renovated_before": [False, False, True, None],
            "version": [1, 2, 3, 1],
            "备注": ["+86 138", "", None, "旧城改造"],
            "survey_date": [dt.date(2023, 5, 1), None, dt.date(2021, 1, 2), dt.date(2020, 12, 31)],
        },
        geometry=[
            holed_multipolygon(LON, LAT),
            MultiPolygon([box(LON + 0.01, LAT, LON + 0.011, LAT + 0.001)]),
            holed_multipolygon(LON + 0.02, LAT + 0.01),
            MultiPolygon([box(LON - 0.01, LAT - 0.01, LON - 0.009, LAT - 0.009)]),
        ],
        crs="EPSG:4490",
    )


@pytest.fixture
def gbk_communities(communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The fixture without the record whose name GBK cannot hold."""
    return communities[communities["name"] != OUTSIDE_GBK_NAME].reset_index(drop=True)


def plain(value: Any) -> Any:
    """A value with every kind of missing as None and numpy/pandas scalars as Python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, np.generic):
        return plain(value.item())
    return value


def records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    return [{c: plain(row[c]) for c in columns} for _, row in frame.iterrows()]


def same_geometries(got: gpd.GeoSeries, expected: gpd.GeoSeries, tolerance: float) -> bool:
    """Same type, parts, holes and vertex count, every vertex within ``tolerance`` degrees.

    Ring orientation and part order are not compared (shapefiles store outer rings
    clockwise; a tiny reprojection error can reorder parts under normalize()).
    """
    a = np.asarray(got.values)
    b = np.asarray(expected.values)
    return bool(
        len(a) == len(b)
        and np.array_equal(shapely.get_type_id(a), shapely.get_type_id(b))
        and np.array_equal(shapely.get_num_geometries(a), shapely.get_num_geometries(b))
        and np.array_equal(shapely.get_num_coordinates(a), shapely.get_num_coordinates(b))
        and np.array_equal(
            [shapely.get_num_interior_rings(shapely.get_parts(g)).sum() for g in a],
            [shapely.get_num_interior_rings(shapely.get_parts(g)).sum() for g in b],
        )
        and np.all(shapely.hausdorff_distance(a, b) <= tolerance)
    )


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# --------------------------------------------------------------------------
# Shapefile zip
# --------------------------------------------------------------------------


def test_shapefile_zip_holds_exactly_the_promised_members(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(communities, tmp_path / "c.zip", layer="communities", format="shp")
    assert path == tmp_path / "c.zip"
    assert set(zip_members(path)) == MEMBERS


def test_field_dictionary_lists_every_dbf_field_with_names_and_labels(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(communities, tmp_path / "c.zip", layer="communities", format="shp")
    members = zip_members(path)
    rows = list(csv.reader(io.StringIO(members[FIELD_DICTIONARY_NAME].decode("utf-8-sig"))))
    assert tuple(rows[0]) == FIELD_DICTIONARY_COLUMNS
    by_short = {row[0]: row for row in rows[1:]}
    dbf_fields = pyogrio.read_info(f"/vsizip/{path}/communities.shp")["fields"].tolist()
    assert sorted(by_short) == sorted(dbf_fields)
    assert all(short.isascii() and len(short) <= 10 for short in dbf_fields)
    assert by_short["build_yr"][1:6] == ["build_year", "建成年份", "year built", "int", ""]
    assert by_short["floor_m2"][5] == "m2"
    # Extra columns get ASCII short names and keep their original name.
    originals = {row[1]: row[0] for row in rows[1:]}
    assert originals["备注"] == "x_01"
    assert originals["survey_date"] == "survey_dat" or originals["survey_date"].startswith("x_")
    assert len(by_short) == len(communities.columns) - 1


def test_shapefile_zip_round_trip_in_utf8_gives_back_names_values_and_geometries(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(communities, tmp_path / "c.zip", layer="communities", format="shp")
    back = read_shapefile_zip(path)

    columns = [c for c in communities.columns if c != "geometry"]
    assert list(back.columns) == [*columns, "geometry"]
    assert back.crs is not None and CRS(back.crs).to_epsg() == 4490
    expected = records(communities, columns)
    for row in expected:  # a DBF cannot tell empty text from missing text
        for key, value in row.items():
            if value == "":
                row[key] = None
    assert records(back, columns) == expected
    assert back["name"].tolist() == [IN_GBK_NAME, OUTSIDE_GBK_NAME, "=1+1", "@SUM(A1)"]
    assert str(back["build_year"].dtype) == "Int64"
    assert str(back["has_lift"].dtype) == "boolean"
    assert str(back["floor_area_m2"].dtype) == "Float64"
    assert same_geometries(back.geometry, communities.geometry, tolerance=1e-9)
    assert set(back.geometry.geom_type) == {"MultiPolygon"}


def test_shapefile_zip_round_trip_in_gbk_gives_back_names_values_and_geometries(
    gbk_communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(
        gbk_communities, tmp_path / "c.zip", layer="communities", format="shp", encoding="GBK"
    )
    members = zip_members(path)
    assert members["communities.cpg"] == b"936"
    dbf = members["communities.dbf"]
    assert dbf[29] == 0x4D  # DBF language driver id of code page 936
    assert IN_GBK_NAME.encode("gbk") in dbf
    assert IN_GBK_NAME.encode("utf-8") not in dbf

    back = read_shapefile_zip(path)
    columns = [c for c in gbk_communities.columns if c != "geometry"]
    expected = records(gbk_communities, columns)
    for row in expected:
        for key, value in row.items():
            if value == "":
                row[key] = None
    assert records(back, columns) == expected
    assert same_geometries(back.geometry, gbk_communities.geometry, tolerance=1e-9)


def test_gbk_export_refuses_a_character_outside_gbk_naming_record_and_field(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    with pytest.raises(ExportError) as info:
        export_layer(
            communities, tmp_path / "c.zip", layer="communities", format="shp", encoding="GBK"
        )
    message = str(info.value)
    assert "C-002" in message
    assert "name" in message
    assert "U+20BB7" in message
    assert "UTF-8" in message
    assert list(tmp_path.iterdir()) == []


def test_text_longer_than_a_dbf_field_is_refused_not_cut(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = communities.copy()
    frame.loc[2, "street"] = "长" * 100  # 300 bytes in UTF-8
    with pytest.raises(ExportError, match="C-003"):
        export_layer(frame, tmp_path / "c.zip", layer="communities", format="shp")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("crs", "epsg"),
    [("EPSG:4490", 4490), ("EPSG:4546", 4546), ("EPSG:4326", 4326), ("gcj02", 4326)],
)
def test_shapefile_prj_states_the_requested_crs(
    communities: gpd.GeoDataFrame, tmp_path: Path, crs: str, epsg: int
) -> None:
    path = export_layer(communities, tmp_path / "c.zip", layer="communities", format="shp", crs=crs)
    members = zip_members(path)
    assert CRS.from_wkt(members["communities.prj"].decode("ascii")).to_epsg() == epsg
    readme = members[README_NAME].decode("utf-8-sig")
    label = "GCJ-02" if crs == "gcj02" else crs
    assert f"坐标系 CRS: {label}" in readme
    assert ("GCJ-02" in readme) == (crs == "gcj02")


@pytest.mark.parametrize("crs", ["EPSG:4546", "gcj02"])
def test_shapefile_zip_in_another_crs_reads_back_in_storage_crs(
    communities: gpd.GeoDataFrame, tmp_path: Path, crs: str
) -> None:
    path = export_layer(communities, tmp_path / "c.zip", layer="communities", format="shp", crs=crs)
    back = read_shapefile_zip(path)
    assert CRS(back.crs).to_epsg() == 4490
    # 1e-8 degrees is about 1 mm.
    assert same_geometries(back.geometry, communities.geometry, tolerance=1e-8)


def test_field_dictionary_escapes_formula_like_names_and_reads_them_back(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = communities.assign(**{"=HYPERLINK(1)": ["a", "b", "c", "d"]})
    path = export_layer(frame, tmp_path / "c.zip", layer="communities", format="shp")
    text = zip_members(path)[FIELD_DICTIONARY_NAME].decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=HYPERLINK(1)" in cells
    assert read_shapefile_zip(path)["=HYPERLINK(1)"].tolist() == ["a", "b", "c", "d"]


def test_read_shapefile_zip_refuses_a_zip_without_field_dictionary(tmp_path: Path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.shp", b"")
    with pytest.raises(InputFileError, match=FIELD_DICTIONARY_NAME):
        read_shapefile_zip(path)


# --------------------------------------------------------------------------
# GeoPackage, GeoJSON, KML
# --------------------------------------------------------------------------


def test_geopackage_round_trip_is_exact(communities: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = export_layer(communities, tmp_path / "c.gpkg", layer="communities", format="gpkg")
    info = pyogrio.read_info(path, layer="communities")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    subtypes = dict(zip(info["fields"], info["ogr_subtypes"], strict=True))
    assert types["name"] == "OFTString"
    assert types["build_year"] == "OFTInteger64"
    assert types["floor_area_m2"] == "OFTReal"
    assert subtypes["has_lift"] == "OFSTBoolean"
    assert types["survey_date"] == "OFTDate"

    back = pyogrio.read_dataframe(path, layer="communities", use_arrow=True)
    columns = [c for c in communities.columns if c != "geometry"]
    assert list(back.columns) == [*columns, "geometry"]
    assert records(back, columns) == records(communities, columns)  # "" stays ""
    assert back["street"].tolist()[0] == ""
    assert back.geometry.to_wkb().tolist() == communities.geometry.to_wkb().tolist()
    assert CRS(back.crs).to_epsg() == 4490


def test_geopackage_writes_a_table_without_geometry(tmp_path: Path) -> None:
    events = pd.DataFrame(
        {
            "event_id": ["E1"],
            "community_id": ["C-001"],
            "year": [2023],
            "stage": ["施工"],
            "date": [dt.date(2023, 6, 1)],
            "user": ["张三"],
            "note": [None],
        }
    )
    path = export_layer(events, tmp_path / "e.gpkg", layer="status_events", format="gpkg")
    back = pyogrio.read_dataframe(path, layer="status_events", use_arrow=True)
    assert records(back, list(events.columns)) == records(events, list(events.columns))


def test_geojson_is_rfc7946_wgs84(communities: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = export_layer(communities, tmp_path / "c.geojson", layer="communities", format="geojson")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in doc
    assert doc["name"] == "communities"
    first = doc["features"][0]
    assert first["properties"]["name"] == IN_GBK_NAME
    assert first["properties"]["has_lift"] is True
    assert first["properties"]["survey_date"] == "2023-05-01"
    back = pyogrio.read_dataframe(path)
    assert CRS(back.crs).to_epsg() == 4326
    # RFC 7946 mode keeps 7 decimals; CGCS2000 and WGS84 coordinates coincide.
    assert same_geometries(back.geometry, communities.geometry, tolerance=1e-7)


@pytest.mark.parametrize("crs", ["EPSG:4546", "gcj02"])
def test_geojson_refuses_coordinates_that_are_not_wgs84(
    communities: gpd.GeoDataFrame, tmp_path: Path, crs: str
) -> None:
    with pytest.raises(ExportError, match="WGS84"):
        export_layer(
            communities, tmp_path / "c.geojson", layer="communities", format="geojson", crs=crs
        )
    assert list(tmp_path.iterdir()) == []


def test_kml_opens_with_pyogrio_with_names_and_chinese_descriptions(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(communities, tmp_path / "c.kml", layer="communities", format="kml")
    back = pyogrio.read_dataframe(path)
    names = back["Name"].tolist() if "Name" in back.columns else back["name"].tolist()
    assert names == communities["name"].tolist()
    description = back["description"].tolist()[0]
    assert "建成年份：1995" in description
    assert "有无电梯：是" in description
    assert "所属区县：江城区" in description
    assert "版本" not in description
    assert same_geometries(back.geometry, communities.geometry, tolerance=1e-9)


def test_gcj02_kml_moves_points_about_600_m_east_south_east(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(
        communities, tmp_path / "c.kml", layer="communities", format="kml", crs="gcj02"
    )
    back = pyogrio.read_dataframe(path)
    assert "GCJ-02" in back["description"].tolist()[0]
    got = shapely.get_coordinates(np.asarray(back.geometry.values))
    original = shapely.get_coordinates(np.asarray(communities.geometry.values))
    expected = np.column_stack(wgs84_to_gcj02(original[:, 0], original[:, 1]))
    got_sorted = got[np.lexsort(got.T[::-1])]
    expected_sorted = expected[np.lexsort(expected.T[::-1])]
    np.testing.assert_allclose(got_sorted, expected_sorted, atol=1e-9)
    # Direction and size of the shift at the first vertex.
    lon0, lat0 = original[0]
    lon1, lat1 = expected[0]
    azimuth, _, distance = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    assert 450 < distance < 750
    assert 100 < azimuth % 360 < 125  # east-south-east is 112.5 degrees


def test_kml_refuses_a_projected_crs(communities: gpd.GeoDataFrame, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="EPSG:4546"):
        export_layer(
            communities, tmp_path / "c.kml", layer="communities", format="kml", crs="EPSG:4546"
        )


# --------------------------------------------------------------------------
# Excel ledger
# --------------------------------------------------------------------------


def test_excel_ledger_has_chinese_headers_and_typed_cells(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(communities, tmp_path / "c.xlsx", layer="communities", format="xlsx")
    sheet = load_workbook(path)["老旧小区"]
    headers = [c.value for c in sheet[1]]
    assert headers[:5] == ["小区编号", "小区名称", "所属区县", "街道", "建成年份"]
    assert headers[-2:] == ["经度", "纬度"]
    assert "版本" not in headers
    assert "备注" in headers
    column = {h: i + 1 for i, h in enumerate(headers)}
    year = sheet.cell(row=2, column=column["建成年份"])
    assert year.value == 1995
    assert year.data_type == "n"
    assert year.number_format == "0"
    assert sheet.cell(row=2, column=column["有无电梯"]).value == "是"
    assert sheet.cell(row=4, column=column["有无电梯"]).value == "否"
    assert sheet.cell(row=3, column=column["有无电梯"]).value is None
    assert sheet.cell(row=2, column=column["所属区县"]).value == "江城区"
    assert sheet.cell(row=2, column=column["survey_date"]).value == dt.datetime(2023, 5, 1)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=1, column=len(headers)).column_letter}5"
    assert sheet.column_dimensions["B"].width >= len(IN_GBK_NAME) * 2
    # Centroid of the fourth (square) community, in degrees.
    lon = sheet.cell(row=5, column=column["经度"]).value
    lat = sheet.cell(row=5, column=column["纬度"]).value
    assert lon == pytest.approx(LON - 0.0095, abs=1e-6)
    assert lat == pytest.approx(LAT - 0.0095, abs=1e-6)


def test_excel_ledger_years_have_no_thousands_separator(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(communities, tmp_path / "c.xlsx", layer="communities", format="xlsx")
    sheet = load_workbook(path)["老旧小区"]
    column = [c.value for c in sheet[1]].index("建成年份") + 1
    for row in range(2, 6):
        assert "," not in sheet.cell(row=row, column=column).number_format


def test_excel_ledger_has_no_cell_that_can_run_as_a_formula(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(communities, tmp_path / "c.xlsx", layer="communities", format="xlsx")
    workbook = load_workbook(path)
    seen = {}
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                if isinstance(cell.value, str) and cell.value in FORMULA_LIKE:
                    seen[cell.value] = cell
    assert set(seen) == set(FORMULA_LIKE)
    for text, cell in seen.items():
        assert cell.data_type == "s"
        assert cell.value == text
        assert cell.quotePrefix
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name)
                assert b"<f " not in archive.read(name)


def test_excel_ledger_in_gcj02_has_offset_centroids(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = export_layer(
        communities, tmp_path / "c.xlsx", layer="communities", format="xlsx", crs="gcj02"
    )
    sheet = load_workbook(path)["老旧小区"]
    headers = [c.value for c in sheet[1]]
    lon = sheet.cell(row=5, column=headers.index("经度") + 1).value
    lat = sheet.cell(row=5, column=headers.index("纬度") + 1).value
    true_centroid = (LON - 0.0095, LAT - 0.0095)
    expected = wgs84_to_gcj02(*true_centroid)
    assert lon == pytest.approx(float(expected[0]), abs=1e-6)
    assert lat == pytest.approx(float(expected[1]), abs=1e-6)


def test_excel_ledger_accepts_a_table_without_geometry(tmp_path: Path) -> None:
    events = pd.DataFrame({"event_id": ["E1"], "year": [2023], "stage": ["施工"]})
    path = export_layer(events, tmp_path / "e.xlsx", layer="status_events", format="xlsx")
    sheet = load_workbook(path)["改造进度记录"]
    assert [c.value for c in sheet[1]] == ["记录编号", "计划年度", "阶段"]


# --------------------------------------------------------------------------
# Options, CRS and never half-writing
# --------------------------------------------------------------------------


FORMATS = [
    ("shp", "zip"),
    ("gpkg", "gpkg"),
    ("geojson", "geojson"),
    ("kml", "kml"),
    ("xlsx", "xlsx"),
]


@pytest.mark.parametrize(("fmt", "suffix"), FORMATS)
def test_existing_target_is_refused_without_overwrite(
    communities: gpd.GeoDataFrame, tmp_path: Path, fmt: ExportFormat, suffix: str
) -> None:
    target = tmp_path / f"c.{suffix}"
    target.write_bytes(b"old")
    with pytest.raises(ExportError) as info:
        export_layer(communities, target, layer="communities", format=fmt)
    assert str(target) in str(info.value)
    assert "overwrite" in str(info.value)
    assert target.read_bytes() == b"old"
    export_layer(communities, target, layer="communities", format=fmt, overwrite=True)
    assert target.read_bytes() != b"old"


@pytest.mark.parametrize(("fmt", "suffix"), FORMATS)
def test_no_temporary_files_are_left_after_success(
    communities: gpd.GeoDataFrame, tmp_path: Path, fmt: ExportFormat, suffix: str
) -> None:
    export_layer(communities, tmp_path / f"c.{suffix}", layer="communities", format=fmt)
    assert [p.name for p in tmp_path.iterdir()] == [f"c.{suffix}"]


@pytest.mark.parametrize(("fmt", "suffix"), [("shp", "zip"), ("gpkg", "gpkg"), ("kml", "kml")])
def test_a_failing_write_leaves_no_temporary_files_and_the_old_target_intact(
    communities: gpd.GeoDataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: ExportFormat,
    suffix: str,
) -> None:
    def half_write(frame: Any, path: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pyogrio, "write_dataframe", half_write)
    target = tmp_path / f"c.{suffix}"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"):
        export_layer(communities, target, layer="communities", format=fmt, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    assert target.read_bytes() == b"old"


def test_a_failure_while_zipping_leaves_nothing_behind(
    communities: gpd.GeoDataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("no space left")

    monkeypatch.setattr(export_module, "_write_dictionary", broken)
    with pytest.raises(OSError, match="no space"):
        export_layer(communities, tmp_path / "c.zip", layer="communities", format="shp")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_excel_save_leaves_nothing_behind(
    communities: gpd.GeoDataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl import Workbook

    def half_save(self: Any, filename: Any) -> None:
        Path(filename).write_bytes(b"PK half")
        raise OSError("disk full")

    monkeypatch.setattr(Workbook, "save", half_save)
    with pytest.raises(OSError, match="disk full"):
        export_layer(communities, tmp_path / "c.xlsx", layer="communities", format="xlsx")
    assert list(tmp_path.iterdir()) == []


def test_a_frame_without_crs_raises_crs_error(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = communities.set_crs(None, allow_override=True)
    with pytest.raises(CRSError):
        export_layer(frame, tmp_path / "c.zip", layer="communities", format="shp")
    assert list(tmp_path.iterdir()) == []


def test_a_frame_outside_the_storage_crs_raises_crs_error(
    communities: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    with pytest.raises(CRSError, match="EPSG:4546"):
        export_layer(
            communities.to_crs("EPSG:4546"), tmp_path / "c.gpkg", layer="communities", format="gpkg"
        )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"crs": "bd09"}, "BD-09"),
        ({"crs": "EPSG:3857"}, "EPSG:3857"),
        ({"encoding": "GB18030"}, "GB18030"),
        ({"format": "dxf"}, "dxf"),
        ({"layer": "roads"}, "roads"),
    ],
)
def test_bad_options_raise_export_error(
    communities: gpd.GeoDataFrame, tmp_path: Path, options: dict[str, str], match: str
) -> None:
    kwargs: dict[str, Any] = {"layer": "communities", "format": "shp", **options}
    with pytest.raises(ExportError, match=match):
        export_layer(communities, tmp_path / "c.zip", **kwargs)


def test_encoding_applies_to_shapefiles_only(communities: gpd.GeoDataFrame, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="shapefile"):
        export_layer(
            communities, tmp_path / "c.gpkg", layer="communities", format="gpkg", encoding="GBK"
        )


def test_wrong_suffix_is_refused(communities: gpd.GeoDataFrame, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"\.zip"):
        export_layer(communities, tmp_path / "c.shp", layer="communities", format="shp")


def test_a_table_cannot_be_a_shapefile(tmp_path: Path) -> None:
    events = pd.DataFrame({"event_id": ["E1"]})
    with pytest.raises(ExportError, match="xlsx"):
        export_layer(events, tmp_path / "e.zip", layer="status_events", format="shp")
