"""A/B tests (catalogs.EXPERIMENTS): who is shown which variation, when, and what it does to
their orders.

The testing tool buckets people, not devices: a person sees the same variation on every
device (it knows them once they log in, and keeps the assignment across devices). A test
runs for a period; a visit in that period shows it with the test's `visit_share` (the visit
reaches the tested page), once or, after a reload, twice: one `Experiment Viewed` each, right
after the landing page. Visits opened by an email click do not show tests (email traffic is
left out of the tests' audience, as campaigns carry their own offers). A few people's
testing-tool cookie is reset (their analytics id survives): from then on, that device shows
them the other variation, and the warehouse leaves them out as multiple exposures.

The effect is real: in the treatment, every visit within CONVERSION_WINDOW_DAYS after the
person's first exposure ends with an order `order_lift` times as often.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data.rand import hash_exp, hash_u01

if TYPE_CHECKING:
    from journey_tools.sample_data.crm import Orders
    from journey_tools.sample_data.journeys import Sessions
    from journey_tools.sample_data.text import Clock

N_EXPERIMENTS = len(cat.EXPERIMENTS)
VIEW_AGAIN = 0.2  # an exposed visit shows the test a second time (a reload, the page again)
RESET_SHARE = 0.035  # exposed people whose testing-tool cookie is reset on their device
RESET_MEAN_DAYS = 10.0  # mean time from the first exposure to the reset
WINDOW_MS = cat.CONVERSION_WINDOW_DAYS * cat.DAY_MS
NEVER = np.iinfo(np.int64).max // 4
_SALT = 900  # hash salts 900.. (see rand.Salt for the others)
# Session code: per experiment e, bits 3e..3e+1 hold its views in the session (0 to 3) and
# bit 3e+2 the variation shown (0 control, 1 treatment).
_BITS = 3


@dataclass
class Trials:
    start: np.ndarray  # (E,) ms since window start
    end: np.ndarray  # (E,)
    visit_share: np.ndarray  # (E,)
    lift: np.ndarray  # (E, 2) order multiplier per variation
    variation: np.ndarray  # (people, E) the variation each person is bucketed into
    seed: int  # keys every draw, with the person and the visit


def build_trials(n_people: int, days: int, seed: int) -> Trials:
    """Periods (from 09:00 UTC of their first day to 09:00 of the day after their last) and
    everyone's bucket, from counter-based hashes of the person."""
    ex = cat.EXPERIMENTS
    first = np.array([int(e.period[0] * days) for e in ex], dtype=np.int64)
    last = np.array([max(int(e.period[1] * days), int(e.period[0] * days) + 1) for e in ex])
    person = np.arange(n_people, dtype=np.int64)[:, None]
    bucketing = np.array([e.bucketing_seed for e in ex])[None, :]
    u = hash_u01(person, np.arange(N_EXPERIMENTS)[None, :], bucketing, seed, salt=_SALT)
    share = np.array([e.treatment_share for e in ex])[None, :]
    return Trials(
        start=first * cat.DAY_MS + 9 * cat.HOUR_MS,
        end=last * cat.DAY_MS + 9 * cat.HOUR_MS,
        visit_share=np.array([e.visit_share for e in ex]),
        lift=np.array([[1.0, e.order_lift] for e in ex]),
        variation=(u < share).astype(np.int8),
        seed=seed,
    )


