"""Speed of the video path and of the ONNX model (issue 36): frames per second at 1280×720, decoding and encoding
included, against the dark channel prior per frame; onnxruntime against PyTorch on the same photos; and the peak
memory of ``dehaze-infer`` on a short and a 10× longer clip (streaming: it must not grow with the length).

    python benchmarks/bench_video.py [--threads 2] [--size 1280x720] [--frames 60] [--dcp-frames 10] [--repeats 5]
                                     [--photos ../shared/data/real_hazy] [--out-json benchmarks/results/video.json]
                                     [--max-photos N] [--skip-memory] [--tiny]

The clip is a real hazy photo resized to cover the frame and panned 2 px a frame, encoded with H.264 by PyAV.
Rows (one run, same machine state): ``codec only`` (decode and encode, frames unchanged), ``video path``
(``dehaze-infer``'s frame function with steady light, the shipped RGB model) and ``DCP per frame``
(``dehaze-infer --dcp``), each timed over the whole file, in frames per second of wall time and of CPU time. ONNX
rows export the shipped RGB model and time ``session.run`` against the PyTorch model on each photo at its own size
(``--repeats`` runs after a warm-up, medians), both on ``--threads`` threads. ``--tiny`` runs every row on a few
small frames, only to check that the script works.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from video_common import photo_paths, read_photos, write_report

from dehaze.dcp import dark_channel_prior
from dehaze.export import INPUT_NAME, onnx_bytes
from dehaze.inference import Dehazer
from dehaze.video.flicker import panned_frames
from dehaze.video.run import dehaze_video

MEMORY_CLIP = ((320, 180), 30)  # (width, height), frames of the short clip; the long one has 10× the frames


def write_clip(path: Path, photo: np.ndarray, size: tuple[int, int], frames: int) -> Path:
    """``photo`` resized to cover ``size`` (+ the pan) and panned 2 px a frame with noise σ 0.01, as H.264."""
    width, height = size
    scale = max((width + 2 * frames) / photo.shape[1], height / photo.shape[0])
    shape = (round(photo.shape[1] * scale) + 1, round(photo.shape[0] * scale) + 1)
    big = np.asarray(Image.fromarray(photo).resize(shape, Image.Resampling.BICUBIC))[:height]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index, frame in enumerate(panned_frames(big, frames, width=width)):
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            picture.pts = index
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return path


def fps_row(clip: Path, out: Path, dehaze: object, frames: int) -> dict:
    """Frames per second of wall time and of CPU time (all threads; on a loaded machine the CPU figure is the one
    that does not depend on what else runs, and it equals wall time with one thread on a quiet core)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = dehaze_video(clip, out, dehaze)
    assert result.frames == frames, result
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"fps": round(frames / wall, 2), "fps_cpu_time": round(frames / cpu, 2)}


def video_rows(dehazer: Dehazer, photo: np.ndarray, size: tuple[int, int], frames: int, dcp_frames: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder, "clip.mp4"), photo, size, frames)
        short = write_clip(Path(folder, "short.mp4"), photo, size, dcp_frames)
        rows = {
            "codec only": fps_row(clip, Path(folder, "copy.mp4"), lambda frame: frame, frames),
            "video path": fps_row(clip, Path(folder, "out.mp4"), dehazer, frames),
            "DCP per frame": fps_row(short, Path(folder, "dcp.mp4"), dark_channel_prior, dcp_frames),
        }
    return rows


def _median_ms(run: object, repeats: int) -> tuple[float, float]:
    """Median milliseconds of wall time and of CPU time (all threads) over ``repeats`` runs after a warm-up."""
    run()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return 1000.0 * statistics.median(walls), 1000.0 * statistics.median(cpus)


def onnx_rows(dehazer: Dehazer, photos: dict[str, np.ndarray], threads: int, repeats: int) -> dict:
    """Per photo: PyTorch and onnxruntime milliseconds (medians) and their largest difference in levels."""
    import onnxruntime

    model = dehazer.model_for(3)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = onnxruntime.InferenceSession(onnx_bytes(model.generator), options, providers=["CPUExecutionProvider"])
    rows = {}
    for name, photo in photos.items():
        batch = np.ascontiguousarray(photo.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
        tensor = torch.from_numpy(batch)
        torch_ms = _median_ms(lambda tensor=tensor: model.dehaze_tensor(tensor), repeats)
        onnx_ms = _median_ms(lambda batch=batch: session.run(None, {INPUT_NAME: batch}), repeats)
        diff = np.abs(session.run(None, {INPUT_NAME: batch})[0] - model.dehaze_tensor(tensor).numpy()).max() * 255
        rows[name] = {
            "size": f"{photo.shape[1]}×{photo.shape[0]}",
            "pytorch_ms": round(torch_ms[0], 1),
            "onnxruntime_ms": round(onnx_ms[0], 1),
            "onnx_over_torch": round(onnx_ms[0] / torch_ms[0], 2),
            "pytorch_cpu_ms": round(torch_ms[1], 1),
            "onnxruntime_cpu_ms": round(onnx_ms[1], 1),
            "max_diff_levels": round(float(diff), 3),
        }
        print(f"onnx {name}: {rows[name]}", flush=True)
    return rows


def peak_rss_mb(clip: Path, out: Path, threads: int) -> float:
    """Peak RSS (MB) of a ``dehaze-infer`` process on ``clip``."""
    code = (
        "import resource, sys\nfrom dehaze.cli.infer import main\nmain(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "NO_ALBUMENTATIONS_UPDATE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(clip), "-o", str(out), "--quiet"], capture_output=True, text=True, env=env
    )
    return int(done.stdout.strip().splitlines()[-1]) / 1024.0


def memory_rows(photo: np.ndarray, size: tuple[int, int], frames: int, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        rows = {}
        for label, count in (("short", frames), ("long", 10 * frames)):
            clip = write_clip(Path(folder, f"{label}.mp4"), photo, size, count)
            rows[f"{label} ({count} frames) peak RSS MB"] = round(peak_rss_mb(clip, Path(folder, label), threads), 1)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--dcp-frames", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/real_hazy"))
    parser.add_argument("--out-json", type=Path, default=Path("benchmarks/results/video.json"))
    parser.add_argument("--max-photos", type=int, default=0, help="ONNX rows on the first N photos only (0: all)")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the peak-RSS rows")
    parser.add_argument("--tiny", action="store_true", help="a few small frames: check that the script runs")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    size = tuple(int(side) for side in args.size.lower().split("x"))
    frames, dcp_frames, memory = args.frames, args.dcp_frames, MEMORY_CLIP
    paths = photo_paths(args.photos, args.max_photos)
    if args.tiny:
        size, frames, dcp_frames, memory, paths = (160, 96), 4, 2, ((96, 64), 3), paths[:1]
    photos = read_photos(paths)
    first = next(iter(photos.values()))
    dehazer = Dehazer.from_checkpoint(None, device="cpu")
    report: dict = {"threads": args.threads, "size": f"{size[0]}×{size[1]}", "load_before": os.getloadavg()}
    report["machine"] = platform.processor() or platform.machine()
    report["fps"] = video_rows(dehazer, first, size, frames, dcp_frames)
    print(f"fps at {size[0]}×{size[1]}: {report['fps']}", flush=True)
    report["onnx"] = onnx_rows(dehazer, photos, args.threads, 1 if args.tiny else args.repeats)
    if not args.skip_memory:
        report["memory"] = memory_rows(first, *memory, args.threads)
        print(f"memory: {report['memory']}", flush=True)
    write_report(report, args.out_json, self_peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
