"""``styletrain``: train Johnson networks (one per style) and AdaIN decoders; list the trained zoo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stylecam.cli.common import add_common_options, positive_int, run_command
from stylecam.errors import UsageError

PROG = "styletrain"
EXAMPLES = """examples:
  styletrain johnson --style-image mosaic.jpg --data photos/ -o trained_models/mosaic.pth --tier fast
  styletrain johnson ... --resume          # continue from runs/mosaic/checkpoint.pt
  torchrun --nproc_per_node 4 -m stylecam.cli.train johnson ...   # DistributedDataParallel
  styletrain adain --data photos/ --style-data styles/ -o trained_models/adain_decoder.pth
  styletrain list
"""


def _shared_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="DIR", help="folder of content photos (searched recursively)")
    parser.add_argument("-o", "--output", required=True, metavar="MODEL.pth", help="where the trained model goes")
    parser.add_argument("--image-size", type=positive_int, default=256, help="training crop size (default 256)")
    parser.add_argument("--batch-size", type=positive_int, default=4, help="per process (default 4)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=positive_int, help="optimisation steps (default 40000)")
    length.add_argument("--epochs", type=float, help="passes over the data instead of --iterations")
    parser.add_argument("--max-minutes", type=float, metavar="MIN",
                        help="stop after this many minutes of this run and write the model (the card says how far it got)")
    parser.add_argument("--lr", type=float, help="Adam learning rate")
    parser.add_argument("--lr-decay-every", type=int, default=0, metavar="N", help="multiply the lr by --lr-decay every N steps")
    parser.add_argument("--lr-decay", type=float, default=0.5)
    parser.add_argument("--style-layers", nargs="+", metavar="LAYER", help="VGG layers for the style loss")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", type=Path, help="checkpoints, samples and log (default runs/<output name>)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    parser.add_argument("--checkpoint-every", type=positive_int, default=250)
    parser.add_argument("--sample-every", type=positive_int, default=500)
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="bf16 autocast is ~2.5x faster where the hardware has it (default auto: bf16 if so)")
    parser.add_argument("--vgg-weights", metavar="PATH", help="VGG19 weights (default: $STYLECAM_VGG_WEIGHTS, hub)")
    add_common_options(parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``styletrain`` parser with its ``johnson``, ``adain`` and ``list`` subcommands."""
    parser = argparse.ArgumentParser(prog=PROG, description="Train style-transfer networks.", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{johnson,adain,list}")
    johnson = sub.add_parser("johnson", help="a feed-forward network for one style image",
                             description="Train a Johnson et al. feed-forward network for one style image.")
    johnson.add_argument("--style-image", required=True, metavar="IMG")
    johnson.add_argument("--tier", choices=("fast", "quality"), default="fast", help="architecture (default fast)")
    johnson.add_argument("--style-size", type=positive_int, default=512, help="style image long side (default 512)")
    johnson.add_argument("--content-weight", type=float, default=1.0)
    johnson.add_argument("--style-weight", type=float, help="default 2 (with the default --style-tiles 4)")
    johnson.add_argument("--tv-weight", type=float, help="default 1e4")
    johnson.add_argument("--temporal-weight", type=float, default=0.0,
                         help="stability under small warps, for flicker-free live video (default 0 = off)")
    johnson.add_argument("--content-layers", nargs="+", metavar="LAYER")
    johnson.add_argument("--style-tiles", type=positive_int, default=4, metavar="N",
                         help="match the style in every cell of an N×N grid of the crop, not only on average, "
                              "which keeps the style from collapsing into a few blobs (default 4; 1 = Johnson's)")
    johnson.add_argument("--init", metavar="MODEL.pth",
                         help="start from this trained network (fine-tuning); a full-resolution network of the "
                              "tier's widths is folded into its pixel blocks first")
    _shared_options(johnson)
    adain = sub.add_parser("adain", help="an AdaIN decoder for arbitrary styles",
                           description="Train an AdaIN decoder (Huang & Belongie 2017).")
    adain.add_argument("--style-data", required=True, metavar="DIR", help="folder of style images")
    adain.add_argument("--style-weight", type=float, default=10.0, help="default 10 (the paper's)")
    _shared_options(adain)
    listing = sub.add_parser("list", help="the trained models and their cards")
    add_common_options(listing)
    return parser


def fit_to_tier(start: Any, tier: str, name: str) -> Any:
    """``start`` (a TransformerNet) as a starting point for ``tier``: as is, or folded into the tier's pixel blocks
    when it has the tier's widths at full resolution (see ``fold_into_blocks``); UsageError otherwise."""
    from dataclasses import replace

    from stylecam.nets.transformer import TIERS, fold_into_blocks

    target = TIERS[tier]
    if start.config == target:
        return start
    if start.config.space_to_depth == 1 and replace(start.config, space_to_depth=target.space_to_depth) == target:
        return fold_into_blocks(start, target.space_to_depth)
    raise UsageError(f"--init {name} does not have the {tier} tier's architecture (pass its --tier)")


def _iterations(args: argparse.Namespace, n_photos: int, world: int) -> int:
    if args.epochs is not None:
        return max(1, round(args.epochs * n_photos / (args.batch_size * world)))
    return args.iterations or 40000


def _readable(files: Sequence[Path], count: int, max_side: int) -> list[Any]:
    """Up to ``count`` of ``files`` as tensors, skipping unreadable ones (as training itself does)."""
    from stylecam.errors import InputError
    from stylecam.imaging.io import read_image
    from stylecam.imaging.tensors import to_tensor

    tensors = []
    for path in files:
        if len(tensors) == count:
            break
        try:
            tensors.append(to_tensor(read_image(path, max_side=max_side, size_option=None)))
        except InputError:
            continue
    return tensors


def _settings_dict(args: argparse.Namespace) -> dict[str, Any]:
    skip = {"quiet", "resume", "command", "run_dir", "output", "max_minutes"}
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in skip}


