#!/usr/bin/env bash
# Synthesise the train / val / held-out test sets used for the shipped model and the benchmarks.
#   bash scripts/prepare_data.sh [SHARED_DATA (default ../shared/data)] [OUT (default runs/data)]
# train: BSD400 minus its last 40 photos, 4 haze variants per photo, β 0.2–2.6 and A 0.5–1.0 (wider than the
#        RESIDE-like defaults, so the shipped model covers thin to very dense haze and dim airlight)
# val:   Set12, default haze
# test:  the 40 held-out BSD photos + Set12: photos and depth layouts never seen in training, β 0.4–2.4 and
#        A 0.55–0.95 (not the training defaults), another seed
set -euo pipefail
SHARED="${1:-../shared/data}"
OUT="${2:-runs/data}"
mkdir -p "$OUT/sources/bsd360" "$OUT/sources/bsd_holdout40" "$OUT/sources/test_photos"
mapfile -t photos < <(find "$SHARED/bsd400" -maxdepth 1 -type f -name '*.png' | sort)
for i in "${!photos[@]}"; do
  if (( i < ${#photos[@]} - 40 )); then dest="$OUT/sources/bsd360"; else dest="$OUT/sources/bsd_holdout40"; fi
  ln -sf "$(realpath "${photos[$i]}")" "$dest/"
  (( i >= ${#photos[@]} - 40 )) && ln -sf "$(realpath "${photos[$i]}")" "$OUT/sources/test_photos/bsd_$(basename "${photos[$i]}")"
done
for f in "$SHARED"/set12/*.png; do ln -sf "$(realpath "$f")" "$OUT/sources/test_photos/set12_$(basename "$f")"; done
dehaze-synth "$OUT/sources/bsd360" "$OUT/train" --variants 4 --beta 0.2 2.6 --airlight 0.5 1.0 --seed 1 --overwrite --quiet
dehaze-synth "$SHARED/set12" "$OUT/val" --seed 2 --overwrite --quiet
dehaze-synth "$OUT/sources/test_photos" "$OUT/test" --beta 0.4 2.4 --airlight 0.55 0.95 --seed 3 --overwrite --quiet
echo "pairs: train $(ls "$OUT/train/hazy" | wc -l), val $(ls "$OUT/val/hazy" | wc -l), test $(ls "$OUT/test/hazy" | wc -l)"
