"""Works, cost and funding: what must be built in each community, what it costs, who pays.

The plan's attached table 老旧小区改造内容、改造标准表 (25 items in 4 groups,
each in one of the three categories of section 五: 基础类 / 完善类 / 提升类),
the works that realise the items with their unit costs, the rules that derive
a community's works from its attributes, the pipeline-network analysis and the
rasters, and the funding rules of section 七 all live in a works file
(``data/policies/yangjiang-works.toml``), validated as strictly as a policy
file (:mod:`gislib.policy`): a missing, unknown or mistyped key is a
:class:`~gislib.errors.PolicyError` naming the file and the key.

- :func:`load_works` reads the file into a frozen :class:`WorksConfig`.
- :func:`derive_works` gives one row per (community, work) needed, with the
  quantity, the unit cost, the cost and the reason in Chinese and English.
- :func:`estimate_costs` totals the cost per community by category.
- :func:`split_funding` splits every cost over the plan's five funding sources,
  exactly to the fen.

Money is in 元 (CNY); areas in m2 and lengths in metres measured in EPSG:4546
(CGCS2000 / 3-degree Gauss-Kruger CM 111E); shares are fractions 0-1.
Results keep the communities' index.

The rules (each a table in the works file, listed with the works it adds):

``always``
    Every community gets the public-part repairs of 五（一） and the other
    works listed (roof, stairwell, facade, fire safety, waste sorting...).
``aged_services``
    Built in or before ``built_until``: supply pipes and in-building services renewed.
``lift``
    No lift (``has_lift`` false) and ``storeys`` at least the policy's
    ``deficiencies.lift_min_storeys``: 加装电梯, one per estimated stair unit,
    ``ceil(households / (storeys * households_per_landing))``, at least one
    per building.
``waterlogging``
    Mean waterlogging depth above the policy's ``deficiencies.waterlogging_depth_m``:
    drainage and sponge-city works.
``combined_sewer``
    The network analysis found a combined sewer within reach: 雨污分流.
``gas``
    The network analysis found no gas main within the policy's reach
    (``gas_main_needed``): piped gas per household and a main extension of the
    distance to the nearest existing main (or to a planned main within reach
    when ``extend_to_planned_main``).
``mains``
    No main of a listed network within reach (nor of a network that also
    serves, e.g. a combined sewer for foul water): a connection of the
    distance to the nearest main.
``overhead``
    Overhead lines in the community: put underground per network, length
    from the analysis (per network when it gives ``overhead_<network>_m``,
    else the total ``overhead_m`` for each network whose owners appear in
    ``overhead_owners``; with no owner known, for every network).
``management``
    Management value listed (``无``): security, management rooms, self-governance.
``large``
    At least ``min_households`` households: parking, charging, sports.
``services``
    Population at least ``min_population`` (from the raster, else estimated
    from households): community services and smart-community works.

A value that is missing for a community (no floor area, unknown lift) never
invents a figure: a rule that cannot decide adds nothing, and a work whose
quantity cannot be measured is listed with quantity and cost NaN and a basis
saying what is missing (``unpriced`` in the totals).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from gislib._toml import TableReader, read_toml
from gislib.crs import to_measure
from gislib.errors import PolicyError, SchemaError
from gislib.policy import Policy, load_policy
from gislib.schema import NETWORKS, OWNERSHIP_CHOICES, Network

__all__ = [
    "CATEGORIES",
    "COMBINED_SEWER_COLUMN",
    "DIST_COLUMN",
    "FUNDING_SOURCES",
    "GAS_MAIN_NEEDED_COLUMN",
    "GAS_MAIN_PLANNED_COLUMN",
    "NEAR_COLUMN",
    "OVERHEAD_COLUMN",
    "OVERHEAD_NETWORK_COLUMN",
    "OVERHEAD_OWNERS_COLUMN",
    "PLANNED_DIST_COLUMN",
    "PLANNED_NEAR_COLUMN",
    "POPULATION_COLUMN",
    "UNITS",
    "WATERLOGGING_MAX_COLUMN",
    "WATERLOGGING_MEAN_COLUMN",
    "WORKS_COLUMNS",
    "WORKS_FILE",
    "AgedServicesRule",
    "Category",
    "Funding",
    "FundingSource",
    "GasRule",
    "Group",
    "Item",
    "LargeRule",
    "LiftRule",
    "MainsRule",
    "ManagementWorksRule",
    "OverheadRule",
    "ServicesRule",
    "Unit",
    "Work",
    "WorkRule",
    "WorkRuleId",
    "WorkRules",
    "WorksConfig",
    "derive_works",
    "estimate_costs",
    "load_works",
    "split_funding",
]

logger = logging.getLogger(__name__)

#: Name of the shipped works file in ``data/policies`` (see :func:`gislib.datasets.policy_path`).
WORKS_FILE = "yangjiang-works"

# Columns of the network analysis (gislib.networks.analyse_networks), one
# index row per community; ``{network}`` is a value of schema.Network.
#: Distance (m, EPSG:4546) to the nearest existing main of a network.
DIST_COLUMN = "dist_{network}_m"
#: Whether an existing main lies within the policy's reach.
NEAR_COLUMN = "near_{network}"
#: Distance (m) to the nearest planned main.
PLANNED_DIST_COLUMN = "planned_dist_{network}_m"
#: Whether a planned main will lie within reach.
PLANNED_NEAR_COLUMN = "planned_near_{network}"
#: Total length (m) of overhead lines in the community.
OVERHEAD_COLUMN = "overhead_m"
#: Optional length (m) of overhead lines of one network; preferred when present.
OVERHEAD_NETWORK_COLUMN = "overhead_{network}_m"
#: Owners of the overhead lines (a tuple / list of names, or one string).
OVERHEAD_OWNERS_COLUMN = "overhead_owners"
#: Whether a combined sewer lies within reach (雨污分流 needed).
COMBINED_SEWER_COLUMN = "combined_sewer"
#: Whether no gas main lies within reach (管道燃气入户 needs a main extension).
GAS_MAIN_NEEDED_COLUMN = "gas_main_needed"
#: Whether a planned gas main will lie within reach.
GAS_MAIN_PLANNED_COLUMN = "gas_main_planned"

# Columns of the raster statistics (gislib.raster), one index row per community.
#: Area-weighted mean waterlogging depth over the community (m).
WATERLOGGING_MEAN_COLUMN = "waterlogging_mean_m"
#: Largest waterlogging depth in the community (m); optional.
WATERLOGGING_MAX_COLUMN = "waterlogging_max_m"
#: Population of the community (persons); optional.
POPULATION_COLUMN = "population"

#: Decimals kept for measured quantities (m2, m); costs are kept to the fen.
QUANTITY_DECIMALS = 2
_FEN_PER_YUAN = 100
_COST_DECIMALS = 2


class Category(StrEnum):
    """The three categories of works of section 五."""

    BASIC = "basic"
    IMPROVEMENT = "improvement"
    UPGRADE = "upgrade"


#: Category code -> (Chinese, English).
CATEGORIES: dict[str, tuple[str, str]] = {
    Category.BASIC: ("基础类", "basic"),
    Category.IMPROVEMENT: ("完善类", "improvement"),
    Category.UPGRADE: ("提升类", "upgrade"),
}


class Unit(StrEnum):
    """Units in which works are measured and priced."""

    M2_FLOOR = "m2_floor"
    M2_ROOF = "m2_roof"
    M2_SITE = "m2_site"
    HOUSEHOLD = "household"
    BUILDING = "building"
    LIFT = "lift"
    METRE = "m"
    COMMUNITY = "community"


#: Unit code -> (Chinese, English).
UNITS: dict[str, tuple[str, str]] = {
    Unit.M2_FLOOR: ("平方米（建筑面积）", "m2 of floor area"),
    Unit.M2_ROOF: ("平方米（屋面）", "m2 of roof"),
    Unit.M2_SITE: ("平方米（占地）", "m2 of site"),
    Unit.HOUSEHOLD: ("户", "household"),
    Unit.BUILDING: ("栋", "building"),
    Unit.LIFT: ("部", "lift"),
    Unit.METRE: ("米", "m"),
    Unit.COMMUNITY: ("个（小区）", "community"),
}


class FundingSource(StrEnum):
    """The five funding sources of section 七, in the plan's order."""

    RESIDENTS = "residents"
    PIPELINE_OWNERS = "pipeline_owners"
    ORIGINAL_OWNERS = "original_owners"
    FISCAL = "fiscal"
    SOCIAL_CAPITAL = "social_capital"


#: Funding source -> (Chinese, English).
FUNDING_SOURCES: dict[str, tuple[str, str]] = {
    FundingSource.RESIDENTS: ("居民出资", "residents"),
    FundingSource.PIPELINE_OWNERS: ("管线产权单位出资", "pipeline owners"),
    FundingSource.ORIGINAL_OWNERS: ("房改房原产权单位出资", "original owners of reformed housing"),
    FundingSource.FISCAL: ("财政预算安排", "fiscal budget"),
    FundingSource.SOCIAL_CAPITAL: ("社会捐资投资", "social capital"),
}


