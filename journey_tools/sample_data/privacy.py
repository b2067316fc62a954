"""Data-subject erasure requests: a few people ask to be forgotten."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import contacts as ct
from journey_tools.sample_data.people import email_variant
from journey_tools.sample_data.text import take


@dataclass
class Erasures:
    person: np.ndarray  # -1 for a request about an address nobody uses
    at: np.ndarray  # ms since window start
    email: pa.Array  # as the person wrote it
    erased_at_person: np.ndarray  # person -> request time (NEVER if none)


def choose_erasures(
    rng: np.random.Generator, contacts: ct.Contacts, n_people: int, window_ms: int
) -> Erasures:
    mains = np.flatnonzero(contacts.slot == ct.SLOT_MAIN)
    created = contacts.created[mains]
    candidates = mains[created < window_ms * 0.75]
    n = max(1, round(0.003 * mains.size)) if candidates.size else 0
    n = min(n, candidates.size)
    # Prefer someone with duplicates or chains, so that the request must follow merges.
    merged_people = np.unique(contacts.person[contacts.merged_into >= 0])
    with_dups = candidates[np.isin(contacts.person[candidates], merged_people)]
    chosen = list(rng.choice(with_dups, size=min(1, with_dups.size), replace=False))
    rest = candidates[~np.isin(candidates, chosen)]
    chosen += list(rng.choice(rest, size=max(n - len(chosen), 0), replace=False))
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    person = contacts.person[chosen]
    lo = np.maximum(contacts.created[chosen] + cat.DAY_MS, int(window_ms * 0.45))
    hi = np.maximum(lo + cat.HOUR_MS, window_ms - 2 * cat.HOUR_MS)
    at = np.minimum(lo + (rng.random(chosen.size) * (hi - lo)).astype(np.int64), window_ms - 1)
    email = email_variant(take(contacts.email, chosen), rng.random(chosen.size))
    if chosen.size == 0:
        person = np.array([-1], dtype=np.int64)
        at = np.array([window_ms // 2], dtype=np.int64)
        email = pa.array(["nobody.known@example.org"])
    erased = np.full(n_people, ct.NEVER, dtype=np.int64)
    valid = person >= 0
    erased[person[valid]] = at[valid]
    return Erasures(person=person, at=at, email=email, erased_at_person=erased)
