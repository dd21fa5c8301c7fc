"""VGG19 feature extractor with named layers, loading torchvision-format weights (full or truncated).

Input convention (torchvision's): RGB in 0..1; the module applies the ImageNet mean/std itself.
Weights are found, in order: an explicit path, ``$STYLECAM_VGG_WEIGHTS``, the torch.hub cache, then a download of
torchvision's official file with its hash check.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from torch import nn

from stylecam.errors import ModelError
from stylecam.nets.state_files import load_state_file

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
WEIGHTS_ENV = "STYLECAM_VGG_WEIGHTS"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision's vgg19().features, block by block: channels per conv, then a pool.
_VGG19_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256, 256),
    (512, 512, 512, 512),
    (512, 512, 512, 512),
)


def _layer_table() -> list[tuple[str, int, int, int]]:
    """Rows ``(name, features index, in channels, out channels)`` for every conv, relu and pool of VGG19."""
    rows: list[tuple[str, int, int, int]] = []
    index, channels = 0, 3
    for block, widths in enumerate(_VGG19_BLOCKS, start=1):
        for conv, width in enumerate(widths, start=1):
            rows.append((f"conv{block}_{conv}", index, channels, width))
            rows.append((f"relu{block}_{conv}", index + 1, width, width))
            index, channels = index + 2, width
        rows.append((f"pool{block}", index, channels, channels))
        index += 1
    return rows


LAYER_TABLE = _layer_table()
LAYER_NAMES: tuple[str, ...] = tuple(row[0] for row in LAYER_TABLE)
_ORDER = {name: i for i, name in enumerate(LAYER_NAMES)}


def layer_order(name: str) -> int:
    """Position of a named layer in VGG19 (for sorting and depth comparisons)."""
    if name not in _ORDER:
        raise ModelError(f"unknown VGG19 layer '{name}'; names look like relu1_1 … relu5_4, conv3_1, pool2")
    return _ORDER[name]


def conv_count(state_dict: dict[str, torch.Tensor]) -> int:
    """How many of VGG19's 16 convolutions a torchvision-format ``features`` state dict holds, in order."""
    convs = [row for row in LAYER_TABLE if row[0].startswith("conv")]
    count = 0
    for _, index, cin, cout in convs:
        weight = state_dict.get(f"features.{index}.weight")
        if weight is None or f"features.{index}.bias" not in state_dict:
            break
        if tuple(weight.shape) != (cout, cin, 3, 3):
            raise ModelError(
                f"VGG19 weights: features.{index}.weight has shape {tuple(weight.shape)}, "
                f"expected {(cout, cin, 3, 3)}; is this a VGG19 file?"
            )
        count += 1
    return count


def deepest_available(n_convs: int) -> str:
    """Name of the last relu that ``n_convs`` loaded convolutions reach (then its block's pool is free too)."""
    convs = [row[0] for row in LAYER_TABLE if row[0].startswith("conv")]
    return convs[n_convs - 1].replace("conv", "relu")


def available_layers(n_convs: int) -> list[str]:
    """All layer names computable from the first ``n_convs`` convolutions (convs, relus, pools)."""
    last = layer_order(deepest_available(n_convs))
    names = list(LAYER_NAMES[: last + 1])
    next_name = LAYER_NAMES[last + 1] if last + 1 < len(LAYER_NAMES) else None
    if next_name and next_name.startswith("pool"):
        names.append(next_name)
    return names


