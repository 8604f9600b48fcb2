"""Import and export of layers: files in, validated frames out; frames in, files out.

Submodules: :mod:`gislib.io.reading` (open any supported file, safely),
:mod:`gislib.io.validate` (map headers, check CRS and geometry, build the
import report), :mod:`gislib.io.export` (shapefile zip, GeoPackage,
GeoJSON, KML, Excel ledger). The submodules are imported on use, so that
``import gislib.io`` stays cheap.

An import is two steps, then a write by :mod:`gislib.store`::

    raw = read_file("小区.zip")
    report = validate(raw, layer="communities", existing_ids=ws.ids("communities"))
    report.raise_if_refused()
    ws.append("communities", report.frame, user="张工")
"""

from __future__ import annotations

__all__: list[str] = []
