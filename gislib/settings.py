"""Global settings of gislib, read by the library at call time.

Like ``osmnx.settings``: module attributes that an analyst may change in a
notebook or a script (``gislib.settings.max_input_bytes = ...``). The app
never changes them (one process serves many users); it passes options to
functions instead.
"""

from __future__ import annotations

__all__ = [
    "max_input_bytes",
    "max_zip_members",
    "max_zip_ratio",
    "max_zip_uncompressed_bytes",
    "region_bounds",
    "workspace_env_var",
]

#: Largest input file accepted by :mod:`gislib.io`, in bytes (default 200 MiB).
max_input_bytes: int = 200 * 1024 * 1024

#: Largest total uncompressed size of the members of a zip archive, in bytes.
max_zip_uncompressed_bytes: int = 1024 * 1024 * 1024

#: Largest ratio uncompressed / compressed for a zip member (zip-bomb guard).
max_zip_ratio: float = 100.0

#: Largest number of members in a zip archive.
max_zip_members: int = 2_000

#: Bounds (min lon, min lat, max lon, max lat) in EPSG:4490 of the region the
#: workspace covers, with a margin; coordinates outside are refused on import.
#: Yangjiang spans 111.28-112.37 E, 21.48-22.69 N.
region_bounds: tuple[float, float, float, float] = (111.0, 21.2, 112.7, 23.0)

#: Environment variable that names the user workspace for the CLI and the app.
workspace_env_var: str = "RENOV_WORKSPACE"
