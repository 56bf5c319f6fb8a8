#!/usr/bin/env bash
# Issue 17's Open-i table: every validate row (341), base, the k=2 LoRA fine-tune greedy and
# with candidate decoding, the TF-IDF / dense copies, their 5-NN consensus and most-frequent,
# paired bootstrap against the best baseline. 2-core CPU, no GPU; tune on validate only.
#   bash benchmarks/candidates_openi.sh [OUT_DIR] [OPENI_DIR] [STEPS]   (repository root)
# Every step skips what is done (generation resumes by row), so it can run in pieces, e.g.
# each under `flock /work/cpu.lock` with `timeout` on a shared machine.
set -euo pipefail
OUT=${1:-candidates_out}
OPENI=${2:-/work/shared/data/openi}
STEPS=${3:-200}
PY=${PYTHON:-python}
R="$PY -m radllama"
mkdir -p "$OUT/preds" "$OUT/table"
DATA="$OUT/openi/data"
if [ ! -f "$DATA/manifest.json" ]; then  # DATA_DIR as `radllama demo configs/openi.yaml` builds it
  $PY - "$OUT" "$OPENI" <<'PY'
import sys
from pathlib import Path
from radllama.demo import DemoConfig, _prepare_data
openi = Path(sys.argv[2])
cfg = DemoConfig(input=openi / "train.jsonl", test_input=openi / "validate.jsonl", preset="openi")
_prepare_data(cfg, Path(sys.argv[1]) / "openi", print)
PY
fi
[ -f "$OUT/smol/config.json" ] || $R base --out "$OUT/smol"
[ -f "$DATA/index/meta.json" ] || $R index "$DATA"
RUN="$OUT/runs/lora-k2"
if [ ! -f "$RUN/radllama_run.json" ]; then
  RESUME=$(ls -d "$RUN"/checkpoints/checkpoint-* >/dev/null 2>&1 && echo --resume || true)
  $R train configs/smollm2-retrieval-cpu.yaml --data "$DATA" --model "$OUT/smol" --out "$RUN" \
    --max-steps "$STEPS" $RESUME
fi
$R baselines --data "$DATA" --out-dir "$OUT/preds" \
  --systems retrieval-tfidf,retrieval-dense,retrieval-consensus,retrieval-consensus-dense,most-frequent
G="$R generate --data $DATA/test.jsonl --max-new-tokens 48 --batch-size 16"
$G --model "$RUN" --out "$OUT/preds/lora-k2.jsonl" --system lora-k2
$G --model "$RUN" --out "$OUT/preds/lora-k2-candidates.jsonl" --system lora-k2-candidates \
  --decode candidates --num-samples 4 --candidate-neighbours 5
$G --model "$OUT/smol" --index "$DATA" --num-examples 0 --out "$OUT/preds/base-k0.jsonl" --system base-k0
# Weights: re-chosen from the stored candidates (validate only; in-sample and 2-fold).
$PY benchmarks/tune_candidates.py "$OUT/preds/lora-k2-candidates.jsonl"
cp "$OUT"/preds/*.jsonl "$OUT/table/"
$PY benchmarks/retrieval_k_table.py "$OUT/table" --reference retrieval-consensus,retrieval-tfidf
