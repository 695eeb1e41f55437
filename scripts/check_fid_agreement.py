"""Check that ``dehaze-fid A B`` agrees with ``python -m pytorch_fid A B`` on the same weights, offline.

Writes two small synthetic image folders, saves our (mapped) Inception weights as pytorch-fid's hub-cache file in a
temporary TORCH_HOME so pytorch-fid's own CLI runs without internet, runs both CLIs and prints both FIDs and their
relative difference. Exit code 1 if they differ by more than 1%.

    python scripts/check_fid_agreement.py [--images 12] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from dehaze.metrics.inception import HUB_WEIGHTS_NAME, export_pytorch_fid_weights, load_inception

TOLERANCE = 0.01


def write_folder(folder: Path, count: int, size: tuple[int, int], seed: int, blur: int) -> None:
    """Smooth random colour images (every third one grayscale), one size per folder so pytorch-fid can batch."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    height, width = size
    for index in range(count):
        coarse = rng.uniform(0, 255, size=(height // blur + 1, width // blur + 1, 3))
        image = np.kron(coarse, np.ones((blur, blur, 1)))[:height, :width] + rng.normal(0, 12, (height, width, 3))
        pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
        (pil.convert("L") if index % 3 == 0 else pil).save(folder / f"img{index:03d}.png")


def last_number(pattern: str, text: str) -> float:
    match = re.findall(pattern, text)
    if not match:
        raise RuntimeError(f"no FID in output:\n{text}")
    return float(match[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12, help="images per folder (default 12)")
    parser.add_argument("--keep", type=Path, help="work in this folder instead of a temporary one")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="fid-agreement-"))
    folder_a, folder_b = work / "a", work / "b"
    write_folder(folder_a, args.images, (96, 128), seed=0, blur=8)
    write_folder(folder_b, args.images, (80, 80), seed=1, blur=4)

    torch_home = work / "torch_home"
    weights = torch_home / "hub" / "checkpoints" / HUB_WEIGHTS_NAME
    export_pytorch_fid_weights(load_inception(), weights)
    env = {**os.environ, "TORCH_HOME": str(torch_home)}

    theirs_run = subprocess.run(
        [sys.executable, "-m", "pytorch_fid", str(folder_a), str(folder_b), "--device", "cpu", "--num-workers", "0"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = last_number(r"FID:\s+(-?[\d.e+-]+)", theirs_run.stdout)
    ours_run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dehaze.cli.fid",
            str(folder_a),
            str(folder_b),
            "--fid-weights",
            str(weights),
            "--device",
            "cpu",
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    ours = last_number(r"FID:\s+(-?[\d.e+-]+)", ours_run.stdout)
    relative = abs(ours - theirs) / max(abs(theirs), 1e-12)
    print(f"images per folder:   {args.images}")
    print(f"python -m pytorch_fid: {theirs:.6f}")
    print(f"dehaze-fid:            {ours:.6f}")
    print(f"relative difference:   {relative:.3e} ({'OK' if relative <= TOLERANCE else 'FAIL'}, tolerance 1%)")
    return 0 if relative <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
