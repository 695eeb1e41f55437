"""torchrun/DDP plumbing: process group from the environment, rank helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the job (a single process is rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_type: str) -> DistContext:
    """Join the process group that ``torchrun`` describes in the environment (NCCL on CUDA, gloo on CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank)


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def broadcast_flag(ctx: DistContext, flag: bool) -> bool:
    """True on every rank when ``flag`` is true on any rank (used for stop requests)."""
    if not ctx.enabled:
        return flag
    tensor = torch.tensor([1 if flag else 0], dtype=torch.int64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())


def sync_buffers(ctx: DistContext, module: torch.nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank, as DDP does before each forward."""
    if ctx.enabled:
        for buffer in module.buffers():
            dist.broadcast(buffer.data, src=0)


def wrap_ddp(ctx: DistContext, module: torch.nn.Module | None, device: torch.device) -> torch.nn.Module | None:
    """``module`` in :class:`DistributedDataParallel` (on this rank's GPU under CUDA) when the job is distributed,
    else ``module`` itself (also ``None``)."""
    if not ctx.enabled or module is None:
        return module
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
