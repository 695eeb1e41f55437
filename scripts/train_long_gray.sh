#!/usr/bin/env bash
# The gray long run (issue "hours", item 4): the 0.2 release's gray recipe (git show 37d07c5:scripts/train_shipped.sh,
# the model card in checkpoints/README.md) continued from the shipped gray model, 40 000 steps on one thread: BSD360,
# haze made on the fly (one outdoor depth layout, no near haze, homogeneous β 0.2–2.6, airlight 0.5–1.0, scenes as
# shot, noise and JPEG as in 0.2), the guided generator without the global head, dual critic (λ 0.5), LSGAN + L1 100,
# batch 12 of 128-px crops, trained with detail_eps=0 (shipped with 1e-4); as the RGB long run: lr 1e-4, no warm-up,
# cosine over STEPS, validation on Set12 (runs/data/val, not the gray test) every 500 steps, no FID.
# Start, resume, frozen code and logs as the RGB long run (scripts/long_run_common.sh): checkpoints every 500 steps,
# the weights of every 2 500th step kept as OUT/kept/stepNNNNNN.safetensors for benchmarks/long_run.py.
#   bash scripts/train_long_gray.sh [DATA (default runs/data)] [OUT (default runs/long_gray)] [OPTION...]
# Any OPTION goes to dehaze-train on a start and on every resume (none by default).
# At the end of a session: bash scripts/save_long_run.sh runs/long_gray checkpoints/candidates/long-gray
set -euo pipefail
DATA="${1:-runs/data}"
OUT="${2:-runs/long_gray}"
INIT="${INIT:-checkpoints/dehaze-gray-default.safetensors}"
SAVED="${SAVED:-checkpoints/candidates/long-gray}"  # where each session's end commits the resume state
RECIPE=(--clean "$DATA/sources/bsd360" --val "$DATA/val" --batch-size 12
  --set model.in_channels=1 --set model.out_channels=1 --set model.global_head=false --set model.detail_eps=0
  --set haze.families=outdoor --set "haze.near=[0,0]" --set "haze.nonhomogeneous=[0,0]"
  --set "haze.airlight=[0.5,1.0]" --set "haze.brightness=[1,1]" --set "haze.gamma=[1,1]")
source "$(dirname "$0")/long_run_common.sh"
long_run "${@:3}"
