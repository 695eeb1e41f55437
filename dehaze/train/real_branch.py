"""The semi-supervised branch: the generator also learns from real hazy photos, which have no ground truth.

An **unconditional dual critic** (spatial PatchGAN on the output alone + the frequency critic on its spectrum,
averaged with λ into one signal) judges dehazed real photos against clean photos; JPEG blocks, chroma blotches and
amplified noise are spectral defects that clean photos lack. Guard rails keep the branch honest (in the spirit of
PSD, Chen et al. CVPR 2021, and RefineDNet, Zhao et al. 2021):

- ``rehaze``: re-hazing the output with the generator's own transmission ``t = 1/a`` and **one airlight per photo**
  must give back the input. For the affine map ``J = a·I + b`` the residual is ``(b − A(1 − a))/a`` with ``A`` the
  least-squares airlight of the photo, so the term is the mean squared re-hazing error;
- ``dark_channel``: the output's dark channel energy (haze-free photos have a dark channel near 0);
- ``transmission_tv``: total variation of ``log t`` on the view (transmission is smooth except at depth edges);
- ``teacher``: L1 to the output of the model the run started from (frozen), so the branch cannot wander off;
- ``below_zero``: how far the output, before the clamp, goes below 0 (on the view: the straight-through clamp
  hides crushed shadows from every other loss);
- ``light_consistency``: the light change the model applies (mean output minus mean input, per channel) must not
  move when the photo is shifted by 2–8 pixels and given sensor noise (σ 0.01): a light that jumps with the view
  is a guess, and it pumps on video;
- ``flat_detail``: the fine detail of the output in the input's flat regions (sky, fog, walls) may not grow beyond
  the teacher's: JPEG blocks, chroma blotches and grain amplified by a 1/t gain.

The last three are in :mod:`dehaze.train.real_priors`.

Each step runs one critic update and one generator update on a real batch, after the paired step.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from pathlib import Path

import torch
import torch.nn.functional as F

from dehaze.checkpoint.generator import load_generator_weights
from dehaze.config import Config, CriticConfig, RealHazeConfig
from dehaze.data.real_hazy import RealHazyPhotos
from dehaze.dcp import dark_channel
from dehaze.imageio import list_images
from dehaze.losses import AdversarialLoss
from dehaze.models.build import build_critic
from dehaze.models.dual import DualCritic
from dehaze.models.guided import GuidedGenerator, resize_to, view_size_for
from dehaze.train.real_priors import below_zero, flat_detail_excess, light_inconsistency, view_output

Logs = dict[str, torch.Tensor]
DARK_PATCH = 7


def unconditional_critic(critic_cfg: CriticConfig, real_cfg: RealHazeConfig, channels: int) -> DualCritic:
    """The dual critic of the real branch: no hazy condition, λ = ``real_cfg.spatial_weight``."""
    cfg = dataclasses.replace(critic_cfg, use_condition=False, spatial_weight=real_cfg.spatial_weight)
    return build_critic(cfg, channels, hazy_channels=0)


def judge(critic: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """One logit map per image from the unconditional critic (the condition is an empty 0-channel tensor)."""
    return critic(images[:, :0], images).logits


def rehaze_error(slope: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Mean squared re-hazing error of affine maps with one least-squares airlight per photo and channel."""
    gain = 1.0 - slope  # N×1×h×w; b = A(1 − a) for a pure scattering-model inverse
    airlight = (offset * gain).sum(dim=(2, 3), keepdim=True) / gain.square().sum(dim=(2, 3), keepdim=True).clamp(
        min=1e-6
    )
    return ((offset - airlight * gain) / slope).square().mean()


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels (both axes)."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


