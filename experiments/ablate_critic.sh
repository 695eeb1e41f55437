#!/usr/bin/env bash
# Critic ablation on a generator that paints pixels (issue 23): the U-Net on the gray paired data, four rows —
# L1 only, spatial-only GAN (λ = 1), frequency-only GAN (λ = 0), dual GAN (λ = 0.5) — with the same data, crops,
# batch, schedule and seed per row, two seeds. Runs one after another with one thread: L1 and dual on every seed
# first (the hypothesis), then frequency and spatial. Finished runs (metrics.json) are skipped, stopped ones resumed.
# The trainer's own test report
# skips FID (--no-fid: it would recompute the clean, hazy and DCP Inception statistics for every run);
# benchmarks/critic_ablation.py scores every run's best checkpoint on the test pairs, FID ± 95% included.
#   bash experiments/ablate_critic.sh [STEPS (default 3000)] [DATA (default runs/data)] [OUT (default runs/critic_ablation)]
#   python benchmarks/critic_ablation.py [OUT]
# Then the detached row on the first seed: the dual critic with no generator gradient through the FFT (as SSD-GAN's
# published code does). BASE_WIDTH (default 8) sets the U-Net's width; SEEDS (default "0 1") the seeds.
# The code is frozen at the current commit (git archive into OUT/src, imported first: python -P) so edits made while
# it runs change no row.
set -euo pipefail
STEPS="${1:-3000}"
DATA="${2:-runs/data}"
OUT="${3:-runs/critic_ablation}"
SEEDS="${SEEDS:-0 1}"
BASE_WIDTH="${BASE_WIDTH:-8}"
common=(--data "$DATA/train" --val "$DATA/val" --test "$DATA/test" --steps "$STEPS"
        --patch-size 96 --batch-size 6 --set model.arch=unet --set model.base_width=$BASE_WIDTH --set model.depth=4
        --set train.num_workers=0 --set train.val_every=250 --set train.sample_every=1000
        --set train.checkpoint_every=250 --set train.log_every=50 --set train.ema_decay=0.995 --no-fid)
declare -A rows=([l1]="--set loss.adversarial_weight=0" [spatial]="--spatial-weight 1.0"
                 [frequency]="--spatial-weight 0.0" [dual]="--spatial-weight 0.5"
                 [detached]="--spatial-weight 0.5 --set critic.detach_spectrum=true")
mkdir -p "$OUT"
if [ ! -d "$OUT/src/dehaze" ]; then
  mkdir -p "$OUT/src" && git archive HEAD dehaze | tar -x -C "$OUT/src" && git rev-parse HEAD > "$OUT/src/COMMIT"
fi
train() { OMP_NUM_THREADS=1 PYTHONPATH="$OUT/src" nice -n 5 python -P -m dehaze.cli.train "$@"; }
run() {
  local name=$1 seed=$2 dir="$OUT/$1_s$2"
  [ -f "$dir/metrics.json" ] && return 0
  if [ -f "$dir/last.state.pt" ]; then
    train --out "$dir" --resume >> "$dir.log" 2>&1
  else
    # shellcheck disable=SC2086
    train "${common[@]}" ${rows[$name]} --seed "$seed" --out "$dir" > "$dir.log" 2>&1
  fi
}
for pair in "l1 dual" "frequency spatial"; do  # the hypothesis (dual vs L1) on every seed first
  for seed in $SEEDS; do
    for name in $pair; do
      echo "$(date -u +%H:%M:%S) start $name seed $seed" >> "$OUT/progress.txt"
      run "$name" "$seed" || echo "$(date -u +%H:%M:%S) FAILED $name seed $seed" >> "$OUT/progress.txt"
    done
  done
done
first_seed="${SEEDS%% *}"
echo "$(date -u +%H:%M:%S) start detached seed $first_seed" >> "$OUT/progress.txt"
run detached "$first_seed" || echo "$(date -u +%H:%M:%S) FAILED detached seed $first_seed" >> "$OUT/progress.txt"
echo "$(date -u +%H:%M:%S) done" >> "$OUT/progress.txt"
