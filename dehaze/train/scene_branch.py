"""The scene branch: the generator also dehazes whole training photos, so its global light estimate learns from
whole scenes.

The paired batch is random scaled crops, so the guided generator's view (the input resized to a 48-px short side)
is usually a part of a scene, while at inference it is always the whole photo: the global head, which re-estimates
haze density and airlight from the view, is trained on few whole scenes. With ``train.scene_batch`` > 0 every step
also dehazes that many whole photos of the ``--clean`` folder (:class:`~dehaze.data.scenes.WholeScenes`, short side
``train.scene_size``) and adds ``loss.scene_weight`` × L1 to the generator loss, logged as ``scene_l1``. No critic
judges them. The scenes of a step are a pure function of the step, so ``--resume`` continues exactly with nothing
saved but the step; they are made ahead in ``train.num_workers`` data-loader workers (0: in the training process).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from dehaze.config import Config
from dehaze.data.scenes import WholeScenes
from dehaze.errors import DehazeError
from dehaze.imageio import list_images
from dehaze.train.precision import Precision

Terms = tuple[torch.Tensor, dict[str, torch.Tensor]]
Groups = list[tuple[torch.Tensor, torch.Tensor]]


class SceneSteps(Dataset):
    """Item ``step``: ``(step, groups)``, the ``(hazy, clean)`` scene groups of that training step, or
    ``(step, message)`` when a photo cannot be read (workers cannot re-raise a :class:`DehazeError` cleanly)."""

    def __init__(self, scenes: WholeScenes, batch_size: int, seed: int) -> None:
        self.scenes = scenes
        self.batch_size = batch_size
        self.seed = seed

    def __getitem__(self, step: int) -> tuple[int, Groups | str]:
        try:
            return step, self.scenes.batch(step, self.batch_size, self.seed)
        except DehazeError as exc:
            return step, str(exc)


class SceneBranch:
    """Whole hazy scenes for each step, made ahead, and their weighted L1 loss."""

    def __init__(self, scenes: WholeScenes, batch_size: int, weight: float, seed: int, workers: int = 0) -> None:
        self.steps = SceneSteps(scenes, batch_size, seed)
        self.weight = weight
        self.workers = workers
        self._stream: Iterator[tuple[int, Groups | str]] | None = None
        self._next_step = -1

    def groups(self, step: int) -> Groups:
        """The scene groups of ``step``; the stream (re)starts there unless it was asked for the step before."""
        if self._stream is None or step != self._next_step:
            loader = DataLoader(self.steps, batch_size=None, sampler=itertools.count(step), num_workers=self.workers)
            self._stream = iter(loader)
        made_for, groups = next(self._stream)
        self._next_step = step + 1
        if isinstance(groups, str):
            raise DehazeError(groups)
        if made_for != step:
            raise RuntimeError(f"scene stream out of step: made for step {made_for}, asked for {step}")
        return groups

    def loss(self, generator: torch.nn.Module, step: int, device: torch.device, precision: Precision) -> Terms:
        """``weight`` × the mean absolute error of ``generator`` over the scenes of ``step`` (every pixel counts
        alike across the landscape and portrait groups), and ``{"scene_l1": that error}``."""
        total, pixels = torch.zeros((), device=device), 0
        for hazy, clean in self.groups(step):
            hazy, clean = hazy.to(device), clean.to(device)
            with precision.autocast():
                dehazed = generator(hazy)
            total = total + (dehazed.float() - clean).abs().sum()
            pixels += clean.numel()
        error = total / pixels
        return self.weight * error, {"scene_l1": error.detach()}


def scene_branch(config: Config, rank: int = 0) -> SceneBranch | None:
    """The branch when ``train.scene_batch`` > 0, its scenes from the ``--clean`` photos (``None`` when off)."""
    tc = config.train
    if tc.scene_batch <= 0:
        return None
    if not tc.clean_data:
        raise DehazeError("train.scene_batch needs --clean: a folder of clean photos to make whole scenes from")
    scenes = WholeScenes(list_images(Path(tc.clean_data)), config.model.in_channels, tc.scene_size, config.haze)
    seed = tc.seed * 1_000_003 + rank  # as the real-photo branch: one stream per rank
    return SceneBranch(scenes, tc.scene_batch, config.loss.scene_weight, seed, tc.num_workers)
