#!/usr/bin/env bash
# End of a session: commit-ready copy of the long run's resume state (issue "hours"). Copies the last checkpoint
# pair, the config, the history, the kept milestones and the session/load logs of OUT to SAVED, and appends the
# session's end (the checkpoint's time and step) to SAVED/sessions.jsonl. The run may go on; steps after this copy
# are lost to the next session, which resumes from SAVED (scripts/long_run_common.sh does that on a fresh clone).
#   bash scripts/save_long_run.sh [OUT (default runs/long_real2)] [SAVED (default checkpoints/candidates/long-real)]
#   bash scripts/save_long_run.sh runs/long_gray checkpoints/candidates/long-gray     # the gray long run
set -euo pipefail
OUT="${1:-runs/long_real2}"
SAVED="${2:-checkpoints/candidates/long-real}"
mkdir -p "$SAVED/kept"
for attempt in 1 2 3 4 5; do  # the trainer may write a new pair mid-copy: retry until both are from one checkpoint
  before=$(stat -c %Y "$OUT/last.state.pt")
  cp "$OUT/last.state.pt" "$OUT/last.safetensors" "$SAVED/"
  [ "$before" = "$(stat -c %Y "$OUT/last.state.pt")" ] && break
  sleep 5
done
cp "$OUT/config.yaml" "$OUT/history.jsonl" "$OUT/sessions.jsonl" "$OUT/load.log" "$OUT/COMMIT" "$OUT/init.safetensors" \
  "$SAVED/"
cp "$OUT"/kept/*.safetensors "$SAVED/kept/" 2>/dev/null || true
[ -f "$OUT/steps.log" ] && cp "$OUT/steps.log" "$SAVED/"  # epoch, step, load once a minute (long_run_common.sh)
python - "$SAVED" "$before" <<'PY'
import json, sys
from safetensors import safe_open
saved, end = sys.argv[1], float(sys.argv[2])
step = int(safe_open(f"{saved}/last.safetensors", "pt").metadata()["step"])
path = f"{saved}/sessions.jsonl"
lines = [line for line in open(path).read().splitlines() if line.strip()]  # copied from OUT: this session's start last
lines.append(json.dumps({"end": end, "step": step}))  # OUT's log has no end line, so a second save replaces the first
open(path, "w").write("\n".join(lines) + "\n")
print(f"saved step {step} to {saved}")
PY
