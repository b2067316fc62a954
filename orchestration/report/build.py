"""Build `published/report/`: the pages a person reads, from `published/bi.duckdb` only.

The report reads what BI tools read (the published copy, read-only), so it shows the
same numbers a dashboard would. One page per topic, each section a title, one line on
what it shows, its key numbers and its charts; a chart says what it shows and its
formula, and a mart without rows (an unreliable CLV fit, no experiments) is explained in
words instead of drawn empty. Pages are written to hidden files and renamed into place,
like the rest of `published/`: a reader never sees half a page."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import duckdb

from orchestration.report import charts
from orchestration.report import format as f
from orchestration.report.page import figure, figures, kpi_card, numbers, page, section, table

REPORT_DIR = "report"
STALE_SECONDS = 3600
PERIOD_DAYS = 30
TREND_DAYS = 90
RECENT_COHORTS = 6
STAGES = ("awareness", "consideration", "decision", "purchase", "post_purchase")
MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "time_decay",
    "markov",
)


def _day(value: dt.date | None) -> str:
    return "n/a" if value is None else f"{value.day} {value:%b %Y}"


def _month(value: dt.date) -> str:
    return f"{value:%b %Y}"


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


class Marts:
    """Read-only queries over the schema `marts` of the published copy."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }

    def has(self, table: str) -> bool:
        return table in self.tables

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, list(params))
        names = [column[0] for column in cursor.description]
        return [
            {name: _plain(value) for name, value in zip(names, row, strict=True)}
            for row in cursor.fetchall()
        ]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any]:
        rows = self.rows(sql, params)
        return rows[0] if rows else {}


def not_published(table: str) -> str:
    return (
        f"marts.{table} is not in the published copy (published by an older version of the "
        "pipeline): rerun `journey run` to add it."
    )


@dataclass
class Context:
    marts: Marts
    currency: str
    first_day: dt.date | None
    last_day: dt.date | None

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        """The last 30 reporting days, up to the last day of data (both included)."""
        last = self.last_day or dt.date.today()
        return last - dt.timedelta(days=PERIOD_DAYS - 1), last

    @property
    def previous(self) -> tuple[dt.date, dt.date]:
        start, _ = self.period
        return start - dt.timedelta(days=PERIOD_DAYS), start - dt.timedelta(days=1)

    @property
    def period_text(self) -> str:
        if self.last_day is None:
            return "the last 30 days (no day of data yet)"
        start, end = self.period
        start = max(start, self.first_day or start)
        days = (end - start).days + 1
        return f"the last 30 days ({_day(start)} to {_day(end)}, {days} days of data)"

    def money(self, value: float | None, digits: int | None = None) -> str:
        return f.money(value, self.currency, digits)

    @classmethod
    def load(cls, marts: Marts) -> Context:
        currency = "EUR"
        if marts.has("fct_orders"):
            row = marts.one(
                "select mode(currency) as currency from marts.fct_orders where currency is not null"
            )
            currency = row.get("currency") or currency
        days = marts.one("select min(date) as first, max(date) as last from marts.kpi_daily")
        return cls(marts, currency, days.get("first"), days.get("last"))


# --- Overview: headline KPIs ------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    sql: str  # an aggregate over kpi_daily rows: re-aggregated from numerators/denominators
    formula: str
    kind: str  # number, money, percent, score
    better: str = "up"  # up, down or "" (neither)


KPIS = (
    Kpi("sessions", "Sessions", "sum(sessions)", "sum(sessions)", "number"),
    Kpi("orders", "Orders", "sum(orders)", "sum(orders), non-cancelled", "number"),
    Kpi("net_revenue", "Net revenue", "sum(net_revenue)", "sum(net_revenue)", "money"),
    Kpi(
        "average_order_value",
        "Average order value",
        "sum(net_revenue) / nullif(sum(orders), 0)",
        "net revenue / orders",
        "money",
    ),
    Kpi("new_customers", "New customers", "sum(new_customers)", "first orders", "number"),
    Kpi("ad_spend", "Ad spend", "sum(ad_spend)", "sum(ad_spend)", "money", ""),
    Kpi(
        "blended_cac",
        "Blended CAC",
        "sum(ad_spend) / nullif(sum(new_customers), 0)",
        "ad spend / new customers",
        "money",
        "down",
    ),
    Kpi(
        "session_conversion_rate",
        "Session conversion rate",
        "sum(converting_sessions) / nullif(sum(sessions), 0)",
        "sessions with an order / sessions",
        "percent",
    ),
    Kpi(
        "repeat_purchase_rate",
        "Repeat purchase rate (to date)",
        "arg_max(repeat_customers_to_date, date) "
        "/ nullif(arg_max(customers_with_orders_to_date, date), 0)",
        "buyers with 2+ orders / buyers, on the last day",
        "percent",
    ),
    Kpi(
        "email_open_rate",
        "Email open rate",
        "sum(unique_opens) / nullif(sum(emails_delivered), 0)",
        "opened by a person / delivered (marketing mail)",
        "percent",
    ),
    Kpi(
        "email_click_rate",
        "Email click rate",
        "sum(unique_clicks) / nullif(sum(emails_delivered), 0)",
        "clicked / delivered (marketing mail)",
        "percent",
    ),
    Kpi(
        "nps",
        "NPS",
        "100.0 * (sum(nps_promoters) - sum(nps_detractors)) / nullif(sum(nps_responses), 0)",
        "% promoters (9-10) - % detractors (0-6)",
        "score",
    ),
    Kpi(
        "csat",
        "CSAT",
        "100.0 * sum(csat_satisfied) / nullif(sum(csat_responses), 0)",
        "% of answers 4-5",
        "score",
    ),
)


def kpi_values(ctx: Context, start: dt.date, end: dt.date) -> dict[str, float | None]:
    sql = ", ".join(f"{kpi.sql} as {kpi.key}" for kpi in KPIS)
    return ctx.marts.one(
        f"select {sql} from marts.kpi_daily where date between ? and ?", [start, end]
    )


def _kpi_text(ctx: Context, kpi: Kpi, value: float | None) -> str:
    if kpi.kind == "money":
        return ctx.money(value)
    if kpi.kind == "percent":
        return f.percent(value)
    if kpi.kind == "score":
        return f.score(value) + ("%" if kpi.key == "csat" and value is not None else "")
    return f.number(value)


