"""Lint gates that block CI: ruff for Python, SQLFluff (duckdb dialect) for the dbt SQL, and
the dbt project's structure rules of docs/style.md (documented expression macros, one YAML
file per model, the layers models read)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestration.project import REPO_ROOT

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        # Every core: about 80 s on one, and the suite's other worker is often idle.
        ["sqlfluff", "lint", "models", "data-tests", "--disable-progress-bar", "--processes", "0"],
    ],
    ids=["ruff-check", "ruff-format", "sqlfluff"],
)
def test_the_code_passes_its_linter(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_the_sqlfluff_templater_renders_as_jinja_with_macros_compiled_once(monkeypatch):
    """`.sqlfluff`'s `journey_jinja` (journey_tools/sqlfluff_templater.py) renders a model
    exactly as SQLFluff's jinja templater does with the same settings, and compiles each
    file of macros/ once per process, where the jinja templater compiles it again for every
    file it renders (twice each: why the templater exists)."""
    from jinja2 import Environment
    from sqlfluff.core import FluffConfig
    from sqlfluff.core.templaters.jinja import JinjaTemplater

    from journey_tools import sqlfluff_templater

    class UncachedJinja(JinjaTemplater):
        name = "journey_jinja"  # SQLFluff's own code, reading the same settings

    macro_texts = {path.read_text() for path in (REPO_ROOT / "macros").rglob("*.sql")}
    compiled: list[str] = []
    compile_once = Environment.compile

    def counting_compile(env, source, *args, **kwargs):
        if source in macro_texts:
            compiled.append(source)
        return compile_once(env, source, *args, **kwargs)

    monkeypatch.setattr(Environment, "compile", counting_compile)
    monkeypatch.setattr(sqlfluff_templater, "_COMPILED", {})
    monkeypatch.chdir(REPO_ROOT)
    config = FluffConfig.from_root()
    assert config.get("templater") == "journey_jinja"
    models = [
        "models/staging/web/base/base_web__events.sql",
        "models/staging/crm/stg_crm__orders.sql",
        "models/intermediate/identity/int_identity_links_evaluated.sql",
    ]

    def render(templater: JinjaTemplater) -> tuple[list[str], set[int]]:
        """Each model's rendering, and how often each macro file was compiled."""
        compiled.clear()
        rendered = []
        for model in models:
            text = (REPO_ROOT / model).read_text()
            templated, errors = templater.process(in_str=text, fname=model, config=config)
            assert not errors, (model, errors)
            assert "{{" not in templated.templated_str, model
            rendered.append(templated.templated_str)
        return rendered, {compiled.count(text) for text in macro_texts if text.strip()}

    cached, compiles_cached = render(sqlfluff_templater.CachedMacrosJinjaTemplater())
    uncached, compiles_uncached = render(UncachedJinja())
    assert cached == uncached
    assert compiles_cached == {1}
    assert compiles_uncached == {2 * len(models)}


def _readme_layout() -> list[str]:
    """The paths of the README's Layout block, indented entries joined to their folder."""
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    paths, parent = [], ""
    for line in block.strip("\n").splitlines():
        name = line.split()[0]
        if line.startswith(" "):
            paths.append(parent + name)
        else:
            parent = name
            paths.append(name)
    return paths


def test_the_readme_layout_names_only_what_exists():
    missing = [path for path in _readme_layout() if not (REPO_ROOT / path).exists()]
    assert missing == []


def test_the_readme_layout_names_every_folder_of_the_project_and_the_package():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    top = {f"{name.split('/')[0]}/" for name in tracked if "/" in name and name[0] != "."}
    package = {
        "/".join(name.split("/")[:2]) + "/"
        for name in tracked
        if name.startswith("orchestration/") and name.count("/") >= 2
    }
    layout = _readme_layout()
    named = {path for path in layout if path.endswith("/")}
    named |= {path.split("/")[0] + "/" for path in layout}
    assert sorted((top | package) - named) == []


# docs/style.md, "Macros", "YAML" and "Layers": the rules below hold for the whole tree.

MACRO_DEFINITION = re.compile(r"\{%-?\s*(macro|test)\s+(\w+)\s*\((.*?)\)\s*-?%\}", re.S)
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
JINJA_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
CALLS_REF_OR_SOURCE = re.compile(r"\b(ref|source)\s*\(")
REF = re.compile(r"""\bref\(\s*['"](\w+)['"]\s*\)""")
DISPATCHED_IMPLEMENTATION = re.compile(r"^(default|duckdb|spark)__")


