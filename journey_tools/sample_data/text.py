"""Vectorised text building with numpy and pyarrow: ids, timestamps, JSON fragments, lines.

A JSON line is the element-wise concatenation of literal pieces and columns of JSON-encoded
values, so that a million lines cost a few pyarrow calls rather than a million `json.dumps`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journey_tools.sample_data.catalogs import DAY_MS
from journey_tools.sample_data.rand import hash64

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_B62 = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
_B64URL = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def fixed_to_arrow(mat: np.ndarray) -> pa.StringArray:
    """An (n, width) uint8 matrix of ASCII bytes as an arrow string array of n strings."""
    mat = np.ascontiguousarray(mat, dtype=np.uint8)
    n, width = mat.shape
    offsets = (np.arange(n + 1, dtype=np.int64) * width).astype(np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes()))


def strings(values: list[str] | tuple[str, ...]) -> pa.StringArray:
    return pa.array(list(values), type=pa.string())


def take(table: pa.Array, idx: np.ndarray) -> pa.Array:
    return table.take(pa.array(np.asarray(idx, dtype=np.int64)))


def take_opt(table: pa.Array, idx: np.ndarray, fill: str | None = None) -> pa.Array:
    """`take`, where index -1 gives `fill` (null by default); the table may be empty."""
    extended = pa.concat_arrays([table, pa.array([fill], type=table.type)])
    return take(extended, np.where(np.asarray(idx) < 0, len(table), idx))


def at(values: np.ndarray, idx: np.ndarray, fill) -> np.ndarray:
    """`values[idx]`, where index -1 gives `fill`; `values` may be empty."""
    return np.r_[values, np.asarray([fill], dtype=values.dtype)][idx]


_HEX_PAIRS = np.array([[_HEX[i >> 4], _HEX[i & 15]] for i in range(256)], dtype=np.uint8)
_TWO_DIGITS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)


def _random_bytes(keys: tuple, n_bytes: int, salt: int) -> np.ndarray:
    """An (n, n_bytes) uint8 matrix of hash bytes."""
    words = [hash64(*keys, salt=salt * 1000 + w) for w in range((n_bytes + 7) // 8)]
    mat = np.ascontiguousarray(np.stack(words, axis=1)).view(np.uint8)
    return mat[:, :n_bytes]


def token(keys: tuple, n_chars: int, salt: int, alphabet: str = "b62") -> pa.StringArray:
    """Random-looking fixed-length tokens from integer keys (deterministic)."""
    table = {"b62": _B62, "hex": _HEX, "b64": _B64URL}[alphabet]
    lookup = table[np.arange(256) % len(table)]
    return fixed_to_arrow(lookup[_random_bytes(keys, n_chars, salt)])


def uuid4(keys: tuple, salt: int) -> pa.StringArray:
    """uuid4-shaped strings (8-4-4-4-12 hex, version 4, RFC variant) from integer keys."""
    raw = _random_bytes(keys, 16, salt).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = _HEX_PAIRS[raw].reshape(raw.shape[0], 32)
    n = hexes.shape[0]
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    out[:, 0:8] = hexes[:, 0:8]
    out[:, 9:13] = hexes[:, 8:12]
    out[:, 14:18] = hexes[:, 12:16]
    out[:, 19:23] = hexes[:, 16:20]
    out[:, 24:36] = hexes[:, 20:32]
    return fixed_to_arrow(out)


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative ints as an (n, width) uint8 matrix."""
    v = np.asarray(values, dtype=np.int64)
    if width == 2:
        return _TWO_DIGITS[v]
    v = v.copy()
    out = np.empty((v.size, width), dtype=np.uint8)
    for j in range(width - 1, -1, -1):
        out[:, j] = _DIGITS[v % 10]
        v //= 10
    return out


