"""Inference speed and memory: CPU seconds per megapixel of the model against the dark channel prior (same run),
and the peak RSS of a whole ``dehaze-infer`` process on a 6.6 MP and (``--rss-50mp``) a 50 MP photo.

    python benchmarks/bench_inference.py [--checkpoint PATH] [--threads 2] [--size 2048] [--repeats 3]
                                      [--out-json benchmarks/results/inference.json] [--skip-rss] [--rss-50mp]

Without ``--checkpoint`` the shipped default model is used when present, else a freshly built default-config
generator (random weights run exactly as fast); the output says which. The shipped RGB model adds a colour row
against colour DCP. Speed is the median of ``--repeats`` runs after one warm-up, on a synthetic hazy ``--size``²
photo, with ``--threads`` CPU threads; the model's time includes its own dark-channel prior. The RSS rows run
``python -m dehaze.cli.infer`` in a subprocess on a 3136×2112 (and 8660×5773) JPEG and read that child's
``ru_maxrss``, for ``--color gray`` and ``--color auto`` (a colour photo through the RGB model). When CUDA is
available a GPU row (autocast, batch 4) is added.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data
from skimage.transform import resize

from dehaze.atomic import atomic_write_text
from dehaze.checkpoint import default_checkpoint_path, load_generator, save_generator
from dehaze.color import luminance_array
from dehaze.config import ModelConfig
from dehaze.dcp import dark_channel_prior
from dehaze.haze import add_haze
from dehaze.inference import Dehazer
from dehaze.models.build import build_generator

RSS_SIZES = {"6.6 MP": (3136, 2112), "50 MP": (8660, 5773)}  # (width, height)


def hazy_photo(height: int, width: int, channels: int) -> np.ndarray:
    """A real photo (scikit-image's astronaut) resized, with haze growing across the frame."""
    clean = resize(data.astronaut(), (height, width), order=1).astype(np.float32)
    if channels == 1:
        clean = luminance_array(clean)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    depth = 0.6 * xs / max(width - 1, 1) + 0.4 * ys / max(height - 1, 1)
    return add_haze(clean, depth, beta=1.2, airlight=0.9)


def median_seconds(fn: Callable[[], object], repeats: int, sync: Callable[[], None] = lambda: None) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def resolve_model(checkpoint: Path | None, tmp: Path) -> tuple[Path, str]:
    """A checkpoint file to benchmark and a description of where it came from."""
    if checkpoint is not None:
        return checkpoint, f"checkpoint {checkpoint}"
    if default_checkpoint_path().is_file():
        return default_checkpoint_path(), f"shipped default model {default_checkpoint_path()}"
    cfg = ModelConfig()
    path = tmp / "random-default.safetensors"
    torch.manual_seed(0)
    save_generator(build_generator(cfg), cfg, path)
    return path, f"fresh default-config generator with random weights ({cfg}); no shipped model found"


# Linux keeps ru_maxrss across fork and exec, so a child forked straight from this (large) process would report at
# least our own RSS. A small launcher without torch forks the measured command and reports that child's peak alone.
_LAUNCHER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(process.pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.stderr.write(process.stderr.read().decode()[-2000:] if code else "")
print(usage.ru_maxrss, code)
"""


def child_peak_rss_mb(command: list[str]) -> float:
    """Run ``command`` through the launcher; return its peak RSS in MB (Linux ru_maxrss is in KiB)."""
    result = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, check=True)
    max_rss_kib, code = result.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({code}): {result.stderr}")
    return int(max_rss_kib) / 1024


def measure_rss(checkpoint: Path | None, tmp: Path, threads: int, sizes: list[str]) -> dict[str, float]:
    """Peak RSS (MB) of ``dehaze-infer`` on a colour JPEG of each size, gray and auto (colour) mode."""
    env_threads = ["env", f"OMP_NUM_THREADS={threads}"]
    baseline = child_peak_rss_mb(env_threads + [sys.executable, "-c", "import torch"])
    results = {"python + import torch (baseline)": baseline}
    for label in sizes:
        width, height = RSS_SIZES[label]
        photo = tmp / f"photo_{label.replace(' ', '')}.jpg"
        rgb = (hazy_photo(height, width, channels=3) * 255 + 0.5).astype(np.uint8)
        Image.fromarray(rgb).save(photo, quality=92)
        del rgb
        for color in ("gray", "auto"):
            command = env_threads + [sys.executable, "-m", "dehaze.cli.infer", str(photo), "-o", str(tmp / color)]
            command += ["--checkpoint", str(checkpoint)] if checkpoint is not None else []
            command += ["--color", color, "--quiet", "--overwrite"]
            results[f"{label}: dehaze-infer --color {color}"] = child_peak_rss_mb(command)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="generator to time (default: shipped model or random)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=2048, help="square test image side (default 2048)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS subprocess runs")
    parser.add_argument("--rss-50mp", action="store_true", help="also measure peak RSS on a 50 MP photo")
    parser.add_argument("--out-json", type=Path, default=Path("benchmarks/results/inference.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    megapixels = args.size * args.size / 1e6

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        checkpoint, model_source = resolve_model(args.checkpoint, tmp)
        generator, model_cfg = load_generator(checkpoint)
        dehazer = Dehazer(generator, model_cfg, device="cpu", tile=args.tile, overlap=args.overlap, batch_size=1)
        gray = hazy_photo(args.size, args.size, channels=1)
        rgb = hazy_photo(args.size, args.size, channels=3)
        rows = {
            "model (gray)": median_seconds(lambda: dehazer(gray), args.repeats) / megapixels,
            "dark channel prior (gray)": median_seconds(lambda: dark_channel_prior(gray), args.repeats) / megapixels,
            "dark channel prior (RGB)": median_seconds(lambda: dark_channel_prior(rgb), args.repeats) / megapixels,
        }
        # the full-resolution structure/noise split's share of the time
        if model_cfg.arch == "guided" and model_cfg.detail_eps > 0:
            plain_generator, plain_cfg = load_generator(checkpoint)
            plain_generator.detail_eps = 0.0
            plain = Dehazer(plain_generator, plain_cfg, device="cpu", batch_size=1)
            rows["model (gray, no structure/noise split)"] = (
                median_seconds(lambda: plain(gray), args.repeats) / megapixels
            )
        if not generator.whole_image:
            large = Dehazer(generator, model_cfg, device="cpu", tile=2 * args.tile, overlap=args.overlap, batch_size=1)
            rows[f"model (gray, tile {2 * args.tile})"] = median_seconds(lambda: large(gray), args.repeats) / megapixels
        if args.checkpoint is None and default_checkpoint_path(channels=3).is_file():
            rgb_generator, rgb_cfg = load_generator(default_checkpoint_path(channels=3))
            rgb_dehazer = Dehazer(rgb_generator, rgb_cfg, device="cpu", batch_size=1)
            rows["RGB model (RGB)"] = median_seconds(lambda: rgb_dehazer(rgb), args.repeats) / megapixels
            rgb_dehazer.generator.detail_eps = 0.0  # the Dehazer runs its own (fused) copy
            seconds = median_seconds(lambda: rgb_dehazer(rgb), args.repeats)
            rows["RGB model (RGB, no structure/noise split)"] = seconds / megapixels
        gpu = None
        if torch.cuda.is_available():
            cuda = Dehazer(generator, model_cfg, device="cuda", tile=args.tile, overlap=args.overlap, batch_size=4)
            seconds = median_seconds(lambda: cuda(gray), args.repeats, sync=torch.cuda.synchronize)
            gpu = {
                "device": torch.cuda.get_device_name(),
                "seconds_per_megapixel": seconds / megapixels,
                "images_per_second": 1.0 / seconds,
            }
        load = os.getloadavg()  # other processes on the machine slow every row alike
        sizes = ["6.6 MP"] + (["50 MP"] if args.rss_50mp else [])
        rss = {} if args.skip_rss else measure_rss(args.checkpoint, tmp, args.threads, sizes)

    dcp = rows["dark channel prior (gray)"]
    ratios = {f"{name} / DCP (gray)": value / dcp for name, value in rows.items() if name.startswith("model")}
    for name in ("RGB model (RGB)", "RGB model (RGB, no structure/noise split)"):
        if name in rows:
            ratios[f"{name} / DCP (RGB)"] = rows[name] / rows["dark channel prior (RGB)"]
    print(f"model: {model_source}")
    print(
        f"CPU, {args.threads} threads, {args.size}×{args.size} image, tile {args.tile}/{args.overlap}, "
        f"median of {args.repeats}"
    )
    print(f"{'method':<30} {'s / MP':>8}")
    for name, value in rows.items():
        print(f"{name:<30} {value:>8.3f}")
    for name, ratio in ratios.items():
        print(f"{name} = {ratio:.2f}×  (target ≤ 0.5×)")
    print(f"load average during the run: {load[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    if gpu:
        print(
            f"GPU {gpu['device']}: {gpu['seconds_per_megapixel']:.4f} s/MP, "
            f"{gpu['images_per_second']:.2f} images/s at {args.size}²"
        )
    if rss:
        print(f"{'peak RSS (colour JPEG in)':<44} {'MB':>8}")
        for name, value in rss.items():
            print(f"{name:<44} {value:>8.0f}")

    result = {
        "model_source": model_source,
        "model_config": model_cfg.__dict__,
        "threads": args.threads,
        "image_size": args.size,
        "tile": args.tile,
        "overlap": args.overlap,
        "repeats": args.repeats,
        "cpu_seconds_per_megapixel": rows,
        "model_over_dcp": ratios,
        "load_average_1min": load[0],
        "gpu": gpu,
        "peak_rss_mb": rss,
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
    }
    atomic_write_text(args.out_json, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out_json}")


if __name__ == "__main__":
    main()
