"""Paired hazy/clean dataset with augmentation applied identically to both images of a pair.

Training transform (albumentations, one call with ``additional_targets`` so the pair shares every random
parameter): pad to the patch size if needed, random crop to the patch size, horizontal flip, vertical flip,
random 90° rotation. Evaluation transform (``train=False``): deterministic centre crop to the patch size, or the
whole image when ``patch_size`` is None. Images smaller than the patch are padded by reflection
(``cv2.BORDER_REFLECT_101``, i.e. mirrored without repeating the edge pixel), centred.

Randomness: each process (main or DataLoader worker) seeds the augmentation on first use from torch
(``worker_info.seed`` in workers, ``torch.initial_seed()`` otherwise), so ``torch.manual_seed`` makes the
augmentation reproducible and workers never repeat each other's crops.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from dehaze.errors import DehazeError, ImageReadError
from dehaze.imageio import read_image, read_image_size, to_tensor

Pair = tuple[Path, Path]


def build_transform(patch_size: int | None, train: bool) -> A.Compose:
    """The albumentations pipeline for one pair; the clean image is the additional target ``clean``."""
    steps: list[A.BasicTransform] = []
    if patch_size is not None:
        steps.append(A.PadIfNeeded(min_height=patch_size, min_width=patch_size, border_mode=cv2.BORDER_REFLECT_101))
        crop = A.RandomCrop if train else A.CenterCrop
        steps.append(crop(height=patch_size, width=patch_size))
    if train:
        steps += [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), A.RandomRotate90(p=1.0)]
    return A.Compose(steps, additional_targets={"clean": "image"})


class PairedDataset(Dataset):
    """Hazy/clean pairs → ``dict(hazy=C×P×P tensor, clean=C×P×P tensor, name=hazy stem)``.

    At construction every pair's image headers are read (cheap) so that unreadable files and pairs whose two
    images differ in size are found before training: they raise :class:`DehazeError` naming the file(s), or
    with ``skip_bad=True`` are dropped and listed in ``skipped`` as ``(path, reason)``. Pixel data that turn out
    to be corrupt only when decoded in ``__getitem__`` raise :class:`ImageReadError`, or with ``skip_bad=True``
    are replaced by the next good pair with a warning.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        channels: int = 1,
        patch_size: int | None = 64,
        train: bool = True,
        skip_bad: bool = False,
    ) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if patch_size is not None and patch_size < 1:
            raise ValueError(f"patch_size must be positive, got {patch_size}")
        self.channels = channels
        self.patch_size = patch_size
        self.train = train
        self.skip_bad = skip_bad
        self.skipped: list[tuple[Path, str]] = []
        self.pairs: list[Pair] = self._check_pairs([(Path(h), Path(c)) for h, c in pairs])
        if not self.pairs:
            raise DehazeError("no usable hazy/clean pairs" + (" (all were skipped as bad)" if self.skipped else ""))
        self._transform = build_transform(patch_size, train)
        self._seeded_pid: int | None = None

    def _check_pairs(self, pairs: list[Pair]) -> list[Pair]:
        sizes: dict[Path, tuple[int, int] | ImageReadError] = {}

        def size_of(path: Path) -> tuple[int, int]:
            if path not in sizes:
                try:
                    sizes[path] = read_image_size(path)
                except ImageReadError as exc:
                    sizes[path] = exc
            result = sizes[path]
            if isinstance(result, ImageReadError):
                raise result
            return result

        good: list[Pair] = []
        for hazy, clean in pairs:
            try:
                hazy_size, clean_size = size_of(hazy), size_of(clean)
                if hazy_size != clean_size:
                    raise DehazeError(
                        f"size mismatch: hazy {hazy} is {hazy_size[0]}×{hazy_size[1]} but clean {clean} is "
                        f"{clean_size[0]}×{clean_size[1]}"
                    )
            except ImageReadError as exc:
                if not self.skip_bad:
                    raise
                self.skipped.append((exc.path, exc.reason))
                continue
            except DehazeError as exc:
                if not self.skip_bad:
                    raise
                self.skipped.append((hazy, str(exc)))
                continue
            good.append((hazy, clean))
        return good

    def __len__(self) -> int:
        return len(self.pairs)

    def _seed_once(self) -> None:
        pid = os.getpid()
        if self._seeded_pid != pid:  # first use in this process (DataLoader workers are forked copies)
            info = get_worker_info()
            seed = info.seed if info is not None else torch.initial_seed()
            self._transform.set_random_seed(int(seed % 2**32))
            self._seeded_pid = pid

    def _load(self, index: int) -> dict[str, torch.Tensor | str]:
        hazy_path, clean_path = self.pairs[index]
        hazy = read_image(hazy_path, self.channels)
        clean = read_image(clean_path, self.channels)
        if hazy.shape != clean.shape:
            raise DehazeError(
                f"size mismatch: hazy {hazy_path} is {hazy.shape[1]}×{hazy.shape[0]} but clean {clean_path} is "
                f"{clean.shape[1]}×{clean.shape[0]}"
            )
        out = self._transform(image=hazy, clean=clean)
        return {"hazy": to_tensor(out["image"]), "clean": to_tensor(out["clean"]), "name": hazy_path.stem}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        return self.get(index)

    def get(self, index: int, seed: int | None = None) -> dict[str, torch.Tensor | str]:
        """Item ``index``; with ``seed`` its augmentation is a pure function of the seed (exact resume)."""
        if seed is None:
            self._seed_once()
        else:
            self._transform.set_random_seed(seed)
            self._seeded_pid = os.getpid()
        if not self.skip_bad:
            return self._load(index)
        for offset in range(len(self.pairs)):
            candidate = (index + offset) % len(self.pairs)
            try:
                return self._load(candidate)
            except DehazeError as exc:
                warnings.warn(f"skipping bad pair: {exc}", stacklevel=2)
        raise DehazeError("no readable hazy/clean pair left")


def split_pairs(
    pairs: Sequence[Pair], val_fraction: float, test_fraction: float, seed: int
) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """Split pairs into train/val/test, grouped by clean image so no clean image is in two splits.

    Fractions count clean images (groups); a non-zero fraction gets at least one group when there are at
    least three groups. The split depends only on the set of pairs and ``seed``, not on their order.
    """
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise DehazeError(f"invalid split fractions val={val_fraction} test={test_fraction} (need >= 0, sum < 1)")
    groups: dict[Path, list[Pair]] = {}
    for hazy, clean in sorted((Path(h), Path(c)) for h, c in pairs):
        groups.setdefault(clean, []).append((hazy, clean))
    order = sorted(groups)
    np.random.default_rng(seed).shuffle(order)  # type: ignore[arg-type]
    n_groups = len(order)

    def count(fraction: float) -> int:
        n = round(fraction * n_groups)
        return max(n, 1) if fraction > 0 and n_groups >= 3 else n

    n_val, n_test = count(val_fraction), count(test_fraction)
    if n_val + n_test >= n_groups and n_groups > 0:
        raise DehazeError(f"too few clean images ({n_groups}) for val={val_fraction} test={test_fraction}")
    val_keys, test_keys = order[:n_val], order[n_val : n_val + n_test]
    train_keys = order[n_val + n_test :]

    def gather(keys: list[Path]) -> list[Pair]:
        return sorted(pair for key in keys for pair in groups[key])

    return gather(train_keys), gather(val_keys), gather(test_keys)
