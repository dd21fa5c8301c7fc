"""Gatys et al.'s optimisation-based style transfer: the image itself is optimised against VGG losses.

Options follow the paper and its common extensions: L-BFGS (default) or Adam, initialisation from the content,
noise or a given image, several style images blended by weight, a style scale, coarse-to-fine multi-scale
optimisation, and an optional extra loss term (the video code adds Ruder et al.'s temporal loss through it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm import tqdm

from stylecam.log import is_quiet
from stylecam.losses.perceptual import content_loss, gram_matrix, style_loss, tv_loss
from stylecam.nets.vgg import VGGFeatures

GATYS_CONTENT_LAYERS = ("relu4_2", "relu3_2")
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
INIT_CHOICES = ("content", "noise")


@dataclass
class GatysSettings:
    """Everything that steers one optimisation; ``None`` layers adapt to the loaded VGG weights."""

    iters: int = 300
    optimizer: str = "lbfgs"
    lr: float | None = None
    content_weight: float = 1.0
    style_weight: float = 500.0
    tv_weight: float = 100.0
    content_layers: Sequence[str] | None = None
    style_layers: Sequence[str] | None = None
    style_scale: float = 1.0
    scales: int = 1
    seed: int = 0
    losses: dict[str, float] = field(default_factory=dict)

    def layers_for(self, vgg: VGGFeatures) -> tuple[list[str], list[str]]:
        """Content and style layers: as given (checked against the weights) or the defaults the weights reach."""
        content = list(self.content_layers or vgg.preferred(GATYS_CONTENT_LAYERS)[:1])
        style = list(self.style_layers or vgg.preferred(GATYS_STYLE_LAYERS))
        vgg.check_layers(content + style)
        return content, style


def resize_to(image: torch.Tensor, long_side: int) -> torch.Tensor:
    """Resize N×3×H×W so its long side is ``long_side`` (antialiased when shrinking)."""
    h, w = image.shape[-2:]
    scale = long_side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size == (h, w):
        return image
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)


def blended_grams(
    vgg: VGGFeatures, styles: Sequence[torch.Tensor], weights: Sequence[float], layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Gram targets of several style images, averaged with normalised weights (Gatys et al.'s style mixing)."""
    total = float(sum(weights))
    grams: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for style, weight in zip(styles, weights):
            for name, features in vgg(style, layers).items():
                grams[name] = grams.get(name, 0) + gram_matrix(features) * (weight / total)
    return grams


def _initial_image(init: str | torch.Tensor, content: torch.Tensor, seed: int) -> torch.Tensor:
    if isinstance(init, torch.Tensor):
        return F.interpolate(init, size=content.shape[-2:], mode="bilinear", align_corners=False)
    if init == "content":
        return content.clone()
    if init == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(content.shape, generator=generator).to(content.device)
    raise ValueError(f"init must be one of {INIT_CHOICES} or an image tensor, not {init!r}")


def _optimise_level(
    vgg: VGGFeatures,
    image: torch.Tensor,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    style_weights: Sequence[float],
    settings: GatysSettings,
    extra_loss: Callable[[torch.Tensor], torch.Tensor] | None,
    progress: tqdm,
) -> torch.Tensor:
    content_layers, style_layers = settings.layers_for(vgg)
    with torch.no_grad():
        content_targets = vgg(content, content_layers)
    gram_targets = blended_grams(vgg, styles, style_weights, style_layers)
    layer_weights = {name: 1.0 / len(style_layers) for name in style_layers}
    image = image.detach().clone().requires_grad_(True)

    def objective() -> torch.Tensor:
        features = vgg(image, content_layers + style_layers)
        terms = {
            "content": settings.content_weight * content_loss(features, content_targets),
            "style": settings.style_weight * style_loss(features, gram_targets, layer_weights),
            "tv": settings.tv_weight * tv_loss(image),
        }
        if extra_loss is not None:
            terms["extra"] = extra_loss(image)
        settings.losses = {name: value.item() for name, value in terms.items()}
        return sum(terms.values(), torch.tensor(0.0, device=image.device))

    if settings.optimizer == "lbfgs":
        optimizer: torch.optim.Optimizer = torch.optim.LBFGS(
            [image], lr=settings.lr or 1.0, max_iter=settings.iters, max_eval=settings.iters, tolerance_grad=0.0,
            tolerance_change=0.0, history_size=50, line_search_fn="strong_wolfe",
        )
        steps = 1
    elif settings.optimizer == "adam":
        optimizer = torch.optim.Adam([image], lr=settings.lr or 0.02)
        steps = settings.iters
    else:
        raise ValueError(f"optimizer must be lbfgs or adam, not {settings.optimizer!r}")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = objective()
        loss.backward()
        progress.update(1)
        progress.set_postfix({k: f"{v:.3g}" for k, v in settings.losses.items()}, refresh=False)
        return loss

    for _ in range(steps):
        optimizer.step(closure)
        with torch.no_grad():
            image.clamp_(0.0, 1.0)
    return image.detach()


def gatys(
    vgg: VGGFeatures,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    style_weights: Sequence[float] | None = None,
    init: str | torch.Tensor = "content",
    settings: GatysSettings | None = None,
    extra_loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Optimise an image with ``content``'s structure and the styles' textures (all RGB 0..1, N=1).

    Style images are resized to ``style_scale`` times the content's long side. With ``scales`` > 1 the
    optimisation runs coarse to fine (each level half the size of the next), each level starting from the
    upsampled result of the previous one. L-BFGS counts function evaluations as iterations.
    """
    settings = settings or GatysSettings()
    style_weights = list(style_weights) if style_weights is not None else [1.0] * len(styles)
    if len(style_weights) != len(styles) or not styles:
        raise ValueError("need at least one style image and one weight per style image")
    full_side = max(content.shape[-2:])
    sides = [max(32, full_side >> level) for level in reversed(range(settings.scales))]
    image = _initial_image(init, content, settings.seed)
    total = settings.iters * len(sides)
    with tqdm(total=total, desc="gatys", unit="it", disable=is_quiet(), leave=False) as progress:
        for side in sides:
            level_content = resize_to(content, side)
            level_styles = [resize_to(s, max(16, round(side * settings.style_scale))) for s in styles]
            image = F.interpolate(image, size=level_content.shape[-2:], mode="bilinear", align_corners=False)
            image = _optimise_level(
                vgg, image, level_content, level_styles, style_weights, settings, extra_loss, progress
            )
    return image.clamp(0.0, 1.0)