class WorkRuleId(StrEnum):
    """The rules that derive works; each is a table ``[rules.<id>]`` of the works file."""

    ALWAYS = "always"
    AGED_SERVICES = "aged_services"
    LIFT = "lift"
    WATERLOGGING = "waterlogging"
    COMBINED_SEWER = "combined_sewer"
    GAS = "gas"
    MAINS = "mains"
    OVERHEAD = "overhead"
    MANAGEMENT = "management"
    LARGE = "large"
    SERVICES = "services"


#: Columns of the frame returned by :func:`derive_works`, in order.
WORKS_COLUMNS: tuple[str, ...] = (
    "community_id",
    "rule",
    "section",
    "work",
    "work_zh",
    "work_en",
    "item",
    "item_number",
    "item_zh",
    "item_en",
    "group",
    "group_zh",
    "category",
    "category_zh",
    "quantity",
    "unit",
    "unit_zh",
    "unit_cost",
    "cost",
    "cost_source",
    "reason_zh",
    "reason_en",
    "basis_zh",
    "basis_en",
)

# Rules whose quantities come from measurements rather than the community's size.
_METRE_RULES = (WorkRuleId.GAS, WorkRuleId.MAINS, WorkRuleId.OVERHEAD)
_LIFT_RULES = (WorkRuleId.LIFT,)
_MANAGEMENT_EN = {"物业": "professional", "业委会": "owners' committee", "无": "none"}
_OWNER_SPLIT = re.compile(r"[、,，;；/\s]+")


@dataclass(frozen=True)
class Group:
    """A group (类别) of the attached table: ``number`` 1-4, its names."""

    code: str
    number: int
    zh: str
    en: str


@dataclass(frozen=True)
class Item:
    """An item (序号 1-25) of the attached table.

    Attributes
    ----------
    code : str
        ASCII id (``"gas_supply"``).
    number : int
        序号 in the table.
    group : str
        Code of its :class:`Group`.
    zh, en : str
        项目名称 as in the table, and in English.
    standard : str
        改造内容及标准, abbreviated.
    category : Category
        基础类 / 完善类 / 提升类 per section 五.
    """

    code: str
    number: int
    group: str
    zh: str
    en: str
    standard: str
    category: Category


@dataclass(frozen=True)
class Work:
    """A cost line that realises an item, with its unit cost.

    Attributes
    ----------
    code : str
        ASCII id (``"gas_main_extension"``).
    item : str
        Code of the :class:`Item` it belongs to.
    zh, en : str
        Names.
    unit : Unit
        What the quantity counts.
    unit_cost : float
        元 per unit.
    source : str
        Where the unit cost comes from, or ``"estimate"``.
    note : str
        The basis of the figure.
    site_share : float
        For ``m2_site`` works, the share of the site the work covers.
    category : Category or None
        Overrides the item's category (e.g. barrier-free access, 完善类, under
        the 基础类 item 通行设施).
    """

    code: str
    item: str
    zh: str
    en: str
    unit: Unit
    unit_cost: float
    source: str
    note: str
    site_share: float = 1.0
    category: Category | None = None


@dataclass(frozen=True)
class WorkRule:
    """A rule that adds works: id, plan section, wording and the works it adds."""

    id: str
    section: str
    zh: str
    en: str
    enabled: bool
    works: tuple[str, ...]


@dataclass(frozen=True)
class AgedServicesRule(WorkRule):
    """Built in or before ``built_until``: services worn out."""

    built_until: int = 2000


@dataclass(frozen=True)
class LiftRule(WorkRule):
    """No lift and enough storeys (threshold from the policy): 加装电梯."""

    households_per_landing: int = 2


@dataclass(frozen=True)
class GasRule(WorkRule):
    """No gas main within reach: piped gas and a main extension."""

    extend_to_planned_main: bool = False


@dataclass(frozen=True)
class MainsRule(WorkRule):
    """No main of a network within reach: connect.

    ``by_network``: network -> works; ``also_served_by``: network -> networks
    whose main within reach makes the connection unnecessary.
    """

    extend_to_planned_main: bool
    by_network: Mapping[str, tuple[str, ...]]
    also_served_by: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class OverheadRule(WorkRule):
    """Overhead lines: underground per network; ``owners`` say whose lines belong to which."""

    owners: Mapping[str, tuple[str, ...]]
    by_network: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class ManagementWorksRule(WorkRule):
    """Management value in ``values``: security, rooms, self-governance."""

    values: tuple[str, ...] = ("无",)


@dataclass(frozen=True)
class LargeRule(WorkRule):
    """At least ``min_households`` households."""

    min_households: int = 200


@dataclass(frozen=True)
class ServicesRule(WorkRule):
    """At least ``min_population`` residents (persons)."""

    min_population: float = 1000.0
    persons_per_household: float = 2.8


@dataclass(frozen=True)
class WorkRules:
    """All work rules of a works file, by id."""

    always: WorkRule
    aged_services: AgedServicesRule
    lift: LiftRule
    waterlogging: WorkRule
    combined_sewer: WorkRule
    gas: GasRule
    mains: MainsRule
    overhead: OverheadRule
    management: ManagementWorksRule
    large: LargeRule
    services: ServicesRule

    def all(self) -> tuple[WorkRule, ...]:
        """Every rule, in the order of :class:`WorkRuleId`."""
        return tuple(getattr(self, str(rule_id)) for rule_id in WorkRuleId)


@dataclass(frozen=True)
class Funding:
    """Funding rules of section 七 (shares of a work's cost, 0-1).

    Shares are taken in the order pipeline owners, residents, original owners,
    social capital, each capped at what is left; the fiscal budget takes the
    rest. A ``*_by_work`` share replaces the group / category share.

    Attributes
    ----------
    sections : Mapping[str, str]
        Funding source -> plan section.
    pipeline_owner_share_by_work : Mapping[str, float]
        七（三）.
    resident_share_by_group, resident_share_by_work : Mapping[str, float]
        七（一）.
    resident_max_per_household : float
        元 per household the residents pay at most over all works of a
        community (0 = no cap); the excess falls to the fiscal budget.
    original_owner_ownership : tuple of str
        Ownership values (schema ``ownership``) whose original owners contribute (七（四）).
    original_owner_share : float
        Their share of every work.
    social_share_by_category, social_share_by_work : Mapping[str, float]
        七（五）.
    """

    sections: Mapping[str, str]
    pipeline_owner_share_by_work: Mapping[str, float]
    resident_share_by_group: Mapping[str, float]
    resident_share_by_work: Mapping[str, float]
    resident_max_per_household: float
    original_owner_ownership: tuple[str, ...]
    original_owner_share: float
    social_share_by_category: Mapping[str, float]
    social_share_by_work: Mapping[str, float]


@dataclass(frozen=True)
class WorksConfig:
    """A works file loaded by :func:`load_works`: catalogue, unit costs, rules, funding.

    Attributes
    ----------
    id, title, title_en, city : str
        Identification.
    price_year : int
        Price level of the unit costs.
    groups, items, works : Mapping
        By code; items and works in file order.
    rules : WorkRules
        The derivation rules.
    funding : Funding
        The funding rules.
    source : str
        The file it was read from.
    """

    id: str
    title: str
    title_en: str
    city: str
    price_year: int
    groups: Mapping[str, Group]
    items: Mapping[str, Item]
    works: Mapping[str, Work]
    rules: WorkRules
    funding: Funding
    source: str

    def category_of(self, work: str) -> Category:
        """Category of a work: its own, else its item's."""
        w = self.works[work]
        return w.category if w.category is not None else self.items[w.item].category

    def catalog(self) -> pd.DataFrame:
        """The attached table: one row per item, ordered by number.

        Returns
        -------
        DataFrame
            Index ``item`` (code); columns number, group, group_number,
            group_zh, zh, en, standard, category, category_zh.
        """
        rows = [
            {
                "item": it.code,
                "number": it.number,
                "group": it.group,
                "group_number": self.groups[it.group].number,
                "group_zh": self.groups[it.group].zh,
                "zh": it.zh,
                "en": it.en,
                "standard": it.standard,
                "category": str(it.category),
                "category_zh": CATEGORIES[it.category][0],
            }
            for it in sorted(self.items.values(), key=lambda i: i.number)
        ]
        return pd.DataFrame(rows).set_index("item")

    def cost_table(self) -> pd.DataFrame:
        """The unit-cost table: one row per work.

        Returns
        -------
        DataFrame
            Index ``work``; columns item, item_number, zh, en, category, unit,
            unit_zh, unit_cost (元), site_share, source, note.
        """
        rows = [
            {
                "work": w.code,
                "item": w.item,
                "item_number": self.items[w.item].number,
                "zh": w.zh,
                "en": w.en,
                "category": str(self.category_of(w.code)),
                "unit": str(w.unit),
                "unit_zh": UNITS[w.unit][0],
                "unit_cost": w.unit_cost,
                "site_share": w.site_share,
                "source": w.source,
                "note": w.note,
            }
            for w in self.works.values()
        ]
        return pd.DataFrame(rows).set_index("work")


