"""Tests of the renov CLI: one-line errors, --json, no overwrite without --overwrite."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gislib.cli import app

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_info_json_reports_layers_counts_and_rasters(tiny_workspace: Path) -> None:
    result = run("info", "--workspace", str(tiny_workspace), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    counts = {x["name"]: x["count"] for x in payload["layers"]}
    assert counts["communities"] == 3
    assert payload["status_events"] == 2
    assert payload["rasters"][0]["name"] == "waterlogging_depth"
    assert payload["meta"]["synthetic"] == "true"


def test_info_text_warns_about_synthetic_data(tiny_workspace: Path) -> None:
    result = run("info", "--workspace", str(tiny_workspace))
    assert result.exit_code == 0
    assert "合成数据" in result.stdout
    assert "communities" in result.stdout


def test_missing_workspace_is_a_one_line_error_with_the_fix(tmp_path: Path) -> None:
    result = run("info", "--workspace", str(tmp_path / "nope.gpkg"))
    assert result.exit_code == 1
    assert "renov init" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_init_empty_creates_a_workspace_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "new.gpkg"
    result = run("init", "--empty", "--workspace", str(target), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["workspace"] == str(target)
    before = digest(target)
    again = run("init", "--empty", "--workspace", str(target))
    assert again.exit_code == 1 and "--overwrite" in again.stderr
    assert digest(target) == before
    info = json.loads(run("info", "--workspace", str(target), "--json").stdout)
    assert all(x["count"] == 0 for x in info["layers"])


def test_init_copies_the_sample_not_the_committed_file(
    tmp_path: Path, monkeypatch, tiny_workspace: Path
) -> None:
    import gislib.datasets

    monkeypatch.setattr(gislib.datasets, "sample_workspace_path", lambda: tiny_workspace)
    target = tmp_path / "copy.gpkg"
    result = run("init", "--workspace", str(target))
    assert result.exit_code == 0, result.output
    assert digest(target) == digest(tiny_workspace)
    assert target != tiny_workspace


def test_workspace_comes_from_the_environment_variable(tiny_workspace: Path) -> None:
    result = run("info", "--json", env={"RENOV_WORKSPACE": str(tiny_workspace)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["path"] == str(tiny_workspace)


@pytest.mark.parametrize(
    "argv", [["--help"], ["info", "--help"], ["import", "--help"], ["export", "--help"]]
)
def test_help_is_available_for_every_command(argv: list[str]) -> None:
    assert run(*argv).exit_code == 0


def test_export_writes_a_shapefile_zip_that_reads_back(
    tiny_workspace: Path, tmp_path: Path
) -> None:
    from gislib.io.export import read_shapefile_zip

    out = tmp_path / "小区.zip"
    result = run(
        "export", "--layer", "communities", "--format", "shp", "-o", str(out),
        "--workspace", str(tiny_workspace), "--encoding", "GBK", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"] == 3
    back = read_shapefile_zip(out).set_index("community_id")
    assert back.loc["C1", "name"] == "江城区荔枝园公租房小区"
    again = run(
        "export", "--layer", "communities", "--format", "shp", "-o", str(out),
        "--workspace", str(tiny_workspace),
    )  # fmt: skip
    assert again.exit_code == 1 and "--overwrite" in again.stderr


def test_export_in_gcj02_moves_coordinates_for_amap(tiny_workspace: Path, tmp_path: Path) -> None:
    import pyogrio

    out = tmp_path / "c.kml"
    result = run(
        "export", "--layer", "communities", "--format", "kml", "-o", str(out),
        "--crs", "gcj02", "--workspace", str(tiny_workspace),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pyogrio.read_dataframe(out)
    minx = frame.geometry.bounds["minx"].min()
    assert 0.004 < minx - 111.97 < 0.007  # about 500-700 m east at this latitude


def test_export_with_an_unknown_crs_is_a_one_line_error(
    tiny_workspace: Path, tmp_path: Path
) -> None:
    result = run(
        "export", "--layer", "communities", "--format", "gpkg", "-o", str(tmp_path / "x.gpkg"),
        "--crs", "EPSG:999999", "--workspace", str(tiny_workspace),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.gpkg").exists()


def test_info_on_the_sample_reports_counties_networks_rasters_and_history(tmp_path: Path) -> None:
    from gislib.datasets import sample_workspace_path

    sample = sample_workspace_path()
    before = digest(sample)
    result = run("info", "--json", env={"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")})
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    layers = {x["name"]: x for x in payload["layers"]}
    assert set(layers["counties"]["groups"] or {}) == set() and layers["counties"]["count"] == 4
    assert set(layers["communities"]["groups"]) == {"441702", "441704", "441721", "441781"}
    assert set(layers["pipelines"]["groups"]) == {
        "water", "rain", "sewer", "combined", "gas", "power", "telecom",
    }  # fmt: skip
    assert layers["expropriation_zones"]["count"] >= 20
    assert {r["name"] for r in payload["rasters"]} == {"waterlogging_depth", "population_density"}
    assert payload["status_events"] > 0
    assert set(layers["status_events"]["groups"]) == {"2021", "2022", "2023", "2024", "2025"}
    assert digest(sample) == before  # the committed sample is copied, never opened for writing


def test_check_json_gives_verdict_rules_overlap_and_distances(tmp_path: Path) -> None:
    env = {"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")}
    result = run("check", "--json", "--county", "江城区", env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["synthetic"] is True
    records = payload["communities"]
    assert records and all(r["county_code"] == "441702" for r in records)
    assert sum(payload["counts"].values()) == len(records)
    first = records[0]
    assert {r["rule_id"] for r in first["rules"]} >= {"scope", "build_year", "expropriation"}
    assert set(first["nearest_main_m"]) == {
        "water",
        "rain",
        "sewer",
        "combined",
        "gas",
        "power",
        "telecom",
    }
    overlapping = [r for r in records if r["expropriation_share"] > 0.1]
    assert overlapping and all(r["verdict"] == "ineligible" for r in overlapping)
    zone_rule = next(x for x in overlapping[0]["rules"] if x["rule_id"] == "expropriation")
    assert overlapping[0]["expropriation_zones"][0] in zone_rule["reason_zh"]
    assert isinstance(next(x for x in first["rules"] if x["rule_id"] == "build_year")["value"], int)


def test_check_writes_results_to_excel_and_geopackage(tmp_path: Path) -> None:
    import openpyxl
    import pyogrio

    env = {"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")}
    xlsx, gpkg = tmp_path / "结果.xlsx", tmp_path / "结果.gpkg"
    assert run("check", "-c", "441721", "-o", str(xlsx), env=env).exit_code == 0
    assert run("check", "-c", "441721", "-o", str(gpkg), env=env).exit_code == 0
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["资格审查结果", "审查依据", "说明"]
    assert book["资格审查结果"]["A1"].value == "小区编号"
    layers = dict(pyogrio.list_layers(gpkg))
    assert layers["eligibility"] == "MultiPolygon" and "eligibility_rules" in layers
    again = run("check", "-c", "441721", "-o", str(xlsx), env=env)
    assert again.exit_code == 1 and "--overwrite" in again.stderr


def test_check_with_an_unknown_county_is_a_one_line_error(tmp_path: Path) -> None:
    result = run("check", "-c", "广州市", env={"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")})
    assert result.exit_code == 1 and "广州市" in result.stderr


def test_works_writes_one_sheet_per_owner_and_filters_by_owner(tmp_path: Path) -> None:
    import openpyxl

    env = {"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")}
    out = tmp_path / "工程清单.xlsx"
    result = run("works", "-o", str(out), "--owner", "燃气企业", "--json", env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["works"] > 0 and set(payload["by_owner"]) == {"燃气企业"}
    book = openpyxl.load_workbook(out)
    assert "汇总" in book.sheetnames and "燃气企业" in book.sheetnames
    bad = run("works", "-o", str(tmp_path / "x.xlsx"), "--owner", "自来水公司", env=env)
    assert bad.exit_code == 1 and "自来水公司" in bad.stderr


# ---------------------------------------------------------------------------
# renov plan


def test_plan_json_gives_a_plan_that_holds_every_rule_with_the_pilots_first(
    tmp_path: Path,
) -> None:
    env = {"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")}
    result = run("plan", "--json", env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["synthetic"] is True
    assert payload["ok"] is True and payload["violations"] == []
    assert sorted(payload["years"]) == ["2021", "2022", "2023", "2024", "2025"]
    pilots = [r for r in payload["plan"] if r["source"] == "pilot"]
    assert len(pilots) == 3 and all(r["year"] == 2021 for r in pilots)
    by_year: dict[int, int] = {}
    for rec in payload["plan"]:
        by_year[rec["year"]] = by_year.get(rec["year"], 0) + 1
    assert {int(y): int(v["communities"]) for y, v in payload["years"].items()} == by_year


def test_plan_pin_of_an_unknown_community_is_a_one_line_error(tmp_path: Path) -> None:
    env = {"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")}
    bad = run("plan", "--pin", "2024", env=env)
    assert bad.exit_code == 1 and "ID=YEAR" in bad.stderr
    unknown = run("plan", "--pin", "NOPE-1=2024", env=env)
    assert unknown.exit_code == 1
    assert "NOPE-1" in unknown.stderr and "Traceback" not in unknown.output


def test_plan_writes_the_survey_workbook_and_freezes_a_year(tmp_path: Path) -> None:
    import openpyxl

    from gislib.scheduling import SURVEY_SHEETS, load_frozen
    from gislib.store import open_workspace

    workspace = tmp_path / "ws.gpkg"
    env = {"RENOV_WORKSPACE": str(workspace)}
    out = tmp_path / "调查表.xlsx"
    result = run("plan", "--survey", "2024", "-o", str(out), "--freeze", "2024", env=env)
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert list(book.sheetnames[: len(SURVEY_SHEETS)]) == list(SURVEY_SHEETS)
    effect = [c.value for c in book["改造效果"][1]]
    assert "加装电梯（部，估算）" in effect  # works delivered, from the derived works
    money = [row[6] for row in book["年度计划"].iter_rows(min_row=2, values_only=True)]
    assert all(round(v, 2) == v for v in money)  # 万元 to the cent-of-a-wan, as a form shows
    frozen = load_frozen(open_workspace(workspace), 2024)
    assert frozen is not None and frozen.year == 2024
    assert frozen.batches is not None and frozen.batches["bounds_ok"].all()
    again = run("plan", "--survey", "2024", "-o", str(out), env=env)
    assert again.exit_code == 1 and "--overwrite" in again.stderr


# ---------------------------------------------------------------------------
# renov bundle, renov brief


def test_bundle_json_gives_batches_within_the_policy_bounds(tmp_path: Path) -> None:
    import openpyxl

    env = {"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")}
    out = tmp_path / "批次.xlsx"
    result = run(
        "bundle", "--year", "2024", "--county", "江城区", "--json", "-o", str(out), env=env
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is True and payload["unassigned"] == []
    low, high = payload["bounds"]["min_investment"], payload["bounds"]["max_investment"]
    batches = payload["batches"]
    assert batches and all(b["county"] == "441702" for b in batches)
    assert all(low <= b["investment"] <= high for b in batches)
    assert all(b["batch_id"].startswith("441702-B") for b in batches)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:3] == ["批次汇总", "招标清单", "未分入批次"]
    members = sum(len(b["members"]) for b in batches)
    assert book["招标清单"].max_row - 1 == members  # one row per community, under a header


def test_bundle_explains_communities_that_cannot_reach_the_lower_bound(tmp_path: Path) -> None:
    env = {"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")}
    result = run(
        "bundle", "--year", "2021", "--county", "阳东区", "--min-investment", "1e9",
        "--max-investment", "2e9", "--json", env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["batches"] == []
    assert payload["unassigned"]
    assert all("低于批次下限" in u["reason_zh"] for u in payload["unassigned"])


def test_bundle_with_contradictory_bounds_is_a_one_line_error(tmp_path: Path) -> None:
    env = {"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")}
    result = run(
        "bundle", "--year", "2024", "--min-investment", "9e7", "--max-investment", "1e7", env=env
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    last = result.stderr.strip().splitlines()[-1]  # after the progress label
    assert last.startswith("错误 / error:") and "min_investment" in last


@pytest.mark.slow
def test_brief_writes_a_pdf_and_a_pptx_of_the_year(tmp_path: Path) -> None:
    from pptx import Presentation
    from pypdf import PdfReader

    env = {"RENOV_WORKSPACE": str(tmp_path / "ws.gpkg")}
    pdf = tmp_path / "简报.pdf"
    result = run("brief", "--year", "2024", "-o", str(pdf), "--json", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sections"][-1] == "risks"
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "EPC 工程总承包打包批次" in text and "441702-B01" in text
    pptx = tmp_path / "简报.pptx"
    result = run("brief", "--year", "2024", "--county", "阳春市", "-o", str(pptx), env=env)
    assert result.exit_code == 0, result.output
    assert len(Presentation(str(pptx)).slides) > 3
    wrong = run("brief", "--year", "2024", "-o", str(tmp_path / "x.docx"), env=env)
    assert wrong.exit_code == 1 and ".pdf" in wrong.stderr
