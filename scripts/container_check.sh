#!/usr/bin/env bash
# Build the container image (Containerfile) with buildah from a Debian base made here by mmdebstrap (no registry
# pull), then check it: the image's default command (dehaze-infer) gives the same pixels as dehaze-infer on this
# machine, dehaze-app --help and a 2-step dehaze-train run inside, and the image size is printed.
# Needs root, buildah and mmdebstrap (Debian: apt-get install buildah mmdebstrap) and the project installed on the
# host (dehaze-infer on PATH). Exit 0 only when every check passes. docs/container.md says more.
#
# Knobs (environment):
#   DEHAZE_CONTAINER_WORK   scratch folder, kept out of the tree (default: $TMPDIR/dehaze-container): rootfs.tar
#   DEHAZE_BASE_IMAGE       base; made from Debian bookworm when missing (default localhost/debian:bookworm-python)
#   DEHAZE_IMAGE            tag of the image built (default localhost/dehaze:check)
#   DEHAZE_CHECK_PHOTOS     a folder of your own photos (default: a colour and a gray photo bundled with scikit-image)
#   DEHAZE_TORCH_PACKAGES   torch in the image (default: the host's torch and torchvision versions, for equal pixels)
#   DEHAZE_TORCH_INDEX      where torch comes from (default: the first local index of the host's pip that has torch,
#                           else https://download.pytorch.org/whl/cpu)
#   DEHAZE_PIP_EXTRA_INDEX_URL, DEHAZE_PIP_FIND_LINKS
#                           local wheel sources, mounted read-only into the build (default: the host pip's own
#                           file:// extra indexes and find-links folders, so nothing big is downloaded twice)
#   DEHAZE_PIP_CERT         CA bundle for pip in the build (default: the host pip's cert setting, e.g. a TLS proxy's)
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${DEHAZE_CONTAINER_WORK:-${TMPDIR:-/tmp}/dehaze-container}
BASE=${DEHAZE_BASE_IMAGE:-localhost/debian:bookworm-python}
IMAGE=${DEHAZE_IMAGE:-localhost/dehaze:check}
HOST_PYTHON=$(dirname "$(command -v dehaze-infer)")/python
RUN_ENV=(--env OMP_NUM_THREADS=1)  # one thread inside and on the host: light on a shared CPU, same arithmetic
export OMP_NUM_THREADS=1 NO_ALBUMENTATIONS_UPDATE=1
FAILED=0

say() { printf '== %s\n' "$*"; }
verdict() {  # verdict NAME STATUS: record one check's result
    if [[ $2 == 0 ]]; then say "PASS $1"; else say "FAIL $1"; FAILED=1; fi
}

make_base() {  # the base image: Debian bookworm minbase with python3 and its venv module
    buildah inspect --type image "$BASE" >/dev/null 2>&1 && return
    say "making $BASE with mmdebstrap"
    mkdir -p "$WORK"
    nice -n 19 mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$WORK/rootfs.tar"
    local ctr
    ctr=$(buildah from scratch)
    buildah add "$ctr" "$WORK/rootfs.tar" / >/dev/null
    buildah commit --rm "$ctr" "$BASE" >/dev/null
}

host_pip_value() {  # host_pip_value KEY: the host pip's setting (environment first), local paths only
    local value
    value=$("$HOST_PYTHON" -m pip config list 2>/dev/null | sed -n "s/^\(:env:\|global\)\.$1='\(.*\)'$/\2/p" | head -1)
    tr ' ' '\n' <<<"$value" | grep -E '^(file://)?/' | tr '\n' ' ' | sed 's/ $//'
}

