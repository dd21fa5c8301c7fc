"""What one training step computes for each network type: Johnson (one style) and AdaIN (any style)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from stylecam.imaging.io import write_image
from stylecam.imaging.sheet import contact_sheet
from stylecam.imaging.tensors import to_image
from stylecam.losses.perceptual import adain_style_loss, content_loss, gram_matrix, style_loss, tv_loss
from stylecam.losses.temporal import warp
from stylecam.nets.adain import AdaINDecoder, adain
from stylecam.nets.transformer import TransformerNet
from stylecam.nets.vgg import VGGFeatures
from stylecam.training.data import PhotoDataset, batch_indices
from stylecam.training.warps import border_mask, random_flow

JOHNSON_CONTENT_LAYERS = ("relu2_2",)
JOHNSON_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
ADAIN_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


@dataclass
class JohnsonWeights:
    """Loss weights of Johnson training (in stylecam's loss units; see README)."""

    content: float = 1.0
    style: float = 2.0  # for the 4×4 tiled Gram loss; 10 suited the untiled one
    tv: float = 1e4
    temporal: float = 0.0
    style_tiles: int = 4  # match the style Gram in each cell of a 4×4 grid (see perceptual.style_loss)


def _write_samples(run_dir: Path, step: int, rows: list[tuple[str, torch.Tensor]]) -> None:
    folder = run_dir / "samples"
    folder.mkdir(exist_ok=True)
    sheet = contact_sheet([[(name, to_image(t)) for name, t in rows]], height=192)
    write_image(folder / f"step_{step:07d}.jpg", sheet)


class JohnsonTask:
    """Perceptual-loss training of a :class:`TransformerNet` for one style image (Johnson et al. 2016)."""

    def __init__(self, net: TransformerNet, vgg: VGGFeatures, style: torch.Tensor, weights: JohnsonWeights,
                 content_layers: Sequence[str] | None, style_layers: Sequence[str] | None,
                 val_images: Sequence[torch.Tensor], run_dir: Path, seed: int) -> None:
        self.model = net
        self.vgg = vgg
        self.weights = weights
        self.content_layers = list(content_layers or vgg.preferred(JOHNSON_CONTENT_LAYERS))
        self.style_layers = list(style_layers or vgg.preferred(JOHNSON_STYLE_LAYERS))
        vgg.check_layers(self.content_layers + self.style_layers)
        with torch.no_grad():
            self.grams = {k: gram_matrix(v) for k, v in vgg(style, self.style_layers).items()}
        self.val_images = list(val_images)
        self.run_dir = run_dir
        self.seed = seed

    def losses(self, model: nn.Module, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Content, Gram style, TV and (optionally) temporal-stability terms, weighted."""
        self.vgg.to(batch.device)
        grams = {k: v.to(batch.device) for k, v in self.grams.items()}
        output = model(batch * 255.0) / 255.0
        features = self.vgg(output, self.content_layers + self.style_layers)
        with torch.no_grad():
            targets = self.vgg(batch, self.content_layers)
        terms = {
            "content": self.weights.content * content_loss(features, targets),
            "style": self.weights.style * style_loss(features, grams, tiles=self.weights.style_tiles),
            "tv": self.weights.tv * tv_loss(output),
        }
        if self.weights.temporal > 0:
            terms["temporal"] = self.weights.temporal * self._temporal(model, batch, output, step)
        return terms

    def _temporal(self, model: nn.Module, batch: torch.Tensor, output: torch.Tensor, step: int) -> torch.Tensor:
        """The output for a warped input should equal the warped output (masked away from the borders)."""
        n, _, h, w = batch.shape
        generator = torch.Generator().manual_seed(self.seed * 7919 + step)
        flow = random_flow(n, h, w, generator).to(batch.device)
        warped_output = model(warp(batch, flow) * 255.0) / 255.0
        mask = border_mask(h, w, margin=8, device=batch.device)
        return (mask * (warped_output - warp(output, flow)).pow(2)).mean()

    @torch.no_grad()
    def samples(self, step: int) -> None:
        """Stylize the fixed validation photos with the current network."""
        self.model.eval()
        rows = [(f"step {step}", (self.model(img.to(next(self.model.parameters()).device) * 255.0) / 255.0)
                 .clamp(0, 1).cpu()) for img in self.val_images]
        self.model.train()
        _write_samples(self.run_dir, step, rows)


class AdaINTask:
    """Decoder training for AdaIN (Huang & Belongie 2017): content loss at the encoder layer, mean/std style loss."""

    def __init__(self, decoder: AdaINDecoder, vgg: VGGFeatures, styles: PhotoDataset, style_weight: float,
                 style_layers: Sequence[str] | None, val_pairs: Sequence[tuple[torch.Tensor, torch.Tensor]],
                 run_dir: Path, seed: int, batch_size: int) -> None:
        self.model = decoder
        self.vgg = vgg
        self.encoder_layer = decoder.encoder_layer
        self.style_layers = list(style_layers or vgg.preferred(ADAIN_STYLE_LAYERS))
        vgg.check_layers(self.style_layers + [self.encoder_layer])
        self.styles = styles
        self.style_weight = style_weight
        self.val_pairs = list(val_pairs)
        self.run_dir = run_dir
        self.seed = seed
        self.batch_size = batch_size

    def style_batch(self, step: int, device: torch.device) -> torch.Tensor:
        """The style crops paired with content batch ``step`` (deterministic, like the content batches)."""
        epoch, indices = batch_indices(len(self.styles), self.batch_size, step, self.seed + 1)
        self.styles.epoch = epoch
        return torch.stack([self.styles[i] for i in indices]).to(device)

    def losses(self, model: nn.Module, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Content loss against the AdaIN target and style loss on channel statistics, weighted."""
        self.vgg.to(batch.device)
        style = self.style_batch(step, batch.device)[: batch.shape[0]]
        layers = list(dict.fromkeys(self.style_layers + [self.encoder_layer]))
        with torch.no_grad():
            content_features = self.vgg(batch, [self.encoder_layer])[self.encoder_layer]
            style_features = self.vgg(style, layers)
            target = adain(content_features, style_features[self.encoder_layer])
        output = model(target)
        output_features = self.vgg(output, layers)
        return {
            "content": F.mse_loss(output_features[self.encoder_layer], target),
            "style": self.style_weight * adain_style_loss(
                {k: output_features[k] for k in self.style_layers}, {k: style_features[k] for k in self.style_layers}
            ),
        }

    @torch.no_grad()
    def samples(self, step: int) -> None:
        """Stylize fixed content/style pairs with the current decoder."""
        self.model.eval()
        device = next(self.model.parameters()).device
        rows = []
        for content, style in self.val_pairs:
            c = self.vgg(content.to(device), [self.encoder_layer])[self.encoder_layer]
            s = self.vgg(style.to(device), [self.encoder_layer])[self.encoder_layer]
            rows.append((f"step {step}", self.model(adain(c, s)).clamp(0, 1).cpu()))
        self.model.train()
        _write_samples(self.run_dir, step, rows)
