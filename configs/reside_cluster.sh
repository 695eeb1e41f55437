#!/usr/bin/env bash
# RESIDE ITS/OTS on a GPU cluster from WebDataset shards (docs/training.md, "Training on a cluster"). Two steps:
#
#   1. pack, once, on any machine that sees the data (CPU only; W processes):
#        bash configs/reside_cluster.sh pack its /data/RESIDE/ITS /shared/shards/its
#      then, for object storage, copy the folder up (aws s3 sync /shared/shards/its s3://bucket/its).
#      Every reader (rank × data-loader worker) needs a shard of its own: shards >= NNODES × GPUS × num_workers,
#      and several per reader keep the readers' epochs even. SHARD_SIZE defaults to 10 pairs for ITS (1,399
#      shards, about 9 MB each) and 100 for OTS: enough for 4 nodes × 8 GPUs × 8 workers = 256 readers.
#   2. train, on every node (the same command; NODE_RANK differs):
#        NNODES=4 GPUS=8 NODE_RANK=0 MASTER=node0:29500 \
#          bash configs/reside_cluster.sh train its /shared/shards/its /shared/runs/its /data/RESIDE/SOTS/indoor
#      SHARDS may be a folder on shared storage, a brace pattern, or a pipe: URL, e.g.
#        'pipe:aws s3 cp s3://bucket/its/train-{000000..001398}.tar -'   (gcloud storage cat gs://..., azcopy ...)
#      ARCH=unet trains the U-Net instead of the guided generator. Resume: the same command with RESUME=1.
set -euo pipefail
ACTION="${1:?pack or train}"
SUBSET="${2:?its or ots}"
HERE="$(cd "$(dirname "$0")" && pwd)"
case "$ACTION" in
  pack)
    SRC="${3:?RESIDE subset folder (hazy/ + clear/)}"
    OUT="${4:?shard folder}"
    dehaze-synth "$SRC" "$OUT" --shards --pairs --color --shard-size "${SHARD_SIZE:-$([[ $SUBSET == its ]] && echo 10 || echo 100)}" --workers "${W:-8}" --seed 0
    ;;
  train)
    SHARDS="${3:?shard folder, brace pattern or pipe: URL}"
    OUT="${4:?run folder on shared storage}"
    TEST="${5:?SOTS indoor or outdoor folder (hazy/ + gt/)}"
    args=(--out "$OUT" --device cuda)
    if [[ -n "${RESUME:-}" ]]; then
      args+=(--resume)  # the run's own config.yaml holds the rest (shards, test set, model)
    else
      args+=(--config "$HERE/reside_$SUBSET.yaml" --shards "$SHARDS" --test "$TEST")
      [[ "${ARCH:-guided}" == unet ]] && args+=(--set model.arch=unet)
    fi
    torchrun --nnodes "${NNODES:-1}" --nproc_per_node "${GPUS:-1}" --node_rank "${NODE_RANK:-0}" \
      --rdzv_backend c10d --rdzv_endpoint "${MASTER:-localhost:29500}" --rdzv_id "dehaze-$SUBSET" \
      -m dehaze.cli.train "${args[@]}"
    ;;
  *) echo "usage: $0 pack|train its|ots ..." >&2; exit 2 ;;
esac
