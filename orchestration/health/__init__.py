"""Run health and freshness: what a run read, loaded and quarantined, and whether every
source delivered on time (docs/operations.md). Dagster wiring: orchestration/defs/health.py."""
