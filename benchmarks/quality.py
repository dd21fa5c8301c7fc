"""Content and Gram style losses of every shipped Johnson model on the five held-out content photos.

    python benchmarks/quality.py [--size 512] [--out benchmarks/results/quality.json]

Losses use the training layers the loaded VGG weights reach (content relu2_2; style relu1_2 relu2_2 relu3_3 with
the truncated weights). Each model's style loss is set beside the unstylized photos' distance from the same style;
their ratio says how far towards the style the model moves a photo (lower = closer to the style). Lower content
loss = more of the photo kept.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from stylecam.imaging.io import read_image
from stylecam.imaging.tensors import to_tensor
from stylecam.losses.perceptual import content_loss, gram_matrix, style_loss
from stylecam.nets.checkpoints import load_transformer
from stylecam.nets.vgg import load_vgg
from stylecam.stylize.methods import run_transformer
from stylecam.training.tasks import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS
from stylecam.zoo import list_models

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512, help="long side of the content photos (default 512)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "quality.json")
    args = parser.parse_args()
    vgg = load_vgg()
    content_layers = vgg.preferred(JOHNSON_CONTENT_LAYERS)
    style_layers = vgg.preferred(JOHNSON_STYLE_LAYERS)
    photos = {p.stem: to_tensor(read_image(p, max_side=args.size, size_option=None))
              for p in sorted((SHARED / "content").glob("*.jpg"))}
    with torch.no_grad():
        photo_features = {name: vgg(x, content_layers + style_layers) for name, x in photos.items()}
    rows = []
    for entry in list_models():
        if entry.kind != "johnson" or not entry.card.get("style_images"):
            continue
        style_name = entry.card["style_images"][0]["name"]
        style = to_tensor(read_image(SHARED / "styles" / style_name, max_side=512, size_option=None))
        net = load_transformer(entry.path)
        with torch.no_grad():
            grams = {k: gram_matrix(v) for k, v in vgg(style, style_layers).items()}
            content, styled, unstyled = [], [], []
            for name, photo in photos.items():
                features = vgg(run_transformer(net, photo), content_layers + style_layers)
                targets = {k: photo_features[name][k] for k in content_layers}
                content.append(content_loss(features, targets).item())
                styled.append(style_loss(features, grams).item())
                unstyled.append(style_loss(photo_features[name], grams).item())
        rows.append({
            "model": entry.name, "tier": entry.card.get("tier"), "style_image": style_name,
            "iterations": entry.card.get("iterations"), "content_loss": statistics.mean(content),
            "style_loss": statistics.mean(styled), "style_loss_of_photo": statistics.mean(unstyled),
            "style_loss_ratio": statistics.mean(styled) / statistics.mean(unstyled),
        })
    result = {"benchmark": "quality", "size": args.size, "photos": sorted(photos), "content_layers": content_layers,
              "style_layers": style_layers, "models": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'model':<22} {'tier':<8} {'iters':>6} {'content':>10} {'style':>10} {'photo style':>12} {'ratio':>6}")
    for r in rows:
        print(f"{r['model']:<22} {r['tier'] or '-':<8} {r['iterations'] or '-':>6} {r['content_loss']:>10.4g} "
              f"{r['style_loss']:>10.4g} {r['style_loss_of_photo']:>12.4g} {r['style_loss_ratio']:>6.3f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
