#!/usr/bin/env bash
# The shipped model's recipe, round six (v9): v8's recipe, then more of the MPNet teacher's knowledge
# of newer tweets through TinyBERT's other lever, an augmented transfer set. Every step skipped when
# its output is already there (rerun the script to resume).
#
#   usage: scripts/v9_recipe.sh [WORK]        (WORK: default runs/v9)
#
# Environment: DATA (default ../shared/data), PACK (1: calibrate the chosen model and pack it), and
# the earlier recipes'.
#
# Why: in v8 the 18,035 newer tweets (2018-2019) were the lever that moved the student (its label
# agreement with the teacher on held-out newer tweets 79.9 % -> 83.3 %); there are no more of them
# here, but the teacher can label perturbed copies of them (`--augment`, tinysent.build.distill.augment).
#
# 1. v8's recipe without its packing (WORK/v8);
# 2. v8's student learns one more epoch from the MPNet teacher on the transfer set, the newer tweets
#    and two perturbed copies of each (`--augment 2`: 35,995 more; the teacher's pass over them is
#    cached with the newer tweets': only the copies are new);
# 3. a greedy soup of every student (v8's six and this one: WORK/soup); of v8's choice, this student
#    and the new soup, the best by the validation score (the rule of every round);
# 4. the class offsets: v8's held-out check decides (WORK/v8/offsets-transfer.json: kept when they
#    raised macro recall on SemEval 2016's test tweets for a student that never saw them);
# 5. with PACK=1, temperature (and the offsets if kept) and `tinysent pack`.
set -euo pipefail
WORK=${1:-runs/v9}
DATA=${DATA:-../shared/data} PACK=${PACK:-1}
SHIPPED=src/tinysent/shipped/tinysent-tinybert-4l
V8=$WORK/v8 V6=$WORK/v8/v7/v6 V5=$WORK/v8/v7/v6/v5 V4=$WORK/v8/v7/v6/v5/v4
mkdir -p "$WORK"
source scripts/recipe_lib.sh  # log, HELD (HOLDOUT) and the shared steps

PACK=0 bash scripts/v8_recipe.sh "$V8"
one_more_epoch "$WORK/student" "$V8/student" "$V4/student" --teacher "$V6/teacher-mpnet" \
  --unlabelled "$V8/recent-tweets.txt" --augment 2
if [ ! -f "$WORK/soup/model.safetensors" ]; then
  log "greedy soup of the students"
  python scripts/greedy_soup.py "$V4/v3" "$V4/student" "$V5/student-best" "$V5/student-ensemble" \
    "$V6/student" "$V8/student" "$WORK/student" --out "$WORK/soup" > "$WORK/soup.log"
fi
chosen=$(best_on_validation "$(cat "$V8/chosen")" "$WORK/student" "$WORK/soup")
echo "$chosen" > "$WORK/chosen"
log "chosen on validation: $chosen"
OFFSETS=$(offsets_rule "$V8/offsets-transfer.json")
log "class offsets kept (v8's held-out check): $OFFSETS"
if [ "$PACK" = 1 ]; then OFFSETS=$OFFSETS calibrate_and_pack "$chosen"; fi
log "done"
