"""``styletrain``: train Johnson networks (one per style) and AdaIN decoders; list the trained zoo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stylecam.cli.common import add_common_options, positive_int, run_command
from stylecam.errors import UsageError
from stylecam.nets.upsampling import UPSAMPLING

PROG = "styletrain"
# JohnsonWeights' defaults, repeated here so that --help needs no torch import (a test keeps them equal).
JOHNSON_DEFAULTS: dict[str, Any] = {"content": 1.0, "style": 10.0, "moments": 10.0, "tv": 10.0, "style_tiles": 1,
                                    "norm_lr_scale": 5.0, "style_octaves": 1, "sliced": 0.0,
                                    "shift": 0.0, "rotation": 0.0}
CROP_SCALE = (0.35, 1.0)  # stylecam.training.data's, repeated for --help without torch (a test keeps them equal)
NORMS_ONLY = ("add-style", "tune-style")  # commands that train only some styles' normalisation rows of a trained net
FRESH_WARMUP = 1000  # warm-up steps of a network trained from scratch (none when fine-tuning)
ADAIN_LAYOUT_WEIGHT = 5e5  # the shipped decoder's last stage's; 0 gives the paper's recipe
EXAMPLES = """examples:
  styletrain johnson --style-image mosaic.jpg --data photos/ -o trained_models/mosaic.pth --tier fast
  styletrain johnson --style-image mosaic.jpg candy.jpg udnie.jpg --data photos/ -o styles.pth   # one net, 3 styles
  styletrain add-style --model styles.pth --style-image scream.jpg --data photos/ -o styles4.pth
  styletrain tune-style --model styles.pth --style mosaic --style-image mosaic.jpg --style-scale 2 \
      --data photos/ -o styles2.pth   # push one style further, the others untouched
  styletrain johnson ... --resume          # continue from runs/mosaic/checkpoint.pt
  torchrun --nproc_per_node 4 -m stylecam.cli.train johnson ...   # DistributedDataParallel
  styletrain adain --data photos/ --style-data styles/ -o trained_models/adain_decoder.pth
  styletrain list
