"""Who is logged in where: extra sessions (email clicks, shared devices), logins, and the
timeline of identify calls per device that decides each web message's userId."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import contacts as ct
from journey_tools.sample_data import journeys as jr
from journey_tools.sample_data import mail
from journey_tools.sample_data.people import People
from journey_tools.sample_data.rand import pick_weighted
from journey_tools.sample_data.text import at

EMAIL_UID_BASE = 1 << 40
SHARED_UID_BASE = 2 << 40


def _new_sessions(
    uid: np.ndarray,
    person: np.ndarray,
    device: np.ndarray,
    start: np.ndarray,
    traffic: np.ndarray,
    seglen: np.ndarray,
    ident_person: np.ndarray,
    email_message: np.ndarray,
) -> jr.Sessions:
    s = jr.Sessions(
        uid=uid,
        person=person,
        device=device,
        start=start,
        traffic=traffic,
        seglen=seglen,
        ident_person=ident_person,
        ident_slot=np.zeros(uid.size, dtype=np.int8),
        email_message=email_message,
        duration=np.zeros(uid.size, dtype=np.int64),
        exp=np.zeros(uid.size, dtype=np.int16),
    )
    s.duration = jr.durations(s)
    return s


def _seglen(rng: np.random.Generator, n: int, buys: np.ndarray, login: bool) -> np.ndarray:
    seglen = np.zeros((n, jr.N_SEGMENTS), dtype=np.int16)
    seglen[:, jr.SEG_LANDING] = 1
    seglen[:, jr.SEG_LOGIN] = int(login)
    seglen[:, jr.SEG_BROWSE] = np.where(
        rng.random(n) < 0.3, 0, np.minimum(rng.geometric(0.25, n), 20)
    )
    depth = np.where(rng.random(n) < 0.08, pick_weighted(rng.random(n), [0.45, 0.3, 0.25]) + 1, 0)
    seglen[:, jr.SEG_FUNNEL] = np.where(buys, 3, depth)
    seglen[:, jr.SEG_ORDER] = buys
    return seglen


def web_identifications(
    s: jr.Sessions, contacts: ct.Contacts
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where people identified on the web: (device, session start, contact that survives every
    merge), sorted by (contact, start). Sign-ups and logins name a contact by its userId,
    newsletter forms by its email (the main contact's)."""
    pi = np.maximum(s.ident_person, 0)
    named = np.where(s.ident_slot == 1, contacts.web_dup_of_person[pi], contacts.main_of_person[pi])
    named = np.where(s.has_identify() & (s.ident_person >= 0), named, -1)
    news = np.where(s.seglen[:, jr.SEG_NEWSLETTER] > 0, contacts.main_of_person[s.person], -1)
    rows = np.r_[np.flatnonzero(named >= 0), np.flatnonzero(news >= 0)]
    contact = np.r_[named[named >= 0], news[news >= 0]]
    key = contacts.survivor(contact)
    start = s.start[rows]
    order = np.lexsort((start, key))
    return s.device[rows][order], start[order], key[order]


def _last_before(
    group: np.ndarray, t: np.ndarray, q_group: np.ndarray, q_t: np.ndarray
) -> np.ndarray:
    """Index of the last row of `q_group` with a time before `q_t` (-1 if none); rows are
    sorted by (group, t)."""
    if group.size == 0 or q_group.size == 0:
        return np.full(q_group.size, -1, dtype=np.int64)
    pos = jr._searchsorted2(group, t, q_group, q_t) - 1
    hit = (pos >= 0) & (group[np.maximum(pos, 0)] == q_group)
    return np.where(hit, pos, -1)


