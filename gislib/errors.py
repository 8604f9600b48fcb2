"""Error hierarchy of gislib.

Every error raised on purpose by the library derives from :class:`GislibError`.
Specific errors also derive from the matching builtin (``ValueError``,
``FileNotFoundError``...), so callers that only know the builtin still catch
them. Messages name the input, what was found and what was expected, and say
how to fix it; they are written for the planner who reads them in the app or
the CLI.
"""

from __future__ import annotations

__all__ = [
    "BundlingError",
    "CRSError",
    "ConfigError",
    "ExportError",
    "GislibError",
    "ImportRefusedError",
    "InputFileError",
    "LimitExceededError",
    "PolicyError",
    "SchemaError",
    "StaleEditError",
    "WorkspaceError",
]


class GislibError(Exception):
    """Root of every error the library raises on purpose."""


class CRSError(GislibError, ValueError):
    """A layer has no CRS, the wrong CRS, or coordinates that do not fit it."""


class ConfigError(GislibError, ValueError):
    """An option or setting is missing or invalid (a basemap without its key, a tile folder)."""


class SchemaError(GislibError, ValueError):
    """Data does not match the layer schema (missing column, bad value, duplicate id)."""


class InputFileError(GislibError, ValueError):
    """An input file cannot be read: missing part, unreadable, wrong format."""


class LimitExceededError(InputFileError):
    """An input exceeds a safety limit from :mod:`gislib.settings` (size, zip ratio)."""


class ImportRefusedError(GislibError, ValueError):
    """Validation refused an import; nothing was written.

    Attributes
    ----------
    report : object
        The validation report that explains every refusal.
    """

    def __init__(self, message: str, *, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class ExportError(GislibError, ValueError):
    """An export cannot be written as asked (existing file, bad option)."""


class WorkspaceError(GislibError, OSError):
    """A workspace is missing, not a workspace, or cannot be written."""


class StaleEditError(GislibError, RuntimeError):
    """An edit was based on a version of a record that has since changed.

    Attributes
    ----------
    layer, record_id : str
        The record that changed.
    expected_version, current_version : int
        The version the edit was based on and the version now stored.
    """

    def __init__(
        self,
        message: str,
        *,
        layer: str,
        record_id: str,
        expected_version: int,
        current_version: int,
    ) -> None:
        super().__init__(message)
        self.layer = layer
        self.record_id = record_id
        self.expected_version = expected_version
        self.current_version = current_version


class PolicyError(GislibError, ValueError):
    """A policy file is missing a key or holds a value of the wrong kind."""


class BundlingError(GislibError, ValueError):
    """An EPC bundling request or edit cannot be carried out (unknown batch, locked batch)."""