def _macros() -> dict[str, tuple[Path, list[str]]]:
    """Every macro (and generic test, named test_<name> as dbt does) of macros/: its file
    and its parameters."""
    found = {}
    for path in sorted((REPO_ROOT / "macros").rglob("*.sql")):
        text = JINJA_COMMENT.sub("", path.read_text())
        for kind, name, parameters in MACRO_DEFINITION.findall(text):
            names = [p.split("=")[0].strip() for p in parameters.split(",") if p.strip()]
            found[f"test_{name}" if kind == "test" else name] = (path, names)
    return found


def _documented_macros() -> dict[str, dict]:
    documented = {}
    for path in sorted((REPO_ROOT / "macros").rglob("*.yml")):
        for entry in (yaml.safe_load(path.read_text()) or {}).get("macros", []):
            documented[entry["name"]] = entry
    return documented


def test_every_macro_is_documented_with_its_arguments():
    documented = _documented_macros()
    macros = _macros()
    problems = [f"{name}: not in a macros YAML" for name in macros if name not in documented]
    problems += [f"{name}: documented but not defined" for name in documented if name not in macros]
    for name, (_, parameters) in macros.items():
        entry = documented.get(name)
        if entry is None:
            continue
        if not str(entry.get("description", "")).strip():
            problems.append(f"{name}: no description")
        listed = [argument["name"] for argument in entry.get("arguments", [])]
        # A dispatched implementation (default__x) may leave its arguments to x's entry.
        if listed != parameters and not (DISPATCHED_IMPLEMENTATION.match(name) and not listed):
            problems.append(f"{name}: arguments {listed} in the YAML, {parameters} in the macro")
    assert problems == []


def test_no_macro_reads_a_model_or_a_source():
    """Macros compute expressions; which relations a query reads is visible in the model."""
    offenders = []
    for path in sorted((REPO_ROOT / "macros").rglob("*.sql")):
        code = JINJA_CODE.findall(JINJA_COMMENT.sub("", path.read_text()))
        if any(CALLS_REF_OR_SOURCE.search(block) for block in code):
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []


def _model_files() -> dict[str, Path]:
    return {path.stem: path for path in sorted((REPO_ROOT / "models").rglob("*.sql"))}


def test_every_model_has_its_own_yaml_file():
    """`models/<folder>/<model>.sql` is described by `models/<folder>/<model>.yml`, which
    describes that model only."""
    models = _model_files()
    described: dict[str, list[str]] = {}
    for path in sorted((REPO_ROOT / "models").rglob("*.yml")):
        for entry in (yaml.safe_load(path.read_text()) or {}).get("models", []) or []:
            described.setdefault(entry["name"], []).append(str(path.relative_to(REPO_ROOT)))
    problems = []
    for name, sql in models.items():
        own = str(sql.with_suffix(".yml").relative_to(REPO_ROOT))
        if described.get(name) != [own]:
            problems.append(f"{name}: described in {described.get(name, [])}, not (only) {own}")
    problems += [f"{name}: YAML without a model" for name in described if name not in models]
    assert problems == []


# (reader layer, parent layer or name prefix) pairs docs/style.md rules out.
FORBIDDEN_EDGES = (
    ("marts", "staging"),
    ("intermediate", "marts"),
    ("fct_", "kpi_"),
    ("dim_", "kpi_"),
)


def test_models_read_the_layers_the_style_guide_allows():
    """Marts read intermediate models, seeds and the Python models' sources, never staging;
    intermediate models never read marts; a fact or dimension never reads a KPI mart."""
    models = _model_files()
    layer = {name: path.relative_to(REPO_ROOT / "models").parts[0] for name, path in models.items()}
    problems = []
    for name, path in models.items():
        for parent in REF.findall(path.read_text()):
            if parent not in layer:  # a seed
                continue
            for reader, read in FORBIDDEN_EDGES:
                if reader in (layer[name], name[: len(reader)]) and read in (
                    layer[parent],
                    parent[: len(read)],
                ):
                    problems.append(f"{layer[name]}/{name} reads {layer[parent]}/{parent}")
    assert problems == []
