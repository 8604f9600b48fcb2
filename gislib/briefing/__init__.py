"""The leadership briefing (领导小组进展简报): one content model, written as PDF and PPTX.

- :func:`build_briefing` computes the briefing of a year (optionally one
  county) from a workspace: :class:`Briefing` (:mod:`gislib.briefing.content`).
- :func:`write_pdf` writes it as an A4 PDF with the Chinese font embedded
  (:mod:`gislib.briefing.pdf`).
- :func:`write_pptx` writes it as a 16:9 PowerPoint deck
  (:mod:`gislib.briefing.slides`).

Both writers render the same :class:`Briefing`, so they cannot disagree.
Importing this package is cheap: matplotlib, geopandas and python-pptx are
imported when a briefing is built or written.
"""

from __future__ import annotations

from gislib.briefing.content import (
    BATCH_COLUMNS,
    STALLED_MONTHS,
    Briefing,
    Figure,
    Kpi,
    KpiGrid,
    Paragraph,
    Section,
    Table,
    build_briefing,
    stalled_communities,
)
from gislib.briefing.pdf import write_pdf
from gislib.briefing.slides import write_pptx

__all__ = [
    "BATCH_COLUMNS",
    "STALLED_MONTHS",
    "Briefing",
    "Figure",
    "Kpi",
    "KpiGrid",
    "Paragraph",
    "Section",
    "Table",
    "build_briefing",
    "stalled_communities",
    "write_pdf",
    "write_pptx",
]
