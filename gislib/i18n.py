"""Interface language: Chinese by default, English on request.

The UI is written with both texts side by side at the call site,
``tr("总览", "Overview", lang)``, so a page reads naturally in code review and
no key table drifts from the text it names. Library messages (errors,
reasons) carry both languages already; the UI shows the half the user chose.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["DEFAULT_LANG", "LANG_NAMES", "Lang", "pick", "tr"]

Lang = Literal["zh", "en"]
DEFAULT_LANG: Lang = "zh"
#: How each language names itself in the language switch.
LANG_NAMES: dict[str, str] = {"zh": "中文", "en": "English"}

_SEPARATOR = " / "


def tr(zh: str, en: str, lang: str = DEFAULT_LANG) -> str:
    """Return the text for ``lang``: ``zh`` for Chinese, ``en`` for English.

    Examples
    --------
    >>> tr("总览", "Overview", "en")
    'Overview'
    """
    if lang not in get_args(Lang):
        raise ValueError(f"unknown language {lang!r}; use one of {get_args(Lang)}")
    return en if lang == "en" else zh


def pick(text: str, lang: str = DEFAULT_LANG) -> str:
    """Pick one half of a bilingual library message ``"中文 / English"``.

    Messages without the separator come back unchanged.

    Examples
    --------
    >>> pick("工作区不存在 / workspace missing", "en")
    'workspace missing'
    """
    if _SEPARATOR not in text:
        return text
    zh, en = text.split(_SEPARATOR, 1)
    return tr(zh.strip(), en.strip(), lang)