# --------------------------------------------------------------------------- loading


def _code(reader: TableReader, code: str) -> str:
    if not (code.isascii() and code.isidentifier()):
        raise reader.fail(code, code, "ASCII 编码，如 gas_supply / an ASCII id such as gas_supply")
    return code


def _non_negative(reader: TableReader, key: str) -> float:
    value = reader.get(key, float, expected="非负数 / a number >= 0")
    if value < 0:
        raise reader.fail(key, value, "非负数 / a number >= 0")
    return value


def _count(reader: TableReader, key: str, *, minimum: int) -> int:
    expected = f"不小于 {minimum} 的整数 / a whole number >= {minimum}"
    value = reader.get(key, int, expected=expected)
    if value < minimum:
        raise reader.fail(key, value, expected)
    return value


def _text(reader: TableReader, key: str, expected: str) -> str:
    value = reader.get(key, str, expected=expected)
    if not value.strip():
        raise reader.fail(key, value, expected)
    return value


def _strings(
    reader: TableReader, key: str, *, allowed: Iterable[str], what: str
) -> tuple[str, ...]:
    allowed = list(allowed)
    expected = f"{what}列表 / a list of {what}"
    values = reader.get(key, list, expected=expected)
    bad = [v for v in values if not isinstance(v, str) or v not in allowed]
    if bad:
        raise reader.fail(key, bad, f"{what}，取值来自 / values from {allowed}")
    return tuple(values)


def _choice(reader: TableReader, key: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    value = reader.get(key, str, expected=f"取值之一 / one of {choices}")
    if value not in choices:
        raise reader.fail(key, value, f"取值之一 / one of {choices}")
    return value


def _shares(reader: TableReader, key: str, *, allowed: Iterable[str]) -> Mapping[str, float]:
    table = reader.sub(key)
    allowed = list(allowed)
    out: dict[str, float] = {}
    for name in table.table:
        if name not in allowed:
            raise table.fail(name, table.table[name], f"键取值来自 / a key from {allowed}")
        out[name] = table.share(name)
    table.done()
    return MappingProxyType(out)


def _groups(reader: TableReader) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    numbers: dict[int, str] = {}
    for code in reader.table:
        sub = reader.sub(_code(reader, code))
        number = _count(sub, "number", minimum=1)
        if number in numbers:
            raise sub.fail("number", number, f"不与 {numbers[number]} 重复 / unique")
        numbers[number] = code
        groups[code] = Group(
            code=code,
            number=number,
            zh=_text(sub, "zh", "中文名称 / a Chinese name"),
            en=_text(sub, "en", "an English name"),
        )
        sub.done()
    reader.done()
    if not groups:
        raise PolicyError(f"{reader.file}: [groups] 为空 / [groups] is empty")
    return groups


def _items(reader: TableReader, groups: Mapping[str, Group]) -> dict[str, Item]:
    items: dict[str, Item] = {}
    numbers: dict[int, str] = {}
    for code in reader.table:
        sub = reader.sub(_code(reader, code))
        number = _count(sub, "number", minimum=1)
        if number in numbers:
            raise sub.fail("number", number, f"不与 {numbers[number]} 重复 / unique")
        numbers[number] = code
        items[code] = Item(
            code=code,
            number=number,
            group=_choice(sub, "group", groups),
            zh=_text(sub, "zh", "项目名称 / the item's Chinese name"),
            en=_text(sub, "en", "an English name"),
            standard=_text(sub, "standard", "改造内容及标准 / the standard"),
            category=Category(_choice(sub, "category", (str(c) for c in Category))),
        )
        sub.done()
    reader.done()
    if not items:
        raise PolicyError(f"{reader.file}: [items] 为空 / [items] is empty")
    return items


def _works(reader: TableReader, items: Mapping[str, Item]) -> dict[str, Work]:
    works: dict[str, Work] = {}
    for code in reader.table:
        sub = reader.sub(_code(reader, code))
        unit = Unit(_choice(sub, "unit", (str(u) for u in Unit)))
        fields: dict[str, Any] = {
            "code": code,
            "item": _choice(sub, "item", items),
            "zh": _text(sub, "zh", "中文名称 / a Chinese name"),
            "en": _text(sub, "en", "an English name"),
            "unit": unit,
            "unit_cost": _non_negative(sub, "unit_cost"),
            "source": _text(sub, "source", '出处或 "estimate" / a source or "estimate"'),
            "note": _text(sub, "note", "单价依据 / the basis of the unit cost"),
        }
        if unit is Unit.M2_SITE:
            fields["site_share"] = sub.share("site_share")
        if "category" in sub.table:
            fields["category"] = Category(_choice(sub, "category", (str(c) for c in Category)))
        works[code] = Work(**fields)
        sub.done()
    reader.done()
    return works


def _by_network(
    reader: TableReader, key: str, works: Mapping[str, Work]
) -> dict[str, tuple[str, ...]]:
    table = reader.sub(key)
    networks = [str(n) for n in Network]
    out: dict[str, tuple[str, ...]] = {}
    for name in table.table:
        if name not in networks:
            raise table.fail(name, table.table[name], f"管网类别 / a network from {networks}")
        if key == "works":
            out[name] = _strings(table, name, allowed=works, what="工程编码 / work codes")
        elif key == "also_served_by":
            out[name] = _strings(table, name, allowed=networks, what="管网类别 / networks")
        else:
            values = table.get(name, list, expected="产权单位列表 / a list of owner names")
            if not all(isinstance(v, str) for v in values):
                raise table.fail(name, values, "产权单位名称列表 / a list of owner names")
            out[name] = tuple(values)
    table.done()
    return out


def _rules(reader: TableReader, works: Mapping[str, Work]) -> WorkRules:
    built: dict[str, WorkRule] = {}
    for rule_id in WorkRuleId:
        sub = reader.sub(str(rule_id))
        base: dict[str, Any] = sub.rule_base(str(rule_id))
        if rule_id in (WorkRuleId.MAINS, WorkRuleId.OVERHEAD):
            by_network = _by_network(sub, "works", works)
            base["works"] = tuple(w for ws in by_network.values() for w in ws)
        else:
            base["works"] = _strings(sub, "works", allowed=works, what="工程编码 / work codes")
        rule: WorkRule
        if rule_id is WorkRuleId.AGED_SERVICES:
            rule = AgedServicesRule(**base, built_until=sub.year("built_until"))
        elif rule_id is WorkRuleId.LIFT:
            rule = LiftRule(
                **base, households_per_landing=_count(sub, "households_per_landing", minimum=1)
            )
        elif rule_id is WorkRuleId.GAS:
            rule = GasRule(
                **base,
                extend_to_planned_main=sub.get(
                    "extend_to_planned_main", bool, expected="true 或 false"
                ),
            )
        elif rule_id is WorkRuleId.MAINS:
            rule = MainsRule(
                **base,
                extend_to_planned_main=sub.get(
                    "extend_to_planned_main", bool, expected="true 或 false"
                ),
                by_network=MappingProxyType(by_network),
                also_served_by=MappingProxyType(_by_network(sub, "also_served_by", works)),
            )
        elif rule_id is WorkRuleId.OVERHEAD:
            owners = _by_network(sub, "owners", works)
            if set(owners) != set(by_network):
                raise sub.fail(
                    "owners",
                    sorted(owners),
                    f"与 works 相同的管网 / the same networks as works: {sorted(by_network)}",
                )
            rule = OverheadRule(
                **base,
                owners=MappingProxyType(owners),
                by_network=MappingProxyType(by_network),
            )
        elif rule_id is WorkRuleId.MANAGEMENT:
            rule = ManagementWorksRule(
                **base,
                values=_strings(
                    sub, "values", allowed=("物业", "业委会", "无"), what="物业管理取值 / values"
                ),
            )
        elif rule_id is WorkRuleId.LARGE:
            rule = LargeRule(**base, min_households=_count(sub, "min_households", minimum=1))
        elif rule_id is WorkRuleId.SERVICES:
            rule = ServicesRule(
                **base,
                min_population=sub.positive("min_population"),
                persons_per_household=sub.positive("persons_per_household"),
            )
        else:
            rule = WorkRule(**base)
        for code in rule.works:
            unit = works[code].unit
            if (unit is Unit.METRE and rule_id not in _METRE_RULES) or (
                unit is Unit.LIFT and rule_id not in _LIFT_RULES
            ):
                raise sub.fail(
                    "works",
                    code,
                    f"单位为 {unit} 的工程只能用于 / a work in {unit} only in rules "
                    f"{[str(r) for r in (_METRE_RULES if unit is Unit.METRE else _LIFT_RULES)]}",
                )
        sub.done()
        built[str(rule_id)] = rule
    reader.done()
    seen: dict[str, str] = {}
    for rule in built.values():
        for code in rule.works:
            if code in seen and seen[code] != rule.id:
                raise PolicyError(
                    f"{reader.file}: 工程 {code} 同时列于 rules.{seen[code]} 与 rules.{rule.id}，"
                    f"会重复计价 / work {code} is listed in rules.{seen[code]} and rules.{rule.id}; "
                    "it would be priced twice"
                )
            seen[code] = rule.id
    return WorkRules(**built)  # type: ignore[arg-type]


def _funding(reader: TableReader, config: dict[str, Any]) -> Funding:
    works = config["works"]
    sections: dict[str, str] = {}
    section_expected = '方案章节，如 "七（三）" / a plan section'

    po = reader.sub(str(FundingSource.PIPELINE_OWNERS))
    sections[FundingSource.PIPELINE_OWNERS] = _text(po, "section", section_expected)
    pipeline = _shares(po, "share_by_work", allowed=works)
    po.done()

    re_ = reader.sub(str(FundingSource.RESIDENTS))
    sections[FundingSource.RESIDENTS] = _text(re_, "section", section_expected)
    res_group = _shares(re_, "share_by_group", allowed=config["groups"])
    res_work = _shares(re_, "share_by_work", allowed=works)
    res_max = _non_negative(re_, "max_per_household")
    re_.done()

    oo = reader.sub(str(FundingSource.ORIGINAL_OWNERS))
    sections[FundingSource.ORIGINAL_OWNERS] = _text(oo, "section", section_expected)
    ownership = _strings(oo, "ownership", allowed=OWNERSHIP_CHOICES, what="产权性质 / ownerships")
    orig_share = oo.share("share")
    oo.done()

    sc = reader.sub(str(FundingSource.SOCIAL_CAPITAL))
    sections[FundingSource.SOCIAL_CAPITAL] = _text(sc, "section", section_expected)
    soc_cat = _shares(sc, "share_by_category", allowed=(str(c) for c in Category))
    soc_work = _shares(sc, "share_by_work", allowed=works)
    sc.done()

    fi = reader.sub(str(FundingSource.FISCAL))
    sections[FundingSource.FISCAL] = _text(fi, "section", section_expected)
    fi.done()
    reader.done()
    return Funding(
        sections=MappingProxyType(sections),
        pipeline_owner_share_by_work=pipeline,
        resident_share_by_group=res_group,
        resident_share_by_work=res_work,
        resident_max_per_household=res_max,
        original_owner_ownership=ownership,
        original_owner_share=orig_share,
        social_share_by_category=soc_cat,
        social_share_by_work=soc_work,
    )


def load_works(path: Path | str | None = None) -> WorksConfig:
    """Load and validate a works file (catalogue, unit costs, rules, funding).

    Parameters
    ----------
    path : path-like, optional
        A TOML works file; default: ``data/policies/yangjiang-works.toml``.

    Returns
    -------
    WorksConfig
        Frozen; money in 元, shares 0-1.

    Raises
    ------
    PolicyError
        Missing file, bad TOML, a missing or unknown key, a value of the wrong
        kind, a reference to an unknown group / item / work, a work listed in
        two rules; the message names the file and the key.

    Examples
    --------
    >>> config = load_works()
    >>> len(config.items), config.items["lift"].category.value
    (25, 'improvement')
    """
    if path is None:
        from gislib.datasets import policy_path

        path = policy_path(WORKS_FILE)
    path = Path(path)
    file = path.name
    data = read_toml(path, what=("工程文件", "works file"))
    top = TableReader(data, path="", file=file)
    meta = top.sub("meta")
    ident = {
        "id": _text(meta, "id", "编号 / an id"),
        "title": _text(meta, "title", "中文标题 / a title"),
        "title_en": _text(meta, "title_en", "an English title"),
        "city": _text(meta, "city", "城市 / the city"),
    }
    price_year = meta.year("price_year")
    meta.done()
    groups = _groups(top.sub("groups"))
    items = _items(top.sub("items"), groups)
    works = _works(top.sub("works"), items)
    rules = _rules(top.sub("rules"), works)
    funding = _funding(top.sub("funding"), {"works": works, "groups": groups})
    top.done()
    return WorksConfig(
        **ident,
        price_year=price_year,
        groups=MappingProxyType(groups),
        items=MappingProxyType(items),
        works=MappingProxyType(works),
        rules=rules,
        funding=funding,
        source=str(path),
    )


# --------------------------------------------------------------------------- derivation


def _number(frame: pd.DataFrame, column: str, *, name: str) -> pd.Series:
    if column not in frame.columns:
        logger.warning("%s has no column %r; treated as unknown", name, column)
        return pd.Series(np.nan, index=frame.index, dtype=float)
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        label = frame.index[bad.to_numpy()][0]
        raise SchemaError(
            f"{name} 第 {label} 行 {column} = {frame[column][label]!r} 不是数值 / "
            f"row {label}: {column} = {frame[column][label]!r} is not a number"
        )
    return values.astype(float)


def _flag(frame: pd.DataFrame, column: str, *, name: str) -> pd.Series:
    """A nullable boolean column (True / False / <NA>)."""
    if column not in frame.columns:
        logger.warning("%s has no column %r; treated as unknown", name, column)
        return pd.Series(pd.NA, index=frame.index, dtype="boolean")
    try:
        return frame[column].astype("boolean")
    except (TypeError, ValueError):
        raise SchemaError(
            f"{name} 的 {column} 应为是/否 / {column} in {name} must be true or false"
        ) from None


def _align(frame: pd.DataFrame, communities: pd.DataFrame, *, name: str) -> pd.DataFrame:
    """Rows of ``frame`` for each community, by index (or by ``community_id``)."""
    if communities.index.isin(frame.index).all():
        return frame.reindex(communities.index)
    if "community_id" in frame.columns:
        by_id = frame.set_index("community_id")
        ids = communities["community_id"]
        if ids.isin(by_id.index).all() and by_id.index.is_unique:
            out = by_id.reindex(ids.to_numpy())
            out.index = communities.index
            return out
    missing = [str(v) for v in communities["community_id"][~communities.index.isin(frame.index)]]
    raise SchemaError(
        f"{name} 缺少 {len(missing)} 个小区的结果（如 {missing[:5]}），请对同一批小区重新计算 / "
        f"{name} has no row for {len(missing)} communities (e.g. {missing[:5]}); recompute it "
        "for the same communities"
    )


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], *, name: str) -> None:
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise SchemaError(
            f"{name} 缺少列 {missing} / {name} is missing columns {missing}; "
            f"has {list(frame.columns)}"
        )


