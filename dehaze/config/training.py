"""The ``train`` section: data, optimisation and logging, and their bounds. Path and device options are checked
where they are used (clear messages there)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Data, optimisation and logging."""

    data: str | None = None
    clean_data: str | None = None
    shards: str | None = None  # WebDataset tar shards: a folder, a brace pattern or URLs
    val_data: str | None = None
    test_data: str | None = None
    device: str = "auto"
    steps: int = 2000
    batch_size: int = 12
    patch_size: int = 128
    lr_generator: float = 3e-4
    lr_critic: float = 2e-4
    lr_schedule: str = "cosine"
    warmup_steps: int = 100
    ema_decay: float = 0.999
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    num_workers: int = 2
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    val_max_images: int = 32
    log_every: int = 10
    sample_every: int = 200
    val_every: int = 200
    checkpoint_every: int = 100
    keep_every: int = 0  # also keep the weights of every N-th step as kept/stepNNNNNN.safetensors (0 = off)
    amp: bool = True
    cpu_bf16: bool = False  # bfloat16 autocast on the CPU (AVX-512 BF16 / AMX); off by default
    compile: bool = False  # torch.compile the training passes of generator and critics (dehaze/train/compiling.py)
    compile_backend: str = "inductor"  # its backend: inductor (C++ kernels on the CPU), aot_eager or eager
    skip_bad: bool = False
    gan_start_step: int = 0
    fid: bool = True
    save_rank_weights: bool = False
    init_weights: str | None = None
    scene_batch: int = 0  # whole training photos per step, beside the crops (0 = off; dehaze/train/scene_branch.py)
    scene_size: int = 96  # short side of a whole scene (a 4:3 frame); 2 × the 48-px view


_BIG = 10**9  # "any number of steps"
TRAIN_CHOICES: dict[str, tuple] = {
    "lr_schedule": ("constant", "cosine"),
    "compile_backend": ("inductor", "aot_eager", "eager"),  # inductor: C++ kernels; the other two trace only
}
TRAIN_RANGES: dict[str, tuple] = {
    "steps": (1, _BIG),
    "batch_size": (1, 1024),
    "patch_size": (16, 2048),
    "lr_generator": (0.0, 1.0),
    "lr_critic": (0.0, 1.0),
    "warmup_steps": (0, _BIG),
    "ema_decay": (0.0, 0.99999),  # 0 disables the average; 1 would never move
    "betas": (0.0, 0.99999),
    "seed": (0, 2**32 - 1),
    "num_workers": (0, 64),
    "val_fraction": (0.0, 0.9),
    "test_fraction": (0.0, 0.9),  # and val_fraction + test_fraction <= 0.9
    "val_max_images": (1, 100_000),
    "log_every": (1, _BIG),
    "sample_every": (1, _BIG),
    "val_every": (1, _BIG),
    "checkpoint_every": (1, _BIG),
    "keep_every": (0, _BIG),
    "gan_start_step": (0, _BIG),
    "scene_batch": (0, 4096),
    "scene_size": (8, 2048),
}
