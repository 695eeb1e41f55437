"""dehaze.models: the generator contract, the whole-scene guided generator, the U-Net, the spatial and frequency
critics, their dual combination and builders."""

from dehaze.models.build import build_critic, build_generator
from dehaze.models.dual import CriticOutput, DualCritic
from dehaze.models.frequency_critic import FrequencyCritic
from dehaze.models.generator import Generator
from dehaze.models.guided import GuidedGenerator
from dehaze.models.spatial_critic import PatchCritic
from dehaze.models.unet import UNetGenerator

__all__ = [
    "CriticOutput",
    "DualCritic",
    "FrequencyCritic",
    "Generator",
    "GuidedGenerator",
    "PatchCritic",
    "UNetGenerator",
    "build_critic",
    "build_generator",
]