#: A quantity per community (float, NaN = cannot be measured) and its basis (zh, en).
_Measure = tuple[pd.Series, pd.Series, pd.Series]


@dataclass
class _Inputs:
    """The aligned inputs of one derivation (one row per community, same index)."""

    communities: gpd.GeoDataFrame
    networks: pd.DataFrame | None
    raster: pd.DataFrame | None
    floor: pd.Series
    storeys: pd.Series
    households: pd.Series
    buildings: pd.Series
    build_year: pd.Series
    has_lift: pd.Series
    management: pd.Series
    _site: pd.Series | None = None
    _sizes: dict[tuple[Unit, float], _Measure] = field(default_factory=dict)

    @property
    def index(self) -> pd.Index:
        return self.communities.index

    @property
    def site(self) -> pd.Series:
        """Site area (m2, EPSG:4546); computed on first use."""
        if self._site is None:
            self._site = to_measure(self.communities).area.astype(float)
        return self._site


def _texts(index: pd.Index, zh: Iterable[str], en: Iterable[str]) -> tuple[pd.Series, pd.Series]:
    return (
        pd.Series(list(zh), index=index, dtype=object),
        pd.Series(list(en), index=index, dtype=object),
    )


def _size_quantity(work: Work, data: _Inputs) -> _Measure:
    """Quantity of a work measured from the community's size, with its basis (zh, en).

    Cached for one derivation: works in the same unit (and site share) share it.
    """
    key = (work.unit, work.site_share if work.unit is Unit.M2_SITE else 1.0)
    if key not in data._sizes:
        data._sizes[key] = _measure_size(work, data)
    return data._sizes[key]


