"""End-to-end imports through ``renov import``: every bad input of the import spec is
built at test time, refused (or repaired) with a message naming the file, the record
and the fix, and a refused import leaves the workspace file byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from shapely.geometry import MultiPolygon
from typer.testing import CliRunner

import gislib.settings
from gislib.cli import app
from gislib.schema import LAYERS
from gislib.store import create_workspace, open_workspace
from tests import badfiles as bf

runner = CliRunner()

_FROM_SHORT = {f.short: f.name for f in LAYERS["communities"].fields}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def workspace(tmp_path: Path, tiny_layers: dict[str, pd.DataFrame]) -> Path:
    """A workspace whose communities include the badfiles' true outlines (ids REF-*)."""
    ref = bf.sample_communities().rename(columns=_FROM_SHORT)
    ref["community_id"] = [f"REF-{i}" for i in range(1, len(ref) + 1)]
    ref["county_code"] = "441702"
    ref["renovated_before"] = False
    ref = ref.set_geometry(ref.geometry.map(lambda g: MultiPolygon([g])))
    layers = dict(tiny_layers)
    layers["communities"] = pd.concat([tiny_layers["communities"], ref], ignore_index=True)
    return create_workspace(tmp_path / "ws" / "ws.gpkg", layers=layers, meta={"synthetic": "true"})


def renov_import(path: Path, workspace: Path, *extra: str):
    return runner.invoke(
        app,
        ["import", str(path), "--layer", "communities", "--workspace", str(workspace), *extra],
        catch_exceptions=False,
    )


REFUSED: list[tuple[str, Callable[[Path], Path], tuple[str, ...], tuple[str, ...]]] = [
    ("missing .prj", bf.missing_prj, (), ("missing_prj.zip", "--crs")),
    ("swapped lon/lat", bf.swapped_coordinates, (), ("swapped", "record 1", "交换")),
    ("projected, no CRS", bf.projected_without_crs, (), ("EPSG:4546", "--crs")),
    ("GCJ-02 shifted", bf.gcj02_shifted, (), ("--crs gcj02", "offset about")),
    ("empty geometry", bf.empty_geometry, (), ("record 2", "JC-2021-002", "no geometry")),
    ("mixed geometry types", bf.mixed_geometry, (), ("LineString", "JC-MIX-004", "polygon")),
    ("duplicate ids", bf.duplicate_ids, (), ("JC-2021-001", "record 1", "record(s) 3")),
    ("zip slip", bf.zip_slip, (), ("zip_slip.zip", "zip slip")),
    ("zip bomb", bf.zip_bomb, (), ("zip_bomb.zip", "zip bomb")),
    ("missing .shx", bf.missing_shx, (), ("missing_shx.shp", ".shx")),
    ("missing .dbf", bf.missing_dbf, (), ("missing_dbf", ".dbf")),
    ("several shapefiles", bf.several_shapefiles, (), ("several.zip", "--source-layer")),
    ("several gpkg layers", bf.several_layers_gpkg, (), ("old_version", "--source-layer")),
    ("garbage .shp", bf.garbage_shapefile, (), ("garbage.shp", "re-export")),
    ("garbage .gpkg", bf.garbage_gpkg, (), ("garbage.gpkg", "re-export")),
    ("bad values", bf.bad_values_csv, ("--crs", "EPSG:4490"), ("bad_values.csv",)),
    ("no build year column", bf.missing_required_column_csv, ("--crs", "EPSG:4490"), ("build",)),
]


@pytest.mark.parametrize(("case", "build", "extra", "words"), REFUSED, ids=[c[0] for c in REFUSED])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(
    case: str,
    build: Callable[[Path], Path],
    extra: tuple[str, ...],
    words: tuple[str, ...],
    workspace: Path,
    tmp_path: Path,
) -> None:
    before = digest(workspace)
    source = build(tmp_path)
    result = renov_import(source, workspace, *extra)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, f"{case}: {word!r} missing from:\n{result.output}"
    assert digest(workspace) == before


