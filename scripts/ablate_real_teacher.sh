#!/usr/bin/env bash
# The dual critic on real haze (issue "real look", item 3): the real-photo branch (--real-hazy real_train) with the
# teacher weight at 20, 5, 1 and 0, each with the dual critic (λ 0.5) and without a critic (real adversarial weight
# 0), fine-tuning the shipped RGB model on the same paired haze (CBSD392 + 332 indoor_urban photos, batch 8, real
# batch 4) for the same steps, one thread, one run after another. A finished run (metrics.json) is skipped, a stopped
# one resumed exactly. The code is frozen at the current commit (git archive into OUT/src, imported first: python -P).
# Each run's last weights are retagged with the shipped model's detail_eps as OUT/NAME/NAME.safetensors; score them
# with dehaze-fid --real (NIQE, BRISQUE, FADE, luminance change, crushed share) and the real-photo sheet.
# ROWS (default all eight, "t20_dual t20_none t5_dual ... t0_none") picks the rows and their order.
#   bash scripts/ablate_real_teacher.sh [STEPS (default 1000)] [DATA (default runs/data)] [OUT (default runs/real_teacher)]
set -euo pipefail
STEPS="${1:-1000}"
DATA="${2:-runs/data}"
OUT="${3:-runs/real_teacher}"
INIT="${INIT:-checkpoints/dehaze-rgb-default.safetensors}"
common=(--clean "$DATA/sources/mix_train" --val "$DATA/mix_val" --init "$INIT" --steps "$STEPS" --patch-size 128
        --batch-size 8 --no-fid --real-hazy "$DATA/real_train" --set model.in_channels=3 --set model.out_channels=3
        --set model.detail_eps=0 --set train.lr_generator=1e-4 --set train.warmup_steps=0 --set train.num_workers=0
        --set train.val_every=250 --set train.sample_every=100000 --set train.checkpoint_every=250
        --set real.batch_size=4)
mkdir -p "$OUT"
if [ ! -d "$OUT/src/dehaze" ]; then
  mkdir -p "$OUT/src" && git archive HEAD dehaze | tar -x -C "$OUT/src" && git rev-parse HEAD > "$OUT/src/COMMIT"
fi
train() { OMP_NUM_THREADS=1 PYTHONPATH="$OUT/src" nice -n 5 python -P -m dehaze.cli.train "$@"; }
for name in ${ROWS:-t20_dual t20_none t5_dual t5_none t1_dual t1_none t0_dual t0_none}; do
  teacher="${name%%_*}" teacher="${teacher#t}" critic="${name#*_}" dir="$OUT/$name"
  [ -f "$dir/metrics.json" ] && continue
  echo "$(date -u +%H:%M:%S) start $name" >> "$OUT/progress.txt"
  adversarial=1
  [ "$critic" = none ] && adversarial=0
  if [ -f "$dir/last.state.pt" ]; then
    train --out "$dir" --resume >> "$dir.log" 2>&1 || echo "$(date -u +%H:%M:%S) FAILED $name" >> "$OUT/progress.txt"
  else
    train "${common[@]}" --set "real.teacher_weight=$teacher" --set "real.adversarial_weight=$adversarial" \
      --out "$dir" > "$dir.log" 2>&1 || echo "$(date -u +%H:%M:%S) FAILED $name" >> "$OUT/progress.txt"
  fi
  [ -f "$dir/last.safetensors" ] && PYTHONPATH="$OUT/src" python -P scripts/retag_checkpoint.py \
    "$dir/last.safetensors" "$dir/$name.safetensors" --set model.detail_eps=1e-4 > /dev/null
done
echo "$(date -u +%H:%M:%S) done" >> "$OUT/progress.txt"