def _measure_size(work: Work, data: _Inputs) -> _Measure:
    idx = data.index
    unit = work.unit
    if unit is Unit.COMMUNITY:
        q = pd.Series(1.0, index=idx)
        zh, en = _texts(idx, ["每小区 1 项"] * len(idx), ["one per community"] * len(idx))
    elif unit is Unit.M2_FLOOR:
        q = data.floor
        zh, en = _texts(
            idx,
            (f"建筑面积 {v:.0f} m²" if v == v else "缺少建筑面积" for v in q),
            (f"floor area {v:.0f} m2" if v == v else "floor area missing" for v in q),
        )
    elif unit is Unit.M2_ROOF:
        q = data.floor / data.storeys.where(data.storeys > 0)
        zh, en = _texts(
            idx,
            (
                f"建筑面积 {f:.0f} m² ÷ {s:.0f} 层" if r == r else "缺少建筑面积或层数"
                for f, s, r in zip(data.floor, data.storeys, q, strict=True)
            ),
            (
                f"floor area {f:.0f} m2 / {s:.0f} storeys"
                if r == r
                else "floor area or storeys missing"
                for f, s, r in zip(data.floor, data.storeys, q, strict=True)
            ),
        )
    elif unit is Unit.M2_SITE:
        site = data.site
        q = site * work.site_share
        zh, en = _texts(
            idx,
            (f"占地 {a:.0f} m² × {work.site_share:.0%}" for a in site),
            (f"site {a:.0f} m2 x {work.site_share:.0%}" for a in site),
        )
    elif unit is Unit.HOUSEHOLD:
        q = data.households
        zh, en = _texts(
            idx,
            (f"{v:.0f} 户" if v == v else "缺少户数" for v in q),
            (f"{v:.0f} households" if v == v else "households missing" for v in q),
        )
    elif unit is Unit.BUILDING:
        q = data.buildings
        zh, en = _texts(
            idx,
            (f"{v:.0f} 栋" if v == v else "缺少楼栋数" for v in q),
            (f"{v:.0f} buildings" if v == v else "buildings missing" for v in q),
        )
    else:  # lift and metre quantities come from their rules (checked on loading)
        raise PolicyError(f"work {work.code} in {unit} needs a measured quantity")
    return q.astype(float), zh, en


@dataclass
class _Need:
    """Works a rule adds to the selected communities.

    ``condition_*`` (and the basis texts of ``measured``) are indexed by the
    selected communities; quantities may cover every community.
    """

    rule: WorkRule
    selected: np.ndarray
    condition_zh: pd.Series
    condition_en: pd.Series
    measured: dict[Unit, _Measure] | None = None
    works: tuple[str, ...] | None = None

    @property
    def index_selected(self) -> np.ndarray:
        return np.flatnonzero(self.selected)


def _selected(mask: pd.Series) -> np.ndarray:
    """A boolean mask (NA = False) as a numpy array."""
    return np.array(mask.fillna(False).astype(bool).to_numpy(), dtype=bool)


def _pick(series: pd.Series, idx: pd.Index, position: np.ndarray, n: int) -> np.ndarray:
    """Values of ``series`` (full length ``n`` or indexed by ``idx``) at the selected rows."""
    return series.to_numpy()[position] if len(series) == n else series.reindex(idx).to_numpy()


def _rows(need: _Need, data: _Inputs, config: WorksConfig) -> list[pd.DataFrame]:
    """The varying columns of the rows a need adds; static ones are joined afterwards."""
    position = need.index_selected
    if not len(position):
        return []
    idx = data.index[position]
    n = len(data.index)
    frames = []
    for code in need.works if need.works is not None else need.rule.works:
        work = config.works[code]
        if need.measured is not None and work.unit in need.measured:
            q, bzh, ben = need.measured[work.unit]
        else:
            q, bzh, ben = _size_quantity(work, data)
        frames.append(
            pd.DataFrame(
                {
                    "_position": position,
                    "rule": need.rule.id,
                    "work": code,
                    "quantity": _pick(q, idx, position, n),
                    "_condition_zh": _pick(need.condition_zh, idx, position, n),
                    "_condition_en": _pick(need.condition_en, idx, position, n),
                    "basis_zh": _pick(bzh, idx, position, n),
                    "basis_en": _pick(ben, idx, position, n),
                }
            )
        )
    return frames


def _values(series: pd.Series, sel: np.ndarray) -> np.ndarray:
    return series.to_numpy()[sel]


def _always(rule: WorkRule, data: _Inputs, **_: Any) -> list[_Need]:
    n = len(data.index)
    zh, en = _texts(
        data.index,
        [f"纳入改造的老旧小区（{rule.section}）"] * n,
        [f"every community in the programme (plan {rule.section})"] * n,
    )
    return [_Need(rule, np.ones(n, dtype=bool), zh, en)]


def _aged(rule: AgedServicesRule, data: _Inputs, **_: Any) -> list[_Need]:
    sel = _selected(data.build_year <= rule.built_until)
    years = _values(data.build_year, sel)
    zh, en = _texts(
        data.index[sel],
        (f"建成于 {y:.0f} 年（{rule.built_until} 年及以前），管线老化" for y in years),
        (f"built {y:.0f} (by {rule.built_until}): services worn out" for y in years),
    )
    return [_Need(rule, sel, zh, en)]


def _lift(rule: LiftRule, data: _Inputs, *, policy: Policy, **_: Any) -> list[_Need]:
    min_storeys = policy.deficiencies.lift_min_storeys
    no_lift = data.has_lift.eq(False).fillna(False).astype(bool)
    sel = _selected(no_lift & (data.storeys >= min_storeys))
    idx = data.index[sel]
    k = rule.households_per_landing
    storeys = _values(data.storeys, sel)
    households = _values(data.households, sel)
    buildings = _values(data.buildings, sel)
    per_unit = storeys * k
    with np.errstate(invalid="ignore", divide="ignore"):
        stair_units = np.ceil(households / np.where(per_unit > 0, per_unit, np.nan))
    both_nan = np.isnan(stair_units) & np.isnan(buildings)
    units = np.where(both_nan, np.nan, np.fmax(stair_units, buildings))
    zh, en = _texts(
        idx,
        (f"{s:.0f} 层无电梯（{min_storeys} 层及以上）" for s in storeys),
        (f"{s:.0f} storeys without a lift ({min_storeys}+ storeys)" for s in storeys),
    )
    bzh, ben = [], []
    for u, h, s, b in zip(units, households, storeys, buildings, strict=True):
        if u != u:
            bzh.append("缺少户数和楼栋数")
            ben.append("households and buildings missing")
        elif h != h:
            bzh.append(f"按楼栋数 {b:.0f} 栋计（缺少户数）")
            ben.append(f"one per building, {b:.0f} (households missing)")
        else:
            at_least_zh = f"，不少于 {b:.0f} 栋" if b == b else ""
            at_least_en = f", at least {b:.0f} buildings" if b == b else ""
            bzh.append(f"约 {u:.0f} 个单元：{h:.0f} 户 ÷ ({s:.0f} 层 × {k} 户/层){at_least_zh}")
            ben.append(
                f"about {u:.0f} stair units: {h:.0f} households / "
                f"({s:.0f} storeys x {k} per landing){at_least_en}"
            )
    basis_zh, basis_en = _texts(idx, bzh, ben)
    quantity = pd.Series(units, index=idx)
    return [_Need(rule, sel, zh, en, measured={Unit.LIFT: (quantity, basis_zh, basis_en)})]


def _waterlogging(rule: WorkRule, data: _Inputs, *, policy: Policy, **_: Any) -> list[_Need]:
    if data.raster is None:
        logger.info("no raster statistics given: rule %s skipped", rule.id)
        return []
    threshold = policy.deficiencies.waterlogging_depth_m
    mean = _number(data.raster, WATERLOGGING_MEAN_COLUMN, name="raster")
    if WATERLOGGING_MAX_COLUMN in data.raster.columns:
        peak = _number(data.raster, WATERLOGGING_MAX_COLUMN, name="raster")
    else:
        peak = pd.Series(np.nan, index=data.index)
    sel = _selected(mean > threshold)
    pairs = list(zip(_values(mean, sel), _values(peak, sel), strict=True))
    zh, en = _texts(
        data.index[sel],
        (
            f"平均积水深度 {m:.2f} m，超过 {threshold:.2f} m"
            + (f"（最大 {p:.2f} m）" if p == p else "")
            for m, p in pairs
        ),
        (
            f"mean waterlogging {m:.2f} m above {threshold:.2f} m"
            + (f" (max {p:.2f} m)" if p == p else "")
            for m, p in pairs
        ),
    )
    return [_Need(rule, sel, zh, en)]


def _combined(rule: WorkRule, data: _Inputs, *, policy: Policy, **_: Any) -> list[_Need]:
    if data.networks is None:
        logger.info("no network analysis given: rule %s skipped", rule.id)
        return []
    _require_columns(data.networks, [COMBINED_SEWER_COLUMN], name="networks")
    sel = _selected(_flag(data.networks, COMBINED_SEWER_COLUMN, name="networks"))
    reach = f"{policy.reach_m[Network.COMBINED]:.0f}"
    dist_column = DIST_COLUMN.format(network=Network.COMBINED)
    if dist_column in data.networks.columns:
        dist = _values(_number(data.networks, dist_column, name="networks"), sel)
    else:
        dist = np.full(int(sel.sum()), np.nan)
    zh, en = _texts(
        data.index[sel],
        (
            f"周边 {reach} m 内有雨污合流管" + (f"（最近 {d:.0f} m）" if d == d else "")
            for d in dist
        ),
        (
            f"combined sewer within {reach} m" + (f" (nearest {d:.0f} m)" if d == d else "")
            for d in dist
        ),
    )
    return [_Need(rule, sel, zh, en)]


