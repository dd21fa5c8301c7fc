"""The live network at full resolution beside ``--net-scale 0.5`` and plain half-size stylization, on one photo.

    python scripts/net_scale_sheet.py [--style mosaic] [--photo golden_gate] [--size 640x360] [--out docs/net_scale.jpg]

The frame is the photo resized to the live loop's processing size; each column goes through the live loop's own
functions (the torch backend, ``effects.shrink`` and ``effects.add_change``), and the bottom row enlarges the
centre ×2 so the strokes can be compared.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from stylecam.imaging.io import read_image, write_image
from stylecam.imaging.sheet import contact_sheet
from stylecam.imaging.sizes import parse_size
from stylecam.nets.checkpoints import load_transformer
from stylecam.runtime.torch_backend import TorchBackend
from stylecam.realtime.effects import add_change, shrink
from stylecam.zoo import resolve_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images" / "content"


def centre_zoom(frame: np.ndarray) -> np.ndarray:
    """The middle quarter of ``frame`` enlarged ×2 (nearest neighbour: pixels stay visible)."""
    height, width = frame.shape[:2]
    crop = frame[height // 4: height // 4 + height // 2, width // 4: width // 4 + width // 2]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_NEAREST)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="mosaic", help="zoo name or model file (default mosaic)")
    parser.add_argument("--photo", default="golden_gate", help="name in ../shared/images/content (default golden_gate)")
    parser.add_argument("--size", default="640x360", help="processing size WxH (default 640x360)")
    parser.add_argument("--out", type=Path, default=Path("docs/net_scale.jpg"))
    args = parser.parse_args()
    width, height = parse_size(args.size)
    photo = read_image(SHARED / f"{args.photo}.jpg", size_option=None)
    frame = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    backend = TorchBackend(load_transformer(resolve_model(args.style)).eval(), torch.device("cpu"))
    small = shrink(frame, 0.5)
    styled_small = backend.run(small)
    columns = [
        ("network at full resolution", backend.run(frame)),
        ("--net-scale 0.5", add_change(frame, small, styled_small)),
        ("half size, upscaled", cv2.resize(styled_small, (width, height), interpolation=cv2.INTER_LINEAR)),
    ]
    rows = [[(label, image) for label, image in columns], [(f"{label}, centre ×2", centre_zoom(image))
                                                            for label, image in columns]]
    write_image(args.out, contact_sheet(rows, height=height))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
