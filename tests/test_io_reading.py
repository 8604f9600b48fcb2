"""Tests of gislib.io.reading: every supported format, every refused file."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
import shapely

from gislib import settings
from gislib.errors import InputFileError, LimitExceededError
from gislib.io.reading import normalize_header, read_file
from tests import badfiles as bf

SAMPLE_IDS = [r["community_id"] for r in bf.COMMUNITY_RECORDS]
SAMPLE_NAMES = [r["name"] for r in bf.COMMUNITY_RECORDS]


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# --------------------------------------------------------------------------- good files


def test_zipped_shapefile_is_read_inside_the_zip_without_extracting(tmp_path: Path) -> None:
    path = bf.good_communities(tmp_path)
    before = _files(tmp_path)
    raw = read_file(path)
    assert _files(tmp_path) == before == {"good_communities.zip"}
    assert raw.driver == "ESRI Shapefile"
    assert raw.source == path
    assert raw.crs_from_file is not None and raw.crs_from_file.to_epsg() == 4490
    assert raw.frame["comm_id"].tolist() == SAMPLE_IDS
    assert raw.frame["name"].tolist() == SAMPLE_NAMES
    assert raw.frame["build_yr"].tolist() == [1995, 1998, 2003]
    assert raw.frame.geometry.iloc[0].equals(bf.community_squares()[0])
    assert raw.encoding == "UTF-8"


def test_geopackage_layer_is_read_with_its_crs(tmp_path: Path) -> None:
    raw = read_file(bf.good_communities_gpkg(tmp_path))
    assert raw.driver == "GPKG"
    assert raw.crs_from_file is not None and raw.crs_from_file.to_epsg() == 4490
    assert raw.frame["name"].tolist() == SAMPLE_NAMES
    assert any("communities" in note for note in raw.notes)


def test_geopackage_with_several_layers_needs_a_layer_and_lists_them(tmp_path: Path) -> None:
    path = bf.several_layers_gpkg(tmp_path)
    with pytest.raises(InputFileError, match=r"several_layers\.gpkg") as caught:
        read_file(path)
    assert "communities" in str(caught.value) and "old_version" in str(caught.value)
    assert "--source-layer" in str(caught.value)
    assert len(read_file(path, layer="old_version").frame) == 1
    with pytest.raises(InputFileError, match="no layer 'nope'"):
        read_file(path, layer="nope")


def test_geojson_is_read_as_epsg_4326(tmp_path: Path) -> None:
    raw = read_file(bf.oversized_file(tmp_path))
    assert raw.driver == "GeoJSON"
    assert len(raw.frame) == 3
    assert raw.frame["comm_id"].tolist() == SAMPLE_IDS


@pytest.mark.parametrize("builder", [bf.good_kml, bf.good_kmz])
def test_kml_and_kmz_are_read_and_empty_kml_columns_dropped(tmp_path: Path, builder) -> None:
    raw = read_file(builder(tmp_path))
    assert raw.driver == "LIBKML"
    assert raw.crs_from_file is not None and raw.crs_from_file.to_epsg() == 4326
    assert raw.frame["Name"].tolist() == SAMPLE_NAMES
    assert raw.frame["comm_id"].tolist() == SAMPLE_IDS
    assert "id" not in raw.frame.columns  # LIBKML's generated placemark ids
    assert "altitudeMode" not in raw.frame.columns
    first = shapely.force_2d(raw.frame.geometry.iloc[0])
    assert first.normalize().equals_exact(bf.community_squares()[0].normalize(), 1e-9)


def test_excel_header_below_a_title_row_and_lon_lat_become_points(tmp_path: Path) -> None:
    raw = read_file(bf.good_excel(tmp_path))
    assert raw.driver == "XLSX"
    assert raw.crs_from_file is None
    assert list(raw.frame.columns[:-1]) == [h for h in bf.EXCEL_HEADER if h not in ("经度", "纬度")]
    assert raw.frame["建成年代"].tolist() == ["1995年", 1998]
    assert [(p.x, p.y) for p in raw.frame.geometry] == [(111.955, 21.845), (111.975, 21.86)]
    assert any("第 2 行" in note and "row 2" in note for note in raw.notes)


def test_excel_sheet_can_be_chosen_and_a_missing_one_is_named(tmp_path: Path) -> None:
    path = bf.good_excel(tmp_path)
    assert len(read_file(path, layer="台账").frame) == 2
    with pytest.raises(InputFileError, match="台账"):
        read_file(path, layer="Sheet9")


def test_gbk_csv_is_detected_and_text_round_trips(tmp_path: Path) -> None:
    raw = read_file(bf.good_csv_gbk(tmp_path))
    assert raw.driver == "CSV"
    assert raw.encoding == "GB18030"
    assert raw.frame["小区名称"].tolist() == ["荔枝园公租房小区", "神农街公租房小区"]
    assert raw.frame["建成年份"].tolist() == ["1995", "1998年"]
    assert [(p.x, p.y) for p in raw.frame.geometry] == [(111.955, 21.845), (111.975, 21.86)]
    assert "lng" not in raw.frame.columns


def test_utf8_bom_csv_without_coordinates_is_a_table(tmp_path: Path) -> None:
    raw = read_file(bf.good_status_events_csv(tmp_path))
    assert raw.encoding == "UTF-8 (BOM)"
    assert raw.frame["记录编号"].tolist() == ["E-001", "E-002"]
    assert raw.frame.geometry.isna().all()
    assert any("经纬度" in note for note in raw.notes)


def test_csv_with_unparsable_coordinates_gets_no_geometry_and_a_note(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text("编号,经度（°）,纬度\nA,111°57'18\",21.845\nB,abc,21.86\n", encoding="utf-8")
    raw = read_file(path)
    assert raw.frame.geometry.iloc[0].x == pytest.approx(111 + 57 / 60 + 18 / 3600)
    assert raw.frame.geometry.iloc[1] is None
    assert any("2 (abc, 21.86)" in note for note in raw.notes)


def test_normalize_header_ignores_case_space_and_full_width() -> None:
    assert normalize_header(" 建筑面积（㎡） ") == normalize_header("建筑面积(m2)")
    assert normalize_header("Build Yr") == "buildyr"
    assert normalize_header("ＣＯＭＭ＿ＩＤ") == normalize_header("comm-id") == "commid"


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("zipped", [True, False])
def test_gbk_dbf_without_cpg_is_detected_and_round_trips_exactly(
    tmp_path: Path, zipped: bool
) -> None:
    raw = read_file(bf.gbk_dbf_without_cpg(tmp_path, zipped=zipped))
    assert raw.encoding == "GB18030"
    assert list(raw.frame.columns[:-1]) == list(bf.GBK_COLUMNS)
    assert [tuple(r) for r in raw.frame[list(bf.GBK_COLUMNS)].to_numpy()] == list(bf.GBK_VALUES)
    assert any(".cpg" in note and "GB18030" in note for note in raw.notes)


def test_gbk_language_driver_byte_is_reported(tmp_path: Path) -> None:
    shp = bf.gbk_dbf_without_cpg(tmp_path, zipped=False)
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0x4D  # dBASE language driver "Chinese GBK (PRC)", as ArcGIS writes it
    dbf.write_bytes(bytes(data))
    raw = read_file(shp)
    assert raw.frame["小区名称"].tolist() == [v[1] for v in bf.GBK_VALUES]
    assert any("language driver" in note for note in raw.notes)


def test_explicit_encoding_is_used(tmp_path: Path) -> None:
    raw = read_file(bf.gbk_dbf_without_cpg(tmp_path), encoding="gbk")
    assert raw.frame["街道"].tolist() == [v[3] for v in bf.GBK_VALUES]
    assert any("as asked" in note for note in raw.notes)


def test_wrong_explicit_encoding_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="--encoding") as caught:
        read_file(bf.gbk_dbf_without_cpg(tmp_path), encoding="utf-8")
    assert "gbk_no_cpg" in str(caught.value)


def test_unknown_encoding_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="unknown encoding 'klingon'"):
        read_file(bf.good_communities(tmp_path), encoding="klingon")


def test_cpg_that_contradicts_the_bytes_is_overruled(tmp_path: Path) -> None:
    shp = bf.gbk_dbf_without_cpg(tmp_path, zipped=False)
    shp.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")
    raw = read_file(shp)
    assert raw.encoding == "GB18030"
    assert raw.frame["小区编号"].tolist() == [v[0] for v in bf.GBK_VALUES]
    assert raw.frame["所属区县"].tolist() == ["江城区"] * 3
    assert any("UTF-8" in note and ".cpg" in note for note in raw.notes)


def test_utf8_field_name_cut_mid_character_is_read(tmp_path: Path) -> None:
    raw = read_file(bf.utf8_cut_field_name(tmp_path))
    assert list(raw.frame.columns[:-1]) == ["建成年", "街道"]
    assert raw.frame["建成年"].tolist() == ["荔枝园"]
    assert any("10" in note and "cut" in note for note in raw.notes)


def test_gbk_member_names_in_a_windows_zip_are_read_and_shown(tmp_path: Path) -> None:
    raw = read_file(bf.gbk_member_names(tmp_path))
    assert raw.frame["comm_id"].tolist() == SAMPLE_IDS
    assert any("小区.shp" in note for note in raw.notes)


# --------------------------------------------------------------------------- parts


def test_missing_prj_gives_no_crs_and_a_note(tmp_path: Path) -> None:
    raw = read_file(bf.missing_prj(tmp_path))
    assert raw.crs_from_file is None
    assert raw.frame.crs is None
    assert any(".prj" in note for note in raw.notes)


def test_missing_shx_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"missing_shx\.shp") as caught:
        read_file(bf.missing_shx(tmp_path))
    message = str(caught.value)
    assert ".shx" in message and ".dbf" in message and "zip" in message


def test_missing_dbf_in_a_zip_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"missing_dbf\.zip/missing_dbf\.shp") as caught:
        read_file(bf.missing_dbf(tmp_path))
    assert "missing its .dbf part" in str(caught.value)


def test_zip_with_several_shapefiles_needs_a_layer(tmp_path: Path) -> None:
    path = bf.several_shapefiles(tmp_path)
    with pytest.raises(InputFileError, match=r"several\.zip") as caught:
        read_file(path)
    assert "a/roads.shp" in str(caught.value) and "b/communities.shp" in str(caught.value)
    assert len(read_file(path, layer="communities").frame) == 3
    assert len(read_file(path, layer="a/roads.shp").frame) == 1
    with pytest.raises(InputFileError, match="no shapefile named 'parks'"):
        read_file(path, layer="parks")


def test_zip_without_shapefile_lists_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "docs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(InputFileError, match=r"no shapefile.*readme\.txt"):
        read_file(path)


# --------------------------------------------------------------------------- safety


def test_zip_slip_entry_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"zip_slip\.zip") as caught:
        read_file(bf.zip_slip(tmp_path))
    assert "../../evil.txt" in str(caught.value) and "zip slip" in str(caught.value)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_absolute_zip_entry_is_refused(tmp_path: Path) -> None:
    path = bf.good_communities(tmp_path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(zipfile.ZipInfo("/etc/evil.txt"), b"x")
    with pytest.raises(InputFileError, match=r"/etc/evil\.txt"):
        read_file(path)


def test_zip_bomb_is_refused_from_the_directory(tmp_path: Path) -> None:
    path = bf.zip_bomb(tmp_path)
    assert path.stat().st_size < 64 * 1024  # small on disk
    with pytest.raises(LimitExceededError, match=r"padding\.dbf") as caught:
        read_file(path)
    assert "max_zip_ratio" in str(caught.value) and "zip bomb" in str(caught.value)


def test_zip_with_too_many_members_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "max_zip_members", 3)
    with pytest.raises(LimitExceededError, match="max_zip_members"):
        read_file(bf.good_communities(tmp_path))


def test_zip_expanding_beyond_the_total_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "max_zip_uncompressed_bytes", 500)
    with pytest.raises(LimitExceededError, match="max_zip_uncompressed_bytes"):
        read_file(bf.good_communities(tmp_path))


def test_kmz_is_checked_like_a_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "max_zip_uncompressed_bytes", 100)
    with pytest.raises(LimitExceededError, match=r"good_communities\.kmz"):
        read_file(bf.good_kmz(tmp_path))


def test_oversized_file_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = bf.oversized_file(tmp_path)
    monkeypatch.setattr(settings, "max_input_bytes", 1000)
    with pytest.raises(LimitExceededError, match=r"oversized\.geojson") as caught:
        read_file(path)
    assert "max_input_bytes" in str(caught.value)


def test_loose_shapefile_size_counts_all_its_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shp = bf.gbk_dbf_without_cpg(tmp_path, zipped=False)
    monkeypatch.setattr(settings, "max_input_bytes", shp.stat().st_size + 10)
    with pytest.raises(LimitExceededError, match=r"gbk_no_cpg\.shp"):
        read_file(shp)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="file not found") as caught:
        read_file(tmp_path / "nope.zip")
    assert "nope.zip" in str(caught.value)


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="is a folder"):
        read_file(tmp_path)


def test_unsupported_suffix_lists_supported_formats(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0old excel")
    with pytest.raises(InputFileError, match=r"\.xls") as caught:
        read_file(path)
    assert ".xlsx" in str(caught.value) and ".gpkg" in str(caught.value)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.geojson"
    path.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"empty\.geojson.*empty"):
        read_file(path)


@pytest.mark.parametrize(
    ("builder", "name", "kind"),
    [
        (bf.garbage_shapefile, "garbage.shp", "shapefile"),
        (bf.garbage_gpkg, "garbage.gpkg", "GeoPackage"),
    ],
)
def test_garbage_bytes_are_refused_with_the_file_and_the_fix(
    tmp_path: Path, builder, name: str, kind: str
) -> None:
    with pytest.raises(InputFileError, match=name) as caught:
        read_file(builder(tmp_path))
    assert kind in str(caught.value) and "re-export" in str(caught.value)


def test_damaged_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(InputFileError, match=r"broken\.zip is not a valid zip"):
        read_file(path)


def test_damaged_excel_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(InputFileError, match=r"broken\.xlsx"):
        read_file(path)


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads a file whatever its mode: permission denied cannot happen",
)
def test_file_without_read_permission_is_refused(tmp_path: Path) -> None:
    path = bf.unreadable_file(tmp_path)
    try:
        with pytest.raises(InputFileError, match="no permission"):
            read_file(path)
    finally:
        path.chmod(0o600)


# --------------------------------------------------------------------------- geometry as read


def test_measured_coordinates_are_noted_and_z_kept_for_validation(tmp_path: Path) -> None:
    raw = read_file(bf.z_m_coordinates(tmp_path))
    assert any("Measured" in note for note in raw.notes)
    assert bool(shapely.has_z(raw.frame.geometry.to_numpy()).all())
    assert len(raw.frame) == 3


def test_permission_denied_is_reported_even_when_running_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = bf.good_communities_gpkg(tmp_path)
    real_open = Path.open

    def denied(self: Path, *args, **kwargs):  # the OS answer for a mode-000 file
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(InputFileError, match="no permission to read") as caught:
        read_file(path)
    assert "good_communities.gpkg" in str(caught.value)