def _extension(
    data: _Inputs, network: str, sel: np.ndarray, *, reach: float, use_planned: bool
) -> tuple[_Measure, pd.Series, pd.Series]:
    """For the selected communities: the length to extend a main (m) with its basis,
    and the condition texts."""
    nets = data.networks
    assert nets is not None
    label_zh, label_en = NETWORKS[network]
    dist = _values(_number(nets, DIST_COLUMN.format(network=network), name="networks"), sel)
    planned_dist = _values(
        _number(nets, PLANNED_DIST_COLUMN.format(network=network), name="networks"), sel
    )
    planned_column = (
        GAS_MAIN_PLANNED_COLUMN
        if network == Network.GAS
        else PLANNED_NEAR_COLUMN.format(network=network)
    )
    planned = _selected(_flag(nets, planned_column, name="networks"))[sel]
    finite = np.where(np.isfinite(dist), dist, np.nan)
    with np.errstate(invalid="ignore"):
        to_planned = planned & use_planned & (planned_dist < np.nan_to_num(finite, nan=np.inf))
    length = np.where(to_planned, planned_dist, finite)
    czh, cen, bzh, ben = [], [], [], []
    for d, p, p_m, tp, q in zip(finite, planned, planned_dist, to_planned, length, strict=True):
        near_zh = f"最近 {d:.0f} m" if d == d else "无现状主管"
        near_en = f"nearest {d:.0f} m" if d == d else "no existing main found"
        extra_zh = f"，规划{label_zh}主管 {p_m:.0f} m" if p else ""
        extra_en = f", planned {label_en} main at {p_m:.0f} m" if p else ""
        czh.append(f"周边 {reach:.0f} m 内无{label_zh}主管（{near_zh}{extra_zh}）")
        cen.append(f"no {label_en} main within {reach:.0f} m ({near_en}{extra_en})")
        if q != q:
            bzh.append(f"无现状{label_zh}主管数据，长度待测")
            ben.append(f"no existing {label_en} main found; length to be measured")
        elif tp:
            bzh.append(f"延伸至规划主管 {q:.0f} m")
            ben.append(f"extend to the planned main, {q:.0f} m")
        else:
            bzh.append(f"延伸至现状主管 {q:.0f} m")
            ben.append(f"extend to the existing main, {q:.0f} m")
    idx = data.index[sel]
    zh, en = _texts(idx, czh, cen)
    basis_zh, basis_en = _texts(idx, bzh, ben)
    return (pd.Series(length, index=idx), basis_zh, basis_en), zh, en


def _gas(rule: GasRule, data: _Inputs, *, policy: Policy, **_: Any) -> list[_Need]:
    if data.networks is None:
        logger.info("no network analysis given: rule %s skipped", rule.id)
        return []
    _require_columns(
        data.networks,
        [
            GAS_MAIN_NEEDED_COLUMN,
            GAS_MAIN_PLANNED_COLUMN,
            DIST_COLUMN.format(network=Network.GAS),
            PLANNED_DIST_COLUMN.format(network=Network.GAS),
        ],
        name="networks",
    )
    sel = _selected(_flag(data.networks, GAS_MAIN_NEEDED_COLUMN, name="networks"))
    measure, zh, en = _extension(
        data,
        str(Network.GAS),
        sel,
        reach=policy.reach_m[Network.GAS],
        use_planned=rule.extend_to_planned_main,
    )
    return [_Need(rule, sel, zh, en, measured={Unit.METRE: measure})]


def _mains(rule: MainsRule, data: _Inputs, *, policy: Policy, **_: Any) -> list[_Need]:
    if data.networks is None:
        logger.info("no network analysis given: rule %s skipped", rule.id)
        return []
    needs = []
    for network, works in rule.by_network.items():
        others = rule.also_served_by.get(network, ())
        _require_columns(
            data.networks,
            [
                *(
                    fmt.format(network=network)
                    for fmt in (DIST_COLUMN, NEAR_COLUMN, PLANNED_DIST_COLUMN, PLANNED_NEAR_COLUMN)
                ),
                *(NEAR_COLUMN.format(network=other) for other in others),
            ],
            name="networks",
        )
        near = _flag(data.networks, NEAR_COLUMN.format(network=network), name="networks")
        sel = _selected(near.eq(False))
        for other in others:
            sel &= ~_selected(
                _flag(data.networks, NEAR_COLUMN.format(network=other), name="networks")
            )
        measure, zh, en = _extension(
            data,
            network,
            sel,
            reach=policy.reach_m[network],
            use_planned=rule.extend_to_planned_main,
        )
        needs.append(_Need(rule, sel, zh, en, measured={Unit.METRE: measure}, works=works))
    return needs


def _owner_names(value: object) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and value != value):
        return ()
    if isinstance(value, str):
        return tuple(v for v in _OWNER_SPLIT.split(value) if v)
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value if v is not None and str(v))
    return (str(value),)


def _overhead(rule: OverheadRule, data: _Inputs, **_: Any) -> list[_Need]:
    if data.networks is None:
        logger.info("no network analysis given: rule %s skipped", rule.id)
        return []
    nets = data.networks
    _require_columns(nets, [OVERHEAD_COLUMN, OVERHEAD_OWNERS_COLUMN], name="networks")
    total = _number(nets, OVERHEAD_COLUMN, name="networks").fillna(0.0)
    any_line = _selected(total > 0)
    owners: list[tuple[str, ...]] = [
        _owner_names(value) if line else ()
        for value, line in zip(nets[OVERHEAD_OWNERS_COLUMN], any_line, strict=True)
    ]
    needs = []
    for network, works in rule.by_network.items():
        label_zh, label_en = NETWORKS[network]
        column = OVERHEAD_NETWORK_COLUMN.format(network=network)
        if column in nets.columns:
            length = _number(nets, column, name="networks").fillna(0.0)
            sel = _selected(length > 0)
            lengths = _values(length, sel)
            zh, en = _texts(
                data.index[sel],
                (f"小区内{label_zh}架空线 {v:.0f} m" for v in lengths),
                (f"{v:.0f} m of overhead {label_en} lines in the community" for v in lengths),
            )
        else:
            mine = set(rule.owners[network])
            takes = [not names or bool(mine.intersection(names)) for names in owners]
            sel = any_line & np.array(takes, dtype=bool)
            lengths = _values(total, sel)
            names_sel = [names for names, keep in zip(owners, sel, strict=True) if keep]
            zh, en = _texts(
                data.index[sel],
                (
                    f"小区内架空线 {v:.0f} m（产权单位："
                    + ("、".join(names) if names else "未知，按各类管线计")
                    + "）"
                    for v, names in zip(lengths, names_sel, strict=True)
                ),
                (
                    f"{v:.0f} m of overhead lines in the community (owners: "
                    + (", ".join(names) if names else "unknown, every network counted")
                    + ")"
                    for v, names in zip(lengths, names_sel, strict=True)
                ),
            )
        idx = data.index[sel]
        basis_zh, basis_en = _texts(
            idx,
            (f"架空线路由 {v:.0f} m" for v in lengths),
            (f"{v:.0f} m of overhead route" for v in lengths),
        )
        measure = (pd.Series(lengths, index=idx), basis_zh, basis_en)
        needs.append(_Need(rule, sel, zh, en, measured={Unit.METRE: measure}, works=works))
    return needs


def _management(rule: ManagementWorksRule, data: _Inputs, **_: Any) -> list[_Need]:
    sel = _selected(data.management.isin(rule.values))
    values = _values(data.management, sel)
    zh, en = _texts(
        data.index[sel],
        (f"物业管理：{v}" for v in values),
        (f"property management: {_MANAGEMENT_EN.get(str(v), str(v))}" for v in values),
    )
    return [_Need(rule, sel, zh, en)]


def _large(rule: LargeRule, data: _Inputs, **_: Any) -> list[_Need]:
    sel = _selected(data.households >= rule.min_households)
    households = _values(data.households, sel)
    zh, en = _texts(
        data.index[sel],
        (f"{h:.0f} 户，不少于 {rule.min_households} 户" for h in households),
        (f"{h:.0f} households, at least {rule.min_households}" for h in households),
    )
    return [_Need(rule, sel, zh, en)]


