"""Storage of a renovation workspace: one GeoPackage, edits audited, history append-only.

A workspace holds the layers of :mod:`gislib.schema` (in CGCS2000,
EPSG:4490), the rasters (GeoPackage 2D gridded coverage, Float32), a
``workspace_meta`` table (title, whether the data is the synthetic sample) and
an ``audit_log`` and ``snapshots`` (decisions frozen as they were made, JSON;
created on the first save in a workspace made before it existed). Every change is one SQLite transaction that also writes its
audit row (who, when, what, before, after); if anything fails, nothing is
written. ``status_events``, ``audit_log`` and ``snapshots`` are append-only: triggers in the
file refuse updates and deletes, whoever opens it. Editable records carry a
``version``; an edit based on an older version raises
:class:`~gislib.errors.StaleEditError` instead of overwriting someone else's
change.

Callers use the :class:`Workspace` interface and :func:`open_workspace`;
:class:`GeoPackageWorkspace` is the one backend today. A PostGIS backend
would implement the same methods (``open_workspace("postgresql://...")``)
without touching callers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import struct
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from affine import Affine
from pyproj import CRS

from gislib import settings
from gislib.crs import crs_label
from gislib.errors import SchemaError, StaleEditError, WorkspaceError
from gislib.schema import LAYERS, STORAGE_CRS, Layer, layer_schema

__all__ = [
    "AUDIT_TABLE",
    "META_TABLE",
    "SNAPSHOT_COLUMNS",
    "SNAPSHOT_TABLE",
    "AppendResult",
    "GeoPackageWorkspace",
    "LayerInfo",
    "RasterInfo",
    "RasterSpec",
    "Workspace",
    "WorkspaceInfo",
    "create_workspace",
    "default_workspace_path",
    "open_workspace",
    "resolve_workspace",
]

logger = logging.getLogger(__name__)

AUDIT_TABLE = "audit_log"
META_TABLE = "workspace_meta"
#: Append-only table of frozen decisions (a year's plan, verdicts, batches) as JSON.
SNAPSHOT_TABLE = "snapshots"
#: Columns of :meth:`Workspace.snapshots` (the payload is read with :meth:`Workspace.load_snapshot`).
SNAPSHOT_COLUMNS: tuple[str, ...] = ("snapshot_id", "kind", "year", "name", "created_at", "user")
#: Schema version of the workspace file written by this module.
WORKSPACE_FORMAT = "1"
_STORAGE_SRS_ID = 4490
_GEOM_COLUMN = "geom"
#: Field by which :meth:`Workspace.info` breaks down each layer's count.
_INFO_GROUPS = {
    "communities": "county_code",
    "urban_areas": "county_code",
    "pipelines": "network",
    "status_events": "year",
}
_FID_COLUMN = "fid"


@dataclass(frozen=True)
class RasterSpec:
    """A raster to store in a workspace.

    Parameters
    ----------
    array : ndarray
        2-D array, written as Float32.
    transform : affine.Affine
        Cell-to-map transform in ``crs``.
    crs : str
        CRS of the grid, e.g. ``"EPSG:4546"`` (metres).
    nodata : float
        Value marking cells without data.
    description : str
        What the values are, with unit, in Chinese and English.
    """

    array: np.ndarray
    transform: Affine
    crs: str
    nodata: float
    description: str = ""


@dataclass(frozen=True)
class LayerInfo:
    """Summary of one vector layer or table."""

    name: str
    zh: str
    count: int
    geometry_type: str | None
    crs: str | None
    bounds: tuple[float, float, float, float] | None
    #: Counts by a grouping field (communities by county, pipelines by network...).
    groups: dict[str, int] = field(default_factory=dict)
    group_field: str | None = None


@dataclass(frozen=True)
class RasterInfo:
    """Summary of one raster."""

    name: str
    width: int
    height: int
    crs: str
    resolution: tuple[float, float]
    bounds: tuple[float, float, float, float]
    description: str


@dataclass(frozen=True)
class WorkspaceInfo:
    """What :meth:`Workspace.info` reports."""

    path: str
    meta: dict[str, str]
    layers: list[LayerInfo]
    rasters: list[RasterInfo]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        return {
            "path": self.path,
            "meta": self.meta,
            "layers": [vars(x) for x in self.layers],
            "rasters": [vars(x) for x in self.rasters],
        }


@dataclass(frozen=True)
class AppendResult:
    """Outcome of :meth:`Workspace.append`."""

    layer: str
    count: int
    ids: list[str] = field(default_factory=list)
    audit_id: int = 0


class Workspace(ABC):
    """Interface of a workspace backend; see :class:`GeoPackageWorkspace`.

    Every method that writes is one transaction with its audit row.
    """

    #: Location shown to users (a path or a URI).
    location: str

    @property
    @abstractmethod
    def meta(self) -> dict[str, str]:
        """Key-value metadata (``title``, ``synthetic`` = ``"true"`` for the sample...)."""

    @property
    def is_synthetic(self) -> bool:
        """Whether the data is the synthetic sample (the UI must say so)."""
        return self.meta.get("synthetic", "false").lower() == "true"

    @abstractmethod
    def layer_names(self) -> list[str]:
        """Names of the schema layers present."""

    @abstractmethod
    def read(self, layer: str) -> pd.DataFrame:
        """Read a layer: a GeoDataFrame in EPSG:4490, or a DataFrame for tables."""

    @abstractmethod
    def ids(self, layer: str) -> set[str]:
        """The ids present in ``layer``."""

    @abstractmethod
    def append(self, layer: str, frame: pd.DataFrame, *, user: str, note: str = "") -> AppendResult:
        """Append records in one transaction; refuse duplicate ids."""

    @abstractmethod
    def update(
        self,
        layer: str,
        record_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int,
        user: str,
        note: str = "",
    ) -> int:
        """Change one record if it is still at ``expected_version``; return the new version."""

    @abstractmethod
    def audit_log(self, *, layer: str | None = None, record_id: str | None = None) -> pd.DataFrame:
        """The audit rows, oldest first."""

    @abstractmethod
    def save_snapshot(
        self, *, kind: str, year: int | None, name: str, payload: Mapping[str, Any], user: str
    ) -> int:
        """Freeze a decision (JSON payload) in the append-only snapshots; return its id."""

    @abstractmethod
    def snapshots(self, *, kind: str | None = None, year: int | None = None) -> pd.DataFrame:
        """The stored snapshots (without payload), oldest first."""

    @abstractmethod
    def load_snapshot(self, snapshot_id: int) -> dict[str, Any]:
        """One snapshot with its payload."""

    @abstractmethod
    def raster_names(self) -> list[str]:
        """Names of the stored rasters."""

    @abstractmethod
    def open_raster(self, name: str) -> rasterio.io.DatasetReader:
        """Open a stored raster for reading (use as a context manager)."""

    @abstractmethod
    def info(self) -> WorkspaceInfo:
        """Layers, counts, CRS, extents, rasters and metadata."""

    def add_status_event(
        self,
        community_id: str,
        *,
        year: int,
        stage: str,
        date: dt.date,
        user: str,
        note: str = "",
    ) -> str:
        """Append one status event for a community and return its id.

        Parameters
        ----------
        community_id : str
            An id present in ``communities``.
        year : int
            The plan year the work belongs to.
        stage : str
            One of :data:`gislib.schema.STAGES`.
        date : datetime.date
            When the stage was reached.
        user, note : str
            Who records it, and a free note.

        Raises
        ------
        SchemaError
            Unknown community or stage.
        """
        if community_id not in self.ids("communities"):
            raise SchemaError(f"小区编号 {community_id!r} 不存在 / no community {community_id!r}")
        event_id = f"E{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}-{community_id}"
        frame = pd.DataFrame(
            [
                {
                    "event_id": event_id,
                    "community_id": community_id,
                    "year": year,
                    "stage": stage,
                    "date": date,
                    "user": user,
                    "note": note,
                }
            ]
        )
        self.append("status_events", frame, user=user, note=note)
        return event_id


# ---------------------------------------------------------------------------
# GeoPackage geometry blobs (GeoPackage 1.3, clause 2.1.3)


def _encode_gpkg(geoms: Sequence[Any], srs_id: int = _STORAGE_SRS_ID) -> list[bytes | None]:
    """Encode shapely geometries as GeoPackage blobs: header, xy envelope, ISO WKB."""
    arr = np.asarray(geoms, dtype=object)
    wkb = shapely.to_wkb(arr, byte_order=1, flavor="iso", output_dimension=2)
    bounds = shapely.bounds(arr)
    out: list[bytes | None] = []
    for geom, blob, (minx, miny, maxx, maxy) in zip(arr, wkb, bounds, strict=True):
        if geom is None:
            out.append(None)
        elif shapely.is_empty(geom):
            out.append(b"GP\x00" + bytes([0x01 | 0x10]) + struct.pack("<i", srs_id) + blob)
        else:
            header = b"GP\x00\x03" + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy)
            out.append(header + blob)
    return out


_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}


def _envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a GeoPackage blob, from its header or its WKB."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0x10:
        return None
    order = "<" if flags & 0x01 else ">"
    kind = (flags >> 1) & 0x07
    if kind >= 1:
        return struct.unpack_from(f"{order}4d", blob, 8)
    geom = shapely.from_wkb(blob[8 + 8 * _ENVELOPE_DOUBLES[kind] :])
    minx, miny, maxx, maxy = geom.bounds
    return (minx, maxx, miny, maxy)


def _register_gpkg_functions(conn: sqlite3.Connection) -> None:
    """Give plain SQLite the ST_ functions that GDAL's R-tree triggers call."""

    def part(index: int) -> Any:
        def fn(blob: bytes | None) -> float | None:
            env = _envelope(blob)
            return None if env is None else env[index]

        return fn

    conn.create_function("ST_MinX", 1, part(0), deterministic=True)
    conn.create_function("ST_MaxX", 1, part(1), deterministic=True)
    conn.create_function("ST_MinY", 1, part(2), deterministic=True)
    conn.create_function("ST_MaxY", 1, part(3), deterministic=True)
    conn.create_function(
        "ST_IsEmpty",
        1,
        lambda blob: None if blob is None else int(bool(blob[3] & 0x10)),
        deterministic=True,
    )


