# Vertskap: `make run` serves the app with its scheduler; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test test-e2e screenshots lint format translations clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

translations/.compiled: $(BIN)/activate $(wildcard translations/*/LC_MESSAGES/messages.po)
	@if [ -d translations ]; then $(BIN)/pybabel -q compile -d translations && touch $@; fi

## run: install, migrate, load the demo data on first start, serve on http://127.0.0.1:$(PORT)
run: $(BIN)/activate translations/.compiled
	$(FLASK) db upgrade
	$(FLASK) crm first-run
	@echo "Vertskap runs on http://127.0.0.1:$(PORT)  (Ctrl-C stops the web server and the scheduler)"
	@$(BIN)/python -m crm.devserver --port $(PORT)

## test: the whole suite (browser tests skip when no Chromium is installed)
test: $(BIN)/activate translations/.compiled
	$(BIN)/pytest

## test-e2e: only the browser tests; `make screenshots` also refreshes docs/screenshots/
test-e2e: $(BIN)/activate translations/.compiled
	$(BIN)/pytest tests/e2e

screenshots: $(BIN)/activate translations/.compiled
	$(BIN)/pytest tests/e2e --screenshots

## lint: ruff check and format check
lint: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/activate
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## translations: extract new strings and update the catalogues
translations: $(BIN)/activate
	$(BIN)/pybabel -q extract -F babel.cfg -k _l --project=Vertskap --add-location=file --sort-output -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
