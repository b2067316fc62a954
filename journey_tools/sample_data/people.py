"""People and their devices: who they are, when they discover the shop, how they browse."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data.rand import Salt, pick_weighted
from journey_tools.sample_data.text import concat, int_text, strings, take, uuid4

# Hours of the day (UTC) weighted by how much people shop then.
HOUR_WEIGHTS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.2, 3.0, 3.2, 3.3, 3.4,
     3.6, 3.4, 3.2, 3.2, 3.4, 3.8, 4.4, 5.0, 5.2, 4.6, 3.4, 2.0],
)  # fmt: skip


VISIT_RATE = 0.1  # median sessions per day at discovery
INTEREST_DAYS = 60.0  # median time constant of the fading visit rate
HIGH_INTENT_SHARE = 0.13  # shoppers: people who mean to buy
HIGH_INTENT = (0.08, 0.22)  # their chance of an order per visit
SHOPPER_LOYALTY = 2.5  # shoppers visit this much more often, and keep visiting this much longer
CHURN_BETA = (2.25, 2.75)  # chance of never coming back after an order: Beta(a, b), mean 0.45


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Milliseconds into a day, following HOUR_WEIGHTS."""
    hour = pick_weighted(rng.random(n), HOUR_WEIGHTS)
    return hour * cat.HOUR_MS + rng.integers(0, cat.HOUR_MS, n)


@dataclass
class People:
    n: int
    discovered: np.ndarray  # ms since window start of the first visit
    first_name: np.ndarray  # index into FIRST_NAMES
    last_name: np.ndarray
    country: np.ndarray  # index into COUNTRIES
    email: pa.Array  # canonical lower-case email
    work_email: pa.Array  # a second address (used by duplicate CRM contacts)
    phone: pa.Array
    visit_rate: np.ndarray  # sessions per day at discovery
    interest_days: np.ndarray  # how fast the visits fade: rate x exp(-days since discovery / it)
    intent: np.ndarray  # probability that a session ends with an order
    churn: np.ndarray  # probability that a person never comes back after an order
    mail_affinity: np.ndarray  # probability of opening a marketing mail (while still coming)
    will_sign_up: np.ndarray
    will_subscribe: np.ndarray  # newsletter form
    account_checkout: np.ndarray  # checks out with an account (else as a guest)
    device_start: np.ndarray  # first device index of each person
    n_devices: np.ndarray

    # devices
    device_person: np.ndarray
    device_rank: np.ndarray
    device_ua: np.ndarray  # index into USER_AGENTS
    device_ip: np.ndarray  # uint32
    device_tz: np.ndarray  # offset minutes the client writes
    device_skew: np.ndarray  # client clock error, ms
    anonymous_id: pa.Array


