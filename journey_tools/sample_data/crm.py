"""CRM daily deltas: contacts (lifecycle, opt-out, merges), orders, tickets, surveys, activities.

Every change is a new version of the row, exported in the file of the day it happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import contacts as ct
from journey_tools.sample_data import journeys as jr
from journey_tools.sample_data.identity import Identities
from journey_tools.sample_data.people import People, email_variant
from journey_tools.sample_data.rand import hash_int, hash_u01, pick_weighted
from journey_tools.sample_data.text import (
    Clock,
    at,
    concat,
    int_text,
    money_text,
    strings,
    take,
    take_opt,
)

NEVER = ct.NEVER
STAGE = {name: i for i, name in enumerate(cat.LIFECYCLE_STAGES)}
CSV_OFFSETS = np.array([0, 0, 0, 60, 120, -300])


@dataclass
class CsvRows:
    """Rows of one CSV entity: text columns in contract order, the export day of each row and
    its time (the order within a file)."""

    entity: str
    day: np.ndarray
    t: np.ndarray
    columns: dict[str, pa.Array]
    part: np.ndarray | None = None  # file of the day each row goes to (default: one file)
    part_names: tuple[str, ...] = ("part-0000",)

    def __len__(self) -> int:
        return int(self.day.size)


def _ts(clock: Clock, t: np.ndarray, key: np.ndarray, salt: int) -> pa.Array:
    off = CSV_OFFSETS[hash_int(key, n=CSV_OFFSETS.size, salt=salt)]
    return clock.iso(t, off, millis=False)


def _opt_ts(clock: Clock, t: np.ndarray, key: np.ndarray, salt: int) -> pa.Array:
    text = _ts(clock, np.where(t < NEVER, t, 0), key, salt)
    return pc.if_else(pa.array(t < NEVER), text, "")


def _id_or_empty(ids: pa.Array, idx: np.ndarray) -> pa.Array:
    idx = np.asarray(idx)
    return take_opt(ids, idx, "")


def _keep(rows: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in rows.items()}


# ------------------------------------------------------------------------------- orders
@dataclass
class Orders:
    order_id: pa.Array
    session: np.ndarray  # -1 for an order taken offline (phone, store)
    person: np.ndarray
    contact: np.ndarray  # -1 for a guest checkout
    email: pa.Array
    ordered_at: np.ndarray
    items: np.ndarray
    subtotal: np.ndarray  # cents
    discount: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    code: np.ndarray  # index into DISCOUNT_CODES, -1 none
    final_status: np.ndarray  # index into ORDER_STATUSES
    changed_at: np.ndarray  # when refunded / cancelled (NEVER)
    of_session: np.ndarray  # session -> order index (-1)

    def __len__(self) -> int:
        return int(self.session.size)


# Per-person spending level (Gamma, mean 1, coefficient of variation 1/sqrt(shape)).
SPENDING_LEVEL_SHAPE = 4.0
SPENDING_LEVEL_STREAM = 0x5BE2D


def build_orders(
    rng: np.random.Generator,
    s: jr.Sessions,
    ids: Identities,
    contacts: ct.Contacts,
    people: People,
    erased_at_person: np.ndarray,
    window_ms: int,
) -> Orders:
    web = np.flatnonzero(s.has_order())
    t_web = s.start[web] + s.duration[web]
    who = ids.contact_at(s.device[web], t_web)
    same = at(contacts.person, who, -1) == s.person[web]
    contact_web = np.where(same, contacts.resolve(who, t_web), -1)
    # Orders taken by phone or in a store, for some contacts (sales-led).
    mains = np.flatnonzero(contacts.slot == ct.SLOT_MAIN)
    sales_led = mains[rng.random(mains.size) < 0.015]
    t_off = contacts.created[sales_led] + rng.integers(
        3 * cat.DAY_MS, 40 * cat.DAY_MS, sales_led.size
    )
    ok = (t_off < window_ms) & (t_off < erased_at_person[contacts.person[sales_led]])
    sales_led, t_off = sales_led[ok], t_off[ok]
    session = np.r_[web, np.full(sales_led.size, -1)]
    person = np.r_[s.person[web], contacts.person[sales_led]]
    contact = np.r_[contact_web, contacts.resolve(sales_led, t_off)]
    ordered_at = np.r_[t_web, t_off].astype(np.int64)
    order = np.lexsort((session, ordered_at))
    session, person, contact, ordered_at = (
        session[order],
        person[order],
        contact[order],
        ordered_at[order],
    )
    n = session.size
    email = pc.coalesce(take_opt(contacts.email, contact), take(people.email, person))
    items = np.minimum(rng.geometric(0.55, n), 6)
    prices = np.array([p[5] for p in cat.PRODUCTS])
    product = rng.integers(0, prices.size, int(items.sum()))
    qty_first = np.r_[0, np.cumsum(items)[:-1]]
    subtotal = np.add.reduceat(prices[product], qty_first) if n else np.zeros(0, np.int64)
    # People differ in what they spend per order, not only in how often they buy (the
    # heterogeneity the Gamma-Gamma model estimates): a spending level per person, mean 1,
    # from its own stream so that every other draw stays as it was.
    spending_level = np.random.default_rng([people.n, SPENDING_LEVEL_STREAM]).gamma(
        SPENDING_LEVEL_SHAPE, 1 / SPENDING_LEVEL_SHAPE, people.n
    )
    subtotal = np.maximum(np.rint(subtotal * spending_level[person]).astype(np.int64), 100)
    code = np.where(rng.random(n) < 0.22, rng.integers(0, len(cat.DISCOUNT_CODES), n), -1)
    pct = np.array([10, 15, 20, 10])
    discount = np.where(code >= 0, subtotal * pct[np.maximum(code, 0)] // 100, 0)
    shipping = np.where(subtotal - discount >= 5000, 0, 495)
    tax = (subtotal - discount + shipping) * 19 // 100
    total = subtotal - discount + shipping + tax
    u = rng.random(n)
    final_status = np.where(u < 0.06, 1, np.where(u < 0.09, 2, 0))
    delay = np.where(
        final_status == 1,
        rng.integers(3 * cat.DAY_MS, 30 * cat.DAY_MS, n),
        rng.integers(10 * cat.MINUTE_MS, 2 * cat.DAY_MS, n),
    )
    changed_at = ordered_at + delay
    valid = (final_status > 0) & (changed_at < window_ms) & (changed_at < erased_at_person[person])
    final_status = np.where(valid, final_status, 0)
    changed_at = np.where(valid, changed_at, NEVER)
    seq = np.arange(n)
    order_id = concat("ORD-", int_text(1_000_001 + seq * 3 + seq % 3))
    of_session = np.full(len(s), -1, dtype=np.int64)
    web_rows = session >= 0
    of_session[session[web_rows]] = np.flatnonzero(web_rows)
    return Orders(
        order_id=order_id, session=session, person=person, contact=contact, email=email,
        ordered_at=ordered_at, items=items, subtotal=subtotal, discount=discount,
        shipping=shipping, tax=tax, total=total, code=code, final_status=final_status,
        changed_at=changed_at, of_session=of_session,
    )  # fmt: skip


def order_rows(orders: Orders, clock: Clock) -> CsvRows:
    o = orders
    n = len(o)
    first_update = o.ordered_at + hash_int(np.arange(n), n=90_000, salt=71) + 5_000
    version = np.r_[np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)]
    idx = np.r_[np.arange(n), np.arange(n)]
    upd = np.r_[first_update, np.maximum(o.changed_at, first_update + 1_000)]
    keep = (version == 0) | (o.changed_at[idx] < NEVER)
    idx, version, upd = idx[keep], version[keep], upd[keep]
    status = np.where(version == 1, o.final_status[idx], 0)
    key = idx * 2 + version
    cols = {
        "order_id": take(o.order_id, idx),
        "contact_id": pa.array([""] * idx.size, type=pa.string()),
        "email": email_variant(take(o.email, idx), hash_u01(key, salt=72)),
        "ordered_at": _ts(clock, o.ordered_at[idx], idx, 73),
        "status": take(strings(cat.ORDER_STATUSES), status),
        "currency": pa.array([cat.CURRENCY] * idx.size, type=pa.string()),
        "subtotal": money_text(o.subtotal[idx]),
        "discount": money_text(o.discount[idx]),
        "shipping": money_text(o.shipping[idx]),
        "tax": money_text(o.tax[idx]),
        "total": money_text(o.total[idx]),
        "discount_code": _id_or_empty(strings(cat.DISCOUNT_CODES), o.code[idx]),
        "items_count": int_text(o.items[idx]),
        "updated_at": _ts(clock, upd, key, 74),
    }
    return CsvRows("orders", clock.date_of(upd), upd, cols)


def with_contact_ids(rows: CsvRows, orders: Orders, contacts: ct.Contacts) -> CsvRows:
    """Fills orders' contact_id (resolved when the order was placed)."""
    ids = pc.index_in(rows.columns["order_id"], value_set=orders.order_id).to_numpy(
        zero_copy_only=False
    )
    rows.columns["contact_id"] = _id_or_empty(contacts.contact_id, orders.contact[ids])
    return rows


