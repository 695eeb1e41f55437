#!/usr/bin/env bash
# Train the two shipped models (run after prepare_data.sh): the gray one on BSD360 and the RGB one on CBSD392,
# haze made on the fly, dual critic (λ = 0.5), batch 12 of 128-px crops at random scales, EMA 0.999, cosine LR.
# (The gray run was started before the full-resolution structure/noise split existed, so both train without it,
# detail_eps=0, and ship with it.)
# On our 2-core CPU both ran side by side with one thread each (about an hour each); on a GPU drop OMP_NUM_THREADS.
#   bash scripts/train_shipped.sh [DATA (default runs/data)] [OUT (default runs)]
set -euo pipefail
DATA="${1:-runs/data}"
OUT="${2:-runs}"
common=(--patch-size 128 --batch-size 12 --set train.lr_generator=3e-4 --set train.num_workers=1
        --set train.val_every=250 --set train.sample_every=250 --set train.checkpoint_every=100
        --set train.log_every=20 --set model.detail_eps=0)
OMP_NUM_THREADS=1 dehaze-train --clean "$DATA/sources/bsd360" --val "$DATA/val" --test "$DATA/test" \
  --out "$OUT/gray" --steps 4000 "${common[@]}" > "$OUT/gray.log" 2>&1 &
OMP_NUM_THREADS=1 dehaze-train --clean "$DATA/sources/cbsd392" --val "$DATA/color_val" --test "$DATA/color_test" \
  --out "$OUT/color" --steps 3000 "${common[@]}" --set model.in_channels=3 --set model.out_channels=3 \
  > "$OUT/color.log" 2>&1 &
wait
# ship the final EMA weights (end of the cosine schedule) with the structure/noise split chosen on validation
for pair in "gray dehaze-gray-default" "color dehaze-rgb-default"; do
  set -- $pair
  python scripts/retag_checkpoint.py "$OUT/$1/last.safetensors" "checkpoints/$2.safetensors" \
    --set model.detail_eps=1e-4 --set model.detail_radius=2
done
