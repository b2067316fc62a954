"""CRM contacts: who becomes a contact and when, duplicates, and merges (sometimes chained)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import journeys as jr
from journey_tools.sample_data.people import People
from journey_tools.sample_data.text import int_text, take

NEVER = np.iinfo(np.int64).max // 4

# How a contact came to be
SLOT_MAIN, SLOT_WEB_DUP, SLOT_OFFLINE_DUP, SLOT_CHAIN_MID, SLOT_CHAIN_END = range(5)


@dataclass
class Contacts:
    person: np.ndarray
    slot: np.ndarray
    created: np.ndarray  # ms since window start
    email: pa.Array  # canonical (lower-case, trimmed)
    original_source: np.ndarray  # index into ORIGINAL_SOURCES
    first_stage: np.ndarray  # index into LIFECYCLE_STAGES
    opt_in: np.ndarray  # marketing opt-in when created
    merged_into: np.ndarray  # contact index (-1: never merged)
    merged_at: np.ndarray
    lead_at: np.ndarray  # when a subscriber became a lead by signing up (NEVER: not)
    contact_id: pa.Array
    main_of_person: np.ndarray  # person -> main contact index (-1)
    web_dup_of_person: np.ndarray  # person -> duplicate contact created on the web (-1)

    def __len__(self) -> int:
        return int(self.person.size)

    def resolve(self, contact: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The contact that holds `contact`'s records at time `at` (following merges)."""
        c = np.asarray(contact, dtype=np.int64).copy()
        at = np.broadcast_to(np.asarray(at, dtype=np.int64), c.shape)
        for _ in range(4):
            valid = c >= 0
            cc = np.where(valid, c, 0)
            step = valid & (self.merged_into[cc] >= 0) & (self.merged_at[cc] <= at)
            c = np.where(step, self.merged_into[cc], c)
        return c

    def survivor(self, contact: np.ndarray) -> np.ndarray:
        return self.resolve(contact, np.full(np.shape(contact), NEVER))


def _identify_times(
    sessions: jr.Sessions, mask: np.ndarray, segment: int, offset: int
) -> tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(mask)
    return idx, jr.event_time(sessions, idx, segment, offset)


