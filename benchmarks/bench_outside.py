"""Haze we did not make: PSNR/SSIM on SOTS-indoor (validation scenes) and on our outdoor colour test set, with the
oracle gap (how much a per-image global affine correction per channel, fitted against the clean image, would add).

    bash scripts/prepare_data.sh
    python benchmarks/bench_outside.py --checkpoint checkpoints/dehaze-rgb-default.safetensors runs/x/last.safetensors
    python benchmarks/bench_outside.py --every 5 ...      # every 5th SOTS pair (quick)

Rows: hazy input, DCP, then each checkpoint as ``dehaze-infer`` applies it (colour mode auto). SOTS scenes are
read as they are (RESIDE names); they are for validation and reporting only, never for training. Writes
``--out-json`` if given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from dehaze.data.pairing import find_pairs
from dehaze.imageio import read_image, to_tensor
from dehaze.metrics.quality import psnr, ssim
from dehaze.metrics.report import Method, checkpoint_method, dcp_method, hazy_method

SOTS = Path("../shared/data/sots_indoor_val")
OUTDOOR = Path("runs/data/color_test")


def oracle_affine(output: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """The best gain and offset per channel (least squares against ``clean``): what global calibration could add."""
    fitted = np.empty_like(output)
    for c in range(output.shape[2]):
        design = np.stack([output[..., c].ravel(), np.ones(output[..., c].size, np.float32)], axis=1)
        coef, *_ = np.linalg.lstsq(design, clean[..., c].ravel(), rcond=None)
        fitted[..., c] = np.clip(output[..., c] * coef[0] + coef[1], 0.0, 1.0)
    return fitted


def score(method: Method, pairs: list[tuple[Path, Path]], channels: int, oracle: bool) -> dict[str, float]:
    """Mean PSNR, SSIM (and the oracle-corrected PSNR) of one method over the pairs."""
    values: dict[str, list[float]] = {"psnr": [], "ssim": [], "oracle_psnr": []}
    for hazy_path, clean_path in pairs:
        hazy, clean = read_image(hazy_path, channels), read_image(clean_path, channels)
        out = hazy if method.dehaze is None else np.clip(np.asarray(method.dehaze(hazy), np.float32), 0, 1)
        out = out.reshape(clean.shape)
        a, b = to_tensor(out)[None], to_tensor(clean)[None]
        values["psnr"].append(psnr(a, b))
        values["ssim"].append(ssim(a, b))
        if oracle:
            values["oracle_psnr"].append(psnr(to_tensor(oracle_affine(out, clean))[None], b))
    return {key: float(np.mean(v)) for key, v in values.items() if v}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, nargs="*", default=[], help="checkpoints to score")
    parser.add_argument("--sots", type=Path, default=SOTS)
    parser.add_argument("--outdoor", type=Path, default=OUTDOOR, help="outdoor test pairs ('' to skip)")
    parser.add_argument("--channels", type=int, default=3, choices=(1, 3))
    parser.add_argument("--every", type=int, default=1, help="score every N-th SOTS pair")
    parser.add_argument("--no-baselines", action="store_true", help="skip the hazy and DCP rows")
    parser.add_argument("--out-json", type=Path)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    sets = {"sots": find_pairs(args.sots).pairs[:: args.every]}
    if str(args.outdoor) and args.outdoor.is_dir():
        sets["outdoor"] = find_pairs(args.outdoor).pairs
    methods = [] if args.no_baselines else [hazy_method(), dcp_method()]
    methods += [checkpoint_method(path, "cpu", name=str(path)) for path in args.checkpoint]
    results = {}
    print(f"{'method':60s} " + " ".join(f"{name:>22s}" for name in sets))
    for method in methods:
        row = {name: score(method, pairs, args.channels, name == "sots") for name, pairs in sets.items()}
        results[method.name] = row
        cells = []
        for value in row.values():
            extra = f" (oracle {value['oracle_psnr']:.2f})" if "oracle_psnr" in value else ""
            cells.append(f"{value['psnr']:.2f}/{value['ssim']:.4f}{extra}")
        print(f"{method.name[-60:]:60s} " + "  ".join(cells), flush=True)
    if args.out_json:
        args.out_json.write_text(json.dumps({"sets": {k: len(v) for k, v in sets.items()}, "rows": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