# ------------------------------------------------------------------------------ contacts
def contact_rows(
    rng: np.random.Generator,
    contacts: ct.Contacts,
    people: People,
    orders: Orders,
    unsub_at: np.ndarray,
    erased_at_person: np.ndarray,
    clock: Clock,
    window_ms: int,
) -> tuple[CsvRows, dict[str, np.ndarray]]:
    """Versions of every contact. Also returns per-contact facts that other entities use
    (sales-qualified times, for activities)."""
    c = contacts
    n = len(c)
    ev: dict[str, list[np.ndarray]] = {
        "contact": [],
        "t": [],
        "stage": [],
        "opt": [],
        "phone": [],
        "merge": [],
    }

    def add(contact, t, stage=-1, opt=-1, phone=-1, merge=-1):
        k = np.asarray(contact).size
        ev["contact"].append(np.asarray(contact, dtype=np.int64))
        ev["t"].append(np.asarray(t, dtype=np.int64))
        for name, val in (("stage", stage), ("opt", opt), ("phone", phone), ("merge", merge)):
            ev[name].append(np.broadcast_to(np.asarray(val, dtype=np.int64), (k,)).copy())

    all_c = np.arange(n)
    has_phone = rng.random(n) < 0.55
    add(
        all_c,
        c.created,
        stage=c.first_stage,
        opt=c.opt_in.astype(np.int64),
        phone=has_phone.astype(np.int64),
        merge=-2,
    )
    lead = np.flatnonzero(c.lead_at < NEVER)
    add(lead, c.lead_at[lead] + 2_000, stage=STAGE["lead"])
    main = c.slot == ct.SLOT_MAIN
    lead_time = np.where(c.lead_at < NEVER, c.lead_at, c.created)
    mql = np.flatnonzero(main & (rng.random(n) < 0.3))
    t_mql = lead_time[mql] + (rng.exponential(7, mql.size) * cat.DAY_MS).astype(np.int64)
    t_mql += cat.HOUR_MS
    add(mql, t_mql, stage=STAGE["marketingqualifiedlead"])
    sql_pick = rng.random(mql.size) < 0.12
    sql = mql[sql_pick]
    t_sql = t_mql[sql_pick] + (rng.exponential(5, sql.size) * cat.DAY_MS).astype(np.int64)
    add(sql, t_sql, stage=STAGE["salesqualifiedlead"])
    opp_pick = rng.random(sql.size) < 0.5
    t_opp = t_sql[opp_pick] + (rng.exponential(5, int(opp_pick.sum())) * cat.DAY_MS).astype(
        np.int64
    )
    add(sql[opp_pick], t_opp, stage=STAGE["opportunity"])
    # Offline (sales-led) orders: qualified and turned into opportunities before the order.
    off = np.flatnonzero((orders.session < 0) & (orders.contact >= 0))
    off_c, off_t = orders.contact[off], orders.ordered_at[off]
    span = np.maximum(off_t - c.created[off_c], 4 * cat.HOUR_MS)
    t_sql2 = c.created[off_c] + span // 4
    t_opp2 = c.created[off_c] + span // 2
    add(off_c, t_sql2, stage=STAGE["salesqualifiedlead"])
    add(off_c, t_opp2, stage=STAGE["opportunity"])
    # Customers: the first order (not cancelled) of the contact, or of a guest with an account.
    buyer = np.where(orders.contact >= 0, orders.contact, c.main_of_person[orders.person])
    placed = (buyer >= 0) & (orders.final_status != 2)
    bc = buyer[placed]
    bt = orders.ordered_at[placed]
    ok = c.created[np.maximum(bc, 0)] <= bt
    bc, bt = c.resolve(bc[ok], bt[ok]), bt[ok]
    first_order = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(first_order, bc, bt)
    cust = np.flatnonzero(first_order < NEVER)
    t_cust = first_order[cust] + rng.integers(30_000, 10 * cat.MINUTE_MS, cust.size)
    add(cust, t_cust, stage=STAGE["customer"])
    ev_pick = rng.random(cust.size) < 0.05
    add(
        cust[ev_pick],
        t_cust[ev_pick]
        + (rng.exponential(30, int(ev_pick.sum())) * cat.DAY_MS).astype(np.int64)
        + cat.DAY_MS,
        stage=STAGE["evangelist"],
    )
    # Unsubscribes (from email) reach the CRM a few minutes later.
    uns = np.flatnonzero(unsub_at < NEVER)
    add(uns, unsub_at[uns] + rng.integers(60_000, 10 * cat.MINUTE_MS, uns.size), opt=0)
    # A phone number added later, and plain edits (a re-typed address).
    later_phone = np.flatnonzero(~has_phone & (rng.random(n) < 0.25))
    add(
        later_phone,
        c.created[later_phone]
        + (rng.exponential(10, later_phone.size) * cat.DAY_MS).astype(np.int64)
        + cat.HOUR_MS,
        phone=1,
    )
    edits = np.flatnonzero(rng.random(n) < 0.08)
    add(
        edits,
        c.created[edits]
        + (rng.exponential(20, edits.size) * cat.DAY_MS).astype(np.int64)
        + cat.HOUR_MS,
    )
    merged = np.flatnonzero(c.merged_into >= 0)
    add(merged, c.merged_at[merged], merge=c.merged_into[merged])

    cols = {k: np.concatenate(v) for k, v in ev.items()}
    con = cols["contact"]
    alive_until = np.minimum(erased_at_person[c.person[con]], window_ms)
    # nothing happens to a merged contact after its merge, except the merge itself
    after_merge = (cols["t"] > c.merged_at[con]) | (
        (cols["t"] == c.merged_at[con]) & (cols["merge"] < 0)
    )
    cols = _keep(cols, (cols["t"] < alive_until) & ~after_merge & (cols["t"] >= c.created[con]))
    creation = cols["merge"] == -2
    order = np.lexsort((~creation, cols["t"], cols["contact"]))
    cols = _keep(cols, order)
    con = cols["contact"]
    first = np.r_[True, con[1:] != con[:-1]]
    # stages only move forward: drop stage changes that do not raise it
    stage_ev = cols["stage"] >= 0
    stage_key = np.where(stage_ev, con * 16 + cols["stage"], -1)
    run_max = np.maximum.accumulate(np.maximum(stage_key, con * 16 - 1))
    prev_max = np.r_[-1, run_max[:-1]]
    cols = _keep(cols, ~(stage_ev & ~first & (stage_key <= prev_max)))
    con = cols["contact"]
    # strictly increasing updated_at per contact (one second apart at least)
    cols["t"] = _strictly_increasing(con, cols["t"], 1_000)
    cols = _keep(cols, cols["t"] < np.minimum(erased_at_person[c.person[con]], window_ms))
    con = cols["contact"]
    t = cols["t"]

    def ffill(values: np.ndarray) -> np.ndarray:
        # every contact's first row (its creation) sets the value, so no contact leaks
        pos = np.where(values >= 0, np.arange(values.size), 0)
        return values[np.maximum.accumulate(pos)]

    stage = ffill(cols["stage"])
    opt = ffill(cols["opt"])
    phone = ffill(cols["phone"])
    merge = np.where(cols["merge"] >= 0, cols["merge"], -1)  # nothing follows a merge

    p = c.person[con]
    key = np.arange(con.size)
    names_first = strings([f for f, _ in cat.FIRST_NAMES])
    names_last = strings([x for x, _ in cat.LAST_NAMES])
    columns = {
        "contact_id": take(c.contact_id, con),
        "email": email_variant(take(c.email, con), hash_u01(key, salt=81)),
        "first_name": take(names_first, people.first_name[p]),
        "last_name": take(names_last, people.last_name[p]),
        "phone": pc.if_else(pa.array(phone > 0), take(people.phone, p), ""),
        "country": take(strings([x for x, _, _ in cat.COUNTRIES]), people.country[p]),
        "lifecycle_stage": take(strings(cat.LIFECYCLE_STAGES), stage),
        "original_source": take(strings(cat.ORIGINAL_SOURCES), c.original_source[con]),
        "marketing_opt_in": take(strings(["false", "true"]), opt),
        "merged_into_contact_id": _id_or_empty(c.contact_id, merge),
        "created_at": _ts(clock, c.created[con], con, 82),
        "updated_at": _ts(clock, t, key, 83),
    }
    sql_t = np.full(n, NEVER, dtype=np.int64)
    is_sql = stage == STAGE["salesqualifiedlead"]
    np.minimum.at(sql_t, con[is_sql], t[is_sql])
    return CsvRows("contacts", clock.date_of(t), t, columns), {"sql_at": sql_t}


