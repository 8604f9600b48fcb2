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
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from gislib.errors import GislibError, WorkspaceError
from gislib.store import open_workspace, resolve_workspace

if TYPE_CHECKING:
    from gislib.maps import Basemap

__all__ = [
    "BASEMAP_KEY",
    "CACHE_MAX_ENTRIES",
    "CACHE_TTL_S",
    "LANG_KEY",
    "TILES_ENV_VAR",
    "USER_KEY",
    "USER_NAME_KEY",
    "WorkspaceRef",
    "basemap_choice",
    "current_user",
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


def open_page(zh: str, en: str) -> WorkspaceRef | None:
    """Start a page: its title, the open workspace and the status bar.

    Returns None (after showing why) when the workspace cannot be opened; the
    page then draws nothing else.
    """
    st.subheader(t(f"阳江市城镇老旧小区改造 · {zh}", f"Yangjiang renovation · {en}"))
    try:
        ref = current_workspace()
    except GislibError as exc:
        show_error(exc)
        return None
    status_bar(ref)
    return ref


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


# ---------------------------------------------------------------------------
# Sidebar choices shared by several pages (kept when the user switches pages)

#: Widget key of the sidebar user-name input (the name goes to the audit log of every change).
USER_KEY = "audit-user"
#: Plain session key holding the user name across pages; the communities page keeps
#: its own input's value under the same key, so one name serves every page.
USER_NAME_KEY = "user-name"
#: Session key of the basemap chosen in the sidebar (a name of ``gislib.maps.BASEMAP_NAMES``).
BASEMAP_KEY = "basemap"
#: Environment variable naming the local XYZ tile folder, inside the app's ``static/``
#: folder (e.g. ``static/tiles/yangjiang``); see the README.
TILES_ENV_VAR = "RENOV_TILES_DIR"
#: Streamlit secret holding the Tianditu browser key (``.streamlit/secrets.toml``).
TIANDITU_SECRET = "tianditu_key"

# The folder Streamlit serves at /app/static (beside app.py).
_STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
_KEPT_SUFFIX = "::kept"
_MAX_USER_CHARS = 40


def _keep(key: str, kept: str | None = None) -> None:
    """Copy a widget's value to a plain session key, which survives pages without the widget."""
    st.session_state[kept or key + _KEPT_SUFFIX] = st.session_state[key]


def _restore(key: str, default: object, kept: str | None = None) -> None:
    """Give a widget the value kept from an earlier page (Streamlit drops unrendered widgets)."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(kept or key + _KEPT_SUFFIX, default)


def current_user() -> str:
    """The user name typed in the sidebar, recorded in the audit log ("" until typed).

    Draws the sidebar input; pages that write (communities, data) call it and
    refuse to save while it is empty.
    """
    _restore(USER_KEY, "", USER_NAME_KEY)
    value = st.sidebar.text_input(
        t("用户名（记入审计日志）", "User name (audit log)"),
        key=USER_KEY,
        max_chars=_MAX_USER_CHARS,
        placeholder=t("例如：江城区住建局-张工", "e.g. Jiangcheng housing bureau - Zhang"),
        on_change=_keep,
        args=(USER_KEY, USER_NAME_KEY),
    )
    return str(value).strip()


def _tianditu_key() -> str | None:
    try:
        value = st.secrets.get(TIANDITU_SECRET)
    except FileNotFoundError:  # no secrets.toml at all
        return None
    text = str(value).strip() if value is not None else ""
    return text or None


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _local_basemap(folder: str, static_dir: str, base_url_path: str) -> tuple[str, int | None]:
    from gislib.maps import local_basemap

    found = local_basemap(folder, static_dir=static_dir, base_url_path=base_url_path)
    return str(found.tiles_url), found.max_native_zoom


def basemap_choice() -> Basemap:
    """The basemap chosen in the sidebar; none (fully offline) by default.

    Draws the sidebar selector; pages that draw maps call it and pass the
    result to the builders of :mod:`gislib.maps`. Tianditu is offered only
    when ``tianditu_key`` is in Streamlit's secrets, local tiles only when
    ``$RENOV_TILES_DIR`` names a tile folder inside ``static/``; otherwise a
    note says why.
    """
    from gislib.errors import ConfigError
    from gislib.i18n import pick, tr
    from gislib.maps import BASEMAP_LABELS, NO_BASEMAP, Basemap

    key = _tianditu_key()
    options = ["none", "osm", "amap"] + (["tianditu"] if key else [])
    local: tuple[str, int | None] | None = None
    notes = []
    if not key:
        notes.append(
            t(
                f"天地图不可用：未在 .streamlit/secrets.toml 中设置 {TIANDITU_SECRET}。",
                f"Tianditu is unavailable: no {TIANDITU_SECRET} in .streamlit/secrets.toml.",
            )
        )
    folder = os.environ.get(TILES_ENV_VAR, "").strip()
    if folder:
        try:
            base_url_path = str(st.get_option("server.baseUrlPath") or "")
            local = _local_basemap(folder, str(_STATIC_DIR), base_url_path)
            options.append("local")
        except ConfigError as exc:
            prefix = t("本地瓦片不可用：", "Local tiles unavailable: ")
            notes.append(prefix + pick(str(exc), lang()))
    _restore(BASEMAP_KEY, "none")
    if st.session_state[BASEMAP_KEY] not in options:
        st.session_state[BASEMAP_KEY] = "none"
    name = st.sidebar.selectbox(
        t("底图", "Basemap"),
        options,
        format_func={n: tr(*BASEMAP_LABELS[n], lang()) for n in options}.__getitem__,
        key=BASEMAP_KEY,
        on_change=_keep,
        args=(BASEMAP_KEY,),
        help=t(
            "默认无底图，完全离线；在线底图的瓦片图片来自互联网（需联网）。",
            "No basemap by default (fully offline); online basemaps load tile images "
            "from the internet.",
        ),
    )
    for note in notes:
        st.sidebar.caption(md_escape(note))
    if name == "tianditu" and key:
        return Basemap("tianditu", tianditu_key=key)
    if name == "local" and local is not None:
        return Basemap("local", tiles_url=local[0], max_native_zoom=local[1])
    if name in ("osm", "amap"):
        return Basemap(name)
    return NO_BASEMAP
