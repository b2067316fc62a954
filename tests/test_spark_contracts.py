"""A model's contract holds on Spark as it does on DuckDB (macros/spark/persist_constraints.sql).

DuckDB enforces a contract's constraints when it builds the table; dbt-spark would apply them
only to Delta tables, and the project's are Parquet. So on Spark the built table is checked
against every constraint (not_null, unique, primary_key, check) and a model that breaks one
fails, naming each broken rule and its rows. Here on a small dbt project that uses the
project's Spark macros and its `spark` target, against a local Spark Connect server: a
model that keeps its contract builds, one that breaks four of its rules fails with all four.
The project's own marts keep theirs on Spark in the Spark run of tests/test_spark_engine.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from orchestration import spark
from orchestration.project import REPO_ROOT, dbt_executable

PROJECT = {
    "dbt_project.yml": """
        name: contract_probe
        version: "1.0"
        profile: journey
        macro-paths: [macros]
        models:
          contract_probe:
            +materialized: table
            +file_format: parquet
            +contract:
              enforced: true
    """,
    # Kept: a primary key (not null and unique) and a not-null column, all held.
    "models/kept.sql": """
        select 1 as id, 'email' as channel
        union all select 2, 'web'
    """,
    # Broken: id 1 twice (the null id apart), one null channel, one negative amount, one
    # amount of 3 or more; a check whose expression is null (amount null) holds, as in SQL.
    "models/broken.sql": """
        select 1 as id, cast(null as string) as channel, cast(-1.5 as double) as amount
        union all select 1, 'email', cast(2 as double)
        union all select cast(null as int), 'web', cast(3 as double)
        union all select 2, 'web', cast(null as double)
    """,
    "models/models.yml": """
        version: 2
        models:
          - name: kept
            columns:
              - name: id
                data_type: int
                constraints:
                  - type: primary_key
              - name: channel
                data_type: string
                constraints:
                  - type: not_null
          - name: broken
            constraints:
              - type: check
                expression: "amount < 3"
            columns:
              - name: id
                data_type: int
                constraints:
                  - type: unique
              - name: channel
                data_type: string
                constraints:
                  - type: not_null
              - name: amount
                data_type: double
                constraints:
                  - type: check
                    expression: "amount >= 0"
    """,
}


def test_a_model_that_breaks_its_contract_fails_on_spark(tmp_path: Path):
    if not shutil.which("java"):
        pytest.fail(
            "the Spark tests need Java 17 or 21 on PATH (Debian: apt-get install "
            "openjdk-17-jre-headless)"
        )
    project = tmp_path / "project"
    for name, text in PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(textwrap.dedent(text).lstrip())
    (project / "macros").symlink_to(REPO_ROOT / "macros" / "spark")
    with spark.spark_server(tmp_path / "warehouse", driver_memory="1g") as address:
        result = subprocess.run(
            [dbt_executable(), "run", "--target", "spark", "--profiles-dir", str(REPO_ROOT)],
            cwd=project,
            env={**os.environ, "SPARK_REMOTE": address, "DBT_SEND_ANONYMOUS_USAGE_STATS": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "OK created sql table model main.kept" in output, output[-3000:]
    assert (
        "broken breaks its contract (checked on Spark after building main.broken): "
        "id unique: 1 row; channel not null: 1 row; check (amount >= 0): 1 row; "
        "check (amount < 3): 1 row"
    ) in " ".join(output.split()), output[-3000:]
    assert "Completed with 1 error" in output, output[-3000:]
