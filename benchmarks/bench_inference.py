"""Inference speed and memory: CPU seconds per megapixel of the models against the dark channel prior (same run),
and the peak RSS of a whole ``dehaze-infer`` process on a 6.6 MP and (``--rss-50mp``) a 50 MP photo.

    python benchmarks/bench_inference.py [--checkpoint PATH] [--threads 2] [--sizes "1 MP" "4 MP" "12 MP"]
                                      [--repeats 3] [--out-json benchmarks/results/inference.json] [--skip-rss]
                                      [--rss-50mp]

Without ``--checkpoint`` the shipped gray model is used when present, else a freshly built default-config generator
(random weights run exactly as fast); the shipped RGB model likewise. At each size (square synthetic hazy photos of
1, 4 and 12 MP) these rows run round-robin, ``--repeats`` times after one warm-up, and the medians are reported in
s/MP: DCP on the gray and the colour photo; the gray and the RGB model with and without the structure/noise split
(the models' time includes their own dark-channel prior); and what ``dehaze-infer`` (and ``dehaze-infer --dcp``)
does to one PNG of each, decoding and encoding included. Ratios divide rows of the same run. The RSS rows run
``python -m dehaze.cli.infer`` in a subprocess on a 3136×2112 (and 8660×5773) JPEG and read that child's
``ru_maxrss``, for ``--color gray`` and ``--color auto`` (a colour photo through the RGB model). When CUDA is
available a GPU row (gray model, autocast) is added.
"""

from __future__ import annotations

import argparse
import functools
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


SPEED_SIDES = {"1 MP": 1024, "4 MP": 2048, "12 MP": 3464}  # square test photos
RATIOS = {  # row / its baseline in the same run
    "gray model / DCP": ("gray model", "DCP (gray)"),
    "gray model, no split / DCP": ("gray model, no split", "DCP (gray)"),
    "RGB model / colour DCP": ("RGB model", "DCP (RGB)"),
    "RGB model, no split / colour DCP": ("RGB model, no split", "DCP (RGB)"),
    "dehaze-infer gray PNG / --dcp": ("dehaze-infer gray PNG", "dehaze-infer --dcp gray PNG"),
    "dehaze-infer colour PNG / --dcp": ("dehaze-infer colour PNG", "dehaze-infer --dcp colour PNG"),
}