def email_click_sessions(
    rng: np.random.Generator,
    click_message: np.ndarray,
    click_time: np.ndarray,
    msgs: mail.Messages,
    tpl: mail.Templates,
    base: jr.Sessions,
    contacts: ct.Contacts,
    people: People,
    gone_at: np.ndarray,
    n_static_traffic: int,
) -> jr.Sessions:
    """Sessions opened by marketing-email clicks (most clicks land on the site): a minute or
    so after the click, landing on the link's page with its UTM parameters, on a device where
    the recipient has identified before (the one they used last, sometimes their first), so
    that the visit can be told to be theirs. A click opens no visit when the recipient never
    identified on a device whose clock is right to a few minutes."""
    n = click_message.size
    lands = rng.random(n) < 0.85
    delay = 3_000 + np.minimum(rng.exponential(40_000, n), 240_000).astype(np.int64)
    latest_first = rng.random(n) < 0.75
    u_buy = rng.random(n)
    msg, t = click_message, click_time
    person = msgs.person[msg]
    start = t + delay

    device, since, key = web_identifications(base, contacts)
    target = contacts.survivor(msgs.contact[msg])
    last = _last_before(key, since, target, t)
    has = last >= 0
    first = np.searchsorted(key, target, side="left") if key.size else last
    last_dev = at(device, last, 0)
    first_dev = at(device, np.where(has, first, -1), 0)
    skew = people.device_skew

    def clock_ok(dev: np.ndarray) -> np.ndarray:
        shown = delay + skew[dev]  # the session's first timestamp minus the click's
        return (shown >= 1_000) & (shown <= 15 * cat.MINUTE_MS)

    pick = np.where(latest_first, last_dev, first_dev)
    other = np.where(latest_first, first_dev, last_dev)
    pick = np.where(clock_ok(pick), pick, other)
    keep = np.flatnonzero(lands & has & clock_ok(pick))

    # Campaigns sell: promotions more than newsletters, and to those who meant to buy. Not
    # again within two days of an order, and seldom once they have left.
    ordered = np.flatnonzero(base.has_order())
    o_order = np.lexsort((base.start[ordered], base.person[ordered]))
    ordered = ordered[o_order]
    prev = _last_before(base.person[ordered], base.start[ordered], person, start)
    prev_t = at(base.start[ordered], prev, -(10**15))
    promo = np.r_[tpl.promo, np.zeros(len(tpl.slug) - tpl.n_campaigns, dtype=bool)]
    p_buy = np.minimum(0.03 + 0.03 * promo[msgs.template[msg]] + 1.5 * people.intent[person], 0.5)
    p_buy = np.where(gone_at[person] < t, 0.3 * p_buy, p_buy)
    buys = (u_buy < p_buy) & (prev_t < start - 2 * cat.DAY_MS)

    msg, person, start, pick, buys = msg[keep], person[keep], start[keep], pick[keep], buys[keep]
    k = keep.size
    return _new_sessions(
        uid=EMAIL_UID_BASE + np.arange(k, dtype=np.int64),
        person=person,
        device=pick,
        start=start,
        traffic=n_static_traffic + msgs.template[msg],
        seglen=_seglen(rng, k, buys, login=False),
        ident_person=np.full(k, jr.NO_ONE, dtype=np.int64),
        email_message=msg,
    )


