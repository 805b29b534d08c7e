#!/usr/bin/env bash
# The shipped model's recipe (v4), every step a `tinysent` command, each skipped when its output is
# already there (rerun the script to resume after an interruption). Runs on a CPU or a GPU: the same
# commands, Accelerate picks the device (bf16 autocast on a GPU).
#
#   usage: scripts/v4_recipe.sh [WORK]        (WORK: default runs/v4)
#
# Environment: DATA (default ../shared/data), SEEDS (teachers in the ensemble, default 2),
# TEACHER_BASE (default minilm-l6; mpnet-base, 110M, is ~6 training tweets/s on 2 CPU cores: a GPU's),
# MAX_TRAIN (Sentiment140 transfer tweets, default 100000), STUDENT_BUDGET (seconds for the student's
# distillation: the schedule shortens to fit; default 0 = no limit, one epoch), TEACHER_BATCH (32),
# STUDENT_BATCH (64), START (the student's start: default v3, the package's model at commit
# 494e9a7, taken from git), PACK (1: calibrate and pack the student into the package folder),
# HOLDOUT (a SemEval file name, e.g. twitter-2016test-A.tsv: held out of every teacher's and the
# student's training to be the 3-class validation split instead of TweetEval's; default none. v3,
# the default START, learned from every SemEval file: for a clean holdout start from a model that did
# not, e.g. a binary Sentiment140 model, whose head grows the neutral class).
#
# 1. SEEDS teachers: all-MiniLM-L6-v2 fine-tuned for 3 classes on the SemEval 2013-2016 material
#    (one epoch each, seeds 0..SEEDS-1), selected on TweetEval validation;
# 2. the student (v3, the 4-layer model shipped before, as the start) learns the ensemble's averaged probabilities
#    on the SemEval tweets plus MAX_TRAIN Sentiment140 tweets read as unlabelled transfer tweets
#    (--emoticon-targets teacher), selected on TweetEval validation and a Sentiment140 validation split;
# 3. temperature and class offsets (kept if their cross-fitted gain is positive) on TweetEval
#    validation (`tinysent calibrate --class-bias`), then `tinysent pack` into the package.
set -euo pipefail
WORK=${1:-runs/v4}
DATA=${DATA:-../shared/data} SEEDS=${SEEDS:-2} TEACHER_BASE=${TEACHER_BASE:-minilm-l6} MAX_TRAIN=${MAX_TRAIN:-100000}
STUDENT_BUDGET=${STUDENT_BUDGET:-0} TEACHER_BATCH=${TEACHER_BATCH:-32} STUDENT_BATCH=${STUDENT_BATCH:-64}
PACK=${PACK:-1}
SHIPPED=src/tinysent/shipped/tinysent-tinybert-4l
mkdir -p "$WORK"
START=${START:-$WORK/v3}
if [ ! -f "$START/model.safetensors" ]; then  # v3 as it was shipped, whatever the package holds now
  mkdir -p "$START" && git archive 494e9a7 "$SHIPPED" | tar -x -C "$START" --strip-components 4
fi
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$WORK/recipe.log"; }
THREE=(--num-labels 3 --handlabelled-data "$DATA/semeval-task4a" --tweeteval-data "$DATA/tweeteval")
[ -n "${HOLDOUT:-}" ] && THREE+=(--handlabelled-holdout "$HOLDOUT")

ensemble=()
for ((s = 0; s < SEEDS; s++)); do
  t="$WORK/teacher-s$s"
  if [ ! -f "$t/model.safetensors" ]; then
    log "teacher seed $s"
    tinysent train --base "$TEACHER_BASE" "${THREE[@]}" --max-train 0 --max-length 64 --epochs 1 \
      --batch-size "$TEACHER_BATCH" --lr 5e-5 --eval-every 200 --patience none --seed "$s" --quiet \
      --out "$t" > "$t.json"
  fi
  if [ "$s" = 0 ]; then teacher=(--teacher "$t"); else ensemble+=(--ensemble "$t"); fi
done

st="$WORK/student"
if [ ! -f "$st/model.safetensors" ]; then
  log "student: $SEEDS teacher(s), $MAX_TRAIN Sentiment140 transfer tweets"
  budget=()
  [ "$STUDENT_BUDGET" != 0 ] && budget=(--stage-budgets "1,1,$STUDENT_BUDGET")
  tinysent distill "${teacher[@]}" "${ensemble[@]}" --student "$START" "${THREE[@]}" \
    --train-data "$DATA/sentiment140" --max-train "$MAX_TRAIN" --max-val 4000 \
    --emoticon-targets teacher --stage1-epochs 0 --stage2-epochs 1 --stage2-lr 1e-4 \
    --batch-size "$STUDENT_BATCH" --hard-label-weight 0.3 --eval-every 300 "${budget[@]}" --quiet \
    --out "$st" > "$st.json"
fi
if [ "$PACK" = 1 ]; then
  log "calibrate and pack"
  tinysent calibrate --model "$st" --class-bias
  tinysent pack --model "$st" --out "$SHIPPED"
fi
log "done"