def overview(ctx: Context) -> list[str]:
    marts = ctx.marts
    if ctx.last_day is None:
        return [
            section(
                "kpis",
                "Headline KPIs",
                "marts.kpi_daily has no days yet: load landing data with `journey run`.",
                figures(figure("kpi-trend", "Daily KPIs", "No days.", "", reason="No data yet.")),
            )
        ]
    current = kpi_values(ctx, *ctx.period)
    previous = kpi_values(ctx, *ctx.previous)
    trend_start = ctx.last_day - dt.timedelta(days=TREND_DAYS - 1)
    daily = marts.rows(
        "select date, "
        + ", ".join(f"{kpi.sql} as {kpi.key}" for kpi in KPIS)
        + ", sum(converting_sessions) as converting_sessions, sum(ad_spend) as spend"
        " from marts.kpi_daily where date >= ? group by date order by date",
        [trend_start],
    )
    cards = []
    for kpi in KPIS:
        value = current.get(kpi.key)
        unit = {"percent": "pp", "score": "points"}.get(kpi.kind, "relative")
        change = f.change(value, previous.get(kpi.key), unit)
        tone = ""
        if change and kpi.better and not change.startswith(("+0.0", f.MINUS + "0.0")):
            rising = change.startswith("+")
            tone = "good" if rising == (kpi.better == "up") else "bad"
        spark = charts.sparkline(
            [row[kpi.key] for row in daily], label=f"{kpi.label}, daily, last {len(daily)} days"
        )
        cards.append(
            kpi_card(
                kpi.key,
                kpi.label,
                value,
                _kpi_text(ctx, kpi, value),
                change,
                tone,
                spark,
                kpi.formula,
            )
        )
    dates = [_day(row["date"])[:-5] for row in daily]
    trend_text = f"Per reporting day, the last {len(daily)} days."
    trend = figures(
        figure(
            "daily-sessions",
            "Sessions per day",
            trend_text,
            "kpi_daily.sessions, converting_sessions",
            charts.line_chart(
                dates,
                [
                    ("sessions", [row["sessions"] for row in daily]),
                    ("with an order", [row["converting_sessions"] for row in daily]),
                ],
                f.number,
                label="Sessions per day",
            ),
        ),
        figure(
            "daily-revenue",
            "Net revenue and ad spend per day",
            trend_text,
            "kpi_daily.net_revenue, ad_spend",
            charts.line_chart(
                dates,
                [
                    ("net revenue", [row["net_revenue"] for row in daily]),
                    ("ad spend", [row["spend"] for row in daily]),
                ],
                ctx.money,
                label="Net revenue and ad spend per day",
            ),
        ),
        figure(
            "daily-customers",
            "Orders and new customers per day",
            trend_text,
            "kpi_daily.orders, new_customers",
            charts.line_chart(
                dates,
                [
                    ("orders", [row["orders"] for row in daily]),
                    ("new customers", [row["new_customers"] for row in daily]),
                ],
                f.number,
                label="Orders and new customers per day",
            ),
        ),
    )
    contents = "".join(
        f'<li><a href="{name}.html">{escape(title)}</a>: {escape(blurb)}</li>'
        for name, title, blurb, _ in PAGES[1:]
    )
    return [
        section(
            "kpis",
            "Headline KPIs",
            f"Totals and rates over {ctx.period_text}, the change against the 30 days before, "
            f"and the daily trend. Rates are re-aggregated: the sum of the numerator over the "
            f"sum of the denominator, never an average of daily rates.",
            f'<div class="cards">{"".join(cards)}</div>',
        ),
        section("trend", "Trend", "The daily figures behind the KPIs.", trend),
        section(
            "contents",
            "In this report",
            "One page per topic; every number comes from published/bi.duckdb (schema marts).",
            f'<ul class="contents">{contents}</ul>',
        ),
    ]


# --- Funnel ------------------------------------------------------------------------------


def _stage_order(stage: str | None) -> tuple[int, str]:
    return (STAGES.index(stage), "") if stage in STAGES else (len(STAGES), str(stage))


def funnel(ctx: Context) -> list[str]:
    marts = ctx.marts
    if not marts.has("kpi_funnel"):
        return [section("funnel", "Funnel by cohort", not_published("kpi_funnel"))]
    rows = marts.rows(
        "select cohort_month, stage, customers_reached, conversion_from_previous, "
        "median_days_from_previous from marts.kpi_funnel order by cohort_month, stage_order"
    )
    lead = (
        "People grouped by the month of their first touch (their acquisition cohort), and how "
        "far they got: awareness → consideration → decision → purchase → post-purchase."
    )
    if not rows:
        return [section("funnel", "Funnel by cohort", "marts.kpi_funnel has no rows yet.")]
    cohorts = sorted({row["cohort_month"] for row in rows})
    recent = cohorts[-RECENT_COHORTS:]
    stages = sorted({row["stage"] for row in rows}, key=_stage_order)
    cell = {(row["cohort_month"], row["stage"]): row for row in rows}

    def value(cohort: dt.date, stage: str, column: str) -> Any:
        return (cell.get((cohort, stage)) or {}).get(column)

    def grid(column: str, stage_list: Sequence[str]) -> list[list[Any]]:
        return [[value(c, s, column) for s in stage_list] for c in recent]

    reached = {s: sum(value(c, s, "customers_reached") or 0 for c in cohorts) for s in stages}
    people = reached.get(stages[0], 0)
    buyers = reached.get("purchase", 0)
    shown = (
        f"the {len(recent)} most recent cohorts" if len(cohorts) > len(recent) else "every cohort"
    )
    later = stages[1:]
    return [
        section(
            "funnel",
            "Funnel by cohort",
            lead,
            numbers(
                [
                    ("funnel-people", "People (all cohorts)", people, f.number(people)),
                    ("funnel-buyers", "Reached purchase", buyers, f.number(buyers)),
                    (
                        "funnel-first-touch-to-purchase",
                        "First touch → purchase",
                        buyers / people if people else None,
                        f.percent(buyers / people if people else None),
                    ),
                ]
            ),
            figures(
                figure(
                    "funnel-reached",
                    "People reaching each stage",
                    f"Per cohort (month of first touch), {shown}.",
                    "kpi_funnel.customers_reached",
                    charts.hbar(
                        [s.replace("_", "-") for s in stages],
                        [
                            (_month(c), [value(c, s, "customers_reached") for s in stages])
                            for c in recent
                        ],
                        f.number,
                        label="People reaching each stage, by cohort",
                    ),
                ),
                figure(
                    "funnel-conversion",
                    "Stage-to-stage conversion",
                    "Of a cohort's people who reached the previous stage, the share who reached "
                    "this one.",
                    "reached this stage / reached the previous one",
                    charts.heatmap(
                        [_month(c) for c in recent],
                        [s.replace("_", "-") for s in later],
                        grid("conversion_from_previous", later),
                        f.percent,
                        label="Stage-to-stage conversion by cohort",
                    ),
                ),
                figure(
                    "funnel-time",
                    "Time between stages",
                    "Median time from entering the previous stage to entering this one, over the "
                    "people who reached this one.",
                    "median(entered_at - previous stage's entered_at)",
                    charts.heatmap(
                        [_month(c) for c in recent],
                        [s.replace("_", "-") for s in later],
                        grid("median_days_from_previous", later),
                        f.duration_days,
                        label="Median time between stages by cohort",
                    ),
                ),
            ),
        )
    ]


# --- Channels and attribution ---------------------------------------------------------


def _model_order(model: str) -> tuple[int, str]:
    return (MODELS.index(model), "") if model in MODELS else (len(MODELS), model)