"""


def _loss_options(parser: argparse.ArgumentParser) -> None:
    """Johnson loss options (scale-free weights; see stylecam.training.tasks.JohnsonTask)."""
    d = JOHNSON_DEFAULTS
    parser.add_argument("--style-size", type=positive_int, default=512, help="style image long side (default 512)")
    parser.add_argument("--content-weight", type=float, default=d["content"], help=f"default {d['content']:g}")
    parser.add_argument("--style-weight", type=float, default=d["style"],
                        help=f"Gram style loss, as a ratio to a photo's (default {d['style']:g})")
    parser.add_argument("--style-scale", type=float, nargs="+", metavar="X",
                        help="one factor per style image on its style and moments terms, to push the styles "
                             "that stay too close to the photo (default 1 each)")
    parser.add_argument("--style-share", type=positive_int, nargs="+", metavar="N",
                        help="one count per style image: how many images of each round of batches learn it, to "
                             "give the styles that lag behind more of the steps (default 1 each)")
    parser.add_argument("--moments-weight", type=float, default=d["moments"],
                        help=f"channel mean/std style loss, as a ratio to a photo's (default {d['moments']:g})")
    parser.add_argument("--sliced-weight", type=float, default=d["sliced"],
                        help="sliced Wasserstein loss: each style layer's whole feature distribution must match the "
                             "style's, as a ratio to a photo's (Heitz et al. 2021; default 0 = off)")
    parser.add_argument("--tv-weight", type=float, default=d["tv"], help=f"default {d['tv']:g}")
    parser.add_argument("--temporal-weight", type=float, default=0.0,
                        help="stability under small warps, for flicker-free live video (default 0 = off)")
    parser.add_argument("--equivariance-weight", type=float, default=0.0,
                        help="the output of a flipped or quarter-turned photo must be the output flipped or turned, "
                             "so no stroke orientation is fixed to the frame (default 0 = off)")
    parser.add_argument("--shift-weight", type=float, default=d["shift"],
                        help="the output of a crop of a photo must be that crop of its output, so no pattern is "
                             "anchored to the frame (default 0 = off)")
    parser.add_argument("--rotation-weight", type=float, default=d["rotation"],
                        help="the output of a photo turned by an oblique angle (15-75 degrees) must be the output "
                             "turned the same way, so no lattice is drawn along the frame's axes or diagonals, "
                             "which flips and quarter turns leave unchanged (default 0 = off)")
    parser.add_argument("--content-layers", nargs="+", metavar="LAYER")
    parser.add_argument("--style-tiles", type=positive_int, default=d["style_tiles"], metavar="N",
                        help="match the style Gram in every cell of an N×N grid of the crop "
                             "(default 1: the whole crop)")
    parser.add_argument("--style-octaves", type=positive_int, default=d["style_octaves"], metavar="N",
                        help="match the style at N scales of a pyramid (full, 1/2, 1/4…), so that its larger "
                             "structures count and a fine lattice cannot stand in for them (default 1)")
    parser.add_argument("--warmup", type=int, metavar="STEPS",
                        help="first steps learn to reconstruct the photos (pixel loss, no VGG: fast) before the "
                             f"style is trained (default {FRESH_WARMUP} from scratch, 0 with --init or add-style)")
    parser.add_argument("--norm-lr-scale", type=float, default=d["norm_lr_scale"], metavar="X",
                        help="learning-rate factor of the normalisation layers, where the styles live "
                             f"(default {d['norm_lr_scale']:g})")


def _shared_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="DIR", help="folder of content photos (searched recursively)")
    parser.add_argument("-o", "--output", required=True, metavar="MODEL.pth", help="where the trained model goes")
    parser.add_argument("--image-size", type=positive_int, default=256, help="training crop size (default 256)")
    parser.add_argument("--crop-scale", type=float, nargs=2, default=CROP_SCALE, metavar=("MIN", "MAX"),
                        help="share of a photo's area each training crop covers before it is resized to "
                             f"--image-size (default {CROP_SCALE[0]:g} {CROP_SCALE[1]:g}; smaller zooms in)")
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
    parser.add_argument("--new-lr", action="store_true",
                        help="with --resume: run --lr, --lr-decay-every and --lr-decay from the resumed step on "
                             "instead of the saved schedule (e.g. to anneal a run), keeping Adam's state")
    parser.add_argument("--checkpoint-every", type=positive_int, default=250)
    parser.add_argument("--sample-every", type=positive_int, default=500)
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="bf16 autocast is ~2.5x faster where the hardware has it (default auto: bf16 if so)")
    parser.add_argument("--vgg-weights", metavar="PATH", help="VGG19 weights (default: $STYLECAM_VGG_WEIGHTS, hub)")
    add_common_options(parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``styletrain`` parser with its ``johnson``, ``add-style``, ``tune-style``, ``adain`` and ``list``
    subcommands."""
    parser = argparse.ArgumentParser(prog=PROG, description="Train style-transfer networks.", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{johnson,add-style,tune-style,adain,list}")
    johnson = sub.add_parser("johnson", help="a feed-forward network for one or several style images",
                             description="Train a Johnson et al. feed-forward network for one style image, or one "
                                         "network for several (conditional instance norm, Dumoulin et al. 2017).")
    johnson.add_argument("--style-image", required=True, nargs="+", metavar="IMG",
                         help="one image: a one-style network; several: one network holding every style")
    johnson.add_argument("--style-names", nargs="+", metavar="NAME",
                         help="names of the styles of a several-style network (default: the images' file names)")
    johnson.add_argument("--tier", choices=("fast", "quality"), default="fast", help="architecture (default fast)")
    johnson.add_argument("--init", metavar="MODEL.pth",
                         help="start from this trained network (fine-tuning); a full-resolution network of the "
                              "tier's widths is folded into its pixel blocks first")
    johnson.add_argument("--upsample", choices=UPSAMPLING,
                         help="how the decoder enlarges its features (default: on --resume the checkpoint's, else "
                              "the --init network's, else bilinear); bilinear keeps smooth oblique regions free of "
                              "the ±45° lattice that nearest draws along the coarse grid's staircase")
    _loss_options(johnson)
    _shared_options(johnson)
    add = sub.add_parser("add-style", help="add a style to a several-style network, training only its norms",
                         description="Add a style image to a trained several-style network: only the new style's "
                                     "normalisation scales and shifts are trained; every other weight is kept.")
    add.add_argument("--model", required=True, metavar="MODEL.pth", help="the several-style network to extend")
    add.add_argument("--style-image", required=True, metavar="IMG")
    add.add_argument("--name", help="the new style's name (default: the image's file name)")
    _loss_options(add)
    _shared_options(add)
    tune = sub.add_parser("tune-style", help="train styles of a several-style network further, only their norms",
                          description="Train some styles of a trained several-style network again (e.g. with a "
                                      "heavier --style-scale): only their normalisation scales and shifts change; "
                                      "every other weight and every other style is kept bit for bit.")
    tune.add_argument("--model", required=True, metavar="MODEL.pth", help="the several-style network")
    tune.add_argument("--style", required=True, nargs="+", metavar="NAME", help="the style(s) to train")
    tune.add_argument("--style-image", required=True, nargs="+", metavar="IMG", help="their images, in that order")
    _loss_options(tune)
    _shared_options(tune)
    adain = sub.add_parser("adain", help="an AdaIN decoder for arbitrary styles",
                           description="Train an AdaIN decoder (Huang & Belongie 2017).")
    adain.add_argument("--style-data", required=True, metavar="DIR", help="folder of style images")
    adain.add_argument("--style-weight", type=float, default=10.0, help="default 10 (the paper's)")
    adain.add_argument("--identity-weight", type=float, default=0.0,
                       help="a quarter of each batch is its own style and must decode to the photo itself "
                            "(pixel squared error, 0..255 scale, times this; default 0 = off)")
    adain.add_argument("--layout-weight", type=float, default=ADAIN_LAYOUT_WEIGHT,
                       help="the output's coarse light and dark layout (8-px cells) must be the photo's, against "
                            f"the bright halo around edges that the paper's losses ask for (default "
                            f"{ADAIN_LAYOUT_WEIGHT:g}, 0 = the paper's recipe)")
    adain.add_argument("--init", metavar="DECODER.pth", help="start from this trained decoder (fine-tuning)")
    _shared_options(adain)
    listing = sub.add_parser("list", help="the trained models and their cards")
    add_common_options(listing)
    return parser


def fit_to_tier(start: Any, tier: str, name: str) -> Any:
    """``start`` (a TransformerNet) as a starting point for ``tier``: as is, or folded into the tier's pixel blocks
    when it has the tier's widths at full resolution (see ``fold_into_blocks``); UsageError otherwise."""
    from dataclasses import replace

    from stylecam.nets.transformer import TIERS, fold_into_blocks, tier_of

    target = replace(TIERS[tier], styles=start.config.styles, upsample=start.config.upsample)
    if start.config == target:
        return start
    if start.config.space_to_depth == 1 and replace(start.config, space_to_depth=target.space_to_depth) == target:
        return fold_into_blocks(start, target.space_to_depth)
    own = tier_of(start.config)
    hint = (f"it is a {own}-tier network: pass --tier {own}" if own in TIERS else
            "its architecture is no current tier's, so it can only be used as it is")
    raise UsageError(f"--init {name} does not have the {tier} tier's architecture ({hint})")


def _johnson_network(args: argparse.Namespace) -> tuple[Any, list[Path], list[int] | None]:
    """(network to train, style images of the trained styles, indices of the trained styles or None for all)
    for ``johnson`` (a new or --init network), ``add-style`` (a trained network with one style more, whose
    other weights are frozen) and ``tune-style`` (a trained network with all but the named styles' norms frozen)."""
    from dataclasses import replace

    from stylecam.nets.checkpoints import load_transformer
    from stylecam.nets.transformer import TIERS, TransformerNet, add_style, freeze_all_but_styles, with_styles
    from stylecam.training.loop import checkpoint_architecture

    if args.command in NORMS_ONLY:
        base = load_transformer(args.model)
        if not base.config.styles:
            raise UsageError(f"{args.model} holds one style; {args.command} needs a several-style network "
                             "(styletrain johnson --style-image A B …)")
        if args.command == "tune-style":
            unknown = [name for name in args.style if name not in base.config.styles]
            if unknown:
                raise UsageError(f"{args.model} has no style '{unknown[0]}' (it has: {' '.join(base.config.styles)})")
            indices = [base.config.styles.index(name) for name in args.style]
            freeze_all_but_styles(base, indices)
            return base, [Path(p) for p in args.style_image], indices
        name = args.name or Path(args.style_image).stem
        if name in base.config.styles:
            raise UsageError(f"{args.model} already has a style named '{name}' (pass --name)")
        model = add_style(base, name)
        freeze_all_but_styles(model, [len(model.config.styles) - 1])
        return model, [Path(args.style_image)], [len(model.config.styles) - 1]
    images = [Path(p) for p in args.style_image]
    names: list[str] = []
    if len(images) > 1 or args.style_names:
        names = list(args.style_names or [p.stem for p in images])
        if len(names) != len(images):
            raise UsageError(f"{len(names)} --style-names for {len(images)} style images")
        if len(set(names)) != len(names):
            raise UsageError(f"style names must differ: {' '.join(names)} (pass --style-names)")
    start = fit_to_tier(load_transformer(args.init), args.tier, args.init) if args.init else None
    resumed = checkpoint_architecture(_run_dir(args)) if args.resume else None
    upsample = args.upsample or (resumed or {}).get("upsample") or (
        start.config.upsample if start is not None else TIERS[args.tier].upsample)
    model = TransformerNet(replace(TIERS[args.tier], styles=tuple(names), upsample=upsample))
    if start is not None:
        model.load_state_dict(with_styles(start, tuple(names)).state_dict() if names else start.state_dict())
    return model, images, None


def _run_dir(args: argparse.Namespace) -> Path:
    """The run folder: --run-dir, else runs/<output's stem>."""
    return Path(args.run_dir) if args.run_dir else Path("runs") / Path(args.output).stem


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


def _check_scales(args: argparse.Namespace) -> None:
    """UsageError for a --crop-scale outside 0 < MIN <= MAX <= 1, a --style-scale/--style-share count unlike the
    images', or tune-style --style names unlike its images or repeated."""
    if not 0 < args.crop_scale[0] <= args.crop_scale[1] <= 1:
        raise UsageError(f"--crop-scale {args.crop_scale[0]:g} {args.crop_scale[1]:g}: need 0 < MIN <= MAX <= 1")
    images = 1 if args.command == "add-style" else len(getattr(args, "style_image", []))
    if args.command == "tune-style" and len(args.style) != images:
        raise UsageError(f"{len(args.style)} --style names for {images} style images")
    if args.command == "tune-style" and len(set(args.style)) != len(args.style):
        raise UsageError(f"--style names a style twice: {' '.join(args.style)}")
    for option, what in (("style_scale", "factors"), ("style_share", "counts")):
        given = getattr(args, option, None)
        if given and len(given) != images:
            raise UsageError(f"{len(given)} --{option.replace('_', '-')} {what} for {images} style images")


def _all_style_images(args: argparse.Namespace, before: list[dict[str, Any]], trained: list[dict[str, Any]],
                      styles: tuple[str, ...]) -> list[dict[str, Any]]:
    """The style images of a norms-only run's card: the base card's, with the new style's appended (add-style)
    or the trained styles' in their places (tune-style, where a base card without a full list gets the trained
    ones alone)."""
    if args.command == "add-style":
        return [*before, *trained]
    if len(before) != len(styles):
        return trained
    places = {styles.index(name): entry for name, entry in zip(args.style, trained)}
    return [places.get(i, entry) for i, entry in enumerate(before)]


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
    from stylecam.nets.transformer import tier_of
    from stylecam.nets.vgg import load_vgg
    from stylecam.training import card, data, loop, tasks

    output = Path(args.output)
    _check_scales(args)
    if args.new_lr and not args.resume:
        raise UsageError("--new-lr changes a resumed run's schedule: give --resume too")
    if not output.parent.is_dir():
        raise UsageError(f"output folder {output.parent} does not exist")
    device = resolve_device(args.device)
    dist = loop.init_distributed(device)
    torch.manual_seed(args.seed)
    run_dir = _run_dir(args)
    photos = data.PhotoDataset(args.data, args.image_size, args.seed, tuple(args.crop_scale))
    val = _readable(photos.files, 3, args.image_size)
    vgg = load_vgg(args.vgg_weights)
    style_images: list[Path] = []
    effective: dict[str, Any] = {}  # defaulted options, recorded in the card as the values actually used
    start_model = getattr(args, "init", None) or getattr(args, "model", None)
    started_from = card.run_provenance(start_model, run_dir, args.resume, write=dist.is_main)
    if args.command in ("johnson", *NORMS_ONLY):
        model, style_images, trained = _johnson_network(args)
        styles = [to_tensor(read_image(path, max_side=args.style_size, size_option=None)) for path in style_images]
        fresh = args.command == "johnson" and not args.init
        warmup = args.warmup if args.warmup is not None else FRESH_WARMUP if fresh else 0
        weights = tasks.JohnsonWeights(args.content_weight, args.style_weight, args.moments_weight, args.tv_weight,
                                       args.temporal_weight, args.style_tiles, warmup, args.norm_lr_scale,
                                       tuple(args.style_scale or ()), args.equivariance_weight, args.style_octaves,
                                       args.sliced_weight, args.shift_weight, args.rotation_weight,
                                       tuple(args.style_share or ()))
        effective = {"warmup": warmup}
        units = torch.stack([photos[i * len(photos) // tasks.REFERENCE_PHOTOS] for i in range(tasks.REFERENCE_PHOTOS)])
        task: Any = tasks.JohnsonTask(model, vgg, styles, weights, args.content_layers, args.style_layers,
                                      val, run_dir, args.seed, units, trained)
        if args.image_size < task.min_image_side():
            raise UsageError(f"--image-size {args.image_size}: these loss terms need crops of at least "
                             f"{task.min_image_side()} px")
        lr = args.lr or (3e-3 if args.command in NORMS_ONLY else 1e-3)
    else:
        from stylecam.nets.adain import AdaINDecoder, default_encoder_layer
        from stylecam.nets.checkpoints import load_adain_decoder

        styles = data.PhotoDataset(args.style_data, args.image_size, args.seed + 1)
        model = load_adain_decoder(args.init) if args.init else AdaINDecoder(default_encoder_layer(vgg))
        val_styles = _readable(styles.files, 3, args.image_size)
        task = tasks.AdaINTask(model, vgg, styles, args.style_weight, args.style_layers,
                               list(zip(val, val_styles)), run_dir, args.seed, args.batch_size, args.identity_weight,
                               args.layout_weight)
        lr = args.lr or 1e-4
    iterations = _iterations(args, len(photos), dist.world)
    settings = loop.LoopSettings(
        iterations=iterations, lr=lr, lr_decay_every=args.lr_decay_every, lr_decay=args.lr_decay,
        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every, run_dir=run_dir,
        resume=args.resume, new_schedule=args.new_lr, device=device,
        max_seconds=None if args.max_minutes is None else args.max_minutes * 60,
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
        kind = "adain_decoder" if args.command == "adain" else "johnson"
        if result.schedule_from is not None:
            effective["lr_schedule_from_step"] = result.schedule_from
        info = card.build_card(kind, {**_settings_dict(args), **effective, "lr": lr, "world_size": dist.world, "precision": precision,
                                      "skipped_images": len(photos.skipped)},
                               result.steps, result.final_losses, result.wall_seconds, device, style_images)
        if kind == "johnson":
            info["tier"] = tier_of(model.config)
            info["config"] = model.config.to_dict()
        if started_from is not None:
            info["initialised_from"] = started_from
            if args.command in NORMS_ONLY:  # the card lists every style's image
                info["style_images"] = _all_style_images(args, (started_from["card"] or {}).get("style_images", []),
                                                         info["style_images"], model.config.styles)
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