def shared_device_sessions(
    rng: np.random.Generator,
    sessions: jr.Sessions,
    contacts: ct.Contacts,
    window_ms: int,
) -> tuple[jr.Sessions, np.ndarray]:
    """Someone logs in on another person's device (a family computer). Returns the sessions
    and, per session, the device owner whose next visit there logs in again."""
    sign = np.flatnonzero(sessions.has_identify() & (sessions.ident_slot == 0))
    _, first = np.unique(sessions.person[sign], return_index=True)
    owners_s = sign[first]
    owner = sessions.person[owners_s]
    owner_device = sessions.device[owners_s]
    owner_contact = contacts.main_of_person[owner]
    ok = owner_contact >= 0
    owner, owner_device, owner_contact = owner[ok], owner_device[ok], owner_contact[ok]
    mains = np.flatnonzero(contacts.slot == ct.SLOT_MAIN)
    if owner.size == 0 or mains.size < 2:
        empty = np.zeros(0, dtype=np.int64)
        return sessions.select(empty), empty
    n = min(max(1, round(0.004 * owner.size)), owner.size)
    pick = np.sort(rng.choice(owner.size, size=n, replace=False))
    guest_contact = mains[rng.integers(0, mains.size, n)]
    clash = contacts.person[guest_contact] == owner[pick]
    guest_contact = np.where(
        clash, mains[(np.searchsorted(mains, guest_contact) + 1) % mains.size], guest_contact
    )
    guest = contacts.person[guest_contact]
    valid = guest != owner[pick]
    pick, guest, guest_contact = pick[valid], guest[valid], guest_contact[valid]
    after = np.maximum(contacts.created[owner_contact[pick]], contacts.created[guest_contact])
    start = after + rng.integers(cat.HOUR_MS, 5 * cat.DAY_MS, pick.size)
    inside = start < window_ms - cat.HOUR_MS
    pick, guest, start = pick[inside], guest[inside], start[inside]
    k = pick.size
    direct = next(i for i, t in enumerate(cat.TRAFFIC) if t.family == "direct")
    s = _new_sessions(
        uid=SHARED_UID_BASE + np.arange(k, dtype=np.int64),
        person=guest,
        device=owner_device[pick],
        start=start,
        traffic=np.full(k, direct, dtype=np.int64),
        seglen=_seglen(rng, k, np.zeros(k, dtype=bool), login=True),
        ident_person=guest,
        email_message=np.full(k, -1, dtype=np.int64),
    )
    return s, owner[pick]


def merge_sessions(
    base: jr.Sessions,
    candidates: jr.Sessions,
    erased_at_person: np.ndarray,
    window_ms: int,
    also_device_owner: np.ndarray | None = None,
) -> tuple[jr.Sessions, np.ndarray]:
    """Adds candidate sessions that keep their distance to the person's (and, for shared
    devices, the device owner's) other sessions. Returns the sessions sorted by (person,
    start) and which candidates were kept."""
    order = np.lexsort((base.start, base.person))
    base = base.select(order)
    end = base.start + base.duration
    c = candidates
    c_end = c.start + c.duration
    ok = (c.start < window_ms) & (c_end < erased_at_person[c.person])
    ok &= jr.fits(base.person, base.start, end, c.person, c.start, c_end)
    if also_device_owner is not None:
        ok &= jr.fits(base.person, base.start, end, also_device_owner, c.start, c_end)
        ok &= c_end < erased_at_person[also_device_owner]
    ok &= jr.non_overlapping(c.person, c.start, c_end)
    merged = jr.Sessions.concat([base, c.select(np.flatnonzero(ok))])
    order = np.lexsort((merged.start, merged.person))
    return merged.select(order), ok


