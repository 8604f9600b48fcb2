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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from gislib._toml import TableReader, read_toml
from gislib.schema import MANAGEMENT_CHOICES, Network

__all__ = [
    "PRIORITY_COMPONENTS",
    "BuildYearRule",
    "BundlingPolicy",
    "Capacity",
    "Deficiencies",
    "DeficiencyRule",
    "ExpropriationRule",
    "ManagementRule",
    "PlanningPolicy",
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


#: Components of a community's priority score (:func:`gislib.scheduling.priority_scores`),
#: each weighted in ``[planning.priority_weights]``.
PRIORITY_COMPONENTS: tuple[str, ...] = (
    "age",
    "deficiency",
    "waterlogging",
    "households",
    "willingness",
)


@dataclass(frozen=True)
class Capacity:
    """What one year of the programme can take on; ``None`` means no limit of that kind.

    Attributes
    ----------
    households : int or None
        Households a year's plan may hold at most.
    budget_yuan : float or None
        Estimated investment (元) a year's plan may hold at most.
    """

    households: int | None = None
    budget_yuan: float | None = None

    @property
    def is_set(self) -> bool:
        """Whether any limit is set."""
        return self.households is not None or self.budget_yuan is not None


@dataclass(frozen=True)
class PlanningPolicy:
    """The annual plan's rules (四（二）、四（三）) and the scheduler's priority weights.

    Attributes
    ----------
    section : str
        Section of the plan.
    pilots : tuple of str
        The pilot communities fixed in the first year, by id or exact name.
    first_year_task : int
        Communities besides the pilots the first year's plan must hold at least
        (the subsidised task).
    capacity : Capacity
        Default yearly capacity (households and/or budget 元).
    priority_weights : Mapping[str, float]
        Weight (>= 0) of each of :data:`PRIORITY_COMPONENTS`; not all zero.
    """

    section: str = ""
    pilots: tuple[str, ...] = ()
    first_year_task: int = 0
    capacity: Capacity = field(default_factory=Capacity)
    priority_weights: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(PRIORITY_COMPONENTS, 1.0))
    )


@dataclass(frozen=True)
class BundlingPolicy:
    """How communities are bundled into EPC contract batches (九（四）).

    Attributes
    ----------
    section : str
        Section of the plan.
    distance_band_m : float
        Communities within this distance (m, EPSG:4546) of each other count as
        contiguous (成片).
    public_tender_threshold : float
        Construction contracts of this estimated value (元) or more must be
        publicly tendered.
    min_investment, max_investment : float or None
        Bounds on a batch's estimated investment (元); ``None`` when not set.
    min_households, max_households, min_communities, max_communities : int or None
        Bounds on a batch's households and communities; ``None`` when not set.
    """

    section: str = ""
    distance_band_m: float = 300.0
    public_tender_threshold: float = 4_000_000.0
    min_investment: float | None = None
    max_investment: float | None = None
    min_households: int | None = None
    max_households: int | None = None
    min_communities: int | None = None
    max_communities: int | None = None


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
    planning : PlanningPolicy
        Pilots, first-year task, yearly capacity and priority weights.
    bundling : BundlingPolicy
        EPC batch rules.
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
    planning: PlanningPolicy = field(default_factory=PlanningPolicy)
    bundling: BundlingPolicy = field(default_factory=BundlingPolicy)

    @property
    def years(self) -> range:
        """The plan years, first to last inclusive."""
        return range(self.first_year, self.last_year + 1)


