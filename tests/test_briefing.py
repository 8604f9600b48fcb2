"""Tests of gislib.briefing: the content model, the PDF and the PPTX of the sample workspace."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from gislib.briefing import (
    Briefing,
    Figure,
    Kpi,
    KpiGrid,
    Paragraph,
    Table,
    build_briefing,
    stalled_communities,
    write_pdf,
    write_pptx,
)
from gislib.briefing import fonts as briefing_fonts
from gislib.datasets import sample_workspace_path
from gislib.errors import ConfigError, ExportError, SchemaError
from gislib.maps import format_measure
from gislib.planning import MEASURES, PROGRESS_STAGES, investment_estimate, progress_kpis
from gislib.store import open_workspace

YEAR = 2023
TODAY = dt.date(2026, 1, 15)
SECTION_TITLES = (
    "一、核心指标",
    "二、进度地图",
    "三、分区县、分年度进度",
    "四、资金筹措",
    "五、EPC 工程总承包打包批次",
    "六、风险与待决事项",
)


@pytest.fixture(scope="module")
def workspace():
    return open_workspace(sample_workspace_path())


@pytest.fixture(scope="module")
def layers(workspace):
    return {
        "communities": workspace.read("communities"),
        "events": workspace.read("status_events"),
        "investment": investment_estimate(workspace),
    }


@pytest.fixture(scope="module")
def city(workspace) -> Briefing:
    return build_briefing(workspace, year=YEAR, today=TODAY)


@pytest.fixture(scope="module")
def city_pdf(city, tmp_path_factory) -> Path:
    return write_pdf(city, tmp_path_factory.mktemp("pdf") / "brief.pdf")


@pytest.fixture(scope="module")
def city_pdf_text(city_pdf) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(city_pdf).pages)


@pytest.fixture(scope="module")
def city_pptx(city, tmp_path_factory) -> Path:
    return write_pptx(city, tmp_path_factory.mktemp("pptx") / "brief.pptx")


BATCHES = pd.DataFrame(
    {
        "batch_id": ["YX-2023-01", "YX-2023-02", "JC-2023-01", "YX-2022-01"],
        "county": ["441721", "阳西县", "441702", "441721"],
        "year": [2023, 2023, 2023, 2022],
        "communities": [4, 3, 6, 5],
        "households": [410, 260, 900, 500],
        "investment": [21_000_000.0, 9_500_000.0, 40_000_000.0, 20_000_000.0],
        "bounds_ok": [True, False, False, True],
        "violations": ["", "户数少于下限 300 户", "投资超过上限", ""],
    }
)


@pytest.fixture(scope="module")
def yangxi(workspace) -> Briefing:
    return build_briefing(workspace, year=YEAR, county="阳西县", batches=BATCHES, today=TODAY)


def _kpi_strings(layers, *, county: str | None = None) -> list[str]:
    out = []
    for stage in PROGRESS_STAGES:
        kpis = progress_kpis(
            layers["communities"],
            layers["events"],
            year=YEAR,
            stage=stage,
            county=county,
            investment=layers["investment"],
        )
        out += [format_measure(kpis.loc[m, "value"], m) for m in MEASURES]
    return out


def _summary_cards(briefing: Briefing) -> dict[str, Kpi]:
    """The key-figure cards of the summary section, by label."""
    return {
        k.label: k
        for b in briefing.section("summary").blocks
        if isinstance(b, KpiGrid)
        for k in b.items
    }


def _pptx_texts(path: Path) -> tuple[list[str], list[str], int]:
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    prs = Presentation(str(path))
    titles, texts, pictures = [], [], 0
    for slide in prs.slides:
        shapes = list(slide.shapes)
        titles.append(shapes[0].text_frame.text)
        for shape in shapes:
            if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
                pictures += 1
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                texts += [cell.text for row in shape.table.rows for cell in row.cells]
    return titles, texts, pictures


# --------------------------------------------------------------------------- content


def test_briefing_has_the_six_sections_in_order(city):
    assert tuple(s.title for s in city.sections) == SECTION_TITLES
    assert city.year == YEAR and city.county is None and city.synthetic


def test_kpi_cards_match_progress_kpis(city, layers):
    cards = _summary_cards(city)
    kpis = progress_kpis(
        layers["communities"],
        layers["events"],
        year=YEAR,
        stage="completed",
        investment=layers["investment"],
    )
    done = cards["已完工小区"]
    assert done.value == format_measure(kpis.loc["communities", "value"], "communities")
    assert format_measure(kpis.loc["communities", "change"], "communities", signed=True) in (
        done.change
    )
    planned = progress_kpis(
        layers["communities"],
        layers["events"],
        year=YEAR,
        stage="planned",
        investment=layers["investment"],
    )
    assert cards["计划投资（估算）"].value == format_measure(
        planned.loc["investment", "value"], "investment"
    )
    assert "估算" in cards["计划投资（估算）"].note


def test_works_outputs_are_labelled_estimates_and_positive(city):
    grid = [b for b in city.section("summary").blocks if isinstance(b, KpiGrid)][-1]
    assert "估算" in grid.title
    labels = [k.label for k in grid.items]
    assert labels == [
        "管线改造（新建/入地）",
        "加装电梯",
        "停车设施整治",
        "充电设施",
        "养老托育等服务设施",
    ]
    assert all(k.note == "估算" for k in grid.items)
    assert grid.items[0].value.endswith("公里") and grid.items[1].value.endswith("部")
    assert float(grid.items[1].value.split()[0].replace(",", "")) > 0


def test_city_map_is_one_png_and_per_county_maps_are_off_by_default(city):
    figures = [b for b in city.section("map").blocks if isinstance(b, Figure)]
    assert len(figures) == 1
    assert figures[0].png.startswith(b"\x89PNG")
    assert "全市" in figures[0].title


def test_batches_none_says_no_batches_were_given(city):
    blocks = city.section("batches").blocks
    assert [type(b) for b in blocks] == [Paragraph]
    assert "未提供" in blocks[0].text  # type: ignore[union-attr]


def test_stalled_communities_reports_quiet_unfinished_ones():
    events = pd.DataFrame(
        {
            "community_id": ["A", "A", "B", "B", "C"],
            "year": [2022] * 5,
            "stage": ["摸查", "申报", "摸查", "移交", "施工"],
            "date": pd.to_datetime(
                ["2021-01-05", "2021-06-01", "2021-01-05", "2021-03-01", "2023-11-01"]
            ),
        }
    )
    out = stalled_communities(events, as_of=dt.date(2023, 12, 31), months=12)
    assert list(out.index) == ["A"]  # B is handed over, C is recent
    assert out.loc["A", "stage"] == "申报"
    assert out.loc["A", "months"] == 30


def test_stall_threshold_is_a_keyword():
    events = pd.DataFrame(
        {"community_id": ["C"], "year": [2023], "stage": ["施工"], "date": ["2023-05-01"]}
    )
    assert stalled_communities(events, as_of=dt.date(2023, 12, 31), months=6).index.tolist() == [
        "C"
    ]
    assert stalled_communities(events, as_of=dt.date(2023, 12, 31), months=12).empty


def test_risks_count_refusals_by_failing_rule(city, workspace):
    from gislib.eligibility import check_workspace
    from gislib.policy import load_policy

    counts = check_workspace(workspace, policy=load_policy()).result.counts_by_failing_rule()
    table = city.section("risks").blocks[0]
    assert isinstance(table, Table)
    rows = {r[0].split("（")[0]: (r[1], r[2]) for r in table.rows}
    policy = load_policy()
    expected = policy.rules.expropriation.zh.split("（")[0]
    assert rows[expected] == (
        f"{counts.loc['expropriation', 'fail']:,}",
        f"{counts.loc['expropriation', 'review']:,}",
    )


def test_unknown_county_or_year_is_a_schema_error(workspace):
    with pytest.raises(SchemaError, match="未知的区县"):
        build_briefing(workspace, year=YEAR, county="海陵区")
    with pytest.raises(SchemaError, match="2030"):
        build_briefing(workspace, year=2030)


def test_batches_without_expected_columns_are_refused(workspace):
    with pytest.raises(SchemaError, match="bounds_ok"):
        build_briefing(workspace, year=YEAR, batches=BATCHES.drop(columns=["bounds_ok"]))


def test_missing_font_is_a_clear_config_error(workspace, monkeypatch, tmp_path, city):
    monkeypatch.setattr(briefing_fonts, "_candidates", lambda: [tmp_path / "none.ttf"])
    with pytest.raises(ConfigError, match="RENOV_CJK_FONT") as info:
        build_briefing(workspace, year=YEAR)
    assert "paperang-p2-fonts-cjk" in str(info.value)
    with pytest.raises(ConfigError):
        write_pdf(city, tmp_path / "x.pdf")
    assert not list(tmp_path.iterdir())


def test_a_font_without_chinese_is_not_used(monkeypatch, tmp_path):
    from matplotlib import font_manager

    latin = Path(font_manager.findfont("DejaVu Sans"))
    monkeypatch.setattr(briefing_fonts, "_candidates", lambda: [latin])
    with pytest.raises(ConfigError):
        briefing_fonts.cjk_font()


def test_building_and_writing_leave_matplotlib_settings_alone(city, tmp_path):
    before = (matplotlib.rcParams["pdf.fonttype"], list(matplotlib.rcParams["font.family"]))
    write_pdf(city, tmp_path / "b.pdf")
    assert (matplotlib.rcParams["pdf.fonttype"], list(matplotlib.rcParams["font.family"])) == before


# --------------------------------------------------------------------------- PDF


def test_pdf_holds_the_headings_and_the_kpis_of_progress_kpis(city_pdf_text, layers):
    for title in SECTION_TITLES:
        assert title in city_pdf_text
    assert "阳江市城镇老旧小区改造工作进展简报（2023 年）" in city_pdf_text
    for figure in _kpi_strings(layers):
        assert figure in city_pdf_text, figure


def test_pdf_footer_says_synthetic_sample_and_date(city_pdf_text):
    assert "合成数据" in city_pdf_text
    assert "生成日期：2026-01-15" in city_pdf_text
    assert "yangjiang.gpkg" in city_pdf_text


def test_pdf_embeds_the_truetype_cjk_font(city_pdf):
    from pypdf import PdfReader

    embedded = set()
    for page in PdfReader(city_pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if "/FontFile2" in descriptor:
                    embedded.add(str(font["/BaseFont"]))
    assert any("WenQuanYi" in name for name in embedded), embedded


def test_pdf_is_a4_portrait_and_landscape_on_request(city, city_pdf, tmp_path):
    from pypdf import PdfReader

    box = PdfReader(city_pdf).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    wide = write_pdf(city, tmp_path / "wide.pdf", orientation="landscape")
    box = PdfReader(wide).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)


def test_write_refuses_a_wrong_suffix_or_missing_folder(city, tmp_path):
    with pytest.raises(ExportError):
        write_pdf(city, tmp_path / "brief.txt")
    with pytest.raises(ExportError):
        write_pptx(city, tmp_path / "missing" / "brief.pptx")
    with pytest.raises(ExportError):
        write_pdf(city, tmp_path / "b.pdf", orientation="sideways")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- PPTX


def test_pptx_has_title_and_section_slides_pictures_and_figures(city, city_pptx, layers):
    from pptx import Presentation

    prs = Presentation(str(city_pptx))
    assert round(prs.slide_width / prs.slide_height, 2) == round(16 / 9, 2)
    titles, texts, pictures = _pptx_texts(city_pptx)
    assert titles[0] == city.title
    assert not any("（续）（续）" in t for t in titles)
    for title in SECTION_TITLES:
        assert title in titles
    assert pictures == len(city.figures())
    joined = "\n".join(texts)
    for figure in _kpi_strings(layers):
        assert figure in joined, figure
    assert city.footer in texts


def test_pptx_runs_set_the_east_asian_font(city_pptx):
    from pptx import Presentation
    from pptx.oxml.ns import qn

    slide = Presentation(str(city_pptx)).slides[1]
    runs = [
        r for s in slide.shapes if s.has_text_frame for p in s.text_frame.paragraphs for r in p.runs
    ]
    assert runs
    for run in runs:
        east = run._r.get_or_add_rPr().find(qn("a:ea"))
        assert east is not None and east.get("typeface")


# --------------------------------------------------------------------------- county and batches


def test_county_filter_reduces_content_to_that_county(yangxi, layers):
    assert yangxi.county == "441721"
    progress = yangxi.section("progress")
    tables = [b for b in progress.blocks if isinstance(b, Table)]
    assert all([r[0] for r in t.rows] == ["阳西县"] for t in tables)
    funding = next(b for b in yangxi.section("funding").blocks if isinstance(b, Table))
    assert [r[0] for r in funding.rows] == ["阳西县"]
    maps = [b for b in yangxi.section("map").blocks if isinstance(b, Figure)]
    assert len(maps) == 1 and maps[0].title.startswith("阳西县")
    text = "\n".join(yangxi.texts())
    for other in ("江城区", "阳东区", "阳春市"):
        assert other not in text.replace("阳江市", ""), other
    cards = _summary_cards(yangxi)
    kpis = progress_kpis(
        layers["communities"], layers["events"], year=YEAR, stage="completed", county="441721"
    )
    assert cards["已完工小区"].value == format_measure(
        kpis.loc["communities", "value"], "communities"
    )


def test_given_batches_are_counted_for_the_year_and_county(yangxi):
    blocks = yangxi.section("batches").blocks
    cards = {k.label: k.value for k in blocks[0].items}  # type: ignore[union-attr]
    assert cards["批次数"] == "2 批"
    assert cards["涉及小区"] == "7 个"
    assert cards["批次合同估算额"] == format_measure(30_500_000.0, "investment")
    listing = blocks[1]
    assert isinstance(listing, Table)
    assert [r[0] for r in listing.rows] == ["YX-2023-01", "YX-2023-02"]
    risks = [b for b in yangxi.section("risks").blocks if isinstance(b, Table)]
    broken = next(t for t in risks if t.title.startswith("EPC 批次"))
    assert [r[0] for r in broken.rows] == ["YX-2023-02"]
    assert broken.rows[0][2] == "户数少于下限 300 户"


def test_county_pdf_holds_the_county_kpis(yangxi, layers, tmp_path):
    from pypdf import PdfReader

    path = write_pdf(yangxi, tmp_path / "yangxi.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    for figure in _kpi_strings(layers, county="441721"):
        assert figure in text, figure
    assert "YX-2023-02" in text


def test_an_english_briefing_has_english_titles_and_the_same_figures(workspace, yangxi):
    english = build_briefing(
        workspace, year=YEAR, county="阳西县", batches=BATCHES, today=TODAY, lang="en"
    )
    titles = [s.title for s in english.sections]
    assert [s.key for s in english.sections] == [s.key for s in yangxi.sections]
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in titles), titles

    def numbers(briefing: Briefing) -> list[str]:
        return [re.sub(r"[^0-9.,+-]", "", k.value) for k in _summary_cards(briefing).values()]

    zh_values = [k.value for k in _summary_cards(yangxi).values()]
    for zh, en_number, zh_number in zip(zh_values, numbers(english), numbers(yangxi), strict=True):
        if "亿元" in zh:  # 1.81 亿元 is 181 million yuan
            assert float(en_number) == pytest.approx(float(zh_number) * 100, abs=0.5)
        else:
            assert en_number == zh_number
    assert not any(re.search(r"[\u4e00-\u9fff]", k) for k in _summary_cards(english))
