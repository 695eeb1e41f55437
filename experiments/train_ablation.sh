#!/usr/bin/env bash
# Train the four learned rows of the quality benchmark with one identical budget (run after prepare_data.sh).
#   bash experiments/train_ablation.sh [STEPS (default 800)] [DATA (default runs/data)] [OUT (default runs/ablation)]
# Rows: L1-only, spatial-only GAN (λ = 1), frequency-only GAN (λ = 0), dual GAN (λ = 0.5); all the whole-scene
# guided generator trained on haze made on the fly from BSD360, same seed, batch, crops and schedule.
# Trained like the shipped models (detail_eps=0); bench_quality.py scores them with the shipped inference setting.
# Two runs at a time with one thread each, so a 2-core CPU is shared evenly; on a GPU drop OMP_NUM_THREADS.
set -euo pipefail
STEPS="${1:-800}"
DATA="${2:-runs/data}"
OUT="${3:-runs/ablation}"
common=(--clean "$DATA/sources/bsd360" --val "$DATA/val" --test "$DATA/test" --steps "$STEPS"
        --patch-size 128 --batch-size 12 --set train.lr_generator=3e-4 --set train.num_workers=1
        --set train.val_every=200 --set train.sample_every=200 --set train.checkpoint_every=100
        --set train.log_every=20 --set model.detail_eps=0)
declare -A rows=([l1]="--set loss.adversarial_weight=0" [spatial]="--spatial-weight 1.0"
                 [freq]="--spatial-weight 0.0" [dual]="--spatial-weight 0.5")
mkdir -p "$OUT"
run() {
  local name=$1 resume=()
  [ -f "$OUT/$name/last.state.pt" ] && resume=(--resume)
  if [ ${#resume[@]} -gt 0 ]; then
    OMP_NUM_THREADS=1 dehaze-train --out "$OUT/$name" --resume > "$OUT/$name.log" 2>&1
  else
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 dehaze-train "${common[@]}" ${rows[$name]} --out "$OUT/$name" > "$OUT/$name.log" 2>&1
  fi
}
for pair in "l1 spatial" "freq dual"; do
  for name in $pair; do run "$name" & done
  wait
done
for name in l1 spatial freq dual; do  # score the raw final weights with the shipped inference setting
  python scripts/export_raw_weights.py "$OUT/$name" "$OUT/$name/raw.safetensors" --set model.detail_eps=1e-4
done
