#!/usr/bin/env bash
# The GPU run behind the shipped model and results/: teacher fine-tune → task distillation → the same
# student fine-tuned without distillation → evaluation of all three on the same test tweets.
# Inputs from scripts/make_gpu_bundle.py (.gpu/). Outputs to $OUT (default: runs/gpu-out).
# Sizes and time limits are variables so the same script can be dry-run on a CPU with tiny values.
set -uo pipefail
OUT=${OUT:-runs/gpu-out}; W=${W:-runs/gpu}; mkdir -p "$OUT" "$W"
DATA=${DATA:-.gpu/train600k.csv.xz}; TEST=${TEST:-.gpu/test.csv}; BASE=${BASE:-.gpu/minilm}
MAXTRAIN=${MAXTRAIN:-none}; MAXVAL=${MAXVAL:-4000}; BS=${BS:-128}; BS_S=${BS_S:-256}
# Hard limits (timeout, seconds, data preparation included) and training budgets (schedules shorten to fit).
T_TEACHER=${T_TEACHER:-160}; T_DISTILL=${T_DISTILL:-260}; T_BASELINE=${T_BASELINE:-90}
B_TEACHER=${B_TEACHER:-100}; B_S1=${B_S1:-120}; B_S2=${B_S2:-60}; B_BASE=${B_BASE:-45}
EPOCHS_S1=${EPOCHS_S1:-4}; EPOCHS_S2=${EPOCHS_S2:-3}; EPOCHS_BASE=${EPOCHS_BASE:-3}
EVAL_EVERY=${EVAL_EVERY:-1000}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
ts() { date +%s; }
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/log.txt"; }
py=${PYTHON:-python3}
log "start $(hostname) $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null)"
$py -c "import torch, transformers, accelerate; print('torch', torch.__version__, 'transformers', transformers.__version__, 'accelerate', accelerate.__version__, 'cuda', torch.cuda.is_available())" 2>&1 | tee -a "$OUT/log.txt"

t0=$(ts)
timeout "$T_TEACHER" $py -m tinysent.cli train --base "$BASE" --data "$DATA" --out "$W/teacher" \
  --max-train "$MAXTRAIN" --max-val "$MAXVAL" --epochs 1 --batch-size "$BS" --lr 1e-4 --eval-every "$EVAL_EVERY" \
  --patience none --seed 0 --quiet --time-budget "$B_TEACHER" > "$W/teacher.json" 2> "$W/teacher.err"; log "teacher rc=$? $(( $(ts) - t0 ))s"
tail -3 "$W/teacher.err" >> "$OUT/log.txt"
$py -m tinysent.cli evaluate "$W/teacher" --data "$TEST" --out "$W/eval-teacher" 2>> "$W/eval.err" | tee -a "$OUT/log.txt"

t0=$(ts)
timeout "$T_DISTILL" $py -m tinysent.cli distill --teacher "$W/teacher" --student tinybert-4l --data "$DATA" \
  --out "$W/student" --max-train "$MAXTRAIN" --max-val "$MAXVAL" --stage1-epochs "$EPOCHS_S1" \
  --stage2-epochs "$EPOCHS_S2" --batch-size "$BS_S" --eval-every "$EVAL_EVERY" --seed 0 --quiet \
  --stage-budgets "1,$B_S1,$B_S2" \
  > "$W/student.json" 2> "$W/student.err"; log "distill rc=$? $(( $(ts) - t0 ))s"
tail -3 "$W/student.err" >> "$OUT/log.txt"
$py -m tinysent.cli evaluate "$W/student" --data "$TEST" --out "$W/eval-student" 2>> "$W/eval.err" | tee -a "$OUT/log.txt"
# The student, in fp16 (29 MB), split into parts under the 16 MB limit on returned files.
$py - "$W/student" "$W/student-fp16" <<'PY'
import shutil, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(src, dst, dirs_exist_ok=True)
sd = load_file(src / "model.safetensors")
save_file({k: v.to(torch.float16) if v.is_floating_point() else v for k, v in sd.items()},
          dst / "model.safetensors", metadata={"format": "pt"})
PY
tar -C "$W" -czf "$W/student.tgz" student-fp16 && split -b 15M -d "$W/student.tgz" "$OUT/student.tgz.part"

t0=$(ts)
$py scripts/init_student.py --shape tinybert-4l --tokenizer "$BASE" --out "$W/scratch-init" >> "$OUT/log.txt" 2>&1
timeout "$T_BASELINE" $py -m tinysent.cli train --base "$W/scratch-init" --data "$DATA" --out "$W/baseline" \
  --max-train "$MAXTRAIN" --max-val "$MAXVAL" --epochs "$EPOCHS_BASE" --batch-size "$BS_S" --lr 3e-4 \
  --eval-every "$EVAL_EVERY" --patience none --seed 0 --quiet --time-budget "$B_BASE" > "$W/baseline.json" 2> "$W/baseline.err"
log "baseline rc=$? $(( $(ts) - t0 ))s"
tail -3 "$W/baseline.err" >> "$OUT/log.txt"
$py -m tinysent.cli evaluate "$W/baseline" --data "$TEST" --out "$W/eval-baseline" 2>> "$W/eval.err" | tee -a "$OUT/log.txt"

# Everything small: logs, metrics, plots, configs (no weights but the student's).
tar -C "$W" -czf "$OUT/results.tgz" --exclude='*.safetensors' --exclude='student.tgz' --exclude='scratch-init' .
log "done"
