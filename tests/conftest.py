"""Shared test settings: quiet, offline and small."""

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

torch.set_num_threads(2)
