"""Content and style losses of every shipped model on the five held-out content photos.

    python benchmarks/quality.py [--size 512] [--out benchmarks/results/quality.json]

Losses use the training layers the loaded VGG weights reach (content relu2_2; style relu1_2 relu2_2 relu3_3 with
the truncated weights). Each style loss is set beside the unstylized photos' distance from the same style; their
ratio says how far towards the style a model moves a photo (lower = closer to the style). The tiled style loss
asks the same of every cell of a 4×4 grid: a model that pays for its style with a few saturated blobs scores
well on the plain Gram loss but badly here. Lower content loss = more of the photo kept. Johnson models are
measured with their own style image; the AdaIN decoder with each style image of the fast zoo, averaged.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from machine import write_result

from stylecam.imaging.io import read_image
from stylecam.imaging.tensors import to_tensor
from stylecam.losses.perceptual import content_loss, gram_matrix, style_loss
from stylecam.nets.adain import AdaINModel
from stylecam.nets.checkpoints import load_adain_decoder, load_transformer
from stylecam.nets.vgg import VGGFeatures, load_vgg
from stylecam.stylize.methods import run_transformer
from stylecam.training.tasks import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS
from stylecam.zoo import list_models, style_images_of_tier

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"
TILES = 4
Stylizer = Callable[[torch.Tensor], torch.Tensor]


class Judge:
    """VGG losses of stylized photos against one style image, next to the unstylized photos' own."""

    def __init__(self, vgg: VGGFeatures, photos: Mapping[str, torch.Tensor]) -> None:
        self.vgg = vgg
        self.content_layers = vgg.preferred(JOHNSON_CONTENT_LAYERS)
        self.style_layers = vgg.preferred(JOHNSON_STYLE_LAYERS)
        self.photos = photos
        with torch.no_grad():
            self.photo_features = {name: vgg(x, self.content_layers + self.style_layers) for name, x in photos.items()}

    @torch.no_grad()
    def __call__(self, stylize: Stylizer, style: torch.Tensor) -> dict[str, float]:
        """Mean content, style and tiled style losses over the photos, with the photos' own style losses."""
        grams = {k: gram_matrix(v) for k, v in self.vgg(style, self.style_layers).items()}
        sums = {"content_loss": 0.0, "style_loss": 0.0, "style_loss_of_photo": 0.0,
                "tiled_style_loss": 0.0, "tiled_style_loss_of_photo": 0.0}
        for name, photo in self.photos.items():
            features = self.vgg(stylize(photo), self.content_layers + self.style_layers)
            own = self.photo_features[name]
            sums["content_loss"] += content_loss(features, {k: own[k] for k in self.content_layers}).item()
            sums["style_loss"] += style_loss(features, grams).item()
            sums["style_loss_of_photo"] += style_loss(own, grams).item()
            sums["tiled_style_loss"] += style_loss(features, grams, tiles=TILES).item()
            sums["tiled_style_loss_of_photo"] += style_loss(own, grams, tiles=TILES).item()
        means = {k: v / len(self.photos) for k, v in sums.items()}
        means["style_loss_ratio"] = means["style_loss"] / means["style_loss_of_photo"]
        means["tiled_style_loss_ratio"] = means["tiled_style_loss"] / means["tiled_style_loss_of_photo"]
        return means


def read_style(name: str) -> torch.Tensor:
    """A style image of ../shared/images/styles at the training style size (512-pixel long side)."""
    return to_tensor(read_image(SHARED / "styles" / name, max_side=512, size_option=None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512, help="long side of the content photos (default 512)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "quality.json")
    args = parser.parse_args()
    vgg = load_vgg()
    photos = {p.stem: to_tensor(read_image(p, max_side=args.size, size_option=None))
              for p in sorted((SHARED / "content").glob("*.jpg"))}
    judge = Judge(vgg, photos)
    entries = list_models()
    johnson = [e for e in entries if e.kind == "johnson" and e.style_image is not None]
    rows = []
    for entry in johnson:
        net = load_transformer(entry.path)
        style_name = entry.style_image
        rows.append({"model": entry.name, "tier": entry.card.get("tier"), "style_image": style_name,
                     "iterations": entry.total_iterations,
                     **judge(lambda photo, net=net: run_transformer(net, photo), read_style(style_name))})
    fast_styles = style_images_of_tier(entries, "fast")
    for entry in (e for e in entries if e.kind == "adain_decoder"):
        model = AdaINModel(vgg, load_adain_decoder(entry.path)).eval()
        per_style = {}
        for style_name in fast_styles:
            style = read_style(style_name)
            per_style[style_name] = judge(lambda photo, m=model, s=style: m(photo, [s]).clamp(0, 1), style)
        means = {k: statistics.mean(r[k] for r in per_style.values()) for k in next(iter(per_style.values()))}
        rows.append({"model": entry.name, "tier": "adain", "style_image": ", ".join(fast_styles),
                     "iterations": entry.total_iterations, **means, "per_style": per_style})
    result = {"benchmark": "quality", "size": args.size, "photos": sorted(photos),
              "content_layers": judge.content_layers, "style_layers": judge.style_layers, "tiles": TILES,
              "models": rows}
    write_result(args.out, result)
    print(f"{'model':<18} {'tier':<8} {'iters':>6} {'content':>9} {'style':>9} {'ratio':>6} {'tiled ratio':>11}")
    for r in rows:
        print(f"{r['model']:<18} {r['tier'] or '-':<8} {r['iterations'] or '-':>6} {r['content_loss']:>9.3g} "
              f"{r['style_loss']:>9.3g} {r['style_loss_ratio']:>6.3f} {r['tiled_style_loss_ratio']:>11.3f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
