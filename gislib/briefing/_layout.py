"""Shared by the PDF and PPTX writers: text measuring, wrapping, block dispatch, atomic writing."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Generic, TypeVar

from gislib.briefing.content import Block, Figure, KpiGrid, Paragraph, Table
from gislib.errors import ExportError

__all__ = ["BlockDrawers", "check_target", "publish", "staged", "text_width", "wrap"]

#: The page or slide being drawn on.
_C = TypeVar("_C")
#: What a drawer returns (None when drawing, a height when measuring).
_R = TypeVar("_R")

#: Tokens: a run of Latin letters/digits with its trailing space, or one other character.
_TOKEN = re.compile(r"[A-Za-z0-9.,:;%+\-_/()'&·×²~–]+ ?| |.")
#: Characters that must not start a line (Chinese line-breaking rule).
_NO_LINE_START = set("，。、；：？！）》」』】,.;:?!)%")


@lru_cache(maxsize=4096)
def text_width(text: str, size: float, font_path: str) -> float:
    """Width of ``text`` set in the font file at ``size`` points, in points."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    if not text:
        return 0.0
    prop = FontProperties(fname=font_path, size=size)
    width, _height, _descent = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


def wrap(text: str, *, width: float, size: float, font_path: str) -> list[str]:
    """Greedy line breaks so that every line is at most ``width`` points wide.

    Chinese breaks between any two characters; Latin words and numbers stay
    whole; closing punctuation never starts a line.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKEN.findall(paragraph):
            trial = line + token
            if line and text_width(trial.rstrip(), size, font_path) > width:
                if token[0] in _NO_LINE_START:
                    line = trial
                    continue
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line = trial
        lines.append(line.rstrip())
    return lines


@dataclass(frozen=True)
class BlockDrawers(Generic[_C, _R]):
    """One function per kind of block; calling it hands a block to the function of its kind."""

    paragraph: Callable[[_C, Paragraph], _R]
    kpis: Callable[[_C, KpiGrid], _R]
    table: Callable[[_C, Table], _R]
    figure: Callable[[_C, Figure], _R]

    def __call__(self, canvas: _C, block: Block) -> _R:
        """Draw (or measure) ``block`` on ``canvas`` with the function of its kind."""
        if isinstance(block, Paragraph):
            return self.paragraph(canvas, block)
        if isinstance(block, KpiGrid):
            return self.kpis(canvas, block)
        if isinstance(block, Table):
            return self.table(canvas, block)
        return self.figure(canvas, block)


def check_target(path: str | os.PathLike[str], suffix: str) -> Path:
    """The target path, checked: the right extension and an existing folder.

    Raises
    ------
    ExportError
        Another extension, or the folder does not exist.
    """
    target = Path(path)
    if target.suffix.lower() != suffix:
        raise ExportError(
            f"文件 {target} 的扩展名应为 {suffix} / {target}: expected a {suffix} file"
        )
    if not target.parent.is_dir():
        raise ExportError(
            f"目录 {target.parent} 不存在，请先创建 / folder {target.parent} does not exist"
        )
    return target


def publish(tmp: Path, target: Path) -> None:
    """Give the finished temporary file the usual permissions and move it onto ``target``."""
    mask = os.umask(0)
    os.umask(mask)
    tmp.chmod(0o666 & ~mask)
    tmp.replace(target)


@contextmanager
def staged(target: Path, suffix: str) -> Iterator[Path]:
    """A temporary file in ``target``'s folder that replaces ``target`` when the block succeeds.

    On any error the temporary file is removed and ``target`` is left as it was.
    """
    fd, tmp = tempfile.mkstemp(prefix=".brief-", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        publish(Path(tmp), target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