def int_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def money_text(cents: np.ndarray) -> pa.Array:
    """Cents as decimal text with two decimals, e.g. 12995 -> "129.95"."""
    c = np.asarray(cents, dtype=np.int64)
    whole = int_text(c // 100)
    frac = fixed_to_arrow(digits(c % 100, 2))
    return pc.binary_join_element_wise(whole, ".", frac, "")


class Clock:
    """Formats times given as milliseconds since the window start (00:00 UTC of `start`)."""

    def __init__(self, start: dt.date, days: int, margin_days: int = 40):
        self.start = start
        self.margin = margin_days
        first = start - dt.timedelta(days=margin_days)
        n = days + 2 * margin_days
        self._dates = np.frombuffer(
            "".join((first + dt.timedelta(days=i)).isoformat() for i in range(n)).encode(),
            dtype=np.uint8,
        ).reshape(n, 10)
        self._epoch0 = int(
            dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp()
        )

    def date_of(self, t_ms: np.ndarray) -> np.ndarray:
        """Day index (0 = start) of each time."""
        return np.floor_divide(np.asarray(t_ms, dtype=np.int64), DAY_MS)

    def day(self, index: int) -> dt.date:
        return self.start + dt.timedelta(days=int(index))

    def epoch_seconds(self, t_ms: np.ndarray) -> np.ndarray:
        return self._epoch0 + np.floor_divide(np.asarray(t_ms, dtype=np.int64), 1000)

    def iso(
        self,
        t_ms: np.ndarray,
        offset_min: np.ndarray | None = None,
        millis: bool = True,
    ) -> pa.Array:
        """ISO 8601 text: `Z` where the offset is 0 (or None), else `+HH:MM` / `-HH:MM`."""
        t = np.asarray(t_ms, dtype=np.int64)
        off = np.zeros(t.size, dtype=np.int64) if offset_min is None else offset_min
        local = t + np.asarray(off, dtype=np.int64) * 60_000
        day = np.floor_divide(local, DAY_MS)
        ms = local - day * DAY_MS
        width = 23 if millis else 19
        out = np.empty((t.size, width), dtype=np.uint8)
        out[:, 0:10] = self._dates[day + self.margin]
        out[:, 10] = ord("T")
        out[:, 13] = ord(":")
        out[:, 16] = ord(":")
        out[:, 11:13] = digits(ms // 3_600_000, 2)
        out[:, 14:16] = digits(ms // 60_000 % 60, 2)
        out[:, 17:19] = digits(ms // 1000 % 60, 2)
        if millis:
            out[:, 19] = ord(".")
            out[:, 20:23] = digits(ms % 1000, 3)
        body = fixed_to_arrow(out)
        if offset_min is None:
            return pc.binary_join_element_wise(body, "Z", "")
        uniq = sorted({int(x) for x in np.unique(off)})
        suffixes = strings([_offset_suffix(o) for o in uniq])
        suffix = take(suffixes, np.searchsorted(np.asarray(uniq), off))
        return pc.binary_join_element_wise(body, suffix, "")


def _offset_suffix(minutes: int) -> str:
    if minutes == 0:
        return "Z"
    sign = "+" if minutes > 0 else "-"
    m = abs(minutes)
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


# ------------------------------------------------------------------------- JSON building
def escape(values: pa.Array) -> pa.Array:
    values = pc.replace_substring(values, "\\", "\\\\")
    return pc.replace_substring(values, '"', '\\"')


def jstr(values: pa.Array, safe: bool = False) -> pa.Array:
    """JSON text of a nullable string column: `"..."` or `null`."""
    if not safe:
        values = escape(values)
    return pc.fill_null(pc.binary_join_element_wise('"', values, '"', ""), "null")


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of columns and literal strings."""
    return pc.binary_join_element_wise(*parts, "")


def when(mask: np.ndarray, values: pa.Array | str, otherwise: pa.Array | str = "") -> pa.Array:
    """`values` where mask is true, else `otherwise`."""
    v = values if isinstance(values, pa.Array) else pa.scalar(values, pa.string())
    o = otherwise if isinstance(otherwise, pa.Array) else pa.scalar(otherwise, pa.string())
    out = pc.if_else(pa.array(np.asarray(mask, dtype=bool)), v, o)
    return out if isinstance(out, pa.Array) else pa.array([out.as_py()] * len(mask), pa.string())


def scatter(n: int, idx: np.ndarray, values: pa.Array) -> pa.Array:
    """An array of n nulls with `values` at positions `idx`."""
    where = np.full(n, len(values), dtype=np.int64)
    where[idx] = np.arange(len(values))
    return take(pa.concat_arrays([values, pa.nulls(1, values.type)]), where)


def by_group(group: np.ndarray, builders: dict[int, object], n_groups: int) -> pa.Array:
    """Builds a column group by group (`builders[g](indices) -> array`) and scatters it back."""
    group = np.asarray(group)
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=n_groups)
    chunks = []
    pos = 0
    for g in range(n_groups):
        c = int(counts[g])
        if c:
            chunks.append(builders[g](order[pos : pos + c]))
        pos += c
    if not chunks:
        return pa.array([], type=pa.string())
    flat = pa.concat_arrays([pa.array(c) if not isinstance(c, pa.Array) else c for c in chunks])
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return take(flat, inverse)


def joined_bytes(lines: pa.Array) -> bytes:
    """The concatenation of a non-null string column (each element already ends in a newline)."""
    if len(lines) == 0:
        return b""
    lines = pa.concat_arrays([lines]) if isinstance(lines, pa.ChunkedArray) else lines
    if lines.type == pa.large_string():
        lines = lines.cast(pa.string())
    buffers = lines.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return buffers[2].to_pybytes()[int(offsets[0]) : int(offsets[-1])]
