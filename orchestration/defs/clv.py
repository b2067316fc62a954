"""Predictive CLV: BG/NBD and Gamma-Gamma fitted in Python between two dbt layers.

Reads the dbt models `int_clv_customer_summary` and `int_clv_order_days` and writes
`measurement.clv_customer_predictions`, `measurement.clv_parameters` and
`measurement.clv_calibration`, which the dbt marts `fct_customer_clv`,
`fct_clv_parameters` and `fct_clv_calibration` read as the source `clv_model`.

How many repeat buyers a model needs before its predictions are published is the dbt
var `clv_min_repeat_buyers`, declared once in dbt_project.yml and read from there.
"""

from pathlib import Path

import dagster as dg
import yaml

from orchestration import unchanged
from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.defs.resources import Warehouse
from orchestration.measurement.clv import (
    CALIBRATION,
    HORIZON_DAYS,
    MIN_REPEAT_BUYERS_VAR,
    PARAMETERS,
    PREDICTIONS,
    ClvRun,
    run_clv,
)
from orchestration.measurement.tables import MEASUREMENT_SCHEMA
from orchestration.project import REPO_ROOT

CLV_GROUP = "clv"
SUMMARY_KEY = dg.AssetKey(["intermediate", "int_clv_customer_summary"])
ORDER_DAYS_KEY = dg.AssetKey(["intermediate", "int_clv_order_days"])
PREDICTIONS_KEY = dg.AssetKey([MEASUREMENT_SCHEMA, PREDICTIONS.name])
PARAMETERS_KEY = dg.AssetKey([MEASUREMENT_SCHEMA, PARAMETERS.name])
CALIBRATION_KEY = dg.AssetKey([MEASUREMENT_SCHEMA, CALIBRATION.name])


def min_repeat_buyers(project_file: Path = REPO_ROOT / "dbt_project.yml") -> int:
    """The dbt var `clv_min_repeat_buyers`, from the `vars:` of dbt_project.yml."""
    project = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    value = (project.get("vars") or {}).get(MIN_REPEAT_BUYERS_VAR)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"{project_file}: vars.{MIN_REPEAT_BUYERS_VAR} must be a whole number ≥ 0, "
            f"not {value!r}"
        )
    return value


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            PREDICTIONS_KEY,
            group_name=CLV_GROUP,
            metadata={"dagster/column_schema": PREDICTIONS.column_schema()},
            deps=[SUMMARY_KEY],
            kinds={"duckdb", "python", "scipy"},
            description=(
                "One row per identified person with a non-cancelled order: P(alive), "
                f"expected purchases in the next {HORIZON_DAYS} days (BG/NBD), expected "
                "spend per purchase (Gamma-Gamma) and their product, the 12-month CLV. "
                "The columns of a model whose fit is unreliable are null (the reason is in "
                "measurement/clv_parameters and the run log)."
            ),
        ),
        dg.AssetSpec(
            PARAMETERS_KEY,
            group_name=CLV_GROUP,
            metadata={"dagster/column_schema": PARAMETERS.column_schema()},
            deps=[SUMMARY_KEY],
            kinds={"duckdb", "python", "scipy"},
            description=(
                "The maximum-likelihood parameters of both CLV models (time in days), with "
                "the maximised log-likelihood, the number of customers fitted, and each "
                "model's fit_status (ok or unreliable) and fit_note (why)."
            ),
        ),
        dg.AssetSpec(
            CALIBRATION_KEY,
            group_name=CLV_GROUP,
            metadata={"dagster/column_schema": CALIBRATION.column_schema()},
            deps=[ORDER_DAYS_KEY],
            kinds={"duckdb", "python", "scipy"},
            description=(
                "Out-of-sample check: both models fitted without the last quarter of the "
                "observed days, and the purchases predicted for that holdout compared with "
                "those made, per number of repeat purchases in the calibration period. "
                "Empty, with the reason in the run log, when the history is too short."
            ),
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def clv_model(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Fit both models on the summary, and again on the calibration period, and replace
    the three tables in one transaction.

    `model_fitted_at` is the last day of data at 00:00, so a rerun on the same data
    writes identical tables (and identical marts)."""
    build = unchanged.begin(context, warehouse)
    if build.unchanged_since:
        yield from unchanged.unchanged_results(context, build)
        return
    threshold = min_repeat_buyers()
    with warehouse.connect() as con:
        run = run_clv(con, threshold)
    unchanged.end(context, warehouse, build)
    _log(context, run)
    fit, calibration = run.fit, run.calibration
    status = {
        "bg_nbd_fit_status": fit.bg_nbd_status.status,
        "bg_nbd_fit_note": fit.bg_nbd_status.note,
        "gamma_gamma_fit_status": fit.gamma_gamma_status.status,
        "gamma_gamma_fit_note": fit.gamma_gamma_status.note,
        "customers": len(fit.customers),
        MIN_REPEAT_BUYERS_VAR: threshold,
    }
    yield dg.MaterializeResult(
        asset_key=PREDICTIONS_KEY,
        metadata={
            **status,
            "total_predicted_clv_12m": float(fit.predicted_clv.sum()) if fit.reliable else None,
        },
    )
    parameters = {}
    for model_fit in (fit.bg_nbd, fit.gamma_gamma):
        if model_fit is not None:
            parameters.update(model_fit.parameters.as_dict())
    yield dg.MaterializeResult(
        asset_key=PARAMETERS_KEY,
        metadata={**status, "parameters": dg.MetadataValue.json(parameters)},
    )
    everyone = next(
        (row for row in calibration.rows if row.frequency_in_calibration == "all"), None
    )
    yield dg.MaterializeResult(
        asset_key=CALIBRATION_KEY,
        metadata={
            "rows": len(calibration.rows),
            "reason_empty": calibration.reason or "",
            "calibration_days": calibration.calibration_days,
            "holdout_days": calibration.holdout_days,
            "fit_status": "" if calibration.status is None else calibration.status.status,
            "fit_note": "" if calibration.status is None else calibration.status.note,
            "mean_absolute_error": None if everyone is None else everyone.mean_absolute_error,
        },
    )


def _log(context: dg.AssetExecutionContext, run: ClvRun) -> None:
    fit, calibration = run.fit, run.calibration
    for label, model_fit, status in (
        ("BG/NBD", fit.bg_nbd, fit.bg_nbd_status),
        ("Gamma-Gamma", fit.gamma_gamma, fit.gamma_gamma_status),
    ):
        fitted = (
            ""
            if model_fit is None
            else f" on {model_fit.customers_fitted:,} customers: {model_fit.parameters}"
        )
        if status.reliable:
            context.log.info(f"{label} ok{fitted} ({status.note})")
        else:
            context.log.warning(
                f"{label} unreliable{fitted}: {status.note}; its predictions are left null"
            )
    if calibration.reason is not None:
        context.log.warning(f"CLV calibration table left empty: {calibration.reason}")
    else:
        context.log.info(
            f"CLV calibration: fitted on {calibration.calibration_days} days, "
            f"{calibration.holdout_days} held out; BG/NBD there "
            f"{calibration.status.status if calibration.status else '?'}"
        )
