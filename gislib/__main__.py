"""``python -m gislib``: the same as the ``renov`` command."""

from gislib.cli import main

main()
