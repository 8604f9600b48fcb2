"""The two forms of the communities page: edit a community's attributes, add a status event.

Both write through :mod:`gislib.store`, which audits every save. An attribute
edit is checked first by :func:`gislib.edits.check_changes` and saved against
the version the form was loaded from: the inputs are keyed on that version,
so a rerun never replaces what the user typed, and a save on a record someone
changed in the meantime is refused by the store (:class:`StaleEditError`).
The refusal is shown with the user's values next to the stored ones, the
inputs stay, and the user either applies the changes to the latest version
or discards them and reloads: an edit is never lost silently. A status event
is checked by :func:`gislib.planning.check_status_event` (a step backwards
is a correction that needs a note) and appended; the history is never
rewritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from gislib.edits import SHARE_UNIT, check_changes, editable_fields, field_range
from gislib.errors import GislibError, StaleEditError
from gislib.explore import stage_label, value_text
from gislib.i18n import pick
from gislib.planning import check_status_event, stage_rank
from gislib.schema import COUNTIES, LAYERS, STAGES, Field
from gislib.store import open_workspace
from gislib.ui import common

__all__ = [
    "FormContext",
    "edit_form",
    "edit_widget_key",
    "event_form",
    "event_widget_key",
    "flash",
    "plain",
    "show_flash",
]

_LAYER = "communities"
# Per community: the version (and values) the edit form was loaded from.
_BASE_KEY = "communities-edit-base"
# Per community: a refused (stale) edit and the changes the user wanted.
_STALE_KEY = "communities-stale"
# Per community: a counter that gives the event form fresh inputs after a save.
_EVENT_GEN_KEY = "communities-event-gen"
_FLASH_KEY = "communities-flash"
_YES_NO = (("是", "yes"), ("否", "no"))
_FORM_COLUMNS = 3


@dataclass(frozen=True)
class FormContext:
    """What the forms need to know about the community shown (read-only).

    Attributes
    ----------
    workspace : Path
        The workspace file the forms write to.
    community_id : str
        The community.
    record : Series
        Its row as stored now (``version`` included).
    events : DataFrame
        The ``status_events`` table as stored now.
    history : DataFrame
        :func:`gislib.planning.status_history` of the community.
    plan_years : tuple of int
        The plan's years (``policy.years``).
    today : datetime.date
        The date that bounds event dates and build years.
    user : str
        The name the user gave in the sidebar (``""`` if none).
    """

    workspace: Path
    community_id: str
    record: pd.Series
    events: pd.DataFrame
    history: pd.DataFrame
    plan_years: tuple[int, ...]
    today: dt.date
    user: str


def edit_widget_key(community_id: str, version: int, field: str) -> str:
    """Key of one input of the attribute form (fresh keys for each loaded version)."""
    return f"communities-edit-{community_id}-v{version}-{field}"


def event_widget_key(community_id: str, generation: int, field: str) -> str:
    """Key of one input of the status-event form."""
    return f"communities-event-{community_id}-{generation}-{field}"


def flash(kind: str, message: str) -> None:
    """Keep a message (``"success"`` or ``"info"``) for the next run, after ``st.rerun``."""
    st.session_state[_FLASH_KEY] = (kind, message)


def show_flash() -> None:
    """Show (once) the message kept by :func:`flash`."""
    kind, message = st.session_state.pop(_FLASH_KEY, ("", ""))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "info":
        st.info(message, icon=":material/info:")


def plain(value: Any) -> Any:
    """A cell of a layer as a plain Python value (``None`` when missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _need_user(ctx: FormContext) -> bool:
    if ctx.user:
        return False
    st.error(
        common.t("请先在侧边栏填写您的姓名", "Enter your name in the sidebar first"),
        icon=":material/person:",
    )
    return True


def _show_library_error(exc: GislibError) -> None:
    st.error(pick(str(exc), common.lang()), icon=":material/error:")


# ---------------------------------------------------------------------------
# Status event


def event_form(ctx: FormContext) -> None:
    """The form that appends a status event; proposes the next stage of the plan."""
    gens: dict[str, int] = st.session_state.setdefault(_EVENT_GEN_KEY, {})
    gen = int(gens.get(ctx.community_id, 0))
    reached = max((stage_rank(s) for s in ctx.history["stage"]), default=-1)
    next_stage = STAGES[min(reached + 1, len(STAGES) - 1)]
    years = list(ctx.plan_years)
    planned = ctx.history["year"].dropna()
    default_year = int(planned.iloc[-1]) if len(planned) else ctx.today.year
    default_year = min(max(default_year, years[0]), years[-1])
    key = ctx.community_id
    with st.form(f"communities-event-form-{key}-{gen}"):
        st.markdown(f"**{common.t('登记进度', 'Add a status event')}**")
        stage = st.selectbox(
            common.t("阶段", "Stage"),
            STAGES,
            index=STAGES.index(next_stage),
            format_func=stage_label,
            key=event_widget_key(key, gen, "stage"),
        )
        cols = st.columns(2)
        picked = cols[0].date_input(
            common.t("日期", "Date"),
            value=ctx.today,
            max_value=ctx.today,
            key=event_widget_key(key, gen, "date"),
        )
        year = cols[1].selectbox(
            common.t("计划年度", "Plan year"),
            years,
            index=years.index(default_year),
            key=event_widget_key(key, gen, "year"),
        )
        note = st.text_input(
            common.t("备注（更正或补录时必填）", "Note (required for a correction)"),
            key=event_widget_key(key, gen, "note"),
        )
        submitted = st.form_submit_button(
            common.t("添加进度记录", "Add event"), icon=":material/add:"
        )
    if not submitted or _need_user(ctx):
        return
    date = picked if isinstance(picked, dt.date) else ctx.today
    try:
        correction = check_status_event(
            ctx.events,
            key,
            stage=str(stage),
            date=date,
            year=int(year),
            note=note,
            plan_years=years,
            today=ctx.today,
        )
        open_workspace(ctx.workspace).add_status_event(
            key, year=int(year), stage=str(stage), date=date, user=ctx.user, note=note.strip()
        )
    except GislibError as exc:
        _show_library_error(exc)
        return
    gens[key] = gen + 1
    message = common.t(f"已添加进度：{stage}", f"Status event added: {stage}")
    if correction:
        message += common.t(
            "（更正记录；状态仍按已到达的最远阶段计算）",
            " (a correction; the status still follows the furthest stage reached)",
        )
    flash("success", message)
    st.rerun()


# ---------------------------------------------------------------------------
# Attributes


def _field_input(field: Field, value: Any, key: str) -> Any:
    """The input that fits a schema field; returns what the user entered."""
    label = common.t(field.zh, field.en)
    low, high = field_range(field)
    if low is not None:
        label += f"（{low:g}-{high:g}）" if high is not None else f"（≥ {low:g}）"
    if field.name == "county_code" or field.choices:
        options = list(COUNTIES) if field.name == "county_code" else list(field.choices or ())
        return st.selectbox(
            label,
            options,
            index=options.index(value) if value in options else None,
            format_func=(lambda c: common.t(*COUNTIES[c])) if field.name == "county_code" else str,
            placeholder=common.t("未填", "not set"),
            key=key,
        )
    if field.type == "bool":
        return st.segmented_control(
            label,
            [True, False],
            format_func=lambda v: common.t(*(_YES_NO[0] if v else _YES_NO[1])),
            default=value,
            key=key,
        )
    if field.type == "int":
        return st.number_input(label, value=value, step=1, format="%d", key=key)
    if field.type == "float":
        share = field.unit == SHARE_UNIT
        return st.number_input(
            label,
            value=value,
            step=0.01 if share else 1.0,
            format="%.2f" if share else "%.1f",
            key=key,
        )
    return st.text_input(label, value=value or "", key=key)


def edit_form(ctx: FormContext) -> None:
    """The attribute form, in an expander that opens when the record changed underneath."""
    bases: dict[str, dict[str, Any]] = st.session_state.setdefault(_BASE_KEY, {})
    stale: dict[str, dict[str, Any]] = st.session_state.setdefault(_STALE_KEY, {})
    key = ctx.community_id
    current_version = int(ctx.record["version"])
    if key not in bases:
        values = {f.name: plain(ctx.record.get(f.name)) for f in editable_fields(_LAYER)}
        bases[key] = {"version": current_version, "values": values}
    base = bases[key]
    refused = stale.get(key)

    def reload() -> None:
        bases.pop(key, None)
        stale.pop(key, None)

    with st.expander(
        common.t("编辑小区属性", "Edit attributes"),
        expanded=refused is not None or base["version"] != current_version,
        icon=":material/edit:",
    ):
        if refused is not None:
            _stale_panel(ctx, refused, reload)
        elif base["version"] != current_version:
            st.warning(
                common.t(
                    f"此小区在您打开后已被修改（版本 {base['version']} → {current_version}）。"
                    "保存将被拒绝，请先载入最新数据。",
                    f"This community changed after you opened it (version {base['version']} → "
                    f"{current_version}); saving will be refused: reload first.",
                ),
                icon=":material/sync_problem:",
            )
            st.button(common.t("载入最新数据", "Reload"), on_click=reload, key="communities-reload")
        with st.form(f"communities-edit-form-{key}-v{base['version']}"):
            cols = st.columns(_FORM_COLUMNS)
            entered = {}
            for i, field in enumerate(editable_fields(_LAYER)):
                with cols[i % _FORM_COLUMNS]:
                    entered[field.name] = _field_input(
                        field,
                        base["values"].get(field.name),
                        edit_widget_key(key, base["version"], field.name),
                    )
            note = st.text_input(
                common.t("修改说明（可选）", "Note (optional)"),
                key=edit_widget_key(key, base["version"], "_note"),
            )
            submitted = st.form_submit_button(
                common.t("保存修改", "Save changes"), type="primary", icon=":material/save:"
            )
    if not submitted or _need_user(ctx):
        return
    try:
        changes = check_changes(
            _LAYER, entered, current=base["values"], record_id=key, today=ctx.today
        )
    except GislibError as exc:
        _show_library_error(exc)
        return
    if not changes:
        st.info(common.t("没有修改需要保存", "Nothing changed"), icon=":material/info:")
        return
    _save(ctx, changes, version=base["version"], note=note)


def _save(ctx: FormContext, changes: Mapping[str, Any], *, version: int, note: str) -> None:
    """Save against ``version``; on a stale version keep the changes and show why."""
    bases: dict[str, Any] = st.session_state[_BASE_KEY]
    stale: dict[str, Any] = st.session_state[_STALE_KEY]
    key = ctx.community_id
    try:
        new_version = open_workspace(ctx.workspace).update(
            _LAYER, key, changes, expected_version=version, user=ctx.user, note=note.strip()
        )
    except StaleEditError as exc:
        stale[key] = {"message": str(exc), "changes": dict(changes), "note": note}
        st.rerun()
    except GislibError as exc:
        _show_library_error(exc)
        return
    bases.pop(key, None)
    stale.pop(key, None)
    flash(
        "success",
        common.t(
            f"已保存 {len(changes)} 项修改（版本 {version} → {new_version}）",
            f"Saved {len(changes)} change(s) (version {version} → {new_version})",
        ),
    )
    st.rerun()


def _stale_panel(ctx: FormContext, refused: dict[str, Any], reload: Callable[[], None]) -> None:
    """The refused edit: the store's message, yours against the stored values, two ways out."""
    st.error(pick(str(refused["message"]), common.lang()), icon=":material/sync_problem:")
    schema = LAYERS[_LAYER]
    lang = common.lang()
    fields = [schema.field(n) for n in refused["changes"]]
    st.dataframe(
        pd.DataFrame(
            {
                common.t("字段", "Field"): [common.t(f.zh, f.en) for f in fields],
                common.t("您的修改", "Your value"): [
                    value_text(f, refused["changes"][f.name], lang=lang) for f in fields
                ],
                common.t("当前保存的值", "Value saved now"): [
                    value_text(f, plain(ctx.record.get(f.name)), lang=lang) for f in fields
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    cols = st.columns(2)
    if cols[0].button(
        common.t("以最新版本为准，保存我的修改", "Apply my changes to the latest version"),
        key="communities-stale-apply",
        icon=":material/save:",
    ) and not _need_user(ctx):
        _save(
            ctx,
            refused["changes"],
            version=int(ctx.record["version"]),
            note=str(refused.get("note", "")),
        )
    cols[1].button(
        common.t("放弃我的修改，载入最新数据", "Discard my changes and reload"),
        key="communities-stale-reload",
        on_click=reload,
        icon=":material/refresh:",
    )
