"""Web sessions of people: when they visit, from where, on which device, what they do.

A session is a row; its events are rebuilt from the row on demand (`expand`), chunk by chunk,
with counter-based randomness keyed by the session's `uid`, so that nothing per event is kept
in memory for the whole window.

A session's events come in segments, in this order (each may be empty):

    0 landing page (then an `Experiment Viewed` per A/B test it shows)  1 login identify
    2 browsing  3 newsletter form + identify (traits only)
    4 sign-up + identify  5 funnel (added, cart, checkout)  6 sign-up at checkout + identify
    7 Order Completed
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import experiments as xp
from journey_tools.sample_data.people import People, time_of_day
from journey_tools.sample_data.rand import Salt, hash_exp, hash_u01, pick_weighted

# Event kinds
PAGE, IDENTIFY, IDENTIFY_TRAITS = 0, 1, 2
SEARCHED, LIST_VIEWED, VIEWED, ADDED, CART, CHECKOUT, ORDER, SIGNED_UP, FORM = range(3, 12)
EXPERIMENT = 12
N_KINDS = 13
KIND_TYPE = np.array([0, 2, 2] + [1] * 10)  # index into WEB_TYPES: page, track, identify
KIND_EVENT = (None, None, None, *cat.TRACK_EVENTS)

SEG_LANDING, SEG_LOGIN, SEG_BROWSE, SEG_NEWSLETTER = 0, 1, 2, 3
SEG_SIGNUP, SEG_FUNNEL, SEG_CHECKOUT_SIGNUP, SEG_ORDER = 4, 5, 6, 7
N_SEGMENTS = 8
_SEG_KINDS = np.full((N_SEGMENTS, 3), PAGE)
_SEG_KINDS[SEG_LANDING, 1:] = EXPERIMENT
_SEG_KINDS[SEG_LOGIN, 0] = IDENTIFY
_SEG_KINDS[SEG_NEWSLETTER, :2] = (FORM, IDENTIFY_TRAITS)
_SEG_KINDS[SEG_SIGNUP, :2] = (SIGNED_UP, IDENTIFY)
_SEG_KINDS[SEG_FUNNEL, :3] = (ADDED, CART, CHECKOUT)
_SEG_KINDS[SEG_CHECKOUT_SIGNUP, :2] = (SIGNED_UP, IDENTIFY)
_SEG_KINDS[SEG_ORDER, 0] = ORDER
BROWSE_KINDS = np.array([PAGE, VIEWED, LIST_VIEWED, SEARCHED, ADDED, FORM])
BROWSE_WEIGHTS = np.array([0.46, 0.26, 0.14, 0.08, 0.05, 0.01])
# Mean seconds before an event of each kind, and bounds.
_GAP_MEAN = np.array([45, 2, 1, 20, 30, 40, 25, 15, 30, 90, 45, 40, 1], dtype=np.float64)
_GAP_MIN = np.array([3, 1, 1, 3, 3, 3, 3, 2, 5, 30, 10, 5, 0.2], dtype=np.float64)
_GAP_MAX = np.array([600, 3, 2, 300, 400, 500, 300, 200, 400, 600, 300, 400, 4], dtype=np.float64)

SESSION_MARGIN_MS = 35 * cat.MINUTE_MS  # sessions of one person are at least this far apart
NO_ONE = -1
NEVER = np.iinfo(np.int64).max // 4  # the same as contacts.NEVER


@dataclass
class Sessions:
    uid: np.ndarray  # stable id, keys all per-event randomness
    person: np.ndarray
    device: np.ndarray
    start: np.ndarray  # ms since window start
    traffic: np.ndarray  # index into the traffic table (TRAFFIC, then one row per email campaign)
    seglen: np.ndarray  # (n, 8) events per segment
    ident_person: np.ndarray  # whose contact the session's identify is (-1: none)
    ident_slot: np.ndarray  # 0: that person's main contact, 1: their duplicate contact
    email_message: np.ndarray  # email message whose click opened the session (-1: none)
    duration: np.ndarray  # ms from first to last event
    exp: np.ndarray  # the A/B tests the landing page shows (experiments.session_codes)

    def __len__(self) -> int:
        return int(self.uid.size)

    def select(self, idx: np.ndarray) -> Sessions:
        return Sessions(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Sessions]) -> Sessions:
        return Sessions(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(Sessions)
            }
        )

    @property
    def n_events(self) -> np.ndarray:
        return self.seglen.sum(axis=1)

    def has_identify(self) -> np.ndarray:
        s = self.seglen
        return (s[:, SEG_LOGIN] + s[:, SEG_SIGNUP] + s[:, SEG_CHECKOUT_SIGNUP]) > 0

    def has_order(self) -> np.ndarray:
        return self.seglen[:, SEG_ORDER] > 0


@dataclass
class Events:
    session: np.ndarray  # index into the Sessions the events were expanded from
    seg: np.ndarray
    off: np.ndarray
    kind: np.ndarray
    t: np.ndarray  # true time, ms since window start


def expand(s: Sessions, idx: np.ndarray) -> Events:
    """The events of sessions `idx`, in session then time order."""
    idx = np.asarray(idx, dtype=np.int64)
    seglen = s.seglen[idx].astype(np.int64)
    n = seglen.sum(axis=1)
    total = int(n.sum())
    first = np.cumsum(n) - n
    ev_s = np.repeat(idx, n)
    local = np.repeat(np.arange(idx.size), n)
    pos = np.arange(total) - first[local]
    ends = np.cumsum(seglen, axis=1)  # (m, 8) end of each segment
    seg = np.zeros(total, dtype=np.int64)
    for k in range(N_SEGMENTS - 1):
        seg += pos >= ends[local, k]
    seg_start = np.where(seg > 0, ends[local, np.maximum(seg - 1, 0)], 0)
    off = pos - seg_start
    uid = s.uid[ev_s]
    kind = _SEG_KINDS[seg, np.minimum(off, 2)]
    browse = seg == SEG_BROWSE
    if browse.any():
        u = hash_u01(uid[browse], seg[browse], off[browse], salt=Salt.BROWSE_KIND)
        kind[browse] = BROWSE_KINDS[pick_weighted(u, BROWSE_WEIGHTS)]
    gap_s = hash_exp(uid, seg, off, mean=1.0, salt=Salt.GAP) * _GAP_MEAN[kind]
    gap = (np.clip(gap_s, _GAP_MIN[kind], _GAP_MAX[kind]) * 1000).astype(np.int64)
    gap[pos == 0] = 0
    cs = np.cumsum(gap)
    t_rel = cs - np.repeat(cs[first], n)
    return Events(session=ev_s, seg=seg, off=off, kind=kind, t=s.start[ev_s] + t_rel)


def durations(s: Sessions, idx: np.ndarray | None = None, chunk: int = 400_000) -> np.ndarray:
    """Duration (first to last event) of sessions `idx` (all by default), in chunks."""
    idx = np.arange(len(s)) if idx is None else np.asarray(idx, dtype=np.int64)
    out = np.zeros(idx.size, dtype=np.int64)
    n = s.n_events[idx]
    bounds = np.searchsorted(np.cumsum(n), np.arange(chunk, int(n.sum()) + chunk, chunk))
    lo = 0
    for hi in np.unique(np.append(bounds, idx.size)):
        hi = int(min(hi + 1, idx.size))
        if hi <= lo:
            continue
        ev = expand(s, idx[lo:hi])
        last = np.cumsum(n[lo:hi]) - 1
        out[lo:hi] = ev.t[last] - s.start[idx[lo:hi]]
        lo = hi
    return out


def event_time(s: Sessions, idx: np.ndarray, segment: int, offset: int) -> np.ndarray:
    """True time of the event at (segment, offset) of each session in `idx`."""
    ev = expand(s, idx)
    hit = (ev.seg == segment) & (ev.off == offset)
    out = np.full(len(idx), -1, dtype=np.int64)
    pos = np.searchsorted(idx, ev.session[hit]) if np.all(np.diff(idx) > 0) else None
    if pos is None:
        order = np.argsort(idx, kind="stable")
        pos = order[np.searchsorted(idx[order], ev.session[hit])]
    out[pos] = ev.t[hit]
    return out


def _first_per_group(group: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Indices of the first True of `mask` per group value (rows already in order)."""
    cand = np.flatnonzero(mask)
    _, first = np.unique(group[cand], return_index=True)
    return cand[first]


