#!/usr/bin/env bash
# Equal-step ablation of the training haze (issue "outside haze"): RGB guided generator, L1 only (the critics do
# not move PSNR with this generator, README), the same seed, crops, batch and schedule for every row; only the
# haze synthesis (and, in the last row, the global head) changes. Run after prepare_data.sh; score with
# benchmarks/bench_outside.py. Two runs at a time with one thread each.
#   bash experiments/ablate_haze.sh [STEPS (default 400)] [DATA (default runs/data)] [OUT (default runs/haze_ablation)] [ROW ...]
set -euo pipefail
STEPS="${1:-400}"
DATA="${2:-runs/data}"
OUT="${3:-runs/haze_ablation}"
common=(--clean "$DATA/sources/cbsd392" --val "$DATA/color_val" --steps "$STEPS" --patch-size 128 --batch-size 12
        --set model.in_channels=3 --set model.out_channels=3 --set loss.adversarial_weight=0
        --set train.lr_generator=3e-4 --set train.num_workers=1 --set train.val_every=100000
        --set train.sample_every=100000 --set train.checkpoint_every=100 --set train.log_every=20
        --set train.fid=false --set model.detail_eps=0)
# "today": the synthesis before this ablation (one outdoor layout, clear nearest point, A 0.5–1, scene as shot)
lit=(--set "haze.airlight=[0.5,1.0]" --set "haze.brightness=[1,1]" --set "haze.gamma=[1,1]")
flat=(--set "haze.near=[0,0]" --set "haze.nonhomogeneous=[0,0]")
declare -A rows=(
  [a_today]="--set haze.families=outdoor ${flat[*]} ${lit[*]} --set model.global_head=false"
  [b_light]="--set haze.families=outdoor --set haze.nonhomogeneous=[0,0] --set model.global_head=false"
  [c_segments]="--set haze.families=outdoor,segments --set haze.nonhomogeneous=[0,0] --set model.global_head=false"
  [d_layouts]="--set haze.families=outdoor,room,street --set haze.nonhomogeneous=[0,0] --set model.global_head=false"
  [e_all]="--set model.global_head=false"
  [f_all_head]=""
  [g_near]="--set haze.families=outdoor --set haze.nonhomogeneous=[0,0] ${lit[*]} --set model.global_head=false"
  [h_segments_lit]="--set haze.families=outdoor,segments ${flat[*]} ${lit[*]} --set model.global_head=false"
  [i_layouts_lit]="--set haze.families=outdoor,room,street ${flat[*]} ${lit[*]} --set model.global_head=false"
  [j_all_lit]="${lit[*]} --set model.global_head=false"
  [k_all_lit_head]="${lit[*]}"
  [m_today_head]="--set haze.families=outdoor ${flat[*]} ${lit[*]}"
  [n_light_head]="--set haze.families=outdoor --set haze.nonhomogeneous=[0,0]"
  [l_dark_airlight]="--set haze.families=outdoor ${flat[*]} --set haze.brightness=[1,1] --set haze.gamma=[1,1] --set model.global_head=false"
)
mkdir -p "$OUT"
run() {
  # shellcheck disable=SC2086
  [ -f "$OUT/$1/last.safetensors" ] || OMP_NUM_THREADS=1 dehaze-train "${common[@]}" ${rows[$1]} --out "$OUT/$1" \
    > "$OUT/$1.log" 2>&1
}
set -- "${@:4}"
[ $# -gt 0 ] || set -- a_today b_light c_segments d_layouts e_all f_all_head
while [ $# -gt 0 ]; do  # two rows at a time
  run "$1" & [ $# -gt 1 ] && run "$2" &
  wait
  shift; [ $# -gt 0 ] && shift
done
