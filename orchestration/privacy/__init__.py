"""Data-subject erasure: requests carried out in raw, and kept carried out (docs/privacy.md)."""

from orchestration.privacy.erasure import (
    ErasureSummary,
    apply_erasure_requests,
    apply_ledger_to_partitions,
)
from orchestration.privacy.keys import ErasureKey, ErasureKeyError

__all__ = [
    "ErasureKey",
    "ErasureKeyError",
    "ErasureSummary",
    "apply_erasure_requests",
    "apply_ledger_to_partitions",
]
