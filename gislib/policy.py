"""The plan's rules as data: load and validate a policy file into a frozen object.

A policy file (TOML, e.g. ``data/policies/yangjiang-2021-2025.toml``) holds
every threshold the analysis uses, each rule with the section of the plan it
comes from. Another city's rules are another file, not new code. A bad file
gets a :class:`~gislib.errors.PolicyError` naming the file, the key, what was
found and what was expected; unknown keys are refused too, so a typo never
silently falls back to a default.

Shares are fractions 0-1; distances are metres (measured in EPSG:4546).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from gislib.errors import PolicyError
from gislib.schema import MANAGEMENT_CHOICES, Network

__all__ = [
    "BuildYearRule",
    "Deficiencies",
    "DeficiencyRule",
    "ExpropriationRule",
    "ManagementRule",
    "Policy",
    "Rule",
    "Rules",
    "ScopeRule",
    "WillingnessRule",
    "load_policy",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """A rule of the plan: its id, the plan section and its wording.

    Attributes
    ----------
    id : str
        Stable identifier (``"expropriation"``).
    section : str
        Section of the plan, e.g. ``"三（二）"``.
    zh, en : str
        The rule in Chinese and English.
    enabled : bool
        A city whose plan lacks the rule switches it off.
    """

    id: str
    section: str
    zh: str
    en: str
    enabled: bool = True


@dataclass(frozen=True)
class ScopeRule(Rule):
    """Inside the urban area (三): share of the community's area inside ``urban_areas``."""

    min_share_inside: float = 0.5


@dataclass(frozen=True)
class BuildYearRule(Rule):
    """Year built (三): priority up to ``priority_until``, capped up to ``capped_until``."""

    priority_until: int = 2000
    capped_until: int = 2005
    capped_max_share: float = 0.15


@dataclass(frozen=True)
class ExpropriationRule(Rule):
    """Not in a planned expropriation zone (三（二）): overlap share bands."""

    ignore_up_to: float = 0.02
    refuse_above: float = 0.10


@dataclass(frozen=True)
class WillingnessRule(Rule):
    """Residents willing (三（一）): share of households agreeing."""

    min_share: float = 2 / 3
    review_below: float = 0.5


@dataclass(frozen=True)
class ManagementRule(Rule):
    """Property management imperfect (三（一）): the management values that count as imperfect."""

    imperfect: tuple[str, ...] = ("无", "业委会")


@dataclass(frozen=True)
class DeficiencyRule(Rule):
    """Infrastructure clearly deficient (三（一）): at least ``min_count`` deficiencies."""

    min_count: int = 1


@dataclass(frozen=True)
class Rules:
    """All rules of a policy, by id."""

    scope: ScopeRule
    build_year: BuildYearRule
    not_renovated: Rule
    expropriation: ExpropriationRule
    illegal_structures: Rule
    willingness: WillingnessRule
    management: ManagementRule
    deficiency: DeficiencyRule

    def all(self) -> tuple[Rule, ...]:
        """Every rule, in the order the checks report them."""
        return (
            self.scope,
            self.build_year,
            self.not_renovated,
            self.expropriation,
            self.illegal_structures,
            self.willingness,
            self.management,
            self.deficiency,
        )


@dataclass(frozen=True)
class Deficiencies:
    """Thresholds that make a community deficient (and drive its works)."""

    lift_min_storeys: int = 4
    waterlogging_depth_m: float = 0.15


@dataclass(frozen=True)
class Policy:
    """A city's renovation policy, loaded from a file by :func:`load_policy`.

    Attributes
    ----------
    id, title, title_en, city : str
        Identification.
    first_year, last_year : int
        The plan period.
    rules : Rules
        The eligibility rules.
    deficiencies : Deficiencies
        Deficiency thresholds.
    reach_m : Mapping[str, float]
        For each pipeline network, how far (m, EPSG:4546) a main may be to serve
        a community.
    source : str
        The file it was read from.
    """

    id: str
    title: str
    title_en: str
    city: str
    first_year: int
    last_year: int
    rules: Rules
    deficiencies: Deficiencies
    reach_m: Mapping[str, float]
    source: str

    @property
    def years(self) -> range:
        """The plan years, first to last inclusive."""
        return range(self.first_year, self.last_year + 1)


class _Reader:
    """Reads keys of one table of a policy file, with errors naming file and key."""

    def __init__(self, table: Mapping[str, Any], *, path: str, file: str) -> None:
        if not isinstance(table, Mapping):
            raise PolicyError(
                f"{file}: [{path}] 应为表 / must be a table, found {type(table).__name__}"
            )
        self.table = table
        self.path = path
        self.file = file
        self.used: set[str] = set()

    def _fail(self, key: str, found: object, expected: str) -> PolicyError:
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
            raise self._fail(key, value, expected)
        return value

    def share(self, key: str) -> float:
        value = self.get(key, float, expected="0 到 1 之间的比例 / a share between 0 and 1")
        if not 0.0 <= value <= 1.0:
            raise self._fail(key, value, "0 到 1 之间的比例 / a share between 0 and 1")
        return value

    def year(self, key: str) -> int:
        value = self.get(key, int, expected="年份，如 2000 / a year such as 2000")
        if not 1900 <= value <= 2100:
            raise self._fail(key, value, "1900-2100 之间的年份 / a year 1900-2100")
        return value

    def positive(self, key: str) -> float:
        value = self.get(key, float, expected="正数 / a positive number")
        if value <= 0:
            raise self._fail(key, value, "正数 / a positive number")
        return value

    def sub(self, key: str) -> _Reader:
        self.used.add(key)
        if key not in self.table:
            raise PolicyError(
                f"{self.file}: 缺少表 [{self.path}.{key}] / missing table [{self.path}.{key}]"
            )
        path = f"{self.path}.{key}" if self.path else key
        return _Reader(self.table[key], path=path, file=self.file)

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


