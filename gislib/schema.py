"""Layer schemas of a renovation workspace.

One place that says, for every layer, its geometry type, its id field and its
fields: type, Chinese and English label, the short ASCII name used in
shapefiles (at most 10 characters), allowed values, and the Chinese headers
that planners' spreadsheets use for it. :mod:`gislib.io` maps headers with
it, :mod:`gislib.store` creates tables from it, exports write field
dictionaries from it.

Geometries are stored in CGCS2000 (EPSG:4490), x = longitude, y = latitude.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

__all__ = [
    "COUNTIES",
    "LAYERS",
    "MANAGEMENT_CHOICES",
    "MEASURE_CRS",
    "NETWORKS",
    "OWNERSHIP_CHOICES",
    "PIPE_OWNERS",
    "STAGES",
    "STAGE_NAMES_EN",
    "STAGE_STATUS",
    "STORAGE_CRS",
    "Field",
    "FieldType",
    "Layer",
    "LayerName",
    "Network",
    "county_code_for",
    "layer_schema",
]

#: CRS in which every layer is stored: CGCS2000 geographic.
STORAGE_CRS = "EPSG:4490"
#: CRS in which areas and distances are measured: CGCS2000 / 3-degree GK CM 111E.
MEASURE_CRS = "EPSG:4546"

#: The four county-level divisions of Yangjiang: code -> (Chinese, English).
COUNTIES: dict[str, tuple[str, str]] = {
    "441702": ("江城区", "Jiangcheng District"),
    "441704": ("阳东区", "Yangdong District"),
    "441721": ("阳西县", "Yangxi County"),
    "441781": ("阳春市", "Yangchun City"),
}

OWNERSHIP_CHOICES = ("商品房", "房改房", "公租房", "单位自管", "国企", "军队")
MANAGEMENT_CHOICES = ("物业", "业委会", "无")
PIPE_OWNERS = ("水务集团", "供电局", "燃气企业", "电信", "移动", "联通", "住建局")


class Network(StrEnum):
    """Pipeline networks: the plan's 供水, 排水 (雨水, 污水, 合流), 供气, 供电, 弱电."""

    WATER = "water"
    RAIN = "rain"
    SEWER = "sewer"
    COMBINED = "combined"
    GAS = "gas"
    POWER = "power"
    TELECOM = "telecom"


#: Network code -> (Chinese, English) label.
NETWORKS: dict[str, tuple[str, str]] = {
    Network.WATER: ("供水", "water supply"),
    Network.RAIN: ("雨水", "storm water"),
    Network.SEWER: ("污水", "sewer"),
    Network.COMBINED: ("雨污合流", "combined sewer"),
    Network.GAS: ("燃气", "gas"),
    Network.POWER: ("电力", "power"),
    Network.TELECOM: ("通信", "telecom"),
}

#: The plan's steps (section 六) in order, each with the map status it folds into.
STAGE_STATUS: dict[str, str] = {
    # 项目前期
    "摸查": "储备",
    "评估": "储备",
    "编制方案": "储备",
    "征求意见": "储备",
    "专家评审": "储备",
    "公示": "储备",
    "审定": "储备",
    "申报": "计划",
    # 项目实施
    "立项": "计划",
    "设计": "计划",
    "报批": "计划",
    "施工图审查": "计划",
    "财政评审": "计划",
    "招投标": "计划",
    "施工": "在建",
    "竣工验收": "完工",
    # 后期管养
    "移交": "移交",
}
STAGES = tuple(STAGE_STATUS)
#: English names of the stages and of the plan's three phases (section 六).
STAGE_NAMES_EN: dict[str, str] = {
    "摸查": "survey",
    "评估": "assessment",
    "编制方案": "scheme drafted",
    "征求意见": "residents consulted",
    "专家评审": "expert review",
    "公示": "public notice",
    "审定": "approved",
    "申报": "declared",
    "立项": "project set up",
    "设计": "design",
    "报批": "permits",
    "施工图审查": "drawings reviewed",
    "财政评审": "budget reviewed",
    "招投标": "tendering",
    "施工": "construction",
    "竣工验收": "completion acceptance",
    "移交": "handed over",
    "项目前期": "preparation",
    "项目实施": "implementation",
    "后期管养": "maintenance",
}

FieldType = Literal["str", "int", "float", "bool", "date", "datetime", "json"]

LayerName = Literal[
    "counties",
    "urban_areas",
    "communities",
    "expropriation_zones",
    "pipelines",
    "status_events",
]


