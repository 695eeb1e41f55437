#!/usr/bin/env bash
# The design card's question, measured (issue "real haze"): does the dual critic help where L1 has nothing to say?
# Five rows fine-tune the same RGB model for the same steps on the same paired haze (batch 8), four of them with
# the real-photo branch on real_train (real batch 4):
#   paired    paired only (no real photos)
#   rails     real branch with guard rails (re-hazing, dark channel, transmission TV, teacher), no critic
#   spatial   + unconditional spatial critic only (λ = 1)
#   freq      + unconditional frequency critic only (λ = 0)
#   dual      + the dual critic (λ = 0.5)
# Then scores them on real_val (dehaze-fid --real: FADE, artefact gain, FID/detectability vs clean CBSD432)
# and on every 5th SOTS-indoor validation pair and the outdoor colour test (benchmarks/bench_outside.py).
#   bash experiments/ablate_real.sh [INIT (default checkpoints/dehaze-rgb-default.safetensors)] [STEPS (default 150)]
#                               [DATA (default runs/data)] [OUT (default runs/real_ablation)] [EXTRA --set ...]
set -euo pipefail
INIT="${1:-checkpoints/dehaze-rgb-default.safetensors}"
STEPS="${2:-150}"
DATA="${3:-runs/data}"
OUT="${4:-runs/real_ablation}"
SHARED="${SHARED:-../shared/data}"
shift $(( $# < 4 ? $# : 4 ))
common=(--clean "$DATA/sources/cbsd392" --val "$DATA/color_val" --init "$INIT" --steps "$STEPS" --patch-size 128
        --batch-size 8 --no-fid --set model.in_channels=3 --set model.out_channels=3 --set model.detail_eps=0
        --set train.lr_generator=1e-4 --set train.warmup_steps=0 --set train.num_workers=0
        --set train.val_every=100000 --set train.sample_every=100000 --set train.checkpoint_every=50
        --set haze.families=outdoor --set "haze.nonhomogeneous=[0,0]" --set real.batch_size=4 "$@")
real=(--real-hazy "$DATA/real_train")
declare -A rows=([paired]="" [rails]="--set real.adversarial_weight=0" [spatial]="--set real.spatial_weight=1"
                 [freq]="--set real.spatial_weight=0" [dual]="--set real.spatial_weight=0.5")
mkdir -p "$OUT"
for name in paired rails spatial freq dual; do
  extra=()
  [ "$name" != paired ] && extra=("${real[@]}")
  if [ ! -f "$OUT/$name/metrics.json" ]; then
    rm -rf "${OUT:?}/$name"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 dehaze-train "${common[@]}" "${extra[@]}" ${rows[$name]} --out "$OUT/$name" \
      > "$OUT/$name.log" 2>&1
  fi
  python scripts/retag_checkpoint.py "$OUT/$name/last.safetensors" "$OUT/$name/$name.safetensors" \
    --set model.detail_eps=1e-4 > /dev/null
done
ckpts=("$INIT")
for name in paired rails spatial freq dual; do ckpts+=("$OUT/$name/$name.safetensors"); done
OMP_NUM_THREADS=1 dehaze-fid --real "$DATA/real_val" --reference "$SHARED/cbsd432" \
  --dcp --checkpoint "${ckpts[@]}" --quiet --out-json "$OUT/real_val.json" --out-md "$OUT/real_val.md"
OMP_NUM_THREADS=1 python benchmarks/bench_outside.py --every 5 --checkpoint "${ckpts[@]}" --out-json "$OUT/outside.json"
