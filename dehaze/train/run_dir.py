"""The layout of a training run folder, defined once for the trainer, the CLI and the evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONFIG_NAME = "config.yaml"
LAST_NAME = "last.safetensors"
BEST_NAME = "best.safetensors"
STATE_NAME = "last.state.pt"
METRICS_NAME = "metrics.json"


@dataclass(frozen=True)
class RunDir:
    """Paths of one run: config, generator weights (last, best), training state and final metrics."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def last(self) -> Path:
        return self.root / LAST_NAME

    @property
    def best(self) -> Path:
        return self.root / BEST_NAME

    @property
    def state(self) -> Path:
        return self.root / STATE_NAME

    @property
    def metrics(self) -> Path:
        return self.root / METRICS_NAME

    def kept(self, step: int) -> Path:
        """Where the weights of milestone ``step`` are kept (``train.keep_every``)."""
        return self.root / "kept" / f"step{step:06d}.safetensors"

    def holds_run(self) -> bool:
        """True when a (resumable) training state is already here."""
        return self.state.exists()
