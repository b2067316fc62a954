# Shortcuts for development; each target is one command (the logic lives in Python).
.PHONY: run test lint fmt docs ui bench

run:   ## generate sample data if needed, load, build, test and publish
	uv run --frozen journey run
test:  ## the whole suite: lints, dbt build on generated data, pytest
	uv run --frozen pytest
lint:
	uv run --frozen ruff check . && uv run --frozen sqlfluff lint models data-tests
fmt:
	uv run --frozen ruff format . && uv run --frozen sqlfluff fix models data-tests
docs:
	uv run --frozen dbt docs generate && uv run --frozen dbt docs serve --port 8080
ui:
	uv run --frozen journey ui
SIZES ?= S,M
bench: ## time full build, daily run and lower bound per size: make bench SIZES=S,M,L (docs/performance.md)
	uv run --frozen python -m orchestration.benchmark --sizes $(SIZES)
