"""Strict reading of the project's TOML settings files (policy, works).

Internal: shared by :mod:`gislib.policy` and :mod:`gislib.works` so that both
give the same errors, naming the file and the key, what was found and what
was expected.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from gislib.errors import PolicyError

__all__ = ["TableReader", "read_toml"]

T = TypeVar("T")


def read_toml(path: Path, *, what: tuple[str, str]) -> dict[str, Any]:
    """Parse a TOML file; ``what`` names it for messages, e.g. ``("政策文件", "policy file")``.

    Raises
    ------
    PolicyError
        Missing file or invalid TOML.
    """
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"{what[0]} {path} 不存在 / {what[1]} {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path.name} 不是有效的 TOML / is not valid TOML: {exc}") from None


class TableReader:
    """Reads the keys of one table of a TOML settings file, with errors naming file and key.

    Every read key is remembered; :meth:`done` refuses the keys nobody read, so
    a typo is an error instead of a silent default.
    """

    def __init__(self, table: Mapping[str, Any], *, path: str, file: str) -> None:
        if not isinstance(table, Mapping):
            raise PolicyError(
                f"{file}: [{path}] 应为表 / must be a table, found {type(table).__name__}"
            )
        self.table = table
        self.path = path
        self.file = file
        self.used: set[str] = set()

    def fail(self, key: str, found: object, expected: str) -> PolicyError:
        return PolicyError(
            f"{self.file}: {self.path}.{key} = {found!r}，应为 {expected} / "
            f"{self.path}.{key} is {found!r}, expected {expected}"
        )

    def get(self, key: str, kind: type[T], *, expected: str, default: T | None = None) -> T:
        self.used.add(key)
        if key not in self.table:
            if default is not None:
                return default
            raise PolicyError(
                f"{self.file}: 缺少 {self.path}.{key}（应为 {expected}）/ missing "
                f"{self.path}.{key}, expected {expected}"
            )
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, value, expected)
        return value

    def share(self, key: str) -> float:
        value = self.get(key, float, expected="0 到 1 之间的比例 / a share between 0 and 1")
        if not 0.0 <= value <= 1.0:
            raise self.fail(key, value, "0 到 1 之间的比例 / a share between 0 and 1")
        return value

    def year(self, key: str) -> int:
        value = self.get(key, int, expected="年份，如 2000 / a year such as 2000")
        if not 1900 <= value <= 2100:
            raise self.fail(key, value, "1900-2100 之间的年份 / a year 1900-2100")
        return value

    def positive(self, key: str) -> float:
        value = self.get(key, float, expected="正数 / a positive number")
        if value <= 0:
            raise self.fail(key, value, "正数 / a positive number")
        return value

    def sub(self, key: str) -> TableReader:
        self.used.add(key)
        if key not in self.table:
            raise PolicyError(
                f"{self.file}: 缺少表 [{self.path}.{key}] / missing table [{self.path}.{key}]"
            )
        path = f"{self.path}.{key}" if self.path else key
        return TableReader(self.table[key], path=path, file=self.file)

    def rule_base(self, rule_id: str) -> dict[str, Any]:
        return {
            "id": rule_id,
            "section": self.get(
                "section", str, expected='方案章节，如 "三（二）" / a plan section'
            ),
            "zh": self.get("zh", str, expected="中文规则说明 / the rule in Chinese"),
            "en": self.get("en", str, expected="the rule in English"),
            "enabled": self.get("enabled", bool, expected="true 或 false", default=True),
        }

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            where = f"[{self.path}]" if self.path else "顶层 / top level"
            raise PolicyError(
                f"{self.file}: {where} 中有未知的键 {unknown}（拼写错误？）/ unknown keys "
                f"{unknown} in {where} (a typo?)"
            )
