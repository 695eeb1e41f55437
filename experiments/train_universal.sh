#!/usr/bin/env bash
# Train the one RGB model meant for every haze (issue "every haze"): colour and gray photos (a quarter of the
# samples are turned gray), Berkeley nature shots and indoor_urban rooms and streets (sources/mix_train, made by
# prepare_data.sh), haze from all four depth families with scenes as shot (no darkened targets: they taught the
# last release a dark bias), airlight 0.4–1, the global head reading explicit image statistics, coefficient
# network width 48, dual critic (λ = 0.5), batch 12 of 128-px crops at random scales, EMA, cosine LR.
# On our 2-core CPU it ran with one thread (the other core ran the ablations); on a GPU drop OMP_NUM_THREADS.
# The candidate in checkpoints/candidates/ was made with this script, then exact resumes that changed the schedule
# and, at step 2735, the light ranges (scenes as shot had left it too bright on SOTS):
#   dehaze-train --out runs/universal --resume --steps 5200 --set "haze.airlight=[0.25,1.0]" \
#     --set "haze.brightness=[0.5,1.0]" --set "haze.gamma=[0.8,1.5]" --set "haze.near=[0,0.5]"
#   dehaze-train --out runs/universal --resume --steps 5800
#   python scripts/retag_checkpoint.py runs/universal/last.safetensors OUT.safetensors \
#     --set model.detail_eps=1e-4 --set model.detail_radius=2 --set model.removal=1.1
#   bash experiments/train_universal.sh [DATA (default runs/data)] [OUT (default runs/universal)] [STEPS] [extra dehaze-train options]
set -euo pipefail
DATA="${1:-runs/data}"
OUT="${2:-runs/universal}"
STEPS="${3:-7000}"
shift $(( $# < 3 ? $# : 3 ))
TRAIN="${TRAIN:-dehaze-train}"
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" $TRAIN --clean "$DATA/sources/mix_train" --val "$DATA/mix_val" \
  --out "$OUT" --steps "$STEPS" --patch-size 128 --batch-size 12 \
  --set train.lr_generator=3e-4 --set train.num_workers=1 --set train.val_every=500 --set train.sample_every=500 \
  --set train.checkpoint_every=100 --set train.log_every=20 \
  --set model.in_channels=3 --set model.out_channels=3 --set model.detail_eps=0 \
  --set model.global_head=true --set model.global_stats=true --set model.width="${WIDTH:-48}" \
  --set "haze.families=outdoor,segments,room,street" --set "haze.near=[0,0.3]" --set "haze.nonhomogeneous=[0,0.3]" \
  --set "haze.airlight=[0.4,1.0]" --set "haze.brightness=[1,1]" --set "haze.gamma=[1,1]" \
  --set haze.gray_probability=0.25 "$@"