def _normalise_keys(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept torchvision's full model file, a bare ``features`` dict, or one wrapped as {'state_dict': …}."""
    if "state_dict" in state_dict and isinstance(state_dict["state_dict"], dict):
        state_dict = state_dict["state_dict"]
    if any(key.startswith("features.") for key in state_dict):
        return {k: v for k, v in state_dict.items() if k.startswith("features.")}
    return {f"features.{k}": v for k, v in state_dict.items() if k.split(".")[0].isdigit()}


def find_weights(path: str | os.PathLike[str] | None = None, download: bool = True) -> Path:
    """Locate VGG19 weights: explicit path, ``$STYLECAM_VGG_WEIGHTS``, torch.hub cache, then a checked download."""
    for candidate, origin in ((path, "given path"), (os.environ.get(WEIGHTS_ENV), f"${WEIGHTS_ENV}")):
        if candidate:
            candidate_path = Path(candidate).expanduser()
            if not candidate_path.is_file():
                raise ModelError(f"VGG19 weights not found at {candidate_path} ({origin})")
            return candidate_path
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(VGG19_URL).name
    if cached.is_file():
        return cached
    if not download:
        raise ModelError(f"no VGG19 weights: set {WEIGHTS_ENV} or place {cached.name} in {cached.parent}")
    try:
        torch.hub.download_url_to_file(VGG19_URL, str(cached), hash_prefix="dcbb9e9d", progress=True)
    except Exception as exc:  # network errors come in many types; all mean the same to the user
        raise ModelError(
            f"could not download VGG19 weights from {VGG19_URL} ({exc.__class__.__name__}); "
            f"download it by hand and set {WEIGHTS_ENV}=PATH"
        ) from exc
    return cached


def load_vgg_state(path: str | os.PathLike[str] | None = None) -> dict[str, torch.Tensor]:
    """Load a torchvision-format VGG19 state dict (``features.N.*`` keys) from wherever :func:`find_weights` says."""
    weights_path = find_weights(path)
    state = _normalise_keys(load_state_file(weights_path, "VGG19 weights"))
    if conv_count(state) == 0:
        raise ModelError(f"{weights_path} holds no VGG19 features.0 convolution")
    return state


class VGGFeatures(nn.Module):
    """VGG19 ``features`` up to the deepest requested layer; returns the requested activations by name.

    Built from a state dict; layers the weights do not reach cannot be requested (a clear error lists the
    available ones). ``pool='avg'`` swaps max pooling for average pooling, which Gatys et al. found smoother.
    Parameters are frozen: this is a fixed loss network.
    """

    def __init__(self, state_dict: dict[str, torch.Tensor], pool: str = "max") -> None:
        super().__init__()
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg', not {pool!r}")
        self.n_convs = conv_count(state_dict)
        if self.n_convs == 0:  # deepest_available(0) would claim relu5_4 and leave every layer random
            raise ModelError("VGG19 state dict holds no features.0 convolution")
        self.available = available_layers(self.n_convs)
        modules: list[nn.Module] = []
        for name, index, cin, cout in LAYER_TABLE[: len(self.available)]:
            if name.startswith("conv"):
                modules.append(nn.Conv2d(cin, cout, 3, padding=1))
            elif name.startswith("relu"):
                modules.append(nn.ReLU(inplace=False))
            else:
                modules.append(nn.AvgPool2d(2, 2) if pool == "avg" else nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*modules)
        own = {k: v for k, v in state_dict.items() if int(k.split(".")[1]) < len(modules)}
        self.load_state_dict(own, strict=False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    @property
    def deepest_relu(self) -> str:
        """The deepest relu these weights reach (relu3_4 for the truncated file, relu5_4 for the full one)."""
        return deepest_available(self.n_convs)

    def check_layers(self, layers: Iterable[str]) -> None:
        """Raise a ModelError naming the available layers if any requested layer is out of reach."""
        missing = [name for name in layers if name not in self.available]
        if missing:
            for name in missing:
                layer_order(name)  # unknown names get their own message
            relus = [n for n in self.available if n.startswith("relu")]
            raise ModelError(
                f"VGG layer(s) {', '.join(missing)} not in the loaded weights, which reach {self.deepest_relu}; "
                f"available: {', '.join(relus)}"
            )

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` for RGB input ``x`` in 0..1, computing only as deep as needed."""
        self.check_layers(layers)
        wanted = {_ORDER[name]: name for name in layers}
        last = max(wanted)
        out: dict[str, torch.Tensor] = {}
        h = (x - self.mean) / self.std
        for i, module in enumerate(self.features):
            h = module(h)
            if i in wanted:
                out[wanted[i]] = h
            if i == last:
                break
        return out

    def preferred(self, candidates: Iterable[str]) -> list[str]:
        """The candidates these weights reach, in order (used to make default layers adapt to the weights)."""
        return [name for name in candidates if name in self.available]


def load_vgg(path: str | os.PathLike[str] | None = None, pool: str = "max") -> VGGFeatures:
    """A frozen :class:`VGGFeatures` from the weights :func:`find_weights` locates."""
    return VGGFeatures(load_vgg_state(path), pool=pool)