def traffic_families() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for fam in cat.FAMILIES:
        rows = np.array([i for i, t in enumerate(cat.TRAFFIC) if t.family == fam])
        weights = np.array([cat.TRAFFIC[i].weight for i in rows])
        out[fam] = (rows, weights)
    return out


def _draw_traffic(rng: np.random.Generator, first: np.ndarray) -> np.ndarray:
    n = first.size
    fams = traffic_families()
    fam_first = pick_weighted(rng.random(n), cat.FIRST_VISIT_MIX)
    fam_return = pick_weighted(rng.random(n), cat.RETURN_VISIT_MIX)
    fam = np.where(first, fam_first, fam_return)
    out = np.zeros(n, dtype=np.int64)
    u = rng.random(n)
    for f, name in enumerate(cat.FAMILIES):
        m = fam == f
        rows, weights = fams[name]
        out[m] = rows[pick_weighted(u[m], weights)]
    return out


def _visit_times(
    rng: np.random.Generator, people: People, window_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each person's visits: (person, time), sorted by person then time. The visit rate fades
    after discovery: rate x exp(-days since discovery / interest_days)."""
    p = people
    remaining = (window_ms - p.discovered) / cat.DAY_MS
    tau = p.interest_days
    span = -tau * np.expm1(-remaining / tau)  # integral of the fading rate, in days
    n_sess = 1 + np.minimum(rng.poisson(p.visit_rate * span), 150)
    person = np.repeat(np.arange(p.n), n_sess)
    total = person.size
    first_idx = np.cumsum(n_sess) - n_sess
    rank = np.arange(total) - np.repeat(first_idx, n_sess)
    disc = p.discovered[person]
    tau_s = tau[person]
    # inverse of the fading rate's cumulative distribution over the remaining days
    u = rng.random(total) * -np.expm1(-remaining[person] / tau_s)
    day_off = (-tau_s * np.log1p(-u)).astype(np.int64)
    t = (disc // cat.DAY_MS + day_off) * cat.DAY_MS + time_of_day(rng, total)
    t = np.where(rank == 0, disc, np.maximum(t, disc + 1))
    order = np.lexsort((t, person))
    return person, t[order]


def _after_orders(
    person: np.ndarray,
    t: np.ndarray,
    u_buy: np.ndarray,
    p_buy: np.ndarray,
    quiet: np.ndarray,
    leaves: np.ndarray,
    trials: xp.Trials,
    shown: np.ndarray,
    n_people: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which visits happen, given what the person's orders do: nobody shops again within the
    `quiet` ms after an order, and after an order that `leaves`, the person does not come
    back. A visit ends with an order when `u_buy` < `p_buy` times the lift of the A/B tests
    the person was first shown in the conversion window before it (`shown`: the tests each
    visit would show). Rows are sorted by (person, time). Returns the mask of visits kept,
    which of them end with an order and, per person, when they left (NEVER if they did not)."""
    n_sess = np.bincount(person, minlength=n_people)
    first_idx = np.cumsum(n_sess) - n_sess
    kept = np.zeros(t.size, dtype=bool)
    buys = np.zeros(t.size, dtype=bool)
    until = np.full(n_people, np.iinfo(np.int64).min, dtype=np.int64)
    gone_at = np.full(n_people, NEVER, dtype=np.int64)
    first_seen = np.full((n_people, shown.shape[1]), xp.NEVER, dtype=np.int64)
    who = np.flatnonzero(n_sess > 0)
    for r in range(int(n_sess.max(initial=0))):
        who = who[n_sess[who] > r]
        i = first_idx[who] + r
        ok = (gone_at[who] == NEVER) & (t[i] >= until[who])
        kept[i] = ok
        seen = first_seen[who]
        new = ok[:, None] & shown[i] & (seen == xp.NEVER)
        seen = np.where(new, t[i][:, None], seen)
        first_seen[who] = seen
        b = ok & (u_buy[i] < p_buy[i] * xp.order_lift(trials, who, seen, t[i]))
        buys[i] = b
        until[who[b]] = t[i[b]] + quiet[i[b]]
        left = b & leaves[i]
        gone_at[who[left]] = t[i[left]]
    return kept, buys, gone_at


def build_base_sessions(
    rng: np.random.Generator, people: People, window_ms: int, trials: xp.Trials
) -> tuple[Sessions, np.ndarray]:
    """The visits people make on their own (not opened by an email), with the A/B tests they
    show. Returns the sessions and, per person, when they stopped coming back after an order
    (NEVER if they did not)."""
    p = people
    person, t = _visit_times(rng, p, window_ms)
    first = np.r_[True, person[1:] != person[:-1]]
    u_buy = rng.random(person.size)
    p_buy = p.intent[person] * np.where(first, 0.5, 1.0)
    # After an order: days without a visit (median 3.5, 10 % under 1.5), sometimes gone for good.
    quiet = (
        cat.DAY_MS // 2 + np.exp(rng.normal(np.log(3.0), 0.9, person.size)) * cat.DAY_MS
    ).astype(np.int64)
    leaves = rng.random(person.size) < p.churn[person]
    shown = xp.shows(trials, person, t)
    kept, buys, gone_at = _after_orders(person, t, u_buy, p_buy, quiet, leaves, trials, shown, p.n)
    person, t, buys, shown = person[kept], t[kept], buys[kept], shown[kept]
    total = person.size
    n_sess = np.bincount(person, minlength=p.n)
    first_idx = np.cumsum(n_sess) - n_sess
    rank = np.arange(total) - np.repeat(first_idx, n_sess)

    # Device: the first visit on the main device, later ones mostly there too.
    dev_rank = np.minimum(
        (rng.random(total) ** 1.8 * p.n_devices[person]).astype(np.int64),
        p.n_devices[person] - 1,
    )
    dev_rank[rank == 0] = 0
    device = p.device_start[person] + dev_rank
    traffic = _draw_traffic(rng, rank == 0)
    exp = xp.session_codes(trials, person, device, t, shown, p.n)

    n_browse = np.where(
        rng.random(total) < np.where(rank == 0, 0.38, 0.25),
        1,
        1 + np.minimum(rng.geometric(0.22, total), 24),
    )
    depth = np.where(
        rng.random(total) < 0.07, pick_weighted(rng.random(total), [0.45, 0.3, 0.25]) + 1, 0
    )
    depth = np.where(buys, 3, depth)

    big = np.iinfo(np.int64).max // 4
    first_buy = np.full(p.n, big, dtype=np.int64)
    np.minimum.at(first_buy, person[buys], rank[buys])
    planned = np.where(
        p.will_sign_up, (rng.random(p.n) * np.minimum(n_sess, 6)).astype(np.int64), big
    )
    checkout_signup = p.account_checkout & (first_buy <= planned) & (first_buy < big)
    signup_rank = np.where(checkout_signup, first_buy, planned)
    newsletter_rank = np.where(
        p.will_subscribe, (rng.random(p.n) * np.minimum(n_sess, 4)).astype(np.int64), big
    )
    newsletter_rank = np.where(newsletter_rank < signup_rank, newsletter_rank, big)

    sr = signup_rank[person]
    is_signup = rank == sr
    seglen = np.zeros((total, N_SEGMENTS), dtype=np.int16)
    seglen[:, SEG_LANDING] = 1 + xp.total_views(exp)
    seglen[:, SEG_BROWSE] = n_browse - 1
    seglen[:, SEG_NEWSLETTER] = 2 * (rank == newsletter_rank[person])
    seglen[:, SEG_SIGNUP] = 2 * (is_signup & ~checkout_signup[person])
    seglen[:, SEG_FUNNEL] = depth
    seglen[:, SEG_CHECKOUT_SIGNUP] = 2 * (is_signup & checkout_signup[person])
    seglen[:, SEG_ORDER] = buys
    ident_person = np.where(is_signup, person, NO_ONE)
    ident_slot = np.zeros(total, dtype=np.int8)

    # Logins on the person's other devices, after the sign-up.
    signup_device = np.full(p.n, -1, dtype=np.int64)
    signup_device[person[is_signup]] = device[is_signup]
    after = (rank > sr) & (device != signup_device[person])
    firsts = _first_per_group(device, after)
    # A few people sign up a second time there, with another address: a duplicate contact.
    dup_pick = rng.random(firsts.size) < 0.06
    login = firsts[~dup_pick & (rng.random(firsts.size) < 0.75)]
    dup_signup = firsts[dup_pick]
    seglen[login, SEG_LOGIN] = 1
    ident_person[login] = person[login]
    seglen[dup_signup, SEG_SIGNUP] = 2
    ident_person[dup_signup] = person[dup_signup]
    ident_slot[dup_signup] = 1
    # Expired cookies: some later sessions on the sign-up device log in again.
    relog = (rank > sr) & (device == signup_device[person]) & (rng.random(total) < 0.06)
    relog &= seglen[:, SEG_SIGNUP] == 0
    seglen[relog, SEG_LOGIN] = 1
    ident_person[relog] = person[relog]

    sessions = Sessions(
        uid=np.arange(total, dtype=np.int64),
        person=person,
        device=device,
        start=t,
        traffic=traffic,
        seglen=seglen,
        ident_person=ident_person,
        ident_slot=ident_slot,
        email_message=np.full(total, -1, dtype=np.int64),
        duration=np.zeros(total, dtype=np.int64),
        exp=exp,
    )
    sessions.duration = durations(sessions)
    sessions.start = _space_out(sessions.person, sessions.start, sessions.duration)
    return sessions.select(np.flatnonzero(sessions.start < window_ms)), gone_at


def _space_out(person: np.ndarray, start: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Pushes sessions of a person later so that each begins after the previous one ends
    plus a margin (rows are sorted by person, then start)."""
    same = np.r_[False, person[1:] == person[:-1]]
    gap = np.diff(start, prepend=start[0])
    need = np.r_[0, duration[:-1]] + SESSION_MARGIN_MS
    gap = np.where(same, np.maximum(gap, need), 0)
    cs = np.cumsum(gap)
    group_first = np.flatnonzero(~same)
    counts = np.diff(np.r_[group_first, person.size])
    base = np.repeat(start[group_first] - cs[group_first], counts)
    return base + cs


def fits(
    existing_group: np.ndarray,
    existing_start: np.ndarray,
    existing_end: np.ndarray,
    group: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> np.ndarray:
    """Whether each candidate [start, end] keeps the margin to the existing sessions of its
    group. Existing rows must be sorted by (group, start)."""
    if existing_group.size == 0:
        return np.ones(group.size, dtype=bool)
    if group.size == 0:
        return np.ones(0, dtype=bool)
    key_g = existing_group
    pos = _searchsorted2(key_g, existing_start, group, start)
    ok = np.ones(group.size, dtype=bool)
    prev = pos - 1
    has_prev = prev >= 0
    prev_c = np.maximum(prev, 0)
    clash_prev = (
        has_prev & (key_g[prev_c] == group) & (existing_end[prev_c] + SESSION_MARGIN_MS > start)
    )
    has_next = pos < key_g.size
    next_c = np.minimum(pos, key_g.size - 1)
    clash_next = (
        has_next & (key_g[next_c] == group) & (end + SESSION_MARGIN_MS > existing_start[next_c])
    )
    ok &= ~clash_prev & ~clash_next
    return ok


def _searchsorted2(g: np.ndarray, t: np.ndarray, qg: np.ndarray, qt: np.ndarray) -> np.ndarray:
    """Left insertion points of (qg, qt) in rows sorted by (g, t)."""
    base = int(min(t.min(), qt.min()))
    span = int(max(t.max(), qt.max())) - base + 1
    gk = g.astype(np.int64) * span + (t - base)
    qk = qg.astype(np.int64) * span + (qt - base)
    return np.searchsorted(gk, qk, side="left")


def non_overlapping(group: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Keeps candidates that do not clash with the previous kept one of their group
    (approximation: compares with the previous candidate)."""
    order = np.lexsort((start, group))
    g, s, e = group[order], start[order], end[order]
    clash = np.r_[False, (g[1:] == g[:-1]) & (e[:-1] + SESSION_MARGIN_MS > s[1:])]
    keep = np.zeros(group.size, dtype=bool)
    keep[order] = ~clash
    return keep
