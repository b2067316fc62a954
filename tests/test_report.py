"""The journey report: written by every publish from published/bi.duckdb, rebuilt by
`journey report`, and checked the way a person would check it: every page opens in a
browser (headless Chromium) and draws every chart, a chart without data says why, and the
figures on the page equal the SQL that defines them."""

from __future__ import annotations

import dataclasses
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pytest

from orchestration import cli
from orchestration.project import REPO_ROOT
from orchestration.report.build import PAGES, REPORT_DIR, build_report
from orchestration.runner import summarise

# Screenshots land here (ignored by git), and the suite prints the folder.
ARTIFACTS = REPO_ROOT / "test-artifacts" / "report"
CHROMIUM_MISSING = (
    "headless Chromium is needed to check the report: install Debian's package with "
    "`apt-get install -y chromium` (or put a `chromium` binary on PATH)"
)
WINDOW = (1400, 4000)
# Charts that the pipeline's sample data always has rows for: they must be drawn.
ALWAYS_DRAWN = {
    "daily-sessions",
    "daily-revenue",
    "daily-customers",
    "funnel-reached",
    "funnel-conversion",
    "funnel-time",
    "channel-sessions",
    "attribution-revenue",
    "email-rates",
    "retention-heatmap",
    "clv-curve",
    "audience-sizes",
    "health-rejected",
}


