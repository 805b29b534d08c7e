#!/usr/bin/env bash
# A student that never learned from SemEval 2016's test tweets, so that they can judge what
# TweetEval validation cannot: TweetEval test is SemEval 2017's tweets, and three rounds of choices
# on TweetEval validation (2,000 tweets from the 2013-2016 pool the training material comes from)
# moved its test figure the other way (results/README.md). Every step is skipped when its output is
# already there.
#
#   usage: scripts/holdout_recipe.sh [WORK]        (WORK: default runs/holdout)
#
# Environment: DATA (default ../shared/data), HOLDOUT (default twitter-2016test-A.tsv), TEACHER
# (default runs/v6/teacher-mpnet), CACHE (the folder holding that teacher's passes; default
# runs/v4/student-uncalibrated: a pass over the full transfer set is reused tweet by tweet).
#
# 1. the start: v2, the binary model shipped before v3 (commit 69ecfbc~1), which learned from
#    Sentiment140 alone (v3 and every later student learned from every SemEval file);
# 2. it learns three classes for one epoch from the teacher on the transfer set less the held-out file
#    (`one_more_epoch` with --handlabelled-holdout: that file is the 3-class validation split it
#    selects on). The teacher (MPNet-base) did learn from that file, but the student never reads its
#    tweets: its score there is a held-out score;
# 3. a copy of it gets its temperature and class offsets on the held-out file (`tinysent calibrate
#    --class-bias`, cross-fitted on halves): whether the offset step pays on tweets like the test's.
set -euo pipefail
WORK=${1:-runs/holdout}
DATA=${DATA:-../shared/data} HOLDOUT=${HOLDOUT:-twitter-2016test-A.tsv}
TEACHER=${TEACHER:-runs/v6/teacher-mpnet} CACHE=${CACHE:-runs/v4/student-uncalibrated}
SHIPPED=src/tinysent/shipped/tinysent-tinybert-4l
mkdir -p "$WORK"
source scripts/recipe_lib.sh  # log, HELD (HOLDOUT) and the shared steps

start=$WORK/v2
if [ ! -f "$start/model.safetensors" ]; then
  mkdir -p "$start" && git archive 69ecfbc~1 "$SHIPPED" | tar -x -C "$start" --strip-components 4
fi
one_more_epoch "$WORK/student" "$start" "$CACHE" --teacher "$TEACHER"
c=$WORK/student-calibrated
if [ ! -f "$c/calibrate.json" ]; then
  log "calibrate on $HOLDOUT"
  rm -rf "$c" && cp -rL "$WORK/student" "$c" && rm -rf "$c/checkpoint"
  tinysent calibrate --model "$c" --class-bias > "$c/calibrate.json.tmp" && mv "$c/calibrate.json.tmp" "$c/calibrate.json"
fi
log "done"