def build_contacts(
    rng: np.random.Generator, people: People, sessions: jr.Sessions, window_ms: int
) -> Contacts:
    n_people = people.n
    s = sessions
    # Newsletter forms (identify with traits only) and sign-ups (identify with a userId).
    news_idx, news_t = _identify_times(s, s.seglen[:, jr.SEG_NEWSLETTER] > 0, jr.SEG_NEWSLETTER, 1)
    signup_mask = (s.ident_slot == 0) & (s.seglen[:, jr.SEG_SIGNUP] > 0)
    su_idx, su_t = _identify_times(s, signup_mask, jr.SEG_SIGNUP, 1)
    co_idx, co_t = _identify_times(
        s, s.seglen[:, jr.SEG_CHECKOUT_SIGNUP] > 0, jr.SEG_CHECKOUT_SIGNUP, 1
    )
    dup_mask = (s.ident_slot == 1) & (s.seglen[:, jr.SEG_SIGNUP] > 0)
    dup_idx, dup_t = _identify_times(s, dup_mask, jr.SEG_SIGNUP, 1)

    news_at = np.full(n_people, NEVER)
    np.minimum.at(news_at, s.person[news_idx], news_t)
    signup_at = np.full(n_people, NEVER)
    np.minimum.at(signup_at, s.person[su_idx], su_t)
    np.minimum.at(signup_at, s.person[co_idx], co_t)
    dup_at = np.full(n_people, NEVER)
    np.minimum.at(dup_at, s.person[dup_idx], dup_t)

    created_main = np.minimum(news_at, signup_at)
    has_main = created_main < NEVER
    main_people = np.flatnonzero(has_main)
    m = main_people.size

    # first visit's family -> HubSpot original source
    first_traffic = np.full(n_people, -1, dtype=np.int64)
    first_session = np.flatnonzero(np.r_[True, s.person[1:] != s.person[:-1]])
    first_traffic[s.person[first_session]] = s.traffic[first_session]
    fam_source = np.array(
        [cat.ORIGINAL_SOURCES.index(cat.ORIGINAL_SOURCE_BY_FAMILY[t.family]) for t in cat.TRAFFIC]
    )
    src_person = np.where(
        first_traffic >= 0,
        fam_source[np.clip(first_traffic, 0, len(cat.TRAFFIC) - 1)],
        cat.ORIGINAL_SOURCES.index("OTHER_CAMPAIGNS"),
    )
    src_main = src_person[main_people]
    subscriber_first = news_at[main_people] < signup_at[main_people]
    stage = cat.LIFECYCLE_STAGES
    first_stage_main = np.where(subscriber_first, stage.index("subscriber"), stage.index("lead"))
    opt_main = np.where(subscriber_first, True, rng.random(m) < 0.62)
    lead_at_main = np.where(subscriber_first, signup_at[main_people], NEVER)

    rows: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "person",
            "slot",
            "created",
            "source",
            "stage",
            "opt",
            "lead_at",
            "email_kind",
        )
    }

    def add(person, slot, created, source, stage_idx, opt, lead_at, email_kind):
        k = np.asarray(person).size
        rows["person"].append(np.asarray(person, dtype=np.int64))
        rows["slot"].append(np.full(k, slot, dtype=np.int8))
        rows["created"].append(np.asarray(created, dtype=np.int64))
        rows["source"].append(np.broadcast_to(source, k).astype(np.int64))
        rows["stage"].append(np.broadcast_to(stage_idx, k).astype(np.int64))
        rows["opt"].append(np.broadcast_to(opt, k).astype(bool))
        rows["lead_at"].append(np.broadcast_to(lead_at, k).astype(np.int64))
        rows["email_kind"].append(np.full(k, email_kind, dtype=np.int8))

    add(
        main_people,
        SLOT_MAIN,
        created_main[main_people],
        src_main,
        first_stage_main,
        opt_main,
        lead_at_main,
        0,
    )
    web_dup_people = np.flatnonzero(has_main & (dup_at < NEVER))
    add(
        web_dup_people,
        SLOT_WEB_DUP,
        dup_at[web_dup_people],
        src_person[web_dup_people],
        stage.index("lead"),
        rng.random(web_dup_people.size) < 0.5,
        NEVER,
        1,
    )
    offline_src = cat.ORIGINAL_SOURCES.index("OFFLINE")
    # CRM-only duplicates: a sales rep or a store creates the person again.
    offline = main_people[rng.random(m) < 0.025]
    off_created = created_main[offline] + rng.integers(cat.HOUR_MS, 20 * cat.DAY_MS, offline.size)
    add(
        offline,
        SLOT_OFFLINE_DUP,
        off_created,
        offline_src,
        stage.index("lead"),
        rng.random(offline.size) < 0.3,
        NEVER,
        1,
    )
    # Chains: main -> mid -> end (two merges). Force one at small sizes, early in the window.
    early = main_people[created_main[main_people] < window_ms * 0.5]
    n_chain = max(round(m * 0.008), 1 if early.size >= 3 else 0)
    chain = np.sort(rng.choice(early, size=min(n_chain, early.size), replace=False))
    chain = chain[~np.isin(chain, offline)]
    mid_created = created_main[chain] + rng.integers(cat.HOUR_MS, 3 * cat.DAY_MS, chain.size)
    end_created = mid_created + rng.integers(cat.HOUR_MS, 3 * cat.DAY_MS, chain.size)
    add(chain, SLOT_CHAIN_MID, mid_created, offline_src, stage.index("lead"), False, NEVER, 1)
    add(
        chain,
        SLOT_CHAIN_END,
        end_created,
        cat.ORIGINAL_SOURCES.index("OTHER_CAMPAIGNS"),
        stage.index("lead"),
        True,
        NEVER,
        2,
    )

    cols = {k: np.concatenate(v) for k, v in rows.items()}
    keep = cols["created"] < window_ms
    cols = {k: v[keep] for k, v in cols.items()}
    # Contacts in order of creation; ids grow with it, like a CRM's.
    order = np.lexsort((cols["slot"], cols["person"], cols["created"]))
    cols = {k: v[order] for k, v in cols.items()}
    n = cols["person"].size
    person = cols["person"]
    slot = cols["slot"]

    main_of = np.full(n_people, -1, dtype=np.int64)
    main_of[person[slot == SLOT_MAIN]] = np.flatnonzero(slot == SLOT_MAIN)
    web_dup_of = np.full(n_people, -1, dtype=np.int64)
    web_dup_of[person[slot == SLOT_WEB_DUP]] = np.flatnonzero(slot == SLOT_WEB_DUP)
    mid_of = np.full(n_people, -1, dtype=np.int64)
    mid_of[person[slot == SLOT_CHAIN_MID]] = np.flatnonzero(slot == SLOT_CHAIN_MID)
    end_of = np.full(n_people, -1, dtype=np.int64)
    end_of[person[slot == SLOT_CHAIN_END]] = np.flatnonzero(slot == SLOT_CHAIN_END)

    merged_into = np.full(n, -1, dtype=np.int64)
    merged_at = np.full(n, NEVER, dtype=np.int64)
    created = cols["created"]
    # duplicates (web or offline) merge into the main contact some days later
    dups = np.flatnonzero((slot == SLOT_WEB_DUP) | (slot == SLOT_OFFLINE_DUP))
    merged_into[dups] = main_of[person[dups]]
    merged_at[dups] = created[dups] + rng.integers(cat.DAY_MS, 25 * cat.DAY_MS, dups.size)
    # chains: main merged into mid, then mid into end
    mids = np.flatnonzero(slot == SLOT_CHAIN_MID)
    ends = end_of[person[mids]]
    ok = ends >= 0
    mids, ends = mids[ok], ends[ok]
    mains = main_of[person[mids]]
    first_merge = created[ends] + rng.integers(cat.HOUR_MS, 2 * cat.DAY_MS, mids.size)
    merged_into[mains] = mids
    merged_at[mains] = first_merge
    merged_into[mids] = ends
    merged_at[mids] = first_merge + rng.integers(cat.HOUR_MS, 3 * cat.DAY_MS, mids.size)
    merged_at = np.where(merged_at < window_ms, merged_at, NEVER)
    merged_into = np.where(merged_at < NEVER, merged_into, -1)

    email_kind = cols["email_kind"]
    main_email = take(people.email, person)
    work_email = take(people.work_email, person)
    plus_email = pc.replace_substring_regex(main_email, "@", "+shop@", max_replacements=1)
    email = pc.if_else(
        pa.array(email_kind == 0),
        main_email,
        pc.if_else(pa.array(email_kind == 1), work_email, plus_email),
    )
    seq = np.arange(n, dtype=np.int64)
    contact_id = int_text(10_000 + seq * 7 + (seq * 5 + 3) % 7)
    return Contacts(
        person=person,
        slot=slot,
        created=created,
        email=email,
        original_source=cols["source"],
        first_stage=cols["stage"],
        opt_in=cols["opt"],
        merged_into=merged_into,
        merged_at=merged_at,
        lead_at=cols["lead_at"],
        contact_id=contact_id,
        main_of_person=main_of,
        web_dup_of_person=web_dup_of,
    )


