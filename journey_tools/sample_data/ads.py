"""Ad platforms' daily spend reports, consistent with the paid visits they bring."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import journeys as jr
from journey_tools.sample_data.crm import CsvRows
from journey_tools.sample_data.text import Clock, int_text, money_text, strings, take

# How many later daily files restate a day's figures, per platform.
RESTATED_DAYS = {"google_ads": 2, "meta_ads": 1, "microsoft_ads": 1}


def spend_rows(rng: np.random.Generator, sessions: jr.Sessions, clock: Clock, days: int) -> CsvRows:
    ads = cat.AD_CAMPAIGNS
    n_ads = len(ads)
    ad_of_traffic = np.array([t.ad_campaign for t in cat.TRAFFIC] + [-1])
    traffic = np.minimum(sessions.traffic, len(cat.TRAFFIC))
    ad = ad_of_traffic[traffic]
    day = clock.date_of(sessions.start)
    paid = (ad >= 0) & (day >= 0) & (day < days)
    visits = np.bincount(ad[paid] * days + day[paid], minlength=n_ads * days).reshape(n_ads, days)
    ctr = np.array([a.ctr for a in ads])[:, None]
    cpc = np.array([a.cpc_cents for a in ads])[:, None]
    # Platforms count more clicks than sessions arrive (bounces before the tag fires).
    clicks = visits + rng.binomial(visits, 0.12) + rng.poisson(0.3, visits.shape)
    impressions = np.maximum(
        (clicks / ctr * rng.lognormal(0, 0.15, visits.shape)).astype(np.int64)
        + rng.poisson(40, visits.shape),
        clicks,
    )
    spend = (clicks * cpc * rng.lognormal(0, 0.2, visits.shape)).astype(np.int64)
    spend += (impressions * 0.2).astype(np.int64)  # some CPM cost
    conversions = rng.binomial(clicks, 0.03)

    rows_ad, rows_date, rows_dt, rows_imp, rows_clk, rows_sp, rows_cv = ([] for _ in range(7))
    platforms = [a.platform for a in ads]
    for a in range(n_ads):
        restate = RESTATED_DAYS.get(platforms[a], 0)
        for lag in range(restate + 1):
            d = np.arange(days)
            dt = d + lag
            ok = dt < days
            d = d[ok]
            # preliminary figures are a share of the final ones
            f = rng.uniform(0.8, 0.97, d.size) if lag < restate else np.ones(d.size)
            imp = (impressions[a, d] * f).astype(np.int64)
            clk = np.minimum((clicks[a, d] * f).astype(np.int64), imp)
            rows_ad.append(np.full(d.size, a))
            rows_date.append(d)
            rows_dt.append(dt[ok])
            rows_imp.append(imp)
            rows_clk.append(clk)
            rows_sp.append((spend[a, d] * f).astype(np.int64))
            rows_cv.append((conversions[a, d] * f).astype(np.int64))
    a_idx = np.concatenate(rows_ad)
    date = np.concatenate(rows_date)
    dt = np.concatenate(rows_dt)
    order = np.lexsort((a_idx, date, dt))
    a_idx, date, dt = a_idx[order], date[order], dt[order]
    imp, clk, sp = (np.concatenate(x)[order] for x in (rows_imp, rows_clk, rows_sp))
    cv = np.concatenate(rows_cv)[order]

    def col(values: list[str]) -> pa.Array:
        return take(strings(values), a_idx)

    day_text = take(strings([clock.day(i).isoformat() for i in range(days)]), date)
    columns = {
        "date": day_text,
        "platform": col(platforms),
        "campaign_id": col([x.campaign_id for x in ads]),
        "campaign_name": col([x.campaign_name for x in ads]),
        "utm_source": col([x.utm_source for x in ads]),
        "utm_medium": col([x.utm_medium for x in ads]),
        "utm_campaign": col([x.utm_campaign for x in ads]),
        "impressions": int_text(imp),
        "clicks": int_text(clk),
        "spend": money_text(sp),
        "currency": pa.array([cat.CURRENCY] * a_idx.size, type=pa.string()),
        "conversions": int_text(cv),
    }
    part = np.array([cat.AD_PLATFORMS.index(platforms[a]) for a in range(n_ads)])[a_idx]
    return CsvRows(
        "spend",
        dt,
        date * cat.DAY_MS,
        columns,
        part=part,
        part_names=cat.AD_PLATFORMS,
    )
