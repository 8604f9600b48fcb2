"""The ``renov`` command line: a thin adapter over the library.

Each command reads its options, calls the same library functions the app
calls, and prints a short Chinese/English summary or, with ``--json``, one
JSON document. Errors raised on purpose by the library (:class:`GislibError`)
end the command with a one-line message on stderr and exit code 1; no
traceback is shown to the user. Only this module and ``app.py`` configure
logging.

Usage::

    renov init [--empty] [--workspace PATH] [--overwrite]
    renov info [--json]
    renov import FILE --layer communities [--crs gcj02] [--encoding GBK]
    renov export --layer communities --format shp -o out.zip [--crs EPSG:4546]
    renov check [--county 江城区] [--json] [-o results.xlsx]
    renov works [--owner 燃气企业] -o works.xlsx
    renov plan [--pin ID=YEAR] [--drop ID] [-o plan.xlsx] [--survey 2024 -o survey.xlsx]
    renov bundle --county 江城区 --year 2024 [-o batches.xlsx]
    renov brief --year 2024 [--county 阳春市] -o brief.pdf | brief.pptx
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from gislib import settings
from gislib.errors import GislibError, ImportRefusedError, WorkspaceError

__all__ = ["app", "main"]

logger = logging.getLogger(__name__)

app = typer.Typer(
    name="renov",
    help="阳江市城镇老旧小区改造 GIS 命令行 / Yangjiang old-community renovation GIS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_USER_ENV = "RENOV_USER"

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help=f"工作区 GeoPackage（默认：环境变量 {settings.workspace_env_var}，否则用户目录）",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON / machine-readable output")]


class LayerChoice(StrEnum):
    """Layers that can be imported or exported."""

    counties = "counties"
    urban_areas = "urban_areas"
    communities = "communities"
    expropriation_zones = "expropriation_zones"
    pipelines = "pipelines"
    status_events = "status_events"


class ExportFormat(StrEnum):
    """Export formats."""

    shp = "shp"
    gpkg = "gpkg"
    geojson = "geojson"
    kml = "kml"
    xlsx = "xlsx"


class Encoding(StrEnum):
    """DBF encodings offered for shapefile export."""

    utf8 = "UTF-8"
    gbk = "GBK"


T = TypeVar("T")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"错误 / error: {message}", err=True)
    return typer.Exit(code=1)


def _run(func: Callable[[], T]) -> T:
    """Call ``func``; turn library errors into a one-line message and exit code 1."""
    try:
        return func()
    except ImportRefusedError as exc:
        report = getattr(exc, "report", None)
        if report is not None and hasattr(report, "summary"):
            typer.echo(report.summary(), err=True)
        raise _fail(str(exc)) from None
    except GislibError as exc:
        raise _fail(str(exc)) from None
    except (OSError, PermissionError) as exc:
        raise _fail(f"{exc.__class__.__name__}: {exc}") from None


@contextlib.contextmanager
def _steps(label: str, total: int, *, quiet: bool) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr for work in ``total`` steps; silent with --json."""
    if quiet:
        yield lambda: None
        return
    with typer.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield lambda: bar.update(1)


