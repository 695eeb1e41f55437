#!/usr/bin/env bash
# The long run (issue "hours"): the real-photo branch from the shipped RGB model, teacher 20, dual critic, with the
# below-zero penalty (1000), the light-consistency term (20) and the flat-detail term (2), 40 000 steps on one
# thread. The start weights (also the teacher, rebuilt from them on every resume) are copied into OUT/init.safetensors
# when the run starts, so shipping a new default model cannot change a resumed run's teacher. Resumes exactly where
# it stopped (OUT/last.state.pt, or on a fresh clone the state the last session committed to SAVED); the code is
# frozen at the commit it started from (OUT/COMMIT, git archive into OUT/src). That part is shared with the gray long
# run (scripts/long_run_common.sh).
# The weights of every 2 500th step are kept as OUT/kept/stepNNNNNN.safetensors for benchmarks/long_run.py, which
# reads the wall time from OUT/sessions.jsonl (one line per start) and the load from OUT/load.log (once a minute).
#   bash scripts/train_long_real.sh [DATA (default runs/data)] [OUT (default runs/long_real2)] [OPTION...]
# Any OPTION goes to dehaze-train on a start and on every resume (none by default).
# The sweep's rows use the same recipe for 1000 steps, e.g. without a critic on real photos:
#   REAL_ADV=0 SAVED=none STEPS=1000 INIT=rgb-0.4.safetensors bash scripts/train_long_real.sh runs/data runs/t20_none_flat
# (runs/long_real was the first run, without the flat-detail term: 6 500 steps, stopped; docs/results.md.)
set -euo pipefail
DATA="${1:-runs/data}"
OUT="${2:-runs/long_real2}"
INIT="${INIT:-checkpoints/dehaze-rgb-default.safetensors}"
SAVED="${SAVED:-checkpoints/candidates/long-real}"  # where each session's end commits the resume state
REAL_ADV="${REAL_ADV:-1}"  # the real branch's adversarial weight: 1 = dual critic, 0 = no critic (the sweep's "none")
RECIPE=(--clean "$DATA/sources/mix_train" --val "$DATA/mix_val" --batch-size 8 --real-hazy "$DATA/real_train"
  --set model.in_channels=3 --set model.out_channels=3 --set model.detail_eps=0
  --set real.batch_size=4 --set real.teacher_weight=20 --set "real.adversarial_weight=$REAL_ADV"
  --set real.below_zero_weight=1000 --set real.light_consistency_weight=20 --set real.flat_detail_weight=2)
source "$(dirname "$0")/long_run_common.sh"
long_run "${@:3}"
