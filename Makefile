# Shortcuts for development; each target is one command (the logic lives in Python).
.PHONY: run test lint fmt docs ui bench

run:   ## generate sample data if needed, load, build, test and publish
	./uvw run --frozen journey run
test:  ## the whole suite: lints, dbt build on generated data, pytest
	./uvw run --frozen pytest
lint:
	./uvw run --frozen ruff check . && ./uvw run --frozen sqlfluff lint models data-tests
fmt:
	./uvw run --frozen ruff format . && ./uvw run --frozen sqlfluff fix models data-tests
docs:
	./uvw run --frozen dbt docs generate && ./uvw run --frozen dbt docs serve --port 8080
ui:
	./uvw run --frozen journey ui
SIZES ?= S,M
bench: ## time full build, daily run, its rerun and lower bound per size: make bench SIZES=S,M,L (docs/performance.md)
	./uvw run --frozen python -m journey_tools.benchmark --sizes $(SIZES)
