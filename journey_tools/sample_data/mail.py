"""Email: marketing campaigns and transactional mail, as SendGrid Event Webhook objects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import contacts as ct
from journey_tools.sample_data.people import People, email_variant, ip_text
from journey_tools.sample_data.rand import Salt, hash_int, hash_u01
from journey_tools.sample_data.text import (
    Clock,
    concat,
    int_text,
    jstr,
    strings,
    take,
    token,
    when,
)

NEVER = ct.NEVER
EV = {name: i for i, name in enumerate(cat.EMAIL_EVENTS)}

PROMOS = (
    ("Winter Sale: 20% off trail shoes", "winter_sale_20off", "/collections/sale"),
    ("New Arrivals, fresh for spring", "new_arrivals", "/collections/new-arrivals"),
    ('Last chance: free shipping on "everything"', "free_shipping_last_chance", "/"),
    ("Your marathon training guide", "marathon_guide", "/blog/marathon-training-plan"),
    ("VIP early access", "vip_early_access", "/collections/trail"),
    ("Back in stock: Trail Runner 2", "back_in_stock_tr2", "/products/trail-runner-2"),
)
# Transactional templates: (category JSON, utm_campaign, click path)
TRANSACTIONAL = (
    ('"welcome"', "welcome", "/account"),
    ('["transactional","order_confirmation"]', "order_confirmation", "/account/orders"),
    ('["transactional","shipping"]', "shipping_confirmation", "/account/orders"),
)
TX_WELCOME, TX_ORDER, TX_SHIPPING = 0, 1, 2
BOUNCE_REASONS = (
    ("550 5.1.1 The email account that you tried to reach does not exist.", "bounce"),
    ("552 5.2.2 Mailbox full", "bounce"),
    ("554 5.7.1 Service unavailable; client host blocked using Spamhaus", "blocked"),
)
DROP_REASONS = ("Bounced Address", "Unsubscribed Address", "Spam Reporting Address")


@dataclass
class Templates:
    """Marketing campaigns first, then the transactional templates."""

    n_campaigns: int
    send_at: np.ndarray  # campaigns only
    promo: np.ndarray  # campaigns only
    campaign_id: list[str | None]
    name: list[str | None]
    slug: list[str]
    utm_source: list[str]
    path: list[str]
    category_json: list[str]

    def url(self, i: int) -> str:
        content = "&utm_content=cta_button" if i < self.n_campaigns else ""
        return (
            f"{cat.SITE}{self.path[i]}?utm_source={self.utm_source[i]}&utm_medium=email"
            f"&utm_campaign={self.slug[i]}{content}"
        )


def build_templates(rng: np.random.Generator, clock: Clock, days: int) -> Templates:
    send_at, promo, ids, names, slugs, paths, cats = [], [], [], [], [], [], []
    for d in range(days):
        date = clock.day(d)
        kinds = []
        if d % 7 == 1 or days < 3:
            kinds.append(False)
        if d % 7 != 1 and rng.random() < 0.22:
            kinds.append(True)
        for is_promo in kinds:
            send_at.append(d * cat.DAY_MS + int(rng.integers(7 * cat.HOUR_MS, 10 * cat.HOUR_MS)))
            promo.append(is_promo)
            ids.append(str(7_400_000 + 1_337 * len(ids) + int(rng.integers(0, 1_000))))
            stamp = date.strftime("%Y_%m_%d")
            if is_promo:
                name, slug, path = PROMOS[int(rng.integers(0, len(PROMOS)))]
                names.append(f"{name} ({date.isoformat()})")
                slugs.append(f"{slug}_{stamp}")
                paths.append(path)
                cats.append('"promotion"' if rng.random() < 0.5 else '["promotion","sale"]')
            else:
                names.append(f"Weekly Newsletter {date.isoformat()}")
                slugs.append(f"newsletter_{stamp}")
                paths.append(
                    "/collections/new-arrivals" if d % 2 else "/blog/trail-running-for-beginners"
                )
                cats.append('["newsletter","weekly"]' if len(ids) % 3 else '"newsletter"')
    n = len(ids)
    return Templates(
        n_campaigns=n,
        send_at=np.asarray(send_at, dtype=np.int64),
        promo=np.asarray(promo, dtype=bool),
        campaign_id=[*ids, None, None, None],
        name=[*names, None, None, None],
        slug=[*slugs, *(t[1] for t in TRANSACTIONAL)],
        utm_source=["newsletter"] * n + ["sendgrid"] * len(TRANSACTIONAL),
        path=[*paths, *(t[2] for t in TRANSACTIONAL)],
        category_json=[*cats, *(t[0] for t in TRANSACTIONAL)],
    )


@dataclass
class Messages:
    send: np.ndarray
    template: np.ndarray
    contact: np.ndarray  # -1: not a contact (guest checkout)
    person: np.ndarray
    email: pa.Array  # canonical address


def concat_messages(parts: list[Messages]) -> Messages:
    return Messages(
        send=np.concatenate([p.send for p in parts]),
        template=np.concatenate([p.template for p in parts]),
        contact=np.concatenate([p.contact for p in parts]),
        person=np.concatenate([p.person for p in parts]),
        email=pa.concat_arrays([p.email for p in parts]),
    )


def marketing_messages(
    rng: np.random.Generator,
    tpl: Templates,
    contacts: ct.Contacts,
    erased_at_person: np.ndarray,
    window_ms: int,
) -> tuple[Messages, np.ndarray, np.ndarray]:
    """Campaign sends to opted-in contacts. Returns the messages, per contact the time
    they unsubscribed (NEVER if not), and the index of the message they unsubscribed from."""
    n = len(contacts)
    unsub_wish = contacts.created + (rng.exponential(420.0, n) * cat.DAY_MS).astype(np.int64)
    erased = erased_at_person[contacts.person]
    pairs_c, pairs_t = [], []
    for c in range(tpl.n_campaigns):
        t = int(tpl.send_at[c])
        ok = contacts.opt_in & (contacts.created <= t) & (contacts.merged_at > t) & (erased > t)
        if tpl.promo[c]:
            ok &= hash_u01(np.arange(n), c, salt=Salt.EMAIL_VARIANT + 100) < 0.55
        idx = np.flatnonzero(ok)
        pairs_c.append(idx)
        pairs_t.append(np.full(idx.size, c, dtype=np.int64))
    contact = np.concatenate(pairs_c) if pairs_c else np.zeros(0, dtype=np.int64)
    template = np.concatenate(pairs_t) if pairs_t else np.zeros(0, dtype=np.int64)
    send = tpl.send_at[template] if template.size else np.zeros(0, dtype=np.int64)
    order = np.lexsort((send, contact))
    contact, template, send = contact[order], template[order], send[order]
    # Unsubscribes: from the last campaign received before the wish; none after it.
    before = send < unsub_wish[contact]
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, contact[before], np.flatnonzero(before))
    has_last = last >= 0
    unsub_at = np.full(n, NEVER, dtype=np.int64)
    lc = np.flatnonzero(has_last)
    unsub_at[lc] = np.maximum(unsub_wish[lc], send[last[lc]] + 20 * cat.MINUTE_MS)
    unsub_at = np.where((unsub_at < window_ms) & (unsub_at < erased), unsub_at, NEVER)
    last = np.where(unsub_at < NEVER, last, -1)
    keep = ~((send >= unsub_wish[contact]) & (unsub_at[contact] < NEVER))
    remap = np.r_[np.cumsum(keep) - 1, -1]  # index -1 (no message) stays -1
    last = remap[last]
    contact, template, send = contact[keep], template[keep], send[keep]
    msgs = Messages(
        send=send,
        template=template,
        contact=contact,
        person=contacts.person[contact],
        email=take(contacts.email, contact),
    )
    return msgs, unsub_at, last


@dataclass
class MailEvents:
    message: np.ndarray
    event: np.ndarray  # index into EMAIL_EVENTS
    t: np.ndarray
    machine: np.ndarray  # for opens: a privacy-proxy open
    detail: np.ndarray  # bounce/drop reason index


def simulate_events(
    rng: np.random.Generator,
    msgs: Messages,
    tpl: Templates,
    unsub_message: np.ndarray,
    unsub_at: np.ndarray,
    open_rate: np.ndarray | None = None,
) -> MailEvents:
    """SendGrid events of messages. `open_rate` is, per message, the chance that its
    recipient opens it (default: 24 % for marketing mail, 45 % for transactional)."""
    m = msgs.send.size
    transactional = msgs.template >= tpl.n_campaigns
    u = rng.random(m)
    dropped = u < 0.004
    bounced = (u >= 0.004) & (u < 0.016)
    deferred = (u >= 0.016) & (u < 0.046)
    delivered = ~dropped & ~bounced
    t_proc = msgs.send + rng.integers(0, 5 * cat.MINUTE_MS, m)
    t_def = t_proc + rng.integers(5_000, 60_000, m)
    t_del = np.where(
        deferred,
        t_def + rng.integers(5 * cat.MINUTE_MS, 180 * cat.MINUTE_MS, m),
        t_proc + rng.integers(1_000, 30_000, m),
    )
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(idx, event, t, machine=False, detail=None, per_message=True):
        """Events of messages `idx` (or a mask) at times `t` (one per message, or per idx)."""
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx
        times = np.asarray(t)[idx] if per_message else np.asarray(t)
        k = idx.size
        parts.append(
            (
                idx,
                np.full(k, EV[event], dtype=np.int8),
                times,
                np.full(k, machine, dtype=bool),
                np.zeros(k, dtype=np.int8) if detail is None else detail[idx],
            )
        )

    all_idx = np.arange(m)
    drop_reason = rng.integers(0, len(DROP_REASONS), m).astype(np.int8)
    bounce_reason = rng.integers(0, len(BOUNCE_REASONS), m).astype(np.int8)
    add(all_idx, "processed", t_proc)
    add(dropped, "dropped", t_proc + 1_000, detail=drop_reason)
    add(bounced, "bounce", t_proc + rng.integers(2_000, 60_000, m), detail=bounce_reason)
    add(deferred, "deferred", t_def)
    add(delivered, "delivered", t_del)

    p_open = np.where(transactional, 0.45, 0.24 if open_rate is None else open_rate)
    p_machine = np.where(transactional, 0.22, 0.27)
    machine = delivered & (rng.random(m) < p_machine)
    add(machine, "open", t_del + rng.integers(cat.MINUTE_MS, 15 * cat.MINUTE_MS, m), True)
    opener = delivered & (rng.random(m) < p_open)
    first_open = (
        t_del
        + np.minimum(rng.exponential(6 * cat.HOUR_MS, m).astype(np.int64), 4 * cat.DAY_MS)
        + 30_000
    )
    add(opener, "open", first_open)
    more = np.where(opener, rng.poisson(0.6, m), 0)
    rep = np.repeat(all_idx, more)
    add(
        rep,
        "open",
        first_open[rep] + rng.exponential(cat.DAY_MS, rep.size).astype(np.int64) + cat.MINUTE_MS,
        per_message=False,
    )
    clicker = opener & (rng.random(m) < np.where(transactional, 0.10, 0.17))
    blind = delivered & ~opener & (rng.random(m) < 0.004)  # images blocked: click, no open
    t_click = np.where(
        clicker,
        first_open + 5_000 + rng.exponential(2 * cat.MINUTE_MS, m).astype(np.int64),
        t_del + rng.exponential(8 * cat.HOUR_MS, m).astype(np.int64) + cat.MINUTE_MS,
    )
    add(clicker | blind, "click", t_click)
    again = (clicker | blind) & (rng.random(m) < 0.2)
    add(again, "click", t_click + rng.exponential(cat.HOUR_MS, m).astype(np.int64) + 10_000)
    marketing = delivered & ~transactional
    spam = marketing & (rng.random(m) < 0.0008)
    add(spam, "spamreport", t_del + rng.exponential(cat.DAY_MS, m).astype(np.int64) + 60_000)
    gunsub = marketing & (rng.random(m) < 0.0015)
    t_gun = t_del + rng.exponential(cat.DAY_MS, m).astype(np.int64) + 60_000
    add(gunsub, "group_unsubscribe", t_gun)
    gres = gunsub & (rng.random(m) < 0.35)
    add(
        gres,
        "group_resubscribe",
        t_gun + rng.exponential(3 * cat.DAY_MS, m).astype(np.int64) + cat.HOUR_MS,
    )
    # The unsubscribe link is in a delivered message, clicked after it arrived.
    um = unsub_message[unsub_message >= 0]
    ut = unsub_at[unsub_message >= 0]
    ok = delivered[um]
    add(
        um[ok],
        "unsubscribe",
        np.maximum(ut[ok], t_del[um[ok]] + 10 * cat.MINUTE_MS),
        per_message=False,
    )

    ev = MailEvents(
        message=np.concatenate([p[0] for p in parts]),
        event=np.concatenate([p[1] for p in parts]),
        t=np.concatenate([p[2] for p in parts]).astype(np.int64),
        machine=np.concatenate([p[3] for p in parts]),
        detail=np.concatenate([p[4] for p in parts]),
    )
    order = np.lexsort((ev.event, ev.message, ev.t))
    return MailEvents(
        *(getattr(ev, f)[order] for f in ("message", "event", "t", "machine", "detail"))
    )


def filter_events(ev: MailEvents, keep: np.ndarray) -> MailEvents:
    return MailEvents(
        ev.message[keep], ev.event[keep], ev.t[keep], ev.machine[keep], ev.detail[keep]
    )


def first_clicks(ev: MailEvents) -> tuple[np.ndarray, np.ndarray]:
    """(message, time) of each message's first click."""
    clicks = np.flatnonzero(ev.event == EV["click"])
    msg = ev.message[clicks]
    _, first = np.unique(msg, return_index=True)  # events are in time order
    return msg[first], ev.t[clicks][first]


