"""Tests of gislib.store: creation, reading types, audited transactions, stale edits."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, box

from gislib.errors import SchemaError, StaleEditError, WorkspaceError
from gislib.store import (
    GeoPackageWorkspace,
    create_workspace,
    open_workspace,
    resolve_workspace,
)

from .conftest import ORIGIN, square


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_community(cid: str, *, lon: float = ORIGIN[0] + 0.01) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "community_id": [cid],
            "name": ["东风四路12号大院"],
            "county_code": ["441702"],
            "build_year": [1990],
            "households": [48],
        },
        geometry=[square(lon, ORIGIN[1])],
        crs="EPSG:4490",
    )


def test_created_workspace_reads_back_every_layer_with_schema_types(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    assert ws.layer_names() == [
        "counties",
        "urban_areas",
        "communities",
        "expropriation_zones",
        "pipelines",
        "status_events",
    ]
    comm = ws.read("communities")
    assert isinstance(comm, gpd.GeoDataFrame)
    assert comm.crs.to_epsg() == 4490
    assert comm["name"].tolist()[0] == "江城区荔枝园公租房小区"
    assert str(comm["build_year"].dtype) == "Int64"
    assert str(comm["has_lift"].dtype) == "boolean"
    assert comm["households"].isna().tolist() == [False, False, True]
    assert comm["version"].tolist() == [1, 1, 1]
    assert comm.geometry.iloc[0].equals_exact(square(*ORIGIN), 1e-12)
    events = ws.read("status_events")
    assert not isinstance(events, gpd.GeoDataFrame)
    assert events["date"].dt.date.tolist()[0].isoformat() == "2020-09-01"


def test_workspace_is_a_standard_geopackage_readable_by_gdal(tiny_workspace: Path) -> None:
    layers = dict(pyogrio.list_layers(tiny_workspace))
    assert layers["communities"] == "MultiPolygon"
    assert layers["pipelines"] == "MultiLineString"
    assert pyogrio.read_info(tiny_workspace, layer="communities")["features"] == 3


def test_info_reports_counts_crs_extent_rasters_and_meta(tiny_workspace: Path) -> None:
    info = open_workspace(tiny_workspace).info()
    counts = {x.name: x.count for x in info.layers}
    assert counts["communities"] == 3 and counts["status_events"] == 2
    comm = next(x for x in info.layers if x.name == "communities")
    assert comm.crs == "EPSG:4490"
    assert comm.bounds is not None and comm.bounds[0] == pytest.approx(ORIGIN[0])
    assert [r.name for r in info.rasters] == ["waterlogging_depth"]
    assert info.rasters[0].crs == "EPSG:4546" and info.rasters[0].resolution == (10.0, 10.0)
    assert info.meta["synthetic"] == "true"
    pipes = next(x for x in info.layers if x.name == "pipelines")
    assert pipes.group_field == "network" and pipes.groups == {"gas": 1, "water": 1}
    assert comm.groups == {"441702": 3}
    assert info.to_dict()["layers"][0]["name"] == "counties"


def test_raster_round_trips_values_and_nodata(tiny_workspace: Path, tiny_raster) -> None:
    with open_workspace(tiny_workspace).open_raster("waterlogging_depth") as src:
        data = src.read(1)
        assert src.crs.to_epsg() == 4546
        np.testing.assert_allclose(data[1:, 1:], tiny_raster.array[1:, 1:])
        assert data[0, 0] == -9999.0
        assert src.nodata == -9999.0
        assert src.read(1, masked=True).mask.sum() == 1
        assert src.transform.c == 600_000 and src.transform.f == 2_420_000


def test_append_writes_records_and_one_audit_row_in_one_transaction(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    result = ws.append("communities", new_community("C9"), user="张工", note="import a.zip")
    assert result.count == 1 and result.ids == ["C9"]
    assert "C9" in ws.ids("communities")
    audit = ws.audit_log(layer="communities")
    assert audit["user"].tolist() == ["张工"]
    assert audit["action"].tolist() == ["append"]
    assert audit["note"].tolist() == ["import a.zip"]
    # the R-tree (used by GDAL for spatial filters) follows the inserted geometry
    hit = pyogrio.read_dataframe(
        tiny_workspace,
        layer="communities",
        bbox=(ORIGIN[0] + 0.0099, ORIGIN[1], ORIGIN[0] + 0.0111, ORIGIN[1] + 0.0005),
    )
    assert hit["community_id"].tolist() == ["C9"]


def test_append_with_duplicate_id_writes_nothing(tiny_workspace: Path) -> None:
    before = digest(tiny_workspace)
    ws = open_workspace(tiny_workspace)
    with pytest.raises(SchemaError, match="C1"):
        ws.append("communities", new_community("C1"), user="张工")
    assert digest(tiny_workspace) == before


def test_append_in_another_crs_is_refused(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    with pytest.raises(SchemaError, match="EPSG:4490"):
        ws.append("communities", new_community("C9").to_crs("EPSG:4546"), user="张工")


def test_append_failing_midway_rolls_back(tiny_workspace: Path, monkeypatch) -> None:
    ws = GeoPackageWorkspace(tiny_workspace)
    before = digest(tiny_workspace)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(GeoPackageWorkspace, "_audit", boom)
    with pytest.raises(RuntimeError):
        ws.append("communities", new_community("C9"), user="张工")
    assert "C9" not in ws.ids("communities")
    assert digest(tiny_workspace) == before


def test_update_bumps_version_and_audits_before_and_after(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    new_geom = MultiPolygon([box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 0.0012, ORIGIN[1] + 0.001)])
    version = ws.update(
        "communities",
        "C2",
        {"households": 64, "geometry": new_geom},
        expected_version=1,
        user="李工",
    )
    assert version == 2
    comm = ws.read("communities").set_index("community_id")
    assert comm.loc["C2", "households"] == 64 and comm.loc["C2", "version"] == 2
    assert shapely.equals(comm.loc["C2", "geometry"], new_geom)
    row = ws.audit_log(record_id="C2").iloc[-1]
    assert row["user"] == "李工" and row["action"] == "update"
    assert '"households": 60' in row["before"] and '"households": 64' in row["after"]


def test_stale_edit_is_refused_naming_who_changed_it(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    ws.update("communities", "C2", {"street": "城北街道"}, expected_version=1, user="李工")
    with pytest.raises(StaleEditError, match="李工") as info:
        ws.update("communities", "C2", {"street": "城东街道"}, expected_version=1, user="王工")
    assert info.value.current_version == 2
    assert ws.read("communities").set_index("community_id").loc["C2", "street"] == "城北街道"


def test_update_of_unknown_field_or_id_is_refused(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    with pytest.raises(SchemaError):
        ws.update("communities", "C2", {"colour": "red"}, expected_version=1, user="x")
    with pytest.raises(SchemaError):
        ws.update("communities", "C2", {"community_id": "C7"}, expected_version=1, user="x")
    with pytest.raises(SchemaError, match="C404"):
        ws.update("communities", "C404", {"street": "x"}, expected_version=1, user="x")


def test_status_history_is_append_only_even_with_raw_sql(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    with pytest.raises(SchemaError, match="append-only"):
        ws.update("status_events", "E1", {"note": "x"}, expected_version=1, user="x")
    with sqlite3.connect(tiny_workspace) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE status_events SET note = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM status_events")
    ws.update("communities", "C1", {"street": "x"}, expected_version=1, user="x")
    with (
        sqlite3.connect(tiny_workspace) as conn,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        conn.execute("DELETE FROM audit_log")
    assert len(ws.read("status_events")) == 2


def test_add_status_event_appends_and_checks_the_community(tiny_workspace: Path) -> None:
    import datetime as dt

    ws = open_workspace(tiny_workspace)
    event_id = ws.add_status_event(
        "C1", year=2021, stage="立项", date=dt.date(2021, 3, 1), user="张工"
    )
    events = ws.read("status_events")
    assert event_id in events["event_id"].tolist()
    assert len(events) == 3
    with pytest.raises(SchemaError, match="C404"):
        ws.add_status_event("C404", year=2021, stage="立项", date=dt.date(2021, 3, 1), user="张工")


def test_create_refuses_to_overwrite_and_leaves_no_temp_file(tmp_path: Path, tiny_layers) -> None:
    path = create_workspace(tmp_path / "ws.gpkg", layers=tiny_layers)
    with pytest.raises(WorkspaceError, match="overwrite"):
        create_workspace(path, layers=tiny_layers)
    broken = dict(tiny_layers)
    broken["communities"] = tiny_layers["communities"].drop(columns=["name"])
    with pytest.raises(SchemaError, match="name"):
        create_workspace(tmp_path / "other.gpkg", layers=broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws.gpkg"]


def test_empty_workspace_has_every_layer_and_no_records(tmp_path: Path) -> None:
    ws = open_workspace(create_workspace(tmp_path / "empty.gpkg"))
    assert len(ws.layer_names()) == 6
    assert all(x.count == 0 for x in ws.info().layers)
    ws.append("communities", new_community("C1"), user="张工")
    assert ws.ids("communities") == {"C1"}


def test_opening_a_plain_geopackage_says_it_is_not_a_workspace(tmp_path: Path) -> None:
    plain = tmp_path / "plain.gpkg"
    new_community("C1").to_file(plain, layer="communities")
    with pytest.raises(WorkspaceError, match="not a renovation workspace"):
        open_workspace(plain)
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(WorkspaceError, match=r"junk\.gpkg"):
        open_workspace(junk)


def test_resolve_copies_the_sample_on_first_use_and_never_touches_it(
    tmp_path, monkeypatch, tiny_workspace
) -> None:
    import gislib.datasets

    monkeypatch.setattr(gislib.datasets, "sample_workspace_path", lambda: tiny_workspace)
    target = tmp_path / "user" / "ws.gpkg"
    monkeypatch.setenv("RENOV_WORKSPACE", str(target))
    sample_digest = digest(tiny_workspace)
    assert resolve_workspace() == target
    assert target.exists() and digest(target) == sample_digest
    open_workspace(target).append("communities", new_community("C9"), user="张工")
    assert digest(tiny_workspace) == sample_digest
    with pytest.raises(WorkspaceError, match="renov init"):
        resolve_workspace(tmp_path / "missing.gpkg")


def test_extra_imported_columns_are_kept(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    frame = new_community("C9")
    frame["原始备注"] = ["含违建"]
    ws.append("communities", frame, user="张工")
    comm = ws.read("communities").set_index("community_id")
    assert comm.loc["C9", "原始备注"] == "含违建"
    assert pd.isna(comm.loc["C1", "原始备注"])


def test_snapshot_round_trip_with_its_audit_row(tiny_workspace: Path) -> None:
    import datetime as dt

    ws = open_workspace(tiny_workspace)
    assert ws.snapshots().empty
    payload = {
        "year": np.int64(2023),
        "share": np.float64(0.5),
        "missing": float("nan"),
        "date": dt.date(2023, 1, 2),
        "ids": ("C1", "C2"),
    }
    first = ws.save_snapshot(
        kind="year", year=2023, name="2023年度计划", payload=payload, user="张工"
    )
    second = ws.save_snapshot(kind="batches", year=2024, name="批次", payload={}, user="李工")
    listed = ws.snapshots()
    assert listed["snapshot_id"].tolist() == [first, second]
    assert listed.columns.tolist() == ["snapshot_id", "kind", "year", "name", "created_at", "user"]
    assert ws.snapshots(kind="year")["snapshot_id"].tolist() == [first]
    assert ws.snapshots(year=2024)["snapshot_id"].tolist() == [second]
    loaded = ws.load_snapshot(first)
    assert loaded["user"] == "张工" and loaded["year"] == 2023
    assert loaded["payload"] == {
        "year": 2023,
        "share": 0.5,
        "missing": None,
        "date": "2023-01-02",
        "ids": ["C1", "C2"],
    }
    audit = ws.audit_log(layer="snapshots")
    assert audit["record_id"].tolist() == [str(first), str(second)]
    assert set(audit["action"]) == {"snapshot"}
    with pytest.raises(SchemaError, match="99"):
        ws.load_snapshot(99)


def test_snapshots_are_append_only_and_refuse_non_json(tiny_workspace: Path) -> None:
    ws = open_workspace(tiny_workspace)
    ws.save_snapshot(kind="year", year=2021, name="x", payload={"a": 1}, user="张工")
    with sqlite3.connect(tiny_workspace) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE snapshots SET payload = '{}'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM snapshots")
    with pytest.raises(SchemaError, match=r"payload\.bad"):
        ws.save_snapshot(kind="year", year=2021, name="x", payload={"bad": object()}, user="张工")
    with pytest.raises(SchemaError, match="user"):
        ws.save_snapshot(kind="year", year=2021, name="x", payload={}, user="")
    assert len(ws.snapshots()) == 1
    assert len(ws.audit_log(layer="snapshots")) == 1


def test_a_workspace_made_before_snapshots_opens_and_saves_one(tiny_workspace: Path) -> None:
    with sqlite3.connect(tiny_workspace) as conn:
        conn.execute("DROP TRIGGER snapshots_no_update")
        conn.execute("DROP TRIGGER snapshots_no_delete")
        conn.execute("DROP TABLE snapshots")
    before = digest(tiny_workspace)
    ws = open_workspace(tiny_workspace)
    assert ws.snapshots().empty
    assert digest(tiny_workspace) == before  # reading does not create the table
    snapshot_id = ws.save_snapshot(
        kind="year", year=2022, name="y", payload={"k": "v"}, user="张工"
    )
    assert ws.load_snapshot(snapshot_id)["payload"] == {"k": "v"}
    with (
        sqlite3.connect(tiny_workspace) as conn,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        conn.execute("DELETE FROM snapshots")
    assert len(ws.read("communities")) == 3
