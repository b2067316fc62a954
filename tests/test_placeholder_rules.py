"""The placeholder rules of the seed `identity_placeholder_values` are written once, as the
dbt macros of macros/identity/placeholder_rules.sql: identity resolution
(`int_identifiers_screened`) calls them in dbt, and erasure (orchestration/privacy/erasure.py)
renders the same file with plain jinja2, as these tests do, over raw tables before dbt."""

from __future__ import annotations

import re

import duckdb
import jinja2
import pytest

from orchestration.ingestion.specs import EMAIL
from orchestration.privacy import erasure
from orchestration.project import REPO_ROOT

MACROS = REPO_ROOT / "macros" / "identity" / "placeholder_rules.sql"
MODEL = REPO_ROOT / "models" / "intermediate" / "identity" / "int_identifiers_screened.sql"
MATCH_TYPES = ("exact", "email_local_part", "email_domain")

# Hand-written seed rows, as a loader hands them over: not normalised, a null for `null`.
SEED_ROWS = [
    (None, "exact"),
    ("undefined", "exact"),
    ("A@A.com", "exact"),
    (" Test ", "email_local_part"),
    ("noreply", "email_local_part"),
    ("example.com", "email_domain"),
    ("test", "email_domain"),
]

# identifier type, identifier, the reason expected (`<match_type> <seed value>`, the first
# by priority; `not_an_email_address`), or None for a real identifier.
CASES = [
    ("web_user_id", "null", "exact null"),
    ("web_user_id", "NULL", "exact null"),
    ("web_anonymous_id", " Undefined ", "exact undefined"),
    ("email", "a@a.com", "exact a@a.com"),
    ("email", "test@x.com", "email_local_part test"),
    ("email", "test+1@x.com", "email_local_part test"),
    ("email", "TEST+1@Shop.com", "email_local_part test"),
    ("email", "noreply+news@example.com", "email_local_part noreply"),
    ("email", "ann@example.com", "email_domain example.com"),
    ("email", "a@mail.example.com", "email_domain example.com"),
    ("email", "ann@shop.test", "email_domain test"),
    ("email", "foo@", "not_an_email_address"),
    ("email", "@shop.com", "not_an_email_address"),
    ("email", "bob", "not_an_email_address"),
    ("email", "ann@shop.com", None),
    ("email", "mytest@x.com", None),
    ("email", "testy+1@x.com", None),
    ("email", "ann@notexample.com", None),
    ("email", "ann@example.com.au", None),
    ("email", "ann@testing.org", None),
    # the email rules apply to emails only
    ("web_user_id", "test+1@x.com", None),
    ("web_anonymous_id", "foo@", None),
    ("web_anonymous_id", "dev-1", None),
]


@pytest.fixture(scope="module")
def rules():
    """The macros, rendered without dbt, as erasure renders them."""
    return jinja2.Environment().from_string(MACROS.read_text()).module


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create table seed (placeholder_value varchar, match_type varchar)")
    con.executemany("insert into seed values (?, ?)", SEED_ROWS)
    con.execute("create table ids (identifier_type varchar, identifier_value varchar)")
    con.executemany("insert into ids values (?, ?)", [case[:2] for case in CASES])
    yield con
    con.close()


def _first_reasons(con: duckdb.DuckDBPyConnection, rules) -> dict[tuple[str, str], str | None]:
    """The shape of `int_identifiers_screened`: the keys computed once, one join per match
    type, the first match by priority then rule text."""
    keys = ", ".join(
        f"{rules.placeholder_match_key(m, 'identifier_type', 'identifier_value')} as {m}_key"
        for m in MATCH_TYPES
    )
    joins = " union all ".join(
        f"""
        select ids.identifier_type, ids.identifier_value,
            seed.match_type || ' ' || {rules.placeholder_seed_value("seed.placeholder_value")}
                as rule,
            {rules.placeholder_rule_priority("seed.match_type")} as priority
        from ids inner join seed
            on {rules.placeholder_key_matches(m, f"ids.{m}_key", "seed.placeholder_value")}
        where seed.match_type = '{m}'
        """
        for m in MATCH_TYPES
    )
    rows = con.execute(
        f"""
        with
        ids as (select *, {keys} from ids),
        matches as (
            {joins}
            union all
            select identifier_type, identifier_value, 'not_an_email_address',
                {rules.placeholder_rule_priority("'not_an_email_address'")}
            from ids
            where {rules.is_not_an_email_address("identifier_type", "identifier_value")}
        )
        select ids.identifier_type, ids.identifier_value, first(rule order by priority, rule)
        from ids left join matches using (identifier_type, identifier_value)
        group by all
        """
    ).fetchall()
    return {(t, v): rule for t, v, rule in rows}


