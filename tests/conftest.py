"""Shared test settings (quiet, offline, small) and fixtures."""

import os

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

torch.set_num_threads(2)

# Command-line options for a tiny, fast training run (CPU, a few px, a handful of steps).
TINY_TRAIN_ARGS = [
    "--set",
    "model.base_width=4",
    "--set",
    "model.depth=2",
    "--set",
    "model.width=4",
    "--set",
    "model.view_size=16",
    "--set",
    "critic.spatial_width=4",
    "--set",
    "critic.frequency_width=4",
    "--set",
    "critic.spatial_layers=2",
    "--set",
    "train.num_workers=0",
    "--set",
    "train.log_every=1",
    "--set",
    "train.sample_every=2",
    "--set",
    "train.val_every=2",
    "--set",
    "train.checkpoint_every=1",
    "--set",
    "train.val_max_images=2",
    "--set",
    "train.test_fraction=0.3",
    "--batch-size",
    "2",
    "--patch-size",
    "16",
    "--device",
    "cpu",
]


@pytest.fixture
def tiny_train_args() -> list[str]:
    """A copy of :data:`TINY_TRAIN_ARGS`."""
    return list(TINY_TRAIN_ARGS)
