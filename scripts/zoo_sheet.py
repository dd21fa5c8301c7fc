"""Contact sheet of one tier of the zoo: every style on the same three held-out photos.

    python scripts/zoo_sheet.py [--tier fast] [--size 384] [--out docs/zoo_fast.jpg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stylecam.imaging.io import read_image, write_image
from stylecam.imaging.sheet import contact_sheet
from stylecam.imaging.tensors import to_image, to_tensor
from stylecam.nets.checkpoints import load_transformer
from stylecam.stylize.methods import run_transformer
from stylecam.zoo import list_models

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"
PHOTOS = ("brad_pitt", "golden_gate", "tubingen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=("fast", "quality"), default="fast")
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or Path(__file__).resolve().parents[1] / "docs" / f"zoo_{args.tier}.jpg"
    photos = {name: read_image(SHARED / "content" / f"{name}.jpg", max_side=args.size, size_option=None)
              for name in PHOTOS}
    rows = [[(name, image) for name, image in photos.items()]]
    for entry in list_models():
        if entry.kind != "johnson" or entry.card.get("tier") != args.tier:
            continue
        net = load_transformer(entry.path)
        style_name = entry.card["style_images"][0]["name"]
        style = read_image(SHARED / "styles" / style_name, max_side=args.size, size_option=None)
        row = [(f"{entry.name} ({entry.card.get('iterations')} it)", style)]
        row += [(name, to_image(run_transformer(net, to_tensor(image)))) for name, image in photos.items()]
        rows.append(row)
    if len(rows) == 1:
        sys.exit(f"no {args.tier}-tier models in the zoo yet")
    write_image(out, contact_sheet(rows, height=args.size * 2 // 3))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
