"""Checking a user's edit of one record before it is saved, and reading the audit trail back.

A form (the app, a notebook) hands :func:`check_changes` the values a user
typed for one record; it checks them against the layer's schema
(:mod:`gislib.schema`): the field is editable, the value has the field's
type, is one of its choices, lies in its range (a share 0-1, a build year
from :data:`YEAR_MIN` to this year, counts and areas not negative), and a
required field is not emptied. Every problem is reported at once, each naming
the field (Chinese label and name) and the fix. What passes is normalised to
plain Python values ready for :meth:`gislib.store.Workspace.update`, and,
given the record as loaded, reduced to the fields that really changed.

:func:`describe_audit` turns the store's audit rows (JSON before / after)
into lines a planner reads: who, when, what changed from what to what.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gislib.errors import SchemaError
from gislib.i18n import DEFAULT_LANG, tr
from gislib.schema import COUNTIES, Field, Layer, layer_schema

__all__ = [
    "AUDIT_COLUMNS",
    "SHARE_UNIT",
    "YEAR_MAX",
    "YEAR_MIN",
    "check_changes",
    "describe_audit",
    "editable_fields",
    "field_range",
]

logger = logging.getLogger(__name__)

#: Earliest year accepted in a year field (build year, planned year).
YEAR_MIN = 1900
#: Latest year accepted in a year field that may lie in the future (planned year).
YEAR_MAX = 2100
#: Unit of a share field (:attr:`gislib.schema.Field.unit`): a fraction 0-1.
SHARE_UNIT = "share 0-1"
# Year fields that cannot lie in the future: what is built is built by now.
_PAST_YEAR_FIELDS = frozenset({"build_year"})
# Relative tolerance under which a float is "unchanged" (form widgets round).
_FLOAT_RTOL = 1e-9

#: Columns of :func:`describe_audit`, in order.
AUDIT_COLUMNS: tuple[str, ...] = ("audit_id", "time", "user", "action", "changes", "note")
_ACTIONS: dict[str, tuple[str, str]] = {
    "update": ("修改", "edit"),
    "append": ("新增", "add"),
}


def editable_fields(layer: str) -> tuple[Field, ...]:
    """The fields of a layer a user may edit: all but the id and the system fields.

    Parameters
    ----------
    layer : str
        A layer of :data:`gislib.schema.LAYERS`.

    Returns
    -------
    tuple of Field
        In schema order; empty for an append-only layer.

    Raises
    ------
    SchemaError
        Unknown layer.

    Examples
    --------
    >>> [f.name for f in editable_fields("communities")][:3]
    ['name', 'county_code', 'street']
    """
    schema = _schema(layer)
    if schema.append_only:
        return ()
    return tuple(f for f in schema.fields if f.name != schema.id_field and not f.system)


def _schema(layer: str) -> Layer:
    try:
        return layer_schema(layer)
    except KeyError as exc:
        raise SchemaError(str(exc.args[0])) from None


def _is_year(field: Field) -> bool:
    return field.type == "int" and (field.name == "year" or field.name.endswith("_year"))


def field_range(field: Field, *, today: dt.date | None = None) -> tuple[float | None, float | None]:
    """The smallest and largest value a number field accepts (``None``: no bound).

    Years run from :data:`YEAR_MIN` to this year for a build year (to
    :data:`YEAR_MAX` for other years); shares from 0 to 1; other counts,
    areas and lengths from 0 up. Text, flags and dates have no range.

    Parameters
    ----------
    field : Field
        A schema field.
    today : datetime.date, optional
        Default: the current date.

    Examples
    --------
    >>> from gislib.schema import LAYERS
    >>> field_range(LAYERS["communities"].field("willingness"))
    (0.0, 1.0)
    """
    if field.type not in ("int", "float"):
        return (None, None)
    if _is_year(field):
        year = (today or dt.date.today()).year
        return (YEAR_MIN, year if field.name in _PAST_YEAR_FIELDS else YEAR_MAX)
    if field.unit == SHARE_UNIT:
        return (0.0, 1.0)
    return (0, None) if field.type == "int" else (0.0, None)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _expected(field: Field, low: float | None, high: float | None) -> tuple[str, str]:
    """How to fill the field, in Chinese and English."""
    if field.name == "county_code":
        zh = "、".join(f"{code}（{name}）" for code, (name, _en) in COUNTIES.items())
        en = ", ".join(f"{code} ({name})" for code, (_zh, name) in COUNTIES.items())
        return f"请选择区县代码：{zh}", f"choose a county code: {en}"
    if field.choices:
        return f"请从以下选项中选择：{'、'.join(field.choices)}", (
            f"choose one of: {', '.join(field.choices)}"
        )
    if field.unit == SHARE_UNIT:
        return "请填 0 到 1 之间的比例，例如 0.85", "enter a share between 0 and 1, e.g. 0.85"
    if _is_year(field):
        return f"请填 {low}-{high} 之间的四位年份", f"enter a year from {low} to {high}"
    if field.type == "int":
        return "请填不小于 0 的整数", "enter a whole number, 0 or more"
    if field.type == "float":
        return "请填不小于 0 的数字", "enter a number, 0 or more"
    if field.type == "bool":
        return "请选择 是 或 否", "choose yes or no"
    if field.type == "date":
        return "请填日期，例如 2021-03-05", "enter a date such as 2021-03-05"
    return "请填文字", "enter text"


class _BadValueError(ValueError):
    """One bad value: what is wrong, in both languages (the fix is added by the caller)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


