# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
QW := $(BIN)/quanwang
STAMP := $(VENV)/.installed

.PHONY: run install migrate demo serve test test-sqlite test-postgres fuzz check lint format typecheck \
	migrations-check openapi openapi-check datamodel-check messages browser fonts spark clean

run: fonts migrate demo serve

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The optional Spark engine (pyspark; needs Java 17+): the engine-parity test runs with it.
spark: install
	$(BIN)/pip install --quiet -e '.[dev,spark]'

migrate: install
	$(QW) migrate --no-input -v 0

demo: install
	$(QW) demo

serve: install
	$(QW) serve

# The whole suite. It runs on SQLite unless DATABASE_URL names another database.
test: install fonts
	$(BIN)/pytest -q

test-postgres: install fonts
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/pytest -q

# schemathesis over every API operation with more examples than `make test` runs (25 each).
fuzz: install
	QUANWANG_FUZZ_EXAMPLES=$${QUANWANG_FUZZ_EXAMPLES:-200} $(BIN)/pytest -q tests/api/test_schemathesis.py

check: lint typecheck migrations-check openapi-check datamodel-check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

migrations-check: install
	$(QW) makemigrations --check --dry-run

datamodel-check: install
	$(QW) datamodel --check

openapi: install
	$(QW) openapi

openapi-check: install
	$(QW) openapi --check

messages: install
	cd src/quanwang && ../../$(QW) makemessages -l zh_Hans -l en --no-obsolete --no-location --ignore '*/static/vendor/*'
	cd src/quanwang && ../../$(QW) compilemessages

# The CJK font the PDF statements and reports and the PNG boards embed (they refuse to draw
# Chinese as boxes): Debian's fonts-wqy-microhei where there is none. Needs root; without it
# the console says which font to install, and the PDF/PNG tests fail naming it.
fonts:
	@fc-list :lang=zh 2>/dev/null | grep -q . || \
		(apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei) || \
		echo "No CJK font could be installed: install fonts-wqy-microhei (or set QUANWANG_PDF_FONT)."

# Debian's Chromium (and a CJK font for screenshots) for the browser tests; needs root.
browser:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || \
		(apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