def _services(rule: ServicesRule, data: _Inputs, **_: Any) -> list[_Need]:
    estimated = data.households * rule.persons_per_household
    if data.raster is not None and POPULATION_COLUMN in data.raster.columns:
        measured = _number(data.raster, POPULATION_COLUMN, name="raster")
    else:
        measured = pd.Series(np.nan, index=data.index)
    population = measured.fillna(estimated)
    sel = _selected(population >= rule.min_population)
    pph = rule.persons_per_household
    triples = list(
        zip(
            _values(population, sel),
            _values(measured, sel),
            _values(data.households, sel),
            strict=True,
        )
    )
    zh, en = _texts(
        data.index[sel],
        (
            f"居住人口约 {p:.0f} 人"
            + ("" if m == m else f"（按 {h:.0f} 户 × {pph} 人/户估算）")
            + f"，不少于 {rule.min_population:.0f} 人"
            for p, m, h in triples
        ),
        (
            f"about {p:.0f} residents"
            + ("" if m == m else f" (estimated: {h:.0f} households x {pph})")
            + f", at least {rule.min_population:.0f}"
            for p, m, h in triples
        ),
    )
    return [_Need(rule, sel, zh, en)]


_RULE_FUNCTIONS: dict[str, Callable[..., list[_Need]]] = {
    WorkRuleId.ALWAYS: _always,
    WorkRuleId.AGED_SERVICES: _aged,
    WorkRuleId.LIFT: _lift,
    WorkRuleId.WATERLOGGING: _waterlogging,
    WorkRuleId.COMBINED_SEWER: _combined,
    WorkRuleId.GAS: _gas,
    WorkRuleId.MAINS: _mains,
    WorkRuleId.OVERHEAD: _overhead,
    WorkRuleId.MANAGEMENT: _management,
    WorkRuleId.LARGE: _large,
    WorkRuleId.SERVICES: _services,
}


def _work_table(config: WorksConfig) -> pd.DataFrame:
    """The columns of a works row that depend on the work only, indexed by work code."""
    rows = []
    for order, work in enumerate(config.works.values()):
        item = config.items[work.item]
        category = config.category_of(work.code)
        rows.append(
            {
                "work": work.code,
                "work_zh": work.zh,
                "work_en": work.en,
                "item": item.code,
                "item_number": item.number,
                "item_zh": item.zh,
                "item_en": item.en,
                "group": item.group,
                "group_zh": config.groups[item.group].zh,
                "category": str(category),
                "category_zh": CATEGORIES[category][0],
                "unit": str(work.unit),
                "unit_zh": UNITS[work.unit][0],
                "unit_cost": work.unit_cost,
                "cost_source": work.source,
                "_order": order,
            }
        )
    return pd.DataFrame(rows).set_index("work")


def _empty_works(index: pd.Index) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in WORKS_COLUMNS})
    for column in ("quantity", "unit_cost", "cost"):
        frame[column] = frame[column].astype(float)
    frame["item_number"] = frame["item_number"].astype(int)
    frame.index = index[:0]
    return frame


def _assemble(frames: list[pd.DataFrame], data: _Inputs, config: WorksConfig) -> pd.DataFrame:
    """Join the static columns to the rows, sort them and compute the costs."""
    rows = pd.concat(frames, ignore_index=True)
    table = _work_table(config)
    codes = table.index.get_indexer(pd.Index(rows["work"]))
    order = np.lexsort(
        (
            table["_order"].to_numpy()[codes],
            table["item_number"].to_numpy()[codes],
            rows["_position"].to_numpy(),
        )
    )
    rows = rows.iloc[order].reset_index(drop=True)
    codes = codes[order]
    position = rows["_position"].to_numpy()
    static = {column: table[column].to_numpy()[codes] for column in table.columns}
    static["work"] = table.index.to_numpy()[codes]
    sections = {rule.id: rule.section for rule in config.rules.all()}
    quantity = rows["quantity"].astype(float).round(QUANTITY_DECIMALS)
    condition_zh = rows["_condition_zh"]
    # Chinese: no space between a closing full-width bracket and the arrow.
    arrow_zh = np.where(condition_zh.str.endswith("）").to_numpy(), "→ ", " → ").astype(object)
    out = pd.DataFrame(
        {
            "community_id": data.communities["community_id"].to_numpy()[position],
            "rule": rows["rule"],
            "section": rows["rule"].map(sections),
            **{c: static[c] for c in ("work", "work_zh", "work_en", "item", "item_number")},
            **{c: static[c] for c in ("item_zh", "item_en", "group", "group_zh")},
            **{c: static[c] for c in ("category", "category_zh")},
            "quantity": quantity,
            **{c: static[c] for c in ("unit", "unit_zh", "unit_cost")},
            "cost": (quantity * static["unit_cost"]).round(_COST_DECIMALS),
            "cost_source": static["cost_source"],
            "reason_zh": condition_zh.to_numpy() + arrow_zh + static["work_zh"],
            "reason_en": rows["_condition_en"].to_numpy() + " → " + static["work_en"],
            "basis_zh": rows["basis_zh"],
            "basis_en": rows["basis_en"],
        }
    )
    out.index = data.index[position]
    return out[list(WORKS_COLUMNS)]


def derive_works(
    communities: gpd.GeoDataFrame,
    *,
    networks: pd.DataFrame | None = None,
    raster: pd.DataFrame | None = None,
    config: WorksConfig | None = None,
    policy: Policy | None = None,
) -> pd.DataFrame:
    """List the works each community needs, with quantities, costs and reasons.

    Every community given is treated as in the programme (filter by the
    eligibility verdict first if needed). See the module docstring for the
    rules; thresholds come from ``policy`` (``deficiencies.lift_min_storeys``,
    ``deficiencies.waterlogging_depth_m``, ``reach_m``) and from ``config``.

    Parameters
    ----------
    communities : GeoDataFrame
        Communities layer (schema ``communities``: community_id, build_year,
        buildings, households, floor_area_m2, storeys, has_lift, management...),
        with a CRS; site areas are measured in EPSG:4546. Its index must be unique.
    networks : DataFrame, optional
        From :func:`gislib.networks.analyse_networks`, one row per community
        (same index, or a ``community_id`` column); columns named by the
        ``*_COLUMN`` constants of this module. Without it, the gas, mains,
        overhead and combined-sewer rules are skipped.
    raster : DataFrame, optional
        Zonal statistics per community: ``waterlogging_mean_m`` (m), optionally
        ``waterlogging_max_m`` (m) and ``population`` (persons). Without it the
        waterlogging rule is skipped and population is estimated from households.
    config : WorksConfig, optional
        Default: :func:`load_works`.
    policy : Policy, optional
        Default: :func:`gislib.policy.load_policy`.

    Returns
    -------
    DataFrame
        One row per (community, work), index = the communities' index repeated,
        ordered by community then item number; columns :data:`WORKS_COLUMNS`:
        quantity in ``unit``, ``unit_cost`` and ``cost`` in 元 (cost =
        quantity x unit cost, to the fen; NaN when the quantity cannot be
        measured), ``reason_zh`` / ``reason_en`` (condition → work) and
        ``basis_zh`` / ``basis_en`` (how the quantity was measured).

    Raises
    ------
    SchemaError
        Duplicate index, missing ``community_id``, a non-numeric value, or
        ``networks`` / ``raster`` without a row for every community or without
        a column a rule needs.
    CRSError
        A site-area work is needed and ``communities`` has no CRS.

    Examples
    --------
    >>> works = derive_works(communities, networks=analyse_networks(...))  # doctest: +SKIP
    >>> works.loc[works["work"] == "gas_main_extension", ["quantity", "reason_zh"]]  # doctest: +SKIP
    """
    config = config if config is not None else load_works()
    policy = policy if policy is not None else load_policy()
    if not communities.index.is_unique:
        raise SchemaError("communities 的索引有重复 / the communities' index has duplicates")
    if "community_id" not in communities.columns:
        raise SchemaError("communities 缺少 community_id 列 / communities has no community_id")
    name = "communities"
    data = _Inputs(
        communities=communities,
        networks=None if networks is None else _align(networks, communities, name="networks"),
        raster=None if raster is None else _align(raster, communities, name="raster"),
        floor=_number(communities, "floor_area_m2", name=name),
        storeys=_number(communities, "storeys", name=name),
        households=_number(communities, "households", name=name),
        buildings=_number(communities, "buildings", name=name),
        build_year=_number(communities, "build_year", name=name),
        has_lift=_flag(communities, "has_lift", name=name),
        management=communities["management"]
        if "management" in communities.columns
        else pd.Series(None, index=communities.index, dtype=object),
    )
    if data.raster is not None:
        _require_columns(data.raster, [WATERLOGGING_MEAN_COLUMN], name="raster")
    frames: list[pd.DataFrame] = []
    for rule in config.rules.all():
        if not rule.enabled:
            continue
        for need in _RULE_FUNCTIONS[rule.id](rule, data, policy=policy):
            frames.extend(_rows(need, data, config))
    if not frames:
        return _empty_works(communities.index)
    works = _assemble(frames, data, config)
    logger.debug("derived %d works for %d communities", len(works), len(communities))
    return works


