"""The Markov attribution model: removal effects fitted on dbt's journeys, read back by dbt.

`intermediate.int_attribution_journeys` (dbt) -> this asset ->
`measurement.markov_removal_effects` (the dbt source `markov_model`) -> `fct_attribution`.
"""

import datetime as dt

import dagster as dg
import duckdb

from orchestration import unchanged
from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.defs.resources import Warehouse
from orchestration.measurement.markov import Journey, RemovalEffect, journeys_from_steps
from orchestration.measurement.markov import removal_effects as fit_removal_effects
from orchestration.measurement.tables import MEASUREMENT_SCHEMA, OutputTable, replace_tables

JOURNEYS_TABLE = "intermediate.int_attribution_journeys"
REMOVAL_EFFECTS = OutputTable(
    "markov_removal_effects",
    columns=(
        ("channel", "varchar"),
        ("removal_effect", "double"),
        ("conversion_probability", "double"),
        ("conversion_probability_without", "double"),
        ("journeys", "bigint"),
        ("converting_journeys", "bigint"),
        ("model_fitted_at", "timestamp"),
    ),
    key=("channel",),
    not_null=(
        "removal_effect",
        "conversion_probability",
        "conversion_probability_without",
        "journeys",
        "converting_journeys",
        "model_fitted_at",
    ),
)


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
    rows = [
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
    ]
    replace_tables(con, {REMOVAL_EFFECTS: REMOVAL_EFFECTS.columns_of(rows)})


@dg.asset(
    key=dg.AssetKey([MEASUREMENT_SCHEMA, REMOVAL_EFFECTS.name]),
    group_name="attribution",
    metadata={"dagster/column_schema": REMOVAL_EFFECTS.column_schema()},
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
    build = unchanged.begin(context, warehouse)
    if build.unchanged_since:
        return unchanged.unchanged_results(context, build)[0]
    fitted_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with warehouse.connect() as con:
        journeys = read_journeys(con)
        effects = fit_removal_effects(journeys)
        write_removal_effects(con, effects, fitted_at)
    unchanged.end(context, warehouse, build)
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
