"""`generate_landing`: simulate people for a while and write what every source would export."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from journey_tools.sample_data import ads, crm, identity, mail, messiness, privacy, web
from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import contacts as ct
from journey_tools.sample_data import experiments as xp
from journey_tools.sample_data import journeys as jr
from journey_tools.sample_data.people import build_people
from journey_tools.sample_data.rand import hash_int, streams
from journey_tools.sample_data.text import Clock, joined_bytes, take
from journey_tools.sample_data.writers import (
    Landing,
    csv_header,
    csv_text,
    insert_lines,
)

STREAMS = (
    "people", "sessions", "contacts", "privacy", "mail", "extra", "orders", "crm", "ads",
    "mess", "insert",
)  # fmt: skip
CSV_ENTITIES = (
    ("crm", "contacts"),
    ("crm", "orders"),
    ("crm", "tickets"),
    ("crm", "surveys"),
    ("crm", "activities"),
    ("ads", "spend"),
    ("privacy", "erasure_requests"),
)


def generate_landing(
    out: Path,
    customers: int = 2000,
    days: int = 30,
    start: dt.date = dt.date(2026, 1, 1),
    seed: int = 42,
) -> dict:
    """Writes <out>/<source>/<entity>/dt=YYYY-MM-DD/<name>.<ext> and <out>/_manifest.json;
    returns the manifest dict."""
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    world = simulate(customers, days, start, seed)
    landing = Landing(out)
    try:
        _write_all(world, landing, seed)
    finally:
        landing.finish()
    head = {
        "customers": customers,
        "days": days,
        "start": start.isoformat(),
        "seed": seed,
        "stats": world["stats"],
    }
    manifest = landing.manifest(head)
    (out / "_manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


# --------------------------------------------------------------------------- simulation
def simulate(customers: int, days: int, start: dt.date, seed: int) -> dict:
    rng = streams(seed, STREAMS)
    window = days * cat.DAY_MS
    clock = Clock(start, days)
    people = build_people(rng["people"], customers, window)
    trials = xp.build_trials(people.n, days, seed)
    sessions, gone_at = jr.build_base_sessions(rng["sessions"], people, window, trials)
    contacts = ct.build_contacts(rng["contacts"], people, sessions, window)
    erasures = privacy.choose_erasures(rng["privacy"], contacts, people.n, window)
    erased = erasures.erased_at_person
    contacts = ct.drop_after(contacts, erased)
    end = sessions.start + sessions.duration
    sessions = sessions.select(np.flatnonzero(end < erased[sessions.person]))

    # email campaigns, and the visits their clicks bring
    tpl = mail.build_templates(rng["mail"], clock, days)
    msgs, unsub_at, unsub_msg = mail.marketing_messages(rng["mail"], tpl, contacts, erased, window)
    # people open mail as they like it, and much less once they stopped coming back
    open_rate = people.mail_affinity[msgs.person] * np.where(
        msgs.send > gone_at[msgs.person], 0.1, 1.0
    )
    mk_events = mail.simulate_events(rng["mail"], msgs, tpl, unsub_msg, unsub_at, open_rate)
    click_msg, click_t = mail.first_clicks(mk_events)
    clicked = identity.email_click_sessions(
        rng["extra"], click_msg, click_t, msgs, tpl, sessions, contacts, people, gone_at,
        len(cat.TRAFFIC),
    )  # fmt: skip
    sessions, _ = identity.merge_sessions(sessions, clicked, erased, window)
    shared, owners = identity.shared_device_sessions(rng["extra"], sessions, contacts, window)
    sessions, kept = identity.merge_sessions(
        sessions, shared, erased, window, also_device_owner=owners
    )
    ids = identity.final_logins(
        sessions,
        contacts,
        people,
        shared.device[kept],
        shared.start[kept],
        owners[kept],
        window,
    )
    sessions = sessions.select(np.argsort(sessions.start, kind="stable"))
    orders = crm.build_orders(rng["orders"], sessions, ids, contacts, people, erased, window)

    # transactional mail: welcome, order and shipping confirmations
    tx = _transactional(rng["mail"], tpl, contacts, orders, people)
    tx_events = mail.simulate_events(
        rng["mail"], tx, tpl, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    )
    all_msgs = mail.concat_messages([msgs, tx])
    offset = msgs.send.size
    events = mail.MailEvents(
        message=np.r_[mk_events.message, tx_events.message + offset],
        event=np.r_[mk_events.event, tx_events.event],
        t=np.r_[mk_events.t, tx_events.t],
        machine=np.r_[mk_events.machine, tx_events.machine],
        detail=np.r_[mk_events.detail, tx_events.detail],
    )
    person_of_event = all_msgs.person[events.message]
    limit = np.minimum(erased[person_of_event], window)
    events = mail.filter_events(events, (events.t < limit) & (events.t >= 0))
    order = np.lexsort((events.event, events.message, events.t))
    events = mail.filter_events(events, order)

    r = rng["crm"]
    order_rows = crm.with_contact_ids(crm.order_rows(orders, clock), orders, contacts)
    contact_rows, facts = crm.contact_rows(
        r, contacts, people, orders, unsub_at, erased, clock, window
    )
    ticket_rows, tickets = crm.ticket_rows(r, contacts, orders, erased, clock, window)
    survey_rows = crm.survey_rows(r, contacts, orders, tickets, sessions, erased, clock, window)
    activity_rows = crm.activity_rows(
        r, contacts, orders, tickets, facts["sql_at"], erased, clock, window
    )
    spend_rows = ads.spend_rows(rng["ads"], sessions, clock, days)
    erasure_rows = crm.erasure_rows(erasures.at, erasures.email, clock)

    stats = {
        "people": int(people.n),
        "devices": int(people.device_person.size),
        "sessions": len(sessions),
        "web_events_in_sessions": int(sessions.n_events.sum()),
        "contacts": len(contacts),
        "merged_contacts": int((contacts.merged_into >= 0).sum()),
        "orders": len(orders),
        "buyers": int(np.unique(orders.person).size),
        "repeat_buyers": _repeat_buyers(orders),
        "email_click_sessions": int((sessions.email_message >= 0).sum()),
        "email_click_orders": int((sessions.has_order() & (sessions.email_message >= 0)).sum()),
        "email_messages": int(all_msgs.send.size),
        "email_events": int(events.t.size),
        "erasure_requests": int(erasures.at.size),
        "experiment_views": int(xp.total_views(sessions.exp).sum()),
        "experiments": xp.stats(
            trials, sessions, orders, _linked(sessions, contacts), people.n, clock
        ),
    }
    return {
        "clock": clock,
        "days": days,
        "seed": seed,
        "people": people,
        "sessions": sessions,
        "contacts": contacts,
        "ids": ids,
        "orders": orders,
        "tpl": tpl,
        "mail_messages": all_msgs,
        "mail_events": events,
        "csv": {
            ("crm", "contacts"): contact_rows,
            ("crm", "orders"): order_rows,
            ("crm", "tickets"): ticket_rows,
            ("crm", "surveys"): survey_rows,
            ("crm", "activities"): activity_rows,
            ("ads", "spend"): spend_rows,
            ("privacy", "erasure_requests"): erasure_rows,
        },
        "rng_mess": rng["mess"],
        "rng_insert": rng["insert"],
        "stats": stats,
    }


def _linked(sessions: jr.Sessions, contacts: ct.Contacts) -> np.ndarray:
    """Per session, whether its person identified on its device (a sign-up, log-in or
    newsletter form), so that the warehouse counts the device's visits as that person's."""
    device, _, contact = identity.web_identifications(sessions, contacts)
    n = np.int64(sessions.device.max(initial=0)) + 1
    pairs = contacts.person[contact].astype(np.int64) * n + device
    return np.isin(sessions.person.astype(np.int64) * n + sessions.device, pairs)


def _repeat_buyers(orders: crm.Orders) -> int:
    """People with non-cancelled orders on two days or more."""
    placed = orders.final_status != cat.ORDER_STATUSES.index("cancelled")
    days = np.unique(np.c_[orders.person[placed], orders.ordered_at[placed] // cat.DAY_MS], axis=0)
    return int((np.bincount(days[:, 0]) >= 2).sum()) if days.size else 0


def _transactional(
    rng: np.random.Generator,
    tpl: mail.Templates,
    contacts: ct.Contacts,
    orders: crm.Orders,
    people,
) -> mail.Messages:
    base = tpl.n_campaigns
    welcome = np.flatnonzero(
        (contacts.slot == ct.SLOT_MAIN)
        & (contacts.first_stage == cat.LIFECYCLE_STAGES.index("lead"))
    )
    w_send = contacts.created[welcome] + rng.integers(20_000, 90_000, welcome.size)
    o = np.arange(len(orders))
    o_send = orders.ordered_at + rng.integers(10_000, 60_000, o.size)
    shipped = np.flatnonzero(orders.final_status != 2)
    s_send = orders.ordered_at[shipped] + rng.integers(cat.DAY_MS, 2 * cat.DAY_MS, shipped.size)
    send = np.r_[w_send, o_send, s_send]
    template = np.r_[
        np.full(welcome.size, base + mail.TX_WELCOME),
        np.full(o.size, base + mail.TX_ORDER),
        np.full(shipped.size, base + mail.TX_SHIPPING),
    ]
    contact = np.r_[welcome, orders.contact, orders.contact[shipped]]
    person = np.r_[contacts.person[welcome], orders.person, orders.person[shipped]]
    email = pa.concat_arrays(
        [
            take(contacts.email, welcome),
            orders.email,
            take(orders.email, shipped),
        ]
    )
    return mail.Messages(send=send, template=template, contact=contact, person=person, email=email)


# ------------------------------------------------------------------------------ writing
def _csv_drift(entity: str, day: int) -> bool:
    period = {"contacts": 9, "orders": 11, "tickets": 7, "surveys": 8, "activities": 10}
    return entity in period and day % period[entity] == period[entity] // 2


def _csv_gz(entity: str, day: int, part_name: str) -> bool:
    if entity == "spend":
        return part_name == "meta_ads"
    return {"contacts": day % 5 == 2, "orders": day % 7 == 6, "activities": day % 6 == 1}.get(
        entity, False
    )


DRIFT_VALUES = {
    "hs_analytics_num_visits": None,
    "company": ("", "Acme GmbH, Berlin", "Nordic Trail AB", ""),
    "payment_method": ("card", "paypal", "klarna", "apple_pay"),
    "assigned_team": ("tier1", "tier2"),
    "survey_tool": ("Delighted", "Typeform"),
    "owner_email": ("sales.rep1@example-shop.com", "sales.rep2@example-shop.com"),
}


def _write_all(world: dict, landing: Landing, seed: int) -> None:
    clock: Clock = world["clock"]
    days: int = world["days"]
    csv_rows: dict[tuple[str, str], crm.CsvRows] = world["csv"]
    events: mail.MailEvents = world["mail_events"]
    sessions: jr.Sessions = world["sessions"]
    mess = world["rng_mess"]
    ins = world["rng_insert"]

    email_days = sorted(set(np.unique(clock.date_of(events.t)).tolist())) or [0]
    erasure_days = sorted(set(csv_rows[("privacy", "erasure_requests")].day.tolist()))
    # the re-delivered file: the orders file of a day in the middle with some orders
    order_days = csv_rows[("crm", "orders")].day
    counts = np.bincount(order_days, minlength=days)
    with_orders = np.flatnonzero(counts > 0)
    dup_day = (
        int(with_orders[np.argmin(np.abs(with_orders - days // 2))]) if with_orders.size else 0
    )
    dup_day = dup_day if days > 1 else -1
    # (entity, day, file) copied under another name; with a single day, a spend file that
    # never holds planted records stands in for the orders file
    duplicate = (
        (("crm", "orders"), dup_day, "part-0000")
        if days > 1
        else (("ads", "spend"), 0, "linkedin_ads")
    )
    broken_web_day = min(days - 1, max(0, days // 3))
    all_days = list(range(days))
    candidates = {
        messiness.WEB: all_days,
        messiness.EMAIL: email_days,
        ("privacy", "erasure_requests"): erasure_days,
        ("crm", "orders"): [d for d in all_days if d != dup_day] or all_days,
    }
    for key in CSV_ENTITIES:
        candidates.setdefault(key, all_days)
    expected = {key: len(rows) for key, rows in csv_rows.items()}
    expected[messiness.WEB] = int(sessions.n_events.sum())
    expected[messiness.EMAIL] = int(events.t.size)
    plan = messiness.plan(mess, candidates, expected)
    counter = iter(range(10**9))

    _write_web(world, landing, plan, mess, ins, counter, seed)
    landing.write_broken(
        "web", "events", clock.day(broken_web_day), "part-0001.jsonl.gz",
        messiness.not_gzip_bytes(mess), "not_gzip",
    )  # fmt: skip
    _write_email(world, landing, plan, mess, ins, counter, email_days)
    for key in CSV_ENTITIES:
        _write_csv(world, landing, key, csv_rows[key], plan, ins, counter, duplicate)
    # whole-file problems in CSV: a file without header, a file that is not UTF-8
    header = list(cat.CSV_COLUMNS["activities"])
    day = min(days - 1, max(0, days // 2 + 1))
    raw, _ = messiness.headerless_csv("activities", header, clock.day(day))
    landing.write_broken(
        "crm", "activities", clock.day(day), "part-0001.csv", raw, "missing_header"
    )
    header = list(cat.CSV_COLUMNS["surveys"])
    day = min(days - 1, max(0, (2 * days) // 3))
    raw, _ = messiness.latin1_csv("surveys", header, clock.day(day))
    landing.write_broken("crm", "surveys", clock.day(day), "part-0001.csv", raw, "not_utf8")


def _plants(plan, source, entity, day) -> list[str]:
    return plan.get((source, entity, day), [])


def _write_web(world, landing, plan, mess, ins, counter, seed) -> None:
    clock: Clock = world["clock"]
    days: int = world["days"]
    renderer = web.WebRenderer(
        world["sessions"], world["people"], world["contacts"], world["ids"], world["orders"],
        world["tpl"], clock, seed,
    )  # fmt: skip
    written = set()
    for day, batch in web.received_batches(world["sessions"], world["people"], days):
        _web_file(renderer, landing, plan, mess, ins, counter, clock, day, batch)
        written.add(day)
    for day in range(days):
        if day not in written:
            _web_file(renderer, landing, plan, mess, ins, counter, clock, day, None)


def _web_file(renderer, landing, plan, mess, ins, counter, clock, day, batch) -> None:
    drift = day % 5 == 2
    n_ev = 0 if batch is None else batch.kind.size
    n_bots = 1 + int(hash_int(day, n=max(2, n_ev // 150 + 2), salt=5))
    bot_recv, bot_lines = renderer.bot_lines(day, n_bots)
    if batch is not None:
        lines = renderer.lines(batch, drift)
        recv = np.r_[batch.recv, bot_recv]
        lines = pa.concat_arrays([lines, bot_lines])
        lines = lines.take(pa.array(np.argsort(recv, kind="stable")))
    else:
        lines = bot_lines.take(pa.array(np.argsort(bot_recv, kind="stable")))
    body = joined_bytes(lines)
    kinds = _plants(plan, "web", "events", day)
    bad = [messiness.bad_web_line(k, clock.day(day), next(counter), mess) for k in kinds]
    body, numbers = insert_lines(body, bad, ins)
    name = "part-0000.jsonl" if day % 6 == 4 else "part-0000.jsonl.gz"
    landing.write(
        "web",
        "events",
        clock.day(day),
        name,
        body,
        len(lines) + len(bad),
        list(zip(numbers, kinds, strict=True)),
    )


def _write_email(world, landing, plan, mess, ins, counter, email_days) -> None:
    clock: Clock = world["clock"]
    events: mail.MailEvents = world["mail_events"]
    renderer = mail.MailRenderer(world["tpl"], world["mail_messages"], world["people"], clock)
    day_of = clock.date_of(events.t)
    bounds = np.searchsorted(day_of, np.arange(world["days"] + 1))
    for day in email_days:
        lo, hi = int(bounds[day]), int(bounds[day + 1])
        sel = np.arange(lo, hi)
        ev = mail.filter_events(events, sel)
        body = joined_bytes(renderer.lines(ev, lo, drift=day % 4 == 1)) if sel.size else b""
        kinds = _plants(plan, "email", "events", day)
        bad = [messiness.bad_email_line(k, clock.day(day), next(counter), mess) for k in kinds]
        body, numbers = insert_lines(body, bad, ins)
        landing.write(
            "email",
            "events",
            clock.day(day),
            "part-0000.jsonl",
            body,
            sel.size + len(bad),
            list(zip(numbers, kinds, strict=True)),
        )


def _write_csv(world, landing, key, rows: crm.CsvRows, plan, ins, counter, duplicate) -> None:
    clock: Clock = world["clock"]
    days: int = world["days"]
    source, entity = key
    contract = list(cat.CSV_COLUMNS[entity])
    drift_cols = list(cat.DRIFT_COLUMNS[entity])
    part = rows.part if rows.part is not None else np.zeros(len(rows), dtype=np.int64)
    order = np.lexsort((np.arange(len(rows)), rows.t, part, rows.day))
    day_sorted = rows.day[order]
    part_sorted = part[order]
    values = {name: col.take(pa.array(order)).to_pylist() for name, col in rows.columns.items()}
    for name in contract:
        text = "".join(v for v in values[name][:1000])
        assert "\n" not in text and "\r" not in text, (entity, name)
    day_bounds = np.searchsorted(day_sorted, np.arange(days + 1))
    only_days = None
    if entity == "erasure_requests":
        only_days = set(day_sorted.tolist())
    for day in range(days):
        if only_days is not None and day not in only_days:
            continue
        lo, hi = int(day_bounds[day]), int(day_bounds[day + 1])
        for p, part_name in enumerate(rows.part_names):
            idx = np.arange(lo, hi)[part_sorted[lo:hi] == p]
            drift = _csv_drift(entity, day) or (entity == "spend" and part_name == "meta_ads")
            header = contract + (drift_cols if drift else [])
            columns = []
            for name in header:
                if name in values:
                    col = values[name]
                    columns.append([col[i] for i in idx.tolist()])
                else:
                    columns.append(_drift_values(name, idx))
            body = csv_text([list(r) for r in zip(*columns, strict=True)]) if idx.size else b""
            kinds = _plants(plan, source, entity, day) if p == 0 else []
            bad = [
                messiness.bad_csv_line(entity, k, header, clock.day(day), next(counter))
                for k in kinds
            ]
            body, numbers = insert_lines(body, bad, ins, lines_before=1)
            ext = ".csv.gz" if _csv_gz(entity, day, part_name) else ".csv"
            name = f"{part_name}{ext}"
            data = csv_header(header) + body
            records = int(idx.size) + len(bad)
            landing.write(
                source,
                entity,
                clock.day(day),
                name,
                data,
                records,
                list(zip(numbers, kinds, strict=True)),
            )
            if (key, day, part_name) == duplicate:
                copy = f"{part_name}-redelivered{ext}"
                rel = landing.write(source, entity, clock.day(day), copy, data, records)
                landing.duplicates.append(
                    {"file": rel, "copy_of": landing.rel(source, entity, clock.day(day), name)}
                )


def _drift_values(name: str, idx: np.ndarray) -> list[str]:
    choices = DRIFT_VALUES.get(name)
    if choices is None:
        return [str(v) for v in hash_int(idx, n=40, salt=61).tolist()]
    picks = hash_int(idx, n=len(choices), salt=62).tolist()
    return [choices[i] for i in picks]