# ---------------------------------------------------------------------------
# Values: schema types <-> SQLite


def _to_sql_value(value: Any, ftype: str) -> Any:
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if ftype == "int":
        return int(value)
    if ftype == "float":
        return float(value)
    if ftype == "bool":
        return int(bool(value))
    if ftype == "date":
        return pd.Timestamp(value).date().isoformat()
    if ftype == "datetime":
        return pd.Timestamp(value).isoformat()
    if ftype == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _json_safe(value: Any) -> Any:
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, shapely.Geometry):
        return value.wkt
    return value


def _apply_types(frame: pd.DataFrame, schema: Layer) -> pd.DataFrame:
    """Cast the schema fields of a frame read from storage to their pandas dtypes."""
    out = frame.copy()
    for f in schema.fields:
        if f.name not in out.columns:
            continue
        col = out[f.name]
        if f.type == "int":
            out[f.name] = pd.to_numeric(col, errors="coerce").round().astype("Int64")
        elif f.type == "float":
            out[f.name] = pd.to_numeric(col, errors="coerce").astype("Float64")
        elif f.type == "bool":
            out[f.name] = col.map(lambda v: None if pd.isna(v) else bool(v)).astype("boolean")
        elif f.type in ("date", "datetime"):
            out[f.name] = pd.to_datetime(col, errors="coerce")
        else:
            out[f.name] = col.astype("string")
    return out


