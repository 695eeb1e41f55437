"""The training loop: a generator (guided or U-Net) against one dual (spatial + frequency) critic, plus L1 and
optional terms."""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from dehaze.checkpoint import TrainingState
from dehaze.checkpoint.generator import load_generator_weights
from dehaze.config import Config
from dehaze.data.splits import DataSplits, Pairs
from dehaze.errors import DehazeError
from dehaze.models.build import build_critic, build_generator
from dehaze.train.checkpoints import RunCheckpoints
from dehaze.train.compiling import compile_training
from dehaze.train.distributed import DistContext, barrier, broadcast_flag, sync_buffers, wrap_ddp
from dehaze.train.evaluation import sample_batch, sample_outputs, validation_scores
from dehaze.train.objective import CriticObjective, GeneratorObjective
from dehaze.train.precision import Precision
from dehaze.train.real_branch import real_photo_branch
from dehaze.train.reporting import RunReporter
from dehaze.train.run_dir import RunDir
from dehaze.train.sampling import StreamPosition, training_batches
from dehaze.train.scene_branch import Terms, scene_branch
from dehaze.train.schedule import ema_with_warmup, learning_rate_factor


class TrainingDiverged(DehazeError):
    """A loss became NaN or infinite; the last checkpoint on disk is still the last good one."""


