"""Render Gatys results for three content/style pairs with the real ``stylize`` command; compose a contact sheet.

    python scripts/gatys_sheet.py [--size 384] [--work /tmp/gatys_sheet] [--out docs/gatys_contact_sheet.jpg]

Renders already in the work folder are reused, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from stylecam.imaging.io import read_image, write_image
from stylecam.imaging.sheet import contact_sheet

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"
PAIRS = (("tubingen", "starry_night"), ("golden_gate", "the_scream"), ("brad_pitt", "picasso_selfport1907"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--work", type=Path, default=Path("/tmp/gatys_sheet"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "gatys_contact_sheet.jpg")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for content_name, style_name in PAIRS:
        content = SHARED / "content" / f"{content_name}.jpg"
        style = next((SHARED / "styles").glob(f"{style_name}.*"))
        result = args.work / f"{content_name}_{style_name}_{args.size}.jpg"
        if not result.exists():
            subprocess.run(
                ["stylize", str(content), "-s", str(style), "-o", str(result), "--size", str(args.size),
                 "--iters", str(args.iters)], check=True,
            )
        rows.append([
            (content_name, read_image(content, max_side=args.size, size_option=None)),
            (style_name, read_image(style, max_side=args.size, size_option=None)),
            (f"gatys, {args.iters} L-BFGS iterations", read_image(result)),
        ])
    write_image(args.out, contact_sheet(rows, height=args.size * 3 // 4))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
