"""What a person opens during and after training: TensorBoard, sample grids, a loss history and its curve."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torchvision.utils import make_grid

from dehaze.atomic import atomic_write


class RunReporter:
    """Rank-0 logging to ``RUN_DIR/{tb, samples, history.jsonl, loss_curve.png}``."""

    def __init__(self, run_dir: Path, start_step: int = 0) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = Path(run_dir)
        self.history_path = self.run_dir / "history.jsonl"
        self.samples_dir = self.run_dir / "samples"
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        self._truncate_history(start_step)
        self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=start_step if start_step else None)

    def _truncate_history(self, start_step: int) -> None:
        """On resume, drop records written after the checkpoint we resumed from."""
        if not self.history_path.exists():
            return
        kept = [r for r in self.read_history() if r.get("step", 0) <= start_step]
        text = "".join(json.dumps(r) + "\n" for r in kept)
        atomic_write(self.history_path, lambda tmp: tmp.write_text(text))

    def read_history(self) -> list[dict]:
        records = []
        for line in self.history_path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by kill -9
                continue
        return records

    def log_scalars(self, step: int, values: dict[str, float], group: str = "train") -> None:
        for key, value in values.items():
            self.writer.add_scalar(f"{group}/{key}", value, step)
        with open(self.history_path, "a") as handle:
            handle.write(json.dumps({"step": step, "group": group, **values}) + "\n")

    def save_samples(self, step: int, hazy: torch.Tensor, output: torch.Tensor, clean: torch.Tensor) -> Path:
        """Write a grid whose rows are (hazy | output | clean) triplets, and add it to TensorBoard."""
        from dehaze.imageio import save_image

        triplets = torch.stack([hazy, output, clean], dim=1).flatten(0, 1).float().clamp(0, 1).cpu()
        grid = make_grid(triplets, nrow=3, padding=2, pad_value=1.0)
        path = self.samples_dir / f"step_{step:06d}.png"
        save_image(grid, path)
        self.writer.add_image("samples/hazy|output|clean", grid, step)
        return path

    def plot_loss_curves(self) -> Path | None:
        """Render ``loss_curve.png``: all training losses in one panel, each validation metric in its own."""
        if not self.history_path.exists():
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        panels: dict[str, dict[str, list[tuple[int, float]]]] = {}  # training losses share a panel; metrics don't
        for record in self.read_history():
            group = record.get("group", "train")
            for key, value in record.items():
                skip = key in ("step", "group") or key.endswith("_per_s")
                if skip or not isinstance(value, int | float) or not math.isfinite(value):
                    continue
                panel = "train losses" if group == "train" else f"{group} {key}"
                panels.setdefault(panel, {}).setdefault(key, []).append((record["step"], value))
        if not panels:
            return None
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
        for axis, (title, curves) in zip(
            axes[0], sorted(panels.items(), key=lambda p: p[0] != "train losses"), strict=True
        ):
            for key, points in sorted(curves.items()):
                steps, values = zip(*points, strict=True)
                axis.plot(steps, values, label=key, marker="o" if len(points) < 30 else None)
            axis.set_title(title)
            axis.set_xlabel("step")
            if title == "train losses" and all(v > 0 for c in curves.values() for _, v in c):
                axis.set_yscale("log")
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
        fig.tight_layout()
        path = self.run_dir / "loss_curve.png"
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
        plt.close(fig)
        return path

    def close(self) -> None:
        self.writer.close()
