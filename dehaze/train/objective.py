"""The training objectives, built from :class:`~dehaze.config.LossConfig`: every term named and weighted.

Generator: ``l1`` (always computed, logged even at weight 0), then the optional reconstruction terms ``ssim``,
``spectral`` (ExaGAN power-spectrum log-MSE) and ``focal_frequency``, then, once the critic is on, ``g_adv`` (the
dual critic's one adversarial signal) and ``fm`` (feature matching on the spatial critic's features).
Critic: the adversarial loss ``d`` on real and fake, plus ``d_freq`` (the frequency critic's own SSD-GAN-style
term, when both critics exist) and ``r1`` (gradient penalty on real inputs). A term with weight 0 is not computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dehaze import losses
from dehaze.config import LossConfig
from dehaze.losses import AdversarialLoss
from dehaze.models.dual import CriticOutput

Logs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LossTerm:
    """One weighted term: ``weight · fn(fake, clean)``, logged (unweighted) under ``name``."""

    name: str
    weight: float
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def reconstruction_terms(cfg: LossConfig) -> list[LossTerm]:
    """L1 always, then each optional reconstruction term whose weight is above 0, in a fixed order."""
    optional = [
        LossTerm("ssim", cfg.ssim_weight, losses.ssim_loss),
        LossTerm("spectral", cfg.spectral_weight, losses.spectral_power_loss),
        LossTerm("focal_frequency", cfg.focal_frequency_weight, losses.focal_frequency_loss),
    ]
    return [LossTerm("l1", cfg.l1_weight, F.l1_loss)] + [term for term in optional if term.weight > 0]


class GeneratorObjective:
    """Reconstruction terms plus the adversarial signal and feature matching of the generator step."""

    def __init__(self, cfg: LossConfig) -> None:
        self.cfg = cfg
        self.adversarial = AdversarialLoss(cfg.adversarial)
        self.terms = reconstruction_terms(cfg)

    @property
    def wants_real_features(self) -> bool:
        """Whether :meth:`add_adversarial` needs the critic's features of the clean image (feature matching)."""
        return self.cfg.feature_matching_weight > 0

    def reconstruction(self, fake: torch.Tensor, clean: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """Weighted sum of the reconstruction terms and each term's unweighted value."""
        total: torch.Tensor | None = None
        logs: Logs = {}
        for term in self.terms:
            value = term.fn(fake, clean)
            total = term.weight * value if total is None else total + term.weight * value
            logs[term.name] = value.detach()
        assert total is not None
        return total, logs

    def add_adversarial(
        self, total: torch.Tensor, judged: CriticOutput, real_features: list[torch.Tensor] | None
    ) -> tuple[torch.Tensor, Logs]:
        """``total`` plus the critic's verdict on the output as a generator loss, plus feature matching."""
        g_adv = self.adversarial.generator(judged.logits.float())
        total = total + self.cfg.adversarial_weight * g_adv
        logs: Logs = {"g_adv": g_adv.detach()}
        if self.wants_real_features and real_features is not None:
            fm = losses.feature_matching_loss(judged.features, real_features)
            total = total + self.cfg.feature_matching_weight * fm
            logs["fm"] = fm.detach()
        return total, logs


class CriticObjective:
    """The critic step's loss: adversarial on real/fake, the frequency critic's own term, R1."""

    def __init__(self, cfg: LossConfig) -> None:
        self.cfg = cfg
        self.adversarial = AdversarialLoss(cfg.adversarial)

    @property
    def wants_real_gradient(self) -> bool:
        """Whether the real input must require grad (the R1 penalty differentiates the critic at it)."""
        return self.cfg.r1_weight > 0

    def __call__(self, real: CriticOutput, fake: CriticOutput, real_input: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        """Total critic loss and its logged terms (``d`` is the total)."""
        loss = self.adversarial.critic(real.logits.float(), fake.logits.float())
        logs: Logs = {}
        if self.cfg.frequency_extra_weight > 0 and real.spatial is not None and real.frequency is not None:
            extra = self.adversarial.critic(real.frequency.float(), fake.frequency.float())
            loss = loss + self.cfg.frequency_extra_weight * extra
            logs["d_freq"] = extra.detach()
        if self.wants_real_gradient:
            r1 = losses.r1_penalty(real.logits.float(), real_input)
            loss = loss + self.cfg.r1_weight * r1
            logs["r1"] = r1.detach()
        logs["d"] = loss.detach()
        return loss, logs
