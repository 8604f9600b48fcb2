"""Package-level promises: importing the library is cheap and never pulls in Streamlit."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_library_does_not_import_streamlit() -> None:
    code = (
        "import sys, gislib, gislib.crs, gislib.schema, gislib.store, gislib.cli, "
        "gislib.datasets, gislib.maps\n"
        "bad = sorted(m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_library_module_declares_all_and_a_docstring() -> None:
    import importlib
    import pkgutil

    import gislib

    names = [
        m.name for m in pkgutil.walk_packages(gislib.__path__, "gislib.") if ".ui" not in m.name
    ]
    for name in names:
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        assert module.__doc__, f"{name} has no module docstring"
        if not hasattr(module, "__path__"):
            assert hasattr(module, "__all__"), f"{name} does not declare __all__"