# --------------------------------------------------------------------------- cost and funding


def _fen(cost: pd.Series) -> np.ndarray:
    """Costs in 元 as whole fen (int64); NaN becomes 0."""
    values = cost.astype(float).fillna(0.0).to_numpy()
    return np.rint(values * _FEN_PER_YUAN).astype(np.int64)


def _require_works(works: pd.DataFrame, columns: Iterable[str]) -> None:
    _require_columns(works, columns, name="works (derive_works)")


def estimate_costs(works: pd.DataFrame) -> pd.DataFrame:
    """Total cost per community, by category of works.

    Parameters
    ----------
    works : DataFrame
        From :func:`derive_works`.

    Returns
    -------
    DataFrame
        One row per community that has works (index as in ``works``, in
        order of appearance); columns community_id, ``basic``,
        ``improvement``, ``upgrade``, ``total`` (元, summed to the fen) and
        ``unpriced`` (works whose quantity could not be measured).

    Raises
    ------
    SchemaError
        ``works`` lacks a column this needs.

    Examples
    --------
    >>> estimate_costs(derive_works(communities))["total"].sum()  # doctest: +SKIP
    """
    _require_works(works, ["community_id", "category", "cost"])
    keys = pd.Index(works.index)
    codes, uniques = pd.factorize(keys, sort=False)
    out = pd.DataFrame(index=pd.Index(uniques, name=works.index.name))
    first = pd.Series(works["community_id"].to_numpy()).groupby(codes, sort=True).first()
    out["community_id"] = first.to_numpy()
    fen = _fen(works["cost"])
    total = np.zeros(len(uniques), dtype=np.int64)
    for category in Category:
        in_cat = (works["category"] == str(category)).to_numpy()
        sums = np.zeros(len(uniques), dtype=np.int64)
        np.add.at(sums, codes[in_cat], fen[in_cat])
        out[str(category)] = sums / _FEN_PER_YUAN
        total += sums
    out["total"] = total / _FEN_PER_YUAN
    out["unpriced"] = np.bincount(
        codes, weights=works["cost"].isna().to_numpy().astype(float), minlength=len(uniques)
    ).astype(int)
    return out


def _scaled_down(wanted: np.ndarray, groups: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Reduce ``wanted`` (fen per row) so each group's sum is at most its cap, pro rata.

    Rounded down per row, then the leftover fen go to the rows with the largest
    remainders, so a capped group sums exactly to its cap.
    """
    totals = np.zeros(len(caps), dtype=np.int64)
    np.add.at(totals, groups, wanted)
    over = totals > caps
    if not over.any():
        return wanted
    out = wanted.copy()
    rows = np.flatnonzero(over[groups])
    factor = caps[groups[rows]] / totals[groups[rows]]
    exact = wanted[rows] * factor
    out[rows] = np.floor(exact).astype(np.int64)
    remainder = exact - out[rows]
    given = np.zeros(len(caps), dtype=np.int64)
    np.add.at(given, groups[rows], out[rows])
    short = caps - given
    for row in rows[np.argsort(-remainder, kind="stable")]:
        g = groups[row]
        if short[g] > 0 and out[row] < wanted[row]:
            out[row] += 1
            short[g] -= 1
    return out


def split_funding(
    works: pd.DataFrame,
    communities: pd.DataFrame,
    *,
    config: WorksConfig | None = None,
    level: Literal["community", "work"] = "community",
) -> pd.DataFrame:
    """Split the cost of the works over the five funding sources of section 七.

    For each work, in this order and each never more than what is left:
    pipeline owners (七（三）, ``pipeline_owner_share_by_work``), residents
    (七（一）, share by work or by group, then capped per household over the
    community), original owners of reformed housing (七（四）, when the
    community's ``ownership`` is listed), social capital (七（五）, share by
    work or by category); the fiscal budget (七（二）) takes the rest. Amounts
    are computed in whole fen, so the sources add up exactly to the cost.

    Parameters
    ----------
    works : DataFrame
        From :func:`derive_works`; works without a cost (NaN) count as 0 and
        are counted in ``unpriced``.
    communities : DataFrame
        The communities (``ownership``, ``households``), same index as used
        for ``works``.
    config : WorksConfig, optional
        The funding rules; default :func:`load_works`.
    level : {"community", "work"}
        One row per community (every community in ``communities``, zero when
        it has no works) or one row per work (``works``' index).

    Returns
    -------
    DataFrame
        community_id, ``cost`` and one column per :class:`FundingSource`
        (元, 2 decimals), plus ``unpriced`` (community level) or ``work``
        (work level).

    Raises
    ------
    SchemaError
        A community of ``works`` is not in ``communities``, or a column is missing.

    Examples
    --------
    >>> split_funding(works, communities).loc[:, ["cost", "fiscal"]]  # doctest: +SKIP
    """
    config = config if config is not None else load_works()
    funding = config.funding
    _require_works(works, ["community_id", "work", "group", "category", "cost"])
    missing = ~works.index.isin(communities.index)
    if missing.any():
        ids = sorted(set(works["community_id"][missing].astype(str)))
        raise SchemaError(
            f"works 中的小区不在 communities 中：{ids[:5]} / communities of works not in "
            f"communities: {ids[:5]}"
        )
    cost = _fen(works["cost"])
    work_codes = works["work"].to_numpy()
    groups = works["group"].to_numpy()
    categories = works["category"].to_numpy()

    def shares(
        by_work: Mapping[str, float], by_other: Mapping[str, float], other: np.ndarray
    ) -> np.ndarray:
        """Share of each row: by work, else by group / category, else 0."""
        fallback = pd.Series(other).map(dict(by_other)).fillna(0.0)
        return pd.Series(work_codes).map(dict(by_work)).fillna(fallback).to_numpy(dtype=float)

    ownership = (
        communities["ownership"].reindex(works.index).to_numpy()
        if "ownership" in communities.columns
        else np.full(len(works), None, dtype=object)
    )
    original_share = np.where(
        np.isin(ownership.astype(str), list(funding.original_owner_ownership)),
        funding.original_owner_share,
        0.0,
    )
    left = cost.copy()

    def take(share: np.ndarray) -> np.ndarray:
        amount = np.minimum(left, np.rint(cost * share).astype(np.int64))
        left[:] = left - amount
        return amount

    parts: dict[str, np.ndarray] = {}
    parts[FundingSource.PIPELINE_OWNERS] = take(
        shares(funding.pipeline_owner_share_by_work, {}, work_codes)
    )
    residents = take(
        shares(funding.resident_share_by_work, funding.resident_share_by_group, groups)
    )
    comm_codes, comm_uniques = pd.factorize(pd.Index(works.index), sort=False)
    if funding.resident_max_per_household > 0 and len(works):
        households = pd.to_numeric(
            communities["households"].reindex(comm_uniques)
            if "households" in communities.columns
            else pd.Series(np.nan, index=comm_uniques),
            errors="coerce",
        ).to_numpy()
        caps = np.full(len(comm_uniques), np.iinfo(np.int64).max, dtype=np.int64)
        known = ~np.isnan(households)
        caps[known] = np.rint(
            households[known] * funding.resident_max_per_household * _FEN_PER_YUAN
        ).astype(np.int64)
        capped = _scaled_down(residents, comm_codes, caps)
        left += residents - capped
        residents = capped
    parts[FundingSource.RESIDENTS] = residents
    parts[FundingSource.ORIGINAL_OWNERS] = take(original_share)
    parts[FundingSource.SOCIAL_CAPITAL] = take(
        shares(funding.social_share_by_work, funding.social_share_by_category, categories)
    )
    parts[FundingSource.FISCAL] = left.copy()
    sources = [str(s) for s in FundingSource]
    if level == "work":
        out = pd.DataFrame(
            {"community_id": works["community_id"].to_numpy(), "work": work_codes},
            index=works.index,
        )
        out["cost"] = cost / _FEN_PER_YUAN
        for source in sources:
            out[source] = parts[source] / _FEN_PER_YUAN
        return out
    if level != "community":
        raise ValueError(f"level must be 'community' or 'work', got {level!r}")
    position = communities.index.get_indexer(works.index)
    n = len(communities)
    out = pd.DataFrame(index=communities.index)
    out["community_id"] = (
        communities["community_id"].to_numpy()
        if "community_id" in communities.columns
        else communities.index.astype(str)
    )
    totals = np.zeros(n, dtype=np.int64)
    np.add.at(totals, position, cost)
    out["cost"] = totals / _FEN_PER_YUAN
    for source in sources:
        sums = np.zeros(n, dtype=np.int64)
        np.add.at(sums, position, parts[source])
        out[source] = sums / _FEN_PER_YUAN
    out["unpriced"] = np.bincount(
        position, weights=works["cost"].isna().to_numpy().astype(float), minlength=n
    ).astype(int)
    return out
