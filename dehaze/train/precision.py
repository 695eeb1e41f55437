"""Mixed precision of a training run: autocast and loss scaling decided once from the config and the device."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Precision:
    """Autocast on CUDA when ``amp`` is on: bfloat16 where supported, else float16 with loss scaling; on the CPU
    bfloat16 autocast only when ``cpu_bf16`` is asked for (CPUs with AVX-512 BF16 or AMX run it faster)."""

    enabled: bool
    dtype: torch.dtype
    device_type: str = "cuda"

    @classmethod
    def choose(cls, amp: bool, device: torch.device, cpu_bf16: bool = False) -> Precision:
        """AMP on CUDA (bfloat16 when the GPU supports it), bfloat16 on the CPU when ``cpu_bf16``."""
        if device.type == "cpu":
            return cls(cpu_bf16, torch.bfloat16, "cpu")
        enabled = amp and device.type == "cuda"
        return cls(enabled, torch.bfloat16 if enabled and torch.cuda.is_bf16_supported() else torch.float16)

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context of a forward pass (a no-op without AMP)."""
        if self.enabled:
            return torch.autocast(self.device_type, dtype=self.dtype)
        return contextlib.nullcontext()

    def scaler(self) -> torch.amp.GradScaler:
        """A gradient scaler, active only for float16 autocast."""
        return torch.amp.GradScaler(
            "cuda", enabled=self.enabled and self.dtype == torch.float16 and self.device_type == "cuda"
        )
