"""The source registry (orchestration/ingestion/specs.py) is the one declaration of each
landing entity: the loader, erasure and the sample-data generator read it, and the dbt
YAMLs are checked against it here. docs/adding-a-source.md is the recipe; the last tests
register a toy entity in-process and show it validated and erased with no other change."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re

import pytest
import yaml

from journey_tools.sample_data import catalogs
from orchestration.ingestion import loader, specs
from orchestration.ingestion.specs import (
    CONTACT_ID,
    EMAIL,
    ENTITY_SPECS,
    EntitySpec,
    Field,
    PersonalData,
)
from orchestration.privacy import erasure, rules
from orchestration.privacy.erasure import apply_erasure_requests, apply_ledger_to_partitions
from orchestration.privacy.keys import KEY_FILE_ENV
from orchestration.privacy.rules import PSEUDONYM_PREFIX, TABLE_RULES, table_rules
from orchestration.project import REPO_ROOT
from tests.conftest import DAY

STAGING = REPO_ROOT / "models" / "staging"
SOURCE_CALL = re.compile(r"source\(\s*'(\w+)'\s*,\s*'(\w+)'\s*\)")
REF_CALL = re.compile(r"ref\(\s*'(\w+)'\s*\)")


# ------------------------------------------------------------------ the registry itself


@pytest.mark.parametrize("spec", ENTITY_SPECS, ids=lambda s: s.table)
def test_each_entry_is_complete_and_consistent(spec: EntitySpec):
    paths = [f.path for f in spec.fields]
    assert len(paths) == len(set(paths)), "a field is declared twice"
    required = {f.path for f in spec.fields if f.required}
    assert spec.key, "every entity declares the fields that identify a record"
    assert set(spec.key) <= required, "a record without its key is rejected"
    assert spec.time_fields, "every entity has a time field the 48-hour rule applies to"
    assert all(spec.closed_lists.values())
    for values in spec.closed_lists.values():
        assert len(values) == len(set(values))
    if spec.personal is None:
        return
    personal = spec.personal
    identifier_paths = [path for path, _ in personal.identifiers]
    assert set(personal.owners) <= set(identifier_paths), "an owner field is an identifier"
    if personal.guest_email:
        assert (personal.guest_email, EMAIL) in personal.identifiers
    assert {kind for _, kind in personal.identifiers} <= set(rules.IDENTIFIER_TYPES)
    if spec.format == "csv":
        # A CSV record only holds the contract's columns once the person's row is rewritten.
        kept = set(spec.csv_columns)
        assert set(identifier_paths) | set(personal.record_ids) | set(personal.scrubbed) <= kept


def test_the_erasure_rules_are_derived_from_the_registry():
    with_personal_data = {s.table for s in ENTITY_SPECS if s.personal is not None}
    assert set(TABLE_RULES) == with_personal_data
    assert "ads_spend" not in TABLE_RULES, "ad spend holds no personal data"
    orders = TABLE_RULES["crm_orders"]
    assert orders.owners == ((("contact_id",), CONTACT_ID), (("order_id",), "order_id"))
    assert orders.guest_email == ("email",)
    web = TABLE_RULES["web_events"]
    assert (("traits", "email"), EMAIL) in web.identifiers
    assert web.reduced == (("traits",), ("context", "traits"))


def test_the_generator_writes_the_registrys_closed_lists_and_columns():
    registry = {(s.table, path): v for s in ENTITY_SPECS for path, v in s.closed_lists.items()}
    generator = {
        ("web_events", "type"): catalogs.WEB_TYPES,
        ("email_events", "event"): catalogs.EMAIL_EVENTS,
        ("crm_contacts", "lifecycle_stage"): catalogs.LIFECYCLE_STAGES,
        ("crm_orders", "status"): catalogs.ORDER_STATUSES,
        ("crm_tickets", "status"): catalogs.TICKET_STATUSES,
        ("crm_tickets", "channel"): catalogs.TICKET_CHANNELS,
        ("crm_tickets", "category"): catalogs.TICKET_CATEGORIES,
        ("crm_tickets", "priority"): catalogs.TICKET_PRIORITIES,
        ("crm_surveys", "survey_type"): catalogs.SURVEY_TYPES,
        ("crm_surveys", "touchpoint"): catalogs.SURVEY_TOUCHPOINTS,
        ("crm_activities", "type"): catalogs.ACTIVITY_TYPES,
        ("ads_spend", "platform"): catalogs.AD_PLATFORMS,
    }
    for key, values in generator.items():
        assert values is registry[key], f"{key}: the generator keeps its own copy"
    for spec in ENTITY_SPECS:
        if spec.format == "csv":
            assert catalogs.CSV_COLUMNS[spec.entity] == spec.csv_columns


# ---------------------------------------------------------- the dbt YAMLs, checked against it


@functools.cache
def _yaml_documents() -> tuple[dict, ...]:
    return tuple(yaml.safe_load(path.read_text()) or {} for path in sorted(STAGING.rglob("*.yml")))


def _dbt_sources() -> dict[tuple[str, str], str]:
    """(source, table name) -> the relation it reads, from every staging source YAML."""
    found = {}
    for document in _yaml_documents():
        for source in document.get("sources", []):
            for table in source.get("tables", []):
                found[(source["name"], table["name"])] = table.get("identifier", table["name"])
    return found


def _staging_models(spec: EntitySpec) -> set[str]:
    """The staging models built on the entity: those that read its dbt source, and those
    that ref one of them (a base model's stg model, the versions' latest-state model)."""
    sql = {path.stem: path.read_text() for path in STAGING.rglob("*.sql")}
    models = {
        name
        for name, text in sql.items()
        if (spec.source, spec.entity) in set(SOURCE_CALL.findall(text))
    }
    while True:
        more = {name for name, text in sql.items() if set(REF_CALL.findall(text)) & models}
        if more <= models:
            return models
        models |= more


def _model_columns() -> dict[str, list[dict]]:
    columns = {}
    for document in _yaml_documents():
        for model in document.get("models", []):
            columns[model["name"]] = model.get("columns", [])
    return columns


def _accepted_values(column: dict) -> list[list]:
    """Every accepted_values list of a column (dbt's `arguments:` form or the older one)."""
    lists = []
    for test in column.get("data_tests", []) + column.get("tests", []):
        if isinstance(test, dict) and "accepted_values" in test:
            body = test["accepted_values"]
            lists.append(body.get("arguments", body)["values"])
    return lists


@pytest.mark.parametrize("spec", ENTITY_SPECS, ids=lambda s: s.table)
def test_every_registry_entity_has_a_dbt_source_table(spec: EntitySpec):
    sources = _dbt_sources()
    assert (spec.source, spec.entity) in sources, (
        f"no dbt source table {spec.source}.{spec.entity}: add it to "
        f"models/staging/{spec.source}/_{spec.source}__sources.yml"
    )
    assert sources[(spec.source, spec.entity)] == spec.table
    assert _staging_models(spec), f"no staging model reads source('{spec.source}', ...)"


@pytest.mark.parametrize("spec", ENTITY_SPECS, ids=lambda s: s.table)
def test_staging_accepted_values_equal_the_registrys_closed_lists(spec: EntitySpec):
    columns = _model_columns()
    by_column = {f.staging_column: f for f in spec.fields}
    tested: set[str] = set()
    mismatches = []
    for model in sorted(_staging_models(spec)):
        for column in columns.get(model, []):
            fld = by_column.get(column["name"])
            if fld is None or not fld.allowed:
                continue  # a derived column, or a field without a closed list (a score)
            for values in _accepted_values(column):
                tested.add(fld.path)
                if sorted(map(str, values)) != sorted(fld.allowed):
                    mismatches.append((model, column["name"], values, fld.allowed))
    assert mismatches == [], "staging accepted_values differ from the registry"
    untested = set(spec.closed_lists) - tested
    assert untested == set(), f"closed lists without an accepted_values test: {untested}"


# ------------------------------------------------- a new entity, registered in-process

# The registry entry of docs/adding-a-source.md's worked example.
SHOP_REVIEWS = EntitySpec(
    source="shop",
    entity="reviews",
    format="jsonl",
    fields=(
        Field("review_id", required=True),
        Field("contact_id"),
        Field("email"),
        Field("rating", "score", required=True),
        Field("status", allowed=("published", "hidden"), staged_as="review_status"),
        Field("body"),
        Field("reviewed_at", "timestamp", required=True),
    ),
    record_rules=(("rating outside 1-5", "try_cast(f_rating as double) not between 1 and 5"),),
    key=("review_id",),
    personal=PersonalData(
        identifiers=(("contact_id", CONTACT_ID), ("email", EMAIL)),
        owners=("contact_id",),
        guest_email="email",
        record_ids=("review_id",),
        scrubbed=("body",),
    ),
)


@pytest.fixture
def shop_reviews(monkeypatch, con) -> EntitySpec:
    """Registers SHOP_REVIEWS as if its entry were in ENTITY_SPECS (the names that modules
    imported from the registry are patched too), with its derived erasure rules."""
    registered = (*ENTITY_SPECS, SHOP_REVIEWS)
    for module in (specs, loader, erasure, rules):
        monkeypatch.setattr(module, "ENTITY_SPECS", registered)
    monkeypatch.setitem(TABLE_RULES, SHOP_REVIEWS.table, table_rules(SHOP_REVIEWS))
    loader.ensure_raw_schema(con)
    return SHOP_REVIEWS


def _review(review_id, contact_id, email, body="Lovely mug", **extra):
    return {
        "review_id": review_id,
        "contact_id": contact_id,
        "email": email,
        "rating": 5,
        "status": "published",
        "body": body,
        "reviewed_at": "2026-03-10T09:00:00Z",
        **extra,
    }


def _rows(con, table: str) -> dict[str, dict]:
    records = [json.loads(t) for (t,) in con.execute(f"select record from raw.{table}").fetchall()]
    return {record.get("review_id") or record.get("contact_id"): record for record in records}


def test_a_registered_entity_is_validated_by_the_loader(shop_reviews, landing, load, con):
    assert specs.spec_for("shop", "reviews") is shop_reviews
    landing.write_jsonl(
        "shop",
        "reviews",
        "reviews.jsonl",
        [
            _review("r-1", "c-1", "ann@example.com"),
            _review(None, "c-1", "ann@example.com"),
            _review("r-3", "c-1", None, status="deleted"),
            _review("r-4", "c-1", None, reviewed_at="yesterday"),
            _review("r-5", "c-1", None, rating=9),
            _review("r-6", "c-1", None, reviewed_at="2099-01-01T00:00:00Z"),
        ],
    )

    (result,) = load("shop", "reviews")

    assert (result.records_loaded, result.records_rejected) == (1, 5)
    assert set(_rows(con, "shop_reviews")) == {"r-1"}
    rejected = con.execute("select reason from raw.rejected_records order by line").fetchall()
    reasons = [reason for (reason,) in rejected]
    assert reasons[0] == "missing review_id"
    assert reasons[1] == "status 'deleted' is not one of: published, hidden"
    assert reasons[2].startswith("unparseable timestamp in reviewed_at")
    assert reasons[3] == "rating outside 1-5"
    assert "more than 48 hours after its file's day" in reasons[4]
    assert loader.reconciliation_failures(con, shop_reviews) == []
    assert loader.landing_days(landing.root, shop_reviews) == [DAY]


def test_a_registered_entity_is_covered_by_erasure(
    shop_reviews, landing, load, con, tmp_path, monkeypatch
):
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    landing.write_csv(
        "crm",
        "contacts",
        "contacts.csv",
        [
            {"contact_id": "c-1", "email": "ann@example.com", "updated_at": "2026-03-10"},
            {"contact_id": "c-3", "email": "bob@example.com", "updated_at": "2026-03-10"},
        ],
    )
    reviews = [
        _review("r-1", "c-1", "ann@example.com", body="Ann Lee, Berlin: lovely"),
        _review("r-2", None, " ANN@example.com ", body="guest review"),  # no contact
        _review("r-3", "c-3", "bob@example.com", body="Bob's review"),
    ]
    landing.write_jsonl("shop", "reviews", "reviews.jsonl", reviews)
    landing.write_csv(
        "privacy",
        "erasure_requests",
        "requests.csv",
        [{"request_id": "q-1", "email": "ann@example.com", "requested_at": "2026-03-10T12:00Z"}],
    )
    for source, entity in [
        ("crm", "contacts"),
        ("shop", "reviews"),
        ("privacy", "erasure_requests"),
    ]:
        load(source, entity)

    summary = apply_erasure_requests(con, tmp_path)

    assert summary.requests_applied == ["q-1"]
    rows = {r["body"] or r["review_id"]: r for r in _rows(con, "shop_reviews").values()}
    bob = rows.pop("Bob's review")
    assert bob == reviews[2], "nobody else is touched"
    assert len(rows) == 2
    for ann in rows.values():
        assert ann["body"] is None, "personal data is nulled"
        assert ann["review_id"].startswith(PSEUDONYM_PREFIX)
        assert ann["email"].startswith(PSEUDONYM_PREFIX)
        assert ann["contact_id"] is None or ann["contact_id"].startswith(PSEUDONYM_PREFIX)
    assert con.execute("select count(*) from raw.rejected_records").fetchone() == (0,)
    assert "ann@" not in json.dumps(rows).lower()

    # A later delivery of her old review is anonymised on arrival.
    next_day = DAY + dt.timedelta(days=1)
    landing.write_jsonl("shop", "reviews", "again.jsonl", reviews[:1], day=next_day)
    load("shop", "reviews", next_day)
    apply_ledger_to_partitions(con, tmp_path, shop_reviews, [next_day])
    (again,) = [
        json.loads(t)
        for (t,) in con.execute(
            "select record from raw.shop_reviews where dt = ?", [next_day]
        ).fetchall()
    ]
    assert again["contact_id"].startswith(PSEUDONYM_PREFIX)
    assert again["body"] is None
