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
#    offsets on TweetEval validation (`tinysent calibrate --class-bias`) and `tinysent pack`.
set -euo pipefail
WORK=${1:-runs/v5}
DATA=${DATA:-../shared/data} SEEDS=${SEEDS:-3} PACK=${PACK:-1}
SHIPPED=src/tinysent/shipped/tinysent-tinybert-4l
V4=$WORK/v4
mkdir -p "$WORK"
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$WORK/recipe.log"; }
HELD=()
[ -n "${HOLDOUT:-}" ] && HELD=(--handlabelled-holdout "$HOLDOUT")  # see v4_recipe.sh

PACK=0 SEEDS=2 bash scripts/v4_recipe.sh "$V4"       # v4: teachers s0, s1 and their student
PACK=0 SEEDS="$SEEDS" bash scripts/v4_recipe.sh "$V4" # the further teachers (the student is there: kept)

# two teachers for the extra epoch: the ensemble of all SEEDS, and the best of them alone (by its
# TweetEval-val score, as recorded in its tinysent.json)
ensemble=(--teacher "$V4/teacher-s0")
for ((s = 1; s < SEEDS; s++)); do ensemble+=(--ensemble "$V4/teacher-s$s"); done
best=(--teacher "$(python - "$V4" "$SEEDS" <<'EOF'
import json, sys
folders = [f"{sys.argv[1]}/teacher-s{s}" for s in range(int(sys.argv[2]))]
print(max(folders, key=lambda d: json.load(open(f"{d}/tinysent.json"))["metrics"]["validation"]["val_score"]))
EOF
)")
for name in ensemble best; do
  st="$WORK/student-$name"
  declare -n teachers=$name
  if [ ! -f "$st/model.safetensors" ]; then
    log "student-$name: v4's student, one more epoch, teachers ${teachers[*]}"
    tinysent distill "${teachers[@]}" --student "$V4/student" --teacher-cache "$V4/student" \
      --num-labels 3 --handlabelled-data "$DATA/semeval-task4a" --tweeteval-data "$DATA/tweeteval" "${HELD[@]}" \
      --train-data "$DATA/sentiment140" --max-train 100000 --max-val 4000 \
      --emoticon-targets teacher --stage1-epochs 0 --stage2-epochs 1 --stage2-lr 1e-4 \
      --batch-size 64 --hard-label-weight 0.3 --eval-every 300 --quiet --out "$st" > "$st.json"
  fi
done
chosen=$(python - "$V4/student" "$WORK/student-ensemble" "$WORK/student-best" <<'EOF'
import json, sys
score = {d: json.load(open(f"{d}/tinysent.json"))["metrics"]["validation"]["val_score"] for d in sys.argv[1:]}
print(max(score, key=score.get))
print("validation score:", ", ".join(f"{d} {v:.4f}" for d, v in score.items()), file=sys.stderr)
EOF
)
log "chosen on validation: $chosen"
if [ "$PACK" = 1 ]; then
  log "calibrate and pack"
  final="$WORK/final"
  rm -rf "$final" && cp -rL "$chosen" "$final" && rm -f "$final"/teacher_*.npy && rm -rf "$final/checkpoint"
  tinysent calibrate --model "$final" --class-bias
  tinysent pack --model "$final" --out "$SHIPPED"
fi
log "done"
