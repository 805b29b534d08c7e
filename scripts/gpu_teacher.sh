#!/usr/bin/env bash
# Second GPU run: the minilm-l6 teacher on 300k tweets at its own pace (no time budget), evaluated, and
# returned in fp16 (split under the 16 MB limit on returned files) for CPU distillation.
set -uo pipefail
OUT=${OUT:-runs/gpu-out}; W=${W:-runs/gpu}; mkdir -p "$OUT" "$W"
DATA=${DATA:-.gpu/train600k.csv.xz}; TEST=${TEST:-.gpu/test.csv}; BASE=${BASE:-.gpu/minilm}
MAXTRAIN=${MAXTRAIN:-300000}; T_TEACHER=${T_TEACHER:-200}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/log.txt"; }
log "start $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null)"
t0=$(date +%s)
timeout "$T_TEACHER" $py -m tinysent.cli train --base "$BASE" --data "$DATA" --out "$W/teacher" \
  --max-train "$MAXTRAIN" --max-val 4000 --epochs 1 --batch-size 128 --lr 8e-5 --eval-every 500 \
  --patience none --seed 0 --quiet > "$W/teacher.json" 2> "$W/teacher.err"; log "teacher rc=$? $(( $(date +%s) - t0 ))s"
$py -m tinysent.cli evaluate "$W/teacher" --data "$TEST" --out "$W/eval-teacher" 2>> "$W/eval.err" | tee -a "$OUT/log.txt"
tar -C "$W" -czf "$OUT/results.tgz" --exclude='*.safetensors' .
$py - "$W/teacher" "$W/teacher-fp16" <<'PY'
import shutil, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(src, dst, dirs_exist_ok=True)
sd = load_file(src / "model.safetensors")
save_file({k: v.to(torch.float16) for k, v in sd.items()}, dst / "model.safetensors", metadata={"format": "pt"})
PY
tar -C "$W" -cf "$W/teacher.tar" teacher-fp16 && split -b 15M -d "$W/teacher.tar" "$OUT/teacher.tar.part"
log "done"