def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each function; the calls go round-robin, so load on the machine hits every row alike."""
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def dehazers(checkpoint: Path, tmp: Path) -> dict[str, Dehazer]:
    """Gray and RGB model (shipped, else random default-config weights), each with and without the split."""
    rgb_path = default_checkpoint_path(channels=3)
    if not rgb_path.is_file():
        cfg = ModelConfig(in_channels=3, out_channels=3)
        rgb_path = tmp / "random-rgb.safetensors"
        save_generator(build_generator(cfg), cfg, rgb_path)
    models = {}
    for name, path in (("gray model", checkpoint), ("RGB model", rgb_path)):
        generator, cfg = load_generator(path)
        models[name] = Dehazer(generator, cfg, device="cpu", batch_size=1)
        models[f"{name}, no split"] = plain = Dehazer(generator, cfg, device="cpu", batch_size=1)
        plain.generator.detail_eps = 0.0  # the Dehazer runs its own copy
    return models


def infer_rows(models: dict[str, Dehazer], photos: dict[str, Path], out: Path) -> dict[str, Callable[[], object]]:
    """What ``dehaze-infer`` (and ``dehaze-infer --dcp``) does to one PNG: decode, dehaze, encode, atomic write."""
    from dehaze.cli.infer import Job, run_jobs

    def one(kind: str, dehaze: Callable[[np.ndarray], np.ndarray], method: str) -> Callable[[], object]:
        job = Job(photos[kind], out / f"{kind}-{method}.png")
        return lambda: run_jobs([job], dehaze, "auto", overwrite=True, quiet=True)

    auto = models["gray model"]
    auto.companion = models["RGB model"]  # what dehaze-infer builds: colour files go to the RGB model
    return {
        "dehaze-infer gray PNG": one("gray", auto.dehaze_array, "model"),
        "dehaze-infer --dcp gray PNG": one("gray", dark_channel_prior, "dcp"),
        "dehaze-infer colour PNG": one("colour", auto.dehaze_array, "model"),
        "dehaze-infer --dcp colour PNG": one("colour", dark_channel_prior, "dcp"),
    }


def speed_at(side: int, models: dict[str, Dehazer], tmp: Path, repeats: int) -> dict[str, float]:
    """Seconds per megapixel of every row at ``side``² px, all interleaved in one run."""
    gray, rgb = hazy_photo(side, side, channels=1), hazy_photo(side, side, channels=3)
    photos = {"gray": tmp / f"gray{side}.png", "colour": tmp / f"colour{side}.png"}
    for kind, image in (("gray", gray), ("colour", rgb)):
        Image.fromarray((image * 255 + 0.5).astype(np.uint8)).save(photos[kind])
    fns: dict[str, Callable[[], object]] = {
        "DCP (gray)": lambda: dark_channel_prior(gray),
        "DCP (RGB)": lambda: dark_channel_prior(rgb),
    }
    for name, dehazer in models.items():
        fns[name] = functools.partial(dehazer, rgb if name.startswith("RGB") else gray)
    fns.update(infer_rows(models, photos, tmp))
    return {name: seconds / (side * side / 1e6) for name, seconds in interleaved_medians(fns, repeats).items()}


def gpu_row(checkpoint: Path, side: int, repeats: int) -> dict[str, float] | None:
    """The gray model on CUDA (autocast), s/MP at ``side``² px; None without a GPU."""
    if not torch.cuda.is_available():
        return None
    generator, cfg = load_generator(checkpoint)
    cuda = Dehazer(generator, cfg, device="cuda", batch_size=4)
    gray = hazy_photo(side, side, channels=1)
    seconds = median_seconds(lambda: cuda(gray), repeats, sync=torch.cuda.synchronize)
    return {"device": torch.cuda.get_device_name(), "seconds_per_megapixel": seconds / (side * side / 1e6)}


def print_speed(speed: dict[str, dict[str, float]], threads: int, repeats: int, model_source: str) -> None:
    print(f"model: {model_source}; CPU, {threads} threads, median of {repeats} interleaved runs")
    print(f"{'s / MP':<36}" + "".join(f"{size:>10}" for size in speed))
    for row in next(iter(speed.values())):
        print(f"{row:<36}" + "".join(f"{values[row]:>10.4f}" for values in speed.values()))
    for name, (row, base) in RATIOS.items():
        cells = "".join(f"{values[row] / values[base]:>9.2f}×" for values in speed.values())
        print(f"{name:<36}{cells}   (target ≤ 0.25× at 4 MP, split on)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="gray generator to time (default: shipped model or random)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", nargs="+", default=list(SPEED_SIDES), choices=list(SPEED_SIDES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS subprocess runs")
    parser.add_argument("--rss-50mp", action="store_true", help="also measure peak RSS on a 50 MP photo")
    parser.add_argument("--out-json", type=Path, default=Path("benchmarks/results/inference.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        checkpoint, model_source = resolve_model(args.checkpoint, tmp)
        models = dehazers(checkpoint, tmp)
        speed = {size: speed_at(SPEED_SIDES[size], models, tmp, args.repeats) for size in args.sizes}
        gpu = gpu_row(checkpoint, SPEED_SIDES["4 MP"], args.repeats)
        load = os.getloadavg()  # other processes on the machine slow every row alike
        sizes = ["6.6 MP"] + (["50 MP"] if args.rss_50mp else [])
        rss = {} if args.skip_rss else measure_rss(args.checkpoint, tmp, args.threads, sizes)
    print_speed(speed, args.threads, args.repeats, model_source)
    print(f"load average at the end: {load[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    print(f"GPU: {gpu}" if gpu else "GPU: none available, not measured")
    for name, value in rss.items():
        print(f"peak RSS, {name:<44} {value:>8.0f} MB")
    ratios = {size: {name: v[row] / v[base] for name, (row, base) in RATIOS.items()} for size, v in speed.items()}
    result = {
        "model_source": model_source,
        "threads": args.threads,
        "repeats": args.repeats,
        "cpu_seconds_per_megapixel": speed,
        "ratios": ratios,
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