def _rules(reader: TableReader) -> Rules:
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
        raise by.fail(
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
        raise ex.fail(
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
        raise wi.fail(
            "review_below", willingness.review_below, "不大于 min_share / at most min_share"
        )
    wi.done()

    ma = reader.sub("management")
    imperfect = ma.get("imperfect", list, expected=f"取值列表，取自 {list(MANAGEMENT_CHOICES)}")
    bad = [v for v in imperfect if v not in MANAGEMENT_CHOICES]
    if bad:
        raise ma.fail("imperfect", bad, f"取值来自 / values from {list(MANAGEMENT_CHOICES)}")
    management = ManagementRule(**ma.rule_base("management"), imperfect=tuple(imperfect))
    ma.done()

    de = reader.sub("deficiency")
    min_count = de.get("min_count", int, expected="非负整数 / a whole number >= 0")
    if min_count < 0:
        raise de.fail("min_count", min_count, "非负整数 / a whole number >= 0")
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


def _optional(reader: TableReader, key: str, kind: type[T], *, expected: str) -> T | None:
    """A key that may be left out (meaning: not set); when present it must be > 0."""
    if key not in reader.table:
        reader.used.add(key)
        return None
    value = reader.get(key, kind, expected=expected)
    if value <= 0:  # type: ignore[operator]
        raise reader.fail(key, value, expected)
    return value


def _ordered(
    reader: TableReader, low: str, high: str, values: Mapping[str, float | int | None]
) -> None:
    lo, hi = values[low], values[high]
    if lo is not None and hi is not None and lo > hi:
        raise reader.fail(high, hi, f"不小于 {low}（{lo}）/ at least {low}")


def _planning(reader: TableReader) -> PlanningPolicy:
    section = reader.get("section", str, expected='方案章节，如 "四" / a plan section')
    pilots = reader.get(
        "pilots", list, expected="试点小区名称或编号的列表 / a list of names or ids"
    )
    if not all(isinstance(p, str) and p.strip() for p in pilots):
        raise reader.fail("pilots", pilots, "非空文字的列表 / a list of non-empty strings")
    task = reader.get("first_year_task", int, expected="非负整数 / a whole number >= 0")
    if task < 0:
        raise reader.fail("first_year_task", task, "非负整数 / a whole number >= 0")
    households = _optional(
        reader, "yearly_households", int, expected="正整数（户）/ a positive number of households"
    )
    budget = _optional(
        reader, "yearly_budget_yuan", float, expected="正数（元）/ a positive amount in yuan"
    )
    we = reader.sub("priority_weights")
    weights = {}
    for name in PRIORITY_COMPONENTS:
        weight = we.get(name, float, expected="非负数 / a number >= 0")
        if weight < 0:
            raise we.fail(name, weight, "非负数 / a number >= 0")
        weights[name] = weight
    if not any(weights.values()):
        raise we.fail(PRIORITY_COMPONENTS[0], 0.0, "至少一个权重大于 0 / at least one weight > 0")
    we.done()
    reader.done()
    return PlanningPolicy(
        section=section,
        pilots=tuple(p.strip() for p in pilots),
        first_year_task=task,
        capacity=Capacity(households=households, budget_yuan=budget),
        priority_weights=MappingProxyType(weights),
    )


def _bundling(reader: TableReader) -> BundlingPolicy:
    section = reader.get("section", str, expected='方案章节，如 "九（四）" / a plan section')
    band = reader.positive("distance_band_m")
    tender = reader.positive("public_tender_threshold")
    money = "正数（元）/ a positive amount in yuan"
    count = "正整数 / a positive whole number"
    bounds: dict[str, float | None] = {
        "min_investment": _optional(reader, "min_investment", float, expected=money),
        "max_investment": _optional(reader, "max_investment", float, expected=money),
    }
    counts: dict[str, int | None] = {
        key: _optional(reader, key, int, expected=count)
        for key in ("min_households", "max_households", "min_communities", "max_communities")
    }
    _ordered(reader, "min_investment", "max_investment", bounds)
    _ordered(reader, "min_households", "max_households", counts)
    _ordered(reader, "min_communities", "max_communities", counts)
    reader.done()
    return BundlingPolicy(
        section=section,
        distance_band_m=band,
        public_tender_threshold=tender,
        min_investment=bounds["min_investment"],
        max_investment=bounds["max_investment"],
        min_households=counts["min_households"],
        max_households=counts["max_households"],
        min_communities=counts["min_communities"],
        max_communities=counts["max_communities"],
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
    data = read_toml(path, what=("政策文件", "policy file"))
    top = TableReader(data, path="", file=file)
    meta = top.sub("meta")
    first_year = meta.year("first_year")
    last_year = meta.year("last_year")
    if last_year < first_year:
        raise meta.fail("last_year", last_year, f"不早于 first_year（{first_year}）")
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
    planning = _planning(top.sub("planning"))
    bundling = _bundling(top.sub("bundling"))
    top.done()
    return Policy(
        **ident,
        first_year=first_year,
        last_year=last_year,
        rules=rules,
        deficiencies=deficiencies,
        reach_m=MappingProxyType(reach_m),
        source=str(path),
        planning=planning,
        bundling=bundling,
    )
