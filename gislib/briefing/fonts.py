"""The Chinese font of the briefing: found, checked and registered with matplotlib.

The briefing never relies on system fonts: the font comes with the project's
own dependencies, from the PyPI package ``paperang-p2-fonts-cjk``, which ships
文泉驿微米黑 (WenQuanYi Micro Hei, Apache License 2.0, about 5 MB): a TrueType
(``glyf``) font, which matplotlib embeds in a PDF as a subset (``pdf.fonttype``
42, ``CIDFontType2`` with ``/FontFile2``) so the text stays extractable. The
OpenType-CFF Noto CJK fonts are not used: matplotlib writes them into a
``/FontFile2`` stream that viewers flag as a mismatch. Another TrueType font
can be named by the environment variable :data:`FONT_ENV_VAR` (read at call
time). When no usable font is found, :func:`cjk_font` raises a
:class:`~gislib.errors.ConfigError` that names the fix instead of drawing
empty boxes.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from gislib.errors import ConfigError

__all__ = [
    "FONT_ENV_VAR",
    "FONT_PACKAGE",
    "FONT_PACKAGE_FILE",
    "CjkFont",
    "cjk_font",
    "font_rc",
]

logger = logging.getLogger(__name__)

#: Environment variable naming a TrueType CJK font file to use instead of the packaged one.
FONT_ENV_VAR = "RENOV_CJK_FONT"
#: Import name of the PyPI package (``paperang-p2-fonts-cjk``) that ships the font.
FONT_PACKAGE = "paperang_p2_fonts_cjk"
#: The font file inside that package.
FONT_PACKAGE_FILE = Path("fonts") / "wqy-microhei.ttc"
#: Characters the font must draw (a heading of the briefing): checked once per file.
_PROBE = "阳江市老旧小区改造进展简报"
#: Fonts drawn after the CJK font for a glyph it lacks (ships with matplotlib).
_FALLBACK_FAMILY = "DejaVu Sans"


@dataclass(frozen=True)
class CjkFont:
    """A usable CJK font: its file and the family name matplotlib knows it by."""

    path: Path
    family: str


def _candidates() -> list[Path]:
    """Font files to try, in order: ``$RENOV_CJK_FONT``, then the packaged font."""
    found: list[Path] = []
    env = os.environ.get(FONT_ENV_VAR)
    if env:
        found.append(Path(env).expanduser())
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is not None and spec.origin:
        found.append(Path(spec.origin).parent / FONT_PACKAGE_FILE)
    return found


@lru_cache(maxsize=8)
def _register(path: str) -> str | None:
    """Register a font file with matplotlib; its family when it draws Chinese, else None."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    try:
        face = FT2Font(path)
    except (OSError, RuntimeError) as exc:
        logger.warning("cannot read font %s: %s", path, exc)
        return None
    if any(face.get_char_index(ord(ch)) == 0 for ch in _PROBE):
        logger.warning("font %s lacks Chinese characters", path)
        return None
    font_manager.fontManager.addfont(path)
    return str(font_manager.FontProperties(fname=path).get_name())


def cjk_font() -> CjkFont:
    """Find the Chinese font of the briefing and register it with matplotlib.

    Returns
    -------
    CjkFont
        The font file and its family name.

    Raises
    ------
    ConfigError
        No font file draws Chinese; the message names the package to install
        and the environment variable.

    Examples
    --------
    >>> cjk_font().family  # doctest: +SKIP
    'WenQuanYi Micro Hei'
    """
    tried = _candidates()
    for path in tried:
        if path.is_file():
            family = _register(str(path))
            if family:
                return CjkFont(path=path, family=family)
    where = "、".join(str(p) for p in tried) or "—"
    raise ConfigError(
        f"找不到可用的中文字体（已尝试：{where}），简报无法生成。请在项目目录运行 uv sync 安装依赖 "
        f"paperang-p2-fonts-cjk（文泉驿微米黑），或将环境变量 {FONT_ENV_VAR} 设为一个 TrueType 中文"
        f"字体文件 / no usable Chinese font (tried: {where}); run `uv sync` to install "
        f"paperang-p2-fonts-cjk, or set {FONT_ENV_VAR} to a TrueType CJK font file"
    )


@contextmanager
def font_rc(font: CjkFont) -> Iterator[None]:
    """matplotlib settings for drawing with ``font``, undone on exit (never global).

    Sets the font family (with a Latin fallback), TrueType embedding in PDF
    (``pdf.fonttype`` 42, so text stays text) and an ASCII minus sign.
    """
    import matplotlib

    settings: dict[str, Any] = {
        "font.family": [font.family, _FALLBACK_FAMILY],
        "pdf.fonttype": 42,
        "axes.unicode_minus": False,
        "svg.fonttype": "none",
    }
    with matplotlib.rc_context(settings):  # type: ignore[arg-type]
        yield
