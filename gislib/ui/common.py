"""Pieces every page shares: the workspace (cached loading), the status bar, errors.

Loading is cached per workspace path and file modification time, so an
edit made by anyone (the file changes) is seen on the next run, and cached
frames are copies that pages may not mutate anyway. Errors the library raises
on purpose (:class:`~gislib.errors.GislibError`) are shown as a message,
never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from gislib.errors import GislibError, WorkspaceError
from gislib.store import open_workspace, resolve_workspace

__all__ = [
    "CACHE_MAX_ENTRIES",
    "CACHE_TTL_S",
    "LANG_KEY",
    "WorkspaceRef",
    "current_workspace",
    "lang",
    "language_switch",
    "load_layers",
    "md_escape",
    "show_error",
    "status_bar",
    "t",
]

logger = logging.getLogger(__name__)

#: Seconds a cached workspace read stays valid (the mtime key catches edits sooner).
CACHE_TTL_S = 15 * 60
#: Workspace reads kept in the cache (a few workspaces x layer sets).
CACHE_MAX_ENTRIES = 16


@dataclass(frozen=True)
class WorkspaceRef:
    """The workspace a page works on: where it is, its version, and its metadata."""

    path: Path
    mtime_ns: int
    meta: dict[str, str]

    @property
    def synthetic(self) -> bool:
        """Whether the data is the synthetic sample."""
        return self.meta.get("synthetic", "false").lower() == "true"

    @property
    def modified(self) -> dt.datetime:
        """When the workspace file last changed (local time)."""
        return dt.datetime.fromtimestamp(self.mtime_ns / 1e9)


def _stat_mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError as exc:
        raise WorkspaceError(
            f"无法读取工作区 {path}：{exc.strerror} / cannot read workspace {path}: {exc}"
        ) from exc


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _load_meta(path: str, mtime_ns: int) -> dict[str, str]:
    return dict(open_workspace(path).meta)


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_MAX_ENTRIES, show_spinner="正在读取工作区…")
def _load_layers(path: str, mtime_ns: int, layers: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    workspace = open_workspace(path)
    return {name: workspace.read(name) for name in layers}


def current_workspace() -> WorkspaceRef:
    """The workspace of this app (``$RENOV_WORKSPACE`` or the per-user copy of the sample).

    Raises
    ------
    GislibError
        The workspace cannot be found, created or opened.
    """
    path = resolve_workspace()
    mtime_ns = _stat_mtime_ns(path)
    return WorkspaceRef(path=path, mtime_ns=mtime_ns, meta=_load_meta(str(path), mtime_ns))


def load_layers(ref: WorkspaceRef, layers: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Read layers of the workspace, cached on path and modification time.

    Returns
    -------
    dict of str to DataFrame
        GeoDataFrames in EPSG:4490 (``status_events`` a DataFrame); copies
        from the cache, so the caller owns them.
    """
    return _load_layers(str(ref.path), ref.mtime_ns, tuple(layers))


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md_escape(text: str) -> str:
    """Escape Markdown in text that comes from data or the file system."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def status_bar(ref: WorkspaceRef) -> None:
    """Say which workspace is open and, loudly, when its data is the synthetic sample."""
    if ref.synthetic:
        st.warning(
            "当前显示的是**合成示例数据**，不是真实的小区信息，请勿用于决策。 / "
            "This is the **synthetic sample**, not real community records.",
            icon=":material/science:",
        )
    parts = [f"工作区 / Workspace：{md_escape(str(ref.path))}"]
    title = ref.meta.get("title", "")
    if title:
        parts.append(md_escape(title))
    parts.append(f"更新于 / modified {ref.modified:%Y-%m-%d %H:%M}")
    st.caption(" · ".join(parts))


def show_error(exc: GislibError) -> None:
    """Show a library error as a message (the traceback goes to the server log only)."""
    logger.warning("page error: %s", exc, exc_info=exc)
    st.error(str(exc), icon=":material/error:")


#: Session key of the interface language.
LANG_KEY = "lang"


def lang() -> str:
    """The language the user chose in the sidebar (Chinese by default)."""
    from gislib.i18n import DEFAULT_LANG

    return str(st.session_state.get(LANG_KEY, DEFAULT_LANG))


def t(zh: str, en: str) -> str:
    """UI text in the user's language: ``t("总览", "Overview")``."""
    from gislib.i18n import tr

    return tr(zh, en, lang())


def language_switch() -> None:
    """The sidebar language switch (中文 / English); call once per run, from app.py."""
    from gislib.i18n import LANG_NAMES

    st.sidebar.radio(
        "语言 / Language",
        options=list(LANG_NAMES),
        format_func=LANG_NAMES.__getitem__,
        key=LANG_KEY,
        horizontal=True,
    )
