"""Perceptual losses on VGG activations: content, Gram style, AdaIN mean/std style, and total variation."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from stylecam.imaging.color import luminance


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix of N×C×H×W features, normalised by C·H·W (Johnson et al.), shape N×C×C."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def split_tiles(features: torch.Tensor, tiles: int) -> torch.Tensor:
    """N×C×H×W features cut into a ``tiles``×``tiles`` grid: (N·tiles²)×C×(H//tiles)×(W//tiles); 1 = unchanged."""
    if tiles == 1:
        return features
    n, c, h, w = features.shape
    th, tw = h // tiles, w // tiles
    grid = features[..., : th * tiles, : tw * tiles].reshape(n, c, tiles, th, tiles, tw)
    return grid.permute(0, 2, 4, 1, 3, 5).reshape(n * tiles * tiles, c, th, tw)


def content_loss(features: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean squared feature difference, summed over the target layers."""
    return sum((F.mse_loss(features[name], target) for name, target in targets.items()), torch.tensor(0.0))


def gram_distance(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared difference between the Gram matrix of N×C×H×W ``features`` and ``target``
    (N×C×C, or 1×C×C broadcast over the batch): shape N."""
    gram = gram_matrix(features)
    return (gram - target.expand_as(gram)).pow(2).mean(dim=(1, 2))


def moment_distance(features: torch.Tensor, target_mean: torch.Tensor, target_std: torch.Tensor) -> torch.Tensor:
    """Per-image squared difference of channel means plus that of channel stds (each N×C×1×1 or 1×C×1×1), mean
    over channels: shape N. Gram matrices alone can be matched by a few saturated blobs (right second moment,
    wrong mean); matching the means too rules that out."""
    mean, std = mean_std(features)
    return ((mean - target_mean).pow(2) + (std - target_std).pow(2)).mean(dim=(1, 2, 3))


def style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    layer_weights: Mapping[str, float] | None = None,
    tiles: int = 1,
) -> torch.Tensor:
    """Squared Frobenius distance between Gram matrices (mean over entries), weighted and summed over layers.

    ``target_grams`` may have batch size 1 and broadcast over the batch of ``features``. With ``tiles`` > 1
    every tile of a tiles×tiles grid must match the target on its own, so the style cannot be paid for by a
    few saturated blobs while the rest of the image stays untouched (the Gram matrix is quadratic in the
    activations, so concentrating them is otherwise the cheapest way to match it).
    """
    total = torch.tensor(0.0)
    for name, target in target_grams.items():
        weight = 1.0 if layer_weights is None else layer_weights[name]
        total = total + weight * gram_distance(split_tiles(features[name], tiles), target).mean()
    return total


def mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel spatial mean and standard deviation of N×C×H×W features, each N×C×1×1."""
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    mean = flat.mean(dim=2).view(n, c, 1, 1)
    std = (flat.var(dim=2, unbiased=False) + eps).sqrt().view(n, c, 1, 1)
    return mean, std


def adain_style_loss(features: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Huang & Belongie's style loss: MSE between channel means plus MSE between channel stds, over layers."""
    total = torch.tensor(0.0)
    for name, target in targets.items():
        total = total + moment_distance(features[name], *mean_std(target)).mean()
    return total


def random_directions(channels: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` random unit vectors in feature space, as a channels×count matrix."""
    directions = torch.randn(channels, count, generator=generator)
    return directions / directions.norm(dim=0, keepdim=True)


def sorted_projections(features: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """C×P (or N×C×P) feature vectors projected on each of the C×K ``directions`` and sorted: K×P (or N×K×P)."""
    return (directions.T @ features).sort(dim=-1).values


def sliced_distance(features: torch.Tensor, target_projections: torch.Tensor,
                    directions: torch.Tensor) -> torch.Tensor:
    """Sliced Wasserstein distance (Heitz et al. 2021) between the feature distribution of each image of N×C×H×W
    (or N×C×P) ``features`` and a target's, given as its sorted projections on the C×K ``directions`` (N×K×M, see
    :func:`sorted_projections`; M may differ from H·W): shape N.

    Unlike a Gram matrix, which a few strong features anywhere can satisfy, matching every projection's whole
    distribution (its quantiles) fixes how much of the image each kind of feature must cover.
    """
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    count, target_count = flat.shape[2], target_projections.shape[2]
    quantiles = ((torch.arange(count, device=flat.device) + 0.5) * target_count / count).long()
    return (sorted_projections(flat, directions) - target_projections[:, :, quantiles]).pow(2).mean(dim=(1, 2))


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean absolute difference between horizontally and vertically adjacent pixels."""
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean()
    return dx + dy


def luminance_layout(image: torch.Tensor, cell: int = 8) -> torch.Tensor:
    """An RGB image's luminance averaged over ``cell``×``cell`` blocks and normalised to zero mean and unit
    standard deviation per image: where it is light and dark, whatever its palette and contrast."""
    coarse = F.avg_pool2d(luminance(image), cell, ceil_mode=True)
    mean = coarse.mean(dim=(2, 3), keepdim=True)
    std = coarse.std(dim=(2, 3), keepdim=True)
    return (coarse - mean) / (std + 1e-3)
