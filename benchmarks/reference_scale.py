"""The protocol's style ratio of the published references and of our networks, at the references' own size.

    python benchmarks/reference_scale.py [--models NAME ...] [--sides 1080 384]
                                         [--out benchmarks/results/reference_scale.json]

``../shared/references/pytorch_examples/amber-STYLE.jpg`` are the pytorch/examples models' results on amber.jpg,
made at 1080 px. A network's strokes have a fixed size in pixels, so a result is only comparable with another made
at the same size. For each side in ``--sides``: amber.jpg at that long side, its reference resized to it (area
averaging), and each of our Johnson networks that learned the style run at that size, all scored with
benchmarks/quality.py's :class:`Judge` (Gram ratio at relu1_1/2_1/3_1 against the style image at 512 px; content
at relu3_2). At 1080 the references are their own pixels; at 384, the protocol's side, the references are
downsampled 2.8× and our networks run there, so their strokes are 2.8× larger against the photo than the
references'.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from machine import cpu_name, write_result
from quality import SHARED, STYLES, Judge

from stylecam.imaging.io import read_image
from stylecam.imaging.tensors import to_tensor
from stylecam.nets.checkpoints import load_transformer
from stylecam.nets.vgg import load_vgg
from stylecam.stylize.gatys_cache import read_style
from stylecam.stylize.methods import run_transformer
from stylecam.zoo import list_models

REFERENCES = SHARED.parent / "references" / "pytorch_examples"
REFERENCE_STYLES = ("mosaic", "candy", "rain-princess", "udnie")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", metavar="NAME", help="zoo names to measure (default: every one)")
    parser.add_argument("--sides", nargs="+", type=int, default=[1080, 384], help="long sides to measure at")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "reference_scale.json")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    vgg = load_vgg()
    entries = [e for e in list_models() if e.kind == "johnson" and e.is_one_style
               and (args.models is None or e.name in args.models)]
    nets = {}
    rows = []
    for side in args.sides:
        photo = to_tensor(read_image(SHARED / "content" / "amber.jpg", max_side=side, size_option=None))
        judge = Judge(vgg, {"amber": photo})
        for style_name in REFERENCE_STYLES:
            style = read_style(STYLES / f"{style_name}.jpg")
            reference = to_tensor(read_image(REFERENCES / f"amber-{style_name}.jpg"))
            reference = F.interpolate(reference, size=photo.shape[-2:], mode="area")
            rows.append({"side": side, "style": style_name, "model": "pytorch/examples",
                         **judge(lambda _photo, r=reference: r, style)})
            for entry in (e for e in entries if e.style_image == f"{style_name}.jpg"):
                net = nets.setdefault(entry.path, load_transformer(entry.path))
                stylize = lambda x, net=net, mix=entry.mix: run_transformer(net, x, mix)  # noqa: E731
                rows.append({"side": side, "style": style_name, "model": entry.name, **judge(stylize, style)})
    write_result(args.out, {"benchmark": "reference_scale", "cpu": cpu_name(), "photo": "amber.jpg",
                            "reference_side": 1080, "rows": rows})
    print(f"{'side':>5} {'style':<14} {'model':<22} {'ratio':>6} {'content':>9}")
    for r in rows:
        print(f"{r['side']:>5} {r['style']:<14} {r['model']:<22} {r['style_ratio']:>6.3f} {r['content_loss']:>9.3g}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
