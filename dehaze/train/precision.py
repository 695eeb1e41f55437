"""Mixed precision of a training run: autocast and loss scaling decided once from the config and the device."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Precision:
    """Autocast on CUDA when ``amp`` is on: bfloat16 where supported, else float16 with loss scaling."""

    enabled: bool
    dtype: torch.dtype

    @classmethod
    def choose(cls, amp: bool, device: torch.device) -> Precision:
        """AMP only on CUDA; bfloat16 when the GPU supports it."""
        enabled = amp and device.type == "cuda"
        return cls(enabled, torch.bfloat16 if enabled and torch.cuda.is_bf16_supported() else torch.float16)

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context of a forward pass (a no-op without AMP)."""
        if self.enabled:
            return torch.autocast("cuda", dtype=self.dtype)
        return contextlib.nullcontext()

    def scaler(self) -> torch.amp.GradScaler:
        """A gradient scaler, active only for float16 autocast."""
        return torch.amp.GradScaler("cuda", enabled=self.enabled and self.dtype == torch.float16)