@dataclass(frozen=True)
class Field:
    """One attribute of a layer.

    Parameters
    ----------
    name : str
        Identifier in the workspace (English, snake_case).
    type : FieldType
        Storage type.
    zh, en : str
        Labels shown to users (Chinese, English).
    short : str
        ASCII name of at most 10 characters, used in shapefiles.
    required : bool
        Whether a record without a value is refused on import.
    choices : tuple of str, optional
        Closed list of allowed values.
    aliases : tuple of str
        Other headers (mostly Chinese) that mean this field on import.
    unit : str
        Unit of a number, in words ("m2", "mm", "share 0-1").
    description : str
        One line in Chinese for the field dictionary.
    system : bool
        Managed by the store (version), never imported.
    """

    name: str
    type: FieldType
    zh: str
    en: str
    short: str
    required: bool = False
    choices: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    unit: str = ""
    description: str = ""
    system: bool = False

    def __post_init__(self) -> None:
        if not (self.short.isascii() and 0 < len(self.short) <= 10):
            raise ValueError(f"short name {self.short!r} of {self.name!r} must be 1-10 ASCII")


@dataclass(frozen=True)
class Layer:
    """Schema of one workspace layer.

    Parameters
    ----------
    name : str
        Table name in the workspace.
    zh, en : str
        Labels.
    geometry_type : str or None
        ``"MultiPolygon"``, ``"MultiLineString"`` or ``None`` for a table.
    id_field : str
        Stable identifier, unique in the layer.
    fields : tuple of Field
        Attributes, in order, id first.
    append_only : bool
        Records are never updated or deleted (status history).
    """

    name: str
    zh: str
    en: str
    geometry_type: str | None
    id_field: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    append_only: bool = False

    def field(self, name: str) -> Field:
        """Return the field called ``name``; raise ``KeyError`` naming the layer if absent."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layer {self.name!r} has no field {name!r}")

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of all fields, in order."""
        return tuple(f.name for f in self.fields)


_VERSION = Field(
    "version",
    "int",
    "版本",
    "version",
    "version",
    system=True,
    description="记录版本号，每次修改加一，用于防止覆盖他人修改",
)

_COUNTY_CODE = Field(
    "county_code",
    "str",
    "所属区县",
    "county code",
    "county",
    required=True,
    choices=tuple(COUNTIES),
    aliases=(
        "所属区县",
        "区县",
        "县区",
        "县（市、区）",
        "县(市、区)",
        "行政区",
        "区县代码",
        "county",
    ),
    description="区县行政区划代码：441702 江城区，441704 阳东区，441721 阳西县，441781 阳春市",
)