def _schema_columns(schema: Layer, frame: pd.DataFrame) -> list[str]:
    """Columns to store: schema fields first (in order), then extra columns kept from imports."""
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    own = [f.name for f in schema.fields]
    extra = [c for c in frame.columns if c not in own and c != geometry and c != _FID_COLUMN]
    return own + extra


def _sql_type(ftype: str) -> str:
    return {
        "int": "INTEGER",
        "float": "REAL",
        "bool": "BOOLEAN",
        "date": "DATE",
        "datetime": "DATETIME",
    }.get(ftype, "TEXT")


def _quote(name: str) -> str:
    """Quote an identifier for SQL (identifiers only; values are always bound)."""
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------------
# Creating a workspace


def _empty_frame(schema: Layer) -> pd.DataFrame:
    data = {f.name: pd.Series([], dtype="object") for f in schema.fields}
    if schema.geometry_type is None:
        return pd.DataFrame(data)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def _prepare_for_write(frame: pd.DataFrame, schema: Layer, *, name: str) -> pd.DataFrame:
    """Check a layer against its schema and convert values for pyogrio."""
    missing = [f.name for f in schema.fields if f.required and f.name not in frame.columns]
    if missing:
        raise SchemaError(
            f"图层 {name} 缺少字段 {', '.join(missing)} / layer {name!r} lacks required "
            f"fields {missing}"
        )
    out = frame.copy()
    if "version" in schema.field_names:
        out["version"] = 1
    for f in schema.fields:
        if f.name not in out.columns:
            out[f.name] = None
        if f.type in ("date", "datetime", "json"):
            out[f.name] = [_to_sql_value(v, f.type) for v in out[f.name]]
    ids = out[schema.id_field]
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        raise SchemaError(
            f"图层 {name} 编号重复 / duplicate ids in {name!r}: {sorted(set(dup.astype(str)))[:10]}"
        )
    if isinstance(out, gpd.GeoDataFrame) and (
        out.crs is None or not CRS.from_user_input(out.crs).equals(CRS(STORAGE_CRS))
    ):
        raise SchemaError(
            f"图层 {name} 坐标系为 {crs_label(out.crs)}，应为 EPSG:4490 / layer {name!r} "
            f"must be in EPSG:4490, found {crs_label(out.crs)}"
        )
    cols = _schema_columns(schema, out)
    if isinstance(out, gpd.GeoDataFrame):
        cols.append(out.geometry.name)
    return out[cols]


def _write_raster(path: Path, name: str, spec: RasterSpec) -> None:
    array = np.asarray(spec.array, dtype="float32")
    if array.ndim != 2:
        raise SchemaError(f"raster {name!r} must be 2-D, got shape {array.shape}")
    profile = {
        "driver": "GPKG",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": spec.crs,
        "transform": spec.transform,
        "nodata": spec.nodata,
        "RASTER_TABLE": name,
        "RASTER_DESCRIPTION": spec.description,
        "APPEND_SUBDATASET": "YES",
        "TILE_FORMAT": "TIFF",
        "GRID_CELL_ENCODING": "grid-value-is-area",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    # GDAL does not carry the nodata value into the coverage's ancillary row;
    # set it there so that every reader (GDAL included) masks those cells.
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "UPDATE gpkg_2d_gridded_coverage_ancillary SET data_null = ?, field_name = ?, "
            "quantity_definition = ? WHERE tile_matrix_set_name = ?",
            (float(spec.nodata), name, spec.description or name, name),
        )