def shows(tr: Trials, person: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(n, E): whether a visit of `person` starting at `t` shows each test."""
    e = np.arange(N_EXPERIMENTS)[None, :]
    u = hash_u01(person[:, None], t[:, None], e, tr.seed, salt=_SALT + 1)
    running = (t[:, None] >= tr.start[None, :]) & (t[:, None] < tr.end[None, :])
    return running & (u < tr.visit_share[None, :])


def order_lift(tr: Trials, who: np.ndarray, first_seen: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Multiplier of the chance of an order of visits at `t` of people `who`, whose first
    exposures are `first_seen` (k, E; NEVER if none yet)."""
    inside = (first_seen <= t[:, None]) & (t[:, None] <= first_seen + WINDOW_MS)
    e = np.arange(N_EXPERIMENTS)[None, :]
    lift = tr.lift[e, tr.variation[who]]
    return np.prod(np.where(inside, lift, 1.0), axis=1)


def session_codes(
    tr: Trials,
    person: np.ndarray,
    device: np.ndarray,
    t: np.ndarray,
    shown: np.ndarray,
    n_people: int,
) -> np.ndarray:
    """Per visit (rows sorted by person, then time) the code of the tests it shows: views
    and the variation, the other one after a cookie reset on the first exposure's device."""
    code = np.zeros(person.size, dtype=np.int16)
    everyone = np.arange(n_people, dtype=np.int64)
    for e in range(N_EXPERIMENTS):
        sh = shown[:, e]
        idx = np.flatnonzero(sh)
        _, first = np.unique(person[idx], return_index=True)
        first = idx[first]
        first_dev = np.full(n_people, -1, dtype=np.int64)
        first_dev[person[first]] = device[first]
        first_t = np.full(n_people, NEVER, dtype=np.int64)
        first_t[person[first]] = t[first]
        reset = hash_u01(everyone, e, tr.seed, salt=_SALT + 2) < RESET_SHARE
        reset_at = first_t + hash_exp(
            everyone, e, tr.seed, mean=RESET_MEAN_DAYS * cat.DAY_MS, salt=_SALT + 3
        )
        flipped = sh & reset[person] & (device == first_dev[person]) & (t > reset_at[person])
        variation = tr.variation[person, e] ^ flipped.astype(np.int8)
        views = 1 + (hash_u01(person, t, e, tr.seed, salt=_SALT + 4) < VIEW_AGAIN)
        code |= np.where(sh, views | (variation.astype(np.int64) << 2), 0).astype(np.int16) << (
            _BITS * e
        )
    return code


def views(code: np.ndarray) -> np.ndarray:
    """(n, E) views of each test in sessions with these codes."""
    c = np.asarray(code, dtype=np.int64)[:, None]
    return (c >> (_BITS * np.arange(N_EXPERIMENTS))[None, :]) & 3


def variation_shown(code: np.ndarray) -> np.ndarray:
    c = np.asarray(code, dtype=np.int64)[:, None]
    return (c >> (_BITS * np.arange(N_EXPERIMENTS) + 2)[None, :]) & 1


def total_views(code: np.ndarray) -> np.ndarray:
    return views(code).sum(axis=1)


def of_offset(code: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Index (e * 2 + variation) of the `Experiment Viewed` at landing-segment offset `off`
    (1, 2, ...) of sessions with these codes: the tests' views in catalog order."""
    v = views(code)
    ends = np.cumsum(v, axis=1)
    e = (np.asarray(off)[:, None] - 1 >= ends).sum(axis=1)
    e = np.minimum(e, N_EXPERIMENTS - 1)
    return e * 2 + variation_shown(code)[np.arange(e.size), e]


def properties_json() -> list[str]:
    """The `properties` object of each (experiment, variation), index e * 2 + variation."""
    out = []
    for ex in cat.EXPERIMENTS:
        for v in range(2):
            out.append(
                json.dumps(
                    {
                        "experiment_id": ex.experiment_id,
                        "experiment_name": ex.experiment_name,
                        "variation_id": ex.variation_ids[v],
                        "variation_name": ex.variation_names[v],
                    },
                    separators=(",", ":"),
                    ensure_ascii=False,
                )
            )
    return out


def stats(
    tr: Trials, s: Sessions, orders: Orders, linked: np.ndarray, n_people: int, clock: Clock
) -> list[dict]:
    """The true parameters of each test and what the simulation made of them: people shown
    only one variation (per variation), people shown both, and those of the first kind with
    a non-cancelled order within the conversion window after their first view. Also the
    visitors as the warehouse tells them apart (`exposed_visitors`): a person, with the
    devices where they identified (`linked`, per session), and each of their other devices
    on its own."""
    from journey_tools.sample_data import journeys as jr  # journeys imports this module

    v = views(s.exp)
    n = n_people
    visitor = np.where(linked, s.person, n_people + s.device)
    var = variation_shown(s.exp)
    placed = orders.final_status != cat.ORDER_STATUSES.index("cancelled")
    out = []
    for e, ex in enumerate(cat.EXPERIMENTS):
        idx = np.flatnonzero(v[:, e] > 0)
        offset = np.zeros(len(s), dtype=np.int64)
        offset[idx] = 1 + v[idx, :e].sum(axis=1)
        ev = jr.expand(s, idx)
        hit = (ev.seg == jr.SEG_LANDING) & (ev.off == offset[ev.session])
        sess, t = ev.session[hit], ev.t[hit]
        person = s.person[sess]
        first = np.full(n, NEVER, dtype=np.int64)
        np.minimum.at(first, person, t)
        saw = np.zeros((n, 2), dtype=bool)
        saw[person, var[sess, e]] = True
        multiple = saw.all(axis=1)
        _, vis = np.unique(visitor[sess], return_inverse=True)
        vis_saw = np.zeros((int(vis.max(initial=-1)) + 1, 2), dtype=bool)
        vis_saw[vis, var[sess, e]] = True
        vis_multiple = vis_saw.all(axis=1)
        window_end = first + WINDOW_MS
        converted = np.zeros(n, dtype=bool)
        hit_o = (
            placed
            & (orders.ordered_at >= first[orders.person])
            & (orders.ordered_at <= window_end[orders.person])
        )
        converted[orders.person[hit_o]] = True
        variations = []
        for k in range(2):
            alone = saw[:, k] & ~multiple
            exposed = int(alone.sum())
            conv = int((alone & converted).sum())
            variations.append(
                {
                    "variation_id": str(ex.variation_ids[k]),
                    "variation_name": ex.variation_names[k],
                    "is_control": k == 0,
                    "assigned_share": round(ex.treatment_share if k else 1 - ex.treatment_share, 4),
                    "order_lift": ex.order_lift if k else 1.0,
                    "exposed_people": exposed,
                    "exposed_visitors": int((vis_saw[:, k] & ~vis_multiple).sum()),
                    "converted_people": conv,
                    "conversion_rate": round(conv / exposed, 6) if exposed else None,
                }
            )
        out.append(
            {
                "experiment_id": str(ex.experiment_id),
                "experiment_name": ex.experiment_name,
                "runs_from": _iso(clock, int(tr.start[e])),
                "runs_until": _iso(clock, int(tr.end[e])),
                "visit_share": ex.visit_share,
                "conversion_window_days": cat.CONVERSION_WINDOW_DAYS,
                "views": int(v[:, e].sum()),
                "multiple_exposure_people": int(multiple.sum()),
                "multiple_exposure_visitors": int(vis_multiple.sum()),
                "variations": variations,
            }
        )
    return out


def _iso(clock, t_ms: int) -> str:
    return clock.iso(np.array([t_ms]), millis=False)[0].as_py()
