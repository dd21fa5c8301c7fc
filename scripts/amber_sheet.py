"""The published pytorch/examples results on amber.jpg beside ours for the same four style images.

    python scripts/amber_sheet.py [--files NAME.pth ...] [--size 384] [--net-size 1080] [--gatys ITERS]
                                  [--out docs/amber_references.jpg]

Rows: mosaic, candy, rain-princess, udnie. Columns: the style image, the reference
(../shared/references/pytorch_examples/amber-STYLE.jpg), then each of our Johnson networks that learned that style
image (every tier, each style of a several-style network on its own; ``--files`` limits them to those files),
and with ``--gatys ITERS`` our Gatys optimisation of amber.jpg with the same style (cached like
benchmarks/quality.py's renders, which use 150 iterations at 384 px).

The references were made at 1080 px, and a network's strokes have a fixed size in pixels, so our networks run on
amber.jpg at ``--net-size`` (default 1080, the references' own size) before every cell is shown at ``--size``:
at 384 px the same network draws its strokes 2.8× larger against the door than the reference does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stylecam.imaging.io import read_image, write_image
from stylecam.imaging.sheet import contact_sheet
from stylecam.imaging.tensors import to_image, to_tensor
from stylecam.nets.checkpoints import load_transformer
from stylecam.nets.vgg import load_vgg
from stylecam.stylize.gatys_cache import CachedGatys, read_style
from stylecam.stylize.methods import run_transformer
from stylecam.zoo import list_models

SHARED = Path(__file__).resolve().parents[2] / "shared"
STYLES = ("mosaic", "candy", "rain-princess", "udnie")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", nargs="+", metavar="NAME.pth", help="only networks in these model files")
    parser.add_argument("--size", type=int, default=384, help="long side of every cell, and of Gatys' input")
    parser.add_argument("--net-size", type=int, default=1080, help="long side our networks run at")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parents[1] / "docs" / "amber_references.jpg")
    parser.add_argument("--gatys", type=int, metavar="ITERS", help="add our Gatys of amber.jpg (e.g. 150)")
    args = parser.parse_args()
    gatys = CachedGatys(load_vgg(), args.gatys) if args.gatys else None
    photo = SHARED / "images" / "content" / "amber.jpg"
    amber = to_tensor(read_image(photo, max_side=args.size, size_option=None))
    amber_for_nets = to_tensor(read_image(photo, max_side=args.net_size, size_option=None))
    entries = [e for e in list_models()
               if e.kind == "johnson" and e.is_one_style and (args.files is None or e.path.name in args.files)]
    nets = {}
    rows = []
    for style in STYLES:
        image = f"{style}.jpg"
        row = [(style, read_image(SHARED / "images" / "styles" / image, max_side=args.size, size_option=None)),
               ("pytorch/examples", read_image(SHARED / "references" / "pytorch_examples" / f"amber-{style}.jpg",
                                               max_side=args.size, size_option=None))]
        for entry in (e for e in entries if e.style_image == image):
            net = nets.setdefault(entry.path, load_transformer(entry.path))
            row.append((f"ours: {entry.path.stem}{':' + entry.style if entry.style else ''} @{args.net_size}",
                        to_image(run_transformer(net, amber_for_nets, entry.mix))))
        if gatys is not None:
            render = gatys.stylizer(style, read_style(SHARED / "images" / "styles" / image))
            row.append((f"our Gatys, {args.gatys} it", to_image(render(amber))))
        rows.append(row)
    write_image(args.out, contact_sheet(rows, height=args.size * 2 // 3))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
