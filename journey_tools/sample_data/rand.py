"""Deterministic randomness.

Two kinds are used:
- streams (`numpy.random.Generator`), one per module, spawned from the seed, for whole-table
  draws made once (people, sessions, campaigns);
- counter-based hashes (`hash_u01`), for per-event attributes that are computed again, chunk
  by chunk, when files are written: the same keys always give the same numbers, whatever the
  chunking, so a session's events can be rebuilt day by day.
"""

from __future__ import annotations

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def streams(seed: int, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """One independent generator per name, all derived from the seed."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a good 64-bit mixing function."""
    x = np.asarray(x, dtype=np.uint64).copy()
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def hash64(*keys: np.ndarray | int, salt: int = 0) -> np.ndarray:
    """A 64-bit hash of integer key columns (broadcast together) and a salt."""
    h = mix64(np.uint64(salt & 0xFFFFFFFFFFFFFFFF) ^ _GOLDEN)
    for key in keys:
        k = np.asarray(key).astype(np.int64).view(np.uint64)
        h = mix64(h ^ (k + _GOLDEN))
    return h


def hash_u01(*keys: np.ndarray | int, salt: int = 0) -> np.ndarray:
    """Uniform floats in [0, 1) from integer keys."""
    return (hash64(*keys, salt=salt) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def hash_int(*keys: np.ndarray | int, n: int, salt: int = 0) -> np.ndarray:
    """Uniform integers in [0, n) from integer keys."""
    return (hash64(*keys, salt=salt) % np.uint64(n)).astype(np.int64)


def hash_exp(*keys: np.ndarray | int, mean: float, salt: int = 0) -> np.ndarray:
    """Exponential draws with the given mean."""
    return -np.log1p(-hash_u01(*keys, salt=salt)) * mean


def pick_weighted(u: np.ndarray, weights: np.ndarray | list[float]) -> np.ndarray:
    """Index drawn from `weights` for each uniform `u` in [0, 1)."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w) / w.sum()
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(w) - 1)


# Salts: one per use, so that draws do not correlate.
class Salt:
    GAP = 11
    BROWSE_KIND = 12
    PAGE = 13
    PRODUCT = 14
    MESSAGE_ID = 15
    ANON_ID = 16
    CLICK_ID = 17
    SERVER_SIDE = 18
    DRIFT = 19
    IP = 20
    EMAIL_VARIANT = 21
    SEARCH = 22
    REFERRER = 23
    RETRY = 24
    RETRY_LATE = 25
    RETRY_DELAY = 26
    LATENCY = 27
    CART_ID = 28
    FORM = 29
    QUANTITY = 30
    SG_EVENT_ID = 31
    SG_MESSAGE_ID = 32
    MAIL_UA = 33
    MAIL_IP = 34
    TERM = 35
    CONTENT = 36
    CHECKOUT_ID = 37
    SIGNUP_METHOD = 38
    BOT = 39
    ORDER = 40
    OFFSET = 41
