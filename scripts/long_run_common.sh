# The part every long run shares (issue "hours"), sourced by scripts/train_long_real.sh and scripts/train_long_gray.sh.
# The caller sets OUT (the run folder), SAVED (where each session's end commits the resume state; "none": nowhere),
# INIT (the start weights), optionally STEPS (the cosine schedule's length, default 40 000) and SEED (default 0), and
# RECIPE (an array: a new run's data, batch, model and loss options; the schedule below is added to it), then calls
# `long_run [OPTION...]`; the options go to dehaze-train on a start and on every resume (none by default).
# long_run resumes exactly where the run stopped (OUT/last.state.pt, or on a fresh clone the state the last session
# committed to SAVED); the code is frozen at the commit the run started from (OUT/COMMIT, git archive into OUT/src);
# the start weights are copied into OUT/init.safetensors, so shipping a new default model cannot change a resumed
# run. Each start appends a line to OUT/sessions.jsonl; once a minute the load goes to OUT/load.log and the last step
# of the history beside it to OUT/steps.log (benchmarks/long_run.py reads both; scripts/save_long_run.sh saves them).

STEPS="${STEPS:-40000}"
SEED="${SEED:-0}"
# Every long run's schedule: 128-px crops, no FID, lr 1e-4 with no warm-up on a cosine over STEPS, the loader in the
# training process (one thread), validation and checkpoints every 500 steps, the weights of every 2 500th step kept.
SCHEDULE=(--patch-size 128 --no-fid --set train.lr_generator=1e-4 --set train.warmup_steps=0
  --set train.num_workers=0 --set train.val_every=500 --set train.sample_every=100000
  --set train.checkpoint_every=500 --set train.keep_every=2500 --set "train.seed=$SEED")

long_run_restore() {  # a fresh clone: resume from the commit
  if [ ! -f "$OUT/last.state.pt" ] && [ -f "$SAVED/last.state.pt" ]; then
    cp -r "$SAVED"/. "$OUT"/
  fi
}

long_run_freeze() {  # the code the run started with (its commit), or HEAD for a new run
  local commit
  if [ ! -d "$OUT/src/dehaze" ]; then
    commit=$(cat "$OUT/COMMIT" 2>/dev/null || git rev-parse HEAD)
    mkdir -p "$OUT/src" && git archive "$commit" dehaze | tar -x -C "$OUT/src" && echo "$commit" > "$OUT/COMMIT"
  fi
}

long_run_session() {  # one line per start: its time, its step and when the last checkpoint before it was written
  python - "$OUT" <<'PY'
import json, os, sys, time
from safetensors import safe_open
out = sys.argv[1]
last, state = os.path.join(out, "last.safetensors"), os.path.join(out, "last.state.pt")
step = int(safe_open(last, "pt").metadata()["step"]) if os.path.isfile(last) else 0
end = os.path.getmtime(state) if os.path.isfile(state) else None
with open(os.path.join(out, "sessions.jsonl"), "a") as f:
    f.write(json.dumps({"start": time.time(), "step": step, "previous_end": end}) + "\n")
PY
}

log_minute() {  # once a minute: the load (load.log) and the last step in the history (steps.log, for the rate)
  local now load step
  now=$(date +%s) load=$(cut -d' ' -f1 /proc/loadavg)
  step=$(tail -n 1 "$OUT/history.jsonl" 2>/dev/null | sed -n 's/^{"step": \([0-9]*\).*/\1/p' || true)
  echo "$now $load" >> "$OUT/load.log"
  if [ -n "$step" ]; then echo "$now $step $load" >> "$OUT/steps.log"; fi  # no history yet: no step line
}

long_run_train() { OMP_NUM_THREADS=1 PYTHONPATH="$OUT/src" python -P -m dehaze.cli.train "$@"; }

long_run() {  # start or resume the run in OUT; "$@": further dehaze-train options
  mkdir -p "$OUT"
  long_run_restore
  long_run_freeze
  long_run_session
  while :; do log_minute; sleep 60; done &
  trap 'kill $! 2>/dev/null' EXIT
  if [ -f "$OUT/last.state.pt" ]; then
    long_run_train --out "$OUT" --resume --steps "$STEPS" "$@"
  else
    cp "$INIT" "$OUT/init.safetensors"
    long_run_train "${RECIPE[@]}" "${SCHEDULE[@]}" --init "$OUT/init.safetensors" --steps "$STEPS" --out "$OUT" "$@"
  fi
}
