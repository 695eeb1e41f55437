#!/usr/bin/env bash
# Train the four learned rows of the quality benchmark with one identical budget (run after prepare_data.sh).
#   bash scripts/train_ablation.sh [STEPS (default 2000)] [DATA (default runs/data)] [OUT (default runs/ablation)]
# Each run uses one thread so all four can share a small CPU; on a GPU machine drop OMP_NUM_THREADS.
set -euo pipefail
STEPS="${1:-2000}"
DATA="${2:-runs/data}"
OUT="${3:-runs/ablation}"
common=(--data "$DATA/train" --val "$DATA/val" --test "$DATA/test" --steps "$STEPS"
        --set train.num_workers=1 --set train.val_every=250 --set train.sample_every=250
        --set train.checkpoint_every=100 --set train.log_every=20)
declare -A rows=([l1]="--set loss.adversarial_weight=0" [spatial]="--spatial-weight 1.0"
                 [freq]="--spatial-weight 0.0" [dual]="--spatial-weight 0.5")
mkdir -p "$OUT"
for name in l1 spatial freq dual; do
  resume=(); [ -f "$OUT/$name/last.state.pt" ] && resume=(--resume)
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 dehaze-train "${common[@]}" ${rows[$name]} --out "$OUT/$name" "${resume[@]}" \
    > "$OUT/$name.log" 2>&1 &
done
wait
grep -h -A4 "split," "$OUT"/*.log || true
