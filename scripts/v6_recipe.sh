#!/usr/bin/env bash
# The shipped model's recipe, round three (v6): v5's recipe, then a stronger teacher. Every step a
# `tinysent` command, each skipped when its output is already there (rerun the script to resume: the
# teachers' passes over the transfer tweets resume too, a saved chunk of 16,384 tweets at a time).
#
#   usage: scripts/v6_recipe.sh [WORK]        (WORK: default runs/v6)
#
# Environment: DATA (default ../shared/data), PACK (1: calibrate the chosen student and pack it),
# TEACHER_BATCH (32), and v5_recipe.sh's and v4_recipe.sh's (HOLDOUT among them).
#
# 1. v5's recipe without its packing (WORK/v5: three MiniLM-L6 teachers, v4's student and v5's, the
#    latter chosen on validation; its path in WORK/v5/chosen);
# 2. an MPNet-base teacher (all-mpnet-base-v2, 110M, ~3.4 s a step of 32 on 2 CPU cores: about an
#    hour) fine-tuned for 3 classes on the SemEval 2013-2016 material, one epoch, lr 3e-5 (the usual
#    rate for a 12-layer base model; the MiniLM-L6 teachers' 5e-5 suits a small one), selected on
#    TweetEval validation;
# 3. the teacher: the MPNet one alone, or the mean of its and the three MiniLM-L6 teachers'
#    probabilities, whichever has the higher TweetEval-val macro recall (`teacher_ensemble.py
#    --val-only`: WORK/teachers-val.json);
# 4. v5's chosen student learns for one more epoch on the same transfer set from that teacher (the
#    MPNet teacher's pass over the 129,715 transfer tweets is cached beside the MiniLM-L6 teachers' in
#    v4's student folder);
# 5. of v5's student and this one, the better by the validation score both were selected by, then
#    temperature and class offsets and `tinysent pack` (as v5).
set -euo pipefail
WORK=${1:-runs/v6}
DATA=${DATA:-../shared/data} PACK=${PACK:-1} TEACHER_BATCH=${TEACHER_BATCH:-32}
SHIPPED=src/tinysent/shipped/tinysent-tinybert-4l
V5=$WORK/v5 V4=$WORK/v5/v4
mkdir -p "$WORK"
source scripts/recipe_lib.sh  # log, HELD (HOLDOUT) and the shared steps

PACK=0 SEEDS=3 bash scripts/v5_recipe.sh "$V5"
start=$(cat "$V5/chosen")

t="$WORK/teacher-mpnet"
if [ ! -f "$t/model.safetensors" ]; then
  log "teacher: mpnet-base"
  tinysent train --base mpnet-base --num-labels 3 --handlabelled-data "$DATA/semeval-task4a" \
    --tweeteval-data "$DATA/tweeteval" "${HELD[@]}" --max-train 0 --max-length 64 --epochs 1 \
    --batch-size "$TEACHER_BATCH" --lr 3e-5 --eval-every 300 --patience none --seed 0 --quiet \
    --out "$t" > "$t.json"
fi

# the teacher: MPNet alone or averaged with the MiniLM-L6 three, by TweetEval-val macro recall (the
# validation split only: no test set is read before the model is packed)
minilm=("$V4/teacher-s0" "$V4/teacher-s1" "$V4/teacher-s2")
[ -f "$WORK/teachers-val.json" ] ||
  python scripts/teacher_ensemble.py "$t" "${minilm[@]}" --val-only --out "$WORK/teachers-val.json"
teachers=(--teacher "$t")
# (the file names its teachers by the paths they had when it was written: matched by real path)
pick=$(python - "$WORK/teachers-val.json" "$t" <<'EOF2'
import json, os, sys
rows = json.load(open(sys.argv[1]))["systems"]
mpnet = next(k for k in rows if os.path.realpath(k) == os.path.realpath(sys.argv[2]))
alone, mean = rows[mpnet]["tweeteval_val"]["macro_recall"], rows["ensemble (mean of probabilities)"]["tweeteval_val"]["macro_recall"]
print(f"TweetEval val: MPNet alone {alone:.4f}, with the MiniLM-L6 three {mean:.4f}", file=sys.stderr)
print("ensemble" if mean > alone else "alone")
EOF2
)
if [ "$pick" = ensemble ]; then for m in "${minilm[@]}"; do teachers+=(--ensemble "$m"); done; fi
one_more_epoch "$WORK/student" "$start" "$V4/student" "${teachers[@]}"
chosen=$(best_on_validation "$start" "$WORK/student")
echo "$chosen" > "$WORK/chosen"
log "chosen on validation: $chosen"
if [ "$PACK" = 1 ]; then calibrate_and_pack "$chosen"; fi
log "done"
