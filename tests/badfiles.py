"""Builders of good and bad input files for the import tests.

Each builder writes one file (and whatever parts it needs) into ``folder``
at test time and returns the path a user would give to ``renov import``.
Nothing here is a fixture: tests call the builders with ``tmp_path``.

Communities are small squares (about 300 m) in Jiangcheng (江城区), around
111.95-112.0 E, 21.84-21.88 N, at least 1.5 km apart, so that a GCJ-02 shift
(about 600 m east-south-east) moves each one clear off its true position.
"""

from __future__ import annotations

import json
import shutil
import struct
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from gislib.crs import wgs84_to_gcj02

#: Centres (lon, lat, EPSG:4490) of the sample communities.
COMMUNITY_CENTRES = ((111.955, 21.845), (111.975, 21.860), (111.995, 21.875))
#: Half the side of a sample community square, in degrees (about 150 m).
HALF_SIDE_DEG = 0.0015

#: The sample communities' attributes, by schema field (short names are used in shapefiles).
COMMUNITY_RECORDS: tuple[dict[str, object], ...] = (
    {
        "community_id": "JC-2021-001",
        "name": "荔枝园公租房小区",
        "county": "江城区",
        "street": "南恩街道",
        "build_year": 1995,
        "buildings": 6,
        "households": 240,
        "floor_area_m2": 18500.5,
        "ownership": "公租房",
        "management": "物业",
        "willingness": 0.92,
        "renovated_before": "否",
    },
    {
        "community_id": "JC-2021-002",
        "name": "神农街公租房小区",
        "county": "江城区",
        "street": "城南街道",
        "build_year": 1998,
        "buildings": 4,
        "households": 160,
        "floor_area_m2": 12000.0,
        "ownership": "公租房",
        "management": "无",
        "willingness": 0.88,
        "renovated_before": "否",
    },
    {
        "community_id": "JC-2022-003",
        "name": "东风三路小区",
        "county": "江城区",
        "street": "城北街道",
        "build_year": 2003,
        "buildings": 8,
        "households": 320,
        "floor_area_m2": 26000.0,
        "ownership": "房改房",
        "management": "业委会",
        "willingness": 0.75,
        "renovated_before": "否",
    },
)

# Schema field -> shapefile short name (gislib.schema) for the sample columns.
_SHORT = {
    "community_id": "comm_id",
    "name": "name",
    "county": "county",
    "street": "street",
    "build_year": "build_yr",
    "buildings": "bldgs",
    "households": "househlds",
    "floor_area_m2": "floor_m2",
    "ownership": "ownership",
    "management": "mgmt",
    "willingness": "willing",
    "renovated_before": "renovated",
}


def community_squares() -> list[Polygon]:
    """The true outlines of the sample communities (EPSG:4490)."""
    return [
        box(x - HALF_SIDE_DEG, y - HALF_SIDE_DEG, x + HALF_SIDE_DEG, y + HALF_SIDE_DEG)
        for x, y in COMMUNITY_CENTRES
    ]


def sample_communities() -> gpd.GeoDataFrame:
    """The sample communities with shapefile short names, in EPSG:4490 (true positions)."""
    frame = pd.DataFrame([{_SHORT[k]: v for k, v in r.items()} for r in COMMUNITY_RECORDS])
    return gpd.GeoDataFrame(frame, geometry=community_squares(), crs="EPSG:4490")


def _write_zip(
    frame: gpd.GeoDataFrame,
    folder: Path,
    name: str,
    *,
    encoding: str = "UTF-8",
    drop: Iterable[str] = (),
    member_dir: str = "",
) -> Path:
    """Write ``frame`` as a shapefile, zip its parts except ``drop``, remove the loose parts."""
    parts = folder / f"_{name}_parts"
    parts.mkdir(parents=True, exist_ok=True)
    frame.to_file(parts / f"{name}.shp", encoding=encoding)
    target = folder / f"{name}.zip"
    skipped = {ext.lower() for ext in drop}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(parts.iterdir()):
            if part.suffix.lower() not in skipped:
                archive.write(part, f"{member_dir}{part.name}")
    shutil.rmtree(parts)
    return target


def _write_loose(
    frame: gpd.GeoDataFrame, folder: Path, name: str, *, drop: Iterable[str] = ()
) -> Path:
    shp = folder / f"{name}.shp"
    frame.to_file(shp, encoding="UTF-8")
    for ext in drop:
        shp.with_suffix(ext).unlink()
    return shp