def _number(value: Any, field: Field) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        text = str(value).strip().replace(",", "")
        try:
            value = float(text)
        except ValueError:
            raise _BadValueError(f"「{value}」不是数字", f"{value!r} is not a number") from None
    number = float(value)
    if not math.isfinite(number):
        raise _BadValueError(f"{value} 不是有效数字", f"{value} is not a finite number")
    if field.type == "int" and not number.is_integer():
        raise _BadValueError(f"{value} 不是整数", f"{value} is not a whole number")
    return number


def _plain(number: float | None) -> str:
    """A number as written by hand: 1 not 1.0, 0.85 as is."""
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else str(number)


def _clean(value: Any, field: Field, *, today: dt.date | None) -> Any:
    """A non-missing value converted to the field's plain Python type, or a _BadValueError."""
    if field.type == "str":
        text = str(value).strip()
        if field.choices is not None and text not in field.choices:
            raise _BadValueError(f"「{text}」不在可选范围内", f"{text!r} is not allowed")
        return text
    if field.type in ("int", "float"):
        number = _number(value, field)
        low, high = field_range(field, today=today)
        if (low is not None and number < low) or (high is not None and number > high):
            shown, lo = _plain(number), _plain(low)
            if high is None:
                raise _BadValueError(f"{shown} 小于 {lo}", f"{shown} is below {lo}")
            hi = _plain(high)
            raise _BadValueError(f"{shown} 超出范围（{lo}-{hi}）", f"{shown} is outside {lo}-{hi}")
        return int(number) if field.type == "int" else number
    if field.type == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value)
        raise _BadValueError(f"「{value}」不是 是/否", f"{value!r} is not yes or no")
    if field.type == "date":
        try:
            return pd.Timestamp(value).date()
        except (TypeError, ValueError):
            raise _BadValueError(f"「{value}」不是日期", f"{value!r} is not a date") from None
    return value


def _same(a: Any, b: Any, field: Field) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if field.type == "float":
        return math.isclose(float(a), float(b), rel_tol=_FLOAT_RTOL)
    if field.type == "int":
        return int(a) == int(b)
    if field.type == "bool":
        return bool(a) == bool(b)
    if field.type == "str":
        return str(a).strip() == str(b).strip()
    return bool(a == b)


