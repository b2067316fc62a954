"""Deterministic sample landing data: simulated people, exported as every source would.

`generate_landing(out, customers, days, start, seed)` writes a landing folder in the layout of
`sources.md`, with realistic messiness and a few planted bad records, and a manifest.
"""

from journey_tools.sample_data.generator import generate_landing

__all__ = ["generate_landing"]
