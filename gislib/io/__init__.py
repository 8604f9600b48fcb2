"""Import and export of layers: files in, validated frames out; frames in, files out.

Submodules: :mod:`gislib.io.reading` (open any supported file),
:mod:`gislib.io.validate` (map headers, check CRS and geometry, build the
import report), :mod:`gislib.io.export` (shapefile zip, GeoPackage,
GeoJSON, KML, Excel ledger).
"""