LAYERS: dict[str, Layer] = {
    "counties": Layer(
        "counties",
        "区县",
        "counties",
        "MultiPolygon",
        "code",
        (
            Field("code", "str", "行政区划代码", "code", "code", required=True),
            Field("name", "str", "名称", "name", "name", required=True),
            Field("name_en", "str", "英文名称", "English name", "name_en"),
        ),
    ),
    "urban_areas": Layer(
        "urban_areas",
        "城区范围",
        "urban areas",
        "MultiPolygon",
        "area_id",
        (
            Field("area_id", "str", "编号", "id", "area_id", required=True),
            Field("name", "str", "名称", "name", "name", required=True),
            _COUNTY_CODE,
            Field(
                "kind",
                "str",
                "类型",
                "kind",
                "kind",
                choices=("市区", "县城"),
                description="市区（江城区、阳东区城区）或县城（城关镇）",
            ),
        ),
    ),
    "communities": Layer(
        "communities",
        "老旧小区",
        "communities",
        "MultiPolygon",
        "community_id",
        (
            Field(
                "community_id",
                "str",
                "小区编号",
                "community id",
                "comm_id",
                required=True,
                aliases=("小区编号", "编号", "项目编号", "小区代码", "id"),
            ),
            Field(
                "name",
                "str",
                "小区名称",
                "name",
                "name",
                required=True,
                aliases=("小区名称", "小区名", "名称", "项目名称"),
            ),
            _COUNTY_CODE,
            Field(
                "street",
                "str",
                "街道",
                "street",
                "street",
                aliases=("街道", "所属街道", "街道办", "镇街", "街道（镇）", "街道(镇)"),
                description="所属街道办事处或镇",
            ),
            Field(
                "build_year",
                "int",
                "建成年份",
                "year built",
                "build_yr",
                required=True,
                aliases=("建成年份", "建成年代", "建成时间", "建设年代", "竣工年份", "建成年"),
            ),
            Field(
                "buildings",
                "int",
                "楼栋数",
                "buildings",
                "bldgs",
                aliases=("楼栋数", "栋数", "楼栋数量", "幢数"),
            ),
            Field(
                "households",
                "int",
                "户数",
                "households",
                "househlds",
                aliases=("户数", "住户数", "总户数", "居民户数"),
            ),
            Field(
                "floor_area_m2",
                "float",
                "建筑面积",
                "floor area",
                "floor_m2",
                unit="m2",
                aliases=(
                    "建筑面积",
                    "建筑面积(㎡)",
                    "建筑面积（㎡）",
                    "建筑面积(m2)",
                    "建筑面积（平方米）",
                ),
                description="总建筑面积，平方米",
            ),
            Field(
                "storeys",
                "int",
                "最高层数",
                "storeys",
                "storeys",
                aliases=("层数", "最高层数", "楼层数"),
            ),
            Field(
                "has_lift",
                "bool",
                "有无电梯",
                "has lift",
                "has_lift",
                aliases=("有无电梯", "是否有电梯", "电梯"),
            ),
            Field(
                "ownership",
                "str",
                "产权性质",
                "ownership",
                "ownership",
                choices=OWNERSHIP_CHOICES,
                aliases=("产权性质", "产权类型", "房屋性质"),
            ),
            Field(
                "management",
                "str",
                "物业管理",
                "property management",
                "mgmt",
                choices=MANAGEMENT_CHOICES,
                aliases=("物业管理", "管理方式", "物业管理方式"),
            ),
            Field(
                "willingness",
                "float",
                "居民同意率",
                "resident willingness",
                "willing",
                unit="share 0-1",
                aliases=("居民同意率", "改造意愿", "同意率", "居民意愿"),
                description="同意改造的居民户数占比，0-1",
            ),
            Field(
                "renovated_before",
                "bool",
                "已实施综合改造",
                "renovated before",
                "renovated",
                aliases=("已实施综合改造", "是否已改造", "已改造"),
            ),
            Field(
                "illegal_structures_cleared",
                "bool",
                "违建拆除情况较好",
                "illegal structures cleared",
                "illeg_clr",
                aliases=("违建拆除情况较好", "违建已拆除", "违章建筑拆除", "违建拆除"),
            ),
            _VERSION,
        ),
    ),
    "expropriation_zones": Layer(
        "expropriation_zones",
        "规划征迁范围",
        "planned expropriation zones",
        "MultiPolygon",
        "zone_id",
        (
            Field("zone_id", "str", "编号", "zone id", "zone_id", required=True),
            Field("name", "str", "名称", "name", "name", required=True, aliases=("片区名称",)),
            Field("plan", "str", "依据规划", "plan", "plan", aliases=("规划名称", "依据")),
            Field("planned_year", "int", "计划年份", "planned year", "plan_yr"),
        ),
    ),
    "pipelines": Layer(
        "pipelines",
        "市政管线",
        "pipelines",
        "MultiLineString",
        "pipe_id",
        (
            Field("pipe_id", "str", "管线编号", "pipe id", "pipe_id", required=True),
            Field(
                "network",
                "str",
                "管线类别",
                "network",
                "network",
                required=True,
                choices=tuple(str(n) for n in Network),
                description="water 供水, rain 雨水, sewer 污水, combined 雨污合流, gas 燃气, "
                "power 电力, telecom 通信",
            ),
            Field(
                "status",
                "str",
                "状态",
                "status",
                "status",
                required=True,
                choices=("existing", "planned"),
                description="existing 现状, planned 规划",
            ),
            Field("overhead", "bool", "架空", "overhead", "overhead"),
            Field("owner", "str", "产权单位", "owner", "owner", choices=PIPE_OWNERS),
            Field("diameter_mm", "float", "管径", "diameter", "diam_mm", unit="mm"),
        ),
    ),
    "status_events": Layer(
        "status_events",
        "改造进度记录",
        "status events",
        None,
        "event_id",
        (
            Field("event_id", "str", "记录编号", "event id", "event_id", required=True),
            Field("community_id", "str", "小区编号", "community id", "comm_id", required=True),
            Field("year", "int", "计划年度", "plan year", "year", required=True),
            Field("stage", "str", "阶段", "stage", "stage", required=True, choices=STAGES),
            Field("date", "date", "日期", "date", "date", required=True),
            Field("user", "str", "填报人", "user", "user", required=True),
            Field("note", "str", "备注", "note", "note"),
        ),
        append_only=True,
    ),
}


def layer_schema(name: str) -> Layer:
    """Return the schema of layer ``name``.

    Raises
    ------
    KeyError
        If no layer has that name; the message lists the layers.
    """
    try:
        return LAYERS[name]
    except KeyError:
        raise KeyError(f"unknown layer {name!r}; layers are: {', '.join(LAYERS)}") from None


def county_code_for(value: str) -> str | None:
    """Return the county code for a code, a Chinese or an English county name.

    >>> county_code_for("江城区"), county_code_for("441781"), county_code_for("x")
    ('441702', '441781', None)
    """
    text = str(value).strip()
    if text in COUNTIES:
        return text
    for code, (zh, en) in COUNTIES.items():
        if text in (zh, en) or text == zh.rstrip("区县市"):
            return code
    return None