class RealHazeBranch:
    """Critic, optimiser, teacher and losses of the real-photo branch for one guided generator."""

    def __init__(
        self, generator: GuidedGenerator, critic_cfg: CriticConfig, cfg: RealHazeConfig, adversarial: str, lr: float
    ) -> None:
        self.cfg = cfg
        self.teacher = copy.deepcopy(generator).eval().requires_grad_(False)
        if cfg.teacher:  # another model's weights (e.g. a later milestone's) instead of the start weights
            load_generator_weights(self.teacher, Path(cfg.teacher), next(generator.parameters()).device)
        self.adversarial = AdversarialLoss(adversarial)
        channels = generator.in_channels
        self.critic = unconditional_critic(critic_cfg, cfg, channels) if cfg.adversarial_weight > 0 else None
        self.opt = torch.optim.Adam(self.critic.parameters(), lr=lr, betas=(0.5, 0.999)) if self.critic else None

    def critic_step(self, clean: torch.Tensor, dehazed: torch.Tensor) -> Logs:
        """One critic update: clean photos are real, dehazed real photos fake (judged in one pass)."""
        if self.critic is None or self.opt is None:
            return {}
        logits = judge(self.critic, torch.cat([clean, dehazed.detach()]))
        loss = self.adversarial.critic(logits[: len(clean)], logits[len(clean) :])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"real_d": loss.detach()}

    def losses(
        self, generator: GuidedGenerator, hazy: torch.Tensor, dehazed: torch.Tensor, clean: torch.Tensor
    ) -> tuple[torch.Tensor, Logs]:
        """The critic update (``clean`` crops are real), then the generator terms judged by the frozen critic."""
        logs = self.critic_step(clean, dehazed)
        if self.critic is not None:
            self.critic.requires_grad_(False)
        loss, terms = self.generator_loss(generator, hazy, dehazed.float())
        if self.critic is not None:
            self.critic.requires_grad_(True)
        return loss, {**logs, **terms}

    def generator_loss(self, generator: GuidedGenerator, hazy: torch.Tensor, dehazed: torch.Tensor) -> tuple:
        """Weighted sum of the branch's generator terms for real ``hazy`` crops and their ``dehazed`` outputs."""
        cfg = self.cfg
        logs: Logs = {}
        view = resize_to(hazy, view_size_for(*hazy.shape[-2:], generator.view_size))
        slope, offset = generator.coefficients(view)
        teacher = functools.cache(lambda: self._teacher(hazy))  # computed once, for the terms that use it
        terms = {
            "real_rehaze": (cfg.rehaze_weight, lambda: rehaze_error(slope, offset)),
            "real_dark": (cfg.dark_channel_weight, lambda: dark_channel(dehazed, DARK_PATCH).mean()),
            "real_tv": (cfg.transmission_tv_weight, lambda: total_variation(slope.log())),
            "real_teacher": (cfg.teacher_weight, lambda: F.l1_loss(dehazed, teacher())),
            "real_below_zero": (cfg.below_zero_weight, lambda: below_zero(view_output(generator, view))),
            "real_light": (cfg.light_consistency_weight, lambda: light_inconsistency(generator, hazy)),
            "real_flat": (cfg.flat_detail_weight, lambda: flat_detail_excess(dehazed, teacher(), hazy)),
        }
        critic = self.critic
        if critic is not None:
            terms["real_adv"] = (cfg.adversarial_weight, lambda: self.adversarial.generator(judge(critic, dehazed)))
        total = torch.zeros((), device=hazy.device)
        for name, (weight, value) in terms.items():
            if weight > 0:
                term = value()
                total = total + weight * term
                logs[name] = term.detach()
        return total, logs

    @torch.no_grad()
    def _teacher(self, hazy: torch.Tensor) -> torch.Tensor:
        return self.teacher(hazy)

    def state_dict(self) -> dict:
        """Critic and optimiser state (empty without a critic); the teacher is rebuilt from the start weights."""
        if self.critic is None or self.opt is None:
            return {}
        return {"critic": self.critic.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if self.critic is not None and self.opt is not None and state:
            self.critic.load_state_dict(state["critic"])
            self.opt.load_state_dict(state["opt"])


def real_photo_branch(
    generator: GuidedGenerator, config: Config
) -> tuple[RealHazeBranch | None, RealHazyPhotos | None]:
    """The branch (its teacher is ``generator`` as it is now, or ``config.real.teacher``'s weights) and its photos
    when ``config.real.photos`` is set."""
    if not config.real.photos:
        return None, None
    real = config.real
    branch = RealHazeBranch(generator, config.critic, real, config.loss.adversarial, config.train.lr_critic)
    paths = list_images(Path(real.photos))
    return branch, RealHazyPhotos(paths, config.model.in_channels, config.train.patch_size, real.max_side)
