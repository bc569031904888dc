# Two commands set up everything on a fresh clone: `make demo` and `make test`.
# Both install from the committed locks (requirements/*.txt, every package pinned with its
# hashes), so a clone today and a clone in a year get the same versions. `make lock` refreshes
# the locks on purpose; `make test-latest` tries the newest releases pyproject.toml allows.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
DEMO   ?= incidents/6pm-price-cap.yaml
LOCK_RUNTIME := requirements/runtime.txt
LOCK_DEV     := requirements/dev.txt
# uv resolves one lock for every Python remedy supports (markers pick the right wheels).
LOCK_FLAGS := --universal --python-version 3.10 --generate-hashes --quiet \
	--custom-compile-command "make lock"

.PHONY: demo test test-slow lint typecheck pytest lock test-latest mutation bench screenshots clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else \
		"remedy needs Python 3.10 or newer; run: make PYTHON=python3.12 ...")'
	$(PYTHON) -m venv $(VENV)

# The stamp files re-run an install only when a lock or pyproject.toml changes. remedy itself
# is built with the locked hatchling (no build isolation: nothing unpinned is downloaded).
$(BIN)/.installed: $(LOCK_RUNTIME) pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --require-hashes --no-deps -r $(LOCK_RUNTIME)
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(PIP) check >/dev/null
	touch $@

$(BIN)/.installed-dev: $(LOCK_DEV) pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --require-hashes --no-deps -r $(LOCK_DEV)
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(PIP) check >/dev/null
	touch $(BIN)/.installed $@

demo: $(BIN)/.installed
	$(BIN)/remedy check incidents/
	$(BIN)/remedy plan $(DEMO)

test: $(BIN)/.installed-dev
	$(BIN)/ruff check remedy tests bench
	$(BIN)/ruff format --check remedy tests bench
	$(BIN)/mypy
	$(BIN)/pytest

# The statistical checks over many simulated seeds (minutes), left out of `make test`.
test-slow: $(BIN)/.installed-dev
	$(BIN)/pytest -m slow

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check --fix remedy tests bench
	$(BIN)/ruff format remedy tests bench

# Re-resolve both locks after pyproject.toml changed, keeping every pin that still fits;
# `make lock UPGRADE=1` moves everything to the newest releases the ranges allow. Then make test.
# uv comes from the current dev lock; nothing else is installed or checked (pyproject.toml may
# already name packages the old lock lacks).
lock: | $(BIN)/python
	$(PIP) install --quiet --require-hashes --no-deps -r $(LOCK_DEV)
	$(BIN)/uv pip compile $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) pyproject.toml \
		requirements/build.in -o $(LOCK_RUNTIME)
	$(BIN)/uv pip compile $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) --extra dev pyproject.toml \
		requirements/build.in -o $(LOCK_DEV)
	$(BIN)/uv pip compile $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) --extra dev --extra mutation \
		pyproject.toml requirements/build.in -o requirements/mutation.txt

# The suite against the newest releases the ranges allow, in a separate venv: an upgrade is a
# deliberate, tested change (if this passes, `make lock` and commit the new locks).
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade -e '.[test]'
	.venv-latest/bin/python -m pytest -p no:cacheprovider

# Mutation testing of the core modules (never in CI: hours for every mutant on 2 cores).
# `make mutation SAMPLE=150 [SEED=2]` runs a seeded random sample per module (~30 min) and
# reports the score with its 95% interval. mutmut and its own needs come from their own lock, in .venv-mutation.
LOCK_MUTATION := requirements/mutation.txt
.venv-mutation/.installed: $(LOCK_MUTATION) pyproject.toml
	$(PYTHON) -m venv .venv-mutation
	.venv-mutation/bin/python -m pip install --quiet --disable-pip-version-check \
		--require-hashes --no-deps -r $(LOCK_MUTATION)
	.venv-mutation/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--no-build-isolation -e .
	.venv-mutation/bin/python -m pip check >/dev/null
	touch $@

mutation: .venv-mutation/.installed
	.venv-mutation/bin/python bench/mutation.py $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(SEED),--seed $(SEED)) \
		--write bench/mutation-results.md

bench: $(BIN)/.installed-dev
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/clv.py
	$(BIN)/python bench/drafts.py
	$(BIN)/python bench/review.py
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/apology.py --speed

# The README's picture of the 6pm report, taken by headless Chromium (Debian: apt-get install
# chromium); commit docs/6pm-report.png when the page changes.
screenshots: $(BIN)/.installed
	mkdir -p bench/out
	$(BIN)/remedy plan incidents/6pm-price-cap.yaml -f html -o bench/out/6pm-report.html --force
	$(BIN)/python tests/browser.py bench/out/6pm-report.html docs/6pm-report.png 1200 1700

clean:
	rm -rf $(VENV) .venv-latest .venv-mutation mutants .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