def _rules(reader: _Reader) -> Rules:
    scope = reader.sub("scope")
    scope_rule = ScopeRule(
        **scope.rule_base("scope"), min_share_inside=scope.share("min_share_inside")
    )
    scope.done()

    by = reader.sub("build_year")
    build_year = BuildYearRule(
        **by.rule_base("build_year"),
        priority_until=by.year("priority_until"),
        capped_until=by.year("capped_until"),
        capped_max_share=by.share("capped_max_share"),
    )
    if build_year.capped_until < build_year.priority_until:
        raise by._fail(
            "capped_until",
            build_year.capped_until,
            f"不早于 priority_until（{build_year.priority_until}）/ not before priority_until",
        )
    by.done()

    plain = {}
    for rule_id in ("not_renovated", "illegal_structures"):
        sub = reader.sub(rule_id)
        plain[rule_id] = Rule(**sub.rule_base(rule_id))
        sub.done()

    ex = reader.sub("expropriation")
    expropriation = ExpropriationRule(
        **ex.rule_base("expropriation"),
        ignore_up_to=ex.share("ignore_up_to"),
        refuse_above=ex.share("refuse_above"),
    )
    if expropriation.refuse_above < expropriation.ignore_up_to:
        raise ex._fail(
            "refuse_above",
            expropriation.refuse_above,
            "不小于 ignore_up_to / at least ignore_up_to",
        )
    ex.done()

    wi = reader.sub("willingness")
    willingness = WillingnessRule(
        **wi.rule_base("willingness"),
        min_share=wi.share("min_share"),
        review_below=wi.share("review_below"),
    )
    if willingness.review_below > willingness.min_share:
        raise wi._fail(
            "review_below", willingness.review_below, "不大于 min_share / at most min_share"
        )
    wi.done()

    ma = reader.sub("management")
    imperfect = ma.get("imperfect", list, expected=f"取值列表，取自 {list(MANAGEMENT_CHOICES)}")
    bad = [v for v in imperfect if v not in MANAGEMENT_CHOICES]
    if bad:
        raise ma._fail("imperfect", bad, f"取值来自 / values from {list(MANAGEMENT_CHOICES)}")
    management = ManagementRule(**ma.rule_base("management"), imperfect=tuple(imperfect))
    ma.done()

    de = reader.sub("deficiency")
    min_count = de.get("min_count", int, expected="非负整数 / a whole number >= 0")
    if min_count < 0:
        raise de._fail("min_count", min_count, "非负整数 / a whole number >= 0")
    deficiency = DeficiencyRule(**de.rule_base("deficiency"), min_count=min_count)
    de.done()

    reader.done()
    return Rules(
        scope=scope_rule,
        build_year=build_year,
        not_renovated=plain["not_renovated"],
        expropriation=expropriation,
        illegal_structures=plain["illegal_structures"],
        willingness=willingness,
        management=management,
        deficiency=deficiency,
    )


def load_policy(path: Path | str | None = None) -> Policy:
    """Load and validate a policy file.

    Parameters
    ----------
    path : path-like, optional
        A TOML policy file; default: the Yangjiang 2021-2025 policy shipped in
        ``data/policies`` (see :func:`gislib.datasets.policy_path`).

    Returns
    -------
    Policy
        Frozen; shares 0-1, distances in metres (EPSG:4546).

    Raises
    ------
    PolicyError
        Missing file, bad TOML, a missing or unknown key, or a value of the wrong
        kind; the message names the file and the key and says what is expected.

    Examples
    --------
    >>> policy = load_policy()
    >>> policy.rules.build_year.capped_max_share, policy.reach_m["gas"]
    (0.15, 300.0)
    """
    if path is None:
        from gislib.datasets import policy_path

        path = policy_path()
    path = Path(path)
    file = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"政策文件 {path} 不存在 / policy file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{file} 不是有效的 TOML / is not valid TOML: {exc}") from None
    top = _Reader(data, path="", file=file)
    meta = top.sub("meta")
    first_year = meta.year("first_year")
    last_year = meta.year("last_year")
    if last_year < first_year:
        raise meta._fail("last_year", last_year, f"不早于 first_year（{first_year}）")
    ident = {
        "id": meta.get("id", str, expected="政策编号 / an id"),
        "title": meta.get("title", str, expected="中文标题 / a title"),
        "title_en": meta.get("title_en", str, expected="an English title"),
        "city": meta.get("city", str, expected="城市 / the city"),
    }
    meta.done()
    rules = _rules(top.sub("rules"))
    de = top.sub("deficiencies")
    deficiencies = Deficiencies(
        lift_min_storeys=de.get("lift_min_storeys", int, expected="层数 / a number of storeys"),
        waterlogging_depth_m=de.positive("waterlogging_depth_m"),
    )
    de.done()
    networks = top.sub("networks")
    reach = networks.sub("reach_m")
    reach_m = {str(n): reach.positive(str(n)) for n in Network}
    reach.done()
    networks.done()
    top.done()
    return Policy(
        **ident,
        first_year=first_year,
        last_year=last_year,
        rules=rules,
        deficiencies=deficiencies,
        reach_m=MappingProxyType(reach_m),
        source=str(path),
    )