class Trainer:
    """Builds models, optimisers and data from a :class:`Config` and runs (or resumes) training in ``run_dir``."""

    def __init__(
        self, config: Config, run_dir: Path, ctx: DistContext, device: torch.device, resume: bool = False
    ) -> None:
        """``device`` comes resolved (:func:`dehaze.device.resolve_device`); under DDP on CUDA each rank takes its
        own GPU."""
        self.config = config
        self.run = RunDir(Path(run_dir))
        self.ctx = ctx
        self.checkpoints = RunCheckpoints(self.run, config.model, ctx)
        self.device = device
        if self.device.type == "cuda" and ctx.enabled:
            self.device = torch.device("cuda", ctx.local_rank)
        torch.manual_seed(config.train.seed)
        self.precision = Precision.choose(config.train.amp, self.device, config.train.cpu_bf16)

        self.generator = build_generator(config.model).to(self.device)
        if config.train.init_weights:
            load_generator_weights(self.generator, Path(config.train.init_weights), self.device)
        # the real-photo branch's teacher is the generator as it starts (fresh from the seed, or the init weights)
        self.real_branch, self.real_photos = real_photo_branch(self.generator, config)
        self.scene_branch = scene_branch(config, ctx.rank)  # whole scenes beside the crops (train.scene_batch)
        decay = config.train.ema_decay
        self.ema = (
            AveragedModel(self.generator, multi_avg_fn=ema_with_warmup(decay), use_buffers=True) if decay > 0 else None
        )
        self.adversarial = config.loss.adversarial_weight > 0
        self.critic = (
            build_critic(config.critic, config.model.out_channels).to(self.device) if self.adversarial else None
        )
        if self.device.type == "cuda":
            self.generator = self.generator.to(memory_format=torch.channels_last)
            if self.critic is not None:
                self.critic = self.critic.to(memory_format=torch.channels_last)
        self.generator_objective = GeneratorObjective(config.loss)
        self.critic_objective = CriticObjective(config.loss)

        tc = config.train
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=tc.lr_generator, betas=tc.betas)
        self.opt_d = (
            torch.optim.Adam(self.critic.parameters(), lr=tc.lr_critic, betas=tc.betas) if self.critic else None
        )
        self.scaler_g, self.scaler_d = self.precision.scaler(), self.precision.scaler()
        self.step = 0
        self.best_psnr = -math.inf
        self.stream = StreamPosition()  # where the shard readers stand (training from shards)
        if resume:
            self._load_state()
        self.g_train = wrap_ddp(ctx, self.generator, self.device)
        self.d_train = wrap_ddp(ctx, self.critic, self.device)
        if tc.compile:  # after the EMA and teacher copies and the resume: they and the checkpoints stay eager
            critics = (self.critic, self.real_branch.critic if self.real_branch else None)
            self.g_train = compile_training(self.g_train, critics, tc.compile_backend, self.device)
        self.stop_requested = False
        self.reporter: RunReporter | None = None  # opened by fit() on rank 0

    # ----------------------------------------------------------------- state
    def _state_parts(self) -> dict[str, Any]:
        """The objects a training state restores, by :class:`TrainingState` field (``None``: not in this run)."""
        return {
            "generator": self.generator,
            "ema": self.ema,
            "critic": self.critic,
            "opt_g": self.opt_g,
            "opt_d": self.opt_d,
            "scaler_g": self.scaler_g,
            "scaler_d": self.scaler_d,
            "real_critic": self.real_branch.critic if self.real_branch else None,
            "opt_real": self.real_branch.opt if self.real_branch else None,
            "stream": self.stream,
        }

    def _load_state(self) -> None:
        state = TrainingState.resume(self.run.state, self._state_parts(), map_location=self.device)
        self.step = int(state.step)
        self.best_psnr = float(state.best_psnr)
        # the config's learning rates win over the saved ones, so a resumed run can continue with a lower rate
        self._set_learning_rates()

    def _set_learning_rates(self) -> None:
        """Base rates from the config times the schedule's factor at the current step."""
        tc = self.config.train
        factor = learning_rate_factor(self.step, tc.steps, tc.lr_schedule, tc.warmup_steps)
        for optimizer, lr in ((self.opt_g, tc.lr_generator), (self.opt_d, tc.lr_critic)):
            for group in optimizer.param_groups if optimizer is not None else []:
                group["lr"] = lr * factor

    @property
    def eval_generator(self) -> torch.nn.Module:
        """The weights that are saved, validated and shipped: the EMA when enabled, else the trained ones."""
        return self.ema.module if self.ema is not None else self.generator

    def save_checkpoint(self) -> None:
        """The last weights and the training state, as a pair (every rank calls it; rank 0 writes)."""
        self.checkpoints.save_last(self.step, self.best_psnr, self.eval_generator, self._state_parts())
        keep = self.config.train.keep_every
        if keep and self.step % keep == 0:
            self.checkpoints.save_kept(self.eval_generator, self.step)

    # ----------------------------------------------------------------- one step
    def train_step(self, hazy: torch.Tensor, clean: torch.Tensor) -> dict[str, torch.Tensor]:
        """One critic update then one generator update (pix2pix order); returns detached loss terms."""
        with self.precision.autocast():
            fake = self.g_train(hazy)
        logs: dict[str, torch.Tensor] = {}
        gan_on = self.critic is not None and self.step >= self.config.train.gan_start_step
        if gan_on:
            logs.update(self.critic_step(hazy, clean, fake.detach()))
        extras = [self.real_loss(clean)] if self.real_branch is not None else []
        if self.scene_branch is not None:
            extras.append(self.scene_branch.loss(self.g_train, self.step, self.device, self.precision))
        logs.update(self.generator_step(hazy, clean, fake, gan_on, extras))
        return logs

    def real_loss(self, clean: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The real-photo branch: its critic update (clean crops are real), then its generator terms."""
        seed = self.config.train.seed * 1_000_003 + self.ctx.rank
        real = self.real_photos.batch(self.step, self.config.real.batch_size, seed).to(self.device)
        with self.precision.autocast():
            dehazed = self.g_train(real)
        return self.real_branch.losses(self.generator, real, dehazed, clean)

    def critic_step(self, hazy: torch.Tensor, clean: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """Update the dual critic on real (clean) and fake (detached output) candidates, judged in one pass."""
        self.opt_d.zero_grad(set_to_none=True)
        real_input = clean.detach().requires_grad_(self.critic_objective.wants_real_gradient)
        with self.precision.autocast():  # real and fake in one pass: the critics have no batch statistics
            both = self.d_train(hazy, torch.cat([real_input, fake]))  # hazy once: its spectrum is computed once
        loss_d, logs = self.critic_objective(*both.split(hazy.shape[0]), real_input)
        self._check_finite(loss_d, "critic loss")
        self.scaler_d.scale(loss_d).backward()
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()
        return logs

    def generator_step(
        self, hazy: torch.Tensor, clean: torch.Tensor, fake: torch.Tensor, gan_on: bool, extras: Sequence[Terms] = ()
    ) -> dict[str, torch.Tensor]:
        """Update the generator: the objective's reconstruction terms plus the critics' one adversarial signal
        (plus ``extras``, the real-photo and scene branches' losses and logs, when they run)."""
        objective = self.generator_objective
        self.opt_g.zero_grad(set_to_none=True)
        loss_g, logs = objective.reconstruction(fake.float(), clean)
        for extra_loss, extra_logs in extras:
            loss_g = loss_g + extra_loss
            logs.update(extra_logs)
        if gan_on:
            critic = self.critic
            critic.requires_grad_(False)  # the generator step must not touch critic weights or DDP buckets
            with self.precision.autocast():
                judged = critic(hazy, fake)  # __call__: compiled under train.compile
            real_features = None
            if objective.wants_real_features:
                with torch.no_grad(), self.precision.autocast():
                    real_features = critic(hazy, clean).features
            loss_g, adversarial_logs = objective.add_adversarial(loss_g, judged, real_features)
            logs.update(adversarial_logs)
            critic.requires_grad_(True)
        self._check_finite(loss_g, "generator loss")
        self.scaler_g.scale(loss_g).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        if self.ema is not None:
            self.ema.update_parameters(self.generator)
        logs["g"] = loss_g.detach()
        return logs

    def _check_finite(self, loss: torch.Tensor, name: str) -> None:
        bad = not bool(torch.isfinite(loss).item())
        if broadcast_flag(self.ctx, bad):
            raise TrainingDiverged(
                f"{name} became {loss.item() if bad else 'non-finite on another rank'} at step {self.step + 1}; "
                f"stopped without saving. The last good checkpoint is {self.run.last} "
                f"(resume with --resume, perhaps with a lower learning rate)"
            )

    # ----------------------------------------------------------------- loop
    def _log(self, message: str) -> None:
        if self.ctx.is_main:
            tqdm.write(message)

    def _request_stop(self, signum: int, _frame: Any) -> None:
        if self.stop_requested:  # second Ctrl-C: abort now
            raise KeyboardInterrupt
        self.stop_requested = True
        self._log(f"signal {signum}: finishing this step, saving and stopping (press again to abort)")

    def fit(self, splits: DataSplits) -> bool:
        """Train to ``config.train.steps``; returns False when stopped early by a signal (after saving)."""
        tc = self.config.train
        self.reporter = RunReporter(self.run.root, start_step=self.step) if self.ctx.is_main else None
        samples = sample_batch(splits.val or splits.train, self.config) if self.ctx.is_main else None
        previous = {s: signal.signal(s, self._request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        bar = tqdm(total=tc.steps, initial=self.step, disable=not self.ctx.is_main, desc="train", dynamic_ncols=True)
        batches = training_batches(self.config, splits, self.ctx, self.device, self.step, self._log, self.stream)
        started, images = time.perf_counter(), 0
        try:
            while self.step < tc.steps:
                hazy, clean = next(batches)
                self._set_learning_rates()
                logs = self.train_step(hazy, clean)
                self.step += 1
                images += hazy.shape[0] * self.ctx.world_size
                bar.update(1)
                if self.ctx.is_main and (self.step % tc.log_every == 0 or self.step == tc.steps):
                    values = {k: float(v) for k, v in logs.items()}
                    values["images_per_s"] = images / (time.perf_counter() - started)
                    self.reporter.log_scalars(self.step, values)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()})
                if self.ctx.is_main and samples is not None and self.step % tc.sample_every == 0:
                    self.write_samples(samples)
                if self.ctx.is_main and splits.val and (self.step % tc.val_every == 0 or self.step == tc.steps):
                    self._validate_and_keep_best(splits.val)
                if self.step % tc.checkpoint_every == 0 or self.step == tc.steps:
                    self.save_checkpoint()
                if broadcast_flag(self.ctx, self.stop_requested):
                    self.save_checkpoint()
                    self._log(f"stopped at step {self.step}; checkpoint saved, continue with --resume")
                    return False
        finally:
            bar.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        sync_buffers(self.ctx, self.generator)
        if self.ctx.is_main:
            if samples is not None:
                self.write_samples(samples)
            self.reporter.plot_loss_curves()
        rank_weights = self.generator if self.config.train.save_rank_weights else None
        self.checkpoints.save_final(self.eval_generator, self.step, rank_weights)
        barrier(self.ctx)
        return True

    @torch.no_grad()
    def write_samples(self, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        """Save the current outputs on the sample batch next to its hazy and clean images."""
        hazy, clean = batch
        self.reporter.save_samples(self.step, hazy, sample_outputs(self.eval_generator, hazy, self.device), clean)

    def _validate_and_keep_best(self, val_pairs: Pairs) -> None:
        metrics = validation_scores(self.eval_generator, self.config, self.device, val_pairs)
        self.reporter.log_scalars(self.step, metrics, group="val")
        self._log(f"step {self.step}: val PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.4f}")
        if metrics["psnr"] > self.best_psnr:
            self.best_psnr = metrics["psnr"]
            self.checkpoints.save_best(self.eval_generator, self.step, metrics)

    def close(self) -> None:
        """Close the reporter (TensorBoard writer) if :meth:`fit` opened one."""
        if self.reporter is not None:
            self.reporter.close()