def _names_email(
    rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    first = rng.integers(0, len(cat.FIRST_NAMES), n)
    last = rng.integers(0, len(cat.LAST_NAMES), n)
    first_ascii = take(strings([a for _, a in cat.FIRST_NAMES]), first)
    last_ascii = take(strings([a for _, a in cat.LAST_NAMES]), last)
    number = int_text(np.arange(n) + 1)
    domain = take(strings(cat.EMAIL_DOMAINS), rng.integers(0, len(cat.EMAIL_DOMAINS), n))
    style = rng.random(n)
    local = pc.if_else(
        pa.array(style < 0.6),
        concat(first_ascii, ".", last_ascii, number),
        concat(pc.utf8_slice_codeunits(first_ascii, 0, 1), last_ascii, ".", number),
    )
    email = concat(local, "@", domain)
    work_domain = take(strings(cat.WORK_DOMAINS), rng.integers(0, len(cat.WORK_DOMAINS), n))
    work = concat(first_ascii, ".", last_ascii, ".", number, "@", work_domain)
    return first, last, email, work


def build_people(rng: np.random.Generator, n: int, window_ms: int) -> People:
    first, last, email, work = _names_email(rng, n)
    country = pick_weighted(rng.random(n), [w for _, _, w in cat.COUNTRIES])
    prefix = take(strings([p for _, p, _ in cat.COUNTRIES]), country)
    phone = concat(prefix, " ", int_text(rng.integers(150_000_000, 179_999_999, n)))

    days = max(window_ms // cat.DAY_MS, 1)
    # Discovery: spread over the window, a little front-loaded (a launch campaign).
    day = np.minimum((rng.random(n) ** 1.15 * days).astype(np.int64), days - 1)
    discovered = day * cat.DAY_MS + time_of_day(rng, n)

    visit_rate = np.exp(rng.normal(np.log(VISIT_RATE), 0.9, n))
    high = rng.random(n) < HIGH_INTENT_SHARE
    intent = np.where(high, rng.uniform(*HIGH_INTENT, n), rng.uniform(0.0, 0.008, n))
    will_sign_up = rng.random(n) < np.where(high, 0.45, 0.12)
    will_subscribe = rng.random(n) < 0.10
    account_checkout = rng.random(n) < 0.82

    n_devices = pick_weighted(rng.random(n), [0.6, 0.3, 0.1]) + 1
    device_start = np.concatenate([[0], np.cumsum(n_devices)[:-1]]).astype(np.int64)
    n_dev_total = int(n_devices.sum())
    device_person = np.repeat(np.arange(n), n_devices)
    device_rank = np.arange(n_dev_total) - np.repeat(device_start, n_devices)
    mobile = [i for i, (_, m) in enumerate(cat.USER_AGENTS) if m]
    desktop = [i for i, (_, m) in enumerate(cat.USER_AGENTS) if not m]
    ua_first = np.where(
        rng.random(n_dev_total) < 0.55,
        np.asarray(mobile)[rng.integers(0, len(mobile), n_dev_total)],
        np.asarray(desktop)[rng.integers(0, len(desktop), n_dev_total)],
    )
    ua_other = np.asarray(mobile)[rng.integers(0, len(mobile), n_dev_total)]
    device_ua = np.where(device_rank == 0, ua_first, ua_other)
    # Public-looking IPv4 addresses (first octet 2..223, avoiding 10/127).
    octet1 = rng.integers(2, 224, n_dev_total)
    octet1 = np.where(np.isin(octet1, [10, 127, 172, 192]), 81, octet1)
    device_ip = (octet1.astype(np.uint32) << 24) | rng.integers(0, 1 << 24, n_dev_total).astype(
        np.uint32
    )
    tz_pick = pick_weighted(rng.random(n_dev_total), [0.55, 0.2, 0.12, 0.06, 0.04, 0.03])
    device_tz = np.asarray(cat.TZ_OFFSETS)[tz_pick]
    skew_kind = rng.random(n_dev_total)
    device_skew = np.where(
        skew_kind < 0.90,
        rng.integers(-2_000, 2_000, n_dev_total),
        np.where(
            skew_kind < 0.97,
            rng.integers(-30 * cat.MINUTE_MS, 30 * cat.MINUTE_MS, n_dev_total),
            rng.integers(cat.HOUR_MS, 4 * cat.HOUR_MS, n_dev_total),  # clock in the future
        ),
    )
    anonymous_id = uuid4((np.arange(n_dev_total),), salt=Salt.ANON_ID)
    # Visits fade after discovery: most people drift away within weeks, some stay for
    # months; shoppers (high intent) come more often and stay longer.
    interest_days = np.exp(rng.normal(np.log(INTEREST_DAYS), 1.0, n)) * np.where(
        high, SHOPPER_LOYALTY, 1.0
    )
    visit_rate = visit_rate * np.where(high, SHOPPER_LOYALTY, 1.0)
    churn = rng.beta(*CHURN_BETA, n)
    # Readers open about one marketing mail in three, the others hardly ever.
    reader = rng.random(n) < 0.5
    mail_affinity = np.where(reader, rng.uniform(0.2, 0.5, n), rng.uniform(0.0, 0.08, n))
    return People(
        n=n,
        discovered=discovered,
        first_name=first,
        last_name=last,
        country=country,
        email=email,
        work_email=work,
        phone=phone,
        visit_rate=visit_rate,
        interest_days=interest_days,
        intent=intent,
        churn=churn,
        mail_affinity=mail_affinity,
        will_sign_up=will_sign_up,
        will_subscribe=will_subscribe,
        account_checkout=account_checkout,
        device_start=device_start,
        n_devices=n_devices,
        device_person=device_person,
        device_rank=device_rank,
        device_ua=device_ua,
        device_ip=device_ip,
        device_tz=device_tz,
        device_skew=device_skew,
        anonymous_id=anonymous_id,
    )


def ip_text(ip: np.ndarray) -> pa.Array:
    ip = np.asarray(ip, dtype=np.uint32).astype(np.int64)
    return concat(
        int_text(ip >> 24), ".", int_text((ip >> 16) & 255), ".",
        int_text((ip >> 8) & 255), ".", int_text(ip & 255),
    )  # fmt: skip


def email_variant(email: pa.Array, u: np.ndarray) -> pa.Array:
    """How people type their address: mostly as is, sometimes capitalised, shouted or padded."""
    u = np.asarray(u)
    upper = pc.utf8_upper(email)
    title = pc.utf8_capitalize(email)
    padded = concat(" ", email, "  ")
    out = pc.if_else(pa.array(u < 0.06), upper, email)
    out = pc.if_else(pa.array((u >= 0.06) & (u < 0.14)), title, out)
    return pc.if_else(pa.array((u >= 0.14) & (u < 0.19)), padded, out)
