"""The benchmark's lower bound (journey_tools/benchmark.py, `make bench`): its loading part
fills raw from the landing files with DuckDB's own readers, and must build the same raw
tables the loader builds from valid files, or the bound would time different work."""

from __future__ import annotations

from journey_tools.benchmark import load_raw_with_duckdb_readers
from tests.test_ingestion_bad_input import GOOD
from tests.test_ingestion_files import RAW_QUERY, _web_records

TABLES = ("web_events", "crm_orders", "ads_spend")


def test_the_lower_bound_loads_raw_as_the_loader_does_from_valid_files(landing, load, con):
    landing.write_jsonl("web", "events", "part-0.jsonl.gz", _web_records(3))
    landing.write_jsonl("web", "events", "part-1.jsonl", _web_records(2))
    landing.write_csv("crm", "orders", "orders.csv.gz", [GOOD[("crm", "orders")]] * 2)
    # another header: a column the contract does not name (kept in the record)
    extra = dict(GOOD[("crm", "orders")], order_id="o-2", payment_method="card")
    landing.write_csv("crm", "orders", "orders-2.csv", [extra])
    landing.write_csv("ads", "spend", "google_ads.csv", [GOOD[("ads", "spend")]])
    for source, entity in (("web", "events"), ("crm", "orders"), ("ads", "spend")):
        load(source, entity)
    loaded = {table: con.execute(RAW_QUERY.format(table=table)).fetchall() for table in TABLES}
    assert [len(loaded[table]) for table in TABLES] == [5, 3, 1]

    load_raw_with_duckdb_readers(con, landing.root)

    assert {table: con.execute(RAW_QUERY.format(table=table)).fetchall() for table in TABLES} == (
        loaded
    )