# ----------------------------------------------------------------------- good files


def good_communities(folder: Path) -> Path:
    """A zipped UTF-8 shapefile (.shp .shx .dbf .prj .cpg) of three valid communities."""
    return _write_zip(sample_communities(), folder, "good_communities")


def good_communities_gpkg(folder: Path) -> Path:
    """The sample communities in a GeoPackage layer ``communities``."""
    path = folder / "good_communities.gpkg"
    sample_communities().to_file(path, layer="communities")
    return path


def good_kml(folder: Path) -> Path:
    """The sample communities as KML (WGS84), with ``Name`` holding the community name."""
    frame = sample_communities().rename(columns={"name": "Name"}).to_crs("EPSG:4326")
    path = folder / "good_communities.kml"
    frame.to_file(path, driver="LIBKML")
    return path


def good_kmz(folder: Path) -> Path:
    """The sample communities as a KMZ (a zip holding ``doc.kml``)."""
    parts = folder / "_kmz_parts"
    parts.mkdir()
    kml = good_kml(parts)
    path = folder / "good_communities.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(kml, "doc.kml")
    shutil.rmtree(parts)
    return path


#: Rows of :func:`good_excel` below its header, as written (Chinese headers).
EXCEL_HEADER = (
    "序号",
    "小区编号",
    "小区名称",
    "所属区县",
    "街道",
    "建成年代",
    "楼栋数",
    "户数",
    "建筑面积（㎡）",
    "居民同意率",
    "是否已改造",
    "经度",
    "纬度",
    "备注",
)
EXCEL_ROWS = (
    (1, "JC-2021-001", "荔枝园公租房小区", "江城区", "南恩街道", "1995年", 6, 240, 18500.5, "92%", "否",
     111.955, 21.845, "省级试点"),
    (2, "JC-2021-002", "神农街公租房小区", 441702, "城南街道", 1998, "4栋", "160户", "12,000", 0.88, "否",
     111.975, 21.86, None),
)  # fmt: skip


