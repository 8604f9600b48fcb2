"""Write a :class:`~gislib.briefing.content.Briefing` as a 16:9 PowerPoint deck (python-pptx).

One title slide, then the sections in order: each section starts a slide
titled with its name; blocks flow down the slide and continue on a new slide
(same title, 续) when they do not fit. Charts and maps are the briefing's
PNG images; tables are real PowerPoint tables; every run of text has both
its Latin and its East-Asian typeface set (python-pptx sets only the Latin
one), so PowerPoint and LibreOffice pick a Chinese font. A .pptx made by
python-pptx cannot embed the font: the typeface is :data:`PPTX_FONT`
(微软雅黑, present on Chinese Windows and Office), and viewers substitute a
CJK font where it is missing. The footer (data source, date, synthetic
warning) is on every slide.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

from gislib.briefing._layout import BlockDrawers, check_target, staged
from gislib.briefing.content import Briefing, Figure, KpiGrid, Paragraph, Table
from gislib.i18n import tr

__all__ = ["PPTX_FONT", "SLIDE_SIZE_IN", "write_pptx"]

logger = logging.getLogger(__name__)

#: Typeface of every run (Latin and East Asian).
PPTX_FONT = "Microsoft YaHei"
#: Slide size (width, height) in inches: 16:9.
SLIDE_SIZE_IN: tuple[float, float] = (13.333, 7.5)
_MARGIN = 0.5
_TITLE_TOP = 0.3
_TITLE_HEIGHT = 0.7
_BODY_TOP = 1.1
_FOOTER_HEIGHT = 0.45
_TITLE_PT = 26
_TEXT_PT = 14
_BLOCK_TITLE_PT = 13
_CELL_PT = 11
_FOOTER_PT = 9
_KPI_PER_ROW = 5
_KPI_HEIGHT = 1.25
_ROW_IN = 0.3
_GAP = 0.15
_CHARS_PER_INCH = 5.0  # CJK characters of _TEXT_PT per inch, to estimate wrapped lines
_ACCENT = (0x1F, 0x3B, 0x70)
_MUTED = (0x66, 0x66, 0x66)
_WARN = (0xB9, 0x1C, 0x1C)
_CARD_FILL = (0xF4, 0xF6, 0xFA)


def _set_font(run: Any, *, size: float, colour: tuple[int, int, int] | None = None) -> None:
    """Latin and East-Asian typeface, size and colour of one run."""
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    font = run.font
    font.size = Pt(size)
    if colour is not None:
        font.color.rgb = RGBColor(*colour)
    font.name = PPTX_FONT
    rpr = run._r.get_or_add_rPr()
    latin = rpr.find(qn("a:latin"))
    east = rpr.find(qn("a:ea"))
    if east is None:
        from pptx.oxml import parse_xml

        east = parse_xml(f'<a:ea xmlns:a="{latin.nsmap["a"]}" typeface="{PPTX_FONT}"/>')
        latin.addnext(east)
    east.set("typeface", PPTX_FONT)


def _text_box(
    slide: Any,
    left: float,
    top: float,
    width: float,
    height: float,
    lines: list[tuple[str, float, tuple[int, int, int] | None]],
    *,
    align_right: bool = False,
) -> Any:
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches

    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    frame = box.text_frame
    frame.word_wrap = True
    for i, (text, size, colour) in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        if align_right:
            paragraph.alignment = PP_ALIGN.RIGHT
        run = paragraph.add_run()
        run.text = text
        _set_font(run, size=size, colour=colour)
    return box


#: Height kept under a full-slide picture for a one-line note (inches).
_NOTE_ROOM_IN = 0.65  # the note (0.39) plus the gaps around the picture


class _Deck:
    def __init__(self, prs: Any, briefing: Briefing):
        self.prs = prs
        self.briefing = briefing
        self.width, self.height = SLIDE_SIZE_IN
        self.body = self.width - 2 * _MARGIN
        self.bottom = self.height - _FOOTER_HEIGHT - 0.1
        self.slide: Any = None
        self.title = ""
        self.base = ""
        self.y = _BODY_TOP

    def new_slide(self, title: str) -> None:
        layout = self.prs.slide_layouts[6]  # blank
        self.slide = self.prs.slides.add_slide(layout)
        self.title = title
        self.base = title
        _text_box(
            self.slide, _MARGIN, _TITLE_TOP, self.body, _TITLE_HEIGHT, [(title, _TITLE_PT, _ACCENT)]
        )
        colour = _WARN if self.briefing.synthetic else _MUTED
        _text_box(
            self.slide,
            _MARGIN,
            self.height - _FOOTER_HEIGHT,
            self.body,
            _FOOTER_HEIGHT,
            [(self.briefing.footer, _FOOTER_PT, colour)],
        )
        self.y = _BODY_TOP

    def continue_slide(self) -> None:
        """A new slide for the rest of the section, titled with the section and 续."""
        base = self.base
        self.new_slide(base + tr("（续）", " (continued)", self.briefing.lang))
        self.base = base

    def need(self, height: float) -> None:
        if self.y + height > self.bottom and self.y > _BODY_TOP:
            self.continue_slide()

    @property
    def left(self) -> float:
        return self.bottom - self.y


def _lines_needed(text: str, width: float, size: float) -> int:
    per_line = max(1, int(width * _CHARS_PER_INCH * _TEXT_PT / size))
    return max(1, -(-len(text) // per_line))


def _paragraph(deck: _Deck, block: Paragraph) -> None:
    height = _lines_needed(block.text, deck.body, _TEXT_PT) * _TEXT_PT * 1.5 / 72 + 0.1
    deck.need(height)
    _text_box(deck.slide, _MARGIN, deck.y, deck.body, height, [(block.text, _TEXT_PT, None)])
    deck.y += height + _GAP


def _kpis(deck: _Deck, block: KpiGrid) -> None:
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Inches, Pt

    rows = -(-len(block.items) // _KPI_PER_ROW)
    deck.need(0.4 + rows * (_KPI_HEIGHT + _GAP))
    _text_box(
        deck.slide, _MARGIN, deck.y, deck.body, 0.35, [(block.title, _BLOCK_TITLE_PT, _ACCENT)]
    )
    deck.y += 0.4
    width = (deck.body - (_KPI_PER_ROW - 1) * _GAP) / _KPI_PER_ROW
    for start in range(0, len(block.items), _KPI_PER_ROW):
        deck.need(_KPI_HEIGHT + _GAP)
        for i, kpi in enumerate(block.items[start : start + _KPI_PER_ROW]):
            left = _MARGIN + i * (width + _GAP)
            card = deck.slide.shapes.add_shape(
                MSO_SHAPE.ROUNDED_RECTANGLE,
                Inches(left),
                Inches(deck.y),
                Inches(width),
                Inches(_KPI_HEIGHT),
            )
            card.fill.solid()
            card.fill.fore_color.rgb = RGBColor(*_CARD_FILL)
            card.line.color.rgb = RGBColor(0xC7, 0xCF, 0xDC)
            card.line.width = Pt(0.75)
            card.shadow.inherit = False
            lines: list[tuple[str, float, tuple[int, int, int] | None]] = [
                (kpi.label, 11, _MUTED),
                (kpi.value, 22, _ACCENT),
            ]
            if kpi.change:
                lines.append((kpi.change, 10, None))
            if kpi.note:
                lines.append((kpi.note, 10, _MUTED))
            _text_box(
                deck.slide, left + 0.05, deck.y + 0.02, width - 0.1, _KPI_HEIGHT - 0.04, lines
            )
        deck.y += _KPI_HEIGHT + _GAP


def _table(deck: _Deck, block: Table) -> None:
    from pptx.util import Inches

    rows = list(block.rows)
    first = True
    while first or rows:
        fit = int((deck.left - 0.45) / _ROW_IN) - 1
        if fit < min(3, len(rows)) and deck.y > _BODY_TOP:
            deck.continue_slide()
            fit = int((deck.left - 0.45) / _ROW_IN) - 1
        chunk, rows = rows[: max(fit, 1)], rows[max(fit, 1) :]
        title = (
            block.title if first else block.title + tr("（续）", " (continued)", deck.briefing.lang)
        )
        _text_box(deck.slide, _MARGIN, deck.y, deck.body, 0.35, [(title, _BLOCK_TITLE_PT, _ACCENT)])
        deck.y += 0.4
        shape = deck.slide.shapes.add_table(
            len(chunk) + 1,
            len(block.columns),
            Inches(_MARGIN),
            Inches(deck.y),
            Inches(deck.body),
            Inches(_ROW_IN * (len(chunk) + 1)),
        )
        table = shape.table
        for c, name in enumerate(block.columns):
            _cell(table.cell(0, c), name, right=block.aligned_right(c), header=True)
        for r, row in enumerate(chunk, start=1):
            for c, value in enumerate(row):
                _cell(table.cell(r, c), str(value), right=block.aligned_right(c))
        for r in range(len(chunk) + 1):
            table.rows[r].height = Inches(_ROW_IN)
        deck.y += _ROW_IN * (len(chunk) + 1) + _GAP
        first = False
    if block.note:
        deck.need(0.35)
        _text_box(deck.slide, _MARGIN, deck.y - 0.05, deck.body, 0.3, [(block.note, 10, _MUTED)])
        deck.y += 0.35


def _cell(cell: Any, text: str, *, right: bool, header: bool = False) -> None:
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches

    cell.margin_top = cell.margin_bottom = Inches(0.02)
    frame = cell.text_frame
    paragraph = frame.paragraphs[0]
    paragraph.alignment = PP_ALIGN.RIGHT if right else PP_ALIGN.LEFT
    run = paragraph.add_run()
    run.text = text
    _set_font(run, size=_CELL_PT, colour=(0xFF, 0xFF, 0xFF) if header else None)


def _figure(deck: _Deck, block: Figure) -> None:
    from pptx.util import Inches

    caption = 0.3 if block.caption else 0.0
    # Leave a line under the picture for the note that usually follows it, so the
    # note does not go to a slide of its own.
    room = deck.bottom - _BODY_TOP - 0.4 - caption - _NOTE_ROOM_IN
    height = min(room, deck.body * block.aspect)
    if deck.left < height + 0.4 + caption:
        deck.continue_slide()
    width = height / block.aspect
    _text_box(
        deck.slide, _MARGIN, deck.y, deck.body, 0.35, [(block.title, _BLOCK_TITLE_PT, _ACCENT)]
    )
    deck.y += 0.4
    left = _MARGIN + (deck.body - width) / 2
    deck.slide.shapes.add_picture(
        io.BytesIO(block.png), Inches(left), Inches(deck.y), Inches(width), Inches(height)
    )
    deck.y += height + 0.05
    if block.caption:
        _text_box(deck.slide, _MARGIN, deck.y, deck.body, 0.3, [(block.caption, 10, _MUTED)])
        deck.y += caption
    deck.y += _GAP


#: Draw a block, by kind.
_draw: BlockDrawers[_Deck, None] = BlockDrawers(
    paragraph=_paragraph, kpis=_kpis, table=_table, figure=_figure
)


def write_pptx(briefing: Briefing, path: str | os.PathLike[str]) -> Path:
    """Write the briefing as a 16:9 PowerPoint deck; atomically.

    Parameters
    ----------
    briefing : Briefing
        From :func:`gislib.briefing.build_briefing`.
    path : path-like
        Target ``.pptx``; its folder must exist. An existing file is replaced
        only once the new one is complete.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        Not a ``.pptx`` path, or a missing folder.

    Examples
    --------
    >>> write_pptx(build_briefing(ws, year=2023), "brief.pptx")  # doctest: +SKIP
    """
    from pptx import Presentation
    from pptx.util import Inches

    target = check_target(path, ".pptx")
    prs = Presentation()
    prs.slide_width, prs.slide_height = (Inches(v) for v in SLIDE_SIZE_IN)
    prs.core_properties.title = briefing.title
    prs.core_properties.subject = briefing.subtitle
    deck = _Deck(prs, briefing)
    # Title slide.
    deck.new_slide(briefing.title)
    lines: list[tuple[str, float, tuple[int, int, int] | None]] = [(briefing.subtitle, 18, _MUTED)]
    if briefing.synthetic:
        lines.append(
            (
                tr(
                    "注意：本简报基于虚构的样例数据生成，仅用于演示，不得作为真实数据引用。",
                    "Note: built from the synthetic sample data, for demonstration only.",
                    briefing.lang,
                ),
                16,
                _WARN,
            )
        )
    _text_box(deck.slide, _MARGIN, 2.6, deck.body, 2.0, lines)
    for section in briefing.sections:
        deck.new_slide(section.title)
        for block in section.blocks:
            _draw(deck, block)
    with staged(target, ".pptx") as tmp:
        prs.save(str(tmp))
    logger.info("wrote the briefing deck %s (%d slides)", target, len(prs.slides))
    return target
