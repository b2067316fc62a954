"""Predictive CLV: BG/NBD and Gamma-Gamma fitted in Python between two dbt layers.

Reads the dbt model `int_clv_customer_summary` and writes `measurement.clv_customer_predictions`
and `measurement.clv_parameters`, which the dbt marts `fct_customer_clv` and
`fct_clv_parameters` read as the source `clv_model`.
"""

import dagster as dg

from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.defs.resources import Warehouse
from orchestration.measurement.clv import (
    HORIZON_DAYS,
    MEASUREMENT_SCHEMA,
    PARAMETERS_TABLE,
    PREDICTIONS_TABLE,
    run_clv,
)

CLV_GROUP = "clv"
SUMMARY_KEY = dg.AssetKey(["intermediate", "int_clv_customer_summary"])
PREDICTIONS_KEY = dg.AssetKey([MEASUREMENT_SCHEMA, PREDICTIONS_TABLE])
PARAMETERS_KEY = dg.AssetKey([MEASUREMENT_SCHEMA, PARAMETERS_TABLE])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            PREDICTIONS_KEY,
            group_name=CLV_GROUP,
            deps=[SUMMARY_KEY],
            kinds={"duckdb", "python", "scipy"},
            description=(
                "One row per identified person with a non-cancelled order: P(alive), "
                f"expected purchases in the next {HORIZON_DAYS} days (BG/NBD), expected "
                "spend per purchase (Gamma-Gamma) and their product, the 12-month CLV. "
                "Empty, with the reason in the run log, when the data cannot support a fit."
            ),
        ),
        dg.AssetSpec(
            PARAMETERS_KEY,
            group_name=CLV_GROUP,
            deps=[SUMMARY_KEY],
            kinds={"duckdb", "python", "scipy"},
            description=(
                "The maximum-likelihood parameters of both CLV models (time in days), with "
                "the maximised log-likelihood and the number of customers fitted."
            ),
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def clv_model(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Fit both models on the summary and replace both tables in one transaction.

    `model_fitted_at` is the last day of data at 00:00, so a rerun on the same data
    writes identical tables (and identical marts)."""
    with warehouse.connect() as con:
        fit = run_clv(con)
    if fit.bg_nbd is not None and fit.gamma_gamma is not None:
        context.log.info(
            f"BG/NBD on {fit.bg_nbd.customers_fitted} customers: {fit.bg_nbd.parameters}; "
            f"Gamma-Gamma on {fit.gamma_gamma.customers_fitted}: {fit.gamma_gamma.parameters}"
        )
    else:
        context.log.warning(f"CLV models not fitted, tables left empty: {fit.reason}")
    summary = {
        "fitted": fit.fitted,
        "reason": fit.reason or "",
        "customers": len(fit.customers),
    }
    yield dg.MaterializeResult(
        asset_key=PREDICTIONS_KEY,
        metadata={
            **summary,
            "total_predicted_clv_12m": float(fit.predicted_clv.sum()),
        },
    )
    parameters = {}
    for model_fit in (fit.bg_nbd, fit.gamma_gamma):
        if model_fit is not None:
            parameters.update(model_fit.parameters.as_dict())
    yield dg.MaterializeResult(
        asset_key=PARAMETERS_KEY,
        metadata={**summary, "parameters": dg.MetadataValue.json(parameters)},
    )