def good_excel(folder: Path) -> Path:
    """An .xlsx ledger with a merged title row above Chinese headers and 经度/纬度."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "台账"
    sheet.append(["阳江市城镇老旧小区改造项目台账（2021年）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(EXCEL_HEADER))
    sheet.append(list(EXCEL_HEADER))
    for row in EXCEL_ROWS:
        sheet.append(list(row))
    path = folder / "台账.xlsx"
    book.save(path)
    return path


#: Text of :func:`good_csv_gbk` (GBK on disk).
CSV_GBK_TEXT = (
    "小区编号,小区名称,区县,建成年份,户数,lng,lat\r\n"
    "JC-2021-001,荔枝园公租房小区,江城区,1995,240,111.955,21.845\r\n"
    "JC-2021-002,神农街公租房小区,江城区,1998年,160,111.975,21.86\r\n"
)


def good_csv_gbk(folder: Path) -> Path:
    """A GBK-encoded CSV with Chinese headers and ``lng``/``lat`` columns."""
    path = folder / "小区点位.csv"
    path.write_bytes(CSV_GBK_TEXT.encode("gbk"))
    return path


def good_status_events_csv(folder: Path) -> Path:
    """A UTF-8 (with BOM) CSV of status events: a table without coordinates."""
    text = (
        "记录编号,小区编号,计划年度,阶段,日期,填报人,备注\n"
        "E-001,JC-2021-001,2021,摸查,2021-03-05,李工,\n"
        "E-002,JC-2021-001,2021,施工,2021年9月1日,李工,进场\n"
    )
    path = folder / "status_events.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    return path


# ----------------------------------------------------------------------- CRS problems


def missing_prj(folder: Path) -> Path:
    """Zipped shapefile without .prj: the CRS is unknown."""
    return _write_zip(sample_communities(), folder, "missing_prj", drop=[".prj"])


def swapped_coordinates(folder: Path) -> Path:
    """Zipped shapefile labelled EPSG:4490 whose x holds latitude and y longitude."""
    frame = sample_communities()
    frame["geometry"] = shapely.transform(frame.geometry.to_numpy(), lambda xy: xy[:, ::-1])
    return _write_zip(frame, folder, "swapped")


def projected_without_crs(folder: Path) -> Path:
    """Zipped shapefile in EPSG:4546 (metres, x about 600 km) without .prj."""
    frame = sample_communities().to_crs("EPSG:4546")
    return _write_zip(frame, folder, "projected_no_prj", drop=[".prj"])


def gcj02_shifted(folder: Path) -> Path:
    """Zipped shapefile labelled EPSG:4490 holding GCJ-02 (Amap) coordinates."""
    frame = sample_communities()

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    frame["geometry"] = shapely.transform(frame.geometry.to_numpy(), shift)
    return _write_zip(frame, folder, "gcj02_shifted")


# ----------------------------------------------------------------------- text encoding

#: Chinese headers and values of :func:`gbk_dbf_without_cpg` (all in GBK).
GBK_COLUMNS = ("小区编号", "小区名称", "所属区县", "街道", "建成年代")
GBK_VALUES = (
    ("JC-2021-001", "荔枝园公租房小区", "江城区", "南恩街道", "1995年"),
    ("JC-2021-002", "神农街公租房小区", "江城区", "城南街道", "1998年"),
    ("JC-2022-003", "东风三路小区", "江城区", "城北街道", "2003年"),
)


def gbk_dbf_without_cpg(folder: Path, *, zipped: bool = True) -> Path:
    """Shapefile whose DBF (Chinese names and values) is GBK and has no .cpg."""
    frame = gpd.GeoDataFrame(
        pd.DataFrame(list(GBK_VALUES), columns=list(GBK_COLUMNS)),
        geometry=community_squares(),
        crs="EPSG:4490",
    )
    if zipped:
        return _write_zip(frame, folder, "gbk_no_cpg", encoding="GBK", drop=[".cpg"])
    shp = folder / "gbk_no_cpg.shp"
    frame.to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    return shp


# ----------------------------------------------------------------------- geometry problems


def invalid_geometry(folder: Path) -> Path:
    """GeoPackage whose second community is a bow-tie (self-intersecting) polygon."""
    frame = sample_communities()
    x, y = COMMUNITY_CENTRES[1]
    h = HALF_SIDE_DEG
    bow_tie = Polygon([(x - h, y - h), (x + h, y + h), (x + h, y - h), (x - h, y + h)])
    frame.loc[1, "geometry"] = bow_tie
    path = folder / "bow_tie.gpkg"
    frame.to_file(path, layer="communities")
    return path


def _feature(properties: dict[str, object], geometry: object) -> dict[str, object]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _record_properties(index: int) -> dict[str, object]:
    return {_SHORT[k]: v for k, v in COMMUNITY_RECORDS[index].items()}


def empty_geometry(folder: Path) -> Path:
    """GeoJSON: record 1 good, record 2 with null geometry, record 3 an empty polygon."""
    squares = community_squares()
    features = [
        _feature(_record_properties(0), shapely.geometry.mapping(squares[0])),
        _feature(_record_properties(1), None),
        _feature(_record_properties(2), {"type": "Polygon", "coordinates": []}),
    ]
    path = folder / "empty_geometry.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def mixed_geometry(folder: Path) -> Path:
    """GeoJSON: Polygon, MultiPolygon, Point, LineString (records 1-4)."""
    squares = community_squares()
    x, y = COMMUNITY_CENTRES[2]
    geometries = [
        squares[0],
        MultiPolygon([squares[1]]),
        Point(x, y),
        LineString([(x - 0.001, y), (x + 0.001, y)]),
    ]
    features = []
    for number, geometry in enumerate(geometries):
        properties = _record_properties(min(number, 2))
        properties["comm_id"] = f"JC-MIX-{number + 1:03d}"
        properties["pipe_id"] = f"P-{number + 1:03d}"
        properties["network"] = "water"
        properties["status"] = "existing"
        features.append(_feature(properties, shapely.geometry.mapping(geometry)))
    path = folder / "mixed.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def _shp_header(shape_type: int, length_words: int, bounds: tuple[float, ...]) -> bytes:
    return (
        struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_words)
        + struct.pack("<2i", 1000, shape_type)
        + struct.pack("<8d", *bounds)
    )


def z_m_coordinates(folder: Path) -> Path:
    """Zipped shapefile of type PolygonZ with M values (elevation 12 m, measure 5).

    pyogrio cannot write M, so the .shp and .shx are written here by hand
    (ESRI shapefile spec, shape type 15) over a 2D shapefile's .dbf and .prj.
    """
    frame = sample_communities()
    parts = folder / "_zm_parts"
    parts.mkdir()
    frame.to_file(parts / "zm.shp", encoding="UTF-8")
    polygon_z = 15
    records: list[bytes] = []
    for square in community_squares():
        ring = list(square.exterior.coords)
        if shapely.LinearRing(ring).is_ccw:
            ring.reverse()  # shapefile outer rings are clockwise
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        n = len(ring)
        zs, ms = [12.0] * n, [5.0] * n
        content = struct.pack("<i4d2i", polygon_z, min(xs), min(ys), max(xs), max(ys), 1, n)
        content += struct.pack("<i", 0)
        content += b"".join(struct.pack("<2d", x, y) for x, y in zip(xs, ys, strict=True))
        content += struct.pack("<2d", min(zs), max(zs)) + struct.pack(f"<{n}d", *zs)
        content += struct.pack("<2d", min(ms), max(ms)) + struct.pack(f"<{n}d", *ms)
        records.append(content)
    minx, miny, maxx, maxy = frame.total_bounds
    bounds = (minx, miny, maxx, maxy, 12.0, 12.0, 5.0, 5.0)
    body, index, offset = b"", b"", 50
    for number, content in enumerate(records, start=1):
        record = struct.pack(">2i", number, len(content) // 2) + content
        index += struct.pack(">2i", offset, len(content) // 2)
        body += record
        offset += len(record) // 2
    (parts / "zm.shp").write_bytes(_shp_header(polygon_z, 50 + len(body) // 2, bounds) + body)
    (parts / "zm.shx").write_bytes(_shp_header(polygon_z, 50 + len(index) // 2, bounds) + index)
    target = folder / "zm.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(parts.iterdir()):
            archive.write(part, part.name)
    shutil.rmtree(parts)
    return target


# ----------------------------------------------------------------------- attribute problems


def duplicate_ids(folder: Path) -> Path:
    """Zipped shapefile whose records 1 and 3 share the id JC-2021-001."""
    frame = sample_communities()
    frame.loc[2, "comm_id"] = "JC-2021-001"
    return _write_zip(frame, folder, "duplicate_ids")


#: Bad values of :func:`bad_values_csv`: (record number, header, value).
BAD_VALUES = (
    (1, "建成年份", "199x"),
    (2, "户数", "很多"),
    (3, "居民同意率", "150%"),
    (4, "所属区县", "阳江新区"),
    (5, "产权性质", "私房"),
    (6, "是否已改造", "也许"),
)


def bad_values_csv(folder: Path) -> Path:
    """UTF-8 CSV of communities, each record with one bad value (see :data:`BAD_VALUES`)."""
    header = [
        "小区编号",
        "小区名称",
        "所属区县",
        "建成年份",
        "户数",
        "居民同意率",
        "产权性质",
        "是否已改造",
    ]
    rows = []
    for number in range(1, len(BAD_VALUES) + 1):
        row = {
            "小区编号": f"JC-BAD-{number:03d}",
            "小区名称": f"测试小区{number}",
            "所属区县": "江城区",
            "建成年份": "1995",
            "户数": "100",
            "居民同意率": "85%",
            "产权性质": "商品房",
            "是否已改造": "否",
        }
        for bad_number, column, value in BAD_VALUES:
            if bad_number == number:
                row[column] = value
        rows.append(",".join(row[h] for h in header))
    path = folder / "bad_values.csv"
    path.write_text("\n".join([",".join(header), *rows]) + "\n", encoding="utf-8")
    return path


def missing_required_column_csv(folder: Path) -> Path:
    """UTF-8 CSV of communities without any build-year column."""
    path = folder / "no_build_year.csv"
    path.write_text(
        "小区编号,小区名称,所属区县\nJC-2021-001,荔枝园公租房小区,江城区\n", encoding="utf-8"
    )
    return path


# ----------------------------------------------------------------------- file problems


def zip_slip(folder: Path) -> Path:
    """A zip holding a good shapefile plus an entry ``../../evil.txt``."""
    path = good_communities(folder)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(zipfile.ZipInfo("../../evil.txt"), b"escape")
    return path.rename(folder / "zip_slip.zip")


def zip_bomb(folder: Path, *, expanded_bytes: int = 8 * 1024 * 1024) -> Path:
    """A small zip with a good shapefile plus 8 MiB of zeros compressed about 1000 times."""
    path = good_communities(folder)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("padding.dbf", bytes(expanded_bytes))
    return path.rename(folder / "zip_bomb.zip")


def oversized_file(folder: Path) -> Path:
    """A good GeoJSON of a few kB: tests lower ``settings.max_input_bytes`` below its size."""
    path = folder / "oversized.geojson"
    sample_communities().to_file(path, driver="GeoJSON")
    return path


def missing_shx(folder: Path) -> Path:
    """A loose shapefile (.shp .dbf .prj .cpg) without its .shx; returns the .shp."""
    return _write_loose(sample_communities(), folder, "missing_shx", drop=[".shx"])


def missing_dbf(folder: Path) -> Path:
    """A zipped shapefile without its .dbf."""
    return _write_zip(sample_communities(), folder, "missing_dbf", drop=[".dbf"])


def several_shapefiles(folder: Path) -> Path:
    """A zip holding two shapefiles, ``a/roads.shp`` and ``b/communities.shp``."""
    frame = sample_communities()
    first = _write_zip(frame, folder, "communities", member_dir="b/")
    second = _write_zip(frame.iloc[:1], folder, "roads", member_dir="a/")
    target = folder / "several.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for source in (first, second):
            with zipfile.ZipFile(source) as archive:
                for info in archive.infolist():
                    out.writestr(info.filename, archive.read(info))
            source.unlink()
    return target


def several_layers_gpkg(folder: Path) -> Path:
    """A GeoPackage with layers ``communities`` and ``old_version``."""
    path = folder / "several_layers.gpkg"
    sample_communities().to_file(path, layer="communities")
    sample_communities().iloc[:1].to_file(path, layer="old_version")
    return path


def garbage_shapefile(folder: Path) -> Path:
    """A .shp with its .shx and .dbf, all random bytes; returns the .shp."""
    rng = np.random.default_rng(7)
    for ext in (".shp", ".shx", ".dbf"):
        (folder / f"garbage{ext}").write_bytes(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    return folder / "garbage.shp"


def garbage_gpkg(folder: Path) -> Path:
    """A .gpkg file holding random bytes."""
    path = folder / "garbage.gpkg"
    path.write_bytes(np.random.default_rng(8).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def unreadable_file(folder: Path) -> Path:
    """A good GeoPackage with every permission removed (mode 000).

    A process running as root still reads it: tests skip the check then.
    """
    path = good_communities_gpkg(folder)
    path.chmod(0)
    return path


def gbk_member_names(folder: Path) -> Path:
    """A zip as Chinese Windows makes it: member names 小区.* in GBK, no UTF-8 flag."""
    source = good_communities(folder)
    parts = folder / "_gbk_names_parts"
    parts.mkdir()
    with zipfile.ZipFile(source) as archive:
        archive.extractall(parts)
    source.unlink()
    target = folder / "gbk_names.zip"
    placeholder = "abcd"  # as many bytes as "小区" in GBK
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(parts.iterdir()):
            archive.write(part, placeholder + part.suffix)
    shutil.rmtree(parts)
    data = target.read_bytes().replace(f"{placeholder}.".encode(), "小区.".encode("gbk"))
    target.write_bytes(data)
    return target


def utf8_cut_field_name(folder: Path) -> Path:
    """A loose UTF-8 shapefile whose Chinese field name GDAL cut at 10 bytes mid-character.

    "建成年份小区" is 18 bytes in UTF-8; GDAL keeps 10: 建成年 plus one byte of 份.
    """
    frame = gpd.GeoDataFrame(
        {"建成年份小区": ["荔枝园"], "街道": ["南恩街道"]},
        geometry=community_squares()[:1],
        crs="EPSG:4490",
    )
    shp = folder / "cut_name.shp"
    with warnings.catch_warnings():
        # GDAL reports the laundered field name in a message pyogrio cannot decode
        # (it is cut mid-character too): that is the very defect this file carries.
        warnings.simplefilter("ignore", RuntimeWarning)
        frame.to_file(shp, encoding="UTF-8")
    return shp