def _create_snapshot_table(conn: sqlite3.Connection) -> None:
    """Create the append-only snapshots table and its triggers if missing (idempotent)."""
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {SNAPSHOT_TABLE} (
            snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            year INTEGER,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            user TEXT NOT NULL,
            payload TEXT NOT NULL)"""
    )
    for op in ("UPDATE", "DELETE"):
        conn.execute(
            f"CREATE TRIGGER IF NOT EXISTS {SNAPSHOT_TABLE}_no_{op.lower()} BEFORE {op} ON "
            f"{SNAPSHOT_TABLE} BEGIN SELECT RAISE(ABORT, '{SNAPSHOT_TABLE} is append-only'); END"
        )


def _jsonable(value: Any, where: str) -> Any:
    """``value`` as plain JSON types (NaN/NA -> null, dates -> ISO text), or a SchemaError."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(items)]
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (dt.date, pd.Timestamp)):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, shapely.Geometry):
        return value.wkt
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    raise SchemaError(
        f"快照内容 {where} 的值 {value!r}（{type(value).__name__}）无法保存为 JSON，请转换为文字或数字 / "
        f"snapshot payload {where} holds a {type(value).__name__}, which is not JSON: convert it"
    )


def _create_support_tables(conn: sqlite3.Connection, meta: Mapping[str, str]) -> None:
    conn.execute(f"CREATE TABLE {META_TABLE} (key TEXT PRIMARY KEY NOT NULL, value TEXT)")
    conn.executemany(
        f"INSERT INTO {META_TABLE} (key, value) VALUES (?, ?)",
        [(str(k), str(v)) for k, v in meta.items()],
    )
    conn.execute(
        f"""CREATE TABLE {AUDIT_TABLE} (
            audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts TEXT NOT NULL,
            user TEXT NOT NULL,
            action TEXT NOT NULL,
            layer TEXT NOT NULL,
            record_id TEXT,
            before TEXT,
            after TEXT,
            note TEXT)"""
    )
    for table in (AUDIT_TABLE, "status_events"):
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {_quote(table)} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    _create_snapshot_table(conn)
    for name, schema in LAYERS.items():
        conn.execute(
            f"CREATE UNIQUE INDEX {name}_{schema.id_field}_unique "
            f"ON {_quote(name)} ({_quote(schema.id_field)})"
        )


