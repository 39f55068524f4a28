# The README's two commands, `make run` and `make test`, do all set-up on a fresh clone:
# both depend on `install`, which creates .venv with the interpreter found here.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test fuzz lint bench docs schema clean audio

install: $(STAMP)

# Reinstall only when the package metadata changes; `pip install -e` keeps code edits live.
$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/callflow run

test: install lint
	$(BIN)/python -m pytest -q

# The security fuzz with a deep budget (`make test` runs it with a bounded one).
fuzz: install
	HYPOTHESIS_PROFILE=deep $(BIN)/python -m pytest -q tests/security -k fuzz

lint: install
	$(BIN)/ruff check controller tests bench
	$(BIN)/ruff format --check controller tests bench

# A demo dictionary (numbers, dates, words) for en, fr and ar, spoken by espeak-ng.
audio: install
	command -v espeak-ng >/dev/null || (apt-get update && apt-get install -y espeak-ng)
	$(BIN)/python -m controller.speech.demo --audio audio

bench: install
	$(BIN)/python -m bench

# Regenerate what is derived from the node schemas (the tests fail when these drift).
docs: install
	$(BIN)/python -m controller.flowdoc --write README.md
	$(BIN)/callflow schema > controller/schema/flow.schema.json

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
