# The steps the shipped model's recipes share (sourced by scripts/v5_recipe.sh and v6_recipe.sh once
# WORK, DATA and SHIPPED are set): a log into WORK/recipe.log, the held-out SemEval file (HOLDOUT, see
# v4_recipe.sh) as options, and the steps below.

log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$WORK/recipe.log"; }
HELD=()
if [ -n "${HOLDOUT:-}" ]; then HELD=(--handlabelled-holdout "$HOLDOUT"); fi

# one_more_epoch OUT START CACHE TEACHER-ARGS...: START (a 3-class student) learns for one more epoch
# from the teachers on the transfer set (the same seed as v4's student: the same Sentiment140 sample
# and validation split), their outputs cached in and read from CACHE; skipped when OUT is there.
one_more_epoch() {
  local out=$1 start=$2 cache=$3
  shift 3
  [ -f "$out/model.safetensors" ] && return 0
  log "$(basename "$out"): $start, one more epoch, teachers $*"
  tinysent distill "$@" --student "$start" --teacher-cache "$cache" \
    --num-labels 3 --handlabelled-data "$DATA/semeval-task4a" --tweeteval-data "$DATA/tweeteval" "${HELD[@]}" \
    --train-data "$DATA/sentiment140" --max-train 100000 --max-val 4000 \
    --emoticon-targets teacher --stage1-epochs 0 --stage2-epochs 1 --stage2-lr 1e-4 \
    --batch-size 64 --hard-label-weight 0.3 --eval-every 300 --quiet --out "$out" > "$out.json"
}

# best_on_validation FOLDER...: the folder whose recorded validation score (what every 3-class run
# selects on: TweetEval-val macro recall and Sentiment140-val accuracy, averaged) is highest.
best_on_validation() {
  python - "$@" <<'PY'
import json, sys
score = {d: json.load(open(f"{d}/tinysent.json"))["metrics"]["validation"]["val_score"] for d in sys.argv[1:]}
print(max(score, key=score.get))
print("validation score:", ", ".join(f"{d} {v:.4f}" for d, v in score.items()), file=sys.stderr)
PY
}

# offsets_rule FILE: 1 if the class offsets in scripts/offsets_transfer.py's FILE raised macro recall
# on the held-out split they were scored on, else 0 (the rule of v8's recipe and after).
offsets_rule() {
  python - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"offsets on the held-out file: {d['macro_recall_without']:.4f} -> {d['macro_recall_with']:.4f}", file=sys.stderr)
print(1 if d["macro_recall_with"] > d["macro_recall_without"] else 0)
PY
}

# calibrate_and_pack CHOSEN: a copy of CHOSEN (WORK/final, without teacher caches or checkpoints) gets
# its temperature and, unless OFFSETS=0, class offsets on the validation split (`tinysent calibrate
# [--class-bias]`) and is packed into the package folder.
calibrate_and_pack() {
  log "calibrate and pack $1 (class offsets: ${OFFSETS:-1})"
  local final="$WORK/final" bias=()
  [ "${OFFSETS:-1}" = 1 ] && bias=(--class-bias)
  rm -rf "$final" && cp -rL "$1" "$final" && rm -f "$final"/teacher_*.np? && rm -rf "$final/checkpoint"
  tinysent calibrate --model "$final" "${bias[@]}"
  tinysent pack --model "$final" --out "$SHIPPED"
}