torch_sources() {  # sets TORCH_INDEX, EXTRA_INDEX, FIND_LINKS, CERT and MOUNTS (read-only volumes for the build)
    EXTRA_INDEX=${DEHAZE_PIP_EXTRA_INDEX_URL-$(host_pip_value extra-index-url)}
    FIND_LINKS=${DEHAZE_PIP_FIND_LINKS-$(host_pip_value find-links)}
    TORCH_INDEX=${DEHAZE_TORCH_INDEX:-}
    MOUNTS=()
    local url dir
    for url in $EXTRA_INDEX $FIND_LINKS; do
        dir=${url#file://}
        [[ -z $TORCH_INDEX && $url == file://* && -d $dir/torch ]] && TORCH_INDEX=$url
        [[ $url == file://* ]] && dir=$(dirname "$dir")  # an index's pages link to ../files
        MOUNTS+=(-v "$dir:$dir:ro")
    done
    CERT=${DEHAZE_PIP_CERT-$(host_pip_value cert)}  # the CA bundle the host's pip trusts (a TLS proxy's, say)
    if [[ -n $CERT ]]; then
        MOUNTS+=(-v "$CERT:/etc/ssl/certs/ca-certificates.crt:ro")
        CERT=/etc/ssl/certs/ca-certificates.crt
    fi
    if [[ -n $TORCH_INDEX && -z ${DEHAZE_PIP_EXTRA_INDEX_URL+set} ]]; then
        EXTRA_INDEX+=" https://pypi.org/simple"  # as on the host: what the local store lacks (cuda-bindings) from PyPI
    fi
    TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
}

build_image() {
    local packages
    packages=${DEHAZE_TORCH_PACKAGES:-$("$HOST_PYTHON" -c 'import torch, torchvision as tv
print(f"torch=={torch.__version__.split(chr(43))[0]} torchvision=={tv.__version__.split(chr(43))[0]}")')}
    torch_sources
    say "building $IMAGE from $BASE: $packages from $TORCH_INDEX"
    nice -n 19 buildah bud --isolation chroot --layers -f Containerfile -t "$IMAGE" \
        --build-arg BASE="$BASE" --build-arg TORCH_INDEX="$TORCH_INDEX" --build-arg TORCH_PACKAGES="$packages" \
        --build-arg PIP_EXTRA_INDEX_URL="$EXTRA_INDEX" --build-arg PIP_FIND_LINKS="$FIND_LINKS" \
        --build-arg PIP_CERT="$CERT" \
        "${MOUNTS[@]}" .
}

photos_into() {  # photos_into FOLDER: the photos to dehaze
    if [[ -n ${DEHAZE_CHECK_PHOTOS:-} ]]; then
        cp -r "$DEHAZE_CHECK_PHOTOS"/. "$1"
    else
        local data
        data=$("$HOST_PYTHON" -c 'import pathlib, skimage; print(pathlib.Path(skimage.__file__).parent / "data")')
        cp "$data/coffee.png" "$data/camera.png" "$1"
    fi
}

in_image() {  # in_image [VOLUME...] -- COMMAND...: run in a fresh container of the image, then remove it
    local volumes=() ctr status=0
    while [[ $1 != -- ]]; do volumes+=(-v "$1"); shift; done
    shift
    ctr=$(buildah from "$IMAGE")
    nice -n 19 buildah run --isolation chroot "${RUN_ENV[@]}" "${volumes[@]}" "$ctr" -- "$@" || status=$?
    buildah rm "$ctr" >/dev/null
    return "$status"
}

same_pixels() {  # same_pixels HOST_OUT IMAGE_OUT: every output image equal, pixel for pixel
    "$HOST_PYTHON" - "$1" "$2" <<'PY'
import sys
from pathlib import Path

import numpy as np
from PIL import Image

host, image = Path(sys.argv[1]), Path(sys.argv[2])
names = sorted(p.relative_to(host) for p in host.rglob("*") if p.is_file())
theirs = sorted(p.relative_to(image) for p in image.rglob("*") if p.is_file())
if not names or names != theirs:
    sys.exit(f"different outputs: host {[str(n) for n in names]}, image {[str(n) for n in theirs]}")
for name in names:
    a, b = (np.asarray(Image.open(root / name)).astype(int) for root in (host, image))
    if a.shape != b.shape or not np.array_equal(a, b):
        diff = np.abs(a - b) if a.shape == b.shape else None
        detail = f"{(diff > 0).mean():.4%} of values differ, by up to {diff.max()}" if diff is not None else "shapes"
        sys.exit(f"{name}: host and image outputs differ ({detail})")
    print(f"{name}: {a.shape}, same pixels")
PY
}

check_infer() {  # the image's default command on the photos, against dehaze-infer on the host
    local scratch=$1 cmd status=0
    mkdir -p "$scratch/in" "$scratch/out" "$scratch/host"
    chmod 0777 "$scratch/out"  # the image's user (uid 1000) writes there
    photos_into "$scratch/in"
    mapfile -t cmd < <(buildah inspect --type image --format '{{range .OCIv1.Config.Cmd}}{{println .}}{{end}}' "$IMAGE")
    say "image default command: ${cmd[*]}"
    in_image "$scratch/in:/data/in:ro" "$scratch/out:/data/out" -- "${cmd[@]}" || status=$?
    nice -n 19 dehaze-infer "$scratch/in" -o "$scratch/host" --quiet || status=$?
    [[ $status == 0 ]] && { same_pixels "$scratch/host" "$scratch/out" || status=$?; }
    verdict "dehaze-infer in the image gives the host's pixels" "$status"
}

check_app_and_train() {
    local scratch=$1 status=0 help
    help=$(in_image -- dehaze-app --help) || status=$?
    head -3 <<<"$help"
    [[ $help == *--host* ]] || status=1
    verdict "dehaze-app --help" "$status"
    mkdir -p "$scratch/train" && chmod 0777 "$scratch/train"
    status=0
    in_image "$scratch/train:/data/train" -- dehaze-train --out /data/train/run --steps 2 --no-fid --batch-size 2 \
        --patch-size 64 --set train.num_workers=0 --set train.sample_every=2 --set train.val_every=2 \
        --set train.val_max_images=2 || status=$?
    [[ $status == 0 && -f $scratch/train/run/config.yaml ]] || status=1
    verdict "dehaze-train, 2 steps" "$status"
}

image_size() {  # buildah prints it rounded (decimal units); podman, where installed, in bytes
    local bytes=""
    command -v podman >/dev/null && bytes=" ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)"
    say "image size: $(buildah images --format '{{.Size}}' "$IMAGE")$bytes"
}

main() {
    make_base
    build_image
    local scratch
    scratch=$(mktemp -d)
    chmod 0755 "$scratch"
    trap 'rm -rf "$scratch"' EXIT
    # shellcheck disable=SC2016  # expanded inside the container, not here
    say "inside the image: $(in_image -- sh -c 'echo "user $(id -u):$(id -g), workdir $(pwd)"')"
    check_infer "$scratch"
    check_app_and_train "$scratch"
    image_size
    exit "$FAILED"
}

main
