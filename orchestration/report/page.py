"""The HTML around the charts: pages, sections, figures, key numbers, tables, KPI cards.

Everything is inline (CSS in the page, charts as SVG), so a page opens offline, from a
file, in any browser, and prints. Stable hooks for tests and scrapers: every section has
`data-section`, every chart `data-chart` (with `data-drawn="yes"` and an `<svg>`, or
`data-drawn="no"` and the reason in words), every key number `data-figure` and its
unrounded `data-value`."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

CSS = """
:root { color-scheme: light; --ink: #222; --muted: #666; --line: #e3e3e3; --accent: #4e79a7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
  sans-serif; color: var(--ink); background: #f6f7f9; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 14px 28px 0; }
header h1 { margin: 0; font-size: 20px; }
header .meta { color: var(--muted); margin: 2px 0 10px; }
nav a { display: inline-block; padding: 6px 12px; margin-right: 2px; color: var(--accent);
  text-decoration: none; border-bottom: 3px solid transparent; }
nav a.current { color: var(--ink); border-bottom-color: var(--accent); font-weight: 600; }
main { padding: 8px 28px 40px; max-width: 1400px; }
section { margin-top: 22px; }
section > h2 { font-size: 18px; margin: 0 0 2px; }
section > p.lead { margin: 0 0 12px; color: var(--muted); max-width: 980px; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px;
  padding: 12px 16px; max-width: 100%; }
figure.chart h3 { font-size: 14px; margin: 0; }
figure.chart p.what { margin: 2px 0 8px; color: var(--muted); font-size: 12.5px; max-width: 560px; }
.formula { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 11.5px;
  color: #444; background: #f1f3f5; padding: 0 4px; border-radius: 3px; }
svg.chart-svg { display: block; max-width: 100%; height: auto;
  font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 12px; }
p.no-data { margin: 6px 0 2px; padding: 10px 12px; max-width: 600px; background: #fff8e6;
  border-left: 3px solid #edc948; }
dl.numbers { display: flex; flex-wrap: wrap; gap: 10px; margin: 0 0 14px; }
dl.numbers div { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 14px; min-width: 150px; }
dl.numbers dt { color: var(--muted); font-size: 12px; }
dl.numbers dd { margin: 0; font-size: 20px; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px;
  display: grid; grid-template-columns: 1fr auto; column-gap: 10px; }
.card h3 { margin: 0; font-size: 13px; color: var(--muted); font-weight: 500; grid-column: 1 / -1; }
.card .value { font-size: 24px; font-weight: 650; }
.card .change { font-size: 12.5px; color: var(--muted); }
.card .change.good { color: #2e7d32; } .card .change.bad { color: #c62828; }
.card .spark { grid-row: 2 / 4; grid-column: 2; align-self: center; }
.card .formula { grid-column: 1 / -1; justify-self: start; margin-top: 4px; }
table.data { border-collapse: collapse; background: #fff; border: 1px solid var(--line);
  font-size: 12.5px; margin: 4px 0 10px; }
table.data caption { text-align: left; font-weight: 600; padding: 6px 0; }
table.data th, table.data td { padding: 4px 10px; border-bottom: 1px solid var(--line);
  text-align: left; vertical-align: top; }
table.data th { background: #f1f3f5; font-weight: 600; }
table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.contents li { margin: 3px 0; }
footer { color: var(--muted); padding: 0 28px 24px; font-size: 12px; }
"""


def attribute(value: float | int | str | None) -> str:
    """An unrounded value for `data-value`: empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return escape(str(value))


def page(
    *,
    title: str,
    pages: Sequence[tuple[str, str]],
    current: str,
    meta: str,
    footer: str,
    sections: Sequence[str],
) -> str:
    links = "".join(
        f'<a href="{name}.html"{" class=current" if name == current else ""}>{escape(label)}</a>'
        for name, label in pages
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Journey report</title><style>{CSS}</style></head>"
        f'<body data-page="{escape(current)}"><header><h1>Journey report · {escape(title)}</h1>'
        f'<p class="meta">{meta}</p><nav>{links}</nav></header><main>'
        + "\n".join(sections)
        + f"</main><footer>{footer}</footer></body></html>\n"
    )


def section(key: str, title: str, lead: str, *parts: str) -> str:
    """A topic: its title, one line saying what it shows, then numbers, figures, tables."""
    return (
        f'<section id="{key}" data-section="{key}"><h2>{escape(title)}</h2>'
        f'<p class="lead">{escape(lead)}</p>{"".join(parts)}</section>'
    )


def figures(*items: str) -> str:
    return f'<div class="figures">{"".join(items)}</div>'


def figure(
    key: str,
    title: str,
    what: str,
    formula: str,
    svg: str | None = None,
    reason: str | None = None,
) -> str:
    """A chart with its title and one line saying what it shows and its formula; without
    data, the reason in words instead of an empty chart."""
    if svg is None and not reason:
        raise ValueError(f"chart {key}: neither a chart nor the reason why there is none")
    body = svg if svg is not None else f'<p class="no-data">{escape(reason or "")}</p>'
    return (
        f'<figure class="chart" id="chart-{key}" data-chart="{key}" '
        f'data-drawn="{"yes" if svg is not None else "no"}"><figcaption>'
        f'<h3>{escape(title)}</h3><p class="what">{escape(what)} '
        f'<span class="formula">{escape(formula)}</span></p></figcaption>{body}</figure>'
    )


def numbers(items: Sequence[tuple[str, str, float | int | str | None, str]]) -> str:
    """Key numbers: (key, label, unrounded value, the value as a person reads it)."""
    cells = "".join(
        f'<div><dt>{escape(label)}</dt><dd id="figure-{key}" data-figure="{key}" '
        f'data-value="{attribute(value)}">{escape(text)}</dd></div>'
        for key, label, value, text in items
    )
    return f'<dl class="numbers">{cells}</dl>'


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    caption: str = "",
    key: str = "",
) -> str:
    def cell(tag: str, index: int, text: str) -> str:
        align = ' class="num"' if index in numeric else ""
        return f"<{tag}{align}>{escape(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, text) for i, text in enumerate(row)) + "</tr>"
        for row in rows
    )
    caption_html = f"<caption>{escape(caption)}</caption>" if caption else ""
    data_key = f' data-table="{key}"' if key else ""
    return (
        f'<table class="data"{data_key}>{caption_html}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def kpi_card(
    key: str,
    label: str,
    value: float | None,
    text: str,
    change: str | None,
    tone: str,
    spark: str,
    formula: str,
) -> str:
    """A headline KPI: its value over the period, the change against the period before
    (tone `good`, `bad` or empty), its daily trend and its formula."""
    change_text = f"{change} vs the 30 days before" if change else "no earlier 30 days to compare"
    return (
        f'<div class="card" data-kpi="{key}"><h3>{escape(label)}</h3>'
        f'<div class="value" id="figure-kpi-{key}" data-figure="kpi-{key}" '
        f'data-value="{attribute(value)}">{escape(text)}</div>'
        f'<div class="spark">{spark}</div>'
        f'<div class="change {tone}">{escape(change_text)}</div>'
        f'<span class="formula">{escape(formula)}</span></div>'
    )