@dataclass
class Identities:
    """Identify calls per device, sorted by (device, time)."""

    device: np.ndarray
    t: np.ndarray
    contact: np.ndarray
    _key: np.ndarray
    _span: int

    def contact_at(self, device: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The contact of the device's latest identify at or before `t` (-1 if none)."""
        if self.device.size == 0:
            return np.full(np.shape(device), -1, dtype=np.int64)
        q = np.asarray(device, dtype=np.int64) * self._span + (np.asarray(t) + self._span // 2)
        pos = np.searchsorted(self._key, q, side="right") - 1
        posc = np.maximum(pos, 0)
        hit = (pos >= 0) & (self.device[posc] == device)
        return np.where(hit, self.contact[posc], -1)


def identify_contacts(sessions: jr.Sessions, contacts: ct.Contacts, t: np.ndarray) -> np.ndarray:
    """Contact named by each identifying session's identify (resolved through merges done
    by then); -1 when that contact does not exist."""
    person = sessions.ident_person
    valid = person >= 0
    pc_ = np.maximum(person, 0)
    contact = np.where(
        sessions.ident_slot == 1,
        contacts.web_dup_of_person[pc_],
        contacts.main_of_person[pc_],
    )
    contact = np.where(valid, contact, -1)
    return contacts.resolve(contact, t)


def _identify_time(s: jr.Sessions, idx: np.ndarray) -> np.ndarray:
    t = np.full(idx.size, -1, dtype=np.int64)
    for seg in (jr.SEG_LOGIN, jr.SEG_SIGNUP, jr.SEG_CHECKOUT_SIGNUP):
        m = s.seglen[idx, seg] > 0
        if m.any():
            off = 0 if seg == jr.SEG_LOGIN else 1
            t[m] = jr.event_time(s, idx[m], seg, off)
    return t


def build_identities(s: jr.Sessions, contacts: ct.Contacts, window_ms: int) -> Identities:
    idx = np.flatnonzero(s.has_identify())
    t = _identify_time(s, idx)
    contact = identify_contacts(s.select(idx), contacts, t)
    ok = contact >= 0
    device, t, contact = s.device[idx][ok], t[ok], contact[ok]
    span = 4 * (window_ms + 10 * cat.DAY_MS)
    key = device.astype(np.int64) * span + (t + span // 2)
    order = np.argsort(key, kind="stable")
    return Identities(device[order], t[order], contact[order], key[order], span)


def add_login(s: jr.Sessions, idx: np.ndarray) -> None:
    """Makes sessions `idx` log in (as their person's main contact) right after landing."""
    idx = np.unique(idx[~s.has_identify()[idx]])
    if idx.size == 0:
        return
    s.seglen[idx, jr.SEG_LOGIN] = 1
    s.ident_person[idx] = s.person[idx]
    s.ident_slot[idx] = 0
    s.duration[idx] = jr.durations(s, idx)


def final_logins(
    s: jr.Sessions,
    contacts: ct.Contacts,
    people: People,
    shared_owner_device: np.ndarray,
    shared_owner_after: np.ndarray,
    shared_owner: np.ndarray,
    window_ms: int,
) -> Identities:
    """Logs device owners back in after someone else used their device, and makes account
    holders log in at checkout. Sessions must be sorted by (person, start)."""
    # 1. the owner's next session on that device after the other person's visit
    if shared_owner.size:
        order = np.lexsort((s.start, s.device))
        dev, st = s.device[order], s.start[order]
        pos = jr._searchsorted2(dev, st, shared_owner_device, shared_owner_after + 1)
        posc = np.minimum(pos, dev.size - 1)
        ok = (pos < dev.size) & (dev[posc] == shared_owner_device)
        nxt = order[posc[ok]]
        nxt = nxt[s.person[nxt] == shared_owner[ok]]
        nxt = nxt[~s.has_identify()[nxt]]
        add_login(s, nxt)
    # 2. account holders buying on a device where they are not logged in
    ids = build_identities(s, contacts, window_ms)
    buys = np.flatnonzero(s.has_order() & ~s.has_identify())
    who = ids.contact_at(s.device[buys], s.start[buys])
    who_person = at(contacts.person, who, -1)
    main = contacts.main_of_person[s.person[buys]]
    need = (
        (who_person != s.person[buys])
        & people.account_checkout[s.person[buys]]
        & (at(contacts.created, main, ct.NEVER) <= s.start[buys])
    )
    add_login(s, buys[need])
    # 3. identify segments that name no contact (e.g. created after the window) are dropped
    ids_idx = np.flatnonzero(s.has_identify())
    t = _identify_time(s, ids_idx)
    contact = identify_contacts(s.select(ids_idx), contacts, t)
    bad = ids_idx[contact < 0]
    if bad.size:
        s.seglen[bad, jr.SEG_LOGIN] = 0
        s.seglen[bad, jr.SEG_SIGNUP] = 0
        s.seglen[bad, jr.SEG_CHECKOUT_SIGNUP] = 0
        s.ident_person[bad] = jr.NO_ONE
        s.duration[bad] = jr.durations(s, bad)
    return build_identities(s, contacts, window_ms)