def test_oversized_file_is_refused_by_the_settings_limit(
    workspace: Path, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(gislib.settings, "max_input_bytes", 1000)
    before = digest(workspace)
    result = renov_import(bf.oversized_file(tmp_path), workspace)
    assert result.exit_code == 1
    assert "oversized.geojson" in result.output and "max_input_bytes" in result.output
    assert digest(workspace) == before


def test_ids_already_in_the_workspace_are_refused(workspace: Path, tmp_path: Path) -> None:
    first = renov_import(bf.good_communities(tmp_path), workspace)
    assert first.exit_code == 0, first.output
    before = digest(workspace)
    again = renov_import(bf.good_communities(tmp_path / "again"), workspace)
    assert again.exit_code == 1
    assert "JC-2021-001" in again.output
    assert digest(workspace) == before


@pytest.mark.parametrize(
    "build", [bf.good_communities, bf.good_communities_gpkg, bf.good_kml, bf.good_kmz]
)
def test_good_files_import_with_their_values(build, workspace: Path, tmp_path: Path) -> None:
    result = renov_import(build(tmp_path), workspace, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["written"] == 3 and payload["refusals"] == []
    comm = open_workspace(workspace).read("communities").set_index("community_id")
    assert comm.loc["JC-2021-001", "name"] == "荔枝园公租房小区"
    assert comm.loc["JC-2021-001", "build_year"] == 1995
    assert comm.loc["JC-2021-001", "geometry"].geom_type == "MultiPolygon"
    audit = open_workspace(workspace).audit_log(layer="communities")
    assert audit["action"].tolist()[-1] == "append"


def test_gbk_dbf_without_cpg_imports_the_chinese_text_exactly(
    workspace: Path, tmp_path: Path
) -> None:
    result = renov_import(bf.gbk_dbf_without_cpg(tmp_path), workspace)
    assert result.exit_code == 0, result.output
    assert "GB18030" in result.output or "GBK" in result.output
    comm = open_workspace(workspace).read("communities").set_index("community_id")
    assert [comm.loc[row[0], "name"] for row in bf.GBK_VALUES] == [row[1] for row in bf.GBK_VALUES]
    assert comm.loc["JC-2022-003", "street"] == "城北街道"
    assert comm.loc["JC-2022-003", "build_year"] == 2003


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (bf.invalid_geometry, ("record 2", "make_valid")),
        (bf.z_m_coordinates, ("Z/M",)),
    ],
)
def test_repairable_input_is_repaired_reported_and_written(
    build, words, workspace: Path, tmp_path: Path
) -> None:
    result = renov_import(build(tmp_path), workspace)
    assert result.exit_code == 0, result.output
    for word in words:
        assert word in result.output
    comm = open_workspace(workspace).read("communities")
    added = comm[comm["community_id"].str.startswith("JC-")]
    assert len(added) == 3
    assert added.geometry.is_valid.all() and not added.geometry.has_z.any()


def test_gcj02_data_imports_once_the_user_says_so(workspace: Path, tmp_path: Path) -> None:
    result = renov_import(bf.gcj02_shifted(tmp_path), workspace, "--crs", "gcj02")
    assert result.exit_code == 0, result.output
    comm = open_workspace(workspace).read("communities").set_index("community_id")
    true_outline = bf.community_squares()[0]
    # back on the true outline to well under a millimetre (1e-8 degree is about 1 mm)
    assert comm.loc["JC-2021-001", "geometry"].hausdorff_distance(true_outline) < 1e-8


def test_dry_run_validates_without_writing(workspace: Path, tmp_path: Path) -> None:
    before = digest(workspace)
    result = renov_import(bf.good_communities(tmp_path), workspace, "--dry-run")
    assert result.exit_code == 0, result.output
    assert digest(workspace) == before
