"""What one training step computes for each network type: Johnson (one style) and AdaIN (any style)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stylecam.imaging.io import write_image
from stylecam.imaging.sheet import contact_sheet
from stylecam.imaging.tensors import to_image
from stylecam.losses.perceptual import (adain_style_loss, content_loss, gram_distance, gram_matrix,
                                        luminance_layout, mean_std, moment_distance, random_directions,
                                        sliced_distance, sorted_projections, split_tiles, tv_loss)
from stylecam.losses.temporal import warp
from stylecam.nets.adain import BORDER_PAD, AdaINDecoder, adain
from stylecam.nets.transformer import InstanceNorm, StyleNorm, TransformerNet
from stylecam.nets.vgg import VGGFeatures
from stylecam.training.data import PhotoDataset, batch_indices
from stylecam.training.warps import border_mask, dihedral, random_flow, turn_error

JOHNSON_CONTENT_LAYERS = ("relu2_2",)
JOHNSON_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1")
ADAIN_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
REFERENCE_PHOTOS = 16  # training photos whose own style distance sets each style's loss unit
STYLE_SAMPLES = 4096  # feature vectors kept per style and layer for the sliced Wasserstein term
IDENTITY_SHARE = 0.25  # of each AdaIN batch that is its own style under the identity term
ROTATION_DEGREES = (15.0, 75.0)  # the rotation term's turns, either way: never near a quarter turn
ROTATION_MARGIN = 4  # pixels along the turned crop's borders left out, where padding may differ
SHIFT_CUT, SHIFT_MARGIN = 4, 2  # strides the shift term's crop is smaller by, and ignores inside each of its borders


@dataclass
class JohnsonWeights:
    """Loss weights of Johnson training, on scale-free terms (see :class:`JohnsonTask`)."""

    content: float = 1.0
    style: float = 10.0
    moments: float = 10.0
    tv: float = 10.0
    temporal: float = 0.0
    style_tiles: int = 1  # >1: match the style Gram in each cell of an N×N grid (see perceptual.style_loss)
    warmup: int = 0  # first steps learn to reconstruct the photos (pixel L1), without VGG
    norm_lr_scale: float = 5.0  # the normalisation layers (where the styles live) learn this much faster
    style_scale: tuple[float, ...] = ()  # per trained style, multiplies its style and moment terms (empty: all 1)
    equivariance: float = 0.0  # the output of a flipped or turned photo should be the output flipped or turned
    style_octaves: int = 1  # >1: the style terms also at 1/2, 1/4… of the crop and the style image (a pyramid)
    sliced: float = 0.0  # sliced Wasserstein distance of the feature distributions to the style's (0 = off)
    shift: float = 0.0  # the output of a crop of the photo should be that crop of the output (nothing frame-bound)
    rotation: float = 0.0  # the output of an obliquely turned photo should be the output turned the same way
    style_share: tuple[int, ...] = ()  # per trained style, its images in each round of batches (empty: 1 each)


def _write_samples(run_dir: Path, step: int, rows: list[tuple[str, torch.Tensor]], suffix: str = "") -> None:
    folder = run_dir / "samples"
    folder.mkdir(exist_ok=True)
    sheet = contact_sheet([[(name, to_image(t)) for name, t in rows]], height=192)
    write_image(folder / f"step_{step:07d}{suffix}.jpg", sheet)


@dataclass
class StyleTargets:
    """What the losses compare against, per style: Gram matrices and channel moments by layer (S×… stacks), and
    each style's distances from natural photos, which make every style's loss a ratio near 1 for a photo."""

    grams: dict[str, torch.Tensor]
    means: dict[str, torch.Tensor]
    stds: dict[str, torch.Tensor]
    samples: dict[str, torch.Tensor]  # S×C×M feature vectors of each style (the sliced term's target)
    gram_unit: torch.Tensor  # S
    moment_unit: torch.Tensor  # S
    sliced_unit: torch.Tensor  # S

    def to(self, device: torch.device) -> StyleTargets:
        """The same targets on ``device``."""
        move = lambda d: {k: v.to(device) for k, v in d.items()}  # noqa: E731
        return StyleTargets(move(self.grams), move(self.means), move(self.stds), move(self.samples),
                            self.gram_unit.to(device), self.moment_unit.to(device), self.sliced_unit.to(device))


def octave(images: torch.Tensor, level: int) -> torch.Tensor:
    """``images`` (N×3×H×W) reduced 2^``level`` times by area averaging: a level of a Gaussian-like pyramid."""
    return images if level == 0 else F.avg_pool2d(images, 2 ** level, ceil_mode=True)


def style_distances(features: dict[str, torch.Tensor], targets: StyleTargets,
                    index: torch.Tensor, tiles: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (Gram, moment) distances of ``features`` from style ``index[i]``, averaged over the layers, in
    raw units: shapes N and N."""
    grams = moments = torch.zeros((), device=index.device)
    for name, gram in targets.grams.items():
        target = gram[index].repeat_interleave(tiles * tiles, 0)
        per_tile = gram_distance(split_tiles(features[name], tiles), target)
        grams = grams + per_tile.view(index.shape[0], -1).mean(1) / len(targets.grams)
        moments = moments + moment_distance(features[name], targets.means[name][index],
                                            targets.stds[name][index]) / len(targets.grams)
    return grams, moments


