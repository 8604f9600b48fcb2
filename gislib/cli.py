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
