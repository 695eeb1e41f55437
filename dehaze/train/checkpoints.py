"""A training run's checkpoint files: what each holds and how it is written (rank 0 only, atomically)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from dehaze.atomic import atomic_write_all
from dehaze.checkpoint import TrainingState, save_generator
from dehaze.checkpoint.generator import generator_bytes
from dehaze.checkpoint.training_state import training_state_bytes
from dehaze.config import ModelConfig
from dehaze.train.distributed import DistContext
from dehaze.train.run_dir import RunDir


@dataclass(frozen=True)
class RunCheckpoints:
    """Writes ``last.safetensors`` with ``last.state.pt`` (as one pair), ``best.safetensors`` and, when asked,
    each rank's own weights; every file carries the generator's config in its metadata."""

    run: RunDir
    model_config: ModelConfig
    ctx: DistContext

    def save_last(self, step: int, best_psnr: float, weights: torch.nn.Module, parts: dict[str, Any]) -> None:
        """The weights to ship and the full training state (``parts`` by :class:`TrainingState` field): both temp
        files are written first, then both renamed, so a full disk leaves both at the previous step. A collective:
        every rank calls it (the shard readers' positions are gathered first)."""
        parts["stream"].gather(self.ctx)
        if not self.ctx.is_main:
            return
        meta = {"step": step, "source": "dehaze-train"}
        weight_bytes = generator_bytes(weights, self.model_config, extra_metadata=meta)
        state_bytes = training_state_bytes(TrainingState.capture(step, best_psnr, parts).to_dict())
        atomic_write_all(
            [
                (self.run.last, lambda tmp: tmp.write_bytes(weight_bytes)),
                (self.run.state, lambda tmp: tmp.write_bytes(state_bytes)),
            ]
        )

    def save_kept(self, weights: torch.nn.Module, step: int) -> None:
        """The weights of a milestone step, kept as ``kept/stepNNNNNN.safetensors`` (never overwritten by later
        checkpoints), so a long run can be scored at its milestones while it goes on."""
        if self.ctx.is_main:
            self.run.kept(step).parent.mkdir(parents=True, exist_ok=True)
            save_generator(weights, self.model_config, self.run.kept(step), extra_metadata={"step": step})

    def save_best(self, weights: torch.nn.Module, step: int, scores: dict[str, float]) -> None:
        """The best weights so far, with the step and the validation scores that made them best."""
        meta = {"step": step, "val_psnr": scores["psnr"], "val_ssim": scores["ssim"]}
        save_generator(weights, self.model_config, self.run.best, extra_metadata=meta)

    def save_final(self, weights: torch.nn.Module, step: int, rank_weights: torch.nn.Module | None) -> None:
        """At the end of a run: the best weights are the final ones when validation never ran (rank 0), and
        ``rank_weights``, when given, go to ``rank<N>.safetensors`` (every rank: DDP's ranks must agree)."""
        if self.ctx.is_main and not self.run.best.exists():
            save_generator(weights, self.model_config, self.run.best, {"step": step})
        if rank_weights is not None:
            save_generator(rank_weights, self.model_config, self.run.root / f"rank{self.ctx.rank}.safetensors")
