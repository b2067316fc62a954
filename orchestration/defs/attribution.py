"""The Markov attribution model: removal effects fitted on dbt's journeys, read back by dbt.

`intermediate.int_attribution_journeys` (dbt) -> this asset ->
`measurement.markov_removal_effects` (the dbt source `markov_model`) -> `fct_attribution`.
"""

import datetime as dt

import dagster as dg
import duckdb

from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.defs.resources import Warehouse
from orchestration.measurement.markov import Journey, RemovalEffect, journeys_from_steps
from orchestration.measurement.markov import removal_effects as fit_removal_effects

JOURNEYS_TABLE = "intermediate.int_attribution_journeys"
MEASUREMENT_SCHEMA = "measurement"
REMOVAL_EFFECTS_TABLE = f"{MEASUREMENT_SCHEMA}.markov_removal_effects"
REMOVAL_EFFECTS_COLUMNS = """
    channel varchar not null primary key,
    removal_effect double not null,
    conversion_probability double not null,
    conversion_probability_without double not null,
    journeys bigint not null,
    converting_journeys bigint not null,
    model_fitted_at timestamp not null
"""


def read_journeys(con: duckdb.DuckDBPyConnection) -> list[Journey]:
    """Every journey of the dbt model, its steps in order."""
    rows = con.execute(
        f"select journey_id, is_converting, step_number, channel from {JOURNEYS_TABLE} "
        "order by journey_id, step_number"
    ).fetchall()
    return journeys_from_steps(rows)


def write_removal_effects(
    con: duckdb.DuckDBPyConnection, effects: list[RemovalEffect], fitted_at: dt.datetime
) -> None:
    """Replace the removal-effects table in one transaction: readers see old or new, whole."""
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {MEASUREMENT_SCHEMA}")
        con.execute(f"create or replace table {REMOVAL_EFFECTS_TABLE} ({REMOVAL_EFFECTS_COLUMNS})")
        if effects:
            con.executemany(
                f"insert into {REMOVAL_EFFECTS_TABLE} values (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        effect.channel,
                        effect.removal_effect,
                        effect.conversion_probability,
                        effect.conversion_probability_without,
                        effect.journeys,
                        effect.converting_journeys,
                        fitted_at,
                    )
                    for effect in effects
                ],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


@dg.asset(
    key=dg.AssetKey(["measurement", "markov_removal_effects"]),
    group_name="attribution",
    deps=[dg.AssetKey(["intermediate", "int_attribution_journeys"])],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "python"},
    description=(
        "Markov-chain attribution fitted on intermediate.int_attribution_journeys: a "
        "first-order chain (start, channels, conversion, null), P(conversion) solved exactly "
        "from the absorbing chain, and each channel's removal effect 1 - P(without it) / P "
        "(removal sends the channel's incoming transitions to null). Writes "
        "measurement.markov_removal_effects, one row per channel (journeys and "
        "converting_journeys count the journeys through that channel), replaced atomically; "
        "fct_attribution's `markov` model reads it as the dbt source markov_model."
    ),
)
def markov_removal_effects(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    fitted_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with warehouse.connect() as con:
        journeys = read_journeys(con)
        effects = fit_removal_effects(journeys)
        write_removal_effects(con, effects, fitted_at)
    converting = sum(journey.is_converting for journey in journeys)
    probability = effects[0].conversion_probability if effects else 0.0
    if not converting:
        context.log.warning("no converting journey: every removal effect is 0")
    return dg.MaterializeResult(
        metadata={
            "journeys": len(journeys),
            "converting_journeys": converting,
            "channels": len(effects),
            "conversion_probability": probability,
            "removal_effects": dg.MetadataValue.json(
                {effect.channel: round(effect.removal_effect, 6) for effect in effects}
            ),
            "dagster/row_count": len(effects),
            "model_fitted_at": fitted_at.isoformat(timespec="seconds"),
        }
    )