def train_main(args: argparse.Namespace) -> int:
    """Train the requested network, then write the model and its card."""
    import torch

    from stylecam.devices import resolve_device
    from stylecam.imaging.io import read_image
    from stylecam.imaging.tensors import to_tensor
    from stylecam.log import notice
    from stylecam.nets.checkpoints import save_model
    from stylecam.nets.vgg import load_vgg
    from stylecam.training import card, data, loop, tasks

    output = Path(args.output)
    if not output.parent.is_dir():
        raise UsageError(f"output folder {output.parent} does not exist")
    device = resolve_device(args.device)
    dist = loop.init_distributed(device)
    torch.manual_seed(args.seed)
    run_dir = args.run_dir or Path("runs") / output.stem
    photos = data.PhotoDataset(args.data, args.image_size, args.seed)
    val = _readable(photos.files, 3, args.image_size)
    vgg = load_vgg(args.vgg_weights)
    style_images: list[Path] = []
    effective: dict[str, Any] = {}  # defaulted options, recorded in the card as the values actually used
    started_from = card.provenance(args.init) if getattr(args, "init", None) else None
    if args.command == "johnson":
        from stylecam.nets.transformer import TIERS, TransformerNet

        style_images = [Path(args.style_image)]
        style = to_tensor(read_image(args.style_image, max_side=args.style_size, size_option=None))
        defaults = tasks.JohnsonWeights()
        weights = tasks.JohnsonWeights(
            args.content_weight, args.style_weight if args.style_weight is not None else defaults.style,
            args.tv_weight if args.tv_weight is not None else defaults.tv, args.temporal_weight, args.style_tiles,
        )
        effective = {"style_weight": weights.style, "tv_weight": weights.tv}
        model: torch.nn.Module = TransformerNet(TIERS[args.tier])
        if args.init:
            from stylecam.nets.checkpoints import load_transformer

            start = fit_to_tier(load_transformer(args.init), args.tier, args.init)
            model.load_state_dict(start.state_dict())
        task: Any = tasks.JohnsonTask(model, vgg, style, weights, args.content_layers, args.style_layers,
                                      val, run_dir, args.seed)
        lr = args.lr or 1e-3
    else:
        from stylecam.nets.adain import AdaINDecoder, default_encoder_layer

        styles = data.PhotoDataset(args.style_data, args.image_size, args.seed + 1)
        model = AdaINDecoder(default_encoder_layer(vgg))
        val_styles = _readable(styles.files, 3, args.image_size)
        task = tasks.AdaINTask(model, vgg, styles, args.style_weight, args.style_layers,
                               list(zip(val, val_styles)), run_dir, args.seed, args.batch_size)
        lr = args.lr or 1e-4
    iterations = _iterations(args, len(photos), dist.world)
    settings = loop.LoopSettings(
        iterations=iterations, lr=lr, lr_decay_every=args.lr_decay_every, lr_decay=args.lr_decay,
        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every, run_dir=run_dir,
        resume=args.resume, device=device, max_seconds=None if args.max_minutes is None else args.max_minutes * 60,
        bf16=args.precision == "bf16" or (args.precision == "auto" and loop.bf16_supported(device)),
    )
    precision = "bf16" if settings.bf16 else "fp32"
    notice(f"training {args.command} for {iterations} steps on {device} in {precision} "
           f"({len(photos)} photos, run folder {run_dir})")
    result = loop.train(task, lambda start: data.batches(photos, args.batch_size, start, args.seed,
                                                         dist.rank, dist.world), settings, dist)
    if photos.skipped:
        notice(f"skipped {len(photos.skipped)} unreadable image(s), e.g. {sorted(photos.skipped)[0]}")
    if dist.is_main:
        save_model(output, model)
        kind = "johnson" if args.command == "johnson" else "adain_decoder"
        info = card.build_card(kind, {**_settings_dict(args), **effective, "lr": lr, "world_size": dist.world, "precision": precision,
                                      "skipped_images": len(photos.skipped)},
                               result.steps, result.final_losses, result.wall_seconds, device, style_images)
        if args.command == "johnson":
            info["tier"] = args.tier
            info["config"] = TIERS[args.tier].to_dict()
        if started_from is not None:
            info["initialised_from"] = started_from
        notice(f"wrote {output} and {card.write_card(output, info)}")
    return 0


def list_main() -> int:
    """Print the zoo: name, kind, tier, iterations, final losses, file."""
    from stylecam.zoo import list_models

    entries = list_models()
    if not entries:
        print("no trained models yet (train one with 'styletrain johnson')")
        return 0
    for entry in entries:
        c = entry.card
        losses = ", ".join(f"{k} {v:.3g}" for k, v in c.get("final_losses", {}).items())
        print(f"{entry.name:<20} {entry.kind:<14} {c.get('tier', '-'):<8} {entry.total_iterations or '?':>7} it  "
              f"{losses}  {entry.path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    def body() -> int:
        args = build_parser().parse_args(argv)
        from stylecam.log import set_quiet

        set_quiet(args.quiet)
        return list_main() if args.command == "list" else train_main(args)

    return run_command(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