def drop_after(contacts: Contacts, erased_at_person: np.ndarray) -> Contacts:
    """Forgets contacts created after their person's erasure request, and merges after it."""
    cut = erased_at_person[contacts.person]
    keep = contacts.created < cut
    late_merge = contacts.merged_at >= cut
    contacts.merged_at = np.where(late_merge, NEVER, contacts.merged_at)
    contacts.merged_into = np.where(late_merge, -1, contacts.merged_into)
    if keep.all():
        return contacts
    # Dropping rows shifts indices: remap merged_into and the person lookups.
    new_index = np.cumsum(keep) - 1
    data = {f.name: getattr(contacts, f.name) for f in fields(contacts)}
    for name in (
        "person", "slot", "created", "original_source", "first_stage", "opt_in",
        "merged_into", "merged_at", "lead_at",
    ):  # fmt: skip
        data[name] = data[name][keep]
    data["email"] = data["email"].filter(pa.array(keep))
    data["contact_id"] = data["contact_id"].filter(pa.array(keep))
    mi = data["merged_into"]
    valid = mi >= 0
    mi_keep = np.zeros(mi.size, dtype=bool)
    mi_keep[valid] = keep[mi[valid]]
    data["merged_into"] = np.where(valid & mi_keep, new_index[np.maximum(mi, 0)], -1)
    data["merged_at"] = np.where(data["merged_into"] >= 0, data["merged_at"], NEVER)
    for name in ("main_of_person", "web_dup_of_person"):
        arr = data[name]
        ok = (arr >= 0) & keep[np.maximum(arr, 0)]
        data[name] = np.where(ok, new_index[np.maximum(arr, 0)], -1)
    return Contacts(**data)