# ------------------------------------------------------------------------------- tickets
SUBJECTS = {
    "shipping": ("Where is my order {order}?", 'Parcel says "delivered", but nothing arrived'),
    "returns": ('Return label for "{product}", please', "Exchange: too small, need one size up"),
    "product_quality": ('Sole came loose after 2 weeks ("{product}")', "Stitching came apart"),
    "billing": ("Charged twice for {order}", "Invoice with VAT number, please"),
    "account": ("Can't log in, reset mail never arrives", "Please change my email address"),
    "technical": ('Checkout error: "payment declined"', "Site very slow on mobile, can't zoom"),
    "other": ("Do you ship to Norway?", "Partnership request, influencer"),
}


def _contact_email(contacts: ct.Contacts, contact: np.ndarray, key: np.ndarray, salt: int):
    return email_variant(take(contacts.email, contact), hash_u01(key, salt=salt))


def ticket_rows(
    rng: np.random.Generator,
    contacts: ct.Contacts,
    orders: Orders,
    erased_at_person: np.ndarray,
    clock: Clock,
    window_ms: int,
) -> tuple[CsvRows, dict[str, np.ndarray]]:
    c = contacts
    o = orders
    has_c = o.contact >= 0
    refunded = o.final_status == 1
    pick = np.flatnonzero(has_c & (rng.random(len(o)) < np.where(refunded, 0.5, 0.08)))
    t_o = o.ordered_at[pick] + rng.integers(cat.DAY_MS, 14 * cat.DAY_MS, pick.size)
    cat_o = np.where(
        refunded[pick], 3, pick_weighted(rng.random(pick.size), [0.45, 0.15, 0.25, 0.15])
    )
    cat_o = np.array([0, 1, 2, 3])[cat_o]  # shipping, billing, product_quality, returns
    mains = np.flatnonzero(c.slot == ct.SLOT_MAIN)
    gen = mains[rng.random(mains.size) < 0.02]
    t_g = c.created[gen] + rng.integers(cat.HOUR_MS, 30 * cat.DAY_MS, gen.size)
    cat_g = np.array([4, 5, 6])[pick_weighted(rng.random(gen.size), [0.4, 0.35, 0.25])]
    created = np.r_[t_o, t_g]
    contact = c.resolve(np.r_[o.contact[pick], gen], created)
    category = np.r_[cat_o, cat_g]
    order_ref = np.r_[pick, np.full(gen.size, -1)]
    ok = (created < window_ms) & (created < erased_at_person[c.person[contact]])
    created, contact, category, order_ref = created[ok], contact[ok], category[ok], order_ref[ok]
    order = np.argsort(created, kind="stable")
    created, contact, category, order_ref = (
        created[order],
        contact[order],
        category[order],
        order_ref[order],
    )
    n = created.size
    channel = pick_weighted(rng.random(n), [0.4, 0.25, 0.15, 0.2])
    priority = pick_weighted(rng.random(n), [0.3, 0.45, 0.2, 0.05])
    pending_at = np.where(
        rng.random(n) < 0.4, created + rng.integers(2 * cat.HOUR_MS, 2 * cat.DAY_MS, n), NEVER
    )
    closed_at = np.where(
        rng.random(n) < 0.88,
        np.maximum(created + np.exp(rng.normal(np.log(30), 1.0, n)).astype(np.int64)
                   * cat.HOUR_MS // 1, pending_at + cat.HOUR_MS),
        NEVER,
    )  # fmt: skip
    closed_at = np.where(
        pending_at < NEVER, np.maximum(closed_at, pending_at + cat.HOUR_MS), closed_at
    )
    limit = np.minimum(erased_at_person[c.person[contact]], window_ms)
    pending_at = np.where(pending_at < limit, pending_at, NEVER)
    closed_at = np.where(closed_at < limit, closed_at, NEVER)
    # versions: open, pending, closed
    idx = np.r_[np.arange(n), np.arange(n), np.arange(n)]
    version = np.repeat([0, 1, 2], n)
    upd = np.r_[created + 30_000, pending_at, closed_at]
    keep = upd < NEVER
    idx, version, upd = idx[keep], version[keep], upd[keep]
    status = np.array([0, 1, 2])[version]
    closed_col = np.where(version == 2, closed_at[idx], NEVER)
    ticket_id = concat("T-", int_text(500_001 + np.arange(n)))
    cat_names = cat.TICKET_CATEGORIES
    subj_i = hash_int(np.arange(n), n=2, salt=91)
    templates = [SUBJECTS[cat_names[k]][j] for k in range(len(cat_names)) for j in range(2)]
    products = [p[2] for p in cat.PRODUCTS]
    prod_i = hash_int(np.arange(n), n=len(products), salt=92).tolist()
    order_ids = o.order_id.to_pylist()
    subject = strings(
        [
            templates[tmpl].format(
                product=products[pi], order=order_ids[oref] if oref >= 0 else "my order"
            )
            for tmpl, pi, oref in zip(
                (category * 2 + subj_i).tolist(), prod_i, order_ref.tolist(), strict=True
            )
        ]
    )
    key = idx * 3 + version
    columns = {
        "ticket_id": take(ticket_id, idx),
        "contact_id": take(c.contact_id, contact[idx]),
        "email": _contact_email(c, contact[idx], key, 93),
        "created_at": _ts(clock, created[idx], idx, 94),
        "closed_at": _opt_ts(clock, closed_col, idx, 95),
        "status": take(strings(cat.TICKET_STATUSES), status),
        "channel": take(strings(cat.TICKET_CHANNELS), channel[idx]),
        "category": take(strings(cat_names), category[idx]),
        "priority": take(strings(cat.TICKET_PRIORITIES), priority[idx]),
        "subject": take(subject, idx),
        "updated_at": _ts(clock, upd, key, 96),
    }
    facts = {
        "contact": contact,
        "created": created,
        "closed": closed_at,
        "channel": channel,
    }
    return CsvRows("tickets", clock.date_of(upd), upd, columns), facts


def _strictly_increasing(group: np.ndarray, t: np.ndarray, step: int) -> np.ndarray:
    """Raises times so that they grow by at least `step` within each group (rows sorted by
    group, then time)."""
    first = np.r_[True, group[1:] != group[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(t.size), 0))
    rank = np.arange(t.size) - start
    shift = 1 << 37
    key = group * (1 << 40) + (t - rank * step + shift)
    return np.maximum.accumulate(key) - group * (1 << 40) - shift + rank * step


# ------------------------------------------------------------------------------- surveys
COMMENTS = (
    "Great shoes, fast delivery!",
    'Sizing is "off" by half a size',
    "Très bien, merci",
    "Zu teuer, aber gute Qualität",
    "Support was helpful; took 3 days though",
    "Love them 😀",
    "Shipping took forever, box was damaged",
    "Easy checkout",
    'Would be 10 if "free returns" were really free',
)


def survey_rows(
    rng: np.random.Generator,
    contacts: ct.Contacts,
    orders: Orders,
    tickets: dict[str, np.ndarray],
    sessions: jr.Sessions,
    erased_at_person: np.ndarray,
    clock: Clock,
    window_ms: int,
) -> CsvRows:
    c, o = contacts, orders
    tp = {name: i for i, name in enumerate(cat.SURVEY_TOUCHPOINTS)}
    # post purchase
    pp = np.flatnonzero((o.contact >= 0) & (o.final_status != 2) & (rng.random(len(o)) < 0.18))
    t_pp = o.ordered_at[pp] + rng.integers(3 * cat.DAY_MS, 10 * cat.DAY_MS, pp.size)
    bad_pp = o.final_status[pp] == 1
    # support
    closed = np.flatnonzero(
        (tickets["closed"] < NEVER) & (rng.random(tickets["closed"].size) < 0.45)
    )
    t_su = tickets["closed"][closed] + rng.integers(cat.HOUR_MS, cat.DAY_MS, closed.size)
    # onboarding
    mains = np.flatnonzero(c.slot == ct.SLOT_MAIN)
    ob = mains[rng.random(mains.size) < 0.06]
    t_ob = c.created[ob] + rng.integers(cat.DAY_MS, 7 * cat.DAY_MS, ob.size)
    # website (a pop-up at the end of a logged-in visit)
    ws = np.flatnonzero(
        (c.main_of_person[sessions.person] >= 0)
        & (rng.random(len(sessions)) < 0.004)
        & ~sessions.has_order()  # not right after an order: post-purchase surveys come later
    )
    t_ws = sessions.start[ws] + sessions.duration[ws] + 20_000
    ws_contact = c.main_of_person[sessions.person[ws]]
    ws_ok = c.created[ws_contact] <= t_ws
    ws_contact, t_ws = ws_contact[ws_ok], t_ws[ws_ok]

    submitted = np.r_[t_pp, t_su, t_ob, t_ws]
    contact = np.r_[o.contact[pp], tickets["contact"][closed], ob, ws_contact]
    touch = np.r_[
        np.full(pp.size, tp["post_purchase"]),
        np.full(closed.size, tp["support"]),
        np.full(ob.size, tp["onboarding"]),
        np.full(t_ws.size, tp["website"]),
    ]
    unhappy = np.r_[bad_pp, np.zeros(closed.size + ob.size + t_ws.size, dtype=bool)]
    is_nps = np.where(
        touch == tp["support"],
        False,
        np.where(touch == tp["website"], False, rng.random(touch.size) < 0.7),
    )
    contact = c.resolve(contact, submitted)
    ok = (submitted < window_ms) & (submitted < erased_at_person[c.person[contact]])
    sel = np.flatnonzero(ok)
    sel = sel[np.argsort(submitted[sel], kind="stable")]
    submitted, contact, touch, unhappy, is_nps = (
        submitted[sel],
        contact[sel],
        touch[sel],
        unhappy[sel],
        is_nps[sel],
    )
    n = submitted.size
    nps = np.where(
        unhappy,
        rng.integers(0, 7, n),
        pick_weighted(rng.random(n), [1, 1, 1, 2, 2, 3, 5, 8, 17, 25, 35]),
    )
    csat = np.where(
        unhappy, rng.integers(1, 4, n), pick_weighted(rng.random(n), [4, 5, 10, 35, 46]) + 1
    )
    score = np.where(is_nps, nps, csat)
    comment_i = np.where(rng.random(n) < 0.4, rng.integers(0, len(COMMENTS), n), -1)
    # 5% edit their comment later: a second version
    edit = rng.random(n) < 0.05
    t_edit = submitted + rng.integers(cat.HOUR_MS, 3 * cat.DAY_MS, n)
    limit = np.minimum(erased_at_person[c.person[contact]], window_ms)
    edit &= t_edit < limit
    idx = np.r_[np.arange(n), np.flatnonzero(edit)]
    version = np.r_[np.zeros(n, dtype=np.int64), np.ones(int(edit.sum()), dtype=np.int64)]
    upd = np.r_[submitted + 3_000, t_edit[edit]]
    comment_v = np.where(
        version == 1, (np.maximum(comment_i[idx], 0) + 1) % len(COMMENTS), comment_i[idx]
    )
    key = idx * 2 + version
    response_id = concat("R-", int_text(800_001 + np.arange(n)))
    columns = {
        "response_id": take(response_id, idx),
        "contact_id": take(c.contact_id, contact[idx]),
        "email": _contact_email(c, contact[idx], key, 101),
        "submitted_at": _ts(clock, submitted[idx], idx, 102),
        "survey_type": take(strings(cat.SURVEY_TYPES), np.where(is_nps[idx], 0, 1)),
        "score": int_text(score[idx]),
        "touchpoint": take(strings(cat.SURVEY_TOUCHPOINTS), touch[idx]),
        "comment": _id_or_empty(strings(COMMENTS), comment_v),
        "updated_at": _ts(clock, upd, key, 103),
    }
    return CsvRows("surveys", clock.date_of(upd), upd, columns)


# ---------------------------------------------------------------------------- activities
def activity_rows(
    rng: np.random.Generator,
    contacts: ct.Contacts,
    orders: Orders,
    tickets: dict[str, np.ndarray],
    sql_at: np.ndarray,
    erased_at_person: np.ndarray,
    clock: Clock,
    window_ms: int,
) -> CsvRows:
    c = contacts
    kinds = {name: i for i, name in enumerate(cat.ACTIVITY_TYPES)}
    # sales: calls and meetings after a contact is sales-qualified
    sq = np.flatnonzero(sql_at < NEVER)
    reps = rng.integers(1, 4, sq.size)
    s_contact = np.repeat(sq, reps)
    s_t = np.repeat(sql_at[sq], reps) + rng.integers(cat.HOUR_MS, 10 * cat.DAY_MS, s_contact.size)
    s_type = np.where(rng.random(s_contact.size) < 0.65, kinds["call"], kinds["meeting"])
    # service: a chat activity for chat tickets
    chat = np.flatnonzero(tickets["channel"] == cat.TICKET_CHANNELS.index("chat"))
    ch_contact = tickets["contact"][chat]
    ch_t = tickets["created"][chat] + 60_000
    # notes
    mains = np.flatnonzero(c.slot == ct.SLOT_MAIN)
    nt = mains[rng.random(mains.size) < 0.03]
    nt_t = c.created[nt] + rng.integers(cat.HOUR_MS, 20 * cat.DAY_MS, nt.size)
    occurred = np.r_[s_t, ch_t, nt_t]
    contact = c.resolve(np.r_[s_contact, ch_contact, nt], occurred)
    typ = np.r_[s_type, np.full(chat.size, kinds["chat"]), np.full(nt.size, kinds["note"])]
    logged = occurred + np.where(
        rng.random(occurred.size) < 0.7,
        rng.integers(60_000, cat.HOUR_MS, occurred.size),
        rng.integers(cat.HOUR_MS, 2 * cat.DAY_MS, occurred.size),
    )
    limit = np.minimum(erased_at_person[c.person[contact]], window_ms)
    ok = logged < limit
    sel = np.flatnonzero(ok)
    sel = sel[np.argsort(occurred[sel], kind="stable")]
    occurred, contact, typ, logged = occurred[sel], contact[sel], typ[sel], logged[sel]
    n = occurred.size
    edit = rng.random(n) < 0.08
    t_edit = logged + rng.integers(cat.HOUR_MS, 3 * cat.DAY_MS, n)
    edit &= t_edit < limit[sel]
    idx = np.r_[np.arange(n), np.flatnonzero(edit)]
    upd = np.r_[logged, t_edit[edit]]
    key = np.r_[np.arange(n) * 2, np.flatnonzero(edit) * 2 + 1]
    activity_id = concat("A-", int_text(300_001 + np.arange(n)))
    columns = {
        "activity_id": take(activity_id, idx),
        "contact_id": take(c.contact_id, contact[idx]),
        "type": take(strings(cat.ACTIVITY_TYPES), typ[idx]),
        "occurred_at": _ts(clock, occurred[idx], idx, 111),
        "updated_at": _ts(clock, upd, key, 112),
    }
    return CsvRows("activities", clock.date_of(upd), upd, columns)


def erasure_rows(person_at: np.ndarray, email: pa.Array, clock: Clock) -> CsvRows:
    n = person_at.size
    idx = np.arange(n)
    columns = {
        "request_id": concat("ER-", int_text(10_001 + idx)),
        "email": email,
        "requested_at": _ts(clock, person_at, idx, 121),
    }
    return CsvRows("erasure_requests", clock.date_of(person_at), person_at, columns)