def create_workspace(
    path: Path | str,
    *,
    layers: Mapping[str, pd.DataFrame] | None = None,
    rasters: Mapping[str, RasterSpec] | None = None,
    meta: Mapping[str, str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a new workspace GeoPackage.

    The file is built under a temporary name in the same folder and moved into
    place only when complete, so a failure leaves nothing behind.

    Parameters
    ----------
    path : path-like
        The ``.gpkg`` to create.
    layers : mapping of str to DataFrame, optional
        Layer name -> data following :mod:`gislib.schema` (geometries in
        EPSG:4490; ``status_events`` a plain DataFrame). Layers not given are
        created empty.
    rasters : mapping of str to RasterSpec, optional
        Rasters to store as GeoPackage gridded coverage (Float32).
    meta : mapping, optional
        Metadata, e.g. ``{"title": ..., "synthetic": "true"}``.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path
        The workspace written.

    Raises
    ------
    WorkspaceError
        The file exists and ``overwrite`` is false.
    SchemaError
        A layer is unknown, lacks a required field, has duplicate ids or is not in
        EPSG:4490.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise WorkspaceError(
            f"工作区 {path} 已存在；如需覆盖请加 --overwrite / workspace {path} exists; "
            "pass overwrite to replace it"
        )
    layers = dict(layers or {})
    unknown = sorted(set(layers) - set(LAYERS))
    if unknown:
        raise SchemaError(f"unknown layers {unknown}; layers are {list(LAYERS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".gpkg", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        for name, schema in LAYERS.items():
            frame = layers.get(name)
            frame = _empty_frame(schema) if frame is None else frame
            prepared = _prepare_for_write(frame, schema, name=name)
            kwargs: dict[str, Any] = {"layer": name, "driver": "GPKG", "append": tmp.exists()}
            if schema.geometry_type is not None:
                kwargs["geometry_type"] = schema.geometry_type
                kwargs["GEOMETRY_NAME"] = _GEOM_COLUMN
            pyogrio.write_dataframe(prepared, tmp, **kwargs)
        meta_all = {"format": WORKSPACE_FORMAT, "created": dt.datetime.now(dt.UTC).isoformat()}
        meta_all.update({str(k): str(v) for k, v in (meta or {}).items()})
        with contextlib.closing(sqlite3.connect(tmp)) as conn, conn:
            _create_support_tables(conn, meta_all)
        for rname, spec in (rasters or {}).items():
            _write_raster(tmp, rname, spec)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("created workspace %s", path)
    return path


# ---------------------------------------------------------------------------
# The GeoPackage backend


class GeoPackageWorkspace(Workspace):
    """A workspace in one GeoPackage file.

    Parameters
    ----------
    path : path-like
        An existing workspace, made by :func:`create_workspace`.

    Raises
    ------
    WorkspaceError
        Missing file, or a file that is not a workspace.

    Examples
    --------
    >>> ws = GeoPackageWorkspace("data/sample/yangjiang.gpkg")  # doctest: +SKIP
    >>> ws.read("communities").crs.to_epsg()  # doctest: +SKIP
    4490
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        if not self.path.is_file():
            raise WorkspaceError(
                f"工作区 {self.path} 不存在，请先运行 renov init / workspace {self.path} does "
                "not exist; create it with `renov init`"
            )
        try:
            with self._connect() as conn:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(
                f"{self.path} 不是有效的工作区文件 / is not a workspace GeoPackage: {exc}"
            ) from exc
        if META_TABLE not in tables or AUDIT_TABLE not in tables:
            raise WorkspaceError(
                f"{self.path} 不是改造工作区（缺少 {META_TABLE}/{AUDIT_TABLE} 表）/ is a "
                "GeoPackage but not a renovation workspace; create one with `renov init` "
                "and import the layers"
            )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            _register_gpkg_functions(conn)
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @property
    def meta(self) -> dict[str, str]:
        with self._connect() as conn:
            return dict(conn.execute(f"SELECT key, value FROM {META_TABLE}").fetchall())

    def layer_names(self) -> list[str]:
        with self._connect() as conn:
            present = {r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents")}
        return [name for name in LAYERS if name in present]

    def _require_layer(self, layer: str) -> Layer:
        try:
            schema = layer_schema(layer)
        except KeyError as exc:
            raise SchemaError(str(exc.args[0])) from None
        if layer not in self.layer_names():
            raise WorkspaceError(f"工作区 {self.path} 中没有图层 {layer} / no layer {layer!r}")
        return schema

    def read(self, layer: str) -> pd.DataFrame:
        """Read a layer.

        Returns
        -------
        GeoDataFrame or DataFrame
            Features in EPSG:4490 with schema dtypes (nullable ``Int64``,
            ``Float64``, ``boolean``, ``string``, dates as ``datetime64``), or
            a DataFrame for ``status_events``. The ``fid`` is not returned.
        """
        schema = self._require_layer(layer)
        frame = pyogrio.read_dataframe(self.path, layer=layer, fid_as_index=False)
        frame = _apply_types(frame, schema)
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None:
            frame = frame.set_crs(STORAGE_CRS)
        return frame.reset_index(drop=True)

    def ids(self, layer: str) -> set[str]:
        schema = self._require_layer(layer)
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_quote(schema.id_field)} FROM {_quote(layer)}")
            return {str(r[0]) for r in rows}

    def _columns(self, conn: sqlite3.Connection, layer: str) -> list[str]:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({_quote(layer)})")]

    def _audit(
        self,
        conn: sqlite3.Connection,
        *,
        user: str,
        action: str,
        layer: str,
        record_id: str | None,
        before: Any,
        after: Any,
        note: str,
    ) -> int:
        cur = conn.execute(
            f"INSERT INTO {AUDIT_TABLE} (ts, user, action, layer, record_id, before, after, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                user,
                action,
                layer,
                record_id,
                None if before is None else json.dumps(before, ensure_ascii=False, default=str),
                None if after is None else json.dumps(after, ensure_ascii=False, default=str),
                note,
            ),
        )
        return int(cur.lastrowid or 0)

    def append(self, layer: str, frame: pd.DataFrame, *, user: str, note: str = "") -> AppendResult:
        """Append records to ``layer`` in one transaction with one audit row.

        Parameters
        ----------
        layer : str
            A schema layer.
        frame : DataFrame or GeoDataFrame
            Records with the schema's field names; geometries in EPSG:4490.
            Columns not in the schema are added to the table (kept from imports).
        user : str
            Who makes the change (audited).
        note : str
            Free text for the audit row (e.g. the imported file).

        Returns
        -------
        AppendResult

        Raises
        ------
        SchemaError
            Missing required values, duplicate ids (within ``frame`` or with the
            stored records), a geometry layer fed without geometries, or a CRS
            other than EPSG:4490. Nothing is written.
        """
        schema = self._require_layer(layer)
        if not user:
            raise SchemaError("a change needs a user name for the audit log")
        if schema.geometry_type is not None and not isinstance(frame, gpd.GeoDataFrame):
            raise SchemaError(f"图层 {layer} 需要几何 / layer {layer!r} needs geometries")
        prepared = _prepare_for_write(frame, schema, name=layer)
        ids = prepared[schema.id_field].astype(str).tolist()
        for f in schema.fields:
            if f.required and prepared[f.name].isna().any():
                bad = prepared.loc[prepared[f.name].isna(), schema.id_field].astype(str).tolist()
                raise SchemaError(
                    f"图层 {layer} 的必填字段 {f.zh}（{f.name}）为空：{bad[:10]} / required "
                    f"field {f.name!r} is empty for {bad[:10]}"
                )
        with self._transaction() as conn:
            clash = sorted(set(ids) & self._ids_in(conn, layer, schema))
            if clash:
                raise SchemaError(
                    f"编号已存在于图层 {layer}：{clash[:10]}，导入已取消，未写入任何数据 / "
                    f"ids already in {layer!r}: {clash[:10]}; nothing was written"
                )
            existing = self._columns(conn, layer)
            geometry = prepared.geometry.name if isinstance(prepared, gpd.GeoDataFrame) else None
            columns = [c for c in prepared.columns if c != geometry]
            for col in columns:
                if col not in existing:
                    conn.execute(f"ALTER TABLE {_quote(layer)} ADD COLUMN {_quote(col)} TEXT")
            types = {f.name: f.type for f in schema.fields}
            rows = [
                [
                    _to_sql_value(v, types.get(col, "str"))
                    for col, v in zip(columns, rec, strict=True)
                ]
                for rec in prepared[columns].itertuples(index=False, name=None)
            ]
            sql_cols = [_quote(c) for c in columns]
            if isinstance(prepared, gpd.GeoDataFrame):
                blobs = _encode_gpkg(list(prepared.geometry.to_numpy()))
                rows = [[*r, b] for r, b in zip(rows, blobs, strict=True)]
                sql_cols.append(_quote(_GEOM_COLUMN))
            placeholders = ", ".join("?" * len(sql_cols))
            conn.executemany(
                f"INSERT INTO {_quote(layer)} ({', '.join(sql_cols)}) VALUES ({placeholders})",
                rows,
            )
            self._touch_contents(conn, layer)
            audit_id = self._audit(
                conn,
                user=user,
                action="append",
                layer=layer,
                record_id=ids[0] if len(ids) == 1 else None,
                before=None,
                after={"count": len(ids), "ids": ids},
                note=note,
            )
        logger.info("appended %d records to %s", len(ids), layer)
        return AppendResult(layer=layer, count=len(ids), ids=ids, audit_id=audit_id)

    def _ids_in(self, conn: sqlite3.Connection, layer: str, schema: Layer) -> set[str]:
        rows = conn.execute(f"SELECT {_quote(schema.id_field)} FROM {_quote(layer)}")
        return {str(r[0]) for r in rows}

    def _touch_contents(self, conn: sqlite3.Connection, layer: str) -> None:
        """Keep gpkg_contents' extent and change time right after a write."""
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        rtree = f"rtree_{layer}_{_GEOM_COLUMN}"
        has_rtree = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (rtree,)).fetchone()
        if has_rtree:
            ext = conn.execute(
                f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM {_quote(rtree)}"
            ).fetchone()
            conn.execute(
                "UPDATE gpkg_contents SET last_change = ?, min_x = ?, min_y = ?, max_x = ?, "
                "max_y = ? WHERE table_name = ?",
                (now, *ext, layer),
            )
        else:
            conn.execute(
                "UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?", (now, layer)
            )

    def update(
        self,
        layer: str,
        record_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int,
        user: str,
        note: str = "",
    ) -> int:
        """Change fields (and/or ``geometry``) of one record, guarded by its version.

        Parameters
        ----------
        layer, record_id : str
            The record.
        changes : mapping
            Field -> new value; ``"geometry"`` -> a shapely geometry in EPSG:4490.
        expected_version : int
            The version the user saw; the edit is refused if it has changed since.
        user, note : str
            For the audit row.

        Returns
        -------
        int
            The new version.

        Raises
        ------
        StaleEditError
            Someone saved the record after the user loaded it; nothing is written.
        SchemaError
            Unknown record or field, an append-only layer, or an id change.
        """
        schema = self._require_layer(layer)
        if schema.append_only:
            raise SchemaError(f"图层 {layer} 只能追加，不能修改 / {layer!r} is append-only")
        if "version" not in schema.field_names:
            raise SchemaError(f"layer {layer!r} has no version field and cannot be edited")
        fields = {f.name: f for f in schema.fields}
        bad = [k for k in changes if k not in fields and k != "geometry"]
        if bad or schema.id_field in changes or "version" in changes:
            raise SchemaError(
                f"不能修改字段 {bad or [schema.id_field, 'version']} / cannot change fields "
                f"{bad or [schema.id_field, 'version']} of {layer!r}"
            )
        with self._transaction() as conn:
            cols = [c for c in changes if c != "geometry"]
            select = ", ".join([_quote(c) for c in cols] + ["version"])
            if "geometry" in changes:
                select += f", {_quote(_GEOM_COLUMN)}"
            row = conn.execute(
                f"SELECT {select} FROM {_quote(layer)} WHERE {_quote(schema.id_field)} = ?",
                (record_id,),
            ).fetchone()
            if row is None:
                raise SchemaError(f"图层 {layer} 中没有编号 {record_id} / no record {record_id!r}")
            current = int(row[len(cols)])
            if current != expected_version:
                last = conn.execute(
                    f"SELECT user, ts FROM {AUDIT_TABLE} WHERE layer = ? AND record_id = ? "
                    "ORDER BY audit_id DESC LIMIT 1",
                    (layer, record_id),
                ).fetchone()
                who = f"{last[0]}（{last[1]}）" if last else "他人"
                raise StaleEditError(
                    f"小区/记录 {record_id} 已被 {who} 修改（当前版本 {current}，您编辑的是版本 "
                    f"{expected_version}）。您的修改未保存，请重新加载后再编辑。 / {record_id} was "
                    f"changed by {last[0] if last else 'someone else'} since you loaded it "
                    f"(version {current}, yours {expected_version}); your edit was not saved, "
                    "reload and edit again",
                    layer=layer,
                    record_id=record_id,
                    expected_version=expected_version,
                    current_version=current,
                )
            before = {c: _json_safe(row[i]) for i, c in enumerate(cols)}
            after = {c: _json_safe(changes[c]) for c in cols}
            assignments = [f"{_quote(c)} = ?" for c in cols]
            values = [_to_sql_value(changes[c], fields[c].type) for c in cols]
            if "geometry" in changes:
                geom = changes["geometry"]
                before["geometry"] = _json_safe(_decode_gpkg(row[-1]))
                after["geometry"] = _json_safe(geom)
                assignments.append(f"{_quote(_GEOM_COLUMN)} = ?")
                values.append(_encode_gpkg([geom])[0])
            assignments.append("version = version + 1")
            conn.execute(
                f"UPDATE {_quote(layer)} SET {', '.join(assignments)} "
                f"WHERE {_quote(schema.id_field)} = ? AND version = ?",
                (*values, record_id, expected_version),
            )
            self._touch_contents(conn, layer)
            self._audit(
                conn,
                user=user,
                action="update",
                layer=layer,
                record_id=record_id,
                before=before,
                after=after,
                note=note,
            )
        return current + 1

    def audit_log(self, *, layer: str | None = None, record_id: str | None = None) -> pd.DataFrame:
        clauses, params = [], []
        if layer is not None:
            clauses.append("layer = ?")
            params.append(layer)
        if record_id is not None:
            clauses.append("record_id = ?")
            params.append(record_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect() as conn:
            return pd.read_sql_query(
                f"SELECT * FROM {AUDIT_TABLE}{where} ORDER BY audit_id", conn, params=params
            )

    def save_snapshot(
        self, *, kind: str, year: int | None, name: str, payload: Mapping[str, Any], user: str
    ) -> int:
        """Freeze a decision as it is made: one append-only row with its audit row.

        The table is created on the first save in a workspace made before it
        existed; a snapshot is never changed or deleted (a newer one is saved).

        Parameters
        ----------
        kind : str
            What is frozen, e.g. ``"year"`` (a year's plan, verdicts and batches).
        year : int or None
            The plan year it belongs to.
        name : str
            A label shown to users.
        payload : mapping
            JSON-ready content (numpy scalars, dates, NaN and shapely
            geometries are converted: NaN to null, dates to ISO text,
            geometries to WKT).
        user : str
            Who freezes it (audited).

        Returns
        -------
        int
            The snapshot id.

        Raises
        ------
        SchemaError
            No user, kind or name, or a payload value that is not JSON; nothing
            is written.

        Examples
        --------
        >>> ws.save_snapshot(kind="year", year=2023, name="2023年度计划", payload={}, user="张工")  # doctest: +SKIP
        1
        """
        if not user or not kind or not name:
            raise SchemaError(
                "保存快照需要填写类型、名称和操作人 / a snapshot needs a kind, a name and a user"
            )
        text = json.dumps(_jsonable(payload, "payload"), ensure_ascii=False, allow_nan=False)
        created = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        with self._transaction() as conn:
            _create_snapshot_table(conn)
            cur = conn.execute(
                f"INSERT INTO {SNAPSHOT_TABLE} (kind, year, name, created_at, user, payload) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (kind, None if year is None else int(year), name, created, user, text),
            )
            snapshot_id = int(cur.lastrowid or 0)
            self._audit(
                conn,
                user=user,
                action="snapshot",
                layer=SNAPSHOT_TABLE,
                record_id=str(snapshot_id),
                before=None,
                after={
                    "kind": kind,
                    "year": year,
                    "name": name,
                    "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                },
                note=name,
            )
        logger.info("saved snapshot %d (%s, %s)", snapshot_id, kind, year)
        return snapshot_id

    def _has_snapshots(self, conn: sqlite3.Connection) -> bool:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SNAPSHOT_TABLE,)
        ).fetchone()
        return row is not None

    def snapshots(self, *, kind: str | None = None, year: int | None = None) -> pd.DataFrame:
        """The stored snapshots, oldest first, without their payload.

        Parameters
        ----------
        kind : str, optional
            Only snapshots of this kind.
        year : int, optional
            Only snapshots of this year.

        Returns
        -------
        DataFrame
            Columns :data:`SNAPSHOT_COLUMNS` (``year`` as ``Int64``,
            ``created_at`` ISO text, UTC); empty when there is none (also in a
            workspace made before snapshots existed).
        """
        clauses: list[str] = []
        params: list[Any] = []
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if year is not None:
            clauses.append("year = ?")
            params.append(int(year))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect() as conn:
            if not self._has_snapshots(conn):
                frame = pd.DataFrame({c: pd.Series(dtype="object") for c in SNAPSHOT_COLUMNS})
            else:
                frame = pd.read_sql_query(
                    f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM {SNAPSHOT_TABLE}{where} "
                    "ORDER BY snapshot_id",
                    conn,
                    params=params,
                )
        frame["snapshot_id"] = pd.to_numeric(frame["snapshot_id"]).astype("int64")
        frame["year"] = pd.to_numeric(frame["year"]).astype("Int64")
        return frame

    def load_snapshot(self, snapshot_id: int) -> dict[str, Any]:
        """One snapshot with its payload.

        Returns
        -------
        dict
            The :data:`SNAPSHOT_COLUMNS` values and ``payload`` (the JSON as saved).

        Raises
        ------
        SchemaError
            No snapshot with that id.
        """
        with self._connect() as conn:
            row = None
            if self._has_snapshots(conn):
                row = conn.execute(
                    f"SELECT {', '.join(SNAPSHOT_COLUMNS)}, payload FROM {SNAPSHOT_TABLE} "
                    "WHERE snapshot_id = ?",
                    (int(snapshot_id),),
                ).fetchone()
        if row is None:
            raise SchemaError(
                f"工作区 {self.path} 中没有编号为 {snapshot_id} 的快照 / no snapshot "
                f"{snapshot_id} in {self.path}"
            )
        record: dict[str, Any] = dict(zip(SNAPSHOT_COLUMNS, row[:-1], strict=True))
        record["payload"] = json.loads(row[-1])
        return record

    def raster_names(self) -> list[str]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT table_name FROM gpkg_contents WHERE data_type = '2d-gridded-coverage' "
                "ORDER BY table_name"
            )
            return [r[0] for r in rows]

    def open_raster(self, name: str) -> rasterio.io.DatasetReader:
        """Open raster ``name`` read-only; use it as a context manager.

        Raises
        ------
        WorkspaceError
            No raster of that name (the message lists those present).
        """
        names = self.raster_names()
        if name not in names:
            raise WorkspaceError(
                f"工作区中没有栅格 {name!r} / no raster {name!r}; rasters: {names}"
            )
        return rasterio.open(f"GPKG:{self.path}:{name}")

    def info(self) -> WorkspaceInfo:
        layers = []
        with self._connect() as conn:
            contents = {
                r[0]: r[1:]
                for r in conn.execute(
                    "SELECT table_name, description, min_x, min_y, max_x, max_y, srs_id "
                    "FROM gpkg_contents"
                )
            }
            for name, schema in LAYERS.items():
                if name not in contents:
                    continue
                count = conn.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]
                group_field = _INFO_GROUPS.get(name)
                groups = {}
                if group_field is not None:
                    rows = conn.execute(
                        f"SELECT {_quote(group_field)}, count(*) FROM {_quote(name)} "
                        f"GROUP BY {_quote(group_field)} ORDER BY {_quote(group_field)}"
                    )
                    groups = {str(k): int(n) for k, n in rows}
                _, minx, miny, maxx, maxy, srs_id = contents[name]
                has_geom = schema.geometry_type is not None
                bounds = (
                    (minx, miny, maxx, maxy) if has_geom and count and minx is not None else None
                )
                layers.append(
                    LayerInfo(
                        name=name,
                        zh=schema.zh,
                        count=int(count),
                        geometry_type=schema.geometry_type,
                        crs=f"EPSG:{srs_id}" if has_geom else None,
                        bounds=bounds,
                        groups=groups,
                        group_field=group_field,
                    )
                )
        rasters = []
        for rname in self.raster_names():
            with self.open_raster(rname) as src:
                rasters.append(
                    RasterInfo(
                        name=rname,
                        width=src.width,
                        height=src.height,
                        crs=crs_label(src.crs.to_wkt()) if src.crs else "none",
                        resolution=(float(src.res[0]), float(src.res[1])),
                        bounds=tuple(float(b) for b in src.bounds),  # type: ignore[arg-type]
                        description=contents.get(rname, ("",))[0] or "",
                    )
                )
        return WorkspaceInfo(path=self.location, meta=self.meta, layers=layers, rasters=rasters)


