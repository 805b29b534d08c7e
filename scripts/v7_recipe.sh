#!/usr/bin/env bash
# The shipped model's recipe, round four (v7): v6's recipe, then a greedy soup of its students
# (tinysent.build.soup: weights averaged, so the same shape and speed). Every step skipped when its
# output is already there (rerun the script to resume).
#
#   usage: scripts/v7_recipe.sh [WORK]        (WORK: default runs/v7)
#
# Environment: DATA (default ../shared/data), PACK (1: calibrate the chosen student and pack it), and
# v6_recipe.sh's, v5_recipe.sh's and v4_recipe.sh's.
#
# 1. v6's recipe without its packing (WORK/v6: the MiniLM-L6 and MPNet teachers, v4's, v5's and v6's
#    students);
# 2. the students of one lineage — v3 (where v4's student started), v4's, v5's two, v6's — scored
#    alone on the validation split every 3-class run selects on (val_score), then averaged greedily,
#    best first, each kept only if the soup's val_score does not fall (scripts/greedy_soup.py:
#    WORK/soup, every score tried in WORK/soup.json);
# 3. of v6's chosen student and the soup, the better by that score, then temperature and class
#    offsets and `tinysent pack` (as v5 and v6).
set -euo pipefail
WORK=${1:-runs/v7}
DATA=${DATA:-../shared/data} PACK=${PACK:-1}
SHIPPED=src/tinysent/shipped/tinysent-tinybert-4l
V6=$WORK/v6 V5=$WORK/v6/v5 V4=$WORK/v6/v5/v4
mkdir -p "$WORK"
source scripts/recipe_lib.sh  # log, HELD (HOLDOUT) and the shared steps

PACK=0 bash scripts/v6_recipe.sh "$V6"
if [ ! -f "$WORK/soup/model.safetensors" ]; then
  log "greedy soup of the students"
  python scripts/greedy_soup.py "$V4/v3" "$V4/student" "$V5/student-best" "$V5/student-ensemble" \
    "$V6/student" --out "$WORK/soup" > "$WORK/soup.log"
fi
chosen=$(best_on_validation "$(cat "$V6/chosen")" "$WORK/soup")
echo "$chosen" > "$WORK/chosen"
log "chosen on validation: $chosen"
if [ "$PACK" = 1 ]; then calibrate_and_pack "$chosen"; fi
log "done"
