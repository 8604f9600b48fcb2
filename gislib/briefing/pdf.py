"""Write a :class:`~gislib.briefing.content.Briefing` as an A4 PDF with the Chinese font embedded.

Each page is a matplotlib figure the size of an A4 sheet, saved through
``PdfPages`` with ``pdf.fonttype`` 42: the TrueType font is embedded as a
subset (``/FontFile2``) and every heading, figure and table cell stays text
that a reader can search and copy. Charts and maps are the briefing's PNG
images, placed at their full resolution. Blocks flow down the page; a table
that does not fit continues on the next page under its repeated header.

Sizes are in points (1/72 inch).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from gislib.briefing._layout import BlockDrawers, check_target, staged, text_width, wrap
from gislib.briefing.content import Briefing, Figure, KpiGrid, Paragraph, Section, Table
from gislib.briefing.fonts import CjkFont, cjk_font, font_rc
from gislib.errors import ExportError
from gislib.i18n import tr

__all__ = ["A4_PT", "write_pdf"]

logger = logging.getLogger(__name__)

#: A4 in points (width, height), portrait.
A4_PT: tuple[float, float] = (595.28, 841.89)
_MARGIN = 40.0
_HEADER = 22.0
_FOOTER_SIZE = 7.0
_FOOTER_LINE = 9.0
_TITLE_SIZE = 20.0
_SUBTITLE_SIZE = 11.0
_HEADING_SIZE = 15.0
_BLOCK_TITLE_SIZE = 10.0
_TEXT_SIZE = 10.0
_LINE = 1.55
_GAP = 10.0
_CELL_SIZE = 8.0
_CELL_MIN_SIZE = 6.0
_ROW = 15.0
_CELL_PAD = 4.0
_KPI_PER_ROW = 5
_KPI_HEIGHT = 66.0
_KPI_GAP = 6.0
_NOTE_SIZE = 7.5
#: A section starts on a new page unless at least this share of the page is left.
_NEW_PAGE_BELOW = 0.4
_INK = "#1f1f1f"
_ACCENT = "#1f3b70"
_MUTED = "#666666"
_RULE = "#c7cfdc"
_HEADER_FILL = "#e8edf5"
_ZEBRA = "#f7f8fa"
_CARD_FILL = "#f4f6fa"
_WARN = "#b91c1c"


class _Pages:
    """The page being drawn and the cursor (points from the page's bottom)."""

    def __init__(self, pdf: Any, briefing: Briefing, font: CjkFont, size: tuple[float, float]):
        self.pdf = pdf
        self.briefing = briefing
        self.font = font
        self.width, self.height = size
        self.body = self.width - 2 * _MARGIN
        self.fig: Any = None
        self.number = 0
        self.y = 0.0
        self.bottom = 0.0
        self.top = 0.0

    # --- primitives
    def text(self, x: float, y: float, s: str, size: float, **kw: Any) -> None:
        kw.setdefault("color", _INK)
        kw.setdefault("va", "baseline")
        self.fig.text(x / self.width, y / self.height, s, fontsize=size, **kw)

    def rect(self, x: float, y: float, w: float, h: float, **kw: Any) -> None:
        from matplotlib.patches import Rectangle

        self.fig.add_artist(
            Rectangle(
                (x / self.width, y / self.height),
                w / self.width,
                h / self.height,
                transform=self.fig.transFigure,
                **kw,
            )
        )

    def line(self, x0: float, x1: float, y: float, **kw: Any) -> None:
        from matplotlib.lines import Line2D

        self.fig.add_artist(
            Line2D(
                [x0 / self.width, x1 / self.width],
                [y / self.height, y / self.height],
                transform=self.fig.transFigure,
                **kw,
            )
        )

    def wrap(self, s: str, size: float, width: float | None = None) -> list[str]:
        return wrap(s, width=width or self.body, size=size, font_path=str(self.font.path))

    # --- pages
    def new_page(self) -> None:
        from matplotlib.figure import Figure as MplFigure

        self.finish()
        self.number += 1
        self.fig = MplFigure(figsize=(self.width / 72, self.height / 72))
        top = self.height - _MARGIN
        self.text(_MARGIN, top, self.briefing.title, 7.5, color=_MUTED)
        self.text(self.width - _MARGIN, top, f"{self.number}", 7.5, color=_MUTED, ha="right")
        self.line(_MARGIN, self.width - _MARGIN, top - 5, color=_RULE, lw=0.6)
        footer = self.wrap(self.briefing.footer, _FOOTER_SIZE)
        base = _MARGIN - _FOOTER_LINE
        colour = _WARN if self.briefing.synthetic else _MUTED
        for i, text in enumerate(reversed(footer)):
            self.text(_MARGIN, base + i * _FOOTER_LINE, text, _FOOTER_SIZE, color=colour)
        self.bottom = base + len(footer) * _FOOTER_LINE + 6
        self.line(_MARGIN, self.width - _MARGIN, self.bottom - 3, color=_RULE, lw=0.6)
        self.top = top - _HEADER
        self.y = self.top

    def finish(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.fig = None

    @property
    def left(self) -> float:
        return self.y - self.bottom

    def need(self, height: float) -> None:
        """Start a new page unless ``height`` points fit below the cursor."""
        if height > self.left and self.y < self.top:
            self.new_page()


# --------------------------------------------------------------------------- blocks


def _paragraph_height(pages: _Pages, block: Paragraph) -> float:
    return len(pages.wrap(block.text, _TEXT_SIZE)) * _TEXT_SIZE * _LINE + _GAP


def _draw_lines(pages: _Pages, lines: Sequence[str], size: float, **kw: Any) -> None:
    for text in lines:
        pages.y -= size * _LINE
        pages.text(_MARGIN, pages.y + size * 0.35, text, size, **kw)


def _paragraph(pages: _Pages, block: Paragraph) -> None:
    lines = pages.wrap(block.text, _TEXT_SIZE)
    for text in lines:
        pages.need(_TEXT_SIZE * _LINE)
        _draw_lines(pages, [text], _TEXT_SIZE)
    pages.y -= _GAP


def _kpi_height(_pages: _Pages, block: KpiGrid) -> float:
    rows = -(-len(block.items) // _KPI_PER_ROW)
    return _BLOCK_TITLE_SIZE * _LINE + rows * (_KPI_HEIGHT + _KPI_GAP) + _GAP


def _kpis(pages: _Pages, block: KpiGrid) -> None:
    from matplotlib.patches import FancyBboxPatch

    pages.need(_BLOCK_TITLE_SIZE * _LINE + _KPI_HEIGHT + _KPI_GAP)
    _draw_lines(pages, pages.wrap(block.title, _BLOCK_TITLE_SIZE), _BLOCK_TITLE_SIZE, color=_ACCENT)
    width = (pages.body - (_KPI_PER_ROW - 1) * _KPI_GAP) / _KPI_PER_ROW
    for start in range(0, len(block.items), _KPI_PER_ROW):
        pages.need(_KPI_HEIGHT + _KPI_GAP)
        top = pages.y - 4
        for i, kpi in enumerate(block.items[start : start + _KPI_PER_ROW]):
            x = _MARGIN + i * (width + _KPI_GAP)
            box = FancyBboxPatch(
                (x / pages.width, (top - _KPI_HEIGHT) / pages.height),
                width / pages.width,
                _KPI_HEIGHT / pages.height,
                boxstyle="round,pad=0,rounding_size=0.006",
                transform=pages.fig.transFigure,
                facecolor=_CARD_FILL,
                edgecolor=_RULE,
                linewidth=0.6,
            )
            pages.fig.add_artist(box)
            inner = width - 2 * _CELL_PAD - 2
            cx = x + _CELL_PAD + 1
            value_size = 15.0
            while (
                value_size > 9 and text_width(kpi.value, value_size, str(pages.font.path)) > inner
            ):
                value_size -= 1
            pages.text(cx, top - 13, _fit(pages, kpi.label, 8.0, inner), 8.0, color=_MUTED)
            pages.text(cx, top - 34, kpi.value, value_size, color=_ACCENT)
            if kpi.change:
                pages.text(cx, top - 48, _fit(pages, kpi.change, 7.0, inner), 7.0, color=_INK)
            if kpi.note:
                pages.text(cx, top - 59, _fit(pages, kpi.note, 7.0, inner), 7.0, color=_MUTED)
        pages.y = top - _KPI_HEIGHT - _KPI_GAP
    pages.y -= _GAP


def _fit(pages: _Pages, text: str, size: float, width: float) -> str:
    """The text, cut with an ellipsis when wider than ``width``."""
    path = str(pages.font.path)
    if text_width(text, size, path) <= width:
        return text
    while text and text_width(text + "…", size, path) > width:
        text = text[:-1]
    return text + "…"


def _column_widths(pages: _Pages, block: Table) -> tuple[list[float], float]:
    path = str(pages.font.path)
    natural = [
        max([text_width(str(c), _CELL_SIZE, path) for c in (col, *(r[i] for r in block.rows))])
        + 2 * _CELL_PAD
        for i, col in enumerate(block.columns)
    ]
    total = sum(natural)
    size = _CELL_SIZE
    if total > pages.body:
        size = max(_CELL_MIN_SIZE, _CELL_SIZE * pages.body / total)
        natural = [w * size / _CELL_SIZE for w in natural]
        total = sum(natural)
    extra = (pages.body - total) / len(natural) if total < pages.body else 0.0
    return [w + extra for w in natural], size


def _table_height(_pages: _Pages, block: Table) -> float:
    return (
        _BLOCK_TITLE_SIZE * _LINE
        + (len(block.rows) + 1) * _ROW
        + _GAP
        + (_NOTE_SIZE * _LINE if block.note else 0.0)
    )


def _table_header(pages: _Pages, block: Table, widths: Sequence[float], size: float) -> None:
    pages.rect(_MARGIN, pages.y - _ROW, pages.body, _ROW, facecolor=_HEADER_FILL, lw=0)
    _row_text(pages, block, block.columns, widths, size)


def _row_text(
    pages: _Pages, block: Table, cells: Sequence[str], widths: Sequence[float], size: float
) -> None:
    x = _MARGIN
    base = pages.y - _ROW + (_ROW - size) / 2 + 1.5
    for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        text = _fit(pages, str(cell), size, width - 2 * _CELL_PAD)
        if block.aligned_right(i):
            pages.text(x + width - _CELL_PAD, base, text, size, ha="right")
        else:
            pages.text(x + _CELL_PAD, base, text, size)
        x += width
    pages.y -= _ROW


def _table(pages: _Pages, block: Table) -> None:
    widths, size = _column_widths(pages, block)
    title_lines = pages.wrap(block.title, _BLOCK_TITLE_SIZE)
    pages.need(len(title_lines) * _BLOCK_TITLE_SIZE * _LINE + 3 * _ROW)
    _draw_lines(pages, title_lines, _BLOCK_TITLE_SIZE, color=_ACCENT)
    pages.y -= 3
    _table_header(pages, block, widths, size)
    for n, row in enumerate(block.rows):
        if pages.left < _ROW:
            pages.line(_MARGIN, _MARGIN + pages.body, pages.y, color=_RULE, lw=0.6)
            pages.new_page()
            _draw_lines(
                pages,
                [block.title + tr("（续）", " (continued)", pages.briefing.lang)],
                _BLOCK_TITLE_SIZE,
                color=_ACCENT,
            )
            pages.y -= 3
            _table_header(pages, block, widths, size)
        if n % 2:
            pages.rect(_MARGIN, pages.y - _ROW, pages.body, _ROW, facecolor=_ZEBRA, lw=0)
        _row_text(pages, block, row, widths, size)
    pages.line(_MARGIN, _MARGIN + pages.body, pages.y, color=_RULE, lw=0.6)
    if block.note:
        pages.y -= 2
        lines = pages.wrap(block.note, _NOTE_SIZE)
        pages.need(len(lines) * _NOTE_SIZE * _LINE)
        _draw_lines(pages, lines, _NOTE_SIZE, color=_MUTED)
    pages.y -= _GAP


def _figure_size(pages: _Pages, block: Figure) -> tuple[float, float]:
    width = pages.body
    return width, width * block.aspect


def _figure_height(pages: _Pages, block: Figure) -> float:
    return _figure_size(pages, block)[1] + 2 * _BLOCK_TITLE_SIZE * _LINE + _GAP


def _figure(pages: _Pages, block: Figure) -> None:
    from matplotlib.image import imread

    title_lines = pages.wrap(block.title, _BLOCK_TITLE_SIZE)
    caption_lines = pages.wrap(block.caption, _NOTE_SIZE) if block.caption else []
    text_height = (
        len(title_lines) * _BLOCK_TITLE_SIZE * _LINE + len(caption_lines) * _NOTE_SIZE * _LINE
    )
    width, height = _figure_size(pages, block)
    if height + text_height > pages.left:
        page_body = pages.top - pages.bottom
        if height + text_height <= page_body or pages.left < page_body * _NEW_PAGE_BELOW:
            pages.new_page()
        scale = min(1.0, (pages.left - text_height - 4) / height)
        width, height = width * scale, height * scale
    _draw_lines(pages, title_lines, _BLOCK_TITLE_SIZE, color=_ACCENT)
    pages.y -= 2
    x = _MARGIN + (pages.body - width) / 2
    ax = pages.fig.add_axes(
        (
            x / pages.width,
            (pages.y - height) / pages.height,
            width / pages.width,
            height / pages.height,
        )
    )
    ax.imshow(imread(io.BytesIO(block.png), format="png"), interpolation="none", aspect="auto")
    ax.set_axis_off()
    pages.y -= height + 2
    _draw_lines(pages, caption_lines, _NOTE_SIZE, color=_MUTED)
    pages.y -= _GAP


#: The height (points) a block needs, by kind.
_block_height: BlockDrawers[_Pages, float] = BlockDrawers(
    paragraph=_paragraph_height, kpis=_kpi_height, table=_table_height, figure=_figure_height
)
#: Draw a block, by kind.
_draw: BlockDrawers[_Pages, None] = BlockDrawers(
    paragraph=_paragraph, kpis=_kpis, table=_table, figure=_figure
)


def _section(pages: _Pages, section: Section, *, first: bool) -> None:
    height = _HEADING_SIZE * 2 + sum(_block_height(pages, b) for b in section.blocks)
    page_body = pages.top - pages.bottom
    if not first and height > pages.left and pages.left < page_body * _NEW_PAGE_BELOW:
        pages.new_page()
    pages.need(_HEADING_SIZE * 2 + 3 * _ROW)
    pages.y -= _HEADING_SIZE * 1.4
    pages.text(_MARGIN, pages.y, section.title, _HEADING_SIZE, color=_ACCENT)
    pages.line(_MARGIN, _MARGIN + pages.body, pages.y - 6, color=_ACCENT, lw=1.0)
    pages.y -= _HEADING_SIZE * 0.9
    for block in section.blocks:
        _draw(pages, block)


def _cover(pages: _Pages) -> None:
    b = pages.briefing
    for text in pages.wrap(b.title, _TITLE_SIZE):
        pages.y -= _TITLE_SIZE * 1.4
        pages.text(_MARGIN, pages.y, text, _TITLE_SIZE, color=_ACCENT)
    pages.y -= _SUBTITLE_SIZE * 1.8
    pages.text(_MARGIN, pages.y, b.subtitle, _SUBTITLE_SIZE, color=_MUTED)
    if b.synthetic:
        warning = tr(
            "注意：本简报基于虚构的样例数据生成，仅用于演示，不得作为真实数据引用。",
            "Note: built from the synthetic sample data, for demonstration only; not real data.",
            b.lang,
        )
        lines = pages.wrap(warning, 9.5, pages.body - 12)
        height = len(lines) * 9.5 * _LINE + 8
        pages.y -= 8
        pages.rect(
            _MARGIN,
            pages.y - height,
            pages.body,
            height,
            facecolor="#fdecea",
            edgecolor=_WARN,
            lw=0.8,
        )
        pages.y -= 3
        for text in lines:
            pages.y -= 9.5 * _LINE
            pages.text(_MARGIN + 6, pages.y + 3, text, 9.5, color=_WARN)
        pages.y -= 8
    pages.y -= _GAP


def write_pdf(
    briefing: Briefing,
    path: str | os.PathLike[str],
    *,
    orientation: Literal["portrait", "landscape"] = "portrait",
) -> Path:
    """Write the briefing as an A4 PDF, the Chinese font embedded; atomically.

    Parameters
    ----------
    briefing : Briefing
        From :func:`gislib.briefing.build_briefing`.
    path : path-like
        Target ``.pdf``; its folder must exist. An existing file is replaced
        only once the new one is complete.
    orientation : {"portrait", "landscape"}
        Page orientation.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        Not a ``.pdf`` path, a missing folder, or an unknown orientation.
    ConfigError
        No Chinese font.

    Examples
    --------
    >>> write_pdf(build_briefing(ws, year=2023), "brief.pdf")  # doctest: +SKIP
    """
    from matplotlib.backends.backend_pdf import PdfPages

    if orientation not in ("portrait", "landscape"):
        raise ExportError(
            f"未知的页面方向 {orientation!r}，可用 portrait 或 landscape / unknown orientation "
            f"{orientation!r}; use portrait or landscape"
        )
    target = check_target(path, ".pdf")
    font = cjk_font()
    size = A4_PT if orientation == "portrait" else (A4_PT[1], A4_PT[0])
    metadata = {
        "Title": briefing.title,
        "Subject": briefing.subtitle,
        "Creator": "gislib.briefing",
    }
    with staged(target, ".pdf") as tmp, font_rc(font), PdfPages(tmp, metadata=metadata) as pdf:
        pages = _Pages(pdf, briefing, font, size)
        pages.new_page()
        _cover(pages)
        for i, section in enumerate(briefing.sections):
            _section(pages, section, first=i == 0)
        pages.finish()
    logger.info("wrote the briefing PDF %s (%d pages)", target, pages.number)
    return target
