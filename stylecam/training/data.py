"""Training photos: a recursive folder walk, deterministic random resized crops and flips, unreadable files skipped.

Every sample's augmentation is seeded from (seed, epoch, index), and every batch's indices from (seed, step), so a
resumed run sees exactly the batches the uninterrupted run would have seen, with or without loader workers.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from stylecam.errors import InputError
from stylecam.imaging.io import IMAGE_EXTENSIONS


def find_images(root: str | os.PathLike[str]) -> list[Path]:
    """All image files below ``root``, recursively, sorted; an empty or missing folder is an InputError."""
    folder = Path(root)
    if not folder.is_dir():
        raise InputError(f"training data folder not found: {folder}")
    files = sorted(
        p for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not p.name.startswith(".")
    )
    if not files:
        raise InputError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found below {folder}")
    return files


CROP_SCALE = (0.35, 1.0)  # the share of a photo's area a training crop covers, at least and at most


def random_resized_crop(
    image: Image.Image, size: int, rng: random.Random, scale: tuple[float, float] = CROP_SCALE
) -> Image.Image:
    """A square crop covering ``scale`` of the image's area (aspect 3/4..4/3), resized to ``size``×``size``."""
    width, height = image.size
    area = width * height
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            left, top = rng.randint(0, width - w), rng.randint(0, height - h)
            return image.resize((size, size), Image.BICUBIC, box=(left, top, left + w, top + h))
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.resize((size, size), Image.BICUBIC, box=(left, top, left + side, top + side))


class PhotoDataset(Dataset[torch.Tensor]):
    """Photos as 3×S×S float tensors in 0..1, randomly cropped and flipped; unreadable files count as skipped.

    A skipped file is replaced by the next readable one so batches keep their size; ``skipped`` lists them.
    """

    def __init__(self, root: str | os.PathLike[str], size: int, seed: int = 0,
                 crop_scale: tuple[float, float] = CROP_SCALE) -> None:
        self.files = find_images(root)
        self.size = size
        self.crop_scale = crop_scale
        self.seed = seed
        self.epoch = 0
        self.skipped: set[Path] = set()

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> Image.Image | None:
        """The photo at ``index`` as RGB, or None (and recorded as skipped) when it cannot be decoded."""
        path = self.files[index]
        try:
            with Image.open(path) as img:
                return img.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
            self.skipped.add(path)
            return None

    def __getitem__(self, index: int) -> torch.Tensor:
        for offset in range(len(self.files)):
            image = self.load((index + offset) % len(self.files))
            if image is not None:
                break
        else:
            raise InputError("none of the training images could be read")
        rng = random.Random(hash((self.seed, self.epoch, index)))
        crop = random_resized_crop(image, self.size, rng, self.crop_scale)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        array = np.asarray(crop, dtype=np.float32) / 255.0
        return torch.from_numpy(array.copy()).permute(2, 0, 1)


def batch_indices(n_items: int, batch_size: int, step: int, seed: int, rank: int = 0, world: int = 1) -> tuple[int, list[int]]:
    """(epoch, indices) of this process's share of global batch ``step``: a seeded permutation per epoch.

    The global batch is ``batch_size × world`` items; rank r takes every world-th of them.
    """
    global_batch = batch_size * world
    per_epoch = max(1, n_items // global_batch)
    epoch, position = divmod(step, per_epoch)
    order = torch.randperm(n_items, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    chunk = order[position * global_batch:(position + 1) * global_batch].tolist()
    return epoch, chunk[rank::world]


def batches(dataset: PhotoDataset, batch_size: int, start_step: int, seed: int, rank: int = 0,
            world: int = 1) -> Iterator[torch.Tensor]:
    """Endless deterministic batches from ``start_step`` on (the same for a fresh and a resumed run)."""
    step = start_step
    while True:
        epoch, indices = batch_indices(len(dataset), batch_size, step, seed, rank, world)
        dataset.epoch = epoch
        yield torch.stack([dataset[i] for i in indices])
        step += 1