# --------------------------------------------------------------------------- rendering
class MailRenderer:
    def __init__(self, tpl: Templates, msgs: Messages, people: People, clock: Clock):
        self.tpl = tpl
        self.msgs = msgs
        self.people = people
        self.clock = clock
        n_t = len(tpl.slug)
        self.cat_json = strings(tpl.category_json)
        self.cid_json = jstr(pa.array(tpl.campaign_id, type=pa.string()))
        self.cname_json = jstr(pa.array(tpl.name, type=pa.string()))
        self.url_json = jstr(strings([tpl.url(i) for i in range(n_t)]))
        self.mail_ua = jstr(strings(cat.MAIL_USER_AGENTS))
        self.bounce_reason = jstr(strings([r for r, _ in BOUNCE_REASONS]))
        self.bounce_type = jstr(strings([t for _, t in BOUNCE_REASONS]))
        self.drop_reason = jstr(strings(DROP_REASONS))
        self.event_json = jstr(strings(cat.EMAIL_EVENTS), safe=True)

    def lines(self, ev: MailEvents, first_index: int, drift: bool) -> pa.Array:
        """JSON lines (with newline) of events; `first_index` keys their ids."""
        n = ev.message.size
        key = np.arange(first_index, first_index + n, dtype=np.int64)
        msg = ev.message
        tplx = self.msgs.template[msg]
        email = email_variant(take(self.msgs.email, msg), hash_u01(key, salt=Salt.EMAIL_VARIANT))
        sg_event_id = token((key,), 22, Salt.SG_EVENT_ID, alphabet="b64")
        sg_msg = concat(
            token((msg,), 22, Salt.SG_MESSAGE_ID, alphabet="b62"),
            ".filterdrecv-",
            token((msg,), 10, Salt.SG_MESSAGE_ID + 1, alphabet="hex"),
            "-1-",
            token((msg,), 8, Salt.SG_MESSAGE_ID + 2, alphabet="hex"),
            "-0.0",
        )
        e = ev.event
        is_open = e == EV["open"]
        is_click = e == EV["click"]
        device_ip = self.people.device_ip[self.people.device_start[self.msgs.person[msg]]]
        machine_ip = (np.uint32(17) << 24) | (
            hash_int(msg, n=1 << 24, salt=Salt.MAIL_IP).astype(np.uint32)
        )
        ip = ip_text(np.where(ev.machine, machine_ip, device_ip))
        ua = pc.if_else(
            pa.array(ev.machine),
            jstr(pa.array([cat.MACHINE_OPEN_USER_AGENT] * n, type=pa.string()), safe=True),
            take(self.mail_ua, hash_int(msg, n=len(cat.MAIL_USER_AGENTS), salt=Salt.MAIL_UA)),
        )
        interact = is_open | is_click
        specific = when(
            is_open,
            concat(',"sg_machine_open":', when(ev.machine, "true", "false")),
        )
        specific = concat(
            specific,
            when(is_click, concat(',"url":', take(self.url_json, tplx))),
            when(interact, concat(',"useragent":', ua, ',"ip":"', ip, '"')),
            when(
                e == EV["bounce"],
                concat(
                    ',"reason":', take(self.bounce_reason, ev.detail),
                    ',"type":', take(self.bounce_type, ev.detail), ',"status":"5.0.0"',
                ),
            ),
            when(e == EV["dropped"], concat(',"reason":', take(self.drop_reason, ev.detail))),
            when(e == EV["deferred"], ',"response":"451 4.7.1 Try again later","attempt":"1"'),
            when(e == EV["delivered"], ',"response":"250 2.0.0 OK"'),
            when(
                (e == EV["group_unsubscribe"]) | (e == EV["group_resubscribe"]),
                ',"asm_group_id":24811',
            ),
        )  # fmt: skip
        if drift:
            u = hash_u01(key, salt=Salt.DRIFT)
            specific = concat(
                specific,
                when(e == EV["processed"], concat(',"smtp-id":"<', sg_msg, '>"')),
                when(u < 0.3, ',"tls":1'),
                when(u > 0.95, ',"customer_tier":"gold"'),
            )
        return concat(
            '{"email":', jstr(email),
            ',"timestamp":', int_text(self.clock.epoch_seconds(ev.t)),
            ',"event":', take(self.event_json, ev.event),
            ',"sg_event_id":"', sg_event_id,
            '","sg_message_id":"', sg_msg,
            '","category":', take(self.cat_json, tplx),
            ',"marketing_campaign_id":', take(self.cid_json, tplx),
            ',"marketing_campaign_name":', take(self.cname_json, tplx),
            specific,
            "}\n",
        )  # fmt: skip