def check_changes(
    layer: str,
    changes: Mapping[str, Any],
    *,
    current: Mapping[str, Any] | None = None,
    record_id: str | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Check the values a user entered for one record; return them ready to save.

    Parameters
    ----------
    layer : str
        The layer edited (``"communities"``).
    changes : mapping
        Field name -> value as entered. ``None``, NaN or blank text empties
        the field.
    current : mapping, optional
        The record as the user loaded it (a row of the layer). When given,
        fields whose value did not change are left out of the result.
    record_id : str, optional
        Named in the error message.
    today : datetime.date, optional
        The date that bounds a build year; default the current date.

    Returns
    -------
    dict
        Field -> plain Python value (``str``, ``int``, ``float``, ``bool``,
        ``datetime.date`` or ``None``), for
        :meth:`gislib.store.Workspace.update`.

    Raises
    ------
    SchemaError
        A field that does not exist or may not be edited, or bad values. The
        message (``"中文 / English"``) lists every problem, each with the
        field's label and name and what to enter instead; nothing is returned
        until all are fixed.

    Examples
    --------
    >>> check_changes("communities", {"willingness": "0.85", "build_year": 1995.0})
    {'willingness': 0.85, 'build_year': 1995}
    >>> check_changes("communities", {"willingness": 1.5})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    gislib.errors.SchemaError: 1 处输入有误：「居民同意率」（willingness）1.5 超出范围（0-1）...
    """
    fields = {f.name: f for f in editable_fields(layer)}
    unknown = [name for name in changes if name not in fields]
    if unknown:
        raise SchemaError(
            f"图层 {layer} 的字段 {unknown} 不存在或不可修改，可修改的字段：{list(fields)} / "
            f"fields {unknown} of {layer!r} do not exist or cannot be edited; editable: "
            f"{list(fields)}"
        )
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, value in changes.items():
        field = fields[name]
        try:
            if _missing(value):
                if field.required:
                    raise _BadValueError("为必填项，不能为空", "is required and cannot be empty")
                cleaned = None
            else:
                cleaned = _clean(value, field, today=today)
        except _BadValueError as problem:
            low, high = field_range(field, today=today)
            fix_zh, fix_en = _expected(field, low, high)
            problems.append(
                (
                    f"「{field.zh}」（{name}）{problem.zh}，{fix_zh}",
                    f"{field.en} ({name}): {problem.en}; {fix_en}",
                )
            )
            continue
        if current is not None and name in current and _same(cleaned, current[name], field):
            continue
        out[name] = cleaned
    if problems:
        where_zh = f"小区 {record_id}：" if record_id else ""
        where_en = f"{record_id}: " if record_id else ""
        zh = "；".join(p[0] for p in problems)
        en = "; ".join(p[1] for p in problems)
        raise SchemaError(
            f"{where_zh}{len(problems)} 处输入有误：{zh}。未保存任何修改 / {where_en}"
            f"{len(problems)} invalid value(s): {en}. Nothing was saved"
        )
    return out


def _field_of(layer: str, name: str) -> Field | None:
    try:
        return _schema(layer).field(name)
    except KeyError:
        return None


def _label(layer: str, name: str, lang: str) -> str:
    if name == "geometry":
        return tr("图形", "geometry", lang)
    field = _field_of(layer, name)
    return name if field is None else tr(field.zh, field.en, lang)


# How SQLite and JSON spell a stored flag (the audit keeps the stored value).
_TRUE_TEXT = frozenset({"1", "true"})
_FALSE_TEXT = frozenset({"0", "false"})


def _shown(value: Any, lang: str, field: Field | None = None) -> str:
    if value is None:
        return tr("（空）", "(empty)", lang)
    if field is not None and field.type == "bool" and not isinstance(value, bool):
        text = str(value).strip().lower()
        value = True if text in _TRUE_TEXT else False if text in _FALSE_TEXT else value
    if isinstance(value, bool):
        return tr("是", "yes", lang) if value else tr("否", "no", lang)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if text.startswith(("POLYGON", "MULTIPOLYGON", "LINESTRING", "MULTILINESTRING")):
        return tr("（已修改）", "(changed)", lang)
    return text


def _loads(text: Any) -> Any:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    try:
        return json.loads(str(text))
    except ValueError:
        return None


def describe_audit(audit: pd.DataFrame, *, layer: str, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """The store's audit rows as a planner reads them, newest first.

    Parameters
    ----------
    audit : DataFrame
        :meth:`gislib.store.Workspace.audit_log` rows (``audit_id``, ``ts``
        in UTC ISO format, ``user``, ``action``, ``before``, ``after`` as
        JSON, ``note``).
    layer : str
        The layer the rows are about (names the fields).
    lang : {"zh", "en"}
        Language of the labels.

    Returns
    -------
    DataFrame
        Columns :data:`AUDIT_COLUMNS`: ``time`` in local time (naive
        Timestamp), ``action`` 修改 / 新增, ``changes`` one line such as
        ``"居民同意率：0.51 → 0.8；建成年份：1993 → 1995"`` (for an append, the
        ids added).

    Examples
    --------
    >>> describe_audit(ws.audit_log(layer="communities", record_id="C1"),
    ...                layer="communities")  # doctest: +SKIP
    """
    rows = []
    arrow = " → "
    sep = tr("；", "; ", lang)
    colon = tr("：", ": ", lang)
    for rec in audit.sort_values("audit_id", ascending=False).itertuples(index=False):
        before = _loads(getattr(rec, "before", None)) or {}
        after = _loads(getattr(rec, "after", None)) or {}
        action = str(rec.action)
        if action == "update" and isinstance(after, dict):
            old = before if isinstance(before, dict) else {}
            parts = [
                f"{_label(layer, name, lang)}{colon}"
                f"{_shown(old.get(name), lang, _field_of(layer, name))}"
                f"{arrow}{_shown(value, lang, _field_of(layer, name))}"
                for name, value in after.items()
            ]
            text = sep.join(parts)
        elif isinstance(after, dict) and "ids" in after:
            text = "、".join(str(i) for i in after["ids"])
        else:
            text = ""
        ts = pd.Timestamp(str(rec.ts))
        if ts.tzinfo is not None:
            ts = ts.tz_convert(_local_tz()).tz_localize(None)
        rows.append(
            {
                "audit_id": int(str(rec.audit_id)),
                "time": ts,
                "user": str(rec.user),
                "action": tr(*_ACTIONS.get(action, (action, action)), lang),
                "changes": text,
                "note": "" if rec.note is None else str(rec.note),
            }
        )
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))


def _local_tz() -> dt.tzinfo | None:
    return dt.datetime.now().astimezone().tzinfo
