#!/usr/bin/env bash
# The shipped model's recipe (v5): v4's recipe, then one more round. Every step a `tinysent` command,
# each skipped when its output is already there (rerun the script to resume after an interruption).
#
#   usage: scripts/v5_recipe.sh [WORK]        (WORK: default runs/v5)
#
# Environment: DATA (default ../shared/data), SEEDS (teachers in the second round's ensemble, default
# 3), PACK (1: calibrate the chosen student and pack it into the package folder), and v4_recipe.sh's
# (HOLDOUT among them: a SemEval file held out of all training as the validation split).
#
# 1. v4's recipe without its packing (WORK/v4: two MiniLM-L6 teachers, seeds 0 and 1, and the student
#    distilled from v3 on their ensemble), then more teachers of the same recipe (seeds 2..SEEDS-1);
# 2. that student learns for another epoch on the same transfer set (the same seed, so the same
#    Sentiment140 sample and validation split; the teachers' outputs are cached in, and read from, the
#    v4 student's folder: --teacher-cache), twice: from the ensemble of all SEEDS teachers, and from
#    the best teacher alone (by its TweetEval-val score);
# 3. of the v4 student and these two, the best by the validation score all three are selected by
#    (TweetEval-val macro recall and Sentiment140-val accuracy, averaged); then temperature and class
#    offsets on TweetEval validation (`tinysent calibrate --class-bias`) and `tinysent pack`. The chosen
#    folder's path is written to WORK/chosen (scripts/v6_recipe.sh starts from it).
set -euo pipefail
WORK=${1:-runs/v5}
DATA=${DATA:-../shared/data} SEEDS=${SEEDS:-3} PACK=${PACK:-1}
SHIPPED=src/tinysent/shipped/tinysent-tinybert-4l
V4=$WORK/v4
mkdir -p "$WORK"
source scripts/recipe_lib.sh  # log, HELD (HOLDOUT) and the shared steps

PACK=0 SEEDS=2 bash scripts/v4_recipe.sh "$V4"       # v4: teachers s0, s1 and their student
PACK=0 SEEDS="$SEEDS" bash scripts/v4_recipe.sh "$V4" # the further teachers (the student is there: kept)

# two teachers for the extra epoch: the ensemble of all SEEDS, and the best of them alone (by its
# TweetEval-val score, as recorded in its tinysent.json)
ensemble=(--teacher "$V4/teacher-s0")
for ((s = 1; s < SEEDS; s++)); do ensemble+=(--ensemble "$V4/teacher-s$s"); done
folders=()
for ((s = 0; s < SEEDS; s++)); do folders+=("$V4/teacher-s$s"); done
best=(--teacher "$(best_on_validation "${folders[@]}")")
for name in ensemble best; do
  declare -n teachers=$name
  one_more_epoch "$WORK/student-$name" "$V4/student" "$V4/student" "${teachers[@]}"
done
chosen=$(best_on_validation "$V4/student" "$WORK/student-ensemble" "$WORK/student-best")
echo "$chosen" > "$WORK/chosen"
log "chosen on validation: $chosen"
if [ "$PACK" = 1 ]; then calibrate_and_pack "$chosen"; fi
log "done"