def sliced_distances(features: dict[str, torch.Tensor], targets: StyleTargets, index: torch.Tensor,
                     generator: torch.Generator) -> torch.Tensor:
    """Per-image sliced Wasserstein distance of ``features`` from style ``index[i]``, averaged over the layers,
    along as many random directions as each layer has channels and at most :data:`STYLE_SAMPLES` random positions
    (drawn from ``generator``): shape N."""
    total = torch.zeros((), device=index.device)
    for name, samples in targets.samples.items():
        channels = samples.shape[1]
        directions = random_directions(channels, channels, generator).to(index.device)
        styles, position = index.unique(return_inverse=True)
        projections = torch.stack([sorted_projections(samples[s], directions) for s in styles])[position]
        flat = features[name].flatten(2)
        if flat.shape[2] > STYLE_SAMPLES:  # a random subset of the positions has the same distribution
            flat = flat[:, :, torch.randperm(flat.shape[2], generator=generator)[:STYLE_SAMPLES].to(flat.device)]
        total = total + sliced_distance(flat, projections, directions) / len(targets.samples)
    return total


def _feature_samples(features: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """At most :data:`STYLE_SAMPLES` of the 1×C×H×W ``features``' vectors, chosen at random: C×M."""
    flat = features[0].reshape(features.shape[1], -1)
    if flat.shape[1] <= STYLE_SAMPLES:
        return flat
    return flat[:, torch.randperm(flat.shape[1], generator=generator)[:STYLE_SAMPLES]]


@torch.no_grad()
def style_targets(vgg: VGGFeatures, styles: Sequence[torch.Tensor], layers: Sequence[str],
                  photos: torch.Tensor, sliced: bool = False) -> StyleTargets:
    """Targets of each style image (1×3×H×W, 0..1) at ``layers``, with units from ``photos`` (N×3×S×S); the
    sliced term's samples and unit only if ``sliced`` (they take about as long as the rest)."""
    grams: dict[str, list[torch.Tensor]] = {k: [] for k in layers}
    means: dict[str, list[torch.Tensor]] = {k: [] for k in layers}
    stds: dict[str, list[torch.Tensor]] = {k: [] for k in layers}
    samples: dict[str, list[torch.Tensor]] = {k: [] for k in layers} if sliced else {}
    generator = torch.Generator().manual_seed(0)
    for style in styles:
        for name, f in vgg(style, layers).items():
            mean, std = mean_std(f)
            grams[name].append(gram_matrix(f)[0])
            means[name].append(mean[0])
            stds[name].append(std[0])
            if sliced:
                samples[name].append(_feature_samples(f, generator))
    smallest = {k: min(x.shape[1] for x in v) for k, v in samples.items()}  # style images may differ in size
    samples = {k: [x[:, :smallest[k]] for x in v] for k, v in samples.items()}
    stack = lambda d: {k: torch.stack(v) for k, v in d.items()}  # noqa: E731
    ones = torch.ones(len(styles))
    raw = StyleTargets(stack(grams), stack(means), stack(stds), stack(samples), ones, ones, ones)
    features = vgg(photos, layers)
    gram_unit, moment_unit, sliced_unit = [], [], []
    for s in range(len(styles)):
        index = torch.full((photos.shape[0],), s, dtype=torch.long)
        g, m = style_distances(features, raw, index)
        gram_unit.append(g.mean())
        moment_unit.append(m.mean())
        if sliced:
            sliced_unit.append(sliced_distances(features, raw, index, torch.Generator().manual_seed(0)).mean())
    raw.gram_unit, raw.moment_unit = torch.stack(gram_unit), torch.stack(moment_unit)
    if sliced:
        raw.sliced_unit = torch.stack(sliced_unit)
    return raw


class JohnsonTask:
    """Perceptual-loss training of a :class:`TransformerNet` for one or several styles (Johnson et al. 2016;
    several: Dumoulin et al. 2017's conditional instance norm, each image of a batch with its own style).

    Every term is scale-free, so one set of weights serves every style: the Gram and the channel-moment
    distances to the style (Gatys' layers) are divided by those of natural photos to the same style (a photo
    scores 1), the content distance by the photos' own feature energy. ``trained_styles`` limits which styles
    the batches cycle through (adding a style to a trained network trains only the new one).
    """

    def __init__(self, net: TransformerNet, vgg: VGGFeatures, styles: Sequence[torch.Tensor], weights: JohnsonWeights,
                 content_layers: Sequence[str] | None, style_layers: Sequence[str] | None,
                 val_images: Sequence[torch.Tensor], run_dir: Path, seed: int, unit_photos: torch.Tensor,
                 trained_styles: Sequence[int] | None = None) -> None:
        self.model = net
        self.vgg = vgg
        self.weights = weights
        self.content_layers = list(content_layers or vgg.preferred(JOHNSON_CONTENT_LAYERS))
        self.style_layers = list(style_layers or vgg.preferred(JOHNSON_STYLE_LAYERS))
        vgg.check_layers(self.content_layers + self.style_layers)
        self.trained_styles = list(trained_styles if trained_styles is not None else range(len(styles)))
        if len(styles) != len(self.trained_styles) or max(self.trained_styles) >= max(1, len(net.config.styles)):
            raise ValueError(f"{len(styles)} style images for styles {self.trained_styles} of a network of "
                             f"{max(1, len(net.config.styles))} style(s)")
        if weights.style_scale and len(weights.style_scale) != len(styles):
            raise ValueError(f"{len(weights.style_scale)} style scales for {len(styles)} style images")
        self.style_scale = torch.tensor(weights.style_scale or [1.0] * len(styles))
        if weights.style_share and (len(weights.style_share) != len(styles) or min(weights.style_share) < 1):
            raise ValueError(f"style shares {weights.style_share} for {len(styles)} style images: need one >= 1 each")
        self.style_order = [i for i, n in enumerate(weights.style_share or [1] * len(styles)) for _ in range(n)]
        # One set of targets per pyramid level (Snelgrove 2017): at 1/2 and 1/4 scale the same shallow layers see
        # 2× and 4× larger neighbourhoods, so the style's larger structures count too.
        self.targets = [style_targets(vgg, [octave(s, level) for s in styles], self.style_layers,
                                      octave(unit_photos, level), sliced=weights.sliced > 0)
                        for level in range(weights.style_octaves)]
        with torch.no_grad():
            content = vgg(unit_photos, self.content_layers)
            self.content_unit = sum(f.pow(2).mean().item() for f in content.values())
        self.val_images = list(val_images)
        self.run_dir = run_dir
        self.seed = seed

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """Trainable convolutions at ``lr``, normalisation scales and shifts at ``lr`` × ``norm_lr_scale``."""
        norms = {id(p) for m in self.model.modules() if isinstance(m, (InstanceNorm, StyleNorm))
                 for p in m.parameters(recurse=False)}
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        groups = [{"params": [p for p in trainable if id(p) not in norms], "lr": lr},
                  {"params": [p for p in trainable if id(p) in norms], "lr": lr * self.weights.norm_lr_scale}]
        return [g for g in groups if g["params"]]

    def style_index(self, batch_size: int, step: int) -> torch.Tensor:
        """Which of the trained styles (positions in ``styles``) each image of batch ``step`` learns: the styles in
        turn, each for as many images in a row as its share."""
        order = self.style_order
        return torch.tensor([order[(step * batch_size + i) % len(order)] for i in range(batch_size)])

    def _style_input(self, index: torch.Tensor, device: torch.device) -> torch.Tensor | None:
        """One-hot style weights of the network for trained-style positions ``index`` (None: a one-style net)."""
        if not self.model.config.styles:
            return None
        chosen = torch.tensor(self.trained_styles)[index.cpu()]
        return F.one_hot(chosen, len(self.model.config.styles)).float().to(device)

    def losses(self, model: nn.Module, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Content, style (Gram and moments), TV and optional temporal terms, weighted; pixels during warm-up."""
        index = self.style_index(batch.shape[0], step).to(batch.device)
        style = self._style_input(index, batch.device)
        output = model(batch * 255.0, style) / 255.0
        if step < self.weights.warmup:
            return {"warmup": F.l1_loss(output, batch)}
        self.vgg.to(batch.device)
        if self.targets[0].gram_unit.device != batch.device:
            self.targets = [t.to(batch.device) for t in self.targets]
            self.style_scale = self.style_scale.to(batch.device)
        features = self.vgg(output, self.content_layers + self.style_layers)
        with torch.no_grad():
            content_targets = self.vgg(batch, self.content_layers)
        grams, moments, sliced = self._style_ratios(features, output, index, step)
        scale = self.style_scale[index]
        terms = {
            "content": self.weights.content * content_loss(features, content_targets) / self.content_unit,
            "style": self.weights.style * (scale * grams).mean(),
            "moments": self.weights.moments * (scale * moments).mean(),
        }
        if self.weights.sliced > 0:
            terms["sliced"] = self.weights.sliced * (scale * sliced).mean()
        if self.weights.tv > 0:
            terms["tv"] = self.weights.tv * tv_loss(output)
        if self.weights.temporal > 0:
            terms["temporal"] = self.weights.temporal * self._temporal(model, batch, output, style, step)
        if self.weights.equivariance > 0:
            terms["equivariance"] = self.weights.equivariance * self._equivariance(model, batch, output, style, step)
        if self.weights.shift > 0:
            terms["shift"] = self.weights.shift * self._shift(model, batch, output, style, step)
        if self.weights.rotation > 0:
            terms["rotation"] = self.weights.rotation * self._rotation(model, batch, output, style, step)
        return terms

    def min_image_side(self) -> int:
        """The smallest training crop the terms work on: the shift term's crop must keep one stride inside its
        margins, and the rotation term's turned crop (a stride multiple) must reach past its margins."""
        stride = self.model.config.stride
        sides = [stride]
        if self.weights.shift > 0:
            sides.append((SHIFT_CUT + 2 * SHIFT_MARGIN + 1) * stride)
        if self.weights.rotation > 0:
            turned_crop = math.ceil((2 * ROTATION_MARGIN + 1) / stride) * stride
            sides.append(math.ceil(turned_crop * math.sqrt(2)))
        return max(sides)

    def _shift(self, model: nn.Module, batch: torch.Tensor, output: torch.Tensor, style: torch.Tensor | None,
               step: int) -> torch.Tensor:
        """Stylizing a crop (shifted by a random multiple of the network's stride, so an exact answer exists)
        should give the same crop of the stylized batch, away from the crop's new borders: a pattern anchored to
        the frame (lines grown from the borders into flat regions) moves with the borders and pays."""
        stride = self.model.config.stride
        h, w = batch.shape[-2:]
        margin, cut = SHIFT_MARGIN * stride, SHIFT_CUT * stride  # cut: split between the crop's two sides
        generator = torch.Generator().manual_seed(self.seed * 2750159 + step)
        dy, dx = (int(v) * stride for v in torch.randint(0, cut // stride + 1, (2,), generator=generator))
        crop = lambda x: x[..., dy:dy + h - cut, dx:dx + w - cut]  # noqa: E731
        cropped_output = model(crop(batch) * 255.0, style) / 255.0
        inner = lambda x: x[..., margin:-margin, margin:-margin]  # noqa: E731
        return (inner(cropped_output) - inner(crop(output))).pow(2).mean()

    def _style_ratios(self, features: dict[str, torch.Tensor], output: torch.Tensor, index: torch.Tensor,
                      step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-image Gram, moment and (if weighted) sliced Wasserstein distances to the style as ratios to a
        photo's, averaged over the pyramid levels (``features``: the full-scale ones of ``output``): shapes N."""
        grams = moments = sliced = torch.zeros((), device=output.device)
        generator = torch.Generator().manual_seed(self.seed * 15485863 + step)
        for level, targets in enumerate(self.targets):
            level_features = features if level == 0 else self.vgg(octave(output, level), self.style_layers)
            g, m = style_distances(level_features, targets, index, self.weights.style_tiles if level == 0 else 1)
            grams = grams + g / targets.gram_unit[index] / len(self.targets)
            moments = moments + m / targets.moment_unit[index] / len(self.targets)
            if self.weights.sliced > 0:
                w = sliced_distances(level_features, targets, index, generator)
                sliced = sliced + w / targets.sliced_unit[index] / len(self.targets)
        return grams, moments, sliced

    def _equivariance(self, model: nn.Module, batch: torch.Tensor, output: torch.Tensor, style: torch.Tensor | None,
                      step: int) -> torch.Tensor:
        """The output for the batch under a random symmetry of the square should be the output under it."""
        element = int(torch.randint(1, 8, (1,), generator=torch.Generator().manual_seed(self.seed * 104729 + step)))
        turned_output = model(dihedral(batch, element) * 255.0, style) / 255.0
        return (turned_output - dihedral(output, element)).pow(2).mean()

    def _rotation(self, model: nn.Module, batch: torch.Tensor, output: torch.Tensor, style: torch.Tensor | None,
                  step: int) -> torch.Tensor:
        """The output for the batch turned by a random oblique angle should be the output turned by it
        (:func:`turn_error`): the network stylizes the turn-safe crop of the turned batch, so the crop's corners and
        borders must look like the interior they are cut from (a lattice drawn only near the frame pays too)."""
        generator = torch.Generator().manual_seed(self.seed * 6700417 + step)
        low, high = ROTATION_DEGREES
        fraction, side = torch.rand(2, generator=generator).tolist()
        degrees = (low + (high - low) * fraction) * (1.0 if side < 0.5 else -1.0)
        stylize = lambda images: model(images * 255.0, style) / 255.0  # noqa: E731
        return turn_error(stylize, batch, output, degrees, self.model.config.stride, ROTATION_MARGIN)

    def _temporal(self, model: nn.Module, batch: torch.Tensor, output: torch.Tensor, style: torch.Tensor | None,
                  step: int) -> torch.Tensor:
        """The output for a warped input should equal the warped output (masked away from the borders)."""
        n, _, h, w = batch.shape
        generator = torch.Generator().manual_seed(self.seed * 7919 + step)
        flow = random_flow(n, h, w, generator).to(batch.device)
        warped_output = model(warp(batch, flow) * 255.0, style) / 255.0
        mask = border_mask(h, w, margin=8, device=batch.device)
        return (mask * (warped_output - warp(output, flow)).pow(2)).mean()

    @torch.no_grad()
    def samples(self, step: int) -> None:
        """Stylize the fixed validation photos with the current network, one row per trained style (at most 4)."""
        self.model.eval()
        device = next(self.model.parameters()).device
        names = self.model.config.styles or ("",)
        for position, s in list(enumerate(self.trained_styles))[:4]:
            style = self._style_input(torch.tensor([position]), device)
            rows = [(f"{names[s]} step {step}".strip(),
                     (self.model(img.to(device) * 255.0, style) / 255.0).clamp(0, 1).cpu()) for img in self.val_images]
            _write_samples(self.run_dir, step, rows, suffix=f"_{names[s]}" if names[s] else "")
        self.model.train()


class AdaINTask:
    """Decoder training for AdaIN (Huang & Belongie 2017): content loss at the encoder layer, mean/std style loss.

    With ``identity_weight`` > 0 the first :data:`IDENTITY_SHARE` of each batch takes its own photo as the style,
    so its AdaIN target is the photo's own features, and the decoded image must also be the photo itself in pixels
    (squared error on the 0..255 scale, times the weight). A decoder trained on the two losses above alone never
    has to reproduce a picture, and greys skies and blurs even with no style at all.

    With ``layout_weight`` > 0 the output's coarse luminance layout (:func:`luminance_layout`: 8×8-pixel cells,
    normalised per image) must be the photo's. The two losses above alone ask for a bright halo around every
    strong edge: AdaIN scales the band of features around an edge by the style's spread over the photo's, and an
    image optimised to those targets draws that band as a glow. A halo is a change of the coarse layout; strokes
    and palette are not.
    """

    def __init__(self, decoder: AdaINDecoder, vgg: VGGFeatures, styles: PhotoDataset, style_weight: float,
                 style_layers: Sequence[str] | None, val_pairs: Sequence[tuple[torch.Tensor, torch.Tensor]],
                 run_dir: Path, seed: int, batch_size: int, identity_weight: float = 0.0,
                 layout_weight: float = 0.0) -> None:
        self.model = decoder
        self.identity_weight = identity_weight
        self.layout_weight = layout_weight
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
        """The style crops paired with content batch ``step`` (deterministic, like the content batches); fewer style
        images than a batch are used again in turn."""
        epoch, indices = batch_indices(len(self.styles), self.batch_size, step, self.seed + 1)
        self.styles.epoch = epoch
        return torch.stack([self.styles[indices[i % len(indices)]] for i in range(self.batch_size)]).to(device)

    def losses(self, model: nn.Module, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Content loss against the AdaIN target and style loss on channel statistics, and the identity and layout
        terms where they have a weight, each weighted."""
        self.vgg.to(batch.device)
        style = self.style_batch(step, batch.device)[: batch.shape[0]]
        own = self.identity_count(batch.shape[0])
        style = torch.cat([batch[:own], style[own:]])
        layers = list(dict.fromkeys(self.style_layers + [self.encoder_layer]))
        with torch.no_grad():  # the content is encoded with the replicated border that inference uses
            bordered = F.pad(batch, (BORDER_PAD,) * 4, mode="replicate")
            content_features = self.vgg(bordered, [self.encoder_layer])[self.encoder_layer]
            style_features = self.vgg(style, layers)
            target = adain(content_features, style_features[self.encoder_layer])
        decoded = model(target)
        output = decoded[..., BORDER_PAD:BORDER_PAD + batch.shape[-2], BORDER_PAD:BORDER_PAD + batch.shape[-1]]
        output_features = self.vgg(output, self.style_layers)
        terms = {
            "content": F.mse_loss(self.vgg(decoded, [self.encoder_layer])[self.encoder_layer], target),
            "style": self.style_weight * adain_style_loss(
                {k: output_features[k] for k in self.style_layers}, {k: style_features[k] for k in self.style_layers}
            ),
        }
        if self.layout_weight:
            terms["layout"] = self.layout_weight * F.mse_loss(luminance_layout(output), luminance_layout(batch))
        if own:
            terms["identity"] = self.identity_weight * F.mse_loss(output[:own] * 255.0, batch[:own] * 255.0)
        return terms

    def identity_count(self, batch_size: int) -> int:
        """How many items of a batch take their own photo as the style (none without the identity term)."""
        return max(1, round(batch_size * IDENTITY_SHARE)) if self.identity_weight > 0 else 0

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """All decoder parameters at ``lr``."""
        return [{"params": list(self.model.parameters()), "lr": lr}]

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