def channels(ctx: Context) -> list[str]:
    marts = ctx.marts
    if not marts.has("kpi_channel_daily"):
        return [section("channels", "Channel performance", not_published("kpi_channel_daily"))]
    start, end = ctx.period
    rows = marts.rows(
        """
        select channel, sum(sessions) as sessions, sum(converting_sessions) as converting,
            sum(new_customers) as new_customers, sum(ad_spend) as ad_spend,
            sum(ad_spend) / nullif(sum(new_customers), 0) as cac,
            sum(attributed_orders) as attributed_orders,
            sum(attributed_revenue) as attributed_revenue,
            sum(attributed_revenue) / nullif(sum(ad_spend), 0) as roas
        from marts.kpi_channel_daily where date between ? and ?
        group by channel order by sum(sessions) desc, sum(attributed_revenue) desc, channel
        """,
        [start, end],
    )
    paid = [row for row in rows if (row["ad_spend"] or 0) > 0]
    with_sessions = [row for row in rows if row["sessions"]]
    spend = sum(row["ad_spend"] or 0 for row in rows)
    new_customers = sum(row["new_customers"] or 0 for row in rows)
    sessions = sum(row["sessions"] or 0 for row in rows)
    paid_revenue = sum(row["attributed_revenue"] or 0 for row in paid)
    roas = paid_revenue / spend if spend else None

    def bars(key: str, title: str, what: str, formula: str, chosen, column: str, fmt, reason: str):
        svg = (
            charts.hbar(
                [row["channel"] for row in chosen],
                [(title, [row[column] for row in chosen])],
                fmt,
                label=title,
                width=560,
            )
            if chosen
            else None
        )
        return figure(key, title, what, formula, svg, reason)

    no_spend = f"No ad spend in {ctx.period_text}."
    performance = figures(
        bars(
            "channel-sessions",
            "Sessions by channel",
            "Web sessions started in the period, by the channel of their traffic source.",
            "count(sessions)",
            with_sessions,
            "sessions",
            f.number,
            f"No sessions in {ctx.period_text}.",
        ),
        bars(
            "channel-new-customers",
            "New customers by channel",
            "People whose first order fell in the period, by their acquisition channel.",
            "count(first orders)",
            [row for row in rows if row["new_customers"]],
            "new_customers",
            f.number,
            f"No first orders in {ctx.period_text}.",
        ),
        bars(
            "channel-cac",
            "CAC by paid channel",
            "What a new customer cost on each channel with ad spend.",
            "ad spend / new customers",
            paid,
            "cac",
            ctx.money,
            no_spend,
        ),
        bars(
            "channel-roas",
            "ROAS by paid channel",
            "Revenue credited by the default attribution model per unit of ad spend.",
            "attributed revenue / ad spend",
            paid,
            "roas",
            f.ratio,
            no_spend,
        ),
    )
    channel_table = table(
        [
            "channel",
            "sessions",
            "conversion",
            "new customers",
            "ad spend",
            "CAC",
            "attributed orders",
            "attributed revenue",
            "ROAS",
        ],
        [
            [
                row["channel"],
                f.number(row["sessions"]),
                f.percent(row["converting"] / row["sessions"] if row["sessions"] else None),
                f.number(row["new_customers"]),
                ctx.money(row["ad_spend"]),
                ctx.money(row["cac"]) if row["ad_spend"] else "no spend",
                f.number(row["attributed_orders"], 1),
                ctx.money(row["attributed_revenue"]),
                f.ratio(row["roas"]) if row["ad_spend"] else "no spend",
            ]
            for row in rows
        ],
        numeric=range(1, 9),
        caption=f"Every channel, {ctx.period_text} (default attribution model)",
        key="channels",
    )
    parts = [
        section(
            "channels",
            "Channel performance",
            f"Sessions, new customers, CAC and ROAS per channel over {ctx.period_text}. "
            "Attributed revenue is under the default attribution model (dbt var "
            "default_attribution_model, last non-direct unless changed).",
            numbers(
                [
                    ("channels-sessions", "Sessions", sessions, f.number(sessions)),
                    (
                        "channels-new-customers",
                        "New customers",
                        new_customers,
                        f.number(new_customers),
                    ),
                    ("channels-ad-spend", "Ad spend", spend, ctx.money(spend)),
                    ("channels-paid-roas", "ROAS of paid channels", roas, f.ratio(roas)),
                ]
            ),
            performance,
            channel_table,
        ),
        attribution(ctx, {row["channel"]: row["ad_spend"] for row in paid}),
    ]
    if marts.has("kpi_campaign_daily"):
        parts.append(ad_campaigns(ctx))
    return parts


def attribution(ctx: Context, spend: dict[str, float]) -> str:
    marts = ctx.marts
    title = "Attribution models side by side"
    if not marts.has("kpi_attribution_daily"):
        return section("attribution", title, not_published("kpi_attribution_daily"))
    rows = marts.rows(
        "select channel, model, sum(attributed_revenue) as revenue, "
        "sum(attributed_orders) as orders from marts.kpi_attribution_daily "
        "where date between ? and ? group by all",
        list(ctx.period),
    )
    lead = (
        "Who gets the credit for the period's orders under each model: first touch, last touch, "
        "last non-direct, linear, position based (40/20/40), time decay (half-life 7 days) and "
        "the data-driven Markov model (removal effects). Every model shares out the same revenue."
    )
    if not rows:
        return section(
            "attribution",
            title,
            lead,
            figures(
                figure(
                    "attribution-revenue",
                    "Attributed revenue by channel and model",
                    "",
                    "sum(credit * net revenue)",
                    reason=f"No orders in {ctx.period_text}.",
                )
            ),
        )
    models = sorted({row["model"] for row in rows}, key=_model_order)
    revenue = {(row["channel"], row["model"]): row["revenue"] for row in rows}
    total = {c: sum(v for (ch, _), v in revenue.items() if ch == c) for c, _ in revenue}
    channel_list = sorted(total, key=lambda c: (c == "(unattributed)", -total[c]))
    paid = [c for c in channel_list if spend.get(c)]
    roas_figure = figure(
        "attribution-roas",
        "ROAS by model (paid channels)",
        "How each model's credit changes the return on a channel's spend.",
        "attributed revenue (model) / ad spend",
        charts.heatmap(
            paid,
            [m.replace("_", " ") for m in models],
            [[(revenue.get((c, m)) or 0) / spend[c] for m in models] for c in paid],
            f.ratio,
            label="ROAS by channel and attribution model",
        )
        if paid
        else None,
        f"No ad spend in {ctx.period_text}.",
    )
    return section(
        "attribution",
        title,
        lead,
        figures(
            figure(
                "attribution-revenue",
                "Attributed revenue by channel and model",
                f"Revenue of the orders in {ctx.period_text}, credited to channels.",
                "sum(credit * order net revenue)",
                charts.heatmap(
                    channel_list,
                    [m.replace("_", " ") for m in models],
                    [[revenue.get((c, m)) for m in models] for c in channel_list],
                    lambda v: ctx.money(v, 0),
                    label="Attributed revenue by channel and attribution model",
                ),
            ),
            roas_figure,
        ),
    )