def _decode_gpkg(blob: bytes | None) -> shapely.Geometry | None:
    if blob is None:
        return None
    flags = blob[3]
    kind = (flags >> 1) & 0x07
    return shapely.from_wkb(blob[8 + 8 * _ENVELOPE_DOUBLES[kind] :])


# ---------------------------------------------------------------------------
# Locating workspaces


def open_workspace(location: Path | str) -> Workspace:
    """Open a workspace by path (``.gpkg``); other backends would be chosen by URI scheme.

    Raises
    ------
    WorkspaceError
        Missing file, not a workspace, or an unsupported URI scheme.
    """
    text = str(location)
    if "://" in text:
        raise WorkspaceError(
            f"暂不支持的工作区地址 {text}（目前仅支持 GeoPackage 文件）/ unsupported workspace "
            "URI; only GeoPackage files are supported so far"
        )
    return GeoPackageWorkspace(text)


def default_workspace_path() -> Path:
    """The per-user workspace location, used when no path or environment variable is set."""
    import platformdirs

    return Path(platformdirs.user_data_dir("renov", appauthor=False)) / "workspace.gpkg"


def resolve_workspace(path: Path | str | None = None) -> Path:
    """Return the workspace to open: ``path``, else ``$RENOV_WORKSPACE``, else the per-user one.

    An explicit ``path`` must exist. The environment or per-user location is
    created on first use as a copy of the sample workspace (never the
    committed sample itself), so that a first run shows data.

    Raises
    ------
    WorkspaceError
        An explicit ``path`` that does not exist.
    """
    if path is not None:
        resolved = Path(path).expanduser()
        if not resolved.exists():
            raise WorkspaceError(
                f"工作区 {resolved} 不存在，请先运行 renov init --workspace {resolved} / "
                f"workspace {resolved} does not exist; create it with `renov init`"
            )
        return resolved
    env = os.environ.get(settings.workspace_env_var)
    resolved = Path(env).expanduser() if env else default_workspace_path()
    if not resolved.exists():
        from gislib.datasets import sample_workspace_path

        resolved.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".renov-", suffix=".gpkg", dir=resolved.parent)
        os.close(fd)
        try:
            shutil.copyfile(sample_workspace_path(), tmp)
            Path(tmp).replace(resolved)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        logger.info("created workspace %s from the sample", resolved)
    return resolved
