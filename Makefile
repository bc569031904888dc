# Two commands set up everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   ?= incidents/6pm-price-cap.yaml

.PHONY: demo test lint typecheck pytest bench clean

# The stamp files re-run the install only when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/.installed $@

demo: $(BIN)/.installed
	$(BIN)/remedy check incidents/
	$(BIN)/remedy plan $(DEMO)

test: $(BIN)/.installed-dev
	$(BIN)/ruff check remedy tests bench
	$(BIN)/ruff format --check remedy tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check --fix remedy tests bench
	$(BIN)/ruff format remedy tests bench

bench: $(BIN)/.installed-dev
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/clv.py
	$(BIN)/python bench/drafts.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
