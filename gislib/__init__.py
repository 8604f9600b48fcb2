"""gislib: the library behind the Yangjiang old-community renovation GIS.

阳江市城镇老旧小区改造 GIS 的核心库。

Modules by concern: :mod:`gislib.crs` (CGCS2000, GCJ-02, BD-09),
:mod:`gislib.schema` (layers and fields), :mod:`gislib.io` (import and
export), :mod:`gislib.store` (the workspace GeoPackage),
:mod:`gislib.datasets` (the sample workspace), :mod:`gislib.cli` (``renov``).
Importing the package does no work and imports neither Streamlit nor the
heavy GIS stack; import the module you need.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