def ad_campaigns(ctx: Context) -> str:
    rows = ctx.marts.rows(
        """
        select platform, campaign_name, channel, sum(ad_spend) as spend,
            sum(impressions) as impressions, sum(clicks) as clicks,
            sum(clicks) / nullif(sum(impressions), 0) as ctr,
            sum(ad_spend) / nullif(sum(clicks), 0) as cpc,
            sum(sessions) as sessions, sum(new_customers) as new_customers,
            sum(ad_spend) / nullif(sum(new_customers), 0) as cac,
            sum(attributed_revenue) / nullif(sum(ad_spend), 0) as roas
        from marts.kpi_campaign_daily where date between ? and ?
        group by all order by spend desc nulls last, campaign_name limit 15
        """,
        list(ctx.period),
    )
    lead = (
        f"The 15 ad campaigns with the most spend over {ctx.period_text}: CTR = clicks / "
        "impressions, CPC = spend / clicks, CAC = spend / new customers its sessions acquired, "
        "ROAS = attributed revenue / spend."
    )
    body = (
        table(
            [
                "platform",
                "campaign",
                "channel",
                "spend",
                "impressions",
                "clicks",
                "CTR",
                "CPC",
                "sessions",
                "new customers",
                "CAC",
                "ROAS",
            ],
            [
                [
                    row["platform"],
                    row["campaign_name"] or "",
                    row["channel"] or "",
                    ctx.money(row["spend"]),
                    f.number(row["impressions"]),
                    f.number(row["clicks"]),
                    f.percent(row["ctr"], 2),
                    ctx.money(row["cpc"]),
                    f.number(row["sessions"]),
                    f.number(row["new_customers"]),
                    ctx.money(row["cac"]),
                    f.ratio(row["roas"]),
                ]
                for row in rows
            ],
            numeric=range(3, 12),
            key="ad-campaigns",
        )
        if rows
        else f'<p class="no-data">No ad campaign had spend in {escape(ctx.period_text)}.</p>'
    )
    return section("ad-campaigns", "Ad campaigns", lead, body)


# --- Email --------------------------------------------------------------------------------

RECENT_CAMPAIGNS = 20


def email(ctx: Context) -> list[str]:
    marts = ctx.marts
    title = "Email campaigns"
    if not marts.has("kpi_email_campaigns"):
        return [section("email", title, not_published("kpi_email_campaigns"))]
    rows = marts.rows(
        "select * from marts.kpi_email_campaigns "
        "order by first_sent_at desc nulls last, campaign_id"
    )
    totals = marts.one(
        """
        select count(*) as campaigns, sum(sent) as sent, sum(delivered) as delivered,
            sum(unique_opens) / nullif(sum(delivered), 0) as open_rate,
            sum(unique_clicks) / nullif(sum(delivered), 0) as click_rate,
            sum(unique_clicks) / nullif(sum(unique_opens), 0) as click_to_open_rate,
            sum(bounces) / nullif(sum(sent), 0) as bounce_rate,
            sum(unsubscribes) / nullif(sum(delivered), 0) as unsubscribe_rate,
            sum(attributed_revenue) as attributed_revenue
        from marts.kpi_email_campaigns
        """
    )
    lead = (
        "Every marketing email campaign, over its whole life: how many people opened and "
        "clicked it (machine opens by privacy proxies excluded), and the revenue the default "
        "attribution model credits to its clicks and the visits they opened."
    )
    key_numbers = numbers(
        [
            ("email-campaigns", "Campaigns", totals["campaigns"], f.number(totals["campaigns"])),
            ("email-delivered", "Delivered", totals["delivered"], f.number(totals["delivered"])),
            ("email-open-rate", "Open rate", totals["open_rate"], f.percent(totals["open_rate"])),
            (
                "email-click-rate",
                "Click rate",
                totals["click_rate"],
                f.percent(totals["click_rate"]),
            ),
            (
                "email-attributed-revenue",
                "Attributed revenue",
                totals["attributed_revenue"],
                ctx.money(totals["attributed_revenue"]),
            ),
        ]
    )
    if not rows:
        reason = "No marketing email campaign has sent anything yet."
        return [
            section(
                "email",
                title,
                lead,
                key_numbers,
                figures(
                    figure("email-rates", "Open and click rates", "", "", reason=reason),
                    figure("email-revenue", "Attributed revenue", "", "", reason=reason),
                ),
            )
        ]
    recent = rows[:RECENT_CAMPAIGNS]

    def campaign_label(row: dict[str, Any]) -> str:
        name, day = row["campaign_name"] or row["campaign_id"], row.get("first_sent_date")
        return name if day is None or day.isoformat() in name else f"{name} ({day:%d %b})"

    labels = [campaign_label(row) for row in recent]
    shown = (
        f"The {len(recent)} most recent of {len(rows)} campaigns."
        if len(rows) > len(recent)
        else "Every campaign, most recent first."
    )
    return [
        section(
            "email",
            title,
            lead,
            key_numbers,
            figures(
                figure(
                    "email-rates",
                    "Open and click rates",
                    shown,
                    "unique opens / delivered; unique clicks / delivered",
                    charts.hbar(
                        labels,
                        [
                            ("open rate", [row["open_rate"] for row in recent]),
                            ("click rate", [row["click_rate"] for row in recent]),
                        ],
                        f.percent,
                        label="Open and click rate per campaign",
                        width=620,
                        max_label_chars=44,
                    ),
                ),
                figure(
                    "email-revenue",
                    "Attributed revenue",
                    shown,
                    "sum(credit * order net revenue) on the campaign's touches",
                    charts.hbar(
                        labels,
                        [("attributed revenue", [row["attributed_revenue"] for row in recent])],
                        ctx.money,
                        label="Attributed revenue per campaign",
                        width=620,
                        max_label_chars=44,
                    )
                    if any(row["attributed_revenue"] for row in recent)
                    else None,
                    reason=(
                        "No order is credited to these campaigns yet: none of their clicks, "
                        "nor the visits the clicks opened, led to an order with revenue."
                    ),
                ),
            ),
            table(
                [
                    "campaign",
                    "first sent",
                    "sent",
                    "delivered",
                    "open rate",
                    "click rate",
                    "click-to-open",
                    "bounce rate",
                    "unsubscribe rate",
                    "attributed orders",
                    "attributed revenue",
                ],
                [
                    [
                        row["campaign_name"] or row["campaign_id"],
                        _day(row.get("first_sent_date")),
                        f.number(row["sent"]),
                        f.number(row["delivered"]),
                        f.percent(row["open_rate"]),
                        f.percent(row["click_rate"]),
                        f.percent(row["click_to_open_rate"]),
                        f.percent(row["bounce_rate"]),
                        f.percent(row["unsubscribe_rate"], 2),
                        f.number(row["attributed_orders"], 1),
                        ctx.money(row["attributed_revenue"]),
                    ]
                    for row in rows
                ],
                numeric=range(2, 11),
                caption=(
                    f"All campaigns: open rate {f.percent(totals['open_rate'])}, click-to-open "
                    f"{f.percent(totals['click_to_open_rate'])}, bounce rate "
                    f"{f.percent(totals['bounce_rate'])}, unsubscribe rate "
                    f"{f.percent(totals['unsubscribe_rate'], 2)} (sums of numerators over sums "
                    "of denominators)"
                ),
                key="email-campaigns",
            ),
        )
    ]


