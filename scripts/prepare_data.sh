#!/usr/bin/env bash
# Clean training photos and the fixed val / held-out test pairs used for the shipped models and the benchmarks.
#   bash scripts/prepare_data.sh [SHARED_DATA (default ../shared/data)] [OUT (default runs/data)]
# Gray (bsd400 + set12):
#   sources/bsd360      BSD400 minus its last 40 photos: the clean photos training hazes on the fly
#   val                 Set12, default haze
#   test                the 40 held-out BSD photos + Set12: photos and depth layouts never seen in training,
#                       β 0.4–2.4 and A 0.55–0.95 (not the training ranges), another seed
#   train               (for the pair-based U-Net only) BSD360 × 4 haze variants, β 0.2–2.6, A 0.5–1.0
# Colour (cbsd432; bsd400 holds gray copies of the same scenes, so nothing colour is validated on bsd400):
#   sources/cbsd392     CBSD432 minus its last 40 photos (sorted by name): colour training photos
#   color_val           the next-to-last 12 of the 40 held-out photos, default haze, grey airlight
#   color_test          the last 28 held-out photos, β 0.4–2.4, A 0.55–0.95, tint −0.12…0.12, another seed
# Rooms, streets and buildings (indoor_urban, split by scripts/split_indoor_urban.py; CamVid by sequence):
#   sources/iu_train    332 photos that train (with cbsd392 in sources/mix_train, 724 photos)
#   mix_val             cbsd_val12 + 18 indoor_urban validation photos, default haze (colour)
#   indoor_test         28 held-out rooms, urban_test 33 held-out streets/buildings (a whole CamVid sequence
#                       included): β 0.4–2.4, A 0.55–0.95, tint −0.12…0.12, seeds 6 and 7 — haze never trained on
# Real haze (real_hazy_train, no ground truth), sorted by name (names start with their source's tag):
#   real_val            every 6th photo (42, spread over the sources in proportion): the real-photo validation split
#   real_train          the other 212: the --real-hazy training photos
set -euo pipefail
SHARED="${1:-../shared/data}"
OUT="${2:-runs/data}"
mkdir -p "$OUT/real_train" "$OUT/real_val" "$OUT/sources/bsd360" "$OUT/sources/bsd_holdout40" "$OUT/sources/test_photos" \
         "$OUT/sources/cbsd392" "$OUT/sources/cbsd_val12" "$OUT/sources/cbsd_test28"
mapfile -t photos < <(find "$SHARED/bsd400" -maxdepth 1 -type f -name '*.png' | sort)
for i in "${!photos[@]}"; do
  if (( i < ${#photos[@]} - 40 )); then dest="$OUT/sources/bsd360"; else dest="$OUT/sources/bsd_holdout40"; fi
  ln -sf "$(realpath "${photos[$i]}")" "$dest/"
  (( i >= ${#photos[@]} - 40 )) && ln -sf "$(realpath "${photos[$i]}")" "$OUT/sources/test_photos/bsd_$(basename "${photos[$i]}")"
done
for f in "$SHARED"/set12/*.png; do ln -sf "$(realpath "$f")" "$OUT/sources/test_photos/set12_$(basename "$f")"; done
mapfile -t colour < <(find "$SHARED/cbsd432" -maxdepth 1 -type f | sort)
n=${#colour[@]}
for i in "${!colour[@]}"; do
  if (( i < n - 40 )); then dest=cbsd392; elif (( i < n - 28 )); then dest=cbsd_val12; else dest=cbsd_test28; fi
  ln -sf "$(realpath "${colour[$i]}")" "$OUT/sources/$dest/"
done
mapfile -t real < <(find "$SHARED/real_hazy_train" -maxdepth 1 -type f | sort)
for i in "${!real[@]}"; do
  if (( i % 6 == 3 )); then dest=real_val; else dest=real_train; fi
  ln -sf "$(realpath "${real[$i]}")" "$OUT/$dest/"
done
python "$(dirname "$0")/split_indoor_urban.py" "$SHARED" "$OUT"
mkdir -p "$OUT/sources/mix_train" "$OUT/sources/mix_val"
for f in "$OUT"/sources/cbsd392/* "$OUT"/sources/iu_train/*; do ln -sf "$(readlink -f "$f")" "$OUT/sources/mix_train/"; done
for f in "$OUT"/sources/cbsd_val12/* "$OUT"/sources/iu_val/*; do ln -sf "$(readlink -f "$f")" "$OUT/sources/mix_val/"; done
dehaze-synth "$OUT/sources/mix_val" "$OUT/mix_val" --color --seed 4 --overwrite --quiet
dehaze-synth "$OUT/sources/iu_indoor_test" "$OUT/indoor_test" --color --beta 0.4 2.4 --airlight 0.55 0.95 \
  --tint -0.12 0.12 --seed 6 --overwrite --quiet
dehaze-synth "$OUT/sources/iu_urban_test" "$OUT/urban_test" --color --beta 0.4 2.4 --airlight 0.55 0.95 \
  --tint -0.12 0.12 --seed 7 --overwrite --quiet
dehaze-synth "$SHARED/set12" "$OUT/val" --seed 2 --overwrite --quiet
dehaze-synth "$OUT/sources/test_photos" "$OUT/test" --beta 0.4 2.4 --airlight 0.55 0.95 --seed 3 --overwrite --quiet
dehaze-synth "$OUT/sources/bsd360" "$OUT/train" --variants 4 --beta 0.2 2.6 --airlight 0.5 1.0 --seed 1 --overwrite --quiet
dehaze-synth "$OUT/sources/cbsd_val12" "$OUT/color_val" --color --seed 4 --overwrite --quiet
dehaze-synth "$OUT/sources/cbsd_test28" "$OUT/color_test" --color --beta 0.4 2.4 --airlight 0.55 0.95 \
  --tint -0.12 0.12 --seed 5 --overwrite --quiet
for d in val test train color_val color_test mix_val indoor_test urban_test; do echo "$d: $(ls "$OUT/$d/hazy" | wc -l) pairs"; done
for d in real_train real_val; do echo "$d: $(ls "$OUT/$d" | wc -l) photos"; done
