#!/usr/bin/env bash
# The finishing recipe (issue "hours"), which every RGB model shipped since 2026-12-07 15:43 UTC came from: 1 000
# steps of the RGB long run's recipe (scripts/train_long_real.sh) from one of its kept milestones, on a new cosine from
# lr 1e-4 with fresh critics, with two changes: the real-photo teacher is the long run's 10 000-step weights (the long
# run's own teacher is its start, the 0.4 model) and the real-photo critic's weight is 2 (the long run's: 1). The
# weights of every 500th step are kept in OUT/kept; score them with benchmarks/long_run.py OUT --name NAME.
#   bash scripts/finish_long_run.sh STEP [DATA (default runs/data)] [OUT (default runs/finish_STEP)] [OPTION...]
# The milestones come from runs/long_real2/kept or, on a fresh clone, checkpoints/candidates/long-real/kept (KEPT=
# another folder). STEPS sets the finish's length (default 1000). A stopped finish resumes where it stopped.
set -euo pipefail
STEP="${1:?usage: finish_long_run.sh STEP [DATA] [OUT] [OPTION...]}"
DATA="${2:-runs/data}"
OUT="${3:-runs/finish_$STEP}"
KEPT="${KEPT:-runs/long_real2/kept}"
[ -d "$KEPT" ] || KEPT=checkpoints/candidates/long-real/kept
MILESTONE="$KEPT/step$(printf %06d "$STEP").safetensors"
TEACHER="$KEPT/step010000.safetensors"
for weights in "$MILESTONE" "$TEACHER"; do
  [ -f "$weights" ] || { echo "error: $weights: the long run kept no such milestone" >&2; exit 2; }
done
STEPS="${STEPS:-1000}" SAVED=none INIT="$MILESTONE" bash "$(dirname "$0")/train_long_real.sh" "$DATA" "$OUT" \
  --set "real.teacher=$TEACHER" --set train.keep_every=500 --set real.adversarial_weight=2 "${@:4}"
