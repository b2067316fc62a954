"""Writing landing files: layout, deterministic gzip, CSV text, planted lines, the manifest."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

GZIP_LEVEL = 3


def _write(path: Path, data: bytes, compress: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    path.write_bytes(data)


class Landing:
    """A landing folder being written, and the manifest of what went into it."""

    def __init__(self, out: Path, workers: int = 2):
        self.out = out
        self.files: list[dict] = []
        self.planted: list[dict] = []
        self.broken: list[dict] = []
        self.duplicates: list[dict] = []
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._pending: list[Future] = []

    def rel(self, source: str, entity: str, day: dt.date, name: str) -> str:
        return f"{source}/{entity}/dt={day.isoformat()}/{name}"

    def write(
        self,
        source: str,
        entity: str,
        day: dt.date,
        name: str,
        data: bytes,
        records: int,
        planted: list[tuple[int, str]] = (),
    ) -> str:
        """Writes (in the background) `data`, gzip-compressed if the name ends in `.gz`."""
        rel = self.rel(source, entity, day, name)
        self.files.append(
            {"source": source, "entity": entity, "dt": day.isoformat(), "file": rel,
             "records": records}
        )  # fmt: skip
        for line, kind in planted:
            self.planted.append(
                {"source": source, "entity": entity, "dt": day.isoformat(), "file": rel,
                 "line": line, "kind": kind}
            )  # fmt: skip
        self._pending = [f for f in self._pending if not f.done()]
        while len(self._pending) >= 4:
            self._pending.pop(0).result()
        self._pending.append(self._pool.submit(_write, self.out / rel, data, name.endswith(".gz")))
        return rel

    def write_broken(
        self, source: str, entity: str, day: dt.date, name: str, raw: bytes, kind: str
    ) -> str:
        """Writes a file that is broken as a whole, exactly as given (no compression)."""
        rel = self.rel(source, entity, day, name)
        self.files.append(
            {"source": source, "entity": entity, "dt": day.isoformat(), "file": rel,
             "records": 0}
        )  # fmt: skip
        self.broken.append({"file": rel, "kind": kind})
        self._pending.append(self._pool.submit(_write, self.out / rel, raw, False))
        return rel

    def finish(self) -> None:
        for f in self._pending:
            f.result()
        self._pending.clear()
        self._pool.shutdown()

    def manifest(self, head: dict) -> dict:
        return {
            **head,
            "files": sorted(self.files, key=lambda f: f["file"]),
            "planted_rejections": sorted(self.planted, key=lambda p: (p["file"], p["line"])),
            "broken_files": self.broken,
            "duplicate_files": self.duplicates,
        }


def line_starts(body: bytes) -> np.ndarray:
    """Byte offsets where each line starts, plus the end (body ends with a newline)."""
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10) + 1
    return np.r_[0, ends].astype(np.int64)


def insert_lines(
    body: bytes,
    bad: list[str],
    rng: np.random.Generator,
    lines_before: int = 0,
) -> tuple[bytes, list[int]]:
    """Inserts bad lines at random places between good lines. Returns the new body and the
    1-based line number of each bad line (counting `lines_before`, e.g. a CSV header)."""
    if not bad:
        return body, []
    starts = line_starts(body)
    n_good = starts.size - 1
    positions = np.sort(rng.integers(0, n_good + 1, len(bad)))
    pieces: list[bytes] = []
    numbers: list[int] = []
    prev = 0
    for j, (pos, line) in enumerate(zip(positions.tolist(), bad, strict=True)):
        pieces.append(body[starts[prev] : starts[pos]])
        pieces.append(line.encode() + b"\n")
        numbers.append(lines_before + pos + j + 1)
        prev = pos
    pieces.append(body[starts[prev] :])
    return b"".join(pieces), numbers


def csv_text(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def csv_header(columns: list[str]) -> bytes:
    return csv_text([columns])
