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
# 3. v5's chosen student learns for one more epoch on the same transfer set, twice: from the MPNet
#    teacher alone, and from the ensemble of it and the three MiniLM-L6 teachers (mean of the four's
#    probabilities); its pass over the 129,715 transfer tweets is ~2 h on 2 CPU cores and is cached
#    beside the MiniLM-L6 teachers' in v4's student folder;
# 4. of v5's student and these two, the best by the validation score all are selected by, then
#    temperature and class offsets and `tinysent pack` (as v5).
set -euo pipefail
WORK=${1:-runs/v6}
DATA=${DATA:-../shared/data} PACK=${PACK:-1} TEACHER_BATCH=${TEACHER_BATCH:-32}
SHIPPED=src/tinysent/shipped/tinysent-tinybert-4l
V5=$WORK/v5 V4=$WORK/v5/v4
mkdir -p "$WORK"
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$WORK/recipe.log"; }
source scripts/recipe_lib.sh
HELD=()
[ -n "${HOLDOUT:-}" ] && HELD=(--handlabelled-holdout "$HOLDOUT")  # see v4_recipe.sh

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

one_more_epoch "$WORK/student-mpnet" "$start" "$V4/student" --teacher "$t"
one_more_epoch "$WORK/student-four" "$start" "$V4/student" --teacher "$t" \
  --ensemble "$V4/teacher-s0" --ensemble "$V4/teacher-s1" --ensemble "$V4/teacher-s2"
chosen=$(best_on_validation "$start" "$WORK/student-mpnet" "$WORK/student-four")
echo "$chosen" > "$WORK/chosen"
log "chosen on validation: $chosen"
if [ "$PACK" = 1 ]; then calibrate_and_pack "$chosen"; fi
log "done"
