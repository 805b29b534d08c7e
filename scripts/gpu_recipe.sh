#!/usr/bin/env bash
# The GPU recipe: fine-tune a teacher on a (lent) GPU within a time limit, evaluate it, and bring it back
# compact (fp16 via `tinysent pack`), split into parts small enough for a file-transfer limit.
#
#   usage: scripts/gpu_recipe.sh TRAIN_DATA TEST_DATA OUT [extra `tinysent train` options...]
#   e.g.:  scripts/gpu_recipe.sh train600k.csv.xz test.csv out --base minilm-l6 --max-train 300000 \
#            --batch-size 128 --lr 8e-5 --eval-every 500 --patience none
#
# Environment: LIMIT_S (seconds for training, default 480; the LR schedule is fitted to it with
# --time-budget), PART_MB (size of the returned parts, default 15), PYTHON (default python3).
# OUT gets log.txt, train.json, eval/ (metrics and plots), the model's train_log.jsonl and
# model.tar.part* (reassemble with `cat OUT/model.tar.part* | tar -x`).
set -uo pipefail
if [ $# -lt 3 ]; then sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
TRAIN=$1 TEST=$2 OUT=$3; shift 3
LIMIT_S=${LIMIT_S:-480} PART_MB=${PART_MB:-15} PY=${PYTHON:-python3}
W=$(mktemp -d); mkdir -p "$OUT"
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/log.txt"; }
log "start: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || echo no GPU)"
t0=$(date +%s)
# The hard limit sits 60 s above the budget: the budget shortens the schedule, the limit only guards.
timeout $((LIMIT_S + 60)) $PY -m tinysent.apps.cli train --train-data "$TRAIN" --out "$W/model" \
  --time-budget "$LIMIT_S" --quiet "$@" > "$OUT/train.json" 2> "$OUT/train.err"
log "train rc=$? in $(( $(date +%s) - t0 )) s"
cp "$W/model/train_log.jsonl" "$OUT/" 2>/dev/null
$PY -m tinysent.apps.cli evaluate --model "$W/model" --test-data "$TEST" --out "$OUT/eval" 2>> "$OUT/eval.err" \
  | tee -a "$OUT/log.txt"
$PY -m tinysent.apps.cli pack --model "$W/model" --out "$W/packed" | tee -a "$OUT/log.txt"
tar -C "$W" -cf "$W/model.tar" packed && split -b "${PART_MB}M" -d "$W/model.tar" "$OUT/model.tar.part"
rm -rf "$W"
log "done"