class ReportPage(HTMLParser):
    """What a page holds: sections and their text, charts (drawn or the reason why not),
    key numbers (`data-figure`, `data-value` and the text shown) and links."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, list[str]] = {}
        self.charts: dict[str, dict] = {}
        self.figures: dict[str, dict] = {}
        self.links: list[str] = []
        self.text: list[str] = []
        self._section = self._chart = self._figure = None
        self._in_reason = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-section" in attrs:
            self._section = attrs["data-section"]
            self.sections[self._section] = []
        if tag == "figure" and "data-chart" in attrs:
            self._chart = attrs["data-chart"]
            self.charts[self._chart] = {
                "drawn": attrs.get("data-drawn"),
                "svg": 0,
                "marks": 0,
                "reason": "",
            }
        if self._chart and tag == "svg":
            self.charts[self._chart]["svg"] += 1
        if self._chart and "mark" in (attrs.get("class") or "").split():
            self.charts[self._chart]["marks"] += 1
        if self._chart and tag == "p" and attrs.get("class") == "no-data":
            self._in_reason = True
        if "data-figure" in attrs:
            self._figure = attrs["data-figure"]
            self.figures[self._figure] = {"value": attrs.get("data-value"), "text": ""}
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None
        if tag == "figure":
            self._chart = None
        if tag == "p":
            self._in_reason = False
        if tag in ("dd", "div"):
            self._figure = None

    def handle_data(self, data):
        self.text.append(data)
        if self._section:
            self.sections[self._section].append(data)
        if self._chart and self._in_reason:
            self.charts[self._chart]["reason"] += data
        if self._figure:
            self.figures[self._figure]["text"] += data


@pytest.fixture(scope="module")
def report_dir(pipeline) -> Path:
    assert pipeline.outcome.success, pipeline.outcome.failure
    return pipeline.settings.published_dir / REPORT_DIR


@pytest.fixture(scope="module")
def pages(report_dir: Path) -> dict[str, ReportPage]:
    return {name: ReportPage((report_dir / f"{name}.html").read_text()) for name, *_ in PAGES}


@pytest.fixture(scope="module")
def bi(pipeline):
    con = duckdb.connect(str(pipeline.settings.published_dir / "bi.duckdb"), read_only=True)
    yield con
    con.close()


def test_every_publish_writes_the_report_and_the_run_names_it(pipeline, report_dir, pages):
    names = {f"{name}.html" for name, *_ in PAGES}
    assert {path.name for path in report_dir.iterdir()} == names  # no staged leftovers
    for page in pages.values():
        assert names <= set(page.links)  # every page links to every page
    summary = summarise(pipeline.settings, pipeline.outcome, 1.0)
    assert f"report:           {report_dir / 'index.html'}" in summary
    # How to see a dbt test's rows: said when a dbt test failed or warned, not for a
    # loader's or run health's check.
    hint = "`journey dev`, then `dbt show --select <test>`"
    assert hint not in summary
    late = dataclasses.replace(pipeline.outcome, checks_warned=["raw/web_events:landing_fresh"])
    assert hint not in summarise(pipeline.settings, late, 1.0)
    flagged = dataclasses.replace(
        pipeline.outcome,
        checks_warned=["staging/stg_crm__orders:not_null_stg_crm__orders_warn"],
        dbt_tests_flagged=True,
    )
    assert hint in summarise(pipeline.settings, flagged, 1.0)


def test_every_section_says_something_and_every_chart_is_drawn_or_says_why(pages, bi):
    charts = {}
    for name, page in pages.items():
        assert page.sections, name
        for key, text in page.sections.items():
            assert len(" ".join(text).split()) >= 10, f"{name}: section {key} is empty"
        text = " ".join(page.text)
        for word in ("Traceback", "Error", "None", "nan", "undefined"):
            assert not re.search(rf"\b{word}\b", text), f"{name}: {word!r} on the page"
        charts.update(page.charts)
    for key, chart in charts.items():
        if chart["drawn"] == "yes":
            assert chart["svg"] == 1 and chart["marks"] > 0, f"chart {key} is drawn empty"
        else:
            assert chart["drawn"] == "no" and chart["svg"] == 0, key
            assert len(chart["reason"].split()) >= 5, f"chart {key}: no reason in words"
    drawn = {key for key, chart in charts.items() if chart["drawn"] == "yes"}
    assert set(charts) >= ALWAYS_DRAWN
    assert sorted(ALWAYS_DRAWN - drawn) == []
    # Campaign revenue is drawn only when some campaign earned revenue; else it says why.
    (earned,) = bi.execute(
        "select coalesce(sum(attributed_revenue), 0) > 0 from marts.kpi_email_campaigns"
    ).fetchone()
    assert earned or "email-revenue" not in drawn
    # A CLV fit that is unreliable is explained with the model's own words.
    if charts["clv-distribution"]["drawn"] == "no":
        notes = bi.execute(
            "select distinct fit_note from marts.fct_clv_parameters where fit_status <> 'ok'"
        ).fetchall()
        assert notes
        for (note,) in notes:
            assert note.rstrip(".") in charts["clv-distribution"]["reason"]


def _shown(text: str) -> float:
    """A number as the page shows it (4,075 / €15.52 / 17.9%) back to a float."""
    return float(re.sub(r"[^\d.]", "", text.replace("\u2212", "-")))


def test_figures_on_the_page_equal_the_sql_that_defines_them(pages, bi):
    last_30_days = "date > (select max(date) from marts.kpi_daily) - 30"
    sessions, cac = bi.execute(
        "select sum(sessions), sum(ad_spend) / nullif(sum(new_customers), 0) "
        f"from marts.kpi_daily where {last_30_days}"
    ).fetchone()
    expected = {
        ("index", "kpi-sessions"): (sessions, 0),
        ("index", "kpi-blended_cac"): (cac, 2),
        ("channels", "channels-sessions"): (
            bi.execute(
                f"select sum(sessions) from marts.kpi_channel_daily where {last_30_days}"
            ).fetchone()[0],
            0,
        ),
        ("email", "email-campaigns"): (
            bi.execute("select count(*) from marts.kpi_email_campaigns").fetchone()[0],
            0,
        ),
        ("funnel", "funnel-people"): (
            bi.execute(
                "select sum(customers_reached) from marts.kpi_funnel where stage = 'awareness'"
            ).fetchone()[0],
            0,
        ),
        ("health", "health-tests-passed"): (
            bi.execute(
                "select any_value(dbt_tests_passed) from marts.fct_run_health "
                "where measured_at = (select max(measured_at) from marts.fct_run_health)"
            ).fetchone()[0],
            0,
        ),
    }
    assert sessions > 0 and cac is not None
    for (page, key), (value, digits) in expected.items():
        figure = pages[page].figures[key]
        assert float(figure["value"]) == pytest.approx(float(value), rel=1e-9), key
        assert _shown(figure["text"]) == round(float(value), digits), (key, figure["text"])


def test_journey_report_rebuilds_it_from_the_published_copy(
    pipeline, tmp_path, monkeypatch, capsys
):
    published = tmp_path / "warehouse" / "published"
    published.mkdir(parents=True)
    shutil.copyfile(pipeline.settings.published_dir / "bi.duckdb", published / "bi.duckdb")
    monkeypatch.setenv("JOURNEY_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("JOURNEY_LANDING_DIR", str(pipeline.settings.landing_dir))
    assert cli.main(["report"]) == 0
    index = published / REPORT_DIR / "index.html"
    assert str(index) in capsys.readouterr().out
    rebuilt = ReportPage(index.read_text()).figures["kpi-sessions"]
    original = ReportPage(
        (pipeline.settings.published_dir / REPORT_DIR / "index.html").read_text()
    ).figures["kpi-sessions"]
    assert rebuilt == original


def test_marts_without_rows_give_pages_that_say_why(pipeline, tmp_path):
    published = tmp_path / "published"
    published.mkdir()
    con = duckdb.connect(str(published / "bi.duckdb"))
    con.execute(f"attach '{pipeline.settings.published_dir / 'bi.duckdb'}' as complete (read_only)")
    con.execute("create schema marts")
    tables = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = 'complete' and table_schema = 'marts'"
    ).fetchall()
    for (table,) in tables:
        con.execute(
            f"create table marts.{table} as select * from complete.marts.{table} where false"
        )
    con.close()
    index = build_report(published)
    for name, *_ in PAGES:
        page = ReportPage((index.parent / f"{name}.html").read_text())
        assert page.sections, name
        for key, chart in page.charts.items():
            assert chart["drawn"] == "no" and chart["svg"] == 0, key
            assert len(chart["reason"].split()) >= 3, key


def _png_pixels(path: Path) -> np.ndarray:
    """The RGB pixels of an 8-bit, non-interlaced PNG (what Chromium writes), decoded with
    zlib and the PNG row filters."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
    assert depth == 8 and interlace == 0 and color in (2, 6), (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    rows = np.frombuffer(zlib.decompress(b"".join(chunks)), np.uint8).reshape(height, stride + 1)
    pixels = np.zeros((height, stride), np.uint8)
    previous = np.zeros(stride, np.uint8)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:]
        if kind == 0:
            current = line.copy()
        elif kind == 1:  # Sub: a running sum per channel
            sums = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.int64)
            current = (sums % 256).astype(np.uint8).reshape(stride)
        elif kind == 2:  # Up
            current = line + previous
        else:  # Average, Paeth: sequential along the row
            out, up = bytearray(line.tobytes()), previous.tobytes()
            for i in range(stride):
                a = out[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    out[i] = (out[i] + ((a + b) >> 1)) & 255
                    continue
                c = up[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            current = np.frombuffer(bytes(out), np.uint8)
        pixels[y] = previous = current
    return pixels.reshape(height, width, bpp)[:, :, :3]


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_every_page_renders_in_headless_chromium(report_dir, pages, tmp_path, capsys):
    if shutil.which("chromium") is None:
        pytest.fail(CHROMIUM_MISSING, pytrace=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS.parent / ".gitignore").write_text("*\n")
    with capsys.disabled():
        print(f"\nreport screenshots: {ARTIFACTS}")
    for name, page in pages.items():
        url = (report_dir / f"{name}.html").as_uri()
        screenshot = ARTIFACTS / f"{name}.png"
        screenshot.unlink(missing_ok=True)
        shot = _chromium(
            f"--screenshot={screenshot}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            url,
            profile=tmp_path / "profile",
        )
        assert screenshot.exists(), f"{name}: no screenshot ({shot.stderr[-800:]})"
        pixels = _png_pixels(screenshot)
        assert pixels.shape == (WINDOW[1], WINDOW[0], 3)
        # Not blank: beyond the two commonest colours (page and card backgrounds), there is
        # text and there are charts.
        packed = (pixels[::2, ::2].astype(np.uint32) @ np.array([65536, 256, 1], np.uint32)).ravel()
        _, counts = np.unique(packed, return_counts=True)
        counts.sort()
        assert len(counts) > 50, f"{name}: {len(counts)} colours in the screenshot"
        assert 1 - counts[-2:].sum() / packed.size > 0.01, f"{name}: the screenshot is blank"
        dom = _chromium("--dump-dom", url, profile=tmp_path / "profile").stdout
        for key in page.charts:
            assert f'data-chart="{key}"' in dom, f"{name}: chart {key} not in the DOM"
        source = (report_dir / f"{name}.html").read_text()
        assert dom.count("<svg") == source.count("<svg") > 0, name
