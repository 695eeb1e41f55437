"""``torch.compile`` against eager (issue "hours", item 1: a faster step): forward and backward of the generator and
of the conditional dual critic at one thread, the compile time apart, with the dark channel prior on the same
images for reference.

    OMP_NUM_THREADS=1 python benchmarks/bench_compile.py [--iters 20] [--threads 1] [--backend inductor]
                                                       [--warm-cache] [--tiny]

Rows: (a) the shipped RGB generator (``checkpoints/dehaze-rgb-default.safetensors`` loaded into the long run's
model config, as ``--init`` loads it; random weights, as fast, where the file is missing) on a batch like the long
run's: 8 paired crops then 4 real crops of 128 px (two calls, as the trainer makes them), one backward of both;
(b) the conditional dual critic (default config, RGB) judging 16 candidates of 128 px (8 clean + 8 generator
outputs) against the 8 hazy crops, as its update does. Each compiled row is :func:`torch.compile` of the same
module (``train.compile``'s wrapper); its first call, compile and every recompile for the second batch size
included, is timed apart, in a fresh inductor cache (``--warm-cache``: the user's, as a second run sees it). Then
one warm-up and ``--iters`` timed iterations of every row, round-robin (``bench_inference.interleaved_medians``),
so load hits every row alike. DCP (``dehaze.dcp.dark_channel_prior_tensor``) runs on the generator's 12 crops and on
the critic's 16 candidates. Prints a table and writes ``benchmarks/results/compile_step.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from bench_inference import hazy_photo, interleaved_medians

from dehaze.atomic import atomic_write_text
from dehaze.checkpoint import default_checkpoint_path
from dehaze.checkpoint.generator import load_generator_weights
from dehaze.config import Config
from dehaze.dcp import dark_channel_prior_tensor
from dehaze.models.build import build_critic, build_generator
from dehaze.train.compiling import prepare_backend

TINY = {"base_width": 4, "depth": 2, "width": 4, "view_size": 16}  # --tiny: a smoke of the script, not a result


def crops(count: int, size: int, seed: int) -> torch.Tensor:
    """``count`` random ``size``-px crops of a hazy RGB photo (scikit-image's astronaut, haze across the frame)."""
    photo = torch.from_numpy(hazy_photo(2 * size, 2 * size, channels=3)).permute(2, 0, 1).contiguous()
    rng = torch.Generator().manual_seed(seed)
    corners = torch.randint(0, size + 1, (count, 2), generator=rng).tolist()
    return torch.stack([photo[:, y : y + size, x : x + size] for y, x in corners])


def models(tiny: bool) -> tuple[torch.nn.Module, torch.nn.Module, str]:
    """The generator (the long run's config: RGB, ``detail_eps`` 0, the shipped weights), the conditional dual
    critic (default config), and where the generator's weights came from."""
    config = Config()
    config.model.in_channels = config.model.out_channels = 3
    config.model.detail_eps = 0.0
    for name, value in (TINY if tiny else {}).items():
        setattr(config.model, name, value)
    if tiny:
        config.critic.spatial_width = config.critic.frequency_width = 4
    generator = build_generator(config.model).train()
    weights = default_checkpoint_path(channels=3)
    source = "random weights (--tiny)" if tiny else f"random weights ({weights} missing)"
    if not tiny and weights.is_file():
        load_generator_weights(generator, weights)
        source = str(weights)
    return generator, build_critic(config.critic, 3).train(), source


def generator_step(generator: torch.nn.Module, paired: torch.Tensor, real: torch.Tensor) -> Callable[[], object]:
    """Forward of the paired then the real crops, one backward of both (an L1-like stand-in for the losses)."""
    params = list(generator.parameters())

    def step() -> None:
        for p in params:
            p.grad = None
        loss = generator(paired).abs().mean() + generator(real).abs().mean()
        loss.backward()

    return step


def critic_step(critic: torch.nn.Module, hazy: torch.Tensor, candidates: torch.Tensor) -> Callable[[], object]:
    """The critic update's pass: every candidate judged against the hazy batch given once, one backward. The hazy
    batch is a new tensor every time, as every step's is: the eager frequency critic would otherwise reuse its
    remembered spectrum, which a compiled critic never does."""
    params = list(critic.parameters())

    def step() -> None:
        for p in params:
            p.grad = None
        critic(hazy.clone(), candidates).logits.square().mean().backward()

    return step


def dcp_step(images: torch.Tensor) -> Callable[[], object]:
    def step() -> None:
        with torch.inference_mode():
            dark_channel_prior_tensor(images)

    return step


def first_call_seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def rows(args: argparse.Namespace) -> tuple[dict[str, Callable[[], object]], dict[str, float], str]:
    """Every timed row, the compiled rows' first-call seconds, and the generator weights' source."""
    generator, critic, source = models(args.tiny)
    size = 32 if args.tiny else 128
    paired, real = crops(8, size, seed=0), crops(4, size, seed=1)
    clean = ((paired - 0.35) / 0.6).clamp(0, 1)
    with torch.no_grad():
        candidates = torch.cat([clean, generator(paired).clamp(0, 1)])
    compiled_g = torch.compile(generator, backend=args.backend)
    compiled_d = torch.compile(critic, backend=args.backend)
    fns = {
        "generator, eager": generator_step(generator, paired, real),
        "generator, compiled": generator_step(compiled_g, paired, real),
        "critic, eager": critic_step(critic, paired, candidates),
        "critic, compiled": critic_step(compiled_d, paired, candidates),
        "DCP, the generator's 12 crops": dcp_step(torch.cat([paired, real])),
        "DCP, the critic's 16 candidates": dcp_step(candidates),
    }
    compile_s = {name: first_call_seconds(fns[name]) for name in ("generator, compiled", "critic, compiled")}
    return fns, compile_s, source


def print_table(report: dict) -> None:
    ms, first = report["median_ms"], report["first_call_s"]
    print(f"{report['device']}, backend {report['backend']}, median of {report['iters']} round-robin iterations")
    print(f"generator weights: {report['generator_weights']}; inductor cache: {report['inductor_cache']}")
    print(f"{'row':<34}{'ms':>9}{'first call, s':>15}")
    for name, value in ms.items():
        print(f"{name:<34}{value:>9.1f}{first[name]:>15.1f}" if name in first else f"{name:<34}{value:>9.1f}")
    for part in ("generator", "critic"):
        print(f"{part}: compiled / eager {report['compiled_over_eager'][part]:.3f}")
    print(f"load average: {report['load_before']:.1f} before, {report['load_after']:.1f} after, {os.cpu_count()} CPUs")


def measure(args: argparse.Namespace) -> dict:
    """Build, compile and time every row; the report, as written to the JSON file."""
    load_before = os.getloadavg()[0]
    fns, first_call, source = rows(args)
    ms = {name: seconds * 1000 for name, seconds in interleaved_medians(fns, args.iters).items()}
    ratio = {part: ms[f"{part}, compiled"] / ms[f"{part}, eager"] for part in ("generator", "critic")}
    return {
        "device": f"cpu ({args.threads} thread{'s' if args.threads > 1 else ''})",
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "backend": args.backend,
        "iters": args.iters,
        "tiny": args.tiny,
        "generator_weights": source,
        "inductor_cache": "the user's (warm when run before)" if args.warm_cache else "fresh (cold compile)",
        "median_ms": ms,
        "first_call_s": first_call,
        "compiled_over_eager": ratio,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=20, help="timed iterations of every row (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--backend", default="inductor", choices=("inductor", "aot_eager", "eager"))
    parser.add_argument("--warm-cache", action="store_true", help="use the user's inductor cache, not a fresh one")
    parser.add_argument("--tiny", action="store_true", help="tiny models and 32-px crops: a smoke of the script")
    parser.add_argument("--out-json", type=Path, default=Path("benchmarks/results/compile_step.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as cache:
        if not args.warm_cache:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # read when the first graph compiles
        prepare_backend(args.backend, torch.device("cpu"))  # as train.compile does
        report = measure(args)
    print_table(report)
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out_json, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
