"""The secret behind the erasure ledger's keyed hashes (HMAC-SHA256).

The ledger recognises an erased person's identifiers in later deliveries without holding
them in clear: it stores HMAC-SHA256(key, normalised value). The key is 32 random bytes
in a file of the warehouse folder (`.erasure_key`, mode 600), created with the first
erasure; `JOURNEY_ERASURE_KEY_FILE` puts it elsewhere (a secrets mount). Without the key
nobody can test a guessed email against the ledger, which a plain SHA-256 would allow.

The key is never written to the database. A fingerprint (the HMAC of a fixed text) is,
so that a lost or swapped key file stops the run instead of silently creating a new key
that no longer recognises anyone.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE_ENV = "JOURNEY_ERASURE_KEY_FILE"
KEY_FILE_NAME = ".erasure_key"
KEY_BYTES = 32
_BLOCK_SIZE = 64  # SHA-256's block size, for the HMAC pads
_FINGERPRINT_TEXT = "journey-warehouse erasure key check"


class ErasureKeyError(RuntimeError):
    """The key file is missing, unreadable or does not match the ledger."""


def key_path(warehouse_dir: Path) -> Path:
    configured = os.environ.get(KEY_FILE_ENV)
    return Path(configured).expanduser() if configured else warehouse_dir / KEY_FILE_NAME


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes never both create a key; mode 600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")


class ErasureKey:
    """HMAC-SHA256 with the warehouse's erasure key, in Python and as a DuckDB macro."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ErasureKeyError("the erasure key is shorter than 16 bytes")
        if len(key) > _BLOCK_SIZE:
            key = hashlib.sha256(key).digest()
        self._key = key

    @classmethod
    def load(cls, warehouse_dir: Path, create: bool) -> ErasureKey:
        path = key_path(warehouse_dir)
        if not path.exists():
            if not create:
                raise ErasureKeyError(
                    f"the erasure key {path} is missing but the warehouse has an erasure "
                    "ledger: restore the key file (or set JOURNEY_ERASURE_KEY_FILE to it); "
                    "without it erased people can no longer be recognised in new deliveries"
                )
            with contextlib.suppress(FileExistsError):  # another process just made it
                _create_key_file(path)
        try:
            key = bytes.fromhex(path.read_text().strip())
        except (OSError, ValueError) as exc:
            raise ErasureKeyError(f"the erasure key {path} is not readable hex ({exc})") from exc
        return cls(key)

    def hmac(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    @property
    def fingerprint(self) -> str:
        return self.hmac(_FINGERPRINT_TEXT)

    def sql_macro(self, name: str) -> str:
        """`create temp macro name(v)`: the same HMAC in SQL, hex like `hmac()`.

        HMAC(K, m) = H((K xor opad) || H((K xor ipad) || m)) over DuckDB's sha256 on
        blobs. A temp macro lives in the connection only, never in the database file.
        """
        padded = self._key.ljust(_BLOCK_SIZE, b"\x00")
        ipad = bytes(b ^ 0x36 for b in padded).hex()
        opad = bytes(b ^ 0x5C for b in padded).hex()
        return (
            f"create or replace temp macro {name}(v) as "
            f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode(v))))"
        )