def test_each_rule_matches_what_the_seed_means(con, rules):
    reasons = _first_reasons(con, rules)
    assert reasons == {(t, v): expected for t, v, expected in CASES}


def test_the_single_condition_of_erasure_matches_the_same_identifiers(con, rules):
    matches = rules.placeholder_rule_matches(
        "ids.identifier_type",
        "ids.identifier_value",
        "placeholders.match_type",
        "placeholders.placeholder_value",
    )
    hits = con.execute(
        f"""
        select distinct ids.identifier_type, ids.identifier_value
        from ids inner join seed as placeholders on {matches}
        union
        select identifier_type, identifier_value from ids
        where {rules.is_not_an_email_address("identifier_type", "identifier_value")}
        """
    ).fetchall()
    assert sorted(hits) == sorted((t, v) for t, v, expected in CASES if expected)


def test_erasure_screens_its_candidates_with_the_real_seed_as_identity_resolution_does(rules):
    """Over the real seed: erasure's own rows (`_placeholders`) and its rendered condition
    screen out exactly what the model's per-match-type joins screen out."""
    con = duckdb.connect()
    con.execute("create table seed (placeholder_value varchar, match_type varchar)")
    con.executemany("insert into seed values (?, ?)", erasure._placeholders())
    con.execute("create table ids (identifier_type varchar, identifier_value varchar)")
    values = [v for _, v, _ in CASES] + ["None", "[object Object]", "info@shop.com", "x@a.invalid"]
    con.executemany(
        "insert into ids values (?, ?)", [(t, v) for t in ("email", "ip") for v in values]
    )
    model = {key for key, rule in _first_reasons(con, rules).items() if rule}
    candidates = "(select identifier_type, identifier_value as value from ids) as candidates"
    hits = con.execute(
        f"""
        select distinct candidates.identifier_type, candidates.value from {candidates}
        inner join (select placeholder_value as value, match_type from seed) as placeholders
            on {erasure._PLACEHOLDER_RULE_MATCHES}
        union
        select identifier_type, value from {candidates} where {erasure._NOT_AN_EMAIL_ADDRESS}
        """
    ).fetchall()
    assert set(hits) == model
    assert ("email", "info@shop.com") in model and ("ip", "[object Object]") in model
    assert ("ip", "test+1@x.com") not in model


def test_the_priority_orders_the_rules(con, rules):
    order = ("exact", "email_local_part", "email_domain", "not_an_email_address")
    priorities = [
        con.execute(f"select {rules.placeholder_rule_priority(repr(name))}").fetchone()[0]
        for name in order
    ]
    assert priorities == [1, 2, 3, 4]


def test_an_unknown_match_type_fails_the_render(rules):
    with pytest.raises(jinja2.UndefinedError):
        rules.placeholder_match_key("email_tld", "t", "v")


def test_the_model_and_erasure_call_the_macros_and_keep_no_copy_of_the_rules():
    model = MODEL.read_text()
    for macro in (
        "placeholder_seed_value",
        "placeholder_match_key",
        "placeholder_key_matches",
        "placeholder_rule_priority",
        "is_not_an_email_address",
    ):
        assert re.search(rf"\{{\{{\s*{macro}\(", model), macro
    assert "split_part(" not in model and "like '%_@_%'" not in model

    assert erasure.PLACEHOLDER_RULES == MACROS
    source = (REPO_ROOT / "orchestration" / "privacy" / "erasure.py").read_text()
    assert ".placeholder_rule_matches(" in source and ".is_not_an_email_address(" in source
    assert "split_part(" not in source and "%_@_%" not in source
    assert erasure._PLACEHOLDER_RULE_MATCHES in erasure.CLOSURE_SQL
    assert erasure._NOT_AN_EMAIL_ADDRESS in erasure.CLOSURE_SQL
    # the macros name the email identifier type `email`, as both callers do
    assert EMAIL == "email"
