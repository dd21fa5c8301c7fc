"""Contact sheet of one tier of the zoo: every style on the same three held-out photos.

    python scripts/zoo_sheet.py [--tier fast|quality|adain] [--files NAME.pth ...] [--styles NAME ...] [--size 384]
                                [--gatys ITERS] [--gatys-styles NAME ...] [--gradients] [--out docs/zoo_fast.jpg]

Each style of a several-style network is a row of its own. ``--files`` limits the rows to the styles of those
model files (e.g. a network in training beside the shipped one; folders in ``$STYLECAM_MODELS`` join the zoo),
``--styles`` to the rows of those style images (e.g. ``mosaic``: one style through several networks).
``--tier adain`` shows the AdaIN decoder with each style image of the fast zoo. ``--gatys ITERS`` puts our Gatys
optimisation of the same photos and style below each row (ITERS L-BFGS iterations; renders cached with
benchmarks/quality.py's, which uses 150 at 384 px), ``--gatys-styles`` only below those styles' rows.
``--gradients`` replaces the photos by smooth sky-blue gradients rising at 0°, 30°, 60° and 90°: a network whose
strokes follow the picture draws the same thing turned, and one that lays a lattice in the pixel grid's axes or
diagonals over smooth regions shows it on the oblique ones.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from stylecam.imaging.io import read_image, write_image
from stylecam.imaging.sheet import contact_sheet
from stylecam.imaging.tensors import to_image, to_tensor
from stylecam.nets.adain import AdaINModel
from stylecam.nets.checkpoints import load_adain_decoder, load_transformer
from stylecam.nets.vgg import load_vgg
from stylecam.stylize.gatys_cache import CachedGatys, read_style
from stylecam.stylize.methods import run_transformer
from stylecam.zoo import list_models, style_images_of_tier

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"
PHOTOS = ("brad_pitt", "golden_gate", "tubingen")
GRADIENT_ANGLES = (0, 30, 60, 90)


def gradient(size: int, degrees: float) -> np.ndarray:
    """A size×size RGB uint8 sky: blue, lighter along the direction ``degrees`` from upright."""
    rows, cols = np.mgrid[0:size, 0:size] / (size - 1) * 2 - 1
    angle = np.radians(degrees)
    along = rows * np.cos(angle) + cols * np.sin(angle)
    sky = np.stack([0.45 + 0.2 * along, 0.6 + 0.2 * along, 0.85 + 0.1 * along], axis=-1)
    return (np.clip(sky, 0, 1) * 255).round().astype(np.uint8)


def stylizers(tier: str, size: int, files: list[str] | None = None, styles: list[str] | None = None
              ) -> list[tuple[str, str, Callable[[torch.Tensor], torch.Tensor]]]:
    """(row label, style image name, stylize function) for every row of the sheet."""
    entries = list_models()
    johnson = [e for e in entries if e.kind == "johnson" and e.style_image is not None and e.is_one_style
               and (files is None or e.path.name in files)
               and (styles is None or Path(str(e.style_image)).stem in styles)]
    if tier != "adain":
        rows = []
        nets: dict[Path, torch.nn.Module] = {}
        for entry in (e for e in johnson if e.card.get("tier") == tier):
            net = nets.setdefault(entry.path, load_transformer(entry.path))
            rows.append((f"{entry.name} ({entry.total_iterations} it)", entry.style_image,
                         lambda x, net=net, mix=entry.mix: run_transformer(net, x, mix)))
        return rows
    decoder = next((e for e in entries if e.kind == "adain_decoder"), None)
    if decoder is None:
        return []
    model = AdaINModel(load_vgg(), load_adain_decoder(decoder.path)).eval()
    names = style_images_of_tier(entries, "fast")
    rows = []
    for name in names:
        style = to_tensor(read_image(SHARED / "styles" / name, max_side=size, size_option=None))
        rows.append((f"adain: {Path(name).stem}", name,
                     lambda x, s=style: torch.no_grad()(model)(x, [s]).clamp(0, 1)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=("fast", "quality", "adain"), default="fast")
    parser.add_argument("--files", nargs="+", metavar="NAME.pth", help="only the styles of these model files")
    parser.add_argument("--styles", nargs="+", metavar="NAME", help="only the rows of these style images")
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--gatys", type=int, metavar="ITERS", help="a Gatys row under each style (e.g. 150)")
    parser.add_argument("--gatys-styles", nargs="+", metavar="NAME", help="the Gatys rows only under these styles")
    parser.add_argument("--gradients", action="store_true",
                        help="smooth gradients at 0, 30, 60 and 90 degrees instead of the photos")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or Path(__file__).resolve().parents[1] / "docs" / f"zoo_{args.tier}.jpg"
    photos = ({f"gradient at {a}°": gradient(args.size * 2 // 3, a) for a in GRADIENT_ANGLES} if args.gradients else
              {name: read_image(SHARED / "content" / f"{name}.jpg", max_side=args.size, size_option=None)
               for name in PHOTOS})
    rows = [[(name, image) for name, image in photos.items()]]
    gatys = CachedGatys(load_vgg(), args.gatys) if args.gatys else None
    for label, style_name, stylize in stylizers(args.tier, args.size, args.files, args.styles):
        style = read_image(SHARED / "styles" / style_name, max_side=args.size, size_option=None)
        rows.append([(label, style)] + [(name, to_image(stylize(to_tensor(image)))) for name, image in photos.items()])
        if gatys is not None and (args.gatys_styles is None or Path(style_name).stem in args.gatys_styles):
            render = gatys.stylizer(Path(style_name).stem, read_style(SHARED / "styles" / style_name))
            rows.append([(f"our Gatys, {args.gatys} it", style)] +
                        [(name, to_image(render(to_tensor(image)))) for name, image in photos.items()])
    if len(rows) == 1:
        sys.exit(f"no {args.tier} models in the zoo yet")
    write_image(out, contact_sheet(rows, height=args.size * 2 // 3))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