# --- Retention and CLV --------------------------------------------------------------------

RECENT_RETENTION_COHORTS = 12
CLV_MODELS = {"bg_nbd": "BG/NBD (purchase frequency)", "gamma_gamma": "Gamma-Gamma (spend)"}
CALIBRATION_BUCKETS = ("0", "1", "2", "3", "4", "5", "6+", "all")


def customers(ctx: Context) -> list[str]:
    return [retention(ctx), predicted_clv(ctx)]


def retention(ctx: Context) -> str:
    marts = ctx.marts
    title = "Cohort retention and the historical CLV curve"
    if not marts.has("kpi_cohort_retention"):
        return section("retention", title, not_published("kpi_cohort_retention"))
    rows = marts.rows(
        "select cohort_month, months_since_first_order as month, cohort_customers, "
        "active_customers, retention_rate, cumulative_net_revenue, "
        "cumulative_revenue_per_customer from marts.kpi_cohort_retention "
        "order by cohort_month, month"
    )
    lead = (
        "Buyers grouped by the month of their first order: the share who ordered again in each "
        "later month, and what the cohort has spent so far per buyer (the empirical lifetime "
        "value)."
    )
    if not rows:
        return section("retention", title, "No orders yet: marts.kpi_cohort_retention is empty.")
    cohorts = sorted({row["cohort_month"] for row in rows})[-RECENT_RETENTION_COHORTS:]
    months = sorted({row["month"] for row in rows if row["cohort_month"] in cohorts})
    cell = {(row["cohort_month"], row["month"]): row for row in rows}
    size = {row["cohort_month"]: row["cohort_customers"] for row in rows if row["month"] == 0}

    def pooled(month: int, numerator: str) -> float | None:
        chosen = [row for row in rows if row["month"] == month]
        customers_ = sum(row["cohort_customers"] for row in chosen)
        return sum(row[numerator] or 0 for row in chosen) / customers_ if customers_ else None

    buyers = sum(size.values())
    month_one = pooled(1, "active_customers")
    value_month = min(3, max(months))
    value = pooled(value_month, "cumulative_net_revenue")
    curve_cohorts = cohorts[-RECENT_COHORTS:]
    return section(
        "retention",
        title,
        lead,
        numbers(
            [
                ("retention-buyers", "Buyers in these cohorts", buyers, f.number(buyers)),
                ("retention-month-1", "Ordered again in month 1", month_one, f.percent(month_one)),
                (
                    "retention-revenue-per-customer",
                    f"Revenue per buyer by month {value_month}",
                    value,
                    ctx.money(value),
                ),
            ]
        ),
        figures(
            figure(
                "retention-heatmap",
                "Retention by cohort",
                "Row: first-order month (buyers); column: months since the first order (M0 is "
                "the first order's month, always 100%).",
                "active customers / cohort customers",
                charts.heatmap(
                    [f"{_month(c)} ({f.number(size.get(c))})" for c in cohorts],
                    [f"M{m}" for m in months],
                    [
                        [(cell.get((c, m)) or {}).get("retention_rate") for m in months]
                        for c in cohorts
                    ],
                    lambda v: f.percent(v, 0),
                    label="Retention by first-order cohort",
                ),
            ),
            figure(
                "clv-curve",
                "Historical CLV curve",
                "Cumulative net revenue per buyer of each cohort, by months since the first order.",
                "cumulative net revenue of the cohort / cohort customers",
                charts.line_chart(
                    [f"M{m}" for m in months],
                    [
                        (
                            _month(c),
                            [
                                (cell.get((c, m)) or {}).get("cumulative_revenue_per_customer")
                                for m in months
                            ],
                        )
                        for c in curve_cohorts
                    ],
                    ctx.money,
                    label="Cumulative revenue per buyer by cohort",
                    tick_fmt=lambda v: ctx.money(v, 0),
                ),
            ),
        ),
    )


def _fit_reason(status: dict[str, dict[str, Any]]) -> str:
    notes = [
        f"{CLV_MODELS.get(model, model)}: {row.get('fit_note') or 'unreliable'}"
        for model, row in status.items()
        if row.get("fit_status") != "ok"
    ]
    return "Not predicted, because the models would be guessing. " + " ".join(
        note.rstrip(".") + "." for note in notes
    )