def _pad(text: str, width: int) -> str:
    """Pad ``text`` to ``width`` terminal columns, counting CJK characters as two."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 1)


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(text)


def _user() -> str:
    return os.environ.get(_USER_ENV) or getpass.getuser() or "unknown"


def _workspace_path(workspace: Path | None) -> Path:
    from gislib.store import resolve_workspace

    return _run(lambda: resolve_workspace(workspace))


@app.command("init")
def init_cmd(
    workspace: WorkspaceOpt = None,
    empty: Annotated[bool, typer.Option("--empty", help="创建空工作区 / no sample data")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="覆盖已有文件")] = False,
    as_json: JsonOpt = False,
) -> None:
    """创建工作区（默认复制阳江样例数据）/ Create a workspace (a copy of the sample by default)."""
    from gislib.datasets import sample_workspace_path
    from gislib.store import create_workspace, default_workspace_path

    env = os.environ.get(settings.workspace_env_var)
    target = workspace or (Path(env) if env else default_workspace_path())
    if target.exists() and not overwrite:
        raise _fail(
            f"工作区 {target} 已存在，如需覆盖请加 --overwrite / {target} exists; pass --overwrite"
        )

    def make() -> Path:
        if empty:
            return create_workspace(
                target,
                meta={"title": "阳江市老旧小区改造工作区", "synthetic": "false"},
                overwrite=overwrite,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            shutil.copyfile(sample_workspace_path(), tmp)
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target

    path = _run(make)
    kind = "空工作区 / empty" if empty else "样例数据副本（合成数据）/ copy of the synthetic sample"
    _emit(
        as_json,
        {"workspace": str(path), "empty": empty},
        f"已创建工作区 / created: {path}（{kind}）",
    )


@app.command("info")
def info_cmd(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """工作区概况：图层、要素数、坐标系、范围、栅格、进度记录 / Workspace summary."""
    from gislib.store import open_workspace

    path = _workspace_path(workspace)
    info = _run(lambda: open_workspace(path).info())
    payload = info.to_dict()
    status = next((x.count for x in info.layers if x.name == "status_events"), 0)
    payload["status_events"] = status
    lines = [f"工作区 / workspace: {info.path}"]
    if info.meta.get("synthetic") == "true":
        lines.append("注意：样例数据为合成数据，仅县区边界为真实数据 / synthetic sample data")
    for layer in info.layers:
        extent = " [" + ", ".join(f"{v:.4f}" for v in layer.bounds) + "]" if layer.bounds else ""
        lines.append(
            f"  {_pad(layer.zh, 14)}{layer.name:<21}{layer.count:>7}  {layer.crs or '-'}{extent}"
        )
        if layer.groups:
            parts = ", ".join(f"{k}: {n}" for k, n in layer.groups.items())
            lines.append(f"      按 {layer.group_field} / by {layer.group_field}: {parts}")
    for r in info.rasters:
        lines.append(
            f"  栅格 raster {r.name}: {r.width}x{r.height}, {r.resolution[0]:g} m, {r.crs}"
        )
    _emit(as_json, payload, "\n".join(lines))


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="要导入的文件 / file to import", show_default=False)],
    layer: Annotated[LayerChoice, typer.Option("--layer", "-l", help="目标图层 / target layer")],
    workspace: WorkspaceOpt = None,
    crs: Annotated[
        str | None,
        typer.Option("--crs", help="数据坐标系：EPSG:xxxx、gcj02（高德）或 bd09（百度）"),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="属性表编码，如 GBK / DBF or CSV encoding")
    ] = None,
    source_layer: Annotated[
        str | None,
        typer.Option(
            "--source-layer",
            help="文件中的图层、工作表或 zip 内的 Shapefile 名 / layer, sheet or shapefile inside FILE",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只校验不写入 / validate only")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """校验后导入到图层（一个事务，编号重复则拒绝）/ Validate, then append in one transaction."""
    from gislib.io.validate import prepare_import
    from gislib.store import open_workspace

    path = _workspace_path(workspace)
    ws = _run(lambda: open_workspace(path))
    with _steps("读取并校验 / reading and validating", 1, quiet=as_json) as step:
        report = _run(
            lambda: prepare_import(
                file,
                ws,
                layer=layer.value,
                crs=crs,
                encoding=encoding,
                source_layer=source_layer,
            )
        )
        step()
    payload: dict[str, Any] = {
        "file": str(file),
        "layer": layer.value,
        "ok": report.ok,
        "records": len(report.frame),
        "mapped_columns": report.mapped_columns,
        "unmapped_columns": report.unmapped_columns,
        "repairs": [_issue_dict(i) for i in report.repairs],
        "refusals": [_issue_dict(i) for i in report.refusals],
        "written": 0,
    }
    if not report.ok:
        if as_json:
            typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        else:
            typer.echo(report.summary(), err=True)
        raise _fail(
            f"{file} 未通过校验，共 {len(report.refusals)} 处问题，未写入任何数据 / "
            f"{file} refused with {len(report.refusals)} problems; nothing was written"
        )
    if dry_run:
        _emit(as_json, payload, report.summary())
        return
    result = _run(
        lambda: ws.append(layer.value, report.frame, user=_user(), note=f"import {file.name}")
    )
    payload["written"] = result.count
    _emit(
        as_json,
        payload,
        report.summary()
        + f"\n已导入 {result.count} 条记录到 {layer.value} / imported {result.count} records",
    )


def _issue_dict(issue: Any) -> dict[str, Any]:
    if hasattr(issue, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(issue)
    return {"message": str(issue)}


@app.command("export")
def export_cmd(
    layer: Annotated[LayerChoice, typer.Option("--layer", "-l", help="图层 / layer")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="格式 / format")],
    output: Annotated[Path, typer.Option("--output", "-o", help="输出文件 / output file")],
    workspace: WorkspaceOpt = None,
    crs: Annotated[
        str, typer.Option("--crs", help="输出坐标系：EPSG:4490、EPSG:4546、EPSG:4326 或 gcj02")
    ] = "EPSG:4490",
    encoding: Annotated[
        Encoding, typer.Option("--encoding", help="Shapefile 属性表编码 / DBF encoding")
    ] = Encoding.utf8,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="覆盖已有文件")] = False,
    as_json: JsonOpt = False,
) -> None:
    """导出图层 / Export a layer (shapefile zip, GeoPackage, GeoJSON, KML, Excel ledger)."""
    from gislib.io.export import export_layer
    from gislib.store import open_workspace

    if output.exists() and not overwrite:
        raise _fail(
            f"{output} 已存在，如需覆盖请加 --overwrite / {output} exists; pass --overwrite"
        )
    path = _workspace_path(workspace)
    with _steps("导出 / exporting", 2, quiet=as_json) as step:
        frame = _run(lambda: open_workspace(path).read(layer.value))
        step()
        written = _run(
            lambda: export_layer(
                frame,
                output,
                layer=layer.value,
                format=fmt.value,
                crs=crs,
                encoding=encoding.value,
                overwrite=overwrite,
            )
        )
        step()
    _emit(
        as_json,
        {
            "layer": layer.value,
            "format": fmt.value,
            "crs": crs,
            "records": len(frame),
            "output": str(written),
        },
        f"已导出 {len(frame)} 条 {layer.value} 到 {written}（{crs}）/ exported",
    )


PolicyOpt = Annotated[
    Path | None,
    typer.Option("--policy", help="政策文件（默认：阳江 2021-2025）/ policy TOML file"),
]


@app.command("check")
def check_cmd(
    workspace: WorkspaceOpt = None,
    county: Annotated[
        list[str] | None,
        typer.Option("--county", "-c", help="区县名称或代码，可多次指定 / county name or code"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="结果文件 .gpkg 或 .xlsx / results file")
    ] = None,
    policy_file: PolicyOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="覆盖已有文件")] = False,
    as_json: JsonOpt = False,
) -> None:
    """资格审查：每个小区的结论与理由 / Eligibility check with the reasons for every verdict."""
    from gislib.eligibility import VERDICT_LABELS, check_workspace, export_check
    from gislib.policy import load_policy
    from gislib.store import open_workspace

    if output is not None and output.exists() and not overwrite:
        raise _fail(
            f"{output} 已存在，如需覆盖请加 --overwrite / {output} exists; pass --overwrite"
        )
    path = _workspace_path(workspace)
    with _steps("资格审查 / checking", 3, quiet=as_json) as step:
        policy = _run(lambda: load_policy(policy_file))
        ws = _run(lambda: open_workspace(path))
        step()
        check = _run(lambda: check_workspace(ws, policy=policy, counties=county))
        step()
        if output is not None:
            notes = ["样例数据为合成数据 / synthetic sample data"] if ws.is_synthetic else []
            _run(lambda: export_check(check, output, overwrite=overwrite, notes=notes))
        step()
    counts = check.result.counts_by_verdict()
    if as_json:
        payload = {
            "workspace": str(path),
            "policy": policy.id,
            "synthetic": ws.is_synthetic,
            "counts": {str(k): int(v) for k, v in counts.items()},
            "communities": check.to_records(),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=1, default=str))
        return
    lines = [f"资格审查 / eligibility check — {policy.title}", f"工作区 / workspace: {path}"]
    lines += [f"  {_pad(VERDICT_LABELS[str(k)][0], 22)}{v:>6}" for k, v in counts.items()]
    table = check.result.counts_by_failing_rule()
    lines.append("按规则 / by rule (不通过 fail, 需复核 review):")
    lines += [f"  {rule:<20}{row['fail']:>6}{row['review']:>6}" for rule, row in table.iterrows()]
    if output is not None:
        lines.append(f"结果已写入 / written: {output}")
    typer.echo("\n".join(lines))


@app.command("works")
def works_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="工程清单 .xlsx / works list")],
    workspace: WorkspaceOpt = None,
    owner: Annotated[
        list[str] | None,
        typer.Option("--owner", help="管线产权单位，可多次指定，如 燃气企业 / utility owner"),
    ] = None,
    county: Annotated[
        list[str] | None,
        typer.Option("--county", "-c", help="区县名称或代码 / county name or code"),
    ] = None,
    policy_file: PolicyOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="覆盖已有文件")] = False,
    as_json: JsonOpt = False,
) -> None:
    """管线产权单位工程清单 / Works each utility owner must schedule (Excel)."""
    from gislib.eligibility import check_workspace
    from gislib.networks import export_owner_works, owner_works
    from gislib.policy import load_policy
    from gislib.schema import PIPE_OWNERS
    from gislib.store import open_workspace

    unknown = sorted(set(owner or ()) - set(PIPE_OWNERS))
    if unknown:
        raise _fail(
            f"未知的产权单位 {unknown}，可选：{'、'.join(PIPE_OWNERS)} / unknown owners {unknown}"
        )
    if output.exists() and not overwrite:
        raise _fail(
            f"{output} 已存在，如需覆盖请加 --overwrite / {output} exists; pass --overwrite"
        )
    path = _workspace_path(workspace)
    with _steps("管网分析 / analysing networks", 3, quiet=as_json) as step:
        policy = _run(lambda: load_policy(policy_file))
        ws = _run(lambda: open_workspace(path))
        step()
        check = _run(lambda: check_workspace(ws, policy=policy, counties=county, rasters=False))
        works = _run(
            lambda: owner_works(
                check.communities, check.networks, ws.read("pipelines"), policy=policy
            )
        )
        if owner:
            works = works[works["owner"].isin(owner)]
        step()
        notes = ["样例数据为合成数据 / synthetic sample data"] if ws.is_synthetic else []
        _run(lambda: export_owner_works(works, output, overwrite=overwrite, notes=notes))
        step()
    counts = works.groupby("owner").size().to_dict()
    _emit(
        as_json,
        {"output": str(output), "works": len(works), "by_owner": counts},
        f"已写出 {len(works)} 项工程到 {output} / wrote {len(works)} works: "
        + "，".join(f"{k} {v}" for k, v in counts.items()),
    )


def _refuse_existing(output: Path | None, *, overwrite: bool) -> None:
    if output is not None and output.exists() and not overwrite:
        raise _fail(
            f"{output} 已存在，如需覆盖请加 --overwrite / {output} exists; pass --overwrite"
        )


def _pins(values: list[str] | None) -> dict[str, int]:
    """``ID=YEAR`` options as a mapping; a malformed one ends the command with the fix."""
    pins: dict[str, int] = {}
    for value in values or ():
        cid, sep, year = value.partition("=")
        if not sep or not cid.strip() or not year.strip().isdigit():
            raise _fail(
                f"--pin {value!r} 格式应为 小区编号=年份，如 --pin JC-0001=2024 / "
                "expected ID=YEAR, e.g. --pin JC-0001=2024"
            )
        pins[cid.strip()] = int(year)
    return pins


@app.command("plan")
def plan_cmd(
    workspace: WorkspaceOpt = None,
    pin: Annotated[
        list[str] | None,
        typer.Option("--pin", help="固定小区到某年，如 JC-0001=2024，可多次 / pin ID=YEAR"),
    ] = None,
    drop: Annotated[
        list[str] | None,
        typer.Option("--drop", help="移出计划的小区编号，可多次 / leave a community out"),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option("--today", help="以该日期为“今天”（默认最后一条进度记录的日期）YYYY-MM-DD"),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="计划表 .xlsx（或与 --survey 一起：统计调查表）"),
    ] = None,
    survey: Annotated[
        int | None,
        typer.Option("--survey", help="写出该年度的全国老旧小区改造统计调查表（需 -o）"),
    ] = None,
    freeze: Annotated[
        int | None,
        typer.Option("--freeze", help="把该年度计划、审查结论和打包批次定稿存入工作区（只增不改）"),
    ] = None,
    policy_file: PolicyOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="覆盖已有文件")] = False,
    as_json: JsonOpt = False,
) -> None:
    """年度计划 2021-2025：排期、约束检查、统计调查表、定稿 / Annual plan with its rule checks."""
    import datetime as dt

    from gislib.eligibility import check_workspace
    from gislib.io.tables import write_workbook
    from gislib.policy import load_policy
    from gislib.scheduling import PLAN_COLUMN_LABELS, freeze_year, propose_plan, survey_workbook
    from gislib.store import open_workspace

    if survey is not None and output is None:
        raise _fail("--survey 需要 -o 指定输出的 .xlsx / --survey needs -o FILE.xlsx")
    _refuse_existing(output, overwrite=overwrite)
    try:
        as_of = dt.date.fromisoformat(today) if today else None
    except ValueError:
        raise _fail(f"--today {today!r} 应为 YYYY-MM-DD / expected YYYY-MM-DD") from None
    pins = _pins(pin)
    path = _workspace_path(workspace)
    with _steps("年度计划 / planning", 3, quiet=as_json) as step:
        policy = _run(lambda: load_policy(policy_file))
        ws = _run(lambda: open_workspace(path))
        check = _run(lambda: check_workspace(ws, policy=policy))
        events = ws.read("status_events")
        step()
        plan = _run(
            lambda: propose_plan(
                check, policy=policy, events=events, pins=pins, drops=drop or (), today=as_of
            )
        )
        step()
        notes = ["样例数据为合成数据 / synthetic sample data"] if ws.is_synthetic else []
        if survey is not None and output is not None:
            from gislib.works import derive_works

            works = _run(
                lambda: derive_works(
                    check.communities, networks=check.networks, raster=check.raster,
                    policy=policy,
                )
            )  # fmt: skip
            _run(
                lambda: survey_workbook(
                    plan, events, year=survey, path=output, works=works, notes=notes,
                    overwrite=overwrite,
                )
            )  # fmt: skip
        elif output is not None:
            table = plan.to_frame()
            _run(
                lambda: write_workbook(
                    {"年度计划": table}, output, column_labels=PLAN_COLUMN_LABELS,
                    notes=notes, overwrite=overwrite,
                )
            )  # fmt: skip
        snapshot = None
        if freeze is not None:
            from gislib.bundling import year_batches

            verdicts = check.result.summary.drop(columns="geometry", errors="ignore")
            batches = _run(lambda: year_batches(ws, year=freeze, policy=policy))
            snapshot = _run(
                lambda: freeze_year(
                    ws, plan, year=freeze, verdicts=verdicts, batches=batches, user=_user()
                )
            )
        step()
    summary = plan.summary()
    if as_json:
        payload = {
            "workspace": str(path),
            "policy": policy.id,
            "synthetic": ws.is_synthetic,
            "today": str(plan.today) if plan.today else None,
            "ok": plan.ok,
            "violations": [v.to_dict() for v in plan.violations],
            "years": {
                str(year): {k: _json_value(v) for k, v in row.items()}
                for year, row in summary.iterrows()
            },
            "plan": [
                {k: _json_value(v) for k, v in rec.items()}
                for rec in plan.to_frame().to_dict("records")
            ],
            "output": str(output) if output else None,
            "snapshot_id": snapshot,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=1, default=str))
        return
    lines = [f"年度计划 / annual plan — {policy.title}", f"工作区 / workspace: {path}"]
    lines.append("年度  小区数  其中2001-2005年  户数  投资估算(亿元)")
    for year, row in summary.iterrows():
        lines.append(
            f"{year}  {int(row['communities']):>6}  {int(row['capped']):>8}"
            f"  {row['households']:>8,.0f}  {row['investment'] / 1e8:>8.2f}"
        )
    if plan.ok:
        lines.append("计划满足全部规则 / the plan holds every rule")
    else:
        lines.append(f"违反规则 {len(plan.violations)} 处 / {len(plan.violations)} violations:")
        lines += [f"  - {v.zh}" for v in plan.violations]
    if output is not None:
        lines.append(f"已写出 / written: {output}")
    if snapshot is not None:
        lines.append(f"{freeze} 年度已定稿，快照编号 {snapshot} / frozen as snapshot {snapshot}")
    typer.echo("\n".join(lines))


def _json_value(value: Any) -> Any:
    """A table cell as JSON: numpy scalars as Python numbers, NaN / NA as null."""
    import math

    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


class Prefer(StrEnum):
    """Batch count preference of the bundler."""

    middle = "middle"
    fewest = "fewest"
    most = "most"


@app.command("bundle")
def bundle_cmd(
    year: Annotated[int, typer.Option("--year", "-y", help="计划年度 / plan year")],
    workspace: WorkspaceOpt = None,
    county: Annotated[
        str | None, typer.Option("--county", "-c", help="区县名称或代码（默认全部）")
    ] = None,
    min_investment: Annotated[
        float | None, typer.Option(help="每批投资下限（元），默认政策文件 / lower bound, yuan")
    ] = None,
    max_investment: Annotated[
        float | None, typer.Option(help="每批投资上限（元）/ upper bound, yuan")
    ] = None,
    min_households: Annotated[int | None, typer.Option(help="每批户数下限")] = None,
    max_households: Annotated[int | None, typer.Option(help="每批户数上限")] = None,
    min_communities: Annotated[int | None, typer.Option(help="每批小区数下限")] = None,
    max_communities: Annotated[int | None, typer.Option(help="每批小区数上限")] = None,
    band: Annotated[
        float | None, typer.Option("--band", help="连片距离带（米），默认政策文件 / metres")
    ] = None,
    prefer: Annotated[
        Prefer, typer.Option(help="批次数：middle 居中、fewest 最少、most 最多")
    ] = Prefer.middle,
    seed: Annotated[int, typer.Option(help="随机种子（结果可复现）/ seed")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="批次与招标清单 .xlsx / workbook")
    ] = None,
    policy_file: PolicyOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="覆盖已有文件")] = False,
    as_json: JsonOpt = False,
) -> None:
    """EPC 打包：把一年的计划小区按区县连片打包成批次 / Bundle a plan year into EPC batches."""
    from dataclasses import asdict

    from gislib.bundling import Bounds, batches_table, bundle_year, write_tender_workbook
    from gislib.policy import load_policy
    from gislib.store import open_workspace

    _refuse_existing(output, overwrite=overwrite)
    path = _workspace_path(workspace)
    given = {
        "min_investment": min_investment, "max_investment": max_investment,
        "min_households": min_households, "max_households": max_households,
        "min_communities": min_communities, "max_communities": max_communities,
    }  # fmt: skip
    with _steps("EPC 打包 / bundling", 3, quiet=as_json) as step:
        policy = _run(lambda: load_policy(policy_file))
        ws = _run(lambda: open_workspace(path))
        defaults = asdict(Bounds.from_policy(policy.bundling))
        chosen: dict[str, Any] = {
            k: given[k] if given[k] is not None else v for k, v in defaults.items()
        }
        bounds = _run(lambda: Bounds(**chosen))
        step()
        results = _run(
            lambda: bundle_year(
                ws, year=year, policy=policy, county=county, bounds=bounds,
                distance_band_m=band, seed=seed, prefer=prefer.value,
            )
        )  # fmt: skip
        step()
        if output is not None:
            notes = ["样例数据为合成数据 / synthetic sample data"] if ws.is_synthetic else []
            communities = ws.read("communities")
            _run(
                lambda: write_tender_workbook(
                    results, communities, output, year=year, notes=notes, overwrite=overwrite
                )
            )
        step()
    table = batches_table(results, year=year)
    messages = [m for r in results.values() for m in r.messages]
    unassigned = [
        {"county": code, **rec}
        for code, r in results.items()
        for rec in r.unassigned.to_dict("records")
    ]
    ok = all(r.ok for r in results.values())
    if as_json:
        payload = {
            "workspace": str(path),
            "year": year,
            "synthetic": ws.is_synthetic,
            "bounds": {k: v for k, v in chosen.items() if v is not None},
            "ok": ok,
            "metrics": {code: r.metrics for code, r in results.items()},
            "batches": [
                {k: _json_value(v) if k != "members" else list(v) for k, v in rec.items()}
                for rec in table.to_dict("records")
            ],
            "unassigned": unassigned,
            "messages": messages,
            "output": str(output) if output else None,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=1, default=str))
        return
    lines = [f"{year} 年 EPC 打包 / EPC batches — 工作区 / workspace: {path}"]
    if table.empty:
        lines.append("该年度没有计划小区 / no planned community that year")
    for rec in table.to_dict("records"):
        good = bool(rec["bounds_ok"]) and bool(rec["contiguous"])
        flag = "✓" if good else f"✗ {rec['violations']}"
        lines.append(
            f"  {rec['batch_id']:<12}{int(rec['communities']):>4} 个 "
            f"{float(rec['households']):>7,.0f} 户 {float(rec['investment']) / 1e4:>10,.1f} 万元"
            f"  跨度 {float(rec['diameter_m']):>6,.0f} m  {flag}"
        )
    lines += [f"  - {u['community_id']}: {u['reason_zh']}" for u in unassigned]
    lines.append("全部批次满足约束 / every batch holds" if ok else "有违反约束的批次或未分入的小区")
    if output is not None:
        lines.append(f"已写出 / written: {output}")
    typer.echo("\n".join(lines))


class BriefFormat(StrEnum):
    """Briefing formats."""

    pdf = "pdf"
    pptx = "pptx"


@app.command("brief")
def brief_cmd(
    year: Annotated[int, typer.Option("--year", "-y", help="简报年度 / year of the briefing")],
    output: Annotated[Path, typer.Option("--output", "-o", help="输出 .pdf 或 .pptx")],
    workspace: WorkspaceOpt = None,
    county: Annotated[
        str | None, typer.Option("--county", "-c", help="只含一个区县（名称或代码）")
    ] = None,
    fmt: Annotated[
        BriefFormat | None,
        typer.Option("--format", "-f", help="pdf 或 pptx（默认按输出文件扩展名）"),
    ] = None,
    landscape: Annotated[bool, typer.Option("--landscape", help="PDF 横版 A4")] = False,
    county_maps: Annotated[
        bool, typer.Option("--county-maps", help="每个区县另附一张地图 / one map per county")
    ] = False,
    no_batches: Annotated[
        bool, typer.Option("--no-batches", help="不计算 EPC 打包批次 / skip the EPC batches")
    ] = False,
    policy_file: PolicyOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="覆盖已有文件")] = False,
    as_json: JsonOpt = False,
) -> None:
    """领导小组简报（PDF / PPTX）/ Leadership briefing for a year, optionally one county."""
    from gislib.briefing import build_briefing, write_pdf, write_pptx
    from gislib.policy import load_policy
    from gislib.store import open_workspace

    chosen = fmt or (BriefFormat.pptx if output.suffix.lower() == ".pptx" else BriefFormat.pdf)
    if output.suffix.lower() != f".{chosen}":
        raise _fail(f"输出文件应以 .{chosen} 结尾：{output} / the output must end in .{chosen}")
    _refuse_existing(output, overwrite=overwrite)
    path = _workspace_path(workspace)
    with _steps("生成简报 / building the briefing", 3, quiet=as_json) as step:
        policy = _run(lambda: load_policy(policy_file))
        ws = _run(lambda: open_workspace(path))
        batches = None
        if not no_batches:
            from gislib.bundling import year_batches

            batches = _run(lambda: year_batches(ws, year=year, policy=policy, county=county))
        step()
        brief = _run(
            lambda: build_briefing(
                ws, year=year, county=county, batches=batches, per_county_maps=county_maps,
                policy=policy,
            )
        )  # fmt: skip
        step()
        if chosen is BriefFormat.pdf:
            _run(
                lambda: write_pdf(
                    brief, output, orientation="landscape" if landscape else "portrait"
                )
            )
        else:
            _run(lambda: write_pptx(brief, output))
        step()
    _emit(
        as_json,
        {
            "output": str(output),
            "format": str(chosen),
            "year": year,
            "county": county,
            "sections": [s.key for s in brief.sections],
            "synthetic": ws.is_synthetic,
        },
        f"简报已写出 / briefing written: {output}",
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``renov`` and ``python -m gislib``."""
    logging.basicConfig(
        level=os.environ.get("RENOV_LOG_LEVEL", "WARNING"),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        app(args=argv, prog_name="renov")
    except WorkspaceError as exc:  # pragma: no cover - commands catch these already
        typer.echo(f"错误 / error: {exc}", err=True)
        sys.exit(1)
