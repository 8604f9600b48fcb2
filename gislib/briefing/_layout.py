"""Text measuring, line wrapping and atomic writing shared by the PDF and PPTX writers (internal)."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from gislib.errors import ExportError

__all__ = ["check_target", "publish", "text_width", "wrap"]

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
