# Every target sets up .venv on first use (idempotent: redone only when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The CPU build of torch; a GPU node overrides it (make eval TORCH=torch) or brings its own env.
TORCH  ?= torch==2.13.0
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)
ARGS   ?=

.PHONY: setup eval test bench report clean
setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[hf,test]"
	@# Debian's chromium for the viewer's browser tests (Playwright drives it; never `playwright install`)
	test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; } || echo "warning: chromium not installed (needs root): the viewer's browser tests will skip"
	$(PY) -m evalsuite.embedded
	touch $(STAMP)

# No GPU: the smoke suite on the embedded SmolLM2. GPU + vllm: the card's suite on the card's model.
eval: $(STAMP)
ifeq ($(HAS_GPU),1)
	$(PY) -m evalsuite suite=card model=nemotron-cascade-2 backend=vllm $(ARGS)
else
	$(PY) -m evalsuite suite=smoke $(ARGS)
endif

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

RUN_DIR ?= results/smoke/smollm2-135m
report: $(STAMP)
	$(PY) -m evalsuite report run_dir=$(RUN_DIR) $(ARGS)

bench: $(STAMP)
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
