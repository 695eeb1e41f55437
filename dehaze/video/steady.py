"""Steady light across the frames of a video: the guided generator's global light carried and smoothed.

Per frame, the generator reads the scene's light from its 48-px view: the dark channel prior's airlight, its global
head's density and airlight estimates, and the correction maps. A 2-px pan or sensor noise moves that view, and
the light it reads jumps with it (0.3–0.8 levels of mean luminance per frame on real hazy photos, against
0.02–0.09 for the input): pumping. Here the global part of each frame's affine maps, the mean gain (one per
channel) and the mean shift of the view's light ``mean(a·I + b − I)`` (one per channel), is an exponential moving
average over frames with a time constant in seconds; the local maps stay per frame, so edges and objects are
never smeared in time. A scene cut resets the average, so the new scene gets its own light at once: the 48-px
view's luminance changes by more than ``cut_threshold`` on average, or the frame's own light shift is more than
``light_jump`` away from the carried one (a 2-px pan with noise moves it by about 0.004).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dehaze.color import luminance
from dehaze.models.guided import GuidedGenerator, apply_coefficients, resize_to, view_size_for

MIN_GAIN = 1e-3


@dataclass(frozen=True)
class SteadyConfig:
    """``time_constant``: seconds over which the light is averaged (0: every frame on its own);
    ``cut_threshold``: mean absolute change of the view's luminance (0–1) from one frame to the next that counts
    as a scene cut; ``light_jump``: a change of the light shift (0–1, any channel) that counts as one too."""

    time_constant: float = 0.3
    cut_threshold: float = 0.04
    light_jump: float = 0.05

    def weight(self, fps: float) -> float:
        """The new frame's weight in the average at ``fps`` frames a second."""
        if self.time_constant <= 0 or fps <= 0:
            return 1.0
        return 1.0 - math.exp(-1.0 / (fps * self.time_constant))


class SteadyLight:
    """One clip's state: call it on each frame (N×C×H×W in [0, 1], on the generator's device) in order."""

    def __init__(self, generator: GuidedGenerator, strength: float, fps: float, config: SteadyConfig) -> None:
        self.generator, self.strength, self.config = generator, strength, config
        self.weight = config.weight(fps)
        self.previous: torch.Tensor | None = None  # the last frame's view luminance
        self.gain: torch.Tensor | None = None
        self.shift: torch.Tensor | None = None
        self.cuts = 0  # scene cuts seen after the first frame

    def is_cut(self, view: torch.Tensor) -> bool:
        """True for the first frame and for a frame whose view differs from the last one's like a new scene."""
        light = luminance(view) if view.shape[1] == 3 else view
        previous, self.previous = self.previous, light
        if previous is None or previous.shape != light.shape:
            return True
        return float((light - previous).abs().mean()) > self.config.cut_threshold

    def _smooth(self, gain: torch.Tensor, shift: torch.Tensor, reset: bool) -> None:
        if self.gain is None or self.shift is None:
            self.gain, self.shift = gain, shift
            return
        if reset or float((shift - self.shift).abs().max()) > self.config.light_jump:
            self.gain, self.shift = gain, shift
            self.cuts += 1
            return
        self.gain = self.gain + self.weight * (gain - self.gain)
        self.shift = self.shift + self.weight * (shift - self.shift)

    def maps(self, view: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This frame's view maps with the carried global gain and light shift in place of its own."""
        cut = self.is_cut(view)
        slope, offset = self.generator.view_maps(view, self.strength)
        gain = slope.mean(dim=(2, 3), keepdim=True).clamp(min=MIN_GAIN).log()
        shift = (slope * view + offset - view).mean(dim=(2, 3), keepdim=True)
        self._smooth(gain, shift, cut)
        slope = slope * (self.gain - gain).exp()
        offset = offset + (self.shift - (slope * view + offset - view).mean(dim=(2, 3), keepdim=True))
        return slope, offset

    def __call__(self, frame: torch.Tensor) -> torch.Tensor:
        generator = self.generator
        view = resize_to(frame, view_size_for(*frame.shape[-2:], generator.view_size))
        slope, offset = self.maps(view)
        out = apply_coefficients(frame, slope, offset, generator.detail_radius, generator.detail_eps)
        return out.clamp_(0.0, 1.0)