def predicted_clv(ctx: Context) -> str:
    marts = ctx.marts
    title = "Predicted CLV (12 months) and its calibration"
    lead = (
        "For each buyer, the purchases expected in the next 365 days (BG/NBD) times the spend "
        "expected per purchase (Gamma-Gamma), fitted on this data; and a check of how well the "
        "models predicted history they did not see."
    )
    if not marts.has("fct_clv_parameters") or not marts.has("fct_customer_clv"):
        return section("clv", title, not_published("fct_clv_parameters"))
    parameters = marts.rows("select * from marts.fct_clv_parameters order by model, parameter")
    status: dict[str, dict[str, Any]] = {}
    for row in parameters:
        status.setdefault(row["model"], row)
    values = [
        v
        for (v,) in marts.con.execute(
            "select predicted_clv_12m from marts.fct_customer_clv "
            "where predicted_clv_12m is not null order by 1"
        ).fetchall()
    ]
    summary = marts.one(
        "select count(*) as buyers, count(predicted_clv_12m) as predicted, "
        "avg(predicted_clv_12m) as mean_clv, sum(predicted_clv_12m) as total_clv, "
        "median(probability_alive) as median_alive from marts.fct_customer_clv"
    )
    if not parameters:
        reason = "The CLV models were not fitted: there are no buyers yet."
    elif not values:
        reason = _fit_reason(status)
    else:
        reason = None
    histogram = None
    if values:
        upper = charts.nice_ceiling(values[int(0.99 * (len(values) - 1))])
        step = upper / 8
        counts = [0] * 9
        for v in values:
            counts[min(int(v // step), 8) if v >= 0 else 0] += 1
        labels = [
            f"{ctx.money(i * step, 0)} to {ctx.money((i + 1) * step, 0)}" for i in range(8)
        ] + [f"{ctx.money(upper, 0)} or more"]
        histogram = charts.hbar(
            labels, [("buyers", counts)], f.number, label="Buyers by predicted 12-month CLV"
        )
    parameter_table = table(
        ["model", "status", "people fitted", "parameters", "why"],
        [
            [
                CLV_MODELS.get(model, model),
                row.get("fit_status") or "",
                f.number(row.get("customers_fitted")),
                ", ".join(
                    f"{p['parameter']} = {p['value']:.4g}"
                    for p in parameters
                    if p["model"] == model and p["value"] is not None
                ),
                row.get("fit_note") or "",
            ]
            for model, row in status.items()
        ],
        numeric=[2],
        caption="The fitted models (marts.fct_clv_parameters; alpha in days)",
        key="clv-parameters",
    )
    return section(
        "clv",
        title,
        lead,
        numbers(
            [
                ("clv-buyers", "Buyers", summary.get("buyers"), f.number(summary.get("buyers"))),
                (
                    "clv-mean",
                    "Mean predicted CLV",
                    summary.get("mean_clv"),
                    ctx.money(summary.get("mean_clv")),
                ),
                (
                    "clv-total",
                    "Predicted revenue, next 12 months",
                    summary.get("total_clv"),
                    ctx.money(summary.get("total_clv")),
                ),
                (
                    "clv-alive",
                    "Median probability still a customer",
                    summary.get("median_alive"),
                    f.percent(summary.get("median_alive")),
                ),
            ]
        ),
        figures(
            figure(
                "clv-distribution",
                "Predicted 12-month CLV",
                "Buyers by their predicted value over the next 365 days (undiscounted).",
                "expected purchases (BG/NBD) * expected order value (Gamma-Gamma)",
                histogram,
                reason,
            ),
            calibration(ctx),
        ),
        parameter_table,
    )


def calibration(ctx: Context) -> str:
    marts = ctx.marts
    title = "Calibration: predicted vs actual purchases in the holdout"
    what = (
        "The models refitted without the last quarter of the history; for the people who "
        "had bought before it, by how often, the mean purchases predicted for that quarter "
        "and the mean made."
    )
    formula = "mean predicted vs mean actual holdout purchases per person"
    if not marts.has("fct_clv_calibration"):
        return figure(
            "clv-calibration", title, what, formula, reason=not_published("fct_clv_calibration")
        )
    rows = marts.rows("select * from marts.fct_clv_calibration")
    if not rows:
        days = marts.one("select count(*) as days from marts.kpi_daily")["days"]
        return figure(
            "clv-calibration",
            title,
            what,
            formula,
            reason=(
                "Not computed: the check holds out the last quarter of the history, at least 30 "
                f"days, so it needs about 120 days of data; this warehouse has {days}."
            ),
        )
    rows.sort(
        key=lambda r: (
            CALIBRATION_BUCKETS.index(r["frequency_in_calibration"])
            if r["frequency_in_calibration"] in CALIBRATION_BUCKETS
            else 99
        )
    )
    labels = [
        "everyone"
        if r["frequency_in_calibration"] == "all"
        else f"{r['frequency_in_calibration']} repeat"
        for r in rows
    ]
    first = rows[0]
    notes = {r.get("fit_note") for r in rows if r.get("fit_status") not in (None, "ok")} - {None}
    svg = charts.hbar(
        [f"{label} ({f.number(r['customers'])})" for label, r in zip(labels, rows, strict=True)],
        [
            ("predicted", [r["mean_predicted_holdout_purchases"] for r in rows]),
            ("actual", [r["mean_actual_holdout_purchases"] for r in rows]),
        ],
        lambda v: f.number(v, 2),
        label="Predicted and actual holdout purchases",
        width=600,
    )
    what += (
        f" Calibration {f.number(first['calibration_days'])} days, holdout "
        f"{f.number(first['holdout_days'])} days."
        + (f" Not trustworthy: {' '.join(sorted(notes))}" if notes else "")
    )
    return figure("clv-calibration", title, what, formula, svg)


# --- Support ------------------------------------------------------------------------------


def support(ctx: Context) -> list[str]:
    marts = ctx.marts
    title = "Support pain points by stage"
    if not marts.has("kpi_support"):
        return [section("support", title, not_published("kpi_support"))]
    rows = marts.rows(
        "select coalesce(journey_stage, '(none)') as stage, category, sum(tickets) as tickets, "
        "sum(closed_tickets) as closed, sum(csat_satisfied) as satisfied, "
        "sum(csat_responses) as responses from marts.kpi_support group by all"
    )
    lead = (
        "Support tickets by the journey stage the person was in when they wrote, and what about: "
        "where in the journey people struggle, and with what. All months."
    )
    totals = marts.one(
        "select sum(tickets) as tickets, sum(closed_tickets) as closed, "
        "100.0 * sum(csat_satisfied) / nullif(sum(csat_responses), 0) as csat "
        "from marts.kpi_support"
    )
    key_numbers = numbers(
        [
            ("support-tickets", "Tickets", totals.get("tickets"), f.number(totals.get("tickets"))),
            ("support-closed", "Closed", totals.get("closed"), f.number(totals.get("closed"))),
            (
                "support-csat",
                "CSAT after support",
                totals.get("csat"),
                f.score(totals.get("csat")) + ("%" if totals.get("csat") is not None else ""),
            ),
        ]
    )
    if not rows:
        return [
            section(
                "support",
                title,
                lead,
                key_numbers,
                figures(
                    figure(
                        "support-heatmap",
                        "Tickets by stage and category",
                        "",
                        "count(tickets)",
                        reason="No support tickets yet.",
                    )
                ),
            )
        ]
    stages = sorted({row["stage"] for row in rows}, key=_stage_order)
    categories = sorted(
        {row["category"] for row in rows},
        key=lambda c: -sum(r["tickets"] for r in rows if r["category"] == c),
    )
    count = {(row["stage"], row["category"]): row["tickets"] for row in rows}
    by_stage = [sum(count.get((s, c)) or 0 for c in categories) for s in stages]
    latest = marts.rows(
        "select month, category, coalesce(journey_stage, '(none)') as stage, tickets, "
        "closed_tickets, median_resolution_hours, csat from marts.kpi_support "
        "where month = (select max(month) from marts.kpi_support) order by tickets desc, category"
    )
    return [
        section(
            "support",
            title,
            lead,
            key_numbers,
            figures(
                figure(
                    "support-heatmap",
                    "Tickets by stage and category",
                    "Darker is more tickets.",
                    "count(tickets)",
                    charts.heatmap(
                        [s.replace("_", "-") for s in stages],
                        categories,
                        [[count.get((s, c)) for c in categories] for s in stages],
                        f.number,
                        label="Support tickets by journey stage and category",
                    ),
                ),
                figure(
                    "support-stages",
                    "Tickets by stage",
                    "Every category together.",
                    "count(tickets)",
                    charts.hbar(
                        [s.replace("_", "-") for s in stages],
                        [("tickets", by_stage)],
                        f.number,
                        label="Support tickets by journey stage",
                        width=480,
                    ),
                ),
            ),
            table(
                ["category", "stage", "tickets", "closed", "median resolution", "CSAT"],
                [
                    [
                        row["category"],
                        row["stage"].replace("_", "-"),
                        f.number(row["tickets"]),
                        f.number(row["closed_tickets"]),
                        f.hours(row["median_resolution_hours"]),
                        f.score(row["csat"]) + ("%" if row["csat"] is not None else ""),
                    ]
                    for row in latest
                ],
                numeric=[2, 3, 4, 5],
                caption=(
                    f"{_month(latest[0]['month'])}: median resolution = median(closed_at - "
                    "created_at) of closed tickets; CSAT = % of support surveys 4-5"
                ),
                key="support-latest",
            ),
        )
    ]


# --- Audiences and experiments ------------------------------------------------------------


def audiences_and_experiments(ctx: Context) -> list[str]:
    return [audiences(ctx), *experiments(ctx)]


def audiences(ctx: Context) -> str:
    marts = ctx.marts
    title = "Audiences"
    if not marts.has("dim_audiences"):
        return section("audiences", title, not_published("dim_audiences"))
    rows = marts.rows("select * from marts.dim_audiences order by purpose, audience")
    lead = (
        "The lists sent to marketing automation and ad platforms (published/audiences/"
        "<audience>.csv), as of the last day of data; only identified people who opted in and "
        "did not unsubscribe are in a list for sending."
    )
    sendable = sum(row["members"] or 0 for row in rows if row["purpose"] == "send")
    chart = (
        charts.hbar(
            [f"{row['audience']} ({row['purpose']})" for row in rows],
            [("members", [row["members"] for row in rows])],
            f.number,
            label="Members per audience",
        )
        if rows
        else None
    )
    return section(
        "audiences",
        title,
        lead,
        numbers(
            [
                ("audiences-count", "Audiences", len(rows), f.number(len(rows))),
                (
                    "audiences-send-members",
                    "People in lists for sending",
                    sendable,
                    f.number(sendable),
                ),
            ]
        ),
        figures(
            figure(
                "audience-sizes",
                "Audience sizes",
                "People in each audience today; a suppression list is excluded from sends.",
                "count(members)",
                chart,
                "No audience is defined (seeds/personalisation/audiences.csv is empty).",
            )
        ),
        table(
            ["audience", "purpose", "members", "with email", "rule"],
            [
                [
                    row["audience"],
                    row["purpose"],
                    f.number(row["members"]),
                    f.number(row.get("members_with_email")),
                    row.get("description") or "",
                ]
                for row in rows
            ],
            numeric=[2, 3],
            key="audiences",
        ),
    )


def _verdict(row: dict[str, Any]) -> str:
    if row["is_control"]:
        return "control"
    if row["srm_p_value"] is not None and row["srm_p_value"] < 0.001:
        return "sample-ratio mismatch: do not trust"
    if row["is_significant"]:
        return f"significant ({f.percent(row['conversion_lift'])} lift)"
    return "not significant"


def _points(value: float | None) -> str:
    return f.NA if value is None else f"{100 * value:+.1f} pp".replace("-", f.MINUS)


def experiments(ctx: Context) -> list[str]:
    marts = ctx.marts
    title = "Experiments"
    if not marts.has("kpi_experiments"):
        return [section("experiments", title, not_published("kpi_experiments"))]
    rows = marts.rows(
        "select * from marts.kpi_experiments order by experiment_id, is_control desc, variation_id"
    )
    lead = (
        "A/B tests read from `Experiment Viewed` events: per variation, the people exposed and "
        "the share who ordered within 14 days, the difference to the control with its 95% "
        "interval, and the checks (p-values, sample-ratio mismatch). People who saw more than "
        "one variation are left out."
    )
    if not rows:
        return [
            section(
                "experiments",
                title,
                lead,
                figures(
                    figure(
                        "experiments",
                        "Conversion by variation",
                        "",
                        "converted / exposed",
                        reason="No experiment exposures in the data: no `Experiment Viewed` "
                        "events were tracked.",
                    )
                ),
            )
        ]
    parts = []
    for experiment_id in dict.fromkeys(row["experiment_id"] for row in rows):
        chosen = [row for row in rows if row["experiment_id"] == experiment_id]
        name = chosen[0]["experiment_name"] or experiment_id
        labels = [f"{row['variation_name'] or row['variation_id']}" for row in chosen]
        control = next((row for row in chosen if row["is_control"]), None)
        last_exposure = max((row["last_exposure_at"] for row in chosen), default=None)
        open_window = (
            ctx.last_day is not None
            and last_exposure is not None
            and last_exposure.date() > ctx.last_day - dt.timedelta(days=14)
        )
        note = (
            " Still collecting: people exposed in the last 14 days may yet convert."
            if open_window
            else ""
        )
        key = "experiment-" + "".join(ch if ch.isalnum() else "-" for ch in experiment_id)
        parts.append(
            section(
                key,
                f"Experiment: {name}",
                f"{f.number(sum(r['exposed_customers'] for r in chosen))} people exposed, "
                f"{f.number(chosen[0]['multiple_exposures'])} left out for seeing several "
                f"variations; SRM p-value {f.p_value(chosen[0]['srm_p_value'])}.{note}",
                figures(
                    figure(
                        f"{key}-conversion",
                        "Conversion by variation",
                        "The share of the people exposed who ordered within 14 days.",
                        "converted / exposed",
                        charts.hbar(
                            [
                                f"{label} ({f.number(r['exposed_customers'])})"
                                for label, r in zip(labels, chosen, strict=True)
                            ],
                            [("conversion rate", [r["conversion_rate"] for r in chosen])],
                            lambda v: f.percent(v, 2),
                            label=f"Conversion by variation, {name}",
                            width=520,
                        ),
                    ),
                    figure(
                        f"{key}-difference",
                        "Difference to the control",
                        "The conversion difference to the control with its 95% interval "
                        "(unpooled standard error); an interval crossing 0 is no evidence.",
                        "rate - control rate +/- 1.96 * SE",
                        charts.interval_chart(
                            labels,
                            [
                                None
                                if r["is_control"] or control is None
                                else r["conversion_rate"] - control["conversion_rate"]
                                for r in chosen
                            ],
                            [r["conversion_diff_ci_low"] for r in chosen],
                            [r["conversion_diff_ci_high"] for r in chosen],
                            _points,
                            label=f"Difference to the control, {name}",
                            baseline_text="control",
                            width=560,
                        ),
                    ),
                ),
                table(
                    [
                        "variation",
                        "exposed",
                        "converted",
                        "conversion",
                        "lift",
                        "95% interval",
                        "p-value",
                        "revenue per person",
                        "revenue p-value",
                        "read-out",
                    ],
                    [
                        [
                            label,
                            f.number(r["exposed_customers"]),
                            f.number(r["converted_customers"]),
                            f.percent(r["conversion_rate"], 2),
                            f.percent(r["conversion_lift"]) if not r["is_control"] else "",
                            ""
                            if r["is_control"]
                            else f"{_points(r['conversion_diff_ci_low'])} to "
                            f"{_points(r['conversion_diff_ci_high'])}",
                            "" if r["is_control"] else f.p_value(r["conversion_p_value"]),
                            ctx.money(r["revenue_per_customer"]),
                            "" if r["is_control"] else f.p_value(r["revenue_p_value"]),
                            _verdict(r),
                        ]
                        for label, r in zip(labels, chosen, strict=True)
                    ],
                    numeric=range(1, 9),
                    key=key,
                ),
            )
        )
    return parts


# --- Run health ---------------------------------------------------------------------------


def health(ctx: Context) -> list[str]:
    marts = ctx.marts
    title = "Run health"
    if not marts.has("fct_run_health"):
        return [section("health", title, not_published("fct_run_health"))]
    runs = marts.rows(
        "select run_id, any_value(partition_start) as partition_start, "
        "any_value(partition_end) as partition_end, max(measured_at) as measured_at, "
        "any_value(dbt_tests_passed) as passed, any_value(dbt_tests_warned) as warned, "
        "any_value(dbt_tests_failed) as failed, any_value(stitch_rate) as stitch_rate, "
        "any_value(unassigned_session_share) as unassigned, "
        "any_value(late_event_share) as late, sum(records_read) as records_read, "
        "sum(records_rejected) as records_rejected "
        "from marts.fct_run_health group by run_id order by measured_at"
    )
    lead = (
        "How the run that built these numbers went: records loaded and rejected per landing "
        "entity, dbt tests, identity stitching and landing freshness (marts.fct_run_health; "
        "how to read it: docs/operations.md)."
    )
    if not runs:
        return [section("health", title, "marts.fct_run_health has no runs yet.")]
    run = runs[-1]
    entities = marts.rows(
        "select source, entity, files, records_read, records_loaded, records_rejected, "
        "rejected_share, freshness_status, newest_landing_day from marts.fct_run_health "
        "where run_id = ? order by source, entity",
        [run["run_id"]],
    )
    rejected = run["records_rejected"] / run["records_read"] if run["records_read"] else None
    history = (
        charts.line_chart(
            [_day(r["measured_at"].date())[:-5] for r in runs],
            [
                ("stitch rate", [r["stitch_rate"] for r in runs]),
                ("Unassigned share", [r["unassigned"] for r in runs]),
                ("late events", [r["late"] for r in runs]),
            ],
            f.percent,
            label="Run-level health over runs",
            tick_fmt=lambda v: f.percent(v, 0),
        )
        if len(runs) > 1
        else None
    )
    return [
        section(
            "health",
            title,
            lead,
            numbers(
                [
                    (
                        "health-window",
                        "Landing days of the latest run",
                        None,
                        f"{_day(run['partition_start'])} to {_day(run['partition_end'])}",
                    ),
                    (
                        "health-tests-passed",
                        "dbt tests passed",
                        run["passed"],
                        f.number(run["passed"]),
                    ),
                    (
                        "health-tests-not-passed",
                        "warned / failed",
                        (run["warned"] or 0) + (run["failed"] or 0),
                        f"{f.number(run['warned'])} / {f.number(run['failed'])}",
                    ),
                    ("health-rejected", "Records rejected", rejected, f.percent(rejected, 2)),
                    (
                        "health-stitch-rate",
                        "Sessions identified",
                        run["stitch_rate"],
                        f.percent(run["stitch_rate"]),
                    ),
                ]
            ),
            figures(
                figure(
                    "health-rejected",
                    "Records rejected per landing entity",
                    "Malformed records kept aside in raw.rejected_records, latest run.",
                    "records rejected / records read",
                    charts.hbar(
                        [f"{r['source']}/{r['entity']}" for r in entities],
                        [("rejected share", [r["rejected_share"] for r in entities])],
                        lambda v: f.percent(v, 2),
                        label="Rejected share per landing entity",
                        width=520,
                    ),
                ),
                figure(
                    "health-history",
                    "Stitching, Unassigned traffic and late data, per run",
                    "Run-level shares of the sessions and web events of each run's window.",
                    "identified sessions / sessions; Unassigned / sessions; late / web events",
                    history,
                    "One run so far: the trend appears from the second run.",
                ),
            ),
            table(
                [
                    "source / entity",
                    "files",
                    "records read",
                    "loaded",
                    "rejected",
                    "rejected share",
                    "freshness",
                    "newest landing day",
                ],
                [
                    [
                        f"{r['source']}/{r['entity']}",
                        f.number(r["files"]),
                        f.number(r["records_read"]),
                        f.number(r["records_loaded"]),
                        f.number(r["records_rejected"]),
                        f.percent(r["rejected_share"], 2),
                        r["freshness_status"] or "",
                        _day(r["newest_landing_day"]),
                    ]
                    for r in entities
                ],
                numeric=range(1, 6),
                caption=(
                    f"Latest run {run['run_id']}, measured {run['measured_at']:%Y-%m-%d %H:%M} UTC"
                ),
                key="health-entities",
            ),
        )
    ]


# --- The report ---------------------------------------------------------------------------

PAGES: tuple[tuple[str, str, str, Callable[[Context], list[str]]], ...] = (
    ("index", "Overview", "headline KPIs and their trend", overview),
    (
        "funnel",
        "Funnel",
        "the funnel by acquisition cohort, stage-to-stage conversion and time between stages",
        funnel,
    ),
    (
        "channels",
        "Channels",
        "sessions, new customers, CAC and ROAS per channel, attribution models side by side, "
        "ad campaigns",
        channels,
    ),
    ("email", "Email", "email campaigns: rates and attributed revenue", email),
    (
        "customers",
        "Retention & CLV",
        "cohort retention, the historical CLV curve, predicted CLV and its calibration",
        customers,
    ),
    ("support", "Support", "support pain points by journey stage", support),
    (
        "audiences",
        "Audiences & experiments",
        "audience sizes and A/B test read-outs",
        audiences_and_experiments,
    ),
    ("health", "Run health", "how the latest run went: rejected records, tests, stitching", health),
)


def render(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """Every page of the report, by file stem, from a connection to the published copy."""
    ctx = Context.load(Marts(con))
    built = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = (
        f"Data from {_day(ctx.first_day)} to {_day(ctx.last_day)} · amounts in {ctx.currency} · "
        f"built {built} from published/bi.duckdb"
    )
    footer = (
        "Every figure is computed from the published, read-only copy of the marts "
        f"({escape(source)}, schema marts), the same tables BI tools read; their definitions "
        "are the column descriptions in that file (duckdb_columns()). Rebuild with "
        "<code>journey report</code>."
    )
    nav = [(name, title) for name, title, _, _ in PAGES]
    return {
        name: page(
            title=title, pages=nav, current=name, meta=meta, footer=footer, sections=builder(ctx)
        )
        for name, title, _, builder in PAGES
    }


def build_report(published_dir: Path) -> Path:
    """Write `published_dir/report/*.html` from `published_dir/bi.duckdb`; returns the path
    of `index.html`. Each page is written to a hidden file, then renamed into place."""
    published_dir = Path(published_dir)
    database = published_dir / "bi.duckdb"
    if not database.is_file():
        raise FileNotFoundError(f"{database} does not exist: run `journey run` first")
    con = duckdb.connect(str(database), read_only=True)
    try:
        pages = render(con, str(database))
    finally:
        con.close()
    out = published_dir / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    # Pages staged by a build that died; a build running now (`journey report` during a
    # publish) keeps its own, younger ones.
    for leftover in out.glob(".*.html"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()
    token = uuid.uuid4().hex
    staged = []
    for name, html in pages.items():
        path = out / f".{name}-{token}.html"
        path.write_text(html, encoding="utf-8")
        staged.append((path, out / f"{name}.html"))
    # The index last: once it is in place, every page it links to is too.
    for path, final in sorted(staged, key=lambda pair: pair[1].name == "index.html"):
        os.replace(path, final)
    for stale in out.glob("*.html"):
        if stale.stem not in pages:
            stale.unlink()
    return out / "index.html"
